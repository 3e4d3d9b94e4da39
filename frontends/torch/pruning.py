"""TE-NAS's two measurements for supernet pruning, in PyTorch.

``TENASMeasures(space, data)`` gives the callables that :func:`nasir.strategies.pruning.tenas_prune`
needs; each returns one relative change per repeat (the strategy rounds and averages them, as the
reference does). Settings follow VITA-Group/TENAS ``prune_launch.py`` for NAS-Bench-201:

- NTK: TE-NAS's search network (C = 3, one cell per stage), BatchNorm in train mode, a batch of 72
  augmented training images, 3 repeats. The pruned supernet receives the supernet's weights for
  every op it still has (the reference copies the parameters over), and both see the same batch.
- Linear regions: the thin 1-channel copy of each (:func:`nasir.proxy_math.thin_network`), the
  pruned one again with the supernet's thin weights, 3 passes of 1,000 one-channel 3x3 crops per
  repeat, counted together (``sample_batch=3``). The reference's supernet keeps a pruned op in the
  graph with weight zero, so the ReLU at the input of a pruned conv stays hooked: the counted units
  are always ``ReLU(x_j)`` of every cell node that feeds an edge, plus the head's ReLU, whichever
  ops remain. Here a pruned op leaves the graph, so those node signs are hooked explicitly.
- Initialisation: PyTorch's default. The launcher asks for ``kaiming_normal``, but its
  ``init_model`` only knows ``kaiming_norm_fanin``/``_fanout`` and leaves the weights as built,
  also on every "re-init" of a repeat; so the repeats share the weights and differ in their data.

One deliberate difference, by default: the reference draws a fresh batch (and fresh crops) for
every candidate, whereas here repeat ``r`` of a round uses the same batch and crops for every
candidate (common random numbers, ``common_draws=True``). Candidates of a round then differ only by
the op pruned: the batches and crops are drawn once per repeat, and the supernet is lowered, its
weights exported and its side of each delta measured once per round (and repeat) instead of once
per candidate (the same numbers, half the NTK cost). ``common_draws=False`` follows the reference:
each candidate's repeat draws its own batch and crops, and the supernet is measured on them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nasir.frontends.torch.modules import NetworkModule, lower
from nasir.frontends.torch.proxies import TORCH_PROXIES
from nasir.frontends.torch.proxies._common import Subject, forward_hooks, make_batch
from nasir.frontends.torch.proxies.linear_regions import relu_codes
from nasir.frontends.torch.weights import export_weights, import_weights
from nasir.ir import Arch
from nasir.proxy_math import count_patterns, one_channel_crops, thin_network

__all__ = ["TENASMeasures"]

NTK_BATCH = 72  # prune_launch.py, nas-bench-201
REGION_BATCH, REGION_SAMPLES, REGION_PASSES, CROP = 128, 1000, 3, 3  # Linear_Region_Collector(input_size=(1000, 1, 3, 3), sample_batch=3)


class TENASMeasures:
    """Relative changes of the NTK condition number and of the linear-region count when an op is pruned."""

    def __init__(self, space: Any, data: Any = None, *, skeleton: dict[str, Any] | None = None, repeats: int = 3,
                 batch_size: int = NTK_BATCH, seed: int = 0, device: str | None = None, common_draws: bool = True) -> None:
        if data is None:
            from nasir.data import load_sample

            data = load_sample()
        self.space, self.data, self.repeats, self.batch_size, self.seed = space, data, repeats, batch_size, seed
        self.device = torch.device(device or "cpu")
        self.skeleton = dict(skeleton) if skeleton is not None else {"channels": 3, "cells_per_stage": 1}
        self._round: dict[Any, Any] = {}  # the current supernet's weights and measures, per kind (and repeat)
        self._current: Arch | None = None
        self.common_draws = common_draws
        self._draws: dict[tuple[str, int], Any] = {}  # common draws, per kind and repeat: the NTK batch, or the crops
        self._candidates = {"ntk": 0, "regions": 0}  # candidates measured so far: numbers each one's fresh draws

    def ntk_delta(self, supernet: Arch, pruned: Arch) -> list[float]:
        """Per repeat (kappa_supernet - kappa_pruned) / kappa_supernet (higher: prune this op first)."""
        return self._deltas(supernet, pruned, "ntk")

    def region_delta(self, supernet: Arch, pruned: Arch) -> list[float]:
        """Per repeat (R_supernet - R_pruned) / R_supernet with R the linear-region count (lower: prune first)."""
        return self._deltas(supernet, pruned, "regions")

    def _deltas(self, supernet: Arch, pruned: Arch, kind: str) -> list[float]:
        if supernet != self._current:  # a new round: forget the last supernet's weights and measures
            self._round, self._current = {}, supernet
        if (kind, "model") not in self._round:
            self._round[(kind, "model")] = self._lowered(kind, supernet)
            self._round[(kind, "weights")] = export_weights(self._round[(kind, "model")])
        shared = self._lowered(kind, pruned)
        keys = set(shared.weight_specs())
        import_weights(shared, {k: v for k, v in self._round[(kind, "weights")].items() if k in keys}, strict=False)
        self._candidates[kind] += 1
        out = []
        for r in range(self.repeats):
            if self.common_draws:
                if (kind, r) not in self._draws:
                    self._draws[(kind, r)] = self._draw(kind, (r,))
                draw = self._draws[(kind, r)]
                if (kind, r) not in self._round:
                    self._round[(kind, r)] = self._measure(kind, self._round[(kind, "model")], draw)
                before = self._round[(kind, r)]
            else:
                draw = self._draw(kind, (r, self._candidates[kind]))
                before = self._measure(kind, self._round[(kind, "model")], draw)
            out.append((before - self._measure(kind, shared, draw)) / before)
        return out

    def _lowered(self, kind: str, arch: Arch) -> NetworkModule:
        """``arch``'s network (NTK) or its thin 1-channel copy (regions), PyTorch default init from the seed."""
        network = self.space.network(arch, **self.skeleton)
        return lower(network if kind == "ntk" else thin_network(network, crop=CROP), seed=self.seed, device=self.device)

    def _draw(self, kind: str, key: tuple[int, ...]) -> Any:
        """The NTK's augmented batch of ``batch_size`` images, or the regions' 3 passes of 1,000 crops,
        from the generator seeded by (seed, *key)."""
        if kind == "ntk":
            return make_batch(self.data, self.batch_size, np.random.default_rng((self.seed, *key)), augment_images=True,
                              device=self.device)
        rng = np.random.default_rng((self.seed, *key, 2021))
        images = make_batch(self.data, REGION_BATCH, rng, augment_images=False, device=self.device).x.cpu().numpy()
        return [torch.as_tensor(one_channel_crops(images, REGION_SAMPLES, CROP, rng)).to(self.device) for _ in range(REGION_PASSES)]

    def _measure(self, kind: str, model: NetworkModule, draw: Any) -> float:
        """kappa = lambda_max / lambda_min of the model's NTK on the batch ``draw`` (``ntk``), or the number
        of distinct ReLU patterns of the thin model over the crops ``draw`` (``regions``)."""
        if kind == "ntk":
            subject = Subject(model, None, self.device, self.seed)  # ntk_cond only sets train mode and takes autograd.grad
            return -TORCH_PROXIES.get("ntk_cond").fn(subject, draw)  # the proxy is -kappa
        codes = [_unit_codes(model.train(), x) for x in draw]
        return float(count_patterns(torch.cat(codes).cpu().numpy()))


def _unit_codes(model: NetworkModule, x: torch.Tensor) -> torch.Tensor:
    """Signs of every ReLU output and of every cell node that feeds an op edge (the input ReLUs of
    the reference's zero-weight pruned convs); repeated units do not change the count."""
    cell = next(b for b in model.network.blocks if b.kind == "cell")
    arch, block = cell.arch, model.block_module(cell.name)
    sources = [n for n in arch.nodes if arch.op(n) in ("input", "add")
               and any(arch.op(s) not in ("add", "scale", "output") for s in arch.successors(n))]
    signs: list[torch.Tensor] = []

    def hook(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
        signs.append(output.detach().reshape(len(x), -1) > 0)

    with forward_hooks([block.node_module(n) for n in sources], hook):
        relus = relu_codes(model, x)
    return torch.cat([relus, *signs], dim=1)
