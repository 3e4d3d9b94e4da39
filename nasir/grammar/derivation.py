"""Derivation trees, their text form, and the graphs they derive.

A :class:`Derivation` records which production was chosen for a symbol and, in node order, the
derivations of the right-hand side's non-terminals. It is what search operates on; the IR
:class:`~nasir.ir.Arch` is derived from it.

Derived node ids spell the path of substituted nodes (``stage1.cell0.in-n1``), except that a
right-hand side with a single node takes the id of the node it replaces; so ids are readable in
weight keys, and an Arch derived by a grammar (also after a JSON round trip) can be parsed back
into its derivation by :func:`parse_arch`.

Parameters passed down the tree are not stored in a derivation: the binding of every node follows
from the root, each production saying what its children get (``Production.args``). So the text
form and the node ids are those of the structure alone, and a derivation read back from an Arch
carries its bindings implicitly (:func:`bound_positions` lists them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nasir.errors import InvalidDerivationError
from nasir.grammar.grammar import Binding, Grammar, Production, Terminal
from nasir.grammar.symbols import IN, OUT
from nasir.ir import Arch

__all__ = ["Derivation", "Path", "bound_positions", "derive_arch", "parse_arch", "positions", "replace", "subtree", "to_text",
           "from_text", "check"]

Path = tuple[int, ...]  # child indices from the root


@dataclass(frozen=True)
class Derivation:
    """``symbol`` rewritten by production ``choice``; ``children`` derive its non-terminal nodes in order."""

    symbol: str
    choice: int
    children: tuple[Derivation, ...] = ()

    @property
    def depth(self) -> int:
        return 1 + max((c.depth for c in self.children), default=0)


def check(grammar: Grammar, tree: Derivation) -> None:
    """Raises :class:`InvalidDerivationError` unless ``tree`` is a derivation of the grammar's start symbol."""
    if tree.symbol != grammar.start:
        raise InvalidDerivationError(f"a derivation must start at {grammar.start!r}, got {tree.symbol!r}")
    stack = [tree]
    while stack:
        node = stack.pop()
        productions = grammar.productions(node.symbol)
        if not 0 <= node.choice < len(productions):
            raise InvalidDerivationError(f"{node.symbol!r} has {len(productions)} productions, not choice {node.choice}")
        kids = productions[node.choice].children
        if tuple(c.symbol for c in node.children) != kids:
            got = [c.symbol for c in node.children]
            raise InvalidDerivationError(f"{node.symbol}:{node.choice} needs children {list(kids)}, got {got}")
        stack.extend(node.children)


# ---------------------------------------------------------------------- tree surgery


def positions(tree: Derivation) -> Iterator[tuple[Path, Derivation]]:
    """Every sub-derivation with its path, in pre-order (root first)."""
    stack: list[tuple[Path, Derivation]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        yield path, node
        stack.extend(((*path, i), c) for i, c in reversed(list(enumerate(node.children))))


def bound_positions(grammar: Grammar, tree: Derivation) -> Iterator[tuple[Path, Derivation, Binding]]:
    """Every sub-derivation with its path and the binding it derives under, in the pre-order of :func:`positions`."""
    stack: list[tuple[Path, Derivation, Binding]] = [((), tree, grammar.binding(tree.symbol, {}))]
    while stack:
        path, node, binding = stack.pop()
        yield path, node, binding
        args = grammar.productions(node.symbol, binding)[node.choice].args
        stack.extend(((*path, i), c, args[i]) for i, c in reversed(list(enumerate(node.children))))


def subtree(tree: Derivation, path: Path) -> Derivation:
    for i in path:
        tree = tree.children[i]
    return tree


def replace(tree: Derivation, path: Path, new: Derivation) -> Derivation:
    """A copy of ``tree`` with the sub-derivation at ``path`` replaced by ``new``."""
    if not path:
        return new
    kids = list(tree.children)
    kids[path[0]] = replace(kids[path[0]], path[1:], new)
    return Derivation(tree.symbol, tree.choice, tuple(kids))


# ---------------------------------------------------------------------- text form

_TOKEN = re.compile(r"\s*([A-Za-z0-9_\-]+):(\d+)|\s*([(),])")


def to_text(tree: Derivation) -> str:
    """``CELL:0(EDGE:3,EDGE:0,...)``: symbols and production indices, children in parentheses."""
    inner = f"({','.join(to_text(c) for c in tree.children)})" if tree.children else ""
    return f"{tree.symbol}:{tree.choice}{inner}"


def from_text(text: str) -> Derivation:
    """Inverse of :func:`to_text` (structure only; :func:`check` validates against a grammar)."""
    tokens: list[Any] = []
    pos = 0
    stripped = text.strip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise InvalidDerivationError(f"cannot read a derivation at {stripped[pos:pos + 20]!r} in {text!r}")
        tokens.append((m.group(1), int(m.group(2))) if m.group(1) else m.group(3))
        pos = m.end()
    tree, rest = _read(tokens, text)
    if rest:
        raise InvalidDerivationError(f"trailing text after the derivation in {text!r}")
    return tree


def _read(tokens: list[Any], text: str) -> tuple[Derivation, list[Any]]:
    if not tokens or not isinstance(tokens[0], tuple):
        raise InvalidDerivationError(f"expected 'SYMBOL:index' in {text!r}")
    (symbol, choice), rest = tokens[0], tokens[1:]
    children: list[Derivation] = []
    if rest[:1] == ["("]:
        rest = rest[1:]
        while True:
            child, rest = _read(rest, text)
            children.append(child)
            if rest[:1] == [")"]:
                rest = rest[1:]
                break
            if rest[:1] != [","]:
                raise InvalidDerivationError(f"expected ',' or ')' in {text!r}")
            rest = rest[1:]
    return Derivation(symbol, choice, tuple(children)), rest


# ---------------------------------------------------------------------- derivation -> Arch


@dataclass
class _Fragment:
    """A derived sub-graph: its nodes and edges, what its input feeds (node, port), what feeds its output."""

    nodes: dict[str, tuple[str, dict[str, Any]]]
    edges: list[tuple[str, str, int]]
    entries: list[tuple[str, int]]
    exit: str


def _node_id(p: Production, prefix: str, name: str) -> str:
    if not prefix:
        return name
    return prefix if len(p.nodes) == 1 else f"{prefix}.{name}"


def _expand(grammar: Grammar, tree: Derivation, prefix: str, binding: Binding) -> _Fragment:
    p = grammar.productions(tree.symbol, binding)[tree.choice]
    frag = _Fragment({}, [], [], "")
    subs: dict[str, _Fragment] = {}
    kids = iter(zip(tree.children, p.args))
    for name, item in p.nodes:
        node = _node_id(p, prefix, name)
        if isinstance(item, Terminal):
            frag.nodes[node] = (item.op, dict(item.attrs))
        else:
            kid, args = next(kids)
            sub = subs[name] = _expand(grammar, kid, node, args)
            frag.nodes.update(sub.nodes)
            frag.edges.extend(sub.edges)
    for src, dst, port in p.edges:
        targets = subs[dst].entries if dst in subs else [(_node_id(p, prefix, dst), port)]
        if src == IN:
            frag.entries.extend(targets)
            continue
        source = subs[src].exit if src in subs else _node_id(p, prefix, src)
        if dst == OUT:
            frag.exit = source
        else:
            frag.edges.extend((source, t, q) for t, q in targets)
    return frag


def derive_arch(grammar: Grammar, tree: Derivation) -> Arch:
    """The IR graph of a derivation: ``in`` and ``out`` of the start production become the graph's input and output."""
    frag = _expand(grammar, tree, "", grammar.binding(tree.symbol, {}))
    edges = [*((IN, t, q) for t, q in frag.entries), *frag.edges, (frag.exit, OUT, 0)]
    return Arch({IN: "input", **frag.nodes, OUT: "output"}, edges, registry=grammar.registry)


# ---------------------------------------------------------------------- Arch -> derivation


def parse_arch(grammar: Grammar, arch: Arch) -> Derivation:
    """The derivation of an Arch this grammar derived, read from its node ids and checked by re-deriving.

    Candidates are built bottom-up and a sub-derivation is kept only if the sub-graph it derives
    (nodes, ops and inner edges) is in ``arch`` under its ids, so the search stays linear in practice.

    Raises:
        InvalidDerivationError: ``arch`` was not derived by this grammar (or was relabelled).
    """
    view = _View({n: (arch.op(n), dict(arch.attrs(n))) for n in arch.nodes}, set(arch.edges))
    for tree in _parses(grammar, grammar.start, "", view, grammar.binding(grammar.start, {})):
        if derive_arch(grammar, tree).same_labels(arch):
            return tree
    raise InvalidDerivationError(
        f"the architecture was not derived by this grammar (start {grammar.start!r}); derivations are read from "
        "node ids, so relabelled graphs cannot be parsed: keep the Arch the space returned, or its JSON"
    )


@dataclass(frozen=True)
class _View:
    ops: dict[str, tuple[str, dict[str, Any]]]
    edges: set[tuple[str, str, int]]

    def holds(self, frag: _Fragment) -> bool:
        return all(self.ops.get(n) == spec for n, spec in frag.nodes.items()) and all(e in self.edges for e in frag.edges)


def _parses(grammar: Grammar, symbol: str, prefix: str, view: _View, binding: Binding) -> Iterator[Derivation]:
    """Derivations of ``symbol`` (under ``binding``) at ``prefix`` whose derived sub-graph ``view`` holds."""
    for p in grammar.productions(symbol, binding):
        if any(isinstance(item, Terminal) and view.ops.get(_node_id(p, prefix, name)) != (item.op, dict(item.attrs))
               for name, item in p.nodes):
            continue
        todo = [(child, _node_id(p, prefix, name), args) for child, name, args in zip(p.children, p.child_nodes, p.args)]
        for children in _combinations(grammar, todo, view):
            tree = Derivation(symbol, p.index, children)
            if view.holds(_expand(grammar, tree, prefix, binding)):
                yield tree


def _combinations(grammar: Grammar, todo: list[tuple[str, str, Binding]], view: _View) -> Iterator[tuple[Derivation, ...]]:
    if not todo:
        yield ()
        return
    (symbol, node, binding), rest = todo[0], todo[1:]
    for child in _parses(grammar, symbol, node, view, binding):
        for more in _combinations(grammar, rest, view):
            yield (child, *more)
