"""ZiCo (Li et al., ICLR 2023, Eq. 4-5; SLDGroup/ZiCo ``getzico``): inverse coefficient of variation of gradients.

As in the torch frontend: the batch is split into two mini-batches, each gives the cross-entropy
gradient of every conv and linear weight (BatchNorm in train mode, its own forward); the closing
formula is :func:`nasir.proxy_math.zico_score`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output, cross_entropy, kernels

__all__ = ["zico"]


def zico(subject: Subject, batch: Batch, *, splits: int = 2) -> float:
    n = int(batch.x.shape[0])
    proxy_math.check_int("zico", "splits", splits, low=2, high=n)  # a std over >= 2 non-empty mini-batches
    model = subject.model
    weights = kernels(model)
    grads: list[list[np.ndarray]] = [[] for _ in weights]
    for sp in range(splits):
        lo, hi = sp * n // splits, (sp + 1) * n // splits
        with tf.GradientTape() as tape:
            out = model(batch.x[lo:hi], training=True)
            loss = cross_entropy(out, batch.y[lo:hi])
        check_output(out)
        for i, g in enumerate(tape.gradient(loss, weights)):
            if g is not None:
                grads[i].append(g.numpy().reshape(-1).astype(np.float64))
    return proxy_math.zico_score([np.stack(g) for g in grads if len(g) == splits])
