"""Trial records: what a study stores for every proposed architecture."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nasir.ir import Arch
from nasir.pareto import pareto_front

__all__ = ["TrialState", "Trial", "front_of"]


class TrialState(str, enum.Enum):
    """WAITING: proposed and committed, not started; RUNNING: being evaluated (left so by a dead
    process it becomes FAILED on the next open); COMPLETE; FAILED (the error text says why)."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Trial:
    """One frozen trial as stored: the architecture (IR JSON and canonical hash), metrics, timing, state.

    ``duplicate_of`` names the earlier trial whose metrics were reused because the strategy
    proposed an architecture (same canonical hash) that had already been evaluated. ``seconds`` is
    the objective's wall time; ``created``/``started``/``finished`` are Unix times.
    """

    number: int
    arch_json: str = field(repr=False)  # kilobytes of IR: printing a list of trials shows hashes and metrics
    arch_hash: str
    state: TrialState
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    duplicate_of: int | None = None
    created: float | None = None
    started: float | None = None
    finished_at: float | None = None

    @cached_property
    def arch(self) -> Arch:
        """The architecture parsed from ``arch_json`` (on first access, then cached)."""
        return Arch.from_json(self.arch_json)

    @property
    def finished(self) -> bool:
        """Whether the trial has its result: COMPLETE or FAILED."""
        return self.state in (TrialState.COMPLETE, TrialState.FAILED)

    def value(self, metric: str) -> float | None:
        """The metric if the trial completed, else None."""
        return self.metrics.get(metric) if self.state is TrialState.COMPLETE else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form with the architecture as an IR dict; ``finished_at`` is written as ``finished``."""
        return {"number": self.number, "arch_hash": self.arch_hash, "arch": json.loads(self.arch_json), "state": self.state.value,
                "metrics": self.metrics, "error": self.error, "seconds": self.seconds, "duplicate_of": self.duplicate_of,
                "created": self.created, "started": self.started, "finished": self.finished_at}


def front_of(trials: Sequence[Trial], directions: Mapping[str, str]) -> list[Trial]:
    """The completed trials not dominated in ``directions``' metrics, one per architecture (repeats left out), in
    trial order; a metric a trial lacks counts as missing (NaN). Shared by a live study and a stored one."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.duplicate_of is None]
    points = [[t.metrics.get(m, math.nan) for m in directions] for t in done]
    return [done[i] for i in sorted(pareto_front(points, list(directions.values())))] if done else []
