"""grad_norm (Abdelfattah et al., ICLR 2021, Sec. 3): ``sum over conv/linear layers of ||dL/dW||_2``.

Per-layer Frobenius norms of the cross-entropy gradient, summed (zero-cost-nas ``grad_norm.py``;
not the norm of the concatenated gradient). One batch, BatchNorm in train mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["grad_norm"]


def grad_norm(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    model.zero_grad()
    out = model(batch.x)
    check_output(out.detach())
    F.cross_entropy(out, batch.y).backward()
    total = torch.zeros((), device=batch.x.device, dtype=batch.x.dtype)
    for layer in weight_layers(model):
        if layer.weight.grad is not None:
            total += layer.weight.grad.norm()
    return float(total.item())
