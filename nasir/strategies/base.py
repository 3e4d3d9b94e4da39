"""The search-strategy contract.

A strategy proposes (``ask``) and learns (``tell``). The study hands ``ask`` a random generator
derived from (study seed, trial number), and a strategy's state is a pure function of what it was
told, so replaying the stored trials (ask, then tell with the stored result) rebuilds the exact
state of an interrupted search: resume needs no pickled strategy.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from nasir.ir import Arch

__all__ = ["Strategy", "FAILED"]

FAILED = float("-inf")  # the value a strategy is told for a failed trial


@runtime_checkable
class Strategy(Protocol):
    """Proposes architectures and learns from their scores (higher is better)."""

    name: str

    def ask(self, rng: np.random.Generator) -> Arch:
        """The next architecture to evaluate."""

    def tell(self, arch: Arch, value: float) -> None:
        """The score of an architecture proposed earlier (``FAILED`` when it could not be evaluated)."""
