"""snip (Lee et al., ICLR 2019) as the zero-cost-nas proxy: ``sum |w * dL/dw|`` over conv/linear weights.

Plain path as in zero-cost-nas ``snip.py``: a ``weight_mask`` of ones multiplies each weight, the
cross-entropy loss of one batch (BatchNorm in train mode) goes backward, and the score sums
``|dL/dmask|`` (equal to ``|w * dL/dw|``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["snip"]


def snip(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    layers = list(weight_layers(model))
    masks = [torch.ones_like(layer.weight, requires_grad=True) for layer in layers]
    originals = [layer.weight for layer in layers]
    params = {}
    for layer, w, m in zip(layers, originals, masks):
        del layer.weight  # the parameter is re-set below; this copy is private to the proxy
        layer.weight = w.detach() * m
        params[layer] = w
    try:
        out = model(batch.x)
        check_output(out.detach())
        grads = torch.autograd.grad(F.cross_entropy(out, batch.y), masks, allow_unused=True)
    finally:
        for layer, w in params.items():
            del layer.weight
            layer.weight = w
    total = torch.zeros((), device=batch.x.device, dtype=batch.x.dtype)
    for g in grads:
        if g is not None:
            total += g.abs().sum()
    return float(total.item())
