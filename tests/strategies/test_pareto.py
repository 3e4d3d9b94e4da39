"""Pareto utilities against brute force, and NSGA-II's front on NAS-Bench-201 accuracy vs parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasir.objectives import TabularObjective
from nasir.pareto import crowding_distance, dominates, hypervolume_2d, non_dominated_sort, pareto_front
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import NSGA2, RandomSearch
from nasir.study import Study

BENCH = NB201Benchmark.default()
ACC, PARAMS = "cifar10-valid/valid_acc", "cifar10/params"
DIRS = {ACC: "maximize", PARAMS: "minimize"}

points = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(points)
def test_non_dominated_sort_matches_brute_force(rows) -> None:
    pts = np.array(rows, dtype=float)
    fronts = non_dominated_sort(pts)
    assert sorted(i for f in fronts for i in f) == list(range(len(pts)))
    remaining = set(range(len(pts)))
    for front in fronts:
        expected = {i for i in remaining if not any(dominates(pts[j], pts[i]) for j in remaining)}
        assert set(front) == expected
        remaining -= expected


def test_directions_nan_and_hypervolume() -> None:
    pts = [[90.0, 1.0], [92.0, 2.0], [91.0, 3.0], [float("nan"), 0.5]]
    assert pareto_front(pts, ["maximize", "minimize"]) == [0, 1]
    # rectangles above reference (80, 4): (90-80)*(4-1) + (92-90)*(4-2) = 30 + 4
    assert hypervolume_2d(pts, ["maximize", "minimize"], [80.0, 4.0]) == pytest.approx(34.0)
    assert hypervolume_2d(pts, ["maximize", "minimize"], [95.0, 4.0]) == 0.0
    with pytest.raises(ValueError, match="directions"):
        pareto_front(pts, ["maximize", "up"])


def test_crowding_distance_keeps_the_extremes() -> None:
    d = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]]))
    assert np.isinf(d[[0, 3]]).all() and d[1] == pytest.approx(d[2]) and np.isfinite(d[1])


def _hv(trials) -> float:
    pts = [[t.metrics[ACC], t.metrics[PARAMS]] for t in trials]
    return hypervolume_2d(pts, [DIRS[ACC], DIRS[PARAMS]], [80.0, 1.6])


def test_nsga2_front_is_exact_and_beats_random_search(tmp_path: Path) -> None:
    objective = TabularObjective(BENCH, space, report=[("cifar10", "test_acc"), ("cifar10", "params")])
    hv_nsga, hv_rand = [], []
    for seed in range(3):
        nsga = Study.open(tmp_path / f"n{seed}.db", space, NSGA2(space, objectives=DIRS, population_size=20), objective, seed=seed)
        nsga.optimize(budget_evals=200)
        front = nsga.pareto_front()
        done = [t for t in nsga.trials if t.duplicate_of is None]
        brute = [t for t in done if not any(
            (o.metrics[ACC] >= t.metrics[ACC] and o.metrics[PARAMS] <= t.metrics[PARAMS])
            and (o.metrics[ACC] > t.metrics[ACC] or o.metrics[PARAMS] < t.metrics[PARAMS]) for o in done)]
        assert [t.number for t in front] == [t.number for t in brute]
        assert {t.arch_hash for t in front} == {a.canonical_hash() for a, _ in nsga.strategy.front()}
        rand = Study.open(tmp_path / f"r{seed}.db", space, RandomSearch(space), objective, seed=seed)
        rand.optimize(budget_evals=200)
        hv_nsga.append(_hv(front))
        hv_rand.append(_hv(rand.pareto_front(DIRS)))
    assert np.mean(hv_nsga) > np.mean(hv_rand)


def test_nsga2_needs_two_valid_objectives_and_metrics() -> None:
    with pytest.raises(ValueError, match="at least two"):
        NSGA2(space, objectives=[ACC])
    with pytest.raises(ValueError, match="'maximize' or 'minimize'"):
        NSGA2(space, objectives={ACC: "up", PARAMS: "minimize"})
    nsga = NSGA2(space, objectives=DIRS)
    (arch, *_) = nsga.ask(1)
    with pytest.raises(ValueError, match="must be told the metrics"):
        nsga.tell(arch, 91.0)
    nsga.tell(arch, {ACC: 91.0, PARAMS: 0.5})
    assert nsga.scores[0] == (91.0, -0.5)
