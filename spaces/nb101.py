"""NAS-Bench-101 (Ying et al., ICML 2019) in the IR: cells, the official network, encodings.

The cell itself (matrix + ops, pruning, the official spec hash, sampling and mutation) lives in
:mod:`nasir.spaces.nb101_spec`; this module turns a spec into IR graphs exactly as the official
``model_builder.build_module`` wires it:

* vertex ``t`` sums its inputs: earlier vertices truncated to ``channels[t]`` (``channel_slice``)
  in vertex order, then a 1x1 Conv-BN-ReLU projection of the cell input if it feeds ``t``;
* the output concatenates the vertices feeding it (vertex order) and adds a projection of the
  input when the input feeds the output directly;
* per-vertex channels follow the official splitting rule (``nb101_spec.nb101_channels``).

Node ids: ``in``, ``v{t}`` (vertex op), ``v{t}_sum``, ``v{t}_from{s}`` (truncation),
``v{t}_proj`` / ``out_proj`` (projections), ``cat``, ``out_sum``, ``out``.
The cell Arch is the block of the first stack (128 -> 128 channels); :meth:`NB101Space.network`
builds every block with its own channels. Encodings: ``adjacency`` 36 (21 upper-triangular
entries of the 7x7 matrix padded as in BANANAS, then 5 one-hot interior ops), ``path`` 364
(paths of 0-5 ops over 3 ops: 1+3+9+27+81+243), ``path_trunc`` the first 121 (paths of at most
4 ops). See :data:`ENCODING_LENGTHS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nasir import encodings
from nasir.errors import InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.ir import Arch, Block, Network
from nasir.rng import Seed, as_rng
from nasir.space import SPACES
from nasir.spaces import nb101_spec as spec_lib
from nasir.spaces.nb101_spec import Nb101Spec

__all__ = ["NB101Space", "space", "cell_block", "NUM_UNIQUE"]

NUM_UNIQUE = 423_624
VERTEX_OPS = (spec_lib.CONV3X3, spec_lib.CONV1X1, spec_lib.MAXPOOL3X3)
BN = {"eps": 1e-5, "momentum": 0.003}  # TF decay 0.997 in PyTorch's convention
IR_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    spec_lib.CONV3X3: ("conv_bn_relu", {"kernel": 3, **BN}),
    spec_lib.CONV1X1: ("conv_bn_relu", {"kernel": 1, **BN}),
    spec_lib.MAXPOOL3X3: ("max_pool", {"kernel": 3, "stride": 1, "padding": 1}),
}
ENCODING_LENGTHS = {"adjacency": 36, "path": 364, "path_trunc": 121}
STEM_CHANNELS = 128


def _projection(channels: int) -> tuple[str, dict[str, Any]]:
    return ("conv_bn_relu", {"kernel": 1, "padding": 0, "out_channels": channels, **BN})


def cell_block(spec: Nb101Spec, in_channels: int, out_channels: int) -> Arch:
    """The official module for ``spec`` mapping ``in_channels`` to ``out_channels``."""
    matrix, n = spec.matrix, len(spec.ops)
    channels = spec_lib.nb101_channels(in_channels, out_channels, spec)
    nodes: dict[str, Any] = {"in": "input", "out": "output"}
    edges: list[tuple[str, str]] = []
    for t in range(1, n - 1):
        terms = []
        for src in range(1, t):
            if matrix[src, t]:
                nodes[f"v{t}_from{src}"] = ("channel_slice", {"channels": channels[t]})
                edges.append((f"v{src}", f"v{t}_from{src}"))
                terms.append(f"v{t}_from{src}")
        if matrix[0, t]:
            nodes[f"v{t}_proj"] = _projection(channels[t])
            edges.append(("in", f"v{t}_proj"))
            terms.append(f"v{t}_proj")
        op, attrs = IR_OPS[spec.ops[t]]
        nodes[f"v{t}"] = (op, {**attrs, "out_channels": channels[t]} if op != "max_pool" else attrs)
        edges.extend(_sum_into(nodes, terms, f"v{t}", f"v{t}_sum"))
    _wire_output(spec, out_channels, nodes, edges)
    return Arch(nodes, edges)


def _sum_into(nodes: dict[str, Any], terms: list[str], target: str, sum_node: str) -> list[tuple[str, str]]:
    if len(terms) == 1:
        return [(terms[0], target)]
    nodes[sum_node] = "add"
    return [(term, sum_node) for term in terms] + [(sum_node, target)]


def _wire_output(spec: Nb101Spec, out_channels: int, nodes: dict[str, Any], edges: list[tuple[str, str]]) -> None:
    n = len(spec.ops)
    feeding = [f"v{t}" for t in range(1, n - 1) if spec.matrix[t, n - 1]]
    terms = []
    if len(feeding) > 1:
        nodes["cat"] = "concat"
        edges.extend((v, "cat") for v in feeding)
        terms.append("cat")
    else:
        terms.extend(feeding)
    if spec.matrix[0, n - 1]:
        nodes["out_proj"] = _projection(out_channels)
        edges.append(("in", "out_proj"))
        terms.append("out_proj")
    edges.extend(_sum_into(nodes, terms, "out", "out_sum"))


class NB101Space:
    """The NAS-Bench-101 cell space (423,624 unique cells)."""

    name = "nb101"
    encodings = tuple(ENCODING_LENGTHS)

    def from_spec(self, spec: Nb101Spec) -> Arch:
        if not spec.is_valid:
            raise InvalidArchError(f"NB101 spec is invalid after pruning (edges={spec.num_edges}): {spec_lib.to_string(spec)}")
        return cell_block(spec, STEM_CHANNELS, STEM_CHANNELS)

    def to_spec(self, arch: Arch) -> Nb101Spec:
        """Reads matrix and ops back from an Arch built by this space (by node ids)."""
        ops = ["input"] + [_vertex_op(arch, f"v{t}") for t in range(1, 6) if f"v{t}" in arch]
        n = len(ops) + 1
        matrix = np.zeros((n, n), dtype=np.int8)
        for t in range(1, n - 1):
            for src in range(1, t):
                matrix[src, t] = f"v{t}_from{src}" in arch
            matrix[0, t] = f"v{t}_proj" in arch
        for t in range(1, n - 1):
            matrix[t, n - 1] = any(f"v{t}" in arch.inputs(x) for x in ("cat", "out_sum", "out") if x in arch)
        matrix[0, n - 1] = "out_proj" in arch
        return Nb101Spec.create(matrix, ops + ["output"])

    def parse(self, text: str) -> Arch:
        return self.from_spec(spec_lib.from_string(text))

    def format(self, arch: Arch) -> str:
        return spec_lib.to_string(self.to_spec(arch))

    def spec_hash(self, arch: Arch) -> str:
        """The official NB101 module hash (as in the benchmark's lookup table)."""
        return self.to_spec(arch).spec_hash()

    def sample(self, seed: Seed = None) -> Arch:
        return self.from_spec(spec_lib.sample_spec(as_rng(seed)))

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        return self.from_spec(spec_lib.mutate_spec(self.to_spec(arch), as_rng(seed)))

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Valid cells one edge flip or one op change away, deduplicated by spec hash."""
        found: dict[str, Arch] = {}
        for spec in _neighbor_specs(self.to_spec(arch)):
            found.setdefault(spec.spec_hash(), self.from_spec(spec))
        return list(found.values())

    def size(self) -> int:
        return NUM_UNIQUE

    def enumerate(self) -> Iterator[Arch]:
        raise SpaceTooLargeError("NB101 has 423,624 cells; iterate nb101_spec.enumerate_unique_specs() instead (minutes)")

    def encode(self, arch: Arch, kind: str = "adjacency") -> np.ndarray:
        spec = self.to_spec(arch)
        if kind == "adjacency":
            return _adjacency(spec)
        if kind in ("path", "path_trunc"):
            label = lambda node: spec.ops[int(node[1:])] if node[1:].isdigit() and node.startswith("v") else None  # noqa: E731
            trunc = ENCODING_LENGTHS["path_trunc"] if kind == "path_trunc" else None
            return encodings.path_encoding(arch, label, VERTEX_OPS, range(0, 6), truncate=trunc)
        raise SpaceConfigError(f"unknown NB101 encoding {kind!r} (known: {self.encodings})")

    def network(self, arch: Arch, *, num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
                stacks: int = 3, cells_per_stack: int = 3, input_shape: tuple[int, int, int] = (3, 32, 32)) -> Network:
        """The official NB101 network: stem, 3 stacks of 3 cells, max-pool + channel doubling, head."""
        spec = self.to_spec(arch)
        stem = _chain(("conv", "conv_bn_relu", {"kernel": 3, "out_channels": stem_channels, **BN}))
        blocks, channels = [Block("stem", stem, kind="stem")], stem_channels
        for stack in range(stacks):
            if stack:
                blocks.append(Block(f"downsample{stack}", _chain(("pool", "max_pool", {"kernel": 2, "stride": 2, "padding": 0})), kind="reduction"))
            for cell in range(cells_per_stack):
                out = channels * 2 if stack and cell == 0 else channels
                blocks.append(Block(f"stack{stack}.cell{cell}", cell_block(spec, channels, out), kind="cell"))
                channels = out
        head = _chain(("pool", "global_avg_pool", {}), ("classifier", "linear", {"out_features": num_classes}))
        blocks.append(Block("head", head, kind="head"))
        return Network(tuple(blocks), input_shape, name="nb101")


def _chain(*ops: tuple[str, str, dict]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in ops}}
    names = ["in", *(name for name, _, _ in ops), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def _vertex_op(arch: Arch, node: str) -> str:
    for name, (op, attrs) in IR_OPS.items():
        if arch.op(node) == op and all(arch.attrs(node).get(k) == v for k, v in attrs.items()):
            return name
    raise InvalidArchError(f"node {node!r} ({arch.op(node)}) is not an NB101 vertex op")


def _adjacency(spec: Nb101Spec) -> np.ndarray:
    """BANANAS adjacency one-hot; smaller pruned cells are padded with empty vertices before the output."""
    n, size = len(spec.ops), spec_lib.MAX_VERTICES
    matrix = np.zeros((size, size), dtype=np.float32)
    matrix[: n - 1, : n - 1] = spec.matrix[: n - 1, : n - 1]
    matrix[: n - 1, -1] = spec.matrix[: n - 1, n - 1]
    ops = np.zeros((size - 2, len(VERTEX_OPS)), dtype=np.float32)
    for t, op in enumerate(spec.ops[1:-1]):
        ops[t, VERTEX_OPS.index(op)] = 1.0
    return np.concatenate([matrix[np.triu_indices(size, k=1)], ops.reshape(-1)])


def _neighbor_specs(spec: Nb101Spec) -> Iterator[Nb101Spec]:
    """Every single edge flip and single interior op change, valid ones only (local search moves)."""
    n = len(spec.ops)
    for i in range(n):
        for j in range(i + 1, n):
            matrix = np.array(spec.matrix, dtype=np.int8)
            matrix[i, j] = 1 - matrix[i, j]
            yield from _valid(matrix, spec.ops)
    for t in range(1, n - 1):
        for op in VERTEX_OPS:
            if op != spec.ops[t]:
                yield from _valid(np.array(spec.matrix, dtype=np.int8), spec.ops[:t] + (op,) + spec.ops[t + 1 :])


def _valid(matrix: np.ndarray, ops: tuple[str, ...]) -> Iterator[Nb101Spec]:
    try:
        spec = Nb101Spec.create(matrix, list(ops))
    except InvalidArchError:
        return
    if spec.is_valid:
        yield spec


space = NB101Space()
SPACES.register(space.name, space)
