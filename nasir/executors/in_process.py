"""The executor protocol a study drives, and the default executor: evaluations one after the other in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from nasir.executors.outcome import Outcome, evaluate_safely
from nasir.ir import Arch


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
