"""NAS-Bench-201 space: official strings and indices, moves, encodings, counts, skeleton params."""

from __future__ import annotations

import numpy as np
import pytest
from nats_bench.genotype_utils import topology_str2structure

from nasir.errors import SpaceConfigError
from nasir.spaces.nb201 import OPS, space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"  # index 6111
INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_parse_format_round_trip_and_official_index() -> None:
    arch = space.parse(BEST)
    assert space.format(arch) == BEST
    assert space.index(arch) == 6111
    assert space.format(space.from_index(0)) == INDEX0
    assert space.index(INDEX0) == 0


def test_format_reads_structure_not_node_names() -> None:
    arch = space.parse(BEST)
    renamed = arch.relabel({n: f"z{i}" for i, n in enumerate(reversed(arch.nodes))})
    assert space.format(renamed) == BEST


def test_sampling_is_seeded() -> None:
    assert space.format(space.sample(3)) == space.format(space.sample(3))
    assert len({space.format(space.sample(s)) for s in range(20)}) > 15


def test_mutate_changes_exactly_one_edge() -> None:
    arch = space.parse(BEST)
    for seed in range(20):
        child = space.to_ops(space.mutate(arch, seed))
        assert sum(a != b for a, b in zip(space.to_ops(arch), child)) == 1
    assert space.format(space.mutate(arch, 5)) == space.format(space.mutate(arch, 5))


def test_neighbors_are_the_24_one_edge_changes() -> None:
    arch = space.parse(BEST)
    neighbours = space.neighbors(arch)
    assert len(neighbours) == 24 == len({n.canonical_hash() for n in neighbours})
    assert all(sum(a != b for a, b in zip(space.to_ops(arch), space.to_ops(n))) == 1 for n in neighbours)


def test_encoding_lengths_and_values() -> None:
    arch = space.parse(BEST)
    assert space.encode(arch, "adjacency").shape == (30,)
    assert space.encode(arch, "adjacency").sum() == 6
    assert list(space.encode(arch, "categorical")) == [OPS.index(op) for op in space.to_ops(arch)]
    path = space.encode(arch, "path")
    assert path.shape == (84,) and space.encode(arch, "path_trunc").shape == (20,)
    # BEST's paths: 0-3 (skip); 0-1-3 (conv3, conv3); 0-2-3 (conv3, conv1); 0-1-2-3 (conv3, conv3, conv1)
    assert path.sum() == 4
    empty = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert space.encode(empty, "path").sum() == 0
    with pytest.raises(SpaceConfigError, match="unknown NB201 encoding 'graph2vec'"):
        space.encode(arch, "graph2vec")


def test_whole_space_counts_and_official_isomorphism_key() -> None:
    """15,625 distinct cells; 6,466 unique computations, the same partition as the official key."""
    ours_of, official_of = {}, {}
    hashes = set()
    for ops in space.enumerate_ops():
        arch = space.from_ops(ops)
        text = space.format(arch)
        hashes.add(arch.canonical_hash())
        ours_of[text] = space.unique_key(arch)
        official_of[text] = topology_str2structure(text).to_unique_str(consider_zero=True)
    assert len(hashes) == 15_625
    assert len(set(ours_of.values())) == 6_466 == len(set(official_of.values()))
    pairs = {(ours_of[t], official_of[t]) for t in ours_of}
    assert len(pairs) == 6_466  # a bijection between the two keys: same partition, cell by cell


@pytest.mark.parametrize(("text", "dataset", "params"), [
    (INDEX0, "cifar10", 129_306), (INDEX0, "cifar100", 135_156), (INDEX0, "imagenet16", 136_456),
    (BEST, "cifar10", 1_073_466),
])
def test_network_params_match_the_benchmark(text: str, dataset: str, params: int) -> None:
    network = space.network(space.parse(text), dataset=dataset)
    assert network.count_params() == params
    assert network.output_shape == ({"cifar10": 10, "cifar100": 100, "imagenet16": 120}[dataset],)


def test_network_block_layout() -> None:
    network = space.network(space.parse(BEST))
    assert [b.name for b in network.blocks][:2] == ["stem", "cells.0"]
    assert [b.kind for b in network.blocks].count("reduction") == 2
    assert network.block_shapes()["cells.16"] == (64, 8, 8)
    keys = network.weight_specs()
    assert keys["cells.0/e0_1/conv.weight"].shape == (16, 16, 3, 3)
    assert not keys["stem/bn/running_var"].trainable
    assert np.prod(keys["head/classifier/weight"].shape) == 640


def test_unknown_skeleton_dataset_is_a_space_config_error() -> None:
    with pytest.raises(SpaceConfigError, match=r"unknown NB201 dataset 'mnist' \(known: \['cifar10'"):
        space.network(space.sample(0), dataset="mnist")


def test_a_negative_seed_is_a_seed_value_error() -> None:
    from nasir.errors import SeedValueError

    with pytest.raises(SeedValueError, match="seed must be a non-negative int, got -1") as info:
        space.sample(-1)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("seed", ["0", 1.5, True])
def test_a_seed_that_is_not_an_int_or_generator_is_a_seed_type_error(seed) -> None:
    from nasir.errors import SeedTypeError

    with pytest.raises(SeedTypeError, match=f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}") as info:
        space.sample(seed)
    assert isinstance(info.value, TypeError)
