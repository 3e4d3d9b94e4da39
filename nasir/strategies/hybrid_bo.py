"""GP Bayesian optimisation with zero-cost proxies as extra input features (the HNAS hybrid).

HNAS (Shu et al., ICLR 2022, "Unifying and Boosting Gradient-Based Training-Free Neural
Architecture Search") argues that training-free metrics predict performance only up to an
architecture-dependent gap, and closes it with Bayesian optimisation on the true objective. Here
the GP sees each architecture as ``[encoding, standardised proxy scores]`` (the OMNI idea of mixing
encodings with zero-cost features), so the proxies shape the prior correlation while the GP learns
from real evaluations. Acquisition: expected improvement over candidates made by mutating the best
architectures (as in BANANAS) plus random ones; one proposal per iteration by default (sequential BO).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.bananas import Bananas
from nasir.strategies.base import whole
from nasir.strategies.scorers import CachedScorer, Scorer, scorer_name

__all__ = ["HybridBO", "expected_improvement"]


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """EI of maximisation; where the std is 0 it is the plain improvement."""
    from scipy.stats import norm  # on first use: importing the strategies should not pay for scipy.stats

    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)


def _gp(seed: int) -> Any:
    from nasir.predictors import GPRegressor

    return GPRegressor()


class HybridBO(Bananas):
    """GP-EI over ``encoding`` plus proxy features from ``scorers`` (none: plain GP-BO).

    Args:
        scorers: proxies evaluated for every candidate (cached by architecture); each becomes one
            standardised feature column, weighted by ``feature_weight`` relative to the encoding.
        encoding: one of the space's ``encodings`` (default ``adjacency``; spaces without it, such as
            MobileNet, need an explicit choice); an unknown one raises ``UnknownNameError`` here.
        initial, batch, candidates, parents, mutations: as in BANANAS (defaults: 10 random, then 1
            proposal per iteration from 100 candidates mutated from the 2 best, plus 20 random).
    """

    name = "hybrid_bo"

    def __init__(self, space: SearchSpace, *, scorers: Sequence[Scorer] = (), encoding: str = "adjacency", batch: int = 1,
                 feature_weight: float = 2.0, random_candidates: int = 20, predictor: Callable[[int], Any] | None = None,
                 **kwargs: Any) -> None:
        self.scorers = [s if isinstance(s, CachedScorer) else CachedScorer(s) for s in scorers]
        self.feature_weight, self.random_candidates = feature_weight, whole("random_candidates", random_candidates, minimum=0)
        super().__init__(space, encoding=encoding, batch=batch, predictor=predictor or _gp, **kwargs)

    def config(self) -> dict[str, Any]:
        """BANANAS' settings plus the proxies (by name), their ``feature_weight`` and the number of random candidates."""
        return {**super().config(), "scorers": [scorer_name(s) for s in self.scorers], "feature_weight": self.feature_weight,
                "random_candidates": self.random_candidates}

    def _encode(self, archs: Sequence[Arch]) -> np.ndarray:
        X = super()._encode(archs)
        if not self.scorers:
            return X
        feats = self._features(archs)
        # standardise with the evaluated architectures' statistics: train and candidates share one
        # scale, and it depends only on the search history (a resumed search proposes the same)
        seen = self._features([a for a, _ in self.done()])
        mu, sd = np.nanmean(seen, axis=0), np.nanstd(seen, axis=0)
        z = (feats - mu) / np.where(sd > 0, sd, 1.0)
        z = np.nan_to_num(z, nan=-3.0)  # unscorable (degenerate) architectures look poor
        return np.hstack([X, self.feature_weight * z])

    def _features(self, archs: Sequence[Arch]) -> np.ndarray:
        feats = np.stack([s(archs) for s in self.scorers], axis=1)
        return np.where(np.isfinite(feats), feats, np.nan)

    def _candidate_pool(self, done: list[tuple[Arch, float]], rng: np.random.Generator) -> list[Arch]:
        pool = {a.canonical_hash(): a for a in super()._candidate_pool(done, rng)}
        for arch in self.random_unseen(self.random_candidates, rng):
            pool.setdefault(arch.canonical_hash(), arch)
        return list(pool.values())

    def _acquire(self, model: Any, X: np.ndarray, best: float, rng: np.random.Generator) -> np.ndarray:
        return expected_improvement(model.predict(X), model.predict_std(X), best)
