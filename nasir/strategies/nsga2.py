"""NSGA-II multi-objective evolution (Deb, Pratap, Agarwal & Meyarivan, IEEE TEC 2002).

A population of ``population_size``; each generation makes as many children by binary tournament
(lower front rank wins, then larger crowding distance, then a coin flip) and variation: with
probability ``crossover_rate`` two tournament winners are crossed (where the space offers
``crossover``, e.g. NB201's uniform crossover of its six edges; both children are kept), otherwise
one winner is mutated with the space's ``mutate``. The next parents are the best
``population_size`` of parents plus children by non-dominated sorting and crowding distance. The
search returns a Pareto front, e.g. accuracy (or a proxy) against latency, parameters or FLOPs: see
``Study.pareto_front()``.

Population size. The first ``population_size`` proposals are uniform random samples, and only they
can land in regions that mutation does not reach by improving steps (on NAS-Bench-201 the fastest
edge-GPU cells, with three or more ``none`` edges, sit behind a latency plateau). On NB201 a
population of about an eighth of the query budget (7 to 8 generations) gave the largest fronts: 20
(the default) for 100 to 150 queries, 40 for 300 (``benchmarks/training_free_search.py``,
development seeds 1000-1099; BENCHMARKS.md).

Duplicates. A study counts every proposal as a query, re-proposals included (it looks them up), so
a child that was already proposed would spend budget on nothing new. As in pymoo's NSGA-II
(``eliminate_duplicates``), children are bred until they are new: a child equal to an earlier
proposal or to a sibling is discarded and another one is bred; only when variation keeps failing
(a nearly exhausted space) are unseen random architectures proposed instead (a space of at most
20,000 members is enumerated for them), and only a fully explored space gets a re-proposal.
Duplicate trials in the history enter selection once (the first trial of each architecture).

The strategy is told metric mappings (``{"cifar10-valid/valid_acc": 91.2, "cifar10/params": 0.8}``)
and orients them itself from ``objectives``; a failed trial (told no metrics, ``{}``, as a study
tells failures) or one with a NaN objective is dominated by everything. A complete trial whose
metrics lack an objective raises :class:`~nasir.errors.UnknownNameError`: the objective names do
not match what the study measures, and counting every trial as failed would silently turn the
search into random search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nasir.errors import AskTellError, DirectionError, StrategyConfigError, UnknownNameError
from nasir.ir import Arch
from nasir.objectives import MAXIMIZE, MINIMIZE, default_direction
from nasir.pareto import crowding_distance, non_dominated_sort
from nasir.space import EmptySpaceError, SearchSpace
from nasir.strategies.base import FAILED, BaseStrategy, mutant, proposal_rng, whole

__all__ = ["NSGA2"]

_BREED_TRIES = 50  # tournaments (or crossovers) per child before unseen random architectures fill the generation
_ENUMERATE_LIMIT = 20_000  # a space this small is enumerated for its unseen members when sampling finds none

Crossover = Callable[[Arch, Arch, np.random.Generator], list[Arch]]


def crossover_of(space: SearchSpace) -> Crossover | None:
    """The space's crossover as ``(a, b, rng) -> children`` (a list; empty where a restricted space
    finds no member child, so the breeding loop tries other parents), or None where it has none."""
    own = getattr(space, "crossover", None)
    if not callable(own):
        return None

    def cross(a: Arch, b: Arch, rng: np.random.Generator) -> list[Arch]:
        try:
            return _children(own(a, b, rng))
        except EmptySpaceError:
            return []

    return cross


def _children(out: Arch | Sequence[Arch]) -> list[Arch]:
    return [out] if isinstance(out, Arch) else list(out)


class NSGA2(BaseStrategy):
    """Pareto search over two or more metrics.

    Args:
        objectives: metric names, or ``{metric: "maximize" | "minimize"}`` (names alone take the
            usual direction: costs such as latency, params, FLOPs are minimised); each must be a
            metric the trials hold, or ``tell`` raises ``UnknownNameError``.
        population_size: parents per generation (and children per generation).
        crossover_rate: probability that a child comes from crossing two tournament winners (where
            the space defines ``crossover``) rather than from mutating one. Crossed children are not
            mutated again: on NB201, crossing and then always mutating one more edge found smaller
            fronts for accuracy vs parameters than mutation alone or this either/or scheme.
    """

    name = "nsga2"

    def __init__(self, space: SearchSpace, *, objectives: Sequence[str] | Mapping[str, str], population_size: int = 20,
                 crossover_rate: float = 0.5, **kwargs: Any) -> None:
        if isinstance(objectives, str):  # else split into one-letter metrics
            raise StrategyConfigError(f"NSGA-II objectives are a list of metrics or a metric -> direction mapping, got the "
                                      f"string {objectives!r}; e.g. objectives=[{objectives!r}, 'params']")
        named = dict(objectives) if isinstance(objectives, Mapping) else {m: default_direction(m) for m in objectives}
        if len(named) < 2:
            raise StrategyConfigError(f"NSGA-II needs at least two objectives, got {list(named)}")
        bad = {m: d for m, d in named.items() if d not in (MAXIMIZE, MINIMIZE)}
        if bad:
            raise DirectionError(f"objective directions must be 'maximize' or 'minimize', got {bad}")
        population_size = whole("population_size", population_size, minimum=2)
        if not 0.0 <= crossover_rate <= 1.0:
            raise StrategyConfigError(f"crossover_rate must be in [0, 1], got {crossover_rate}")
        self.objectives, self.population_size, self.crossover_rate = named, population_size, crossover_rate
        self._crossover = crossover_of(space)
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        """The objectives with their directions, the population size and the crossover rate."""
        return {**super().config(), "objectives": self.objectives, "population_size": self.population_size, "crossover_rate": self.crossover_rate}

    def _reset(self) -> None:
        super()._reset()
        self._parents: list[int] = []  # trial numbers of the current parents
        self._generation_start = 0  # first trial number of the newest generation

    def _to_score(self, result: float | Mapping[str, float]) -> tuple[float, ...]:  # type: ignore[override]
        """The oriented metric vector (higher is better); a failure (no metrics) or any objective NaN is
        ``-inf`` everywhere (dominated by every other trial, as in :func:`nasir.pareto.to_maximize`)."""
        if not isinstance(result, Mapping):
            if float(result) == FAILED or math.isnan(float(result)):
                return (FAILED,) * len(self.objectives)
            raise AskTellError(f"NSGA-II must be told the metrics {list(self.objectives)}, not one number ({result})")
        if not result:
            return (FAILED,) * len(self.objectives)
        missing = [m for m in self.objectives if m not in result]
        if missing:
            raise UnknownNameError(f"NSGA-II objective(s) {missing} are not among the metrics of a complete trial "
                                   f"{sorted(result)}; name objectives the study's objective returns")
        out = []
        for metric, direction in self.objectives.items():
            value = float(result[metric])
            if math.isnan(value):
                return (FAILED,) * len(self.objectives)
            out.append(value if direction == MAXIMIZE else -value)
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
        """Environmental selection: the ``population_size`` best by (front rank, -crowding), ties by
        trial order; one trial per architecture (a looked-up re-proposal is not a second individual)."""
        first: dict[str, int] = {}
        for i in sorted(candidates):
            first.setdefault(self.archs[i].canonical_hash(), i)
        unique = sorted(first.values())
        info = self._rank_and_crowding(unique)
        return sorted(unique, key=lambda i: (info[i][0], -info[i][1], i))[: self.population_size]

    def _tournament(self, info: Mapping[int, tuple[int, float]], rng: np.random.Generator) -> Arch:
        """Deb's crowded binary tournament between two distinct parents; a tie goes to the first drawn (a coin flip)."""
        a, b = (self._parents[int(k)] for k in rng.choice(len(self._parents), size=2, replace=len(self._parents) < 2))
        key = lambda i: (info[i][0], -info[i][1])  # noqa: E731
        return self.archs[a if key(a) <= key(b) else b]

    def _offspring(self, info: Mapping[int, tuple[int, float]], rng: np.random.Generator, n: int) -> list[Arch]:
        """``n`` children not proposed before and distinct from each other (see the module docstring)."""
        taken = set(self._hashes)
        children: list[Arch] = []

        def keep(arch: Arch) -> None:
            if len(children) < n and arch.canonical_hash() not in taken:
                taken.add(arch.canonical_hash())
                children.append(arch)

        stuck: set[tuple[str, ...]] = set()  # parents (pairs) whose variation found no member of a restricted space
        for _ in range(_BREED_TRIES * n):
            if len(children) >= n:
                break
            first = self._tournament(info, rng)
            if self._crossover is not None and rng.random() < self.crossover_rate:
                second = self._tournament(info, rng)
                key = (first.canonical_hash(), second.canonical_hash())
                brood = [] if key in stuck else self._crossover(first, second, rng)  # copies of a parent are discarded
            else:
                key = (first.canonical_hash(),)
                child = None if key in stuck else mutant(self.space, first, rng)
                brood = [] if child is None else [child]
            if not brood:  # random architectures fill in below
                stuck.add(key)
            for child in brood:
                keep(child)
        for _ in range(50 * (n - len(children))):  # variation is stuck: unseen random architectures
            if len(children) >= n:
                break
            keep(self.space.sample(rng))
        if len(children) < n and (self.space.size() or math.inf) <= _ENUMERATE_LIMIT:
            unseen = [a for a in self.space.enumerate() if a.canonical_hash() not in taken]
            for k in rng.permutation(len(unseen))[: n - len(children)]:
                keep(unseen[int(k)])
        return children or [self.space.sample(rng)]  # nothing unseen left: a look-up, as random_unseen does

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
        return self._offspring(info, rng, self.population_size)

    def front(self) -> list[tuple[Arch, tuple[float, ...]]]:
        """Non-dominated (arch, oriented metrics) among everything told, in trial order."""
        told = [i for i, s in enumerate(self.scores) if s is not None and all(v != FAILED for v in s)]
        if not told:
            return []
        first = non_dominated_sort(np.array([self.scores[i] for i in told], dtype=float))[0]
        return [(self.archs[told[k]], self.scores[told[k]]) for k in sorted(first)]
