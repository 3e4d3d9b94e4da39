"""ONNX backend: direct export from the IR, onnxruntime execution, a torch.onnx cross-check.

Installed as ``nasir.backends.onnx``; needs ``onnx`` (export) and ``onnxruntime`` (running):
``pip install 'nasir[onnx]'`` (or ``'nasir[gpu]'`` for onnxruntime-gpu). onnxruntime and torch are
imported only when a model is run or cross-exported. Latency: :func:`measure` (also
``nasir.backends.latency``).

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.backends.onnx import export, run
    >>> model = export(space.network(space.sample(0)))          # random weights from seed 0
    >>> logits = run(model, images)                              # onnxruntime, CPU, 1 thread
"""

from __future__ import annotations

try:
    import onnx  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised by the import-guard test
    from nasir.errors import MissingDependencyError

    raise MissingDependencyError("the ONNX backend needs onnx: pip install 'nasir[onnx]'") from _err

from nasir.backends.onnx.export import DEFAULT_OPSET, MIN_OPSET, export, model_key, random_weights
from nasir.backends.onnx.latency import LatencyCache, LatencyResult, fingerprint, measure
from nasir.backends.onnx.lowerings import ONNX_LOWERINGS, register_lowering
from nasir.backends.onnx import lowerings_cnn  # noqa: F401  (registers the DARTS and MobileNet lowerings)
from nasir.backends.onnx.quant import quantize_int8
from nasir.backends.onnx.runtime import (
    PROVIDERS,
    ModelFileError,
    ModelLoadError,
    ProviderError,
    ProviderFallbackWarning,
    Session,
    provider_name,
    run,
    session,
)
from nasir.backends.onnx.torch_export import torch_export

__all__ = [
    "DEFAULT_OPSET", "MIN_OPSET", "ONNX_LOWERINGS", "PROVIDERS", "LatencyCache", "LatencyResult", "ModelFileError",
    "ModelLoadError", "ProviderError", "ProviderFallbackWarning", "Session", "export", "fingerprint", "measure",
    "model_key", "provider_name", "quantize_int8", "random_weights", "register_lowering", "run", "session", "torch_export",
]
