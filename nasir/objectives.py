"""Objectives: what a study measures for an architecture.

An objective returns a dict of metrics; ``metric`` names the one the search optimises and
``direction`` says whether higher or lower is better. Framework work (proxies, training, latency)
is injected as objects built elsewhere, so this module imports no framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from nasir.ir import Arch

__all__ = ["Objective", "TabularObjective"]


@runtime_checkable
class Objective(Protocol):
    """Evaluates one architecture."""

    name: str
    metric: str
    direction: str  # "maximize" or "minimize"

    def evaluate(self, arch: Arch) -> dict[str, float]:
        """Metrics of ``arch``; must contain :attr:`metric`. Raise, or return NaN, to fail the trial."""


class TabularObjective:
    """Looks an NB201 architecture up in a tabular benchmark (a "query" in the NAS literature).

    Args:
        benchmark: e.g. ``NB201Benchmark.default()``.
        dataset, metric: what the search optimises, e.g. ``("cifar10-valid", "valid_acc")``.
        report: further (dataset, metric) pairs recorded with each trial but not optimised, e.g.
            the test accuracy reported for the architecture a search picks.
    """

    direction = "maximize"

    def __init__(self, benchmark, dataset: str = "cifar10-valid", metric: str = "valid_acc",
                 report: Sequence[tuple[str, str]] = (("cifar10", "test_acc"),)) -> None:
        self.benchmark = benchmark
        self.metric = f"{dataset}/{metric}"
        self._pairs = [(dataset, metric), *report]
        benchmark.column(dataset, metric)  # fail now, not in the middle of a search
        for ds, m in report:
            benchmark.column(ds, m)
        self.name = f"tabular:{self.metric}"

    def evaluate(self, arch: Arch) -> dict[str, float]:
        return {f"{ds}/{m}": self.benchmark.query(arch, ds, m) for ds, m in self._pairs}
