"""Typed errors of the grammar package, each also a :mod:`nasir.errors` class callers already catch."""

from __future__ import annotations

from nasir.errors import NasirError, SpaceTooLargeError, UnknownNameError

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


class ParameterError(GrammarError):
    """Parameters passed down the tree are used inconsistently (the subclasses say how)."""


class UnboundParameterError(ParameterError):
    """An op (or a binding) reads a parameter that no ancestor binds on some path from the start, and it has no default."""


class UnknownParameterError(ParameterError, UnknownNameError):
    """A non-terminal reference binds a parameter that nothing the non-terminal derives reads."""


class ParameterTypeError(ParameterError, TypeError):
    """A parameter is bound to values of different types (or to an unhashable value, or scaled but not a number)."""


class ArchTooLargeError(NasirError, ValueError):
    """An architecture has more nodes than a graph encoding is padded to (the space's node bound)."""
