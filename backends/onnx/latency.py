"""Latency measurement on onnxruntime, with a device fingerprint and an SQLite cache.

``measure`` runs ``runs`` independent sessions; each is warmed up (``warmup`` calls: allocator,
kernel selection) and then timed ``repeats`` times on one fixed random batch. The result reports
the median and p90 over all timed calls, their coefficient of variation, the median of each run
(so session-to-session spread is visible) and the fastest call (``min_ms``: on a shared machine
the most repeatable number, since interference only ever adds time). Threads are pinned (``intra_op_num_threads``, one
inter-op thread, sequential execution) and recorded. On CUDA/TensorRT the inputs and outputs live
on the device through IOBinding, so host copies do not count. A provider that onnxruntime cannot
start is an error (a CPU time stored under a CUDA fingerprint would be wrong); ``strict=False``
measures wherever onnxruntime runs and records that provider in the fingerprint, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx

import nasir
from nasir.machine import cpu_model
from nasir.ir import Arch, Network, Shape
from nasir.backends.onnx.export import export, model_key
from nasir.backends.onnx.runtime import Session, _ort, provider_name, session

__all__ = ["LatencyResult", "measure", "fingerprint", "LatencyCache", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class LatencyResult:
    """Milliseconds per batch (median, 90th percentile, coefficient of variation) and where they were taken."""

    median_ms: float
    p90_ms: float
    cv: float
    batch: int
    repeats: int
    fingerprint: dict
    runs: int = 1
    warmup: int = 0
    run_medians_ms: tuple[float, ...] = field(default=())
    model: str = ""
    min_ms: float = float("nan")


def _gpu_model() -> str:
    """The first NVIDIA GPU's name from the driver's proc files (no subprocess, no CUDA import)."""
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text().splitlines():
            if line.startswith("Model:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fingerprint(provider: str, threads: int) -> dict:
    """What a latency number depends on besides the model: CPU/GPU model, cores, provider, threads, versions."""
    ort = _ort()
    out = {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(), "provider": provider,
           "threads": threads, "onnxruntime": ort.__version__, "onnx": onnx.__version__, "nasir": nasir.__version__}
    if provider != "CPUExecutionProvider":
        out["gpu"] = _gpu_model()
    return out


def _inputs(model: onnx.ModelProto, batch: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes: list[Shape] = [tuple(d.dim_value for d in i.type.tensor_type.shape.dim[1:]) for i in model.graph.input]
    return [rng.normal(size=(batch, *s)).astype(np.float32) for s in shapes]


def _runner(sess: Session, xs: list[np.ndarray]) -> Callable[[], object]:
    ort_session = sess.ort_session
    names = sess.input_names
    if sess.provider == "CPUExecutionProvider":
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


def _time(sess: Session, xs: list[np.ndarray], warmup: int, repeats: int) -> np.ndarray:
    call = _runner(sess, xs)
    for _ in range(warmup):
        call()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        call()
        times[i] = (time.perf_counter() - start) * 1e3
    return times


def _model(obj: Network | Arch | onnx.ModelProto, input_shapes, seed: int) -> onnx.ModelProto:
    if isinstance(obj, onnx.ModelProto):
        return obj
    return export(obj, input_shapes=input_shapes, seed=seed)


def measure(obj: Network | Arch | onnx.ModelProto, *, provider: str = "cpu", batch: int = 1, threads: int = 1,
            warmup: int = 10, repeats: int = 50, runs: int = 3, seed: int = 0, input_shapes=None, strict: bool = True,
            cache: LatencyCache | str | Path | None = None) -> LatencyResult:
    """Times a model on onnxruntime; a Network or Arch is exported first (random weights: values don't matter).

    Args:
        obj: a Network, an Arch (with ``input_shapes``) or an ONNX model with a batch axis.
        provider: ``cpu``, ``cuda``, ``tensorrt`` or an onnxruntime provider name.
        batch, threads: batch size and intra-op threads (both recorded).
        warmup, repeats, runs: untimed calls per session, timed calls per session, sessions.
        strict: refuse (:class:`~nasir.backends.onnx.ProviderError`) when onnxruntime falls back.
        cache: an :class:`LatencyCache` or SQLite path; a hit returns the stored result unmeasured.
    """
    if cache is not None:
        store = cache if isinstance(cache, LatencyCache) else LatencyCache(cache)
        return store.measure(obj, provider=provider, batch=batch, threads=threads, warmup=warmup, repeats=repeats,
                             runs=runs, seed=seed, input_shapes=input_shapes, strict=strict)
    if min(batch, repeats, runs) < 1 or warmup < 0:
        raise ValueError(f"batch, repeats and runs must be >= 1 and warmup >= 0, got {batch}, {repeats}, {runs}, {warmup}")
    model = _model(obj, input_shapes, seed)
    data = model.SerializeToString()
    xs = _inputs(model, batch, seed)
    per_run, used = [], ""
    for _ in range(runs):
        sess = session(data, provider=provider, threads=threads, strict=strict)
        per_run.append(_time(sess, xs, warmup, repeats))
        used = sess.provider
    times = np.concatenate(per_run)
    return LatencyResult(float(np.median(times)), float(np.percentile(times, 90)), float(times.std() / times.mean()),
                         batch, repeats, fingerprint(used, threads), runs, warmup,
                         tuple(float(np.median(t)) for t in per_run), _key(model), float(times.min()))


def _key(model: onnx.ModelProto) -> str:
    props = {p.key: p.value for p in model.metadata_props}
    return props.get("model_key") or "onnx:" + hashlib.sha256(model.SerializeToString()).hexdigest()[:40]


class LatencyCache:
    """Measured latencies in an SQLite file, keyed by (model key, device fingerprint, settings).

    The model key is the canonical hash of a Network (input shape included), or of an Arch plus its
    input shapes, or a hash of a foreign ONNX model's bytes; the fingerprint's JSON names the device.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        found = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        if found != str(SCHEMA_VERSION):
            raise ValueError(f"latency cache {str(self.path)!r} has schema {found}, this nasir writes {SCHEMA_VERSION}; use a new file")
        self._conn.execute("CREATE TABLE IF NOT EXISTS latency (model TEXT, device TEXT, settings TEXT, result TEXT, "
                           "created REAL, PRIMARY KEY (model, device, settings))")

    def close(self) -> None:
        self._conn.close()

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM latency").fetchone()[0]

    def measure(self, obj: Network | Arch | onnx.ModelProto, *, provider: str = "cpu", threads: int = 1,
                input_shapes=None, **settings) -> LatencyResult:
        """The stored result for this model on this device with these settings, measuring it on a miss."""
        name = provider_name(provider)
        key = _key(obj) if isinstance(obj, onnx.ModelProto) else model_key(obj, input_shapes)
        device = json.dumps(fingerprint(name, threads), sort_keys=True)
        defaults = {"batch": 1, "warmup": 10, "repeats": 50, "runs": 3, "seed": 0, "strict": True}
        config = json.dumps({**defaults, **settings}, sort_keys=True)
        row = self._conn.execute("SELECT result FROM latency WHERE model=? AND device=? AND settings=?", (key, device, config)).fetchone()
        if row:
            data = json.loads(row[0])
            return LatencyResult(**{**data, "run_medians_ms": tuple(data["run_medians_ms"])})
        result = measure(obj, provider=provider, threads=threads, input_shapes=input_shapes, **settings)
        # a non-strict fallback is stored under the device it really ran on
        device = json.dumps(result.fingerprint, sort_keys=True)
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO latency VALUES (?,?,?,?,?)",
                               (key, device, config, json.dumps(asdict(result)), time.time()))
        return result
