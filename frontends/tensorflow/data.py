"""Batches of images for TensorFlow: numpy shuffling and NAS-Bench-201 augmentation, NHWC float32.

The augmentation is the PyTorch frontend's (NAS-Bench-201, xautodl ``get_datasets``): random
horizontal flip and a random 32x32 crop of the image zero-padded by 4 pixels (on raw pixels),
then per-channel normalisation. Draws come from a numpy Generator, so a run is reproducible from
its seed without touching TensorFlow's RNG; they are not torch's draws (same distribution, other
offsets). Normalisation is the same float32 arithmetic as torch's, so un-augmented batches are
bit-identical across the two frontends. Batches stay NHWC, TensorFlow's native layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from nasir.errors import DataConfigError

__all__ = ["ImageBatches", "augment", "normalize"]


def normalize(x: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 NHWC -> float32 NHWC ``(x / 255 - mean) / std`` (torchvision ToTensor + Normalize)."""
    m, s = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    return (np.asarray(x).astype(np.float32) / np.float32(255.0) - m) / s


def augment(x: np.ndarray, rng: np.random.Generator, *, padding: int = 4, flip: bool = True) -> np.ndarray:
    """Random crop (zero padding ``padding``) and horizontal flip of a uint8 NHWC batch, one gather.

    Args:
        x: ``(B, H, W, C)`` uint8 images.
        rng: numpy Generator supplying the offsets and flips.
        padding: pixels of zero padding on every side (0 disables cropping).
        flip: whether to flip half of the images left-right.
    """
    b, h, w, c = x.shape
    padded = np.zeros((b, h + 2 * padding, w + 2 * padding, c), dtype=x.dtype)
    padded[:, padding:padding + h, padding:padding + w] = x
    oy = rng.integers(0, 2 * padding + 1, b)
    ox = rng.integers(0, 2 * padding + 1, b)
    flips = rng.random(b) < 0.5 if flip else np.zeros(b, dtype=bool)
    cols = np.arange(w)
    cols = np.where(flips[:, None], w - 1 - cols, cols) + ox[:, None]
    rows = np.arange(h) + oy[:, None]
    return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


class ImageBatches:
    """Iterates ``(images float32 NHWC, labels int64)`` numpy batches; shuffled and augmented when ``train``.

    Args:
        x: uint8 NHWC images.
        y: integer labels.
        batch_size: images per batch; the last batch may be smaller (as NB201's DataLoader).
        mean, std: normalisation.
        train: shuffle and augment (crop ``padding``, ``flip``) when True.
        rng: numpy Generator for shuffling and augmentation (required when ``train``).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, mean: Sequence[float], std: Sequence[float],
                 train: bool = False, rng: np.random.Generator | None = None, padding: int = 4, flip: bool = True) -> None:
        if train and rng is None:
            raise DataConfigError("training batches need a numpy Generator for shuffling and augmentation")
        self.x, self.y = np.asarray(x), np.asarray(y, dtype=np.int64)
        self.batch_size, self.mean, self.std = batch_size, tuple(mean), tuple(std)
        self.train, self.rng, self.padding, self.flip = train, rng, padding, flip

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self.x)
        order = self.rng.permutation(n) if self.train else np.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            xb = self.x[idx]
            if self.train:
                xb = augment(xb, self.rng, padding=self.padding, flip=self.flip)
            yield normalize(xb, self.mean, self.std), self.y[idx]
