"""Built-in ops: primitives, and the composite ops of NAS-Bench-101/201.

Composite ops keep a benchmark's op as one IR node (so hashes and encodings see the op the paper
names) while their weights are declared role by role (``conv.weight``, ``bn.running_mean``...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nasir.errors import AttributeValueError, ShapeMismatchError
from nasir.ir.ops import Attr, OpSpec, Shape, WeightSpec, register_op
from nasir.ir.parts import Activation, BatchNorm, Conv, GlobalPool, Linear, Part, Pool

__all__: list[str] = []

# ---------------------------------------------------------------- shared rules


def _image(op: str, shape: Shape) -> Shape:
    if len(shape) != 3:
        raise ShapeMismatchError(f"{op} expects a (C, H, W) input, got shape {shape}")
    return shape


def _spatial(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def padding_of(attrs: Mapping[str, Any]) -> int:
    """A conv's or pool's padding: the ``padding`` attribute, or when it is None the padding that keeps
    the size at stride 1, ``(kernel - 1) // 2 * dilation``; every lowering reads it here."""
    if attrs.get("padding") is not None:
        return attrs["padding"]
    return (attrs["kernel"] - 1) // 2 * attrs.get("dilation", 1)


def _conv_shape(op: str, ins: Sequence[Shape], attrs: Mapping[str, Any]) -> Shape:
    c, h, w = _image(op, ins[0])
    groups = attrs.get("groups", 1)
    out_c = attrs["out_channels"] if attrs["out_channels"] is not None else c
    if c % groups or out_c % groups:
        raise ShapeMismatchError(f"{op}: channels in={c} out={out_c} are not divisible by groups={groups}")
    k, s, p, d = attrs["kernel"], attrs["stride"], padding_of(attrs), attrs.get("dilation", 1)
    oh, ow = _spatial(h, k, s, p, d), _spatial(w, k, s, p, d)
    if oh < 1 or ow < 1:
        raise ShapeMismatchError(f"{op}: kernel {k} with stride {s} does not fit a {h}x{w} input")
    return (out_c, oh, ow)


def _conv_weights(prefix: str, cin: int, cout: int, kernel: int, groups: int = 1, bias: bool = False) -> dict[str, WeightSpec]:
    out = {f"{prefix}weight": WeightSpec((cout, cin // groups, kernel, kernel))}
    if bias:
        out[f"{prefix}bias"] = WeightSpec((cout,))
    return out


def _bn_weights(prefix: str, channels: int, affine: bool = True) -> dict[str, WeightSpec]:
    out: dict[str, WeightSpec] = {}
    if affine:
        out[f"{prefix}weight"] = WeightSpec((channels,))
        out[f"{prefix}bias"] = WeightSpec((channels,))
    out[f"{prefix}running_mean"] = WeightSpec((channels,), trainable=False)
    out[f"{prefix}running_var"] = WeightSpec((channels,), trainable=False)
    return out


def _conv_macs(cin: int, out: Shape, kernel: int, groups: int = 1) -> int:
    cout, oh, ow = out
    return cout * oh * ow * (cin // groups) * kernel * kernel


# The modules ops are made of (``nasir.ir.parts``), which the per-module FLOP conventions count.


def _relu_conv_bn_parts(inp: Shape, out: Shape, kernel: int, affine: bool) -> list[Part]:
    """ReLU on the input, conv, BN on the output."""
    return [Activation("relu", inp), Conv(inp[0], out, kernel), BatchNorm(out, affine)]


def _same_as_input(op: str):
    def rule(ins: Sequence[Shape], _attrs: Mapping[str, Any]) -> Shape:
        return ins[0]

    return rule


def _all_equal(op: str):
    def rule(ins: Sequence[Shape], _attrs: Mapping[str, Any]) -> Shape:
        for i, shape in enumerate(ins[1:], start=1):
            if shape != ins[0]:
                raise ShapeMismatchError(f"{op} needs equal input shapes, input 0 is {ins[0]} but input {i} is {shape}")
        return ins[0]

    return rule


BN_ATTRS = {
    "affine": Attr(bool, True, doc="learnable scale and shift"),
    "eps": Attr(float, 1e-5, minimum=0.0),
    "momentum": Attr(float, 0.1, minimum=0.0, doc="PyTorch convention: weight of the new batch statistic"),
}
CONV_ATTRS = {
    "out_channels": Attr(int, None, minimum=1, optional=True, doc="None keeps the input channel count"),
    "kernel": Attr(int, minimum=1),
    "stride": Attr(int, 1, minimum=1),
    "padding": Attr(int, None, minimum=0, optional=True, doc="None means 'same' for stride 1"),
    "dilation": Attr(int, 1, minimum=1),
}

# ---------------------------------------------------------------- structural ops

register_op(OpSpec(
    name="input", doc="Network or cell input number `index`; its shape is given by the caller.",
    shape=lambda ins, attrs: (), min_inputs=0, max_inputs=0,
    attrs={"index": Attr(int, 0, minimum=0)},
))
register_op(OpSpec(name="output", doc="The single output; passes its input through.", shape=_same_as_input("output")))
register_op(OpSpec(name="identity", doc="Passes its input through (skip connection).", shape=_same_as_input("identity")))
register_op(OpSpec(name="zero", doc="Outputs zeros of the input's shape (NB201/DARTS 'none').", shape=_same_as_input("zero")))
register_op(OpSpec(
    name="scale", doc="Multiplies by a constant (a supernet's fixed mixing weight, e.g. 1/k for k ops on an edge).",
    shape=_same_as_input("scale"), attrs={"factor": Attr(float, doc="the constant factor")},
))
register_op(OpSpec(
    name="add", doc="Element-wise sum of the inputs, in input order.", shape=_all_equal("add"),
    min_inputs=1, max_inputs=None, commutative=True,
))


def _concat_shape(ins: Sequence[Shape], _attrs: Mapping[str, Any]) -> Shape:
    for i, s in enumerate(ins):
        _image("concat", s)
        if s[1:] != ins[0][1:]:
            raise ShapeMismatchError(f"concat needs equal spatial sizes, input 0 is {ins[0]} but input {i} is {s}")
    return (sum(s[0] for s in ins),) + tuple(ins[0][1:])


register_op(OpSpec(
    name="concat", doc="Concatenation along channels, in input order.", shape=_concat_shape,
    min_inputs=1, max_inputs=None,
))


def _slice_shape(ins: Sequence[Shape], attrs: Mapping[str, Any]) -> Shape:
    c = _image("channel_slice", ins[0])[0]
    if attrs["channels"] > c:
        raise ShapeMismatchError(f"channel_slice keeps {attrs['channels']} channels but the input has only {c}")
    return (attrs["channels"],) + tuple(ins[0][1:])


register_op(OpSpec(
    name="channel_slice", doc="Keeps the first `channels` channels (NAS-Bench-101 'truncate').",
    shape=_slice_shape, attrs={"channels": Attr(int, minimum=1)},
))

# ---------------------------------------------------------------- primitives

register_op(OpSpec(
    name="relu", doc="Rectified linear unit.", shape=_same_as_input("relu"), parts=lambda ins, out, a: [Activation("relu", out)],
))


def _bn_shape(ins: Sequence[Shape], _attrs: Mapping[str, Any]) -> Shape:
    """Per-channel statistics of features, sequences or images, the ranks every lowering has a batch norm for."""
    if not 1 <= len(ins[0]) <= 3:
        raise ShapeMismatchError(f"batch_norm takes (C,), (C, L) or (C, H, W) per sample, got {ins[0]}")
    return ins[0]


register_op(OpSpec(
    name="batch_norm", doc="Batch normalisation over channels.", shape=_bn_shape, attrs=BN_ATTRS,
    weights=lambda ins, out, a: _bn_weights("", ins[0][0], a["affine"]),
    parts=lambda ins, out, a: [BatchNorm(out, a["affine"])],
))

_PLAIN_CONV_ATTRS = {**CONV_ATTRS, "groups": Attr(int, 1, minimum=1), "bias": Attr(bool, False)}
register_op(OpSpec(
    name="conv", doc="2-D convolution (square kernel).", attrs=_PLAIN_CONV_ATTRS,
    shape=lambda ins, a: _conv_shape("conv", ins, a),
    weights=lambda ins, out, a: _conv_weights("", ins[0][0], out[0], a["kernel"], a["groups"], a["bias"]),
    flops=lambda ins, out, a: _conv_macs(ins[0][0], out, a["kernel"], a["groups"]),
    parts=lambda ins, out, a: [Conv(ins[0][0], out, a["kernel"], a["groups"], a["bias"])],
))


def _pool_shape(op: str):
    def rule(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
        c, h, w = _image(op, ins[0])
        p = padding_of(a)
        if p > a["kernel"] // 2:  # a window of padding alone: PyTorch and Keras pools refuse it
            raise AttributeValueError(f"{op}: padding {p} exceeds kernel {a['kernel']} // 2; use padding <= {a['kernel'] // 2}")
        oh, ow = _spatial(h, a["kernel"], a["stride"], p), _spatial(w, a["kernel"], a["stride"], p)
        if oh < 1 or ow < 1:
            raise ShapeMismatchError(f"{op}: kernel {a['kernel']} with stride {a['stride']} does not fit a {h}x{w} input")
        return (c, oh, ow)

    return rule


_POOL_ATTRS = {
    "kernel": Attr(int, 3, minimum=1),
    "stride": Attr(int, 1, minimum=1),
    "padding": Attr(int, None, minimum=0, optional=True, doc="None means (kernel-1)//2"),
}


def _pool_parts(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> list[Part]:
    return [Pool(ins[0], out, a["kernel"])]


register_op(OpSpec(
    name="max_pool", doc="Max pooling (padding never wins the max).", shape=_pool_shape("max_pool"), attrs=_POOL_ATTRS,
    parts=_pool_parts,
))
register_op(OpSpec(
    name="avg_pool", doc="Average pooling.", shape=_pool_shape("avg_pool"),
    attrs={**_POOL_ATTRS, "count_include_pad": Attr(bool, False, doc="NB201 uses False")}, parts=_pool_parts,
))
register_op(OpSpec(
    name="global_avg_pool", doc="Mean over H and W; (C, H, W) -> (C,).",
    shape=lambda ins, a: (_image("global_avg_pool", ins[0])[0],), parts=lambda ins, out, a: [GlobalPool(ins[0])],
))


def _linear_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    if len(ins[0]) != 1:
        raise ShapeMismatchError(f"linear expects a vector (F,), got shape {ins[0]}; add global_avg_pool first")
    return (a["out_features"],)


register_op(OpSpec(
    name="linear", doc="Fully connected layer y = W x + b.", shape=_linear_shape,
    attrs={"out_features": Attr(int, minimum=1), "bias": Attr(bool, True)},
    weights=lambda ins, out, a: {"weight": WeightSpec((out[0], ins[0][0])), **({"bias": WeightSpec((out[0],))} if a["bias"] else {})},
    flops=lambda ins, out, a: ins[0][0] * out[0], parts=lambda ins, out, a: [Linear(ins[0][0], out[0], a["bias"])],
))

# ---------------------------------------------------------------- composites


def _composite_conv_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    return {**_conv_weights("conv.", ins[0][0], out[0], a["kernel"]), **_bn_weights("bn.", out[0], a["affine"])}


register_op(OpSpec(
    name="relu_conv_bn", doc="ReLU -> Conv (no bias) -> BN, the NAS-Bench-201 / DARTS conv op.",
    attrs={**CONV_ATTRS, **BN_ATTRS}, shape=lambda ins, a: _conv_shape("relu_conv_bn", ins, a),
    weights=_composite_conv_weights, flops=lambda ins, out, a: _conv_macs(ins[0][0], out, a["kernel"]),
    parts=lambda ins, out, a: _relu_conv_bn_parts(ins[0], out, a["kernel"], a["affine"]),
))
register_op(OpSpec(
    name="conv_bn_relu", doc="Conv (no bias) -> BN -> ReLU, the NAS-Bench-101 conv op.",
    attrs={**CONV_ATTRS, **BN_ATTRS}, shape=lambda ins, a: _conv_shape("conv_bn_relu", ins, a),
    weights=_composite_conv_weights, flops=lambda ins, out, a: _conv_macs(ins[0][0], out, a["kernel"]),
    parts=lambda ins, out, a: [Conv(ins[0][0], out, a["kernel"]), BatchNorm(out, a["affine"]), Activation("relu", out)],
))


def _basic_block_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    _, h, w = _image("resnet_basic_block", ins[0])
    if a["stride"] == 2 and (h % 2 or w % 2):  # conv_a gives ceil(H/2), the 2x2 shortcut pool floor(H/2)
        raise ShapeMismatchError(f"resnet_basic_block with stride 2 adds a 3x3/2 conv to a 2x2/2 pool, which needs even sizes; got {h}x{w}")
    return _conv_shape("resnet_basic_block", ins, {"out_channels": a["out_channels"], "kernel": 3, "stride": a["stride"], "padding": 1})


def _basic_block_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    cin, cout = ins[0][0], out[0]
    w = {**_conv_weights("conv_a.conv.", cin, cout, 3), **_bn_weights("conv_a.bn.", cout, a["affine"])}
    w.update({**_conv_weights("conv_b.conv.", cout, cout, 3), **_bn_weights("conv_b.bn.", cout, a["affine"])})
    if a["stride"] == 2:
        w.update(_conv_weights("downsample.conv.", cin, cout, 1))
    elif cin != cout:
        w.update({**_conv_weights("downsample.conv.", cin, cout, 1), **_bn_weights("downsample.bn.", cout, a["affine"])})
    return w


def _basic_block_macs(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> int:
    cin, cout = ins[0][0], out[0]
    macs = _conv_macs(cin, out, 3) + _conv_macs(cout, out, 3)
    return macs + (_conv_macs(cin, out, 1) if a["stride"] == 2 or cin != cout else 0)


def _basic_block_parts(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> list[Part]:
    """conv_a and conv_b as relu_conv_bn, plus the shortcut's 2x2 pool and conv; the add is no module."""
    cin, cout, aff = ins[0][0], out[0], a["affine"]
    parts = _relu_conv_bn_parts(ins[0], out, 3, aff) + _relu_conv_bn_parts(out, out, 3, aff)
    if a["stride"] == 2:
        return parts + [Pool(ins[0], (cin, *out[1:]), 2), Conv(cin, out, 1)]
    return parts + (_relu_conv_bn_parts(ins[0], out, 1, aff) if cin != cout else [])


register_op(OpSpec(
    name="resnet_basic_block",
    doc=("NAS-Bench-201 reduction block: relu_conv_bn 3x3 (stride) -> relu_conv_bn 3x3, plus a shortcut "
         "(stride 2: avg_pool 2x2 -> conv 1x1; channel change: relu_conv_bn 1x1; else identity)."),
    attrs={"out_channels": Attr(int, None, minimum=1, optional=True), "stride": Attr(int, 1, choices=(1, 2)), **BN_ATTRS},
    shape=_basic_block_shape, weights=_basic_block_weights, flops=_basic_block_macs, parts=_basic_block_parts,
))
