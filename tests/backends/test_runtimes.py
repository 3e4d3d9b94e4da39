"""One ``measure`` for several runtimes: torch (CPU, CUDA), TFLite (float32, int8), onnxruntime; registry, cache, errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import torch

import nasir.frontends.torch.latency as torch_runtime
from nasir.backends.onnx import export, run
from nasir.data import load_sample
from nasir.errors import ModelInputError, UnknownNameError
from nasir.frontends import tensorflow as tfe
from nasir.frontends.tensorflow import tflite
from nasir.frontends.tensorflow.data import normalize
from nasir.frontends.torch import export_weights, lower
from nasir.ir import Arch
from nasir.latency import (
    RUNTIMES,
    DeviceUnavailableError,
    LatencyCache,
    LatencyResult,
    RuntimeOptionError,
    measure,
    model_key,
    runtimes,
)
from nasir.spaces import nb201

from ._parity import rel_err

NETWORK = nb201.space.network(nb201.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
                              channels=8, cells_per_stage=1)
CELL = Arch({"a": ("input", {"index": 0}), "b": ("input", {"index": 1}), "s": "add", "out": "output"},
            [("a", "s"), ("b", "s"), ("s", "out")])
SKIPS = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
FAST = {"warmup": 2, "repeats": 5, "runs": 2}


def _check(result: LatencyResult, runtime: str) -> None:
    """The statistics every runtime reports, for FAST settings, and the common fingerprint fields."""
    assert 0 < result.min_ms <= result.median_ms <= result.p90_ms and np.isfinite(result.cv)
    assert (result.runs, result.repeats, result.warmup, len(result.run_medians_ms)) == (2, 5, 2, 2)
    fp = result.fingerprint
    assert fp["runtime"] == runtime and fp["threads"] == 1 and fp["cpu"] and fp["nasir"]


def test_runtimes_are_registered_and_a_typo_names_the_close_one() -> None:
    assert runtimes() == ["onnxruntime", "tflite", "torch"] and RUNTIMES.get("torch").extra == "torch"
    with pytest.raises(UnknownNameError, match="did you mean 'tflite'"):
        measure(NETWORK, runtime="tflight")


def test_an_option_the_runtime_does_not_know_is_refused_before_timing() -> None:
    with pytest.raises(RuntimeOptionError, match=r"'torch' has no option 'provider'.*device='cpu'"):
        measure(NETWORK, runtime="torch", provider="cuda")
    with pytest.raises(RuntimeOptionError, match=r"'onnxruntime' has no option 'device'.*provider='cpu'"):
        measure(NETWORK, device="cuda")
    with pytest.raises(RuntimeOptionError, match="not a device"):
        measure(NETWORK, runtime="torch", device="gpu0", **FAST)
    with pytest.raises(RuntimeOptionError, match="cuda_graph=True needs a CUDA device"):
        measure(NETWORK, runtime="torch", cuda_graph=True, **FAST)
    with pytest.raises(ValueError, match="repeats"):
        measure(NETWORK, runtime="torch", repeats=0)


def test_torch_on_cpu_times_the_lowered_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU twin of the CUDA test: the same time_model, the host clock instead of CUDA events."""
    built = []
    monkeypatch.setattr(torch_runtime, "lower", lambda *a, **k: built.append(lower(*a, **k)) or built[-1])
    threads = torch.get_num_threads()
    result = measure(NETWORK, runtime="torch", **FAST)
    _check(result, "torch")
    assert result.model == NETWORK.canonical_hash() and torch.get_num_threads() == threads, "the pool is restored"
    assert result.fingerprint["device"] == "cpu" and result.fingerprint["torch"] == torch.__version__ and "gpu" not in result.fingerprint
    assert built[0].network is NETWORK and not built[0].training, "nasir.frontends.torch.lower's module, in eval mode"
    shapes = [(4, 8, 8)] * 2
    cell = measure(CELL, runtime="torch", input_shapes=shapes, batch=2, **FAST)
    onnx_key = {p.key: p.value for p in export(CELL, input_shapes=shapes).metadata_props}["model_key"]
    assert cell.batch == 2 and cell.model == model_key(CELL, shapes) == onnx_key, "one key for a model on every runtime"


def test_cuda_is_refused_where_torch_sees_no_such_gpu() -> None:
    missing = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"
    with pytest.raises(DeviceUnavailableError, match="sees"):
        measure(NETWORK, runtime="torch", device=missing, **FAST)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only; CPU twin: test_torch_on_cpu_times_the_lowered_network")
@pytest.mark.parametrize("graph", [False, True])
def test_torch_cuda_events_and_graphs(graph: bool) -> None:  # pragma: no cover - needs a GPU
    result = measure(NETWORK, runtime="torch", device="cuda", cuda_graph=graph, **FAST)
    _check(result, "torch")
    assert result.fingerprint["device"] == "cuda:0" and result.fingerprint["gpu"] == torch.cuda.get_device_name(0)


def test_tflite_float32_matches_torch_and_onnx_with_the_same_weights() -> None:
    """Parity on NB201 C=8 N=1 with torch's weights moved in: TFLite vs torch and vs the direct ONNX export."""
    module = lower(NETWORK, seed=0).eval()
    weights = export_weights(module)
    keras_model = tfe.lower(NETWORK, seed=1)
    tfe.import_weights(keras_model, weights)
    data = load_sample()
    nhwc = normalize(data.x_val[:8], data.mean, data.std)
    nchw = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
    blob = tflite.convert(keras_model, batch=8)
    got = tflite.run(blob, nhwc)
    with pytest.raises(ModelInputError, match=r"the TFLite model takes 1 input\(s\), got 2 array\(s\)"):
        tflite.run(blob, nhwc, nhwc)
    with torch.no_grad():
        expected = module(torch.from_numpy(nchw)).numpy()
    assert got.shape == (8, 10)
    assert rel_err(got, expected) < 1e-5, "measured 1.7e-7 (2-core AMD EPYC, XNNPACK)"
    assert rel_err(got, run(export(NETWORK, weights), nchw)) < 1e-5


def test_tflite_times_float32_and_int8_and_int8_keeps_the_predictions() -> None:
    result = measure(NETWORK, runtime="tflite", **FAST)
    _check(result, "tflite")
    assert result.model == NETWORK.canonical_hash() and result.fingerprint["tflite"] == tf.__version__
    keras_model = tfe.lower(NETWORK, seed=0)
    data = load_sample()
    val = normalize(data.x_val[:64], data.mean, data.std)
    int8 = tflite.convert(keras_model, batch=64, quantize="int8")
    a, b = tfe.numpy_forward(keras_model, val), tflite.run(int8, val)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95 and (a.argmax(1) == b.argmax(1)).mean() >= 0.8
    timed = measure(NETWORK, runtime="tflite", quantize="int8", **FAST)
    _check(timed, "tflite")
    cell = measure(CELL, runtime="tflite", input_shapes=[(4, 8, 8)] * 2, **FAST)
    assert cell.model == model_key(CELL, [(4, 8, 8)] * 2) and cell.median_ms > 0, "a two-input cell converts and runs too"
    with pytest.raises(RuntimeOptionError, match="quantize must be one of"):
        measure(NETWORK, runtime="tflite", quantize="fp16", **FAST)
    imagenet16 = nb201.space.network(nb201.space.parse(SKIPS), dataset="imagenet16", channels=4, cells_per_stage=1)
    with pytest.raises(RuntimeOptionError, match="shipped CIFAR-10 sample"):
        tflite.convert(tfe.lower(imagenet16), quantize="int8")


def test_the_cache_keeps_runtimes_apart(tmp_path: Path) -> None:
    path = tmp_path / "latency.db"
    cache = LatencyCache(path)
    ort, pt = cache.measure(NETWORK, **FAST), cache.measure(NETWORK, runtime="torch", **FAST)
    assert cache.measure(NETWORK, runtime="torch", device="cpu", **FAST) == pt and measure(NETWORK, cache=path, **FAST) == ort
    assert len(cache) == 2 and ort.model == pt.model
    cache.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT device, settings FROM latency").fetchall()
    assert sorted(json.loads(d)["runtime"] for d, _ in rows) == ["onnxruntime", "torch"]
    assert {tuple(sorted(set(json.loads(s)) - {"batch", "warmup", "repeats", "runs", "seed"})) for _, s in rows} == {
        ("provider", "strict"), ("cuda_graph", "device")}, "each runtime's options are part of the key"


BLOCKED = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "torch"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
from nasir.errors import MissingDependencyError
from nasir.latency import measure
from nasir.spaces.nb201 import space
print("loaded:", [m for m in ("torch", "tensorflow", "onnx", "onnxruntime") if m in sys.modules])
for runtime in ("tflite", "torch"):
    try:
        measure(space.network(space.sample(0)), runtime=runtime)
    except MissingDependencyError as err:
        print("ERROR:", err)
"""


def test_a_missing_framework_names_its_extra_and_the_core_imports_none() -> None:
    result = subprocess.run([sys.executable, "-P", "-c", BLOCKED], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "loaded: []", result.stdout
    assert "pip install 'nasir[tf]'" in lines[1] and "pip install 'nasir[torch]'" in lines[2], result.stdout


def test_the_cli_times_other_runtimes_and_refuses_a_wrong_option(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    from nasir.cli import main

    def nasir(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["nasir", *args])
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    code, out, _ = nasir("latency", "6111", "--runtime", "torch", "--runs", "1", "--repeats", "3", "--warmup", "1", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["runtime"] == "torch" and shown["device"] == "cpu" and 0 < shown["median_ms"] <= shown["p90_ms"]
    code, _, err = nasir("latency", "6111", "--device", "cuda")
    assert code == 2 and "'onnxruntime' has no option 'device'" in err
