"""onnxruntime sessions: the provider really used is reported, bad input fails clearly."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from nasir.backends.onnx import (
    ModelFileError,
    ModelLoadError,
    ProviderError,
    ProviderFallbackWarning,
    export,
    run,
    session,
)
from nasir.errors import ModelInputError, RuntimeOptionError
from nasir.spaces import nb201

NETWORK = nb201.space.network(nb201.space.sample(0), channels=8, cells_per_stage=1)
X = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)


@pytest.fixture(scope="module")
def model() -> onnx.ModelProto:
    return export(NETWORK)


def test_cpu_session_reports_what_runs(model: onnx.ModelProto) -> None:
    sess = session(model, threads=2)
    assert (sess.provider, sess.requested, sess.fell_back, sess.threads) == ("CPUExecutionProvider",) * 2 + (False, 2)
    np.testing.assert_array_equal(run(sess, X), run(model, X))


def test_missing_gpu_provider_is_an_error_for_sessions(model: onnx.ModelProto) -> None:
    # This CPU-only onnxruntime cannot run CUDA/TensorRT: a session (what latency is measured on) refuses.
    for provider in ("cuda", "tensorrt", "CUDAExecutionProvider"):
        with pytest.raises(ProviderError, match="runs CPUExecutionProvider, not the requested"):
            session(model, provider=provider)


def test_run_falls_back_with_a_warning_and_a_record(model: onnx.ModelProto, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(ProviderFallbackWarning, match="CUDAExecutionProvider"), caplog.at_level(logging.WARNING):
        got = run(model, X, provider="cuda")
    assert "not the requested CUDAExecutionProvider" in caplog.text
    np.testing.assert_allclose(got, run(model, X), rtol=0, atol=0)
    with pytest.warns(ProviderFallbackWarning):
        sess = session(model, provider="cuda", strict=False)
    assert sess.fell_back and sess.provider == "CPUExecutionProvider" and sess.requested == "CUDAExecutionProvider"
    with pytest.raises(ProviderError):
        run(model, X, provider="cuda", strict=True)


def test_unknown_provider_and_bad_threads(model: onnx.ModelProto) -> None:
    with pytest.raises(ProviderError, match="unknown execution provider 'cdua'"):
        session(model, provider="cdua")
    with pytest.raises(RuntimeOptionError, match="threads must be an int >= 1, got 0"):
        session(model, threads=0)
    assert session(model, threads=np.int64(2)).threads == 2


def test_arrays_that_do_not_fit_the_inputs_are_named(model: onnx.ModelProto) -> None:
    with pytest.raises(ModelInputError, match=r"takes 1 input\(s\)"):
        run(model, [X, X])
    with pytest.raises(ModelInputError, match=r"shape \(4, 3, 32, 32\).*got an array of shape \(1, 3, 32, 32\)"):
        run(export(NETWORK, batch=4), X[:1])
    with pytest.raises(ModelInputError, match=r"shape \('batch', 3, 32, 32\).*\(2, 32, 32, 3\)"):
        run(model, X.transpose(0, 2, 3, 1))


def test_model_files(model: onnx.ModelProto, tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    np.testing.assert_array_equal(run(path, X), run(model, X))
    np.testing.assert_array_equal(run(str(path), X), run(model, X))
    with pytest.raises(ModelFileError, match="nope.onnx' does not exist"):
        run(tmp_path / "nope.onnx", X)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="cannot create a session for .*junk.onnx"):
        session(tmp_path / "junk.onnx")


def test_wrong_number_of_inputs(model: onnx.ModelProto) -> None:
    with pytest.raises(ValueError, match="takes 1 input"):
        run(model, [X, X])


def test_missing_onnxruntime_names_the_extras() -> None:
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from nasir.backends.onnx import export, run\n"
        "from nasir.errors import MissingDependencyError\n"
        "from nasir.spaces.nb201 import space\n"
        "model = export(space.network(space.sample(0), channels=4, cells_per_stage=1))\n"
        "try:\n    run(model, None)\nexcept MissingDependencyError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "nasir[onnx]" in out.stdout and "nasir[gpu]" in out.stdout


def test_backend_import_does_not_load_onnxruntime_or_torch() -> None:
    code = "import sys, nasir.backends.onnx\nprint([m for m in ('onnxruntime', 'torch') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
