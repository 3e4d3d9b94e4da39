"""A stored study read back for reporting, without the strategy or objective that produced it.

Opening a study with :meth:`nasir.study.Study.open` needs the same strategy and objective and
creates a missing file; a report needs neither, and must not write into a file it only reads.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasir.errors import NasirError, UnknownNameError
from nasir.objectives import MAXIMIZE, default_direction
from nasir.study import APPLICATION_ID, STORAGE_SCHEMA_VERSION, StudyMismatchError, StudyStorageError, Trial, TrialState, rerank_name
from nasir.study.storage import SQLiteStorage
from nasir.study.trial import front_of

__all__ = ["StudyRecord", "load_study", "load_cascades", "cascade_pick", "is_study_file", "registered_space", "arch_formatter"]


@dataclass(frozen=True)
class StudyRecord:
    """One stored study: its identity (space, strategy, objective, seed) and every trial in order."""

    path: Path
    name: str
    space: str
    strategy: str
    objective: str
    primary: str
    directions: dict[str, str]
    seed: int
    created: float
    trials: list[Trial] = field(repr=False)
    shortlist: int | None = None  # a cascade: how many of its search's best cells it was last asked to rerank

    def direction(self, metric: str) -> str:
        """The stored direction of ``metric``, else the default for its name (a metric the objective did not declare)."""
        return self.directions.get(metric) or default_direction(metric)

    @property
    def metrics(self) -> list[str]:
        """Every metric a completed trial holds: the primary first, then the declared ones, then the rest."""
        seen = dict.fromkeys([self.primary, *self.directions])
        for trial in self.trials:
            if trial.state is TrialState.COMPLETE:
                seen.update(dict.fromkeys(trial.metrics))
        return [m for m in seen if any(m in t.metrics for t in self.trials)]

    def values(self, metric: str) -> np.ndarray:
        """``metric`` per trial, NaN where the trial did not complete or lacks it."""
        return np.array([v if (v := t.value(metric)) is not None else math.nan for t in self.trials], dtype=float)

    def score(self, trial: Trial) -> float:
        """The trial's primary metric oriented so that higher is better; -inf when it failed or has no finite value."""
        value = trial.metrics.get(self.primary, math.nan) if trial.state is TrialState.COMPLETE else math.nan
        if not math.isfinite(value):
            return -math.inf
        return value if self.direction(self.primary) == MAXIMIZE else -value

    def ranked(self) -> list[Trial]:
        """Completed trials with a score, one per architecture, best first (the earliest on ties): ``Study.top_trials``."""
        done = [t for t in self.trials if t.duplicate_of is None and self.score(t) > -math.inf]
        return sorted(done, key=lambda t: (-self.score(t), t.number))

    def best(self) -> Trial | None:
        """The completed trial with the best primary metric, the earliest on ties (as ``Study.best_trial``)."""
        done = [t for t in self.trials if self.score(t) > -math.inf]
        return max(done, key=lambda t: (self.score(t), -t.number)) if done else None

    def count(self, state: TrialState) -> int:
        """Number of trials in ``state``."""
        return sum(t.state is state for t in self.trials)

    def pareto(self, metrics: Sequence[str]) -> list[Trial]:
        """Completed trials not dominated in ``metrics`` (each in its stored direction), one per architecture, in trial
        order: ``Study.pareto_front`` of a stored study.

        Raises:
            UnknownNameError: fewer than two metrics, or one no completed trial holds.
        """
        held = set().union(*(t.metrics for t in self.trials if t.state is TrialState.COMPLETE))
        if len(metrics) < 2 or set(metrics) - held:
            raise UnknownNameError(f"a Pareto front of study {self.name!r} needs two or more metrics its trials hold, got "
                                   f"{list(metrics)} (held: {sorted(held)})")
        return front_of(self.trials, {m: self.direction(m) for m in metrics})


def registered_space(name: str) -> Any:
    """The study's registered space, or None (reports then show hashes, not architecture strings)."""
    import nasir.spaces.nb101  # noqa: F401  (built-in spaces register on import)
    import nasir.spaces.nb201  # noqa: F401
    from nasir.space import SPACES

    try:
        return SPACES.get(name)
    except UnknownNameError:
        return None


def arch_formatter(space: Any) -> Callable[[Trial], str]:
    """A trial's architecture in the space's own notation, or its canonical hash where there is none."""
    def fmt(trial: Trial) -> str:
        try:
            return space.format(trial.arch) if space is not None else trial.arch_hash
        except NasirError:
            return trial.arch_hash
    return fmt


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing SQLite file (so reading never creates or changes one)."""
    where = repr(str(path))
    if not path.is_file():
        raise StudyStorageError(f"study file {where} does not exist")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise StudyStorageError(f"{where} is not a nasir study (not an SQLite database)")
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)


def is_study_file(path: str | Path) -> bool:
    """Whether ``path`` is an SQLite file marked as a nasir study (what ``--fresh`` may delete)."""
    try:
        conn = _read_only(Path(path))
        try:
            return conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        finally:
            conn.close()
    except (StudyStorageError, sqlite3.DatabaseError):
        return False


def _study_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Every study's record in the file, oldest first, read through a read-only connection (checks that this is a nasir
    study file)."""
    where = repr(str(path))
    try:
        conn = _read_only(path)
        try:
            if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                raise StudyStorageError(f"{where} is an SQLite database of another application, not a nasir study")
            version = conn.execute("SELECT version FROM schema_version").fetchone()
            if version is None or version[0] != STORAGE_SCHEMA_VERSION:
                raise StudyStorageError(f"{where} has study schema {version and version[0]}; this nasir reads {STORAGE_SCHEMA_VERSION}")
            conn.row_factory = sqlite3.Row
            rows = {r["name"]: dict(r) for r in conn.execute("SELECT * FROM study ORDER BY created")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise StudyStorageError(f"{where} cannot be read as a nasir study ({err})") from None
    return rows


def _is_cascade_of(name: str, row: dict[str, Any], search: str) -> bool:
    """Whether study ``name`` (record ``row``) is a second stage ``nasir.study.rerank`` stored beside ``search``
    under its default name."""
    return name != search and name.startswith(rerank_name(search, "")) and row["strategy"] == "shortlist"


def _study_row(path: Path, name: str | None) -> tuple[str, dict[str, Any]]:
    """The named study's record; when ``name`` is None, the file's only study, its cascades' second stages aside."""
    where, rows = repr(str(path)), _study_rows(path)
    if not rows:
        raise StudyStorageError(f"{where} holds no study yet")
    if name is None:
        searches = [n for n, row in rows.items() if not any(_is_cascade_of(n, row, other) for other in rows)]
        if len(searches) > 1:
            raise StudyStorageError(f"{where} holds studies {sorted(rows)}; name the one to read (name=, or --name on the command line)")
        name = searches[0]
    if name not in rows:
        raise StudyStorageError(f"{where} has no study {name!r} (it holds {sorted(rows)})")
    return name, rows[name]


def load_cascades(path: str | Path, name: str) -> list[StudyRecord]:
    """The second stages ``nasir.study.rerank`` stored beside study ``name`` under their default names, oldest first."""
    return [load_study(path, other) for other, row in _study_rows(Path(path)).items() if _is_cascade_of(other, row, name)]


def load_study(path: str | Path, name: str | None = None) -> StudyRecord:
    """Reads a study file (``name`` may be omitted when the file holds one search, with or without its cascades).

    Raises:
        StudyStorageError: the file is missing, not a nasir study, or lacks the named study.
    """
    path = Path(path)
    name, row = _study_row(path, name)
    storage = SQLiteStorage(path)
    try:
        trials, shortlist = storage.trials(name), storage.shortlist_size(name)
    finally:
        storage.close()
    return StudyRecord(path, name, row["space"], row["strategy"], row["objective"], row["primary_metric"],
                       json.loads(row["directions"]), int(row["seed"]), float(row["created"]), trials, shortlist)


def cascade_pick(search: StudyRecord, stage: StudyRecord) -> tuple[Trial | None, int]:
    """The pick of cascade ``stage`` as ``nasir.study.Cascade.best`` makes it, read back from the file, and how many of
    the search's best cells it is taken over: the shortlist size the stage was last run with (for a file from before
    sizes were stored, the longest run of the search's current best cells the stage evaluated). The pick is the best by
    the stage's metric, the cell the search ranked higher on ties; None if every one failed. Taking it over every cell
    the stage ever evaluated would name a cell the search no longer ranks among its best.

    Raises:
        StudyMismatchError: the stage has not evaluated all of the search's current best cells (the search ran since
            without ``--rerank``), so the file holds no pick for the search as it stands.
    """
    evaluated = {t.arch_hash: t for t in stage.trials}
    ranking = [t.arch_hash for t in search.ranked()]
    covered = next((k for k, h in enumerate(ranking) if h not in evaluated), len(ranking))
    size = covered if stage.shortlist is None else min(stage.shortlist, len(ranking))
    if covered == 0 or covered < size:
        raise StudyMismatchError(
            f"cascade {stage.name!r} in {str(stage.path)!r} is out of date: it has not evaluated all of the {size or 1} best "
            f"cell(s) of study {search.name!r}; run the search again with its --rerank to update the pick, or read the "
            f"search's own best with --name {search.name!r}")
    scored = [(stage.score(evaluated[h]), -i, evaluated[h]) for i, h in enumerate(ranking[:size])]
    scored = [item for item in scored if item[0] > -math.inf]
    return (max(scored, key=lambda item: item[:2])[2] if scored else None), size
