"""Machine labels recorded beside every measured number."""

from __future__ import annotations

import pytest
import torch

from nasir.machine import cpu_label, device_label


def test_a_cpu_device_is_labelled_by_its_cpu() -> None:
    label = cpu_label()
    assert label.endswith("logical cores") and device_label("cpu") == label == device_label(torch.device("cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only twin of test_a_cpu_device_is_labelled_by_its_cpu")
def test_a_cuda_device_is_labelled_by_its_gpu() -> None:
    assert device_label("cuda") == torch.cuda.get_device_name(0) == device_label(torch.device("cuda:0"))
