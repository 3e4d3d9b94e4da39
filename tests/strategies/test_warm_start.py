"""Warm starts: known architectures proposed first, counted where each strategy's own start would go."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _options import options, told  # noqa: E402

from nasir.errors import StrategyConfigError, StudyMismatchError
from nasir.objectives import TabularObjective
from nasir.spaces.darts import space as darts
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import STRATEGIES, make_strategy
from nasir.study import Study, Trial, TrialState

BENCH = NB201Benchmark.default()
BEST = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")  # 94.37
WARM = [BEST, space.from_index(6111), space.from_index(123)]


def warm(name: str, archs=WARM, seed: int = 0):
    return make_strategy(name, space, seed=seed, warm_start=archs, **options(name))


def run(strategy, n: int, chunk: int = 1) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        archs = strategy.ask(min(chunk, n - len(out)))
        assert archs, "a strategy with nothing outstanding must propose"
        out += [a.canonical_hash() for a in archs]
        for arch in archs:
            strategy.tell(arch, told(strategy.name, arch))
    return out


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_the_warm_start_comes_first_then_the_search_is_seeded_batch_invariant_and_replayable(name: str) -> None:
    whole = run(warm(name), 30)
    assert whole[:3] == [a.canonical_hash() for a in WARM]
    assert run(warm(name), 30, chunk=7) == whole
    first = warm(name)
    run(first, 17)
    trials = [Trial(i, a.to_json(), a.canonical_hash(), TrialState.COMPLETE) for i, a in enumerate(first.archs)]
    resumed = warm(name)
    resumed.replay(trials, [told(name, a) for a in first.archs])
    assert whole[:17] + run(resumed, 13) == whole
    assert warm(name).config()["warm_start"] == [a.canonical_hash() for a in WARM]
    assert "warm_start" not in make_strategy(name, space, **options(name)).config(), "old studies resume unchanged"


def test_rea_counts_the_warm_start_into_its_initial_population() -> None:
    """With P warm cells REA draws nothing at random: its first child mutates a warm cell (the tournament winner)."""
    cells = [space.from_index(i) for i in (100, 2000, 3000, 4000, 5000)] + [BEST]
    rea = make_strategy("rea", space, population_size=6, sample_size=6, warm_start=cells)
    proposed = run(rea, 7)
    assert proposed[:6] == [a.canonical_hash() for a in cells]
    child = rea.archs[6]
    assert any(child.canonical_hash() == n.canonical_hash() for c in cells for n in space.neighbors(c))


def test_area_puts_the_warm_start_before_the_proxys_top_cells() -> None:
    plain, warmed = make_strategy("area", space, **options("area")), warm("area")
    run(plain, 10)
    run(warmed, 10)
    assert [a.canonical_hash() for a in warmed.archs[3:10]] == [a.canonical_hash() for a in plain.archs[:7]]


def test_local_search_starts_from_the_best_of_the_warm_start_and_its_first_sample() -> None:
    """initial=2 and two warm cells: no random draw; the first run climbs from the better warm cell, the optimum."""
    ls = make_strategy("local", space, initial=2, warm_start=[space.from_index(7), BEST])
    run(ls, 2)
    (first, *_) = ls.ask(1)
    assert first.canonical_hash() in {n.canonical_hash() for n in space.neighbors(BEST)}
    more = make_strategy("local", space, initial=5, warm_start=[BEST], seed=3)
    assert len(more.ask(10)) == 5, "one warm cell plus four random ones make the first sample of five"


def test_bad_warm_starts_are_refused_by_name() -> None:
    with pytest.raises(StrategyConfigError, match=r"warm_start\[1\] is not an architecture of space 'nb201'"):
        make_strategy("rea", space, warm_start=[BEST, darts.sample(0)])
    with pytest.raises(StrategyConfigError, match=r"warm_start\[0\] is a str, not an Arch"):
        make_strategy("random", space, warm_start=["|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(StrategyConfigError, match="warm_start takes a list of architectures, got Arch"):
        make_strategy("bananas", space, warm_start=BEST)


def test_a_study_resumes_only_with_the_same_warm_start(tmp_path: Path) -> None:
    objective = TabularObjective(BENCH, space)
    path = tmp_path / "w.db"
    with Study.open(path, space, make_strategy("rea", space, warm_start=WARM), objective, seed=1) as study:
        study.optimize(budget_evals=12)
        assert [t.arch_hash for t in study.trials[:3]] == [a.canonical_hash() for a in WARM]
    with Study.open(path, space, make_strategy("rea", space, warm_start=WARM), objective, seed=1) as study:
        assert study.optimize(budget_evals=20).metrics["cifar10/test_acc"] == pytest.approx(94.3733, abs=1e-3)
    with pytest.raises(StudyMismatchError, match="warm_start"):
        Study.open(path, space, make_strategy("rea", space, warm_start=WARM[:2]), objective, seed=1)
