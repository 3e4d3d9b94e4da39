"""Studies: searches whose every trial is committed to SQLite and which resume after a crash."""

from __future__ import annotations

from nasir.study.storage import STORAGE_SCHEMA_VERSION, SQLiteStorage, StudyStorageError
from nasir.study.study import Study
from nasir.study.trial import Trial, TrialState

__all__ = ["Study", "Trial", "TrialState", "SQLiteStorage", "StudyStorageError", "STORAGE_SCHEMA_VERSION"]
