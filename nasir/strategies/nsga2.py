"""NSGA-II multi-objective evolution (Deb, Pratap, Agarwal & Meyarivan, IEEE TEC 2002).

A population of ``population_size``; each generation makes as many children by binary tournament
(lower front rank wins, then larger crowding distance) and mutation (and crossover, where the
space offers ``crossover``), and the next parents are the best ``population_size`` of parents plus
children by non-dominated sorting and crowding distance. The search returns a Pareto front, e.g.
accuracy (or a proxy) against latency, parameters or FLOPs: see ``Study.pareto_front()``.

The strategy is told metric mappings (``{"cifar10-valid/valid_acc": 91.2, "cifar10/params": 0.8}``)
and orients them itself from ``objectives``; a failed trial is dominated by everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasir.ir import Arch
from nasir.objectives import MAXIMIZE, MINIMIZE, default_direction
from nasir.pareto import crowding_distance, non_dominated_sort
from nasir.space import SearchSpace
from nasir.strategies.base import FAILED, BaseStrategy, proposal_rng

__all__ = ["NSGA2"]


class NSGA2(BaseStrategy):
    """Pareto search over two or more metrics.

    Args:
        objectives: metric names, or ``{metric: "maximize" | "minimize"}`` (names alone take the
            usual direction: costs such as latency, params, FLOPs are minimised).
        population_size: parents per generation (and children per generation).
        crossover_rate: probability that a child comes from ``space.crossover`` of two parents
            (only where the space defines ``crossover``); it is then also mutated.
    """

    name = "nsga2"

    def __init__(self, space: SearchSpace, *, objectives: Sequence[str] | Mapping[str, str], population_size: int = 20,
                 crossover_rate: float = 0.5, **kwargs: Any) -> None:
        named = dict(objectives) if isinstance(objectives, Mapping) else {m: default_direction(m) for m in objectives}
        if len(named) < 2:
            raise ValueError(f"NSGA-II needs at least two objectives, got {list(named)}")
        bad = {m: d for m, d in named.items() if d not in (MAXIMIZE, MINIMIZE)}
        if bad:
            raise ValueError(f"objective directions must be 'maximize' or 'minimize', got {bad}")
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        self.objectives, self.population_size, self.crossover_rate = named, population_size, crossover_rate
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        return {"objectives": self.objectives, "population_size": self.population_size, "crossover_rate": self.crossover_rate}

    def _reset(self) -> None:
        super()._reset()
        self._parents: list[int] = []  # trial numbers of the current parents
        self._generation_start = 0  # first trial number of the newest generation

    def _to_score(self, result: float | Mapping[str, float]) -> tuple[float, ...]:  # type: ignore[override]
        """The oriented metric vector (higher is better); a failure is ``-inf`` everywhere."""
        if not isinstance(result, Mapping):
            if float(result) == FAILED or math.isnan(float(result)):
                return (FAILED,) * len(self.objectives)
            raise ValueError(f"NSGA-II must be told the metrics {list(self.objectives)}, not one number ({result})")
        out = []
        for metric, direction in self.objectives.items():
            value = float(result.get(metric, math.nan))
            out.append(FAILED if math.isnan(value) else (value if direction == MAXIMIZE else -value))
        return tuple(out)

    # ------------------------------------------------------------------ NSGA-II
    def _rank_and_crowding(self, members: Sequence[int]) -> dict[int, tuple[int, float]]:
        points = np.array([self.scores[i] for i in members], dtype=float)
        out: dict[int, tuple[int, float]] = {}
        for rank, front in enumerate(non_dominated_sort(points)):
            for pos, dist in zip(front, crowding_distance(points[front])):
                out[members[pos]] = (rank, float(dist))
        return out

    def _select(self, candidates: Sequence[int]) -> list[int]:
        """Environmental selection: the ``population_size`` best by (front rank, -crowding), ties by trial order."""
        info = self._rank_and_crowding(candidates)
        return sorted(candidates, key=lambda i: (info[i][0], -info[i][1], i))[: self.population_size]

    def _tournament(self, info: Mapping[int, tuple[int, float]], rng: np.random.Generator) -> Arch:
        a, b = (self._parents[int(k)] for k in rng.choice(len(self._parents), size=2, replace=len(self._parents) < 2))
        key = lambda i: (info[i][0], -info[i][1], i)  # noqa: E731
        return self.archs[min(a, b, key=key)]

    def _child(self, info: Mapping[int, tuple[int, float]], rng: np.random.Generator) -> Arch:
        crossover = getattr(self.space, "crossover", None)
        for _ in range(10):  # prefer children not evaluated before
            parent = self._tournament(info, rng)
            if crossover is not None and rng.random() < self.crossover_rate:
                parent = crossover(parent, self._tournament(info, rng), rng)
            child = self.space.mutate(parent, rng)
            if not self.seen(child):
                break
        return child

    def _plan(self, t: int) -> list[Arch] | None:
        rng = proposal_rng(self.seed, t)
        if t < self.population_size:
            return self.random_unseen(self.population_size - t, rng)
        if self.outstanding:
            return None  # a generation is bred from complete results only
        newest = range(self._generation_start, t)
        self._parents = self._select(sorted(set(self._parents) | set(newest)))
        self._generation_start = t
        info = self._rank_and_crowding(self._parents)
        return [self._child(info, rng) for _ in range(self.population_size)]

    def front(self) -> list[tuple[Arch, tuple[float, ...]]]:
        """Non-dominated (arch, oriented metrics) among everything told, in trial order."""
        told = [i for i, s in enumerate(self.scores) if s is not None and all(v != FAILED for v in s)]
        if not told:
            return []
        first = non_dominated_sort(np.array([self.scores[i] for i in told], dtype=float))[0]
        return [(self.archs[told[k]], self.scores[told[k]]) for k in sorted(first)]
