"""Scorers: cheap architecture-level scores (zero-cost proxies, table look-ups) used *inside* a strategy.

A scorer is any callable ``archs -> scores`` (higher is better), e.g. a zero-cost proxy computed
live in either framework (:class:`ProxyScorer`) or :class:`TableScorer` over a benchmark's
precomputed proxy column. Strategies that rank many candidates with a proxy (AREA, NASWOT's
sample-and-rank, the hybrid GP-BO) take one; the study's objective stays the expensive measurement.
Scores must be deterministic for a given architecture: a resumed search re-ranks the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasir.errors import ScorerOutputError, UnsupportedProxyError
from nasir.ir import Arch
from nasir.rng import Seed

__all__ = ["Scorer", "ProxyScorer", "TableScorer", "CachedScorer", "ScorerOutputError", "scorer_name", "checked_scores"]

Scorer = Callable[[Sequence[Arch]], "np.ndarray | Sequence[float]"]


def scorer_name(scorer: Scorer) -> str:
    """The name stored with a study (so a resume with another scorer is refused)."""
    return str(getattr(scorer, "name", getattr(scorer, "__qualname__", type(scorer).__name__)))


def checked_scores(scorer: Scorer, archs: Sequence[Arch]) -> np.ndarray:
    """``scorer(archs)`` as floats, refused unless it is one score per architecture: a short or long
    answer would otherwise pair scores with the wrong architectures, or fail inside a zip."""
    scores = scorer(archs)
    try:
        values = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as err:
        raise ScorerOutputError(f"scorer {scorer_name(scorer)!r} returned {type(scores).__name__}, not numbers, "
                                f"for {len(archs)} architectures") from err
    if values.shape != (len(archs),):
        raise ScorerOutputError(f"scorer {scorer_name(scorer)!r} returned shape {values.shape} for {len(archs)} "
                                "architectures; it must return one score per architecture")
    return values


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


class ProxyScorer:
    """Scores architectures of ``space`` live with one zero-cost proxy in ``framework``.

    What AREA, NASWOT sample-and-rank and the hybrid GP-BO call to rank candidates when no table
    holds the proxy: ``ProxyScorer(space, "naswot", framework="tensorflow")``. The same seed gives
    every architecture the same weights-initialisation seed and the same batch. The framework is
    imported on first use (the core imports none); a missing one fails here, naming its extra.

    Args:
        space: builds each architecture's network (``space.network(arch, **skeleton)``).
        proxy: a name in ``nasir.proxies.PROXIES`` that ``framework`` implements.
        data: images for the proxy (``nasir.data.ImageData`` or ``(x, y)``); None: the shipped sample.
        framework: ``"torch"`` or ``"tensorflow"`` (see :func:`nasir.frameworks.get_frontend`).
        skeleton: options of ``space.network`` (e.g. a smaller NB201 skeleton for quick tests).
        options: the proxy's own options.
    """

    def __init__(self, space: Any, proxy: str, data: Any = None, *, framework: str = "torch", seed: Seed = 0,
                 device: str | None = None, skeleton: dict[str, Any] | None = None, **options: Any) -> None:
        from nasir.frameworks import get_frontend
        from nasir.proxies import PROXIES

        PROXIES.get(proxy)  # an unknown proxy fails here, not mid-search
        self.frontend = get_frontend(framework)
        missing = self.frontend.unsupported_proxies().get(proxy)
        if missing is not None:
            raise UnsupportedProxyError(f"proxy {proxy!r} has no {framework} implementation: {missing}")
        if data is None:
            from nasir.data import load_sample

            data = load_sample()
        self.space, self.proxy, self.data, self.seed, self.device = space, proxy, data, seed, device
        self.skeleton, self.options = dict(skeleton or {}), options
        self.name = f"{framework}:{proxy}"

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        networks = [self.space.network(a, **self.skeleton) for a in archs]
        return self.frontend.score_many(networks, [self.proxy], self.data, seed=self.seed, device=self.device,
                                        options={self.proxy: self.options})[self.proxy]


class CachedScorer:
    """Remembers scores by canonical hash, so a candidate scored once is never scored again."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer, self.name = scorer, scorer_name(scorer)
        self._cache: dict[str, float] = {}

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        todo = {a.canonical_hash(): a for a in archs if a.canonical_hash() not in self._cache}
        if todo:
            for key, value in zip(todo, checked_scores(self.scorer, list(todo.values()))):
                self._cache[key] = float(value)
        return np.array([self._cache[a.canonical_hash()] for a in archs])
