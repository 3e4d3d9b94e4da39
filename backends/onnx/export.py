"""Direct ONNX export from the IR with ``onnx.helper``: no deep-learning framework involved.

Every op lowers through :data:`~nasir.backends.onnx.lowerings.ONNX_LOWERINGS`; initialisers carry
the neutral weight keys (``cells.3/e0_1/conv.weight`` for a network, ``e0_1/conv.weight`` for a
bare Arch) and node names start with the IR block and node they come from
(``cells.3/e0_1/conv.Conv``), so a node in Netron or an onnxruntime profile traces back to the IR.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
import onnx
from onnx import TensorProto, helper

import nasir
from nasir.errors import ExportOptionError, ModelTypeError, SchemaError, UnknownOpError
from nasir.latency import model_key as latency_model_key
from nasir.ir import Arch, Network, Shape, WeightSpec, infer_shapes, weight_specs
from nasir.ir.analysis import checked_shapes
from nasir.rng import Seed, as_rng
from nasir.backends.onnx.graph import GraphBuilder
from nasir.backends.onnx.lowerings import ONNX_LOWERINGS

__all__ = ["export", "random_weights", "model_key", "DEFAULT_OPSET", "MIN_OPSET"]

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Slice with tensor inputs, Gemm/BatchNormalization in their current form


def random_weights(specs: Mapping[str, WeightSpec], seed: Seed = 0) -> dict[str, np.ndarray]:
    """Deterministic stand-in weights drawn with numpy from ``seed``.

    Kernels (conv OIHW, linear (out, in)) are He-uniform, U(-1, 1) * sqrt(6 / fan_in), so
    activations keep their scale through deep networks and parity errors stay meaningful;
    biases and BN running means are N(0, 0.1^2); BN scales and running variances are U(0.5, 1.5).
    Keys are visited in spec order, so the same specs and seed give the same arrays.
    """
    rng = as_rng(seed)
    out: dict[str, np.ndarray] = {}
    for key, spec in specs.items():
        role = key.rsplit("/", 1)[-1].split(".")[-1]
        if role == "running_var":
            value = rng.uniform(0.5, 1.5, spec.shape)
        elif role in ("running_mean", "bias"):
            value = rng.normal(0.0, 0.1, spec.shape)
        elif len(spec.shape) == 1:  # BN scale
            value = rng.uniform(0.5, 1.5, spec.shape)
        else:
            fan_in = int(np.prod(spec.shape[1:]))
            value = rng.uniform(-1.0, 1.0, spec.shape) * np.sqrt(6.0 / fan_in)
        out[key] = value.astype(np.float32)
    return out


def _input_shapes(obj: Network | Arch, input_shapes: Shape | Sequence[Shape] | None) -> list[Shape]:
    if isinstance(obj, Network):
        if input_shapes is not None and checked_shapes(input_shapes) != [obj.input_shape]:
            raise SchemaError(f"network {obj.name!r} takes input shape {obj.input_shape}, not {input_shapes}; omit input_shapes")
        return [obj.input_shape]
    if not isinstance(obj, Arch):
        raise ModelTypeError(f"export needs a nasir Network or Arch, got {type(obj).__name__}")
    if input_shapes is None:
        raise SchemaError("exporting a bare Arch needs input_shapes (per sample, channels first), e.g. input_shapes=(16, 32, 32)")
    shapes = checked_shapes(input_shapes)
    infer_shapes(obj, shapes)  # validates the count and the shapes, naming the node
    return shapes


def model_key(obj: Network | Arch, input_shapes: Shape | Sequence[Shape] | None = None) -> str:
    """A stable identity for what is exported: the canonical hash (plus input shapes for an Arch), the
    key latency caches use (:func:`nasir.latency.model_key`), after the export's own shape checks."""
    return latency_model_key(obj, _input_shapes(obj, input_shapes))


def export(obj: Network | Arch, weights: Mapping[str, np.ndarray] | None = None, *, opset: int = DEFAULT_OPSET,
           input_shapes: Shape | Sequence[Shape] | None = None, seed: Seed = 0, batch: str | int = "batch") -> onnx.ModelProto:
    """An ONNX model of a network or a bare Arch, built node by node with ``onnx.helper``.

    Args:
        obj: a :class:`~nasir.ir.Network` (graph input ``input``) or an Arch with ``input_shapes``
            (graph inputs ``input``, or ``input.0``, ``input.1``... for a multi-input cell).
        weights: neutral weights keyed like ``obj.weight_specs()`` (e.g. from
            ``nasir.frontends.torch.export_weights``); missing, extra or misshaped keys raise
            :class:`~nasir.errors.SchemaError`. ``None`` draws :func:`random_weights` from ``seed``.
        opset: default-domain opset, 13 or newer (17 by default: widely supported by runtimes).
        input_shapes: per-sample input shape(s) of a bare Arch.
        seed: seed of the random weights when ``weights`` is None.
        batch: name of the dynamic batch axis, or a fixed batch size.

    BatchNormalization is exported in inference form (running statistics). The model's
    ``ir_version`` is the lowest that supports ``opset`` (recent onnx stamps IR versions that older
    runtimes refuse), and ``metadata_props`` carry the IR JSON, its canonical hash and nasir's version.
    """
    opset, batch = _check_opset(opset), _check_batch(batch)
    shapes = _input_shapes(obj, input_shapes)
    specs = obj.weight_specs() if isinstance(obj, Network) else weight_specs(obj, shapes)
    given = weights is not None
    weights = random_weights(specs, seed) if weights is None else weights
    _check_weights(specs, weights)
    builder = GraphBuilder(weights)
    names = ["input"] if len(shapes) == 1 else [f"input.{i}" for i in range(len(shapes))]
    if isinstance(obj, Network):
        output, out_shape = _lower_network(builder, obj), obj.output_shape
    else:
        output = _lower_arch(builder, "", obj, names, shapes)
        out_shape = infer_shapes(obj, shapes)[obj.output_node]
    output = builder.add("Identity", [output], "output")
    graph = helper.make_graph(
        builder.nodes, (obj.name if isinstance(obj, Network) else "") or "nasir",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, *s]) for n, s in zip(names, shapes)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [batch, *out_shape])],
        initializer=list(builder.initializers.values()),
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="nasir", producer_version=nasir.__version__)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    model.doc_string = "exported by nasir.backends.onnx.export from the nasir IR"
    weights_note = "given" if given else f"random_weights(seed={seed!r})"
    helper.set_model_props(model, _metadata(obj, shapes, weights_note, opset, batch))
    return model


def _check_opset(opset: object) -> int:
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, Integral) or not MIN_OPSET <= opset <= newest:
        raise ExportOptionError(f"opset must be an int from {MIN_OPSET} to {newest} (this onnx's newest), got {opset!r}")
    return int(opset)


def _check_batch(batch: object) -> str | int:
    if isinstance(batch, str) and batch.strip():
        return batch
    if not isinstance(batch, bool) and isinstance(batch, Integral) and batch >= 1:
        return int(batch)
    raise ExportOptionError(f"batch must be a positive size or the name of a dynamic axis, got {batch!r}")


def _metadata(obj: Network | Arch, shapes: list[Shape], weights: str, opset: int, batch: str | int) -> dict[str, str]:
    kind = "network" if isinstance(obj, Network) else "arch"
    # the latency cache's key: the IR's for the default export (so a Network and its export share timings),
    # marked when the opset or a fixed batch makes it another model to time
    key = model_key(obj, shapes) + (f";opset={opset}" if opset != DEFAULT_OPSET else "")
    key += f";batch={batch}" if isinstance(batch, int) else ""
    return {
        "nasir_version": nasir.__version__, "nasir_kind": kind, "canonical_hash": obj.canonical_hash(),
        "model_key": key, f"{kind}_json": obj.to_json(),
        "input_shapes": json.dumps([list(s) for s in shapes]), "weights": weights,
    }


def _lower_network(builder: GraphBuilder, network: Network) -> str:
    outputs = {"input": "input"}
    shapes_in = network.block_input_shapes()
    for block in network.blocks:
        ins = [outputs[src] for src in block.inputs]
        outputs[block.name] = _lower_arch(builder, f"{block.name}/", block.arch, ins, shapes_in[block.name])
    return outputs[network.blocks[-1].name]


def _lower_arch(builder: GraphBuilder, prefix: str, arch: Arch, inputs: Sequence[str], input_shapes: Sequence[Shape]) -> str:
    shapes = infer_shapes(arch, list(input_shapes))
    tensors = {node: inputs[i] for i, node in enumerate(arch.input_nodes)}
    for node in arch.nodes:
        if node in tensors:
            continue
        preds = arch.inputs(node)
        try:
            lowering = ONNX_LOWERINGS.get(arch.op(node))
        except UnknownOpError as err:
            raise UnknownOpError(f"node {prefix}{node}: {err}; register one with "
                                 "nasir.backends.onnx.register_lowering") from None
        tensors[node] = lowering(builder, f"{prefix}{node}", [tensors[p] for p in preds], [shapes[p] for p in preds], arch.attrs(node))
    return tensors[arch.output_node]


def _check_weights(specs: Mapping[str, WeightSpec], weights: Mapping[str, np.ndarray]) -> None:
    missing = [k for k in specs if k not in weights]
    if missing:
        raise SchemaError(f"weights lack {len(missing)} key(s) of this model, e.g. {missing[0]!r}; are they from another architecture?")
    extra = [k for k in weights if k not in specs]
    if extra:
        raise SchemaError(f"weights hold {len(extra)} key(s) this model does not have, e.g. {extra[0]!r}; "
                          "keys must equal weight_specs() (network keys are '<block>/<node>/<role>', bare-Arch keys '<node>/<role>')")
    for key, spec in specs.items():
        if tuple(np.shape(weights[key])) != spec.shape:
            raise SchemaError(f"weight {key!r} has shape {tuple(np.shape(weights[key]))}, the model needs {spec.shape}")
