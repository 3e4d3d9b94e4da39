"""SWAP in TensorFlow against torch: torch's 32 N(0, 1) re-inits go over as ``weights``, both score the
same float batch, and the pattern counts must agree (float64: exactly; float32: to a few units that
sit at zero, where the frameworks' round-off may flip a sign)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasir.errors import SchemaError
from nasir.frontends.tensorflow import proxies as tfp
from nasir.frontends.tensorflow.proxies import swap as tf_swap
from nasir.frontends.tensorflow.proxies._common import make_subject
from nasir.frontends.torch import proxies as ptp
from nasir.frontends.torch.proxies import swap as pt_swap
from nasir.proxies import PROXIES

from ._helpers import ALL_OPS, BEST, rel, small_nb101, small_nb201


def test_registered_with_its_spec() -> None:
    assert tfp.TF_PROXIES.get("swap").spec is PROXIES.get("swap") and "swap" not in tfp.UNSUPPORTED


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("net", [small_nb201(BEST, channels=4), small_nb201(ALL_OPS, channels=4), small_nb101(0)],
                         ids=["nb201-best", "nb201-all-ops", "nb101"])
def test_counts_match_torch_with_torch_s_draws(float_batch, net, dtype: str) -> None:
    data = (float_batch[0][:16], float_batch[1][:16])
    expected = ptp.score(net, "swap", data, seed=0, dtype=dtype, repeats=4)
    got = tfp.score(net, "swap", data, seed=0, dtype=dtype, repeats=4, weights=pt_swap.draws(net, 0, repeats=4))
    assert got == expected if dtype == "float64" else rel(got, expected) <= 1e-3


def test_own_draws_are_seeded_and_regularised(float_batch) -> None:
    net = small_nb201(BEST, channels=4)
    data = (float_batch[0][:16], float_batch[1][:16])
    a = tfp.score(net, "swap", data, seed=0, repeats=3)
    assert a == tfp.score(net, "swap", data, seed=0, repeats=3) != tfp.score(net, "swap", data, seed=1, repeats=3)
    thousands = net.count_params() / 1e3
    assert tfp.score(net, "swap", data, seed=0, repeats=3, mu=thousands, sigma=1.0) == pytest.approx(a)
    assert tfp.score(net, "swap", data, seed=0, repeats=3, mu=thousands + 3, sigma=9.0) == pytest.approx(a * math.exp(-1.0))


def test_a_wrong_number_of_weight_sets_is_refused(float_batch) -> None:
    net = small_nb201(BEST, channels=4)
    with pytest.raises(SchemaError, match="one weight dict per repeat"):
        tf_swap.swap(make_subject(net, 0), None, repeats=3, weights=[{}])
    assert np.isfinite(tfp.score(net, "swap", (float_batch[0][:16], float_batch[1][:16]), seed=0, repeats=1))
