"""Training checkpoints: model, optimizer, scheduler, scaler, epoch, RNG states and the arch hash.

A checkpoint is refused (with the file named) when it was written for another architecture or
another recipe, so a resumed run continues exactly the run that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasir.errors import BenchmarkFileError, SchemaError
from nasir.frontends.torch.modules import ArchModule, NetworkModule

__all__ = ["FORMAT", "model_hash", "save_checkpoint", "load_checkpoint"]

FORMAT = "nasir-torch-checkpoint/1"


def model_hash(model: nn.Module) -> str:
    """The IR canonical hash of a lowered model; for other modules a hash of tensor names and shapes."""
    if isinstance(model, NetworkModule):
        return model.network.canonical_hash()
    if isinstance(model, ArchModule):
        shapes = json.dumps([list(s) for s in model.input_shapes])
        return f"{model.arch.canonical_hash()}@{shapes}"
    layout = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    return "module:" + hashlib.sha256(json.dumps(layout).encode()).hexdigest()[:40]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Writes ``state`` atomically (temporary file + rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, *, arch_hash: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """Reads a checkpoint written by :func:`save_checkpoint` for the same arch and recipe.

    Raises:
        BenchmarkFileError: the file cannot be read.
        SchemaError: it is not a nasir checkpoint, or it belongs to another architecture or recipe.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BenchmarkFileError(f"checkpoint {str(path)!r} does not exist") from None
    except Exception as err:  # noqa: BLE001 - any load failure means a malformed file
        raise SchemaError(f"checkpoint {str(path)!r} is not a readable nasir checkpoint: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SchemaError(f"checkpoint {str(path)!r} is not a {FORMAT} file")
    if state.get("arch_hash") != arch_hash:
        raise SchemaError(
            f"checkpoint {str(path)!r} was written for architecture {state.get('arch_hash')!r}, not for this model "
            f"({arch_hash!r}); use another checkpoint path or the architecture that wrote it"
        )
    if state.get("recipe") != recipe:
        diff = sorted(k for k in set(recipe) | set(state.get("recipe") or {}) if (state.get("recipe") or {}).get(k) != recipe.get(k))
        raise SchemaError(f"checkpoint {str(path)!r} was written with another recipe (fields {diff} differ); resume with the same Recipe")
    return state
