"""Errors of the study package (candidates for ``nasir.errors``)."""

from __future__ import annotations

from nasir.errors import NasirError, SchemaError

__all__ = ["StudyStorageError", "StudyMismatchError", "BudgetError"]


class StudyStorageError(SchemaError):
    """The file is not a nasir study database (corrupt, another application's, another schema)."""


class StudyMismatchError(StudyStorageError):
    """The stored study is another search (space, strategy, objective or seed differ)."""


class BudgetError(NasirError, ValueError):
    """A study was given no budget, or a non-positive one."""
