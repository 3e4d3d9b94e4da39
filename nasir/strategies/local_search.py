"""Local search, White et al., UAI 2021 ("Exploring the Loss Landscape in NAS", Algorithm 1).

Start from a random architecture, evaluate all its neighbours (in random order), move to the best
one if it improves, and restart from a new random architecture at a local optimum. Neighbours
already evaluated in this run are skipped (their results are known).
"""

from __future__ import annotations

import numpy as np

from nasir.ir import Arch
from nasir.space import SearchSpace

__all__ = ["LocalSearch"]


class LocalSearch:
    """Best-improvement hill climbing with random restarts."""

    name = "local"

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._current: tuple[Arch, float] | None = None
        self._queue: list[Arch] | None = None
        self._best_neighbour: tuple[Arch, float] | None = None
        self._seen: dict[str, float] = {}

    def ask(self, rng: np.random.Generator) -> Arch:
        while True:
            if self._current is None:
                return self.space.sample(rng)
            if self._queue is None:
                self._queue = [n for n in self.space.neighbors(self._current[0]) if n.canonical_hash() not in self._seen]
                self._queue = [self._queue[i] for i in rng.permutation(len(self._queue))]
                self._best_neighbour = None
            if self._queue:
                return self._queue.pop()
            self._move()

    def _move(self) -> None:
        """Neighbourhood exhausted: climb to the best neighbour, or restart at a local optimum."""
        improved = self._best_neighbour is not None and self._best_neighbour[1] > self._current[1]
        self._current = self._best_neighbour if improved else None
        self._queue = None

    def tell(self, arch: Arch, value: float) -> None:
        self._seen[arch.canonical_hash()] = value
        if self._current is None:
            self._current, self._queue = (arch, value), None
        elif self._best_neighbour is None or value > self._best_neighbour[1]:
            self._best_neighbour = (arch, value)
