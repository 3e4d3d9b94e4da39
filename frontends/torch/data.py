"""Batches of images for PyTorch: in-memory tensors, seeded shuffling and augmentation on device.

The augmentation is NAS-Bench-201's (xautodl ``get_datasets``): random horizontal flip and a
random 32x32 crop of the image zero-padded by 4 pixels (padding applied to raw pixels, before
normalisation), then per-channel normalisation. All random draws come from one CPU
``torch.Generator`` so a run is reproducible from its seed and resumable from the generator state,
on CPU and CUDA alike. The whole data set sits on the training device (CIFAR-10 is 150 MB as uint8),
so no worker processes are needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from nasir.errors import DataConfigError

__all__ = ["ImageBatches", "augment", "normalize"]


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float], *, channels_last: bool = False) -> torch.Tensor:
    """uint8 NHWC -> float32 NCHW, ``(x / 255 - mean) / std`` (torchvision ToTensor + Normalize)."""
    m = torch.tensor(mean, dtype=torch.float32, device=x.device)
    s = torch.tensor(std, dtype=torch.float32, device=x.device)
    out = x.float().div_(255.0).sub_(m).div_(s).permute(0, 3, 1, 2)
    return out if channels_last else out.contiguous()


def augment(x: torch.Tensor, generator: torch.Generator, *, padding: int = 4, flip: bool = True) -> torch.Tensor:
    """Random crop (zero padding ``padding``) and horizontal flip of a uint8 NHWC batch, one gather.

    Args:
        x: ``(B, H, W, C)`` uint8 images on any device.
        generator: CPU generator supplying the offsets and flips.
        padding: pixels of zero padding on every side (0 disables cropping).
        flip: whether to flip half of the images left-right.
    """
    b, h, w, c = x.shape
    if padding:
        padded = x.new_zeros((b, h + 2 * padding, w + 2 * padding, c))
        padded[:, padding:padding + h, padding:padding + w] = x
    else:
        padded = x
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    flips = torch.rand(b, generator=generator) < 0.5 if flip else torch.zeros(b, dtype=torch.bool)
    cols = torch.arange(w)
    cols = torch.where(flips[:, None], w - 1 - cols, cols) + ox[:, None]
    rows = torch.arange(h) + oy[:, None]
    index = (torch.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :])
    return padded[tuple(i.to(x.device) for i in index)]


class ImageBatches:
    """Iterates ``(images, labels)`` batches; shuffled and augmented when ``train``.

    Args:
        x: uint8 NHWC images (numpy or tensor).
        y: integer labels.
        batch_size: images per batch; the last batch may be smaller (as NB201's DataLoader).
        mean, std: normalisation.
        device: where batches are produced.
        train: shuffle and augment (crop ``padding``, ``flip``) when True.
        generator: CPU generator for shuffling and augmentation (required when ``train``).
        channels_last: keep the NHWC memory layout for the float batches (faster convs on CUDA).
    """

    def __init__(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, batch_size: int, *,
                 mean: Sequence[float], std: Sequence[float], device: torch.device | str = "cpu", train: bool = False,
                 generator: torch.Generator | None = None, padding: int = 4, flip: bool = True,
                 channels_last: bool = False) -> None:
        if train and generator is None:
            raise DataConfigError("training batches need a torch.Generator for shuffling and augmentation")
        self.device = torch.device(device)
        self.x = torch.as_tensor(np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x).to(self.device)
        self.y = torch.as_tensor(np.asarray(y, dtype=np.int64) if isinstance(y, np.ndarray) else y).long().to(self.device)
        self.batch_size, self.mean, self.std = batch_size, tuple(mean), tuple(std)
        self.train, self.generator, self.padding, self.flip = train, generator, padding, flip
        self.channels_last = channels_last

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.train else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size].to(self.device)
            xb = self.x[idx]
            if self.train:
                xb = augment(xb, self.generator, padding=self.padding, flip=self.flip)
            yield normalize(xb, self.mean, self.std, channels_last=self.channels_last), self.y[idx]
