"""Malformed grammars and foreign inputs fail with typed errors that name the rule at fault."""

from __future__ import annotations

import pytest

from nasir import errors
from nasir.grammar import (
    Derivation,
    Grammar,
    GrammarError,
    GrammarSpace,
    InfiniteLanguageError,
    InvalidDerivationError,
    UndefinedSymbolError,
    count,
    dag,
    enumerate_trees,
    from_text,
    op,
    seq,
)
from nasir.spaces import nb201
from nasir.spaces.grammars import nb201 as nb201_grammar_space

OPS = ["relu", op("relu_conv_bn", kernel=3)]
RECURSIVE = {"S": [seq("relu"), seq("relu", "S")]}


def test_undefined_nonterminal_in_a_rule() -> None:
    with pytest.raises(UndefinedSymbolError, match=r"rule 'S' alternative 0 .*'CELLL' has no rule") as info:
        Grammar({"S": seq("CELLL"), "CELL": OPS}, start="S")
    assert isinstance(info.value, errors.UnknownNameError) and isinstance(info.value, KeyError)


def test_undefined_start_symbol() -> None:
    with pytest.raises(UndefinedSymbolError, match="start symbol 'NET'"):
        Grammar({"S": OPS}, start="NET")


def test_cyclic_rhs() -> None:
    cyclic = dag({"a": "add", "b": "add"}, [("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")])
    with pytest.raises(errors.CycleError, match=r"rule 'S' alternative 0 .*cycle"):
        Grammar({"S": cyclic}, start="S")


def test_unknown_op_and_bad_attribute() -> None:
    with pytest.raises(errors.UnknownOpError, match="unknown op 'rleu'; did you mean 'relu'"):
        Grammar({"S": ["rleu"]}, start="S")
    with pytest.raises(errors.AttributeValueError, match="kernel"):
        Grammar({"S": op("conv", kernel="3")}, start="S")


def test_infinite_language_refuses_to_enumerate_and_count() -> None:
    grammar = Grammar(RECURSIVE, start="S")
    assert not grammar.finite
    with pytest.raises(InfiniteLanguageError, match="recursive"):
        next(enumerate_trees(grammar))
    with pytest.raises(errors.SpaceTooLargeError):
        count(grammar)
    space = GrammarSpace(grammar, name="chains")
    assert space.size() is None
    with pytest.raises(InfiniteLanguageError):
        next(space.enumerate())


def test_interface_rules() -> None:
    with pytest.raises(GrammarError, match="direct 'in' -> 'out'"):
        Grammar({"S": dag({"a": "relu"}, [("in", "a"), ("a", "out"), ("in", "out")])}, start="S")
    with pytest.raises(errors.ArityError, match="'a'"):  # a non-terminal node takes exactly one input
        Grammar({"S": dag({"x": "relu", "a": "T", "s": "add"}, [("in", "x"), ("in", "a"), ("x", "a"), ("a", "s"), ("s", "out")]),
                 "T": OPS}, start="S")
    with pytest.raises(errors.DisconnectedNodeError):
        Grammar({"S": dag({"a": "relu", "b": "relu"}, [("in", "a"), ("a", "b"), ("a", "out")])}, start="S")  # b is a dead end
    with pytest.raises(GrammarError, match="reserved"):
        Grammar({"S": dag({"in": "relu"}, [("in", "out")])}, start="S")
    with pytest.raises(GrammarError, match="capital"):
        Grammar({"cell": OPS}, start="cell")


def test_barren_and_unit_cycles() -> None:
    with pytest.raises(GrammarError, match="never derive"):
        Grammar({"S": seq("relu", "T"), "T": seq("relu", "T")}, start="S")
    with pytest.raises(GrammarError, match="unit productions form a cycle"):
        Grammar({"S": ["A"], "A": ["B", "relu"], "B": ["A"]}, start="S")


def test_foreign_derivations_and_archs() -> None:
    with pytest.raises(InvalidDerivationError, match="must start at 'CELL'"):
        nb201_grammar_space.derive(Derivation("EDGE", 0))
    with pytest.raises(InvalidDerivationError, match="5 productions, not choice 9"):
        nb201_grammar_space.parse("CELL:0(EDGE:9,EDGE:0,EDGE:0,EDGE:0,EDGE:0,EDGE:0)")
    with pytest.raises(InvalidDerivationError, match="needs children"):
        nb201_grammar_space.parse("CELL:0(EDGE:1)")
    with pytest.raises(InvalidDerivationError, match="cannot read"):
        from_text("CELL:0(EDGE:1;")
    hand_written = nb201.space.sample(0)  # same graph up to node names, but not derived by the grammar
    with pytest.raises(InvalidDerivationError, match="relabelled"):
        nb201_grammar_space.mutate(hand_written, 0)


def test_too_large_to_enumerate() -> None:
    from nasir.spaces.grammars import hierarchical

    with pytest.raises(errors.SpaceTooLargeError, match="18,355,499,226,925,056 derivations"):
        hierarchical.enumerate()


def test_rule_helpers_refuse_bad_arguments() -> None:
    from nasir.grammar import choice, nt, param, repeat

    with pytest.raises(GrammarError, match=r"choice\(\) needs at least one value"):
        choice()
    with pytest.raises(GrammarError, match=r"param\(\) needs an identifier as name, got '2x'"):
        param("2x")
    with pytest.raises(GrammarError, match=r"param\('c'\) scale must be a positive int or float, got True"):
        param("c", scale=True)
    with pytest.raises(GrammarError, match=r"nt\(\) takes a non-terminal \(a capitalised name\), got 'cell'"):
        nt("cell")
    with pytest.raises(GrammarError, match=r"seq\(\) needs at least one item"):
        seq()
    with pytest.raises(GrammarError, match=r"repeat\(\) needs positive int counts, got \[1, 0\]"):
        repeat("CELL", (1, 0))
    with pytest.raises(GrammarError, match=r"repeat\(\) needs positive int counts, got \[\]"):
        repeat("CELL", ())


def test_param_resolve_of_a_scaled_non_number() -> None:
    from nasir.grammar import param

    with pytest.raises(errors.ParameterTypeError, match=r"param\(c,scale=2\) scales a number, but 'c' is 'wide'") as info:
        param("c", scale=2).resolve({"c": "wide"})
    assert isinstance(info.value, TypeError)
    assert param("c", scale=2).resolve({"c": 3}) == 6


def test_space_options_that_conflict_or_are_missing() -> None:
    from nasir.grammar import Constraints, Moves

    grammar = Grammar(RECURSIVE, start="S")
    with pytest.raises(errors.SpaceConfigError, match="not both"):
        GrammarSpace(grammar, name="both", network=lambda arch: None, input_shape=(3, 8, 8))
    with pytest.raises(errors.SpaceConfigError, match=r"constraint max_edges must be a non-negative int or None, got 2.5"):
        Constraints(max_edges=2.5)
    with pytest.raises(errors.SpaceConfigError, match=r"sampling must be one of .*, got 'even'"):
        Moves(grammar, sampling="even")
    bare = GrammarSpace(grammar, name="bare")
    arch = bare.sample(0)
    with pytest.raises(errors.SpaceConfigError, match="space 'bare' has no skeleton; create it with network= or input_shape="):
        bare.network(arch)
    with pytest.raises(errors.SpaceConfigError, match="parameter and FLOP bounds need the network around the architecture"):
        Constraints(max_params=10).violation(arch)
    shaped = GrammarSpace(grammar, name="shaped", input_shape=(3, 8, 8))
    with pytest.raises(errors.SkeletonOptionError, match=r"a one-block network only takes input_shape, not \['channels'\]") as info:
        shaped.network(arch, channels=4)
    assert isinstance(info.value, TypeError)
    assert shaped.network(arch, input_shape=(3, 4, 4)).input_shape == (3, 4, 4)
