"""Trial records: what a study stores for every evaluated (or failed) architecture."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from nasir.ir import Arch

__all__ = ["TrialState", "Trial"]


class TrialState(str, enum.Enum):
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Trial:
    """One frozen trial as stored: the architecture (IR JSON and hash), metrics, timing, state.

    ``duplicate_of`` names the earlier trial whose metrics were reused when a strategy proposed an
    architecture (same canonical hash) that had already been evaluated.
    """

    number: int
    arch_json: str
    arch_hash: str
    state: TrialState
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    duplicate_of: int | None = None

    @property
    def arch(self) -> Arch:
        return Arch.from_json(self.arch_json)

    def value(self, metric: str) -> float | None:
        """The metric if the trial completed, else None."""
        return self.metrics.get(metric) if self.state is TrialState.COMPLETE else None

    def to_row(self) -> dict[str, Any]:
        return {"number": self.number, "arch_hash": self.arch_hash, "state": self.state.value,
                "metrics": json.dumps(self.metrics), "error": self.error, "seconds": self.seconds,
                "duplicate_of": self.duplicate_of}
