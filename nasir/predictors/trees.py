"""Gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor), the strongest tabular
predictor on encodings + zero-cost features in NAS-Bench-Suite-Zero's study (the OMNI idea)."""

from __future__ import annotations

import numpy as np

from nasir.errors import MissingDependencyError

__all__ = ["BoostedTrees"]


class BoostedTrees:
    """Histogram gradient boosting; ``predict_std`` is not offered (point predictions only)."""

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 15, seed: int = 0) -> None:
        self.max_iter, self.learning_rate, self.max_leaf_nodes, self.seed = max_iter, learning_rate, max_leaf_nodes, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> BoostedTrees:
        try:
            from sklearn.ensemble import HistGradientBoostingRegressor
        except ImportError:
            raise MissingDependencyError("BoostedTrees needs scikit-learn: pip install 'nasir[predictors]'") from None
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=min(20, max(2, len(y) // 10)), random_state=self.seed,
        ).fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(np.asarray(X, dtype=float))
