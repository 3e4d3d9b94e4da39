"""Objectives: what a study measures for an architecture.

An objective returns a dict of metrics, declares for each metric whether higher or lower is
better (``directions``), and names the one a single-objective search optimises (``primary``).
Framework work (proxies, short training, measured latency) is injected as a callable built
elsewhere (:class:`FunctionObjective`), so this module imports no framework.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from nasir.errors import DirectionError
from nasir.ir import Arch

__all__ = ["Objective", "TabularObjective", "FunctionObjective", "score", "MAXIMIZE", "MINIMIZE", "default_direction",
           "valid_directions"]

MAXIMIZE, MINIMIZE = "maximize", "minimize"
_LOWER_IS_BETTER = ("latency", "energy", "params", "flops", "loss", "error", "time", "memory")


@runtime_checkable
class Objective(Protocol):
    """Evaluates one architecture.

    Attributes:
        name: identifies the objective in a stored study (a resumed study must use the same).
        primary: the metric a single-objective strategy optimises.
        directions: ``metric -> "maximize" | "minimize"`` for every metric ``evaluate`` returns.
    """

    name: str
    primary: str
    directions: Mapping[str, str]

    def evaluate(self, arch: Arch) -> dict[str, float]:
        """Metrics of ``arch``; must contain :attr:`primary`. Raise, or return NaN, to fail the trial."""


def default_direction(metric: str) -> str:
    """``minimize`` for costs (latency, energy, params, FLOPs, loss, error, time), else ``maximize``."""
    return MINIMIZE if any(word in metric for word in _LOWER_IS_BETTER) else MAXIMIZE


def score(metrics: Mapping[str, float], metric: str, direction: str) -> float:
    """The higher-is-better score a strategy is told: the metric, negated when minimised; NaN if absent."""
    value = float(metrics.get(metric, math.nan))
    return value if direction == MAXIMIZE else -value


class TabularObjective:
    """Looks an architecture up in a tabular benchmark (one "query" in the NAS literature).

    Args:
        benchmark: e.g. ``NB201Benchmark.default()``: anything with ``query(key, dataset, metric)``
            and ``column(dataset, metric)`` (checked up front so a typo fails before the search).
        space: formats the architecture into the benchmark's key (``space.format(arch)``); when
            None the Arch itself is passed to the benchmark.
        dataset, metric: what the search optimises, e.g. ``("cifar10-valid", "valid_acc")``.
        report: further (dataset, metric) pairs recorded with each trial but not optimised, e.g.
            the test accuracy reported for the architecture a search picks.

    Metrics are keyed ``"<dataset>/<metric>"``.
    """

    def __init__(self, benchmark: Any, space: Any = None, dataset: str = "cifar10-valid", metric: str = "valid_acc",
                 report: Sequence[tuple[str, str]] = (("cifar10", "test_acc"),)) -> None:
        self.benchmark, self.space = benchmark, space
        self._pairs = list(dict.fromkeys([(dataset, metric), *report]))
        for ds, m in self._pairs:
            benchmark.column(ds, m)  # fail now, not in the middle of a search
        self.primary = f"{dataset}/{metric}"
        self.directions = {f"{ds}/{m}": default_direction(m) for ds, m in self._pairs}
        self.name = f"tabular:{self.primary}"

    def evaluate(self, arch: Arch) -> dict[str, float]:
        """The benchmark's value for every (dataset, metric) pair, keyed ``"<dataset>/<metric>"``; no training, a lookup."""
        key = arch if self.space is None else self.space.format(arch)
        return {f"{ds}/{m}": self.benchmark.query(key, ds, m) for ds, m in self._pairs}


def valid_directions(primary: Any, directions: Any) -> bool:
    """Whether ``directions`` maps ``primary`` (and any other metric) to "maximize" or "minimize", as an objective's must."""
    return isinstance(directions, Mapping) and primary in directions and all(d in (MAXIMIZE, MINIMIZE) for d in directions.values())


class FunctionObjective:
    """Wraps a callable ``arch -> dict[str, float]`` (a proxy scorer, a trainer, a latency meter).

    The callable is built by the caller (e.g. around a torch frontend) and must be picklable for
    the process-pool executor (a module-level function or an instance of a module-level class).
    """

    def __init__(self, fn: Callable[[Arch], Mapping[str, float]], primary: str, directions: Mapping[str, str] | None = None,
                 name: str | None = None) -> None:
        self.fn, self.primary = fn, primary
        self.directions = dict(directions or {primary: default_direction(primary)})
        if not valid_directions(primary, self.directions):
            raise DirectionError(f"directions must map {primary!r} (and any other metric) to 'maximize' or 'minimize', got {self.directions}")
        self.name = name or f"function:{getattr(fn, '__qualname__', type(fn).__name__)}:{primary}"

    def evaluate(self, arch: Arch) -> Mapping[str, float]:
        """The callable's metrics; the executor turns them into floats, and fails the trial when they are not a dict
        of numbers, lack the primary metric or hold a NaN."""
        return self.fn(arch)
