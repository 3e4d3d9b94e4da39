"""A local pool of worker processes: the objective is loaded once per worker, architectures travel as IR JSON; a hung
evaluation is stopped at its timeout, a dead worker fails only the evaluation that killed it, and the workers end
with the study process however it ends (Ctrl-C, SIGKILL)."""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from nasir.errors import ExecutorError
from nasir.executors.outcome import Outcome, error_text, evaluate_safely, objective_label
from nasir.executors.timeouts import Deadlines, checked_timeout, checked_workers, timed_out
from nasir.ir import Arch

_WORKER_OBJECTIVE: Any = None
_WORKER_LOAD_ERROR = ""  # why the objective could not be unpickled in this worker (a module missing here, say)
_WORKER_STARTED: Any = None  # the pool's queue of (token, worker pid): which worker started which evaluation


class _ObjectiveNotLoaded(Exception):
    """Raised by a worker that could not unpickle the objective: every evaluation there would fail the same way."""


def _init_worker(payload: bytes, started: Any) -> None:
    global _WORKER_OBJECTIVE, _WORKER_LOAD_ERROR, _WORKER_STARTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the study process stops us
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="nasir-parent-watch", daemon=True).start()
    _WORKER_STARTED = started
    try:
        _WORKER_OBJECTIVE = pickle.loads(payload)
    except Exception as err:  # reported with the first task: an initializer's error would only break the pool
        _WORKER_LOAD_ERROR = error_text(err)


def _exit_with(parent_sentinel: int) -> None:
    """Ends this worker as soon as the study process is gone (SIGKILL, say): an orphan would run its evaluation on."""
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _evaluate_in_worker(token: int, arch_json: str) -> Outcome:
    if _WORKER_LOAD_ERROR:
        raise _ObjectiveNotLoaded(_WORKER_LOAD_ERROR)
    _WORKER_STARTED.put((token, os.getpid()))
    return evaluate_safely(_WORKER_OBJECTIVE, Arch.from_json(arch_json))


class ProcessPoolExecutor:
    """Evaluates in local worker processes (``concurrent.futures``, spawn context).

    The objective is pickled once per worker (it must be picklable: module-level classes and
    functions; one that cannot be unpickled in a worker stops the run with :class:`ExecutorError`, its
    trials left to wait); architectures travel as IR JSON. At most ``max_workers`` evaluations are in flight,
    so a time budget stops new work promptly. With ``trial_timeout`` an evaluation that overruns it
    fails; a worker pool cannot stop one task, so every worker is killed and the other evaluations in
    flight start again on new workers. Workers tell which evaluation they start, and in which process, through a
    queue: the timeout counts from then (the queue is read every ``_POLL`` seconds while one has not started),
    and a dead worker's evaluation is known.
    """

    _POLL = 0.05
    # seconds between looks for a dead worker: CPython's pool only notices the death of a worker started after its last
    # wake-up (a result, a submit) at the next one, so a worker killed beside long evaluations went unseen until one
    # of them finished, and the pool broke then, taking the others down with it
    _WATCH = 0.5

    name = "process_pool"

    def __init__(self, max_workers: int = 2, mp_context: str = "spawn", trial_timeout: float | None = None) -> None:
        self.max_workers, self.mp_context = checked_workers(max_workers), mp_context
        self.trial_timeout = checked_timeout(trial_timeout)
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
            raise ExecutorError(f"objective {objective_label(objective)} cannot be sent to worker processes "
                                f"({err}); define it at module level or use InProcessExecutor") from None
        self.close()
        ctx = multiprocessing.get_context(self.mp_context)
        # a new queue with every pool: a worker killed while writing to the old one may have left it broken
        self._started = ctx.SimpleQueue()
        self._pool = futures.ProcessPoolExecutor(self.max_workers, mp_context=ctx, initializer=_init_worker,
                                                 initargs=(payload, self._started))
        self._objective = objective
        return self._pool

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Submits ``archs`` in order, at most ``max_workers`` at a time, and yields outcomes as they finish; once ``stop()``
        is true nothing new is submitted but running evaluations are awaited and yielded.

        A worker that dies (killed for memory, a crash in native code) breaks the whole pool and every evaluation in
        flight with it. The pool is replaced. The evaluation the dead worker was running fails and the others lost
        with it run again side by side; when that worker cannot be told (it died before saying what it ran, or a
        second process died) they run again one at a time, so only the one that kills its worker fails. On Ctrl-C,
        or when the caller gives up on the run, the workers are killed rather than awaited (they ignore Ctrl-C, which
        reaches the whole process group)."""
        try:
            yield from self._run(objective, archs, on_start, stop)
        except (KeyboardInterrupt, GeneratorExit):
            self._drop_pool(kill=True)
            raise

    def _run(self, objective: Any, archs: Sequence[Arch], on_start: Callable[[int], None],
             stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        pool = self._pool_for(objective)
        waiting = list(range(len(archs)))
        again: list[int] = []  # stopped through no fault of their own: run again before anything new, stop() or not
        suspects: list[int] = []  # lost with a dead worker that cannot be told: run again alone, before anything new
        running: dict[futures.Future, int] = {}
        by_token: dict[int, futures.Future] = {}
        ran_on: dict[futures.Future, int] = {}  # an evaluation in flight -> the pid of the worker that started it
        deadlines = Deadlines(self.trial_timeout)

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
            ran_on.clear()
            deadlines.clear()
            return self._pool_for(objective)

        while waiting or running or suspects or again:
            if suspects:
                if not running:
                    submit(suspects.pop(0))
            else:
                while again and len(running) < self.max_workers:
                    submit(again.pop(0))
                while not again and waiting and len(running) < self.max_workers and not stop():
                    i = waiting.pop(0)
                    on_start(i)
                    submit(i)
            if not running:
                return
            due = deadlines.wait(self._POLL)
            finished, _ = futures.wait(running, timeout=self._WATCH if due is None else min(due, self._WATCH),
                                       return_when=futures.FIRST_COMPLETED)
            while not self._started.empty():
                token, pid = self._started.get()
                future = by_token.pop(token, None)
                deadlines.start(future)
                if future is not None:
                    ran_on[future] = pid
            if any(future.cancelled() or _worker_died(future) for future in finished) or _a_worker_ended(pool):
                outcomes, rerun, alone = self._sort_out_breakage(running, ran_on)
                yield from outcomes
                again, suspects = sorted(again + rerun), sorted(suspects + alone)
                pool = new_pool()
                continue
            for future in sorted(finished, key=running.get):
                if isinstance(future.exception(), _ObjectiveNotLoaded):
                    self._drop_pool(kill=True)
                    raise ExecutorError(f"objective {objective_label(objective)} could not be loaded in a "
                                        f"worker process: {future.exception()}")
                deadlines.discard(future)
                yield running.pop(future), _result(future)
            overdue = sorted(deadlines.overdue(), key=running.get)
            if overdue:
                self._drop_pool(kill=True)
                for future in overdue:
                    yield running.pop(future), timed_out(self.trial_timeout)
                again = sorted(again + list(running.values()))  # in flight beside the overdue ones
                pool = new_pool()

    def _sort_out_breakage(self, running: dict[futures.Future, int], ran_on: dict[futures.Future, int]
                           ) -> tuple[list[tuple[int, Outcome]], list[int], list[int]]:
        """After a worker died: drops the pool and returns the outcomes known (evaluations that finished, and the one
        that killed its worker when it can be told), the evaluations to run again side by side (lost through no fault
        of their own, or never sent) and those to run again alone (lost when the dead worker's cannot be told)."""
        died = _died_on_their_own(self._pool)  # before the kill below
        self._drop_pool(kill=True)  # kill the rest too: a worker the pool started in a race with its breakage is never stopped by it
        outcomes, lost, unsent = [], [], []
        for future, i in sorted(running.items(), key=lambda item: item[1]):
            if future.cancel() or future.cancelled():
                unsent.append(i)
            elif _worker_died(future):
                lost.append(i)
            else:
                outcomes.append((i, _result(future)))
        culprits = [i for future, i in running.items() if i in lost and ran_on.get(future) in died]
        if len(died) == 1 and len(culprits) == 1:  # one worker died, running this evaluation: the others are innocent
            rerun, alone = [i for i in lost if i not in culprits], []
        elif len(lost) == 1:
            culprits, rerun, alone = lost, [], []
        else:  # not told apart (several died, or one that had not said what it ran): alone, each shows whether it kills
            culprits, rerun, alone = [], [], lost
        outcomes += [(i, Outcome(error="worker process died while evaluating this architecture (killed for memory, "
                                       "say, or a crash in native code)")) for i in culprits]
        return outcomes, rerun + unsent, alone

    def _drop_pool(self, kill: bool) -> None:
        """Drops a broken pool, or kills every worker process first (the only way to stop a running task of a pool)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for process in _workers(pool):
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


def _workers(pool: futures.ProcessPoolExecutor | None) -> list[Any]:
    """The pool's worker processes (a private attribute of CPython's pool: none where it is missing)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _died_on_their_own(pool: futures.ProcessPoolExecutor | None) -> set[int]:
    """The pids of the pool's workers that have ended other than by the SIGTERM a broken pool sends the rest."""
    processes = _workers(pool)
    ended = multiprocessing.connection.wait([process.sentinel for process in processes], timeout=0)
    died = set()
    for process in (process for process in processes if process.sentinel in ended):
        deadline = time.monotonic() + 1.0
        while process.exitcode is None and time.monotonic() < deadline:  # the pool's thread is reaping it: its code is due
            time.sleep(0.01)
        if process.exitcode != -signal.SIGTERM:
            died.add(process.pid)
    return died


def _a_worker_ended(pool: futures.ProcessPoolExecutor) -> bool:
    """Whether one of the pool's workers has ended (a live pool's workers end only by dying)."""
    sentinels = [process.sentinel for process in _workers(pool)]
    return bool(sentinels) and bool(multiprocessing.connection.wait(sentinels, timeout=0))


def _worker_died(future: futures.Future) -> bool:
    """Whether a settled, uncancelled future failed because its pool broke (a worker died)."""
    return isinstance(future.exception(), BrokenProcessPool)


def _result(future: futures.Future) -> Outcome:
    try:
        return future.result()
    except Exception as err:  # e.g. a result that cannot be sent back
        return Outcome(error=f"worker process failed: {type(err).__name__}: {err}")
