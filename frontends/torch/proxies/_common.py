"""Shared plumbing for the PyTorch proxies: subjects (a private model copy), input batches, layers.

Every proxy works on its own copy of the model (lowered afresh from a Network with ``seed``, or a
``deepcopy`` of a caller's module), so the caller's parameters, buffers, modes and hooks are
never touched. Batches are drawn from the data with a numpy Generator seeded by ``seed``: the same
seed gives the same images, augmentation and initial weights, hence the same score.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize, prune, remove_spectral_norm, remove_weight_norm
from torch.nn.utils.prune import BasePruningMethod
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from nasir.errors import ModelTypeError
from nasir.ir import Arch, Network
from nasir.proxy_batches import check_dtype, check_image_shape, class_count, draw_indices, int_seed, training_arrays
from nasir.rng import Seed, as_rng
from nasir.frontends.torch.data import augment, normalize
from nasir.frontends.torch.modules import NetworkModule, lower

__all__ = ["Subject", "Batch", "copy_module", "make_subject", "make_batch", "model_dtype", "weight_layers", "forward_hooks",
           "input_shape", "classes", "normal_reinit", "relu_modules"]

_CONV_LINEAR = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)
_WEIGHT_HOOKS = (WeightNorm, SpectralNorm, BasePruningMethod)  # forward pre-hooks that compute a layer's weight


@dataclass
class Subject:
    """A private model to score: ``model`` (a copy, on ``device``) and, when known, its IR ``network``."""

    model: nn.Module
    network: Network | None
    device: torch.device
    seed: int

    def fresh(self) -> nn.Module:
        """Another private copy: a proxy rewrites the model it scores (modes, grads, synflow's |theta|)."""
        return copy_module(self.model)


def copy_module(model: nn.Module) -> nn.Module:
    """``deepcopy`` without the caller's hooks (forward, backward, state-dict: a proxy scores the bare
    architecture, and a hook would otherwise fire on, or rewrite, every proxy pass) that shares the
    immutable IR objects a lowered module holds (their read-only mappings cannot be deep-copied, and
    need not be).

    A layer under ``torch.nn.utils.parametrize`` (``parametrizations.weight_norm``, ``spectral_norm``, ...) or the older
    hook-based ``weight_norm``, ``spectral_norm`` and ``prune`` computes its weight from other tensors before each
    pass; the copy gets that effective weight as a plain parameter instead (the utilities' own removal), so every proxy
    reads it, and its gradient, like any layer's. (A hook-computed weight is not a graph leaf, which ``deepcopy``
    refuses: it is copied detached first.)"""
    memo: dict[int, Any] = {}
    for m in model.modules():
        for name, value in vars(m).items():
            if isinstance(value, (Arch, Network)):
                memo[id(value)] = value
            elif "hook" in name and isinstance(value, dict):  # the copy gets the weight-computing hooks only, to remove
                memo[id(value)] = type(value)((k, h) for k, h in value.items() if isinstance(h, _WEIGHT_HOOKS))
            elif isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    twin = copy.deepcopy(model, memo)
    for m in list(twin.modules()):
        m._is_full_backward_hook = None  # no backward hook left: either kind may be registered again
        for hook in reversed(list(m._forward_pre_hooks.values())):  # the last applied first: it may act on another's input
            if isinstance(hook, WeightNorm):
                remove_weight_norm(m, hook.name)
            elif isinstance(hook, SpectralNorm):
                remove_spectral_norm(m, hook.name)
            else:
                prune.remove(m, hook._tensor_name)
        if parametrize.is_parametrized(m):
            m.__class__ = _own_class(type(m))  # removal edits the class, which the caller's module shares
            for name in list(m.parametrizations):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)
    return twin


def _own_class(cls: type) -> type:
    """A copy of a parametrized module's class (``parametrize`` makes one per module and keeps each parametrized
    tensor there as a property): the copy can drop them without touching the caller's module."""
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    return type(cls.__name__, cls.__bases__, namespace)


@dataclass(frozen=True)
class Batch:
    """Normalised NCHW images (the scoring dtype) and int64 labels (None when the data has none) on the scoring device."""

    x: torch.Tensor
    y: torch.Tensor | None


def make_subject(obj: Network | nn.Module, seed: Seed, device: str | torch.device | None, dtype: str = "float32") -> Subject:
    """Lowers a Network (PyTorch default init from ``seed``) or deep-copies a module, on ``device``;
    ``dtype="float64"`` widens the float32 network (the same weights, in double precision)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    wide = getattr(torch, check_dtype(dtype))
    s = int_seed(seed)
    if isinstance(obj, Network):
        return Subject(lower(obj, seed=s, device=dev).to(wide), obj, dev, s)
    if isinstance(obj, nn.Module):
        model = copy_module(obj).to(dev, wide)
        return Subject(model, obj.network if isinstance(obj, NetworkModule) else None, dev, s)
    raise ModelTypeError(f"proxies score a nasir Network or a torch nn.Module, got {type(obj).__name__}")


def make_batch(data: Any, batch_size: int, seed: Seed, *, augment_images: bool, device: torch.device,
               input_shape: tuple[int, ...] | None = None, dtype: str = "float32", classes: int | None = None) -> Batch:
    """Draws ``batch_size`` training images (without replacement when possible) and labels.

    uint8 NHWC images get NAS-Bench-201's augmentation (pad-4 crop, flip) when ``augment_images``
    and are normalised with the data's mean/std; float NCHW input is used as given. Labels must
    be below ``classes`` when given (the network's class count, for a batch a loss reads).
    """
    x, y, mean, std = training_arrays(data, classes)
    rng = as_rng(seed)
    idx = draw_indices(len(x), batch_size, rng)
    xb = torch.as_tensor(np.asarray(x[idx]) if isinstance(x, np.ndarray) else x[torch.as_tensor(idx)])
    yb = None if y is None else torch.as_tensor(np.asarray(y)[idx] if isinstance(y, np.ndarray) else y[torch.as_tensor(idx)])
    if xb.dtype == torch.uint8:
        if augment_images:
            gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
            xb = augment(xb, gen)
        xb = normalize(xb, mean, std)
    xb = xb.float().to(device, getattr(torch, check_dtype(dtype)))  # float64: the float32 images widened
    check_image_shape(tuple(xb.shape[1:]), input_shape)
    return Batch(xb, None if yb is None else yb.to(device, torch.int64))


@contextmanager
def forward_hooks(modules: Iterable[nn.Module], hook: Callable[..., Any]) -> Iterator[None]:
    """``hook`` on every module's forward for the ``with`` block, removed however the block ends
    (a proxy's model copy may be scored again, e.g. by the fused passes)."""
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype the model computes in (float32, or float64 when scored in double precision)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def weight_layers(model: nn.Module) -> Iterator[nn.Module]:
    """Conv2d and Linear layers in ``model.modules()`` order (zero-cost-nas ``get_layer_metric_array``)."""
    return (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def input_shape(subject: Subject) -> tuple[int, ...] | None:
    """The per-sample input shape when the IR network (or module attribute) says it."""
    if subject.network is not None:
        return tuple(subject.network.input_shape)
    shapes = getattr(subject.model, "input_shapes", None)
    return tuple(shapes[0]) if shapes else None


def classes(subject: Subject) -> int | None:
    """The network's number of classes when its IR (or an ArchModule's output shape) says it: labels must be below it."""
    if subject.network is not None:
        return class_count(subject.network.output_shape)
    return class_count(getattr(subject.model, "output_shape", None))


def normal_reinit(model: nn.Module, gen: torch.Generator, std: Callable[[torch.Tensor], float]) -> None:
    """Re-draws every conv/linear weight as ``N(0, std(weight)^2)`` on the CPU from ``gen`` (the same
    values on every device), zeroes their biases and sets affine norms to weight 1 / bias 0: the
    re-initialisations of AZ-NAS (Kaiming) and SWAP (unit normal)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _CONV_LINEAR):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std(m.weight))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _NORMS) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def relu_modules(model: nn.Module) -> list[nn.Module]:
    """Every ``nn.ReLU`` of ``model``: the units NASWOT and SWAP read."""
    return [m for m in model.modules() if isinstance(m, nn.ReLU)]
