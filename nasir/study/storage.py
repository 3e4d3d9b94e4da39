"""SQLite storage for studies: one transaction per trial, WAL, a schema version, crash recovery.

Everything a study learns is committed as it happens, so a process killed mid-run loses at most
the trial it was evaluating; on the next open that trial (left RUNNING) is marked FAILED.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from nasir.errors import SchemaError
from nasir.study.trial import Trial, TrialState

__all__ = ["SQLiteStorage", "StudyStorageError", "STORAGE_SCHEMA_VERSION"]

STORAGE_SCHEMA_VERSION = 1
_TABLES = """
CREATE TABLE IF NOT EXISTS nasir_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, space TEXT NOT NULL, strategy TEXT NOT NULL, objective TEXT NOT NULL,
    seed INTEGER NOT NULL, config TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL, number INTEGER NOT NULL, arch_hash TEXT NOT NULL, arch_json TEXT NOT NULL,
    state TEXT NOT NULL, metrics TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0, duplicate_of INTEGER, started REAL NOT NULL, finished REAL,
    PRIMARY KEY (study, number));
CREATE INDEX IF NOT EXISTS trials_by_hash ON trials (study, arch_hash);
"""


class StudyStorageError(SchemaError):
    """The file is not a nasir study database, or holds a study that does not match."""


class SQLiteStorage:
    """A study database file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.path.exists() and self.path.stat().st_size and self.path.read_bytes()[:16] != b"SQLite format 3\x00":
            raise StudyStorageError(f"{str(self.path)!r} is not an SQLite database (corrupt or another kind of file)")
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as err:
            raise StudyStorageError(f"{str(self.path)!r} cannot be read as an SQLite database: {err}") from None
        if tables and "nasir_schema" not in tables:
            raise StudyStorageError(f"{str(self.path)!r} is an SQLite database of another application (tables {sorted(tables)})")
        with conn:
            conn.executescript(_TABLES)
            row = conn.execute("SELECT version FROM nasir_schema").fetchone()
            if row is None:
                conn.execute("INSERT INTO nasir_schema VALUES (?)", (STORAGE_SCHEMA_VERSION,))
            elif row[0] != STORAGE_SCHEMA_VERSION:
                raise StudyStorageError(f"{str(self.path)!r} has study schema {row[0]}; this nasir reads {STORAGE_SCHEMA_VERSION}")
        return conn

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------------ studies
    def ensure_study(self, name: str, space: str, strategy: str, objective: str, seed: int, config: dict[str, Any]) -> None:
        """Creates the study, or checks that the stored one is the same search (same space, strategy, objective, seed)."""
        row = self._conn.execute("SELECT space, strategy, objective, seed FROM studies WHERE name=?", (name,)).fetchone()
        if row is None:
            with self._conn:
                self._conn.execute("INSERT INTO studies VALUES (?,?,?,?,?,?,?)", (name, space, strategy, objective, seed, json.dumps(config), time.time()))
            return
        stored = dict(zip(("space", "strategy", "objective", "seed"), row))
        asked = {"space": space, "strategy": strategy, "objective": objective, "seed": seed}
        diff = {k: (stored[k], asked[k]) for k in stored if stored[k] != asked[k]}
        if diff:
            details = ", ".join(f"{k} is {a!r} in the file but {b!r} here" for k, (a, b) in diff.items())
            raise StudyStorageError(f"study {name!r} in {str(self.path)!r} does not match: {details}")

    def study_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM studies ORDER BY created")]

    def study_info(self, name: str) -> dict[str, Any]:
        row = self._conn.execute("SELECT space, strategy, objective, seed, config FROM studies WHERE name=?", (name,)).fetchone()
        if row is None:
            raise StudyStorageError(f"no study {name!r} in {str(self.path)!r} (found: {self.study_names()})")
        return {"space": row[0], "strategy": row[1], "objective": row[2], "seed": row[3], "config": json.loads(row[4])}

    # ------------------------------------------------------------------ trials
    def fail_running(self, study: str, reason: str) -> int:
        """Marks trials left RUNNING (by a process that died) as FAILED; returns how many."""
        with self._conn:
            cur = self._conn.execute(
                "UPDATE trials SET state=?, error=?, finished=? WHERE study=? AND state=?",
                (TrialState.FAILED.value, reason, time.time(), study, TrialState.RUNNING.value),
            )
        return cur.rowcount

    def start_trial(self, study: str, number: int, arch_hash: str, arch_json: str) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO trials (study, number, arch_hash, arch_json, state, started) VALUES (?,?,?,?,?,?)",
                (study, number, arch_hash, arch_json, TrialState.RUNNING.value, time.time()),
            )

    def finish_trial(self, study: str, trial: Trial) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE trials SET state=?, metrics=?, error=?, seconds=?, duplicate_of=?, finished=? WHERE study=? AND number=?",
                (trial.state.value, json.dumps(trial.metrics), trial.error, trial.seconds, trial.duplicate_of, time.time(), study, trial.number),
            )

    def trials(self, study: str) -> list[Trial]:
        """All trials of a study, in order."""
        return self._select("study=?", (study,))

    def completed_by_hash(self, study: str, arch_hash: str) -> Trial | None:
        """The first completed, non-duplicate trial of an architecture, if any."""
        found = self._select("study=? AND arch_hash=? AND state=? AND duplicate_of IS NULL", (study, arch_hash, TrialState.COMPLETE.value))
        return found[0] if found else None

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Trial]:
        rows = self._conn.execute(
            "SELECT number, arch_json, arch_hash, state, metrics, error, seconds, duplicate_of "
            f"FROM trials WHERE {where} ORDER BY number",
            params,
        )
        return [Trial(n, aj, ah, TrialState(s), json.loads(m), e, sec, dup) for n, aj, ah, s, m, e, sec, dup in rows]
