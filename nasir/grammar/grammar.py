"""The :class:`Grammar`: validated productions and the structural facts every algorithm relies on.

A production replaces a non-terminal node (one input edge, any number of output edges) by its
right-hand side, wiring the node's input to what ``in`` feeds and ``out``'s input to the node's
successors. Every right-hand side is validated as an IR graph (non-terminals standing in as
``identity``), so it is a DAG and substitution keeps acyclicity: a cycle in the result would have to
leave the substituted sub-graph through ``out`` and re-enter it through ``in``, which would be a
cycle through the replaced node in the host graph.

Facts computed once (all over the symbols reachable from the start):
    * productivity (each symbol derives at least one graph) and no cycles of unit productions, so
      only finitely many derivations have a given size;
    * finiteness (no recursion), a topological order of symbols, minimum derivation heights and sizes.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import networkx as nx

from nasir.errors import InvalidArchError, UnknownOpError
from nasir.grammar.errors import GrammarError, UndefinedSymbolError
from nasir.grammar.symbols import IN, OUT, Alternative, Choice, Item, Op, Rhs, is_nonterminal, item_text, seq
from nasir.ir import OPS, Arch, OpSpec
from nasir.registry import Registry

__all__ = ["Grammar", "Production", "Terminal"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Terminal:
    """A concrete op of a right-hand side: registry name, resolved attributes, label."""

    op: str
    attrs: Mapping[str, Any]
    label: str

    @property
    def key(self) -> str:
        """Identity of the op as the IR sees it (name and resolved attributes)."""
        return f"{self.op}{sorted(self.attrs.items())}"


@dataclass(frozen=True)
class Production:
    """``lhs -> rhs``; ``nodes`` hold a :class:`Terminal` or a non-terminal name; edges carry ports."""

    lhs: str
    index: int
    label: str
    nodes: tuple[tuple[str, Terminal | str], ...]
    edges: tuple[tuple[str, str, int], ...]

    @property
    def children(self) -> tuple[str, ...]:
        """The non-terminals to substitute, in node order (the order of a derivation's children)."""
        return tuple(item for _, item in self.nodes if isinstance(item, str))

    @property
    def terminals(self) -> int:
        """Op nodes this production adds to the derived graph."""
        return sum(not isinstance(item, str) for _, item in self.nodes)

    @property
    def edge_gain(self) -> int:
        """Edges it adds when substituted for a node (the node's in- and out-edges are rewired, not added)."""
        return len(self.edges) - 2


class Grammar:
    """A context-free DAG grammar over registered ops.

    Args:
        rules: non-terminal -> one alternative or a list of them; an alternative is an op name,
            an :func:`~nasir.grammar.op`, a non-terminal name, an RHS from
            :func:`~nasir.grammar.seq` / :func:`~nasir.grammar.dag`, or a list (e.g. from
            :func:`~nasir.grammar.repeat`). Choices in op attributes expand into alternatives.
        start: the start symbol.
        registry: the op registry the terminals and derived graphs use.

    Attributes:
        symbols: non-terminals reachable from ``start``, in discovery order.
        finite: whether the language is finite (no symbol derives itself).
        order: for finite grammars, symbols with children before parents (the DP order).
        min_height, min_terminals: per symbol, the fewest levels and op nodes of a derivation.

    Raises:
        UndefinedSymbolError, UnknownOpError, AttributeValueError, CycleError, ArityError,
        DisconnectedNodeError, GrammarError: each naming the rule and alternative at fault.
    """

    def __init__(self, rules: Mapping[str, Alternative], start: str, *, registry: Registry[OpSpec] = OPS) -> None:
        self.start, self.registry = start, registry
        for name in rules:
            if not is_nonterminal(name) or not _NAME.match(name):
                raise GrammarError(f"non-terminal {name!r} must start with a capital letter and use letters, digits, '_', '-'")
        if start not in rules:
            raise UndefinedSymbolError(f"start symbol {start!r} has no rule (rules: {sorted(rules)})")
        self._rules: dict[str, tuple[Production, ...]] = {}
        for lhs, alternatives in rules.items():
            rhss = [rhs for alt in _flatten(alternatives) for rhs in _expand_choices(_as_rhs(alt))]
            self._rules[lhs] = tuple(_production(lhs, i, rhs, rules, registry) for i, rhs in enumerate(rhss))
            if not self._rules[lhs]:
                raise GrammarError(f"rule {lhs!r} has no alternatives")
        self.symbols = _reachable(self._rules, start)
        self._check_productive()
        self._check_unit_cycles()
        graph = nx.DiGraph([(s, c) for s in self.symbols for p in self._rules[s] for c in p.children])
        graph.add_nodes_from(self.symbols)
        self.finite = nx.is_directed_acyclic_graph(graph)
        self.order: tuple[str, ...] = tuple(reversed(list(nx.lexicographical_topological_sort(graph)))) if self.finite else ()
        self.min_height = _fixpoint(self, lambda p, m: 1 + max((m[c] for c in p.children), default=0))
        self.min_terminals = _fixpoint(self, lambda p, m: p.terminals + sum(m[c] for c in p.children))

    def productions(self, symbol: str) -> tuple[Production, ...]:
        """The alternatives of ``symbol`` in declaration order (a derivation's choice indexes them)."""
        try:
            return self._rules[symbol]
        except KeyError:
            raise UndefinedSymbolError(f"{symbol!r} is not a non-terminal of this grammar (known: {sorted(self._rules)})") from None

    def terminals(self) -> dict[str, Terminal]:
        """Distinct ops (by :attr:`Terminal.key`) in declaration order; the first label of each wins."""
        out: dict[str, Terminal] = {}
        for symbol in self.symbols:
            for p in self._rules[symbol]:
                for _, item in p.nodes:
                    if isinstance(item, Terminal):
                        out.setdefault(item.key, item)
        return out

    def __repr__(self) -> str:
        n = sum(len(self._rules[s]) for s in self.symbols)
        return f"Grammar(start={self.start!r}, symbols={len(self.symbols)}, productions={n}, finite={self.finite})"

    # ------------------------------------------------------------------ validation of the whole
    def _check_productive(self) -> None:
        productive: set[str] = set()
        changed = True
        while changed:
            changed = False
            for s in self.symbols:
                if s not in productive and any(set(p.children) <= productive for p in self._rules[s]):
                    productive.add(s)
                    changed = True
        barren = [s for s in self.symbols if s not in productive]
        if barren:
            raise GrammarError(f"non-terminal(s) {barren} never derive a graph: every alternative recurses; add a terminating one")

    def _check_unit_cycles(self) -> None:
        units = nx.DiGraph((s, p.children[0]) for s in self.symbols for p in self._rules[s]
                           if p.terminals == 0 and len(p.children) == 1)
        if not nx.is_directed_acyclic_graph(units):
            cycle = " -> ".join(u for u, _ in nx.find_cycle(units))
            raise GrammarError(f"unit productions form a cycle ({cycle}): infinitely many derivations give the same graph")


def _flatten(alt: Alternative) -> list[str | Op | Rhs]:
    if isinstance(alt, (str, Op, Rhs)):
        return [alt]
    return [x for a in alt for x in _flatten(a)]


def _as_rhs(alt: str | Op | Rhs) -> Rhs:
    return alt if isinstance(alt, Rhs) else seq(alt)


def _expand_choices(rhs: Rhs) -> list[Rhs]:
    """One RHS per combination of :class:`Choice` values; given labels (of the RHS, of ops) get ``[k=v]`` appended."""
    slots = [(i, k, v.values) for i, (_, item) in enumerate(rhs.nodes) if isinstance(item, Op)
             for k, v in item.attrs if isinstance(v, Choice)]
    if not slots:
        return [rhs]
    out = []
    for values in itertools.product(*(vals for _, _, vals in slots)):
        nodes = list(rhs.nodes)
        for (i, key, _), value in zip(slots, values):
            name, item = nodes[i]
            label = None if item.label is None else f"{item.label}[{key}={value}]"
            nodes[i] = (name, Op(item.name, tuple((k, value if k == key else v) for k, v in item.attrs), label))
        picked = ",".join(f"{k}={v}" for (_, k, _), v in zip(slots, values))
        out.append(Rhs(tuple(nodes), rhs.edges, None if rhs.label is None else f"{rhs.label}[{picked}]"))
    return out


def _production(lhs: str, index: int, rhs: Rhs, rules: Mapping[str, Any], registry: Registry[OpSpec]) -> Production:
    label = rhs.label if rhs.label is not None else " ".join(item_text(item) for _, item in rhs.nodes)
    where = f"rule {lhs!r} alternative {index} ({label})"
    nodes: list[tuple[str, Terminal | str]] = []
    for name, item in rhs.nodes:
        if name in (IN, OUT) or not _NAME.match(name):
            raise GrammarError(f"{where}: node name {name!r} is reserved or not letters, digits, '_', '-'")
        nodes.append((name, _resolve(item, rules, registry, f"{where}, node {name!r}")))
    ports: dict[str, int] = {}
    edges = []
    for src, dst in rhs.edges:
        if (src, dst) == (IN, OUT):
            raise GrammarError(f"{where}: a direct 'in' -> 'out' edge is not allowed; put an 'identity' op on it")
        edges.append((src, dst, ports.get(dst, 0)))
        ports[dst] = ports.get(dst, 0) + 1
    _validate_shape(nodes, edges, registry, where)
    return Production(lhs, index, label, tuple(nodes), tuple(edges))


def _resolve(item: Item, rules: Mapping[str, Any], registry: Registry[OpSpec], where: str) -> Terminal | str:
    if is_nonterminal(item):
        if item not in rules:
            hint = f"; {item!r} is an op, write op({item!r})" if item in registry else ""
            raise UndefinedSymbolError(f"{where}: non-terminal {item!r} has no rule (rules: {sorted(rules)}){hint}")
        return item
    term = item if isinstance(item, Op) else Op(item)
    if term.name in ("input", "output"):
        raise GrammarError(f"{where}: 'input' and 'output' are the interface nodes 'in' and 'out', not ops to place")
    try:
        attrs = registry.get(term.name).resolve_attrs(dict(term.attrs))
    except (InvalidArchError, UnknownOpError) as err:
        raise type(err)(f"{where}: {err}") from None
    return Terminal(term.name, MappingProxyType(dict(attrs)), term.text())


def _validate_shape(nodes: list[tuple[str, Terminal | str]], edges: list[tuple[str, str, int]], registry: Registry[OpSpec],
                    where: str) -> None:
    """Builds the RHS as an Arch (non-terminals as ``identity``: one input, any outputs) to reuse its checks."""
    spec: dict[str, Any] = {IN: "input", OUT: "output"}
    for name, item in nodes:
        spec[name] = "identity" if isinstance(item, str) else (item.op, dict(item.attrs))
    try:
        Arch(spec, edges, registry=registry)
    except (InvalidArchError, UnknownOpError) as err:
        raise type(err)(f"{where}: {err}") from None


def _reachable(rules: Mapping[str, tuple[Production, ...]], start: str) -> tuple[str, ...]:
    seen, todo = [start], [start]
    while todo:
        for p in rules[todo.pop()]:
            for c in p.children:
                if c not in seen:
                    seen.append(c)
                    todo.append(c)
    return tuple(seen)


def _fixpoint(grammar: Grammar, value) -> dict[str, int]:
    """Least fixpoint of ``m[s] = min over productions of value(p, m)`` (Bellman-Ford style)."""
    m: dict[str, float] = {s: math.inf for s in grammar.symbols}
    changed = True
    while changed:
        changed = False
        for s in grammar.symbols:
            best = min(value(p, m) for p in grammar.productions(s))
            if best < m[s]:
                m[s], changed = best, True
    return {s: int(v) for s, v in m.items()}
