"""Baselines from the IR (Abdelfattah et al. 2021 compare against them): parameters and FLOPs."""

from __future__ import annotations

from nasir.errors import SchemaError
from nasir.frontends.torch.proxies._common import Batch, Subject

__all__ = ["params", "flops"]


def params(subject: Subject, batch: Batch | None = None) -> float:
    """``network.count_params()``; for a bare module, its trainable parameter count."""
    if subject.network is not None:
        return float(subject.network.count_params())
    return float(sum(p.numel() for p in subject.model.parameters() if p.requires_grad))


def flops(subject: Subject, batch: Batch | None = None) -> float:
    """``network.count_flops()`` (multiply-accumulates per sample)."""
    if subject.network is None:
        raise SchemaError("the flops proxy needs the IR Network (pass the Network or a NetworkModule), not a bare module")
    return float(subject.network.count_flops())
