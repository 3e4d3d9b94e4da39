"""Rank-based combinations of zero-cost proxies (framework-free).

Proxies live on incomparable scales (a condition number, a region count, a log-determinant), so
training-free NAS combines them through ranks over the architectures being compared:

- **TE-NAS** (Chen, Gong & Wang, ICLR 2021, its pruning search; VITA-Group/TENAS ``prune_tenas.py``) ranks
  the NTK condition number (lower is better) and the number of linear regions (higher is better)
  separately and sums the two ranks: :func:`tenas_rank`.
- **AZ-NAS** (Lee & Ham, CVPR 2024, non-linear rank aggregation) sums ``log(rank / n)``, which punishes an
  architecture that is poor on any one proxy (it behaves like a product of normalised ranks, where a
  plain sum lets one excellent proxy hide a bad one): ``rank_ensemble(..., method="log")``.

- :class:`ReferenceRanks` gives AZ-NAS's log-rank sum a fixed yardstick: each value is ranked among a
  reference sample's values instead of among the candidates at hand, so an architecture's score does
  not change as a search scores more of them (a fitness an evolutionary search can keep).

Every input is "higher is better" (nasir's proxy contract, so ``ntk_cond`` is already the negated
condition number); NaN and ``-inf`` (degenerate architectures) take the lowest rank of their proxy.
The result is higher-is-better too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from nasir.errors import SchemaError
from nasir.proxy_math import ranks

__all__ = ["rank_ensemble", "dense_ranks", "tenas_rank", "ReferenceRanks"]

METHODS = ("sum", "log")


def _finite_last(values: ArrayLike) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).copy()
    if x.ndim != 1:
        raise SchemaError(f"proxy scores must be a 1-D array (one per architecture), got shape {x.shape}")
    x[~np.isfinite(x) & (x != np.inf)] = -np.inf
    return x


def dense_ranks(values: ArrayLike) -> np.ndarray:
    """TE-NAS's ranks: 1 for the lowest value, equal values share a rank, the next value gets +1.

    ``prune_tenas.py`` walks the sorted list and increments the rank only when the value changes
    (a dense ranking); NaN and ``-inf`` share rank 1.
    """
    x = _finite_last(values)
    _, inverse = np.unique(x, return_inverse=True)
    return inverse.astype(np.float64) + 1.0


def rank_ensemble(scores: Mapping[str, ArrayLike], weights: Mapping[str, float] | None = None, *,
                  method: str = "sum") -> np.ndarray:
    """Combines higher-is-better proxy scores of the same architectures through their ranks.

    Args:
        scores: proxy name -> one score per architecture (higher is better).
        weights: optional proxy name -> weight (default 1 each); every proxy needs one.
        method: ``"sum"`` (TE-NAS: sum of average ranks, 1 = worst, n = best) or ``"log"``
            (AZ-NAS: sum of ``log(rank / n)``, 0 for an architecture best on every proxy).

    Returns:
        float64 array, one combined score per architecture (higher is better).
    """
    if method not in METHODS:
        raise SchemaError(f"rank_ensemble method must be one of {METHODS}, got {method!r}")
    if not scores:
        raise SchemaError("rank_ensemble needs at least one proxy's scores")
    arrays = {name: _finite_last(v) for name, v in scores.items()}
    lengths = {len(v) for v in arrays.values()}
    if len(lengths) != 1:
        raise SchemaError(f"every proxy must score the same architectures; got lengths {sorted(lengths)}")
    missing = sorted(set(arrays) - set(weights)) if weights is not None else []
    if missing:
        raise SchemaError(f"rank_ensemble weights lack proxies {missing}")
    n = lengths.pop()
    total = np.zeros(n)
    for name, values in arrays.items():
        r = ranks(values)
        term = r if method == "sum" else np.log(r / n)
        total += (1.0 if weights is None else float(weights[name])) * term
    return total


def tenas_rank(ntk_cond: ArrayLike, linear_regions: ArrayLike) -> np.ndarray:
    """TE-NAS's combined score: dense rank of trainability + dense rank of expressivity.

    Args:
        ntk_cond: the ``ntk_cond`` proxy's scores, i.e. **negated** NTK condition numbers
            (``-kappa``, higher is better), one per architecture.
        linear_regions: the ``linear_regions`` proxy's scores (region counts, higher is better).

    Returns:
        float64 rank sums (higher is better): an architecture with the lowest condition number
        and the most regions scores highest. TE-NAS ranks with dense ranks (:func:`dense_ranks`).

    Raises:
        SchemaError: the lengths differ, or ``ntk_cond`` holds only positive values: condition
            numbers are >= 1, so those are raw ``kappa`` (lower is better) and would invert the
            ranking; pass ``-kappa``.
    """
    kappa_side = _finite_last(ntk_cond)
    regions = _finite_last(linear_regions)
    if len(kappa_side) != len(regions):
        raise SchemaError(f"tenas_rank needs one ntk_cond and one linear_regions score per architecture; "
                          f"got {len(kappa_side)} and {len(regions)}")
    finite = kappa_side[np.isfinite(kappa_side)]
    if finite.size and np.all(finite > 0):
        raise SchemaError("tenas_rank takes the ntk_cond proxy's negated condition numbers (-kappa <= -1, higher is "
                          "better); these are all positive, i.e. raw kappa: pass -kappa")
    return dense_ranks(kappa_side) + dense_ranks(regions)


class ReferenceRanks:
    """AZ-NAS's sum of ``log(rank / n)`` with the ranks taken among a fixed reference sample.

    ``rank_ensemble`` ranks architectures among each other, so a score moves whenever another
    architecture joins the comparison; a search that keeps scores (REA's population, a study's
    history) needs one that does not. Here each proxy value gets its mid-rank among the reference
    sample's values of that proxy plus itself, ``(below + 0.5 * equal + 1) / (m + 1)`` for ``m``
    reference values, and the logs are summed. Ranked among a uniform sample of the space, this is
    the log-rank ensemble over the space, estimated. NaN and ``-inf`` rank lowest, as above.

    Args:
        reference: proxy name -> the reference architectures' scores (higher is better); the
            proxies to combine are exactly these.
    """

    def __init__(self, reference: Mapping[str, ArrayLike]) -> None:
        if not reference:
            raise SchemaError("ReferenceRanks needs at least one proxy's reference scores")
        self.reference = {name: np.sort(_finite_last(values)) for name, values in reference.items()}
        empty = sorted(name for name, values in self.reference.items() if len(values) == 0)
        if empty:
            raise SchemaError(f"ReferenceRanks: no reference scores for {empty}")

    def __call__(self, scores: Mapping[str, ArrayLike]) -> np.ndarray:
        """One combined score per architecture (higher is better) from ``{proxy: scores}``."""
        missing = sorted(set(self.reference) - set(scores))
        if missing:
            raise SchemaError(f"ReferenceRanks needs scores for {missing} (its reference proxies)")
        total: np.ndarray | float = 0.0
        for name, ref in self.reference.items():
            x = _finite_last(np.atleast_1d(np.asarray(scores[name], dtype=np.float64)))
            below, upto = np.searchsorted(ref, x, side="left"), np.searchsorted(ref, x, side="right")
            total = total + np.log((below + 0.5 * (upto - below) + 1.0) / (len(ref) + 1.0))
        return np.asarray(total)
