"""Counting by dynamic programming agrees with enumeration, and with the sizes of the derived graphs."""

from __future__ import annotations

import pytest

from nasir.grammar import Grammar, GrammarSpace, choice, count, dag, derive_arch, enumerate_trees, op, repeat, seq
from nasir.grammar.counting import counts
from nasir.spaces.grammars import HIERARCHICAL_GRAMMAR, hierarchical

CONV = op("relu_conv_bn", kernel=choice(1, 3))

FINITE = {
    # ambiguous on purpose: S -> B -> A A and S -> A B -> A A derive the same chain
    "levels": Grammar({
        "S": [seq("A", "B"), dag({"s": "add"}, [("in", "s", "A"), ("in", "s", "B"), ("s", "out")]), "B"],
        "A": [CONV, "identity"],
        "B": repeat("A", (1, 2)),
    }, start="S"),
    "two-cells": Grammar({
        "NET": seq("CELL", op("max_pool", kernel=3, stride=2), "CELL"),
        "CELL": [dag({"n1": "add"}, [("in", "n1", "OP"), ("in", "n1"), ("n1", "out", "OP")]), seq("OP")],
        "OP": [CONV, "identity", "zero"],
    }, start="NET"),
}
RECURSIVE = Grammar({
    "S": [seq("relu"), seq("relu", "S"), dag({"s": "add"}, [("in", "s", "S"), ("in", "s", "T"), ("s", "out")])],
    "T": ["S", op("avg_pool", kernel=3)],  # a unit production into the recursion
}, start="S")


@pytest.mark.parametrize("name", sorted(FINITE))
def test_count_equals_enumeration(name: str) -> None:
    grammar = FINITE[name]
    trees = list(enumerate_trees(grammar))
    assert len(trees) == len(set(trees)) == count(grammar) == GrammarSpace(grammar, name=name).size()


def test_known_counts() -> None:
    assert counts(FINITE["levels"]) == {"A": 3, "B": 3 + 3 * 3, "S": 3 * 12 + 3 * 12 + 12}
    assert count(FINITE["two-cells"]) == (4**2 + 4) ** 2
    trees = list(enumerate_trees(FINITE["two-cells"]))  # unambiguous: one graph per derivation
    assert len({derive_arch(FINITE["two-cells"], t).canonical_hash() for t in trees}) == len(trees)


@pytest.mark.parametrize("max_nodes, max_edges", [(3, None), (5, None), (7, None), (8, 9), (None, 8), (9, 10)])
def test_bounded_count_of_a_recursive_grammar(max_nodes: int | None, max_edges: int | None) -> None:
    """DP count == bounded enumeration == the derivations whose *derived graphs* fit, found among a larger bound."""
    n = count(RECURSIVE, max_nodes, max_edges)
    assert n == len(list(enumerate_trees(RECURSIVE, max_nodes, max_edges)))
    fits = 0
    for tree in enumerate_trees(RECURSIVE, max_nodes=11):
        arch = derive_arch(RECURSIVE, tree)
        fits += (max_nodes is None or len(arch) <= max_nodes) and (max_edges is None or len(arch.edges) <= max_edges)
    assert fits == n > 0


def test_bounded_counts_grow_and_are_exact_for_chains() -> None:
    chains = Grammar({"S": [seq("relu"), seq("relu", "S"), seq("identity", "S"), seq("identity")]}, start="S")
    # a chain of k ops has k + 2 nodes; each op is relu or identity: 2 + 4 + ... + 2^k graphs
    assert [count(chains, max_nodes=k + 2) for k in range(1, 6)] == [sum(2**i for i in range(1, k + 1)) for k in range(1, 6)]


def test_hierarchical_size_by_dp() -> None:
    op_, cell = 6, 6 * 6 + 6 * 6 + 6**3  # chain, residual, diamond
    stage = cell + cell**2 + cell**2  # one cell, two cells, two cells with a residual
    net = 2 * 2 * stage**3 + 2 * stage**2  # 3 stages (two width choices per down-sampling) or 2 stages
    assert counts(HIERARCHICAL_GRAMMAR)["OP"] == op_
    assert count(HIERARCHICAL_GRAMMAR) == hierarchical.size() == net == 18_355_499_226_925_056
