"""Latency measurement on onnxruntime, with a device fingerprint and an SQLite cache.

``measure`` times ``repeats`` runs after ``warmup`` runs on one fixed random batch and reports the
median, p90 and coefficient of variation. Threads are pinned (``intra_op_num_threads``) and
recorded. On CUDA the input and output live on the device through IOBinding, so host copies do not
count. Results are cached keyed by (network hash, fingerprint, batch, threads, provider).
"""

from __future__ import annotations

import json
import platform
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx

import nasir
from nasir.ir import Arch, Network
from nasir.backends.onnx.export import export
from nasir.backends.onnx.runtime import Session, _ort, provider_name, session

__all__ = ["LatencyResult", "measure", "fingerprint", "LatencyCache"]


@dataclass(frozen=True)
class LatencyResult:
    """Milliseconds per batch: median, 90th percentile, coefficient of variation; and where."""

    median_ms: float
    p90_ms: float
    cv: float
    batch: int
    repeats: int
    fingerprint: dict


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint(provider: str, threads: int) -> dict:
    """What a latency number depends on besides the model."""
    ort = _ort()
    return {"cpu": _cpu_model(), "machine": platform.machine(), "provider": provider, "threads": threads,
            "onnxruntime": ort.__version__, "onnx": onnx.__version__, "nasir": nasir.__version__}


def _runner(sess: Session, x: np.ndarray):
    ort_session = sess.ort_session
    name = ort_session.get_inputs()[0].name
    if sess.provider == "CPUExecutionProvider":
        feed = {name: x}
        return lambda: ort_session.run(None, feed)
    ort = _ort()
    binding = ort_session.io_binding()
    binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
    binding.bind_output(ort_session.get_outputs()[0].name, "cuda")
    return lambda: ort_session.run_with_iobinding(binding)


def measure(obj: Network | Arch | onnx.ModelProto, *, provider: str = "cpu", batch: int = 1, threads: int = 1,
            warmup: int = 10, repeats: int = 50, seed: int = 0) -> LatencyResult:
    """Times the model; a Network or Arch is exported first (random weights; values don't matter)."""
    model = obj if isinstance(obj, onnx.ModelProto) else export(obj, seed=seed)
    sess = session(model, provider=provider, threads=threads)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)
    call = _runner(sess, x)
    for _ in range(warmup):
        call()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        call()
        times[i] = (time.perf_counter() - start) * 1e3
    return LatencyResult(float(np.median(times)), float(np.percentile(times, 90)), float(times.std() / times.mean()),
                         batch, repeats, fingerprint(sess.provider, threads))


class LatencyCache:
    """Measured latencies in an SQLite file, keyed by network hash and device fingerprint."""

    def __init__(self, path: str | Path) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS latency (network TEXT, device TEXT, batch INTEGER, result TEXT, "
                           "PRIMARY KEY (network, device, batch))")

    def measure(self, network: Network, **options) -> LatencyResult:
        """The cached result for this network on this device, measuring it on a miss."""
        device = json.dumps(fingerprint(provider_name(options.get("provider", "cpu")), options.get("threads", 1)), sort_keys=True)
        key = (network.canonical_hash(), device, options.get("batch", 1))
        row = self._conn.execute("SELECT result FROM latency WHERE network=? AND device=? AND batch=?", key).fetchone()
        if row:
            return LatencyResult(**json.loads(row[0]))
        result = measure(network, **options)
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO latency VALUES (?,?,?,?)", (*key, json.dumps(asdict(result))))
        return result
