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

``hierarchical_param``: the same levels with parameters passed down the tree. The macro level
chooses a base width once (``nt("MACRO", width=choice(16, 24, 32))``) and gives stage ``k`` the width
``width * 2**k`` (``param("width", scale=2)``) and its stride; each stage chooses one kernel size for
all its cells (``nt("BODY", kernel=choice(3, 5))``); cells and ops read ``channels`` and ``kernel``
from above instead of one copy of every rule per value.
"""

from __future__ import annotations

from nasir.grammar import Derivation, Grammar, GrammarSpace, choice, dag, nt, op, param, seq
from nasir.space import SPACES
from nasir.spaces.nb201 import space as _nb201

__all__ = ["NB201_GRAMMAR", "HIERARCHICAL_GRAMMAR", "HIERARCHICAL_PARAM_GRAMMAR", "nb201", "hierarchical", "hierarchical_param",
           "nb201_string"]

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


# cell topologies shared by the hierarchical grammars (ops on the edges of a chain, a residual pair, a diamond)
CELL_TOPOLOGIES = [
    seq("OP", "OP", label="chain"),
    dag({"a": "OP", "b": "OP", "sum": "add"}, [("in", "a"), ("a", "b"), ("b", "sum"), ("in", "sum"), ("sum", "out")],
        label="residual"),
    dag({"sum": "add"}, [("in", "sum", "OP"), ("in", "sum", "OP"), ("sum", "out", "OP")], label="diamond"),
]

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
    "CELL": CELL_TOPOLOGIES,
    "OP": [op("relu_conv_bn", kernel=choice(1, 3, 5)), op("identity", label="skip"),
           op("avg_pool", kernel=3), op("max_pool", kernel=3)],
}, start="NET")

hierarchical = GrammarSpace(HIERARCHICAL_GRAMMAR, name="hierarchical-c10", input_shape=(3, 32, 32))


def _stem_and_stages(n: int, label: str):
    """Stem at the base width, then ``n`` stages: stage k at ``width * 2**k``, stride 2 from the second on."""
    stages = [nt("STAGE", channels=param("width", scale=2**k), stride=1 if k == 0 else 2) for k in range(n)]
    return seq(op("conv", out_channels=param("width"), kernel=3), "batch_norm", *stages, label=label)


HIERARCHICAL_PARAM_GRAMMAR = Grammar({
    # macro level: the base width is chosen once for the whole network, the number of stages here
    "NET": seq(nt("MACRO", width=choice(16, 24, 32)), "global_avg_pool", op("linear", out_features=10)),
    "MACRO": [_stem_and_stages(3, "3-stage"), _stem_and_stages(2, "2-stage")],
    # stage: a residual block enters it (width, stride); one kernel size for all the stage's cells
    "STAGE": seq("ENTRY", nt("BODY", kernel=choice(3, 5))),
    "ENTRY": op("resnet_basic_block", out_channels=param("channels"), stride=param("stride")),
    "BODY": [
        seq("CELL", label="cell"),
        seq("CELL", "CELL", label="cell-cell"),
        dag({"a": "CELL", "b": "CELL", "sum": "add"}, [("in", "a"), ("a", "b"), ("b", "sum"), ("in", "sum"), ("sum", "out")],
            label="residual"),
    ],
    # cell topology, ops on edges
    "CELL": CELL_TOPOLOGIES,
    # ops read the stage's width and kernel size
    "OP": [
        op("relu_conv_bn", out_channels=param("channels"), kernel=param("kernel"), label="conv"),
        op("relu_conv_bn", out_channels=param("channels"), kernel=1, label="conv1x1"),
        seq(op("conv", out_channels=param("channels", scale=2), kernel=1), "batch_norm",
            op("relu_conv_bn", out_channels=param("channels"), kernel=param("kernel")), label="expand"),
        op("identity", label="skip"), op("avg_pool", kernel=3), op("max_pool", kernel=3),
    ],
}, start="NET")

hierarchical_param = GrammarSpace(HIERARCHICAL_PARAM_GRAMMAR, name="hierarchical-param-c10", input_shape=(3, 32, 32))

for _space in (nb201, hierarchical, hierarchical_param):
    SPACES.register(_space.name, _space)
