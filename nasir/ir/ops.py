"""The op registry: one :class:`OpSpec` per op, holding everything framework-free about it.

An op's name, attribute schema, arity, shape rule, weights (roles, shapes, layout) and FLOP rule
live here and nowhere else. Frontends and backends keep their own lowering tables keyed by the
same names; parameter counts are derived from the declared trainable weights, so the count and
the lowered model cannot drift apart.

Layout conventions (the framework-neutral weight layout):
    * shapes are per sample, channels first: ``(C, H, W)`` for images, ``(F,)`` for vectors;
    * conv kernels are ``OIHW`` (out, in / groups, kh, kw); linear weights are ``(out, in)``;
    * batch-norm ``momentum`` follows PyTorch (weight of the new batch statistic).
FLOPs are counted in one of :data:`FLOP_CONVENTIONS`:

* ``"macs"`` (the default): multiply-accumulates of convs and linear layers, the convention of the
  DARTS, MobileNet and NAS-Bench-201 papers ("multiply-adds"); the op's ``flops`` rule.
* ``"naslib"``: NASLib's ``flops`` zero-cost proxy times 1e6 (NASLib reports MFLOPs of a batch of
  one). NASLib's ``get_model_stats`` sums tensorwatch's ``ModelStats.Flops`` (a torchstat fork)
  over the leaf ``nn.Module`` s of the forward pass: conv MACs plus one per output element for a
  conv bias; BatchNorm2d 2 per element when affine (normalise, scale-shift), else 1; ReLU and
  ReLU6 1 per element; Avg/MaxPool2d ``kernel**2`` per output element; AdaptiveAvgPool2d(1)
  ``C * (H + 1) * (W + 1)`` (torchstat counts its window bounds inclusively); Linear ``in * out``
  (bias not counted); 0 for anything else, including work done outside modules (residual adds,
  concat, identity, zero, flatten, hard-swish / hard-sigmoid, the SE rescale). ``global_avg_pool``
  counts as an ``nn.AdaptiveAvgPool2d(1)``, as in NASLib's NAS-Bench-201 head (exact on all 15,625
  cells); NASLib's NAS-Bench-101 network pools with ``torch.mean``, which torchstat does not see,
  so its values are ``C * (H + 1) * (W + 1)`` (41,472) lower.
* ``"ptflops"``: the per-module rules of the ptflops counter, 0.6.9 (:mod:`nasir.ir.parts`); the
  PC-DARTS and P-DARTS papers' ImageNet FLOPs are these counts (BENCHMARKS.md).

The two per-module conventions are counted from the op's ``parts`` (the modules of its reference
implementation, :mod:`nasir.ir.parts`), so each op lists its modules once for both.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from nasir.errors import AttributeValueError, UnknownNameError, UnknownOpError
from nasir.ir.parts import Part
from nasir.registry import Registry

__all__ = [
    "Shape",
    "Attr",
    "WeightSpec",
    "OpSpec",
    "OPS",
    "register_op",
    "get_op",
    "REQUIRED",
    "FLOP_CONVENTIONS",
    "FlopConvention",
]

Shape = tuple[int, ...]
ShapeRule = Callable[[Sequence[Shape], Mapping[str, Any]], Shape]
WeightRule = Callable[[Sequence[Shape], Shape, Mapping[str, Any]], dict[str, "WeightSpec"]]
FlopRule = Callable[[Sequence[Shape], Shape, Mapping[str, Any]], int]
PartsRule = Callable[[Sequence[Shape], Shape, Mapping[str, Any]], list[Part]]
FlopConvention = Literal["macs", "naslib", "ptflops"]
FLOP_CONVENTIONS: tuple[FlopConvention, ...] = ("macs", "naslib", "ptflops")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Attr:
    """Schema of one op attribute.

    Args:
        kind: accepted Python type(s); ``bool`` is never accepted where ``int`` is asked.
        default: value used when the attribute is omitted, or ``REQUIRED``.
        choices: allowed values, if the attribute is categorical.
        minimum: smallest allowed value for numbers.
        optional: whether ``None`` is a valid value (e.g. "same as the input channels").
        doc: one line for humans.
    """

    kind: type | tuple[type, ...]
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    optional: bool = False
    doc: str = ""

    def check(self, op: str, name: str, value: Any) -> Any:
        """Returns ``value`` if valid, else raises :class:`AttributeValueError` naming it."""
        if value is None and self.optional:
            return None
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if isinstance(value, Real) and not isinstance(value, (bool, int, float)):  # numpy scalars: plain ones hash alike
            value = int(value) if isinstance(value, Integral) else float(value)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds) or (float in kinds and isinstance(value, int))
        if not ok:
            names = "/".join(k.__name__ for k in kinds)
            raise AttributeValueError(f"op {op!r} attribute {name!r} must be {names}, got {value!r}")
        if float in kinds and int not in kinds and isinstance(value, int):
            value = float(value)  # 1 and 1.0 are one attribute value: one canonical hash, one JSON spelling
        if isinstance(value, float) and not math.isfinite(value):
            raise AttributeValueError(f"op {op!r} attribute {name!r} must be finite, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise AttributeValueError(f"op {op!r} attribute {name!r} must be one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise AttributeValueError(f"op {op!r} attribute {name!r} must be >= {self.minimum}, got {value!r}")
        return value


@dataclass(frozen=True)
class WeightSpec:
    """One parameter or buffer of an op in the neutral layout.

    ``trainable`` weights count as parameters; buffers (e.g. batch-norm running statistics) do not.
    """

    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def size(self) -> int:
        """Number of elements: the product of ``shape`` (1 for a scalar)."""
        n = 1
        for d in self.shape:
            n *= d
        return n


def _no_weights(_in: Sequence[Shape], _out: Shape, _attrs: Mapping[str, Any]) -> dict[str, WeightSpec]:
    return {}


def _no_flops(_in: Sequence[Shape], _out: Shape, _attrs: Mapping[str, Any]) -> int:
    return 0


@dataclass(frozen=True)
class OpSpec:
    """Everything framework-free about one op.

    Args:
        name: registry key, also the label used in hashes, encodings and JSON.
        doc: one line saying what the op computes (and in which order, for composites).
        shape: maps input shapes and attributes to the output shape; raises
            :class:`~nasir.errors.ShapeMismatchError` (without node name) when they don't fit.
        min_inputs, max_inputs: arity; ``max_inputs=None`` means unbounded.
        attrs: attribute schema.
        weights: declares the op's weights (role -> :class:`WeightSpec`) for given shapes.
        flops: multiply-accumulate count for given shapes (convention ``"macs"``).
        parts: the modules of the op's reference implementation for given shapes, which the
            per-module conventions (``"naslib"``, ``"ptflops"``) count; ``None`` means those equal
            ``flops`` (ops with no counted module, or a user op that declares MACs only).
        commutative: whether input order is irrelevant (``add``): hashing ignores ports then.
    """

    name: str
    doc: str
    shape: ShapeRule
    min_inputs: int = 1
    max_inputs: int | None = 1
    attrs: Mapping[str, Attr] = field(default_factory=dict)
    weights: WeightRule = _no_weights
    flops: FlopRule = _no_flops
    parts: PartsRule | None = None
    commutative: bool = False

    def count_flops(self, ins: Sequence[Shape], out: Shape, attrs: Mapping[str, Any], convention: FlopConvention = "macs") -> int:
        """FLOPs of one node in ``convention``, one of :data:`FLOP_CONVENTIONS`."""
        if convention not in FLOP_CONVENTIONS:
            raise UnknownNameError(f"unknown FLOP convention {convention!r} (known: {list(FLOP_CONVENTIONS)})")
        if convention == "macs" or self.parts is None:
            return self.flops(ins, out, attrs)
        return sum(getattr(part, convention)() for part in self.parts(ins, out, attrs))

    def resolve_attrs(self, given: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Validates attributes and fills defaults; returns a read-only mapping."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.attrs))
        if unknown:
            raise AttributeValueError(f"op {self.name!r} has no attribute {unknown[0]!r} (known: {sorted(self.attrs)})")
        out: dict[str, Any] = {}
        for key, spec in sorted(self.attrs.items()):
            if key in given:
                out[key] = spec.check(self.name, key, given[key])
            elif spec.default is REQUIRED:
                raise AttributeValueError(f"op {self.name!r} requires attribute {key!r}")
            else:
                out[key] = spec.default
        return MappingProxyType(out)

    def arity_text(self) -> str:
        """Human text for the accepted number of inputs."""
        if self.max_inputs == self.min_inputs:
            return f"{self.min_inputs} input{'s' if self.min_inputs != 1 else ''}"
        if self.max_inputs is None:
            return f"at least {self.min_inputs} inputs"
        return f"{self.min_inputs} to {self.max_inputs} inputs"


OPS: Registry[OpSpec] = Registry("op", UnknownOpError)


def register_op(spec: OpSpec, registry: Registry[OpSpec] = OPS) -> OpSpec:
    """Adds a (user-defined) op to the registry; frontends then register lowerings for it."""
    return registry.register(spec.name, spec)


def get_op(name: str, registry: Registry[OpSpec] = OPS) -> OpSpec:
    """Looks up an op; unknown names raise :class:`~nasir.errors.UnknownOpError` with suggestions."""
    return registry.get(name)
