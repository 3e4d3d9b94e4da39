"""Studies on real SQLite files: determinism, dedup, failures, bad files, budgets."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from nasir import errors
from nasir.objectives import TabularObjective
from nasir.spaces import nb101
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import STRATEGIES, make_strategy
from nasir.study import Study, StudyStorageError, TrialState

BENCH = NB201Benchmark.default()


def run(path: Path, strategy: str, n: int = 40, seed: int = 0) -> Study:
    study = Study.open(path, space, make_strategy(strategy, space), TabularObjective(BENCH), seed=seed)
    study.optimize(n)
    return study


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_same_seed_same_search(tmp_path: Path, strategy: str) -> None:
    a, b = run(tmp_path / "a.db", strategy), run(tmp_path / "b.db", strategy)
    assert [t.arch_hash for t in a.trials] == [t.arch_hash for t in b.trials]
    assert [t.arch_hash for t in run(tmp_path / "c.db", strategy, seed=1).trials] != [t.arch_hash for t in a.trials]


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_resumed_study_equals_uninterrupted(tmp_path: Path, strategy: str) -> None:
    whole = run(tmp_path / "whole.db", strategy, n=40)
    run(tmp_path / "parts.db", strategy, n=15)
    resumed = run(tmp_path / "parts.db", strategy, n=40)
    assert [t.arch_hash for t in resumed.trials] == [t.arch_hash for t in whole.trials]


def test_searches_beat_random_picks_and_record_test_accuracy(tmp_path: Path) -> None:
    best = run(tmp_path / "s.db", "rea", n=100).best_trial()
    assert best.metrics["cifar10-valid/valid_acc"] > 90.5
    assert best.metrics["cifar10/test_acc"] == BENCH.query(best.arch, "cifar10", "test_acc")


def test_duplicates_are_looked_up_not_evaluated(tmp_path: Path) -> None:
    calls = []

    class Counting(TabularObjective):
        def evaluate(self, arch):
            calls.append(arch.canonical_hash())
            return super().evaluate(arch)

    study = Study.open(tmp_path / "d.db", space, make_strategy("rea", space), Counting(BENCH), seed=3)
    study.optimize(120)
    dups = [t for t in study.trials if t.duplicate_of is not None]
    assert dups, "REA on NB201 re-proposes architectures within 120 queries"
    assert len(calls) == len(set(calls)) == 120 - len(dups)
    for t in dups:
        assert t.metrics == study.trials[t.duplicate_of].metrics and t.arch_hash == study.trials[t.duplicate_of].arch_hash


class Flaky(TabularObjective):
    """Raises on every third call and returns NaN on every fifth."""

    def __init__(self) -> None:
        super().__init__(BENCH)
        self.calls = 0

    def evaluate(self, arch):
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("simulated out-of-memory")
        metrics = super().evaluate(arch)
        if self.calls % 5 == 0:
            metrics[self.metric] = math.nan
        return metrics


def test_failing_objective_marks_trials_failed_and_the_study_goes_on(tmp_path: Path) -> None:
    study = Study.open(tmp_path / "f.db", space, make_strategy("random", space), Flaky(), seed=0)
    study.optimize(15)
    states = [t.state for t in study.trials]
    assert len(states) == 15 and states.count(TrialState.FAILED) == 7
    errors_ = {t.error.split(":")[0] for t in study.trials if t.state is TrialState.FAILED}
    assert errors_ == {"RuntimeError", "objective returned nan for 'cifar10-valid/valid_acc'"}
    assert study.best_trial().state is TrialState.COMPLETE


def test_bad_budgets(tmp_path: Path) -> None:
    study = Study.open(tmp_path / "b.db", space, make_strategy("random", space), TabularObjective(BENCH))
    with pytest.raises(ValueError, match="must be positive"):
        study.optimize(0)
    with pytest.raises(ValueError, match="give a budget"):
        study.optimize()


def test_corrupt_foreign_and_mismatched_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database, just text" * 10)
    with pytest.raises(StudyStorageError, match="not an SQLite database"):
        run(corrupt, "random")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(StudyStorageError, match="another application"):
        run(foreign, "random")
    run(tmp_path / "s.db", "random", n=3)
    with pytest.raises(StudyStorageError, match="space is 'nb201' in the file but 'nb101' here"):
        Study.open(tmp_path / "s.db", nb101.space, make_strategy("random", nb101.space), TabularObjective(BENCH))
    assert isinstance(StudyStorageError("x"), errors.NasirError)


def test_objective_rejects_unknown_metric() -> None:
    with pytest.raises(errors.BenchmarkQueryError, match="no metric 'top5'"):
        TabularObjective(BENCH, metric="top5")


def test_bananas_finds_a_top_cell_in_60_queries(tmp_path: Path) -> None:
    best = run(tmp_path / "b.db", "bananas", n=60).best_trial()
    assert best.metrics["cifar10/test_acc"] > 93.5
