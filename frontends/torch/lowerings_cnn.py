"""PyTorch lowerings of the DARTS and MobileNet ops (``nasir/ir/_cnn_ops.py``).

DARTS modules follow the official ``operations.py`` (Liu et al., ICLR 2019): ``SepConv``,
``DilConv`` and ``FactorizedReduce`` with ``nn.ReLU(inplace=False)`` and biasless convs.
``MBConv`` follows torchvision's ``InvertedResidual`` for MobileNetV2/V3, its SE block
torchvision's MobileNetV3 ``SqueezeExcitation`` (1x1 convs with bias, ReLU, hard-sigmoid gate).
State-dict keys equal the ops' declared weight roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasir.ir import Shape
from nasir.ir._cnn_ops import mbconv_has_residual, se_channels
from nasir.frontends.torch.lowerings import _bn, _conv, register_lowering

__all__ = ["ACTIVATIONS", "SepConv", "DilConv", "FactorizedReduce", "ConvBNAct", "SqueezeExcitation", "MBConv"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "hsigmoid": nn.Hardsigmoid,
}
"""Activation name (an attribute value of the IR ops) -> module factory."""


def _pointwise(cin: int, cout: int, *, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, bias=bias)


class SepConv(nn.Module):
    """DARTS SepConv: two ReLU -> depthwise -> pointwise -> BN halves; the first carries the stride."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        self.relu1, self.relu2 = nn.ReLU(inplace=False), nn.ReLU(inplace=False)
        self.dw1 = _conv(cin, a, cin, groups=cin)
        self.pw1 = _pointwise(cin, cin)
        self.bn1 = _bn(cin, a)
        self.dw2 = _conv(cin, {**a, "stride": 1}, cin, groups=cin)
        self.pw2 = _pointwise(cin, cout)
        self.bn2 = _bn(cout, a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.pw1(self.dw1(self.relu1(x))))
        return self.bn2(self.pw2(self.dw2(self.relu2(x))))


class DilConv(nn.Module):
    """DARTS DilConv: ReLU -> dilated depthwise -> pointwise -> BN."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.dw = _conv(cin, a, cin, groups=cin)
        self.pw = _pointwise(cin, cout)
        self.bn = _bn(cout, a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pw(self.dw(self.relu(x))))


class FactorizedReduce(nn.Module):
    """DARTS FactorizedReduce: two stride-2 1x1 convs on grids offset by one pixel, concatenated, then BN."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any]) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(cin, cout // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(cin, cout // 2, 1, stride=2, padding=0, bias=False)
        self.bn = _bn(cout, a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class ConvBNAct(nn.Module):
    """Conv (no bias) -> BN -> activation: torchvision's ``ConvBNActivation``; roles ``conv.*``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, a: Mapping[str, Any], act: str | None, groups: int = 1) -> None:
        super().__init__()
        self.conv = _conv(cin, a, cout, groups=groups)
        self.bn = _bn(cout, a)
        self.act = ACTIVATIONS[act]() if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class SqueezeExcitation(nn.Module):
    """MobileNetV3 SE: x * hsigmoid(fc2(relu(fc1(mean over H, W of x))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeeze = se_channels(channels)
        self.fc1 = _pointwise(channels, squeeze, bias=True)
        self.relu = nn.ReLU()
        self.fc2 = _pointwise(squeeze, channels, bias=True)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.gate(self.fc2(self.relu(self.fc1(scale)))) * x


class MBConv(nn.Module):
    """Inverted residual block (see the ``mbconv`` op's doc); roles ``expand``, ``depthwise``, ``se``, ``project``."""

    def __init__(self, in_shape: Shape, out_shape: Shape, a: Mapping[str, Any]) -> None:
        super().__init__()
        cin, cout = in_shape[0], out_shape[0]
        e = a["expanded_channels"] or cin
        bn = {k: a[k] for k in ("eps", "momentum", "affine")}
        self.expand = ConvBNAct(cin, e, {"kernel": 1, **bn}, a["act"]) if e != cin else None
        self.depthwise = ConvBNAct(e, e, {"kernel": a["kernel"], "stride": a["stride"], **bn}, a["act"], groups=e)
        self.se = SqueezeExcitation(e) if a["se"] else None
        self.project = ConvBNAct(e, cout, {"kernel": 1, **bn}, None)
        self.residual = mbconv_has_residual(in_shape, a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return y + x if self.residual else y


@register_lowering("sep_conv")
def _sep_conv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return SepConv(ins[0][0], out[0], a)


@register_lowering("dil_conv")
def _dil_conv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return DilConv(ins[0][0], out[0], a)


@register_lowering("factorized_reduce")
def _factorized_reduce(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return FactorizedReduce(ins[0][0], out[0], a)


@register_lowering("activation")
def _activation(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ACTIVATIONS[a["fn"]]()


@register_lowering("conv_bn_act")
def _conv_bn_act(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return ConvBNAct(ins[0][0], out[0], a, a["act"], groups=a["groups"])


@register_lowering("mbconv")
def _mbconv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> nn.Module:
    return MBConv(ins[0], out, a)
