"""NAS-Bench-201 written as a grammar is the hand-written NB201 space: same graphs, strings, encodings, moves."""

from __future__ import annotations

import numpy as np
import pytest

from nasir.grammar import count, derive_arch, enumerate_trees
from nasir.space import SPACES, SearchSpace
from nasir.spaces import _nb201_index, nb201
from nasir.spaces.grammars import NB201_GRAMMAR, nb201_string
from nasir.spaces.grammars import nb201 as grammar_space

TREES = list(enumerate_trees(NB201_GRAMMAR))


def test_count_by_dp_is_15625() -> None:
    assert count(NB201_GRAMMAR) == grammar_space.size() == nb201.NUM_ARCHS == 15_625
    assert len(TREES) == 15_625


def _hashes(trees) -> tuple[set[str], set[str]]:
    """Canonical hashes of the cells derived by the grammar and built by the hand-written space, same op tuples."""
    grammar = {derive_arch(NB201_GRAMMAR, t).canonical_hash() for t in trees}
    hand = {nb201.space.from_ops([nb201.OPS[e.choice] for e in t.children]).canonical_hash() for t in trees}
    return grammar, hand


def test_a_random_fifth_of_the_cells_hash_like_the_hand_written_space() -> None:
    """3,125 random cells (the full 15,625: the slow twin below and benchmarks/grammar_nb201.py)."""
    picks = np.random.default_rng(0).choice(len(TREES), size=3_125, replace=False)
    grammar, hand = _hashes([TREES[k] for k in picks])
    assert len(grammar) == 3_125 and grammar == hand


@pytest.mark.slow
def test_all_15625_cells_hash_like_the_hand_written_space() -> None:
    grammar, hand = _hashes(TREES)
    assert len(grammar) == 15_625 and grammar == hand
    assert hand == {a.canonical_hash() for a in nb201.space.enumerate()}


def test_each_derivation_has_its_own_nb201_string_and_index() -> None:
    strings = [nb201_string(t) for t in TREES]
    assert sorted(strings) == sorted(_nb201_index.arch_strings())
    assert sorted(_nb201_index.index_of(s) for s in strings) == list(range(15_625))
    for k in np.random.default_rng(1).choice(len(TREES), size=200, replace=False):
        arch = derive_arch(NB201_GRAMMAR, TREES[k])
        assert nb201.space.format(arch) == strings[k]
        assert nb201.space.index(arch) == _nb201_index.index_of(strings[k])
        assert arch == nb201.space.parse(strings[k])
        assert grammar_space.derivation(arch) == TREES[k]


def test_encodings_match_nb201() -> None:
    """``path`` is NB201's path encoding; ``onehot`` is NB201's adjacency one-hot with edges in arch-string order."""
    order = [nb201.NASLIB_EDGES.index(e) for e in nb201.EDGES]
    permute = np.concatenate([np.arange(5 * i, 5 * i + 5) for i in order])
    for seed in range(50):
        arch = grammar_space.sample(seed)
        assert np.array_equal(grammar_space.encode(arch, "path"), nb201.space.encode(arch, "path"))
        assert np.array_equal(grammar_space.encode(arch, "onehot"), nb201.space.encode(arch, "adjacency")[permute])


def test_moves_are_nb201_moves() -> None:
    arch = grammar_space.sample(3)
    assert [a.canonical_hash() for a in grammar_space.neighbors(arch)] == [a.canonical_hash() for a in nb201.space.neighbors(arch)]
    child = grammar_space.mutate(arch, 7)
    differing = sum(a != b for a, b in zip(nb201.space.to_ops(arch), nb201.space.to_ops(child)))
    assert differing == 1  # one EDGE sub-tree re-derived, as NB201's one-edge mutation


def test_space_protocol_registry_and_network() -> None:
    assert isinstance(grammar_space, SearchSpace)
    assert SPACES.get("nb201-grammar") is grammar_space
    arch = grammar_space.parse("CELL:0(EDGE:3,EDGE:0,EDGE:1,EDGE:2,EDGE:4,EDGE:3)")
    assert nb201.space.format(arch) == "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    net = grammar_space.network(arch)
    assert net.count_params() == nb201.space.network(arch).count_params()
    assert grammar_space.format(arch) == "CELL:0(EDGE:3,EDGE:0,EDGE:1,EDGE:2,EDGE:4,EDGE:3)"


@pytest.mark.parametrize("seed", [0, 1])
def test_strategies_search_the_grammar_space(seed: int) -> None:
    """Random search, REA and local search propose members of the space; the score is NB201's conv count."""
    from nasir.strategies import make_strategy

    def convs(arch) -> float:
        return float(sum(op.startswith("nor_conv") for op in nb201.space.to_ops(arch)))

    for name in ("random", "rea", "local"):
        strategy = make_strategy(name, grammar_space, seed=seed)
        for _ in range(60):
            for arch in strategy.ask():
                assert grammar_space.derivation(arch).symbol == "CELL"
                strategy.tell(arch, convs(arch))
        assert max(s for _, s in strategy.done()) >= 4
