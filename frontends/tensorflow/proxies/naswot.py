"""NASWOT (Mellor et al., ICML 2021, Sec. 3): log-determinant of the ReLU activation-code kernel.

The torch frontend's definition: every ReLU's input is binarised (``> 0``), ``K = N_A - d_H`` is
summed over ReLUs (one matmul per ReLU, ``K = 2 c c^T - s_i - s_j + D``, integer-exact), BatchNorm
in train mode, and the score is ``log|K|`` (:func:`nasir.proxy_math.logdet_psd`). ReLU inputs
come from :func:`nasir.frontends.tensorflow.layers.tap` and are folded in as they appear, so no
activation is kept.
"""

from __future__ import annotations

import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow.layers import tap
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output

__all__ = ["naswot"]


def naswot(subject: Subject, batch: Batch) -> float:
    n = int(batch.x.shape[0])
    k = tf.zeros((n, n), dtype=tf.float64)

    def fold(x: tf.Tensor) -> None:
        nonlocal k
        c = tf.cast(tf.reshape(x, (n, -1)) > 0, tf.float32)
        s = tf.reduce_sum(tf.cast(c, tf.float64), axis=1)
        k += 2.0 * tf.cast(tf.matmul(c, c, transpose_b=True), tf.float64) - s[:, None] - s[None, :] + float(c.shape[1])

    with tap(relu=fold):
        out = subject.model(batch.x, training=True)
    check_output(out)
    return proxy_math.logdet_psd(k.numpy())
