"""Framework-neutral weights: export and import a lowered Keras model's variables as numpy arrays.

Same contract as the PyTorch frontend (see ``nasir/ir/ops.py``): keys are exactly
``network.weight_specs()`` (``"<block>/<node>/<role>"``) or ``weight_specs(arch, shapes)``
(``"<node>/<role>"``); values are float32 arrays with conv kernels OIHW (Keras stores HWIO) and
linear weights (out, in) (Keras: (in, out)); batch-norm ``weight``/``bias`` are Keras'
``gamma``/``beta`` and ``running_mean``/``running_var`` its ``moving_mean``/``moving_variance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from nasir.errors import SchemaError
from nasir.ir.weights import neutral_arrays
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, lower

__all__ = ["copy_model", "export_weights", "import_weights", "to_neutral", "from_neutral"]


def to_neutral(array: np.ndarray, layout: str) -> np.ndarray:
    """Keras layout -> neutral layout (HWIO -> OIHW, (in, out) -> (out, in))."""
    if layout == "conv":
        return np.ascontiguousarray(np.transpose(array, (3, 2, 0, 1)))
    if layout == "linear":
        return np.ascontiguousarray(array.T)
    return np.ascontiguousarray(array)


def from_neutral(array: np.ndarray, layout: str) -> np.ndarray:
    """Neutral layout -> Keras layout (OIHW -> HWIO, (out, in) -> (in, out))."""
    if layout == "conv":
        return np.ascontiguousarray(np.transpose(array, (2, 3, 1, 0)))
    if layout == "linear":
        return np.ascontiguousarray(array.T)
    return np.ascontiguousarray(array)


def _lowered(model: Any) -> ArchModel | NetworkModel:
    if not isinstance(model, (ArchModel, NetworkModel)):
        raise SchemaError(f"neutral weights need a model from nasir.frontends.tensorflow.lower(), got {type(model).__name__}")
    return model


def export_weights(model: ArchModel | NetworkModel) -> dict[str, np.ndarray]:
    """All variables of ``model`` as ``{neutral key: float32 array}``, in spec order."""
    model = _lowered(model)
    return {key: to_neutral(np.asarray(v.numpy(), dtype=np.float32), layout) for key, (v, layout) in model.neutral_variables().items()}


def import_weights(model: ArchModel | NetworkModel, weights: Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """Copies neutral weights into ``model`` in place.

    Args:
        model: a model from :func:`~nasir.frontends.tensorflow.lower`.
        weights: neutral key -> array-like (numpy, TF or torch tensors, nested lists).
        strict: when True, missing or unexpected keys are errors; when False they are skipped.

    Returns:
        The neutral keys that were loaded.

    Raises:
        SchemaError: naming the first missing/unexpected key or the key whose shape differs.
    """
    model = _lowered(model)
    arrays = neutral_arrays(model.weight_specs(), weights, strict=strict)
    variables = model.neutral_variables()
    for key, array in arrays.items():
        variable, layout = variables[key]
        variable.assign(from_neutral(array, layout))
    return list(arrays)


def copy_model(model: ArchModel | NetworkModel, *, layout: str = "NHWC", dtype: str = "float32") -> ArchModel | NetworkModel:
    """A private copy of a lowered model (same graph, same weights and statistics), optionally in
    another layout or dtype; what proxies and training change is then never the caller's model."""
    model = _lowered(model)
    if isinstance(model, NetworkModel):
        twin = lower(model.network, seed=0, layout=layout, dtype=dtype)
    else:
        twin = lower(model.arch, input_shapes=list(model.input_shapes), seed=0, layout=layout, dtype=dtype)
    targets = twin.neutral_variables()
    for key, (variable, _) in model.neutral_variables().items():
        target = targets[key][0]
        target.assign(tf.cast(variable, target.dtype))  # Keras layout on both sides: no transposes
    return twin
