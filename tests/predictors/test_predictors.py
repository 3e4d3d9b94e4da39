"""Conformance of every predictor (scikit-learn shape), and a quality floor on NAS-Bench-201 encodings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasir.predictors import PREDICTORS
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
