"""What users write right-hand sides with: ops, parameter choices and small-graph builders.

A right-hand side (RHS) is a small DAG between two interface nodes, ``in`` and ``out``. Every other
node carries an *item*: an op (``"relu"`` or ``op("conv", kernel=3)``) or a non-terminal (a
capitalised name such as ``"CELL"``). Capitalisation is the rule that tells them apart, so a typo in
either is caught: an unknown lowercase name is an unknown op, an unknown capitalised one an undefined
non-terminal (an op registered with a capitalised name is written ``op("Name")``).

Edges may carry an item too (``("in", "n1", "EDGE")``): that is sugar for a node on the edge, which
is how op-on-edge cells (NAS-Bench-201, DARTS) are written.

Parameters flow down the derivation tree: ``nt("STAGE", channels=64)`` binds ``channels`` for
everything ``STAGE`` derives, and ``op("conv", out_channels=param("channels"))`` reads it. A
reference without bindings (``"CELL"``) inherits every parameter of its parent; a binding to a
:func:`choice` expands the production that holds it into one alternative per value, so the choice is
made once, at that level, and the whole sub-tree inherits it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from nasir.errors import GrammarError, ParameterTypeError

__all__ = ["Choice", "Op", "Param", "NonTerminal", "Rhs", "Item", "Alternative", "choice", "op", "param", "nt", "dag", "seq",
           "repeat", "is_nonterminal", "item_text", "symbol_of"]

IN, OUT = "in", "out"


@dataclass(frozen=True)
class Choice:
    """A parameter with several values: the production is expanded into one alternative per value."""

    values: tuple[Any, ...]


class _Required:
    """Sentinel: a :class:`Param` without a default must be bound by an ancestor."""

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:  # unpickles to the module's singleton, so ``is REQUIRED`` keeps working
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True, repr=False)
class Param:
    """A reference to a parameter bound higher up the tree: its value (or ``default``) times ``scale``.

    ``scale`` is the only arithmetic: an int times a float that lands on a whole number stays an int
    (``param("channels", scale=0.5)`` of 64 is 32).
    """

    name: str
    default: Any = REQUIRED
    scale: int | float = 1

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __str__(self) -> str:
        extra = ([f"scale={self.scale}"] if self.scale != 1 else []) + ([] if self.required else [f"default={self.default!r}"])
        return f"param({','.join([self.name, *extra])})"

    __repr__ = __str__

    def resolve(self, env: Mapping[str, Any]) -> Any:
        """The value under ``env`` (parameter -> value); raises ``KeyError`` when unbound without a default,
        ``ParameterTypeError`` (a ``TypeError``) when scaling a value that is not a number."""
        value = env[self.name] if self.name in env or self.required else self.default
        if self.scale == 1:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterTypeError(f"{self} scales a number, but {self.name!r} is {value!r}")
        out = value * self.scale
        return int(out) if isinstance(value, int) and isinstance(out, float) and out.is_integer() else out


@dataclass(frozen=True)
class NonTerminal:
    """A non-terminal reference with parameter bindings (values may be constants, :class:`Choice` or :class:`Param`)."""

    symbol: str
    bindings: tuple[tuple[str, Any], ...] = ()

    def text(self) -> str:
        return self.symbol + (f"({','.join(f'{k}={v}' for k, v in self.bindings)})" if self.bindings else "")


@dataclass(frozen=True)
class Op:
    """A terminal: a registered op with attributes (values may be :class:`Choice` or :class:`Param`) and a display label."""

    name: str
    attrs: tuple[tuple[str, Any], ...] = ()
    label: str | None = None

    def text(self) -> str:
        """The label, or ``name(k=v, ...)`` from the attributes the user gave."""
        if self.label is not None:
            return self.label
        return self.name + (f"({','.join(f'{k}={v}' for k, v in self.attrs)})" if self.attrs else "")


Item = Union[str, Op, NonTerminal]


@dataclass(frozen=True)
class Rhs:
    """A right-hand side: named nodes carrying items, and plain edges ``(src, dst)`` (port = order listed).

    Without a label, a production reads as its items in node order (``relu_conv_bn(kernel=3) OP``).
    """

    nodes: tuple[tuple[str, Item], ...]
    edges: tuple[tuple[str, str], ...]
    label: str | None = None


Alternative = Union[str, Op, NonTerminal, Rhs, Sequence["Alternative"]]


def is_nonterminal(item: Item) -> bool:
    """Capitalised names (and :func:`nt` references) are non-terminals; everything else is an op."""
    return isinstance(item, NonTerminal) or (isinstance(item, str) and item[:1].isupper())


def symbol_of(item: Item) -> str:
    """The name of a non-terminal item (``"CELL"`` or ``nt("CELL", ...)``), or of an op."""
    return item.symbol if isinstance(item, NonTerminal) else item.name if isinstance(item, Op) else item


def choice(*values: Any) -> Choice:
    """``op("conv", kernel=choice(3, 5))`` gives two alternatives, one per kernel size."""
    if not values:
        raise GrammarError("choice() needs at least one value")
    return Choice(tuple(values))


def op(name: str, *, label: str | None = None, **attrs: Any) -> Op:
    """A terminal op; ``label`` names it in encodings and derivation text (e.g. ``"nor_conv_3x3"``).

    An attribute may be a :func:`choice` (one alternative per value) or a :func:`param` (the value an
    ancestor bound: ``op("conv", out_channels=param("channels"))``).
    """
    return Op(name, tuple(sorted(attrs.items())), label)


def param(name: str, *, default: Any = REQUIRED, scale: int | float = 1) -> Param:
    """The value of parameter ``name`` bound by an ancestor (or ``default``), times ``scale``.

    ``op("conv", out_channels=param("channels", scale=2), kernel=param("kernel", default=3))``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise GrammarError(f"param() needs an identifier as name, got {name!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise GrammarError(f"param({name!r}) scale must be a positive int or float, got {scale!r}")
    return Param(name, default, scale)


def nt(symbol: str, **bindings: Any) -> NonTerminal:
    """A non-terminal that binds parameters for everything it derives: ``nt("STAGE", channels=choice(32, 64))``.

    Values are constants, :func:`choice` (the production holding the reference expands into one
    alternative per value) or :func:`param` (pass on, possibly scaled, a parameter of the parent).
    Parameters not mentioned are inherited from the parent unchanged.
    """
    if not isinstance(symbol, str) or not symbol[:1].isupper():
        raise GrammarError(f"nt() takes a non-terminal (a capitalised name), got {symbol!r}")
    return NonTerminal(symbol, tuple(sorted(bindings.items())))


def item_text(item: Item) -> str:
    """How an item reads in labels: the op's label or ``name(k=v)``, or the non-terminal (with its bindings)."""
    return item.text() if isinstance(item, (Op, NonTerminal)) else item


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
        raise GrammarError("seq() needs at least one item")
    names = [f"{symbol_of(it).lower()}{i}" for i, it in enumerate(items)]
    chain = [IN, *names, OUT]
    return Rhs(tuple(zip(names, items)), tuple(zip(chain, chain[1:])), label)


def repeat(item: Item, times: Sequence[int]) -> list[Rhs]:
    """One chain alternative per repeat count: ``repeat("CELL", (1, 2))`` is ``CELL | CELL CELL``."""
    if not times or any(not isinstance(t, int) or t < 1 for t in times):
        raise GrammarError(f"repeat() needs positive int counts, got {list(times)}")
    return [seq(*[item] * t, label=f"{item_text(item)}*{t}") for t in times]
