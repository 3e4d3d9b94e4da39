"""synflow (Tanaka et al., NeurIPS 2020) as the zero-cost-nas NAS proxy (Abdelfattah et al. 2021, Sec. 3).

Every parameter and buffer is replaced by its absolute value, the model is cast to float64, one
all-ones image goes forward, ``sum(output)`` goes backward, and the score sums
``|w * dR/dw|`` over conv and linear weights (zero-cost-nas ``synflow.py``).

BatchNorm (checked in the code, not only the paper): zero-cost-nas registers synflow with
``bn=False``, which rebuilds its NB201 model *without* BN in the stem, cells and head, but its
``reduction`` (ResNet) blocks always keep BN, in train mode (``get_prunable_copy`` calls
``train()``); ``bn="zc-nas"`` (default) reproduces that on an IR network by keeping BN only in
blocks of kind ``reduction``. NASLib's copy instead turns *every* BN into the identity:
``bn="identity"``. ``bn="train"`` keeps all BN (zero-cost-nas's ``synflow_bn``).
"""

from __future__ import annotations

import torch
from torch import nn

from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers

__all__ = ["synflow", "BN_MODES"]

BN_MODES = ("zc-nas", "identity", "train")


def _drop_bn(module: nn.Module, keep: set[int]) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and id(child) not in keep:
            setattr(module, name, nn.Identity())
        else:
            _drop_bn(child, keep)


def _kept_bn(subject: Subject, model: nn.Module, bn: str) -> set[int]:
    if bn == "train":
        return {id(m) for m in model.modules()}
    if bn == "identity" or subject.network is None or not hasattr(model, "blocks"):
        return set()
    kept: set[int] = set()
    for block, module in zip(subject.network.blocks, model.blocks.values()):
        if block.kind == "reduction":
            kept |= {id(m) for m in module.modules()}
    return kept


def synflow(subject: Subject, batch: Batch | None = None, *, bn: str = "zc-nas") -> float:
    if bn not in BN_MODES:
        raise ValueError(f"synflow bn must be one of {BN_MODES}, got {bn!r}")
    model = subject.model  # private to this call (score_network copies per pass): rewritten in place
    _drop_bn(model, _kept_bn(subject, model, bn))
    model = model.double().train()
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    model.zero_grad()
    shape = batch.x.shape[1:] if batch is not None else _input_shape(subject)
    out = model(torch.ones((1, *shape), dtype=torch.float64, device=subject.device))
    torch.sum(out).backward()
    total = torch.zeros((), dtype=torch.float64, device=subject.device)
    for layer in weight_layers(model):
        if layer.weight.grad is not None:
            total += (layer.weight * layer.weight.grad).abs().sum()
    return float(total.item())


def _input_shape(subject: Subject) -> tuple[int, ...]:
    from nasir.frontends.torch.proxies._common import input_shape

    shape = input_shape(subject)
    if shape is None:
        raise ValueError("synflow on a bare module needs data (for the input shape) or a module with input_shapes")
    return shape
