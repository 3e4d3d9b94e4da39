"""Latency measurement on a real onnxruntime session, and its SQLite cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nasir.backends.onnx import LatencyCache, ProviderError, measure
from nasir.spaces import nb201

NETWORK = nb201.space.network(nb201.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
                              channels=8, cells_per_stage=1)


def test_measure_reports_statistics_and_where() -> None:
    result = measure(NETWORK, warmup=3, repeats=20, batch=2, threads=1)
    assert 0 < result.median_ms <= result.p90_ms and result.cv >= 0
    assert result.fingerprint["provider"] == "CPUExecutionProvider" and result.fingerprint["threads"] == 1
    assert result.batch == 2 and result.repeats == 20


def test_cache_measures_once_per_network_and_device(tmp_path: Path) -> None:
    cache = LatencyCache(tmp_path / "latency.db")
    first = cache.measure(NETWORK, warmup=2, repeats=5)
    assert cache.measure(NETWORK, warmup=2, repeats=5) == first
    with sqlite3.connect(tmp_path / "latency.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM latency").fetchone()[0] == 1
    assert LatencyCache(tmp_path / "latency.db").measure(NETWORK) == first, "the cache survives a reopen"


def test_gpu_provider_without_gpu_is_refused() -> None:
    with pytest.raises(ProviderError):
        measure(NETWORK, provider="cuda", repeats=1, warmup=0)
