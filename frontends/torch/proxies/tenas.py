"""TE-NAS trainability (Chen, Gong & Wang, ICLR 2021, Sec. 3.1.1): NTK condition number.

The empirical NTK ``Theta = J J^T`` over one batch, with ``J[i]`` the gradient of ``sum(logits_i)``
w.r.t. every parameter whose name contains ``weight`` (TE-NAS ``ntk.py``: conv, linear and BN
weights), BatchNorm in train mode, the whole batch in one forward. The score is
``-lambda_max / lambda_min`` (TE-NAS ranks lower condition numbers as better; a NaN ratio becomes
1e5 as in its code). Default: one ``retain_graph`` backward per sample, as the reference;
``batched=True`` gets all rows of ``J`` from one vmapped backward (``is_grads_batched``), which a
test checks gives the same score; on CPU it is slower than the loop (vmapped conv backward), so it is
opt-in, meant for GPUs.
"""

from __future__ import annotations

import torch

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["ntk_cond"]


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p for name, p in model.named_parameters() if "weight" in name and p.requires_grad]


def _cond(rows: list[torch.Tensor]) -> float:
    j = torch.stack(rows).double()
    eig = torch.linalg.eigvalsh(j @ j.T)
    return -proxy_math.condition_number(eig.cpu().numpy())


def _flat(grads: tuple[torch.Tensor | None, ...], weights: list[torch.Tensor], index: int | None = None) -> torch.Tensor:
    parts = []
    for g, w in zip(grads, weights):
        if g is None:
            continue
        parts.append((g if index is None else g[index]).reshape(-1))
    return torch.cat(parts)


def ntk_cond(subject: Subject, batch: Batch, *, batched: bool = False) -> float:
    return _batched(subject, batch) if batched else _loop(subject, batch)


def _batched(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    weights = _weights(model)
    logits = model(batch.x)
    check_output(logits.detach())
    n = logits.shape[0]
    eye = torch.eye(n, device=logits.device, dtype=logits.dtype)[:, :, None].expand(n, n, logits.shape[1])
    grads = torch.autograd.grad(logits, weights, grad_outputs=eye, is_grads_batched=True, allow_unused=True)
    return _cond([_flat(grads, weights, i) for i in range(n)])


def _loop(subject: Subject, batch: Batch) -> float:
    model = subject.model.train()
    weights = _weights(model)
    logits = model(batch.x)
    check_output(logits.detach())
    rows = []
    for i in range(logits.shape[0]):
        grads = torch.autograd.grad(logits[i:i + 1].sum(), weights, retain_graph=True, allow_unused=True)
        rows.append(_flat(grads, weights))
    return _cond(rows)
