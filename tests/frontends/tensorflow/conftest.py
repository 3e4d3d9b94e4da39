"""One torch thread while these tests run: torch's OpenMP barriers and TensorFlow's thread pool in one
process oversubscribe a small shared machine (torch's grasp ran 50x slower on 2 busy cores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

import nasir.frontends.torch as pte
from nasir.data import load_sample


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    """The shipped CIFAR-10 sample."""
    return load_sample()


@pytest.fixture(scope="module")
def float_batch(data):
    """128 normalised NCHW training images: the one input both frontends take unchanged."""
    x = pte.normalize(torch.from_numpy(data.x_train[:128]), data.mean, data.std).numpy()
    return x, data.y_train[:128]
