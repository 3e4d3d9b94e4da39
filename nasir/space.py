"""The search-space contract and the registry spaces register in.

A space samples, mutates, enumerates, parses and formats architectures and builds the network
skeleton around a cell. It does not train, score, query benchmarks or build framework models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasir.ir import Arch, Network
from nasir.registry import Registry
from nasir.rng import Seed

__all__ = ["SearchSpace", "SPACES"]


@runtime_checkable
class SearchSpace(Protocol):
    """What every search space provides (NB201, NB101, DARTS, grammars...)."""

    name: str
    encodings: tuple[str, ...]

    def sample(self, seed: Seed = None) -> Arch:
        """A random architecture, reproducible for an int seed."""

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        """A random neighbour of ``arch`` (the space's published mutation)."""

    def neighbors(self, arch: Arch) -> list[Arch]:
        """All architectures one mutation away, in a deterministic order."""

    def encode(self, arch: Arch, kind: str = "adjacency") -> np.ndarray:
        """A fixed-length vector for predictors; ``kind`` is one of :attr:`encodings`."""

    def size(self) -> int | None:
        """Number of architectures, or None when unknown or unbounded."""

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture; raises SpaceTooLargeError where that is unreasonable."""

    def parse(self, text: str) -> Arch:
        """Reads the space's own string format."""

    def format(self, arch: Arch) -> str:
        """Writes the space's own string format."""

    def network(self, arch: Arch, **skeleton: Any) -> Network:
        """The whole network (stem, cells, reductions, head) around ``arch``."""


SPACES: Registry[SearchSpace] = Registry("search space")
