"""Bounds a derived architecture must meet to belong to a grammar space.

Node and edge bounds are read from the derived graph (and counted exactly by dynamic programming,
see :mod:`nasir.grammar.counting`); parameter and FLOP bounds are computed through the op registry
on the network around the graph (:meth:`nasir.ir.Network.count_params`, ``count_flops``), so they
hold for user-defined ops too. A graph whose shapes do not fit fails any parameter or FLOP bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from nasir.errors import ShapeMismatchError, SpaceConfigError
from nasir.ir import Arch, Network

__all__ = ["Constraints"]


@dataclass(frozen=True)
class Constraints:
    """Inclusive bounds; ``None`` means unbounded. FLOPs are multiply-accumulates per sample."""

    max_nodes: int | None = None
    max_edges: int | None = None
    min_params: int | None = None
    max_params: int | None = None
    min_flops: int | None = None
    max_flops: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise SpaceConfigError(f"constraint {f.name} must be a non-negative int or None, got {value!r}")

    @property
    def needs_network(self) -> bool:
        """Whether checking needs shapes (parameter or FLOP bounds)."""
        return any(v is not None for v in (self.min_params, self.max_params, self.min_flops, self.max_flops))

    @property
    def node_bound(self) -> int | None:
        """Most nodes a member can have: ``max_nodes``, or ``max_edges + 1`` (a connected DAG has >= n - 1 edges)."""
        bounds = [b for b in (self.max_nodes, None if self.max_edges is None else self.max_edges + 1) if b is not None]
        return min(bounds, default=None)

    @property
    def structural(self) -> bool:
        """Whether only node and edge bounds are set (the size is then counted by DP)."""
        return not self.needs_network

    def violation(self, arch: Arch, network: Callable[[Arch], Network] | None = None) -> str | None:
        """The first bound ``arch`` breaks, as text, or None when it meets them all.

        ``network`` builds the network around ``arch``; it is called only for parameter or FLOP bounds.
        """
        checks = [("nodes", len(arch), None, self.max_nodes), ("edges", len(arch.edges), None, self.max_edges)]
        if self.needs_network:
            if network is None:
                raise SpaceConfigError("parameter and FLOP bounds need the network around the architecture: pass network=")
            try:
                net = network(arch)
                checks += [("params", net.count_params(), self.min_params, self.max_params),
                           ("flops", net.count_flops(), self.min_flops, self.max_flops)]
            except ShapeMismatchError as err:
                return f"shapes do not fit: {err}"
        for what, value, low, high in checks:
            if low is not None and value < low:
                return f"{what} {value} < {low}"
            if high is not None and value > high:
                return f"{what} {value} > {high}"
        return None
