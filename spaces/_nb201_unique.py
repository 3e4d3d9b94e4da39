"""The expression-tree form of an NB201 cell behind :meth:`NB201Space.unique_key`.

NAS-Bench-201 calls two cells equivalent when their unfolded expressions print the same
(``Structure.to_unique_str(consider_zero=True)``): ``skip_connect`` is the identity, ``none`` (and
any edge out of a node that is a lone zero) is a zero term ``#``, each cell node is the sum of its
incoming terms sorted by their printed form, and a sum passed on through a skip is spliced into
the enclosing sum as one item. Shared sub-computations are unfolded.

We rebuild that expression as an IR graph (terms of a sum left-folded into binary ``add`` nodes in
the official order, a fresh node for every use) and let the IR's canonical hash decide. This
reproduces the official partition cell by cell (6,466 classes; ``tests/spaces`` checks it).
Note the official ordering quirk: a spliced sum is sorted as one item, so ``a+(b+c)`` and
``(a+b)+c`` can print differently; a fully flattened key gives 5,755 classes, 711 fewer (1,133
official classes merge into 422).
"""

from __future__ import annotations

from typing import Any

from nasir.ir import Arch

__all__ = ["unfolded_arch", "node_terms"]

Token = Any  # "#" (zero) | "0" (the cell input) | ("op", name, tuple[Token, ...])


def _text(tokens: tuple[Token, ...]) -> str:
    return "+".join(t if isinstance(t, str) else f"({_text(t[2])})@{t[1]}" for t in tokens)


def node_terms(ops: tuple[str, ...]) -> tuple[Token, ...]:
    """Terms of the cell output in official order, for ops in arch-string edge order."""
    from nasir.spaces.nb201 import EDGES

    op_of = dict(zip(EDGES, ops))
    nodes: list[tuple[Token, ...]] = [("0",)]
    for i in (1, 2, 3):
        items: list[tuple[Token, ...]] = []
        for j in range(i):
            op, source = op_of[(j, i)], nodes[j]
            if op == "none" or source == ("#",):
                items.append(("#",))
            elif op == "skip_connect":
                items.append(source)
            else:
                items.append((("op", op, source),))
        nodes.append(tuple(t for item in sorted(items, key=_text) for t in item))
    return nodes[3]


def unfolded_arch(ops: tuple[str, ...]) -> Arch:
    """The cell's expression as an Arch: one input, fresh nodes for every term."""
    from nasir.spaces.nb201 import IR_OPS

    nodes: dict[str, Any] = {"in": "input", "out": "output"}
    edges: list[tuple[str, str]] = []

    def new(op: Any, *sources: str) -> str:
        node = f"t{len(nodes)}"
        nodes[node] = op
        edges.extend((src, node) for src in sources)
        return node

    def build(tokens: tuple[Token, ...]) -> str:
        parts = [new("zero" if t == "#" else "identity", "in") if isinstance(t, str) else new(IR_OPS[t[1]], build(t[2])) for t in tokens]
        acc = parts[0]
        for part in parts[1:]:
            acc = new("add", acc, part)
        return acc

    edges.append((build(node_terms(ops)), "out"))
    return Arch(nodes, edges)
