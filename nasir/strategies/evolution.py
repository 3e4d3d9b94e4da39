"""Regularized (aging) evolution, Real et al., AAAI 2019 ("Regularized Evolution for Image
Classifier Architecture Search", Algorithm 1).

The first ``population_size`` proposals are random; afterwards each proposal mutates the best of
``sample_size`` members drawn from the population, and every told result joins the population
while the oldest member leaves (aging). Defaults follow the NAS-Bench-201 paper's REA baseline
(population 10, tournament sample 3).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nasir.ir import Arch
from nasir.space import SearchSpace

__all__ = ["RegularizedEvolution", "tournament"]


def tournament(population: list[tuple[Arch, float]], sample_size: int, rng: np.random.Generator) -> Arch:
    """The best of ``sample_size`` members drawn uniformly without replacement."""
    picks = rng.choice(len(population), size=min(sample_size, len(population)), replace=False)
    return max((population[i] for i in sorted(picks)), key=lambda member: member[1])[0]


class RegularizedEvolution:
    """Aging evolution over any space with ``sample`` and ``mutate``."""

    name = "rea"

    def __init__(self, space: SearchSpace, population_size: int = 10, sample_size: int = 3) -> None:
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        self.space = space
        self.population_size = population_size
        self.sample_size = sample_size
        self._population: deque[tuple[Arch, float]] = deque(maxlen=population_size)
        self._told = 0

    def ask(self, rng: np.random.Generator) -> Arch:
        if self._told < self.population_size:
            return self.space.sample(rng)
        parent = tournament(list(self._population), self.sample_size, rng)
        return self.space.mutate(parent, rng)

    def tell(self, arch: Arch, value: float) -> None:
        self._population.append((arch, value))
        self._told += 1
