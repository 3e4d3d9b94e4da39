"""TE-NAS trainability (Chen, Gong & Wang, ICLR 2021, Sec. 3.1.1): NTK condition number.

As in the torch frontend: the empirical NTK ``J J^T`` over one batch, ``J[i]`` the gradient of
``sum(logits_i)`` with respect to every trainable variable whose neutral role contains ``weight``
(conv, linear and BN weights), BatchNorm in train mode, the whole batch in one forward and one
backward per sample (a persistent tape); the score is ``-lambda_max / lambda_min`` in float64
(:func:`nasir.proxy_math.condition_number`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output

__all__ = ["ntk_cond"]


def ntk_cond(subject: Subject, batch: Batch) -> float:
    model = subject.model
    weights = [v for key, (v, _) in model.neutral_variables().items() if "weight" in key.rsplit("/", 1)[-1] and v.trainable]
    with tf.GradientTape(persistent=True) as tape:
        logits = model(batch.x, training=True)
        sums = [tf.reduce_sum(logits[i]) for i in range(int(logits.shape[0]))]
    check_output(logits)
    rows = []
    for s in sums:
        grads = tape.gradient(s, weights)
        rows.append(np.concatenate([g.numpy().reshape(-1) for g in grads if g is not None]).astype(np.float64))
    del tape
    j = np.stack(rows)
    return -proxy_math.condition_number(np.linalg.eigvalsh(j @ j.T))
