"""The training recipe and the train-and-evaluate objective, shared by every frontend (framework-free).

One :class:`Recipe` describes a training run; the torch and TensorFlow frontends read the same
object, so "the same recipe in both frameworks" is true by construction. :class:`TrainEvaluator`
is the objective built on it; each frontend subclasses it with its own ``train`` function.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from nasir.data import ImageData, load_cifar10, load_sample
from nasir.errors import SchemaError
from nasir.ir import Arch

__all__ = ["Recipe", "TrainResult", "TrainEvaluator"]

ModelT = TypeVar("ModelT")


@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters; the defaults are NAS-Bench-201's 200-epoch schedule.

    ``amp`` is ``"bf16"``, ``"fp16"`` or ``"off"`` and applies on CUDA only (CPU runs in fp32).
    ``eval_every`` evaluates every that many epochs (0: after the last epoch only).
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eta_min: float = 0.0
    crop_padding: int = 4
    flip: bool = True
    label_smoothing: float = 0.0
    amp: str = "bf16"
    channels_last: bool = True
    eval_every: int = 0
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise SchemaError(f"Recipe.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr", "momentum", "weight_decay", "eta_min", "crop_padding", "label_smoothing", "eval_every"):
            if getattr(self, name) < 0:
                raise SchemaError(f"Recipe.{name} must be >= 0, got {getattr(self, name)}")
        if self.amp not in ("bf16", "fp16", "off"):
            raise SchemaError(f"Recipe.amp must be 'bf16', 'fp16' or 'off', got {self.amp!r}")

    def lr_at(self, epoch: int) -> float:
        """NB201's per-epoch cosine: ``eta_min + (lr - eta_min) * (1 + cos(pi * epoch / epochs)) / 2``."""
        return self.eta_min + (self.lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.epochs)) / 2


def _images(dataset: ImageData | str | Path) -> ImageData:
    if isinstance(dataset, ImageData):
        return dataset
    if str(dataset) in ("sample", "cifar10-sample"):
        return load_sample()
    return load_cifar10(dataset)



@dataclass
class TrainResult(Generic[ModelT]):
    """What a frontend's ``train`` returns, the same in every framework.

    ``history`` has one dict per finished epoch (``epoch``, ``train_loss``, ``lr`` after the epoch's
    scheduler step, and ``val_acc`` / ``val_loss`` where evaluated); ``seconds`` is the wall time of
    the call and ``images_per_second`` the throughput of its SGD passes (evaluation excluded).
    """

    model: ModelT
    history: list[dict[str, float]] = field(default_factory=list)
    val_acc: float | None = None
    val_loss: float | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0

    @property
    def train_loss(self) -> float:
        return self.history[-1]["train_loss"] if self.history else math.nan


class TrainEvaluator:
    """Scores an architecture by training its network from scratch (the expensive ground truth).

    The network is ``space.network(arch, **network_kwargs)``, trained with ``recipe`` whose
    schedule is shortened to ``epochs`` (a full cosine over the budget, as NB201's 12-epoch
    ``hp=12`` runs), then evaluated on the data's validation split. Frontends subclass it and set
    ``train`` (``nasir.frontends.torch.TrainEvaluator``, ``nasir.frontends.tensorflow.TrainEvaluator``).

    Args:
        space: the search space building the networks.
        dataset: an :class:`~nasir.data.ImageData`, ``"sample"`` (the shipped subset) or a
            CIFAR-10 folder.
        epochs: training budget.
        recipe: hyper-parameters (NB201's by default).
        seed: init and data seed, the same for every architecture (a fair comparison).
        device: the frontend's device (``None``: its default).
        network_kwargs: skeleton options, e.g. ``{"channels": 8, "cells_per_stage": 1}``.
    """

    train: Callable[..., Any]

    def __init__(self, space: Any, dataset: ImageData | str | Path, epochs: int, recipe: Recipe | None = None,
                 seed: int = 0, *, device: Any = None, network_kwargs: Mapping[str, Any] | None = None) -> None:
        self.space, self.data, self.seed, self.device = space, _images(dataset), seed, device
        self.recipe = dataclasses.replace(recipe or Recipe(), epochs=epochs)
        self.network_kwargs = dict(network_kwargs or {})

    def evaluate(self, arch: Arch) -> dict[str, float]:
        """``{"val_acc": percent, "val_loss", "train_loss", "seconds", "epochs"}`` of one training run."""
        start = time.perf_counter()
        network = self.space.network(arch, **self.network_kwargs)
        result = type(self).train(network, self.data, self.recipe, seed=self.seed, device=self.device, progress=False)
        return {
            "val_acc": float(result.val_acc), "val_loss": float(result.val_loss), "train_loss": float(result.train_loss),
            "seconds": time.perf_counter() - start, "epochs": float(self.recipe.epochs),
        }

    __call__ = evaluate
