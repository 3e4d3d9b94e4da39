"""Search spaces defined by DAG grammars: write productions, get a whole search space.

    >>> from nasir.grammar import Grammar, GrammarSpace, op, seq, dag, choice, repeat
    >>> g = Grammar({
    ...     "CELL": dag({"sum": "add"}, [("in", "sum", "OP"), ("in", "sum", "OP"), ("sum", "out")]),
    ...     "OP": [op("relu_conv_bn", kernel=choice(1, 3)), "identity", op("avg_pool", kernel=3)],
    ... }, start="CELL")
    >>> space = GrammarSpace(g, name="two-branch", input_shape=(8, 16, 16))
    >>> space.size()
    16

Parameters flow down the tree: ``nt("STAGE", channels=choice(32, 64))`` binds ``channels`` once for
everything ``STAGE`` derives, where ``op("conv", out_channels=param("channels"))`` reads it.

From the grammar alone come seeded sampling, mutation and crossover of derivation trees (Schrodi
et al., NeurIPS 2023), counting by dynamic programming and enumeration of finite languages,
predictor encodings, and IR graphs that every frontend and backend lowers. The package imports no
deep-learning framework. See ``docs/grammar.md``.
"""

from __future__ import annotations

from nasir.errors import (
    ArchTooLargeError,
    GrammarError,
    InfiniteLanguageError,
    InvalidDerivationError,
    ParameterError,
    ParameterTypeError,
    UnboundParameterError,
    UndefinedSymbolError,
    UnknownParameterError,
    UnsatisfiableConstraintsError,
)
from nasir.grammar.constraints import Constraints
from nasir.grammar.counting import count, enumerate_trees
from nasir.grammar.derivation import Derivation, bound_positions, derive_arch, from_text, parse_arch, to_text
from nasir.grammar.grammar import Binding, Grammar, Production, Terminal
from nasir.grammar.moves import Moves
from nasir.grammar.space import GrammarSpace
from nasir.grammar.symbols import NonTerminal, Param, choice, dag, nt, op, param, repeat, seq

__all__ = [
    "ArchTooLargeError", "Binding", "Constraints", "Derivation", "Grammar", "GrammarError", "GrammarSpace", "InfiniteLanguageError",
    "InvalidDerivationError", "Moves", "NonTerminal", "Param", "ParameterError", "ParameterTypeError", "Production", "Terminal",
    "UnboundParameterError", "UndefinedSymbolError", "UnknownParameterError", "UnsatisfiableConstraintsError",
    "bound_positions", "choice", "count", "dag", "derive_arch", "enumerate_trees", "from_text", "nt", "op", "param",
    "parse_arch", "repeat", "seq", "to_text",
]
