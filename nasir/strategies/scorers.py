"""Scorers: cheap architecture-level scores (zero-cost proxies, table look-ups) used *inside* a strategy.

A scorer is any callable ``archs -> scores`` (higher is better), e.g. a torch proxy
(``nasir.frontends.torch.proxies.ProxyScorer``) or :class:`TableScorer` over a benchmark's
precomputed proxy column. Strategies that rank many candidates with a proxy (AREA, NASWOT's
sample-and-rank, the hybrid GP-BO) take one; the study's objective stays the expensive measurement.
Scores must be deterministic for a given architecture: a resumed search re-ranks the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasir.ir import Arch

__all__ = ["Scorer", "TableScorer", "CachedScorer", "scorer_name"]

Scorer = Callable[[Sequence[Arch]], "np.ndarray | Sequence[float]"]


def scorer_name(scorer: Scorer) -> str:
    """The name stored with a study (so a resume with another scorer is refused)."""
    return str(getattr(scorer, "name", getattr(scorer, "__qualname__", type(scorer).__name__)))


class TableScorer:
    """Looks a proxy up in a tabular benchmark (``benchmark.query_many(keys, dataset, metric)``).

    Architectures the table has no value for (NaN) score ``missing`` (default ``-inf``: ranked last).
    """

    def __init__(self, benchmark: Any, space: Any, dataset: str, metric: str, missing: float = -np.inf) -> None:
        benchmark.column(dataset, metric)  # fail now on a typo
        self.benchmark, self.space, self.dataset, self.metric, self.missing = benchmark, space, dataset, metric, missing
        self.name = f"table:{dataset}/{metric}"

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        values = self.benchmark.query_many([self.space.format(a) for a in archs], self.dataset, self.metric)
        return np.where(np.isnan(values), self.missing, values)


class CachedScorer:
    """Remembers scores by canonical hash, so a candidate scored once is never scored again."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer, self.name = scorer, scorer_name(scorer)
        self._cache: dict[str, float] = {}

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        todo = {a.canonical_hash(): a for a in archs if a.canonical_hash() not in self._cache}
        if todo:
            for key, value in zip(todo, np.asarray(self.scorer(list(todo.values())), dtype=float), strict=True):
                self._cache[key] = float(value)
        return np.array([self._cache[a.canonical_hash()] for a in archs])
