"""AZ-NAS in TensorFlow, score for score against torch.

Torch draws the Kaiming weights, the input noise and the Rademacher vectors with its own
generator; they are handed to TensorFlow through ``weights``, ``x`` and ``signs``, and then the
three terms must agree to float32 round-off, and to double-precision round-off with
``dtype="float64"``. NB201 skeletons at C=4, N=1 keep the file to seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nasir.frontends.tensorflow as tfe
from nasir.errors import InvalidArchError, SchemaError
from nasir.frontends.tensorflow import proxies as tfp
from nasir.frontends.tensorflow.proxies import aznas as tf_aznas
from nasir.frontends.torch import proxies as ptp
from nasir.frontends.torch.proxies import aznas as pt_aznas
from nasir.proxies import PROXIES
from nasir.proxy_math import ProxyWarning
from nasir.spaces import darts

from ._helpers import rel, ALL_OPS, BEST, chain, small_nb201, twins

AZ = ["az_expressivity", "az_progressivity", "az_trainability"]
TOL, TOL64 = 1e-3, 1e-9
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


def test_the_three_are_registered_with_their_specs() -> None:
    for name in AZ:
        assert tfp.TF_PROXIES.get(name).spec is PROXIES.get(name)
        assert name not in tfp.UNSUPPORTED and name not in tfp.unsupported_proxies()
    assert (tf_aznas.FUSED, tf_aznas.az_scores) in tfp.GROUPS


def test_pixel_unshuffle_has_torch_s_channel_order() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 4))  # NCHW
    expected = F.pixel_unshuffle(torch.from_numpy(x), 2).numpy()
    got = tf_aznas._pixel_unshuffle(np.transpose(x, (0, 2, 3, 1)), 2)
    np.testing.assert_array_equal(np.transpose(got, (0, 3, 1, 2)), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("arch", [BEST, ALL_OPS])
def test_scores_match_torch_with_torch_s_draws(arch: str, dtype: str) -> None:
    """Torch re-initialises from the seed; TF imports those weights over its own (seed 1) model."""
    net = small_nb201(arch, channels=4)
    expected = ptp.score_network(net, AZ, None, seed=0, dtype=dtype)
    draws = pt_aznas.draws(net, 0)
    got = tfp.score_network(tfe.lower(net, seed=1), AZ, None, seed=0, dtype=dtype, options=dict.fromkeys(AZ, draws))
    tol = TOL if dtype == "float32" else TOL64
    bad = {n: (got[n], expected[n]) for n in AZ if not rel(got[n], expected[n]) <= tol}
    assert not bad, bad


def test_two_input_cells_match_torch_in_float64() -> None:
    """DARTS cells read the two previous cells; trainability re-runs each block on its own tape (the fast path)
    and must still give the whole network's gradient with respect to the latest input."""
    net = darts.space.network(darts.space.sample(0), channels=4, layers=5)
    expected = ptp.score_network(net, AZ, None, seed=0, dtype="float64")
    got = tfp.score_network(tfe.lower(net, seed=1), AZ, None, seed=0, dtype="float64",
                            options=dict.fromkeys(AZ, pt_aznas.draws(net, 0)))
    bad = {n: (got[n], expected[n]) for n in AZ if not rel(got[n], expected[n]) <= TOL64}
    assert not bad, bad


def test_default_init_and_separate_terms_match_torch_in_float64() -> None:
    """``init="default"`` scores the given weights (torch then draws the input first); unfused == torch."""
    net = small_nb201(ALL_OPS, channels=4)
    module, model = twins(net)
    expected = ptp.score_network(module, AZ, None, seed=0, dtype="float64", options={n: {"init": "default"} for n in AZ})
    draws = pt_aznas.draws(net, 0, init="default")
    got = {n: tfp.score(model, n, seed=0, dtype="float64", **draws) for n in AZ}
    bad = {n: (got[n], expected[n]) for n in AZ if not rel(got[n], expected[n]) <= TOL64}
    assert not bad, bad


def test_identity_block_makes_trainability_minus_inf() -> None:
    net = small_nb201(IDENTITY, channels=4)
    with pytest.warns(ProxyWarning, match="az_trainability"):
        got = tfp.score_network(net, AZ, None, seed=0)
    assert got["az_trainability"] == -math.inf
    assert math.isfinite(got["az_expressivity"]) and got["az_progressivity"] == 0.0


def test_own_draws_are_seeded_finite_and_leave_the_shared_subject_alone(float_batch) -> None:
    net = small_nb201(BEST, channels=4)
    _, model = twins(net)
    before = tfe.export_weights(model)
    a = tfp.score_network(model, [*AZ, "naswot"], float_batch, seed=0)
    assert all(math.isfinite(v) for v in a.values()), a
    assert a == tfp.score_network(model, [*AZ, "naswot"], float_batch, seed=0)
    assert a["naswot"] == tfp.score(model, "naswot", float_batch, seed=0)  # AZ re-initialises a copy, not the subject
    assert all(np.array_equal(before[k], v) for k, v in tfe.export_weights(model).items())
    assert tfp.score(model, "az_trainability", seed=1) != a["az_trainability"]
    assert tfp.score(model, "az_expressivity", seed=0, init="default") != a["az_expressivity"]


def test_bad_options_and_bare_models_are_rejected() -> None:
    net = small_nb201(BEST, channels=4)
    with pytest.raises(ValueError, match="init"):
        tfp.score(net, "az_expressivity", init="xavier")
    with pytest.raises(SchemaError, match="g_out"):
        tfp.score(net, "az_trainability", signs=[])
    bare = tfe.lower(chain(("c", "conv", {"kernel": 3, "out_channels": 4})), input_shapes=(3, 8, 8))
    with pytest.raises(InvalidArchError, match="nasir Network"):
        tfp.score(bare, "az_expressivity")
