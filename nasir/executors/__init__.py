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

Modules: ``outcome`` (what an evaluation produced, and the check of an objective's result), ``in_process`` (the
protocol and the default executor), ``pool`` (local worker processes), ``on_ray`` (Ray tasks), ``timeouts``.
"""

from nasir.errors import ExecutorError
from nasir.executors.in_process import Executor, InProcessExecutor
from nasir.executors.on_ray import RayExecutor
from nasir.executors.outcome import Outcome, evaluate_safely
from nasir.executors.pool import ProcessPoolExecutor

__all__ = ["Outcome", "Executor", "InProcessExecutor", "ProcessPoolExecutor", "RayExecutor", "evaluate_safely", "ExecutorError"]
