"""The DARTS genotype format and published genotypes, each with the repository it was copied from.

A genotype is the official namedtuple ``Genotype(normal, normal_concat, reduce, reduce_concat)``
(Liu et al., "DARTS", ICLR 2019, ``cnn/genotypes.py``): per cell, 8 ``(op, input)`` pairs, two per
intermediate node 2..5, where input 0/1 are the two cell inputs and 2.. the earlier intermediate
nodes; the cell output concatenates the ``*_concat`` nodes. Strings are read with :mod:`ast`
(never ``eval``), so a genotype printed by any DARTS-family code base can be pasted in.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from nasir.errors import ArchStringError

__all__ = ["Genotype", "PRIMITIVES", "PUBLISHED", "Published", "make_genotype", "parse_genotype", "format_genotype",
           "DARTS_V1", "DARTS_V2", "PC_DARTS_CIFAR", "PC_DARTS_IMAGENET", "PDARTS", "GDAS_V1"]

PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
"""The 8 candidate ops of the DARTS CNN space, in the official order."""

STEPS = 4  # intermediate nodes per cell
CONCAT = (2, 3, 4, 5)  # every intermediate node, the only cell output of the DARTS space

Pair = tuple[str, int]


class Genotype(NamedTuple):
    """Both cells of a DARTS architecture, in the official field order."""

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]


_FIELDS = Genotype._fields


def _literal(node: ast.expr, where: str) -> object:
    """A Python literal, or ``range(a[, b])`` turned into a tuple."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        try:
            return tuple(range(*(ast.literal_eval(arg) for arg in node.args)))
        except (ValueError, TypeError):
            raise ArchStringError(f"{where}: range(...) needs integer arguments") from None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise ArchStringError(f"{where}: expected a literal list or range(...), got {ast.unparse(node)!r}") from None


def _pairs(value: object, cell: str) -> tuple[Pair, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 * STEPS:
        raise ArchStringError(f"{cell} must list {2 * STEPS} (op, input) pairs, got {value!r}")
    pairs = []
    for k, pair in enumerate(value):
        node = 2 + k // 2
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str) and type(pair[1]) is int):
            raise ArchStringError(f"{cell} pair {k} must be (op name, input index), got {pair!r}")
        op, src = pair
        if op not in PRIMITIVES:
            raise ArchStringError(f"{cell} pair {k}: unknown DARTS op {op!r} (known: {', '.join(PRIMITIVES)})")
        if not 0 <= src < node:
            raise ArchStringError(f"{cell} pair {k} feeds node {node}, so its input must be in 0..{node - 1}, got {src}")
        pairs.append((op, src))
    return tuple(pairs)


def _concat(value: object, cell: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or tuple(value) != CONCAT:
        raise ArchStringError(f"{cell}_concat must be range(2, 6) (every intermediate node, as in the DARTS space), got {value!r}")
    return CONCAT


def _check_used(pairs: tuple[Pair, ...], cell: str) -> None:
    """Both cell inputs must feed some edge: the IR has no dead preprocessing nodes."""
    used = {src for _, src in pairs}
    for src in (0, 1):
        if src not in used:
            raise ArchStringError(f"{cell} cell never reads input {src}; nasir needs every cell input to reach the output")


def make_genotype(normal: object, normal_concat: object, reduce: object, reduce_concat: object) -> Genotype:
    """A validated :class:`Genotype` from plain sequences (lists, tuples, ranges).

    Raises:
        ArchStringError: naming the cell and pair that breaks the DARTS space.
    """
    g = Genotype(_pairs(normal, "normal"), _concat(normal_concat, "normal"), _pairs(reduce, "reduce"), _concat(reduce_concat, "reduce"))
    _check_used(g.normal, "normal")
    _check_used(g.reduce, "reduce")
    return g


def parse_genotype(text: str) -> Genotype:
    """Reads ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), reduce=..., reduce_concat=...)``.

    Positional fields and ``[2, 3, 4, 5]`` for the concat lists are accepted, as printed by the
    official code under Python 2 and 3.

    Raises:
        ArchStringError: for anything else, naming what is wrong.
    """
    if not isinstance(text, str):
        raise ArchStringError(f"a DARTS genotype string must be a str, got {type(text).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ArchStringError(f"DARTS genotype is not valid Python syntax: {err.msg}") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise ArchStringError("a DARTS genotype string must be a call Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)")
    if len(tree.args) > len(_FIELDS):
        raise ArchStringError(f"Genotype takes {len(_FIELDS)} fields, got {len(tree.args)} positional arguments")
    fields = {name: _literal(arg, name) for name, arg in zip(_FIELDS, tree.args)}
    for kw in tree.keywords:
        if kw.arg not in _FIELDS or kw.arg in fields:
            raise ArchStringError(f"Genotype field {kw.arg!r} is unknown or given twice (fields: {', '.join(_FIELDS)})")
        fields[kw.arg] = _literal(kw.value, kw.arg)
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise ArchStringError(f"Genotype lacks field(s) {missing}")
    return make_genotype(**fields)


def format_genotype(genotype: Genotype) -> str:
    """The official printed form, with ``range(2, 6)`` concat lists; :func:`parse_genotype` reads it back."""
    cells = []
    for name in ("normal", "reduce"):
        pairs = ", ".join(f"({op!r}, {src})" for op, src in getattr(genotype, name))
        concat = getattr(genotype, f"{name}_concat")
        cells.append(f"{name}=[{pairs}], {name}_concat=range({concat[0]}, {concat[-1] + 1})")
    return f"Genotype({', '.join(cells)})"


# ---------------------------------------------------------------- published genotypes


class Published(NamedTuple):
    """A published genotype and where it and its costs were published."""

    genotype: Genotype
    paper: str
    code: str


def _g(normal: list[Pair], reduce: list[Pair]) -> Genotype:
    return make_genotype(normal, CONCAT, reduce, CONCAT)


# quark0/darts cnn/genotypes.py (first-order search); DARTS paper Table 1 "DARTS (first order)".
DARTS_V1 = _g(
    [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
     ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
)
# quark0/darts cnn/genotypes.py (second-order search, `DARTS = DARTS_V2`); the cells of the paper's CIFAR and ImageNet tables.
DARTS_V2 = _g(
    [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
     ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
)
# yuhuixu1993/PC-DARTS genotypes.py `PC_DARTS_cifar` (searched on CIFAR-10).
PC_DARTS_CIFAR = _g(
    [("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0), ("dil_conv_3x3", 1),
     ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
    [("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 2),
     ("sep_conv_3x3", 0), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
)
# yuhuixu1993/PC-DARTS genotypes.py `PC_DARTS_image` (searched directly on ImageNet).
PC_DARTS_IMAGENET = _g(
    [("skip_connect", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 0), ("skip_connect", 1),
     ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("dil_conv_5x5", 4)],
    [("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 1),
     ("sep_conv_3x3", 2), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 3)],
)
# chenxin061/pdarts genotypes.py `PDARTS` (searched on CIFAR-10, also evaluated on ImageNet).
PDARTS = _g(
    [("skip_connect", 0), ("dil_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
     ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("sep_conv_3x3", 0), ("dil_conv_5x5", 4)],
    [("avg_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 2),
     ("max_pool_3x3", 0), ("dil_conv_3x3", 1), ("dil_conv_3x3", 1), ("dil_conv_5x5", 3)],
)
# D-X-Y/AutoDL-Projects lib/nas_infer_model/DXYs/genotypes.py `GDAS_V1` (pairs flattened in order).
GDAS_V1 = _g(
    [("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("sep_conv_5x5", 2),
     ("sep_conv_3x3", 3), ("skip_connect", 0), ("sep_conv_5x5", 4), ("sep_conv_3x3", 3)],
    [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_5x5", 1),
     ("dil_conv_5x5", 2), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1)],
)

PUBLISHED: dict[str, Published] = {
    "DARTS_V1": Published(DARTS_V1, "Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019", "github.com/quark0/darts cnn/genotypes.py"),
    "DARTS_V2": Published(DARTS_V2, "Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019", "github.com/quark0/darts cnn/genotypes.py"),
    "PC_DARTS": Published(PC_DARTS_CIFAR, "Xu et al. PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search. ICLR 2020",
                          "github.com/yuhuixu1993/PC-DARTS genotypes.py (PC_DARTS_cifar)"),
    "PC_DARTS_IMAGENET": Published(PC_DARTS_IMAGENET, "Xu et al. PC-DARTS. ICLR 2020", "github.com/yuhuixu1993/PC-DARTS genotypes.py (PC_DARTS_image)"),
    "PDARTS": Published(PDARTS, "Chen, Xie, Wu, Tian. Progressive Differentiable Architecture Search. ICCV 2019", "github.com/chenxin061/pdarts genotypes.py"),
    "GDAS_V1": Published(GDAS_V1, "Dong, Yang. Searching for A Robust Neural Architecture in Four GPU Hours. CVPR 2019",
                         "github.com/D-X-Y/AutoDL-Projects lib/nas_infer_model/DXYs/genotypes.py"),
}
"""Name -> published genotype with its paper and the file it was copied from."""
