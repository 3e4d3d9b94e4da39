"""Float32 vs statically quantised int8 NAS-Bench-201 networks on one CPU thread (an edge-style runtime).

Usage: python -P benchmarks/latency_int8.py [--archs 20] [--calibration 256]

Cells: ``numpy.random.default_rng(0).choice(15625, archs, replace=False)``, CIFAR-10 networks
(C=16, N=5) with random weights (``random_weights(seed=index)``; no trained NB201 weights ship).
Each is exported, quantised with ``quantize_int8`` (QDQ convs and linear layers, per-channel int8 weights, uint8
activations, MinMax calibration on the first ``--calibration`` shipped CIFAR-10 training images)
and both are timed with ``measure(threads=1)`` at its defaults, interleaved. Reports the latency
ratio int8/fp32, and logits correlation and top-1 agreement on 128 shipped validation images.
Writes benchmarks/results/latency_int8_nb201.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np

from nasir.backends.latency import measure
from nasir.backends.onnx import export, quantize_int8, run
from nasir.data import load_sample
from nasir.spaces import nb201

RESULTS = Path(__file__).resolve().parent / "results"
MEAN, STD = np.array([125.3, 123.0, 113.9]) / 255, np.array([63.0, 62.1, 66.7]) / 255  # CIFAR-10, as NB201


def images(x: np.ndarray) -> np.ndarray:
    return ((x / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--calibration", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_int8_nb201.json")
    args = parser.parse_args()
    data = load_sample()
    calib, val = images(data.x_train[: args.calibration]), images(data.x_val[:128])
    rows = []
    for index in np.random.default_rng(0).choice(15_625, args.archs, replace=False):
        network = nb201.space.network(nb201.space.from_index(int(index)))
        fp32 = export(network, seed=int(index))
        start = time.perf_counter()
        int8 = quantize_int8(fp32, calib)
        quant_s = time.perf_counter() - start
        a, b = run(fp32, val), run(int8, val)
        rows.append({"index": int(index), "fp32_ms": measure(fp32).median_ms, "int8_ms": measure(int8).median_ms,
                     "logit_corr": float(np.corrcoef(a.ravel(), b.ravel())[0, 1]), "top1_agree": float((a.argmax(1) == b.argmax(1)).mean()),
                     "quantize_s": round(quant_s, 2)})
        print(json.dumps(rows[-1]), flush=True)
    ratio = np.array([r["int8_ms"] / r["fp32_ms"] for r in rows])
    out = {"date": datetime.date.today().isoformat(), "archs": args.archs, "calibration_images": args.calibration,
           "median_int8_over_fp32": float(np.median(ratio)), "int8_faster_share": float(np.mean(ratio < 1)),
           "median_logit_corr": float(np.median([r["logit_corr"] for r in rows])),
           "median_top1_agree": float(np.median([r["top1_agree"] for r in rows])),
           "settings": "measure() defaults: threads=1, batch=1, warmup=10, repeats=50, runs=3", "rows": rows}
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
