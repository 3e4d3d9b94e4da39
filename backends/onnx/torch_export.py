"""A second export path, through ``torch.onnx.export``, to cross-check the direct exporter.

The direct exporter (:func:`nasir.backends.onnx.export`) never touches a framework; this path asks
PyTorch to trace a module built by ``nasir.frontends.torch.lower`` (the caller builds it: backends
never import frontends). Both models must agree with each other and with torch to float32 rounding.

It uses the TorchScript-based exporter (``dynamo=False``): in torch 2.13 it is ~50x faster than
the dynamo exporter, needs no ``onnxscript``, writes no side ``.onnx.data`` file and supports
``dynamic_axes`` and opset 17 directly. It is deprecated upstream; when it is removed this module
switches to ``dynamo=True`` with ``external_data=False``.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from typing import Any

import onnx
from onnx import helper

import nasir
from nasir.errors import MissingDependencyError
from nasir.ir import Shape
from nasir.backends.onnx.export import DEFAULT_OPSET

__all__ = ["torch_export"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("the torch.onnx cross-check needs PyTorch: pip install 'nasir[torch]'") from None
    return torch


def torch_export(module: Any, input_shapes: Shape | Sequence[Shape], *, opset: int = DEFAULT_OPSET,
                 batch: str | int = "batch") -> onnx.ModelProto:
    """Exports a torch module (eval mode, so BatchNormalization uses running statistics).

    Args:
        module: a ``torch.nn.Module``, typically ``nasir.frontends.torch.lower(network)`` with weights.
        input_shapes: per-sample input shape(s), channels first.
        opset: ONNX opset (17 by default, as the direct exporter).
        batch: name of the dynamic batch axis, or a fixed batch size.

    Graph inputs are named ``input`` (``input.0``, ``input.1``... for several), the output ``output``,
    as in the direct exporter, and ``ir_version`` is pinned the same way.
    """
    torch = _torch()
    shapes = [tuple(input_shapes)] if isinstance(input_shapes[0], int) else [tuple(s) for s in input_shapes]
    names = ["input"] if len(shapes) == 1 else [f"input.{i}" for i in range(len(shapes))]
    example = tuple(torch.zeros((2 if isinstance(batch, str) else batch, *s)) for s in shapes)
    axes = {n: {0: batch} for n in [*names, "output"]} if isinstance(batch, str) else None
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning, torch.jit.TracerWarning))
            torch.onnx.export(module, example, buffer, dynamo=False, opset_version=opset, input_names=names,
                              output_names=["output"], dynamic_axes=axes, do_constant_folding=True)
    finally:
        module.train(was_training)
    model = onnx.load_from_string(buffer.getvalue())
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    props = {"nasir_version": nasir.__version__, "exporter": f"torch.onnx.export (torch {torch.__version__}, dynamo=False)",
             "input_shapes": json.dumps([list(s) for s in shapes])}
    network = getattr(module, "network", None)
    if network is not None and hasattr(network, "canonical_hash"):
        props.update(canonical_hash=network.canonical_hash(), nasir_kind="network")
    helper.set_model_props(model, props)
    return model
