"""Latency of IR networks on several runtimes behind one :func:`measure` (framework-free contract).

A runtime is a module, imported on first use through :data:`RUNTIMES` (the core imports no
framework), that times a model its own way and returns a :class:`LatencyResult` built by
:func:`summarize`, so every runtime reports the same statistics:

* ``"onnxruntime"`` (default; :mod:`nasir.backends.onnx.latency`): the IR exported to ONNX,
  options ``provider`` (``cpu``, ``cuda``, ``tensorrt``) and ``strict``;
* ``"torch"`` (:mod:`nasir.frontends.torch.latency`): the module ``nasir.frontends.torch.lower``
  builds, options ``device`` (``cpu`` or ``cuda[:i]``) and ``cuda_graph``;
* ``"tflite"`` (:mod:`nasir.frontends.tensorflow.tflite`): the Keras model converted to TFLite
  and run by the TFLite interpreter, option ``quantize`` (``None`` or ``"int8"``).

Runtime-specific options are keyword arguments of :func:`measure`; each runtime declares its
options and their defaults here, so a misspelt one fails before any framework is imported
(:class:`RuntimeOptionError`). A runtime never falls back silently: a device it cannot use raises
(:class:`DeviceUnavailableError`, or onnxruntime's ``ProviderError``), a missing framework raises
:class:`~nasir.errors.MissingDependencyError` naming the extra. The fingerprint of every result
names the runtime, its version, the device and the threads; :class:`LatencyCache` keys results by
it, so numbers from different runtimes never mix.

A runtime module provides ``time_model(obj, *, batch, threads, warmup, repeats, runs, seed,
input_shapes, **options) -> LatencyResult``, ``runtime_fingerprint(threads, options) -> dict`` (where
it would run: the cache looks results up by it before measuring) and ``model_key(obj, input_shapes)``.

    >>> from nasir.latency import measure
    >>> measure(network, runtime="torch", device="cpu", threads=1).median_ms        # doctest: +SKIP
    >>> measure(network, runtime="tflite", quantize="int8", cache="latency.db")     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import nasir
from nasir.checks import is_count
from nasir.errors import DeviceUnavailableError, LatencyCacheError, ModelTypeError, RuntimeOptionError, SchemaError
from nasir.frameworks import lazy_import
from nasir.ir import Arch, Network, Shape, infer_shapes
from nasir.machine import cpu_model
from nasir.registry import Registry

__all__ = [
    "DEFAULT_RUNTIME", "RUNTIMES", "SCHEMA_VERSION", "DeviceUnavailableError", "LatencyCache", "LatencyResult", "Runtime",
    "RuntimeOptionError", "base_fingerprint", "check_count", "input_shapes_of", "measure", "model_key", "random_inputs",
    "perf_lap", "runtime_module", "runtime_options", "runtimes", "summarize", "time_calls",
]

SCHEMA_VERSION = 2
DEFAULT_RUNTIME = "onnxruntime"


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


@dataclass(frozen=True)
class Runtime:
    """Where a runtime lives, what installs it, and its options with their defaults."""

    module: str  # imported on first use; provides time_model, runtime_fingerprint, model_key
    extra: str  # the pip extra that installs the framework
    needs: tuple[str, ...]  # top-level packages the module imports
    options: Mapping[str, Any]  # option name -> default


RUNTIMES: Registry[Runtime] = Registry("latency runtime")
RUNTIMES.register("onnxruntime", Runtime("nasir.backends.onnx.latency", "onnx", ("onnx", "onnxruntime"),
                                         {"provider": "cpu", "strict": True}))
RUNTIMES.register("torch", Runtime("nasir.frontends.torch.latency", "torch", ("torch",), {"device": "cpu", "cuda_graph": False}))
RUNTIMES.register("tflite", Runtime("nasir.frontends.tensorflow.tflite", "tf", ("tensorflow", "keras"), {"quantize": None}))


def runtimes() -> list[str]:
    """Names accepted by :func:`measure`'s ``runtime``."""
    return RUNTIMES.names()


def runtime_module(name: str) -> ModuleType:
    """The implementation of runtime ``name``, imported on first use.

    Raises:
        UnknownNameError: not a runtime (the message suggests close matches).
        MissingDependencyError: its framework is not installed; the message names the extra.
    """
    entry = RUNTIMES.get(name)
    return lazy_import(name, entry.module, entry)  # a missing framework names its extra


def runtime_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against runtime ``name``'s and completed with its defaults."""
    known = RUNTIMES.get(name).options
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise RuntimeOptionError(f"latency runtime {name!r} has no option {', '.join(map(repr, unknown))}; "
                                 f"its options: {', '.join(f'{k}={v!r}' for k, v in known.items())}")
    return {**known, **options}


def input_shapes_of(obj: Network | Arch, input_shapes: Shape | Sequence[Shape] | None = None) -> list[Shape]:
    """Per-sample input shapes: a Network's own, or an Arch's ``input_shapes`` checked by shape inference."""
    if isinstance(obj, Network):
        return [tuple(obj.input_shape)]
    if not isinstance(obj, Arch):
        raise ModelTypeError(f"latency is measured on a nasir Network or Arch, got {type(obj).__name__}")
    if input_shapes is None:
        raise SchemaError("timing a bare Arch needs input_shapes (per sample, channels first), e.g. input_shapes=(16, 32, 32)")
    shapes = infer_shapes(obj, input_shapes)
    return [tuple(shapes[n]) for n in obj.input_nodes]


def model_key(obj: Network | Arch, input_shapes: Shape | Sequence[Shape] | None = None) -> str:
    """What is timed: a Network's canonical hash, or an Arch's plus its input shapes (the ONNX export's key)."""
    shapes = input_shapes_of(obj, input_shapes)
    if isinstance(obj, Network):
        return obj.canonical_hash()
    text = json.dumps([list(s) for s in shapes])
    return "arch:" + hashlib.sha256(f"{obj.canonical_hash()}|{text}".encode()).hexdigest()[:40]


def random_inputs(shapes: Sequence[Shape], batch: int, seed: int) -> list[np.ndarray]:
    """One standard-normal float32 batch per input (values do not change a dense model's latency)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, *s)).astype(np.float32) for s in shapes]


def perf_lap(call: Callable[[], object]) -> float:
    """Milliseconds of one call on the host clock (``perf_counter``)."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e3


def time_calls(call: Callable[[], object], warmup: int, repeats: int,
               lap: Callable[[Callable[[], object]], float] = perf_lap) -> np.ndarray:
    """Milliseconds of ``repeats`` calls after ``warmup`` untimed ones; ``lap`` times one call.

    The default lap is the host clock, right for calls that return once their result is ready
    (CPU runtimes, onnxruntime with synchronised IOBinding); a GPU runtime passes a lap that
    brackets the call with device events.
    """
    for _ in range(warmup):
        call()
    return np.array([lap(call) for _ in range(repeats)], dtype=float)


def summarize(per_run: Sequence[np.ndarray], *, batch: int, warmup: int, fingerprint: dict, model: str) -> LatencyResult:
    """The statistics every runtime reports: median, p90, CV and minimum over all timed calls, plus each run's median."""
    times = np.concatenate(per_run)
    return LatencyResult(float(np.median(times)), float(np.percentile(times, 90)), float(times.std() / times.mean()),
                         batch, len(per_run[0]), fingerprint, len(per_run), warmup,
                         tuple(float(np.median(t)) for t in per_run), model, float(times.min()))


def base_fingerprint(runtime: str, threads: int) -> dict[str, Any]:
    """The fields every runtime's fingerprint has: runtime, CPU model, cores, machine, threads, nasir version."""
    return {"runtime": runtime, "cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(),
            "threads": threads, "nasir": nasir.__version__}


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int when it is a whole number (numpy integers too, not bools) ``>= minimum``; else a
    :class:`~nasir.errors.RuntimeOptionError` naming the argument, before anything is built or timed."""
    if not is_count(value, minimum):
        raise RuntimeOptionError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_timing(batch: Any, threads: Any, repeats: Any, runs: Any, warmup: Any) -> dict[str, int]:
    counts = {"batch": batch, "threads": threads, "repeats": repeats, "runs": runs}
    return {**{k: check_count(k, v) for k, v in counts.items()}, "warmup": check_count("warmup", warmup, 0)}


def measure(obj: Any, *, runtime: str = DEFAULT_RUNTIME, batch: int = 1, threads: int = 1, warmup: int = 10,
            repeats: int = 50, runs: int = 3, seed: int = 0, input_shapes: Shape | Sequence[Shape] | None = None,
            cache: LatencyCache | str | Path | None = None, **options: Any) -> LatencyResult:
    """Times a model on ``runtime``; a Network or Arch gets random weights from ``seed`` (values don't matter).

    Args:
        obj: a Network, an Arch (with ``input_shapes``) or a model the runtime takes natively
            (onnxruntime: an ONNX model with a batch axis).
        runtime: a name in :data:`RUNTIMES` (``onnxruntime``, ``torch``, ``tflite``).
        batch, threads: batch size and intra-op threads (both recorded).
        warmup, repeats, runs: untimed calls per run, timed calls per run, independent runs
            (fresh sessions/interpreters where the runtime has them).
        cache: a :class:`LatencyCache` or SQLite path; a hit returns the stored result unmeasured.
        **options: the runtime's own (see the module docstring): ``provider``/``strict``
            (onnxruntime), ``device``/``cuda_graph`` (torch), ``quantize`` (tflite).
    """
    timing = {**_check_timing(batch, threads, repeats, runs, warmup), "seed": seed}
    if cache is not None:
        store = cache if isinstance(cache, LatencyCache) else LatencyCache(cache)
        return store.measure(obj, runtime=runtime, input_shapes=input_shapes, **timing, **options)
    resolved = runtime_options(runtime, options)
    return runtime_module(runtime).time_model(obj, input_shapes=input_shapes, **timing, **resolved)


class LatencyCache:
    """Measured latencies in an SQLite file, keyed by (model key, device fingerprint, settings).

    The model key is the canonical hash of a Network (input shape included), or of an Arch plus its
    input shapes, or the runtime's hash of a native model; the fingerprint's JSON names the runtime
    and the device; the settings are the timing parameters and the runtime's options.
    """

    _TIMING = {"batch": 1, "warmup": 10, "repeats": 50, "runs": 3, "seed": 0}

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise LatencyCacheError(f"latency cache {str(self.path)!r} is a folder; give a file path such as {str(self.path / 'latency.db')!r}")
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            found = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        except sqlite3.Error as err:  # a missing folder, no write permission, or a file that is not SQLite
            raise LatencyCacheError(f"cannot use {str(self.path)!r} as a latency cache: {err}") from None
        if found != str(SCHEMA_VERSION):
            self._conn.close()
            raise LatencyCacheError(f"latency cache {str(self.path)!r} has schema {found}, this nasir writes {SCHEMA_VERSION}; "
                                    "use a new file")
        self._conn.execute("CREATE TABLE IF NOT EXISTS latency (model TEXT, device TEXT, settings TEXT, result TEXT, "
                           "created REAL, PRIMARY KEY (model, device, settings))")

    def close(self) -> None:
        """Closes the connection to the cache file."""
        self._conn.close()

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM latency").fetchone()[0]

    def measure(self, obj: Any, *, runtime: str = DEFAULT_RUNTIME, threads: int = 1,
                input_shapes: Shape | Sequence[Shape] | None = None, **settings: Any) -> LatencyResult:
        """The stored result for this model on this runtime and device with these settings, measuring it on a miss."""
        timing = {k: settings.pop(k, v) for k, v in self._TIMING.items()}
        options = runtime_options(runtime, settings)
        module = runtime_module(runtime)
        key = module.model_key(obj, input_shapes)
        device = json.dumps(module.runtime_fingerprint(threads, options), sort_keys=True)
        config = json.dumps({**timing, **options}, sort_keys=True)
        row = self._conn.execute("SELECT result FROM latency WHERE model=? AND device=? AND settings=?", (key, device, config)).fetchone()
        if row:
            data = json.loads(row[0])
            return LatencyResult(**{**data, "run_medians_ms": tuple(data["run_medians_ms"])})
        result = measure(obj, runtime=runtime, threads=threads, input_shapes=input_shapes, **timing, **options)
        # a non-strict fallback is stored under the device it really ran on
        device = json.dumps(result.fingerprint, sort_keys=True)
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO latency VALUES (?,?,?,?,?)",
                               (key, device, config, json.dumps(asdict(result)), time.time()))
        return result
