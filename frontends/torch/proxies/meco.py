"""MeCo (Jiang et al., NeurIPS 2023, Eq. 5-6): sum of minimum eigenvalues of feature correlations.

A forward hook on every module takes the first sample's output ``(C, ...)``, reshapes it to
``(C, positions)``, forms the channel Pearson correlation matrix (NaN/inf zeroed) and keeps its
smallest eigenvalue; the score is the sum over modules (NaN terms dropped), as in the authors'
``meco.py``. Input: one Gaussian image at the network's input shape (the authors' code draws one
``randn`` image; our modules check the input shape, so it is not resized to 64x64). Deviation:
the hooked module tree is nasir's (one module per IR node) rather than the official TinyNetwork's,
so some feature maps are counted a different number of times. The closing formula is
:func:`nasir.proxy_math.meco_score`.

A train-mode BatchNorm that sees one value per channel (e.g. ``BatchNorm1d`` after a pooled
vector, on MeCo's single image) outputs its shift whatever its input, and torch refuses to run it:
the network is scored ``-inf`` as a degenerate one (:func:`single_value_bn_guard`), with a
:class:`~nasir.proxy_math.ProxyWarning` naming the BatchNorm, not an exception
(:func:`~nasir.frontends.torch.proxies._guard.single_value_bn_guard`).
"""

from __future__ import annotations

import torch
from torch import nn

from nasir import proxy_math
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks, input_shape, model_dtype
from nasir.frontends.torch.proxies._guard import single_value_bn_guard

__all__ = ["meco"]


def meco(subject: Subject, batch: Batch | None = None) -> float:
    """MeCo of one Gaussian image drawn from the subject's seed, at the batch's image shape (or the network's without data)."""
    model = subject.model.train()
    gen = torch.Generator().manual_seed(subject.seed)
    shape = tuple(batch.x.shape[1:]) if batch is not None else input_shape(subject)
    # float64: the float32 draw widened
    x = torch.randn((1, *shape), generator=gen).to(subject.device, model_dtype(model))
    features: list[torch.Tensor] = []  # kept on the device: read back after the pass, not one sync per module

    def hook(module: nn.Module, inputs, output) -> None:
        if isinstance(output, torch.Tensor) and output.dim() >= 2:
            features.append(output[0].detach().to(torch.float64, copy=True))  # a copy: later in-place ops cannot reach it

    with single_value_bn_guard(model), forward_hooks(model.modules(), hook), torch.no_grad():
        model(x)
    return proxy_math.meco_score([f.cpu().numpy() for f in features])
