"""Latency of IR networks on real runtimes: ``nasir.backends.latency``.

The measurement lives with the ONNX backend (:mod:`nasir.backends.onnx.latency`: onnxruntime
sessions on CPU, CUDA or TensorRT, a device fingerprint and an SQLite cache) and the op-level
lookup-table predictor in :mod:`nasir.backends.onnx.predictor`; this module is their public home.

    >>> from nasir.backends.latency import measure
    >>> result = measure(space.network(arch), threads=1, cache="latency.db")
    >>> result.median_ms, result.p90_ms, result.cv, result.fingerprint["cpu"]
"""

from __future__ import annotations

from nasir.backends.onnx.latency import SCHEMA_VERSION, LatencyCache, LatencyResult, fingerprint, measure
from nasir.backends.onnx.predictor import LatencyTable

__all__ = ["SCHEMA_VERSION", "LatencyCache", "LatencyResult", "LatencyTable", "fingerprint", "measure"]
