"""The search-strategy contract and the small parts strategies are built from.

A strategy proposes (``ask``) and learns (``tell``). Every strategy here obeys one rule that makes
searches reproducible and resumable without pickling anything:

    the proposal for trial ``t`` is a pure function of (seed, ``t``, the results of earlier trials),
    drawing randomness only from ``proposal_rng(seed, t)``.

``ask(n)`` therefore returns *up to* ``n`` proposals: as many as the algorithm can make before it
must see results it has not been told yet (random search: all ``n``; aging evolution: one at a
time, or its ``parallel`` children, once the population is full; BANANAS: the rest of its batch of 10; local search: the rest of
a neighbourhood). Because proposals never depend on how many were asked at once, a study gives the
same trials whether it evaluates them one by one or in parallel batches, and ``replay(trials)``
rebuilds the exact state of an interrupted search from the stored history.

``warm_start`` (every strategy here takes it) puts known architectures first: they are trials 0..w-1, and the
algorithm counts them where its own start would go (the initial population of REA, AREA and NSGA-II, the initial
sample of BANANAS, BO and local search). They are part of the strategy's ``config``, so a study resumes only with
the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from nasir.checks import is_count
from nasir.errors import AskTellError, DirectionError, EmptySpaceError, ReplayMismatchError, StrategyConfigError
from nasir.ir import Arch
from nasir.rng import is_seed
from nasir.space import SearchSpace

__all__ = ["Strategy", "BaseStrategy", "FAILED", "ReplayMismatchError", "proposal_rng", "tournament", "mutant", "Told"]

T = TypeVar("T")  # what a tournament ranks: an architecture, or a GenNAS task

FAILED = float("-inf")  # the score a strategy is told for a failed trial (loses every comparison)


@runtime_checkable
class Told(Protocol):
    """What ``replay`` reads from a stored trial (``nasir.study.Trial`` satisfies it)."""

    number: int
    arch: Arch

    @property
    def finished(self) -> bool:
        """Whether the trial has its result (complete or failed); an unfinished one is replayed as still outstanding."""


@runtime_checkable
class Strategy(Protocol):
    """Proposes architectures and learns from their scores (higher is better)."""

    name: str
    seed: int

    def ask(self, n: int = 1) -> list[Arch]:
        """Up to ``n`` new proposals (fewer when the next ones need results still outstanding)."""

    def tell(self, arch: Arch, result: float | Mapping[str, float]) -> None:
        """The result of an architecture proposed earlier: a score, or metrics (see :class:`BaseStrategy`)."""

    def replay(self, trials: Sequence[Any], scores: Sequence[float | Mapping[str, float] | None]) -> None:
        """Rebuilds state from stored trials (in order) and what ``tell`` got for each (None: not finished yet)."""


def whole(name: str, value: Any, minimum: int = 1) -> int:
    """A count option checked once, up front: a float, string or bool would otherwise fail deep in a later trial."""
    if not is_count(value, minimum):
        raise StrategyConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def proposal_rng(seed: int, number: int) -> np.random.Generator:
    """The random stream of trial ``number``: independent of how many trials were asked at once."""
    return np.random.default_rng([int(seed), int(number)])


def tournament(members: Sequence[tuple[T, float]], sample_size: int, rng: np.random.Generator) -> T:
    """Best of ``sample_size`` members drawn uniformly *with* replacement, as in Real et al. 2019
    (Alg. 1, "random candidate from population" per draw) and the reference REA scripts of the
    NAS-Bench-201 and NASLib authors; on a tie the member drawn first wins."""
    picks = rng.integers(len(members), size=sample_size)
    best = max((int(i) for i in picks), key=lambda i: members[i][1])
    return members[best][0]


def mutant(space: SearchSpace, arch: Arch, rng: np.random.Generator, steps: int = 1) -> Arch | None:
    """``arch`` mutated ``steps`` times, or None where a restricted space has no member one mutation away
    (:class:`~nasir.space.RestrictedSpace` raises EmptySpaceError): the strategy then falls back on random cells."""
    try:
        for _ in range(steps):
            arch = space.mutate(arch, rng)
    except EmptySpaceError:
        return None
    return arch


class BaseStrategy:
    """Bookkeeping shared by the strategies: trial history, outstanding proposals, replay.

    Subclasses implement ``_plan(t)``: the proposals starting at trial ``t`` that can be made now,
    or ``None`` when the next proposal needs results not yet told. Plans are consumed in order. The
    warm start comes before the first plan, so ``_plan`` is first called with ``t = len(warm_start)``.

    Args:
        space: the search space.
        seed: the search's seed (a study overwrites it with its own).
        metric: used when ``tell`` receives a metrics mapping instead of a score.
        direction: "maximize" or "minimize" for ``metric``.
        warm_start: architectures of ``space`` proposed first, in order (e.g. known good cells).

    Raises:
        StrategyConfigError: a warm-start entry that is not an architecture of ``space``.
    """

    name = "base"

    def __init__(self, space: SearchSpace, *, seed: int = 0, metric: str | None = None, direction: str = "maximize",
                 warm_start: Sequence[Arch] = ()) -> None:
        if direction not in ("maximize", "minimize"):
            raise DirectionError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        if not is_seed(seed):
            raise StrategyConfigError(f"seed must be an int in [0, 2**63), got {seed!r}")
        self.space, self.seed, self.metric, self.direction = space, int(seed), metric, direction
        if isinstance(warm_start, (Arch, str)) or not isinstance(warm_start, Sequence):
            raise StrategyConfigError(f"warm_start takes a list of architectures, got {type(warm_start).__name__}")
        self.warm_start = [_member(space, arch, i) for i, arch in enumerate(warm_start)]
        self._reset()

    def config(self) -> dict[str, Any]:
        """Settings that change what is proposed (stored with a study and checked on resume): here the warm start's
        canonical hashes, stored only when there is one (so studies from before it existed resume unchanged)."""
        return {"warm_start": [a.canonical_hash() for a in self.warm_start]} if self.warm_start else {}

    # ------------------------------------------------------------------ history
    def _reset(self) -> None:
        self.archs: list[Arch] = []  # every proposal, by trial number
        self.scores: list[float | None] = []  # None while outstanding
        self._hashes: set[str] = set()
        self._queue: list[Arch] = []

    @property
    def outstanding(self) -> int:
        """Number of proposals asked but not told yet (a plan that needs their results waits for them)."""
        return sum(s is None for s in self.scores)

    def done(self) -> list[tuple[Arch, float]]:
        """Told (arch, score) pairs in trial order."""
        return [(a, s) for a, s in zip(self.archs, self.scores) if s is not None]

    def seen(self, arch: Arch) -> bool:
        """Whether the architecture (by canonical hash, so any isomorphic copy) was proposed before, told or not."""
        return arch.canonical_hash() in self._hashes

    def random_unseen(self, k: int, rng: np.random.Generator) -> list[Arch]:
        """Up to ``k`` distinct random architectures not proposed before (at least one, seen or not)."""
        out: dict[str, Arch] = {}
        for _ in range(50 * k):
            arch = self.space.sample(rng)
            if not self.seen(arch):
                out.setdefault(arch.canonical_hash(), arch)
            if len(out) == k:
                break
        return list(out.values()) or [self.space.sample(rng)]

    def _issue(self, arch: Arch) -> Arch:
        self.archs.append(arch)
        self.scores.append(None)
        self._hashes.add(arch.canonical_hash())
        return arch

    # ------------------------------------------------------------------ protocol
    def ask(self, n: int = 1) -> list[Arch]:
        """Up to ``n`` proposals: the rest of the current plan, then new plans from ``_plan`` until one is None (it
        needs results still outstanding)."""
        if not is_count(n):
            raise AskTellError(f"ask(n) needs an int n >= 1, got {n!r}")
        out: list[Arch] = []
        while len(out) < n:
            if not self._queue:
                plan = self._warm_plan(len(self.archs)) or self._plan(len(self.archs))
                if not plan:
                    break
                self._queue = list(plan)
            out.append(self._issue(self._queue.pop(0)))
        return out

    def tell(self, arch: Arch, result: float | Mapping[str, float]) -> None:
        """Scores the earliest outstanding proposal of ``arch`` (metrics are reduced with ``metric`` and ``direction``,
        NaN becomes ``FAILED``); raises AskTellError (a ValueError) for an architecture not outstanding."""
        key = arch.canonical_hash()
        for i, (a, s) in enumerate(zip(self.archs, self.scores)):
            if s is None and a.canonical_hash() == key:
                self.scores[i] = self._to_score(result)
                return
        raise AskTellError(f"tell() got an architecture that was not asked or was already told: {arch!r}")

    def _to_score(self, result: float | Mapping[str, float]) -> float:
        sign = 1.0
        if isinstance(result, Mapping):
            metric = self.metric or (next(iter(result)) if len(result) == 1 else None)
            if metric is None:
                raise AskTellError(f"tell() got metrics {sorted(result)}; construct the strategy with metric=... to pick one")
            value = result.get(metric)
            value = math.nan if value is None else value  # the metric is missing: the evaluation failed
            sign = 1.0 if self.direction == "maximize" else -1.0
        else:
            value = result
        try:
            value = sign * float(value)
        except (TypeError, ValueError):
            raise AskTellError(f"tell() takes a number or a dict of numbers, got {result!r}") from None
        return FAILED if math.isnan(value) else value

    def replay(self, trials: Sequence[Any], scores: Sequence[float | None]) -> None:
        """Re-proposes the stored trials in order, checking each against the stored architecture."""
        self._reset()
        for trial, score in zip(trials, scores, strict=True):
            if not self._queue:
                t = len(self.archs)
                self._queue = list(self._warm_plan(t) or self._replay_plan(t, trials) or [])
            expected = self._queue.pop(0) if self._queue else None
            if expected is None or expected.canonical_hash() != trial.arch_hash:
                raise ReplayMismatchError(
                    f"stored trial {trial.number} is not what strategy {self.name!r} (seed {self.seed}, {self.config()}) "
                    "proposes at that point; resume with the settings the study was created with"
                )
            self._issue(trial.arch)
            if score is not None:
                self.scores[-1] = self._to_score(score)

    def _warm_plan(self, t: int) -> list[Arch] | None:
        """The rest of the warm start, while trial ``t`` is within it."""
        return self.warm_start[t:] or None

    def _replay_plan(self, t: int, trials: Sequence[Any]) -> list[Arch] | None:
        """The plan at trial ``t`` during replay; expensive strategies may reuse stored trials."""
        return self._plan(t)

    def _plan(self, t: int) -> list[Arch] | None:  # pragma: no cover - abstract
        raise NotImplementedError


def _member(space: SearchSpace, arch: Any, index: int) -> Arch:
    """``arch`` if it is an architecture of ``space``: its string form reads back as the same cell (a cell of
    another space fails to format, or formats as a different cell)."""
    if not isinstance(arch, Arch):
        raise StrategyConfigError(f"warm_start[{index}] is a {type(arch).__name__}, not an Arch (parse strings with space.parse)")
    try:
        same = space.parse(space.format(arch)).canonical_hash() == arch.canonical_hash()
    except Exception as err:  # noqa: BLE001 - any failure to format or read back means "not of this space"
        raise StrategyConfigError(f"warm_start[{index}] is not an architecture of space {space.name!r}: {err}") from err
    if not same:
        raise StrategyConfigError(f"warm_start[{index}] is not an architecture of space {space.name!r} "
                                  f"(it reads back as another cell: {space.format(arch)})")
    return arch
