"""The DARTS CNN space (Liu et al., ICLR 2019): a normal and a reduction cell of 4 nodes, 2 edges each.

An architecture is a :class:`~nasir.spaces.darts_genotypes.Genotype`. In the IR it is one
channel-preserving graph holding both cells side by side: cell inputs ``in0`` / ``in1`` (shared),
per cell (``normal.`` / ``reduce.`` prefixes) an op node ``e{k}`` per genotype pair ``k``, an
``add`` node ``s{i}`` per intermediate node ``i`` (its two edges in pair order) and a ``concat`` of
``s2..s5``; a final ``concat`` (port 0 normal, port 1 reduce) feeds the output. Ops appear in their
stride-1 form here; :meth:`DartsSpace.network` builds the evaluation network, where edges leaving
a reduction cell's inputs have stride 2 (``skip_connect`` becoming FactorizedReduce). Isomorphic
genotypes (a node's two pairs swapped) have one canonical hash, as ``add`` is commutative.

Sampling and mutation follow the derived-genotype rules of DARTS and NASLib: each node reads two
distinct earlier nodes; ops come from ``DartsSpace.ops`` (default: the 7 ops without ``none``, which
DARTS never derives). A mutation changes one edge's op or, half the time, one edge's input.
Encodings: ``adjacency`` 224 (per cell 14 possible edges x 8 op counts), ``categorical`` 32
(per cell and node, the two (input, op index) pairs sorted).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nasir import encodings
from nasir.errors import ArchStringError, InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.ir import Arch, Network
from nasir.rng import Seed, as_rng
from nasir.space import SPACES
from nasir.spaces import _darts_skeleton
from nasir.spaces.darts_genotypes import CONCAT, PRIMITIVES, PUBLISHED, Genotype, format_genotype, make_genotype, parse_genotype

__all__ = ["DartsSpace", "CELLS", "EDGES", "space"]

CELLS = ("normal", "reduce")
EDGES = tuple((j, i) for i in range(2, 6) for j in range(i))  # the 14 possible edges of a cell, node-major
_NODES = range(2, 6)
_GRAPH_SIZE = 2 + len(CELLS) * (8 + len(_NODES) + 1) + 2  # inputs, per cell edges/sums/concat, final concat and output


def _template(name: str) -> tuple[str, dict[str, Any]]:
    edge = _darts_skeleton.EDGE_OPS[name]
    return edge.op, dict(edge.attrs)


def _state_id(cell: str, index: int) -> str:
    return f"in{index}" if index < 2 else f"{cell}.s{index}"


class DartsSpace:
    """The DARTS space; see the module docstring for the IR form, moves and encodings.

    Args:
        ops: ops that sampling and mutation draw from (parsing accepts all 8 DARTS primitives).
    """

    name = "darts"
    encodings = ("adjacency", "categorical")

    def __init__(self, ops: Sequence[str] = PRIMITIVES[1:]) -> None:
        unknown = [op for op in ops if op not in PRIMITIVES]
        if unknown or len(set(ops)) < 2:
            raise SpaceConfigError(f"DARTS ops must be at least two of {PRIMITIVES}, got {list(ops)}")
        self.ops = tuple(ops)

    # ------------------------------------------------------------------ genotype <-> Arch
    def from_genotype(self, genotype: Genotype) -> Arch:
        """The IR graph of ``genotype`` (both cells, stride-1 ops)."""
        nodes: dict[str, Any] = {"in0": ("input", {"index": 0}), "in1": ("input", {"index": 1}), "cat": "concat", "out": "output"}
        edges: list[tuple[str, str]] = []
        for cell in CELLS:
            for k, (name, src) in enumerate(getattr(genotype, cell)):
                node = f"{cell}.e{k}"
                nodes[node] = _template(name)
                edges.append((_state_id(cell, src), node))
            for i in _NODES:
                nodes[_state_id(cell, i)] = "add"
                edges += [(f"{cell}.e{2 * i - 4}", _state_id(cell, i)), (f"{cell}.e{2 * i - 3}", _state_id(cell, i))]
            nodes[f"{cell}.cat"] = "concat"
            edges += [(_state_id(cell, i), f"{cell}.cat") for i in getattr(genotype, f"{cell}_concat")]
        edges += [("normal.cat", "cat"), ("reduce.cat", "cat"), ("cat", "out")]
        return Arch(nodes, edges)

    def to_genotype(self, arch: Arch) -> Genotype:
        """Reads the genotype back from the graph's structure (node ids are not used)."""
        try:
            if len(arch) != _GRAPH_SIZE:
                raise InvalidArchError(f"it has {len(arch)} nodes, not {_GRAPH_SIZE}")
            (top,) = arch.inputs(arch.output_node)
            cells = [self._cell_pairs(arch, cat) for cat in arch.inputs(top)]
        except (ValueError, KeyError) as err:
            raise InvalidArchError(f"architecture is not a DARTS genotype graph: {err}") from None
        if len(cells) != 2 or arch.op(top) != "concat":
            raise InvalidArchError("architecture is not a DARTS genotype graph (output must read concat(normal, reduce))")
        try:
            genotype = make_genotype(cells[0], CONCAT, cells[1], CONCAT)
        except ArchStringError as err:
            raise InvalidArchError(f"architecture is not a DARTS genotype graph: {err}") from None
        if self.from_genotype(genotype) != arch:  # same structure, but other attributes or extra wiring
            raise InvalidArchError(f"architecture is not the DARTS graph of {format_genotype(genotype)} (ops or attributes differ)")
        return genotype

    def _cell_pairs(self, arch: Arch, cat: str) -> list[tuple[str, int]]:
        states = arch.inputs(cat)
        if arch.op(cat) != "concat" or len(states) != len(CONCAT) or any(arch.op(s) != "add" for s in states):
            raise InvalidArchError(f"cell output {cat!r} must concatenate 4 add nodes")
        index = {s: CONCAT[p] for p, s in enumerate(states)}
        index.update({n: arch.attrs(n)["index"] for n in arch.input_nodes})
        pairs = []
        for state in states:
            for edge in arch.inputs(state):
                (src,) = arch.inputs(edge)
                pairs.append((self._op_name(arch, edge), index[src]))
        return pairs

    @staticmethod
    def _op_name(arch: Arch, node: str) -> str:
        for name in PRIMITIVES:
            op, attrs = _template(name)
            if arch.op(node) == op and all(arch.attrs(node).get(k) == v for k, v in attrs.items()):
                return name
        raise InvalidArchError(f"node {node!r} ({arch.op(node)}) is not a DARTS op")

    # ------------------------------------------------------------------ strings
    def parse(self, text: str) -> Arch:
        """A genotype string (``Genotype(normal=[...], ...)``) or the name of a published genotype (``DARTS_V2``)."""
        if isinstance(text, str) and text.strip() in PUBLISHED:
            return self.from_genotype(PUBLISHED[text.strip()].genotype)
        return self.from_genotype(parse_genotype(text))

    def format(self, arch: Arch) -> str:
        return format_genotype(self.to_genotype(arch))

    # ------------------------------------------------------------------ sampling and moves
    def sample(self, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        cells = []
        for _ in CELLS:
            pairs = []
            for i in _NODES:
                for src in sorted(int(s) for s in rng.choice(i, size=2, replace=False)):
                    pairs.append((self.ops[int(rng.integers(len(self.ops)))], src))
            cells.append(pairs)
        return self.from_genotype(make_genotype(cells[0], CONCAT, cells[1], CONCAT))

    def _moves(self, genotype: Genotype) -> Iterator[tuple[str, int, str, int]]:
        """Every single-edge change (cell, pair, new op, new input) keeping each node's inputs distinct."""
        for cell in CELLS:
            pairs = getattr(genotype, cell)
            for k, (op, src) in enumerate(pairs):
                yield from ((cell, k, other, src) for other in self.ops if other != op)
                sibling = pairs[k ^ 1][1]
                yield from ((cell, k, op, j) for j in range(2 + k // 2) if j not in (src, sibling))

    @staticmethod
    def _try(genotype: Genotype, move: tuple[str, int, str, int]) -> Genotype | None:
        """The genotype after ``move``, or None where it would leave a cell input unread."""
        cell, k, op, src = move
        pairs = list(getattr(genotype, cell))
        pairs[k] = (op, src)
        fields = genotype._asdict()
        fields[cell] = pairs
        try:
            return make_genotype(**fields)
        except ArchStringError:
            return None

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        """Changes one uniformly chosen edge: its op, or (probability 1/2, where possible) its input."""
        rng = as_rng(seed)
        genotype = self.to_genotype(arch)
        cell, k = CELLS[int(rng.integers(2))], int(rng.integers(8))
        src = getattr(genotype, cell)[k][1]
        moved = [self._try(genotype, m) for m in self._moves(genotype) if m[:2] == (cell, k)]
        rewires = [g for g in moved if g is not None and getattr(g, cell)[k][1] != src]
        pool = rewires if rewires and rng.random() < 0.5 else [g for g in moved if g is not None and getattr(g, cell)[k][1] == src]
        return self.from_genotype(pool[int(rng.integers(len(pool)))])

    def neighbors(self, arch: Arch) -> list[Arch]:
        """All genotypes one edge change away (distinct canonical hashes), in move order."""
        genotype = self.to_genotype(arch)
        out, seen = [], {arch.canonical_hash()}
        for moved in filter(None, (self._try(genotype, m) for m in self._moves(genotype))):
            candidate = self.from_genotype(moved)
            if candidate.canonical_hash() not in seen:
                seen.add(candidate.canonical_hash())
                out.append(candidate)
        return out

    def size(self) -> int:
        """Genotypes with distinct inputs per node, counting a node's two edges as unordered."""
        per_cell = math.prod(math.comb(i, 2) * len(self.ops) ** 2 for i in _NODES)
        return per_cell**2

    def enumerate(self) -> Iterator[Arch]:
        raise SpaceTooLargeError(f"the DARTS space holds {self.size():.3e} genotypes; sample it instead")

    # ------------------------------------------------------------------ encodings and networks
    def encode(self, arch: Arch, kind: str = "adjacency") -> np.ndarray:
        genotype = self.to_genotype(arch)
        if kind == "adjacency":
            counts = np.zeros((len(CELLS), len(EDGES), len(PRIMITIVES)), dtype=np.float32)
            for c, cell in enumerate(CELLS):
                for k, (op, src) in enumerate(getattr(genotype, cell)):
                    counts[c, EDGES.index((src, 2 + k // 2)), PRIMITIVES.index(op)] += 1
            return counts.reshape(-1)
        if kind == "categorical":
            values = []
            for cell in CELLS:
                pairs = getattr(genotype, cell)
                for k in range(0, 8, 2):
                    values += [x for src, op in sorted((s, PRIMITIVES.index(o)) for o, s in pairs[k:k + 2]) for x in (src, op)]
            return encodings.categorical(values)
        raise SpaceConfigError(f"unknown DARTS encoding {kind!r} (known: {self.encodings})")

    def network(self, arch: Arch, **skeleton: Any) -> Network:
        """The evaluation network; see :func:`nasir.spaces._darts_skeleton.network` for ``dataset``, ``channels``...."""
        return _darts_skeleton.network(self.to_genotype(arch), **skeleton)


space = DartsSpace()
SPACES.register(space.name, space)
