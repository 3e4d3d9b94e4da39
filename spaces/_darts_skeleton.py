"""The DARTS evaluation networks as IR :class:`Network` s, block for block as the official ``model.py``.

``NetworkCIFAR``: stem (conv 3x3 to 3C, no bias -> BN) -> ``layers`` cells with reductions at
``layers // 3`` and ``2 * layers // 3`` (channels doubled there) -> global average pool -> linear.
``NetworkImageNet`` (mobile setting): ``stem0`` (conv 3x3/2 to C/2 -> BN -> ReLU -> conv 3x3/2 to C
-> BN), ``stem1`` (ReLU -> conv 3x3/2 -> BN), cells as above with the first cell's ``preprocess0``
a FactorizedReduce, then pooling and linear (the official ``AvgPool2d(7)`` on the final 7x7 map is a
global average pool). A cell preprocesses its inputs (ReLUConvBN 1x1, or FactorizedReduce after a
reduction cell), applies the genotype's ops (stride 2 on the edges leaving a reduction cell's inputs)
and concatenates the intermediate nodes. The optional auxiliary head (``AuxiliaryHeadCIFAR`` /
``AuxiliaryHeadImageNet``) reads cell ``2 * layers // 3``; the network output stays the main logits.
Drop-path only acts in training and has no weights, so it is not part of the IR.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasir.errors import SpaceConfigError
from nasir.ir import Arch, Block, Network
from nasir.spaces.darts_genotypes import Genotype

__all__ = ["EDGE_OPS", "EdgeOp", "SKELETONS", "cell_arch", "network"]

Step = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class EdgeOp:
    """How one DARTS op becomes IR nodes: one node at stride 1, a chain of nodes at stride 2."""

    op: str
    attrs: Mapping[str, Any]
    strided: tuple[Step, ...] | None = None  # None: the same op with stride 2

    def steps(self, stride: int) -> tuple[Step, ...]:
        if stride == 1:
            return ((self.op, dict(self.attrs)),)
        return self.strided or ((self.op, {**self.attrs, "stride": stride}),)


# The only place DARTS op names meet IR ops (official operations.py OPS, with affine BN).
EDGE_OPS: dict[str, EdgeOp] = {
    # Zero(stride=2) is x[:, :, ::2, ::2].mul(0.): a 1x1 max pool of stride 2 picks the same pixels.
    "none": EdgeOp("zero", {}, (("max_pool", {"kernel": 1, "stride": 2, "padding": 0}), ("zero", {}))),
    "max_pool_3x3": EdgeOp("max_pool", {"kernel": 3, "stride": 1, "padding": 1}),
    "avg_pool_3x3": EdgeOp("avg_pool", {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False}),
    "skip_connect": EdgeOp("identity", {}, (("factorized_reduce", {}),)),
    "sep_conv_3x3": EdgeOp("sep_conv", {"kernel": 3}),
    "sep_conv_5x5": EdgeOp("sep_conv", {"kernel": 5}),
    "dil_conv_3x3": EdgeOp("dil_conv", {"kernel": 3, "dilation": 2}),
    "dil_conv_5x5": EdgeOp("dil_conv", {"kernel": 5, "dilation": 2}),
}


def cell_arch(pairs: Sequence[tuple[str, int]], concat: Sequence[int], *, channels: int, reduction: bool, reduction_prev: bool) -> Arch:
    """One evaluation cell with its preprocessing: nodes ``preprocess0/1``, edge ops ``e0..e7``, sums ``s2..s5``, ``cat``."""
    pre1 = ("relu_conv_bn", {"out_channels": channels, "kernel": 1, "padding": 0})
    pre0 = ("factorized_reduce", {"out_channels": channels}) if reduction_prev else pre1
    nodes: dict[str, Any] = {"in0": ("input", {"index": 0}), "in1": ("input", {"index": 1}), "preprocess0": pre0, "preprocess1": pre1}
    edges: list[tuple[str, str]] = [("in0", "preprocess0"), ("in1", "preprocess1")]
    states, ends = ["preprocess0", "preprocess1"], []
    for k, (name, src) in enumerate(pairs):
        prev = states[src]
        for j, step in enumerate(EDGE_OPS[name].steps(2 if reduction and src < 2 else 1)):
            node = f"e{k}" if j == 0 else f"e{k}_{j}"
            nodes[node] = step
            edges.append((prev, node))
            prev = node
        ends.append(prev)
        if k % 2:
            state = f"s{len(states)}"
            nodes[state] = "add"
            edges += [(ends[k - 1], state), (ends[k], state)]
            states.append(state)
    nodes.update({"cat": "concat", "out": "output"})
    edges += [(states[i], "cat") for i in concat] + [("cat", "out")]
    return Arch(nodes, edges)


def _chain(*steps: tuple[str, str, Mapping[str, Any]]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, dict(attrs)) for name, op, attrs in steps}}
    names = ["in", *(name for name, _, _ in steps), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def _conv(out: int, kernel: int, stride: int = 1, padding: int | None = None) -> dict[str, Any]:
    return {"out_channels": out, "kernel": kernel, "stride": stride, "padding": (kernel - 1) // 2 if padding is None else padding}


def _auxiliary_head(num_classes: int, pool_stride: int, last_bn: bool) -> Arch:
    """AuxiliaryHead{CIFAR,ImageNet}: ReLU -> AvgPool 5 -> 1x1 to 128 -> BN -> ReLU -> 2x2 to 768 [-> BN] -> ReLU -> linear.

    The official ``x.view(n, -1)`` flattens a 1x1 map, which the global average pool does exactly.
    """
    steps = [("relu0", "relu", {}), ("pool", "avg_pool", {"kernel": 5, "stride": pool_stride, "padding": 0}),
             ("conv1", "conv", _conv(128, 1)), ("bn1", "batch_norm", {}), ("relu1", "relu", {}), ("conv2", "conv", _conv(768, 2, padding=0))]
    steps += [("bn2", "batch_norm", {})] if last_bn else []
    steps += [("relu2", "relu", {}), ("flatten", "global_avg_pool", {}), ("classifier", "linear", {"out_features": num_classes})]
    return _chain(*steps)


def _cells(genotype: Genotype, channels: int, layers: int, first: tuple[str, str], reduction_prev: bool) -> list[Block]:
    """The cell blocks ``cells.0 ..``, each reading the two previous outputs; identical cells share one Arch."""
    blocks: list[Block] = []
    built: dict[tuple[int, bool, bool], Arch] = {}
    prev_prev, prev = first
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        channels *= 2 if reduction else 1
        key = (channels, reduction, reduction_prev)
        if key not in built:
            pairs, concat = (genotype.reduce, genotype.reduce_concat) if reduction else (genotype.normal, genotype.normal_concat)
            built[key] = cell_arch(pairs, concat, channels=channels, reduction=reduction, reduction_prev=reduction_prev)
        blocks.append(Block(f"cells.{i}", built[key], (prev_prev, prev), "reduction" if reduction else "cell"))
        prev_prev, prev, reduction_prev = prev, f"cells.{i}", reduction
    return blocks


def _head(num_classes: int) -> Arch:
    return _chain(("global_pooling", "global_avg_pool", {}), ("classifier", "linear", {"out_features": num_classes}))


def network_cifar(genotype: Genotype, *, channels: int, layers: int, num_classes: int, auxiliary: bool, input_size: int,
                  dataset: str) -> Network:
    """The official ``NetworkCIFAR`` (stem multiplier 3)."""
    stem = _chain(("conv", "conv", _conv(3 * channels, 3)), ("bn", "batch_norm", {}))
    blocks = [Block("stem", stem, kind="stem"), *_cells(genotype, channels, layers, ("stem", "stem"), reduction_prev=False)]
    if auxiliary:
        blocks.append(Block("auxiliary_head", _auxiliary_head(num_classes, 3, True), (f"cells.{2 * layers // 3}",), "head"))
    blocks.append(Block("head", _head(num_classes), (f"cells.{layers - 1}",), "head"))
    return Network(tuple(blocks), (3, input_size, input_size), name=f"darts-{dataset}", meta={"dataset": dataset, "auxiliary": auxiliary})


def network_imagenet(genotype: Genotype, *, channels: int, layers: int, num_classes: int, auxiliary: bool, input_size: int,
                     dataset: str) -> Network:
    """The official ``NetworkImageNet`` (mobile setting: C=48, 14 cells, 224x224)."""
    stem0 = _chain(("conv0", "conv", _conv(channels // 2, 3, 2)), ("bn0", "batch_norm", {}), ("relu0", "relu", {}),
                   ("conv1", "conv", _conv(channels, 3, 2)), ("bn1", "batch_norm", {}))
    stem1 = _chain(("relu", "relu", {}), ("conv", "conv", _conv(channels, 3, 2)), ("bn", "batch_norm", {}))
    blocks = [Block("stem0", stem0, kind="stem"), Block("stem1", stem1, kind="stem"),
              *_cells(genotype, channels, layers, ("stem0", "stem1"), reduction_prev=True)]
    if auxiliary:
        blocks.append(Block("auxiliary_head", _auxiliary_head(num_classes, 2, False), (f"cells.{2 * layers // 3}",), "head"))
    blocks.append(Block("head", _head(num_classes), (f"cells.{layers - 1}",), "head"))
    return Network(tuple(blocks), (3, input_size, input_size), name=f"darts-{dataset}", meta={"dataset": dataset, "auxiliary": auxiliary})


@dataclass(frozen=True)
class Skeleton:
    """Defaults of one evaluation setting of the DARTS paper."""

    build: Callable[..., Network]
    input_size: int
    num_classes: int
    channels: int
    layers: int


SKELETONS: dict[str, Skeleton] = {
    "cifar10": Skeleton(network_cifar, 32, 10, 36, 20),
    "cifar100": Skeleton(network_cifar, 32, 100, 36, 20),
    "imagenet": Skeleton(network_imagenet, 224, 1000, 48, 14),
}


def network(genotype: Genotype, *, dataset: str = "cifar10", channels: int | None = None, layers: int | None = None,
            num_classes: int | None = None, auxiliary: bool = False, input_size: int | None = None) -> Network:
    """The DARTS evaluation network of ``genotype`` for ``dataset`` (see :data:`SKELETONS` for the defaults)."""
    if dataset not in SKELETONS:
        raise SpaceConfigError(f"unknown DARTS skeleton dataset {dataset!r} (known: {sorted(SKELETONS)})")
    s = SKELETONS[dataset]
    if layers is not None and layers < 1:
        raise SpaceConfigError(f"a DARTS network needs at least one cell, got layers={layers}")
    return s.build(genotype, channels=channels or s.channels, layers=layers or s.layers, num_classes=num_classes or s.num_classes,
                   auxiliary=auxiliary, input_size=input_size or s.input_size, dataset=dataset)
