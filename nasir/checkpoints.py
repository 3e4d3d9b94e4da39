"""The framework-free half of training checkpoints, shared by the torch and TensorFlow frontends.

A checkpoint names the architecture (the IR canonical hash) and the recipe it was written for, and
a file of another architecture, recipe or format is refused with the file named, so a resumed run
always continues the run that wrote it. Writes are atomic: a crash mid-write keeps the last
complete checkpoint, and nothing already computed is lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from nasir.errors import BenchmarkFileError, SchemaError
from nasir.ir import Arch, Network

__all__ = ["check_checkpoint", "ir_hash", "read_checkpoint", "write_atomically"]

T = TypeVar("T")


def ir_hash(obj: Network | Arch, input_shapes: Sequence[Sequence[int]] = ()) -> str:
    """The IR canonical hash; a bare Arch's includes its input shapes (another resolution is another model)."""
    if isinstance(obj, Network):
        return obj.canonical_hash()
    return f"{obj.canonical_hash()}@{json.dumps([list(s) for s in input_shapes])}"


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write`` on a temporary file, syncs it and renames it over ``path``: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_checkpoint(path: str | Path, load: Callable[[Path], T]) -> T:
    """``load(path)``, with a missing file a :class:`BenchmarkFileError` and any other failure a :class:`SchemaError`."""
    path = Path(path)
    try:
        return load(path)
    except FileNotFoundError:
        raise BenchmarkFileError(f"checkpoint {str(path)!r} does not exist") from None
    except Exception as err:  # noqa: BLE001 - any load failure means a malformed file
        raise SchemaError(f"checkpoint {str(path)!r} is not a readable nasir checkpoint: {err}") from None


def check_checkpoint(path: str | Path, state: Any, *, fmt: str, arch_hash: str, recipe: Mapping[str, Any]) -> None:
    """Refuses a state of another format, architecture or recipe, naming the file and the mismatch.

    Raises:
        SchemaError: ``state`` is not a ``fmt`` checkpoint, or was written for another arch or recipe.
    """
    path = str(path)
    if not isinstance(state, Mapping) or state.get("format") != fmt:
        raise SchemaError(f"checkpoint {path!r} is not a {fmt} file")
    if state.get("arch_hash") != arch_hash:
        raise SchemaError(
            f"checkpoint {path!r} was written for architecture {state.get('arch_hash')!r}, not for this model "
            f"({arch_hash!r}); use another checkpoint path or the architecture that wrote it"
        )
    saved = state.get("recipe") or {}
    if saved != recipe:
        diff = sorted(k for k in set(recipe) | set(saved) if saved.get(k) != recipe.get(k))
        raise SchemaError(f"checkpoint {path!r} was written with another recipe (fields {diff} differ); resume with the same Recipe")
