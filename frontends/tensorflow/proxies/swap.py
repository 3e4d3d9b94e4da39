"""SWAP (Peng et al., ICLR 2024, Sec. 3): the number of distinct sample-wise activation patterns.

The torch frontend's definition (its module docstring gives the reference): every ReLU with a 4-d
input (:func:`nasir.frontends.tensorflow.layers.tap`) contributes its units; a unit's pattern is
the vector of its output signs over the batch; the score is the number of distinct patterns,
averaged over 32 re-initialisations (conv/linear kernels N(0, 1), biases 0, BatchNorm gamma 1 /
beta 0, train mode), times the optional ``mu``/``sigma`` regularisation. The count does not depend
on the order of the units, so NHWC needs no transpose.

Draws: torch draws the weights with its own generator; here they come from a numpy stream seeded by
``seed`` (same distribution). ``weights`` takes torch's instead (one neutral weight dict per repeat,
``nasir.frontends.torch.proxies.swap.draws``), so both frameworks score the same networks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.errors import SchemaError
from nasir.frontends.tensorflow.layers import tap
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output, normal_reinit
from nasir.frontends.tensorflow.weights import copy_model, import_weights

__all__ = ["swap", "REPEATS"]

REPEATS = 32


def _count(model: ArchModel | NetworkModel, x: tf.Tensor) -> int:
    n = int(x.shape[0])
    codes: list[np.ndarray] = []

    def fold(pre: tf.Tensor) -> None:
        if pre.shape.rank == 4:  # sign(relu(pre)) is pre > 0
            codes.append(np.asarray(tf.reshape(pre, (n, -1)) > 0))

    with tap(relu=fold):
        check_output(model(x, training=True))
    return proxy_math.count_patterns(np.concatenate(codes, axis=1).T) if codes else 0  # rows: units


def swap(subject: Subject, batch: Batch, *, repeats: int = REPEATS, mu: float | None = None, sigma: float | None = None,
         weights: Sequence[Mapping[str, np.ndarray]] | None = None) -> float:
    """Mean number of distinct sample-wise patterns over ``repeats`` N(0, 1) inits (``weights``: torch's)."""
    proxy_math.check_swap_options(repeats, mu, sigma)
    if weights is not None and len(weights) != repeats:
        raise SchemaError(f"SWAP re-initialises {repeats} times and takes one weight dict per repeat, got {len(weights)}")
    model = copy_model(subject.model, dtype=subject.model.compute_dtype)
    rng = np.random.default_rng((subject.seed, 2024))
    counts = []
    for r in range(repeats):
        if weights is not None:
            import_weights(model, weights[r])
        else:
            normal_reinit(model, rng, lambda shape: 1.0)
        counts.append(_count(model, batch.x))
    params = sum(math.prod(v.shape) for v in model.trainable_weights)  # torch's parameters(): no BN statistics
    return sum(counts) / len(counts) * proxy_math.swap_regular_factor(params, mu, sigma)
