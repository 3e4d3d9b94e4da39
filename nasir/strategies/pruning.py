"""TE-NAS pruning-based search over a supernet of an op-on-edge space (Chen, Gong & Wang, ICLR 2021,
"Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically Inspired Perspective", Alg. 1).

Start from the supernet in which every edge mixes all candidate ops (``none`` removed first, as the
reference code does). Each round, for every remaining (edge, op), measure how pruning that op alone
changes trainability and expressivity:

* ``ntk_delta``   = (kappa_supernet - kappa_pruned) / kappa_supernet   (NTK condition number; higher: prune it)
* ``region_delta`` = (R_supernet - R_pruned) / R_supernet             (linear regions; lower: prune it)

rank all candidates of the round by each (descending and ascending; dense ranks, equal values share
one), sum the two ranks, and prune on every edge its op with the smallest sum. Repeat until one op is
left per edge. As in the reference (``prune_tenas.py`` with ``prune_launch.py``'s ``precision = 3``),
each repeat's change is rounded to ``precision`` decimals before the mean over repeats, so changes
that differ only in the fourth decimal tie; equal sums keep the order of the NTK ranking (then the
order in which candidates were measured), which is what the reference's stable sorts give.

This module is framework-free: the two measurements are callables
``(supernet_cell, pruned_cell) -> relative change, or one per repeat`` supplied by a frontend
(``nasir.frontends.torch.pruning.TENASMeasures``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nasir.errors import MeasurementError, NoSupernetError, StrategyConfigError
from nasir.ir import Arch

__all__ = ["SupernetSpace", "PruneRound", "PruneResult", "NoSupernetError", "MeasurementError", "tenas_prune"]

PairMeasure = Callable[[Arch, Arch], "float | Sequence[float]"]
Choice = tuple[int, str]  # (edge index, op)


class SupernetSpace(Protocol):
    """An op-on-edge space that can build mixed cells (e.g. ``NB201Space``)."""

    def supernet(self, ops_per_edge: Sequence[Sequence[str]]) -> Arch: ...


@dataclass(frozen=True)
class PruneRound:
    """One round: the ops each edge had, every candidate's two deltas, and what was pruned."""

    remaining: tuple[tuple[str, ...], ...]
    deltas: dict[Choice, tuple[float, float]]
    pruned: tuple[Choice, ...]


@dataclass(frozen=True)
class PruneResult:
    arch: Arch
    ops: tuple[str, ...]
    rounds: tuple[PruneRound, ...]


def _round_to(x: float, digits: int) -> float:
    """Rounds to ``digits`` significant figures (the reference's ``round_to``, its sort key)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _settle(value: float | Sequence[float], precision: int, what: str = "the measurement") -> float:
    """The mean over repeats of each repeat's change rounded to ``precision`` decimals.

    Refuses what would rank arbitrarily (NaN compares false with everything) or divide by zero;
    ``what`` names the measurement and candidate in the message.
    """
    try:
        values = [float(v) for v in ([value] if isinstance(value, (int, float)) else value)]
    except (TypeError, ValueError) as err:
        raise MeasurementError(f"{what} returned {value!r}, not a number or one number per repeat") from err
    if not values:
        raise MeasurementError(f"{what} returned no value; it must return a number or one number per repeat")
    if not all(math.isfinite(v) for v in values):
        raise MeasurementError(f"{what} returned a non-finite change {values}, which cannot be ranked")
    return sum(round(v, precision) for v in values) / len(values)


def _dense_ranks(values: dict[Choice, float], descending: bool, digits: int) -> tuple[list[Choice], dict[Choice, int]]:
    """The candidates sorted (stably) by ``values`` and their dense ranks: equal values share a rank."""
    order = sorted(values, key=lambda c: _round_to(values[c], digits), reverse=descending)
    ranks: dict[Choice, int] = {}
    for pos, choice in enumerate(order):
        same = pos and values[choice] == values[order[pos - 1]]
        ranks[choice] = ranks[order[pos - 1]] if same else (ranks[order[pos - 1]] + 1 if pos else 0)
    return order, ranks


def tenas_prune(space: SupernetSpace, candidate_ops: Sequence[str], num_edges: int, ntk_delta: PairMeasure,
                region_delta: PairMeasure, *, drop: Sequence[str] = ("none",), precision: int = 3,
                progress: Callable[[int, int], Any] | None = None) -> PruneResult:
    """Prunes the supernet down to one op per edge; returns the cell and every round's evidence.

    Args:
        candidate_ops: the space's ops; ``drop`` ones are removed before the first round.
        precision: decimals each repeat's change is rounded to (the reference's ``precision = 3``).
        progress: called as ``progress(done, total)`` after each candidate of a round is measured.
    """
    if not callable(getattr(space, "supernet", None)):
        raise NoSupernetError(f"TE-NAS pruning needs a space that builds mixed cells (supernet(ops_per_edge), e.g. NB201); "
                              f"{type(space).__name__} has no supernet")
    remaining = [[op for op in candidate_ops if op not in drop] for _ in range(num_edges)]
    if any(not ops for ops in remaining):
        raise StrategyConfigError(f"no op left to search after dropping {list(drop)} from {list(candidate_ops)}")
    rounds: list[PruneRound] = []
    while any(len(ops) > 1 for ops in remaining):
        supernet = space.supernet(remaining)
        candidates = [(e, op) for e, ops in enumerate(remaining) if len(ops) > 1 for op in ops]
        deltas: dict[Choice, tuple[float, float]] = {}
        for done, (e, op) in enumerate(candidates, 1):
            pruned = space.supernet([[o for o in ops if (k, o) != (e, op)] for k, ops in enumerate(remaining)])
            what = f"for pruning {op!r} from edge {e} in round {len(rounds) + 1}"
            deltas[(e, op)] = (_settle(ntk_delta(supernet, pruned), precision, f"ntk_delta {what}"),
                               _settle(region_delta(supernet, pruned), precision, f"region_delta {what}"))
            if progress:
                progress(done, len(candidates))
        ntk_order, ntk_rank = _dense_ranks({c: d[0] for c, d in deltas.items()}, descending=True, digits=precision)
        _, region_rank = _dense_ranks({c: d[1] for c, d in deltas.items()}, descending=False, digits=precision)
        order = sorted(ntk_order, key=lambda c: ntk_rank[c] + region_rank[c])
        pruned_now: dict[int, str] = {}
        for e, op in order:
            pruned_now.setdefault(e, op)
        rounds.append(PruneRound(tuple(map(tuple, remaining)), deltas, tuple(sorted(pruned_now.items()))))
        for e, op in pruned_now.items():
            remaining[e].remove(op)
    ops = tuple(ops[0] for ops in remaining)
    return PruneResult(space.supernet([[op] for op in ops]), ops, tuple(rounds))
