"""What machine a number was measured on (BENCH.md asks every result to say)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_model", "cpu_label", "device_label"]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_label() -> str:
    """``"<model>, <n> logical cores"``."""
    return f"{cpu_model()}, {os.cpu_count()} logical cores"


def device_label(device: object = "cpu") -> str:
    """What ran a measurement on ``device`` (a name or ``torch.device``): the GPU's name for CUDA, else :func:`cpu_label`.

    torch is imported only for a CUDA device, so the core stays free of frameworks at import time.
    """
    if str(device).startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(str(device)))
    return cpu_label()
