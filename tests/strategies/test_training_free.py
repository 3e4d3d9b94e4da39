"""NASWOT sample-and-rank, AREA and the hybrid GP-BO, with NAS-Bench-Suite-Zero's tabular proxy values."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _options import BENCH, NWOT, SYNFLOW, told  # noqa: E402

from nasir.errors import StrategyConfigError  # noqa: E402
from nasir.objectives import TabularObjective  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402
from nasir.strategies import AREA, CachedScorer, HybridBO, RandomSearch, SampleAndRank, TableScorer  # noqa: E402
from nasir.strategies.area import ranked_candidates  # noqa: E402
from nasir.strategies.hybrid_bo import expected_improvement  # noqa: E402
from nasir.strategies.scorers import ScorerOutputError  # noqa: E402
from nasir.study import Study  # noqa: E402


def valid(arch) -> float:
    return told("any", arch)


def test_sample_and_rank_proposes_the_sample_best_first() -> None:
    s = SampleAndRank(space, scorer=NWOT, n_samples=50, seed=3)
    proposals = s.ask(50)
    scores = NWOT(proposals)
    assert len({a.canonical_hash() for a in proposals}) == 50
    assert np.all(np.diff(scores[np.isfinite(scores)]) <= 0), "best first"
    assert s.ask(1) == [], "only the N scored candidates are proposed"
    assert proposals == ranked_candidates(space, NWOT, 50, 3)


def test_naswot_study_with_one_evaluation_returns_the_proxy_argmax(tmp_path: Path) -> None:
    study = Study.open(tmp_path / "s.db", space, SampleAndRank(space, scorer=NWOT, n_samples=100), TabularObjective(BENCH, space), seed=0)
    best = study.optimize(budget_evals=1)
    pool = ranked_candidates(space, NWOT, 100, 0)
    assert best.arch == pool[0] and NWOT([best.arch])[0] == NWOT(pool).max()


def test_area_seeds_evolution_with_the_proxy_top_p() -> None:
    area = AREA(space, scorer=NWOT, n_candidates=200, population_size=10, sample_size=3, seed=1)
    initial = area.ask(20)
    assert len(initial) == 10, "the initial population is one plan; then evolution needs results"
    top = ranked_candidates(space, NWOT, 200, 1)[:10]
    assert initial == top
    for arch in initial:
        area.tell(arch, valid(arch))
    (child,) = area.ask(5)
    ops = space.to_ops(child)
    assert any(sum(x != y for x, y in zip(ops, space.to_ops(p))) == 1 for p in initial), "a one-edge mutant of the population"


def test_area_ranks_a_given_candidate_pool_and_a_resume_must_use_the_same(tmp_path: Path) -> None:
    pool = [space.sample(s) for s in range(30)]
    area = AREA(space, scorer=NWOT, candidates=pool, population_size=5, seed=7)
    initial = area.ask(5)
    scores = NWOT(pool)
    best = sorted(range(30), key=lambda i: (-np.nan_to_num(scores[i], nan=-np.inf), i))[:5]
    assert area.n_candidates == 30 and initial == [pool[i] for i in best]
    assert AREA(space, scorer=NWOT, candidates=pool, population_size=5, seed=8).ask(5) == initial, "the pool, not the seed"
    objective = TabularObjective(BENCH, space)
    Study.open(tmp_path / "s.db", space, AREA(space, scorer=NWOT, candidates=pool, population_size=5), objective, seed=0).optimize(budget_evals=8)
    with pytest.raises(ValueError, match="candidates"):
        Study.open(tmp_path / "s.db", space, AREA(space, scorer=NWOT, candidates=pool[1:], population_size=5), objective, seed=0)
    with pytest.raises(StrategyConfigError, match=r"n_candidates \(3\) must be >= population_size \(5\)"):
        AREA(space, scorer=NWOT, candidates=pool[:3], population_size=5)


def test_sample_and_rank_needs_a_sample() -> None:
    with pytest.raises(StrategyConfigError, match="n_samples must be an int >= 1, got 0"):
        SampleAndRank(space, scorer=NWOT, n_samples=0)


def test_area_starts_from_a_better_population_than_rea() -> None:
    """The proxy-picked initial population beats a random one on ground truth (mean over 5 seeds)."""
    area = [np.mean([valid(a) for a in AREA(space, scorer=NWOT, n_candidates=1000, seed=s).ask(10)]) for s in range(5)]
    rand = [np.mean([valid(a) for a in RandomSearch(space, seed=s).ask(10)]) for s in range(5)]
    assert np.mean(area) > np.mean(rand) + 5


def test_expected_improvement() -> None:
    ei = expected_improvement(np.array([1.0, 0.0, 0.0]), np.array([1e-12, 1.0, 0.0]), best=0.5)
    assert ei[0] == pytest.approx(0.5) and ei[1] > 0 and ei[2] == pytest.approx(0.0)


def test_cached_scorer_scores_each_architecture_once() -> None:
    calls: list[int] = []

    def scorer(archs):
        calls.append(len(archs))
        return NWOT(archs)

    cached = CachedScorer(scorer)
    archs = [space.from_index(i) for i in (1, 2, 3)]
    assert np.array_equal(cached(archs), NWOT(archs))
    assert np.array_equal(cached(archs[::-1]), NWOT(archs[::-1])) and calls == [3]


@pytest.mark.parametrize(("answer", "message"), [
    (np.zeros(3), r"returned shape \(3,\) for 5 architectures; it must return one score per architecture"),
    (np.zeros((5, 1)), r"returned shape \(5, 1\) for 5 architectures"),
    ([None, "x", 1, 2, 3], "returned list, not numbers, for 5 architectures"),
])
def test_cached_scorer_refuses_anything_but_one_score_per_architecture(answer, message: str) -> None:
    """A short answer used to surface as zip()'s 'argument 2 is longer than argument 1'."""
    def bad(archs):
        return answer

    cached = CachedScorer(bad)
    archs = [space.from_index(i) for i in range(5)]
    with pytest.raises(ScorerOutputError, match=rf"scorer '.*bad' {message}"):
        cached(archs)
    assert not cached._cache, "nothing half-cached from a refused answer"
    assert issubclass(ScorerOutputError, ValueError), "AREA's check for the same mistake raises a ValueError too"


def test_hybrid_bo_with_a_wrong_length_scorer_names_the_scorer() -> None:
    def three(archs):
        return np.zeros(3)

    bo = HybridBO(space, scorers=[three], initial=2, seed=0)
    for arch in bo.ask(2):
        bo.tell(arch, valid(arch))
    with pytest.raises(ScorerOutputError, match=r"scorer '.*three' returned shape \(3,\) for 2 architectures"):
        bo.ask(1)


def test_table_scorer_ranks_unscored_cells_last_and_checks_its_column() -> None:
    unscored = next(i for i in range(100) if np.isnan(BENCH.query(i, "cifar10", "zc_nwot")))
    assert NWOT([space.from_index(unscored)])[0] == -np.inf
    with pytest.raises(Exception, match="no metric 'zc_nope'"):
        TableScorer(BENCH, space, "cifar10", "zc_nope")


def test_hybrid_bo_uses_proxy_features_and_finds_good_cells() -> None:
    """Mean best validation accuracy over three seeds after 40 queries; random search's is 90.91 (20 seeds)."""
    bests = []
    for seed in range(3):
        bo = HybridBO(space, scorers=[NWOT, SYNFLOW], seed=seed)
        for _ in range(40):
            (arch,) = bo.ask(1)
            bo.tell(arch, valid(arch))
        bests.append(max(valid(a) for a in bo.archs))
        assert bo._encode(bo.archs[:3]).shape[1] == space.encode(bo.archs[0], "adjacency").size + 2
    assert np.mean(bests) > 91.1


def test_restricted_space_stays_inside() -> None:
    from nasir.space import EmptySpaceError, RestrictedSpace

    nwot = BENCH.column("cifar10", "zc_nwot")
    keep = lambda a: not np.isnan(nwot[BENCH.index_of(space.format(a))])  # noqa: E731
    sub = RestrictedSpace(space, keep, label="scored")
    rng = np.random.default_rng(0)
    assert sub.name == "nb201[scored]" and sub.size() is None
    for _ in range(20):
        a = sub.sample(rng)
        assert keep(a) and keep(sub.mutate(a, rng))
    assert all(keep(n) for n in sub.neighbors(a)) and len(sub.neighbors(a)) < len(space.neighbors(a))
    members = [space.from_index(i) for i in range(40) if not np.isnan(nwot[i])]
    listed = RestrictedSpace(space, keep, members=members)
    assert listed.size() == len(members) and all(listed.sample(rng) in members for _ in range(10))
    with pytest.raises(EmptySpaceError, match="no member found"):
        RestrictedSpace(space, lambda a: False, tries=5).sample(0)


def test_restricted_space_crosses_like_its_space_and_keeps_members() -> None:
    from nasir.space import EmptySpaceError, RestrictedSpace

    no_conv = lambda a: not any(op.startswith("nor_conv") for op in space.to_ops(a))  # noqa: E731
    sub = RestrictedSpace(space, no_conv, label="no-conv")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = sub.sample(rng), sub.sample(rng)
        children = sub.crossover(a, b, 7)
        assert children == sub.crossover(a, b, 7), "seeded"
        assert 1 <= len(children) <= 2 and all(no_conv(c) for c in children)
        assert all(op in (p, q) for c in children for op, p, q in zip(space.to_ops(c), space.to_ops(a), space.to_ops(b)))
    conv = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    with pytest.raises(EmptySpaceError, match="crossing"):
        RestrictedSpace(space, no_conv, tries=5).crossover(conv, conv, 0)

    class NoCrossover:  # a space without the operator gives a restriction without it
        name, encodings = "plain", ("adjacency",)

    assert not hasattr(RestrictedSpace(NoCrossover(), bool), "crossover") and hasattr(sub, "crossover")
