"""Executors: where a study's objective evaluations run.

A study hands an executor a batch of architectures (one ``ask(n)``); the executor evaluates them
and yields ``(position, Outcome)`` as each finishes, in any order. Results never depend on the
executor: proposals are fixed before evaluation and strategies do not care in which order results
arrive, so the in-process and process-pool executors give the same study for the same seed.

:class:`RayExecutor` runs one Ray task per architecture on a local Ray instance or a cluster
(``ray.init(address=...)``); it fits the same :class:`Executor` protocol, so nothing else in a
study changes.

Both out-of-process executors take ``trial_timeout``: seconds counted from the moment a worker starts the evaluation
(the worker says so), so a new worker's start-up (importing torch, unpickling the objective) never counts against it.
An evaluation still running then is stopped (its worker killed) and its trial fails with "timed out", so one hung
training or one huge network cannot stall a search. Which trials time out depends on the machine, so a study with a
timeout is reproducible only where none does.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import pickle
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Protocol, runtime_checkable

from nasir.errors import ExecutorConfigError, ExecutorError, MissingDependencyError
from nasir.ir import Arch

__all__ = ["Outcome", "Executor", "InProcessExecutor", "ProcessPoolExecutor", "RayExecutor", "evaluate_safely", "ExecutorError"]


@dataclass(frozen=True)
class Outcome:
    """What one evaluation produced: metrics, or an error text (then the trial is FAILED)."""

    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the evaluation succeeded: no error text (else the trial is FAILED)."""
        return not self.error


def evaluate_safely(objective: Any, arch: Arch) -> Outcome:
    """Runs ``objective.evaluate``; an exception, a result that is not a dict of numbers, a missing primary metric or
    a NaN/inf becomes an error text (the finite metrics are kept beside it)."""
    start = time.perf_counter()
    try:
        returned = objective.evaluate(arch)
    except Exception as err:  # an objective failure must not stop the study
        return Outcome(error="".join(traceback.format_exception_only(type(err), err)).strip(), seconds=time.perf_counter() - start)
    metrics, error = _checked(returned, objective.primary)
    return Outcome(metrics if not error else {k: v for k, v in metrics.items() if math.isfinite(v)}, error, time.perf_counter() - start)


def _checked(returned: Any, primary: str) -> tuple[dict[str, float], str]:
    """The metrics an objective returned as floats, and what is wrong with them ("" when nothing)."""
    if not isinstance(returned, Mapping):
        return {}, f"objective returned {_shown(returned)} ({type(returned).__name__}), not a dict of metric names to numbers"
    metrics: dict[str, float] = {}
    for name, value in returned.items():
        try:
            metrics[str(name)] = float(value)
        except (TypeError, ValueError):
            return metrics, f"objective returned {_shown(value)} ({type(value).__name__}) for {str(name)!r}, not a number"
    return metrics, _invalid(metrics, primary)


def _invalid(metrics: dict[str, float], primary: str) -> str:
    if primary not in metrics:
        return f"objective returned no {primary!r} (got {sorted(metrics)})"
    if not math.isfinite(metrics[primary]):
        return f"objective returned {metrics[primary]} for {primary!r}"
    return ""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@runtime_checkable
class Executor(Protocol):
    """Evaluates batches of architectures."""

    name: str

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Evaluates ``archs``; calls ``on_start(i)`` as evaluation ``i`` starts and starts none once
        ``stop()`` is true; yields ``(i, outcome)`` for every started evaluation."""

    def close(self) -> None:
        """Releases workers."""


class InProcessExecutor:
    """Evaluates one architecture after the other in this process (the default)."""

    name = "in_process"

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Evaluates ``archs`` one at a time, in order, yielding each outcome as it finishes; checks ``stop()``
        before each, so a stop leaves the rest unstarted."""
        for i, arch in enumerate(archs):
            if stop():
                return
            on_start(i)
            yield i, evaluate_safely(objective, arch)

    def close(self) -> None:
        """Nothing to release."""


_WORKER_OBJECTIVE: Any = None
_WORKER_LOAD_ERROR = ""  # why the objective could not be unpickled in this worker (a module missing here, say)
_WORKER_STARTED: Any = None  # the pool's queue of started tokens (None: no timeout, nobody listens)


class _ObjectiveNotLoaded(Exception):
    """Raised by a worker that could not unpickle the objective: every evaluation there would fail the same way."""


def _init_worker(payload: bytes, started: Any) -> None:
    global _WORKER_OBJECTIVE, _WORKER_LOAD_ERROR, _WORKER_STARTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the study process stops us
    _WORKER_STARTED = started
    try:
        _WORKER_OBJECTIVE = pickle.loads(payload)
    except Exception as err:  # reported with the first task: an initializer's error would only break the pool
        _WORKER_LOAD_ERROR = "".join(traceback.format_exception_only(type(err), err)).strip()


def _evaluate_in_worker(token: int, arch_json: str) -> Outcome:
    if _WORKER_LOAD_ERROR:
        raise _ObjectiveNotLoaded(_WORKER_LOAD_ERROR)
    if _WORKER_STARTED is not None:
        _WORKER_STARTED.put(token)
    return evaluate_safely(_WORKER_OBJECTIVE, Arch.from_json(arch_json))


class _Deadlines:
    """When each evaluation in flight must end: ``timeout`` seconds after its worker started it, unknown (never)
    until the worker says it has started."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._ends: dict[Any, float] = {}

    def add(self, key: Any) -> None:
        """An evaluation handed to a worker, not started yet."""
        self._ends[key] = math.inf

    def start(self, key: Any) -> None:
        """Its worker started it now (ignored without a timeout, or for an evaluation no longer in flight)."""
        if self.timeout is not None and key in self._ends:
            self._ends[key] = time.monotonic() + self.timeout

    def discard(self, key: Any) -> None:
        """It finished or was stopped."""
        self._ends.pop(key, None)

    def clear(self) -> None:
        """Every evaluation in flight was stopped."""
        self._ends.clear()

    def overdue(self) -> list[Any]:
        """The evaluations whose time is up."""
        now = time.monotonic()
        return [key for key, end in self._ends.items() if end <= now]

    def wait(self, poll: float | None = None) -> float | None:
        """Seconds to wait for a result before the first deadline (None: no timeout, wait for a result). With ``poll``,
        at most that long while an evaluation has not said it started, for callers that must look for the start."""
        if self.timeout is None:
            return None
        first = min(self._ends.values(), default=math.inf)
        if poll is not None and math.inf in self._ends.values():
            first = min(first, time.monotonic() + poll)
        return None if first == math.inf else max(0.0, first - time.monotonic())


class ProcessPoolExecutor:
    """Evaluates in local worker processes (``concurrent.futures``, spawn context).

    The objective is pickled once per worker (it must be picklable: module-level classes and
    functions; one that cannot be unpickled in a worker stops the run with :class:`ExecutorError`, its
    trials left to wait); architectures travel as IR JSON. At most ``max_workers`` evaluations are in flight,
    so a time budget stops new work promptly. With ``trial_timeout`` an evaluation that overruns it
    fails; a worker pool cannot stop one task, so every worker is killed and the other evaluations in
    flight start again on new workers. Workers tell when they start an evaluation through a queue, which
    this process reads every ``_POLL`` seconds while one has not started.
    """

    _POLL = 0.05

    name = "process_pool"

    def __init__(self, max_workers: int = 2, mp_context: str = "spawn", trial_timeout: float | None = None) -> None:
        if max_workers < 1:
            raise ExecutorConfigError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers, self.mp_context, self.trial_timeout = max_workers, mp_context, _checked_timeout(trial_timeout)
        self._pool: futures.ProcessPoolExecutor | None = None
        self._objective: Any = None
        self._started: Any = None
        self._tokens = itertools.count()

    def _pool_for(self, objective: Any) -> futures.ProcessPoolExecutor:
        if self._pool is not None and objective is self._objective:
            return self._pool
        try:
            payload = pickle.dumps(objective)
        except Exception as err:
            raise ExecutorError(f"objective {getattr(objective, 'name', objective)!r} cannot be sent to worker processes "
                                f"({err}); define it at module level or use InProcessExecutor") from None
        self.close()
        ctx = multiprocessing.get_context(self.mp_context)
        # a new queue with every pool: a worker killed while writing to the old one may have left it broken
        self._started = ctx.SimpleQueue() if self.trial_timeout is not None else None
        self._pool = futures.ProcessPoolExecutor(self.max_workers, mp_context=ctx, initializer=_init_worker,
                                                 initargs=(payload, self._started))
        self._objective = objective
        return self._pool

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Submits ``archs`` in order, at most ``max_workers`` at a time, and yields outcomes as they finish; once ``stop()``
        is true nothing new is submitted but running evaluations are awaited and yielded.

        A worker that dies (killed for memory, a crash in native code) breaks the whole pool and every evaluation in
        flight with it. The pool is replaced; if more than one evaluation was lost they run again one at a time, so
        only the one that kills its worker fails. On Ctrl-C, or when the caller gives up on the run, the workers are
        killed rather than awaited (they ignore Ctrl-C, which reaches the whole process group)."""
        try:
            yield from self._run(objective, archs, on_start, stop)
        except (KeyboardInterrupt, GeneratorExit):
            self._drop_pool(kill=True)
            raise

    def _run(self, objective: Any, archs: Sequence[Arch], on_start: Callable[[int], None],
             stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        pool = self._pool_for(objective)
        waiting = list(range(len(archs)))
        suspects: list[int] = []  # lost together with a dead worker: run again alone, before anything new
        running: dict[futures.Future, int] = {}
        by_token: dict[int, futures.Future] = {}
        deadlines = _Deadlines(self.trial_timeout)

        def submit(i: int) -> None:
            token = next(self._tokens)
            try:
                future = pool.submit(_evaluate_in_worker, token, archs[i].to_json())
            except BrokenProcessPool:  # a worker died since the last look: this one was never sent
                future = futures.Future()
                future.cancel()
            running[future], by_token[token] = i, future
            deadlines.add(future)

        def new_pool() -> futures.ProcessPoolExecutor:
            running.clear()
            by_token.clear()
            deadlines.clear()
            return self._pool_for(objective)

        while waiting or running or suspects:
            if suspects and not running:
                submit(suspects.pop(0))  # started before: run again, stop() or not
            while not suspects and waiting and len(running) < self.max_workers and not stop():
                i = waiting.pop(0)
                on_start(i)
                submit(i)
            if not running:
                return
            finished, _ = futures.wait(running, timeout=deadlines.wait(self._POLL), return_when=futures.FIRST_COMPLETED)
            while self._started is not None and not self._started.empty():
                deadlines.start(by_token.pop(self._started.get(), None))
            if any(future.cancelled() or _worker_died(future) for future in finished):
                outcomes, again = self._sort_out_breakage(running)
                yield from outcomes
                suspects = sorted(suspects + again)
                pool = new_pool()
                continue
            for future in sorted(finished, key=running.get):
                if isinstance(future.exception(), _ObjectiveNotLoaded):
                    self._drop_pool(kill=True)
                    raise ExecutorError(f"objective {getattr(objective, 'name', objective)!r} could not be loaded in a "
                                        f"worker process: {future.exception()}")
                deadlines.discard(future)
                yield running.pop(future), _result(future)
            overdue = sorted(deadlines.overdue(), key=running.get)
            if overdue:
                self._drop_pool(kill=True)
                for future in overdue:
                    yield running.pop(future), _timed_out(self.trial_timeout)
                killed = sorted(running.values())  # in flight beside the overdue ones: started again, stop() or not
                pool = new_pool()
                for i in killed:
                    submit(i)

    def _sort_out_breakage(self, running: dict[futures.Future, int]) -> tuple[list[tuple[int, Outcome]], list[int]]:
        """After a worker died: drops the pool and returns the outcomes known (evaluations that finished, and the lost
        one when it is the only one) and the evaluations to run again alone (lost with others, or never sent)."""
        self._drop_pool(kill=True)  # kill the rest too: a worker the pool started in a race with its breakage is never stopped by it
        outcomes, lost, unsent = [], [], []
        for future, i in sorted(running.items(), key=lambda item: item[1]):
            if future.cancel() or future.cancelled():
                unsent.append(i)
            elif _worker_died(future):
                lost.append(i)
            else:
                outcomes.append((i, _result(future)))
        if len(lost) == 1:
            outcomes.append((lost[0], Outcome(error="worker process died while evaluating this architecture (killed for "
                                                    "memory, say, or a crash in native code)")))
            lost = []
        return outcomes, lost + unsent

    def _drop_pool(self, kill: bool) -> None:
        """Drops a broken pool, or kills every worker process first (the only way to stop a running task of a pool)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Shuts the worker pool down (waiting for running evaluations, cancelling queued ones); the next run starts a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._started is not None:
            self._started.close()
            self._started = None


def _checked_timeout(seconds: float | None) -> float | None:
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, Real) or not 0 < seconds < math.inf):
        raise ExecutorConfigError(f"trial_timeout must be a positive number of seconds or None, got {seconds!r}")
    return None if seconds is None else float(seconds)


def _timed_out(timeout: float | None) -> Outcome:
    return Outcome(error=f"timed out after {timeout:g} s (the evaluation was stopped)", seconds=float(timeout or 0.0))


def _worker_died(future: futures.Future) -> bool:
    """Whether a settled, uncancelled future failed because its pool broke (a worker died)."""
    return isinstance(future.exception(), BrokenProcessPool)


def _result(future: futures.Future) -> Outcome:
    try:
        return future.result()
    except Exception as err:  # e.g. a result that cannot be sent back
        return Outcome(error=f"worker process failed: {type(err).__name__}: {err}")


def _evaluate_json(payload: bytes, arch_json: str) -> Iterator[Outcome | str | None]:
    """A Ray streaming task: unpickles the objective, says None as it starts (or why the objective could not be
    loaded, and stops), then yields the outcome."""
    try:
        objective = pickle.loads(payload)
    except Exception as err:
        yield "".join(traceback.format_exception_only(type(err), err)).strip()
        return
    yield None
    yield evaluate_safely(objective, Arch.from_json(arch_json))


class RayExecutor:
    """Evaluates on Ray: one remote task per architecture, at most ``max_workers`` in flight.

    Args:
        address: a running cluster (``"auto"``, ``"ray://host:10001"``); None starts a local
            instance. An already initialised Ray is used as is.
        max_workers: tasks in flight (default: the cluster's CPU count).
        num_cpus: CPUs each task reserves.
        init_kwargs: extra ``ray.init`` arguments (e.g. ``num_cpus=2`` for a local instance).
        trial_timeout: seconds an evaluation may run once its task starts; an overdue task is cancelled (its worker
            killed) and fails.

    The objective is shipped once per study (``ray.put`` of its cloudpickle, so a class defined in a notebook travels
    by value; one that cannot be loaded on a worker stops the run with :class:`ExecutorError`) and architectures
    travel as IR JSON. Each task unpickles the objective, then streams a first item as it starts, so the timeout
    leaves out scheduling, a worker's start-up and the loading. A task whose worker dies fails its trial at once
    (Ray's task retries are off).
    ``close()`` shuts Ray down only if this executor started it.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, max_workers: int | None = None, num_cpus: float = 1.0,
                 init_kwargs: dict[str, Any] | None = None, trial_timeout: float | None = None) -> None:
        self.trial_timeout = _checked_timeout(trial_timeout)
        try:
            import ray
        except ImportError as err:
            raise MissingDependencyError(f"the Ray executor needs Ray ({err}): pip install 'nasir[ray]'") from err
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **(init_kwargs or {}))
        self.max_workers = max_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # no retries: a cell that killed its worker (out of memory, say) would kill the next one too
        self._task = ray.remote(num_cpus=num_cpus, num_returns="streaming", max_retries=0)(_evaluate_json)
        self._objective: Any = None
        self._ref: Any = None

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Launches one Ray task per architecture in order, at most ``max_workers`` in flight, yielding outcomes as tasks
        finish; after ``stop()`` none is launched but those in flight are awaited. A lost task fails its trial only."""
        ray = self._ray
        if objective is not self._objective:
            try:  # Ray's cloudpickle: classes defined in a notebook or script travel by value
                payload = ray.cloudpickle.dumps(objective)
            except Exception as err:
                raise ExecutorError(f"objective {getattr(objective, 'name', objective)!r} cannot be sent to Ray workers "
                                    f"({err})") from None
            self._objective, self._ref = objective, ray.put(payload)
        waiting = list(enumerate(archs))
        running: dict[Any, int] = {}  # a task's item stream -> its position
        deadlines = _Deadlines(self.trial_timeout)
        while waiting or running:
            while waiting and len(running) < self.max_workers and not stop():
                i, arch = waiting.pop(0)
                on_start(i)
                stream = self._task.remote(self._ref, arch.to_json())
                running[stream] = i
                deadlines.add(stream)
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1, timeout=deadlines.wait())
            for stream in ready:
                try:
                    item = ray.get(next(stream))
                except Exception as err:  # a lost worker or node, or an objective that cannot load, fails its trial only
                    item = Outcome(error=f"ray task failed: {type(err).__name__}: {err}")
                if item is None:  # the task started
                    deadlines.start(stream)
                    continue
                if isinstance(item, str):  # every task would fail the same way
                    for other in running:
                        ray.cancel(other, force=True)
                    raise ExecutorError(f"objective {getattr(objective, 'name', objective)!r} could not be loaded in a "
                                        f"Ray worker: {item}")
                deadlines.discard(stream)
                yield running.pop(stream), item
            for stream in sorted(deadlines.overdue(), key=running.get):
                ray.cancel(stream, force=True)
                deadlines.discard(stream)
                yield running.pop(stream), _timed_out(self.trial_timeout)

    def close(self) -> None:
        """Shuts Ray down if this executor started it, and drops the shipped objective."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._objective = self._ref = None
