"""Train-and-evaluate as an objective for search strategies, trained with PyTorch (see :class:`nasir.recipe.TrainEvaluator`)."""

from __future__ import annotations

from nasir import recipe
from nasir.frontends.torch.train import train

__all__ = ["TrainEvaluator"]


class TrainEvaluator(recipe.TrainEvaluator):
    __doc__ = recipe.TrainEvaluator.__doc__
    train = staticmethod(train)
