"""Typed errors of the grammar package: defined in :mod:`nasir.errors` with every other nasir error, importable here too."""

from __future__ import annotations

from nasir.errors import (
    ArchTooLargeError, GrammarError, InfiniteLanguageError, InvalidDerivationError, ParameterError, ParameterTypeError,
    UnboundParameterError, UndefinedSymbolError, UnknownParameterError, UnsatisfiableConstraintsError,
)

__all__ = [
    "ArchTooLargeError",
    "GrammarError",
    "UndefinedSymbolError",
    "InfiniteLanguageError",
    "UnsatisfiableConstraintsError",
    "InvalidDerivationError",
    "ParameterError",
    "UnboundParameterError",
    "UnknownParameterError",
    "ParameterTypeError",
]

