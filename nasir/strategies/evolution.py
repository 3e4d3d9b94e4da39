"""Regularized (aging) evolution, Real et al., AAAI 2019 ("Regularized Evolution for Image
Classifier Architecture Search", Sec. 2 and Algorithm 1).

The first ``population_size`` proposals are random; afterwards each proposal mutates the winner of
a tournament among ``sample_size`` members drawn (with replacement) from the population, and the population is the
``population_size`` most recent trials (the oldest dies: aging). Defaults are the NAS-Bench-201
paper's REA baseline (Dong & Yang, ICLR 2020, Sec. 5; the authors' scripts
``exps/NATS-algos/regularized_ea.py --ea_population 10 --ea_sample_size 3``).

``parallel`` children are bred at once, each from its own tournament over the same population, so that many workers
stay busy (Real et al. ran the evolution asynchronously on hundreds of workers). The batch is part of the algorithm,
not of the executor: the same seed and ``parallel`` give the same trials on one worker or many. The default, 1, is the
papers' sequential REA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasir.errors import StrategyConfigError
from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.base import BaseStrategy, mutant, proposal_rng, tournament, whole

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(BaseStrategy):
    """Aging evolution over any space with ``sample`` and ``mutate``."""

    name = "rea"

    def __init__(self, space: SearchSpace, *, population_size: int = 10, sample_size: int = 3, parallel: int = 1,
                 **kwargs: Any) -> None:
        population_size, sample_size = whole("population_size", population_size), whole("sample_size", sample_size)
        if sample_size > population_size:
            raise StrategyConfigError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        self.population_size, self.sample_size = population_size, sample_size
        self.parallel = whole("parallel (children bred at once)", parallel)
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        """Population, tournament and breeding batch sizes: with the seed, all that decides the proposals (``parallel``
        is stored only when it is not 1, so studies from before it existed resume unchanged)."""
        return {**super().config(), "population_size": self.population_size, "sample_size": self.sample_size,
                **({"parallel": self.parallel} if self.parallel != 1 else {})}

    def _plan(self, t: int) -> list[Arch] | None:
        rng = proposal_rng(self.seed, t)
        if t < self.population_size:
            return [self.space.sample(rng)]
        if self.outstanding:
            return None  # the next child's parent may be among the outstanding results
        population = self.done()[-self.population_size :]
        return [self._child(population, proposal_rng(self.seed, t + i)) for i in range(self.parallel)]

    def _child(self, population: list[tuple[Arch, float]], rng: np.random.Generator) -> Arch:
        """A mutant of a tournament's winner, or a random member where the winner has no neighbour in the space."""
        child = mutant(self.space, tournament(population, self.sample_size, rng), rng)
        return child if child is not None else self.space.sample(rng)
