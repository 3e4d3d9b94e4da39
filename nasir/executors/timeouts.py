"""Settings and per-trial timeouts of the out-of-process executors: checking the worker count and the timeout, each
evaluation's deadline (counted from the moment its worker starts it), and the outcome of an evaluation that overran it."""

from __future__ import annotations

import math
import time
from typing import Any

from nasir.checks import is_count, is_positive_number
from nasir.errors import ExecutorConfigError
from nasir.executors.outcome import Outcome


def checked_workers(value: Any, none_means: str = "") -> int | None:
    """``max_workers`` as given: an int >= 1, or None where ``none_means`` says what None stands for."""
    if value is None and none_means:
        return None
    if not is_count(value):
        also = f" or None ({none_means})" if none_means else ""
        raise ExecutorConfigError(f"max_workers must be an int >= 1{also}, got {value!r}")
    return int(value)


def checked_timeout(seconds: float | None) -> float | None:
    """``trial_timeout`` as a float (None: no timeout); refuses anything but a positive finite number."""
    if seconds is not None and not is_positive_number(seconds):
        raise ExecutorConfigError(f"trial_timeout must be a positive number of seconds or None, got {seconds!r}")
    return None if seconds is None else float(seconds)


def timed_out(timeout: float | None) -> Outcome:
    """The outcome of an evaluation stopped at its timeout."""
    return Outcome(error=f"timed out after {timeout:g} s (the evaluation was stopped)", seconds=float(timeout or 0.0))


class Deadlines:
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
