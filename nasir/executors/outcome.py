"""What one evaluation produced, and the one place an objective's result is checked (same rules on every executor)."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nasir.ir import Arch


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
        return Outcome(error=error_text(err), seconds=time.perf_counter() - start)
    metrics, error = _checked(returned, objective.primary)
    return Outcome(metrics if not error else {k: v for k, v in metrics.items() if math.isfinite(v)}, error, time.perf_counter() - start)


def error_text(err: BaseException) -> str:
    """An exception as one line, "Type: message", as trials and executor errors show it."""
    return "".join(traceback.format_exception_only(type(err), err)).strip()


def objective_label(objective: Any) -> str:
    """How executor errors name an objective: its ``name``, quoted."""
    return repr(getattr(objective, "name", objective))


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
