"""The study: an ask/evaluate/tell loop whose every step is committed to SQLite.

Budget semantics (as NAS benchmarks count "queries"): every proposal is a trial and counts toward
``n_trials``; a proposal whose canonical hash was already evaluated is not evaluated again, its
stored metrics are reused and the trial is marked ``duplicate_of``. ``n_trials`` is the total the
study should hold, so a resumed study stops at the same total as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from nasir.ir import Arch
from nasir.objectives import Objective
from nasir.space import SearchSpace
from nasir.strategies import FAILED, Strategy
from nasir.study.storage import SQLiteStorage
from nasir.study.trial import Trial, TrialState

__all__ = ["Study"]

log = logging.getLogger(__name__)


class Study:
    """A named search over one space with one strategy and objective, stored in one SQLite file."""

    def __init__(self, storage: SQLiteStorage, name: str, space: SearchSpace, strategy: Strategy, objective: Objective, seed: int) -> None:
        self.storage, self.name, self.space = storage, name, space
        self.strategy, self.objective, self.seed = strategy, objective, seed
        storage.ensure_study(name, space.name, strategy.name, objective.name, seed, {"metric": objective.metric})
        lost = storage.fail_running(name, "the process running this trial died before it finished")
        if lost:
            log.warning("study %r: %d trial(s) left running by a dead process marked FAILED", name, lost)
        self._replay()

    @classmethod
    def open(cls, path: str | Path, space: SearchSpace, strategy: Strategy, objective: Objective, *, seed: int = 0, name: str = "default") -> Study:
        """Creates the study in ``path`` or resumes it (the file must hold the same search)."""
        return cls(SQLiteStorage(path), name, space, strategy, objective, seed)

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        """Number of trials stored (the budget counter)."""
        return self._count

    @property
    def trials(self) -> list[Trial]:
        return self.storage.trials(self.name)

    def best_trial(self) -> Trial | None:
        """The completed trial with the best objective metric (first one on ties)."""
        sign = 1.0 if self.objective.direction == "maximize" else -1.0
        done = [t for t in self.trials if t.value(self.objective.metric) is not None]
        return max(done, key=lambda t: (sign * t.metrics[self.objective.metric], -t.number)) if done else None

    def _rng(self, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, number])

    def _score(self, trial: Trial) -> float:
        value = trial.value(self.objective.metric)
        if value is None or math.isnan(value):
            return FAILED
        return value if self.objective.direction == "maximize" else -value

    def _replay(self) -> None:
        """Rebuilds the strategy's state from the stored trials (ask, then tell the stored result)."""
        trials = self.trials
        for trial in trials:
            self.strategy.ask(self._rng(trial.number))
            self.strategy.tell(trial.arch, self._score(trial))
        self._count = len(trials)

    # ------------------------------------------------------------------ the loop
    def optimize(self, n_trials: int | None = None, timeout: float | None = None) -> Trial | None:
        """Runs until the study holds ``n_trials`` trials or ``timeout`` seconds pass; returns the best."""
        if n_trials is None and timeout is None:
            raise ValueError("give a budget: n_trials (total trials in the study) and/or timeout (seconds)")
        if (n_trials is not None and n_trials <= 0) or (timeout is not None and timeout <= 0):
            raise ValueError(f"the budget must be positive, got n_trials={n_trials}, timeout={timeout}")
        start = time.perf_counter()
        while n_trials is None or self._count < n_trials:
            if timeout is not None and time.perf_counter() - start >= timeout:
                break
            self.step()
        return self.best_trial()

    def step(self) -> Trial:
        """One ask -> evaluate (or look up) -> commit -> tell."""
        number = self._count
        arch = self.strategy.ask(self._rng(number))
        trial = self._evaluate(number, arch)
        self._count += 1
        self.strategy.tell(arch, self._score(trial))
        return trial

    def _evaluate(self, number: int, arch: Arch) -> Trial:
        arch_hash = arch.canonical_hash()
        self.storage.start_trial(self.name, number, arch_hash, arch.to_json())
        known = self.storage.completed_by_hash(self.name, arch_hash)
        if known is not None:
            trial = Trial(number, arch.to_json(), arch_hash, TrialState.COMPLETE, known.metrics, duplicate_of=known.number)
        else:
            trial = self._run_objective(number, arch, arch_hash)
        self.storage.finish_trial(self.name, trial)
        return trial

    def _run_objective(self, number: int, arch: Arch, arch_hash: str) -> Trial:
        start = time.perf_counter()
        try:
            metrics = {k: float(v) for k, v in self.objective.evaluate(arch).items()}
            error = _invalid(metrics, self.objective.metric)
        except Exception as err:  # an objective failure must not stop the study
            metrics, error = {}, "".join(traceback.format_exception_only(type(err), err)).strip()
        state = TrialState.FAILED if error else TrialState.COMPLETE
        if error:
            log.warning("trial %d failed: %s", number, error)
        return Trial(number, arch.to_json(), arch_hash, state, metrics, error, time.perf_counter() - start)

    def summary(self) -> dict[str, Any]:
        trials = self.trials
        best = self.best_trial()
        return {"trials": len(trials), "failed": sum(t.state is TrialState.FAILED for t in trials),
                "duplicates": sum(t.duplicate_of is not None for t in trials),
                "best": None if best is None else {"number": best.number, "metrics": best.metrics, "arch": self.space.format(best.arch)}}


def _invalid(metrics: dict[str, float], metric: str) -> str:
    if metric not in metrics:
        return f"objective returned no {metric!r} (got {sorted(metrics)})"
    if not math.isfinite(metrics[metric]):
        return f"objective returned {metrics[metric]} for {metric!r}"
    return ""
