"""Counting derivations by dynamic programming, and enumerating them in a fixed order.

Counts are of derivation trees (for an unambiguous grammar, of distinct graphs). A finite grammar is
counted bottom-up over its symbols: ``N(s) = sum over productions of prod N(child)``. Under node and
edge bounds, which also make recursive grammars countable, each symbol gets a distribution over
``(op nodes, edge gain)``: both add up over a tree (a derived graph has ``2 + sum op nodes`` nodes and
``2 + sum (|rhs edges| - 2)`` edges), so distributions combine by convolution, truncated at the bounds,
and are iterated to their fixpoint.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from nasir.errors import InfiniteLanguageError
from nasir.grammar.derivation import Derivation
from nasir.grammar.grammar import Grammar, Production

__all__ = ["counts", "count", "count_bounded", "enumerate_trees", "max_terminals"]

_Dist = Counter  # (op nodes, edge gain) -> number of derivations


def _require_finite(grammar: Grammar) -> None:
    if not grammar.finite:
        raise InfiniteLanguageError(f"{grammar!r} is recursive: its language is infinite; bound max_nodes or max_edges")


def counts(grammar: Grammar) -> dict[str, int]:
    """Number of derivations of every symbol of a finite grammar."""
    _require_finite(grammar)
    n: dict[str, int] = {}
    for s in grammar.order:
        n[s] = sum(math.prod(n[c] for c in p.children) for p in grammar.productions(s))
    return n


def count(grammar: Grammar, max_nodes: int | None = None, max_edges: int | None = None) -> int:
    """Number of derivations from the start symbol, optionally of graphs within node and edge bounds."""
    if max_nodes is None and max_edges is None:
        return counts(grammar)[grammar.start]
    return count_bounded(grammar, max_nodes, max_edges)


def _bounds(grammar: Grammar, max_nodes: int | None, max_edges: int | None) -> tuple[float, float]:
    """Bounds on (sum of op nodes, sum of edge gains); an edge bound also bounds nodes (connected: n <= e + 1)."""
    if max_nodes is None and max_edges is None:
        _require_finite(grammar)
        return math.inf, math.inf
    nodes = min(x for x in (max_nodes, None if max_edges is None else max_edges + 1) if x is not None)
    return nodes - 2, (math.inf if max_edges is None else max_edges - 2)


def count_bounded(grammar: Grammar, max_nodes: int | None, max_edges: int | None) -> int:
    """Derivations whose graph has at most ``max_nodes`` nodes and ``max_edges`` edges (DP, no enumeration)."""
    t_max, e_max = _bounds(grammar, max_nodes, max_edges)
    dist: dict[str, _Dist] = {s: Counter() for s in grammar.symbols}
    order = grammar.order or grammar.symbols
    changed = True
    while changed:
        changed = False
        for s in order:
            new: _Dist = Counter()
            for p in grammar.productions(s):
                new.update(_production_dist(p, dist, t_max, e_max))
            if new != dist[s]:
                dist[s], changed = new, True
    return sum(dist[grammar.start].values())


def _production_dist(p: Production, dist: dict[str, _Dist], t_max: float, e_max: float) -> _Dist:
    acc: _Dist = Counter({(p.terminals, p.edge_gain): 1}) if p.terminals <= t_max and p.edge_gain <= e_max else Counter()
    for child in p.children:
        out: _Dist = Counter()
        for (t1, e1), n1 in acc.items():
            for (t2, e2), n2 in dist[child].items():
                if t1 + t2 <= t_max and e1 + e2 <= e_max:
                    out[(t1 + t2, e1 + e2)] += n1 * n2
        acc = out
    return acc


def max_terminals(grammar: Grammar) -> dict[str, int]:
    """Largest number of op nodes each symbol of a finite grammar derives."""
    _require_finite(grammar)
    m: dict[str, int] = {}
    for s in grammar.order:
        m[s] = max(p.terminals + sum(m[c] for c in p.children) for p in grammar.productions(s))
    return m


def enumerate_trees(grammar: Grammar, max_nodes: int | None = None, max_edges: int | None = None) -> Iterator[Derivation]:
    """Every derivation (within the bounds), productions in declaration order, children varying last-first.

    Raises:
        InfiniteLanguageError: the grammar is recursive and no bound was given.
    """
    t_max, e_max = _bounds(grammar, max_nodes, max_edges)
    memo: dict[tuple[str, float], list[tuple[Derivation, int, int]]] = {}
    for tree, _, e in _derivations(grammar, grammar.start, t_max, memo):
        if e <= e_max:
            yield tree


def _derivations(grammar: Grammar, symbol: str, budget: float, memo: dict) -> Iterator[tuple[Derivation, int, int]]:
    """(tree, op nodes, edge gain) of ``symbol`` with at most ``budget`` op nodes."""
    for p in grammar.productions(symbol):
        need = [grammar.min_terminals[c] for c in p.children]
        if p.terminals + sum(need) <= budget:
            yield from _children(grammar, p, 0, budget - p.terminals, need, (), p.terminals, p.edge_gain, memo)


def _children(grammar: Grammar, p: Production, i: int, budget: float, need: list[int], done: tuple[Derivation, ...],
              t: int, e: int, memo: dict) -> Iterator[tuple[Derivation, int, int]]:
    if i == len(p.children):
        yield Derivation(p.lhs, p.index, done), t, e
        return
    key = (p.children[i], budget - sum(need[i + 1:]))
    if key not in memo:
        memo[key] = list(_derivations(grammar, *key, memo))
    for child, ct, ce in memo[key]:
        yield from _children(grammar, p, i + 1, budget - ct, need, (*done, child), t + ct, e + ce, memo)
