"""Fixed-length encodings of derivations for performance predictors.

* ``onehot``: one block per *slot* of a finite grammar, a slot being a place a non-terminal can
  occupy in some derivation (a path of (production, child) choices from the root); the block of a
  slot used by the derivation one-hot encodes its production, unused slots stay zero. Slots of
  symbols with one production carry no information and are left out. For NAS-Bench-201 this is
  the 6 x 5 one-hot of edge ops.
* ``adjacency``: :func:`nasir.encodings.adjacency_onehot` of the derived graph, nodes in the Arch's
  topological order padded to the largest graph the grammar derives.
* ``path``: :func:`nasir.encodings.path_encoding` of the derived graph over the grammar's op labels
  (``input``, ``output``, ``add`` and ``concat`` pass paths through; ``zero`` kills them), for paths
  up to the longest the grammar can derive, from one op (from none where a path can skip every op).
* ``counts``: how often the derivation uses each production (symbols in discovery order, then
  productions in declaration order). A recursive grammar has unboundedly many slots, so no one-hot
  of its derivations has a fixed length; what a derivation is built from does (the view of
  hierarchical grammar NAS, Schrodi et al., NeurIPS 2023, which compares derivations by their
  productions). Offered for every grammar; it forgets where productions are used.

For a recursive grammar ``adjacency`` and ``path`` exist only under a node bound (the space's
:attr:`~nasir.grammar.Constraints.node_bound`): graphs are padded to the bound, and paths go up to the
most ops a graph within the bound can line up (at most ``bound - 2``, fewer where the recursion spends
nodes off every path). Encodings are offered where they
are finite and not too long (see :attr:`Encoder.kinds`).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from nasir import encodings
from nasir.errors import ArchTooLargeError, SpaceConfigError
from nasir.grammar.counting import max_terminals
from nasir.grammar.derivation import Derivation, positions
from nasir.grammar.grammar import Grammar, Production, Terminal
from nasir.grammar.symbols import IN, OUT
from nasir.ir import Arch

__all__ = ["Encoder", "MAX_LENGTH", "PASS_THROUGH", "TREE_KINDS"]

MAX_LENGTH = 100_000  # longest encoding offered (entries)
PASS_THROUGH = frozenset({"input", "output", "add", "concat"})
TREE_KINDS = frozenset({"onehot", "counts"})  # encodings read from the derivation tree, not the graph

_Slot = tuple[tuple[int, int], ...]  # (production index, child index) from the root


class Encoder:
    """The encodings a grammar supports and how to compute them.

    Args:
        grammar: the grammar.
        node_bound: most nodes an architecture of the space has; gives a recursive grammar its
            ``adjacency`` and ``path`` encodings (a finite grammar's own maximum is used as before).

    ``kinds`` lists the available encodings, the default first: ``onehot`` for a finite grammar,
    ``counts`` for a recursive one (it exists with or without a bound, so the default does not
    change when a bound is added, and it is short where padded graphs are mostly zeros).
    """

    def __init__(self, grammar: Grammar, node_bound: int | None = None) -> None:
        self.grammar = grammar
        self._offsets: dict[str, int] = {}  # symbol -> index of its first production in ``counts``
        self._counts_length = 0
        for s in grammar.symbols:
            self._offsets[s], self._counts_length = self._counts_length, self._counts_length + len(grammar.productions(s))
        terms = grammar.terminals()
        self._op_index = {"input": 0, "output": 1, **{key: i + 2 for i, key in enumerate(terms)}}
        self._label = {key: t.label for key, t in terms.items() if t.op not in PASS_THROUGH and t.op != "zero"}
        self._vocab = list(dict.fromkeys(self._label.values()))
        self._slots: dict[_Slot, int] = {}
        self._onehot_length: int | None = None
        self._max_nodes: int | None = node_bound
        if grammar.finite:
            self._onehot_length = self._layout(grammar.start, (), 0, budget=MAX_LENGTH)
            self._max_nodes = 2 + max_terminals(grammar)[grammar.start]
        longest = 0 if self._max_nodes is None else _longest_path(grammar, self._max_nodes - 2)
        self._lengths = range(0 if _bare_path(grammar) else 1, longest + 1)
        kinds = []
        if self._onehot_length is not None:
            kinds.append("onehot")
        n = self._max_nodes
        if n is not None and n * (n - 1) // 2 + n * (len(self._op_index) + 1) <= MAX_LENGTH:
            kinds.append("adjacency")
        if self._vocab and self._lengths and encodings.path_encoding_length(len(self._vocab), self._lengths) <= MAX_LENGTH:
            kinds.append("path")
        self.kinds: tuple[str, ...] = (*kinds, "counts") if grammar.finite else ("counts", *kinds)

    def encode(self, kind: str, tree: Derivation | None, arch: Arch) -> np.ndarray:
        """The ``kind`` encoding; ``tree`` (the derivation of ``arch``) is needed for :data:`TREE_KINDS` only.

        Raises:
            SpaceConfigError: ``kind`` is not in :attr:`kinds`.
            ArchTooLargeError: a graph encoding of an architecture over the node bound.
        """
        if kind not in self.kinds:
            raise SpaceConfigError(f"unknown or unavailable grammar encoding {kind!r} (available: {self.kinds})")
        if kind == "onehot":
            return self._onehot(tree)
        if kind == "counts":
            return self._counts(tree)
        if len(arch) > self._max_nodes:
            raise ArchTooLargeError(f"the {kind} encoding holds graphs of at most {self._max_nodes} nodes (the node bound); "
                                    f"this architecture has {len(arch)}")
        if kind == "adjacency":
            return self._adjacency(arch)
        return encodings.path_encoding(arch, lambda n: self._path_label(arch, n), self._vocab, self._lengths)

    # ------------------------------------------------------------------ counts
    def _counts(self, tree: Derivation) -> np.ndarray:
        out = np.zeros(self._counts_length, dtype=np.float32)
        for _, node in positions(tree):
            out[self._offsets[node.symbol] + node.choice] += 1.0
        return out

    # ------------------------------------------------------------------ onehot
    def _layout(self, symbol: str, slot: _Slot, offset: int, budget: int) -> int | None:
        """Assigns offsets to the slots below ``slot`` depth-first; None once the length exceeds ``budget``."""
        productions = self.grammar.productions(symbol)
        if len(productions) > 1:
            self._slots[slot] = offset
            offset += len(productions)
        for p in productions:
            for i, child in enumerate(p.children):
                result = self._layout(child, (*slot, (p.index, i)), offset, budget)
                if result is None:
                    return None
                offset = result
        return offset if offset <= budget else None

    def _onehot(self, tree: Derivation) -> np.ndarray:
        out = np.zeros(self._onehot_length, dtype=np.float32)
        stack: list[tuple[_Slot, Derivation]] = [((), tree)]
        while stack:
            slot, node = stack.pop()
            if slot in self._slots:
                out[self._slots[slot] + node.choice] = 1.0
            stack.extend(((*slot, (node.choice, i)), c) for i, c in enumerate(node.children))
        return out

    # ------------------------------------------------------------------ graph encodings
    def _key(self, arch: Arch, node: str) -> str:
        return Terminal(arch.op(node), arch.attrs(node), "").key

    def _adjacency(self, arch: Arch) -> np.ndarray:
        n, pad = self._max_nodes, len(self._op_index)
        pos = {node: i for i, node in enumerate(arch.nodes)}
        matrix = np.zeros((n, n), dtype=np.float32)
        for u, v, _ in arch.edges:
            matrix[pos[u], pos[v]] = 1.0
        keys = [arch.op(node) if arch.op(node) in ("input", "output") else self._key(arch, node) for node in arch.nodes]
        ops = [self._op_index[k] for k in keys]
        return encodings.adjacency_onehot(matrix, ops + [pad] * (n - len(ops)), pad + 1)

    def _path_label(self, arch: Arch, node: str) -> str | None:
        op = arch.op(node)
        if op in PASS_THROUGH:
            return None
        return encodings.DEAD if op == "zero" else self._label[self._key(arch, node)]


def _longest_path(grammar: Grammar, budget: int) -> int:
    """Most labelled ops on an ``in`` -> ``out`` path of a graph the start symbol derives with at most ``budget`` op nodes.

    Dynamic programming over (symbol, op-node budget), iterated to its fixpoint so that recursive grammars are covered:
    a recursion that spends nodes without lengthening any path (a skip around it, say) does not lengthen the encoding.
    """
    best: dict[str, list[float]] = {s: [-math.inf] * (budget + 1) for s in grammar.symbols}  # [t]: at most t op nodes
    changed = True
    while changed:
        changed = False
        for s in grammar.order or grammar.symbols:
            new = [max(column) for column in zip(*(_longest_in(p, best, budget, grammar.min_terminals)
                                                     for p in grammar.productions(s)))]
            if new != best[s]:
                best[s], changed = new, True
    longest = best[grammar.start][budget]
    return int(longest) if longest > 0 else 0  # -inf: nothing fits the budget


def _longest_in(p: Production, best: dict[str, list[float]], budget: int, fewest: dict[str, int]) -> list[float]:
    """``best`` of ``p``'s lhs through ``p`` alone, per budget.

    Every part of ``p`` takes its fewest op nodes; the ``spare`` ones left go to the children on the path, shared
    among them by max-plus convolution along the RHS graph in topological order.
    """
    fixed = p.terminals + sum(fewest[c] for c in p.children)
    if fixed > budget:
        return [-math.inf] * (budget + 1)
    spare = budget - fixed
    item = dict(p.nodes)
    graph = nx.DiGraph([(u, v) for u, v, _ in p.edges])
    value: dict[str, list[float]] = {}
    for node in nx.topological_sort(graph):
        if node == IN:
            value[node] = [0.0] * (spare + 1)
            continue
        reach = [max(column) for column in zip(*(value[u] for u in graph.pred[node]))]
        kind = item.get(node)
        if isinstance(kind, str):  # a child: x spare nodes on top of its fewest
            gain = best[kind][fewest[kind]:fewest[kind] + spare + 1]
            reach = [max(reach[e - x] + gain[x] for x in range(e + 1)) for e in range(spare + 1)]
        elif kind is not None and kind.op not in PASS_THROUGH and kind.op != "zero":
            reach = [r + 1 for r in reach]
        value[node] = reach
    return [-math.inf] * fixed + value[OUT]


def _bare_path(grammar: Grammar) -> bool:
    """Whether some derived graph has an ``input`` -> ``output`` path through pass-through ops only (of length 0)."""
    bare: set[str] = set()  # symbols deriving such a graph; least fixpoint, so recursive grammars are covered
    changed = True
    while changed:
        changed = False
        for s in grammar.symbols:
            if s not in bare and any(_bare_in(p, bare) for p in grammar.productions(s)):
                bare.add(s)
                changed = True
    return grammar.start in bare


def _bare_in(p: Production, bare: set[str]) -> bool:
    keep = {IN, OUT} | {name for name, item in p.nodes if (item in bare if isinstance(item, str) else item.op in PASS_THROUGH)}
    graph = nx.DiGraph([(u, v) for u, v, _ in p.edges if u in keep and v in keep])
    return graph.has_node(IN) and graph.has_node(OUT) and nx.has_path(graph, IN, OUT)
