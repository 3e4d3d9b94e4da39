"""Typed errors for nasir.

Every error derives from :class:`NasirError` and also from the builtin exception a caller would
naturally catch (``ValueError``, ``KeyError``, ...), so ``except ValueError`` keeps working.
Messages name the offending thing, the rule it broke and, where possible, the fix.
"""

from __future__ import annotations

__all__ = [
    "NasirError",
    "InvalidArchError",
    "CycleError",
    "DisconnectedNodeError",
    "ArityError",
    "ShapeMismatchError",
    "AttributeValueError",
    "UnknownOpError",
    "UnknownNameError",
    "DuplicateNameError",
    "ArchStringError",
    "ArchIndexError",
    "SchemaError",
    "BenchmarkFileError",
    "BenchmarkQueryError",
    "MissingDependencyError",
    "SpaceTooLargeError",
    "StudyStorageError",
    "StudyMismatchError",
    "StudyInUseError",
    "BudgetError",
    "StudyConfigError",
    "StrategyOptionError",
]


class NasirError(Exception):
    """Root of every error nasir raises on purpose."""


class InvalidArchError(NasirError, ValueError):
    """An architecture graph breaks a structural rule of the IR."""


class CycleError(InvalidArchError):
    """The graph has a directed cycle; architectures must be DAGs."""


class DisconnectedNodeError(InvalidArchError):
    """A node is unreachable from the input or cannot reach the output."""


class ArityError(InvalidArchError):
    """A node has the wrong number of inputs for its op."""


class ShapeMismatchError(InvalidArchError):
    """Shape inference found incompatible tensor shapes at a node."""


class AttributeValueError(InvalidArchError):
    """An op attribute is missing, unknown, of the wrong type or out of range."""


class UnknownNameError(NasirError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownOpError(UnknownNameError):
    """An op name is not in the op registry."""


class DuplicateNameError(NasirError, ValueError):
    """A name was registered twice in the same registry."""


class ArchStringError(NasirError, ValueError):
    """A search space's architecture string cannot be parsed."""


class ArchIndexError(NasirError, IndexError):
    """An architecture index is outside the space."""


class SchemaError(NasirError, ValueError):
    """Serialised data (JSON, tables) does not follow the expected schema."""


class BenchmarkFileError(NasirError, FileNotFoundError):
    """A benchmark file is missing or unreadable."""


class BenchmarkQueryError(NasirError, KeyError):
    """A benchmark has no value for the requested architecture, dataset or metric."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(NasirError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class SpaceTooLargeError(NasirError, ValueError):
    """Enumeration was asked of a space too large to enumerate."""


class StudyStorageError(SchemaError):
    """The file is not a nasir study database (corrupt, another application's, another schema), or lacks the study."""


class StudyMismatchError(StudyStorageError):
    """The stored study is another search (space, strategy, objective, directions or seed differ)."""


class StudyInUseError(StudyStorageError):
    """Another live process is running the study; two writers would number trials over each other."""


class BudgetError(NasirError, ValueError):
    """A study was given no budget, or one that is not a positive finite number."""


class StudyConfigError(NasirError, ValueError):
    """A study's arguments are invalid or do not fit together (seed, name, batch size, the strategy's space or objectives)."""


class StrategyOptionError(NasirError, TypeError):
    """A strategy was given an option it does not take, or not one it needs."""
