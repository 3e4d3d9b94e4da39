"""BANANAS, White et al., AAAI 2021 ("BANANAS: Bayesian Optimization with Neural Architectures for
Neural Architecture Search", Algorithm 1).

Start with ``initial`` random architectures; then, per iteration, fit an MLP ensemble on the path
encoding of everything evaluated, build a candidate pool by mutating the best architectures so
far, score candidates with independent Thompson sampling (one draw from N(mean, std) of the
ensemble per candidate) and evaluate the best ``batch`` of them. Defaults follow the paper:
10 initial architectures, batches of 10, 100 candidates from the 10 best, path encoding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasir.ir import Arch
from nasir.predictors import MLPEnsemble
from nasir.space import SearchSpace
from nasir.strategies.base import FAILED

__all__ = ["Bananas"]


class Bananas:
    """Predictor-guided search with an MLP ensemble and ITS acquisition."""

    name = "bananas"

    def __init__(self, space: SearchSpace, *, initial: int = 10, batch: int = 10, candidates: int = 100, parents: int = 10,
                 encoding: str = "path", predictor: Callable[[int], object] | None = None) -> None:
        self.space, self.initial, self.batch = space, initial, batch
        self.candidates, self.parents, self.encoding = candidates, parents, encoding
        self._predictor = predictor or (lambda seed: MLPEnsemble(seed=seed))
        self._history: list[tuple[Arch, float]] = []
        self._queue: list[Arch] = []

    def ask(self, rng: np.random.Generator) -> Arch:
        if len(self._history) < self.initial:
            return self.space.sample(rng)
        if not self._queue:
            self._queue = self._next_batch(rng)
        return self._queue.pop(0)

    def tell(self, arch: Arch, value: float) -> None:
        self._history.append((arch, value))

    def _next_batch(self, rng: np.random.Generator) -> list[Arch]:
        done = [(a, v) for a, v in self._history if v != FAILED]
        X = np.stack([self.space.encode(a, self.encoding) for a, _ in done])
        model = self._predictor(int(rng.integers(2**31))).fit(X, np.array([v for _, v in done]))
        pool = self._candidate_pool(done, rng)
        Xc = np.stack([self.space.encode(a, self.encoding) for a in pool])
        draws = rng.normal(model.predict(Xc), model.predict_std(Xc))
        return [pool[i] for i in np.argsort(-draws, kind="stable")[: self.batch]]

    def _candidate_pool(self, done: list[tuple[Arch, float]], rng: np.random.Generator) -> list[Arch]:
        """Mutations of the best architectures, new to the search."""
        seen = {a.canonical_hash() for a, _ in self._history}
        best = [a for a, _ in sorted(done, key=lambda av: -av[1])[: self.parents]]
        pool: dict[str, Arch] = {}
        for attempt in range(self.candidates * 10):
            child = self.space.mutate(best[attempt % len(best)], rng)
            key = child.canonical_hash()
            if key not in seen:
                pool.setdefault(key, child)
            if len(pool) >= self.candidates:
                break
        return list(pool.values()) or [self.space.sample(rng) for _ in range(self.batch)]
