"""ONNX lowering of every IR op: one small function per op, registered by op name.

A lowering receives the builder, a name prefix ``"<block>/<node>"`` (used for node names and to
find the node's neutral weights ``"<prefix>/<role>"``), its input tensor names and the node's
input shapes and attributes; it returns the name of its output tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nasir.errors import UnknownOpError
from nasir.ir import Shape, padding_of
from nasir.registry import Registry
from nasir.backends.onnx.graph import GraphBuilder

__all__ = ["ONNX_LOWERINGS", "register_lowering"]

Lowering = Callable[[GraphBuilder, str, Sequence[str], Sequence[Shape], Mapping[str, Any]], str]
ONNX_LOWERINGS: Registry[Lowering] = Registry("ONNX lowering", UnknownOpError)


def register_lowering(op: str) -> Callable[[Lowering], Lowering]:
    """Registers the ONNX lowering of IR op ``op`` (user-defined ops register theirs the same way)."""
    return ONNX_LOWERINGS.decorator(op)


def _conv(g: GraphBuilder, prefix: str, x: str, a: Mapping[str, Any], *, role: str = "", groups: int = 1, bias: bool = False) -> str:
    inputs = [x, g.weight(f"{prefix}/{role}weight")] + ([g.weight(f"{prefix}/{role}bias")] if bias else [])
    p = padding_of(a)
    return g.add("Conv", inputs, f"{prefix}/{role}Conv", kernel_shape=[a["kernel"]] * 2, strides=[a["stride"]] * 2,
                 pads=[p] * 4, dilations=[a.get("dilation", 1)] * 2, group=groups)


def _bn(g: GraphBuilder, prefix: str, x: str, channels: int, a: Mapping[str, Any], *, role: str = "") -> str:
    if a["affine"]:
        scale, shift = g.weight(f"{prefix}/{role}weight"), g.weight(f"{prefix}/{role}bias")
    else:
        scale, shift = g.constant(f"_ones_{channels}", [1.0] * channels), g.constant(f"_zeros_{channels}", [0.0] * channels)
    inputs = [x, scale, shift, g.weight(f"{prefix}/{role}running_mean"), g.weight(f"{prefix}/{role}running_var")]
    return g.add("BatchNormalization", inputs, f"{prefix}/{role}BatchNormalization", epsilon=float(a["eps"]))


def _pass(g: GraphBuilder, prefix: str, ins: Sequence[str], shapes: Sequence[Shape], a: Mapping[str, Any]) -> str:
    return ins[0]


for _op in ("output", "identity"):
    register_lowering(_op)(_pass)


@register_lowering("input")
def _input(g: GraphBuilder, prefix: str, ins: Sequence[str], shapes: Sequence[Shape], a: Mapping[str, Any]) -> str:
    """Input nodes are bound to graph inputs (or to earlier blocks) by the exporter."""
    raise AssertionError(f"{prefix}: input nodes are bound by the exporter, never lowered")


@register_lowering("zero")
def _zero(g, prefix, ins, shapes, a):
    # x * 0 keeps shape and batch axis with no shape arithmetic; inf/NaN inputs are not expected.
    return g.add("Mul", [ins[0], g.constant("_zero", 0.0)], f"{prefix}/Mul")


@register_lowering("scale")
def _scale(g, prefix, ins, shapes, a):
    factor = float(a["factor"])
    return g.add("Mul", [ins[0], g.constant(f"_scale_{factor!r}", factor)], f"{prefix}/Mul")


@register_lowering("add")
def _add(g, prefix, ins, shapes, a):
    acc = ins[0]
    for other in ins[1:]:  # left fold, the order of Python's sum() in the official cells
        acc = g.add("Add", [acc, other], f"{prefix}/Add")
    return acc


@register_lowering("concat")
def _concat(g, prefix, ins, shapes, a):
    return g.add("Concat", list(ins), f"{prefix}/Concat", axis=1) if len(ins) > 1 else ins[0]


@register_lowering("channel_slice")
def _channel_slice(g, prefix, ins, shapes, a):
    starts, ends = g.constant("_i64_0", [0], "int64"), g.constant(f"_i64_{a['channels']}", [a["channels"]], "int64")
    return g.add("Slice", [ins[0], starts, ends, g.constant("_i64_1", [1], "int64")], f"{prefix}/Slice")


@register_lowering("relu")
def _relu(g, prefix, ins, shapes, a):
    return g.add("Relu", [ins[0]], f"{prefix}/Relu")


@register_lowering("batch_norm")
def _batch_norm(g, prefix, ins, shapes, a):
    return _bn(g, prefix, ins[0], shapes[0][0], a)


@register_lowering("conv")
def _conv_op(g, prefix, ins, shapes, a):
    return _conv(g, prefix, ins[0], a, groups=a["groups"], bias=a["bias"])


@register_lowering("max_pool")
def _max_pool(g, prefix, ins, shapes, a):
    p = padding_of(a)
    return g.add("MaxPool", [ins[0]], f"{prefix}/MaxPool", kernel_shape=[a["kernel"]] * 2, strides=[a["stride"]] * 2, pads=[p] * 4)


@register_lowering("avg_pool")
def _avg_pool(g, prefix, ins, shapes, a):
    p = padding_of(a)
    return g.add("AveragePool", [ins[0]], f"{prefix}/AveragePool", kernel_shape=[a["kernel"]] * 2, strides=[a["stride"]] * 2,
                 pads=[p] * 4, count_include_pad=int(a["count_include_pad"]))


@register_lowering("global_avg_pool")
def _global_avg_pool(g, prefix, ins, shapes, a):
    pooled = g.add("GlobalAveragePool", [ins[0]], f"{prefix}/GlobalAveragePool")
    return g.add("Flatten", [pooled], f"{prefix}/Flatten", axis=1)


@register_lowering("linear")
def _linear(g, prefix, ins, shapes, a):
    inputs = [ins[0], g.weight(f"{prefix}/weight")] + ([g.weight(f"{prefix}/bias")] if a["bias"] else [])
    return g.add("Gemm", inputs, f"{prefix}/Gemm", transB=1)


@register_lowering("relu_conv_bn")
def _relu_conv_bn(g, prefix, ins, shapes, a, role=""):
    x = g.add("Relu", [ins[0]], f"{prefix}/{role}Relu")
    out_c = a["out_channels"] or shapes[0][0]
    return _bn(g, prefix, _conv(g, prefix, x, a, role=f"{role}conv."), out_c, a, role=f"{role}bn.")


@register_lowering("conv_bn_relu")
def _conv_bn_relu(g, prefix, ins, shapes, a):
    out_c = a["out_channels"] or shapes[0][0]
    y = _bn(g, prefix, _conv(g, prefix, ins[0], a, role="conv."), out_c, a, role="bn.")
    return g.add("Relu", [y], f"{prefix}/Relu")


@register_lowering("resnet_basic_block")
def _resnet_basic_block(g, prefix, ins, shapes, a):
    cin, cout = shapes[0][0], a["out_channels"] or shapes[0][0]
    conv_a = {**a, "out_channels": cout, "kernel": 3, "padding": 1, "dilation": 1}
    y = _relu_conv_bn(g, prefix, ins, shapes, conv_a, role="conv_a.")
    y = _relu_conv_bn(g, prefix, [y], [(cout,)], {**conv_a, "stride": 1}, role="conv_b.")
    shortcut = ins[0]
    if a["stride"] == 2:
        pooled = g.add("AveragePool", [ins[0]], f"{prefix}/downsample.AveragePool", kernel_shape=[2, 2], strides=[2, 2])
        shortcut = _conv(g, prefix, pooled, {"kernel": 1, "stride": 1, "padding": 0}, role="downsample.conv.")
    elif cin != cout:
        shortcut = _relu_conv_bn(g, prefix, ins, shapes, {**a, "out_channels": cout, "kernel": 1, "padding": 0, "stride": 1}, role="downsample.")
    return g.add("Add", [shortcut, y], f"{prefix}/Add")
