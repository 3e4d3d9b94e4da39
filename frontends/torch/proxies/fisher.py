"""fisher (Theis et al. 2018; Turner et al. 2020) as the zero-cost-nas proxy (``fisher.py``).

For every conv/linear layer's output activation ``a`` (N, K, H, W) and its loss gradient ``g``,
the channel saliency is ``0.5 * mean_n (sum_hw a * g)^2``; zero-cost-nas broadcasts each channel's
value to all of that channel's weights before summing, so the score is
``sum_k fan_in(k) * saliency_k`` with ``fan_in = prod(weight.shape[1:])``. Plain path: an identity
module after each layer with a backward hook, as in the reference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["fisher", "channel_saliency"]


def channel_saliency(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``0.5 * mean_n (sum over spatial dims of act * grad)^2`` per output channel."""
    g = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
    return g.pow(2).mean(0).mul(0.5)


def fisher(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    layers = list(weight_layers(model))
    acts: dict[nn.Module, torch.Tensor] = {}
    sal: dict[nn.Module, torch.Tensor] = {}
    handles = []
    for layer in layers:
        dummy = nn.Identity()

        def fwd(module, inputs, output, layer=layer, dummy=dummy):
            out = dummy(output)
            # the value only: a graph-holding tensor here would tie the autograd graph to this
            # hook's closure in a cycle Python's collector cannot see through, leaking every graph
            acts[layer] = out.detach()
            return out

        def bwd(module, grad_input, grad_output, layer=layer):
            s = channel_saliency(acts[layer], grad_output[0].detach())
            sal[layer] = sal[layer] + s if layer in sal else s

        handles.append(layer.register_forward_hook(fwd))
        handles.append(dummy.register_full_backward_hook(bwd))
    try:
        model.zero_grad()
        out = model(batch.x)
        check_output(out.detach())
        F.cross_entropy(out, batch.y).backward()
    finally:
        for h in handles:
            h.remove()
    total = torch.zeros((), device=batch.x.device, dtype=batch.x.dtype)
    for layer in layers:
        if layer in sal:
            total += sal[layer].abs().sum() * math.prod(layer.weight.shape[1:])
    return float(total.item())
