"""Search strategies and the registry that names them.

``STRATEGIES`` maps a name to a factory ``(space, **options) -> Strategy``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasir.registry import Registry
from nasir.space import SearchSpace
from nasir.strategies.bananas import Bananas
from nasir.strategies.base import FAILED, Strategy
from nasir.strategies.evolution import RegularizedEvolution, tournament
from nasir.strategies.local_search import LocalSearch
from nasir.strategies.random_search import RandomSearch

__all__ = ["STRATEGIES", "FAILED", "Strategy", "Bananas", "RandomSearch", "RegularizedEvolution", "LocalSearch", "tournament", "make_strategy"]

STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy")
STRATEGIES.register("random", RandomSearch)
STRATEGIES.register("rea", RegularizedEvolution)
STRATEGIES.register("local", LocalSearch)
STRATEGIES.register("bananas", Bananas)


def make_strategy(name: str, space: SearchSpace, **options: Any) -> Strategy:
    """Builds a registered strategy for ``space``."""
    return STRATEGIES.get(name)(space, **options)
