"""Local search, White, Nolen & Savani, UAI 2021 ("Exploring the Loss Landscape in Neural
Architecture Search"; arXiv 2005.02960 "Local Search is State of the Art for NAS Benchmarks"),
Algorithm 1 with the random restarts and initial sample of the authors' experiments.

A run draws ``initial`` random architectures (10 in the authors' code, ``DEFAULT_NUM_INIT``) and
starts from the best; a warm start counts toward the first run's ``initial`` (only warm cells when it
has as many). Each iteration evaluates every neighbour (``space.neighbors``) not evaluated before,
in a random order, and moves to the best neighbour if it beats the current architecture; otherwise
the current one is a local optimum and a new run starts. A neighbourhood is one plan: all of it can
be evaluated in parallel.
"""

from __future__ import annotations

from typing import Any

from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.base import BaseStrategy, proposal_rng, whole

__all__ = ["LocalSearch"]


class LocalSearch(BaseStrategy):
    """Best-improvement hill climbing over ``space.neighbors`` with random restarts."""

    name = "local"

    def __init__(self, space: SearchSpace, *, initial: int = 10, **kwargs: Any) -> None:
        initial = whole("initial", initial)
        self.initial = initial
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        """The size of the random sample that starts each run; neighbourhoods come from the space (recorded by the study)."""
        return {**super().config(), "initial": self.initial}

    def _reset(self) -> None:
        super()._reset()
        self._mode: str | None = None  # None (start a run), "init" or "nbhd"
        self._phase_start = 0  # first trial of the current phase (an initial sample or a neighbourhood)
        self._current: tuple[Arch, float] | None = None
        self._neighbours: list[Arch] = []

    def _plan(self, t: int) -> list[Arch] | None:
        rng = proposal_rng(self.seed, t)
        if self._mode is not None and self.outstanding:
            return None
        while True:
            if self._mode is None:
                start = 0 if t == len(self.warm_start) else t  # the first run's sample counts the warm start in
                more = self.initial - (t - start)
                self._mode, self._phase_start = "init", start
                if more > 0:
                    return self.random_unseen(more, rng)
                if self.outstanding:
                    return None
            self._advance(t)
            if self._mode is None:
                continue
            fresh = [n for n in self._neighbours if not self.seen(n)]
            if fresh:
                self._phase_start = t
                return [fresh[i] for i in rng.permutation(len(fresh))]

    def _advance(self, t: int) -> None:
        """The phase's results are in: pick the start, climb, or restart at a local optimum."""
        known = self._known_scores()
        if self._mode == "init":
            phase = list(zip(self.archs[self._phase_start : t], self.scores[self._phase_start : t]))
            self._current = max(phase, key=lambda p: p[1])
        else:
            scored = [(n, known[n.canonical_hash()]) for n in self._neighbours]
            best = max(scored, key=lambda p: p[1], default=None)
            if best is None or best[1] <= self._current[1]:
                self._mode, self._current = None, None
                return
            self._current = best
        self._mode = "nbhd"
        self._neighbours = self.space.neighbors(self._current[0])

    def _known_scores(self) -> dict[str, float]:
        known: dict[str, float] = {}
        for arch, score in self.done():
            key = arch.canonical_hash()
            known[key] = max(score, known.get(key, score))
        return known
