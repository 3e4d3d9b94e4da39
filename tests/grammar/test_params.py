"""Parameters passed down the derivation tree: nt(..., k=v) binds, param("k") reads, choice() above is chosen once."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from nasir import errors
from nasir.backends.onnx import export, random_weights
from nasir.grammar import (
    Derivation,
    Grammar,
    GrammarError,
    GrammarSpace,
    ParameterError,
    ParameterTypeError,
    UnboundParameterError,
    UndefinedSymbolError,
    UnknownParameterError,
    bound_positions,
    choice,
    count,
    dag,
    derive_arch,
    enumerate_trees,
    from_text,
    nt,
    op,
    param,
    seq,
    to_text,
)
from nasir.grammar.derivation import positions, replace
from nasir.ir import Arch
from nasir.spaces.grammars import HIERARCHICAL_GRAMMAR, HIERARCHICAL_PARAM_GRAMMAR, NB201_GRAMMAR, hierarchical_param

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends"))
from _parity import torch_forward, torch_vs_onnx  # noqa: E402

CONV = op("conv", out_channels=param("c"), kernel=param("k", default=3))
# every BODY starts with a conv at its width, so the width is visible in every graph: one graph per derivation
SMALL = Grammar({
    "NET": [seq(nt("BODY", c=choice(4, 8)), "global_avg_pool"),
            seq(op("conv", out_channels=4, kernel=1), nt("BODY", c=param("w", default=2), k=5), "global_avg_pool")],
    "BODY": [seq(op("conv", out_channels=param("c"), kernel=1), "CELL"),
             seq(op("conv", out_channels=param("c"), kernel=1), "CELL", op("conv", out_channels=param("c", scale=2), kernel=1),
                 nt("CELL", c=param("c", scale=2)))],
    "CELL": [dag({"s": "add"}, [("in", "s", "OP"), ("in", "s"), ("s", "out")]), "OP"],
    "OP": [CONV, "identity", op("max_pool", kernel=3)],
}, start="NET")
SMALL_SPACE = GrammarSpace(SMALL, name="small-params", input_shape=(3, 8, 8))
SMALL_TREES = list(enumerate_trees(SMALL))
WIDTHS, KERNELS = (16, 24, 32), (3, 5)


def _per_binding_count(grammar: Grammar, symbol: str, binding: tuple, memo: dict) -> int:
    """Reference DP keyed by (symbol, binding): each child counted under the binding its production gives it."""
    if (symbol, binding) not in memo:
        memo[symbol, binding] = sum(math.prod(_per_binding_count(grammar, c, a, memo) for c, a in zip(p.children, p.args))
                                    for p in grammar.productions(symbol, binding))
    return memo[symbol, binding]


# ---------------------------------------------------------------------- inheritance


def test_bound_values_reach_the_ops() -> None:
    arch = SMALL_SPACE.parse("NET:2(BODY:1(CELL:1(OP:0),CELL:0(OP:0)))")
    attrs = {n: dict(arch.attrs(n)) for n in arch.nodes if arch.op(n) == "conv"}
    assert {n: (a["out_channels"], a["kernel"]) for n, a in attrs.items()} == {
        "conv0": (4, 1),  # constant
        "body1.conv0": (2, 1),  # c = param("w", default=2): nothing binds w
        "body1.cell1": (2, 5),  # OP reads c and k = 5 bound at NET, through BODY and CELL
        "body1.conv2": (4, 1),  # param("c", scale=2)
        "body1.cell3.in-s": (4, 5),  # nt("CELL", c=param("c", scale=2)); k still inherited
    }
    assert SMALL.params("NET") == {"w", "k"} and SMALL.params("BODY") == SMALL.params("OP") == {"c", "k"}
    assert set(SMALL.bindings("OP")) == {(("c", 4),), (("c", 8),), (("c", 16),), (("c", 2), ("k", 5)), (("c", 4), ("k", 5))}
    terminals = [t for p in SMALL.productions("OP", {"c": 8, "k": 7, "unrelated": 1}) for _, t in p.nodes]
    assert dict(terminals[0].attrs)["out_channels"] == 8 and dict(terminals[0].attrs)["kernel"] == 7
    assert terminals[0].label == "conv(kernel=7,out_channels=8)"


def test_the_new_space_inherits_widths_strides_and_kernels() -> None:
    for seed in range(8):
        _check_stages(hierarchical_param, hierarchical_param.sample(seed))


def _check_stages(space: GrammarSpace, arch: Arch) -> None:
    """Reads the bindings off the tree structure alone and checks every op of every stage against them."""
    tree = space.derivation(arch)
    width = WIDTHS[tree.choice]
    assert dict(arch.attrs("macro0.conv0"))["out_channels"] == width
    for k, stage in enumerate(tree.children[0].children):
        channels, kernel, inside = width * 2**k, KERNELS[stage.choice], f"macro0.stage{k + 2}."
        convs = 0
        for node in (n for n in arch.nodes if n.startswith(inside)):
            a = dict(arch.attrs(node))
            if arch.op(node) == "resnet_basic_block":
                assert (a["out_channels"], a["stride"]) == (channels, 1 if k == 0 else 2)
            elif arch.op(node) == "relu_conv_bn":
                assert a["out_channels"] == channels and a["kernel"] in (1, kernel)
                convs += a["kernel"] == kernel
            elif arch.op(node) == "conv":  # the expansion of "expand"
                assert (a["out_channels"], a["kernel"]) == (2 * channels, 1)
    assert space.network(arch).output_shape == (10,)  # widths agree wherever branches meet


def test_a_choice_above_is_made_once_for_the_whole_subtree() -> None:
    """Bound at NET, the width is one for every conv below; as an op-level choice, widths would mix."""
    once = Grammar({"NET": seq(nt("BODY", c=choice(4, 8))), "BODY": seq("OP", "OP", "OP"),
                    "OP": [op("conv", out_channels=param("c"), kernel=1), "identity"]}, start="NET")
    mixed = Grammar({"NET": seq("BODY"), "BODY": seq("OP", "OP", "OP"),
                     "OP": [op("conv", out_channels=choice(4, 8), kernel=1), "identity"]}, start="NET")
    assert count(once) == 2 * 2**3 and count(mixed) == 3**3
    for tree in enumerate_trees(once):
        arch = derive_arch(once, tree)
        widths = {arch.attrs(n)["out_channels"] for n in arch.nodes if arch.op(n) == "conv"}
        assert widths <= {(4, 8)[tree.choice]}
        assert {b for _, node, b in bound_positions(once, tree) if node.symbol != "NET"} == {(("c", (4, 8)[tree.choice]),)}
    assert any(len({derive_arch(mixed, t).attrs(n)["out_channels"] for n in derive_arch(mixed, t).nodes
                    if derive_arch(mixed, t).op(n) == "conv"}) == 2 for t in enumerate_trees(mixed))


# ---------------------------------------------------------------------- counting


def test_dp_count_equals_enumeration_and_the_per_binding_count() -> None:
    memo: dict = {}
    per_binding = _per_binding_count(SMALL, "NET", (), memo)
    assert count(SMALL) == per_binding == len(SMALL_TREES) == len(set(SMALL_TREES)) == SMALL_SPACE.size() == 3 * (6 + 6 * 6)
    # one graph per derivation: trees differing only in what NET bound derive different graphs
    assert len({derive_arch(SMALL, t).canonical_hash() for t in SMALL_TREES}) == len(SMALL_TREES)
    # why keying the DP by symbol is exact: a binding never changes a symbol's productions, only attribute values
    for symbol in SMALL.symbols:
        assert len({memo[symbol, b] for b in SMALL.bindings(symbol)}) == 1
    assert len(SMALL.bindings("OP")) == 5


def test_bounded_count_of_a_recursive_parameterised_grammar() -> None:
    grammar = Grammar({
        "S": [nt("T", c=choice(2, 4))],
        "T": [op("conv", out_channels=param("c"), kernel=1),
              seq(op("conv", out_channels=param("c"), kernel=1), nt("T", c=choice(2, 4))),
              dag({"s": "add"}, [("in", "s", "T"), ("in", "s", nt("T", c=param("c"))), ("s", "out")])],
    }, start="S")
    assert not grammar.finite and grammar.bindings("T") == ((("c", 2),), (("c", 4),))
    fits = [t for t in enumerate_trees(grammar, max_nodes=9) if len(derive_arch(grammar, t)) <= 7]
    assert count(grammar, max_nodes=7) == len(list(enumerate_trees(grammar, max_nodes=7))) == len(fits) > 20


# ---------------------------------------------------------------------- moves


def test_mutation_rederives_under_the_parents_binding() -> None:
    for space in (SMALL_SPACE, hierarchical_param):
        parent = space.sample(1)
        for seed in range(8):
            child = space.mutate(parent, seed)
            assert child.same_labels(space.mutate(parent, seed)) and child.canonical_hash() != parent.canonical_hash()
            assert space.derive(space.derivation(child)).same_labels(child)  # bindings re-derived from the root agree
            if space is hierarchical_param:
                _check_stages(space, child)


def test_crossover_swaps_only_subtrees_with_the_same_symbol_and_binding() -> None:
    space = hierarchical_param
    a, b = space.sample(2), space.sample(5)  # same base width: many compatible sub-trees
    ta, tb = space.derivation(a), space.derivation(b)
    in_a, in_b = list(bound_positions(space.grammar, ta)), list(bound_positions(space.grammar, tb))
    swaps = {(replace(ta, pa, nb), replace(tb, pb, na)) for pa, na, ba in in_a for pb, nb, bb in in_b
             if pa and pb and na.symbol == nb.symbol and ba == bb and na != nb}
    assert any(na.symbol == nb.symbol and ba != bb for _, na, ba in in_a for _, nb, bb in in_b)  # the restriction matters
    results = set()
    for seed in range(8):
        c1, c2 = space.crossover(a, b, seed)
        pair = (space.derivation(c1), space.derivation(c2))
        assert pair in swaps
        results.add(pair)
        for child in (c1, c2):
            _check_stages(space, child)
    assert len(results) > 3
    # a swapped sub-tree derives the same sub-graph in its new place: bindings are equal, so are the ops
    narrow, wide = SMALL_SPACE.parse("NET:0(BODY:0(CELL:1(OP:0)))"), SMALL_SPACE.parse("NET:1(BODY:0(CELL:1(OP:1)))")
    assert SMALL_SPACE.crossover(narrow, wide, 0) == (narrow, wide)  # CELL and OP differ in binding: nothing to swap


def test_neighbours_change_a_binding_and_keep_the_subtrees() -> None:
    arch = hierarchical_param.sample(5)
    tree = hierarchical_param.derivation(arch)
    neighbours = [hierarchical_param.derivation(n) for n in hierarchical_param.neighbors(arch)]
    widths = [t for t in neighbours if t.children == tree.children and t.choice != tree.choice]
    assert len(widths) == 2  # the other two base widths, same macro sub-tree
    for n in hierarchical_param.neighbors(arch)[:40]:
        _check_stages(hierarchical_param, n)


def test_moves_never_return_the_network_they_start_from() -> None:
    # a stage whose cells hold only skips and pools derives one graph for kernel 3 and kernel 5
    space = hierarchical_param
    assert space.mutate(space.sample(2), 7) != space.sample(2)  # derived its parent's network before the redraw
    for seed in range(20):
        arch = space.sample(seed)
        hashes = [n.canonical_hash() for n in space.neighbors(arch)]
        assert arch.canonical_hash() not in hashes and len(set(hashes)) == len(hashes)


# ---------------------------------------------------------------------- text and ids


def test_text_and_node_ids_round_trip_with_bindings_rederived() -> None:
    for tree in SMALL_TREES:
        arch = SMALL_SPACE.derive(tree)
        assert SMALL_SPACE.derivation(arch) == tree  # ids are those of the structure; bindings follow from the root
        assert SMALL_SPACE.parse(to_text(tree)).same_labels(arch) and from_text(SMALL_SPACE.format(arch)) == tree
    arch = hierarchical_param.sample(7)
    back = Arch.from_json(arch.to_json())
    assert hierarchical_param.derivation(back) == hierarchical_param.derivation(arch)
    assert hierarchical_param.parse(hierarchical_param.format(arch)).same_labels(arch)
    assert hierarchical_param.mutate(back, 0).same_labels(hierarchical_param.mutate(arch, 0))


def test_encodings_see_the_bindings() -> None:
    narrow = SMALL_SPACE.parse("NET:0(BODY:0(CELL:1(OP:0)))")
    wide = SMALL_SPACE.parse("NET:1(BODY:0(CELL:1(OP:0)))")
    for kind in SMALL_SPACE.encodings:
        assert not np.array_equal(SMALL_SPACE.encode(narrow, kind), SMALL_SPACE.encode(wide, kind))
    assert hierarchical_param.encodings == ("onehot", "adjacency", "counts")
    shapes = {kind: {hierarchical_param.encode(hierarchical_param.sample(s), kind).shape for s in range(5)}
              for kind in hierarchical_param.encodings}
    assert all(len(v) == 1 for v in shapes.values())


def test_grammars_without_parameters_are_unchanged() -> None:
    for grammar in (NB201_GRAMMAR, HIERARCHICAL_GRAMMAR):
        for symbol in grammar.symbols:
            assert grammar.params(symbol) == frozenset() and grammar.bindings(symbol) == ((),)
            assert grammar.productions(symbol, {"c": 1}) is grammar.productions(symbol)
            assert all(p.args == ((),) * len(p.children) for p in grammar.productions(symbol))


# ---------------------------------------------------------------------- definition-time errors

OP = [op("conv", out_channels=param("channels"), kernel=3), "identity"]


def test_a_read_no_ancestor_binds_names_the_rule_and_the_parameter() -> None:
    with pytest.raises(UnboundParameterError, match=r"rule 'OP' alternative 0 .*node 'conv0': reads parameter 'channels'.*"
                                                    r"NET -> CELL -> OP"):
        Grammar({"NET": seq("CELL"), "CELL": ["OP"], "OP": OP}, start="NET")
    with pytest.raises(UnboundParameterError, match="'channels'"):  # bound on one path only
        Grammar({"NET": [nt("CELL", channels=4), seq("CELL", "relu")], "CELL": ["OP"], "OP": OP}, start="NET")
    with pytest.raises(UnboundParameterError, match=r"rule 'NET' alternative 0 .*reads parameter 'w'"):  # read in a binding
        Grammar({"NET": nt("OP", channels=param("w", scale=2)), "OP": OP}, start="NET")
    Grammar({"NET": nt("CELL", channels=4), "CELL": ["OP"], "OP": OP}, start="NET")  # bound: fine


def test_a_binding_nothing_reads_is_an_unknown_parameter() -> None:
    with pytest.raises(UnknownParameterError, match=r"rule 'NET' alternative 0 .*node 'cell0': binds parameter 'chanels' of "
                                                    r"'CELL'.*its parameters: \['channels'\]") as info:
        Grammar({"NET": nt("CELL", chanels=4), "CELL": ["OP"], "OP": OP}, start="NET")
    assert isinstance(info.value, KeyError) and isinstance(info.value, GrammarError)
    with pytest.raises(UnknownParameterError, match="its parameters: none"):
        Grammar({"NET": nt("CELL", channels=4), "CELL": ["relu"]}, start="NET")


def test_values_of_one_parameter_share_a_type() -> None:
    with pytest.raises(ParameterTypeError, match=r"rule 'NET' alternative 1 .*'channels' is '8' \(str\), but 4 \(int\) in rule "
                                                 r"'NET' alternative 0") as info:
        Grammar({"NET": nt("CELL", channels=choice(4, "8")), "CELL": ["OP"], "OP": OP}, start="NET")
    assert isinstance(info.value, TypeError)
    with pytest.raises(ParameterTypeError, match=r"4.0 \(float\)"):
        Grammar({"NET": [nt("OP", channels=4), nt("OP", channels=4.0)], "OP": OP}, start="NET")
    with pytest.raises(ParameterTypeError, match="default of param"):
        Grammar({"NET": nt("OP", channels=4), "OP": op("conv", out_channels=param("channels", default=True), kernel=1)},
                start="NET")
    with pytest.raises(ParameterTypeError, match="unhashable"):
        Grammar({"NET": nt("OP", channels=[4]), "OP": OP}, start="NET")
    with pytest.raises(ParameterTypeError, match=r"rule 'OP' alternative 0 .* with channels='a'.*scales a number"):
        Grammar({"NET": nt("OP", channels="a"), "OP": op("conv", out_channels=param("channels", scale=2), kernel=1)}, start="NET")


def test_other_parameter_mistakes() -> None:
    with pytest.raises(errors.AttributeValueError, match=r"rule 'OP' alternative 0 .* with channels=0, node 'conv0'.*>= 1"):
        Grammar({"NET": nt("OP", channels=choice(4, 0)), "OP": OP}, start="NET")
    with pytest.raises(UndefinedSymbolError, match="'CELLL' has no rule"):
        Grammar({"NET": nt("CELLL", channels=4), "OP": OP}, start="NET")
    with pytest.raises(GrammarError, match="whole value"):
        Grammar({"NET": nt("OP", channels=4), "OP": op("conv", out_channels=4, kernel=(param("channels"),))}, start="NET")
    with pytest.raises(ParameterError, match="do not close"):  # a recursion that doubles a width on every level
        Grammar({"S": nt("T", c=1), "T": [op("conv", out_channels=param("c"), kernel=1),
                                           seq(op("conv", out_channels=param("c"), kernel=1), nt("T", c=param("c", scale=2)))]},
                start="S")
    with pytest.raises(GrammarError, match="capitalised"):
        nt("cell", channels=4)
    with pytest.raises(GrammarError, match="scale"):
        param("channels", scale=0)


# ---------------------------------------------------------------------- the ready-made space


def test_the_new_space_size_and_registry() -> None:
    from nasir.space import SPACES

    body = (6**2 + 6**2 + 6**3) * (1 + 2 * (6**2 + 6**2 + 6**3))  # ops -> cells -> one cell, two, two with a residual
    stage = 2 * body  # kernel 3 or 5 for the whole stage
    assert count(HIERARCHICAL_PARAM_GRAMMAR) == hierarchical_param.size() == 3 * (stage**3 + stage**2) == 110_132_995_361_550_336
    assert SPACES.get("hierarchical-param-c10") is hierarchical_param
    assert hierarchical_param.derivation(hierarchical_param.sample(0)).symbol == "NET"


@pytest.mark.parametrize("seed", [0, 2])
def test_the_new_space_lowers_runs_and_exports(seed: int) -> None:
    net = hierarchical_param.network(hierarchical_param.sample(seed))
    assert torch_forward(net, seed).shape == (2, 10)
    onnx.checker.check_model(export(net, random_weights(net.weight_specs(), seed)), full_check=True)
    assert torch_vs_onnx(net, seed) < 1e-4


def test_derivations_are_plain_structure() -> None:
    """The text form has no bindings: a node's binding is recomputed from its ancestors."""
    tree = Derivation("NET", 2, (Derivation("BODY", 0, (Derivation("CELL", 1, (Derivation("OP", 0),)),)),))
    assert to_text(tree) == "NET:2(BODY:0(CELL:1(OP:0)))"
    assert [b for _, _, b in bound_positions(SMALL, tree)] == [(), (("c", 2), ("k", 5))] + [(("c", 2), ("k", 5))] * 2
    assert [p for p, _ in positions(tree)] == [p for p, _, _ in bound_positions(SMALL, tree)]
