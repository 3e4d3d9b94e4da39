"""Shared test helpers: small IR graphs and networks."""

from __future__ import annotations

from nasir.ir import Arch
from nasir.spaces.nb201 import space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_OPS = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def small_nb201(arch_str: str = BEST, channels: int = 4, cells: int = 1, dataset: str = "cifar10"):
    """An NB201 TinyNetwork with C=channels, N=cells (the full skeleton, only smaller)."""
    return space.network(space.parse(arch_str), channels=channels, cells_per_stage=cells, dataset=dataset)


def chain(*ops: tuple[str, str, dict]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in ops}}
    names = ["in", *(name for name, _, _ in ops), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def nb101_like_cell(cin: int = 8, cout: int = 8) -> Arch:
    """An NB101-style cell: 1x1 input projections, conv_bn_relu / max_pool vertices, channel split, concat."""
    half = cout // 2
    nodes = {
        "in": "input",
        "proj1": ("conv_bn_relu", {"out_channels": half, "kernel": 1, "momentum": 0.003, "eps": 1e-5}),
        "proj2": ("conv_bn_relu", {"out_channels": half, "kernel": 1, "momentum": 0.003, "eps": 1e-5}),
        "v1": ("conv_bn_relu", {"out_channels": half, "kernel": 3, "momentum": 0.003, "eps": 1e-5}),
        "v2": ("max_pool", {"kernel": 3, "stride": 1, "padding": 1}),
        "sum2": "add",
        "cat": "concat",
        "projout": ("conv_bn_relu", {"out_channels": cout, "kernel": 1, "momentum": 0.003, "eps": 1e-5}),
        "res": "add",
        "out": "output",
    }
    edges = [("in", "proj1"), ("in", "proj2"), ("proj1", "v1"), ("v1", "sum2"), ("proj2", "sum2"), ("sum2", "v2"),
             ("v1", "cat"), ("v2", "cat"), ("in", "projout"), ("cat", "res"), ("projout", "res"), ("res", "out")]
    return Arch(nodes, edges)
