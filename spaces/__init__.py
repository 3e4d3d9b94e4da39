"""Built-in search spaces (installed as ``nasir.spaces``); each module registers its space in ``nasir.space.SPACES`` on import."""

from __future__ import annotations

import importlib

__all__ = ["BUILTIN", "load_builtin"]

BUILTIN = ("nb201", "nb101", "darts", "mobilenet", "grammars")


def load_builtin() -> None:
    """Imports every built-in space module so its spaces are registered (cheap: no framework is imported)."""
    for name in BUILTIN:
        importlib.import_module(f"nasir.spaces.{name}")
