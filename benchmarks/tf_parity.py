"""TensorFlow frontend parity: Keras vs torch on random NB201 and NB101 whole networks.

Usage: python -P benchmarks/tf_parity.py [--nb201 200] [--nb101 100] [--batch 2] [--threads 1]

For each architecture (``space.sample(seed)``, seeds 0..n-1, the benchmark skeletons: NB201
C=16 N=5 CIFAR-10, NB101 128 stem channels, 3 stacks of 3 cells): random neutral weights
(``nasir.backends.onnx.random_weights(specs, seed)``, as benchmarks/onnx_parity.py), imported into
the torch module and the Keras model (NHWC; the same N(0, 1) batch, transposed), then:

    eval     rel_err = max|tf - torch| / max|torch| of the logits, inference mode
    train    the same for one training-mode forward (BN on batch statistics), and for the BN
             running statistics it leaves behind: max|tf - torch| over every running_mean
             (running_var) divided by the largest |torch| running_mean (running_var) of the network

Writes benchmarks/results/tf_parity.json (summary) and tf_parity.csv (one row per network).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import nasir.frontends.tensorflow as tfe  # noqa: E402
import nasir.frontends.torch as pte  # noqa: E402
from nasir.machine import cpu_label
from nasir.backends.onnx import random_weights  # noqa: E402
from nasir.spaces import nb101, nb201  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1e-4


def rel_err(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def stats_err(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], kind: str) -> float:
    keys = [k for k in expected if k.endswith(kind)]
    if not keys:
        return 0.0
    scale = max(float(np.abs(expected[k]).max()) for k in keys)
    return max(float(np.abs(got[k] - expected[k]).max()) for k in keys) / scale


def check(space, seed: int, batch: int) -> dict:
    arch = space.sample(seed)
    network = space.network(arch)
    weights = random_weights(network.weight_specs(), seed)
    module = pte.lower(network, seed=seed)
    pte.import_weights(module, weights)
    model = tfe.lower(network, seed=seed)
    tfe.import_weights(model, weights)
    x = np.random.default_rng(seed).normal(size=(batch, *network.input_shape)).astype(np.float32)
    xt, xf = torch.from_numpy(x), tf.constant(x.transpose(0, 2, 3, 1))
    row = {"space": space.name, "seed": seed, "arch": space.format(arch), "params": network.count_params()}
    with torch.no_grad():
        module.eval()
        row["eval_rel_err"] = rel_err(model(xf, training=False).numpy(), module(xt).numpy())
        module.train()
        row["train_rel_err"] = rel_err(model(xf, training=True).numpy(), module(xt).numpy())
    got, expected = tfe.export_weights(model), pte.export_weights(module)
    row["running_mean_err"] = stats_err(got, expected, "running_mean")
    row["running_var_err"] = stats_err(got, expected, "running_var")
    return row


def summarise(rows: list[dict], seconds: float) -> dict:
    out: dict = {"networks": len(rows), "seconds": round(seconds, 1)}
    for col in ("eval_rel_err", "train_rel_err", "running_mean_err", "running_var_err"):
        values = np.array([r[col] for r in rows])
        out[col] = {"worst": float(values.max()), "median": float(np.median(values)), f"pass_{TARGET:g}": int((values <= TARGET).sum())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nb201", type=int, default=200)
    parser.add_argument("--nb101", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads and TF intra-op threads")
    parser.add_argument("--out", type=Path, default=RESULTS / "tf_parity.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    result: dict = {}
    rows: list[dict] = []
    for space, n in ((nb201.space, args.nb201), (nb101.space, args.nb101)):
        start, mine = time.perf_counter(), []
        for seed in range(n):
            mine.append(check(space, seed, args.batch))
        result[space.name] = summarise(mine, time.perf_counter() - start) if mine else {"networks": 0}
        rows += mine
        print(space.name, json.dumps(result[space.name]), flush=True)
    result.update(date=datetime.date.today().isoformat(), machine=cpu_label(),
                  torch=torch.__version__, tensorflow=tf.__version__, batch=args.batch, threads=args.threads, target=TARGET,
                  definition="max|tf - torch| / max|torch| per network (logits); BN statistics: max abs difference over "
                             "the network's running_mean (running_var) tensors / their largest |torch| value")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
