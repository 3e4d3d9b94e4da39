"""NAS-Bench-101 cell specs: validation, official pruning and hash, moves, channels, strings, enumeration."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasir.errors import ArchStringError, AttributeValueError, InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.spaces.nb101_spec import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    NUM_UNIQUE_SPECS,
    OUTPUT,
    VERTEX_OPS,
    Nb101Spec,
    _edges,
    _full_dag_masks,
    _module_hash,
    enumerate_unique_specs,
    from_string,
    mutate_spec,
    nb101_channels,
    sample_spec,
    to_string,
)

C3, C1, MP = CONV3X3, CONV1X1, MAXPOOL3X3

# Official dataset row: NNI's NAS-Bench-101 example notebook (docs/en_US/NAS/BenchmarksExample.ipynb,
# query_nb101_trial_stats) and dumps of the official tfrecord (e.g. CTNAS nas_bench.json entry 0)
# print this cell with this hash.
OFFICIAL_ROW = (
    [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
    [INPUT, C3, MP, C3, C3, C1, OUTPUT],
    "00005c142e6f48ac74fdcf73e3439874",
)
# Hashes quoted by third-party code that queries the official tfrecord (diswotv2's NB101 teacher,
# PicoNAS's example); their cells were recovered by our enumeration, which also reproduces the
# official generate_graphs.py hash set exactly (checked offline over all 1,293,208 labelled DAGs).
DATASET_HASHES = {
    "b148c5e43b9b1be81b8245c2bc0c1cf3": "0110001.0000001.0001000.0000100.0000010.0000001.0000000|"
    "conv3x3-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu",
    "fe4395df38d94c4fafb973a8b04bbd65": "0100001.0011000.0000101.0000001.0000010.0000001.0000000|"
    "conv1x1-bn-relu,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,maxpool3x3",
}


def _relabel(spec: Nb101Spec, order: list[int]) -> Nb101Spec:
    """The same cell with its vertices renumbered so that old vertex ``order[i]`` becomes ``i``."""
    m = spec.matrix[np.ix_(order, order)]
    return Nb101Spec.create(m, [spec.ops[v] for v in order])


def _random_topological_order(spec: Nb101Spec, rng: np.random.Generator) -> list[int]:
    n, order, placed = spec.num_vertices, [0], {0}
    while len(order) < n:
        ready = [v for v in range(1, n) if v not in placed and all(u in placed for u in np.flatnonzero(spec.matrix[:, v]))]
        ready = [v for v in ready if v != n - 1] or ready  # output stays last
        pick = int(rng.choice(ready))
        order.append(pick)
        placed.add(pick)
    return order


# --------------------------------------------------------------------------- validation, pruning


@pytest.mark.parametrize(
    ("matrix", "ops", "message"),
    [
        ([[0, 1, 0]], [INPUT, OUTPUT], "square"),
        ([[0, 1], [1, 0]], [INPUT, OUTPUT], "upper-triangular"),
        ([[1, 1], [0, 0]], [INPUT, OUTPUT], "upper-triangular"),
        ([[0, 2], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, 1], [0, 0]], [INPUT, C3, OUTPUT], "3 entries but the matrix has 2"),
        ([[0, 1], [0, 0]], [C3, OUTPUT], "must start with 'input'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT], "'conv5x5' is not a vertex op"),
        (np.triu(np.ones((8, 8), dtype=int), 1), [INPUT] + [C3] * 6 + [OUTPUT], "8 vertices"),
        ([[0, 1], [0, 0]], "input,output", "sequence of op names"),
    ],
)
def test_create_rejects_malformed_specs(matrix, ops, message) -> None:
    with pytest.raises(InvalidArchError, match=message):
        Nb101Spec.create(matrix, ops)


def test_dangling_vertices_are_pruned_like_the_official_spec() -> None:
    # vertex 2 has no path to the output, vertex 3 none from the input: both go, ops follow.
    m = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    spec = Nb101Spec.create(m, [INPUT, C3, MP, C1, OUTPUT])
    assert spec.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.ops == (INPUT, C3, OUTPUT)
    assert spec.is_valid and spec.num_edges == 2
    assert spec == Nb101Spec.create([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])
    assert not spec.matrix.flags.writeable


def test_disconnected_input_and_output_is_invalid() -> None:
    m = [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    spec = Nb101Spec.create(m, [INPUT, C3, C1, OUTPUT])
    assert not spec.connected and not spec.is_valid
    assert spec.matrix.tolist() == m  # nothing to prune to: the input is kept
    with pytest.raises(InvalidArchError, match="disconnected"):
        spec.spec_hash()
    with pytest.raises(InvalidArchError, match="disconnected"):
        nb101_channels(128, 128, spec)


def test_edge_limit_applies_after_pruning() -> None:
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges
    assert not Nb101Spec.create(full, [INPUT] + [C3] * 5 + [OUTPUT]).is_valid
    m = np.zeros((7, 7), dtype=int)
    m[0, 1] = m[1, 6] = 1
    m[2:6, 2:6] = np.triu(np.ones((4, 4), dtype=int), 1)  # 6 edges among vertices unreachable from the input
    m[0, 6] = m[2, 6] = m[3, 6] = m[4, 6] = 1  # 10 edges before pruning
    spec = Nb101Spec.create(m, [INPUT] + [C3] * 5 + [OUTPUT])
    assert spec.is_valid and spec.num_edges == 3


# --------------------------------------------------------------------------- hash


def test_official_dataset_hash() -> None:
    matrix, ops, expected = OFFICIAL_ROW
    assert Nb101Spec.create(matrix, ops).spec_hash() == expected


@pytest.mark.parametrize(("expected", "text"), sorted(DATASET_HASHES.items()))
def test_dataset_hashes_quoted_by_benchmark_users(expected: str, text: str) -> None:
    assert from_string(text).spec_hash() == expected


def test_hash_follows_hash_module_labels() -> None:
    """input -1, output -2, interior = index in config['available_ops'] (conv3x3, conv1x1, maxpool)."""
    matrix, ops, _ = OFFICIAL_ROW
    spec = Nb101Spec.create(matrix, ops)
    labels = [-1] + [VERTEX_OPS.index(op) for op in ops[1:-1]] + [-2]
    assert _module_hash(spec.matrix, labels) == spec.spec_hash()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_isomorphic_relabellings_hash_equal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    spec = sample_spec(rng)
    twin = _relabel(spec, _random_topological_order(spec, rng))
    assert twin.spec_hash() == spec.spec_hash()
    assert nx.is_isomorphic(_nx(spec), _nx(twin), node_match=_same_op)
    if spec.num_vertices > 2:  # changing one op changes the op multiset: never isomorphic
        t = int(rng.integers(1, spec.num_vertices - 1))
        other = [VERTEX_OPS[(VERTEX_OPS.index(op) + 1) % 3] if v == t else op for v, op in enumerate(spec.ops)]
        assert Nb101Spec.create(spec.matrix, other).spec_hash() != spec.spec_hash()


def _nx(spec: Nb101Spec) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from((v, {"op": op}) for v, op in enumerate(spec.ops))
    g.add_edges_from(map(tuple, np.argwhere(spec.matrix)))
    return g


def _same_op(a: dict, b: dict) -> bool:
    return a["op"] == b["op"]


# --------------------------------------------------------------------------- sampling, mutation


def test_sampling_is_valid_and_seeded() -> None:
    specs = [sample_spec(seed) for seed in range(30)]
    assert all(s.is_valid and s.num_vertices <= 7 and s.num_edges <= 9 for s in specs)
    assert [sample_spec(seed) for seed in range(30)] == specs
    assert sample_spec(np.random.default_rng(4)) == sample_spec(4)
    assert len({s.spec_hash() for s in specs}) > 20


def test_mutation_is_valid_seeded_and_moves() -> None:
    parent = Nb101Spec.create(*OFFICIAL_ROW[:2])
    children = [mutate_spec(parent, seed) for seed in range(30)]
    assert all(c.is_valid for c in children)
    assert [mutate_spec(parent, seed) for seed in range(30)] == children
    assert sum(c.spec_hash() != parent.spec_hash() for c in children) > 20
    small = Nb101Spec.create([[0, 1], [0, 0]], [INPUT, OUTPUT])  # pruned cells get room to grow
    grown = {mutate_spec(small, seed, mutation_rate=3.0).num_vertices for seed in range(30)}
    assert max(grown) > 2
    with pytest.raises(SpaceConfigError, match="mutation_rate must be a positive finite number, got 0"):
        mutate_spec(parent, 0, mutation_rate=0)


# --------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("matrix", "out", "expected"),
    [
        # three vertices feed the output: 128 split 43, 43, 42 (remainder to the first)
        ([[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], 128, (64, 43, 43, 42, 128)),
        # chain: the only feeder takes everything, its predecessor copies it
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], 128, (64, 128, 128, 128)),
        # vertex 1 feeds two feeders (65, 64): it takes the max of its successors
        ([[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], 129, (64, 65, 65, 64, 129)),
        # input straight to output only
        ([[0, 1], [0, 0]], 128, (64, 128)),
        # input->output skip plus one feeder: the skip is added, not concatenated
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], 256, (64, 256, 256)),
    ],
)
def test_official_channel_rule(matrix, out, expected) -> None:
    spec = Nb101Spec.create(matrix, [INPUT] + [C3] * (len(matrix) - 2) + [OUTPUT])
    assert nb101_channels(64, out, spec) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 300))
def test_channels_satisfy_official_sanity_checks(seed: int, out: int) -> None:
    """compute_vertex_channels asserts: never increasing along interior edges, feeders sum to out."""
    spec = sample_spec(seed)
    ch, m, n = nb101_channels(3, out, spec), spec.matrix, spec.num_vertices
    assert all(ch[v] >= ch[d] for v in range(1, n - 1) for d in range(v + 1, n - 1) if m[v, d])
    feeders = [ch[v] for v in range(1, n - 1) if m[v, n - 1]]
    assert sum(feeders) == out or not feeders
    assert all(c > 0 for c in ch)


def test_channel_arguments_are_checked() -> None:
    spec = from_string("01110.00001.00001.00001.00000|conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu")
    with pytest.raises(AttributeValueError, match="cannot be split"):
        nb101_channels(16, 2, spec)
    with pytest.raises(AttributeValueError, match="in_channels"):
        nb101_channels(0, 16, spec)


# --------------------------------------------------------------------------- strings


def test_string_round_trip() -> None:
    spec = Nb101Spec.create(*OFFICIAL_ROW[:2])
    text = to_string(spec)
    assert text == ("0100110.0010000.0001001.0000010.0000010.0000001.0000000|"
                    "conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu")
    assert from_string(text) == spec
    assert to_string(from_string("01.00|")) == "01.00|"
    for seed in range(20):
        s = sample_spec(seed)
        assert from_string(to_string(s)) == s
    disconnected = Nb101Spec.create([[0, 0], [0, 0]], [INPUT, OUTPUT])
    assert from_string(to_string(disconnected)) == disconnected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0110.0001.0001.0000", "exactly one '|'"),
        ("01.00|a|b", "exactly one '|'"),
        ("0110.001.0001.0000|conv3x3-bn-relu,maxpool3x3", "row 1"),
        ("0120.0001.0001.0000|conv3x3-bn-relu,maxpool3x3", "row 0"),
        ("0110.0001.0001.0000|conv3x3-bn-relu", "need 2 interior ops, got 1"),
        ("0110.0001.0001.0000|conv3x3-bn-relu,avgpool", "'avgpool' is not a vertex op"),
        ("0110.1001.0001.0000|conv3x3-bn-relu,maxpool3x3", "upper-triangular"),
        ("|", "row 0"),
    ],
)
def test_bad_strings_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ArchStringError, match=message):
        from_string(text)


def test_non_string_is_rejected() -> None:
    with pytest.raises(ArchStringError, match="must be a str"):
        from_string(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- enumeration


def _labelled_full_dags(max_vertices: int):
    for n in range(2, max_vertices + 1):
        for mask in _full_dag_masks(n, 9).tolist():
            m = np.zeros((n, n), dtype=np.int8)
            for k, (x, y) in enumerate(_edges(n)):
                m[x, y] = (mask >> k) & 1
            for labels in itertools.product(VERTEX_OPS, repeat=n - 2):
                yield Nb101Spec.create(m, [INPUT, *labels, OUTPUT])


def _isomorphism_classes(specs) -> int:
    """Independent count: group by exact labelled-DAG isomorphism (networkx VF2)."""
    buckets: dict[tuple, list[nx.DiGraph]] = {}
    for spec in specs:
        g = _nx(spec)
        key = tuple(sorted((g.in_degree(v), g.out_degree(v), spec.ops[v]) for v in g))
        reps = buckets.setdefault(key, [])
        if not any(nx.is_isomorphic(g, r, node_match=_same_op) for r in reps):
            reps.append(g)
    return sum(len(r) for r in buckets.values())


def test_partial_enumeration_matches_networkx_isomorphism_classes() -> None:
    specs = list(enumerate_unique_specs(max_vertices=5))
    assert len(specs) == _isomorphism_classes(_labelled_full_dags(5)) == 2532
    assert all(s.is_valid for s in specs)
    assert len({s.spec_hash() for s in specs}) == len(specs)


def test_partial_enumeration_matches_official_style_hash_dedup() -> None:
    """generate_graphs.py: hash every labelled full DAG, keep one per hash."""
    official = {s.spec_hash() for s in _labelled_full_dags(5)}
    assert {s.spec_hash() for s in enumerate_unique_specs(5)} == official
    assert [sum(1 for _ in enumerate_unique_specs(v)) for v in (2, 3, 4)] == [1, 7, 91]


def test_enumeration_refuses_larger_spaces() -> None:
    with pytest.raises(SpaceTooLargeError, match="7 vertices"):
        enumerate_unique_specs(max_vertices=8)
    with pytest.raises(SpaceConfigError, match="max_edges must be an int >= 0, got -1"):
        enumerate_unique_specs(max_edges=-1)


@pytest.mark.slow
def test_full_enumeration_gives_the_published_count() -> None:
    hashes = {s.spec_hash() for s in enumerate_unique_specs()}
    assert len(hashes) == NUM_UNIQUE_SPECS == 423_624
    assert OFFICIAL_ROW[2] in hashes and set(DATASET_HASHES) <= hashes
