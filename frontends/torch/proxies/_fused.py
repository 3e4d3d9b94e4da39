"""Fast path: snip, grad_norm and fisher from one shared forward/backward of the same batch.

All three differentiate the same cross-entropy loss of the same batch with BatchNorm in train mode,
so one pass yields ``w.grad`` (snip ``|w * g|``, grad_norm ``||g||`` per layer) and, from forward
hooks that keep each conv/linear output and its gradient, fisher's channel saliencies. The test
suite checks these equal the separate plain implementations.

:data:`GROUPS` lists every such shared pass (this one, and AZ-NAS's three terms from one forward
and the backward of per-block Rademacher vectors) for ``score_network`` to run when two or more
members of a group are requested together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nasir.frontends.torch.proxies import aznas
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks, weight_layers
from nasir.frontends.torch.proxies._guard import check_output
from nasir.frontends.torch.proxies.fisher import channel_saliency

__all__ = ["FUSED", "fused_loss_gradient", "FusedGroup", "GROUPS"]

FUSED = frozenset({"snip", "grad_norm", "fisher"})


def fused_loss_gradient(subject: Subject, batch: Batch, names: set[str]) -> dict[str, float]:
    """Scores for ``names`` (a subset of :data:`FUSED`) from one forward/backward."""
    model = subject.model.train()
    layers = list(weight_layers(model))
    outputs: dict[torch.nn.Module, torch.Tensor] = {}

    def keep(module, inputs, output):
        output.retain_grad()
        outputs[module] = output

    with forward_hooks(layers if "fisher" in names else (), keep):
        model.zero_grad()
        out = model(batch.x)
        check_output(out.detach())
        F.cross_entropy(out, batch.y).backward()
    zero = torch.zeros((), device=batch.x.device, dtype=batch.x.dtype)
    totals = {"snip": zero.clone(), "grad_norm": zero.clone(), "fisher": zero.clone()}
    for layer in layers:
        g = layer.weight.grad
        if g is not None:
            totals["snip"] += (layer.weight.detach() * g).abs().sum()
            totals["grad_norm"] += g.norm()
        a = outputs.get(layer)
        if a is not None and a.grad is not None:
            totals["fisher"] += channel_saliency(a.detach(), a.grad).abs().sum() * math.prod(layer.weight.shape[1:])
    return {name: float(totals[name].item()) for name in names}


@dataclass(frozen=True)
class FusedGroup:
    """Proxies one shared pass scores together: ``run(subject, batch, names, **options) -> {name: score}``."""

    members: frozenset[str]
    run: Callable[..., dict[str, float]]


GROUPS = (FusedGroup(FUSED, fused_loss_gradient), FusedGroup(aznas.FUSED, aznas.az_scores))
