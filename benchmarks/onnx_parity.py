"""ONNX export parity: onnxruntime vs torch on random NB201 and NB101 whole networks.

Usage: python -P benchmarks/onnx_parity.py [--nb201 200] [--nb101 100] [--batch 2] [--torch-export 20]

For each architecture (``space.sample(seed)``, seeds 0..n-1, the benchmark skeletons: NB201
C=16 N=5 CIFAR-10, NB101 128 stem channels, 3 stacks of 3 cells): random neutral weights
(``random_weights(specs, seed)``), the direct export, ``onnx.checker.check_model(full_check=True)``,
then the relative error of the logits on one random N(0, 1) batch:

    rel_err = max|ort - torch| / max|torch|        (torch in eval mode = the reference)

The first ``--torch-export`` networks of each space are also exported through ``torch.onnx.export``
(the cross-check path) and compared the same way. ORT runs on 2 threads, torch on 2 threads.
Writes benchmarks/results/onnx_parity.json (summary) and onnx_parity.csv (one row per network).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

from nasir.machine import cpu_label
from nasir.backends.onnx import export, random_weights, run, torch_export
from nasir.frontends.torch import import_weights, lower
from nasir.spaces import nb101, nb201

RESULTS = Path(__file__).resolve().parent / "results"


def rel_err(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def check(space, seed: int, batch: int, cross: bool) -> dict:
    arch = space.sample(seed)
    network = space.network(arch)
    weights = random_weights(network.weight_specs(), seed)
    model = export(network, weights)
    onnx.checker.check_model(model, full_check=True)  # raises on failure: the run stops loudly
    module = lower(network, seed=seed).eval()
    import_weights(module, weights)
    x = np.random.default_rng(seed).normal(size=(batch, *network.input_shape)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    row = {"space": space.name, "seed": seed, "arch": space.format(arch), "hash": network.canonical_hash(),
           "params": network.count_params(), "check_model_full": True, "rel_err": rel_err(run(model, x, threads=2), expected),
           "rel_err_torch_onnx": ""}
    if cross:
        row["rel_err_torch_onnx"] = rel_err(run(torch_export(module, network.input_shape), x, threads=2), expected)
    return row


def summarise(rows: list[dict], seconds: float) -> dict:
    errors = np.array([r["rel_err"] for r in rows])
    cross = [r["rel_err_torch_onnx"] for r in rows if r["rel_err_torch_onnx"] != ""]
    return {"networks": len(rows), "check_model_full_passed": sum(r["check_model_full"] for r in rows),
            "max_rel_err_worst": float(errors.max()), "max_rel_err_median": float(np.median(errors)),
            "pass_1e-4": int((errors <= 1e-4).sum()), "torch_onnx_cross_checked": len(cross),
            "torch_onnx_rel_err_worst": max(cross) if cross else None, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nb201", type=int, default=200)
    parser.add_argument("--nb101", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--torch-export", type=int, default=20, help="networks per space also exported via torch.onnx")
    parser.add_argument("--out", type=Path, default=RESULTS / "onnx_parity.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    result: dict = {}
    rows: list[dict] = []
    for space, n in ((nb201.space, args.nb201), (nb101.space, args.nb101)):
        start, mine = time.perf_counter(), []
        for seed in range(n):
            mine.append(check(space, seed, args.batch, seed < args.torch_export))
        result[space.name] = summarise(mine, time.perf_counter() - start) if mine else {"networks": 0}
        rows += mine
        print(space.name, json.dumps(result[space.name]), flush=True)
    result.update(date=datetime.date.today().isoformat(), machine=cpu_label(),
                  torch=torch.__version__, onnx=onnx.__version__, onnxruntime=onnxruntime.__version__, batch=args.batch,
                  definition="max|ort - torch| / max|torch| per network, torch eval mode")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
