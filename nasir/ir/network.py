"""Whole networks: cells and fixed blocks composed into a skeleton (stem, stages, head).

A :class:`Network` is a frozen DAG of named :class:`Block` s, each holding an
:class:`~nasir.ir.arch.Arch` whose ops carry concrete channel counts. Frontends and the ONNX
backend lower networks block by block, so a whole NAS-Bench-201 or DARTS network is lowered by
the same per-op code as a single cell. Weight keys are ``"<block>/<node>/<role>"``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nasir.errors import InvalidArchError, SchemaError, ShapeMismatchError
from nasir.ir import analysis
from nasir.ir.arch import SCHEMA_VERSION, Arch
from nasir.ir.ops import FlopConvention, Shape, WeightSpec

__all__ = ["Block", "Network", "NETWORK_INPUT"]

NETWORK_INPUT = "input"
BLOCK_KINDS = ("stem", "cell", "reduction", "head", "block")


@dataclass(frozen=True)
class Block:
    """One block of a network.

    Args:
        name: unique id, used in weight keys (``cells.3``); letters, digits, ``_.-``.
        arch: the block's graph; it has one input node per entry of ``inputs``.
        inputs: names of earlier blocks (or ``"input"`` for the network input) feeding the
            block's input nodes in index order. Empty means "the previous block".
        kind: ``stem``, ``cell``, ``reduction``, ``head`` or ``block`` (for reports and encodings).
    """

    name: str
    arch: Arch
    inputs: tuple[str, ...] = ()
    kind: str = "block"


@dataclass(frozen=True)
class Network:
    """A validated, immutable stack of blocks with one network input of ``input_shape``."""

    blocks: tuple[Block, ...]
    input_shape: Shape
    name: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self._wired(self.blocks)))
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        self.block_shapes()  # validates shapes up front

    @staticmethod
    def _wired(blocks: Sequence[Block]) -> list[Block]:
        seen: list[str] = []
        out: list[Block] = []
        for b in blocks:
            if b.kind not in BLOCK_KINDS:
                raise InvalidArchError(f"block {b.name!r} has unknown kind {b.kind!r} (known: {BLOCK_KINDS})")
            if b.name in seen or b.name == NETWORK_INPUT or "/" in b.name:
                raise InvalidArchError(f"block name {b.name!r} is reused, reserved or contains '/'")
            inputs = b.inputs or ((seen[-1] if seen else NETWORK_INPUT),)
            for src in inputs:
                if src != NETWORK_INPUT and src not in seen:
                    raise InvalidArchError(f"block {b.name!r} reads {src!r}, which is not an earlier block")
            if len(inputs) != len(b.arch.input_nodes):
                raise InvalidArchError(f"block {b.name!r} has {len(b.arch.input_nodes)} input node(s) but is wired to {len(inputs)}")
            out.append(Block(b.name, b.arch, tuple(inputs), b.kind))
            seen.append(b.name)
        if not out:
            raise InvalidArchError("a network needs at least one block")
        return out

    def __copy__(self) -> Network:
        return self  # immutable: a copy is the object itself

    def __deepcopy__(self, memo: dict) -> Network:
        return self

    def block(self, name: str) -> Block:
        """The block called ``name``; raises KeyError if there is none."""
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(name)

    def block_input_shapes(self) -> dict[str, list[Shape]]:
        """Input shapes of every block, in block order."""
        outs: dict[str, Shape] = {NETWORK_INPUT: self.input_shape}
        ins: dict[str, list[Shape]] = {}
        for b in self.blocks:
            ins[b.name] = [outs[src] for src in b.inputs]
            try:
                outs[b.name] = analysis.infer_shapes(b.arch, ins[b.name])[b.arch.output_node]
            except ShapeMismatchError as err:
                raise ShapeMismatchError(f"block {b.name!r}: {err}") from None
        return ins

    def block_shapes(self) -> dict[str, Shape]:
        """Output shape of every block."""
        ins = self.block_input_shapes()
        return {b.name: analysis.infer_shapes(b.arch, ins[b.name])[b.arch.output_node] for b in self.blocks}

    @property
    def output_shape(self) -> Shape:
        """Output shape of the last block, i.e. of the network (inferred on each access)."""
        return self.block_shapes()[self.blocks[-1].name]

    def weight_specs(self) -> dict[str, WeightSpec]:
        """Every weight keyed ``"<block>/<node>/<role>"``, in block then node order."""
        ins = self.block_input_shapes()
        out: dict[str, WeightSpec] = {}
        for b in self.blocks:
            for key, spec in analysis.weight_specs(b.arch, ins[b.name]).items():
                out[f"{b.name}/{key}"] = spec
        return out

    def count_params(self) -> int:
        """Trainable parameters of the whole network."""
        return sum(w.size for w in self.weight_specs().values() if w.trainable)

    def count_flops(self, convention: FlopConvention = "macs") -> int:
        """FLOPs of the whole network for one sample: multiply-accumulates, NASLib's or ptflops' count.

        ``convention="naslib"`` equals NASLib's ``flops`` proxy times 1e6 (see :mod:`nasir.ir.ops`);
        on NAS-Bench-201 it reproduces ``flops_naslib_m_*`` of the package table for every cell.
        ``convention="ptflops"`` is what ptflops 0.6.9 counts on the lowered torch module.
        """
        ins = self.block_input_shapes()
        return sum(analysis.count_flops(b.arch, ins[b.name], convention) for b in self.blocks)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form with ``schema_version``: input shape, then every block's name, kind, inputs and IR."""
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "blocks": [{"name": b.name, "kind": b.kind, "inputs": list(b.inputs), "arch": b.arch.to_dict()} for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Network:
        """Inverse of :meth:`to_dict`; raises :class:`SchemaError` for another schema version or a missing field."""
        if not isinstance(data, Mapping) or data.get("schema_version") != SCHEMA_VERSION:
            raise SchemaError(f"not a nasir network of schema_version {SCHEMA_VERSION}")
        try:
            blocks = [Block(b["name"], Arch.from_dict(b["arch"]), tuple(b["inputs"]), b["kind"]) for b in data["blocks"]]
            return cls(tuple(blocks), tuple(data["input_shape"]), data.get("name", ""))
        except (KeyError, TypeError) as err:
            raise SchemaError(f"network JSON lacks field {err}") from None

    def to_json(self) -> str:
        """The :meth:`to_dict` form as JSON with sorted keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def canonical_hash(self) -> str:
        """Hash of the wiring plus each block's canonical hash (block names are part of it)."""
        parts = [[b.name, b.kind, list(b.inputs), b.arch.canonical_hash()] for b in self.blocks]
        digest = hashlib.sha256(json.dumps([list(self.input_shape), parts]).encode()).hexdigest()[:40]
        return f"v1:{digest}"
