"""A grammar as a search space: the :class:`~nasir.space.SearchSpace` protocol, derived from the grammar.

Strategies see Archs; the space keeps the derivation of each in its node ids and reads it back
(:meth:`GrammarSpace.derivation`), so mutation, crossover, neighbours and the one-hot encoding work
on derivation trees while the rest of nasir (hashing, lowering, export, studies) sees plain IR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from nasir.errors import SkeletonOptionError, SpaceConfigError, SpaceTooLargeError, UnsatisfiableConstraintsError
from nasir.grammar.constraints import Constraints
from nasir.grammar.counting import count, enumerate_trees
from nasir.grammar.derivation import Derivation, check, derive_arch, from_text, parse_arch, to_text
from nasir.grammar.encoding import TREE_KINDS, Encoder
from nasir.grammar.grammar import Grammar
from nasir.grammar.moves import Moves
from nasir.ir import Arch, Block, Network, Shape
from nasir.rng import Seed, as_rng

__all__ = ["GrammarSpace"]

NetworkBuilder = Callable[..., Network]


class GrammarSpace:
    """The search space of a grammar's derivations that meet ``constraints``.

    Args:
        grammar: the grammar.
        name: the space's name (for ``SPACES.register(space.name, space)``, studies, reports).
        network: ``(arch, **skeleton) -> Network`` putting a derived cell into a skeleton (e.g.
            NB201's ``tiny_network``); or
        input_shape: when the grammar derives whole networks, the per-sample input shape: the network
            is then one block holding the derived graph.
        constraints: bounds on nodes, edges, parameters and FLOPs (the last two need a network).
        sampling: ``"production"`` or ``"uniform"`` (see :class:`~nasir.grammar.moves.Moves`).
        max_depth: sampling depth limit for recursive grammars.
        max_tries: draws before a move that keeps failing the constraints gives up.
        enumerate_limit: largest size :meth:`enumerate` agrees to walk.
    """

    def __init__(self, grammar: Grammar, *, name: str, network: NetworkBuilder | None = None, input_shape: Shape | None = None,
                 constraints: Constraints | None = None, sampling: str = "production", max_depth: int = 20,
                 max_tries: int = 1000, enumerate_limit: int = 10**6) -> None:
        if network is not None and input_shape is not None:
            raise SpaceConfigError("give network= (a skeleton around the derived cell) or input_shape= (the grammar derives "
                                   "whole networks), not both")
        self.constraints = constraints or Constraints()
        if self.constraints.needs_network and network is None and input_shape is None:
            raise SpaceConfigError("parameter and FLOP bounds need network= or input_shape= to build the network they are counted on")
        self.name, self.grammar = name, grammar
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.max_tries, self.enumerate_limit = max_tries, enumerate_limit
        self._builder = network
        self._moves = Moves(grammar, sampling=sampling, max_depth=max_depth, max_nodes=self.constraints.node_bound)
        self._encoder = Encoder(grammar, node_bound=self.constraints.node_bound)
        self.encodings: tuple[str, ...] = self._encoder.kinds

    def __repr__(self) -> str:
        return f"GrammarSpace({self.name!r}, {self.grammar!r}, {self.constraints})"

    # ------------------------------------------------------------------ derivations <-> Archs
    def derive(self, tree: Derivation) -> Arch:
        """The architecture of a derivation (checked against the grammar, not the constraints)."""
        check(self.grammar, tree)
        return derive_arch(self.grammar, tree)

    def derivation(self, arch: Arch) -> Derivation:
        """The derivation of an architecture this space produced (read from its node ids)."""
        return parse_arch(self.grammar, arch)

    def admits(self, arch: Arch) -> bool:
        """Whether ``arch`` meets the constraints."""
        return self.constraints.violation(arch, self.network) is None

    def _draw(self, make: Callable[[], Sequence[Derivation]], what: str, *,
              differs_from: Arch | None = None) -> list[tuple[Derivation, Arch]]:
        """Calls ``make`` until every derivation it returns meets the constraints (and, with
        ``differs_from``, derives a network other than that one)."""
        last = "no draw"
        for _ in range(self.max_tries):
            drawn = [(t, derive_arch(self.grammar, t)) for t in make()]
            last = next((v for v in (self.constraints.violation(a, self.network) for _, a in drawn) if v), None)
            if last is None and differs_from is not None and any(a == differs_from for _, a in drawn):
                last = "the network it started from"
            if last is None:
                return drawn
        raise UnsatisfiableConstraintsError(f"{what}: no draw met {self.constraints} in {self.max_tries} tries (last: {last})")

    # ------------------------------------------------------------------ protocol: random moves
    def sample_tree(self, seed: Seed = None) -> Derivation:
        rng = as_rng(seed)
        return self._draw(lambda: [self._moves.sample(rng)], "sample")[0][0]

    def sample(self, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        return self._draw(lambda: [self._moves.sample(rng)], "sample")[0][1]

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        """Re-derives one random sub-tree of ``arch``'s derivation (Schrodi et al., Sec. 4); redrawn while
        it derives ``arch``'s own network, which two derivations can share (an attribute no op reads)."""
        rng, tree = as_rng(seed), self.derivation(arch)
        return self._draw(lambda: [self._moves.mutate(tree, rng)], "mutate", differs_from=arch)[0][1]

    def crossover(self, a: Arch, b: Arch, seed: Seed = None) -> tuple[Arch, Arch]:
        """Both offspring of swapping same-symbol sub-trees of ``a`` and ``b``; redrawn until both meet the constraints."""
        rng, ta, tb = as_rng(seed), self.derivation(a), self.derivation(b)
        (_, c1), (_, c2) = self._draw(lambda: self._moves.crossover(ta, tb, rng), "crossover")
        return c1, c2

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Distinct networks one production change away that meet the constraints, in a deterministic order;
        a change that derives ``arch``'s own network again, or one already listed, is left out."""
        archs = (derive_arch(self.grammar, t) for t in self._moves.neighbors(self.derivation(arch)))
        distinct = dict.fromkeys(a for a in archs if a != arch)  # Arch equality is graph isomorphism
        return [a for a in distinct if self.admits(a)]

    # ------------------------------------------------------------------ protocol: the whole space
    def size(self) -> int | None:
        """Number of derivations meeting the constraints (DP for node and edge bounds); None when infinite or
        when parameter/FLOP bounds would need walking more than ``enumerate_limit`` derivations."""
        c = self.constraints
        if not self.grammar.finite and c.max_nodes is None and c.max_edges is None:
            return None
        total = count(self.grammar, c.max_nodes, c.max_edges)
        if c.structural:
            return total
        return sum(1 for _ in self.enumerate()) if total <= self.enumerate_limit else None

    def enumerate_trees(self) -> Iterator[Derivation]:
        """Every derivation meeting the constraints, in grammar order.

        Raises:
            InfiniteLanguageError: a recursive grammar without a node or edge bound.
            SpaceTooLargeError: more than ``enumerate_limit`` derivations to walk.
        """
        c = self.constraints
        total = count(self.grammar, c.max_nodes, c.max_edges)
        if total > self.enumerate_limit:
            raise SpaceTooLargeError(f"space {self.name!r} has {total:,} derivations, over enumerate_limit="
                                     f"{self.enumerate_limit:,}; sample it, or raise enumerate_limit")
        trees = enumerate_trees(self.grammar, c.max_nodes, c.max_edges)
        return trees if c.structural else (t for t in trees if self.admits(derive_arch(self.grammar, t)))

    def enumerate(self) -> Iterator[Arch]:
        return (derive_arch(self.grammar, t) for t in self.enumerate_trees())

    def encode(self, arch: Arch, kind: str | None = None) -> np.ndarray:
        """A fixed-length vector; ``kind`` is one of :attr:`encodings` (default: the first, ``onehot`` for a finite
        grammar, ``counts`` for a recursive one; ``adjacency`` and ``path`` of a recursive grammar need a node or edge
        bound in ``constraints``, see :class:`~nasir.grammar.encoding.Encoder`).

        Raises:
            SpaceConfigError: ``kind`` is not available.
            ArchTooLargeError: a graph encoding of an architecture over the node bound.
        """
        kind = kind or self.encodings[0]
        return self._encoder.encode(kind, self.derivation(arch) if kind in TREE_KINDS else None, arch)

    # ------------------------------------------------------------------ protocol: text and networks
    def format(self, arch: Arch) -> str:
        """The derivation as text, ``SYMBOL:production(children...)``."""
        return to_text(self.derivation(arch))

    def parse(self, text: str) -> Arch:
        return self.derive(from_text(text))

    def network(self, arch: Arch, **skeleton: Any) -> Network:
        """The network around ``arch``: the ``network`` builder's, or one block over ``input_shape``."""
        if self._builder is not None:
            return self._builder(arch, **skeleton)
        if self.input_shape is None:
            raise SpaceConfigError(f"space {self.name!r} has no skeleton; create it with network= or input_shape=")
        shape = tuple(skeleton.pop("input_shape", self.input_shape))
        if skeleton:
            raise SkeletonOptionError(f"a one-block network only takes input_shape, not {sorted(skeleton)}")
        return Network((Block("net", arch),), shape, name=self.name)
