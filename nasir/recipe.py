"""The training recipe, shared by every frontend (framework-free).

One :class:`Recipe` describes a training run; the torch and TensorFlow frontends read the same
object, so "the same recipe in both frameworks" is true by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nasir.errors import SchemaError

__all__ = ["Recipe"]


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
