"""Random search: the baseline every NAS paper compares with (Li & Talwalkar, UAI 2019)."""

from __future__ import annotations

import numpy as np

from nasir.ir import Arch
from nasir.space import SearchSpace

__all__ = ["RandomSearch"]


class RandomSearch:
    """Samples uniformly from the space; learns nothing."""

    name = "random"

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def ask(self, rng: np.random.Generator) -> Arch:
        return self.space.sample(rng)

    def tell(self, arch: Arch, value: float) -> None:
        """Random search ignores results."""
