"""The framework-free half of drawing a proxy's input batch, shared by the torch and TF frontends.

Both frontends must draw the same images for the same seed (cross-framework parity), so the seed
handling, the accepted data forms, the index draw and the shape check live here once; each frontend
only indexes, augments and normalises in its own tensor type.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasir.data import CIFAR10_MEAN, CIFAR10_STD, ImageData
from nasir.errors import OptionValueError, SchemaError, ShapeMismatchError
from nasir.proxies import ProxyImpl
from nasir.proxy_math import ProxyWarning
from nasir.rng import Seed, as_rng

__all__ = ["PROXY_DTYPES", "check_dtype", "int_seed", "training_arrays", "plan_batches", "class_count", "draw_indices",
           "check_image_shape"]

PROXY_DTYPES = ("float32", "float64")


def check_dtype(dtype: str) -> str:
    """The scoring precision, checked. float64 scores the float32 network and batch widened: the exact
    score of the same problem, where float32 round-off (amplified by some proxies) is not the question."""
    if dtype not in PROXY_DTYPES:
        raise OptionValueError(f"proxy dtype must be one of {PROXY_DTYPES}, got {dtype!r}")
    return dtype


def int_seed(seed: Seed) -> int:
    """An int seed from an int or Generator (a Generator advances once, so later draws stay in step)."""
    return int(as_rng(seed).integers(0, 2**62)) if not isinstance(seed, (int, np.integer)) else int(seed)


def training_arrays(data: Any, classes: int | None = None) -> tuple[Any, Any, tuple, tuple]:
    """``(images, labels, mean, std)`` of the accepted proxy data forms: an ImageData, or an (x, y) pair
    of uint8 NHWC images (or float NCHW already normalised) with CIFAR-10's statistics; ``y`` may be None.

    Labels are checked here, once per batch, so a bad one is a SchemaError naming it rather than an
    IndexError deep inside a loss (or a silent wrong draw): one non-negative integer per image, and
    below ``classes`` (the network's output width) when the caller knows it and reads the labels.
    """
    if isinstance(data, ImageData):
        x, y, mean, std = data.x_train, data.y_train, data.mean, data.std
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        (x, y), mean, std = data, CIFAR10_MEAN, CIFAR10_STD
    else:
        raise SchemaError("proxy data must be a nasir.data.ImageData or an (x, y) pair of uint8 NHWC images "
                          f"(or float NCHW already normalised) and labels (or None); got {type(data).__name__}")
    if y is not None:
        _check_labels(_host(y), len(x), classes)
    return x, y, mean, std


def _host(labels: Any) -> np.ndarray:
    """Labels as a numpy array: numpy and CPU tensors convert as they are, a torch tensor on a GPU is copied back."""
    try:
        return np.asarray(labels)
    except TypeError:
        return np.asarray(labels.cpu())


def _check_labels(labels: np.ndarray, n_images: int, classes: int | None) -> None:
    """Raises SchemaError for labels a loss would index out of range, or that do not pair one with each image."""
    if labels.ndim != 1 or len(labels) != n_images:
        raise SchemaError(f"proxy data has {n_images} training images but labels of shape {labels.shape}; "
                          "pass one class index per image")
    if not np.issubdtype(labels.dtype, np.integer):
        raise SchemaError(f"proxy data labels must be integer class indices, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise SchemaError(f"proxy data labels must be non-negative class indices, got {labels.min()}")
    if classes is not None and labels.size and labels.max() >= classes:
        raise SchemaError(f"proxy data has label {labels.max()} but the network has {classes} classes "
                          f"(labels 0..{classes - 1}); pass the labels of the network's data set")


def plan_batches(proxies: Sequence[ProxyImpl], data: Any, shape_known: bool) -> dict[tuple[int, bool], bool]:
    """``{(batch size, augment): whether a proxy fed that batch reads its labels}`` for the proxies to run.

    Given data, every proxy that runs the network gets a batch of it (those that need no images read
    only its shape); without data, only a proxy that needs images or labels, or one whose input shape
    is unknown (a bare module), cannot run: SchemaError naming it, before anything is computed.
    """
    has_labels = data is not None and training_arrays(data)[1] is not None
    plan: dict[tuple[int, bool], bool] = {}
    for p in proxies:
        name, needs = p.spec.name, p.spec.needs
        if data is None and "data" in needs:
            raise SchemaError(f"proxy {name!r} needs data; pass a nasir.data.ImageData or an (x, y) pair of images and labels")
        if "labels" in needs and not has_labels:
            raise SchemaError(f"proxy {name!r} needs labels; the data has none")
        if p.spec.ir_only:
            continue
        if data is None:
            if not shape_known:
                raise SchemaError(f"proxy {name!r} needs data or a module with input_shapes: the input shape is unknown")
            continue
        key = (p.batch_size, p.augment)
        plan[key] = plan.get(key, False) or "labels" in needs
    return plan


def class_count(output_shape: Sequence[int] | None) -> int | None:
    """The number of classes a network's per-sample output shape says (a vector), else None."""
    return int(output_shape[0]) if output_shape is not None and len(output_shape) == 1 else None


def draw_indices(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """``batch_size`` image indices out of ``n``, without replacement when there are enough images;
    with replacement (and a warning naming the cause) when there are not, as a repeated image makes
    the kernel and NTK proxies singular and so scores every architecture -inf."""
    if n == 0:
        raise SchemaError("proxy data holds no training images")
    if n < batch_size:
        warnings.warn(f"only {n} training images for a batch of {batch_size}: drawn with replacement; repeated images "
                      "make kernel/NTK proxies (naswot, jacob_cov, ntk_cond) degenerate; pass at least "
                      f"{batch_size} images", ProxyWarning, stacklevel=2)
    return rng.choice(n, size=batch_size, replace=n < batch_size)


def check_image_shape(nchw: tuple[int, ...], input_shape: tuple[int, ...] | None) -> None:
    """Raises ShapeMismatchError when the images (C, H, W) are not what the network takes."""
    if input_shape is not None and tuple(nchw) != tuple(input_shape):
        raise ShapeMismatchError(f"proxy data images have shape {tuple(nchw)} (C, H, W) but the network "
                                 f"takes {tuple(input_shape)}; pass images of the network's data set")
