"""Conformance of every predictor (scikit-learn shape), and a quality floor on NAS-Bench-201 encodings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasir.predictors import PREDICTORS, BoostedTrees, NotFittedError, NoUncertaintyError, PredictorDataError
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark

FAST = {"mlp_ensemble": {"epochs": 60, "hidden": (20, 20), "seed": 0}, "gp": {}, "trees": {"max_iter": 60, "seed": 0}}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    index = np.random.default_rng(0).choice(15_625, 300, replace=False)
    X = np.stack([space.encode(space.from_index(int(i)), "path") for i in index])
    return X, NB201Benchmark.default().query_many(index, "cifar10-valid", "valid_acc")


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_predictor_contract(name: str, data) -> None:
    X, y = data
    model = PREDICTORS.get(name)(**FAST[name])
    assert not [k for k in vars(model) if k.endswith("_")], "__init__ must only store arguments"
    assert model.fit(X[:100], y[:100]) is model
    assert [k for k in vars(model) if k.endswith("_")], "learned state lives in name_ attributes"
    pred = model.predict(X[100:])
    assert pred.shape == (200,) and np.isfinite(pred).all()
    assert spearmanr(pred, y[100:])[0] > 0.3, "100 labelled cells must rank the rest better than chance"
    again = PREDICTORS.get(name)(**FAST[name]).fit(X[:100], y[:100]).predict(X[100:])
    np.testing.assert_allclose(pred, again)
    assert model.predict(X[100:101]).shape == (1,)
    if hasattr(model, "predict_std"):
        std = model.predict_std(X[100:])
        assert std.shape == (200,) and (std >= 0).all() and std.max() > 0


def test_mlp_members_differ_with_the_seed(data) -> None:
    X, y = data
    a = PREDICTORS.get("mlp_ensemble")(**{**FAST["mlp_ensemble"], "seed": 1}).fit(X[:100], y[:100]).predict(X[100:])
    b = PREDICTORS.get("mlp_ensemble")(**FAST["mlp_ensemble"]).fit(X[:100], y[:100]).predict(X[100:])
    assert not np.allclose(a, b)


def test_gp_interpolates_and_is_unsure_far_away(data) -> None:
    X, y = data
    gp = PREDICTORS.get("gp")().fit(X[:100], y[:100])
    assert gp.predict_std(X[:100]).mean() < gp.predict_std(X[100:]).mean()


def test_trees_without_scikit_learn_name_the_extra() -> None:
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import numpy as np\nfrom nasir.predictors import BoostedTrees\nfrom nasir.errors import MissingDependencyError\n"
            "try:\n    BoostedTrees().fit(np.zeros((4, 2)), np.arange(4.0))\n"
            "except MissingDependencyError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=60)
    assert "scikit-learn" in out.stdout and "nasir[predictors]" in out.stdout, out.stderr


def _xy(rows: int = 12, features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(1).random((rows, features))
    return X, X.sum(1)


def _with(a: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    a = a.copy()
    a[index] = value
    return a


X12, Y12 = _xy()
BAD_FITS = {
    "no rows": (X12[:0], Y12[:0], r"needs at least \d row.*got 0"),
    "lengths differ": (X12, Y12[:8], "X has 12 rows but y has 8 targets"),
    "2-D y": (X12, Y12[:, None], r"y must be 1-D .* got shape \(12, 1\)"),
    "1-D X": (X12[:, 0], Y12, r"X must be 2-D .* got shape \(12,\)"),
    "no features": (X12[:, :0], Y12, "X has no feature columns"),
    "NaN y": (X12, _with(Y12, (3,), np.nan), "y has 1 non-finite value.* nan at row 3"),
    "-inf y": (X12, _with(Y12, (5,), -np.inf), "y has 1 non-finite value.* -inf at row 5"),
    "inf X": (_with(X12, (2, 1), np.inf), Y12, "X has 1 (non-finite|infinite) value.* inf at row 2, column 1"),
    "text X": ([["a", "b", "c"]] * 12, Y12, "X must be a numeric array"),
}


@pytest.mark.parametrize("case", BAD_FITS)
@pytest.mark.parametrize("name", PREDICTORS.names())
def test_fit_refuses_bad_training_data_naming_the_problem(name: str, case: str) -> None:
    X, y, message = BAD_FITS[case]
    model = PREDICTORS.get(name)(**FAST[name])
    with pytest.raises(ValueError, match=rf"{type(model).__name__}\.fit.*{message}") as raised:
        model.fit(X, y)
    assert raised.type is PredictorDataError, "a ValueError that is also a NasirError"
    with pytest.raises(NotFittedError):
        model.predict(X12)


@pytest.mark.parametrize("name", ["gp", "mlp_ensemble"])
def test_nan_features_are_refused_where_they_would_poison_the_fit(name: str) -> None:
    """The MLP ensemble used to train on NaN silently and predict NaN everywhere."""
    with pytest.raises(PredictorDataError, match=r"X has 1 non-finite value.* nan at row 4, column 0"):
        PREDICTORS.get(name)(**FAST[name]).fit(_with(X12, (4, 0), np.nan), Y12)


def test_trees_route_nan_features_as_missing_values() -> None:
    """scikit-learn's trees learn a side for NaN (the proxy-ensemble benchmark relies on it); inf is still refused."""
    X = _with(X12, (4, 0), np.nan)
    trees = PREDICTORS.get("trees")(**FAST["trees"]).fit(X, Y12)
    assert np.isfinite(trees.predict(X)).all()
    with pytest.raises(PredictorDataError, match="X has 1 infinite value.* inf at row 0, column 2"):
        trees.predict(_with(X12, (0, 2), np.inf))


@pytest.mark.parametrize(("name", "fewest"), [("gp", 1), ("trees", 1), ("mlp_ensemble", 2)])
def test_fewest_rows_each_predictor_fits_on(name: str, fewest: int) -> None:
    X, y = _xy()
    assert PREDICTORS.get(name)(**FAST[name]).fit(X[:fewest], y[:fewest]).predict(X).shape == (12,)
    with pytest.raises(PredictorDataError, match=f"needs at least {fewest} row.*got {fewest - 1}"):
        PREDICTORS.get(name)(**FAST[name]).fit(X[: fewest - 1], y[: fewest - 1])


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_predict_before_fit_says_to_call_fit(name: str) -> None:
    model = PREDICTORS.get(name)(**FAST[name])
    methods = [m for m in ("predict", "predict_std") if hasattr(type(model), m)]
    for method in methods:
        with pytest.raises(NotFittedError, match=f"{type(model).__name__} is not fitted; call fit"):
            getattr(model, method)(X12)
    assert issubclass(NotFittedError, AttributeError) and issubclass(NotFittedError, ValueError)


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_predict_checks_the_rows_against_the_fitted_features(name: str) -> None:
    model = PREDICTORS.get(name)(**FAST[name]).fit(X12, Y12)
    for method in [m for m in ("predict", "predict_std") if hasattr(type(model), m)]:
        predict = getattr(model, method)
        with pytest.raises(PredictorDataError, match=rf"{method}: X must be 2-D .* got shape \(3,\); one row is x.reshape"):
            predict(X12[0])
        with pytest.raises(PredictorDataError, match=f"{method}: X has 2 features but the model was fitted on 3"):
            predict(X12[:, :2])
        assert predict(X12[:0]).shape == (0,), "no rows, no predictions"
        if name != "trees":
            with pytest.raises(PredictorDataError, match=f"{method}: X has 1 non-finite value"):
                predict(_with(X12, (1, 1), np.nan))


def test_bananas_refuses_a_predictor_without_uncertainty_when_built() -> None:
    from nasir.strategies import Bananas

    with pytest.raises(NoUncertaintyError, match="BoostedTrees has no predict_std; use MLPEnsemble or GPRegressor"):
        Bananas(space, seed=0, initial=3, batch=2, predictor=lambda seed: BoostedTrees(max_iter=10))
