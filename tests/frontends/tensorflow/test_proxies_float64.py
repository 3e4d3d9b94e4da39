"""``dtype="float64"``: both frontends score the same float32 problem in double precision.

In float32 the gradient proxies agree between frameworks only to round-off that some of them
amplify (grasp, zico, ntk_cond, gennas: BENCHMARKS.md). Widened to float64, the same weights,
batch and draws must give the same score to ~1e-12 in both frameworks: agreement of definitions,
not of rounding. Small NB201 skeletons (C=4, N=1) keep the file to seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nasir.frontends.tensorflow as tfe
import nasir.frontends.torch as pte
from nasir.frontends.tensorflow import proxies as tfp
from nasir.frontends.tensorflow.proxies import _common as tfc
from nasir.frontends.tensorflow.proxies import hnas as tf_hnas
from nasir.frontends.tensorflow.proxies import tenas as tf_tenas
from nasir.frontends.torch import proxies as ptp
from nasir.frontends.torch.proxies import _common as ptc
from nasir.frontends.torch.proxies import hnas as pt_hnas
from nasir.frontends.torch.proxies import tenas as pt_tenas
from nasir.proxy_math import thin_network

from ._helpers import rel, ALL_OPS, BEST, small_nb201, torch_heads, torch_image, twins

TOL64 = 1e-9  # double-precision round-off, with room for the proxies that amplify it
BATCHED = ("naswot", "jacob_cov", "synflow", "snip", "grasp", "fisher", "grad_norm", "zico", "params", "flops", "meco",
           "linear_regions")


def torch_draws(net, name: str) -> dict:
    """The TF options carrying what torch draws with its own generator (seed 0)."""
    if name == "meco":
        return {"image": torch_image(tuple(net.input_shape), 0)}
    if name == "linear_regions":
        return {"thin_weights": pte.export_weights(pte.lower(thin_network(net), seed=0))}
    return {}


@pytest.mark.parametrize("arch", [BEST, ALL_OPS])
def test_every_batched_proxy_agrees_across_frameworks_in_float64(arch: str, float_batch) -> None:
    net = small_nb201(arch, channels=4)
    module, model = twins(net)
    expected = ptp.score_network(module, list(BATCHED), float_batch, seed=0, dtype="float64")
    got = {n: tfp.score(model, n, float_batch, seed=0, dtype="float64", **torch_draws(net, n)) for n in BATCHED}
    bad = {n: (got[n], expected[n], rel(got[n], expected[n])) for n in BATCHED if not rel(got[n], expected[n]) <= TOL64}
    assert not bad, bad


def test_ntk_proxies_agree_across_frameworks_in_float64(float_batch) -> None:
    """ntk_cond divides by the NTK's smallest eigenvalue: in float32 the frameworks differ by up to 5e-3."""
    module, model = twins(small_nb201(ALL_OPS, channels=4), seed=1)
    x, y = float_batch
    t_subject = ptc.make_subject(module, 0, None, dtype="float64")
    t_batch = ptc.make_batch((x[:8], y[:8]), 8, 0, augment_images=False, device=torch.device("cpu"), dtype="float64")
    f_subject = tfc.make_subject(model, 0, dtype="float64")
    f_batch = tfc.make_batch((x[:8], y[:8]), 8, 0, augment_images=False, dtype="float64")
    for torch_fn, tf_fn in ((pt_tenas.ntk_cond, tf_tenas.ntk_cond), (pt_hnas.ntk_trace, tf_hnas.ntk_trace)):
        expected, got = torch_fn(t_subject, t_batch), tf_fn(f_subject, f_batch)
        assert rel(got, expected) <= TOL64, (tf_fn.__name__, got, expected)


def test_gennas_agrees_across_frameworks_in_float64(float_batch) -> None:
    """20 SGD iterations: in float32 the two runs drift apart by 1e-4 within a few steps."""
    net = small_nb201(BEST, channels=4)
    module, model = twins(net)
    options = {"task": "combo", "iterations": 20, "eval_interval": 10}
    expected = ptp.score(module, "gennas", float_batch, seed=0, dtype="float64", **options)
    got = tfp.score(model, "gennas", float_batch, seed=0, dtype="float64", head_weights=torch_heads(net, 0, "combo"), **options)
    assert rel(got, expected) <= TOL64, (got, expected)


def test_float64_widens_the_same_problem_and_leaves_the_caller_s_model_alone(float_batch) -> None:
    net = small_nb201(BEST, channels=4)
    module, model = twins(net)
    before = tfe.export_weights(model)
    narrow = tfp.score(model, "snip", float_batch, seed=0)
    wide = tfp.score(model, "snip", float_batch, seed=0, dtype="float64")
    assert wide != narrow and rel(wide, narrow) <= 1e-3  # the float32 problem, not another one
    assert model.compute_dtype == "float32"
    assert all(np.array_equal(before[k], v) for k, v in tfe.export_weights(model).items())
    batch = tfc.make_batch(float_batch, 4, 0, augment_images=False, dtype="float64")
    assert batch.x.dtype.name == "float64" and np.array_equal(batch.x.numpy(), tfc.make_batch(float_batch, 4, 0, augment_images=False).x.numpy())


def test_an_unknown_dtype_is_refused_by_name(float_batch) -> None:
    model = twins(small_nb201(BEST, channels=4))[1]
    with pytest.raises(ValueError, match="float16"):
        tfp.score(model, "naswot", float_batch, dtype="float16")
