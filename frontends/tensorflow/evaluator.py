"""Train-and-evaluate as an objective for search strategies, in TensorFlow (the torch frontend's contract)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasir.data import ImageData, load_cifar10, load_sample
from nasir.frontends.tensorflow.train import Recipe, train
from nasir.ir import Arch
from nasir.space import SearchSpace

__all__ = ["TrainEvaluator"]


def _data(dataset: ImageData | str | Path) -> ImageData:
    if isinstance(dataset, ImageData):
        return dataset
    if str(dataset) in ("sample", "cifar10-sample"):
        return load_sample()
    return load_cifar10(dataset)


class TrainEvaluator:
    """Scores an architecture by training its network from scratch with TensorFlow.

    The network is ``space.network(arch, **network_kwargs)``, trained with ``recipe`` whose
    schedule is shortened to ``epochs`` (a full cosine over the budget), then evaluated on the
    data's validation split; the same arguments and result keys as the torch frontend's.

    Args:
        space: the search space building the networks.
        dataset: an :class:`~nasir.data.ImageData`, ``"sample"`` (the shipped subset) or a
            CIFAR-10 folder.
        epochs: training budget.
        recipe: hyper-parameters (NB201's by default; a torch ``Recipe`` works too: same fields).
        seed: init and data seed, the same for every architecture (a fair comparison).
        device: a TensorFlow device string, or None.
        network_kwargs: skeleton options, e.g. ``{"channels": 8, "cells_per_stage": 1}``.
    """

    def __init__(self, space: SearchSpace, dataset: ImageData | str | Path, epochs: int, recipe: Recipe | None = None,
                 seed: int = 0, *, device: str | None = None, network_kwargs: Mapping[str, Any] | None = None) -> None:
        self.space, self.data, self.seed, self.device = space, _data(dataset), seed, device
        self.recipe = Recipe(**{**dataclasses.asdict(recipe or Recipe()), "epochs": epochs})
        self.network_kwargs = dict(network_kwargs or {})

    def evaluate(self, arch: Arch) -> dict[str, float]:
        """``{"val_acc": percent, "val_loss", "train_loss", "seconds", "epochs"}`` of one training run."""
        start = time.perf_counter()
        network = self.space.network(arch, **self.network_kwargs)
        result = train(network, self.data, self.recipe, seed=self.seed, device=self.device, progress=False)
        return {
            "val_acc": float(result.val_acc), "val_loss": float(result.val_loss), "train_loss": float(result.train_loss),
            "seconds": time.perf_counter() - start, "epochs": float(self.recipe.epochs),
        }

    __call__ = evaluate
