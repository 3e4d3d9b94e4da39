"""Rank ensembles (TE-NAS rank sum, AZ-NAS log-rank sum) on hand-checked examples."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from nasir import proxy_math
from nasir.errors import SchemaError
from nasir.proxy_ensembles import dense_ranks, rank_ensemble, tenas_rank


def test_sum_of_ranks_by_hand() -> None:
    out = rank_ensemble({"a": [1.0, 2.0, 3.0], "b": [30.0, 10.0, 20.0]})
    np.testing.assert_array_equal(out, [4.0, 3.0, 5.0])
    np.testing.assert_array_equal(out, proxy_math.rank_aggregate({"a": np.array([1.0, 2, 3]), "b": np.array([30.0, 10, 20])}))


def test_log_ranks_prefer_balanced_architectures() -> None:
    scores = {"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 3.0, 2.0, 1.0]}
    np.testing.assert_array_equal(rank_ensemble(scores), [5.0, 5.0, 5.0, 5.0])  # the plain sum cannot tell them apart
    log = rank_ensemble(scores, method="log")
    np.testing.assert_allclose(log, [math.log(0.25), math.log(0.5 * 0.75), math.log(0.75 * 0.5), math.log(0.25)])
    assert log[1] == log[2] > log[0] == log[3]


def test_log_rank_of_the_best_everywhere_is_zero() -> None:
    out = rank_ensemble({"a": [1.0, 5.0, 2.0], "b": [0.1, 0.9, 0.5]}, method="log")
    assert out[1] == 0.0 and out.argmax() == 1


def test_weights_scale_each_proxy() -> None:
    out = rank_ensemble({"a": [1.0, 2.0], "b": [2.0, 1.0]}, {"a": 3.0, "b": 1.0})
    np.testing.assert_array_equal(out, [3.0 + 2.0, 6.0 + 1.0])
    with pytest.raises(SchemaError, match="lack"):
        rank_ensemble({"a": [1.0, 2.0], "b": [2.0, 1.0]}, {"a": 1.0})


def test_degenerate_scores_rank_last() -> None:
    out = rank_ensemble({"a": [math.nan, 1.0, -math.inf, 2.0]})
    assert out[3] == 4.0 and out[1] == 3.0 and out[0] == out[2] == 1.5


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(SchemaError, match="same architectures"):
        rank_ensemble({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(SchemaError, match="method"):
        rank_ensemble({"a": [1.0]}, method="product")
    with pytest.raises(SchemaError, match="at least one"):
        rank_ensemble({})
    with pytest.raises(ValueError):  # SchemaError is a ValueError
        rank_ensemble({"a": [[1.0, 2.0]]})


def test_dense_ranks_share_and_do_not_skip() -> None:
    np.testing.assert_array_equal(dense_ranks([5.0, 5.0, 7.0, 1.0]), [2.0, 2.0, 3.0, 1.0])
    np.testing.assert_array_equal(dense_ranks([math.nan, -math.inf, 0.0]), [1.0, 1.0, 2.0])


def test_tenas_rank_by_hand() -> None:
    kappa = np.array([10.0, 100.0, 5.0])  # lower is better: arch 2 most trainable
    regions = np.array([80.0, 50.0, 20.0])  # higher is better: arch 0 most expressive
    out = tenas_rank(-kappa, regions)  # ntk_cond scores are -kappa
    np.testing.assert_array_equal(out, [2.0 + 3.0, 1.0 + 2.0, 3.0 + 1.0])
    assert out.argmax() == 0


def test_tenas_rank_refuses_raw_condition_numbers() -> None:
    with pytest.raises(SchemaError, match="raw kappa"):
        tenas_rank([10.0, 100.0, 5.0], [80.0, 50.0, 20.0])
    with pytest.raises(SchemaError, match="one ntk_cond"):
        tenas_rank([-10.0, -1.0], [1.0])


def test_ensembles_and_gennas_signals_need_no_framework() -> None:
    code = ("import sys\n"
            "for m in ('torch', 'tensorflow', 'jax'): sys.modules[m] = None\n"
            "import numpy as np\n"
            "from nasir.proxy_ensembles import tenas_rank\n"
            "from nasir.gennas_signals import TASKS, targets\n"
            "t = targets(TASKS['combo'], np.zeros((2, 3, 32, 32)) + np.arange(32), 0)\n"
            "print(tenas_rank([-3.0, -1.0], [1.0, 2.0]).tolist(), [x.shape[1] for x in t])\n")
    result = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2.0, 4.0] [64, 64, 64]"


def test_reference_ranks_by_hand_and_independent_of_the_batch() -> None:
    from nasir.proxy_ensembles import ReferenceRanks

    ref = ReferenceRanks({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, -np.inf]})
    # a = 2.5: 2 reference values below -> rank 3 of 4; b = 20: 2 below (-inf, 10), one equal -> rank 3.5 of 4
    np.testing.assert_allclose(ref({"a": [2.5], "b": [20.0]}), [math.log(3 / 4) + math.log(3.5 / 4)])
    one = ref({"a": [0.0, 2.5, 9.0], "b": [np.nan, 20.0, 99.0]})
    assert one[0] == pytest.approx(math.log(1 / 4) + math.log(1.5 / 4))  # NaN ties with the reference's -inf, lowest
    assert one[2] == 0.0  # best on every proxy: log(1) + log(1)
    np.testing.assert_allclose(ref({"a": [2.5], "b": [20.0]}), one[1:2])  # a score does not depend on who else is scored
    assert one[2] > one[1] > one[0]
    with pytest.raises(SchemaError, match=r"needs scores for \['b'\]"):
        ref({"a": [1.0]})
    with pytest.raises(SchemaError, match="no reference scores"):
        ReferenceRanks({"a": []})


def test_reference_ranks_over_the_candidates_agree_with_the_log_rank_ensemble_in_order() -> None:
    """Ranked against the candidates themselves, the reference version orders them as rank_ensemble does."""
    from nasir.proxy_ensembles import ReferenceRanks

    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(size=50), "b": rng.normal(size=50), "c": rng.normal(size=50)}
    ours = ReferenceRanks(scores)(scores)
    assert proxy_math.spearman(ours, rank_ensemble(scores, method="log")) > 0.999
