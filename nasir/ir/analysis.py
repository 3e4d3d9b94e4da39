"""Framework-free analyses of an :class:`~nasir.ir.arch.Arch`: shapes, weights, params, FLOPs, paths.

Everything here reads the op registry, so user-defined ops are analysed like built-in ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from nasir.checks import is_count
from nasir.errors import ShapeMismatchError
from nasir.ir.arch import Arch
from nasir.ir.ops import FlopConvention, Shape, WeightSpec

__all__ = ["checked_shapes", "infer_shapes", "weight_specs", "count_params", "count_flops", "input_output_paths"]


def checked_shapes(input_shapes: Shape | Sequence[Shape]) -> list[Shape]:
    """One per-sample shape such as ``(3, 32, 32)``, or one per input, as a list of tuples of Python ints >= 1 (numpy
    ints and arrays, e.g. from ``x.shape``, are taken); anything else is a ShapeMismatchError naming it."""
    given = input_shapes.tolist() if isinstance(input_shapes, np.ndarray) else input_shapes
    try:
        one = len(given) > 0 and isinstance(given[0], Integral)
        return [_checked_shape(given)] if one else [_checked_shape(s) for s in given]
    except TypeError:
        raise ShapeMismatchError(f"input_shapes must be one shape such as (3, 32, 32) or one per input, got {input_shapes!r}") from None


def _checked_shape(shape: Sequence[int]) -> Shape:
    dims = tuple(shape)
    if not dims or not all(is_count(d) for d in dims):
        raise ShapeMismatchError(f"a shape is a tuple of ints >= 1 such as (3, 32, 32), got {shape!r}")
    return tuple(int(d) for d in dims)


def _normalise_inputs(arch: Arch, input_shapes: Shape | Sequence[Shape]) -> list[Shape]:
    shapes = checked_shapes(input_shapes)
    if len(shapes) != len(arch.input_nodes):
        raise ShapeMismatchError(f"architecture has {len(arch.input_nodes)} input(s) but {len(shapes)} input shape(s) were given")
    return shapes


def infer_shapes(arch: Arch, input_shapes: Shape | Sequence[Shape]) -> dict[str, Shape]:
    """Output shape of every node, per sample (no batch axis).

    Args:
        arch: the graph.
        input_shapes: one shape such as ``(3, 32, 32)``, or one per input node in index order.

    Raises:
        ShapeMismatchError: naming the first node whose inputs don't fit its op.
    """
    given = _normalise_inputs(arch, input_shapes)
    shapes: dict[str, Shape] = {n: given[i] for i, n in enumerate(arch.input_nodes)}
    for node in arch.nodes:
        if node in shapes:
            continue
        ins = [shapes[p] for p in arch.inputs(node)]
        try:
            shapes[node] = tuple(arch.spec(node).shape(ins, arch.attrs(node)))
        except ShapeMismatchError as err:
            raise ShapeMismatchError(f"node {node!r} ({arch.op(node)}): {err}") from None
    return shapes


def weight_specs(arch: Arch, input_shapes: Shape | Sequence[Shape]) -> dict[str, WeightSpec]:
    """Every weight of the graph keyed ``"<node>/<role>"`` (e.g. ``"e1/conv.weight"``), in node order."""
    shapes = infer_shapes(arch, input_shapes)
    out: dict[str, WeightSpec] = {}
    for node in arch.nodes:
        ins = [shapes[p] for p in arch.inputs(node)]
        for role, spec in arch.spec(node).weights(ins, shapes[node], arch.attrs(node)).items():
            out[f"{node}/{role}"] = spec
    return out


def count_params(arch: Arch, input_shapes: Shape | Sequence[Shape]) -> int:
    """Number of trainable parameters (buffers such as BN running statistics excluded)."""
    return sum(w.size for w in weight_specs(arch, input_shapes).values() if w.trainable)


def count_flops(arch: Arch, input_shapes: Shape | Sequence[Shape], convention: FlopConvention = "macs") -> int:
    """FLOPs for one sample from each op's rule: multiply-accumulates (``"macs"``), NASLib's or ptflops' count.

    ``convention="naslib"`` is what NASLib's ``flops`` proxy reports (times 1e6, for a batch of
    one): conv/linear MACs plus torchstat's element-wise counts; ``"ptflops"`` what ptflops 0.6.9
    counts on the lowered module; see :mod:`nasir.ir.ops`.
    """
    shapes = infer_shapes(arch, input_shapes)
    total = 0
    for node in arch.nodes:
        ins = [shapes[p] for p in arch.inputs(node)]
        total += arch.spec(node).count_flops(ins, shapes[node], arch.attrs(node), convention)
    return total


def input_output_paths(arch: Arch) -> list[tuple[str, ...]]:
    """All directed paths from any input node to the output node, as node-id tuples, sorted."""
    succ = {n: arch.successors(n) for n in arch.nodes}
    target = arch.output_node
    paths: list[tuple[str, ...]] = []

    def walk(node: str, prefix: tuple[str, ...]) -> None:
        if node == target:
            paths.append(prefix)
            return
        for nxt in succ[node]:
            walk(nxt, prefix + (nxt,))

    for start in arch.input_nodes:
        walk(start, (start,))
    return sorted(paths)
