"""TE-NAS's two measurements for supernet pruning, in PyTorch.

``TENASMeasures(space, data)`` gives the callables that :func:`nasir.strategies.pruning.tenas_prune`
needs. As in the reference code (VITA-Group/TENAS ``prune_tenas.py``), the supernet and the pruned
supernet share their weights (the pruned copy receives the supernet's weights for every op it still
has, through the neutral-weight mapping), both see the same batch, and each delta is averaged over
``repeats`` re-initialisations. The skeleton defaults to TE-NAS's NAS-Bench-201 search network
(C = 3, one cell per stage). Linear regions come from the ``linear_regions`` proxy, which counts on
TE-NAS's thin 1-channel copy fed 3x3 crops; that copy is rebuilt from the seed, so the shared
weights reach the NTK measurement but not the region count (TE-NAS copies weights into its thin
pair too). Initialisation is PyTorch's default, as the reference effectively runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasir.frontends.torch.modules import lower
from nasir.frontends.torch.proxies import score
from nasir.frontends.torch.weights import export_weights, import_weights
from nasir.ir import Arch

__all__ = ["TENASMeasures"]


class TENASMeasures:
    """Relative changes of the NTK condition number and of the linear-region count when an op is pruned."""

    def __init__(self, space: Any, data: Any = None, *, skeleton: dict[str, Any] | None = None, repeats: int = 3, seed: int = 0,
                 device: str | None = None) -> None:
        if data is None:
            from nasir.data import load_sample

            data = load_sample()
        self.space, self.data, self.repeats, self.seed, self.device = space, data, repeats, seed, device
        self.skeleton = dict(skeleton) if skeleton is not None else {"channels": 3, "cells_per_stage": 1}

    def _pair(self, supernet: Arch, pruned: Arch, repeat: int) -> tuple[Any, Any]:
        seed = self.seed + repeat
        full = lower(self.space.network(supernet, **self.skeleton), seed=seed)
        thin = lower(self.space.network(pruned, **self.skeleton), seed=seed)
        keys = set(thin.weight_specs())
        import_weights(thin, {k: v for k, v in export_weights(full).items() if k in keys}, strict=False)
        return full, thin

    def _delta(self, supernet: Arch, pruned: Arch, proxy: str, sign: float) -> float:
        out = []
        for r in range(self.repeats):
            full, thin = self._pair(supernet, pruned, r)
            before = sign * score(full, proxy, self.data, seed=self.seed + r, device=self.device)
            after = sign * score(thin, proxy, self.data, seed=self.seed + r, device=self.device)
            out.append((before - after) / before)
        return float(np.mean(out))

    def ntk_delta(self, supernet: Arch, pruned: Arch) -> float:
        """(kappa_supernet - kappa_pruned) / kappa_supernet; the ``ntk_cond`` proxy returns -kappa."""
        return self._delta(supernet, pruned, "ntk_cond", -1.0)

    def region_delta(self, supernet: Arch, pruned: Arch) -> float:
        """(R_supernet - R_pruned) / R_supernet with R the ``linear_regions`` count."""
        return self._delta(supernet, pruned, "linear_regions", 1.0)
