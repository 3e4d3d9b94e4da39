"""Latency measurement on real onnxruntime sessions, and its SQLite cache."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from nasir.backends.latency import LatencyCache, LatencyResult, fingerprint, measure
from nasir.backends.onnx import ProviderError, ProviderFallbackWarning, export
from nasir.errors import LatencyCacheError, ModelInputError, RuntimeOptionError
from nasir.ir import Arch
from nasir.spaces import nb201

NETWORK = nb201.space.network(nb201.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
                              channels=8, cells_per_stage=1)
FAST = {"warmup": 2, "repeats": 5, "runs": 2}


def test_measure_reports_statistics_runs_and_where() -> None:
    result = measure(NETWORK, warmup=3, repeats=20, runs=2, batch=2, threads=1)
    assert 0 < result.min_ms <= result.median_ms <= result.p90_ms and 0 <= result.cv < 5
    assert len(result.run_medians_ms) == 2 and min(result.run_medians_ms) <= result.p90_ms
    assert (result.batch, result.repeats, result.runs, result.warmup) == (2, 20, 2, 3)
    assert result.model == NETWORK.canonical_hash()
    fp = result.fingerprint
    assert fp["provider"] == "CPUExecutionProvider" and fp["threads"] == 1 and fp["onnxruntime"] == onnxruntime.__version__
    assert fp["cpu"] and fp["cores"] >= 1 and "gpu" not in fp
    with pytest.raises(AttributeError):
        result.median_ms = 0.0  # type: ignore[misc]


def test_measure_takes_models_and_multi_input_cells() -> None:
    cell = Arch({"a": ("input", {"index": 0}), "b": ("input", {"index": 1}), "s": "add", "out": "output"},
                [("a", "s"), ("b", "s"), ("s", "out")])
    result = measure(cell, input_shapes=[(4, 8, 8)] * 2, **FAST)
    assert result.median_ms > 0 and result.model.startswith("arch:")
    foreign = export(NETWORK, seed=1)
    foreign.ClearField("metadata_props")
    assert measure(foreign, **FAST).model.startswith("onnx:")


def test_cache_measures_once_per_model_device_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "latency.db"
    cache = LatencyCache(path)
    first = cache.measure(NETWORK, **FAST)
    assert cache.measure(NETWORK, **FAST) == first and len(cache) == 1
    assert measure(NETWORK, cache=path, **FAST) == first, "measure(cache=path) reads the same file"
    assert cache.measure(NETWORK, batch=2, **FAST).batch == 2 and len(cache) == 2, "settings are part of the key"
    other = nb201.space.network(nb201.space.sample(3), channels=8, cells_per_stage=1)
    cache.measure(other, **FAST)
    cache.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT model, device FROM latency").fetchall()
    assert len(rows) == 3 and {m for m, _ in rows} == {NETWORK.canonical_hash(), other.canonical_hash()}
    assert all(json.loads(d) == fingerprint("CPUExecutionProvider", 1) for _, d in rows)
    reopened = LatencyCache(path)
    assert reopened.measure(NETWORK, **FAST) == first, "the cache survives a reopen"
    assert isinstance(first, LatencyResult) and isinstance(first.run_medians_ms, tuple)


def test_cache_refuses_another_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    with pytest.raises(LatencyCacheError, match="schema 1"):
        LatencyCache(path)


def test_gpu_provider_without_gpu_is_refused_or_recorded() -> None:
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("a CUDA onnxruntime is installed: see test_cuda_iobinding_measurement")
    with pytest.raises(ProviderError, match="not the requested CUDAExecutionProvider"):
        measure(NETWORK, provider="cuda", **FAST)
    with pytest.warns(ProviderFallbackWarning):
        result = measure(NETWORK, provider="cuda", strict=False, **FAST)
    assert result.fingerprint["provider"] == "CPUExecutionProvider", "the fallback is in the record"
    with pytest.raises(ValueError, match="repeats"):
        measure(NETWORK, repeats=0)


@pytest.mark.parametrize("bad", [{"repeats": 2.5}, {"warmup": float("inf")}, {"runs": None}, {"repeats": True},
                                 {"batch": 0}, {"warmup": -1}, {"threads": "2"}])
def test_timing_arguments_are_checked_by_name(bad: dict) -> None:
    name, value = next(iter(bad.items()))
    with pytest.raises(RuntimeOptionError, match=rf"^{name} must be an int >= {0 if name == 'warmup' else 1}, got"):
        measure(NETWORK, **{**FAST, **bad})


def test_numpy_integers_are_counts() -> None:
    result = measure(NETWORK, warmup=np.int64(1), repeats=np.int32(3), runs=np.int64(1), threads=np.int64(1))
    assert (result.repeats, result.runs, result.fingerprint["threads"]) == (3, 1, 1)


def test_a_cache_path_that_cannot_be_used_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, just long enough to be read as one " * 40)
    for path, why in ((tmp_path / "missing" / "lat.db", "unable to open"), (tmp_path, "is a folder"),
                      (tmp_path / "notes.txt", "not a database")):
        with pytest.raises(LatencyCacheError, match=why) as caught:
            measure(NETWORK, cache=path, **FAST)
        assert repr(str(path)) in str(caught.value)


def test_a_fixed_batch_model_is_timed_at_its_batch_only() -> None:
    fixed = export(NETWORK, batch=4)
    assert measure(fixed, batch=4, **FAST).batch == 4
    with pytest.raises(ModelInputError, match=r"shape \(4, 3, 32, 32\).*\(1, 3, 32, 32\)"):
        measure(fixed, batch=1, **FAST)


@pytest.mark.skipif("AzureExecutionProvider" not in onnxruntime.get_available_providers(), reason="needs a provider besides CPU/CUDA")
def test_a_provider_that_is_neither_cpu_nor_cuda_runs_without_device_binding() -> None:
    """IOBinding to CUDA memory is for the CUDA/TensorRT providers only; others are timed with plain run calls."""
    result = measure(NETWORK, provider="AzureExecutionProvider", **FAST)
    assert result.fingerprint["provider"] == "AzureExecutionProvider" and "gpu" not in result.fingerprint


@pytest.mark.skipif("CUDAExecutionProvider" not in onnxruntime.get_available_providers(),
                    reason="GPU-only (onnxruntime-gpu); CPU twin: test_measure_reports_statistics_runs_and_where")
def test_cuda_iobinding_measurement() -> None:  # pragma: no cover - needs a GPU
    result = measure(NETWORK, provider="cuda", **FAST)
    assert result.fingerprint["provider"] == "CUDAExecutionProvider" and result.fingerprint["gpu"] != "unknown"
    assert np.isfinite(result.median_ms)
