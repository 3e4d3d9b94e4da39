"""One torch thread while these tests run: torch's OpenMP barriers and TensorFlow's thread pool in one
process oversubscribe a small shared machine (torch's grasp ran 50x slower on 2 busy cores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
