"""HNAS's unified gradient metric (Shu, Dai, Wu & Low, "Unifying and Boosting Gradient-Based
Training-Free Neural Architecture Search", NeurIPS 2022; shuyao95/HNAS): the NTK trace norm.

The paper shows that gradient-based training-free metrics (grad_norm, SNIP, GraSP) are all
bounded by the trace norm of the empirical NTK at initialisation, ``Theta = J J^T`` with
``J[i] = d f(x_i) / d theta``, and uses ``M_trace = sqrt(||Theta||_tr / m)``
``= sqrt(sum_i ||d f(x_i)/d theta||^2 / m)`` over a batch of ``m`` samples (higher is better: its
NAS-Bench-201 search ranks architectures by ``1 / M_trace``, ascending). As its
``darts_space/search.py``: ``f(x_i)`` is the logit of the true class, the parameters are those of
the conv and linear layers (weights and biases: the layers ``autograd_hacks`` handles), batch of 64
(``--metric_batch_size``, and ``--batch_size 64`` in ``nasbench2_pred.py``), PyTorch default init,
BatchNorm in train mode. Difference: each ``J[i]`` here is the exact gradient of ``f(x_i)`` through
the batch-statistics forward (one backward per sample, as TE-NAS's NTK); the reference's
``autograd_hacks`` takes each sample's share of the summed gradient, which differs when
BatchNorm couples the samples.
"""

from __future__ import annotations

import torch
from torch import nn

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["ntk_trace", "layer_params"]


def layer_params(model: nn.Module) -> list[torch.Tensor]:
    """Weights and biases of every Conv2d and Linear layer (``autograd_hacks``' supported layers)."""
    return [p for m in weight_layers(model) for p in (m.weight, m.bias) if p is not None and p.requires_grad]


def ntk_trace(subject: Subject, batch: Batch) -> float:
    """``sqrt(sum_i ||d logit_{y_i}(x_i) / d theta||^2 / m)`` over the batch."""
    model = subject.model.train()
    params = layer_params(model)
    logits = model(batch.x)
    check_output(logits.detach())
    picked = logits.gather(1, batch.y[:, None]).squeeze(1)
    sq_norms = []  # float64 tensors on the device, summed in the same order as before: one read-back at the end
    for i in range(len(picked)):
        grads = torch.autograd.grad(picked[i], params, retain_graph=i + 1 < len(picked), allow_unused=True)
        total = torch.zeros((), dtype=torch.float64, device=picked.device)
        for g in grads:
            if g is not None:
                total = total + g.double().pow(2).sum()
        sq_norms.append(total)
    return proxy_math.ntk_trace_norm(torch.stack(sq_norms).tolist())
