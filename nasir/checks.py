"""Tests behind nasir's argument checks: each caller raises its own typed error naming the argument, and the
test itself (what counts as a count, a positive number) is written once."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = ["is_count", "is_positive_number"]


def is_count(value: Any, minimum: int = 1) -> bool:
    """A whole number ``>= minimum``: Python or numpy ints, not bools, floats or text."""
    return not isinstance(value, bool) and isinstance(value, Integral) and value >= minimum


def is_positive_number(value: Any) -> bool:
    """A finite number above zero (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, Real) and 0 < value < math.inf
