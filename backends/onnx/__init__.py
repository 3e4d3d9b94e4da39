"""ONNX backend: direct export from the IR, onnxruntime execution, latency measurement.

Installed as ``nasir.backends.onnx``; needs ``onnx`` (export) and ``onnxruntime`` (running),
``pip install 'nasir[onnx]'`` (or ``'nasir[gpu]'`` for onnxruntime-gpu).
"""

from __future__ import annotations

try:
    import onnx  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised by the import-guard test
    from nasir.errors import MissingDependencyError

    raise MissingDependencyError("the ONNX backend needs onnx: pip install 'nasir[onnx]'") from _err

from nasir.backends.onnx.export import DEFAULT_OPSET, export, random_weights
from nasir.backends.onnx.latency import LatencyCache, LatencyResult, fingerprint, measure
from nasir.backends.onnx.lowerings import ONNX_LOWERINGS, register_lowering
from nasir.backends.onnx.runtime import PROVIDERS, ProviderError, provider_name, run, session

__all__ = [
    "DEFAULT_OPSET", "ONNX_LOWERINGS", "PROVIDERS", "LatencyCache", "LatencyResult", "ProviderError", "export",
    "fingerprint", "measure", "provider_name", "random_weights", "register_lowering", "run", "session",
]
