"""Evaluation on Ray: one streaming task per architecture, on a local instance or a cluster."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from nasir.errors import ExecutorConfigError, ExecutorError, MissingDependencyError
from nasir.executors.outcome import Outcome, error_text, evaluate_safely, objective_label
from nasir.checks import is_positive_number
from nasir.executors.timeouts import Deadlines, checked_timeout, checked_workers, timed_out
from nasir.ir import Arch


def _evaluate_json(payload: bytes, arch_json: str) -> Iterator[Outcome | str | None]:
    """A Ray streaming task: unpickles the objective, says None as it starts (or why the objective could not be
    loaded, and stops), then yields the outcome."""
    try:
        objective = pickle.loads(payload)
    except Exception as err:
        yield error_text(err)
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
        self.trial_timeout = checked_timeout(trial_timeout)
        max_workers = checked_workers(max_workers, none_means="the cluster's CPUs")
        if not is_positive_number(num_cpus):
            raise ExecutorConfigError(f"num_cpus (CPUs each task reserves) must be a positive number, got {num_cpus!r}")
        try:
            import ray
        except ImportError as err:
            raise MissingDependencyError(f"the Ray executor needs Ray ({err}): pip install 'nasir[ray]'") from err
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, **(init_kwargs or {}))
            except ConnectionError as err:
                raise ExecutorError(f"cannot reach the Ray cluster at {address!r} ({err}); start one (ray start --head) or "
                                    "give no address for a local Ray instance") from None
        self.max_workers = max_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # no retries: a cell that killed its worker (out of memory, say) would kill the next one too
        self._task = ray.remote(num_cpus=num_cpus, num_returns="streaming", max_retries=0)(_evaluate_json)
        self._objective: Any = None
        self._ref: Any = None

    def run(self, objective: Any, archs: Sequence[Arch], *, on_start: Callable[[int], None],
            stop: Callable[[], bool]) -> Iterator[tuple[int, Outcome]]:
        """Launches one Ray task per architecture in order, at most ``max_workers`` in flight, yielding outcomes as tasks
        finish; after ``stop()`` none is launched but those in flight are awaited. A lost task fails its trial only. On
        Ctrl-C, or when the caller gives up on the run, the tasks in flight are cancelled (a cluster would run them on)."""
        ray = self._ray
        if objective is not self._objective:
            try:  # Ray's cloudpickle: classes defined in a notebook or script travel by value
                payload = ray.cloudpickle.dumps(objective)
            except Exception as err:
                raise ExecutorError(f"objective {objective_label(objective)} cannot be sent to Ray workers "
                                    f"({err})") from None
            self._objective, self._ref = objective, ray.put(payload)
        running: dict[Any, int] = {}  # a task's item stream -> its position
        try:
            yield from self._run(objective, archs, on_start, stop, running)
        except BaseException:  # Ctrl-C, an abandoned run, an objective that cannot load
            for stream in running:
                ray.cancel(stream, force=True)
            raise

    def _run(self, objective: Any, archs: Sequence[Arch], on_start: Callable[[int], None], stop: Callable[[], bool],
             running: dict[Any, int]) -> Iterator[tuple[int, Outcome]]:
        ray = self._ray
        waiting = list(enumerate(archs))
        deadlines = Deadlines(self.trial_timeout)
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
                    raise ExecutorError(f"objective {objective_label(objective)} could not be loaded in a "
                                        f"Ray worker: {item}")
                deadlines.discard(stream)
                yield running.pop(stream), item
            for stream in sorted(deadlines.overdue(), key=running.get):
                ray.cancel(stream, force=True)
                deadlines.discard(stream)
                yield running.pop(stream), timed_out(self.trial_timeout)

    def close(self) -> None:
        """Shuts Ray down if this executor started it, and drops the shipped objective."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._objective = self._ref = None
