"""Pareto fronts and best-so-far curves: the numbers behind the plots (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasir.errors import ParetoInputError
from nasir.objectives import MAXIMIZE

__all__ = ["pareto_mask", "best_so_far"]


def _oriented(values: Sequence[float], direction: str) -> np.ndarray:
    """Values turned higher-is-better, non-finite ones to -inf (never on a front)."""
    x = np.asarray(values, dtype=np.float64)
    x = x if direction == MAXIMIZE else -x
    return np.where(np.isfinite(x), x, -np.inf)


def pareto_mask(points: Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    """True for points no other point dominates (at least as good in every metric, better in one).

    ``points`` is ``(n, k)``; ``directions`` gives "maximize"/"minimize" per column. Points with a
    NaN or infinite metric are never on the front. Exact duplicates are all kept.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != len(directions):
        raise ParetoInputError(f"points must be (n, {len(directions)}), got shape {pts.shape}")
    x = np.stack([_oriented(pts[:, j], d) for j, d in enumerate(directions)], axis=1) if len(pts) else pts
    finite = np.isfinite(x).all(axis=1)
    mask = finite.copy()
    for i in np.flatnonzero(finite):
        dominated = (x >= x[i]).all(axis=1) & (x > x[i]).any(axis=1) & finite
        mask[i] = not dominated.any()
    return mask


def best_so_far(values: Sequence[float], direction: str = MAXIMIZE) -> np.ndarray:
    """Running best of per-trial values (NaN until the first finite value; failed trials are NaN)."""
    x = _oriented(values, direction)
    best = np.maximum.accumulate(x) if len(x) else x
    best = best if direction == MAXIMIZE else -best
    return np.where(np.isfinite(best), best, np.nan)
