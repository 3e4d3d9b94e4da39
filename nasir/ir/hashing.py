"""Versioned canonical hashing of architecture DAGs.

Two graphs get the same hash exactly when they are isomorphic as labelled DAGs: same ops, same
attributes, same edges and same input ports (ports are ignored into commutative ops such as
``add``). The algorithm is classic colour refinement (1-WL over predecessors and successors)
followed by individualisation-refinement on the remaining ties, keeping the lexicographically
smallest canonical form over all tie-breaks; with that search it is exact, not a heuristic.
Automorphisms found on the way prune symmetric branches: k interchangeable branches cost in the order
of k^2 refinements instead of k! leaves (24 parallel two-op branches hash in about 2 s).

The hash string carries a version tag (``v1:``): change the tag whenever the encoding changes,
and never persist networkx's WL hash (its values changed between releases).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nasir.ir.arch import Arch

__all__ = ["canonical_hash", "canonical_form", "HASH_VERSION"]

HASH_VERSION = "v1"

_Colors = dict[str, int]


class _Graph:
    """Plain-Python view of an Arch tuned for refinement (integer adjacency, labels)."""

    def __init__(self, arch: Arch) -> None:
        self.nodes = list(arch.nodes)
        self.label = {n: json.dumps([arch.op(n), sorted(arch.attrs(n).items())], default=str) for n in self.nodes}
        self.preds: dict[str, list[tuple[str, int]]] = {n: [] for n in self.nodes}
        self.succs: dict[str, list[tuple[str, int]]] = {n: [] for n in self.nodes}
        for u, v, port in arch.edges:
            p = -1 if arch.spec(v).commutative else port
            self.preds[v].append((u, p))
            self.succs[u].append((v, p))


def _rank(keys: dict[str, object]) -> _Colors:
    order = {k: i for i, k in enumerate(sorted(set(map(repr, keys.values()))))}
    return {n: order[repr(k)] for n, k in keys.items()}


def _refine(g: _Graph, colors: _Colors) -> _Colors:
    while True:
        sig = {
            n: (colors[n], sorted((colors[u], p) for u, p in g.preds[n]), sorted((colors[v], p) for v, p in g.succs[n]))
            for n in g.nodes
        }
        new = _rank(sig)
        if len(set(new.values())) == len(set(colors.values())):
            return new
        colors = new


def _leaf(g: _Graph, colors: _Colors) -> tuple[str, list[str]]:
    order = sorted(g.nodes, key=colors.__getitem__)
    pos = {n: i for i, n in enumerate(order)}
    edges = sorted((pos[u], pos[v], p) for v in g.nodes for u, p in g.preds[v])
    return json.dumps([[g.label[n] for n in order], edges]), order


class _Search:
    """Individualisation-refinement keeping the smallest leaf, pruned by found automorphisms.

    Two leaves with the same form give an automorphism (leaf order to leaf order); children of a
    search node that lie in one orbit of the automorphisms fixing the node's individualised
    vertices have the same leaves, so only one per orbit is explored (McKay's orbit pruning).
    """

    def __init__(self, g: _Graph) -> None:
        self.g = g
        self.best: tuple[str, list[str]] | None = None
        self.automorphisms: list[dict[str, str]] = []

    def run(self, colors: _Colors, fixed: tuple[str, ...] = ()) -> None:
        classes: dict[int, list[str]] = {}
        for n, c in colors.items():
            classes.setdefault(c, []).append(n)
        ties = [c for c, members in classes.items() if len(members) > 1]
        if not ties:
            self._record(_leaf(self.g, colors))
            return
        explored: list[str] = []
        orbits, absorbed = {n: n for n in self.g.nodes}, 0
        for node in sorted(classes[min(ties)]):
            absorbed = self._absorb(orbits, fixed, absorbed)
            if explored and _find(orbits, node) in {_find(orbits, e) for e in explored}:
                continue
            explored.append(node)
            start = {n: (c, 0 if n == node else 1) for n, c in colors.items()}
            self.run(_refine(self.g, _rank(start)), fixed + (node,))

    def _record(self, leaf: tuple[str, list[str]]) -> None:
        if self.best is None or leaf[0] < self.best[0]:
            self.best = leaf
        elif leaf[0] == self.best[0]:
            self.automorphisms.append(dict(zip(self.best[1], leaf[1])))

    def _absorb(self, orbits: dict[str, str], fixed: tuple[str, ...], start: int) -> int:
        """Merges into the union-find ``orbits`` the automorphisms found since ``start`` that fix ``fixed``;
        orbits only grow as automorphisms are found, so each one is merged once per search node."""
        for perm in self.automorphisms[start:]:
            if all(perm[f] == f for f in fixed):
                for x, y in perm.items():
                    orbits[_find(orbits, x)] = _find(orbits, y)
        return len(self.automorphisms)


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def canonical_form(arch: Arch) -> str:
    """A string equal for isomorphic architectures and different otherwise."""
    g = _Graph(arch)
    search = _Search(g)
    search.run(_refine(g, _rank(g.label)))
    assert search.best is not None
    return search.best[0]


def canonical_hash(arch: Arch) -> str:
    """``"v1:" + sha256`` (40 hex digits) of :func:`canonical_form`."""
    digest = hashlib.sha256(canonical_form(arch).encode()).hexdigest()[:40]
    return f"{HASH_VERSION}:{digest}"
