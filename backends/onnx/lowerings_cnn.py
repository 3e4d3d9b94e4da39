"""ONNX lowerings of the DARTS and MobileNet ops (``nasir/ir/_cnn_ops.py``), node for node as the torch modules.

Activations use operators of opset 13 and older: relu6 is ``Clip(0, 6)``, hsigmoid is
``HardSigmoid(alpha=1/6, beta=1/2)`` (PyTorch's ``relu6(x + 3) / 6``) and hswish ``x * hsigmoid(x)``,
so exported models keep the backend's minimum opset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nasir.ir._cnn_ops import mbconv_has_residual
from nasir.backends.onnx.graph import GraphBuilder
from nasir.backends.onnx.lowerings import _bn, _conv, register_lowering

__all__ = ["ACTIVATIONS"]

Emit = Callable[[GraphBuilder, str, str], str]


def _relu(g: GraphBuilder, name: str, x: str) -> str:
    return g.add("Relu", [x], f"{name}Relu")


def _relu6(g: GraphBuilder, name: str, x: str) -> str:
    return g.add("Clip", [x, g.constant("_f32_0", 0.0), g.constant("_f32_6", 6.0)], f"{name}Clip")


def _hsigmoid(g: GraphBuilder, name: str, x: str) -> str:
    return g.add("HardSigmoid", [x], f"{name}HardSigmoid", alpha=float(np.float32(1.0) / np.float32(6.0)), beta=0.5)


def _hswish(g: GraphBuilder, name: str, x: str) -> str:
    return g.add("Mul", [x, _hsigmoid(g, name, x)], f"{name}Mul")


ACTIVATIONS: dict[str, Emit] = {"relu": _relu, "relu6": _relu6, "hswish": _hswish, "hsigmoid": _hsigmoid}
"""Activation name (an attribute value of the IR ops) -> emitter ``(builder, name prefix, input) -> output``."""


def _pointwise(g: GraphBuilder, prefix: str, x: str, role: str, *, bias: bool = False) -> str:
    return _conv(g, prefix, x, {"kernel": 1, "stride": 1, "padding": 0}, role=role, bias=bias)


def _conv_bn_act(g: GraphBuilder, prefix: str, x: str, a: Mapping[str, Any], cout: int, act: str | None, *,
                 role: str = "", groups: int = 1) -> str:
    y = _bn(g, prefix, _conv(g, prefix, x, a, role=f"{role}conv.", groups=groups), cout, a, role=f"{role}bn.")
    return ACTIVATIONS[act](g, f"{prefix}/{role}", y) if act is not None else y


@register_lowering("sep_conv")
def _sep_conv(g, prefix, ins, shapes, a):
    c = shapes[0][0]
    cout = a["out_channels"] or c
    x = _relu(g, f"{prefix}/relu1.", ins[0])
    x = _bn(g, prefix, _pointwise(g, prefix, _conv(g, prefix, x, a, role="dw1.", groups=c), "pw1."), c, a, role="bn1.")
    x = _relu(g, f"{prefix}/relu2.", x)
    x = _conv(g, prefix, x, {**a, "stride": 1}, role="dw2.", groups=c)
    return _bn(g, prefix, _pointwise(g, prefix, x, "pw2."), cout, a, role="bn2.")


@register_lowering("dil_conv")
def _dil_conv(g, prefix, ins, shapes, a):
    c = shapes[0][0]
    x = _conv(g, prefix, _relu(g, f"{prefix}/", ins[0]), a, role="dw.", groups=c)
    return _bn(g, prefix, _pointwise(g, prefix, x, "pw."), a["out_channels"] or c, a, role="bn.")


@register_lowering("factorized_reduce")
def _factorized_reduce(g, prefix, ins, shapes, a):
    x = _relu(g, f"{prefix}/", ins[0])
    strided = {"kernel": 1, "stride": 2, "padding": 0}
    shifted = g.add("Slice", [x, g.constant("_i64_1_1", [1, 1], np.int64), g.constant("_i64_max_max", [np.iinfo(np.int64).max] * 2, np.int64),
                              g.constant("_i64_2_3", [2, 3], np.int64)], f"{prefix}/Slice")
    halves = [_conv(g, prefix, x, strided, role="conv_1."), _conv(g, prefix, shifted, strided, role="conv_2.")]
    return _bn(g, prefix, g.add("Concat", halves, f"{prefix}/Concat", axis=1), a["out_channels"] or shapes[0][0], a, role="bn.")


@register_lowering("activation")
def _activation(g, prefix, ins, shapes, a):
    return ACTIVATIONS[a["fn"]](g, f"{prefix}/", ins[0])


@register_lowering("conv_bn_act")
def _conv_bn_act_op(g, prefix, ins, shapes, a):
    return _conv_bn_act(g, prefix, ins[0], a, a["out_channels"] or shapes[0][0], a["act"], groups=a["groups"])


def _squeeze_excitation(g: GraphBuilder, prefix: str, x: str) -> str:
    s = g.add("GlobalAveragePool", [x], f"{prefix}/se.GlobalAveragePool")
    s = _relu(g, f"{prefix}/se.", _pointwise(g, prefix, s, "se.fc1.", bias=True))
    gate = _hsigmoid(g, f"{prefix}/se.", _pointwise(g, prefix, s, "se.fc2.", bias=True))
    return g.add("Mul", [gate, x], f"{prefix}/se.Mul")


@register_lowering("mbconv")
def _mbconv(g, prefix, ins, shapes, a):
    cin = shapes[0][0]
    e, cout = a["expanded_channels"] or cin, a["out_channels"] or cin
    bn = {k: a[k] for k in ("eps", "momentum", "affine")}
    y = ins[0]
    if e != cin:
        y = _conv_bn_act(g, prefix, y, {"kernel": 1, "stride": 1, "padding": 0, **bn}, e, a["act"], role="expand.")
    y = _conv_bn_act(g, prefix, y, {"kernel": a["kernel"], "stride": a["stride"], "padding": None, **bn}, e, a["act"],
                     role="depthwise.", groups=e)
    if a["se"]:
        y = _squeeze_excitation(g, prefix, y)
    y = _conv_bn_act(g, prefix, y, {"kernel": 1, "stride": 1, "padding": 0, **bn}, cout, None, role="project.")
    return g.add("Add", [y, ins[0]], f"{prefix}/Add") if mbconv_has_residual(shapes[0], a) else y
