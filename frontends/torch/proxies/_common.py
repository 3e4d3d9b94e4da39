"""Shared plumbing for the PyTorch proxies: subjects (a private model copy), input batches, layers.

Every proxy works on its own copy of the model (lowered afresh from a Network with ``seed``, or a
``deepcopy`` of a caller's module), so the caller's parameters, buffers, modes and hooks are
never touched. Batches are drawn from the data with a numpy Generator seeded by ``seed``: the same
seed gives the same images, augmentation and initial weights, hence the same score.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nasir.data import CIFAR10_MEAN, CIFAR10_STD, ImageData
from nasir.errors import SchemaError, ShapeMismatchError
from nasir.ir import Arch, Network
from nasir.rng import Seed, as_rng
from nasir.frontends.torch.data import augment, normalize
from nasir.frontends.torch.modules import NetworkModule, lower

__all__ = ["Subject", "Batch", "copy_module", "make_subject", "make_batch", "weight_layers", "torch_seed"]


@dataclass
class Subject:
    """A private model to score: ``model`` (a copy, on ``device``) and, when known, its IR ``network``."""

    model: nn.Module
    network: Network | None
    device: torch.device
    seed: int

    def fresh(self) -> nn.Module:
        """Another private copy (for proxies that rewrite the model, e.g. synflow's |theta|)."""
        return copy_module(self.model)


def copy_module(model: nn.Module) -> nn.Module:
    """``deepcopy`` that shares the immutable IR objects a lowered module holds (Arch/Network keep
    read-only mappings that cannot be deep-copied, and need not be)."""
    memo: dict[int, Any] = {}
    for m in model.modules():
        for value in vars(m).values():
            if isinstance(value, (Arch, Network)):
                memo[id(value)] = value
    return copy.deepcopy(model, memo)


@dataclass(frozen=True)
class Batch:
    """Normalised float32 NCHW images and int64 labels on the scoring device."""

    x: torch.Tensor
    y: torch.Tensor


def torch_seed(seed: Seed) -> int:
    """An int seed for torch from an int or Generator (a Generator advances once)."""
    return int(as_rng(seed).integers(0, 2**62)) if not isinstance(seed, (int, np.integer)) else int(seed)


def make_subject(obj: Network | nn.Module, seed: Seed, device: str | torch.device | None) -> Subject:
    """Lowers a Network (PyTorch default init from ``seed``) or deep-copies a module, on ``device``."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    s = torch_seed(seed)
    if isinstance(obj, Network):
        return Subject(lower(obj, seed=s, device=dev), obj, dev, s)
    if isinstance(obj, nn.Module):
        model = copy_module(obj).to(dev)
        return Subject(model, obj.network if isinstance(obj, NetworkModule) else None, dev, s)
    raise TypeError(f"proxies score a nasir Network or a torch nn.Module, got {type(obj).__name__}")


def _arrays(data: Any) -> tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor, tuple, tuple]:
    if isinstance(data, ImageData):
        return data.x_train, data.y_train, data.mean, data.std
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1], CIFAR10_MEAN, CIFAR10_STD
    raise SchemaError("proxy data must be a nasir.data.ImageData or an (x, y) pair of uint8 NHWC images "
                      f"(or float NCHW already normalised) and labels; got {type(data).__name__}")


def make_batch(data: Any, batch_size: int, seed: Seed, *, augment_images: bool, device: torch.device,
               input_shape: tuple[int, ...] | None = None) -> Batch:
    """Draws ``batch_size`` training images (without replacement when possible) and labels.

    uint8 NHWC images get NAS-Bench-201's augmentation (pad-4 crop, flip) when ``augment_images``
    and are normalised with the data's mean/std; float NCHW input is used as given.
    """
    x, y, mean, std = _arrays(data)
    n = len(x)
    if n == 0:
        raise SchemaError("proxy data holds no training images")
    rng = as_rng(seed)
    idx = rng.choice(n, size=batch_size, replace=n < batch_size)
    xb = torch.as_tensor(np.asarray(x[idx]) if isinstance(x, np.ndarray) else x[torch.as_tensor(idx)])
    yb = torch.as_tensor(np.asarray(y)[idx] if isinstance(y, np.ndarray) else y[torch.as_tensor(idx)]).long()
    if xb.dtype == torch.uint8:
        if augment_images:
            gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
            xb = augment(xb, gen)
        xb = normalize(xb, mean, std)
    xb = xb.float().to(device)
    if input_shape is not None and tuple(xb.shape[1:]) != tuple(input_shape):
        raise ShapeMismatchError(f"proxy data images have shape {tuple(xb.shape[1:])} (C, H, W) but the network "
                                 f"takes {tuple(input_shape)}; pass images of the network's data set")
    return Batch(xb, yb.to(device))


def weight_layers(model: nn.Module) -> Iterator[nn.Module]:
    """Conv2d and Linear layers in ``model.modules()`` order (zero-cost-nas ``get_layer_metric_array``)."""
    return (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def input_shape(subject: Subject) -> tuple[int, ...] | None:
    """The per-sample input shape when the IR network (or module attribute) says it."""
    if subject.network is not None:
        return tuple(subject.network.input_shape)
    shapes = getattr(subject.model, "input_shapes", None)
    return tuple(shapes[0]) if shapes else None
