"""Performance predictors with a scikit-learn shape: ``fit(X, y) -> self``, ``predict``, and
``predict_std`` where the model has an uncertainty. ``__init__`` only stores arguments; learned
state lives in attributes ending in ``_``. Bad data raises :class:`PredictorDataError` up front,
``predict`` before ``fit`` :class:`NotFittedError`."""

from __future__ import annotations

from nasir.predictors._checks import NoUncertaintyError, NotFittedError, PredictorDataError
from nasir.predictors.gp import GPRegressor
from nasir.predictors.mlp import MLPEnsemble
from nasir.predictors.trees import BoostedTrees
from nasir.registry import Registry

__all__ = ["PREDICTORS", "GPRegressor", "MLPEnsemble", "BoostedTrees", "PredictorDataError", "NotFittedError",
           "NoUncertaintyError"]

PREDICTORS: Registry[type] = Registry("predictor")
PREDICTORS.register("mlp_ensemble", MLPEnsemble)
PREDICTORS.register("gp", GPRegressor)
PREDICTORS.register("trees", BoostedTrees)
