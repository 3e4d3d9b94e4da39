"""MeCo (Jiang et al., NeurIPS 2023, Eq. 5-6): sum of minimum eigenvalues of feature correlations.

The torch frontend's definition (its module docstring gives the reference and the deviation): one
forward pass of one N(0, 1) image, BatchNorm in train mode, and for every output torch's forward
hooks on ``model.modules()`` see, the smallest eigenvalue of the channel correlation matrix of the
first sample's map, summed (:func:`nasir.proxy_math.meco_score`).

Keras has no forward hooks and no one-to-one module tree, so the same outputs are collected here:
the model's and every block's output, every IR node's output (torch wraps even parameter-free
nodes in a module), and inside a node's layer the output of each sublayer (its ``call`` is wrapped
for this one pass) and of each ReLU (``relu`` taps; torch has an ``nn.ReLU`` module where Keras
calls a function). Where torch has a module that Keras computes inline, its output is counted
again: NB201's stride-2 shortcut (``_PoolConv`` around the shortcut conv) and a MobileNet
``ConvBNAct``'s non-ReLU activation module (``ReLU6``, ``Hardswish``, ``Identity``). Maps with one
position (pooled vectors, logits, squeeze-excitation gates) add 0 in both frameworks.

Input: torch draws the image with ``torch.randn``, which TensorFlow cannot reproduce; here it is
drawn from numpy (seeded, same distribution), and ``image`` (NCHW) takes the torch frontend's to
compare the frameworks.

A train-mode BatchNorm that sees one value per channel (a BN over a pooled vector, on the one
image) outputs its shift whatever its input: torch refuses to run it and its frontend scores the
network ``-inf`` as degenerate; :func:`single_value_bn_guard` does the same here (TensorFlow would
compute the constant).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow import layers as L
from nasir.frontends.tensorflow.lowerings import LOWERINGS
from nasir.frontends.tensorflow.lowerings_cnn import ConvBNAct
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, DegenerateNetwork, Subject, input_shape, run_blocks, to_nhwc

__all__ = ["meco", "module_outputs", "single_value_bn_guard"]

Wrap = Callable[[L.NasirLayer, Callable[..., tf.Tensor]], Callable[..., tf.Tensor]]


@contextlib.contextmanager
def _wrapped_calls(layers: Sequence[L.NasirLayer], wrap: Wrap) -> Iterator[None]:
    """Each layer's ``call`` replaced by ``wrap(layer, call)`` for the block, then restored as it was
    (so wrappers nest: the meco recorder inside the BatchNorm guard)."""
    saved = [(layer, vars(layer).get("call")) for layer in layers]
    for layer in layers:
        layer.call = wrap(layer, layer.call)
    try:
        yield
    finally:
        for layer, call in saved:
            if call is None:
                del layer.call
            else:
                layer.call = call


@contextlib.contextmanager
def single_value_bn_guard(model: ArchModel | NetworkModel) -> Iterator[None]:
    """Within the block, an enabled BatchNorm of ``model`` run in train mode on one value per channel
    raises :class:`DegenerateNetwork`, naming it (the torch frontend's guard: torch refuses the pass)."""

    def guarded(layer: L.NasirLayer, call: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
        def run(x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
            if training and layer.enabled and math.prod(x.shape[:-1]) == 1:
                raise DegenerateNetwork(f"BatchNorm {layer.name!r} in train mode sees one value per channel "
                                        f"(input {tuple(x.shape)}), so its output does not depend on its input")
            return call(x, training=training)
        return run

    bns = [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, L.BatchNorm)]
    with _wrapped_calls(bns, guarded):
        yield


def _twice(layers: Sequence[L.NasirLayer]) -> set[int]:
    """Ids of the layers whose output torch's module tree hooks twice (a torch module wraps or
    follows them that Keras has no layer for)."""
    out = set()
    for layer in layers:
        if isinstance(layer, L.ResNetBasicBlock) and layer.pool is not None:
            out.add(id(layer.shortcut))  # torch: _PoolConv(pool, conv) -> its output is the conv's
        if isinstance(layer, ConvBNAct) and layer.act is not L.relu:
            out.add(id(layer))  # torch: the act module (ReLU6, Hardswish, Identity) re-outputs it
    return out


@contextlib.contextmanager
def _recording(layer: L.NasirLayer, out: list[tf.Tensor]) -> Iterator[set[int]]:
    """While active, every sublayer call of ``layer`` and every ReLU appends its output to ``out``;
    yields the ids of the layers torch counts twice (``layer`` itself included)."""
    subs = layer._flatten_layers(include_self=False, recursive=True)
    twice = _twice([layer, *subs])

    def recorded(sub: L.NasirLayer, call: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
        def run(*args: object, **kwargs: object) -> tf.Tensor:
            y = call(*args, **kwargs)
            out.extend([y, y] if id(sub) in twice else [y])
            return y
        return run

    with _wrapped_calls(subs, recorded), L.tap(relu=lambda x: out.append(tf.nn.relu(x))):
        yield twice


def _arch_outputs(model: ArchModel, inputs: Sequence[tf.Tensor], out: list[tf.Tensor]) -> tf.Tensor:
    """``ArchModel``'s node loop (train mode) appending every node output to ``out``, then the arch's."""
    arch, values = model.arch, {}
    for node in arch.nodes:
        srcs = arch.inputs(node)
        if node in arch.input_nodes:
            y = inputs[arch.input_nodes.index(node)]
        else:
            args = [values[s] for s in srcs]
            arg = args if arch.spec(node).max_inputs != 1 else args[0]
            layer = model.node_layers.get(node)
            if layer is None:  # a parameter-free op: its lowering's callable, built again
                fn = LOWERINGS.get(arch.op(node))([model.shapes[s] for s in srcs], model.shapes[node], arch.attrs(node))
                y = fn(arg)
            else:
                with _recording(layer, out) as twice:
                    y = layer(arg, training=True) if getattr(layer, "takes_training", False) else layer(arg)
                if id(layer) in twice:
                    out.append(y)
        values[node] = y
        out.append(y)
    out.append(values[arch.output_node])
    return values[arch.output_node]


def module_outputs(model: ArchModel | NetworkModel, x: tf.Tensor) -> list[tf.Tensor]:
    """The outputs torch's hooks on every module of the equivalent torch model see, for NHWC ``x``."""
    out: list[tf.Tensor] = []
    if isinstance(model, NetworkModel):
        last = model.network.blocks[-1].name
        out.append(run_blocks(model, x, lambda m, ins: _arch_outputs(m, ins, out))[last])
    else:
        _arch_outputs(model, [x], out)
    return out


def meco(subject: Subject, batch: Batch | None = None, *, image: np.ndarray | None = None) -> float:
    """MeCo of one N(0, 1) image (``image``, NCHW, when given)."""
    if image is None:
        image = np.random.default_rng((subject.seed, 2023)).standard_normal((1, *input_shape(subject)))
    # the float32 image, widened when the model computes in float64 (the float32 problem in double precision)
    with single_value_bn_guard(subject.model):
        maps = module_outputs(subject.model, to_nhwc(np.asarray(image, dtype=np.float32), subject.model.compute_dtype))
    return proxy_math.meco_score(np.moveaxis(np.asarray(y[0], dtype=np.float64), -1, 0) for y in maps if y.shape.rank >= 2)
