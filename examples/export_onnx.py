"""Search, then deploy: export the best network to ONNX with PyTorch weights and run it in onnxruntime.

    python examples/export_onnx.py [--trials 60] [--out best.onnx]

The search is framework-free (local search on the NB201 ground truth). The best cell's network is
lowered to PyTorch (where it would be trained), its weights leave PyTorch as neutral arrays, and
the ONNX model is built straight from the IR with those weights: onnxruntime then gives the same
logits as PyTorch. The bare cell is exported too (one ONNX graph per searched cell), and the
network's latency is measured on this CPU. Needs ``pip install 'nasir[torch,onnx]'``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from nasir.backends.onnx import export, measure, run
from nasir.data import load_sample
from nasir.frontends.torch import export_weights, lower
from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("best.onnx"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        study = Study.open(Path(tmp) / "study.db", space, make_strategy("local", space),
                           TabularObjective(NB201Benchmark.default(), space), seed=args.seed)
        best = study.optimize(budget_evals=args.trials)
        study.storage.close()
    print(f"best of {args.trials} trials: {space.format(best.arch)} (CIFAR-10 test {best.metrics['cifar10/test_acc']:.2f}%)")

    network = space.network(best.arch, dataset="cifar10")
    model = lower(network, seed=args.seed).eval()  # train it here; the export below carries whatever weights it has
    onnx.save(export(network, export_weights(model)), str(args.out))
    cell_path = args.out.with_name(args.out.stem + "_cell.onnx")
    onnx.save(export(best.arch, input_shapes=(16, 32, 32), seed=args.seed), str(cell_path))

    data = load_sample()
    images = ((data.x_val[:16] / 255.0 - np.array(data.mean)) / np.array(data.std)).transpose(0, 3, 1, 2).astype(np.float32)
    with torch.no_grad():
        reference = model(torch.from_numpy(images)).numpy()
    logits = run(str(args.out), images)
    latency = measure(onnx.load(str(args.out)), threads=1, batch=1, repeats=20, runs=2)
    print(f"wrote {args.out} ({network.count_params() / 1e6:.3f} M params) and {cell_path}")
    print(f"onnxruntime vs PyTorch on {len(images)} CIFAR-10 images: max |logit difference| {np.abs(logits - reference).max():.2e}, "
          f"same predictions: {bool((logits.argmax(1) == reference.argmax(1)).all())}")
    print(f"latency on this CPU (onnxruntime, 1 thread, batch 1): median {latency.median_ms:.2f} ms, p90 {latency.p90_ms:.2f} ms")


if __name__ == "__main__":
    main()
