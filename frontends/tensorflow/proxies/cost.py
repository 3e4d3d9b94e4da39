"""Baselines from the IR (Abdelfattah et al. 2021 compare against them): parameters and FLOPs."""

from __future__ import annotations

import math

from nasir.errors import SchemaError
from nasir.frontends.tensorflow.proxies._common import Batch, Subject

__all__ = ["params", "flops"]


def params(subject: Subject, batch: Batch | None = None) -> float:
    """``network.count_params()``; for a bare Arch model, its trainable variable count."""
    if subject.network is not None:
        return float(subject.network.count_params())
    return float(sum(math.prod(int(d) for d in v.shape) for v in subject.model.trainable_variables))


def flops(subject: Subject, batch: Batch | None = None) -> float:
    """``network.count_flops()`` (multiply-accumulates per sample)."""
    if subject.network is None:
        raise SchemaError("the flops proxy needs the IR Network (pass the Network or a NetworkModel), not a bare Arch model")
    return float(subject.network.count_flops())
