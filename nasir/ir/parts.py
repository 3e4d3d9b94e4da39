"""The module-level parts an op is made of, and how each per-module FLOP convention counts them.

Counters such as torchstat (behind NASLib's ``flops``) and ptflops walk the ``nn.Module`` s of a
forward pass and count each by its type. An op therefore declares its parts once, in the registry
(:attr:`nasir.ir.OpSpec.parts`: the convs, BNs, activations and pools of its reference
implementation, with their shapes), and each convention is one rule per part kind here: adding a
convention means adding a method to each part, not a rule to each op.

* ``naslib``: see :mod:`nasir.ir.ops`.
* ``ptflops``: the per-module rules of ptflops 0.6.9 (sovrasov/flops-counter.pytorch): conv MACs
  plus one per output element if biased; linear ``in * out`` plus ``out`` if biased; BatchNorm 2
  per element if affine, else 1 (1-d BN too); ReLU and ReLU6 1 per output element; every pooling
  layer, adaptive ones included, 1 per input element; hard-swish, hard-sigmoid, adds,
  concatenations and the SE rescale 0. Global pools count like the ``nn`` pooling modules of the
  official DARTS and torchvision networks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from math import prod

__all__ = ["Part", "Conv", "Linear", "BatchNorm", "Activation", "Pool", "GlobalPool"]

Shape = tuple[int, ...]
_COUNTED_ACTIVATIONS = ("relu", "relu6")  # both counters' ReLU family; hard-swish / hard-sigmoid have no rule


class Part(ABC):
    """One module of an op's reference implementation, with its FLOPs under each per-module convention."""

    @abstractmethod
    def naslib(self) -> int:
        """FLOPs as torchstat counts this module (NASLib's ``flops`` proxy)."""

    @abstractmethod
    def ptflops(self) -> int:
        """FLOPs as ptflops 0.6.9 counts this module."""


@dataclass(frozen=True)
class Conv(Part):
    """``nn.Conv2d`` from ``cin`` channels to the ``(C, H, W)`` output ``out``."""

    cin: int
    out: Shape
    kernel: int
    groups: int = 1
    bias: bool = False

    def _macs(self) -> int:
        return prod(self.out) * (self.cin // self.groups) * self.kernel * self.kernel

    def naslib(self) -> int:
        return self._macs() + (prod(self.out) if self.bias else 0)

    def ptflops(self) -> int:
        return self.naslib()


@dataclass(frozen=True)
class Linear(Part):
    """``nn.Linear(in_features, out_features)``."""

    in_features: int
    out_features: int
    bias: bool = True

    def naslib(self) -> int:
        return self.in_features * self.out_features  # torchstat leaves the bias out

    def ptflops(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


@dataclass(frozen=True)
class BatchNorm(Part):
    """Batch normalisation of a tensor of ``shape``."""

    shape: Shape
    affine: bool = True

    def naslib(self) -> int:
        return self.ptflops() if len(self.shape) == 3 else 0  # torchstat has no BatchNorm1d rule

    def ptflops(self) -> int:
        return prod(self.shape) * (2 if self.affine else 1)


@dataclass(frozen=True)
class Activation(Part):
    """Element-wise activation ``fn`` with output ``shape``."""

    fn: str
    shape: Shape

    def naslib(self) -> int:
        return prod(self.shape) if self.fn in _COUNTED_ACTIVATIONS else 0

    def ptflops(self) -> int:
        return self.naslib()


@dataclass(frozen=True)
class Pool(Part):
    """Max or average pooling with a ``kernel`` x ``kernel`` window, input ``ins``, output ``out``."""

    ins: Shape
    out: Shape
    kernel: int

    def naslib(self) -> int:
        return prod(self.out) * self.kernel**2

    def ptflops(self) -> int:
        return prod(self.ins)


@dataclass(frozen=True)
class GlobalPool(Part):
    """Average over H and W of the ``(C, H, W)`` input ``ins`` (``nn.AdaptiveAvgPool2d(1)``)."""

    ins: Shape

    def naslib(self) -> int:
        c, h, w = self.ins
        return c * (h + 1) * (w + 1)  # torchstat counts an inclusive window

    def ptflops(self) -> int:
        return prod(self.ins)
