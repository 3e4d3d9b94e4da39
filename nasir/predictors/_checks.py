"""Input checks shared by every predictor, so bad data fails up front with a message that names the
problem instead of as a numpy/scipy error deep inside a fit, or as silent NaN predictions."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasir.errors import NoUncertaintyError, NotFittedError, PredictorDataError

__all__ = ["PredictorDataError", "NotFittedError", "NoUncertaintyError", "check_fit_data", "check_predict_data"]


def _as_float_array(model: Any, method: str, name: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise PredictorDataError(f"{type(model).__name__}.{method}: {name} must be a numeric array ({err})") from err


def _check_values(model: Any, method: str, name: str, values: np.ndarray, allow_missing: bool) -> None:
    """Refuses inf always and NaN unless ``allow_missing`` (a model that routes NaN as a missing value)."""
    bad = np.isinf(values) if allow_missing else ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0]
        at = f"row {where[0]}" + (f", column {where[1]}" if values.ndim == 2 else "")
        kind = "infinite" if allow_missing else "non-finite"
        raise PredictorDataError(f"{type(model).__name__}.{method}: {name} has {int(bad.sum())} {kind} value(s), the first "
                                 f"{values[tuple(where)]} at {at}; drop or impute them first")


def _check_matrix(model: Any, method: str, X: np.ndarray) -> None:
    if X.ndim != 2:
        raise PredictorDataError(f"{type(model).__name__}.{method}: X must be 2-D (rows, features), got shape {X.shape}; "
                                 "one row is x.reshape(1, -1)")


def check_fit_data(model: Any, X: Any, y: Any, *, min_rows: int = 1,
                   allow_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` as float arrays after checking they make a training set for ``model``.

    Args:
        min_rows: fewest rows the model can be fitted on.
        allow_missing: NaN in ``X`` is allowed (a missing value); inf never is, nor any non-finite ``y``.
    """
    X, y = _as_float_array(model, "fit", "X", X), _as_float_array(model, "fit", "y", y)
    name = type(model).__name__
    _check_matrix(model, "fit", X)
    if y.ndim != 1:
        raise PredictorDataError(f"{name}.fit: y must be 1-D (one target per row), got shape {y.shape}; flatten it with y.ravel()")
    if len(X) != len(y):
        raise PredictorDataError(f"{name}.fit: X has {len(X)} rows but y has {len(y)} targets")
    if len(X) < min_rows:
        raise PredictorDataError(f"{name}.fit needs at least {min_rows} row(s), got {len(X)}")
    if not X.shape[1]:
        raise PredictorDataError(f"{name}.fit: X has no feature columns")
    _check_values(model, "fit", "X", X, allow_missing)
    _check_values(model, "fit", "y", y, allow_missing=False)
    return X, y


def check_predict_data(model: Any, X: Any, method: str = "predict", *, allow_missing: bool = False) -> np.ndarray:
    """``X`` as a float array after checking ``model`` is fitted and ``X`` has its number of features."""
    n_features = getattr(model, "n_features_in_", None)
    if n_features is None:
        raise NotFittedError(f"{type(model).__name__} is not fitted; call fit(X, y) first")
    X = _as_float_array(model, method, "X", X)
    _check_matrix(model, method, X)
    if X.shape[1] != n_features:
        raise PredictorDataError(f"{type(model).__name__}.{method}: X has {X.shape[1]} features but the model was fitted "
                                 f"on {n_features}")
    _check_values(model, method, "X", X, allow_missing)
    return X
