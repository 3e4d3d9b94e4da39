"""synflow (Tanaka et al., NeurIPS 2020) as the zero-cost-nas NAS proxy (Abdelfattah et al. 2021, Sec. 3).

Every parameter and buffer is replaced by its absolute value, the model is cast to float64, one
all-ones image goes forward, ``sum(output)`` goes backward, and the score sums
``|w * dR/dw|`` over conv and linear weights (zero-cost-nas ``synflow.py``).

BatchNorm (checked in the code, not only the paper): zero-cost-nas registers synflow with
``bn=False``, which rebuilds its NB201 model *without* BN in the stem, cells and head, but its
ResNet reduction blocks (``ResNetBasicblock``, which takes no bn flag) always keep BN, in train
mode (``get_prunable_copy`` calls ``train()``); ``bn="zc-nas"`` (default) reproduces that on an IR
network by keeping BN only inside ``resnet_basic_block`` nodes
(:data:`~nasir.proxy_math.ZC_NAS_BN_OPS`). Every other BN is dropped, so a space whose reduction
blocks are searched cells (DARTS) is scored as with ``"identity"``: there a train-mode BN on one
all-ones image would normalise the signal away (a small DARTS network scored ~50 instead of ~3e7).
NASLib's copy turns *every* BN into the identity: ``bn="identity"``. ``bn="train"`` keeps all BN
(zero-cost-nas's ``synflow_bn``). A kept BN that sees one value per channel (over a pooled vector
of the one image) scores ``-inf``, as in meco
(:func:`~nasir.frontends.torch.proxies._guard.single_value_bn_guard`).
"""

from __future__ import annotations

import torch
from torch import nn

from nasir.errors import SchemaError
from nasir.frontends.torch.modules import NetworkModule
from nasir.frontends.torch.proxies._common import Batch, Subject, weight_layers
from nasir.frontends.torch.proxies._guard import single_value_bn_guard
from nasir.proxy_math import ZC_NAS_BN_OPS, check_choice

__all__ = ["synflow", "BN_MODES"]

BN_MODES = ("zc-nas", "identity", "train")


def _drop_bn(module: nn.Module, keep: set[int]) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and id(child) not in keep:
            setattr(module, name, nn.Identity())
        else:
            _drop_bn(child, keep)


def _kept_bn(model: nn.Module, bn: str) -> set[int]:
    """Ids of the modules whose BN stays: all (``train``), none (``identity``), or those inside the
    IR nodes whose op zero-cost-nas builds with BN whatever its flag (``zc-nas``)."""
    if bn == "train":
        return {id(m) for m in model.modules()}
    if bn == "identity" or not isinstance(model, NetworkModule):
        return set()
    kept: set[int] = set()
    for block in model.network.blocks:
        module = model.block_module(block.name)
        for node in block.arch.nodes:
            if block.arch.op(node) in ZC_NAS_BN_OPS:
                kept |= {id(m) for m in module.node_module(node).modules()}
    return kept


def synflow(subject: Subject, batch: Batch | None = None, *, bn: str = "zc-nas") -> float:
    check_choice("synflow", "bn", bn, BN_MODES)
    model = subject.model  # private to this call (score_network copies per pass): rewritten in place
    _drop_bn(model, _kept_bn(model, bn))
    model = model.double().train()
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    model.zero_grad()
    shape = batch.x.shape[1:] if batch is not None else _input_shape(subject)
    with single_value_bn_guard(model):  # a kept BN on a vector of the one image: -inf, as in meco
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
        raise SchemaError("synflow on a bare module needs data (for the input shape) or a module with input_shapes")
    return shape
