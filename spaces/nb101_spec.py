"""NAS-Bench-101 cell specs without any framework: validation, pruning, official hash, moves.

A cell is an upper-triangular 0/1 adjacency matrix over at most 7 vertices plus one op per vertex
(Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search", ICML 2019).
Everything that decides *which* cell a benchmark row belongs to follows the official code of
google-research/nasbench exactly, re-implemented here in numpy + hashlib:

* pruning: ``ModelSpec._prune`` keeps the vertices reachable from the input *and* reaching the
  output; if input and output are disconnected the spec is invalid (``connected=False``);
* hash: ``graph_util.hash_module`` with the labels of ``ModelSpec.hash_spec``: input -1, output
  -2, interior ops their index in ``config['available_ops']`` = (conv3x3, conv1x1, maxpool3x3);
  per-vertex md5 of ``(out_degree, in_degree, label)``, then ``num_vertices`` rounds of
  md5(sorted in-neighbour hashes | sorted out-neighbour hashes | own hash), then md5 of the
  sorted list. Verified against the official dataset row ``00005c142e6f48ac74fdcf73e3439874``
  (7-vertex cell, printed by NNI's NAS-Bench-101 example notebook and by several dumps of the
  official tfrecord) and by the full enumeration giving exactly 423,624 distinct hashes, among
  them dataset hashes quoted by third-party code that queries the official tfrecord
  (``b148c5e43b9b1be81b8245c2bc0c1cf3``, ``fe4395df38d94c4fafb973a8b04bbd65``);
* channels: ``model_builder.compute_vertex_channels``;
* sampling / mutation: ``random_spec`` / ``mutate_spec`` of the official ``NASBench.ipynb``.

String format (:func:`to_string` / :func:`from_string`): the matrix rows as 0/1 digits joined by
``.``, a ``|``, then the interior ops (input and output are implied) joined by ``,``, e.g.
``"0110.0001.0001.0000|conv3x3-bn-relu,maxpool3x3"``; a bare input->output cell is ``"01.00|"``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from nasir.errors import ArchStringError, AttributeValueError, InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.rng import Seed, as_rng

__all__ = [
    "INPUT", "OUTPUT", "CONV3X3", "CONV1X1", "MAXPOOL3X3", "VERTEX_OPS",
    "MAX_VERTICES", "MAX_EDGES", "NUM_UNIQUE_SPECS",
    "Nb101Spec", "enumerate_unique_specs", "sample_spec", "mutate_spec",
    "to_string", "from_string", "nb101_channels",
]

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
VERTEX_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)  # config['available_ops'] order
MAX_VERTICES = 7
MAX_EDGES = 9
NUM_UNIQUE_SPECS = 423_624  # published count (paper, README, generate_graphs.py)
_LABELS = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}


@dataclass(frozen=True, eq=False)
class Nb101Spec:
    """A pruned NB101 cell; build it with :meth:`create`, which validates and prunes.

    ``matrix`` is a read-only int8 array. When input and output are disconnected there is nothing
    to prune to (the official spec becomes ``None``), so the unpruned input is kept and
    ``connected`` is False. Equality is exact (same labelled matrix); use :meth:`spec_hash` for
    equality up to isomorphism.
    """

    matrix: np.ndarray
    ops: tuple[str, ...]
    connected: bool = True
    _hash: list[str] = field(default_factory=list, init=False, repr=False)  # memo for spec_hash()

    @classmethod
    def create(cls, matrix: object, ops: Sequence[str]) -> Nb101Spec:
        """Validates ``matrix``/``ops`` (raising InvalidArchError naming the problem) and prunes."""
        checked = _check_matrix(matrix)
        names = _check_ops(ops, checked.shape[0])
        keep = _pruned_vertices(checked)
        if keep is None:
            return cls._make(checked, names, connected=False)
        return cls._make(checked[np.ix_(keep, keep)], tuple(names[v] for v in keep))

    @classmethod
    def _make(cls, matrix: np.ndarray, ops: tuple[str, ...], connected: bool = True) -> Nb101Spec:
        frozen = np.array(matrix, dtype=np.int8)
        frozen.setflags(write=False)
        return cls(frozen, tuple(ops), connected)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    @property
    def is_valid(self) -> bool:
        """In the benchmark's domain (official ``NASBench.is_valid``): connected, <= 9 edges."""
        return self.connected and self.num_edges <= MAX_EDGES and self.num_vertices <= MAX_VERTICES

    def spec_hash(self) -> str:
        """The official module hash (``ModelSpec.hash_spec``), the key of the benchmark table."""
        if not self.connected:
            raise InvalidArchError(f"NB101 spec {to_string(self)!r} has no hash: input and output are disconnected")
        if not self._hash:
            self._hash.append(_module_hash(self.matrix, [_LABELS[op] for op in self.ops]))
        return self._hash[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Nb101Spec):
            return NotImplemented
        return (self.ops, self.connected) == (other.ops, other.connected) and np.array_equal(self.matrix, other.matrix)

    def __hash__(self) -> int:
        return hash((self.matrix.tobytes(), self.ops, self.connected))

    def __repr__(self) -> str:
        return f"Nb101Spec({to_string(self)!r}{'' if self.connected else ', connected=False'})"


# --------------------------------------------------------------------------- validation, pruning


def _check_matrix(matrix: object) -> np.ndarray:
    try:
        arr = np.asarray(matrix)
    except (ValueError, TypeError) as err:
        raise InvalidArchError(f"NB101 matrix is not a rectangular array: {err}") from err
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidArchError(f"NB101 matrix must be square, got shape {arr.shape}")
    n = arr.shape[0]
    if not 2 <= n <= MAX_VERTICES:
        raise InvalidArchError(f"NB101 matrix has {n} vertices; cells have 2 to {MAX_VERTICES} (input and output included)")
    if arr.dtype.kind not in "biuf":
        raise InvalidArchError(f"NB101 matrix entries must be 0/1 numbers, got dtype {arr.dtype}")
    bad = np.argwhere(~np.isin(arr, (0, 1)))
    if len(bad):
        i, j = bad[0]
        raise InvalidArchError(f"NB101 matrix[{i}, {j}] = {arr[i, j]!r}; entries must be 0 or 1")
    low = np.argwhere(np.tril(arr) != 0)
    if len(low):
        i, j = low[0]
        raise InvalidArchError(
            f"NB101 matrix[{i}, {j}] is set on or below the diagonal; the matrix must be strictly "
            "upper-triangular (edges go from a lower to a higher vertex index)"
        )
    return arr.astype(np.int8)


def _check_ops(ops: Sequence[str], n: int) -> tuple[str, ...]:
    if isinstance(ops, (str, bytes)) or not hasattr(ops, "__len__"):
        raise InvalidArchError(f"NB101 ops must be a sequence of op names, got {type(ops).__name__}")
    names = tuple(ops)
    if len(names) != n:
        raise InvalidArchError(f"NB101 ops has {len(names)} entries but the matrix has {n} vertices")
    if names[0] != INPUT or names[-1] != OUTPUT:
        raise InvalidArchError(f"NB101 ops must start with {INPUT!r} and end with {OUTPUT!r}, got {names[0]!r} ... {names[-1]!r}")
    for i, op in enumerate(names[1:-1], start=1):
        if op not in VERTEX_OPS:
            raise InvalidArchError(f"NB101 ops[{i}] = {op!r} is not a vertex op; expected one of {VERTEX_OPS}")
    return tuple(str(op) for op in names)


def _reach(neighbours: list[list[int]], start: int) -> set[int]:
    seen, frontier = {start}, [start]
    while frontier:
        for w in neighbours[frontier.pop()]:
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def _pruned_vertices(matrix: np.ndarray) -> list[int] | None:
    """Vertices on some input->output path (official ``_prune``); None when there are none."""
    n = matrix.shape[0]
    succ = [np.flatnonzero(matrix[v]).tolist() for v in range(n)]
    pred = [np.flatnonzero(matrix[:, v]).tolist() for v in range(n)]
    keep = sorted(_reach(succ, 0) & _reach(pred, n - 1))
    return keep if len(keep) >= 2 else None


def _module_hash(matrix: np.ndarray, labels: list[int]) -> str:
    """``graph_util.hash_module``: iterated md5 fingerprints, ``len(labels)`` rounds."""
    n, rows = len(labels), matrix.tolist()
    ins = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(outs[v]), len(ins[v]), labels[v])).encode("utf-8")).hexdigest() for v in range(n)]
    for _ in range(n):
        fresh = []
        for v in range(n):
            before = [hashes[w] for w in ins[v]]
            before.sort()
            after = [hashes[w] for w in outs[v]]
            after.sort()
            fresh.append(md5(f"{''.join(before)}|{''.join(after)}|{hashes[v]}".encode("utf-8")).hexdigest())
        hashes = fresh
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- strings, channels


def to_string(spec: Nb101Spec) -> str:
    """``rows|interior ops`` (see the module docstring); round-trips through :func:`from_string`."""
    rows = ".".join("".join(str(int(b)) for b in row) for row in spec.matrix)
    return f"{rows}|{','.join(spec.ops[1:-1])}"


def from_string(text: str) -> Nb101Spec:
    """Parses :func:`to_string` output; raises ArchStringError saying what is malformed."""
    if not isinstance(text, str):
        raise ArchStringError(f"NB101 arch string must be a str, got {type(text).__name__}")
    parts = text.strip().split("|")
    if len(parts) != 2:
        raise ArchStringError(f"NB101 arch string {text!r} needs exactly one '|' between matrix rows and ops")
    rows = parts[0].split(".")
    n = len(rows)
    for i, row in enumerate(rows):
        if len(row) != n or set(row) - {"0", "1"}:
            raise ArchStringError(f"NB101 arch string {text!r}: row {i} {row!r} must be {n} digits 0/1 (one per row)")
    ops = parts[1].split(",") if parts[1] else []
    if len(ops) != n - 2:
        raise ArchStringError(f"NB101 arch string {text!r}: {n} vertices need {n - 2} interior ops, got {len(ops)}")
    matrix = np.array([[int(c) for c in row] for row in rows], dtype=np.int8).reshape(n, n)
    try:
        return Nb101Spec.create(matrix, [INPUT, *ops, OUTPUT])
    except InvalidArchError as err:
        raise ArchStringError(f"NB101 arch string {text!r}: {err}") from err


def nb101_channels(in_channels: int, out_channels: int, spec: Nb101Spec) -> tuple[int, ...]:
    """Per-vertex channels (official ``compute_vertex_channels``).

    The output concatenates the vertices feeding it, so ``out_channels`` is split evenly among
    them with the remainder going one each to the first ones; every other interior vertex takes
    the max over its interior successors (filled backwards); the input keeps ``in_channels``.
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise AttributeValueError(f"NB101 {name} must be a positive int, got {value!r}")
    if not spec.connected:
        raise InvalidArchError(f"NB101 spec {to_string(spec)!r} is disconnected; it has no channel layout")
    m, n = spec.matrix, spec.num_vertices
    channels = [0] * n
    channels[0], channels[-1] = int(in_channels), int(out_channels)
    feeders = [v for v in range(1, n - 1) if m[v, n - 1]]
    if not feeders:
        return tuple(channels)
    if out_channels < len(feeders):
        raise AttributeValueError(
            f"NB101 out_channels={out_channels} cannot be split among {len(feeders)} vertices feeding the output"
        )
    share, extra = divmod(int(out_channels), len(feeders))
    for rank, v in enumerate(feeders):
        channels[v] = share + (rank < extra)
    for v in range(n - 3, 0, -1):
        if not m[v, n - 1]:
            channels[v] = max(channels[d] for d in range(v + 1, n - 1) if m[v, d])
    return tuple(channels)


# --------------------------------------------------------------------------- sampling, mutation


def sample_spec(rng: Seed) -> Nb101Spec:
    """Uniform random cell as in the official colab's ``random_spec``: each of the 21 upper
    triangular entries of a 7x7 matrix is 1 with p=0.5, each interior op uniform; reject until valid."""
    gen = as_rng(rng)
    n = MAX_VERTICES
    while True:
        matrix = np.triu(gen.integers(0, 2, size=(n, n), dtype=np.int8), k=1)
        picks = gen.integers(0, len(VERTEX_OPS), size=n - 2)
        spec = Nb101Spec.create(matrix, [INPUT, *(VERTEX_OPS[i] for i in picks), OUTPUT])
        if spec.is_valid:
            return spec


def _padded(spec: Nb101Spec, gen: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """7-vertex version of ``spec``: isolated vertices (random ops) inserted before the output.

    The official mutation works on the unpruned 7x7 ``original_matrix``; a pruned spec lost its
    dangling vertices, so it gets fresh unconnected ones (same cell, room to grow).
    """
    n, extra = spec.num_vertices, MAX_VERTICES - spec.num_vertices
    matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    matrix[: n - 1, : n - 1] = spec.matrix[: n - 1, : n - 1]
    matrix[: n - 1, -1] = spec.matrix[: n - 1, n - 1]
    fill = [VERTEX_OPS[i] for i in gen.integers(0, len(VERTEX_OPS), size=extra)]
    return matrix, [*spec.ops[:-1], *fill, OUTPUT]


def mutate_spec(spec: Nb101Spec, rng: Seed, mutation_rate: float = 1.0) -> Nb101Spec:
    """The official colab's ``mutate_spec``: reject until the child is valid.

    Each of the 21 edge spots flips with probability ``mutation_rate / 7`` (official
    ``mutation_rate / NUM_VERTICES``) and each of the 5 interior ops changes with probability
    ``mutation_rate / 5`` to one of the other two ops, drawn uniformly. The child may equal the
    parent, as in the official code.
    """
    if not (isinstance(mutation_rate, (int, float)) and 0 < mutation_rate < float("inf")):
        raise SpaceConfigError(f"mutation_rate must be a positive finite number, got {mutation_rate!r}")
    gen = as_rng(rng)
    base, base_ops = _padded(spec, gen)
    n = MAX_VERTICES
    edge_p, op_p = mutation_rate / n, mutation_rate / (n - 2)
    while True:
        matrix, ops = base.copy(), list(base_ops)
        for src in range(n - 1):
            for dst in range(src + 1, n):
                if gen.random() < edge_p:
                    matrix[src, dst] = 1 - matrix[src, dst]
        for t in range(1, n - 1):
            if gen.random() < op_p:
                others = [op for op in VERTEX_OPS if op != ops[t]]
                ops[t] = others[int(gen.integers(len(others)))]
        child = Nb101Spec.create(matrix, ops)
        if child.is_valid:
            return child


# --------------------------------------------------------------------------- enumeration


def enumerate_unique_specs(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> Iterator[Nb101Spec]:
    """Every unique valid cell once (423,624 with the defaults), deduplicated by spec hash.

    Same set as the official ``generate_graphs.py`` (all full DAGs, all op labellings, one per
    hash) but without hashing all 1,293,208 labelled graphs: the unlabelled DAGs are grouped into
    isomorphism classes by a vectorised canonical code (min over permutations of the interior
    vertices), and per class only one labelling per orbit of its automorphism group is hashed.
    Arguments are checked at call time, before iteration starts.
    """
    for name, value, low in (("max_vertices", max_vertices, 2), ("max_edges", max_edges, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpaceConfigError(f"{name} must be an int >= {low}, got {value!r}")
    if max_vertices > MAX_VERTICES:
        raise SpaceTooLargeError(
            f"NB101 enumeration is limited to {MAX_VERTICES} vertices (asked {max_vertices}); the official "
            "hash is only known to be collision-free up to 7 vertices and 8 would mean 2^28 matrices"
        )
    return _unique_specs(max_vertices, max_edges)


def _unique_specs(max_vertices: int, max_edges: int) -> Iterator[Nb101Spec]:
    seen: set[str] = set()
    for n in range(2, max_vertices + 1):
        for matrix, labellings in _structure_orbits(n, max_edges):
            for labelling in labellings:
                spec = Nb101Spec._make(matrix, (INPUT, *(VERTEX_OPS[i] for i in labelling), OUTPUT))
                key = spec.spec_hash()
                if key not in seen:  # never hit up to 7 vertices; kept as the official dedup rule
                    seen.add(key)
                    yield spec


def _edges(n: int) -> list[tuple[int, int]]:
    """Upper-triangular spots in the official bit order (bit ``x + y(y-1)/2`` is edge x->y)."""
    return [(x, y) for y in range(1, n) for x in range(y)]


def _full_dag_masks(n: int, max_edges: int) -> np.ndarray:
    """Bitmasks of matrices with no dangling vertex (official ``is_full_dag``), <= max_edges."""
    edges = _edges(n)
    masks = np.arange(1 << len(edges), dtype=np.int64)
    count = np.zeros_like(masks)
    for k in range(len(edges)):
        count += (masks >> k) & 1
    ok = count <= max_edges
    for v in range(n):
        outgoing = sum(1 << k for k, (x, _) in enumerate(edges) if x == v)
        incoming = sum(1 << k for k, (_, y) in enumerate(edges) if y == v)
        if v < n - 1:
            ok &= (masks & outgoing) != 0
        if v > 0:
            ok &= (masks & incoming) != 0
    return masks[ok]


def _structure_orbits(n: int, max_edges: int) -> Iterator[tuple[np.ndarray, list[tuple[int, ...]]]]:
    """Per isomorphism class of full DAGs: a representative matrix and its orbit-unique labellings."""
    edges = _edges(n)
    masks = _full_dag_masks(n, max_edges)
    perms = [(0, *q, n - 1) for q in itertools.permutations(range(1, n - 1))]  # identity first
    codes = np.zeros((len(perms), len(masks)), dtype=np.int64)  # n*n-bit code of each relabelling
    for k, (x, y) in enumerate(edges):
        bit = (masks >> k) & 1
        for i, p in enumerate(perms):
            codes[i] |= bit << (p[x] * n + p[y])
    _, first = np.unique(codes.min(axis=0), return_index=True)
    labellings = list(itertools.product(range(len(VERTEX_OPS)), repeat=n - 2))
    digits = np.array(labellings, dtype=np.int64).reshape(len(labellings), n - 2)
    moved = _labelling_images(digits, perms)
    for r in np.sort(first):
        automorphisms = np.flatnonzero(codes[:, r] == codes[0, r])
        canonical = moved[automorphisms].min(axis=0)
        keep = np.flatnonzero(canonical == np.arange(len(digits)))
        matrix = np.zeros((n, n), dtype=np.int8)
        for k, (x, y) in enumerate(edges):
            matrix[x, y] = (int(masks[r]) >> k) & 1
        yield matrix, [tuple(int(d) for d in digits[i]) for i in keep]


def _labelling_images(digits: np.ndarray, perms: list[tuple[int, ...]]) -> np.ndarray:
    """``images[p, i]``: index of labelling ``i`` after moving vertex v's op to vertex ``p[v]``."""
    k = digits.shape[1]
    weights = len(VERTEX_OPS) ** np.arange(k - 1, -1, -1, dtype=np.int64)
    images = np.empty((len(perms), len(digits)), dtype=np.int64)
    for i, p in enumerate(perms):
        moved = np.empty_like(digits)
        moved[:, [p[v] - 1 for v in range(1, k + 1)]] = digits
        images[i] = moved @ weights
    return images
