"""The immutable architecture DAG at the heart of nasir.

An :class:`Arch` is a small directed acyclic graph of op nodes (ops from the op registry),
with tensors on edges. Edges into a node are ordered by ``port`` (the op's input position).
Op-on-edge cells (NAS-Bench-201, DARTS) are normalised by their spaces into this op-on-node form,
so everything downstream (hashing, encodings, lowering) sees one kind of graph.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from types import MappingProxyType
from typing import Any

import networkx as nx

from nasir.errors import (
    ArityError,
    CycleError,
    DisconnectedNodeError,
    InvalidArchError,
    SchemaError,
)
from nasir.ir.ops import OPS, OpSpec
from nasir.registry import Registry

__all__ = ["Arch", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_NODE_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")

NodeSpec = tuple[str, Mapping[str, Any]] | str
EdgeSpec = tuple[str, str] | tuple[str, str, int]


class Arch:
    """An immutable, validated architecture DAG.

    Args:
        nodes: node id -> op name, or -> ``(op name, attributes)``. Ids are strings of letters,
            digits, ``_``, ``.``, ``-`` (they become parts of weight keys such as ``e1/conv.weight``).
        edges: ``(src, dst)`` or ``(src, dst, port)``. Without a port, edges into one node are
            numbered in the order given.
        registry: the op registry to validate against.

    Raises:
        UnknownOpError, AttributeValueError, CycleError, ArityError, DisconnectedNodeError,
        InvalidArchError: each naming the offending node or edge.
    """

    __slots__ = ("_graph", "_order", "_hash", "_registry")

    def __init__(self, nodes: Mapping[str, NodeSpec], edges: Iterable[EdgeSpec], *, registry: Registry[OpSpec] = OPS) -> None:
        self._registry = registry
        self._graph = _build_graph(nodes, edges, registry)
        self._order: tuple[str, ...] = tuple(nx.lexicographical_topological_sort(self._graph))
        self._hash: str | None = None
        _check_connectivity(self._graph, self.input_nodes, self.output_node)

    # ------------------------------------------------------------------ read access
    @property
    def nodes(self) -> tuple[str, ...]:
        """Node ids in a deterministic topological order."""
        return self._order

    @property
    def registry(self) -> Registry[OpSpec]:
        """The op registry the architecture was validated against."""
        return self._registry

    def op(self, node: str) -> str:
        """The op name of ``node``."""
        return self._graph.nodes[node]["op"]

    def attrs(self, node: str) -> Mapping[str, Any]:
        """The resolved (defaults filled) read-only attributes of ``node``."""
        return self._graph.nodes[node]["attrs"]

    def spec(self, node: str) -> OpSpec:
        """The registry entry of the op at ``node``."""
        return self._registry.get(self.op(node))

    def inputs(self, node: str) -> tuple[str, ...]:
        """Predecessors of ``node`` ordered by port."""
        preds = self._graph.pred[node]
        return tuple(sorted(preds, key=lambda p: preds[p]["port"]))

    def successors(self, node: str) -> tuple[str, ...]:
        """Nodes that take ``node`` as an input, sorted by id."""
        return tuple(sorted(self._graph.succ[node]))

    @property
    def edges(self) -> tuple[tuple[str, str, int], ...]:
        """All edges as ``(src, dst, port)``, sorted."""
        return tuple(sorted((u, v, d["port"]) for u, v, d in self._graph.edges(data=True)))

    @property
    def input_nodes(self) -> tuple[str, ...]:
        """Input nodes ordered by their ``index`` attribute."""
        ins = [n for n in self._graph if self.op(n) == "input"]
        return tuple(sorted(ins, key=lambda n: self.attrs(n)["index"]))

    @property
    def output_node(self) -> str:
        """The single ``output`` node (validation guarantees exactly one)."""
        return next(n for n in self._graph if self.op(n) == "output")

    def __len__(self) -> int:
        return self._graph.number_of_nodes()

    def __copy__(self) -> Arch:
        return self  # immutable: a copy is the object itself

    def __deepcopy__(self, memo: dict) -> Arch:
        return self

    def __contains__(self, node: object) -> bool:
        return node in self._graph

    def to_networkx(self) -> nx.DiGraph:
        """A mutable copy of the underlying graph (node attrs ``op``, ``attrs``; edge attr ``port``)."""
        g = self._graph.copy()
        for n in g:
            g.nodes[n]["attrs"] = dict(g.nodes[n]["attrs"])
        return g

    # ------------------------------------------------------------------ identity
    def canonical_hash(self) -> str:
        """A versioned hash equal for isomorphic graphs (same ops, attrs, ports) and only for them."""
        if self._hash is None:
            from nasir.ir.hashing import canonical_hash

            self._hash = canonical_hash(self)
        return self._hash

    def __hash__(self) -> int:
        return hash(self.canonical_hash())

    def __eq__(self, other: object) -> bool:
        """Isomorphism, not identity of node names: relabelled copies compare equal."""
        if not isinstance(other, Arch):
            return NotImplemented
        return self.canonical_hash() == other.canonical_hash()

    def same_labels(self, other: Arch) -> bool:
        """Strict equality: same node ids, ops, attributes and edges."""
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        ops = ", ".join(f"{n}:{self.op(n)}" for n in self._order)
        return f"Arch({ops})"

    # ------------------------------------------------------------------ edits (return new Archs)
    def relabel(self, mapping: Mapping[str, str]) -> Arch:
        """A copy with node ids renamed by ``mapping`` (ids not in it keep their name)."""
        d = self.to_dict()
        rename = lambda n: mapping.get(n, n)  # noqa: E731
        nodes = {rename(n["id"]): (n["op"], n["attrs"]) for n in d["nodes"]}
        edges = [(rename(e["src"]), rename(e["dst"]), e["port"]) for e in d["edges"]]
        return Arch(nodes, edges, registry=self._registry)

    def with_node(self, node: str, op: str, attrs: Mapping[str, Any] | None = None) -> Arch:
        """A copy where ``node`` carries another op (same edges); validated like any Arch."""
        d = self.to_dict()
        nodes = {n["id"]: (n["op"], n["attrs"]) for n in d["nodes"]}
        if node not in nodes:
            raise InvalidArchError(f"no node {node!r} in the architecture")
        nodes[node] = (op, dict(attrs or {}))
        return Arch(nodes, [(e["src"], e["dst"], e["port"]) for e in d["edges"]], registry=self._registry)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form with ``schema_version``; nodes in topological order."""
        return {
            "schema_version": SCHEMA_VERSION,
            "nodes": [{"id": n, "op": self.op(n), "attrs": dict(self.attrs(n))} for n in self._order],
            "edges": [{"src": u, "dst": v, "port": p} for u, v, p in self.edges],
        }

    def to_json(self) -> str:
        """The :meth:`to_dict` form as JSON with sorted keys: what studies store and executors send to workers."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, registry: Registry[OpSpec] = OPS) -> Arch:
        """Inverse of :meth:`to_dict`; raises :class:`SchemaError` for malformed data (missing fields,
        repeated node ids) and the :class:`Arch` errors for a well-formed but invalid architecture."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"an architecture must be a JSON object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaError(f"unsupported architecture schema_version {version!r} (this nasir reads {SCHEMA_VERSION})")
        try:
            pairs = [(n["id"], (n["op"], n.get("attrs", {}))) for n in data["nodes"]]
            edges = [(e["src"], e["dst"], e["port"]) for e in data["edges"]]
        except KeyError as err:
            raise SchemaError(f"architecture JSON lacks field {err}; expected nodes[id, op, attrs] and edges[src, dst, port]") from None
        except TypeError:
            raise SchemaError("architecture JSON nodes and edges must be lists of objects: nodes[{id, op, attrs}] and "
                              "edges[{src, dst, port}]") from None
        if not all(isinstance(n, str) for n, _ in pairs):
            raise SchemaError(f"architecture JSON node ids must be strings, got {[n for n, _ in pairs]!r}")
        repeated = sorted(n for n, count in Counter(n for n, _ in pairs).items() if count > 1)
        if repeated:
            raise SchemaError(f"architecture JSON lists node id(s) {repeated} more than once")
        nodes = dict(pairs)
        return cls(nodes, edges, registry=registry)

    @classmethod
    def from_json(cls, text: str, *, registry: Registry[OpSpec] = OPS) -> Arch:
        """Inverse of :meth:`to_json`; text that is not JSON raises :class:`SchemaError` too."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError(f"architecture JSON is not valid JSON: {err}") from None
        return cls.from_dict(data, registry=registry)


# ---------------------------------------------------------------------- validation helpers


def _build_graph(nodes: Mapping[str, NodeSpec], edges: Iterable[EdgeSpec], registry: Registry[OpSpec]) -> nx.DiGraph:
    if not isinstance(nodes, Mapping):
        raise InvalidArchError(f"nodes must be a dict of node id -> op spec, got a {type(nodes).__name__}")
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Iterable):
        raise InvalidArchError(f"edges must be a list of (src, dst) or (src, dst, port), got a {type(edges).__name__}")
    g = nx.DiGraph()
    for node, spec in nodes.items():
        if not isinstance(node, str) or not _NODE_ID.match(node):
            raise InvalidArchError(f"node id {node!r} must be a non-empty string of letters, digits, '_', '.', '-'")
        op_name, attrs = _split_spec(node, spec)
        op = registry.get(op_name)
        try:
            resolved = op.resolve_attrs(attrs)
        except InvalidArchError as err:
            raise type(err)(f"node {node!r}: {err}") from None
        g.add_node(node, op=op_name, attrs=MappingProxyType(dict(resolved)))
    _add_edges(g, edges)
    _check_acyclic(g)
    _check_arity_and_ports(g, registry)
    return g


def _split_spec(node: str, spec: Any) -> tuple[str, Mapping[str, Any]]:
    """``(op name, attributes)`` of one node spec, checked before the registry or an attribute sees it."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], (Mapping, type(None))):
        return spec[0], spec[1] or {}
    raise InvalidArchError(f"node {node!r}: spec {spec!r} must be an op name or (op name, attributes dict)")


def _add_edges(g: nx.DiGraph, edges: Iterable[EdgeSpec]) -> None:
    next_port: dict[str, int] = {}
    for edge in edges:
        if isinstance(edge, (str, bytes)) or not isinstance(edge, Sequence) or len(edge) not in (2, 3):
            raise InvalidArchError(f"edge {edge!r} must be (src, dst) or (src, dst, port)")
        src, dst = edge[0], edge[1]
        for end in (src, dst):
            if not isinstance(end, str) or end not in g:
                raise InvalidArchError(f"edge {src!r} -> {dst!r} refers to unknown node {end!r}")
        if g.has_edge(src, dst):
            raise InvalidArchError(f"duplicate edge {src!r} -> {dst!r}; use an identity node for a second connection")
        port = edge[2] if len(edge) == 3 else next_port.get(dst, 0)
        if isinstance(port, bool) or not isinstance(port, Integral):
            raise InvalidArchError(f"edge {src!r} -> {dst!r}: port {port!r} must be an int")
        port = int(port)
        next_port[dst] = max(next_port.get(dst, 0), port + 1)
        g.add_edge(src, dst, port=port)


def _check_acyclic(g: nx.DiGraph) -> None:
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise CycleError(f"architecture has a cycle: {path}")


def _check_arity_and_ports(g: nx.DiGraph, registry: Registry[OpSpec]) -> None:
    outputs = [n for n in g if g.nodes[n]["op"] == "output"]
    if len(outputs) != 1:
        raise InvalidArchError(f"an architecture needs exactly one 'output' node, found {len(outputs)}: {sorted(outputs)}")
    indices = sorted(g.nodes[n]["attrs"]["index"] for n in g if g.nodes[n]["op"] == "input")
    if indices != list(range(len(indices))) or not indices:
        raise InvalidArchError(f"input nodes must have indices 0..k-1 exactly once, found {indices}")
    for n in g:
        spec = registry.get(g.nodes[n]["op"])
        k = g.in_degree(n)
        if k < spec.min_inputs or (spec.max_inputs is not None and k > spec.max_inputs):
            raise ArityError(f"node {n!r} ({spec.name}) expects {spec.arity_text()}, got {k}")
        ports = sorted(d["port"] for _, _, d in g.in_edges(n, data=True))
        if ports != list(range(k)):
            raise InvalidArchError(f"node {n!r} has input ports {ports}; expected 0..{k - 1} each once")
        if spec.name == "output" and g.out_degree(n):
            raise InvalidArchError(f"output node {n!r} must not feed other nodes")


def _check_connectivity(g: nx.DiGraph, inputs: tuple[str, ...], output: str) -> None:
    reach = set().union(*(nx.descendants(g, i) | {i} for i in inputs))
    unreachable = sorted(set(g) - reach)
    if unreachable:
        raise DisconnectedNodeError(f"node(s) {unreachable} cannot be reached from the input")
    dead = sorted(set(g) - nx.ancestors(g, output) - {output})
    if dead:
        raise DisconnectedNodeError(f"node(s) {dead} do not reach the output node {output!r}")
