"""Ops of the DARTS cell space and of MobileNet-style macro spaces.

Each op is one IR node with its weights declared role by role, so parameter counts come from the
registry and a lowering that holds other tensors is rejected. FLOP rules count the
multiply-accumulates of every conv and linear layer inside the op (depthwise, pointwise and the
squeeze-excitation FCs included), the convention of the DARTS and MobileNet papers; element-wise
work (activations, residual adds, the SE rescale) is not counted. Each op's ``parts`` list the
torch modules of its reference implementation, which the per-module conventions count (NASLib's
torchstat, ptflops; see ``nasir.ir.ops``).

DARTS ops follow ``operations.py`` of the official code (Liu et al., ICLR 2019); ``mbconv`` follows
torchvision's ``InvertedResidual`` of MobileNetV2/V3 (Sandler et al. 2018; Howard et al. 2019).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nasir.errors import ShapeMismatchError
from nasir.ir._builtin_ops import BN_ATTRS, CONV_ATTRS, _bn_weights, _conv_macs, _conv_shape, _conv_weights, _image
from nasir.ir.ops import Attr, OpSpec, Shape, WeightSpec, register_op
from nasir.ir.parts import Activation, BatchNorm, Conv, GlobalPool, Part

__all__ = ["ACTIVATIONS", "make_divisible", "mbconv_has_residual", "se_channels"]

ACTIVATIONS = ("relu", "relu6", "hswish", "hsigmoid")
"""Element-wise activations; hswish is x * relu6(x + 3) / 6, hsigmoid relu6(x + 3) / 6 (MobileNetV3)."""


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds ``value`` to a multiple of ``divisor``, never more than 10% down (MobileNet's ``_make_divisible``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def se_channels(expanded: int) -> int:
    """Squeeze width of the MobileNetV3 SE block: ``make_divisible(expanded // 4, 8)``."""
    return make_divisible(expanded // 4, 8)


# ---------------------------------------------------------------- DARTS cell ops

_SEP_ATTRS = {**{k: CONV_ATTRS[k] for k in ("out_channels", "kernel", "stride", "padding")}, **BN_ATTRS}


def _sep_conv_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    c = _image("sep_conv", ins[0])[0]
    mid = _conv_shape("sep_conv", ins, {**a, "out_channels": c, "groups": c})
    second = _conv_shape("sep_conv", [mid], {**a, "out_channels": c, "stride": 1, "groups": c})
    return (a["out_channels"] or c, *second[1:])


def _sep_conv_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    c, k = ins[0][0], a["kernel"]
    return {
        **_conv_weights("dw1.", c, c, k, groups=c), **_conv_weights("pw1.", c, c, 1), **_bn_weights("bn1.", c, a["affine"]),
        **_conv_weights("dw2.", c, c, k, groups=c), **_conv_weights("pw2.", c, out[0], 1), **_bn_weights("bn2.", out[0], a["affine"]),
    }


def _sep_conv_macs(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> int:
    c, k = ins[0][0], a["kernel"]
    mid = (c, *out[1:])
    return 2 * _conv_macs(c, mid, k, groups=c) + _conv_macs(c, mid, 1) + _conv_macs(c, out, 1)


def _sep_conv_parts(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> list[Part]:
    c, k, aff = ins[0][0], a["kernel"], a["affine"]
    mid = (c, *out[1:])
    return [Activation("relu", ins[0]), Conv(c, mid, k, groups=c), Conv(c, mid, 1), BatchNorm(mid, aff),
            Activation("relu", mid), Conv(c, mid, k, groups=c), Conv(c, out, 1), BatchNorm(out, aff)]


register_op(OpSpec(
    name="sep_conv",
    doc=("DARTS SepConv: (ReLU -> depthwise kxk (stride) -> 1x1 -> BN) then (ReLU -> depthwise kxk -> 1x1 to "
         "out_channels -> BN); roles dw1, pw1, bn1, dw2, pw2, bn2."),
    attrs=_SEP_ATTRS, shape=_sep_conv_shape, weights=_sep_conv_weights, flops=_sep_conv_macs, parts=_sep_conv_parts,
))


def _dil_conv_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    c = _image("dil_conv", ins[0])[0]
    depthwise = _conv_shape("dil_conv", ins, {**a, "groups": c, "out_channels": c})
    return (a["out_channels"] or c, *depthwise[1:])


def _dil_conv_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    c = ins[0][0]
    return {**_conv_weights("dw.", c, c, a["kernel"], groups=c), **_conv_weights("pw.", c, out[0], 1), **_bn_weights("bn.", out[0], a["affine"])}


def _dil_conv_macs(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> int:
    c = ins[0][0]
    return _conv_macs(c, (c, *out[1:]), a["kernel"], groups=c) + _conv_macs(c, out, 1)


register_op(OpSpec(
    name="dil_conv",
    doc="DARTS DilConv: ReLU -> dilated depthwise kxk (stride) -> 1x1 to out_channels -> BN; roles dw, pw, bn.",
    attrs={**_SEP_ATTRS, "dilation": Attr(int, 2, minimum=1)},
    shape=_dil_conv_shape, weights=_dil_conv_weights, flops=_dil_conv_macs,
    parts=lambda ins, out, a: [Activation("relu", ins[0]), Conv(ins[0][0], (ins[0][0], *out[1:]), a["kernel"], groups=ins[0][0]),
                               Conv(ins[0][0], out, 1), BatchNorm(out, a["affine"])],
))


def _factorized_reduce_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    c, h, w = _image("factorized_reduce", ins[0])
    out_c = a["out_channels"] or c
    if out_c % 2:
        raise ShapeMismatchError(f"factorized_reduce needs an even number of output channels, got {out_c}")
    if h % 2 or w % 2:
        raise ShapeMismatchError(f"factorized_reduce halves H and W on two offset grids, which needs even sizes; got {h}x{w}")
    return (out_c, h // 2, w // 2)


def _factorized_reduce_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    cin, half = ins[0][0], out[0] // 2
    return {**_conv_weights("conv_1.", cin, half, 1), **_conv_weights("conv_2.", cin, half, 1), **_bn_weights("bn.", out[0], a["affine"])}


register_op(OpSpec(
    name="factorized_reduce",
    doc=("DARTS FactorizedReduce: ReLU, then concat(conv_1 1x1/2 (x), conv_2 1x1/2 (x[:, :, 1:, 1:])) -> BN; "
         "halves H and W (even sizes); roles conv_1, conv_2, bn."),
    attrs={"out_channels": CONV_ATTRS["out_channels"], **BN_ATTRS},
    shape=_factorized_reduce_shape, weights=_factorized_reduce_weights,
    flops=lambda ins, out, a: _conv_macs(ins[0][0], out, 1),
    parts=lambda ins, out, a: [Activation("relu", ins[0]), Conv(ins[0][0], (out[0] // 2, *out[1:]), 1),  # conv_1
                               Conv(ins[0][0], (out[0] // 2, *out[1:]), 1), BatchNorm(out, a["affine"])],  # conv_2, bn
))

# ---------------------------------------------------------------- MobileNet ops

_ACT_ATTR = Attr(str, "relu", choices=ACTIVATIONS[:3], doc="activation after BN")


def _any_shape(ins: Sequence[Shape], _a: Mapping[str, Any]) -> Shape:
    return ins[0]


register_op(OpSpec(
    name="activation", doc="Element-wise activation `fn` (relu, relu6, hswish, hsigmoid) on a tensor of any shape.",
    attrs={"fn": Attr(str, choices=ACTIVATIONS)}, shape=_any_shape, parts=lambda ins, out, a: [Activation(a["fn"], out)],
))


def _conv_bn_act_parts(cin: int, out: Shape, kernel: int, groups: int, affine: bool, act: str | None) -> list[Part]:
    """Conv, BN and activation on the output (``act=None``: no activation, the MobileNet projection)."""
    return [Conv(cin, out, kernel, groups), BatchNorm(out, affine), *([Activation(act, out)] if act else [])]


register_op(OpSpec(
    name="conv_bn_act", doc="Conv (no bias, groups) -> BN -> activation `act`: MobileNet stems and 1x1 heads; roles conv, bn.",
    attrs={**CONV_ATTRS, "groups": Attr(int, 1, minimum=1), "act": _ACT_ATTR, **BN_ATTRS},
    shape=lambda ins, a: _conv_shape("conv_bn_act", ins, a),
    weights=lambda ins, out, a: {**_conv_weights("conv.", ins[0][0], out[0], a["kernel"], a["groups"]), **_bn_weights("bn.", out[0], a["affine"])},
    flops=lambda ins, out, a: _conv_macs(ins[0][0], out, a["kernel"], a["groups"]),
    parts=lambda ins, out, a: _conv_bn_act_parts(ins[0][0], out, a["kernel"], a["groups"], a["affine"], a["act"]),
))


def _expanded(ins: Sequence[Shape], a: Mapping[str, Any]) -> int:
    return a["expanded_channels"] or ins[0][0]


def _mbconv_shape(ins: Sequence[Shape], a: Mapping[str, Any]) -> Shape:
    cin = _image("mbconv", ins[0])[0]
    e = _expanded(ins, a)
    dw = _conv_shape("mbconv", [(e, *ins[0][1:])], {"out_channels": e, "kernel": a["kernel"], "stride": a["stride"], "groups": e})
    return (a["out_channels"] or cin, *dw[1:])


def _mbconv_weights(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> dict[str, WeightSpec]:
    cin, e, aff = ins[0][0], _expanded(ins, a), a["affine"]
    w: dict[str, WeightSpec] = {}
    if e != cin:
        w.update({**_conv_weights("expand.conv.", cin, e, 1), **_bn_weights("expand.bn.", e, aff)})
    w.update({**_conv_weights("depthwise.conv.", e, e, a["kernel"], groups=e), **_bn_weights("depthwise.bn.", e, aff)})
    if a["se"]:
        sq = se_channels(e)
        w.update({**_conv_weights("se.fc1.", e, sq, 1, bias=True), **_conv_weights("se.fc2.", sq, e, 1, bias=True)})
    w.update({**_conv_weights("project.conv.", e, out[0], 1), **_bn_weights("project.bn.", out[0], aff)})
    return w


def _mbconv_macs(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> int:
    cin, e = ins[0][0], _expanded(ins, a)
    macs = _conv_macs(cin, (e, *ins[0][1:]), 1) if e != cin else 0
    macs += _conv_macs(e, (e, *out[1:]), a["kernel"], groups=e) + _conv_macs(e, out, 1)
    return macs + (2 * e * se_channels(e) if a["se"] else 0)


def _mbconv_parts(ins: Sequence[Shape], out: Shape, a: Mapping[str, Any]) -> list[Part]:
    """Expand, depthwise and project as conv_bn_act; SE as AdaptiveAvgPool2d(1), 1x1+bias, ReLU, 1x1+bias,
    hard-sigmoid (torchvision's ``SqueezeExcitation``); the rescale and the residual add are no modules."""
    cin, e, act, aff = ins[0][0], _expanded(ins, a), a["act"], a["affine"]
    hidden = (e, *out[1:])
    parts = _conv_bn_act_parts(cin, (e, *ins[0][1:]), 1, 1, aff, act) if e != cin else []
    parts += _conv_bn_act_parts(e, hidden, a["kernel"], e, aff, act)
    if a["se"]:
        sq = se_channels(e)
        parts += [GlobalPool(hidden), Conv(e, (sq, 1, 1), 1, bias=True), Activation("relu", (sq, 1, 1)),
                  Conv(sq, (e, 1, 1), 1, bias=True), Activation("hsigmoid", (e, 1, 1))]
    return parts + _conv_bn_act_parts(e, out, 1, 1, aff, None)


register_op(OpSpec(
    name="mbconv",
    doc=("Inverted residual (MobileNetV2/V3): [1x1 expand -> BN -> act, when expanded_channels differs from the input] -> "
         "depthwise kxk (stride) -> BN -> act -> [SE: avg pool -> 1x1+bias -> ReLU -> 1x1+bias -> hsigmoid, times x] -> "
         "1x1 project -> BN, plus the input when stride is 1 and the output keeps the input's shape (channels kept, odd "
         "kernel); roles expand, depthwise, se.fc1/fc2, project."),
    attrs={
        "out_channels": CONV_ATTRS["out_channels"],
        "kernel": Attr(int, 3, minimum=1),
        "stride": Attr(int, 1, minimum=1),
        "expanded_channels": Attr(int, None, minimum=1, optional=True, doc="None keeps the input channel count (no expand conv)"),
        "se": Attr(bool, False, doc="squeeze-excitation to se_channels(expanded) with a hard-sigmoid gate"),
        "act": _ACT_ATTR,
        **BN_ATTRS,
    },
    shape=_mbconv_shape, weights=_mbconv_weights, flops=_mbconv_macs, parts=_mbconv_parts,
))


def mbconv_has_residual(in_shape: Shape, attrs: Mapping[str, Any]) -> bool:
    """Whether an mbconv node adds its input, shared by every lowering: stride 1 and an output of the input's shape.

    That is the papers' rule (stride 1, channels kept) for their odd kernels; an even kernel changes the spatial size
    under the padding ``(kernel - 1) // 2``, so there is nothing of that shape to add.
    """
    return attrs["stride"] == 1 and _mbconv_shape([in_shape], attrs) == tuple(in_shape)

