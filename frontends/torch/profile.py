"""Counting what a lowered model really computes, to check the op registry's static FLOP rules
(``measured_macs`` for the ``macs`` convention, ``ptflops_macs`` for ``ptflops``)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nasir.frontends.torch.lowerings import GlobalAvgPool
from nasir.frontends.torch.lowerings_cnn import SqueezeExcitation

__all__ = ["Rule", "count_forward", "measured_macs", "ptflops_macs"]

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


def _conv(m: nn.Conv2d, _x: torch.Tensor, y: torch.Tensor) -> int:
    return y.numel() * (m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] + (m.bias is not None))


def _linear(m: nn.Linear, x: torch.Tensor, _y: torch.Tensor) -> int:
    return x.numel() * m.out_features + (m.out_features if m.bias is not None else 0)


def _norm(m: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> int:
    return x.numel() * (2 if m.affine else 1)


def _outputs(_m: nn.Module, _x: torch.Tensor, y: torch.Tensor) -> int:
    return y.numel()


def _inputs(_m: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> int:
    return x.numel()


# ptflops 0.6.9's ``MODULES_MAPPING`` (ptflops/pytorch_ops.py), restricted to 2-d CNN layers and matched
# by exact type, as its ``is_supported_instance`` does. Every other module, and every functional call,
# add, cat and multiply, counts 0 (0.6.9 hooks modules only). Conv: MACs, +1 per output if biased;
# linear: in*out, +out if biased; BN: 2 per input element if affine, else 1; ReLU family: 1 per output
# element; every pooling layer, adaptive ones included: 1 per input element. Hardswish, Hardsigmoid,
# Sigmoid and SiLU are not in 0.6.9's mapping, so MobileNetV3's hard-swish activations and its SE gate
# count 0; its ReLUs, SE convs (with bias) and SE pool count.
# nasir pools two places functionally; both count like the nn pooling modules of the official networks:
# ``GlobalAvgPool`` (official DARTS: nn.AvgPool2d(7) / nn.AdaptiveAvgPool2d(1)), and the pool inside
# ``SqueezeExcitation`` (torchvision's SE: nn.AdaptiveAvgPool2d(1)), which the SE module's own hook counts
# (its input once); its convs and ReLU count by their own rules. torchvision's mobilenet_v2 pools
# functionally, so ptflops 0.6.9 on it would count 1280*7*7 = 62,720 fewer than this rule.
PTFLOPS_RULES: dict[type[nn.Module], Rule] = {
    nn.Conv2d: _conv, nn.Linear: _linear, nn.BatchNorm1d: _norm, nn.BatchNorm2d: _norm,
    **dict.fromkeys((nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.GELU), _outputs),
    **dict.fromkeys((nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d,
                     GlobalAvgPool, SqueezeExcitation), _inputs),
}


def ptflops_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass of one sample under ptflops 0.6.9's per-module rules (``PTFLOPS_RULES``)."""
    return count_forward(model, input_shape, lambda m: PTFLOPS_RULES.get(type(m)))
