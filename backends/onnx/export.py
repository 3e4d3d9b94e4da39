"""Direct ONNX export from the IR with ``onnx.helper``: no deep-learning framework involved.

Every op lowers through :data:`~nasir.backends.onnx.lowerings.ONNX_LOWERINGS`; initialisers carry
the neutral weight keys (``cells.3/e0_1/conv.weight``) and node names start with the IR block and
node they come from, so a node in Netron or an onnxruntime profile traces back to the IR.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

import nasir
from nasir.errors import SchemaError
from nasir.ir import Arch, Block, Network, Shape, WeightSpec, weight_specs
from nasir.rng import Seed, as_rng
from nasir.backends.onnx.graph import GraphBuilder
from nasir.backends.onnx.lowerings import ONNX_LOWERINGS

__all__ = ["export", "random_weights", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17


def random_weights(specs: Mapping[str, WeightSpec], seed: Seed = 0) -> dict[str, np.ndarray]:
    """Deterministic stand-in weights: He-uniform kernels, BN statistics and affines near (0, 1).

    Used when a caller exports an untrained architecture (e.g. for latency, where values don't matter).
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


def _as_network(obj: Network | Arch, input_shapes: Shape | Sequence[Shape] | None) -> Network:
    if isinstance(obj, Network):
        return obj
    if input_shapes is None:
        raise ValueError("exporting a bare Arch needs input_shapes, e.g. (16, 32, 32)")
    if len(obj.input_nodes) != 1:
        raise ValueError("direct export of an Arch supports one input; wrap multi-input cells in a Network")
    shape = tuple(input_shapes) if isinstance(input_shapes[0], int) else tuple(input_shapes[0])
    return Network((Block("arch", obj),), shape, name="arch")


def export(obj: Network | Arch, weights: Mapping[str, np.ndarray] | None = None, *, opset: int = DEFAULT_OPSET,
           input_shapes: Shape | Sequence[Shape] | None = None, seed: Seed = 0) -> onnx.ModelProto:
    """An ONNX model of a network (or a single-input Arch) with a dynamic batch axis.

    Args:
        obj: what to export. A bare Arch needs ``input_shapes`` (per sample, channels first).
        weights: neutral weights (e.g. ``nasir.frontends.torch.export_weights(model)``); missing or
            misshaped keys raise :class:`~nasir.errors.SchemaError`. ``None`` draws :func:`random_weights`.
        opset: ONNX opset (17 or newer).
        seed: seed of the random weights when ``weights`` is None.
    """
    network = _as_network(obj, input_shapes)
    specs = network.weight_specs()
    weights = random_weights(specs, seed) if weights is None else weights
    _check_weights(specs, weights)
    builder = GraphBuilder(weights)
    outputs = {"input": "input"}
    shapes_in = network.block_input_shapes()
    for block in network.blocks:
        outputs[block.name] = _lower_block(builder, block, [outputs[src] for src in block.inputs], shapes_in[block.name])
    final = builder.add("Identity", [outputs[network.blocks[-1].name]], "output")
    graph = helper.make_graph(
        builder.nodes, network.name or "nasir",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *network.input_shape])],
        [helper.make_tensor_value_info(final, TensorProto.FLOAT, ["batch", *network.output_shape])],
        initializer=list(builder.initializers.values()),
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="nasir", producer_version=nasir.__version__)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(model, {"nasir_version": nasir.__version__, "network_hash": network.canonical_hash(),
                                   "network_json": json.dumps(network.to_dict(), sort_keys=True)})
    return model


def _lower_block(builder: GraphBuilder, block: Block, inputs: list[str], input_shapes: list[Shape]) -> str:
    from nasir.ir import infer_shapes

    arch = block.arch
    shapes = infer_shapes(arch, input_shapes)
    tensors = {node: inputs[i] for i, node in enumerate(arch.input_nodes)}
    for node in arch.nodes:
        if node in tensors:
            continue
        preds = arch.inputs(node)
        lowering = ONNX_LOWERINGS.get(arch.op(node))
        tensors[node] = lowering(builder, f"{block.name}/{node}", [tensors[p] for p in preds], [shapes[p] for p in preds], arch.attrs(node))
    return tensors[arch.output_node]


def _check_weights(specs: Mapping[str, WeightSpec], weights: Mapping[str, np.ndarray]) -> None:
    missing = [k for k in specs if k not in weights]
    if missing:
        raise SchemaError(f"weights lack {len(missing)} key(s) of this network, e.g. {missing[0]!r}; are they from another architecture?")
    for key, spec in specs.items():
        if tuple(np.shape(weights[key])) != spec.shape:
            raise SchemaError(f"weight {key!r} has shape {tuple(np.shape(weights[key]))}, the network needs {spec.shape}")
