"""Cascades: a cheap search, then a costlier objective on the few cells it found best.

A fast zero-cost proxy finds the good region of a space but orders its top poorly; a costlier one (GenNAS, a short
training) orders it well but cannot afford a whole search. :func:`rerank` spends the costly objective on the first
search's ``top`` best cells only. The second stage is an ordinary study in the same SQLite file, so each of its results
is committed as it comes: run again after a crash, after the first stage ran longer, or with a larger ``top``, it
evaluates only the cells it has not evaluated yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasir.errors import BudgetError
from nasir.executors import Executor
from nasir.objectives import Objective
from nasir.strategies.base import FAILED
from nasir.strategies.shortlist import Shortlist
from nasir.study.study import Study
from nasir.study.trial import Trial, TrialState

__all__ = ["Cascade", "rerank", "rerank_name", "RERANK"]

RERANK = ":rerank:"  # joins a search's name and its second stage's objective in the stage's default name


def rerank_name(study: str, objective: str) -> str:
    """The default name of ``study``'s second stage with ``objective``: how a report finds a search's cascades."""
    return f"{study}{RERANK}{objective}"


@dataclass(frozen=True)
class Cascade:
    """A finished second stage: ``pairs`` holds (first-stage trial, second-stage trial) per shortlisted cell, in the
    first stage's order; ``study`` is the second stage's study."""

    pairs: list[tuple[Trial, Trial]]
    study: Study

    def best(self) -> tuple[Trial, Trial] | None:
        """The pair whose second-stage score is best (the cell the first stage ranked higher on ties); None if every
        second-stage evaluation failed."""
        scored = [(self.study._score(pair[1]), -i, pair) for i, pair in enumerate(self.pairs)]  # failed: FAILED
        scored = [item for item in scored if item[0] != FAILED]
        return max(scored, key=lambda item: item[:2])[2] if scored else None


def rerank(study: Study, objective: Objective, top: int, *, name: str | None = None, executor: Executor | None = None,
           retry_interrupted: bool = False) -> Cascade:
    """Evaluates ``objective`` on the ``top`` distinct cells ``study`` scored best, as a second study stored beside it.

    Args:
        study: the first stage (any finished or partial study).
        objective: the second stage's, e.g. GenNAS or a short training.
        top: how many of the first stage's best cells to evaluate.
        name: the second study's name in the file (default ``"<study>:rerank:<objective>"``).
        retry_interrupted: evaluate again a cell a killed run left unfinished (see :class:`Study`).
    """
    shortlist = study.top_trials(top)
    if not shortlist:
        raise BudgetError(f"study {study.name!r} has no completed trial to rerank")
    strategy = Shortlist(study.space, [t.arch for t in shortlist])
    second = Study(study.storage, name or rerank_name(study.name, objective.name), study.space, strategy, objective,
                   seed=study.seed, executor=executor, retry_interrupted=retry_interrupted)
    study.storage.record_shortlist(second.name, top)
    new = len(strategy.unseen())
    if new or any(t.state is TrialState.WAITING for t in second.trials):  # WAITING: committed by a killed run
        second.optimize(budget_evals=len(second) + new)
    by_hash = {t.arch_hash: t for t in second.trials}
    return Cascade([(t, by_hash[t.arch_hash]) for t in shortlist], second)
