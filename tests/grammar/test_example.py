"""examples/new_space_grammar.py runs end to end: grammar, zero-cost search, ONNX export of the best."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx

from nasir.backends.onnx import run
from nasir.data import load_sample

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "new_space_grammar.py"


def test_example_searches_and_exports(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-P", str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["space_size"] == (5 * 5 * 2 + (5 * 5 * 2) ** 2) ** 2  # OP: 5, CELL: 2 topologies, STACK: 1-2 cells
    assert summary["trials"] == 30 and math.isfinite(summary["synflow"]) and summary["synflow"] > 0
    assert summary["best"].startswith("NET:0(") and summary["params"] > 0
    model = onnx.load(tmp_path / "best.onnx")
    onnx.checker.check_model(model, full_check=True)
    images = load_sample().x_val[:4].transpose(0, 3, 1, 2).astype(np.float32) / 255
    logits = run(model, images)
    assert logits.shape == (4, 10) and np.isfinite(logits).all()


def test_grammar_and_search_fit_in_40_lines() -> None:
    lines = EXAMPLE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("grammar = Grammar("))
    end = next(i for i, line in enumerate(lines) if line.startswith("best, best_score"))
    assert end - start + 1 <= 40
