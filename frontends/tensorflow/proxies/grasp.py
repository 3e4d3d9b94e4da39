"""grasp (Wang et al., ICLR 2020) as the zero-cost-nas proxy (T = 1, one iteration), as in the torch frontend.

``g = dL/dw`` (held constant) for conv/linear weights, then ``Hg = d(g . dL/dw)/dw`` by double
backprop (nested tapes) on a second forward of the same batch; the score is ``sum -w * Hg``.
BatchNorm in train mode.
"""

from __future__ import annotations

import tensorflow as tf

from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output, cross_entropy, kernels

__all__ = ["grasp"]


def grasp(subject: Subject, batch: Batch) -> float:
    model = subject.model
    weights = kernels(model)
    with tf.GradientTape() as tape:
        out = model(batch.x, training=True)
        loss = cross_entropy(out, batch.y)
    check_output(out)
    grad_w = tape.gradient(loss, weights)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = cross_entropy(model(batch.x, training=True), batch.y)
        grad_f = inner.gradient(loss, weights)
        z = tf.add_n([tf.reduce_sum(tf.stop_gradient(gw) * gf) for gw, gf in zip(grad_w, grad_f)
                      if gw is not None and gf is not None])
    hg = outer.gradient(z, weights)
    return sum(float(tf.reduce_sum(-w * h)) for w, h in zip(weights, hg) if h is not None)
