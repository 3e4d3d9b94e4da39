"""The NAS-Bench-201 macro skeleton (the official ``TinyNetwork``) as an IR :class:`Network`.

stem (conv 3x3, C, no bias -> BN) -> N cells at C -> ResNet basic block (2C, stride 2) -> N cells
at 2C -> basic block (4C, stride 2) -> N cells at 4C -> BN -> ReLU -> global average pool ->
linear. Blocks are named like the official modules (``stem``, ``cells.0`` .. ``cells.16``,
``head``), so weight keys read ``cells.3/e0_1/conv.weight``.
"""

from __future__ import annotations

from nasir.errors import SpaceConfigError
from nasir.ir import Arch, Block, Network

__all__ = ["tiny_network", "DATASETS"]

# dataset -> (input shape, number of classes) of the NB201 networks
DATASETS = {
    "cifar10": ((3, 32, 32), 10),
    "cifar10-valid": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
    "imagenet16": ((3, 16, 16), 120),
}


def _chain(*ops: tuple[str, str, dict]) -> Arch:
    """A linear chain input -> ops... -> output."""
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in ops}}
    names = ["in", *(name for name, _, _ in ops), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def tiny_network(
    cell: Arch,
    *,
    dataset: str = "cifar10",
    num_classes: int | None = None,
    channels: int = 16,
    cells_per_stage: int = 5,
) -> Network:
    """The NB201 network around ``cell``.

    Args:
        cell: a channel-preserving cell (ops with ``out_channels=None``), e.g. from NB201Space.
        dataset: sets the input shape and class count (see :data:`DATASETS`).
        num_classes: overrides the dataset's class count.
        channels: C of the first stage (16 in the benchmark).
        cells_per_stage: N (5 in the benchmark).
    """
    if dataset not in DATASETS:
        raise SpaceConfigError(f"unknown NB201 dataset {dataset!r} (known: {sorted(DATASETS)})")
    input_shape, classes = DATASETS[dataset]
    blocks = [Block("stem", _chain(("conv", "conv", {"out_channels": channels, "kernel": 3, "padding": 1}), ("bn", "batch_norm", {})), kind="stem")]
    c, index = channels, 0
    for stage in range(3):
        if stage:
            c *= 2
            block = _chain(("block", "resnet_basic_block", {"out_channels": c, "stride": 2}))
            blocks.append(Block(f"cells.{index}", block, kind="reduction"))
            index += 1
        for _ in range(cells_per_stage):
            blocks.append(Block(f"cells.{index}", cell, kind="cell"))
            index += 1
    head = _chain(
        ("lastact_bn", "batch_norm", {}),
        ("lastact_relu", "relu", {}),
        ("global_pooling", "global_avg_pool", {}),
        ("classifier", "linear", {"out_features": num_classes or classes}),
    )
    blocks.append(Block("head", head, kind="head"))
    return Network(tuple(blocks), input_shape, name=f"nb201-{dataset}", meta={"dataset": dataset})
