"""AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
CVPR 2024; cvlab-yonsei/AZ-NAS): expressivity, progressivity and trainability from one pass.

Reference (``NB201/ZeroShotProxy/compute_az_nas_score.py`` with ``NB201/custom/tss_model.py``
``extract_cell_features``, driven by ``NB201/tss_general.ipynb``):

- weights re-initialised with Kaiming normal (fan_in, ReLU gain) on conv/linear weights, zero
  biases, BatchNorm/GroupNorm weight 1 and bias 0 (``init_method='kaiming_norm_fanin'``);
- input: one batch of 64 N(0, 1) images at the network's resolution (AZ-NAS is not one of the
  notebook's ``real_input_metrics``), BatchNorm in train mode, float32;
- features: the stem's output and every cell's output, reduction blocks included (NB201: 1 + 17);
- expressivity: per feature map, the entropy of the normalised eigenvalues of its channel
  covariance over batch x positions (:func:`nasir.proxy_math.spectral_entropy`), summed;
  progressivity: the smallest increase of that entropy between consecutive features;
- trainability: from the last block to the first, a Rademacher ``g_out`` at the block's output is
  backpropagated to its input, the input gradient is pixel-unshuffled to the output resolution,
  ``M = g_in^T g_out / positions`` and the term ``2 - s - 1/(s + 1e-6)`` with ``s = sigma_max(M)``
  (:func:`nasir.proxy_math.jacobian_norm_score`); a block whose input gradient equals ``g_out``
  exactly (an identity block) scores ``-inf``; the score is the mean over blocks;
- complexity is the FLOPs of the ``flops`` proxy; the four are combined by
  :func:`nasir.proxy_ensembles.rank_ensemble` with ``method="log"`` (sum of ``log(rank / n)``).

Blocks of a general :class:`~nasir.ir.Network`: every IR block except those of kind ``head``, in
network order (for NB201 exactly the reference's stem + cells, for NB101 stem + cells + max-pool
downsamples, for DARTS stem + cells). Progressivity compares consecutive blocks in that order; a
block's trainability Jacobian is taken with respect to its latest input that is itself a scored
block (NB201/NB101: the previous block, as in the reference; DARTS: the previous cell).

Deviations: the covariance and spectra are computed in float64 (the reference: float32 on GPU), and
round-off negative eigenvalues are clamped to 0 where the reference's ``log(p + 1e-8)`` would give
NaN (and rank the architecture last); random draws come from a private generator seeded by
``seed`` (the reference consumes one global RNG stream across architectures); conv layers of any
dimension are re-initialised (the reference: ``Conv2d`` and ``Linear``); a spatial size ratio that
is not one integer factor raises :class:`~nasir.errors.InvalidArchError` (the reference would fail
in ``torch.mm``), and an output larger than its input is unshuffled on the output side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasir import proxy_math
from nasir.proxies import fused_member
from nasir.proxy_math import feature_blocks, jacobian_pairs
from nasir.errors import InvalidArchError
from nasir.frontends.torch.modules import NetworkModule, lower
from nasir.frontends.torch.weights import export_weights
from nasir.ir import Network
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks, model_dtype, normal_reinit
from nasir.frontends.torch.proxies._guard import check_output

__all__ = ["FUSED", "BATCH_SIZE", "draws", "feature_blocks", "jacobian_pairs", "az_scores", "az_expressivity",
           "az_progressivity", "az_trainability"]

FUSED, BATCH_SIZE, INITS = proxy_math.AZ_TERMS, proxy_math.AZ_BATCH_SIZE, proxy_math.AZ_INITS
def _kaiming_init(model: nn.Module, gen: torch.Generator) -> None:
    """The reference's ``kaiming_norm_fanin`` init: std sqrt(2 / fan_in), the ReLU gain."""
    normal_reinit(model, gen, lambda w: math.sqrt(2.0 / w[0].numel()))


def draws(network: Network, seed: int, *, init: str = "kaiming", batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """What :func:`az_scores` draws from its generator for ``seed``, in its order, as numpy arrays: the
    Kaiming weights (neutral layout, ``init="kaiming"`` only), the N(0, 1) input (NCHW) and each block
    pair's Rademacher ``g_out``, last block first. The TF frontend takes them as the options
    ``weights``, ``x`` and ``signs`` (with ``init``) to score the same thing."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {"init": init}
    if init == "kaiming":
        module = lower(network, seed=seed)
        _kaiming_init(module, gen)
        out["weights"] = export_weights(module)
    x = torch.randn((batch_size, *network.input_shape), generator=gen)
    shapes = network.block_shapes()
    out["signs"] = [(torch.randint(0, 2, (batch_size, *shapes[dst]), generator=gen) * 2 - 1).numpy()
                    for _, dst in reversed(jacobian_pairs(network))]
    out["x"] = x.numpy()
    return out


def _channel_cov(feat: torch.Tensor) -> torch.Tensor:
    """Covariance of the channels over batch and positions (float64, on the feature's device), as ``(C, C)``."""
    f = feat.detach().movedim(1, -1).reshape(-1, feat.shape[1]).double()
    f = f - f.mean(dim=0, keepdim=True)
    return f.T @ f / f.shape[0]


def _same_positions(g_in: torch.Tensor, g_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-unshuffles the higher-resolution gradient so both cover the same positions (reference: stride-2 blocks)."""
    if g_in.shape[2:] == g_out.shape[2:]:
        return g_in, g_out
    down = g_in.shape[2:].numel() > g_out.shape[2:].numel()
    big, small = (g_in, g_out) if down else (g_out, g_in)
    factor = big.shape[2] // small.shape[2] if big.dim() == 4 and small.shape[2] else 0
    if not factor or tuple(s * factor for s in small.shape[2:]) != tuple(big.shape[2:]):
        raise InvalidArchError(f"AZ-NAS trainability pairs positions by one integer down-sampling factor; got block "
                               f"input {tuple(g_in.shape[1:])} and output {tuple(g_out.shape[1:])}")
    big = F.pixel_unshuffle(big, factor)
    return (big, small) if down else (small, big)


def _trainability(pairs: list[tuple[str, str]], feats: dict[str, torch.Tensor], gen: torch.Generator) -> float:
    """Mean block term; a block whose output does not depend on its input block has a zero Jacobian (about -1e6).

    An identity block (input gradient equal to the output's) scores -inf. The per-block matrices and
    identity flags stay on the device until every block is done: one read-back, not two per block.
    """
    blocks: list[tuple[torch.Tensor, torch.Tensor]] = []
    for src, dst in reversed(pairs):  # last block first, as the reference draws its Rademacher vectors
        f_in, f_out = feats[src], feats[dst]
        g_out = torch.randint(0, 2, f_out.shape, generator=gen).to(f_out) * 2 - 1
        (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
        g_in = torch.zeros_like(f_in) if g_in is None else g_in
        identity = (g_in == g_out).all() if g_in.shape == g_out.shape else torch.zeros((), dtype=torch.bool)
        a, b = _same_positions(g_in, g_out)
        a = a.movedim(1, -1).reshape(-1, a.shape[1]).double()
        b = b.movedim(1, -1).reshape(-1, b.shape[1]).double()
        blocks.append((identity, a.T @ b / b.shape[0]))
    scores = [-math.inf if bool(flag) else proxy_math.jacobian_norm_score(m.cpu().numpy()) for flag, m in blocks]
    return float(np.mean(scores))


def az_scores(subject: Subject, batch: Batch | None = None, names: Iterable[str] = FUSED, *,
              batch_size: int = BATCH_SIZE, init: str = "kaiming") -> dict[str, float]:
    """The AZ-NAS terms in ``names`` (a subset of :data:`FUSED`) from one forward pass.

    ``batch`` is unused: AZ-NAS feeds Gaussian noise. ``init="default"`` keeps the lowered
    module's weights (PyTorch default init) instead of the reference's Kaiming re-initialisation.
    Raw values may be NaN/-inf; the caller's guard turns them into ``-inf`` with a warning.
    """
    names = proxy_math.az_terms_asked(names, init)
    network, model = subject.network, subject.model
    if network is None or not isinstance(model, NetworkModule):
        raise InvalidArchError("AZ-NAS scores the block outputs of a nasir Network; score a Network (or its lowered module)")
    blocks = feature_blocks(network)
    gen = torch.Generator().manual_seed(subject.seed)
    if init == "kaiming":
        _kaiming_init(model, gen)
    x = torch.randn((batch_size, *network.input_shape), generator=gen).to(subject.device, model_dtype(model))
    grads = "az_trainability" in names
    feats: dict[str, torch.Tensor] = {}
    modules = dict(zip((b.name for b in network.blocks), model.blocks.values()))  # same order by construction
    by_module = {modules[n]: n for n in blocks}
    with forward_hooks(by_module, lambda m, i, o: feats.__setitem__(by_module[m], o)), torch.set_grad_enabled(grads):
        out = model.train()(x.requires_grad_(grads))
    check_output(out.detach())
    scores: dict[str, float] = {}
    if names & {"az_expressivity", "az_progressivity"}:
        covs = [_channel_cov(feats[n]) for n in blocks]  # all queued before the first read-back
        scores |= proxy_math.az_entropy_terms([proxy_math.spectral_entropy(c.cpu().numpy()) for c in covs])
    if grads:
        scores["az_trainability"] = _trainability(jacobian_pairs(network), feats, gen)
    return {n: scores[n] for n in names}


# expressivity: sum of the blocks' spectrum entropies; progressivity: their smallest increase; trainability:
# mean block term 2 - s - 1/s (0 best). Higher is better for all three.
az_expressivity, az_progressivity, az_trainability = (fused_member(az_scores, n) for n in sorted(FUSED))
