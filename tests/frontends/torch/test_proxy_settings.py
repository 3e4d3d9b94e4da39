"""Proxy settings (PyTorch): option values checked at the proxy's entry, synflow's zc-nas BatchNorm rule
outside NB201, frozen weights in grasp, linear_regions' supported cells, one-value BatchNorm in the
batch-of-one proxies.

Small networks (NB201 C=4 N=1, DARTS C=4 with 3 layers) keep the file to seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasir.data import load_sample
from nasir.errors import InvalidArchError, SchemaError
from nasir.frontends.torch import lower
from nasir.frontends.torch.proxies import ProxyWarning, score, score_many
from nasir.spaces.darts import space as darts

from ._nets import chain, small_nb201


@pytest.fixture(scope="module")
def data():
    return load_sample()


def small_darts():
    return darts.network(darts.sample(0), channels=4, layers=3)


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize(("proxy", "options", "message"), [
    ("zico", {"splits": 1}, r"zico splits must be an integer in \[2, 128\], got 1"),
    ("zico", {"splits": 0}, r"zico splits must be an integer in \[2, 128\]"),
    ("zico", {"splits": 129}, r"zico splits must be an integer in \[2, 128\]"),
    ("zico", {"splits": 2.0}, r"zico splits must be an integer"),
    ("swap", {"repeats": 0}, r"swap repeats must be an integer >= 1, got 0"),
    ("swap", {"repeats": True}, r"swap repeats must be an integer"),
    ("swap", {"mu": 1.0}, r"swap mu and sigma regularise together"),
    ("swap", {"mu": 1.0, "sigma": 0.0}, r"swap sigma must be > 0"),
    ("linear_regions", {"samples": 0}, r"linear_regions samples must be an integer >= 1, got 0"),
    ("linear_regions", {"passes": 0}, r"linear_regions passes must be an integer >= 1"),
    ("linear_regions", {"repeats": 0}, r"linear_regions repeats must be an integer >= 1"),
    ("linear_regions", {"crop": 33}, r"linear_regions crop must be an integer in \[1, 32\]"),
    ("synflow", {"bn": "x"}, r"synflow bn must be one of \('zc-nas', 'identity', 'train'\), got 'x'"),
    ("gennas", {"stage_weights": (1.0,)}, r"gennas stage_weights must hold one weight per stage \(3\)"),
    ("gennas", {"stage_weights": (0.0, 0.0, 0.0)}, r"gennas stage_weights must weight at least one stage"),
    ("gennas", {"stage_weights": (1.0, -1.0, 1.0)}, r"gennas stage_weights must be a finite number >= 0"),
    ("gennas", {"lr": "x"}, r"gennas lr must be a finite number >= 0.0, got 'x'"),
    ("gennas", {"momentum": math.nan}, r"gennas momentum must be a finite number"),
    ("gennas", {"weight_decay": -1.0}, r"gennas weight_decay must be a finite number >= 0.0"),
    ("gennas", {"iterations": 0}, r"gennas iterations must be an integer >= 1, got 0"),
    ("gennas", {"iterations": 10.5}, r"gennas iterations must be an integer"),
    ("gennas", {"eval_interval": 0}, r"gennas eval_interval must be an integer >= 1"),
])
def test_option_values_are_checked_at_the_proxys_entry(data, proxy: str, options: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        score(small_nb201(), proxy, data, **options)
    with pytest.raises(SchemaError, match=message):  # a batch run stops too: a setting, not a degenerate architecture
        score_many([small_nb201()], [proxy], data, options={proxy: options})


def test_numpy_integers_are_counts(data) -> None:
    assert score(small_nb201(), "zico", data, splits=np.int64(2)) == score(small_nb201(), "zico", data)


# ---------------------------------------------------------------- synflow's BatchNorm outside NB201


def test_synflow_zc_nas_keeps_bn_only_in_nb201_resnet_blocks(data) -> None:
    """DARTS' reduction cells are blocks of kind 'reduction' too, but zero-cost-nas's BN-free model keeps BN
    only in NB201's ResNetBasicblock: a train-mode BN on the one all-ones image would erase the signal."""
    net = small_darts()
    default = score(net, "synflow", data)
    assert default == score(net, "synflow", data, bn="identity") and default > 1e3
    assert score(net, "synflow", data, bn="train") != default
    nb201 = small_nb201()  # its ResNet blocks keep their BN: zc-nas is neither identity nor train
    assert len({score(nb201, "synflow", data, bn=bn) for bn in ("zc-nas", "identity", "train")}) == 3


# ---------------------------------------------------------------- grasp with frozen weights


def test_grasp_scores_frozen_weights_as_zero_cost_nas_does(data) -> None:
    module = lower(small_nb201(), seed=3)
    next(module.parameters()).requires_grad_(False)
    expected = score(lower(small_nb201(), seed=3), "grasp", data)
    assert score(module, "grasp", data) == expected
    assert score_many([module], ["grasp"], data)["grasp"][0] == expected
    assert not next(module.parameters()).requires_grad  # the caller's module keeps its flag


# ---------------------------------------------------------------- linear_regions' cells


def test_linear_regions_rejects_multi_input_cells_up_front(data) -> None:
    with pytest.raises(InvalidArchError, match=r"linear_regions .*single-input cells.*'cells.0'.*takes 2 inputs"):
        score_many([small_darts()], ["linear_regions", "naswot"], data)


# ---------------------------------------------------------------- BatchNorm on one value per channel


def _vector_bn_module() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8),
                         nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 10))


@pytest.mark.parametrize("obj", [_vector_bn_module, lambda: lower(chain(
    ("conv", "conv", {"out_channels": 8, "kernel": 3}), ("relu", "relu", {}), ("pool", "global_avg_pool", {}),
    ("fc", "linear", {"out_features": 8}), ("bn", "batch_norm", {}), ("fc2", "linear", {"out_features": 10})),
    input_shapes=(3, 32, 32), seed=0)], ids=["bare module", "IR arch"])
def test_batch_of_one_proxies_rank_a_one_value_batch_norm_last(data, obj) -> None:
    for proxy, options in (("meco", {}), ("synflow", {"bn": "train"})):
        with pytest.warns(ProxyWarning, match=r"BatchNorm .* sees one value per channel"):
            assert score_many([obj()], [proxy], data, options={proxy: options})[proxy][0] == -math.inf
        with pytest.warns(ProxyWarning, match="one value per channel"):
            assert score(obj(), proxy, data, **options) == -math.inf
    assert math.isfinite(score(obj(), "synflow", data))  # BN dropped (zc-nas): nothing to normalise
