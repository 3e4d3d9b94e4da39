"""The search-space contract and the registry spaces register in.

A space samples, mutates, enumerates, parses and formats architectures and builds the network
skeleton around a cell. It does not train, score, query benchmarks or build framework models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasir.errors import EmptySpaceError
from nasir.ir import Arch, Network
from nasir.registry import Registry
from nasir.rng import Seed, as_rng

__all__ = ["SearchSpace", "SPACES", "RestrictedSpace", "EmptySpaceError"]


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


class RestrictedSpace:
    """The members of ``space`` that satisfy ``keep``, with the same operators.

    Used where only part of a space is measured, e.g. NAS-Bench-Suite-Zero's proxy values exist for
    the 9,445 NB201 cells without unreachable ops: searches that read them run on that part.
    Sampling is uniform over ``members`` when given, else by rejection; mutation re-draws until the
    mutant is a member. ``crossover`` exists exactly when ``space`` has one (strategies test for it).
    """

    def __init__(self, space: SearchSpace, keep: Callable[[Arch], bool], *, label: str = "restricted",
                 members: Sequence[Arch] | None = None, tries: int = 1000) -> None:
        self.space, self.keep, self.members, self.tries = space, keep, list(members) if members is not None else None, tries
        self.name, self.encodings = f"{space.name}[{label}]", space.encodings
        if callable(getattr(space, "crossover", None)):
            self.crossover = self._crossover

    def _draw(self, make: Callable[[], Arch], what: str) -> Arch:
        for _ in range(self.tries):
            arch = make()
            if self.keep(arch):
                return arch
        raise EmptySpaceError(f"{self.name}: no member found in {self.tries} tries while {what}")

    def sample(self, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        if self.members is not None:
            if not self.members:
                raise EmptySpaceError(f"{self.name} has no members")
            return self.members[int(rng.integers(len(self.members)))]
        return self._draw(lambda: self.space.sample(rng), "sampling")

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        return self._draw(lambda: self.space.mutate(arch, rng), f"mutating {self.space.format(arch)}")

    def _crossover(self, a: Arch, b: Arch, seed: Seed = None) -> tuple[Arch, ...]:
        """The children of the restricted space's crossover that are members (one or two), redrawn until there is one."""
        rng = as_rng(seed)
        for _ in range(self.tries):
            out = self.space.crossover(a, b, rng)
            kept = tuple(child for child in ((out,) if isinstance(out, Arch) else out) if self.keep(child))
            if kept:
                return kept
        raise EmptySpaceError(f"{self.name}: no member found in {self.tries} tries while crossing "
                              f"{self.space.format(a)} with {self.space.format(b)}")

    def neighbors(self, arch: Arch) -> list[Arch]:
        return [a for a in self.space.neighbors(arch) if self.keep(a)]

    def encode(self, arch: Arch, kind: str = "adjacency") -> np.ndarray:
        return self.space.encode(arch, kind)

    def size(self) -> int | None:
        return len(self.members) if self.members is not None else None

    def enumerate(self) -> Iterator[Arch]:
        return iter(self.members) if self.members is not None else (a for a in self.space.enumerate() if self.keep(a))

    def parse(self, text: str) -> Arch:
        return self.space.parse(text)

    def format(self, arch: Arch) -> str:
        return self.space.format(arch)

    def network(self, arch: Arch, **skeleton: Any) -> Network:
        return self.space.network(arch, **skeleton)
