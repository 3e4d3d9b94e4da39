"""The study: ask/tell primitives over a strategy and a loop (``optimize``) built from them.

Budget semantics. Every proposal is a trial and counts as one query, as NAS benchmark papers count
queries (NASLib's and the NAS-Bench-201 paper's REA/random search query every child, repeats
included). A proposal whose canonical hash was already evaluated is *looked up*: its stored
metrics are reused, the trial is marked ``duplicate_of`` and the objective is not called.
``budget_evals`` is the total number of trials the study should hold, so running the same command
again after a crash finishes the same search instead of adding to it.

Determinism. The study owns the seed and gives it to the strategy, whose proposal for trial ``t``
depends only on (seed, ``t``, earlier results) (see :mod:`nasir.strategies.base`). Proposals are
committed before they are evaluated, so on reopening the strategy is rebuilt by ``replay`` from
the stored trials and the search continues exactly; trials a dead process left RUNNING are marked
FAILED (their evaluation never finished), WAITING ones are evaluated. With ``retry_interrupted=True``
the RUNNING ones are evaluated again instead, so a resumed search with a deterministic objective ends
exactly as an uninterrupted one; it is off by default because the evaluation itself may be what killed
the process (out of memory). Ctrl-C leaves the evaluations it stopped RUNNING, as a killed process does; if the same
Study object goes on, it first treats them as reopening would (FAILED, or WAITING with ``retry_interrupted``). An error
from a callback puts the evaluations in flight back in WAITING. One process runs a study at a time (see :mod:`nasir.study.storage`): opening
a study another live process runs raises :class:`~nasir.errors.StudyInUseError`; to watch a running study,
read it with :func:`nasir.report.load_study`.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path
from types import ModuleType
from typing import Any

from nasir.checks import is_count
from nasir.errors import AskTellError, BudgetError, StudyConfigError, TellResultTypeError, UnknownNameError
from nasir.executors import Executor, InProcessExecutor, Outcome, evaluate_safely
from nasir.objectives import MAXIMIZE, Objective, default_direction, score, valid_directions
from nasir.rng import is_seed
from nasir.space import SearchSpace
from nasir.strategies.base import FAILED, Strategy
from nasir.study.storage import SQLiteStorage
from nasir.study.trial import Trial, TrialState, front_of

__all__ = ["Study", "Callback"]

log = logging.getLogger(__name__)
DIED = "the process evaluating this trial died before it finished"
INTERRUPTED = "the evaluation was interrupted and died with the run"
NEVER_RETURNED = 10  # results without a metric the strategy optimises before the study calls it misnamed

Callback = Callable[["Study", Trial], None]  # called by optimize() with each trial it finished, once committed


class Study:
    """A named search over one space with one strategy and objective, stored in one SQLite file.

    Args:
        seed: the search's seed; None keeps the strategy's own ``seed``.
        executor: where evaluations run (default: in this process).
        batch_size: most proposals asked at once in ``optimize`` (default: the executor's
            ``max_workers``, else 1). Results do not depend on it.
        retry_interrupted: evaluate trials a dead process left RUNNING again, instead of marking them
            FAILED (the default).

    Raises:
        StudyConfigError: a bad seed, name or batch size; a space, strategy, executor or objective that is not
            one (a name, a class, a plain function); or a strategy built for another space or for metrics the
            objective does not declare.
        StudyMismatchError: the file holds another search under this name.
        StudyInUseError: another live process runs this study.
    """

    def __init__(self, storage: SQLiteStorage, name: str, space: SearchSpace, strategy: Strategy, objective: Objective, *,
                 seed: int | None = None, executor: Executor | None = None, batch_size: int | None = None,
                 retry_interrupted: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise StudyConfigError(f"a study name must be a non-empty string, got {name!r}")
        _check_part("space", space, SearchSpace, "pass a space object, e.g. nasir.spaces.nb201.space")
        _check_part("strategy", strategy, Strategy, "build one for the space, e.g. nasir.strategies.make_strategy('rea', space)")
        if executor is not None:
            _check_part("executor", executor, Executor, "use InProcessExecutor, ProcessPoolExecutor or RayExecutor from "
                                                        "nasir.executors (a concurrent.futures pool has no run method)")
        _check_objective(objective)
        _check_fit(space, strategy, objective)
        self.storage, self.name, self.space = storage, name, space
        self.strategy, self.objective = strategy, objective
        self.executor = executor or InProcessExecutor()
        self.batch_size = batch_size if batch_size is not None else getattr(self.executor, "max_workers", 1)
        if not is_count(self.batch_size):
            raise StudyConfigError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if seed is not None:
            strategy.seed = seed
        self.seed = _checked_seed(strategy.seed)
        strategy.seed = self.seed
        self.direction = objective.directions.get(objective.primary, MAXIMIZE)
        storage.ensure_study(name, {
            "space": space.name, "strategy": strategy.name, "strategy_config": _config(strategy), "objective": objective.name,
            "primary_metric": objective.primary, "directions": dict(objective.directions), "seed": self.seed})
        storage.claim(name)
        self.retry_interrupted = retry_interrupted
        left = storage.requeue_running(name) if retry_interrupted else storage.fail_running(name, DIED)
        if left:
            fate = "will be evaluated again" if retry_interrupted else "marked FAILED"
            log.warning("study %r: %d trial(s) left running by a dead process %s", name, left, fate)
        trials = self.trials
        strategy.replay(trials, [self._told(t) if t.finished else None for t in trials])
        self._count = len(trials)
        self._errors_shown: set[str] = set()
        self._callbacks: tuple[Callback, ...] = ()
        self._stop_requested = False
        self._abandoned: tuple[list[int], str] = ([], "")  # trials a Ctrl-C left RUNNING in this object, and its cause

    @classmethod
    def open(cls, path: str | Path, space: SearchSpace, strategy: Strategy, objective: Objective, *, seed: int | None = None,
             name: str = "default", executor: Executor | None = None, batch_size: int | None = None,
             retry_interrupted: bool = False) -> Study:
        """Creates the study in ``path`` or resumes it (the file must hold the same search); ``retry_interrupted``: see
        the module docstring."""
        return cls(SQLiteStorage(path), name, space, strategy, objective, seed=seed, executor=executor, batch_size=batch_size,
                   retry_interrupted=retry_interrupted)

    def close(self) -> None:
        """Lets another process run the study (the claim of a process that exits lapses by itself)."""
        self.storage.release(self.name)

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        """Number of trials stored, in any state (what ``budget_evals`` counts)."""
        return self._count

    @property
    def trials(self) -> list[Trial]:
        """Every trial in number order, read from the file on each access (a fresh list, not a live view)."""
        return self.storage.trials(self.name)

    def best_trial(self) -> Trial | None:
        """The completed trial with the best primary metric (the earliest on ties)."""
        done = [t for t in self.trials if t.state is TrialState.COMPLETE]
        return max(done, key=lambda t: (self._score(t), -t.number)) if done else None

    def top_trials(self, k: int) -> list[Trial]:
        """The ``k`` best completed trials, one per architecture, best first (the earliest on ties): a cascade's shortlist."""
        if k < 1:
            raise StudyConfigError(f"top_trials(k) needs k >= 1, got {k}")
        done = [t for t in self.trials if t.state is TrialState.COMPLETE and t.duplicate_of is None and self._score(t) != FAILED]
        return sorted(done, key=lambda t: (-self._score(t), t.number))[:k]

    def summary(self) -> dict[str, Any]:
        """Trial counts by state, duplicates, evaluations and the best trial, as plain data (the CLI prints it)."""
        trials, best = self.trials, self.best_trial()
        count = lambda state: sum(t.state is state for t in trials)  # noqa: E731
        return {"study": self.name, "trials": len(trials), "complete": count(TrialState.COMPLETE), "failed": count(TrialState.FAILED),
                "waiting": count(TrialState.WAITING), "running": count(TrialState.RUNNING), "duplicates": sum(t.duplicate_of is not None for t in trials),
                "evaluations": sum(t.finished and t.duplicate_of is None for t in trials),
                "best": None if best is None else {"number": best.number, "metrics": best.metrics, "arch": self.space.format(best.arch)}}

    def _score(self, trial: Trial) -> float:
        if trial.state is not TrialState.COMPLETE:
            return FAILED
        value = score(trial.metrics, self.objective.primary, self.direction)
        return FAILED if math.isnan(value) else value

    def _told(self, trial: Trial) -> float | dict[str, float]:
        """What the strategy is told: the primary score, or for a multi-objective strategy (one with
        ``objectives``) the trial's metrics (empty for a failure: dominated by everything)."""
        if getattr(self.strategy, "objectives", None):  # a complete trial short of one (older files) is told as failed
            return dict(trial.metrics) if trial.state is TrialState.COMPLETE and not self._unoptimised(trial.metrics) else {}
        return self._score(trial)

    def _unoptimised(self, metrics: Mapping[str, float]) -> list[str]:
        """The metrics a multi-objective strategy optimises that ``metrics`` lack."""
        return [m for m in getattr(self.strategy, "objectives", None) or () if m not in metrics]

    def pareto_front(self, metrics: Mapping[str, str] | Sequence[str] | None = None) -> list[Trial]:
        """Completed trials not dominated in ``metrics`` (default: the strategy's objectives, else the
        objective's metrics), one per architecture, in trial order."""
        chosen = metrics if metrics is not None else getattr(self.strategy, "objectives", None) or self.objective.directions
        directions = dict(chosen) if isinstance(chosen, Mapping) else {m: self.objective.directions.get(m, default_direction(m)) for m in chosen}
        trials = self.trials
        known = set(self.objective.directions).union(*(t.metrics for t in trials if t.state is TrialState.COMPLETE))
        if not directions or set(directions) - known:
            raise UnknownNameError(f"pareto_front needs metrics the trials hold, got {list(directions)} (known: {sorted(known)})")
        return front_of(trials, directions)

    # ------------------------------------------------------------------ primitives
    def _propose(self, n: int) -> list[Trial]:
        """Asks the strategy for up to ``n`` architectures and commits them as WAITING (one transaction)."""
        archs = self.strategy.ask(n)
        rows = [(self._count + i, a.canonical_hash(), a.to_json()) for i, a in enumerate(archs)]
        self.storage.add_trials(self.name, rows)
        self._count += len(rows)
        return [self.storage.trial(self.name, number) for number, _, _ in rows]

    def _lookup(self, trial: Trial) -> Trial | None:
        """Completes a re-proposal from the stored result of the same architecture, if there is one."""
        known = self.storage.completed_by_hash(self.name, trial.arch_hash)
        if known is None:
            return None
        return self._record(trial, Outcome(known.metrics), duplicate_of=known.duplicate_of if known.duplicate_of is not None else known.number)

    def _record(self, trial: Trial, outcome: Outcome, duplicate_of: int | None = None) -> Trial:
        """Commits a result (one transaction), then tells the strategy. A result without a metric the strategy optimises
        fails, as one without the primary does: it can be neither ranked nor told to the strategy again on resume."""
        missing = self._unoptimised(outcome.metrics)
        if outcome.ok and missing:
            outcome = Outcome(outcome.metrics, f"objective returned no {missing} (got {sorted(outcome.metrics)}), which "
                                               f"strategy {self.strategy.name!r} optimises", outcome.seconds)
        state = TrialState.COMPLETE if outcome.ok else TrialState.FAILED
        if not outcome.ok:
            self._log_failure(trial.number, outcome.error)
        self.storage.finish_trial(self.name, trial.number, state, outcome.metrics, outcome.error, outcome.seconds, duplicate_of)
        done = self.storage.trial(self.name, trial.number)
        self.strategy.tell(done.arch, self._told(done))
        if missing:
            self._stop_if_never_returned(missing)
        for callback in self._callbacks:
            callback(self, done)
        return done

    def _stop_if_never_returned(self, missing: list[str]) -> None:
        """Ends the search once ``NEVER_RETURNED`` results in a row, and none before them, lack a metric the strategy
        optimises: the objective does not return it (a misspelt name), and every trial failing would quietly turn the
        strategy into random search. An objective that only sometimes leaves one out goes on."""
        returned = [t for t in self.storage.trials(self.name) if t.finished and t.metrics]
        if len(returned) >= NEVER_RETURNED and not any(m in t.metrics for t in returned for m in missing):
            raise UnknownNameError(f"objective {self.objective.name!r} returned no {missing} in any of its {len(returned)} "
                                   f"results (it returns {sorted(returned[-1].metrics)}); strategy {self.strategy.name!r} "
                                   f"optimises {list(self.strategy.objectives)}: name metrics the objective returns")

    def _log_failure(self, number: int, error: str) -> None:
        """Warns once per distinct error: a space full of degenerate cells fails the same way hundreds of times, so
        repeats go to DEBUG. Every error stays in the stored trial, and ``summary()`` counts the failures."""
        if error in self._errors_shown:
            log.debug("study %r trial %d failed: %s", self.name, number, error)
            return
        self._errors_shown.add(error)
        log.warning("study %r trial %d failed: %s (trials that fail the same way are logged at DEBUG level)",
                    self.name, number, error)

    def ask(self, n: int = 1) -> list[Trial]:
        """Up to ``n`` trials to evaluate (marked RUNNING); hand each result to :meth:`tell`.

        Waiting proposals come first. Re-proposals of evaluated architectures are completed from
        storage on the spot (they count as trials) and are not returned; a proposal of an architecture
        that is being evaluated stays WAITING until that result is told, then is looked up. After
        ``10 n + 100`` rounds of proposals it returns what it has: in a space the search has exhausted,
        every proposal is a repeat, and those rounds are recorded as look-ups.
        """
        self._settle_abandoned()
        out: list[Trial] = []
        for _ in range(10 * n + 100):
            busy = {t.arch_hash for t in self.storage.trials(self.name, TrialState.RUNNING)}
            batch = [t for t in self.storage.trials(self.name, TrialState.WAITING) if t.arch_hash not in busy] or self._propose(n - len(out))
            if not batch:
                break
            for trial in batch:
                if len(out) < n and trial.arch_hash not in busy and self._lookup(trial) is None:
                    self.storage.mark_running(self.name, trial.number)
                    out.append(self.storage.trial(self.name, trial.number))
                    busy.add(trial.arch_hash)
            if len(out) >= n:
                break
        return out

    def tell(self, trial: Trial | int, result: Mapping[str, float] | float | BaseException | str) -> Trial:
        """Commits the result of an asked trial: metrics, the primary metric's value, or an error."""
        if result is None or not isinstance(result, (Mapping, Real, BaseException, str)):
            raise TellResultTypeError(f"tell() takes metrics, a number or an error (exception or text), got {result!r}")
        trial = self.storage.trial(self.name, trial if isinstance(trial, int) else trial.number)
        if trial.finished:
            raise AskTellError(f"trial {trial.number} of study {self.name!r} is already {trial.state.value}")
        if isinstance(result, (BaseException, str)):
            outcome = Outcome(error=result if isinstance(result, str) else f"{type(result).__name__}: {result}")
        else:
            metrics = dict(result) if isinstance(result, Mapping) else {self.objective.primary: float(result)}
            outcome = evaluate_safely(_Fixed(metrics, self.objective.primary), trial.arch)
        done = self._record(trial, outcome)
        for twin in self.storage.trials(self.name, TrialState.WAITING):  # proposals that waited for this result
            if twin.arch_hash == done.arch_hash:
                self._lookup(twin)
        return done

    # ------------------------------------------------------------------ the loop
    def step(self) -> Trial:
        """Exactly one more trial: propose (or take a waiting one), evaluate or look up, commit, tell."""
        self._settle_abandoned()
        waiting = self.storage.trials(self.name, TrialState.WAITING)[:1] or self._propose(1)
        if not waiting:
            raise BudgetError(f"strategy {self.strategy.name!r} has nothing more to propose in study {self.name!r}")
        self._run_batch(waiting, lambda: False)
        return self.storage.trial(self.name, waiting[0].number)

    def stop(self) -> None:
        """Asks ``optimize`` to return once the evaluations already started are recorded (e.g. from a callback that saw
        a good enough trial); trials proposed but not started stay WAITING for the next ``optimize``."""
        self._stop_requested = True

    def optimize(self, budget_evals: int | None = None, budget_seconds: float | None = None,
                 callbacks: Sequence[Callback] = ()) -> Trial | None:
        """Runs until the study holds ``budget_evals`` trials and/or ``budget_seconds`` pass, or a callback calls
        :meth:`stop`; returns the best. ``callbacks(study, trial)`` see every trial this call finishes (looked-up repeats
        included), in the order they are committed; an exception from one ends the call, with that trial stored."""
        if budget_evals is None and budget_seconds is None:
            raise BudgetError("give a budget: budget_evals (total trials in the study) and/or budget_seconds")
        if budget_evals is not None and not is_count(budget_evals):
            raise BudgetError(f"budget_evals must be an int >= 1 (total trials in the study), got {budget_evals!r}")
        if budget_seconds is not None and (not isinstance(budget_seconds, Real) or not 0 < budget_seconds < math.inf):
            raise BudgetError(f"budget_seconds must be a positive finite number, got {budget_seconds!r}")
        deadline = None if budget_seconds is None else time.perf_counter() + budget_seconds
        stop = lambda: self._stop_requested or (deadline is not None and time.perf_counter() >= deadline)  # noqa: E731
        self._callbacks, self._stop_requested = _checked_callbacks(callbacks), False
        self._settle_abandoned()
        try:
            self._loop(budget_evals, stop)
        finally:
            self._callbacks = ()
        return self.best_trial()

    def _loop(self, budget_evals: int | None, stop: Callable[[], bool]) -> None:
        """``optimize``'s loop: a batch of proposals at a time (waiting ones first) until the budget or ``stop``."""
        while not stop():
            batch = self.storage.trials(self.name, TrialState.WAITING)
            if not batch:
                room = self.batch_size if budget_evals is None else min(self.batch_size, budget_evals - self._count)
                batch = self._propose(room) if room > 0 else []
            if not batch:
                if budget_evals is None or self._count < budget_evals:
                    log.warning("study %r: strategy %r has nothing more to propose; stopping at %d trials",
                                self.name, self.strategy.name, self._count)
                break
            self._run_batch(batch, stop)

    def _run_batch(self, batch: list[Trial], stop) -> None:
        """Looks up re-proposals, evaluates the first of each new architecture through the executor.

        A second proposal of an architecture in the same batch stays WAITING and is looked up on
        the next pass, once the first has a result.
        """
        todo: dict[str, Trial] = {}
        for trial in batch:
            if trial.arch_hash not in todo and self._lookup(trial) is None:
                todo[trial.arch_hash] = trial
        trials = list(todo.values())
        started = lambda i: self.storage.mark_running(self.name, trials[i].number)  # noqa: E731
        try:
            for i, outcome in self.executor.run(self.objective, [t.arch for t in trials], on_start=started, stop=stop):
                self._record(trials[i], outcome)
        except Exception:  # a callback's error, say: evaluations still in flight wait for the next optimize
            self.storage.requeue_running(self.name, [t.number for t in trials])
            raise
        except BaseException as err:  # Ctrl-C: left RUNNING, as a killed process leaves them, for whoever goes on
            self._abandoned = ([t.number for t in trials], type(err).__name__)
            raise

    def _settle_abandoned(self) -> None:
        """Before this Study object goes on after a Ctrl-C: does to the evaluations it stopped what reopening the study
        would do (FAILED, or WAITING with ``retry_interrupted``), telling the strategy, which still waits on them."""
        numbers, cause = self._abandoned
        self._abandoned = ([], "")
        if self.retry_interrupted:
            self.storage.requeue_running(self.name, numbers)
            return
        for number in numbers:
            trial = self.storage.trial(self.name, number)
            if trial.state is TrialState.RUNNING:
                spent = time.time() - trial.started if trial.started else 0.0
                self.storage.finish_trial(self.name, number, TrialState.FAILED, {}, f"{INTERRUPTED} ({cause})", spent, None)
                self.strategy.tell(trial.arch, self._told(self.storage.trial(self.name, number)))


class _Fixed:
    """Validates told metrics exactly like evaluated ones."""

    def __init__(self, metrics: dict[str, float], primary: str) -> None:
        self.metrics, self.primary = metrics, primary

    def evaluate(self, arch: Any) -> dict[str, float]:
        return self.metrics


def _checked_seed(seed: Any) -> int:
    """Seeds are stored in SQLite and feed numpy's SeedSequence: ints in [0, 2**63)."""
    if not is_seed(seed):
        raise StudyConfigError(f"a study needs a seed, an int in [0, 2**63), got {seed!r} (give seed= to the study or the strategy)")
    return int(seed)


def _checked_callbacks(callbacks: Any) -> tuple[Callback, ...]:
    """``callbacks`` as a tuple, refusing a lone function and any callback that cannot take ``(study, trial)`` before
    the first trial rather than after it."""
    if callable(callbacks) or not isinstance(callbacks, Sequence):
        hint = f"; pass [{getattr(callbacks, '__qualname__', 'it')}]" if callable(callbacks) else ""
        raise StudyConfigError(f"callbacks must be a list of functions f(study, trial), got {callbacks!r}{hint}")
    for callback in callbacks:
        if not callable(callback):
            raise StudyConfigError(f"callbacks must be functions f(study, trial), got {callback!r}")
        try:
            inspect.signature(callback).bind(None, None)
        except ValueError:  # no signature to read (some builtins): it is called as it is
            continue
        except TypeError:
            raise StudyConfigError(f"callback {getattr(callback, '__qualname__', callback)!r} must take (study, trial), "
                                   f"its signature is {inspect.signature(callback)}") from None
    return tuple(callbacks)


def _check_part(role: str, value: Any, protocol: type, hint: str) -> None:
    """Refuses a space, strategy or executor that is not one (a name, a class, a module, another library's executor)
    up front: the study would fail on its first use of it with an AttributeError that says neither."""
    if isinstance(value, type) or not isinstance(value, protocol):
        if isinstance(value, (type, ModuleType)):
            got = f"the {'class' if isinstance(value, type) else 'module'} {value.__name__}"
        else:
            got = f"the string {value!r}" if isinstance(value, str) else f"a {type(value).__module__}.{type(value).__qualname__}"
        raise StudyConfigError(f"the study's {role} must be a nasir {role} ({protocol.__name__}), got {got}; {hint}")


def _check_objective(objective: Any) -> None:
    """Refuses what is not an :class:`Objective`, naming what it lacks, before the study touches it (an AttributeError
    from inside the study, or from every trial, would not say what an objective must have)."""
    shape = ("an objective has name (a str), primary (a metric), directions (metric -> 'maximize' or 'minimize', the "
             "primary among them) and evaluate(arch) -> {metric: number}; see nasir.objectives.Objective")
    if callable(objective) and not hasattr(objective, "evaluate"):
        label = getattr(objective, "__qualname__", type(objective).__name__)
        raise StudyConfigError(f"objective {label} is a function: wrap it, e.g. FunctionObjective({label}, "
                               f"primary='acc'); {shape}")
    missing = [a for a in ("name", "primary", "directions", "evaluate") if not hasattr(objective, a)]
    if missing:
        raise StudyConfigError(f"objective {type(objective).__name__} lacks {', '.join(missing)}: {shape}")
    if not callable(objective.evaluate) or not valid_directions(objective.primary, objective.directions):
        raise StudyConfigError(f"objective {type(objective).__name__} is malformed (primary {objective.primary!r}, "
                               f"directions {objective.directions!r}): {shape}")


def _check_fit(space: SearchSpace, strategy: Strategy, objective: Objective) -> None:
    """Refuses a strategy built for another space, or one optimising metrics the objective does not declare,
    before any trial is spent on a search that can only fail."""
    own = getattr(strategy, "space", None)
    if own is not None and own.name != space.name:
        raise StudyConfigError(f"strategy {strategy.name!r} was built for space {own.name!r}, the study searches {space.name!r}")
    wanted = dict(getattr(strategy, "objectives", None) or {})
    unknown = sorted(set(wanted) - set(objective.directions))
    if unknown:
        raise StudyConfigError(f"strategy {strategy.name!r} optimises {unknown}, which objective {objective.name!r} does not "
                               f"declare (its directions: {dict(objective.directions)})")
    clash = {m: d for m, d in wanted.items() if objective.directions[m] != d}
    if clash:
        raise StudyConfigError(f"strategy {strategy.name!r} orients {clash}, objective {objective.name!r} "
                               f"{ {m: objective.directions[m] for m in clash} }")


def _config(strategy: Strategy) -> dict[str, Any]:
    config = getattr(strategy, "config", None)
    return dict(config()) if callable(config) else {}
