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

Parameters passed down the tree (``nt("STAGE", channels=64)``, ``op("conv", out_channels=param("channels"))``)
never change which productions a symbol has or their shape: a binding only fixes attribute values.
So a derivation tree is valid whatever its bindings, the bindings of every node follow from the root
(each production says what its children get), and counts, sampling, enumeration and the derivation
text are those of the structure alone. What a symbol derives under a binding is resolved per
``(symbol, binding)``, the binding restricted to the parameters the symbol's sub-trees read
(:meth:`Grammar.params`), so equal bindings are one memoisation key. Every binding reachable from
the start is resolved and validated when the grammar is built.
"""

from __future__ import annotations

import itertools
import math
import re
import reprlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import replace as _replace
from types import MappingProxyType
from typing import Any

import networkx as nx

from nasir.errors import (
    GrammarError,
    InvalidArchError,
    ParameterError,
    ParameterTypeError,
    UnboundParameterError,
    UndefinedSymbolError,
    UnknownOpError,
    UnknownParameterError,
)
from nasir.grammar.symbols import (
    IN,
    OUT,
    Alternative,
    Choice,
    Item,
    NonTerminal,
    Op,
    Param,
    Rhs,
    is_nonterminal,
    item_text,
    seq,
    symbol_of,
)
from nasir.ir import OPS, Arch, OpSpec
from nasir.registry import Registry

__all__ = ["Binding", "Grammar", "MAX_BINDINGS", "MAX_RECURSIVE_BINDINGS", "Production", "Terminal"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")

Binding = tuple[tuple[str, Any], ...]  # (parameter, value) pairs sorted by parameter: what a symbol derives under
MAX_BINDINGS = 100_000  # most (symbol, binding) pairs a grammar may reach
MAX_RECURSIVE_BINDINGS = 1_000  # the same for a recursive grammar, where a rule that rescales itself never closes


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
    """``lhs -> rhs``; ``nodes`` hold a :class:`Terminal` or a non-terminal name; edges carry ports.

    ``args`` gives, per child (in :attr:`children` order), the binding it derives under: resolved in
    ``grammar.productions(symbol, binding)``; as written (values may be :class:`~nasir.grammar.symbols.Param`)
    in the structural view ``grammar.productions(symbol)`` of a symbol that reads parameters, whose
    parameterised ops are unresolved there too.
    """

    lhs: str
    index: int
    label: str
    nodes: tuple[tuple[str, Terminal | str], ...]
    edges: tuple[tuple[str, str, int], ...]
    args: tuple[Binding, ...] = ()

    def __post_init__(self) -> None:
        if len(self.args) != len(self.children):
            if self.args:
                raise ValueError(f"internal error: production {self.lhs}:{self.index} has {len(self.args)} args for "
                                 f"{len(self.children)} children")
            object.__setattr__(self, "args", ((),) * len(self.children))

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

    @property
    def child_nodes(self) -> tuple[str, ...]:
        """The RHS node names of :attr:`children`, in the same order."""
        return tuple(name for name, item in self.nodes if isinstance(item, str))


@dataclass(frozen=True)
class _Template:
    """A production as written: its structural view, and what resolving it under a binding needs."""

    where: str
    production: Production
    ops: tuple[tuple[int, Op], ...]  # (node position, op as written) of ops with param() attributes
    given: tuple[Binding, ...]  # per child, bindings as written (constants or Param)

    def refs(self) -> Iterable[tuple[str, Param]]:
        """(node name, parameter reference) of every param() the production reads, in node order."""
        for i, item in self.ops:
            yield from ((self.production.nodes[i][0], v) for _, v in item.attrs if isinstance(v, Param))
        for node, given in zip(self.production.child_nodes, self.given):
            yield from ((node, v) for _, v in given if isinstance(v, Param))

    @property
    def trivial(self) -> bool:
        """Nothing to resolve: no param() and no bindings."""
        return not self.ops and not any(self.given)


class Grammar:
    """A context-free DAG grammar over registered ops.

    Args:
        rules: non-terminal -> one alternative or a list of them; an alternative is an op name,
            an :func:`~nasir.grammar.op`, a non-terminal name or :func:`~nasir.grammar.nt` reference
            (binding parameters for what it derives), an RHS from :func:`~nasir.grammar.seq` /
            :func:`~nasir.grammar.dag`, or a list (e.g. from :func:`~nasir.grammar.repeat`). Choices in
            op attributes and in bindings expand into alternatives; :func:`~nasir.grammar.param` reads
            a parameter bound above.
        start: the start symbol.
        registry: the op registry the terminals and derived graphs use.

    Attributes:
        symbols: non-terminals reachable from ``start``, in discovery order.
        finite: whether the language is finite (no symbol derives itself).
        order: for finite grammars, symbols with children before parents (the DP order).
        min_height, min_terminals: per symbol, the fewest levels and op nodes of a derivation.

    Raises:
        UndefinedSymbolError, UnknownOpError, AttributeValueError, CycleError, ArityError,
        DisconnectedNodeError, GrammarError, UnboundParameterError, UnknownParameterError,
        ParameterTypeError, ParameterError: each naming the rule and alternative at fault.
    """

    def __init__(self, rules: Mapping[str, Alternative], start: str, *, registry: Registry[OpSpec] = OPS) -> None:
        self.start, self.registry = start, registry
        for name in rules:
            if not is_nonterminal(name) or not _NAME.match(name):
                raise GrammarError(f"non-terminal {name!r} must start with a capital letter and use letters, digits, '_', '-'")
        if start not in rules:
            raise UndefinedSymbolError(f"start symbol {start!r} has no rule (rules: {sorted(rules)})")
        self._templates: dict[str, tuple[_Template, ...]] = {}
        for lhs, alternatives in rules.items():
            rhss = [rhs for alt in _flatten(alternatives) for rhs in _expand_choices(_as_rhs(alt))]
            self._templates[lhs] = tuple(_template(lhs, i, rhs, rules, registry) for i, rhs in enumerate(rhss))
            if not self._templates[lhs]:
                raise GrammarError(f"rule {lhs!r} has no alternatives")
        self._rules: dict[str, tuple[Production, ...]] = {s: tuple(t.production for t in ts) for s, ts in self._templates.items()}
        self.symbols = _reachable(self._rules, start)
        self._check_productive()
        self._check_unit_cycles()
        graph = nx.DiGraph([(s, c) for s in self.symbols for p in self._rules[s] for c in p.children])
        graph.add_nodes_from(self.symbols)
        self.finite = nx.is_directed_acyclic_graph(graph)
        self.order: tuple[str, ...] = tuple(reversed(list(nx.lexicographical_topological_sort(graph)))) if self.finite else ()
        self.min_height = _fixpoint(self, lambda p, m: 1 + max((m[c] for c in p.children), default=0))
        self.min_terminals = _fixpoint(self, lambda p, m: p.terminals + sum(m[c] for c in p.children))
        self._free = _free_params(self._templates, lambda t: {p.name for _, p in t.refs()})
        self._check_parameters()
        self._instances: dict[tuple[str, Binding], tuple[Production, ...]] = {}
        for symbol in self._rules:
            if not self._free[symbol]:
                self._rules[symbol] = self._instantiate(symbol, ())
        self._contexts = self._reach_bindings()

    def productions(self, symbol: str, binding: Binding | Mapping[str, Any] | None = None) -> tuple[Production, ...]:
        """The alternatives of ``symbol`` in declaration order (a derivation's choice indexes them).

        With a ``binding`` (parameter -> value; what is not read by ``symbol`` is ignored), the ops and
        the children's bindings are resolved; without one, a symbol that reads parameters shows its
        structural view (same productions, children, node and edge counts; ops as written).
        """
        try:
            rules = self._rules[symbol]
        except KeyError:
            raise UndefinedSymbolError(f"{symbol!r} is not a non-terminal of this grammar (known: {sorted(self._rules)})") from None
        if binding is None or not self._free[symbol]:
            return rules
        if isinstance(binding, tuple) and (symbol, binding) in self._instances:  # Production.args are keys already
            return self._instances[symbol, binding]
        key = (symbol, self.binding(symbol, binding))
        if key not in self._instances:
            self._instances[key] = self._instantiate(*key)
        return self._instances[key]

    def params(self, symbol: str) -> frozenset[str]:
        """Parameters that what ``symbol`` derives may read (its ops, its bindings, and its descendants' unless rebound)."""
        self.productions(symbol)
        return self._free[symbol]

    def binding(self, symbol: str, env: Binding | Mapping[str, Any]) -> Binding:
        """``env`` restricted to the parameters ``symbol`` reads, sorted: the key of what it derives."""
        env = dict(env)
        return tuple(sorted(((k, env[k]) for k in self.params(symbol) if k in env), key=lambda kv: kv[0]))

    def bindings(self, symbol: str) -> tuple[Binding, ...]:
        """Every binding under which ``symbol`` occurs in some derivation from the start, in discovery order."""
        self.productions(symbol)
        return tuple(self._contexts.get(symbol, ()))

    def terminals(self) -> dict[str, Terminal]:
        """Distinct ops (by :attr:`Terminal.key`) in declaration order, under every reachable binding; the first label wins."""
        out: dict[str, Terminal] = {}
        for symbol in self.symbols:
            for binding in self._contexts[symbol]:
                for p in self.productions(symbol, binding):
                    for _, item in p.nodes:
                        if isinstance(item, Terminal):
                            out.setdefault(item.key, item)
        return out

    def __repr__(self) -> str:
        n = sum(len(self._rules[s]) for s in self.symbols)
        return f"Grammar(start={self.start!r}, symbols={len(self.symbols)}, productions={n}, finite={self.finite})"

    # ------------------------------------------------------------------ parameters
    def _instantiate(self, symbol: str, binding: Binding) -> tuple[Production, ...]:
        """The productions of ``symbol`` with params resolved under ``binding`` and the children's bindings computed."""
        env = dict(binding)
        out = []
        for t in self._templates[symbol]:
            p = t.production
            if t.trivial and not any(self._free[c] for c in p.children):
                out.append(p)
                continue
            where = t.where + (f" with {_show(binding)}" if binding else "")
            nodes = list(p.nodes)
            for i, item in t.ops:
                name, here = nodes[i][0], f"{where}, node {nodes[i][0]!r}"
                given = {k: _value(v, env, here) for k, v in item.attrs}
                try:
                    attrs = self.registry.get(item.name).resolve_attrs(given)
                except (InvalidArchError, UnknownOpError) as err:
                    raise type(err)(f"{here}: {err}") from None
                nodes[i] = (name, Terminal(item.name, attrs, _resolved_label(item, given)))
            args = []
            for child, node, given in zip(p.children, p.child_nodes, t.given):
                here = f"{where}, node {node!r}"
                args.append(self.binding(child, {**env, **{k: _value(v, env, here) for k, v in given}}))
            if t.ops:
                _validate_shape(nodes, list(p.edges), self.registry, where)
            out.append(_replace(p, nodes=tuple(nodes), args=tuple(args)))
        return tuple(out)

    def _reach_bindings(self) -> dict[str, list[Binding]]:
        """Every (symbol, binding) reachable from the start, breadth first; each is resolved (and so validated)."""
        contexts: dict[str, list[Binding]] = {s: [] for s in self.symbols}
        seen: set[tuple[str, Binding]] = set()
        queue: deque[tuple[str, Binding]] = deque([(self.start, ())])
        limit = MAX_BINDINGS if self.finite else MAX_RECURSIVE_BINDINGS
        while queue:
            symbol, binding = queue.popleft()
            if (symbol, binding) in seen:
                continue
            seen.add((symbol, binding))
            contexts[symbol].append(binding)
            if len(seen) > limit:
                raise ParameterError(f"parameter bindings do not close: over {limit:,} (symbol, binding) pairs are reachable "
                                     f"(e.g. {symbol!r} with {_show(binding)}); a recursive rule rescales a parameter "
                                     "(param(..., scale=...)) on every level")
            for p in self.productions(symbol, binding):
                queue.extend(zip(p.children, p.args))
        return contexts

    def _check_parameters(self) -> None:
        """Bindings name parameters their symbol reads, values of one parameter share a type, every read is bound."""
        seen_type: dict[str, tuple[type, Any, str]] = {}

        def typed(name: str, value: Any, where: str) -> None:
            try:
                hash(value)
            except TypeError:
                raise ParameterTypeError(f"{where}: parameter {name!r} is bound to the unhashable {value!r}; "
                                         "use a tuple or another hashable value") from None
            first = seen_type.setdefault(name, (type(value), value, where))
            if first[0] is not type(value):
                raise ParameterTypeError(f"{where}: parameter {name!r} is {value!r} ({type(value).__name__}), but "
                                         f"{first[1]!r} ({first[0].__name__}) in {first[2]}: values of a parameter must "
                                         "share one type")

        for templates in self._templates.values():
            for t in templates:
                p = t.production
                for child, node, given in zip(p.children, p.child_nodes, t.given):
                    here = f"{t.where}, node {node!r}"
                    for k, v in given:
                        if k not in self._free[child]:
                            known = sorted(self._free[child])
                            raise UnknownParameterError(
                                f"{here}: binds parameter {k!r} of {child!r}, but nothing {child!r} derives reads it "
                                f"(its parameters: {known if known else 'none'})")
                        if not isinstance(v, Param):
                            typed(k, v, here)
                for node, ref in t.refs():
                    if not ref.required:
                        typed(ref.name, ref.default, f"{t.where}, node {node!r} (default of {ref})")
        need = _free_params(self._templates, lambda t: {p.name for _, p in t.refs() if p.required})
        if need[self.start]:
            self._raise_unbound(min(need[self.start]), need)

    def _raise_unbound(self, name: str, need: Mapping[str, frozenset[str]]) -> None:
        """Finds (breadth first) the rule that reads ``name`` with no ancestor binding it, and names it."""
        parent: dict[str, str | None] = {self.start: None}
        queue = deque([self.start])
        while queue:
            symbol = queue.popleft()
            for t in self._templates[symbol]:
                hit = next((node for node, ref in t.refs() if ref.name == name and ref.required), None)
                if hit is not None:
                    path, s = [], symbol
                    while s is not None:
                        path.append(s)
                        s = parent[s]
                    raise UnboundParameterError(
                        f"{t.where}, node {hit!r}: reads parameter {name!r}, but no ancestor binds it on the way from the start "
                        f"({' -> '.join(reversed(path))}); bind it above with nt({symbol!r}, {name}=...) or give "
                        f"param({name!r}, default=...)")
                for child, given in zip(t.production.children, t.given):
                    if name in need[child] and name not in dict(given) and child not in parent:
                        parent[child] = symbol
                        queue.append(child)
        raise AssertionError(f"internal error: unbound parameter {name!r} not found")  # pragma: no cover (need is a least fixpoint)

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


def _flatten(alt: Alternative) -> list[str | Op | NonTerminal | Rhs]:
    if isinstance(alt, (str, Op, NonTerminal, Rhs)):
        return [alt]
    return [x for a in alt for x in _flatten(a)]


def _as_rhs(alt: str | Op | NonTerminal | Rhs) -> Rhs:
    return alt if isinstance(alt, Rhs) else seq(alt)


def _expand_choices(rhs: Rhs) -> list[Rhs]:
    """One RHS per combination of :class:`Choice` values (in op attributes and in bindings, node order); given
    labels (of the RHS, of ops) get ``[k=v]`` appended."""
    slots = [(i, k, v.values) for i, (_, item) in enumerate(rhs.nodes) if isinstance(item, (Op, NonTerminal))
             for k, v in (item.attrs if isinstance(item, Op) else item.bindings) if isinstance(v, Choice)]
    if not slots:
        return [rhs]
    out = []
    for values in itertools.product(*(vals for _, _, vals in slots)):
        nodes = list(rhs.nodes)
        for (i, key, _), value in zip(slots, values):
            name, item = nodes[i]
            if isinstance(item, NonTerminal):
                nodes[i] = (name, NonTerminal(item.symbol, tuple((k, value if k == key else v) for k, v in item.bindings)))
                continue
            label = None if item.label is None else f"{item.label}[{key}={value}]"
            nodes[i] = (name, Op(item.name, tuple((k, value if k == key else v) for k, v in item.attrs), label))
        picked = ",".join(f"{k}={v}" for (_, k, _), v in zip(slots, values))
        out.append(Rhs(tuple(nodes), rhs.edges, None if rhs.label is None else f"{rhs.label}[{picked}]"))
    return out


def _template(lhs: str, index: int, rhs: Rhs, rules: Mapping[str, Any], registry: Registry[OpSpec]) -> _Template:
    label = rhs.label if rhs.label is not None else " ".join(item_text(item) for _, item in rhs.nodes)
    where = f"rule {lhs!r} alternative {index} ({label})"
    nodes: list[tuple[str, Terminal | str]] = []
    ops: list[tuple[int, Op]] = []
    given: list[Binding] = []
    for name, item in rhs.nodes:
        if name in (IN, OUT) or not _NAME.match(name):
            raise GrammarError(f"{where}: node name {name!r} is reserved or not letters, digits, '_', '-'")
        here = f"{where}, node {name!r}"
        if isinstance(item, Op) and _reads_params(item.attrs, here):
            if item.name in ("input", "output"):
                raise GrammarError(f"{here}: 'input' and 'output' are the interface nodes 'in' and 'out', not ops to place")
            try:
                registry.get(item.name)
            except UnknownOpError as err:
                raise UnknownOpError(f"{here}: {err}") from None
            ops.append((len(nodes), item))  # resolved per binding (Grammar._instantiate)
            nodes.append((name, Terminal(item.name, MappingProxyType(dict(item.attrs)), item.text())))
            continue
        nodes.append((name, _resolve(item, rules, registry, here)))
        if isinstance(item, NonTerminal):
            _reads_params(item.bindings, here)
            given.append(item.bindings)
        elif is_nonterminal(item):
            given.append(())
    ports: dict[str, int] = {}
    edges = []
    for src, dst in rhs.edges:
        if (src, dst) == (IN, OUT):
            raise GrammarError(f"{where}: a direct 'in' -> 'out' edge is not allowed; put an 'identity' op on it")
        edges.append((src, dst, ports.get(dst, 0)))
        ports[dst] = ports.get(dst, 0) + 1
    if not ops:
        _validate_shape(nodes, edges, registry, where)
    production = Production(lhs, index, label, tuple(nodes), tuple(edges), tuple(given))
    return _Template(where, production, tuple(ops), tuple(given))


def _reads_params(values: tuple[tuple[str, Any], ...], where: str) -> bool:
    """Whether any value is a :class:`Param`; one nested in a container is refused (no expression language)."""
    for key, value in values:
        if isinstance(value, (tuple, list, dict, set, frozenset)) and any(
                isinstance(v, Param) for v in (value.values() if isinstance(value, dict) else value)):
            raise GrammarError(f"{where}: {key}={value!r}: a param() must be a whole value, not inside a container")
    return any(isinstance(value, Param) for _, value in values)


def _value(value: Any, env: Mapping[str, Any], where: str) -> Any:
    """A value as written, resolved under ``env`` when it is a :class:`Param`."""
    if not isinstance(value, Param):
        return value
    try:
        return value.resolve(env)
    except KeyError:
        bound = _show(tuple(env.items())) or "none"
        raise UnboundParameterError(f"{where}: parameter {value.name!r} is not bound (bound: {bound})") from None
    except TypeError as err:
        raise ParameterTypeError(f"{where}: {err}") from None


def _resolved_label(item: Op, given: Mapping[str, Any]) -> str:
    """An op's label with its param() attributes resolved: ``label[k=v]``, or ``name(k=v, ...)`` with the values."""
    if item.label is None:
        return Op(item.name, tuple(sorted(given.items()))).text()
    read = [k for k, v in item.attrs if isinstance(v, Param)]
    return f"{item.label}[{','.join(f'{k}={given[k]}' for k in read)}]"


def _show(binding: Binding) -> str:
    return ", ".join(f"{k}={reprlib.repr(v)}" for k, v in binding)


def _free_params(templates: Mapping[str, tuple[_Template, ...]], reads) -> dict[str, frozenset[str]]:
    """Least fixpoint of ``free(s) = reads of s's productions | (free(child) - what the production binds for it)``."""
    free: dict[str, frozenset[str]] = {s: frozenset() for s in templates}
    changed = True
    while changed:
        changed = False
        for s, ts in templates.items():
            new = set(free[s])
            for t in ts:
                new |= reads(t)
                for child, given in zip(t.production.children, t.given):
                    new |= free[child] - {k for k, _ in given}
            if new != free[s]:
                free[s], changed = frozenset(new), True
    return free


def _resolve(item: Item, rules: Mapping[str, Any], registry: Registry[OpSpec], where: str) -> Terminal | str:
    if is_nonterminal(item):
        symbol = symbol_of(item)
        if symbol not in rules:
            hint = f"; {symbol!r} is an op, write op({symbol!r})" if symbol in registry else ""
            raise UndefinedSymbolError(f"{where}: non-terminal {symbol!r} has no rule (rules: {sorted(rules)}){hint}")
        return symbol
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
