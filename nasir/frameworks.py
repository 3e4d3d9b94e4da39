"""One switch for the deep-learning framework: ``framework="torch" | "tensorflow"``.

Every frontend exposes the same core functions (``lower(obj, *, seed)``, ``export_weights``,
``import_weights``), so callers that build, score or train a model take a ``framework`` name and
ask :func:`get_frontend` for the module. Frontends are imported lazily (the core never imports a
framework at import time); a missing framework raises
:class:`~nasir.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nasir.errors import MissingDependencyError
from nasir.registry import Registry

__all__ = ["FRAMEWORKS", "get_frontend", "frameworks"]

# framework name -> (frontend module, pip extra, top-level packages the frontend needs)
FRAMEWORKS: Registry[tuple[str, str, tuple[str, ...]]] = Registry("framework")
FRAMEWORKS.register("torch", ("nasir.frontends.torch", "torch", ("torch",)))
FRAMEWORKS.register("tensorflow", ("nasir.frontends.tensorflow", "tf", ("tensorflow", "keras")))


def frameworks() -> list[str]:
    """Names accepted by :func:`get_frontend`."""
    return FRAMEWORKS.names()


def get_frontend(name: str) -> ModuleType:
    """The frontend module for ``name`` (``"torch"`` or ``"tensorflow"``), imported on first use.

    Raises:
        UnknownNameError: ``name`` is not a framework (the message suggests close matches).
        MissingDependencyError: the framework is not installed; the message names the extra.
    """
    module, extra, needs = FRAMEWORKS.get(name)
    try:
        return importlib.import_module(module)
    except MissingDependencyError:
        raise
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in needs:
            raise  # a real bug inside the frontend, not a missing framework
        raise MissingDependencyError(f"framework {name!r} is not installed ({err}): pip install 'nasir[{extra}]'") from err
