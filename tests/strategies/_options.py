"""Constructor options for strategies that need more than a space and a seed (shared by the strategy and study tests)."""

from __future__ import annotations

from typing import Any

from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import TableScorer

BENCH = NB201Benchmark.default()
NWOT = TableScorer(BENCH, space, "cifar10", "zc_nwot")  # NAS-Bench-Suite-Zero's NASWOT values
SYNFLOW = TableScorer(BENCH, space, "cifar10", "zc_synflow")
TWO_METRICS = {"cifar10-valid/valid_acc": "maximize", "cifar10/test_acc": "maximize"}

OPTIONS: dict[str, dict[str, Any]] = {
    "naswot": {"scorer": NWOT, "n_samples": 60},
    "area": {"scorer": NWOT, "n_candidates": 100},
    "hybrid_bo": {"scorers": [NWOT, SYNFLOW]},
    "nsga2": {"objectives": TWO_METRICS, "population_size": 8},
}


def options(name: str) -> dict[str, Any]:
    return OPTIONS.get(name, {})


def told(name: str, arch) -> float | dict[str, float]:
    """What the tests tell a strategy: the validation accuracy, or both metrics for NSGA-II."""
    key = space.format(arch)
    valid = BENCH.query(key, "cifar10-valid", "valid_acc")
    if name == "nsga2":
        return {"cifar10-valid/valid_acc": valid, "cifar10/test_acc": BENCH.query(key, "cifar10", "test_acc")}
    return valid
