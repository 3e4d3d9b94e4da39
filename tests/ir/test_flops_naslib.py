"""NASLib-convention FLOPs (``count_flops(convention="naslib")``): per-op rules and NAS-Bench-201 exactness.

NASLib's ``flops`` proxy is tensorwatch's torchstat count over leaf modules (see ``nasir.ir.ops``);
the expected values are ``flops_naslib_m_*`` of NASLib's data, which reproduce every value NASLib
measured. The MAC counts (the default convention) must not change.
"""

from __future__ import annotations

import csv
import gzip
from importlib import resources
from typing import Any

import numpy as np
import pytest

from nasir.errors import UnknownNameError
from nasir.ir import Arch, OpSpec, count_flops
from nasir.ir.ops import FLOP_CONVENTIONS
from nasir.spaces.nb201 import space

DATASETS = ("cifar10", "cifar100", "imagenet16")

# (index, arch string, NASLib FLOPs for cifar10 / cifar100 / imagenet16): flops_naslib_m_* x 1e6 of
# shared/data/nb201/nb201_cost_derived.csv. The 30 cells of the params test plus all-none (1651),
# all-conv3x3 (1462) and all-avg-pool (7581).
NB201_NASLIB_FLOPS = [
    (0, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", (17958592, 17964352, 4497472)),
    (1462, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", (222860992, 222866752, 55723072)),
    (1651, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", (7943872, 7949632, 1993792)),
    (2089, "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|", (58140352, 58146112, 14542912)),
    (2363, "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|", (9234112, 9239872, 2316352)),
    (2419, "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|", (121054912, 121060672, 30271552)),
    (3160, "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|", (85235392, 85241152, 21316672)),
    (4672, "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|", (92669632, 92675392, 23175232)),
    (5795, "|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|", (83453632, 83459392, 20871232)),
    (6111, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", (155584192, 155589952, 38903872)),
    (7581, "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|", (15685312, 15691072, 3929152)),
    (7620, "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_1x1~2|", (53778112, 53783872, 13452352)),
    (7908, "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|", (90887872, 90893632, 22729792)),
    (8112, "|none~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_1x1~2|", (19248832, 19254592, 4820032)),
    (8372, "|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_3x3~1|none~2|", (79582912, 79588672, 19903552)),
    (8475, "|skip_connect~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|avg_pool_3x3~2|", (10524352, 10530112, 2638912)),
    (8731, "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", (11814592, 11820352, 2961472)),
    (9056, "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", (17958592, 17964352, 4497472)),
    (9238, "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|", (83945152, 83950912, 20994112)),
    (9930, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", (187041472, 187047232, 46768192)),
    (9947, "|none~0|+|none~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|", (45053632, 45059392, 11271232)),
    (10123, "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|", (48125632, 48131392, 12039232)),
    (10677, "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|", (48125632, 48131392, 12039232)),
    (11547, "|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|skip_connect~2|", (43763392, 43769152, 10948672)),
    (12086, "|none~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|", (51996352, 52002112, 13006912)),
    (12862, "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|", (119764672, 119770432, 29948992)),
    (13354, "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|", (89597632, 89603392, 22407232)),
    (13881, "|none~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|", (17958592, 17964352, 4497472)),
    (13889, "|skip_connect~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|none~2|", (45053632, 45059392, 11271232)),
    (14271, "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|", (85235392, 85241152, 21316672)),
    (14956, "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|avg_pool_3x3~2|", (10524352, 10530112, 2638912)),
    (15374, "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|", (87815872, 87821632, 21961792)),
    (15455, "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|", (14886592, 14892352, 3729472)),
]


def _one(op: str, attrs: dict[str, Any], shape: tuple[int, ...], convention: str = "naslib") -> int:
    """FLOPs of a single ``op`` node applied to an input of ``shape``."""
    arch = Arch({"in": "input", "x": (op, attrs), "out": "output"}, [("in", "x"), ("x", "out")])
    return count_flops(arch, shape, convention)


@pytest.mark.parametrize("index, arch_str, expected", NB201_NASLIB_FLOPS, ids=[str(row[0]) for row in NB201_NASLIB_FLOPS])
def test_nb201_naslib_flops_equal_naslib_on_hand_picked_cells(index: int, arch_str: str, expected: tuple[int, int, int]) -> None:
    arch = space.parse(arch_str)
    got = tuple(space.network(arch, dataset=dataset).count_flops("naslib") for dataset in DATASETS)
    assert got == expected


def test_nb201_naslib_flops_equal_the_package_table_on_random_rows() -> None:
    table = resources.files("nasir.spaces").joinpath("data/nb201_table.csv.gz")
    with table.open("rb") as raw, gzip.open(raw, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for k in np.random.default_rng(201).choice(len(rows), 12, replace=False):
        row = rows[int(k)]
        arch = space.parse(row["arch_str"])
        for dataset in DATASETS:
            expected = round(float(row[f"flops_naslib_m_{dataset}"]) * 1e6)
            assert space.network(arch, dataset=dataset).count_flops("naslib") == expected, (row["index"], dataset)


def test_cell_differences_isolate_the_per_op_terms() -> None:
    """All-conv3x3 / all-pool minus all-none, per edge: the op's MACs plus its element-wise counts, over 15 cells."""
    flops = {index: values[0] for index, _, values in NB201_NASLIB_FLOPS}
    elements = 5 * (16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)  # output elements of one edge, summed over the 15 cells
    macs = 5 * 9 * (16 * 16 * 32 * 32 + 32 * 32 * 16 * 16 + 64 * 64 * 8 * 8)
    assert (flops[1462] - flops[1651]) / 6 == macs + 3 * elements  # ReLU 1 + affine BN 2 per element
    assert (flops[7581] - flops[1651]) / 6 == 9 * elements  # 3x3 window per output element


def test_element_wise_rules_follow_torchstat() -> None:
    assert _one("relu", {}, (4, 5, 5)) == 100
    assert _one("batch_norm", {}, (4, 5, 5)) == 200
    assert _one("batch_norm", {"affine": False}, (4, 5, 5)) == 100
    assert _one("batch_norm", {}, (4,)) == 0  # torchstat has no BatchNorm1d rule
    assert _one("conv", {"out_channels": 8, "kernel": 3, "bias": True}, (4, 5, 5)) == 8 * 25 * 4 * 9 + 8 * 25
    assert _one("avg_pool", {"kernel": 3}, (4, 5, 5)) == _one("max_pool", {"kernel": 3}, (4, 5, 5)) == 9 * 100
    assert _one("global_avg_pool", {}, (64, 8, 8)) == 64 * 9 * 9  # AdaptiveAvgPool2d(1): inclusive window bounds
    assert _one("linear", {"out_features": 10}, (64,)) == 640  # bias not counted
    assert _one("relu_conv_bn", {"kernel": 1}, (4, 5, 5)) == 100 + 4 * 4 * 25 + 200
    for op in ("identity", "zero"):
        assert _one(op, {}, (4, 5, 5)) == 0
    assert _one("activation", {"fn": "hswish"}, (4, 5, 5)) == 0 and _one("activation", {"fn": "relu6"}, (4, 5, 5)) == 100


def test_macs_stay_the_default() -> None:
    network = space.network(space.parse(NB201_NASLIB_FLOPS[9][1]))
    assert network.count_flops() == network.count_flops("macs") == 153_272_960  # conv + linear MACs, equal to torch forward hooks
    assert network.count_flops("naslib") == NB201_NASLIB_FLOPS[9][2][0]
    assert _one("relu_conv_bn", {"kernel": 1}, (4, 5, 5), "macs") == 4 * 4 * 25


def test_unknown_convention_and_ops_without_a_naslib_rule() -> None:
    with pytest.raises(UnknownNameError, match="naslib"):
        _one("relu", {}, (4, 5, 5), "tflops")
    assert FLOP_CONVENTIONS == ("macs", "naslib", "ptflops")
    spec = OpSpec(name="double", doc="test op", shape=lambda ins, a: ins[0], flops=lambda ins, out, a: 7)
    assert spec.count_flops([(4,)], (4,), {}, "naslib") == spec.count_flops([(4,)], (4,), {}, "ptflops") == 7
    assert spec.count_flops([(4,)], (4,), {}) == 7
