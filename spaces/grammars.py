"""Ready-made grammar spaces: NAS-Bench-201 as a grammar, and a hierarchical CIFAR-10 space.

``nb201``: the NAS-Bench-201 cell (Dong & Yang, ICLR 2020) written as two rules. It derives the
same IR graphs as :mod:`nasir.spaces.nb201` (the tests compare the canonical hashes of all 15,625),
its ``path`` encoding equals NB201's, and its ``onehot`` encoding is NB201's ``adjacency`` with the
edges in arch-string order. Derivation children follow the arch-string edge order, so
:func:`nb201_string` reads the official string off a derivation.

``hierarchical``: a space in the spirit of Schrodi et al. (NeurIPS 2023, "Construction of
hierarchical neural architecture search spaces based on context-free grammars"): levels of
productions choose the macro topology (2 or 3 stages and the down-sampling widths), each stage's
topology (one cell, two cells, or two cells with a residual), each cell's topology (chain,
residual, diamond) and each op. It derives whole networks for 3x32x32 inputs and 10 classes.
"""

from __future__ import annotations

from nasir.grammar import Derivation, Grammar, GrammarSpace, choice, dag, op, seq
from nasir.space import SPACES
from nasir.spaces.nb201 import space as _nb201

__all__ = ["NB201_GRAMMAR", "HIERARCHICAL_GRAMMAR", "nb201", "hierarchical", "nb201_string"]

NB201_GRAMMAR = Grammar({
    # nodes 1..3 sum one edge from every earlier node (edges in arch-string order); each edge carries an op
    "CELL": dag({"n1": "add", "n2": "add", "n3": "add"},
                [("in", "n1", "EDGE"),
                 ("in", "n2", "EDGE"), ("n1", "n2", "EDGE"),
                 ("in", "n3", "EDGE"), ("n1", "n3", "EDGE"), ("n2", "n3", "EDGE"), ("n3", "out")], label="nb201-cell"),
    "EDGE": [op("zero", label="none"),
             op("identity", label="skip_connect"),
             op("relu_conv_bn", kernel=1, padding=0, label="nor_conv_1x1"),
             op("relu_conv_bn", kernel=3, padding=1, label="nor_conv_3x3"),
             op("avg_pool", kernel=3, stride=1, padding=1, count_include_pad=False, label="avg_pool_3x3")],
}, start="CELL")

nb201 = GrammarSpace(NB201_GRAMMAR, name="nb201-grammar", network=_nb201.network)  # the official TinyNetwork


def nb201_string(tree: Derivation) -> str:
    """The official NB201 arch string of a derivation of :data:`NB201_GRAMMAR`."""
    ops = iter(NB201_GRAMMAR.productions("EDGE")[edge.choice].label for edge in tree.children)
    return "+".join("|" + "|".join(f"{next(ops)}~{j}" for j in range(node)) + "|" for node in (1, 2, 3))


HIERARCHICAL_GRAMMAR = Grammar({
    # macro topology: stem, stages separated by down-sampling residual blocks (their width is a choice), head
    "NET": [
        seq(op("conv", out_channels=16, kernel=3), "batch_norm", "STAGE", "DOWN1", "STAGE", "DOWN2", "STAGE",
            "global_avg_pool", op("linear", out_features=10), label="3-stage"),
        seq(op("conv", out_channels=16, kernel=3), "batch_norm", "STAGE", "DOWN1", "STAGE",
            "global_avg_pool", op("linear", out_features=10), label="2-stage"),
    ],
    "DOWN1": op("resnet_basic_block", out_channels=choice(24, 32), stride=2),
    "DOWN2": op("resnet_basic_block", out_channels=choice(48, 64), stride=2),
    # stage topology
    "STAGE": [
        seq("CELL", label="cell"),
        seq("CELL", "CELL", label="cell-cell"),
        dag({"a": "CELL", "b": "CELL", "sum": "add"}, [("in", "a"), ("a", "b"), ("b", "sum"), ("in", "sum"), ("sum", "out")],
            label="residual"),
    ],
    # cell topology, ops on edges
    "CELL": [
        seq("OP", "OP", label="chain"),
        dag({"a": "OP", "b": "OP", "sum": "add"}, [("in", "a"), ("a", "b"), ("b", "sum"), ("in", "sum"), ("sum", "out")],
            label="residual"),
        dag({"sum": "add"}, [("in", "sum", "OP"), ("in", "sum", "OP"), ("sum", "out", "OP")], label="diamond"),
    ],
    "OP": [op("relu_conv_bn", kernel=choice(1, 3, 5)), op("identity", label="skip"),
           op("avg_pool", kernel=3), op("max_pool", kernel=3)],
}, start="NET")

hierarchical = GrammarSpace(HIERARCHICAL_GRAMMAR, name="hierarchical-c10", input_shape=(3, 32, 32))

for _space in (nb201, hierarchical):
    SPACES.register(_space.name, _space)
