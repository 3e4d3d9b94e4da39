"""SWAP (Peng et al., ICLR 2024, Sec. 3): the number of distinct sample-wise activation patterns.

Every ``nn.ReLU`` with a 4-d input contributes its output units; a unit's *sample-wise pattern* is
the vector of its signs over the batch (``sign(relu(x))``, so 0/1). The SWAP score is how many
distinct patterns the units of the whole network show, averaged over 32 re-initialisations: conv
and linear weights N(0, 1), biases 0, BatchNorm weight 1 / bias 0 (``network_weight_gaussian_init``),
BatchNorm in train mode, one batch of 16 training images, not augmented (pym1024/SWAP,
``correlation.py``). The paper's *regularised* score multiplies by ``exp(-(P - mu)^2 / sigma)``, P the
parameters in thousands; ``mu`` and ``sigma`` are tuned per space and are options here.

The fast path packs each unit's pattern into the bits of one integer and marks it in a table of
``2**batch`` slots, so no activation matrix is kept; :func:`swap_plain` is the definition as the
reference computes it (``unique`` over the rows of the transposed sign matrix), for the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nasir import proxy_math
from nasir.frontends.torch.modules import lower
from nasir.frontends.torch.proxies._common import Batch, Subject, forward_hooks, normal_reinit, relu_modules
from nasir.frontends.torch.proxies._guard import check_output
from nasir.frontends.torch.weights import export_weights
from nasir.ir import Network

__all__ = ["swap", "swap_plain", "draws", "REPEATS"]

REPEATS = 32
_MAX_TABLE_BITS = 24  # batches up to 24 images count patterns in a table; larger ones take the plain path


def _gaussian_init(model: nn.Module, gen: torch.Generator) -> None:
    """The reference's ``network_weight_gaussian_init``: conv/linear weights N(0, 1)."""
    normal_reinit(model, gen, lambda w: 1.0)


def draws(network: Network, seed: int, *, repeats: int = REPEATS) -> list[dict[str, np.ndarray]]:
    """The weights :func:`swap` draws for ``seed``, one neutral weight dict per repeat: the TF frontend
    takes them as its ``weights`` option to score the same networks."""
    module = lower(network, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(repeats):
        _gaussian_init(module, gen)
        out.append(export_weights(module))
    return out



def _score(subject: Subject, batch: Batch, count: Callable[[nn.Module, torch.Tensor], int], repeats: int,
           mu: float | None, sigma: float | None) -> float:
    proxy_math.check_swap_options(repeats, mu, sigma)
    model = subject.model.train()
    gen = torch.Generator().manual_seed(subject.seed)
    counts = []
    for _ in range(repeats):
        _gaussian_init(model, gen)
        counts.append(count(model, batch.x))
    return sum(counts) / len(counts) * proxy_math.swap_regular_factor(sum(p.numel() for p in model.parameters()), mu, sigma)


def _count_packed(model: nn.Module, x: torch.Tensor) -> int:
    n = x.shape[0]
    if n > _MAX_TABLE_BITS:
        return _count_plain(model, x)
    weights = 2 ** torch.arange(n, device=x.device, dtype=torch.int64)
    seen = torch.zeros(2**n, dtype=torch.bool, device=x.device)  # one slot per possible pattern

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            seen[((output.detach().reshape(n, -1) > 0).long() * weights[:, None]).sum(0)] = True

    with forward_hooks(relu_modules(model), hook), torch.no_grad():
        check_output(model(x))
    return int(seen.sum().item())


def _count_plain(model: nn.Module, x: torch.Tensor) -> int:
    n = x.shape[0]
    outputs: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            outputs.append(output.detach().reshape(n, -1))

    with forward_hooks(relu_modules(model), hook), torch.no_grad():
        check_output(model(x))
    if not outputs:
        return 0
    return int(torch.unique(torch.sign(torch.cat(outputs, 1)).T, dim=0).shape[0])


def swap(subject: Subject, batch: Batch, *, repeats: int = REPEATS, mu: float | None = None,
         sigma: float | None = None) -> float:
    """Mean number of distinct sample-wise patterns over ``repeats`` Gaussian inits (times the
    regularisation factor when ``mu`` and ``sigma`` are given)."""
    return _score(subject, batch, _count_packed, repeats, mu, sigma)


def swap_plain(subject: Subject, batch: Batch, *, repeats: int = REPEATS, mu: float | None = None,
               sigma: float | None = None) -> float:
    """The same from the full sign matrix, as the reference computes it."""
    return _score(subject, batch, _count_plain, repeats, mu, sigma)
