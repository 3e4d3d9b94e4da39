"""Framework-neutral weights: export and import a lowered model's tensors as numpy arrays.

Layout (the contract shared with the TensorFlow frontend and the ONNX backend, see
``nasir/ir/ops.py``): keys are exactly ``network.weight_specs()`` (``"<block>/<node>/<role>"``,
e.g. ``cells.3/e0_1/conv.weight``) or ``weight_specs(arch, shapes)`` (``"<node>/<role>"``) for a
bare Arch; values are float32 arrays, conv kernels OIHW, linear weights (out, in), batch-norm
running statistics included (PyTorch's ``num_batches_tracked`` counter is not part of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from nasir.errors import SchemaError
from nasir.ir.weights import neutral_arrays
from nasir.frontends.torch.modules import ArchModule, NetworkModule

__all__ = ["export_weights", "import_weights"]


def _lowered(model: nn.Module) -> ArchModule | NetworkModule:
    if not isinstance(model, (ArchModule, NetworkModule)):
        raise SchemaError(f"neutral weights need a model from nasir.frontends.torch.lower(), got {type(model).__name__}")
    return model


def export_weights(model: nn.Module) -> dict[str, np.ndarray]:
    """All parameters and buffers of ``model`` as ``{neutral key: float32 array}``, in spec order."""
    model = _lowered(model)
    state = model.state_dict()
    return {key: state[path].detach().to("cpu", torch.float32).numpy().copy() for key, path in model.weight_keys.items()}


def import_weights(model: nn.Module, weights: Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """Copies neutral weights into ``model`` in place.

    Args:
        model: a model from :func:`~nasir.frontends.torch.lower`.
        weights: neutral key -> array-like (numpy, torch, nested lists).
        strict: when True, missing or unexpected keys are errors; when False they are skipped.

    Returns:
        The neutral keys that were loaded.

    Raises:
        SchemaError: naming the first missing/unexpected key or the key whose shape differs
            (a checkpoint of another architecture typically fails here).
    """
    model = _lowered(model)
    arrays = neutral_arrays(model.weight_specs(), weights, strict=strict)
    state = model.state_dict()
    with torch.no_grad():
        for key, array in arrays.items():
            target = state[model.weight_keys[key]]
            target.copy_(torch.from_numpy(array).to(device=target.device, dtype=target.dtype))
    return list(arrays)
