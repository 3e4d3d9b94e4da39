"""Keras models that execute IR graphs: :class:`ArchModel` (one Arch) and :class:`NetworkModel`.

Both are built only from :data:`~nasir.frontends.tensorflow.lowerings.LOWERINGS`, so a new IR op
needs one lowering function and nothing else here. Shapes are checked by
:func:`nasir.ir.infer_shapes` before any TF object is made, so bad graphs fail with
:class:`~nasir.errors.ShapeMismatchError` naming the node. The models compute in NHWC;
``layout="NCHW"`` makes a model take (and give back, for image outputs) PyTorch's NCHW with a
single transpose at each end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from nasir.errors import ModelTypeError, OptionValueError, SchemaError, ShapeMismatchError, UnknownNameError, UnknownOpError
from nasir.proxy_batches import check_dtype
from nasir.frontends.tensorflow.layers import NasirLayer, init_rng, layer_dtype
from nasir.frontends.tensorflow.lowerings import LOWERINGS
from nasir.ir import Arch, Network, Shape, WeightSpec, infer_shapes
from nasir.rng import Seed

__all__ = ["ArchModel", "NetworkModel", "lower", "LAYOUTS"]

LAYOUTS = ("NHWC", "NCHW")
_TO_NHWC, _TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
_CHECKED: set[tuple[Any, ...]] = set()  # lowering signatures already verified (pure functions of their inputs)


def neutral_shape(variable: Any, layout: str) -> tuple[int, ...]:
    """Shape of a Keras variable in the neutral layout (conv OIHW, linear (out, in))."""
    shape = tuple(int(d) for d in variable.shape)
    if layout == "conv":
        return (shape[3], shape[2], shape[0], shape[1])
    if layout == "linear":
        return (shape[1], shape[0])
    return shape


def _check_weights(node: str, op: str, layer: Any, specs: Mapping[str, WeightSpec]) -> None:
    """Fails if a lowering's variables differ from the op's declared weights (the neutral contract)."""
    found = layer.neutral_variables() if isinstance(layer, NasirLayer) else {}
    shapes = {role: neutral_shape(v, lay) for role, (v, lay) in found.items()}
    trainable = {role for role, (v, _) in found.items() if v.trainable}
    declared = {role: tuple(s.shape) for role, s in specs.items()}
    if shapes != declared or trainable != {r for r, s in specs.items() if s.trainable}:
        raise SchemaError(
            f"node {node!r}: the tensorflow lowering of op {op!r} holds variables {shapes} (trainable {sorted(trainable)}) "
            f"but the op declares {declared}; fix the lowering or the op's weights rule"
        )


def _lower_node(arch: Arch, node: str, shapes: Mapping[str, Shape]) -> tuple[Any, dict[str, WeightSpec]]:
    op = arch.op(node)
    try:
        fn = LOWERINGS.get(op)
    except UnknownNameError:
        raise UnknownOpError(f"node {node!r}: op {op!r} has no tensorflow lowering; add one with "
                             f"@nasir.frontends.tensorflow.register_lowering({op!r})") from None
    ins = [shapes[p] for p in arch.inputs(node)]
    layer = fn(ins, shapes[node], arch.attrs(node))
    if not callable(layer):
        raise SchemaError(f"the tensorflow lowering of op {op!r} returned {type(layer).__name__}, not a layer or callable")
    specs = arch.spec(node).weights(ins, shapes[node], arch.attrs(node))
    signature = (op, fn, tuple(ins), shapes[node], tuple(sorted(arch.attrs(node).items())))
    if signature not in _CHECKED:
        _check_weights(node, op, layer, specs)
        _CHECKED.add(signature)
    return layer, specs


@dataclass(frozen=True)
class _Step:
    node: str
    inputs: tuple[str, ...]
    multi: bool  # op takes a list of inputs
    training: bool  # layer takes training=
    fn: Any  # parameter-free callable, or None when the node is a tracked layer


def _nhwc(shape: Shape) -> tuple[int, ...]:
    return tuple(shape[1:]) + (shape[0],) if len(shape) == 3 else tuple(shape)


def _check_inputs(what: str, inputs: Sequence[Any], expected: Sequence[Shape], layout: str) -> None:
    if len(inputs) != len(expected):
        raise ShapeMismatchError(f"{what} takes {len(expected)} input(s) of per-sample shapes {list(expected)}, got {len(inputs)}")
    for i, (x, shape) in enumerate(zip(inputs, expected)):
        want = _nhwc(shape) if layout == "NHWC" else tuple(shape)
        if tuple(x.shape[1:]) != want:
            raise ShapeMismatchError(f"{what} input {i} must be (batch, {', '.join(map(str, want))}) in {layout}, got {tuple(x.shape)}")


def _to_internal(x: Any, layout: str, dtype: str) -> tf.Tensor:
    x = tf.convert_to_tensor(x, dtype=dtype)
    return tf.transpose(x, _TO_NHWC) if layout == "NCHW" and x.shape.rank == 4 else x


def _to_external(y: tf.Tensor, layout: str) -> tf.Tensor:
    return tf.transpose(y, _TO_NCHW) if layout == "NCHW" and y.shape.rank == 4 else y


class ArchModel(keras.Model):
    """Runs an :class:`~nasir.ir.Arch`: nodes in ``arch.nodes`` order, inputs by port.

    Args:
        arch: the graph.
        input_shapes: one per-sample shape such as ``(16, 32, 32)`` (IR convention, channels
            first), or one per input node.
        layout: ``"NHWC"`` (TensorFlow's native layout) or ``"NCHW"`` (PyTorch's).
        dtype: variable and compute dtype (``"float32"``; ``"float64"`` for synflow).
    """

    def __init__(self, arch: Arch, input_shapes: Shape | Sequence[Shape], *, layout: str = "NHWC", name: str | None = None,
                 dtype: str = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self.arch, self.layout = arch, _check_layout(layout)
        self.shapes = dict(infer_shapes(arch, input_shapes))
        self.input_shapes = tuple(self.shapes[n] for n in arch.input_nodes)
        self.node_layers: dict[str, Any] = {}
        self._specs: dict[str, WeightSpec] = {}
        steps = []
        for node in arch.nodes:
            layer, specs = _lower_node(arch, node, self.shapes)
            is_layer = isinstance(layer, keras.layers.Layer)
            if is_layer:
                self.node_layers[node] = layer
            spec = arch.spec(node)
            steps.append(_Step(node, arch.inputs(node), spec.max_inputs != 1, bool(getattr(layer, "takes_training", False)),
                               None if is_layer else layer))
            self._specs.update({f"{node}/{role}": s for role, s in specs.items()})
        self._steps = tuple(steps)
        self._free = _last_uses([(s.node, s.inputs) for s in steps])
        self.built = True

    @property
    def output_shape(self) -> Shape:
        """Per-sample output shape in the IR convention (channels first)."""
        return self.shapes[self.arch.output_node]

    def weight_specs(self) -> dict[str, WeightSpec]:
        """Neutral weight specs, equal to ``nasir.ir.weight_specs(arch, input_shapes)``."""
        return dict(self._specs)

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        """Neutral key ``"<node>/<role>"`` -> (variable, layout), in spec order."""
        found: dict[str, tuple[keras.Variable, str]] = {}
        for node, layer in self.node_layers.items():
            if isinstance(layer, NasirLayer):
                found.update({f"{node}/{role}": v for role, v in layer.neutral_variables().items()})
        return {key: found[key] for key in self._specs}

    def call(self, inputs: Any, training: bool | None = None) -> tf.Tensor:
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        _check_inputs("architecture", xs, self.input_shapes, self.layout)
        index = {n: i for i, n in enumerate(self.arch.input_nodes)}
        values: dict[str, tf.Tensor] = {}
        for step in self._steps:
            fn = step.fn if step.fn is not None else self.node_layers[step.node]
            if step.node in index:
                values[step.node] = fn(_to_internal(xs[index[step.node]], self.layout, self.compute_dtype))
                continue
            args = [values[s] for s in step.inputs]
            arg = args if step.multi else args[0]
            values[step.node] = fn(arg, training=training) if step.training else fn(arg)
            for src in self._free[step.node]:
                del values[src]
        return _to_external(values[self.arch.output_node], self.layout)


class NetworkModel(keras.Model):
    """Runs a :class:`~nasir.ir.Network` block by block (each block an :class:`ArchModel` in NHWC).

    Neutral keys keep the IR names (``cells.3/e0_1/conv.weight``).
    """

    def __init__(self, network: Network, *, layout: str = "NHWC", name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(name=name or (network.name.replace("/", "_") or None), dtype=dtype)
        self.network, self.layout = network, _check_layout(layout)
        ins = network.block_input_shapes()
        self.block_models: dict[str, ArchModel] = {}
        for block in network.blocks:
            try:
                self.block_models[block.name] = ArchModel(block.arch, ins[block.name], name=block.name, dtype=dtype)
            except (ShapeMismatchError, SchemaError, UnknownOpError) as err:
                raise type(err)(f"block {block.name!r}: {err}") from None
        self._free = _last_uses([(b.name, b.inputs) for b in network.blocks])
        self.built = True

    @property
    def output_shape(self) -> Shape:
        return self.network.output_shape

    @property
    def input_shapes(self) -> tuple[Shape, ...]:
        return (tuple(self.network.input_shape),)

    def weight_specs(self) -> dict[str, WeightSpec]:
        """Neutral weight specs, equal to ``network.weight_specs()``."""
        return {f"{name}/{k}": s for name, m in self.block_models.items() for k, s in m.weight_specs().items()}

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        """Neutral key ``"<block>/<node>/<role>"`` -> (variable, layout), in spec order."""
        return {f"{name}/{k}": v for name, m in self.block_models.items() for k, v in m.neutral_variables().items()}

    def call(self, inputs: Any, training: bool | None = None) -> tf.Tensor:
        x = inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs
        _check_inputs(f"network {self.network.name}".strip(), [x], self.input_shapes, self.layout)
        values: dict[str, tf.Tensor] = {"input": _to_internal(x, self.layout, self.compute_dtype)}
        for block in self.network.blocks:
            model = self.block_models[block.name]
            args = [values[s] for s in block.inputs]
            values[block.name] = model(args if len(args) > 1 else args[0], training=training)
            for src in self._free[block.name]:
                del values[src]
        return _to_external(values[self.network.blocks[-1].name], self.layout)


def _last_uses(graph: Sequence[tuple[str, Sequence[str]]]) -> dict[str, tuple[str, ...]]:
    """Per consumer: the values it is the last reader of (freed after it runs)."""
    last: dict[str, str] = {}
    for node, srcs in graph:
        for src in srcs:
            last[src] = node
    return {node: tuple(s for s, user in last.items() if user == node) for node, _ in graph}


def _check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise OptionValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return layout


def lower(
    obj: Network | Arch,
    *,
    input_shapes: Shape | Sequence[Shape] | None = None,
    seed: Seed = 0,
    layout: str = "NHWC",
    dtype: str = "float32",
) -> ArchModel | NetworkModel:
    """Lowers a Network or a bare Arch to a Keras 3 model (TensorFlow backend).

    Weights get PyTorch's default initialisation (conv/linear U(+-1/sqrt(fan_in)), BN 1/0/0/1),
    drawn from a numpy stream seeded with ``seed`` (the same seed gives the same model, and TF's
    global RNG is untouched); the torch frontend's init has the same distribution, not the same
    values: move values across with ``export_weights``/``import_weights``.

    Args:
        obj: the network, or an Arch together with ``input_shapes``.
        input_shapes: per-sample input shape(s) of a bare Arch, channels first as everywhere in
            the IR (``(16, 32, 32)``); for a Network omit it or pass its own ``input_shape``.
        seed: init seed (int or numpy Generator; None draws fresh entropy).
        layout: what the model takes and returns: ``"NHWC"`` (default, TF's native layout; a
            CIFAR batch is ``(N, 32, 32, 3)``) or ``"NCHW"`` (PyTorch's; transposed once inside).
        dtype: ``"float32"`` (default) or ``"float64"`` (what synflow computes in).

    Raises:
        ShapeMismatchError: the shapes do not fit (naming block and node), before TF is called.
        UnknownOpError: an op has no tensorflow lowering.
    """
    check_dtype(dtype)
    if isinstance(obj, Network):
        if input_shapes is not None and tuple(input_shapes) != tuple(obj.input_shape):
            raise ShapeMismatchError(f"network {obj.name!r} takes input shape {obj.input_shape}, not {tuple(input_shapes)}")
        with init_rng(seed), layer_dtype(dtype):
            return NetworkModel(obj, layout=layout, dtype=dtype)
    if isinstance(obj, Arch):
        if input_shapes is None:
            raise ShapeMismatchError("lowering a bare Arch needs input_shapes, e.g. input_shapes=(16, 32, 32)")
        infer_shapes(obj, input_shapes)
        with init_rng(seed), layer_dtype(dtype):
            return ArchModel(obj, input_shapes, layout=layout, dtype=dtype)
    raise ModelTypeError(f"lower() takes a nasir Network or Arch, got {type(obj).__name__}")


def numpy_forward(model: ArchModel | NetworkModel, *inputs: np.ndarray, training: bool = False) -> np.ndarray:
    """Runs ``model`` on numpy inputs (in the model's layout) and returns a float32 numpy array."""
    out = model(list(inputs) if len(inputs) > 1 else inputs[0], training=training)
    return np.asarray(out, dtype=np.float32)
