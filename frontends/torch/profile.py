"""Counting what a lowered model really computes, to check the op registry's static FLOP rules."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["measured_macs"]


def measured_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of the convs and linears that run in one forward pass of one sample.

    Hooks see the modules that actually execute (shared or skipped branches counted as run), which
    is the convention of the DARTS and MobileNet papers' "multiply-adds".
    """
    total = 0

    def hook(m: nn.Module, _inputs: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return total
