"""A numpy MLP ensemble regressor, the predictor of BANANAS (White et al., AAAI 2021, Sec. 4).

Plain numpy keeps the core framework-free. Each member is a ReLU MLP trained with Adam on the
mean absolute error from its own random initialisation and batch order; the ensemble's spread is
the uncertainty that BANANAS's Thompson-sampling acquisition draws from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasir.rng import Seed, as_rng

__all__ = ["MLPEnsemble"]


class _MLP:
    """One ReLU network with Adam, trained on mean absolute error."""

    def __init__(self, n_in: int, hidden: Sequence[int], rng: np.random.Generator) -> None:
        sizes = [n_in, *hidden, 1]
        self.w = [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)) for a, b in zip(sizes, sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        acts = [x]
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            z = acts[-1] @ w + b
            acts.append(np.maximum(z, 0.0) if i < len(self.w) - 1 else z)
        return acts[-1][:, 0], acts

    def gradients(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        pred, acts = self.forward(x)
        delta = (np.sign(pred - y) / len(y))[:, None]
        grads_w, grads_b = [], []
        for i in reversed(range(len(self.w))):
            grads_w.append(acts[i].T @ delta)
            grads_b.append(delta.sum(0))
            if i:
                delta = (delta @ self.w[i].T) * (acts[i] > 0)
        return grads_w[::-1] + grads_b[::-1]

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, batch: int, rng: np.random.Generator) -> None:
        params = self.w + self.b
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        step = 0
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch):
                idx = order[start : start + batch]
                step += 1
                for p, g, mi, vi in zip(params, self.gradients(x[idx], y[idx]), m, v):
                    mi[...] = 0.9 * mi + 0.1 * g
                    vi[...] = 0.999 * vi + 0.001 * g * g
                    p -= lr * (mi / (1 - 0.9**step)) / (np.sqrt(vi / (1 - 0.999**step)) + 1e-8)


class MLPEnsemble:
    """Ensemble of ReLU MLPs with ``predict`` (mean) and ``predict_std`` (spread across members).

    Args:
        n_models: ensemble size (5 in BANANAS).
        hidden: hidden layer widths (BANANAS: 10 layers of width 20).
        epochs, lr, batch_size: Adam training settings (BANANAS: 200 epochs, lr 0.01, batch 32).
        seed: initialisations and batch orders.
    """

    def __init__(self, n_models: int = 5, hidden: Sequence[int] = (20,) * 10, epochs: int = 200,
                 lr: float = 0.01, batch_size: int = 32, seed: Seed = 0) -> None:
        self.n_models, self.hidden, self.epochs = n_models, tuple(hidden), epochs
        self.lr, self.batch_size, self.seed = lr, batch_size, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPEnsemble:
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        rng = as_rng(self.seed)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
        target = (y - self.y_mean_) / self.y_scale_
        self.models_ = []
        for _ in range(self.n_models):
            model = _MLP(X.shape[1], self.hidden, rng)
            model.fit(X, target, self.epochs, self.lr, self.batch_size, rng)
            self.models_.append(model)
        return self

    def _member_predictions(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.stack([m.forward(X)[0] for m in self.models_]) * self.y_scale_ + self.y_mean_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._member_predictions(X).mean(0)

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        return self._member_predictions(X).std(0)
