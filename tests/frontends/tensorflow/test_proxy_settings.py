"""Proxy settings (TensorFlow), as the torch frontend's test_proxy_settings.py: option values checked at the
proxy's entry, synflow's zc-nas BatchNorm rule outside NB201 (score for score with torch), frozen layers in
grasp, linear_regions' supported cells, one-value BatchNorm in the batch-of-one proxies.
"""

from __future__ import annotations

import math

import pytest

import nasir.frontends.tensorflow as tfe
from nasir.errors import InvalidArchError, SchemaError
from nasir.frontends.tensorflow import proxies as tfp
from nasir.frontends.torch import proxies as ptp
from nasir.proxy_math import ProxyWarning
from nasir.spaces.darts import space as darts

from ._helpers import chain, rel, small_nb201, twins


def small_darts():
    """A small DARTS network without dilated convs (TensorFlow's CPU kernels cannot backprop through them)."""
    genotype = darts.to_genotype(darts.sample(0))
    plain = {cell: tuple((op.replace("dil_conv", "sep_conv"), src) for op, src in getattr(genotype, cell))
             for cell in ("normal", "reduce")}
    return darts.network(darts.from_genotype(genotype._replace(**plain)), channels=4, layers=3)


@pytest.mark.parametrize(("proxy", "options", "message"), [
    ("zico", {"splits": 1}, r"zico splits must be an integer in \[2, 128\], got 1"),
    ("zico", {"splits": 129}, r"zico splits must be an integer in \[2, 128\]"),
    ("swap", {"repeats": 0}, r"swap repeats must be an integer >= 1, got 0"),
    ("swap", {"sigma": 1.0}, r"swap mu and sigma regularise together"),
    ("linear_regions", {"samples": 0}, r"linear_regions samples must be an integer >= 1, got 0"),
    ("linear_regions", {"crop": 33}, r"linear_regions crop must be an integer in \[1, 32\]"),
    ("synflow", {"bn": "x"}, r"synflow bn must be one of \('zc-nas', 'identity', 'train'\), got 'x'"),
    ("gennas", {"stage_weights": (1.0,)}, r"gennas stage_weights must hold one weight per stage \(3\)"),
    ("gennas", {"lr": "x"}, r"gennas lr must be a finite number >= 0.0, got 'x'"),
    ("gennas", {"iterations": 0}, r"gennas iterations must be an integer >= 1, got 0"),
    ("gennas", {"eval_interval": 2.0}, r"gennas eval_interval must be an integer"),
])
def test_option_values_are_checked_at_the_proxys_entry(data, proxy: str, options: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        tfp.score_many([small_nb201(channels=4)], [proxy], data, options={proxy: options})


def test_synflow_zc_nas_keeps_bn_only_in_nb201_resnet_blocks_as_torch(data) -> None:
    module, model = twins(small_darts(), seed=0)
    default = tfp.score(model, "synflow", data)
    assert default == tfp.score(model, "synflow", data, bn="identity") and default > 1e3
    assert rel(default, ptp.score(module, "synflow", data)) <= 1e-9


def test_grasp_scores_frozen_layers_as_zero_cost_nas_does(data) -> None:
    model = tfe.lower(small_nb201(channels=4), seed=3)
    expected = tfp.score(model, "grasp", data)
    model.block_models["stem"].node_layers["conv"].trainable = False
    assert tfp.score(model, "grasp", data) == expected


def test_linear_regions_rejects_multi_input_cells_up_front(data) -> None:
    with pytest.raises(InvalidArchError, match=r"linear_regions .*single-input cells.*'cells.0'.*takes 2 inputs"):
        tfp.score_many([small_darts()], ["linear_regions", "naswot"], data)


def test_batch_of_one_proxies_rank_a_one_value_batch_norm_last(data) -> None:
    arch = chain(("conv", "conv", {"out_channels": 8, "kernel": 3}), ("relu", "relu", {}), ("pool", "global_avg_pool", {}),
                 ("fc", "linear", {"out_features": 8}), ("bn", "batch_norm", {}), ("fc2", "linear", {"out_features": 10}))
    model = tfe.lower(arch, input_shapes=(3, 32, 32), seed=0)
    for proxy, options in (("meco", {}), ("synflow", {"bn": "train"})):
        with pytest.warns(ProxyWarning, match=r"BatchNorm .* sees one value per channel"):
            assert tfp.score_many([model], [proxy], data, options={proxy: options})[proxy][0] == -math.inf
    assert math.isfinite(tfp.score(model, "synflow", data))  # BN dropped (zc-nas): nothing to normalise
