"""Degenerate-architecture detection from a forward pass (the IR check is ``nasir.proxy_math.ir_constant_output``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["DegenerateNetwork", "check_output", "single_value_bn_guard"]


class DegenerateNetwork(Exception):
    """Internal signal: the network's output does not depend on its input (scored ``-inf``)."""


def check_output(out: torch.Tensor) -> None:
    """Raises :class:`DegenerateNetwork` when every sample of a batch (>1) gives the same output."""
    if out.shape[0] > 1 and bool(torch.all(out == out[:1]).item()):
        raise DegenerateNetwork("the network's output is identical for every input in the batch")


@contextmanager
def single_value_bn_guard(model: nn.Module) -> Iterator[None]:
    """Within the block, a train-mode BatchNorm of ``model`` given one value per channel (a
    one-sample batch without spatial positions) raises :class:`DegenerateNetwork`, naming it:
    its output would be its shift whatever the input (torch raises a plain ``ValueError``)."""
    names = {m: name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}

    def check(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0]
        if module.training and x.numel() == x.shape[1]:
            raise DegenerateNetwork(f"BatchNorm {names[module]!r} in train mode sees one value per channel "
                                    f"(input {tuple(x.shape)}), so its output does not depend on its input")

    handles = [m.register_forward_pre_hook(check) for m in names]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
