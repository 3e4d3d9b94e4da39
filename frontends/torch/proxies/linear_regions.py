"""TE-NAS expressivity (Chen, Gong & Wang, ICLR 2021, Sec. 3.1.2): the number of linear regions.

A ReLU network is piecewise linear; each distinct on/off pattern of its ReLUs over the inputs
marks one linear region. TE-NAS (VITA-Group/TENAS ``linear_region_counter.py`` and
``prune_tenas.py``) counts the distinct patterns over 3,000 inputs on a *thin* copy of the
architecture, because on the full network every input falls in its own region and the count
saturates:

- thin network (``model_config_thin``: C=1, N=1, depth 1, no stem): the first cell at one channel,
  then the head (BN -> ReLU -> global pool -> classifier), BatchNorm in train mode;
- inputs: 3x3 crops of one random channel of normalised training images
  (``RandomCrop(3)`` + ``RandChannel(1)``), three forward passes of 1,000 crops (so BatchNorm
  sees batches of 1,000), patterns of every ReLU whose input is 4-D (``sign`` of its output);
- score: distinct patterns among the 3,000 codes (TE-NAS's ``calc_LR`` sums the reciprocal
  multiplicities, which is the same number), averaged over 3 repeats (``--repeat 3``).

Weights: PyTorch default init from the seed, shared by the repeats. ``prune_launch.py`` passes
``init='kaiming_normal'``, which ``init_model`` (it matches ``'kaiming_norm_fanin'``) ignores, so
the reference also keeps PyTorch's default init and changes only the crops between repeats.
Deviations: the crops come from the proxy batch's images (several crops per image when the batch
holds fewer than 1,000 images; TE-NAS's loader takes one crop from each of 3,000 images); the
thin network is the discrete cell, whereas TE-NAS's supernet also hooks the ReLUs of ops whose
weight is zero. The thin network, the crops and the count are framework-free
(:mod:`nasir.proxy_math`), shared with the TensorFlow frontend.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasir.errors import InvalidArchError
from nasir.frontends.torch.modules import lower
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks
from nasir.proxy_math import check_region_options, count_patterns, one_channel_crops, thin_network

__all__ = ["linear_regions", "thin_network", "count_patterns", "relu_codes"]


def relu_codes(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``(batch, units)`` bool: which ReLU outputs are positive, over every ReLU with 4-D input."""
    parts: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            parts.append(output.detach().reshape(len(x), -1) > 0)

    with forward_hooks((m for m in model.modules() if isinstance(m, nn.ReLU)), hook), torch.no_grad():
        model(x)
    return torch.cat(parts, dim=1) if parts else torch.zeros((len(x), 0), dtype=torch.bool, device=x.device)


def linear_regions(subject: Subject, batch: Batch, *, samples: int = 1000, passes: int = 3, repeats: int = 3,
                   crop: int = 3) -> float:
    """Mean number of distinct ReLU patterns of TE-NAS's thin network over ``passes x samples`` crops."""
    if subject.network is None:
        raise InvalidArchError("linear_regions builds TE-NAS's thin network from the IR; score a nasir Network "
                               "(or a module lowered from one), not a bare torch module")
    check_region_options(samples, passes, repeats, crop, batch.x.shape[2:])
    model = lower(thin_network(subject.network, crop=crop), seed=subject.seed, device=subject.device).to(batch.x.dtype).train()
    rng = np.random.default_rng((subject.seed, 2021))
    images = batch.x.cpu().numpy()
    counts = []
    for _ in range(repeats):
        crops = [torch.as_tensor(one_channel_crops(images, samples, crop, rng)).to(batch.x) for _ in range(passes)]
        codes = torch.cat([relu_codes(model, x) for x in crops])
        counts.append(count_patterns(codes.cpu().numpy()))
    return float(np.mean(counts))
