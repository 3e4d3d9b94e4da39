"""ONNX export parity: onnxruntime vs torch on random NB201 and NB101 whole networks.

Usage: python benchmarks/onnx_parity.py [--nb201 200] [--nb101 100] [--batch 2]

For each architecture (sampled with seeds 0..n-1): random neutral weights, direct export, the
full ONNX checker, then the max relative error max|ort - torch| / max|torch| of the logits in
eval mode on one random batch. Writes benchmarks/results/onnx_parity.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import torch

from nasir.backends.onnx import export, random_weights, run
from nasir.frontends.torch import import_weights, lower
from nasir.spaces import nb101, nb201


def check(network, seed: int, batch: int) -> float:
    weights = random_weights(network.weight_specs(), seed)
    model = export(network, weights)
    onnx.checker.check_model(model, full_check=True)
    module = lower(network, seed=seed).eval()
    import_weights(module, weights)
    x = np.random.default_rng(seed).normal(size=(batch, *network.input_shape)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    return float(np.abs(run(model, x, threads=2) - expected).max() / np.abs(expected).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nb201", type=int, default=200)
    parser.add_argument("--nb101", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "onnx_parity.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    result = {}
    for space, n in ((nb201.space, args.nb201), (nb101.space, args.nb101)):
        start, errors = time.perf_counter(), []
        for seed in range(n):
            errors.append(check(space.network(space.sample(seed)), seed, args.batch))
        result[space.name] = {"networks": n, "check_model_full_passed": n, "max_rel_err_worst": max(errors),
                              "max_rel_err_median": float(np.median(errors)), "seconds": round(time.perf_counter() - start, 1)}
        print(space.name, json.dumps(result[space.name]))
    result.update(torch=torch.__version__, onnx=onnx.__version__, batch=args.batch)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
