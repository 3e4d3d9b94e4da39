"""snip, grad_norm and fisher: the zero-cost-nas proxies read off one cross-entropy gradient.

All three differentiate the mean cross-entropy of one batch (BatchNorm in train mode) with respect
to the conv/linear weights (snip, grad_norm) or their outputs (fisher), so one tape serves any
subset of them; scoring them separately runs the same function once per proxy.

* snip (Lee et al., ICLR 2019): ``sum |w * dL/dw|`` (the reference's ``|dL/dmask|`` at mask 1).
* grad_norm (Abdelfattah et al., ICLR 2021): ``sum over layers of ||dL/dW||_2``.
* fisher (Theis et al. 2018; Turner et al. 2020): per layer output ``a`` with gradient ``g``, the
  channel saliency ``0.5 * mean_n (sum_hw a * g)^2``, summed with weight ``fan_in`` per channel
  (zero-cost-nas broadcasts each channel's value to that channel's weights).
"""

from __future__ import annotations

import math

import tensorflow as tf

from nasir.frontends.tensorflow.layers import NasirLayer, tap
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output, cross_entropy, kernels

__all__ = ["LOSS_GRADIENT", "loss_gradient", "snip", "grad_norm", "fisher"]

LOSS_GRADIENT = frozenset({"snip", "grad_norm", "fisher"})


def _channel_saliency(act: tf.Tensor, grad: tf.Tensor) -> tf.Tensor:
    """``0.5 * mean_n (sum over spatial dims of act * grad)^2`` per output channel (last axis)."""
    g = act * grad
    if len(g.shape) > 2:
        g = tf.reduce_sum(g, axis=list(range(1, len(g.shape) - 1)))
    return 0.5 * tf.reduce_mean(tf.square(g), axis=0)


def loss_gradient(subject: Subject, batch: Batch, names: set[str] | frozenset[str]) -> dict[str, float]:
    """Scores for ``names`` (a subset of :data:`LOSS_GRADIENT`) from one forward/backward."""
    model = subject.model
    outputs: list[tuple[NasirLayer, tf.Tensor]] = []
    keep = (lambda layer, y: outputs.append((layer, y))) if "fisher" in names else None
    weights = kernels(model)
    with tf.GradientTape() as tape, tap(output=keep):
        out = model(batch.x, training=True)
        loss = cross_entropy(out, batch.y)
    check_output(out)
    grads = tape.gradient(loss, weights + [y for _, y in outputs])
    weight_grads, output_grads = grads[:len(weights)], grads[len(weights):]
    totals = dict.fromkeys(LOSS_GRADIENT, 0.0)
    for w, g in zip(weights, weight_grads):
        if g is not None:
            totals["snip"] += float(tf.reduce_sum(tf.abs(w * g)))
            totals["grad_norm"] += float(tf.norm(g))
    for (layer, y), g in zip(outputs, output_grads):
        if g is not None:
            fan_in = math.prod(int(d) for d in layer.kernel.shape[:-1])  # conv HWI(/groups), linear in
            totals["fisher"] += float(tf.reduce_sum(tf.abs(_channel_saliency(y, g)))) * fan_in
    return {name: totals[name] for name in names}


def snip(subject: Subject, batch: Batch) -> float:
    return loss_gradient(subject, batch, {"snip"})["snip"]


def grad_norm(subject: Subject, batch: Batch) -> float:
    return loss_gradient(subject, batch, {"grad_norm"})["grad_norm"]


def fisher(subject: Subject, batch: Batch) -> float:
    return loss_gradient(subject, batch, {"fisher"})["fisher"]
