"""Typed errors of the grammar package, each also a :mod:`nasir.errors` class callers already catch."""

from __future__ import annotations

from nasir.errors import NasirError, SpaceTooLargeError, UnknownNameError

__all__ = [
    "GrammarError",
    "UndefinedSymbolError",
    "InfiniteLanguageError",
    "UnsatisfiableConstraintsError",
    "InvalidDerivationError",
]


class GrammarError(NasirError, ValueError):
    """A grammar is malformed: a right-hand side breaks the interface rules, a symbol never terminates."""


class UndefinedSymbolError(GrammarError, UnknownNameError):
    """A non-terminal is used (or chosen as start) but has no productions."""


class InfiniteLanguageError(SpaceTooLargeError):
    """Enumeration or an exact count was asked of a recursive grammar without a size bound."""


class UnsatisfiableConstraintsError(GrammarError):
    """No derivation satisfying the constraints was found within the allowed number of tries."""


class InvalidDerivationError(GrammarError):
    """A derivation tree or architecture does not belong to the grammar."""
