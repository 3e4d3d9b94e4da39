"""Random and deterministic moves on derivation trees, derived from the grammar alone.

Following Schrodi et al. (NeurIPS 2023, "Construction of hierarchical neural architecture search
spaces based on context-free grammars", Sec. 4): sampling draws a production for each non-terminal
top-down; mutation re-derives one randomly chosen sub-tree; crossover swaps two sub-trees rooted at
the same non-terminal. Neighbours (for local search) change one production, keeping the children
whose symbols still fit and deriving the others minimally.

Parameters passed down the tree never change which derivations a symbol has, so every move yields a
valid tree and its bindings follow from the root: a mutated or kept sub-tree derives under the
binding its new parent gives it. Crossover swaps only sub-trees with equal bindings too, so each
swapped sub-tree derives the same sub-graph in its new place.
"""

from __future__ import annotations

import math

import numpy as np

from nasir.errors import GrammarError, SpaceConfigError
from nasir.grammar.counting import counts
from nasir.grammar.derivation import Derivation, Path, bound_positions, positions, replace, subtree
from nasir.grammar.grammar import Grammar, Production

__all__ = ["Moves", "SAMPLING"]

SAMPLING = ("production", "uniform")


class Moves:
    """Sampling, mutation, crossover and neighbours for one grammar.

    Args:
        grammar: the grammar.
        sampling: ``"production"``: uniform over the productions allowed at each step (Schrodi et
            al.; works for recursive grammars); ``"uniform"``: uniform over all derivations (finite
            grammars; the counts weight each production by the size of its sub-language).
        max_depth: how deep sampling may go in a recursive grammar (finite grammars ignore it); it
            makes sampling terminate, it does not define the language (size bounds do).
        max_nodes: with ``"production"`` sampling, productions that cannot fit in this many graph
            nodes are never drawn, so node-bounded spaces (and recursive grammars) are sampled
            without rejection (``"uniform"`` sampling keeps rejection, which keeps it uniform).
    """

    def __init__(self, grammar: Grammar, *, sampling: str = "production", max_depth: int = 20,
                 max_nodes: int | None = None) -> None:
        if sampling not in SAMPLING:
            raise SpaceConfigError(f"sampling must be one of {SAMPLING}, got {sampling!r}")
        self.grammar = grammar
        self.limit = math.inf if grammar.finite else max_depth
        self.budget = math.inf if max_nodes is None or sampling == "uniform" else max_nodes - 2  # op nodes
        if grammar.min_height[grammar.start] > self.limit:
            shallowest = grammar.min_height[grammar.start]
            raise GrammarError(f"max_depth={max_depth} is below the shallowest derivation ({shallowest} levels)")
        if grammar.min_terminals[grammar.start] > self.budget:
            smallest = grammar.min_terminals[grammar.start] + 2
            raise GrammarError(f"max_nodes={max_nodes} is below the smallest graph ({smallest} nodes)")
        self._counts = counts(grammar) if sampling == "uniform" else None
        self._variable = _variable_symbols(grammar)
        self._minimal: dict[str, Derivation] = {}

    # ------------------------------------------------------------------ random moves
    def sample(self, rng: np.random.Generator, symbol: str | None = None, depth: float | None = None,
               budget: float | None = None) -> Derivation:
        """A random derivation of ``symbol`` (default: the start) at most ``depth`` levels deep, with at most
        ``budget`` op nodes (defaults: the limits of the whole tree)."""
        depth = self.limit if depth is None else depth
        return self._sample(rng, symbol or self.grammar.start, depth, self.budget if budget is None else budget)[0]

    def _sample(self, rng: np.random.Generator, symbol: str, depth: float, budget: float) -> tuple[Derivation, int]:
        fit = [p for p in self.grammar.productions(symbol) if self._smallest(p) <= budget]
        # the depth and node limits may not both be met; the node budget alone also ends the recursion
        options = [p for p in fit if self._height(p) <= depth] or fit
        if self._counts is not None:
            weights = np.array([float(math.prod(self._counts[c] for c in p.children)) for p in options])
            p = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        else:
            p = options[int(rng.integers(len(options)))]
        used, kids = p.terminals, []
        for i, child in enumerate(p.children):
            reserve = sum(self.grammar.min_terminals[c] for c in p.children[i + 1:])
            kid, size = self._sample(rng, child, depth - 1, budget - used - reserve)
            kids.append(kid)
            used += size
        return Derivation(symbol, p.index, tuple(kids)), used

    def mutate(self, tree: Derivation, rng: np.random.Generator, tries: int = 100) -> Derivation:
        """Re-derives one random sub-tree (not the root, unless nothing else can change) into a different one."""
        sites = [(path, node) for path, node in positions(tree) if node.symbol in self._variable]
        if not sites:
            raise GrammarError("the grammar derives a single graph: there is nothing to mutate")
        sites = [s for s in sites if s[0]] or sites
        for _ in range(tries):
            path, old = sites[int(rng.integers(len(sites)))]
            depth = max(self.limit - len(path), self.grammar.min_height[old.symbol])
            budget = max(self.budget - self.terminals(tree) + self.terminals(old), self.grammar.min_terminals[old.symbol])
            new = self.sample(rng, old.symbol, depth, budget)
            if new != old:
                return replace(tree, path, new)
        raise GrammarError(f"no different sub-derivation found in {tries} tries; raise max_depth")

    def crossover(self, a: Derivation, b: Derivation, rng: np.random.Generator) -> tuple[Derivation, Derivation]:
        """Swaps a random sub-tree of ``a`` with a different random sub-tree of ``b`` rooted at the same non-terminal
        under the same binding (parameters passed down the tree).

        Returns the parents unchanged when no such pair exists below their roots.
        """
        in_b: dict[tuple[str, tuple], list[tuple[Path, Derivation]]] = {}
        for path, node, binding in bound_positions(self.grammar, b):
            if path:
                in_b.setdefault((node.symbol, binding), []).append((path, node))
        pairs = {pa: [(pb, nb) for pb, nb in in_b.get((na.symbol, binding), []) if nb != na]
                 for pa, na, binding in bound_positions(self.grammar, a) if pa}
        sites = [pa for pa, options in pairs.items() if options]
        if not sites:
            return a, b
        pa = sites[int(rng.integers(len(sites)))]
        pb, nb = pairs[pa][int(rng.integers(len(pairs[pa])))]
        return replace(a, pa, nb), replace(b, pb, subtree(a, pa))

    # ------------------------------------------------------------------ deterministic moves
    def neighbors(self, tree: Derivation) -> list[Derivation]:
        """Every tree one production change away, by position (pre-order) then production order."""
        out: dict[Derivation, None] = {}
        for path, node in positions(tree):
            for p in self.grammar.productions(node.symbol):
                if p.index == node.choice:
                    continue
                new = Derivation(node.symbol, p.index, self._reuse(node.children, p.children))
                out.setdefault(replace(tree, path, new))
        out.pop(tree, None)
        return list(out)

    def minimal(self, symbol: str) -> Derivation:
        """The shallowest derivation of ``symbol`` (first production among equals), deterministic."""
        if symbol not in self._minimal:
            p = min(self.grammar.productions(symbol), key=self._height)
            self._minimal[symbol] = Derivation(symbol, p.index, tuple(self.minimal(c) for c in p.children))
        return self._minimal[symbol]

    def _reuse(self, old: tuple[Derivation, ...], symbols: tuple[str, ...]) -> tuple[Derivation, ...]:
        pool = list(old)
        kids = []
        for s in symbols:
            match = next((c for c in pool if c.symbol == s), None)
            if match is not None:
                pool.remove(match)
            kids.append(match if match is not None else self.minimal(s))
        return tuple(kids)

    def terminals(self, tree: Derivation) -> int:
        """Op nodes of the graph ``tree`` derives."""
        return sum(self.grammar.productions(n.symbol)[n.choice].terminals for _, n in positions(tree))

    def _smallest(self, p: Production) -> int:
        return p.terminals + sum(self.grammar.min_terminals[c] for c in p.children)

    def _height(self, p: Production) -> int:
        return 1 + max((self.grammar.min_height[c] for c in p.children), default=0)


def _variable_symbols(grammar: Grammar) -> set[str]:
    """Symbols with more than one derivation: several productions, or a child that has them."""
    variable = {s for s in grammar.symbols if len(grammar.productions(s)) > 1}
    changed = True
    while changed:
        changed = False
        for s in grammar.symbols:
            if s not in variable and any(c in variable for p in grammar.productions(s) for c in p.children):
                variable.add(s)
                changed = True
    return variable
