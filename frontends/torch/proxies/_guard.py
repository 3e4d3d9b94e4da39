"""Degenerate-architecture detection from a forward pass (the IR check is ``nasir.proxy_math.ir_constant_output``)."""

from __future__ import annotations

import torch

__all__ = ["DegenerateNetwork", "check_output"]


class DegenerateNetwork(Exception):
    """Internal signal: the network's output does not depend on its input (scored ``-inf``)."""


def check_output(out: torch.Tensor) -> None:
    """Raises :class:`DegenerateNetwork` when every sample of a batch (>1) gives the same output."""
    if out.shape[0] > 1 and bool(torch.all(out == out[:1]).item()):
        raise DegenerateNetwork("the network's output is identical for every input in the batch")
