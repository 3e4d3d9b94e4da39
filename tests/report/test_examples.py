"""The examples run as a user runs them, small, in a scratch directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import onnx

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_api_search_finds_a_good_cell_without_training(tmp_path: Path) -> None:
    out = _run("api_search.py", "--trials", "8", "--strategy", "random", cwd=tmp_path)
    accuracy = float(re.search(r"CIFAR-10 test ([\d.]+)%", out).group(1))
    assert "best of 8 trials by proxy/meco" in out and 10 <= accuracy <= 94.38
    assert re.search(r"Spearman rho of proxy/meco vs test accuracy over the \d+ evaluated cells: [-\d.]+", out)
    assert (tmp_path / "api_search.db").exists() and "data:image/png" in (tmp_path / "api_search.html").read_text()


def test_export_onnx_matches_pytorch_in_onnxruntime(tmp_path: Path) -> None:
    out = _run("export_onnx.py", "--trials", "15", cwd=tmp_path)
    difference = float(re.search(r"max \|logit difference\| ([\d.e+-]+)", out).group(1))
    assert difference < 1e-4 and "same predictions: True" in out and "median" in out
    for name in ("best.onnx", "best_cell.onnx"):
        onnx.checker.check_model(onnx.load(str(tmp_path / name)))
