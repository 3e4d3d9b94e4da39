"""PyTorch lowerings of the IR ops: one small function per op, in the registry :data:`LOWERINGS`.

A lowering receives the node's input shapes, its output shape and resolved attributes (all from
:func:`nasir.ir.infer_shapes`, so every shape is already valid) and returns an ``nn.Module``
whose ``state_dict`` holds exactly the op's declared weight roles (``weight``, ``conv.weight``,
``bn.running_mean``...) plus, for batch norm, PyTorch's ``num_batches_tracked`` counter.

The NAS-Bench-201 modules follow the official code (Dong & Yang, ICLR 2020, ``xautodl``
``cell_operations.py`` and ``cell_infers/tiny_network.py``): ``ReLUConvBN`` is ReLU -> Conv (no
bias) -> BN, ``none`` is ``x.mul(0.)``, the 3x3 pool is an ``AvgPool2d`` with
``count_include_pad=False``, and the reduction block adds ``residual + conv_b(conv_a(x))`` with an
``AvgPool2d(2) -> Conv1x1`` shortcut. NAS-Bench-101's ``ConvBnRelu`` (Ying et al., ICML 2019) is
Conv (no bias) -> BN -> ReLU with the IR's (PyTorch-convention) momentum and eps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasir.ir import Shape, padding_of
from nasir.registry import Registry

__all__ = ["LOWERINGS", "Lowering", "register_lowering", "Add", "Concat", "ChannelSlice", "Zero", "ReLUConvBN", "ConvBNReLU", "ResNetBasicBlock"]

Lowering = Callable[[Sequence[Shape], Shape, Mapping[str, Any]], "nn.Module | Callable[..., torch.Tensor]"]

LOWERINGS: Registry[Lowering] = Registry("torch lowering")


def register_lowering(op: str) -> Callable[[Lowering], Lowering]:
    """Decorator registering the torch lowering of IR op ``op`` (once; duplicates raise)."""
    return LOWERINGS.decorator(op)


# ---------------------------------------------------------------- modules


class Zero(nn.Module):
    """NB201 ``none``: ``x.mul(0.)`` as in the official ``Zero`` op (keeps the autograd graph)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class Add(nn.Module):
    """Sums inputs left to right from the first term.

    Bit-identical to the official ``InferCell``'s ``sum(layer(x) for ...)`` (Python's ``0 + a``
    equals ``a`` exactly for finite values).
    """

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenation along channels, in input order."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class ChannelSlice(nn.Module):
    """Keeps the first ``channels`` channels (NB101 truncation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.channels]

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class GlobalAvgPool(nn.Module):
    """``AdaptiveAvgPool2d(1)`` then flatten, as the official TinyNetwork head."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


def _conv(cin: int, a: Mapping[str, Any], cout: int, *, groups: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, a["kernel"], stride=a.get("stride", 1), padding=padding_of(a),
                     dilation=a.get("dilation", 1), groups=groups, bias=bias)


def _bn(channels: int, a: Mapping[str, Any], dims: int = 2) -> nn.Module:
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(channels, eps=a["eps"], momentum=a["momentum"], affine=a["affine"])


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias) -> BN: NB201/DARTS ``ReLUConvBN``; roles ``conv.*``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = _conv(cin, a, cout)
        self.bn = _bn(cout, a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.relu(x)))


class ConvBNReLU(nn.Module):
    """Conv (no bias) -> BN -> ReLU: NB101 ``ConvBnRelu``; roles ``conv.*``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        self.conv = _conv(cin, a, cout)
        self.bn = _bn(cout, a)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class _PoolConv(nn.Module):
    """Stride-2 shortcut of the NB201 reduction block: AvgPool2d(2, 2) -> Conv 1x1 (no BN)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2, padding=0)
        self.conv = nn.Conv2d(cin, cout, 1, stride=1, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class ResNetBasicBlock(nn.Module):
    """NB201 ``ResNetBasicblock``: ``residual + conv_b(conv_a(x))``."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        bn = {"eps": a["eps"], "momentum": a["momentum"], "affine": a["affine"]}
        self.conv_a = ReLUConvBN(cin, cout, {"kernel": 3, "stride": a["stride"], "padding": 1, **bn})
        self.conv_b = ReLUConvBN(cout, cout, {"kernel": 3, "stride": 1, "padding": 1, **bn})
        self.downsample: nn.Module | None = None
        if a["stride"] == 2:
            self.downsample = _PoolConv(cin, cout)
        elif cin != cout:
            self.downsample = ReLUConvBN(cin, cout, {"kernel": 1, "stride": 1, "padding": 0, **bn})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        basic = self.conv_b(self.conv_a(x))
        residual = self.downsample(x) if self.downsample is not None else x
        return residual + basic


# ---------------------------------------------------------------- lowerings


@register_lowering("input")
def _input(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.Identity()


@register_lowering("output")
def _output(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.Identity()


@register_lowering("identity")
def _identity(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.Identity()


@register_lowering("zero")
def _zero(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return Zero()


class Scale(nn.Module):
    """``x * factor`` with a constant factor (no parameter)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


@register_lowering("scale")
def _scale(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return Scale(float(a["factor"]))


@register_lowering("add")
def _add(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return Add()


@register_lowering("concat")
def _concat(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return Concat()


@register_lowering("channel_slice")
def _channel_slice(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ChannelSlice(a["channels"])


@register_lowering("relu")
def _relu(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.ReLU(inplace=False)


@register_lowering("batch_norm")
def _batch_norm(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return _bn(ins[0][0], a, dims=2 if len(ins[0]) == 3 else 1)


@register_lowering("conv")
def _conv_op(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return _conv(ins[0][0], a, out[0], groups=a["groups"], bias=a["bias"])


@register_lowering("max_pool")
def _max_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.MaxPool2d(a["kernel"], stride=a["stride"], padding=padding_of(a))


@register_lowering("avg_pool")
def _avg_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.AvgPool2d(a["kernel"], stride=a["stride"], padding=padding_of(a), count_include_pad=a["count_include_pad"])


@register_lowering("global_avg_pool")
def _global_avg_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return GlobalAvgPool()


@register_lowering("linear")
def _linear(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return nn.Linear(ins[0][0], out[0], bias=a["bias"])


@register_lowering("relu_conv_bn")
def _relu_conv_bn(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ReLUConvBN(ins[0][0], out[0], a)


@register_lowering("conv_bn_relu")
def _conv_bn_relu(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ConvBNReLU(ins[0][0], out[0], a)


@register_lowering("resnet_basic_block")
def _resnet_basic_block(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ResNetBasicBlock(ins[0][0], out[0], a)
