"""NASWOT (Mellor et al., ICML 2021, Sec. 3): log-determinant of the ReLU activation-code kernel.

Every ``nn.ReLU`` input is binarised (``> 0``); for each pair of images the kernel counts units
with equal codes, ``K = N_A - d_H``, summed over ReLUs; the score is ``log|K|`` (``slogdet``).
The reference (BayesWatch/nas-without-training, ``score_networks.py``) runs a batch of 128 with
BatchNorm in train mode. Its first forward/backward pass only marks ReLUs that get gradients; in a
network whose every ReLU feeds the output (all NB201 cells: ``none`` is ``x * 0``, which keeps the
graph) that mark is always set, so it is skipped here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks, relu_modules
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["naswot", "naswot_plain"]


def naswot(subject: Subject, batch: Batch) -> float:
    """Fast path: the kernel is accumulated on the device with one matmul per ReLU,
    ``K = 2 c c^T - s_i - s_j + D`` (equal to ``c c^T + (1-c)(1-c)^T``; integer-exact)."""
    model = subject.model.train()
    n = batch.x.shape[0]
    k = torch.zeros((n, n), dtype=torch.float64, device=batch.x.device)

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        c = (inputs[0].detach().reshape(n, -1) > 0).float()
        s = c.sum(1, dtype=torch.float64)
        k.add_(2.0 * (c @ c.T).double() - s[:, None] - s[None, :] + c.shape[1])

    with forward_hooks(relu_modules(model), hook), torch.no_grad():
        out = model(batch.x)
    check_output(out)
    return proxy_math.logdet_psd(k.cpu().numpy())


def naswot_plain(subject: Subject, batch: Batch) -> float:
    """The definition as written: codes to numpy, ``c c^T + (1-c)(1-c)^T`` per ReLU."""
    model = subject.model.train()
    n = batch.x.shape[0]
    k = np.zeros((n, n))

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal k
        k = k + proxy_math.hamming_kernel([(inputs[0].detach().reshape(n, -1) > 0).cpu().numpy()])

    with forward_hooks(relu_modules(model), hook), torch.no_grad():
        out = model(batch.x)
    check_output(out)
    return proxy_math.logdet_psd(k)

