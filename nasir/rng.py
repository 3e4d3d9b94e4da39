"""Seed handling: every random function takes ``seed: int | numpy.random.Generator``."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from nasir.errors import SeedTypeError, SeedValueError

__all__ = ["Seed", "as_rng", "is_seed"]

Seed = int | np.random.Generator | None


def is_seed(value: object) -> bool:
    """A seed a study can store and numpy's SeedSequence takes: an int in [0, 2**63) (numpy ints too, not bools)."""
    return not isinstance(value, bool) and isinstance(value, Integral) and 0 <= value < 2**63


def as_rng(seed: Seed) -> np.random.Generator:
    """Normalises a seed once; a Generator passes through so callers can share one stream."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (int, np.integer))):
        raise SeedTypeError(f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}")
    if seed is not None and seed < 0:
        raise SeedValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.default_rng(seed)
