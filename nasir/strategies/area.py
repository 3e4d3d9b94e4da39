"""Training-free search strategies of Mellor et al., ICML 2021 ("Neural Architecture Search without
Training", Sec. 5-6): NASWOT sample-and-rank, and AREA (Assisted Regularised EA).

* :class:`SampleAndRank` scores ``n_samples`` random architectures with a scorer (the NASWOT
  log-determinant in the paper, N = 10, 100 or 1000) and proposes them best first: a study with a
  budget of one evaluation reproduces NASWOT's pick; a larger budget evaluates the runner-ups.
* :class:`AREA` scores ``n_candidates`` random architectures (M = 1000 in the paper) and seeds
  regularised evolution with the ``population_size`` best (P = 10, tournament S = 3, NAS-Bench-201's
  REA settings); evolution then runs on the study's objective as usual. ``candidates`` ranks a
  given pool instead of drawing one (e.g. architectures already scored offline).

Candidates come from one random stream of the search seed, separate from the per-trial streams.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasir.errors import StrategyConfigError
from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.base import BaseStrategy, whole
from nasir.strategies.evolution import RegularizedEvolution
from nasir.strategies.scorers import Scorer, checked_scores, scorer_name

__all__ = ["SampleAndRank", "AREA", "ranked_candidates"]

_CANDIDATE_STREAM = 0x4E57  # "NW": the candidate pool's stream, distinct from trial numbers


def ranked_candidates(space: SearchSpace, scorer: Scorer, n: int, seed: int,
                      candidates: Sequence[Arch] | None = None) -> list[Arch]:
    """``n`` distinct random architectures (fewer if the space is smaller), or the given
    ``candidates``, sorted by score, best first.

    Ties keep sampling (or given) order, so the ranking is a pure function of its arguments.
    """
    if candidates is None:
        rng = np.random.default_rng([int(seed), _CANDIDATE_STREAM])
        pool: dict[str, Arch] = {}
        for _ in range(20 * n):
            arch = space.sample(rng)
            pool.setdefault(arch.canonical_hash(), arch)
            if len(pool) == n:
                break
        candidates = list(pool.values())
    archs = list(candidates)
    scores = checked_scores(scorer, archs)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    return [archs[i] for i in np.argsort(-scores, kind="stable")]


class SampleAndRank(BaseStrategy):
    """NASWOT: score ``n_samples`` random architectures, propose them in score order."""

    name = "naswot"

    def __init__(self, space: SearchSpace, *, scorer: Scorer, n_samples: int = 100, **kwargs: Any) -> None:
        n_samples = whole("n_samples", n_samples)
        self.scorer, self.n_samples = scorer, n_samples
        self._ranked: list[Arch] | None = None
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        """The sample size and the scorer's name: with the seed, they fix the ranking and so every proposal."""
        return {**super().config(), "n_samples": self.n_samples, "scorer": scorer_name(self.scorer)}

    def ranking(self) -> list[Arch]:
        """The scored candidates, best first (computed once)."""
        if self._ranked is None:
            self._ranked = ranked_candidates(self.space, self.scorer, self.n_samples, self.seed)
        return self._ranked

    def _plan(self, t: int) -> list[Arch] | None:
        return self.ranking()[t - len(self.warm_start):] or None

    def _replay_plan(self, t: int, trials: Sequence[Any]) -> list[Arch] | None:
        """Stored proposals are the ranking's head: no re-scoring unless the search goes on."""
        return [trial.arch for trial in trials[t:]]


class AREA(RegularizedEvolution):
    """Regularised evolution whose initial population is the proxy's top ``population_size`` of ``n_candidates``."""

    name = "area"

    def __init__(self, space: SearchSpace, *, scorer: Scorer, n_candidates: int = 1000,
                 candidates: Sequence[Arch] | None = None, **kwargs: Any) -> None:
        self.candidates = None if candidates is None else list(candidates)
        self.scorer = scorer
        self.n_candidates = whole("n_candidates", n_candidates) if self.candidates is None else len(self.candidates)
        self._initial: list[Arch] | None = None
        super().__init__(space, **kwargs)
        if self.n_candidates < self.population_size:
            raise StrategyConfigError(f"n_candidates ({self.n_candidates}) must be >= population_size ({self.population_size})")

    def config(self) -> dict[str, Any]:
        """Evolution's settings plus what picks the initial population: candidate count, scorer name and, for a given
        ``candidates`` pool, its hash."""
        pool = {} if self.candidates is None else {"candidates_sha256": hashlib.sha256(
            "".join(a.canonical_hash() for a in self.candidates).encode()).hexdigest()}  # a resume must rank the same pool
        return {**super().config(), "n_candidates": self.n_candidates, "scorer": scorer_name(self.scorer), **pool}

    def _plan(self, t: int) -> list[Arch] | None:
        warm = len(self.warm_start)  # a warm start takes the first places of the initial population
        if t < self.population_size:
            if self._initial is None:
                ranked = ranked_candidates(self.space, self.scorer, self.n_candidates, self.seed, self.candidates)
                self._initial = ranked[: self.population_size - warm]
            if t - warm < len(self._initial):  # a space with fewer distinct cells than the population: evolution takes over
                return self._initial[t - warm:]
        return super()._plan(t)

    def _replay_plan(self, t: int, trials: Sequence[Any]) -> list[Arch] | None:
        """A stored initial population is reused as is (no re-scoring of the M candidates)."""
        if t < self.population_size <= len(trials):
            return [trial.arch for trial in trials[t : self.population_size]]
        return self._plan(t)
