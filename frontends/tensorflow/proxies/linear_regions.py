"""TE-NAS expressivity (Chen, Gong & Wang, ICLR 2021, Sec. 3.1.2): the number of linear regions.

The torch frontend's definition (its module docstring gives the reference and the deviations):
TE-NAS's thin network (:func:`nasir.proxy_math.thin_network`: the first cell at one channel, then
the head) in BatchNorm train mode, ``passes`` forward passes of ``samples`` one-channel
``crop x crop`` crops (:func:`nasir.proxy_math.one_channel_crops`, drawn from the same numpy
stream as in torch, so both frameworks see the same crops), the on/off pattern of every ReLU with
a 4-D input (``relu`` taps), and the distinct patterns (:func:`nasir.proxy_math.count_patterns`)
averaged over ``repeats``.

The thin network gets fresh weights from the seed, like the torch frontend's, but TensorFlow's
init draws other values from the same distribution; ``thin_weights`` imports the torch frontend's
(``export_weights(lower(thin_network(net), seed=seed))``) to compare the frameworks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from nasir.errors import InvalidArchError
from nasir.frontends.tensorflow.layers import tap
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, lower
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, to_nchw, to_nhwc, widened
from nasir.frontends.tensorflow.weights import import_weights
from nasir.proxy_math import check_region_options, count_patterns, one_channel_crops, thin_network

__all__ = ["linear_regions", "relu_codes"]


def relu_codes(model: ArchModel | NetworkModel, x: tf.Tensor) -> np.ndarray:
    """``(batch, units)`` bool: which ReLU outputs are positive, over every ReLU with a 4-D input
    (the same ReLUs as the torch frontend's ``nn.ReLU`` hooks; NHWC unit order, which does not
    change the number of distinct rows)."""
    n = int(x.shape[0])
    parts: list[np.ndarray] = []

    def fold(inputs: tf.Tensor) -> None:
        if inputs.shape.rank == 4:
            parts.append(np.reshape(inputs.numpy() > 0, (n, -1)))

    with tap(relu=fold):
        model(x, training=True)
    return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), dtype=bool)


def linear_regions(subject: Subject, batch: Batch, *, samples: int = 1000, passes: int = 3, repeats: int = 3,
                   crop: int = 3, thin_weights: Mapping[str, np.ndarray] | None = None) -> float:
    """Mean number of distinct ReLU patterns of TE-NAS's thin network over ``passes x samples`` crops."""
    if subject.network is None:
        raise InvalidArchError("linear_regions builds TE-NAS's thin network from the IR; score a nasir Network "
                               "(or a model lowered from one), not a bare Arch model")
    check_region_options(samples, passes, repeats, crop, batch.x.shape[1:3])
    model = lower(thin_network(subject.network, crop=crop), seed=subject.seed)
    if thin_weights is not None:
        import_weights(model, thin_weights)
    model = widened(model, batch.x.dtype.name)
    rng = np.random.default_rng((subject.seed, 2021))
    images = to_nchw(batch.x)
    counts = []
    for _ in range(repeats):
        crops = [to_nhwc(one_channel_crops(images, samples, crop, rng), batch.x.dtype) for _ in range(passes)]
        counts.append(count_patterns(np.concatenate([relu_codes(model, x) for x in crops])))
    return float(np.mean(counts))
