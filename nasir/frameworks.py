"""One switch for the deep-learning framework: ``framework="torch" | "tensorflow"``.

Every frontend offers the same entry points (:data:`API`): build (``lower``), move weights
(``export_weights``, ``import_weights``), score (``score``, ``score_many``: zero-cost proxies;
``unsupported_proxies``: the specs it has no implementation of, with the reason;
``proxy_implementations``: the registry of those it has), train (``train``,
``Recipe``, ``TrainEvaluator``) and size its thread pool (``set_threads``). Callers that build, score or train a model
take a ``framework`` name and ask :func:`get_frontend` for a :class:`Frontend` holding them:

    >>> fe = get_frontend("tensorflow")                       # doctest: +SKIP
    >>> model = fe.lower(network, seed=0)                     # doctest: +SKIP
    >>> fe.score(network, "synflow", load_sample(), seed=0)   # doctest: +SKIP

Frontends are imported lazily (the core never imports a framework at import time); a missing
framework raises :class:`~nasir.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from nasir.errors import MissingDependencyError
from nasir.registry import Registry

__all__ = ["API", "FRAMEWORKS", "Frontend", "frameworks", "get_frontend", "lazy_import"]

API = ("lower", "export_weights", "import_weights", "score", "score_many", "unsupported_proxies", "proxy_implementations",
       "train", "Recipe", "TrainEvaluator", "set_threads")


@dataclass(frozen=True)
class _Entry:
    module: str  # the frontend package, exporting every API name
    extra: str  # the pip extra that installs the framework
    needs: tuple[str, ...]  # top-level packages the frontend imports


# framework name -> where its frontend lives and what installs it
FRAMEWORKS: Registry[_Entry] = Registry("framework")
FRAMEWORKS.register("torch", _Entry("nasir.frontends.torch", "torch", ("torch",)))
FRAMEWORKS.register("tensorflow", _Entry("nasir.frontends.tensorflow", "tf", ("tensorflow", "keras")))


@dataclass(frozen=True)
class Frontend:
    """One framework's entry points (:data:`API`); other names resolve in its package (``fe.numpy_forward``)."""

    name: str
    module: ModuleType
    lower: Callable[..., Any]
    export_weights: Callable[..., Any]
    import_weights: Callable[..., Any]
    score: Callable[..., float]
    score_many: Callable[..., Any]
    unsupported_proxies: Callable[[], dict[str, str]]
    proxy_implementations: Registry[Any]
    train: Callable[..., Any]
    Recipe: type
    TrainEvaluator: type
    set_threads: Callable[[int], None]

    def __getattr__(self, name: str) -> Any:
        if name != "module" and hasattr(self.module, name):
            return getattr(self.module, name)
        raise AttributeError(f"the {self.name} frontend has no {name!r}")


def frameworks() -> list[str]:
    """Names accepted by :func:`get_frontend`."""
    return FRAMEWORKS.names()


def lazy_import(name: str, module: str, entry: Any) -> ModuleType:
    """Imports ``module`` for ``name``; a missing top-level package listed in ``entry.needs`` becomes a
    :class:`~nasir.errors.MissingDependencyError` naming ``entry.extra`` (other import errors are real bugs)."""
    try:
        return importlib.import_module(module)
    except MissingDependencyError:
        raise
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in entry.needs:
            raise  # a real bug inside the frontend, not a missing framework
        raise MissingDependencyError(f"framework {name!r} is not installed ({err}): pip install 'nasir[{entry.extra}]'") from err


def get_frontend(name: str) -> Frontend:
    """The :class:`Frontend` for ``name`` (``"torch"`` or ``"tensorflow"``), imported on first use.

    Raises:
        UnknownNameError: ``name`` is not a framework (the message suggests close matches).
        MissingDependencyError: the framework is not installed; the message names the extra.
    """
    entry = FRAMEWORKS.get(name)
    module = lazy_import(name, entry.module, entry)
    missing = [attr for attr in API if not hasattr(module, attr)]
    if missing:
        raise AttributeError(f"the {name} frontend lacks {missing}, entry points every frontend provides")
    return Frontend(name, module, **{attr: getattr(module, attr) for attr in API})
