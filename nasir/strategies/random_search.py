"""Random search: the baseline every NAS paper compares with (Li & Talwalkar, UAI 2019)."""

from __future__ import annotations

from nasir.ir import Arch
from nasir.strategies.base import BaseStrategy, proposal_rng

__all__ = ["RandomSearch"]


class RandomSearch(BaseStrategy):
    """Samples uniformly from the space with the stream of each trial; learns nothing.

    Re-proposals are not filtered here: the study looks duplicates up (they count as queries, as
    in NASLib's and the NAS-Bench-201 paper's random-search baselines).
    """

    name = "random"

    def _plan(self, t: int) -> list[Arch]:
        return [self.space.sample(proposal_rng(self.seed, t))]
