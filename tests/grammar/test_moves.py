"""Sampling, mutation, crossover and neighbours: seeded, and always members of the (constrained) space."""

from __future__ import annotations

import numpy as np
import pytest

from nasir import errors
from nasir.grammar import (
    Constraints,
    Grammar,
    GrammarSpace,
    UnsatisfiableConstraintsError,
    choice,
    dag,
    derive_arch,
    enumerate_trees,
    op,
    repeat,
    seq,
)
from nasir.grammar.derivation import Derivation, check, positions, replace, subtree
from nasir.ir import Arch
from nasir.spaces.grammars import hierarchical

GRAMMAR = Grammar({
    "NET": seq(op("conv", out_channels=choice(4, 8), kernel=3), "BODY", "global_avg_pool", op("linear", out_features=3)),
    "BODY": repeat("CELL", (1, 2)),
    "CELL": [seq("OP", "OP"), dag({"s": "add"}, [("in", "s", "OP"), ("in", "s"), ("s", "out")])],
    "OP": [op("relu_conv_bn", kernel=choice(1, 3)), op("max_pool", kernel=3), "identity"],
}, start="NET")
SPACE = GrammarSpace(GRAMMAR, name="moves", input_shape=(3, 8, 8))
MEMBERS = {derive_arch(GRAMMAR, t).canonical_hash() for t in enumerate_trees(GRAMMAR)}
BRANCH = dag({"s": "add"}, [("in", "s", "S"), ("in", "s", "S"), ("s", "out")])
RECURSIVE = GrammarSpace(Grammar({"S": [seq("relu"), seq("relu", "S"), BRANCH]}, start="S"), name="recursive", max_depth=6)


def _is_member(space: GrammarSpace, arch: Arch) -> bool:
    tree = space.derivation(arch)
    check(space.grammar, tree)
    return space.derive(tree).same_labels(arch)


@pytest.mark.parametrize("space", [SPACE, hierarchical, RECURSIVE], ids=lambda s: s.name)
def test_sampling_is_seeded_and_valid(space: GrammarSpace) -> None:
    first = [space.sample(seed) for seed in range(20)]
    again = [space.sample(seed) for seed in range(20)]
    assert [a.to_json() for a in first] == [a.to_json() for a in again]
    assert len({a.canonical_hash() for a in first}) > 10
    assert all(_is_member(space, a) for a in first)
    if space is SPACE:
        assert {a.canonical_hash() for a in first} <= MEMBERS
    if space is RECURSIVE:
        assert all(space.derivation(a).depth <= 6 for a in first)


@pytest.mark.parametrize("space", [SPACE, hierarchical, RECURSIVE], ids=lambda s: s.name)
def test_mutation_is_seeded_changes_one_subtree_and_stays_in_the_space(space: GrammarSpace) -> None:
    parent = space.sample(0)
    tree = space.derivation(parent)
    for seed in range(15):
        child = space.mutate(parent, seed)
        assert child.same_labels(space.mutate(parent, seed))
        assert _is_member(space, child) and child.canonical_hash() != parent.canonical_hash()
        assert _one_subtree_apart(tree, space.derivation(child))
        if space is SPACE:
            assert child.canonical_hash() in MEMBERS


def _one_subtree_apart(old: Derivation, new: Derivation, *, root: bool = False) -> bool:
    """Whether ``new`` is ``old`` with the sub-tree at one position (below the root unless ``root``) replaced."""
    sites = [p for p, _ in positions(old) if p or root]
    return any(_fits(new, p) and replace(old, p, subtree(new, p)) == new for p in sites)


def _fits(tree: Derivation, path: tuple[int, ...]) -> bool:
    for i in path:
        if i >= len(tree.children):
            return False
        tree = tree.children[i]
    return True


def test_crossover_is_seeded_and_swaps_same_symbol_subtrees() -> None:
    a, b = hierarchical.sample(1), hierarchical.sample(2)
    ta, tb = hierarchical.derivation(a), hierarchical.derivation(b)
    swaps = {(replace(ta, pa, nb), replace(tb, pb, na))
             for pa, na in positions(ta) for pb, nb in positions(tb) if pa and pb and na.symbol == nb.symbol and na != nb}
    results = set()
    for seed in range(10):
        c1, c2 = hierarchical.crossover(a, b, seed)
        d1, d2 = hierarchical.crossover(a, b, seed)
        assert c1.same_labels(d1) and c2.same_labels(d2)
        assert _is_member(hierarchical, c1) and _is_member(hierarchical, c2)
        pair = (hierarchical.derivation(c1), hierarchical.derivation(c2))
        assert pair in swaps and pair[0] != ta and pair[1] != tb
        results.add(pair)
    assert len(results) > 5
    single = GrammarSpace(Grammar({"S": seq("OP", "relu"), "OP": ["identity", "relu"]}, start="S"), name="single")
    x = single.sample(0)
    assert single.crossover(x, x, 0) == (x, x)  # no different sub-tree to swap: the parents come back


def test_neighbours_change_one_production() -> None:
    arch = SPACE.sample(4)
    tree = SPACE.derivation(arch)
    neighbours = SPACE.neighbors(arch)
    assert neighbours == SPACE.neighbors(arch) and len(neighbours) == len({n.canonical_hash() for n in neighbours}) > 5
    for n in neighbours:
        assert n.canonical_hash() in MEMBERS
        new = SPACE.derivation(n)
        assert _one_subtree_apart(tree, new, root=True)
        # the replaced sub-tree has another production at its root
        assert any(_fits(new, p) and subtree(new, p).choice != node.choice and replace(tree, p, subtree(new, p)) == new
                   for p, node in positions(tree))


def test_uniform_sampling_weights_productions_by_their_language() -> None:
    grammar = Grammar({"S": ["relu", seq("OP", "OP")], "OP": ["identity", "relu", op("max_pool", kernel=3)]}, start="S")
    freq = {}
    for mode in ("production", "uniform"):
        space = GrammarSpace(grammar, name=mode, sampling=mode)
        rng = np.random.default_rng(0)
        freq[mode] = np.mean([space.sample_tree(rng).choice == 0 for _ in range(2000)])
    assert abs(freq["production"] - 1 / 2) < 0.04  # a production is picked uniformly
    assert abs(freq["uniform"] - 1 / 10) < 0.03  # 1 of the 1 + 9 derivations


def test_structural_constraints_filter_and_count() -> None:
    bounded = GrammarSpace(GRAMMAR, name="small", input_shape=(3, 8, 8), constraints=Constraints(max_nodes=8, max_edges=8))
    fits = [a for a in SPACE.enumerate() if len(a) <= 8 and len(a.edges) <= 8]
    assert bounded.size() == len(fits) == len(list(bounded.enumerate())) < SPACE.size()
    assert {a.canonical_hash() for a in bounded.enumerate()} == {a.canonical_hash() for a in fits}
    for seed in range(20):
        arch = bounded.sample(seed)
        assert len(arch) <= 8 and len(arch.edges) <= 8
        child = bounded.mutate(arch, seed)
        assert len(child) <= 8 and len(child.edges) <= 8
        assert all(len(n) <= 8 for n in bounded.neighbors(arch))


def test_parameter_and_flop_constraints() -> None:
    params = {a.canonical_hash(): SPACE.network(a).count_params() for a in SPACE.enumerate()}
    limit = int(np.median(list(params.values())))
    light = GrammarSpace(GRAMMAR, name="light", input_shape=(3, 8, 8), constraints=Constraints(max_params=limit, min_flops=1))
    assert light.size() == sum(p <= limit for p in params.values())
    for seed in range(20):
        assert light.network(light.sample(seed)).count_params() <= limit
        assert light.network(light.mutate(light.sample(seed), seed)).count_params() <= limit
    with pytest.raises(UnsatisfiableConstraintsError, match="sample: no draw met .*max_params=1"):
        GrammarSpace(GRAMMAR, name="none", input_shape=(3, 8, 8), constraints=Constraints(max_params=1), max_tries=20).sample(0)
    with pytest.raises(errors.SpaceConfigError, match="need network= or input_shape="):
        GrammarSpace(GRAMMAR, name="no-shapes", constraints=Constraints(max_flops=10))


@pytest.mark.parametrize("name", ["random", "rea", "local", "bananas"])
def test_existing_strategies_search_a_grammar_space(name: str) -> None:
    """A cheap score (parameters of the derived network) drives every registered strategy over the space."""
    from nasir.strategies import make_strategy

    options = {"bananas": {"encoding": "onehot", "initial": 5, "batch": 5, "candidates": 20}}.get(name, {})
    strategy = make_strategy(name, SPACE, seed=0, **options)
    seen = []
    while len(seen) < 25:
        for arch in strategy.ask():
            assert arch.canonical_hash() in MEMBERS
            seen.append(arch)
            strategy.tell(arch, float(SPACE.network(arch).count_params()))
    assert len({a.canonical_hash() for a in seen}) > 10


def test_graphs_whose_shapes_do_not_fit_fail_parameter_bounds() -> None:
    """Two branches of free widths meet at an add: only equal widths fit, and only those pass a params bound."""
    grammar = Grammar({"S": dag({"s": "add"}, [("in", "s", "OP"), ("in", "s", "OP"), ("s", "out")]),
                       "OP": op("conv", kernel=1, out_channels=choice(4, 8))}, start="S")
    space = GrammarSpace(grammar, name="widths", input_shape=(3, 4, 4), constraints=Constraints(max_params=10**6))
    assert GrammarSpace(grammar, name="all").size() == 4 and space.size() == 2
    assert {space.network(a).output_shape for a in space.enumerate()} == {(4, 4, 4), (8, 4, 4)}
    with pytest.raises(errors.SpaceConfigError, match="max_nodes"):
        Constraints(max_nodes=-1)


def test_derivations_are_read_back_from_node_ids() -> None:
    """Two topologies over the same node names differ only in edges; parsing tells them apart."""
    grammar = Grammar({
        "S": [dag({"a": "OP", "b": "OP", "s": "add"}, [("in", "a"), ("a", "b"), ("b", "s"), ("in", "s"), ("s", "out")]),
              dag({"a": "OP", "b": "OP", "s": "add"}, [("in", "a"), ("in", "b"), ("a", "s"), ("b", "s"), ("s", "out")]),
              dag({"a": "OP", "b": "OP", "s": "add"}, [("in", "a"), ("a", "b"), ("a", "s"), ("b", "s"), ("s", "out")])],
        "OP": ["identity", "relu", op("max_pool", kernel=3)],
    }, start="S")
    space = GrammarSpace(grammar, name="topologies")
    trees = list(space.enumerate_trees())
    assert len(trees) == 27
    assert all(space.derivation(space.derive(t)) == t for t in trees)


def test_node_bounds_steer_sampling_of_a_recursive_grammar() -> None:
    """Under max_nodes, production sampling draws only what fits: one try per draw is enough."""
    bounded = GrammarSpace(RECURSIVE.grammar, name="bounded", constraints=Constraints(max_nodes=9), max_tries=1, max_depth=50)
    members = {a.canonical_hash() for a in bounded.enumerate()}
    # T(n) trees with n ops: T(n) = T(n-1) + sum_{a+b=n-1} T(a) T(b), T(1) = 1: 1, 1, 2, 4, 9, 21, 51 for n <= 7
    assert bounded.size() == len(list(bounded.enumerate_trees())) == 89
    drawn = [bounded.sample(seed) for seed in range(200)]
    assert all(len(a) <= 9 for a in drawn) and {a.canonical_hash() for a in drawn} <= members
    mutants = [bounded.mutate(a, seed) for seed, a in enumerate(drawn[:50])]
    assert all(len(a) <= 9 for a in mutants)
