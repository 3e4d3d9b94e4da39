"""grasp (Wang et al., ICLR 2020) as the zero-cost-nas proxy (``grasp.py``, T = 1, one iteration).

``g = dL/dw`` (detached) for conv/linear weights, then ``Hg = d(g_detached . dL/dw)/dw`` by double
backprop on a second forward of the same batch; the score is ``sum -w * Hg`` (zero-cost-nas adds
the minus sign because accuracy correlates negatively with ``w * Hg``). BatchNorm in train mode.
Frozen weights (``requires_grad=False``) are scored like the others: zero-cost-nas sets
``requires_grad_(True)`` on every conv/linear weight of its private copy, and so does this one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["grasp"]


def grasp(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    weights = [layer.weight.requires_grad_(True) for layer in weight_layers(model)]  # the model is private
    out = model(batch.x)
    check_output(out.detach())
    grad_w = torch.autograd.grad(F.cross_entropy(out, batch.y), weights, allow_unused=True)
    grad_f = torch.autograd.grad(F.cross_entropy(model(batch.x), batch.y), weights, create_graph=True, allow_unused=True)
    z = sum((gw.detach() * gf).sum() for gw, gf in zip(grad_w, grad_f) if gw is not None and gf is not None)
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    total = torch.zeros((), device=batch.x.device, dtype=batch.x.dtype)
    for w, h in zip(weights, hg):
        if h is not None:
            total += (-w.detach() * h).sum()
    return float(total.item())
