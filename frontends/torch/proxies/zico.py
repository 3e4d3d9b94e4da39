"""ZiCo (Li et al., ICLR 2023, Eq. 4-5; SLDGroup/ZiCo ``getzico``): inverse coefficient of variation of gradients.

The batch is split into two mini-batches; each gives the cross-entropy gradient of every conv and
linear weight (``zero_grad`` between them, BatchNorm in train mode). Per layer, over the weights
whose gradient varies between mini-batches, ``log(sum mean|g| / std(g))`` (population std, as
``np.std``); the score sums the layers (a layer whose sum is 0 is skipped, as in the reference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["zico"]


def zico(subject: Subject, batch: Batch, *, splits: int = 2) -> float:
    n = batch.x.shape[0]
    proxy_math.check_int("zico", "splits", splits, low=2, high=n)  # a std over >= 2 non-empty mini-batches
    model = subject.model.train()
    layers = list(weight_layers(model))
    grads: list[list[torch.Tensor]] = [[] for _ in layers]
    for sp in range(splits):
        lo, hi = sp * n // splits, (sp + 1) * n // splits
        model.zero_grad()
        out = model(batch.x[lo:hi])
        check_output(out.detach())
        F.cross_entropy(out, batch.y[lo:hi]).backward()
        for i, layer in enumerate(layers):
            if layer.weight.grad is not None:
                grads[i].append(layer.weight.grad.detach().reshape(-1).double().clone())
    return proxy_math.zico_score([torch.stack(g).cpu().numpy() for g in grads if len(g) == splits])
