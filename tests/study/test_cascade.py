"""Cascades on real SQLite files: the shortlist, the pick, resuming a second stage, failures in it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _objectives import BENCH, Flaky, Logged  # noqa: E402

from nasir.errors import StudyConfigError  # noqa: E402
from nasir.objectives import TabularObjective  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402
from nasir.strategies import RandomSearch, Shortlist  # noqa: E402
from nasir.study import BudgetError, Study, TrialState, rerank  # noqa: E402

C100 = "cifar100/test_acc"


class Costly(TabularObjective):
    """The second stage: CIFAR-100 test accuracy, counting each evaluation; ``stop_after`` evaluations end the process."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__(BENCH, space, dataset="cifar100", metric="test_acc", report=())
        self.evaluated: list[str] = []
        self.stop_after = stop_after

    def evaluate(self, arch):
        if self.stop_after is not None and len(self.evaluated) == self.stop_after:
            raise KeyboardInterrupt  # not an objective failure: the run dies mid-trial
        self.evaluated.append(arch.canonical_hash())
        return super().evaluate(arch)


def first_stage(path: Path, trials: int = 40) -> Study:
    study = Study.open(path, space, RandomSearch(space), Logged(), seed=3)
    study.optimize(budget_evals=trials)
    return study


def test_rerank_evaluates_the_first_stages_best_cells_and_picks_the_second_stages_best(tmp_path: Path) -> None:
    study = first_stage(tmp_path / "s.db")
    costly = Costly()
    cascade = rerank(study, costly, 5)
    valid = lambda t: t.metrics[study.objective.primary]  # noqa: E731
    distinct = [t for t in study.trials if t.state is TrialState.COMPLETE and t.duplicate_of is None]
    expected = sorted(distinct, key=lambda t: (-valid(t), t.number))[:5]
    assert [first.number for first, _ in cascade.pairs] == [t.number for t in expected]
    assert costly.evaluated == [t.arch_hash for t in expected]  # each once, in the first stage's order
    assert all(second.arch_hash == first.arch_hash for first, second in cascade.pairs)
    first, second = cascade.best()
    assert second.metrics[C100] == max(BENCH.query(space.format(t.arch), "cifar100", "test_acc") for t in expected)
    assert study.storage.study_names() == ["default", f"default:rerank:{costly.name}"]


def test_a_second_run_or_a_longer_shortlist_evaluates_only_new_cells(tmp_path: Path) -> None:
    study = first_stage(tmp_path / "s.db")
    pick = rerank(study, Costly(), 4).best()
    study.storage.close()
    study = first_stage(tmp_path / "s.db")  # reopened: nothing left to run
    again = Costly()
    assert rerank(study, again, 4).best()[1].arch_hash == pick[1].arch_hash and again.evaluated == []
    longer = rerank(study, again, 7)
    assert len(again.evaluated) == 3 and len(longer.study.trials) == 7
    assert study.storage.shortlist_size(longer.study.name) == 7, "the last shortlist size is stored for readers"
    assert study.storage.shortlist_size("default") is None
    known = {t.arch_hash for t in longer.study.trials}
    study.optimize(budget_evals=80)  # the first stage runs on: its top changes, known cells stay known
    grown = Costly()
    cascade = rerank(study, grown, 7)
    shortlisted = {first.arch_hash for first, _ in cascade.pairs}
    assert grown.evaluated and shortlisted & known  # both cases happen
    assert set(grown.evaluated) == shortlisted - known


def test_a_killed_second_stage_resumes_without_scoring_a_cell_twice(tmp_path: Path) -> None:
    study = first_stage(tmp_path / "s.db")
    dying = Costly(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        rerank(study, dying, 5)
    study.storage.close()
    study = first_stage(tmp_path / "s.db")
    resumed = Costly()
    cascade = rerank(study, resumed, 5, retry_interrupted=True)
    assert sorted(dying.evaluated + resumed.evaluated) == sorted(first.arch_hash for first, _ in cascade.pairs)
    assert all(second.state is TrialState.COMPLETE for _, second in cascade.pairs)
    uninterrupted = rerank(first_stage(tmp_path / "fresh.db"), Costly(), 5)
    assert cascade.best()[1].arch_hash == uninterrupted.best()[1].arch_hash


def test_failed_second_stage_cells_are_never_picked(tmp_path: Path) -> None:
    study = first_stage(tmp_path / "s.db", trials=60)
    cascade = rerank(study, Flaky(), 40, name="flaky")
    states = [second.state for _, second in cascade.pairs]
    assert TrialState.FAILED in states and TrialState.COMPLETE in states
    assert cascade.best()[1].state is TrialState.COMPLETE
    ops = [space.to_ops(first.arch)[0] for first, _ in cascade.pairs]
    assert all(state is TrialState.FAILED for op, state in zip(ops, states) if op in ("nor_conv_1x1", "avg_pool_3x3"))


def test_shortlist_and_top_trials_edges(tmp_path: Path) -> None:
    empty = Study.open(tmp_path / "empty.db", space, RandomSearch(space), Logged(), seed=0)
    with pytest.raises(BudgetError, match="no completed trial"):
        rerank(empty, Costly(), 3)
    with pytest.raises(StudyConfigError, match=r"top_trials\(k\) needs k >= 1, got 0"):
        empty.top_trials(0)
    study = first_stage(tmp_path / "s.db", trials=10)
    assert len(study.top_trials(100)) == sum(t.duplicate_of is None for t in study.trials)
    archs = [t.arch for t in study.trials[:3]]
    strategy = Shortlist(space, archs + archs[:1])  # a repeated cell is proposed once
    assert [a.canonical_hash() for a in strategy.ask(10)] == [a.canonical_hash() for a in archs]
    assert strategy.ask(1) == []
