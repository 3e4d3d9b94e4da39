"""BANANAS, White, Neiswanger & Savani, AAAI 2021 ("BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", Algorithm 1, Sec. 4-5).

``initial`` random architectures; then each iteration fits an ensemble of MLPs (5 members) on the
path encoding of everything evaluated, builds candidates by mutating the best architectures so
far, scores them with independent Thompson sampling (ITS: one draw per candidate from
N(ensemble mean, ensemble std)) and proposes the ``batch`` best. Defaults: 10 initial, batches of
10, 5 ensemble members, path encoding, ITS (the paper and the authors' code, naszilla/bananas
``DEFAULT_NUM_INIT = DEFAULT_K = 10``, ``num_ensemble=5``); 100 candidates from single mutations of
the 2 best architectures (NASLib's NAS-Bench-201 defaults, ``nb201_defaults.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasir.errors import UnknownNameError
from nasir.predictors import NoUncertaintyError
from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.base import FAILED, BaseStrategy, mutant, proposal_rng, whole

__all__ = ["Bananas"]


def _default_predictor(seed: int) -> Any:
    from nasir.predictors import MLPEnsemble

    return MLPEnsemble(n_models=5, seed=seed)


class Bananas(BaseStrategy):
    """Neural-predictor Bayesian optimisation with ITS and mutation-based acquisition optimisation.

    Args:
        encoding: one of the space's ``encodings`` (default ``path``, the paper's; spaces without it,
            such as DARTS or MobileNet, need an explicit choice, e.g. ``encoding="adjacency"``).
        predictor: ``seed -> model`` with ``fit``, ``predict`` and ``predict_std`` (default: the
            BANANAS MLP ensemble); any predictor with an uncertainty plugs in (e.g. the GP).

    Raises:
        UnknownNameError: ``encoding`` is not one of the space's encodings (checked here, before any
            trial is spent, rather than when the first predictor is fitted).
        NoUncertaintyError: the predictor has no ``predict_std`` (e.g. the boosted trees).
    """

    name = "bananas"

    def __init__(self, space: SearchSpace, *, initial: int = 10, batch: int = 10, candidates: int = 100, parents: int = 2,
                 mutations: int = 1, encoding: str = "path", predictor: Callable[[int], Any] | None = None, **kwargs: Any) -> None:
        initial, batch, candidates = whole("initial", initial), whole("batch", batch), whole("candidates", candidates)
        parents, mutations = whole("parents", parents), whole("mutations", mutations)
        if encoding not in space.encodings:  # else the initial trials are spent before space.encode fails
            raise UnknownNameError(f"strategy {self.name!r}: space {space.name!r} has no {encoding!r} encoding; "
                                   f"pass encoding= one of {list(space.encodings)}")
        self.initial, self.batch, self.candidates = initial, batch, candidates
        self.parents, self.mutations, self.encoding = parents, mutations, encoding
        self.predictor = predictor or _default_predictor
        model = self.predictor(0)
        if not callable(getattr(model, "predict_std", None)):  # Thompson sampling draws from it
            raise NoUncertaintyError(f"strategy {self.name!r} samples from its predictor's uncertainty, and "
                                     f"{type(model).__name__} has no predict_std; use MLPEnsemble or GPRegressor")
        super().__init__(space, **kwargs)

    def config(self) -> dict[str, Any]:
        """The settings that shape proposals; the ``predictor`` factory is not recorded (stored batches are replayed
        without refitting it)."""
        return {**super().config(), "initial": self.initial, "batch": self.batch, "candidates": self.candidates, "parents": self.parents,
                "mutations": self.mutations, "encoding": self.encoding}

    def _plan(self, t: int) -> list[Arch] | None:
        rng = proposal_rng(self.seed, t)
        if t < self.initial:
            return self.random_unseen(self.initial - t, rng)
        if self.outstanding:
            return None
        done = [(a, s) for a, s in self.done() if s != FAILED]
        if len(done) < 2:
            return self.random_unseen(self.batch, rng)
        pool = self._candidate_pool(done, rng)
        model = self.predictor(int(rng.integers(2**31))).fit(self._encode([a for a, _ in done]), np.array([s for _, s in done]))
        values = self._acquire(model, self._encode(pool), max(s for _, s in done), rng)
        return [pool[i] for i in np.argsort(-values, kind="stable")[: self.batch]]

    def _acquire(self, model: Any, X: np.ndarray, best: float, rng: np.random.Generator) -> np.ndarray:
        """Acquisition value per candidate (higher first): ITS, one independent draw per candidate."""
        return rng.normal(model.predict(X), model.predict_std(X))

    def _replay_plan(self, t: int, trials: Sequence[Any]) -> list[Arch] | None:
        """A batch stored whole is taken from storage instead of refitting the ensemble."""
        if t >= self.initial and len(trials) - t >= self.batch:
            return [trial.arch for trial in trials[t : t + self.batch]]
        return self._plan(t)

    def _encode(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.stack([self.space.encode(a, self.encoding) for a in archs]).astype(float)

    def _candidate_pool(self, done: list[tuple[Arch, float]], rng: np.random.Generator) -> list[Arch]:
        """Unseen mutations of the ``parents`` best architectures, topped up with random ones."""
        best = [a for a, _ in sorted(done, key=lambda p: -p[1])[: self.parents]]
        pool: dict[str, Arch] = {}
        stuck: set[int] = set()  # parents whose mutation found no member of a restricted space: not retried
        for k in range(self.candidates):
            if k % len(best) in stuck:
                continue
            child = mutant(self.space, best[k % len(best)], rng, self.mutations)
            if child is None:  # random architectures top up the pool below
                stuck.add(k % len(best))
            elif not self.seen(child):
                pool.setdefault(child.canonical_hash(), child)
        if len(pool) < self.batch:
            for arch in self.random_unseen(self.batch - len(pool), rng):
                pool.setdefault(arch.canonical_hash(), arch)
        return list(pool.values())
