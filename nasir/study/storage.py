"""SQLite storage for studies: WAL, one transaction per trial event, a schema version, crash recovery.

Everything a study learns is committed as it happens (proposal, start, result), so a process
killed mid-run loses at most the evaluations in flight; on the next open those trials (left
RUNNING) are marked FAILED, and proposals never started (WAITING) are evaluated then.

The file is recognised as a study database by ``PRAGMA application_id`` and a ``schema_version``
table; any other SQLite file is refused rather than written into.

One process runs a study at a time: it claims the study in the ``holder`` table (host, pid and the
process's start time), and another process that opens the study while the holder lives is refused
instead of numbering trials over it or failing its running ones. A dead holder's claim is taken over.
Liveness is checked on the holder's host only; a claim from another host is taken over with a warning.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasir.errors import StudyInUseError, StudyMismatchError, StudyStorageError
from nasir.study.trial import Trial, TrialState

__all__ = ["SQLiteStorage", "STORAGE_SCHEMA_VERSION", "APPLICATION_ID"]

log = logging.getLogger(__name__)

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
_IDENTITY = ("space", "strategy", "strategy_config", "objective", "primary_metric", "directions", "seed")
# added beside schema 1 without a version change: files written before it simply lack the table
_SHORTLIST = "CREATE TABLE IF NOT EXISTS shortlist (study TEXT PRIMARY KEY, size INTEGER NOT NULL)"
_HOLDER = "CREATE TABLE IF NOT EXISTS holder (study TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, start TEXT NOT NULL, since REAL NOT NULL)"


class SQLiteStorage:
    """A study database file (created on first use); may hold several named studies."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        where = repr(str(self.path))
        if not self.path.parent.is_dir():
            raise StudyStorageError(f"the folder of {where} does not exist; create it first")
        if self.path.is_dir():
            raise StudyStorageError(f"{where} is a folder, not a study file; give a file path (study.db, say)")
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
        """Closes the connection to the file (a claim on a study is given up by :meth:`release`)."""
        self._conn.close()

    # ------------------------------------------------------------------ studies
    def ensure_study(self, name: str, record: dict[str, Any]) -> None:
        """Creates the study, or checks that the stored one is the same search."""
        record = {**record, "strategy_config": json.dumps(record["strategy_config"], sort_keys=True),
                  "directions": json.dumps(record["directions"], sort_keys=True)}
        row = self._conn.execute(f"SELECT {', '.join(_IDENTITY)} FROM study WHERE name=?", (name,)).fetchone()
        if row is None:
            cols = ("name", *_IDENTITY, "created")
            with self._conn:
                self._conn.execute(f"INSERT INTO study ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                   (name, *(record[k] for k in _IDENTITY), time.time()))
            return
        diff = [f"{k} is {a!r} in the file but {record[k]!r} here" for k, a in zip(_IDENTITY, row) if a != record[k]]
        if diff:
            raise StudyMismatchError(f"study {name!r} in {str(self.path)!r} is another search: {', '.join(diff)}; "
                                     "open it with the same settings, or use another study name or file")

    def study_names(self) -> list[str]:
        """Names of the studies in the file, oldest first."""
        return [r[0] for r in self._conn.execute("SELECT name FROM study ORDER BY created")]

    def study_record(self, name: str) -> dict[str, Any]:
        """What the study was created with: space, strategy and its config, objective, directions, seed."""
        row = self._conn.execute(f"SELECT {', '.join(_IDENTITY)} FROM study WHERE name=?", (name,)).fetchone()
        if row is None:
            raise StudyStorageError(f"{str(self.path)!r} holds no study {name!r} (it has: {self.study_names()})")
        record = dict(zip(_IDENTITY, row))
        return {**record, "strategy_config": json.loads(record["strategy_config"]), "directions": json.loads(record["directions"])}

    def claim(self, study: str) -> None:
        """Makes this process the study's one runner; raises :class:`StudyInUseError` while another live process is."""
        me = _this_process()
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")  # no second opener between the check and the claim
            self._conn.execute(_HOLDER)
            held = self._conn.execute("SELECT host, pid, start, since FROM holder WHERE study=?", (study,)).fetchone()
            if held is not None and tuple(held[:3]) != me:
                host, pid, start, since = held
                if host != me[0]:
                    log.warning("study %r in %s was last run by pid %d on host %s; taking it over (nasir cannot see "
                                "whether a process on another host still runs)", study, self.path, pid, host)
                elif _is_running(pid, start):
                    raise StudyInUseError(
                        f"study {study!r} in {str(self.path)!r} is being run by process {pid} (since "
                        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}); wait for it, read it with "
                        "nasir.report.load_study, or run another study name or file")
            self._conn.execute("INSERT OR REPLACE INTO holder VALUES (?, ?, ?, ?, ?)", (study, *me, time.time()))

    def release(self, study: str) -> None:
        """Gives up this process's claim on the study (no-op when it holds none)."""
        with self._conn:
            self._conn.execute(_HOLDER)
            self._conn.execute("DELETE FROM holder WHERE study=? AND host=? AND pid=? AND start=?", (study, *_this_process()))

    def record_shortlist(self, study: str, size: int) -> None:
        """Remembers how many of its search's best cells cascade ``study`` was last asked to rerank, so a reader takes
        the pick over those cells, as :meth:`nasir.study.Cascade.best` did, not over every cell the stage ever scored."""
        with self._conn:
            self._conn.execute(_SHORTLIST)
            self._conn.execute("INSERT OR REPLACE INTO shortlist VALUES (?, ?)", (study, size))

    def shortlist_size(self, study: str) -> int | None:
        """The size :meth:`record_shortlist` stored, or None (not a cascade, or one stored before sizes were)."""
        try:
            row = self._conn.execute("SELECT size FROM shortlist WHERE study=?", (study,)).fetchone()
        except sqlite3.OperationalError:  # a file written before the table existed
            return None
        return None if row is None else int(row[0])

    def delete_studies(self, names: Sequence[str]) -> None:
        """Deletes studies and their trials in one transaction (other studies in the file stay); refused with
        :class:`StudyInUseError` while another live process runs one of them."""
        for name in names:
            self.claim(name)
        marks = ", ".join("?" * len(names))
        with self._conn:
            self._conn.execute(_SHORTLIST)
            for table, column in (("trial", "study"), ("holder", "study"), ("shortlist", "study"), ("study", "name")):
                self._conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", list(names))

    # ------------------------------------------------------------------ trials
    def fail_running(self, study: str, reason: str) -> int:
        """Marks trials left RUNNING (by a process that died) as FAILED; returns how many."""
        with self._conn:
            cur = self._conn.execute("UPDATE trial SET state=?, error=?, finished=? WHERE study=? AND state=?",
                                     (TrialState.FAILED.value, reason, time.time(), study, TrialState.RUNNING.value))
        return cur.rowcount

    def requeue_running(self, study: str, numbers: Sequence[int] | None = None) -> int:
        """Puts trials left RUNNING (by a process that died, or only ``numbers``: evaluations a loop abandoned) back to
        WAITING, to be evaluated again; returns how many."""
        only = "" if numbers is None else f" AND number IN ({','.join('?' * len(numbers))})"
        with self._conn:
            cur = self._conn.execute(f"UPDATE trial SET state=?, started=NULL WHERE study=? AND state=?{only}",
                                     (TrialState.WAITING.value, study, TrialState.RUNNING.value, *(numbers or ())))
        return cur.rowcount

    def add_trials(self, study: str, rows: Sequence[tuple[int, str, str]]) -> None:
        """Commits proposals ``(number, arch_hash, arch_json)`` as WAITING, all or none."""
        now = time.time()
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT INTO trial (study, number, arch_hash, arch_json, state, created) VALUES (?,?,?,?,?,?)",
                    [(study, n, h, j, TrialState.WAITING.value, now) for n, h, j in rows])
        except sqlite3.IntegrityError as err:
            raise StudyStorageError(f"cannot add trials {[r[0] for r in rows]} to study {study!r} in {str(self.path)!r}: {err}") from None

    def mark_running(self, study: str, number: int) -> None:
        """Marks a trial RUNNING and stamps its start (committed: after a crash it is failed or requeued on the next open)."""
        with self._conn:
            self._conn.execute("UPDATE trial SET state=?, started=? WHERE study=? AND number=?",
                               (TrialState.RUNNING.value, time.time(), study, number))

    def finish_trial(self, study: str, number: int, state: TrialState, metrics: dict[str, float], error: str,
                     seconds: float, duplicate_of: int | None) -> None:
        """Commits a trial's final state, metrics (non-finite ones as null), error and timing; ``started`` is filled in for
        a trial that never ran (a duplicate completed from storage)."""
        with self._conn:
            self._conn.execute(
                "UPDATE trial SET state=?, metrics=?, error=?, seconds=?, duplicate_of=?, finished=?, started=COALESCE(started, ?) "
                "WHERE study=? AND number=?",
                (state.value, _metrics_json(metrics), error, seconds, duplicate_of, time.time(), time.time(), study, number))

    def count(self, study: str) -> int:
        """Number of trials of the study, in any state."""
        return self._conn.execute("SELECT COUNT(*) FROM trial WHERE study=?", (study,)).fetchone()[0]

    def trials(self, study: str, state: TrialState | None = None) -> list[Trial]:
        """Trials of a study in number order (optionally only those in ``state``)."""
        if state is None:
            return self._select("study=?", (study,))
        return self._select("study=? AND state=?", (study, state.value))

    def trial(self, study: str, number: int) -> Trial:
        """One trial by number; raises :class:`StudyStorageError` if the study has no such trial."""
        found = self._select("study=? AND number=?", (study, number))
        if not found:
            raise StudyStorageError(f"study {study!r} in {str(self.path)!r} has no trial {number!r} (it has {self.count(study)})")
        return found[0]

    def completed_by_hash(self, study: str, arch_hash: str) -> Trial | None:
        """The first completed trial of an architecture, if any."""
        found = self._select("study=? AND arch_hash=? AND state=? LIMIT 1", (study, arch_hash, TrialState.COMPLETE.value))
        return found[0] if found else None

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Trial]:
        where, _, limit = where.partition(" LIMIT ")
        sql = f"SELECT {_COLUMNS} FROM trial WHERE {where} ORDER BY number" + (f" LIMIT {int(limit)}" if limit else "")
        return [Trial(n, aj, ah, TrialState(s), _metrics_from_json(m), e, sec, dup, c, st, f)
                for n, aj, ah, s, m, e, sec, dup, c, st, f in self._conn.execute(sql, params)]


def _metrics_json(metrics: dict[str, float]) -> str:
    """Strict JSON (SQLite's json_extract refuses ``NaN``): a non-finite metric is stored as null."""
    return json.dumps({k: v if math.isfinite(v) else None for k, v in metrics.items()})


def _metrics_from_json(text: str) -> dict[str, float]:
    return {k: math.nan if v is None else v for k, v in json.loads(text).items()}


def _this_process() -> tuple[str, int, str]:
    return socket.gethostname(), os.getpid(), _start_time(os.getpid())


def _proc_stat(pid: int) -> list[str]:
    """Fields of Linux ``/proc/<pid>/stat`` after the command name (state first); empty where there is no ``/proc``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot, which tells a reused pid from the holder; empty without ``/proc``."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def _is_running(pid: int, start: str) -> bool:
    """Whether process ``pid`` of this host is the one that claimed (same start time) and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _proc_stat(pid)
    if fields[:1] == ["Z"]:  # exited, not yet reaped by its parent
        return False
    return not start or len(fields) <= 19 or fields[19] == start  # field 22 of stat: the start time
