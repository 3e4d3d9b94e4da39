"""Pareto utilities against brute force, and NSGA-II's front on NAS-Bench-201 accuracy vs parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasir.errors import AskTellError, DirectionError, StrategyConfigError, UnknownNameError
from nasir.grammar import Grammar, GrammarSpace, choice, dag, op, repeat, seq
from nasir.objectives import FunctionObjective, TabularObjective
from nasir.pareto import ParetoInputError, crowding_distance, dominates, hypervolume_2d, non_dominated_sort, pareto_front
from nasir.space import RestrictedSpace
from nasir.spaces.nb201 import NB201Space, space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import NSGA2, RandomSearch
from nasir.strategies.nsga2 import crossover_of
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


def test_pareto_helpers_reject_points_that_do_not_fit_their_directions() -> None:
    pts = [[90.0, 1.0], [92.0, 2.0]]
    with pytest.raises(ParetoInputError, match="at least one metric"):
        pareto_front(pts, [])  # not "every row is on the front"
    with pytest.raises(ParetoInputError, match="at least one metric"):
        pareto_front([], [])
    with pytest.raises(ParetoInputError, match="2 columns but 3 directions"):
        pareto_front(pts, ["maximize", "minimize", "maximize"])
    with pytest.raises(ParetoInputError, match="exactly two metrics, got 1"):
        hypervolume_2d([[1.0], [2.0]], ["maximize"], [0.0])
    for ragged in ([[1.0, 2.0], [3.0]], [["a", "b"]]):
        with pytest.raises(ParetoInputError, match="points must be rows of 2 numbers each"):
            pareto_front(ragged, ["maximize", "minimize"])
    with pytest.raises(ParetoInputError, match=r"reference must be two finite numbers, got \[nan, 4.0\]"):
        hypervolume_2d([[2.0, 2.0]], ["minimize", "minimize"], [math.nan, 4.0])  # was an infinite area
    assert issubclass(ParetoInputError, ValueError)  # `except ValueError` keeps working
    assert pareto_front([], ["maximize", "minimize"]) == []  # no rows: an empty front, not a column-count error
    assert hypervolume_2d(np.empty((0, 2)), ["maximize", "minimize"], [80.0, 4.0]) == 0.0


def test_crowding_distance_keeps_the_extremes() -> None:
    d = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]]))
    assert np.isinf(d[[0, 3]]).all() and d[1] == pytest.approx(d[2]) and np.isfinite(d[1])


@pytest.mark.filterwarnings("error")
def test_crowding_distance_of_failed_rows_is_defined_and_silent() -> None:
    """The front of failed trials (all -inf, as NSGA-II scores them) used to warn on inf - inf."""
    failed = np.full((4, 2), -np.inf)
    assert crowding_distance(failed).tolist() == [np.inf, 0.0, 0.0, np.inf]  # boundary rows marked, no spread
    # a column with an infinite extreme adds nothing to the interior; the finite column still does
    mixed = np.array([[0.0, np.inf], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    assert crowding_distance(mixed).tolist() == [np.inf, pytest.approx(2 / 3), pytest.approx(2 / 3), np.inf]


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
    with pytest.raises(StrategyConfigError, match="at least two"):
        NSGA2(space, objectives=[ACC])
    with pytest.raises(DirectionError, match="'maximize' or 'minimize'"):
        NSGA2(space, objectives={ACC: "up", PARAMS: "minimize"})
    with pytest.raises(StrategyConfigError, match="population_size must be an int >= 2, got 1"):
        NSGA2(space, objectives=DIRS, population_size=1)
    nsga = NSGA2(space, objectives=DIRS)
    (arch, *_) = nsga.ask(1)
    with pytest.raises(AskTellError, match="must be told the metrics"):
        nsga.tell(arch, 91.0)
    nsga.tell(arch, {ACC: 91.0, PARAMS: 0.5})
    assert nsga.scores[0] == (91.0, -0.5)
    (second,) = nsga.ask(1)
    with pytest.raises(UnknownNameError, match=r"\['cifar10/params'\] .*\['cifar10-valid/valid_acc'\]"):
        nsga.tell(second, {ACC: 92.0})  # a complete trial without PARAMS: the objective names are wrong
    assert nsga.scores[1] is None, "not counted as a failure; still outstanding"
    nsga.tell(second, {ACC: 92.0, PARAMS: float("nan")})  # a NaN objective: dominated by everything
    assert nsga.scores[1] == (float("-inf"), float("-inf"))
    (third,) = nsga.ask(1)
    nsga.tell(third, {})  # what a study tells for a failed trial
    assert nsga.scores[2] == (float("-inf"), float("-inf"))
    with pytest.raises(StrategyConfigError, match=r"crossover_rate must be in \[0, 1\], got 1.5"):
        NSGA2(space, objectives=DIRS, crossover_rate=1.5)


# ---------------------------------------------------------------- variation, duplicates, replay
LAT = "cifar10/edgegpu_latency"
LAT_DIRS = {ACC: "maximize", LAT: "minimize"}
ACC_LAT = TabularObjective(BENCH, space, report=[("cifar10", "test_acc"), ("cifar10", "edgegpu_latency")])


def _tiny_space() -> RestrictedSpace:
    """The 64 NB201 cells whose edges are all ``none`` or ``skip_connect`` (sampled uniformly)."""
    cheap = {"none", "skip_connect"}
    members = [space.from_ops(ops) for ops in space.enumerate_ops() if set(ops) <= cheap]
    return RestrictedSpace(space, lambda a: set(space.to_ops(a)) <= cheap, label="none-skip", members=members)


def test_nb201_uniform_crossover_mixes_both_parents() -> None:
    a, b = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"), \
        space.parse("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|")
    mixed = 0
    for seed in range(20):
        c1, c2 = space.crossover(a, b, seed)
        assert (c1, c2) == space.crossover(a, b, seed), "seeded"
        o1, o2 = space.to_ops(c1), space.to_ops(c2)
        assert all({x, y} == {"nor_conv_3x3", "avg_pool_3x3"} for x, y in zip(o1, o2)), "complementary children, edge by edge"
        mixed += len(set(o1)) == 2
    assert mixed >= 15  # P(one child takes all six edges from one parent) = 1/32
    assert space.crossover(a, a, 0) == (a, a)
    # a restricted space is crossed like the space it restricts, and only members come back
    tiny, rng = _tiny_space(), np.random.default_rng(0)
    cross = crossover_of(tiny)
    for _ in range(20):
        x, y = tiny.sample(rng), tiny.sample(rng)
        for child in cross(x, y, rng):
            assert tiny.keep(child) and all(op in (p, q) for op, p, q in zip(space.to_ops(child), space.to_ops(x), space.to_ops(y)))


def test_nsga2_uses_a_crossover_that_returns_both_children() -> None:
    """GrammarSpace.crossover returns both offspring (the NSGA-II before this fix handed that pair to ``mutate``)."""
    grammar = Grammar({
        "NET": seq(op("conv", out_channels=choice(4, 8), kernel=3), "BODY", "global_avg_pool", op("linear", out_features=3)),
        "BODY": repeat("CELL", (1, 2)),
        "CELL": [seq("OP", "OP"), dag({"s": "add"}, [("in", "s", "OP"), ("in", "s"), ("s", "out")])],
        "OP": [op("relu_conv_bn", kernel=choice(1, 3)), op("max_pool", kernel=3), "identity"],
    }, start="NET")
    grammar_space = GrammarSpace(grammar, name="nsga2-grammar", input_shape=(3, 8, 8))
    nsga = NSGA2(grammar_space, objectives={"params": "minimize", "nodes": "maximize"}, population_size=6, crossover_rate=1.0)
    proposed = []
    while len(proposed) < 30:
        for arch in nsga.ask(6):
            proposed.append(arch.canonical_hash())
            nsga.tell(arch, {"params": grammar_space.network(arch).count_params(), "nodes": len(arch)})
    assert len(set(proposed)) == 30


class _CountingNB201(NB201Space):
    crossings = 0

    def crossover(self, a, b, seed=None):
        type(self).crossings += 1
        return super().crossover(a, b, seed)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_nsga2_crosses_pairs_of_tournament_winners_at_the_crossover_rate(tmp_path: Path, rate: float) -> None:
    counting = _CountingNB201()
    _CountingNB201.crossings = 0
    study = Study.open(tmp_path / "c.db", counting, NSGA2(counting, objectives=LAT_DIRS, population_size=10, crossover_rate=rate),
                       ACC_LAT, seed=3)
    study.optimize(budget_evals=30)
    assert (_CountingNB201.crossings >= 10) if rate else (_CountingNB201.crossings == 0)  # two generations of 10 children
    assert study.summary()["duplicates"] == 0


def test_nsga2_proposes_no_evaluated_architecture_while_unseen_ones_exist(tmp_path: Path) -> None:
    tiny = _tiny_space()  # 64 cells: a population of 8 exhausts it in a few generations
    study = Study.open(tmp_path / "t.db", tiny, NSGA2(tiny, objectives=LAT_DIRS, population_size=8), ACC_LAT, seed=0)
    study.optimize(budget_evals=64)
    assert len({t.arch_hash for t in study.trials}) == 64 and study.summary()["duplicates"] == 0, "all 64 cells, each once"
    study.optimize(budget_evals=70)  # nothing unseen is left: the study goes on with look-ups
    assert len(study) == 70 and study.summary()["duplicates"] == 6 and study.summary()["evaluations"] == 64
    # on the whole space, 300 queries are 300 different cells (the old NSGA-II re-proposed ~8 % of its budget)
    big = Study.open(tmp_path / "b.db", space, NSGA2(space, objectives=LAT_DIRS), ACC_LAT, seed=0)
    big.optimize(budget_evals=300)
    assert big.summary()["duplicates"] == 0


def test_nsga2_resumed_study_makes_the_same_proposals(tmp_path: Path) -> None:
    def strategy() -> NSGA2:
        return NSGA2(space, objectives=LAT_DIRS, population_size=10)

    whole = Study.open(tmp_path / "whole.db", space, strategy(), ACC_LAT, seed=7)
    whole.optimize(budget_evals=60)
    cut = Study.open(tmp_path / "cut.db", space, strategy(), ACC_LAT, seed=7)
    cut.optimize(budget_evals=27)  # stops in the middle of the second generation (trials 20-29)
    cut.storage.close()
    resumed = Study.open(tmp_path / "cut.db", space, strategy(), ACC_LAT, seed=7)  # replay, then the rest
    resumed.optimize(budget_evals=60)
    assert [t.arch_hash for t in resumed.trials] == [t.arch_hash for t in whole.trials]
    assert resumed.strategy._parents == whole.strategy._parents


def test_nsga2_beats_random_search_on_accuracy_vs_edge_gpu_latency(tmp_path: Path) -> None:
    """The benchmark's setting (the 9,445 cells NAS-Bench-Suite-Zero scores, reference (80 %, 10 ms)) at half its
    budget: the front NSGA-II finds has a larger hypervolume than random search's, on average over six seeds."""
    nwot = BENCH.column("cifar10", "zc_nwot")
    scored = RestrictedSpace(space, lambda a: not np.isnan(nwot[BENCH.index_of(space.format(a))]), label="naslib-scored")
    objective = TabularObjective(BENCH, scored, report=[("cifar10", "test_acc"), ("cifar10", "edgegpu_latency")])

    def hypervolume(strategy, name: str, seed: int) -> float:
        study = Study.open(tmp_path / f"{name}{seed}.db", scored, strategy, objective, seed=seed)
        study.optimize(budget_evals=150)
        assert study.summary()["duplicates"] == 0 or name == "r"  # random search re-proposes (and pays for) some cells
        front = [[t.metrics[ACC], t.metrics[LAT]] for t in study.pareto_front(LAT_DIRS)]
        return hypervolume_2d(front, list(LAT_DIRS.values()), [80.0, 10.0])

    nsga = [hypervolume(NSGA2(scored, objectives=LAT_DIRS), "n", seed) for seed in range(6)]
    rand = [hypervolume(RandomSearch(scored), "r", seed) for seed in range(6)]
    assert np.mean(nsga) > np.mean(rand)


def _acc_lat(arch) -> dict[str, float]:
    key = space.format(arch)
    return {ACC: BENCH.query(key, "cifar10-valid", "valid_acc"), "latency": BENCH.query(key, "cifar10", "edgegpu_latency")}


def test_nsga2_fails_loudly_on_an_objective_the_trials_never_hold(tmp_path: Path) -> None:
    """An objective that declares "lat" but returns "latency": the first complete trial stops the search,
    instead of every trial counting as failed and NSGA-II quietly becoming random search."""
    objective = FunctionObjective(_acc_lat, ACC, {ACC: "maximize", "lat": "minimize", "latency": "minimize"}, name="acc-lat")
    nsga = NSGA2(space, objectives={ACC: "maximize", "lat": "minimize"}, population_size=10)
    study = Study.open(tmp_path / "s.db", space, nsga, objective, seed=0)
    with pytest.raises(UnknownNameError, match=r"\['lat'\] .*'latency'"):
        study.optimize(budget_evals=30)
    assert len(study) < 30


def _acc_lat_failing(arch) -> dict[str, float]:
    if int(arch.canonical_hash()[-2:], 16) < 96:  # about 3 in 8 architectures fail
        raise RuntimeError("degenerate cell")
    return _acc_lat(arch)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_nsga2_with_failed_trials_warns_nothing_and_keeps_a_front_of_complete_ones(tmp_path: Path) -> None:
    objective = FunctionObjective(_acc_lat_failing, ACC, {ACC: "maximize", "latency": "minimize"}, name="acc-lat-failing")
    nsga = NSGA2(space, objectives={ACC: "maximize", "latency": "minimize"}, population_size=10)
    study = Study.open(tmp_path / "f.db", space, nsga, objective, seed=0)
    study.optimize(budget_evals=40)
    assert study.summary()["failed"] >= 3, "a front of at least three failed trials is crowded"
    assert nsga.front() and all(np.isfinite(s).all() for _, s in nsga.front())
