"""TensorFlow lowerings of the IR ops: one small function per op, in the registry :data:`LOWERINGS`.

A lowering receives the node's input shapes, its output shape (per sample, channels first, as
:func:`nasir.ir.infer_shapes` gives them) and resolved attributes, and returns either a
:class:`~nasir.frontends.tensorflow.layers.NasirLayer` whose :meth:`neutral_variables` hold
exactly the op's declared weight roles, or a parameter-free callable on NHWC tensors. Ops that
take several inputs (``spec.max_inputs != 1``) receive them as one list, in port order.

The semantics are those of the PyTorch frontend (official NB201 ``xautodl`` and NB101 code):
``zero`` is ``x * 0``, ``add`` sums left to right in input order, ``concat`` and
``channel_slice`` act on the channel (last) axis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf

from nasir.frontends.tensorflow import layers as L
from nasir.ir import Shape, padding_of
from nasir.registry import Registry

__all__ = ["LOWERINGS", "Lowering", "register_lowering"]

Lowering = Callable[[Sequence[Shape], Shape, Mapping[str, Any]], Any]

LOWERINGS: Registry[Lowering] = Registry("tensorflow lowering")


def register_lowering(op: str) -> Callable[[Lowering], Lowering]:
    """Decorator registering the TensorFlow lowering of IR op ``op`` (once; duplicates raise)."""
    return LOWERINGS.decorator(op)


def _identity_fn(x: tf.Tensor) -> tf.Tensor:
    return x


def _add_fn(xs: Sequence[tf.Tensor]) -> tf.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


@register_lowering("input")
def _input(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return _identity_fn


@register_lowering("output")
def _output(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return _identity_fn


@register_lowering("identity")
def _identity(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return _identity_fn


@register_lowering("zero")
def _zero(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return lambda x: x * 0.0  # NB201 'none' is x.mul(0.): keeps the graph (and NaN/inf) like the official op


@register_lowering("scale")
def _scale(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    factor = float(a["factor"])
    return lambda x: x * factor


@register_lowering("add")
def _add(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return _add_fn


@register_lowering("concat")
def _concat(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return lambda xs: tf.concat(list(xs), axis=-1)


@register_lowering("channel_slice")
def _channel_slice(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    channels = a["channels"]
    return lambda x: x[..., :channels]


@register_lowering("relu")
def _relu(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return L.relu


@register_lowering("batch_norm")
def _batch_norm(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.BatchNorm(ins[0][0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"])


@register_lowering("conv")
def _conv(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.Conv(ins[0][1:], ins[0][0], out[0], kernel=a["kernel"], stride=a["stride"], padding=padding_of(a),
                  dilation=a["dilation"], groups=a["groups"], bias=a["bias"])


@register_lowering("max_pool")
def _max_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.MaxPool(ins[0][1:], kernel=a["kernel"], stride=a["stride"], padding=padding_of(a))


@register_lowering("avg_pool")
def _avg_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.AvgPool(ins[0][1:], kernel=a["kernel"], stride=a["stride"], padding=padding_of(a),
                     count_include_pad=a["count_include_pad"])


@register_lowering("global_avg_pool")
def _global_avg_pool(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> Any:
    return lambda x: tf.reduce_mean(x, axis=[1, 2])


@register_lowering("linear")
def _linear(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.Linear(ins[0][0], out[0], bias=a["bias"])


@register_lowering("relu_conv_bn")
def _relu_conv_bn(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.ReLUConvBN(ins[0][1:], ins[0][0], out[0], a)


@register_lowering("conv_bn_relu")
def _conv_bn_relu(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.ConvBNReLU(ins[0][1:], ins[0][0], out[0], a)


@register_lowering("resnet_basic_block")
def _resnet_basic_block(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> L.NasirLayer:
    return L.ResNetBasicBlock(ins[0][1:], ins[0][0], out[0], a)
