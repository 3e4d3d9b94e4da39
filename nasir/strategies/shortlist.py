"""A given list of architectures as a strategy: a cascade's second stage run as an ordinary stored study."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nasir.ir import Arch
from nasir.space import SearchSpace
from nasir.strategies.base import BaseStrategy

__all__ = ["Shortlist"]


class Shortlist(BaseStrategy):
    """Proposes each of ``archs`` the study has not seen yet, in order, then nothing more (the study's loop ends).

    Replay takes the stored trials as they are: an earlier run may have been given another shortlist (its first stage
    ran longer, or asked for more cells), and the cells it evaluated are kept, not evaluated again.
    """

    name = "shortlist"

    def __init__(self, space: SearchSpace, archs: Sequence[Arch], **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self.shortlist = list(archs)

    def unseen(self) -> list[Arch]:
        """The shortlisted architectures not proposed yet, one per canonical hash, in shortlist order."""
        return list({a.canonical_hash(): a for a in self.shortlist if not self.seen(a)}.values())

    def _plan(self, t: int) -> list[Arch] | None:
        return self.unseen()[:1] or None

    def _replay_plan(self, t: int, trials: Sequence[Any]) -> list[Arch]:
        return [trials[t].arch]
