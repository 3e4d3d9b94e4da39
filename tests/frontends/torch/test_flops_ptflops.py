"""ptflops-convention FLOPs (``count_flops(convention="ptflops")``) against forward hooks on the lowered module.

The registry counts each op's declared parts (``nasir.ir.parts``); the hooks
(``nasir.frontends.torch.profile.ptflops_macs``) count the ``nn.Module`` s that really run, by
ptflops 0.6.9's per-module rules. The DARTS and MobileNet networks are checked in their space tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from nasir.frontends.torch import lower
from nasir.frontends.torch.profile import ptflops_macs
from nasir.ir import Arch, count_flops
from nasir.spaces import nb101, nb201

CELLS = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
]


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet16"])
def test_nb201_networks_count_what_their_modules_run(dataset: str) -> None:
    rng = np.random.default_rng(0)
    archs = [nb201.space.parse(c) for c in CELLS] + [nb201.space.from_index(int(i)) for i in rng.choice(15625, 3, replace=False)]
    for arch in archs:
        network = nb201.space.network(arch, dataset=dataset, channels=8, cells_per_stage=1)
        assert network.count_flops("ptflops") == ptflops_macs(lower(network, seed=0).eval(), network.input_shape)


def test_nb101_networks_count_what_their_modules_run() -> None:
    for seed in range(3):
        network = nb101.space.network(nb101.space.sample(seed), stem_channels=16, cells_per_stack=1)
        assert network.count_flops("ptflops") == ptflops_macs(lower(network, seed=0).eval(), network.input_shape)


def test_rules_that_differ_from_naslib() -> None:
    """ptflops counts a linear bias, pools per input element and plain global pools; torchstat does not."""
    assert _both("linear", {"out_features": 10}, (64,)) == (640 + 10, 640)
    assert _both("max_pool", {"kernel": 3, "stride": 2}, (4, 8, 8)) == (4 * 8 * 8, 4 * 4 * 4 * 9)
    assert _both("global_avg_pool", {}, (64, 8, 8)) == (64 * 8 * 8, 64 * 9 * 9)
    assert _both("batch_norm", {}, (16,)) == (32, 0)  # BatchNorm1d
    assert _both("activation", {"fn": "hswish"}, (4, 5, 5)) == (0, 0)


def _both(op: str, attrs: dict, shape: tuple[int, ...]) -> tuple[int, int]:
    """(ptflops, naslib) FLOPs of a single ``op`` node on an input of ``shape``."""
    arch = Arch({"in": "input", "x": (op, attrs), "out": "output"}, [("in", "x"), ("x", "out")])
    return count_flops(arch, shape, "ptflops"), count_flops(arch, shape, "naslib")
