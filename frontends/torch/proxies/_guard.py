"""Degenerate-architecture detection: constant network output, from the IR or from a forward pass."""

from __future__ import annotations

import torch

from nasir.ir import Network

__all__ = ["DegenerateNetwork", "check_output", "ir_constant_output"]


class DegenerateNetwork(Exception):
    """Internal signal: the network's output does not depend on its input (scored ``-inf``)."""


def check_output(out: torch.Tensor) -> None:
    """Raises :class:`DegenerateNetwork` when every sample of a batch (>1) gives the same output."""
    if out.shape[0] > 1 and bool(torch.all(out == out[:1]).item()):
        raise DegenerateNetwork("the network's output is identical for every input in the batch")


def _depends(arch, live_inputs: set[str]) -> bool:
    """Whether the arch's output reaches back to a live input through non-``zero`` ops."""
    live: set[str] = set()
    for node in arch.nodes:
        if arch.op(node) == "input":
            if node in live_inputs:
                live.add(node)
        elif arch.op(node) != "zero" and any(p in live for p in arch.inputs(node)):
            live.add(node)
    return arch.output_node in live


def ir_constant_output(network: Network) -> bool:
    """True when no input-to-output path of the IR avoids ``zero`` ops (e.g. an all-``none`` NB201 cell)."""
    live = {"input"}
    for block in network.blocks:
        ports = {node for node, src in zip(block.arch.input_nodes, block.inputs) if src in live}
        if _depends(block.arch, ports):
            live.add(block.name)
    return network.blocks[-1].name not in live
