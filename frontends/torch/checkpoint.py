"""Training checkpoints: model, optimizer, scheduler, scaler, epoch, RNG states and the arch hash.

A checkpoint is refused (with the file named) when it was written for another architecture or
another recipe, so a resumed run continues exactly the run that wrote it; the checks and the
atomic write are the framework-free :mod:`nasir.checkpoints`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasir.checkpoints import check_checkpoint, ir_hash, read_checkpoint, write_atomically
from nasir.frontends.torch.modules import ArchModule, NetworkModule

__all__ = ["FORMAT", "model_hash", "save_checkpoint", "load_checkpoint"]

FORMAT = "nasir-torch-checkpoint/1"


def model_hash(model: nn.Module) -> str:
    """The IR canonical hash of a lowered model; for other modules a hash of tensor names and shapes."""
    if isinstance(model, NetworkModule):
        return ir_hash(model.network)
    if isinstance(model, ArchModule):
        return ir_hash(model.arch, model.input_shapes)
    layout = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    return "module:" + hashlib.sha256(json.dumps(layout).encode()).hexdigest()[:40]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Writes ``state`` atomically (temporary file + rename), so a crash never leaves half a file."""
    write_atomically(path, lambda f: torch.save({"format": FORMAT, **state}, f))


def load_checkpoint(path: str | Path, *, arch_hash: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """Reads a checkpoint written by :func:`save_checkpoint` for the same arch and recipe.

    Raises:
        BenchmarkFileError: the file does not exist.
        SchemaError: it is not a readable nasir checkpoint, or it belongs to another architecture or recipe.
    """
    state = read_checkpoint(path, lambda p: torch.load(p, map_location="cpu", weights_only=True))
    check_checkpoint(path, state, fmt=FORMAT, arch_hash=arch_hash, recipe=recipe)
    return state
