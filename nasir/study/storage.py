"""SQLite storage for studies: WAL, one transaction per trial event, a schema version, crash recovery.

Everything a study learns is committed as it happens (proposal, start, result), so a process
killed mid-run loses at most the evaluations in flight; on the next open those trials (left
RUNNING) are marked FAILED, and proposals never started (WAITING) are evaluated then.

The file is recognised as a study database by ``PRAGMA application_id`` and a ``schema_version``
table; any other SQLite file is refused rather than written into.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasir.study._errors import StudyMismatchError, StudyStorageError
from nasir.study.trial import Trial, TrialState

__all__ = ["SQLiteStorage", "STORAGE_SCHEMA_VERSION", "APPLICATION_ID"]

STORAGE_SCHEMA_VERSION = 1
APPLICATION_ID = 0x6E617372  # "nasr"
_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL, application TEXT NOT NULL);
CREATE TABLE study (
    name TEXT PRIMARY KEY, space TEXT NOT NULL, strategy TEXT NOT NULL, strategy_config TEXT NOT NULL,
    objective TEXT NOT NULL, primary_metric TEXT NOT NULL, directions TEXT NOT NULL, seed INTEGER NOT NULL,
    created REAL NOT NULL);
CREATE TABLE trial (
    study TEXT NOT NULL REFERENCES study(name), number INTEGER NOT NULL, arch_hash TEXT NOT NULL,
    arch_json TEXT NOT NULL, state TEXT NOT NULL, metrics TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0, duplicate_of INTEGER, created REAL NOT NULL, started REAL, finished REAL,
    PRIMARY KEY (study, number));
CREATE INDEX trial_by_hash ON trial (study, arch_hash, state);
"""
_COLUMNS = "number, arch_json, arch_hash, state, metrics, error, seconds, duplicate_of, created, started, finished"
_IDENTITY = ("space", "strategy", "strategy_config", "objective", "primary_metric", "seed")


class SQLiteStorage:
    """A study database file (created on first use); may hold several named studies."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        where = repr(str(self.path))
        if self.path.is_file() and self.path.stat().st_size and self.path.read_bytes()[:16] != b"SQLite format 3\x00":
            raise StudyStorageError(f"{where} is not an SQLite database (corrupt or another kind of file); "
                                    "give a new path for the study")
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            if tables and (app != APPLICATION_ID or "schema_version" not in tables):
                conn.close()
                raise StudyStorageError(f"{where} is an SQLite database of another application (tables {sorted(tables)}); "
                                        "nasir will not write into it, give a new path")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if not tables:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?, 'nasir')", (STORAGE_SCHEMA_VERSION,))
            version = conn.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.DatabaseError as err:
            raise StudyStorageError(f"{where} cannot be read as an SQLite database ({err}); it is corrupt or not a study file") from None
        if version is None or version[0] != STORAGE_SCHEMA_VERSION:
            raise StudyStorageError(f"{where} has study schema {version and version[0]}; this nasir reads {STORAGE_SCHEMA_VERSION}")
        return conn

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------------ studies
    def ensure_study(self, name: str, record: dict[str, Any]) -> None:
        """Creates the study, or checks that the stored one is the same search."""
        record = {**record, "strategy_config": json.dumps(record["strategy_config"], sort_keys=True),
                  "directions": json.dumps(record["directions"], sort_keys=True)}
        row = self._conn.execute(f"SELECT {', '.join(_IDENTITY)} FROM study WHERE name=?", (name,)).fetchone()
        if row is None:
            cols = ("name", *_IDENTITY, "directions", "created")
            with self._conn:
                self._conn.execute(f"INSERT INTO study ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                   (name, *(record[k] for k in _IDENTITY), record["directions"], time.time()))
            return
        diff = [f"{k} is {a!r} in the file but {record[k]!r} here" for k, a in zip(_IDENTITY, row) if a != record[k]]
        if diff:
            raise StudyMismatchError(f"study {name!r} in {str(self.path)!r} is another search: {', '.join(diff)}; "
                                     "open it with the same settings, or use another study name or file")

    def study_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM study ORDER BY created")]

    def study_record(self, name: str) -> dict[str, Any]:
        """What the study was created with: space, strategy and its config, objective, directions, seed."""
        cols = (*_IDENTITY, "directions")
        row = self._conn.execute(f"SELECT {', '.join(cols)} FROM study WHERE name=?", (name,)).fetchone()
        if row is None:
            raise StudyStorageError(f"{str(self.path)!r} holds no study {name!r} (it has: {self.study_names()})")
        record = dict(zip(cols, row))
        return {**record, "strategy_config": json.loads(record["strategy_config"]), "directions": json.loads(record["directions"])}

    # ------------------------------------------------------------------ trials
    def fail_running(self, study: str, reason: str) -> int:
        """Marks trials left RUNNING (by a process that died) as FAILED; returns how many."""
        with self._conn:
            cur = self._conn.execute("UPDATE trial SET state=?, error=?, finished=? WHERE study=? AND state=?",
                                     (TrialState.FAILED.value, reason, time.time(), study, TrialState.RUNNING.value))
        return cur.rowcount

    def requeue_running(self, study: str) -> int:
        """Puts trials left RUNNING (by a process that died) back to WAITING, to be evaluated again; returns how many."""
        with self._conn:
            cur = self._conn.execute("UPDATE trial SET state=?, started=NULL WHERE study=? AND state=?",
                                     (TrialState.WAITING.value, study, TrialState.RUNNING.value))
        return cur.rowcount

    def add_trials(self, study: str, rows: Sequence[tuple[int, str, str]]) -> None:
        """Commits proposals ``(number, arch_hash, arch_json)`` as WAITING, all or none."""
        now = time.time()
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT INTO trial (study, number, arch_hash, arch_json, state, created) VALUES (?,?,?,?,?,?)",
                    [(study, n, h, j, TrialState.WAITING.value, now) for n, h, j in rows])
        except sqlite3.IntegrityError:
            raise StudyStorageError(f"trial numbers {[r[0] for r in rows]} of study {study!r} already exist in "
                                    f"{str(self.path)!r}: another process is running this study") from None

    def mark_running(self, study: str, number: int) -> None:
        with self._conn:
            self._conn.execute("UPDATE trial SET state=?, started=? WHERE study=? AND number=?",
                               (TrialState.RUNNING.value, time.time(), study, number))

    def finish_trial(self, study: str, number: int, state: TrialState, metrics: dict[str, float], error: str,
                     seconds: float, duplicate_of: int | None) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE trial SET state=?, metrics=?, error=?, seconds=?, duplicate_of=?, finished=?, started=COALESCE(started, ?) "
                "WHERE study=? AND number=?",
                (state.value, json.dumps(metrics), error, seconds, duplicate_of, time.time(), time.time(), study, number))

    def count(self, study: str) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM trial WHERE study=?", (study,)).fetchone()[0]

    def trials(self, study: str, state: TrialState | None = None) -> list[Trial]:
        """Trials of a study in number order (optionally only those in ``state``)."""
        if state is None:
            return self._select("study=?", (study,))
        return self._select("study=? AND state=?", (study, state.value))

    def trial(self, study: str, number: int) -> Trial:
        return self._select("study=? AND number=?", (study, number))[0]

    def completed_by_hash(self, study: str, arch_hash: str) -> Trial | None:
        """The first completed trial of an architecture, if any."""
        found = self._select("study=? AND arch_hash=? AND state=? LIMIT 1", (study, arch_hash, TrialState.COMPLETE.value))
        return found[0] if found else None

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Trial]:
        where, _, limit = where.partition(" LIMIT ")
        sql = f"SELECT {_COLUMNS} FROM trial WHERE {where} ORDER BY number" + (f" LIMIT {int(limit)}" if limit else "")
        return [Trial(n, aj, ah, TrialState(s), json.loads(m), e, sec, dup, c, st, f)
                for n, aj, ah, s, m, e, sec, dup, c, st, f in self._conn.execute(sql, params)]
