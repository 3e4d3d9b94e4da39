"""A torch proxy as a strategy scorer: ``archs -> scores`` through the space's network skeleton.

This is what AREA, NASWOT sample-and-rank and the hybrid GP-BO call to rank candidates live
(instead of reading a table): ``ProxyScorer(space, "naswot", load_sample())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasir.ir import Arch
from nasir.rng import Seed

__all__ = ["ProxyScorer"]


class ProxyScorer:
    """Scores architectures of ``space`` with one torch proxy (same seed: same weights and batch for all).

    Args:
        space: builds each architecture's network (``space.network(arch, **skeleton)``).
        proxy: a name in ``TORCH_PROXIES``.
        data: images for the proxy (``nasir.data.ImageData`` or ``(x, y)``); None: the shipped sample.
        skeleton: options of ``space.network`` (e.g. a smaller NB201 skeleton for quick tests).
        options: the proxy's own options.
    """

    def __init__(self, space: Any, proxy: str, data: Any = None, *, seed: Seed = 0, device: str | None = None,
                 skeleton: dict[str, Any] | None = None, **options: Any) -> None:
        from nasir.frontends.torch.proxies import TORCH_PROXIES

        TORCH_PROXIES.get(proxy)  # an unknown proxy fails here, not mid-search
        if data is None:
            from nasir.data import load_sample

            data = load_sample()
        self.space, self.proxy, self.data, self.seed, self.device = space, proxy, data, seed, device
        self.skeleton, self.options = dict(skeleton or {}), options
        self.name = f"torch:{proxy}"

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        from nasir.frontends.torch.proxies import score_many

        networks = [self.space.network(a, **self.skeleton) for a in archs]
        return score_many(networks, [self.proxy], self.data, seed=self.seed, device=self.device,
                          options={self.proxy: self.options})[self.proxy]
