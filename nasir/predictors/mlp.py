"""A numpy MLP ensemble regressor, the predictor of BANANAS (White et al., AAAI 2021, Sec. 4).

Plain numpy keeps the core framework-free. Each member is a ReLU MLP trained with Adam on the
mean absolute error from its own random initialisation and batch order; the ensemble's spread is
the uncertainty that BANANAS's independent Thompson sampling draws from. Initialisation and optimiser are those
of the reference (naszilla's Keras ``MetaNeuralnet``): Glorot-uniform weights, zero biases, Adam with beta_2 0.99.
Targets are standardised here (the reference fits raw validation errors). The members are trained
side by side as one stacked network (weights ``(members, in, out)``), which is ~5x faster in numpy
than one after the other and gives the same model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasir.predictors._checks import check_fit_data, check_predict_data
from nasir.rng import Seed, as_rng

__all__ = ["MLPEnsemble"]

_BETA2 = 0.99  # the BANANAS reference's Adam (Keras, beta_1 0.9, beta_2 0.99, epsilon 1e-7), not Adam's usual 0.999


def _forward(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Activations of every layer for stacked members; ``x`` is ``(members, batch, in)``."""
    acts = [x]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = acts[-1] @ w + b[:, None, :]
        acts.append(np.maximum(z, 0.0) if i < len(weights) - 1 else z)
    return acts


def _gradients(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, biases: list[np.ndarray]) -> list[np.ndarray]:
    acts = _forward(weights, biases, x)
    delta = np.sign(acts[-1][..., 0] - y)[..., None] / y.shape[1]
    gw, gb = [], []
    for i in reversed(range(len(weights))):
        gw.append(acts[i].transpose(0, 2, 1) @ delta)
        gb.append(delta.sum(1))
        if i:
            delta = (delta @ weights[i].transpose(0, 2, 1)) * (acts[i] > 0)
    return gw[::-1] + gb[::-1]


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
        """Trains every member on ``X`` (rows, features) and finite ``y`` (rows,), at least 2 rows;
        the data are checked first, as NaN would otherwise train silently into NaN predictions."""
        X, y = check_fit_data(self, X, y, min_rows=2)
        rng = as_rng(self.seed)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
        target = (y - self.y_mean_) / self.y_scale_
        sizes = [X.shape[1], *self.hidden, 1]
        m = self.n_models
        shapes = [(m, a, b) for a, b in zip(sizes, sizes[1:])] + [(m, b) for b in sizes[1:]]
        self.params_ = np.zeros(sum(int(np.prod(s)) for s in shapes))  # one buffer: Adam is a few whole-array ops
        views, offset = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            views.append(self.params_[offset : offset + size].reshape(shape))
            offset += size
        layers = len(sizes) - 1
        self.weights_, self.biases_ = views[:layers], views[layers:]
        for w, (a, b) in zip(self.weights_, zip(sizes, sizes[1:])):  # Glorot uniform, zero biases: Keras's Dense default
            limit = np.sqrt(6.0 / (a + b))
            w[...] = rng.uniform(-limit, limit, w.shape)
        self._train(X, target, rng)
        self.n_features_in_ = X.shape[1]
        return self

    def _train(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        theta = self.params_
        mom, vel = np.zeros_like(theta), np.zeros_like(theta)
        n, step = len(y), 0
        for _ in range(self.epochs):
            orders = np.argsort(rng.random((self.n_models, n)), axis=1)  # one batch order per member
            for start in range(0, n, self.batch_size):
                idx = orders[:, start : start + self.batch_size]
                step += 1
                grad = np.concatenate([g.ravel() for g in _gradients(self.weights_, X[idx], y[idx], self.biases_)])
                mom *= 0.9
                mom += 0.1 * grad
                vel *= _BETA2
                vel += (1 - _BETA2) * grad * grad
                theta -= self.lr * (mom / (1 - 0.9**step)) / (np.sqrt(vel / (1 - _BETA2**step)) + 1e-7)

    def _member_predictions(self, X: np.ndarray) -> np.ndarray:
        out = _forward(self.weights_, self.biases_, np.broadcast_to(X, (self.n_models, *X.shape)))[-1][..., 0]
        return out * self.y_scale_ + self.y_mean_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Ensemble mean per row of ``X``."""
        return self._member_predictions(check_predict_data(self, X)).mean(0)

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        """Spread of the members per row of ``X`` (the uncertainty BANANAS samples from)."""
        return self._member_predictions(check_predict_data(self, X, "predict_std")).std(0)
