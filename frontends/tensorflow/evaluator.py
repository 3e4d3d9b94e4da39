"""Train-and-evaluate as an objective for search strategies, trained with TensorFlow (see :class:`nasir.recipe.TrainEvaluator`)."""

from __future__ import annotations

from nasir import recipe
from nasir.frontends.tensorflow.train import train

__all__ = ["TrainEvaluator"]


class TrainEvaluator(recipe.TrainEvaluator):
    __doc__ = recipe.TrainEvaluator.__doc__
    train = staticmethod(train)
