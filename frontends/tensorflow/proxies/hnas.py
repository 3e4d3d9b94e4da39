"""HNAS's unified gradient metric (Shu, Dai, Wu & Low, NeurIPS 2022; shuyao95/HNAS): the NTK trace norm.

The torch frontend's definition (its module docstring gives the reference and the difference):
``M_trace = sqrt(sum_i ||d logit_{y_i}(x_i) / d theta||^2 / m)`` over the batch, ``theta`` the
weights and biases of every conv and linear layer, BatchNorm in train mode, the whole batch in
one forward and one backward per sample (a persistent tape; each gradient is exact through the
batch statistics). Squared norms are summed in float64; the closing formula is
:func:`nasir.proxy_math.ntk_trace_norm`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output

__all__ = ["ntk_trace", "layer_params"]


def layer_params(model: ArchModel | NetworkModel) -> list[keras.Variable]:
    """Weights and biases of every conv and linear layer (``autograd_hacks``' supported layers):
    a ``bias`` counts when the ``weight`` beside it is a conv or linear kernel, not a BN scale."""
    variables = model.neutral_variables()
    out = []
    for key, (variable, layout) in variables.items():
        if layout in ("conv", "linear"):
            out.append(variable)
            bias = variables.get(key[: -len("weight")] + "bias")
            if bias is not None and bias[0].trainable:
                out.append(bias[0])
    return out


def ntk_trace(subject: Subject, batch: Batch) -> float:
    """``sqrt(sum_i ||d logit_{y_i}(x_i) / d theta||^2 / m)`` over the batch."""
    model = subject.model
    params = layer_params(model)
    with tf.GradientTape(persistent=True) as tape:
        logits = model(batch.x, training=True)
        picked = tf.gather(logits, batch.y, batch_dims=1)
        picks = [picked[i] for i in range(int(picked.shape[0]))]
    check_output(logits)
    sq_norms = []
    for p in picks:
        grads = tape.gradient(p, params)
        sq_norms.append(sum(float(tf.reduce_sum(tf.square(tf.cast(g, tf.float64)))) for g in grads if g is not None))
    del tape
    return proxy_math.ntk_trace_norm(sq_norms)
