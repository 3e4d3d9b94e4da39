"""Every registered strategy: seeded, batch-invariant, replayable; and the parts they are built from."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _options import options, told  # noqa: E402

from nasir.errors import AskTellError, DirectionError, StrategyConfigError, StrategyOptionError, UnknownNameError
from nasir.space import SearchSpace
from nasir.spaces.darts import space as darts
from nasir.spaces.grammars import hierarchical
from nasir.spaces.mobilenet import space as mobilenet
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import STRATEGIES, Bananas, LocalSearch, RegularizedEvolution, ReplayMismatchError, make_strategy, tournament
from nasir.study import Trial, TrialState

BENCH = NB201Benchmark.default()

def value(arch) -> float:
    return BENCH.query(space.format(arch), "cifar10-valid", "valid_acc")


def run(strategy, n: int, chunk: int = 1) -> list[str]:
    """Ask/tell loop in chunks of ``chunk``; returns the proposals' hashes."""
    out: list[str] = []
    while len(out) < n:
        archs = strategy.ask(min(chunk, n - len(out)))
        assert archs, "a strategy with nothing outstanding must propose"
        for arch in archs:
            out.append(arch.canonical_hash())
        for arch in archs:
            strategy.tell(arch, told(strategy.name, arch))
    return out


def fresh(name: str, seed: int = 0):
    return make_strategy(name, space, seed=seed, **options(name))


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_seeded(name: str) -> None:
    a, b, c = run(fresh(name), 30), run(fresh(name), 30), run(fresh(name, seed=1), 30)
    assert a == b and a != c


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_same_proposals_whatever_the_batch_size(name: str) -> None:
    assert run(fresh(name), 30, chunk=1) == run(fresh(name), 30, chunk=7)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_replay_rebuilds_the_state(name: str) -> None:
    whole = run(fresh(name), 35)
    first = fresh(name)
    run(first, 23)
    trials = [Trial(i, a.to_json(), a.canonical_hash(), TrialState.COMPLETE) for i, a in enumerate(first.archs)]
    resumed = fresh(name)
    resumed.replay(trials, [told(name, a) for a in first.archs])
    assert [a.canonical_hash() for a in resumed.archs] == whole[:23]
    assert whole[:23] + run(resumed, 12) == whole


def test_replay_refuses_another_search() -> None:
    other = fresh("rea", seed=5)
    run(other, 12)
    trials = [Trial(i, a.to_json(), a.canonical_hash(), TrialState.COMPLETE) for i, a in enumerate(other.archs)]
    with pytest.raises(ReplayMismatchError, match="stored trial 0 is not what strategy 'rea'"):
        fresh("rea", seed=0).replay(trials, [value(a) for a in other.archs])


def test_tell_checks_and_accepts_metrics() -> None:
    rs = make_strategy("random", space, metric="acc")
    (arch,) = rs.ask()
    with pytest.raises(AskTellError, match="was not asked"):
        rs.tell(space.sample(123), 1.0)
    rs.tell(arch, {"acc": 91.0, "latency": 3.0})
    assert rs.scores == [91.0]
    lat = make_strategy("random", space, metric="latency", direction="minimize")
    (arch,) = lat.ask()
    lat.tell(arch, {"latency": 3.0})
    assert lat.scores == [-3.0]


def test_tournament_picks_the_best_of_a_sample_drawn_with_replacement() -> None:
    """Real et al.'s Alg. 1 draws each contestant independently: a 10-of-10 tournament misses the
    best member with probability 0.9**10 = 0.349 (it never would without replacement)."""
    tied = [(space.from_index(i), float(i % 4)) for i in range(10)]  # values 3 at members 3 and 7
    picks = np.random.default_rng(3).integers(10, size=6).tolist()
    first_best = max(picks, key=lambda i: tied[i][1])  # the first drawn of the best wins a tie
    assert tournament(tied, 6, np.random.default_rng(3)) is tied[first_best][0]
    members = [(space.from_index(i), float(i)) for i in range(10)]
    rng = np.random.default_rng(0)
    missed = np.mean([tournament(members, 10, rng) is not members[9][0] for _ in range(4000)])
    assert abs(missed - 0.9**10) < 0.03


def test_rea_starts_random_then_mutates_one_edge_of_a_recent_member() -> None:
    rea = RegularizedEvolution(space, population_size=10, sample_size=3, seed=0)
    run(rea, 40)
    for t in range(10, 40):
        child = space.to_ops(rea.archs[t])
        population = [space.to_ops(a) for a in rea.archs[t - 10 : t]]
        assert any(sum(x != y for x, y in zip(child, p)) == 1 for p in population), f"trial {t} is no mutant of the population"


def test_rea_breeds_parallel_children_from_one_population_the_same_whatever_the_batch() -> None:
    """``parallel`` children per step keep that many workers busy; each mutates a member of the population as it
    stood before the step, and the proposals neither depend on ask()'s n nor break replay."""
    rea = RegularizedEvolution(space, population_size=10, sample_size=3, parallel=4, seed=0)
    initial = rea.ask(20)
    assert len(initial) == 10 and rea.ask(3) == [], "the random population first; children need its results"
    for arch in initial:
        rea.tell(arch, value(arch))
    step = rea.ask(20)
    assert len(step) == 4 and rea.ask(1) == [], "one step is four children; the next waits for their results"
    population = [space.to_ops(a) for a in initial]
    for child in map(space.to_ops, step):
        assert any(sum(x != y for x, y in zip(child, p)) == 1 for p in population)
    batched = run(RegularizedEvolution(space, parallel=4, seed=0), 34, chunk=3)
    assert batched == run(RegularizedEvolution(space, parallel=4, seed=0), 34, chunk=8)
    assert batched[:10] == run(fresh("rea"), 10) and batched != run(fresh("rea"), 34)
    first = RegularizedEvolution(space, parallel=4, seed=0)
    run(first, 16)  # stops mid-step: two of the third step's four children are asked
    trials = [Trial(i, a.to_json(), a.canonical_hash(), TrialState.COMPLETE) for i, a in enumerate(first.archs)]
    resumed = RegularizedEvolution(space, parallel=4, seed=0)
    resumed.replay(trials, [value(a) for a in first.archs])
    assert batched[:16] + run(resumed, 18) == batched
    assert RegularizedEvolution(space).config() == {"population_size": 10, "sample_size": 3}, "old studies resume"


def test_local_search_evaluates_neighbourhoods_of_the_best() -> None:
    ls = LocalSearch(space, initial=10, seed=0)
    first = ls.ask(100)
    assert len(first) == 10, "the initial random sample is one plan; then it needs results"
    for arch in first:
        ls.tell(arch, value(arch))
    best = max(first, key=value)
    hood = ls.ask(100)
    assert {a.canonical_hash() for a in hood} == {a.canonical_hash() for a in space.neighbors(best)} - {a.canonical_hash() for a in first}
    assert ls.ask(5) == [], "nothing more until the neighbourhood's results are in"


def test_bananas_batches_and_takes_any_predictor_with_an_uncertainty() -> None:
    from nasir.predictors import GPRegressor

    b = Bananas(space, seed=0, predictor=lambda seed: GPRegressor())
    initial = b.ask(50)
    assert len(initial) == 10 and b.ask(1) == []
    for arch in initial:
        b.tell(arch, value(arch))
    batch = b.ask(50)
    assert len(batch) == 10 and not {a.canonical_hash() for a in batch} & {a.canonical_hash() for a in initial}


def test_bananas_finds_good_cells_in_60_queries() -> None:
    """Mean best validation accuracy over three seeds; random search's 60-query mean is ~91.0 over seeds 0-5."""
    bests = []
    for seed in range(3):
        b = Bananas(space, seed=seed)
        run(b, 60, chunk=10)
        bests.append(max(value(a) for a in b.archs))
        assert max(value(a) for a in b.archs[10:]) >= max(value(a) for a in b.archs[:10])
    assert np.mean(bests) > 90.9


@pytest.mark.parametrize(("name", "searched", "encoding"), [
    pytest.param("bananas", darts, None, id="bananas-darts-default"),  # the default, path, which DARTS lacks
    pytest.param("bananas", mobilenet, None, id="bananas-mobilenet-default"),
    pytest.param("bananas", hierarchical, None, id="bananas-hierarchical-default"),
    pytest.param("bananas", space, "pth", id="bananas-nb201-typo"),
    pytest.param("hybrid_bo", mobilenet, None, id="hybrid_bo-mobilenet-default"),  # the default, adjacency
])
def test_bananas_and_hybrid_bo_refuse_an_encoding_the_space_lacks_when_built(name: str, searched: SearchSpace,
                                                                            encoding: str | None) -> None:
    """Before any trial is spent (it used to fail with a bare ValueError after the random initial trials)."""
    with pytest.raises(UnknownNameError) as err:
        make_strategy(name, searched, **({"encoding": encoding} if encoding else {}))
    message = str(err.value)
    assert name in message and searched.name in message and all(repr(kind) in message for kind in searched.encodings)


def test_bananas_searches_darts_with_an_encoding_it_has() -> None:
    from nasir.predictors import GPRegressor

    b = make_strategy("bananas", darts, seed=0, encoding="adjacency", initial=3, batch=2, candidates=5,
                      predictor=lambda seed: GPRegressor())
    for _ in range(2):  # the random initial trials, then a batch chosen by the predictor
        for arch in b.ask(10):
            b.tell(arch, float(int(arch.canonical_hash()[-4:], 16)))
    assert len(b.archs) == 5


@pytest.mark.parametrize(("name", "given", "message"), [
    ("rea", {"populaton_size": 20}, "strategy 'rea' has no option 'populaton_size'; did you mean 'population_size'?"),
    ("bananas", {"sed": 1}, "did you mean 'seed'?"),  # an option of the base class, reached through **kwargs
    ("area", {}, "strategy 'area' needs scorer="),
    ("nsga2", {"population_size": 8}, "strategy 'nsga2' needs objectives="),
])
def test_make_strategy_names_a_wrong_or_missing_option(name: str, given: dict, message: str) -> None:
    with pytest.raises(StrategyOptionError, match=message):
        make_strategy(name, space, **given)
    assert issubclass(StrategyOptionError, TypeError)


def test_ask_and_tell_misuse_is_an_ask_tell_error() -> None:
    rs = make_strategy("random", space)
    for n in (0, 1.5, "2"):
        with pytest.raises(AskTellError, match=rf"ask\(n\) needs an int n >= 1, got {n!r}"):
            rs.ask(n)
    (arch,) = rs.ask()
    for bad in (None, "high", [1.0]):
        with pytest.raises(AskTellError, match="tell\\(\\) takes a number or a dict of numbers"):
            rs.tell(arch, bad)
    with pytest.raises(AskTellError, match=r"tell\(\) got metrics \['acc', 'latency'\]; construct the strategy with metric="):
        rs.tell(arch, {"acc": 91.0, "latency": 3.0})
    rs.tell(arch, {"acc": 91.0})  # one metric needs no metric=
    with pytest.raises(AskTellError, match="not asked or was already told"):
        rs.tell(arch, 1.0)


@pytest.mark.parametrize("name, option, match", [
    ("random", {"direction": "up"}, "direction must be 'maximize' or 'minimize', got 'up'"),
    ("random", {"seed": -1}, r"seed must be an int in \[0, 2\*\*63\), got -1"),
    ("random", {"seed": "a"}, r"seed must be an int in \[0, 2\*\*63\), got 'a'"),
    ("local", {"initial": 0}, "initial must be an int >= 1, got 0"),
    ("local", {"initial": 2.5}, "initial must be an int >= 1, got 2.5"),
    ("rea", {"population_size": 3, "sample_size": 4}, r"need 1 <= sample_size \(4\) <= population_size \(3\)"),
    ("rea", {"sample_size": 0}, "sample_size must be an int >= 1, got 0"),
    ("rea", {"population_size": 5.5}, "population_size must be an int >= 1, got 5.5"),
    ("rea", {"population_size": "10"}, "population_size must be an int >= 1, got '10'"),
    ("rea", {"parallel": 0}, r"parallel \(children bred at once\) must be an int >= 1, got 0"),
    ("bananas", {"candidates": 0}, "candidates must be an int >= 1, got 0"),
    ("bananas", {"initial": "3"}, "initial must be an int >= 1, got '3'"),
    ("nsga2", {"objectives": ["a", "b"], "population_size": "4"}, "population_size must be an int >= 2, got '4'"),
    ("nsga2", {"objectives": "valid_acc"}, "got the string 'valid_acc'"),
    ("hybrid_bo", {"random_candidates": -1}, "random_candidates must be an int >= 0, got -1"),
])
def test_option_values_a_strategy_cannot_take(name: str, option: dict, match: str) -> None:
    expected = DirectionError if "direction" in option else StrategyConfigError
    with pytest.raises(expected, match=match) as info:
        make_strategy(name, space, **option)
    assert isinstance(info.value, ValueError)


# three NB201 cells at least two edges apart: no member is one mutation from another
_FAR_APART = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
              "|none~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|",
              "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|")


@pytest.mark.parametrize("name", ["rea", "bananas", "hybrid_bo", "nsga2", "area"])
def test_strategies_keep_searching_a_space_whose_members_are_no_mutation_apart(name: str, tmp_path: Path) -> None:
    """Mutation finds no member there (EmptySpaceError); the strategy must go on with random members, not stop."""
    from nasir.objectives import FunctionObjective
    from nasir.space import RestrictedSpace
    from nasir.study import Study

    members = [space.parse(s) for s in _FAR_APART]
    keys = {m.canonical_hash() for m in members}
    tiny = RestrictedSpace(space, lambda a: a.canonical_hash() in keys, label="far-apart", members=members, tries=20)

    def metrics(arch) -> dict[str, float]:
        text = space.format(arch)
        return {"acc": float(text.count("conv")), "params": float(text.count("pool"))}

    objective = FunctionObjective(metrics, "acc", {"acc": "maximize", "params": "minimize"})
    extra = {"nsga2": {"objectives": {"acc": "maximize", "params": "minimize"}, "population_size": 4},
             "area": {"scorer": lambda archs: np.arange(len(archs), dtype=float), "n_candidates": 30}}.get(name, {})
    with Study.open(tmp_path / "s.db", tiny, make_strategy(name, tiny, **extra), objective, seed=0) as study:
        study.optimize(budget_evals=25)
        summary = study.summary()
    assert summary["trials"] >= 25 and summary["evaluations"] == 3 and summary["failed"] == 0
