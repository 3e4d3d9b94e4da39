"""jacob_cov (Mellor et al. 2020, arXiv:2006.04647 v1, Sec. 3), as run by zero-cost-nas.

The Jacobian of ``sum(f(x))`` with respect to each input image (one backward through the whole
batch, BatchNorm in train mode), flattened per image; the closing formula is
:func:`nasir.proxy_math.jacob_cov_score`. The NHWC flattening permutes each row's entries, which
leaves the images' correlation matrix unchanged.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output

__all__ = ["jacob_cov"]


def jacob_cov(subject: Subject, batch: Batch) -> float:
    x = tf.identity(batch.x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = subject.model(x, training=True)
    check_output(y)
    jac = tape.gradient(y, x)  # d sum(y) / dx: the reference's backward of ones
    return proxy_math.jacob_cov_score(jac.numpy().reshape(len(jac), -1).astype(np.float64))
