"""The framework-free half of drawing a proxy's input batch, shared by the torch and TF frontends.

Both frontends must draw the same images for the same seed (cross-framework parity), so the seed
handling, the accepted data forms, the index draw and the shape check live here once; each frontend
only indexes, augments and normalises in its own tensor type.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasir.data import CIFAR10_MEAN, CIFAR10_STD, ImageData
from nasir.errors import SchemaError, ShapeMismatchError
from nasir.rng import Seed, as_rng

__all__ = ["PROXY_DTYPES", "check_dtype", "int_seed", "training_arrays", "draw_indices", "check_image_shape"]

PROXY_DTYPES = ("float32", "float64")


def check_dtype(dtype: str) -> str:
    """The scoring precision, checked. float64 scores the float32 network and batch widened: the exact
    score of the same problem, where float32 round-off (amplified by some proxies) is not the question."""
    if dtype not in PROXY_DTYPES:
        raise ValueError(f"proxy dtype must be one of {PROXY_DTYPES}, got {dtype!r}")
    return dtype


def int_seed(seed: Seed) -> int:
    """An int seed from an int or Generator (a Generator advances once, so later draws stay in step)."""
    return int(as_rng(seed).integers(0, 2**62)) if not isinstance(seed, (int, np.integer)) else int(seed)


def training_arrays(data: Any) -> tuple[Any, Any, tuple, tuple]:
    """``(images, labels, mean, std)`` of the accepted proxy data forms: an ImageData, or an (x, y) pair
    of uint8 NHWC images (or float NCHW already normalised) with CIFAR-10's statistics."""
    if isinstance(data, ImageData):
        return data.x_train, data.y_train, data.mean, data.std
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1], CIFAR10_MEAN, CIFAR10_STD
    raise SchemaError("proxy data must be a nasir.data.ImageData or an (x, y) pair of uint8 NHWC images "
                      f"(or float NCHW already normalised) and labels; got {type(data).__name__}")


def draw_indices(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """``batch_size`` image indices out of ``n``, without replacement when there are enough images."""
    if n == 0:
        raise SchemaError("proxy data holds no training images")
    return rng.choice(n, size=batch_size, replace=n < batch_size)


def check_image_shape(nchw: tuple[int, ...], input_shape: tuple[int, ...] | None) -> None:
    """Raises ShapeMismatchError when the images (C, H, W) are not what the network takes."""
    if input_shape is not None and tuple(nchw) != tuple(input_shape):
        raise ShapeMismatchError(f"proxy data images have shape {tuple(nchw)} (C, H, W) but the network "
                                 f"takes {tuple(input_shape)}; pass images of the network's data set")
