"""Counting what a lowered model really computes, to check the op registry's static FLOP rules."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["Rule", "count_forward", "measured_macs"]

Rule = Callable[[nn.Module, torch.Tensor, torch.Tensor], int]  # (module, its first input, its output) -> count


def count_forward(model: nn.Module, input_shape: tuple[int, ...], rule_for: Callable[[nn.Module], Rule | None]) -> int:
    """Sum of ``rule(module, input, output)`` over the modules that run in one forward pass of one
    zero sample, for every module ``rule_for`` gives a rule (None: not counted)."""
    total = 0
    rules = {m: r for m in model.modules() if (r := rule_for(m)) is not None}

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += rules[m](m, inputs[0], out)

    handles = [m.register_forward_hook(hook) for m in rules]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return total


def _macs(m: nn.Module, _x: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(m, nn.Conv2d):
        return out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
    return m.in_features * m.out_features


def measured_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of the convs and linears that run in one forward pass of one sample.

    Hooks see the modules that actually execute (shared or skipped branches counted as run), which
    is the convention of the DARTS and MobileNet papers' "multiply-adds".
    """
    return count_forward(model, input_shape, lambda m: _macs if isinstance(m, (nn.Conv2d, nn.Linear)) else None)
