"""Search strategies and the registry that names them.

``STRATEGIES`` maps a name to a factory ``(space, *, seed=0, **options) -> Strategy``; see
:mod:`nasir.strategies.base` for the ask/tell/replay contract every strategy keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasir.registry import Registry
from nasir.space import SearchSpace
from nasir.strategies.area import AREA, SampleAndRank
from nasir.strategies.bananas import Bananas
from nasir.strategies.base import FAILED, BaseStrategy, ReplayMismatchError, Strategy, proposal_rng, tournament
from nasir.strategies.evolution import RegularizedEvolution
from nasir.strategies.hybrid_bo import HybridBO
from nasir.strategies.local_search import LocalSearch
from nasir.strategies.nsga2 import NSGA2
from nasir.strategies.random_search import RandomSearch
from nasir.strategies.scorers import CachedScorer, ProxyScorer, Scorer, TableScorer
from nasir.strategies.shortlist import Shortlist

__all__ = ["STRATEGIES", "FAILED", "Strategy", "BaseStrategy", "ReplayMismatchError", "Bananas", "RandomSearch",
           "RegularizedEvolution", "LocalSearch", "AREA", "SampleAndRank", "HybridBO", "NSGA2", "Shortlist", "Scorer",
           "ProxyScorer", "TableScorer", "CachedScorer", "tournament", "proposal_rng", "make_strategy"]

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
    """Builds a registered strategy for ``space`` (``options`` go to its constructor, e.g. ``seed``)."""
    return registry.get(name)(space, **options)
