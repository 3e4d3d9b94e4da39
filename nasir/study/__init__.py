"""Studies: searches whose every trial is committed to SQLite and which resume after a crash."""

from __future__ import annotations

from nasir.errors import BudgetError, StudyMismatchError, StudyStorageError
from nasir.study.cascade import Cascade, rerank, rerank_name
from nasir.study.storage import APPLICATION_ID, STORAGE_SCHEMA_VERSION, SQLiteStorage
from nasir.study.study import Callback, Study
from nasir.study.trial import Trial, TrialState

__all__ = ["Study", "Callback", "Cascade", "rerank", "rerank_name", "Trial", "TrialState", "SQLiteStorage", "StudyStorageError",
           "StudyMismatchError", "BudgetError", "STORAGE_SCHEMA_VERSION", "APPLICATION_ID"]
