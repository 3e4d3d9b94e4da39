"""GenNAS (Li, Hao, Li, Xiong & Chen, "Generic Neural Architecture Search via Regression",
NeurIPS 2021, Sec. 3; leeyeehoo/GenNAS): regression on synthetic signals as a proxy.

The network is used as a fully convolutional feature extractor (classifier removed): the outputs
of the last cell of each of its three stages are resized to the target size (nearest, as
``F.interpolate`` in the reference's ``NB201Wrapper``) and mapped by a per-stage head
``BatchNorm -> 1x1 conv (bias)`` to the target channels. Targets come from
:mod:`nasir.gennas_signals` (seeded numpy). Training (``builder_evaluator.py``, ``do_sample.py``
defaults): 100 SGD iterations on one batch of 16 images (fresh input noise each iteration),
lr 0.1, momentum 0.9, weight decay 4e-5 on conv/linear weights only (``get_parameters``), loss
``sum_s w_s MSE_s`` with ``w = (0.25, 0.5, 1)``, PyTorch default init; every 10 iterations the
loss is evaluated in eval mode. Score: the negated last evaluated loss (GenNAS ranks by
``losses[-1]``, lower is better). Deviation: the reference input pipeline also flips images at
random; the proxy batch is not augmented. Targets, task lookup, stage ends and the schedule check
are framework-free (:mod:`nasir.gennas_signals`), shared with the TensorFlow frontend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasir.errors import InvalidArchError
from nasir.gennas_signals import STAGES, Task, check_schedule, get_task, input_noise, stage_blocks, targets
from nasir.ir import Network
from nasir.proxies import forwards_options
from nasir.proxy_math import check_gennas_options
from nasir.frontends.torch.modules import NetworkModule
from nasir.frontends.torch.proxies._common import Batch, Subject

__all__ = ["gennas", "gennas_losses", "stage_blocks"]


def _hook_stages(network: Network, model: NetworkModule) -> tuple[list[str], dict[str, torch.Tensor], list]:
    """Forward hooks that keep the latest output of each stage-end block (the head's output is unused)."""
    names = stage_blocks(network)
    feats: dict[str, torch.Tensor] = {}
    modules = dict(zip((b.name for b in network.blocks), model.blocks.values()))  # same order by construction
    handles = [modules[n].register_forward_hook(lambda m, i, o, n=n: feats.__setitem__(n, o)) for n in names]
    return names, feats, handles


def _heads(channels: list[int], task: Task, seed: int, device: torch.device, dtype: torch.dtype = torch.float32) -> nn.ModuleList:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        heads = nn.ModuleList(nn.Sequential(nn.BatchNorm2d(c), nn.Conv2d(c, t, 1)) for c, t in zip(channels, task.channels))
    return heads.to(device, dtype)  # float64: the float32 draws widened, as the network's weights


def _param_groups(modules: list[nn.Module], weight_decay: float) -> list[dict]:
    """``get_parameters``: decay on multi-dimensional weights, none on biases and BN parameters."""
    named = [(n, p) for m in modules for n, p in m.named_parameters()]
    decay = [p for n, p in named if "weight" in n and p.dim() > 1]
    rest = [p for n, p in named if not ("weight" in n and p.dim() > 1)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def gennas_losses(subject: Subject, batch: Batch, *, task: str | Task = "single", iterations: int = 100,
                  eval_interval: int = 10, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 4e-5,
                  stage_weights: tuple[float, float, float] = (0.25, 0.5, 1.0)) -> list[float]:
    """The eval-mode regression losses recorded every ``eval_interval`` iterations."""
    if subject.network is None or not isinstance(subject.model, NetworkModule):
        raise InvalidArchError("gennas reads the stage outputs of a nasir Network; score a Network (or its lowered module)")
    check_gennas_options(iterations, eval_interval, lr, momentum, weight_decay, stage_weights, STAGES)
    check_schedule(iterations, eval_interval)
    task = get_task(task)
    model = subject.model
    names, feats, handles = _hook_stages(subject.network, model)
    shapes = subject.network.block_shapes()
    heads = _heads([shapes[n][0] for n in names], task, subject.seed, batch.x.device, batch.x.dtype)
    rng = np.random.default_rng((subject.seed, 2021))
    goal = [torch.as_tensor(t).to(batch.x) for t in targets(task, batch.x.cpu().numpy(), rng)]
    optimizer = torch.optim.SGD(_param_groups([model, heads], weight_decay), lr=lr, momentum=momentum)

    def loss_now() -> torch.Tensor:
        noise = input_noise(task, tuple(batch.x.shape), rng)
        model(batch.x if noise is None else batch.x + torch.as_tensor(noise).to(batch.x))
        outs = [h(F.interpolate(feats[n], (task.size, task.size))) for h, n in zip(heads, names)]
        return sum(w * F.mse_loss(o, t) for w, o, t in zip(stage_weights, outs, goal) if w)

    losses: list[torch.Tensor] = []  # kept on the device: one host sync at the end, not one per evaluation
    try:
        for it in range(1, iterations + 1):
            model.train()
            heads.train()
            loss = loss_now()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if it % eval_interval == 0:
                model.eval()
                heads.eval()
                with torch.no_grad():
                    losses.append(loss_now())
    finally:
        for h in handles:
            h.remove()
    return torch.stack(losses).tolist()


@forwards_options(gennas_losses)
def gennas(subject: Subject, batch: Batch, **options: Any) -> float:
    """Negated final evaluated regression loss (higher is better); NaN becomes ``-inf`` upstream."""
    return -gennas_losses(subject, batch, **options)[-1]
