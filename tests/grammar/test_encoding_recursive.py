"""Encodings of recursive grammars: ``counts`` always, ``adjacency`` and ``path`` under a node bound."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nasir.errors import SpaceConfigError
from nasir.grammar import ArchTooLargeError, Constraints, Grammar, GrammarSpace, dag, op, seq
from nasir.grammar.derivation import Derivation, positions
from nasir.ir import Arch
from nasir.spaces.grammars import NB201_GRAMMAR

GRAMMAR = Grammar({
    "S": [seq("relu"), seq("relu", "S"), dag({"s": "add"}, [("in", "s", "S"), ("in", "s", "T"), ("s", "out")])],
    "T": ["S", op("avg_pool", kernel=3)],
}, start="S")
UNBOUNDED = GrammarSpace(GRAMMAR, name="recursive", max_depth=6)
BOUNDED = GrammarSpace(GRAMMAR, name="recursive-9", constraints=Constraints(max_nodes=9), max_depth=50)
CHAIN = Derivation("S", 1, (Derivation("S", 0),))  # in -> relu -> relu -> out


def _chain(ops: int) -> Derivation:
    return Derivation("S", 0) if ops == 1 else Derivation("S", 1, (_chain(ops - 1),))


def test_counts_is_the_production_histogram() -> None:
    tree = Derivation("S", 2, (CHAIN, Derivation("T", 1)))  # relu -> relu on one branch, avg_pool on the other
    # productions in order S:0, S:1, S:2, T:0, T:1
    assert UNBOUNDED.encode(UNBOUNDED.derive(tree), "counts").tolist() == [1, 1, 1, 0, 1]
    assert UNBOUNDED.encode(UNBOUNDED.derive(CHAIN)).tolist() == [1, 1, 0, 0, 0]  # the default of a recursive grammar
    vectors: dict[bytes, Counter] = {}
    for seed in range(50):
        tree = UNBOUNDED.sample_tree(seed)
        vector = UNBOUNDED.encode(UNBOUNDED.derive(tree), "counts")
        use = Counter((n.symbol, n.choice) for _, n in positions(tree))
        assert vector.dtype == np.float32 and vector.shape == (5,) and vector.sum() == sum(use.values())
        assert vectors.setdefault(vector.tobytes(), use) == use  # equal vectors <=> equal production use
    assert len(vectors) > 10


def test_unbounded_recursive_space_offers_counts_only() -> None:
    assert UNBOUNDED.encodings == ("counts",)
    with pytest.raises(SpaceConfigError, match=r"'path'.*available: \('counts',\)"):
        UNBOUNDED.encode(UNBOUNDED.sample(0), "path")


@pytest.mark.parametrize("constraints", [Constraints(max_nodes=9), Constraints(max_edges=8)], ids=["nodes", "edges"])
def test_bounded_recursive_space_offers_graph_encodings(constraints: Constraints) -> None:
    space = GrammarSpace(GRAMMAR, name="bounded", constraints=constraints, max_depth=50)
    assert space.encodings == ("counts", "adjacency", "path")
    archs = [space.sample(seed) for seed in range(50)]
    # ops input, output, relu, avg_pool, add and padding; paths of 1 to 7 ops over {relu, avg_pool}
    lengths = {"counts": 5, "adjacency": 9 * 8 // 2 + 9 * 6, "path": sum(2**k for k in range(1, 8))}
    for kind in space.encodings:
        assert {space.encode(a, kind).shape for a in archs} == {(lengths[kind],)}
    assert len({space.encode(a, "path").tobytes() for a in archs}) > 10
    path = space.encode(space.derive(CHAIN), "path")
    assert np.flatnonzero(path).tolist() == [2]  # the one path relu -> relu: first entry of the length-2 block


def test_longest_paths_fit_the_path_encoding() -> None:
    arch = BOUNDED.derive(_chain(7))  # 9 nodes: the longest path the bound allows
    assert len(arch) == 9 and np.flatnonzero(BOUNDED.encode(arch, "path")).tolist() == [sum(2**k for k in range(1, 7))]


SKIPS = Grammar({"S": ["relu", dag({"s": "add"}, [("in", "s", "S"), ("in", "s"), ("s", "out")])]}, start="S")
# each recursion spends three op nodes (relu, avg_pool, add) and lengthens the longest path by one
LADDER = Grammar({"S": ["relu", dag({"r": "relu", "p": op("avg_pool", kernel=3), "s": "add"},
                                    [("in", "r"), ("r", "s", "S"), ("in", "p"), ("p", "s"), ("s", "out")])]}, start="S")


def test_paths_that_skip_every_op_are_encoded() -> None:
    """A skip edge around the recursion gives an in -> add -> out path of no op: the length-0 entry comes first."""
    space = GrammarSpace(SKIPS, name="skips", constraints=Constraints(max_nodes=6), max_depth=30)
    nested = space.derive(Derivation("S", 1, (Derivation("S", 1, (Derivation("S", 0),)),)))
    # the recursion adds no op to any path: lengths 0 and 1 over {relu}, not 0 to 4 (every node but in and out)
    assert len(space.encode(nested, "path")) == 1 + 1
    assert np.flatnonzero(space.encode(nested, "path")).tolist() == [0, 1]  # the skips, and relu


@pytest.mark.parametrize(("grammar", "vocab", "shortest", "bounds"),
                         [(GRAMMAR, 2, 1, range(3, 10)), (SKIPS, 1, 0, range(3, 9)), (LADDER, 2, 1, range(3, 13))],
                         ids=["branching", "skips", "ladder"])
def test_path_lengths_are_the_longest_a_bounded_graph_has(grammar: Grammar, vocab: int, shortest: int, bounds: range) -> None:
    """The path encoding's longest length equals the longest labelled path over every graph within the bound."""
    for bound in bounds:
        space = GrammarSpace(grammar, name="bounded", constraints=Constraints(max_nodes=bound), max_depth=50)
        longest = max(_longest_labelled_path(a) for a in space.enumerate())
        assert len(space.encode(space.sample(0), "path")) == sum(vocab**k for k in range(shortest, longest + 1)), bound
    if grammar is not GRAMMAR:  # whose chain of relus does fill the bound
        assert longest < bound - 2  # the old bound: every node but input and output


def _longest_labelled_path(arch: Arch) -> int:
    order = list(arch.nodes)  # topological
    best = {order[0]: 0}
    for node in order[1:]:
        best[node] = int(arch.op(node) in ("relu", "avg_pool")) + max(best[u] for u, v, _ in arch.edges if v == node)
    return best[order[-1]]


def test_an_architecture_over_the_bound_raises() -> None:
    big = UNBOUNDED.derive(_chain(8))
    assert len(big) == 10
    assert BOUNDED.encode(big, "counts").sum() == 8  # counts has no bound
    for kind in ("adjacency", "path"):
        with pytest.raises(ArchTooLargeError, match="at most 9 nodes.* has 10"):
            BOUNDED.encode(big, kind)


def test_finite_grammars_add_counts_last() -> None:
    nb201 = GrammarSpace(NB201_GRAMMAR, name="nb201-grammar", constraints=Constraints(max_nodes=100))
    assert nb201.encodings == ("onehot", "adjacency", "path", "counts")
    arch = nb201.sample(0)
    assert np.array_equal(nb201.encode(arch), nb201.encode(arch, "onehot"))
    assert nb201.encode(arch, "counts").sum() == sum(1 for _ in positions(nb201.derivation(arch)))


def _nodes(arch: Arch) -> dict[str, float]:
    return {"nodes": float(len(arch))}


def test_bananas_searches_a_bounded_recursive_space(tmp_path) -> None:
    """BANANAS on the path encoding (its default) runs a study over the bounded recursive space."""
    from nasir.objectives import FunctionObjective
    from nasir.predictors import MLPEnsemble
    from nasir.strategies import make_strategy
    from nasir.study import Study

    strategy = make_strategy("bananas", BOUNDED, seed=0, initial=5, batch=5, candidates=20,
                             predictor=lambda seed: MLPEnsemble(n_models=3, epochs=50, seed=seed))
    study = Study.open(tmp_path / "study.sqlite", BOUNDED, strategy, FunctionObjective(_nodes, "nodes", {"nodes": "maximize"}))
    best = study.optimize(budget_evals=15)
    trials = study.trials
    assert len(trials) == 15 and study.summary()["complete"] == 15 and best is not None
    for trial in trials:
        assert len(trial.arch) <= 9 and BOUNDED.admits(trial.arch)
        assert BOUNDED.derive(BOUNDED.derivation(trial.arch)).same_labels(trial.arch)
