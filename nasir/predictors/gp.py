"""Gaussian-process regression with a Matern-5/2 kernel and marginal-likelihood hyper-parameters.

The GP behind Bayesian optimisation in NAS (e.g. the HNAS hybrid, which adds training-free proxy
scores as extra input features). numpy + scipy only; scipy is imported on first use, so that importing
:mod:`nasir.study` (whose strategies include BO) does not pay a second for it.
"""

from __future__ import annotations

import numpy as np

from nasir.predictors._checks import check_fit_data, check_predict_data

__all__ = ["GPRegressor"]


def _matern52(a: np.ndarray, b: np.ndarray, length: float, variance: float) -> np.ndarray:
    from scipy.spatial.distance import cdist

    r = cdist(a, b) / length
    return variance * (1.0 + np.sqrt(5.0) * r + 5.0 / 3.0 * r * r) * np.exp(-np.sqrt(5.0) * r)


class GPRegressor:
    """Exact GP regression; length scale, signal and noise variance fitted by ML-II.

    Args:
        noise_floor: smallest noise variance allowed (keeps the Cholesky factor stable).
    """

    def __init__(self, noise_floor: float = 1e-6) -> None:
        self.noise_floor = noise_floor

    def _neg_log_likelihood(self, log_params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        from scipy.linalg import cho_factor, cho_solve

        length, variance, noise = np.exp(log_params)
        K = _matern52(X, X, length, variance) + (noise + self.noise_floor) * np.eye(len(y))
        try:
            factor = cho_factor(K, lower=True)
        except np.linalg.LinAlgError:
            return 1e10
        alpha = cho_solve(factor, y)
        return float(0.5 * y @ alpha + np.log(np.diag(factor[0])).sum())

    def fit(self, X: np.ndarray, y: np.ndarray) -> GPRegressor:
        """Fits on ``X`` (rows, features) and finite ``y`` (rows,), one row or more; checked first, so bad
        data fails here and not inside scipy."""
        from scipy.linalg import cho_factor, cho_solve
        from scipy.optimize import minimize
        from scipy.spatial.distance import cdist

        X, y = check_fit_data(self, X, y)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
        target = (y - self.y_mean_) / self.y_scale_
        scale = float(np.median(cdist(X, X)[np.triu_indices(len(X), 1)])) if len(X) > 1 else 1.0
        scale = max(scale, 1e-3)
        # Length scales below a tenth of the typical distance make every point independent (a
        # white-noise fit that predicts the mean); keep ML-II away from that degenerate optimum.
        bounds = [(np.log(0.1 * scale), np.log(10 * scale)), (-7, 4), (np.log(1e-4), 0)]
        fits = [minimize(self._neg_log_likelihood, np.log([f * scale, 1.0, 0.1]), args=(X, target), method="L-BFGS-B", bounds=bounds)
                for f in (0.3, 1.0, 3.0)]
        result = min(fits, key=lambda r: r.fun)
        self.length_, self.variance_, self.noise_ = np.exp(result.x)
        K = _matern52(X, X, self.length_, self.variance_) + (self.noise_ + self.noise_floor) * np.eye(len(y))
        self.factor_ = cho_factor(K, lower=True)
        self.alpha_ = cho_solve(self.factor_, target)
        self.X_ = X
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Posterior mean per row of ``X``."""
        k = _matern52(check_predict_data(self, X), self.X_, self.length_, self.variance_)
        return k @ self.alpha_ * self.y_scale_ + self.y_mean_

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        """Posterior standard deviation per row of ``X`` (the uncertainty BO acquisitions need)."""
        from scipy.linalg import cho_solve

        X = check_predict_data(self, X, "predict_std")
        k = _matern52(X, self.X_, self.length_, self.variance_)
        var = self.variance_ - np.einsum("ij,ji->i", k, cho_solve(self.factor_, k.T))
        return np.sqrt(np.maximum(var, 0.0)) * self.y_scale_
