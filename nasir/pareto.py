"""Pareto dominance for multi-objective search: fronts, crowding distance, 2-D hypervolume.

Points are rows of metric values; ``directions`` says per column whether it is maximised or
minimised. Everything is converted once to "higher is better" (minimised columns negated), so the
rest of the code has a single comparison. NaN rows (failed trials) are dominated by every other row.
Points that do not fit their directions (no metric at all, a column count that differs, a direction
other than maximize/minimize) raise :class:`ParetoInputError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasir.errors import ParetoInputError
from nasir.objectives import MAXIMIZE, MINIMIZE

__all__ = ["ParetoInputError", "to_maximize", "dominates", "non_dominated_sort", "pareto_front", "crowding_distance", "hypervolume_2d"]


def to_maximize(points: np.ndarray | Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    """Copies ``points`` (n, m) with minimised columns negated; rows holding a NaN become all -inf.

    No directions is an error rather than a front of every row: with zero metrics nothing dominates.
    """
    if not len(directions):
        raise ParetoInputError("a Pareto front needs at least one metric direction, got none")
    # no rows is an empty (0, m) array, not the (1, 0) one that ndmin makes of []
    try:
        pts = np.array(points, dtype=float, ndmin=2) if len(points) else np.empty((0, len(directions)))
    except (TypeError, ValueError) as err:  # ragged rows, text
        raise ParetoInputError(f"points must be rows of {len(directions)} numbers each: {err}") from None
    if pts.ndim != 2 or pts.shape[1] != len(directions):
        raise ParetoInputError(f"points have {pts.shape[1]} columns but {len(directions)} directions were given")
    bad = [d for d in directions if d not in (MAXIMIZE, MINIMIZE)]
    if bad:
        raise ParetoInputError(f"directions must be 'maximize' or 'minimize', got {bad}")
    signs = np.array([1.0 if d == MAXIMIZE else -1.0 for d in directions])
    pts = pts * signs
    pts[np.isnan(pts).any(axis=1)] = -np.inf  # a row with a missing metric (a failure) loses everywhere
    return pts


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` is at least as good as ``b`` everywhere and better somewhere (higher is better)."""
    return bool(np.all(a >= b) and np.any(a > b))


def non_dominated_sort(points: np.ndarray) -> list[list[int]]:
    """Fronts of row indices, best first (Deb et al. 2002, fast non-dominated sort); higher is better."""
    n = len(points)
    better = (points[:, None, :] >= points[None, :, :]).all(-1) & (points[:, None, :] > points[None, :, :]).any(-1)
    dominated_by = better.sum(axis=0)  # how many rows dominate each row
    fronts: list[list[int]] = []
    current = [i for i in range(n) if dominated_by[i] == 0]
    while current:
        fronts.append(current)
        nxt: list[int] = []
        for i in current:
            for j in np.flatnonzero(better[i]):
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    nxt.append(int(j))
        current = sorted(nxt)
    return fronts


def pareto_front(points: np.ndarray | Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated rows of ``points`` (duplicates of a front point are all kept)."""
    pts = to_maximize(points, directions)
    return non_dominated_sort(pts)[0] if len(pts) else []


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within one front (boundary rows get +inf).

    A column whose extremes are not both finite (e.g. the front of failed trials, all ``-inf``) or
    equal has no spread to normalise by: it marks its boundary rows and adds nothing to the others.
    """
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(points[:, k], kind="stable")
        col = points[order, k]
        distance[order[0]] = distance[order[-1]] = np.inf
        if not (np.isfinite(col[0]) and np.isfinite(col[-1])) or col[-1] == col[0]:
            continue  # checked before subtracting: inf - inf would warn
        span = col[-1] - col[0]
        distance[order[1:-1]] += (col[2:] - col[:-2]) / span
    return distance


def hypervolume_2d(points: np.ndarray | Sequence[Sequence[float]], directions: Sequence[str], reference: Sequence[float]) -> float:
    """Area dominated by ``points`` and bounded by ``reference`` (given in the metrics' own units).

    The standard quality number for a two-objective front: larger is better; rows that do not beat
    the reference in both metrics add nothing.
    """
    pts = to_maximize(points, directions)
    ref = to_maximize([reference], directions)[0]
    if pts.shape[1] != 2:
        raise ParetoInputError(f"hypervolume_2d needs exactly two metrics, got {pts.shape[1]}")
    if not np.isfinite(ref).all():  # a NaN reference would become -inf and make the area infinite
        raise ParetoInputError(f"the hypervolume reference must be two finite numbers, got {list(reference)}")
    pts = pts[(pts > ref).all(axis=1)]
    if not len(pts):
        return 0.0
    pts = pts[np.argsort(-pts[:, 0], kind="stable")]
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if y > best_y:
            area += (x - ref[0]) * (y - best_y)
            best_y = y
    return float(area)
