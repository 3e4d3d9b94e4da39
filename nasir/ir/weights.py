"""Checking a neutral-weight mapping against a model's declared weights (shared by every frontend)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasir.errors import SchemaError
from nasir.ir.ops import WeightSpec

__all__ = ["neutral_arrays"]


def _as_array(value: Any) -> np.ndarray:
    """numpy float32 from numpy, nested lists or any framework tensor (duck-typed: no framework import)."""
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # TensorFlow
        value = value.numpy()
    return np.asarray(value, dtype=np.float32)


def neutral_arrays(specs: Mapping[str, WeightSpec], weights: Mapping[str, Any], *, strict: bool = True) -> dict[str, np.ndarray]:
    """The entries of ``weights`` that ``specs`` declares, as float32 arrays of the declared shapes.

    Raises:
        SchemaError: when ``strict`` and a key is missing or unexpected (a checkpoint of another
            architecture typically fails here), or when an array has the wrong shape.
    """
    if strict:
        missing = [k for k in specs if k not in weights]
        unexpected = [k for k in weights if k not in specs]
        if missing:
            raise SchemaError(f"neutral weights lack key {missing[0]!r} ({len(missing)} missing in all); were they exported from another architecture?")
        if unexpected:
            raise SchemaError(f"neutral weights have unexpected key {unexpected[0]!r} ({len(unexpected)} in all) not in this model's weight_specs()")
    arrays: dict[str, np.ndarray] = {}
    for key, spec in specs.items():
        if key in weights:
            array = _as_array(weights[key])
            if array.shape != tuple(spec.shape):
                raise SchemaError(f"neutral weight {key!r} has shape {array.shape}, the model needs {tuple(spec.shape)}")
            arrays[key] = array
    return arrays
