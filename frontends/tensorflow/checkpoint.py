"""Training checkpoints for the TensorFlow loop: an ``.npz`` of variables and momentum buffers plus JSON metadata.

Numpy arrays and JSON only (no pickle), so a file is read without running its content. ``meta``
holds the format tag, arch hash, recipe, epoch, history and the numpy Generator state; ``model/i``
and ``momentum/i`` hold the variables in their (deterministic) creation order. The checks and the
atomic write are the framework-free :mod:`nasir.checkpoints`, the same as the torch frontend's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasir.checkpoints import check_checkpoint, ir_hash, read_checkpoint, write_atomically
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel

__all__ = ["FORMAT", "load_checkpoint", "model_hash", "save_checkpoint"]

FORMAT = "nasir-tf-checkpoint/1"


def model_hash(model: ArchModel | NetworkModel) -> str:
    """The IR canonical hash of a lowered model (a bare Arch's with its input shapes), as torch's ``model_hash``."""
    if isinstance(model, NetworkModel):
        return ir_hash(model.network)
    return ir_hash(model.arch, model.input_shapes)


def save_checkpoint(path: str | Path, meta: dict[str, Any], arrays: dict[str, Sequence[np.ndarray]]) -> None:
    """Writes ``meta`` (JSON-able) and ``arrays`` (``{"model": [...], "momentum": [...]}``) atomically."""
    entries = {f"{group}/{i}": np.asarray(a) for group, items in arrays.items() for i, a in enumerate(items)}
    text = json.dumps({"format": FORMAT, **meta, "counts": {group: len(items) for group, items in arrays.items()}})
    write_atomically(path, lambda f: np.savez(f, meta=np.array(text), **entries))


def _read(path: Path) -> dict[str, Any]:
    """The metadata with the array groups as lists; ``{}`` for a zip that is no nasir npz (a torch checkpoint)."""
    with np.load(path, allow_pickle=False) as npz:
        state = json.loads(str(npz["meta"])) if "meta" in npz.files else {}
        if state.get("format") == FORMAT:  # another format's layout is refused by the check, not read
            for group, count in state["counts"].items():
                state[group] = [npz[f"{group}/{i}"] for i in range(count)]
    return state


def load_checkpoint(path: str | Path, *, arch_hash: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """Reads a checkpoint written by :func:`save_checkpoint` for the same arch and recipe.

    Raises:
        BenchmarkFileError: the file does not exist.
        SchemaError: it is not a readable nasir TensorFlow checkpoint, or it belongs to another architecture or recipe.
    """
    state = read_checkpoint(path, _read)
    check_checkpoint(path, state, fmt=FORMAT, arch_hash=arch_hash, recipe=recipe)
    return state
