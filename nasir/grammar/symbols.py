"""What users write right-hand sides with: ops, parameter choices and small-graph builders.

A right-hand side (RHS) is a small DAG between two interface nodes, ``in`` and ``out``. Every other
node carries an *item*: an op (``"relu"`` or ``op("conv", kernel=3)``) or a non-terminal (a
capitalised name such as ``"CELL"``). Capitalisation is the rule that tells them apart, so a typo in
either is caught: an unknown lowercase name is an unknown op, an unknown capitalised one an undefined
non-terminal (an op registered with a capitalised name is written ``op("Name")``).

Edges may carry an item too (``("in", "n1", "EDGE")``): that is sugar for a node on the edge, which
is how op-on-edge cells (NAS-Bench-201, DARTS) are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Choice", "Op", "Rhs", "Item", "Alternative", "choice", "op", "dag", "seq", "repeat", "is_nonterminal", "item_text"]

IN, OUT = "in", "out"


@dataclass(frozen=True)
class Choice:
    """A parameter with several values: the production is expanded into one alternative per value."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Op:
    """A terminal: a registered op with attributes (values may be :class:`Choice`) and a display label."""

    name: str
    attrs: tuple[tuple[str, Any], ...] = ()
    label: str | None = None

    def text(self) -> str:
        """The label, or ``name(k=v, ...)`` from the attributes the user gave."""
        if self.label is not None:
            return self.label
        return self.name + (f"({','.join(f'{k}={v}' for k, v in self.attrs)})" if self.attrs else "")


Item = Union[str, Op]


@dataclass(frozen=True)
class Rhs:
    """A right-hand side: named nodes carrying items, and plain edges ``(src, dst)`` (port = order listed).

    Without a label, a production reads as its items in node order (``relu_conv_bn(kernel=3) OP``).
    """

    nodes: tuple[tuple[str, Item], ...]
    edges: tuple[tuple[str, str], ...]
    label: str | None = None


Alternative = Union[str, Op, Rhs, Sequence["Alternative"]]


def is_nonterminal(item: Item) -> bool:
    """Capitalised names are non-terminals; everything else is an op."""
    return isinstance(item, str) and item[:1].isupper()


def choice(*values: Any) -> Choice:
    """``op("conv", kernel=choice(3, 5))`` gives two alternatives, one per kernel size."""
    if not values:
        raise ValueError("choice() needs at least one value")
    return Choice(tuple(values))


def op(name: str, *, label: str | None = None, **attrs: Any) -> Op:
    """A terminal op; ``label`` names it in encodings and derivation text (e.g. ``"nor_conv_3x3"``)."""
    return Op(name, tuple(sorted(attrs.items())), label)


def item_text(item: Item) -> str:
    """How an item reads in labels: the op's label or ``name(k=v)``, or the non-terminal."""
    return item.text() if isinstance(item, Op) else item


def dag(nodes: Mapping[str, Item], edges: Sequence[tuple[str, str] | tuple[str, str, Item]], *, label: str | None = None) -> Rhs:
    """A general RHS. ``edges`` are ``(src, dst)`` or ``(src, dst, item)`` (a node on the edge, named ``src-dst``).

    Edges into one node take input ports in the order listed (``add`` and ``concat`` read them in order).
    """
    named = dict(nodes)
    plain: list[tuple[str, str]] = []
    for edge in edges:
        if len(edge) == 2:
            plain.append((edge[0], edge[1]))
            continue
        src, dst, item = edge
        name, k = f"{src}-{dst}", 2
        while name in named:
            name, k = f"{src}-{dst}-{k}", k + 1
        named[name] = item
        plain.extend([(src, name), (name, dst)])
    return Rhs(tuple(named.items()), tuple(plain), label)


def seq(*items: Item, label: str | None = None) -> Rhs:
    """A chain ``in -> items... -> out``; nodes are named after their item and position (``conv0``, ``cell1``)."""
    if not items:
        raise ValueError("seq() needs at least one item")
    names = [f"{(it.name if isinstance(it, Op) else it).lower()}{i}" for i, it in enumerate(items)]
    chain = [IN, *names, OUT]
    return Rhs(tuple(zip(names, items)), tuple(zip(chain, chain[1:])), label)


def repeat(item: Item, times: Sequence[int]) -> list[Rhs]:
    """One chain alternative per repeat count: ``repeat("CELL", (1, 2))`` is ``CELL | CELL CELL``."""
    if not times or any(not isinstance(t, int) or t < 1 for t in times):
        raise ValueError(f"repeat() needs positive int counts, got {list(times)}")
    return [seq(*[item] * t, label=f"{item_text(item)}*{t}") for t in times]
