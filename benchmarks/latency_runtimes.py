"""onnxruntime vs torch vs TFLite (float32 and int8) on one CPU thread: the same NAS-Bench-201 networks, one ``measure``.

Usage: python -P benchmarks/latency_runtimes.py [--archs 20]

Cells: ``numpy.random.default_rng(0).choice(15625, 1000, replace=False)[:archs]``, CIFAR-10 networks
(C=16, N=5) with random weights from seed 0. Each is timed by ``nasir.latency.measure`` at its
defaults (batch 1, 1 thread, warmup 10, repeats 50, runs 3) on onnxruntime's CPU provider, torch
on the CPU, TFLite float32 and TFLite int8 (post-training quantisation calibrated on 128 shipped
CIFAR-10 images), interleaved per network so load changes hit every runtime alike. Reports each
runtime's median latency and median CV, the median ratio to onnxruntime, and the Spearman rank
correlation of the per-network medians between runtimes (does a latency-aware search rank
architectures the same whichever runtime it times?). The load average is recorded: on a shared
machine other jobs inflate times and CVs. Writes benchmarks/results/latency_runtimes.json.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from nasir.latency import measure  # noqa: E402
from nasir.machine import cpu_label  # noqa: E402
from nasir.spaces import nb201  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RUNTIMES = {"onnxruntime": {"runtime": "onnxruntime"}, "torch": {"runtime": "torch"}, "tflite_fp32": {"runtime": "tflite"},
            "tflite_int8": {"runtime": "tflite", "quantize": "int8"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_runtimes.json")
    args = parser.parse_args()
    indices = np.random.default_rng(0).choice(15_625, 1000, replace=False)[: args.archs]
    load_before, start, rows, prints = os.getloadavg(), time.perf_counter(), [], {}
    for index in indices:
        network = nb201.space.network(nb201.space.from_index(int(index)))
        row = {"index": int(index), "mflops": round(network.count_flops() / 1e6, 2)}
        for name, how in RUNTIMES.items():
            result = measure(network, **how)
            row[name] = {"median_ms": round(result.median_ms, 4), "min_ms": round(result.min_ms, 4), "cv": round(result.cv, 4)}
            prints[name] = result.fingerprint
        rows.append(row)
        print(json.dumps(row), flush=True)
    medians = {name: np.array([r[name]["median_ms"] for r in rows]) for name in RUNTIMES}
    out = {
        "date": datetime.date.today().isoformat(), "machine": cpu_label(), "archs": args.archs,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "note": "shared 2-vCPU VM with other jobs running: absolute times and CVs are inflated; compare runtimes, not machines",
        "settings": "measure() defaults: batch=1, threads=1, warmup=10, repeats=50, runs=3; NB201 CIFAR-10 C=16 N=5, seed 0",
        "summary": {name: {"median_ms": float(np.median(m)), "median_cv": float(np.median([r[name]["cv"] for r in rows])),
                           "median_ratio_to_onnxruntime": float(np.median(m / medians["onnxruntime"]))}
                    for name, m in medians.items()},
        "spearman": {f"{a} vs {b}": float(spearmanr(medians[a], medians[b])[0]) for a, b in itertools.combinations(RUNTIMES, 2)},
        "spearman_with_mflops": {name: float(spearmanr(m, [r["mflops"] for r in rows])[0]) for name, m in medians.items()},
        "seconds": round(time.perf_counter() - start, 1), "fingerprints": prints, "rows": rows,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k not in ("rows", "fingerprints")}, indent=2))


if __name__ == "__main__":
    main()
