"""Latency of IR networks on real runtimes: ``nasir.backends.latency``.

One :func:`measure` times a network on any registered runtime (:data:`RUNTIMES`): onnxruntime
(default; CPU, CUDA or TensorRT providers, :mod:`nasir.backends.onnx.latency`), torch (CPU or CUDA,
:mod:`nasir.frontends.torch.latency`) or TFLite (:mod:`nasir.frontends.tensorflow.tflite`). The
interface, the result, the statistics and the SQLite cache live in :mod:`nasir.latency` (which
needs no framework; this module needs onnx, for ``fingerprint`` and the op-level lookup-table
predictor :mod:`nasir.backends.onnx.predictor`); this module is their public home.

    >>> from nasir.backends.latency import measure
    >>> result = measure(space.network(arch), threads=1, cache="latency.db")
    >>> result.median_ms, result.p90_ms, result.cv, result.fingerprint["cpu"]
    >>> measure(space.network(arch), runtime="torch", device="cuda", cuda_graph=True)   # doctest: +SKIP
"""

from __future__ import annotations

from nasir.backends.onnx.latency import fingerprint
from nasir.backends.onnx.predictor import LatencyTable
from nasir.latency import (
    DEFAULT_RUNTIME,
    RUNTIMES,
    SCHEMA_VERSION,
    DeviceUnavailableError,
    LatencyCache,
    LatencyResult,
    RuntimeOptionError,
    measure,
    runtimes,
)

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "SCHEMA_VERSION", "DeviceUnavailableError", "LatencyCache", "LatencyResult",
           "LatencyTable", "RuntimeOptionError", "fingerprint", "measure", "runtimes"]
