"""NAS-Bench-201 (Dong & Yang, ICLR 2020): the 15,625-cell op-on-edge space.

A cell has 4 nodes; every edge ``j -> i`` (j < i) carries one of five ops. In the IR each edge
becomes an op node ``e{j}_{i}`` and each cell node ``i >= 1`` an ``add`` node ``n{i}`` summing
its incoming edges in order ``j = 0..i-1`` (as the official ``InferCell`` does); ``none`` is a
``zero`` node, so cut-off branches keep their (dead) weights exactly like the official network.

String format (official): ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.
Indices follow the official benchmark order (``index`` column of the shipped table).
Encodings (lengths): ``adjacency`` 30 (one-hot op per edge, edges in NASLib order),
``categorical`` 6, ``path`` 84 (paths of 1-3 non-``none`` ops over 4 ops), ``path_trunc`` first 20.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import numpy as np

from nasir import encodings
from nasir.errors import ArchIndexError, ArchStringError, InvalidArchError, SpaceConfigError
from nasir.ir import Arch, Network
from nasir.rng import Seed, as_rng
from nasir.space import SPACES
from nasir.spaces import _nb201_index, _nb201_skeleton

__all__ = ["NB201Space", "OPS", "EDGES", "NUM_ARCHS", "space"]

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # order of the arch string
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))  # order of NASLib encodings
NUM_ARCHS = len(OPS) ** len(EDGES)

# The only place NB201 op names meet IR ops (the space boundary).
IR_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "none": ("zero", {}),
    "skip_connect": ("identity", {}),
    "nor_conv_1x1": ("relu_conv_bn", {"kernel": 1, "padding": 0}),
    "nor_conv_3x3": ("relu_conv_bn", {"kernel": 3, "padding": 1}),
    "avg_pool_3x3": ("avg_pool", {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False}),
}
_PATH_VOCAB = OPS[1:]


def _edge_node(j: int, i: int) -> str:
    return f"e{j}_{i}"


def _node_id(i: int) -> str:
    return "in" if i == 0 else f"n{i}"


class NB201Space:
    """The NAS-Bench-201 cell space; see the module docstring for formats and encodings."""

    name = "nb201"
    encodings = ("adjacency", "categorical", "path", "path_trunc")

    # ------------------------------------------------------------------ ops <-> Arch
    def from_ops(self, ops: tuple[str, ...] | list[str]) -> Arch:
        """The cell whose edges (in arch-string order) carry ``ops``."""
        if len(ops) != len(EDGES) or any(op not in OPS for op in ops):
            raise ArchStringError(f"an NB201 cell needs 6 ops from {OPS}, got {list(ops)}")
        nodes: dict[str, Any] = {"in": "input", "out": "output"}
        edges: list[tuple[str, str]] = []
        for (j, i), op in zip(EDGES, ops):
            nodes[_edge_node(j, i)] = IR_OPS[op]
            edges.append((_node_id(j), _edge_node(j, i)))
        for i in (1, 2, 3):
            nodes[_node_id(i)] = "add"
            edges.extend((_edge_node(j, i), _node_id(i)) for j in range(i))
        edges.append(("n3", "out"))
        return Arch(nodes, edges)

    def supernet(self, ops_per_edge: Sequence[Sequence[str]]) -> Arch:
        """A one-shot supernet cell: every edge carries the mean of its remaining ops.

        Edge ``(j, i)`` with ops ``o_1..o_k`` computes ``sum_m o_m(x_j) / k`` (one ``scale`` node when
        ``k > 1``), the uniform softmax mixing of the DARTS-style search cell that TE-NAS prunes
        (Chen et al., ICLR 2021; pruned ops get alpha = -inf). Node ids name edge and op (``e0_1_nor_conv_3x3``),
        so a pruned supernet shares weight keys with the one it came from; with one op per edge it equals
        (is isomorphic to) :meth:`from_ops`.
        """
        if len(ops_per_edge) != len(EDGES) or any(not ops or len(set(ops)) != len(ops) or set(ops) - set(OPS) for ops in ops_per_edge):
            raise ArchStringError(f"a supernet needs 6 non-empty lists of distinct ops from {OPS}, got {[list(o) for o in ops_per_edge]}")
        nodes: dict[str, Any] = {"in": "input", "out": "output", **{_node_id(i): "add" for i in (1, 2, 3)}}
        edges: list[tuple[str, str]] = [("n3", "out")]
        for (j, i), ops in zip(EDGES, ops_per_edge):
            ends = []
            for op in ops:
                name = f"{_edge_node(j, i)}_{op}"
                nodes[name] = IR_OPS[op]
                edges.append((_node_id(j), name))
                ends.append(name)
            if len(ops) > 1:
                mix, scale = f"{_edge_node(j, i)}_sum", f"{_edge_node(j, i)}_mean"
                nodes[mix], nodes[scale] = "add", ("scale", {"factor": 1.0 / len(ops)})
                edges += [(e, mix) for e in ends] + [(mix, scale)]
                ends = [scale]
            edges.append((ends[0], _node_id(i)))
        return Arch(nodes, edges)

    def to_ops(self, arch: Arch) -> tuple[str, ...]:
        """Edge ops in arch-string order; works on relabelled cells too (reads structure, not ids)."""
        by_edge: dict[tuple[int, int], str] = {}
        for node in arch.nodes:
            if arch.op(node) != "add":
                continue
            i = len(arch.inputs(node))
            for edge_node in arch.inputs(node):
                (src,) = arch.inputs(edge_node) or ("?",)
                j = 0 if arch.op(src) == "input" else len(arch.inputs(src))
                by_edge[(j, i)] = _op_name(arch, edge_node)
        if sorted(by_edge) != sorted(EDGES) or len(arch) != 11:
            raise InvalidArchError("architecture is not a NAS-Bench-201 cell (4 nodes, 6 op edges)")
        return tuple(by_edge[e] for e in EDGES)

    # ------------------------------------------------------------------ strings and indices
    def parse(self, text: str) -> Arch:
        return self.from_ops(parse_ops(text))

    def format(self, arch: Arch) -> str:
        ops = self.to_ops(arch)
        parts = ["|" + "|".join(f"{ops[k]}~{j}" for k, (j, i) in enumerate(EDGES) if i == node) + "|" for node in (1, 2, 3)]
        return "+".join(parts)

    def from_index(self, index: int) -> Arch:
        """The cell at the official benchmark index."""
        strings = _nb201_index.arch_strings()
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(strings):
            raise ArchIndexError(f"NB201 index must be an int in 0..{len(strings) - 1}, got {index!r}")
        return self.parse(strings[int(index)])

    def index(self, arch: Arch | str) -> int:
        """The official benchmark index of a cell (or of an arch string)."""
        text = arch if isinstance(arch, str) else self.format(arch)
        return _nb201_index.index_of(self.format(self.parse(text)))

    # ------------------------------------------------------------------ sampling and moves
    def sample(self, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        return self.from_ops(tuple(OPS[k] for k in rng.integers(len(OPS), size=len(EDGES))))

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        """Changes the op of one uniformly chosen edge to a different op (REA / NASLib mutation)."""
        rng = as_rng(seed)
        ops = list(self.to_ops(arch))
        edge = int(rng.integers(len(EDGES)))
        choices = [op for op in OPS if op != ops[edge]]
        ops[edge] = choices[int(rng.integers(len(choices)))]
        return self.from_ops(tuple(ops))

    def crossover(self, a: Arch, b: Arch, seed: Seed = None) -> tuple[Arch, Arch]:
        """Uniform crossover of the six edge ops (Syswerda, ICGA 1989): each edge of the first child
        takes ``a``'s op or ``b``'s with probability 1/2, the second child takes the other parent's op
        on every edge. Both children come back (as ``GrammarSpace.crossover``)."""
        rng = as_rng(seed)
        x, y = self.to_ops(a), self.to_ops(b)
        from_a = rng.random(len(EDGES)) < 0.5
        first = tuple(p if keep else q for p, q, keep in zip(x, y, from_a))
        second = tuple(q if keep else p for p, q, keep in zip(x, y, from_a))
        return self.from_ops(first), self.from_ops(second)

    def neighbors(self, arch: Arch) -> list[Arch]:
        """The 24 cells that differ in exactly one edge, edge-major then op order."""
        ops = self.to_ops(arch)
        return [self.from_ops(ops[:e] + (op,) + ops[e + 1 :]) for e in range(len(EDGES)) for op in OPS if op != ops[e]]

    def size(self) -> int:
        return NUM_ARCHS

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 cells in official index order."""
        return (self.parse(s) for s in _nb201_index.arch_strings())

    def enumerate_ops(self) -> Iterator[tuple[str, ...]]:
        """All op tuples in product order (cheap; no Arch construction)."""
        return itertools.product(OPS, repeat=len(EDGES))

    # ------------------------------------------------------------------ encodings and identity
    def encode(self, arch: Arch, kind: str = "adjacency") -> np.ndarray:
        ops = self.to_ops(arch)
        if kind == "adjacency":
            return encodings.onehot([OPS.index(ops[EDGES.index(e)]) for e in NASLIB_EDGES], len(OPS))
        if kind == "categorical":
            return encodings.categorical([OPS.index(op) for op in ops])
        if kind in ("path", "path_trunc"):
            label = lambda n: _path_label(arch, n)  # noqa: E731
            return encodings.path_encoding(arch, label, _PATH_VOCAB, range(1, 4), truncate=20 if kind == "path_trunc" else None)
        raise SpaceConfigError(f"unknown NB201 encoding {kind!r} (known: {self.encodings})")

    def unique_key(self, arch: Arch) -> str:
        """Canonical hash of the cell's computation, matching NB201's official isomorphism key.

        The cell is unfolded into an expression tree in which ``skip_connect`` is the identity,
        ``none`` (or an op applied to a lone zero) is a zero term, and sums are flattened through
        skips; the tree is rebuilt as an Arch and hashed with the IR's canonical hash.
        """
        from nasir.spaces._nb201_unique import unfolded_arch

        return unfolded_arch(self.to_ops(arch)).canonical_hash()

    def network(self, arch: Arch, **skeleton: Any) -> Network:
        """The official TinyNetwork around ``arch``; see :func:`_nb201_skeleton.tiny_network`."""
        return _nb201_skeleton.tiny_network(arch, **skeleton)


def _op_name(arch: Arch, node: str) -> str:
    for name, (ir_op, attrs) in IR_OPS.items():
        if arch.op(node) == ir_op and all(arch.attrs(node).get(k) == v for k, v in attrs.items()):
            return name
    raise InvalidArchError(f"node {node!r} ({arch.op(node)}) is not an NB201 op")


def _path_label(arch: Arch, node: str) -> str | None:
    op = arch.op(node)
    if op in ("input", "output", "add"):
        return None
    name = _op_name(arch, node)
    return encodings.DEAD if name == "none" else name


@cache
def _parse_cached(text: str) -> tuple[str, ...]:
    parts = text.split("+")
    if len(parts) != 3:
        raise ArchStringError(f"NB201 arch string must have 3 '+'-separated nodes, got {len(parts)} in {text!r}")
    ops: dict[tuple[int, int], str] = {}
    for i, part in enumerate(parts, start=1):
        if not (part.startswith("|") and part.endswith("|")):
            raise ArchStringError(f"node {i} of {text!r} must be wrapped in '|': {part!r}")
        items = part[1:-1].split("|")
        if len(items) != i:
            raise ArchStringError(f"node {i} of {text!r} needs {i} incoming edge(s), got {len(items)}")
        for j, item in enumerate(items):
            op, sep, src = item.partition("~")
            if not sep or src != str(j):
                raise ArchStringError(f"edge {item!r} into node {i} must read 'op~{j}'")
            if op not in OPS:
                raise ArchStringError(f"unknown NB201 op {op!r} in {text!r} (known: {', '.join(OPS)})")
            ops[(j, i)] = op
    return tuple(ops[e] for e in EDGES)


def parse_ops(text: str) -> tuple[str, ...]:
    """Edge ops of an official arch string, validating it."""
    if not isinstance(text, str):
        raise ArchStringError(f"NB201 arch string must be a str, got {type(text).__name__}")
    return _parse_cached(text.strip())


space = NB201Space()
SPACES.register(space.name, space)
