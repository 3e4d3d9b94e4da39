"""TensorFlow lowerings of the DARTS and MobileNet ops (``nasir/ir/_cnn_ops.py``), as the torch frontend's.

DARTS layers follow the official ``operations.py`` (biasless convs, ReLU first); ``MBConv`` follows
torchvision's ``InvertedResidual``, its SE block torchvision's MobileNetV3 ``SqueezeExcitation``
(1x1 convs with bias, ReLU, hard-sigmoid gate). ReLUs go through
:func:`~nasir.frontends.tensorflow.layers.relu` (so NASWOT sees the ones torch hooks); ReLU6,
hard-swish and hard-sigmoid are ``relu6(x + 3) / 6`` arithmetic, as PyTorch computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from nasir.frontends.tensorflow.layers import BatchNorm, Conv, NasirLayer, relu
from nasir.frontends.tensorflow.lowerings import register_lowering
from nasir.ir import Shape, padding_of
from nasir.ir._cnn_ops import mbconv_has_residual, se_channels

__all__ = ["ACTIVATIONS", "SepConv", "DilConv", "FactorizedReduce", "ConvBNAct", "SqueezeExcitation", "MBConv"]


def _hsigmoid(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu6(x + 3.0) / 6.0


ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "relu": relu, "relu6": tf.nn.relu6, "hswish": lambda x: x * _hsigmoid(x), "hsigmoid": _hsigmoid,
}
"""Activation name (an attribute value of the IR ops) -> function on tensors."""


def _out_hw(hw: Sequence[int], a: Mapping[str, Any]) -> tuple[int, ...]:
    k, s, d = a["kernel"], a.get("stride", 1), a.get("dilation", 1)
    p = padding_of(a)
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n in hw)


def _conv(hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], name: str, *, groups: int = 1) -> Conv:
    return Conv(hw, cin, cout, kernel=a["kernel"], stride=a.get("stride", 1), padding=padding_of(a),
                dilation=a.get("dilation", 1), groups=groups, name=name)


def _bn(channels: int, a: Mapping[str, Any], name: str) -> BatchNorm:
    return BatchNorm(channels, eps=a["eps"], momentum=a["momentum"], affine=a["affine"], name=name)


class _Sequence(NasirLayer):
    """Calls ``self.parts`` (attribute names) in order; roles are ``<part>.<role>``."""

    takes_training = True
    parts: tuple[str, ...] = ()

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        out: dict[str, tuple[keras.Variable, str]] = {}
        for part in self.parts:
            layer = getattr(self, part)
            if isinstance(layer, NasirLayer):
                out.update(self._prefixed(part, layer))
        return out


class SepConv(_Sequence):
    """DARTS SepConv: two ReLU -> depthwise -> pointwise -> BN halves; the first carries the stride."""

    parts = ("dw1", "pw1", "bn1", "dw2", "pw2", "bn2")

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mid = _out_hw(in_hw, a)
        self.dw1 = _conv(in_hw, cin, cin, a, "dw1", groups=cin)
        self.pw1 = Conv(mid, cin, cin, kernel=1, name="pw1")
        self.bn1 = _bn(cin, a, "bn1")
        self.dw2 = _conv(mid, cin, cin, {**a, "stride": 1}, "dw2", groups=cin)
        self.pw2 = Conv(mid, cin, cout, kernel=1, name="pw2")
        self.bn2 = _bn(cout, a, "bn2")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = self.bn1(self.pw1(self.dw1(relu(x))), training=training)
        return self.bn2(self.pw2(self.dw2(relu(x))), training=training)


class DilConv(_Sequence):
    """DARTS DilConv: ReLU -> dilated depthwise -> pointwise -> BN."""

    parts = ("dw", "pw", "bn")

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dw = _conv(in_hw, cin, cin, a, "dw", groups=cin)
        self.pw = Conv(_out_hw(in_hw, a), cin, cout, kernel=1, name="pw")
        self.bn = _bn(cout, a, "bn")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.bn(self.pw(self.dw(relu(x))), training=training)


class FactorizedReduce(_Sequence):
    """DARTS FactorizedReduce: two stride-2 1x1 convs on grids offset by one pixel, concatenated, then BN."""

    parts = ("conv_1", "conv_2", "bn")

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conv_1 = Conv(in_hw, cin, cout // 2, kernel=1, stride=2, name="conv_1")
        self.conv_2 = Conv([n - 1 for n in in_hw], cin, cout // 2, kernel=1, stride=2, name="conv_2")
        self.bn = _bn(cout, a, "bn")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = relu(x)
        return self.bn(tf.concat([self.conv_1(x), self.conv_2(x[:, 1:, 1:, :])], axis=-1), training=training)


class ConvBNAct(_Sequence):
    """Conv (no bias) -> BN -> activation: torchvision's ``ConvBNActivation``; roles ``conv.*``, ``bn.*``."""

    parts = ("conv", "bn")

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], act: str | None, *, groups: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conv = _conv(in_hw, cin, cout, a, "conv", groups=groups)
        self.bn = _bn(cout, a, "bn")
        self.act = ACTIVATIONS[act] if act is not None else None
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        y = self.bn(self.conv(x), training=training)
        return self.act(y) if self.act is not None else y


class SqueezeExcitation(_Sequence):
    """MobileNetV3 SE: ``x * hsigmoid(fc2(relu(fc1(mean over H, W of x))))``."""

    parts = ("fc1", "fc2")

    def __init__(self, channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        squeeze = se_channels(channels)
        self.fc1 = Conv((1, 1), channels, squeeze, kernel=1, bias=True, name="fc1")
        self.fc2 = Conv((1, 1), squeeze, channels, kernel=1, bias=True, name="fc2")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        scale = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
        return _hsigmoid(self.fc2(relu(self.fc1(scale)))) * x


class MBConv(_Sequence):
    """Inverted residual block (see the ``mbconv`` op's doc); roles ``expand``, ``depthwise``, ``se``, ``project``."""

    parts = ("expand", "depthwise", "se", "project")

    def __init__(self, in_shape: Shape, out_shape: Shape, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cin, cout, hw = in_shape[0], out_shape[0], in_shape[1:]
        e = a["expanded_channels"] or cin
        bn = {k: a[k] for k in ("eps", "momentum", "affine")}
        self.expand = ConvBNAct(hw, cin, e, {"kernel": 1, **bn}, a["act"], name="expand") if e != cin else None
        self.depthwise = ConvBNAct(hw, e, e, {"kernel": a["kernel"], "stride": a["stride"], **bn}, a["act"], groups=e,
                                   name="depthwise")
        self.se = SqueezeExcitation(e, name="se") if a["se"] else None
        self.project = ConvBNAct(out_shape[1:], e, cout, {"kernel": 1, **bn}, None, name="project")
        self.residual = mbconv_has_residual(in_shape, a)
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        y = self.expand(x, training=training) if self.expand is not None else x
        y = self.depthwise(y, training=training)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y, training=training)
        return y + x if self.residual else y


@register_lowering("sep_conv")
def _sep_conv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> NasirLayer:
    return SepConv(ins[0][1:], ins[0][0], out[0], a)


@register_lowering("dil_conv")
def _dil_conv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> NasirLayer:
    return DilConv(ins[0][1:], ins[0][0], out[0], a)


@register_lowering("factorized_reduce")
def _factorized_reduce(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> NasirLayer:
    return FactorizedReduce(ins[0][1:], ins[0][0], out[0], a)


@register_lowering("activation")
def _activation(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return ACTIVATIONS[a["fn"]]


@register_lowering("conv_bn_act")
def _conv_bn_act(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> NasirLayer:
    return ConvBNAct(ins[0][1:], ins[0][0], out[0], a, a["act"], groups=a["groups"])


@register_lowering("mbconv")
def _mbconv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> NasirLayer:
    return MBConv(ins[0], out, a)
