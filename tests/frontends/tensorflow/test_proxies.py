"""Zero-cost proxies in TensorFlow: the torch frontend's definitions, checked score for score.

Both frontends score the same neutral weights on the same batch (float NCHW images, which both
take as given; or un-augmented uint8 images, which both draw and normalise identically), so every
deterministic proxy must agree to float32 round-off. Small NB201 skeletons (C=4, N=1) keep the
file to a few seconds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import tensorflow as tf
import torch

import nasir.frontends.tensorflow as tfe
from nasir.frontends.tensorflow import proxies as tfp
from nasir.frontends.tensorflow.proxies import _common as tfc
from nasir.frontends.tensorflow.proxies import tenas as tf_tenas
from nasir.frontends.torch import proxies as ptp
from nasir.frontends.torch.proxies import _common as ptc
from nasir.frontends.torch.proxies import tenas as pt_tenas
from nasir.errors import ProxyOptionError, SchemaError
from nasir.proxies import PROXIES
from nasir.proxy_math import ProxyWarning

from ._helpers import rel, ALL_OPS, BEST, small_nb201, twins

TOL = 1e-3  # the bar for deterministic proxies (float32 round-off through a backward pass)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
PROXY_NAMES = ("naswot", "jacob_cov", "synflow", "snip", "grasp", "fisher", "grad_norm", "zico", "params", "flops")


def test_every_spec_has_a_tensorflow_implementation_or_a_reason() -> None:
    for name in PROXIES:
        assert (name in tfp.TF_PROXIES) != (name in tfp.UNSUPPORTED), name
        assert name in tfp.TF_PROXIES or len(tfp.UNSUPPORTED[name]) > 20
    for name in tfp.TF_PROXIES:
        assert tfp.TF_PROXIES.get(name).spec is PROXIES.get(name) and name in ptp.TORCH_PROXIES
    # linear_regions, meco, ntk_trace, gennas: tested against torch in test_proxies_tenas_gennas.py; AZ-NAS in
    # test_proxies_aznas.py; SWAP in test_proxies_swap.py
    az = {"az_expressivity", "az_progressivity", "az_trainability"}
    others = {"ntk_cond", "linear_regions", "meco", "ntk_trace", "gennas", "swap"}
    assert set(PROXY_NAMES) | others | az == set(tfp.TF_PROXIES.names())


@pytest.mark.parametrize("arch", [BEST, ALL_OPS])
def test_scores_match_torch_with_the_same_weights_and_batch(arch: str, float_batch) -> None:
    module, model = twins(small_nb201(arch, channels=4))
    expected = ptp.score_network(module, list(PROXY_NAMES), float_batch, seed=0)  # fused == separate: tested in both suites
    got = tfp.score_network(model, list(PROXY_NAMES), float_batch, seed=0)
    bad = {n: (got[n], expected[n]) for n in PROXY_NAMES if not rel(got[n], expected[n]) <= TOL}
    assert not bad, bad
    assert all(math.isfinite(v) for v in got.values())


def test_ntk_condition_number_matches_torch(float_batch) -> None:
    """TE-NAS's per-sample NTK rows (BN weights included), on 8 images to keep it quick."""
    module, model = twins(small_nb201(ALL_OPS, channels=4), seed=1)
    x, y = float_batch
    expected = pt_tenas.ntk_cond(ptc.make_subject(module, 0, None), ptc.Batch(torch.from_numpy(x[:8]), torch.from_numpy(y[:8])))
    got = tf_tenas.ntk_cond(tfc.make_subject(model, 0), tfc.make_batch((x[:8], y[:8]), 8, 0, augment_images=False))
    assert got < 0 and rel(got, expected) <= TOL


def test_synflow_bn_modes_and_uint8_batches_match_torch(data) -> None:
    module, model = twins(small_nb201(ALL_OPS, channels=4), seed=2)
    for bn in ("zc-nas", "identity", "train"):
        assert rel(tfp.score(model, "synflow", data, bn=bn), ptp.score(module, "synflow", data, bn=bn)) <= 1e-9, bn
    # naswot draws 128 un-augmented uint8 images: same indices, same normalisation, same batch
    assert rel(tfp.score(model, "naswot", data, seed=5), ptp.score(module, "naswot", data, seed=5)) <= 1e-6


def test_fused_pass_equals_separate_proxies_and_seeds_are_honoured(data) -> None:
    net = small_nb201(ALL_OPS, channels=4)
    names = ["snip", "grad_norm", "fisher"]
    fused = tfp.score_network(net, names, data, seed=3, fused=True)
    separate = tfp.score_network(net, names, data, seed=3, fused=False)
    assert fused == pytest.approx(separate, rel=1e-6)
    assert tfp.score(net, "snip", data, seed=3) == separate["snip"]
    assert tfp.score(net, "snip", data, seed=4) != separate["snip"]


def test_caller_model_is_not_mutated(data) -> None:
    model = tfe.lower(small_nb201(ALL_OPS, channels=4), seed=0, layout="NCHW")  # any layout: scoring runs on a private NHWC copy
    before = tfe.export_weights(model)
    for name in ("naswot", "synflow", "grasp"):
        assert math.isfinite(tfp.score(model, name, data, seed=0))
    after = tfe.export_weights(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert model.layout == "NCHW" and all(bn.enabled for bn in model._flatten_layers() if hasattr(bn, "enabled"))


def test_degenerate_networks_rank_last_with_a_warning(data) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tfp.score_network(small_nb201(ALL_NONE, channels=4), list(tfp.TF_PROXIES.names()), data, seed=0)
    assert all(v == -math.inf for v in got.values()), got
    assert sum(issubclass(w.category, ProxyWarning) for w in caught) == len(got)
    nan_model = tfe.lower(small_nb201(BEST, channels=4), seed=0)
    kernel = nan_model.neutral_variables()["cells.0/e0_1/conv.weight"][0]
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    with pytest.warns(ProxyWarning):
        scores = tfp.score_many([small_nb201(BEST, channels=4), nan_model], ["snip", "jacob_cov"], data, seed=0)
    assert np.all(np.isfinite(scores["snip"][:1])) and np.all(scores["snip"][1:] == -np.inf)


# ---------------------------------------------------------------- data, options and failures the caller must see (as torch)


def test_too_few_images_are_drawn_with_replacement_with_a_warning_naming_the_cause(data) -> None:
    with pytest.warns(ProxyWarning, match="only 100 training images for a batch of 128: drawn with replacement"):
        tfp.score(small_nb201(BEST, channels=4), "naswot", (data.x_train[:100], data.y_train[:100]))


def test_labels_are_checked_once_per_batch_as_schema_errors(data) -> None:
    net, (x, y) = small_nb201(BEST, channels=4), (data.x_train, data.y_train)
    with pytest.raises(SchemaError, match="proxy 'snip' needs labels; the data has none"):
        tfp.score(net, "snip", (x, None))
    assert tfp.score(net, "naswot", (x, None)) == tfp.score(net, "naswot", data)  # naswot reads no labels
    with pytest.raises(SchemaError, match="label 59 but the network has 10 classes"):
        tfp.score_many([net], ["snip"], (x, y + 50))
    with pytest.raises(SchemaError, match="512 training images but labels of shape \\(10,\\)"):
        tfp.score(net, "naswot", (x, y[:10]))


@pytest.mark.parametrize("name", ["synflow", "meco"])
def test_a_proxy_that_needs_no_data_runs_without_it(data, name: str) -> None:
    net = small_nb201(BEST, channels=4)
    assert tfp.score(net, name) == tfp.score(net, name, data)
    with pytest.raises(SchemaError, match="proxy 'naswot' needs data"):
        tfp.score(net, "naswot")


def test_an_unknown_option_names_the_proxy_and_what_it_takes(data) -> None:
    net = small_nb201(BEST, channels=4)
    with pytest.raises(ProxyOptionError, match="proxy 'naswot' has no option 'foo' \\(its options: none\\)"):
        tfp.score(net, "naswot", data, foo=1)
    with pytest.raises(ProxyOptionError, match="'bm' \\(its options: bn\\)"):
        tfp.score_many([net], ["synflow"], data, options={"synflow": {"bm": "identity"}})


def test_running_out_of_memory_is_raised_not_ranked_last() -> None:
    """-inf is for an architecture's numerical failure, not for the machine running out of memory."""
    def out_of_memory() -> float:
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    def singular() -> float:
        raise np.linalg.LinAlgError("Singular matrix")

    with pytest.raises(tf.errors.ResourceExhaustedError):
        tfp._guarded(out_of_memory, True, {"naswot"})
    with pytest.warns(ProxyWarning, match="Singular"):
        assert tfp._guarded(singular, True, {"naswot"}) == {"naswot": -math.inf}
