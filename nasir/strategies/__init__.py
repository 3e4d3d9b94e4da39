"""Search strategies and the registry that names them.

``STRATEGIES`` maps a name to a factory ``(space, *, seed=0, **options) -> Strategy``; see
:mod:`nasir.strategies.base` for the ask/tell/replay contract every strategy keeps.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from nasir.errors import StrategyOptionError
from nasir.registry import Registry
from nasir.space import SearchSpace
from nasir.strategies.area import AREA, SampleAndRank
from nasir.strategies.bananas import Bananas
from nasir.strategies.base import FAILED, BaseStrategy, ReplayMismatchError, Strategy, mutant, proposal_rng, tournament
from nasir.strategies.evolution import RegularizedEvolution
from nasir.strategies.hybrid_bo import HybridBO
from nasir.strategies.local_search import LocalSearch
from nasir.strategies.nsga2 import NSGA2
from nasir.strategies.random_search import RandomSearch
from nasir.strategies.scorers import CachedScorer, ProxyScorer, Scorer, TableScorer
from nasir.strategies.shortlist import Shortlist

__all__ = ["STRATEGIES", "FAILED", "Strategy", "BaseStrategy", "ReplayMismatchError", "Bananas", "RandomSearch",
           "RegularizedEvolution", "LocalSearch", "AREA", "SampleAndRank", "HybridBO", "NSGA2", "Shortlist", "Scorer",
           "ProxyScorer", "TableScorer", "CachedScorer", "tournament", "mutant", "proposal_rng", "make_strategy"]

STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy")
STRATEGIES.register("random", RandomSearch)
STRATEGIES.register("rea", RegularizedEvolution)
STRATEGIES.register("local", LocalSearch)
STRATEGIES.register("bananas", Bananas)
STRATEGIES.register("naswot", SampleAndRank)  # needs scorer=
STRATEGIES.register("area", AREA)  # needs scorer=
STRATEGIES.register("hybrid_bo", HybridBO)  # scorers= optional (none: plain GP-BO)
STRATEGIES.register("nsga2", NSGA2)  # needs objectives=


def make_strategy(name: str, space: SearchSpace, *, registry: Registry[Callable[..., Strategy]] = STRATEGIES, **options: Any) -> Strategy:
    """Builds a registered strategy for ``space`` (``options`` go to its constructor, e.g. ``seed``).

    Raises:
        UnknownNameError: no strategy ``name``.
        StrategyOptionError: an option the strategy does not take (with close matches), or a required one missing.
    """
    factory = registry.get(name)
    accepted, required = _options(factory)
    for option in options:
        if option not in accepted:
            close = difflib.get_close_matches(option, accepted, n=2)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            raise StrategyOptionError(f"strategy {name!r} has no option {option!r}; {hint}(its options: {', '.join(sorted(accepted))})")
    missing = sorted(set(required) - set(options))
    if missing:
        raise StrategyOptionError(f"strategy {name!r} needs {', '.join(f'{m}=' for m in missing)}")
    return factory(space, **options)


def _options(factory: Callable[..., Strategy]) -> tuple[list[str], list[str]]:
    """Keyword options a strategy class takes, following ``**kwargs`` up its bases, and those without a default."""
    accepted: list[str] = []
    required: list[str] = []
    for cls in getattr(factory, "__mro__", (factory,)):
        init = cls.__dict__.get("__init__") if isinstance(cls, type) else cls
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())
        accepted += [p.name for p in params if p.kind is p.KEYWORD_ONLY]
        required += [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return accepted, required
