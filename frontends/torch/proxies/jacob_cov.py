"""jacob_cov (Mellor et al. 2020, arXiv:2006.04647 v1, Sec. 3), as run by zero-cost-nas.

The Jacobian of ``sum(f(x))`` with respect to each input image (one backward of ``ones`` through
the whole batch, BatchNorm in train mode as in zero-cost-nas ``jacob_cov.py``), flattened per
image; the score is ``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues of the images'
correlation matrix, ``k = 1e-5`` (:func:`nasir.proxy_math.jacob_cov_score`).
"""

from __future__ import annotations

import torch

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["jacob_cov"]


def jacob_cov(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    x = batch.x.clone().requires_grad_(True)
    y = model(x)
    check_output(y.detach())
    (jac,) = torch.autograd.grad(y, x, torch.ones_like(y))
    return proxy_math.jacob_cov_score(jac.reshape(len(jac), -1).double().cpu().numpy())
