"""Conformance of every predictor, and a quality floor on NAS-Bench-201 encodings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasir.predictors import PREDICTORS
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark

FAST = {"mlp_ensemble": {"epochs": 60, "hidden": (20, 20)}, "gp": {}, "trees": {"max_iter": 60}}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    index = np.random.default_rng(0).choice(15_625, 300, replace=False)
    X = np.stack([space.encode(space.from_index(int(i)), "adjacency") for i in index])
    return X, NB201Benchmark.default().query_many(index, "cifar10-valid", "valid_acc")


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_predictor_contract(name: str, data) -> None:
    X, y = data
    model = PREDICTORS.get(name)(**FAST[name])
    assert not [k for k in vars(model) if k.endswith("_")], "__init__ must only store arguments"
    assert model.fit(X[:100], y[:100]) is model
    pred = model.predict(X[100:])
    assert pred.shape == (200,) and np.isfinite(pred).all()
    assert spearmanr(pred, y[100:])[0] > 0.3, "100 labelled cells must rank the other 200 well above chance (p < 1e-5)"
    again = PREDICTORS.get(name)(**FAST[name]).fit(X[:100], y[:100]).predict(X[100:])
    np.testing.assert_allclose(pred, again)
    if hasattr(model, "predict_std"):
        std = model.predict_std(X[100:])
        assert std.shape == (200,) and (std >= 0).all() and std.max() > 0
