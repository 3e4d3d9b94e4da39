"""The ``"onnxruntime"`` latency runtime of :func:`nasir.latency.measure`, with its device fingerprint.

Each run is an independent session; it is warmed up (``warmup`` calls: allocator, kernel
selection) and then timed ``repeats`` times on one fixed random batch (statistics:
:func:`nasir.latency.summarize`). Threads are pinned (``intra_op_num_threads``, one inter-op
thread, sequential execution) and recorded. On CUDA/TensorRT the inputs and outputs live on the
device through IOBinding, so host copies do not count. A provider that onnxruntime cannot start is
an error (a CPU time stored under a CUDA fingerprint would be wrong); ``strict=False`` measures
wherever onnxruntime runs and records that provider in the fingerprint, with a warning.

``measure``, ``LatencyCache`` and ``LatencyResult`` live in :mod:`nasir.latency` (one interface for
every runtime) and are re-exported here so existing imports keep working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from nasir.ir import Arch, Network, Shape
from nasir.latency import (
    SCHEMA_VERSION, LatencyCache, LatencyResult, base_fingerprint, measure, random_inputs, summarize, time_calls,
)
from nasir.latency import model_key as ir_model_key
from nasir.backends.onnx.export import export
from nasir.backends.onnx.runtime import Session, _ort, check_input_shape, provider_name, session
from nasir.errors import ModelInputError

__all__ = ["LatencyResult", "measure", "fingerprint", "LatencyCache", "SCHEMA_VERSION", "model_key", "runtime_fingerprint",
           "time_model"]

# providers whose inputs and outputs live in GPU memory: timed through IOBinding, so host copies do not count
_DEVICE_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


def _gpu_model() -> str:
    """The first NVIDIA GPU's name from the driver's proc files (no subprocess, no CUDA import)."""
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text().splitlines():
            if line.startswith("Model:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fingerprint(provider: str, threads: int) -> dict:
    """What a latency number depends on besides the model: CPU/GPU model, cores, provider, threads, versions."""
    out = {**base_fingerprint("onnxruntime", threads), "provider": provider, "onnxruntime": _ort().__version__,
           "onnx": onnx.__version__}
    if provider in _DEVICE_PROVIDERS:
        out["gpu"] = _gpu_model()
    return out


def runtime_fingerprint(threads: int, options: Mapping[str, Any]) -> dict:
    """The fingerprint of the requested provider (the cache's lookup key)."""
    return fingerprint(provider_name(options["provider"]), threads)


def model_key(obj: Network | Arch | onnx.ModelProto, input_shapes: Shape | Sequence[Shape] | None = None) -> str:
    """The IR key, or for an ONNX model the key its export stamped (else a hash of its bytes)."""
    if not isinstance(obj, onnx.ModelProto):
        return ir_model_key(obj, input_shapes)
    props = {p.key: p.value for p in obj.metadata_props}
    return props.get("model_key") or "onnx:" + hashlib.sha256(obj.SerializeToString()).hexdigest()[:40]


def _inputs(model: onnx.ModelProto, batch: int, seed: int) -> list[np.ndarray]:
    """Random inputs of the model's declared shapes: the batch axis may be fixed (then it must equal ``batch``) or
    named; every other axis must be fixed, since a latency depends on it."""
    shapes: list[Shape] = []
    for graph_input in model.graph.input:
        dims = graph_input.type.tensor_type.shape.dim
        declared = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        free = [i for i, d in enumerate(declared[1:], 1) if not isinstance(d, int)]
        if not declared or free:
            raise ModelInputError(f"input {graph_input.name!r} has shape {tuple(declared)}: timing needs every axis but the "
                                  "batch fixed; export with fixed input shapes")
        check_input_shape(graph_input.name, declared, (batch, *declared[1:]))
        shapes.append(tuple(declared[1:]))
    return random_inputs(shapes, batch, seed)


def _runner(sess: Session, xs: list[np.ndarray]) -> Callable[[], object]:
    ort_session = sess.ort_session
    names = sess.input_names
    if sess.provider not in _DEVICE_PROVIDERS:
        feed = dict(zip(names, xs))
        return lambda: ort_session.run(None, feed)
    ort = _ort()
    binding = ort_session.io_binding()
    for name, x in zip(names, xs):
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
    binding.bind_output(ort_session.get_outputs()[0].name, "cuda")

    def call() -> None:
        ort_session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    return call


def time_model(obj: Network | Arch | onnx.ModelProto, *, batch: int, threads: int, warmup: int, repeats: int, runs: int,
               seed: int, input_shapes: Shape | Sequence[Shape] | None, provider: str, strict: bool) -> LatencyResult:
    """Times ``obj`` in ``runs`` fresh onnxruntime sessions; a Network or Arch is exported first (random weights)."""
    model = obj if isinstance(obj, onnx.ModelProto) else export(obj, input_shapes=input_shapes, seed=seed)
    data = model.SerializeToString()
    xs = _inputs(model, batch, seed)
    per_run, used = [], ""
    for _ in range(runs):
        sess = session(data, provider=provider, threads=threads, strict=strict)
        per_run.append(time_calls(_runner(sess, xs), warmup, repeats))
        used = sess.provider
    return summarize(per_run, batch=batch, warmup=warmup, fingerprint=fingerprint(used, threads), model=model_key(model))
