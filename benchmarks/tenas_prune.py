"""TE-NAS pruning-based search on NAS-Bench-201 (Chen, Gong & Wang, ICLR 2021), end to end on this CPU.

Usage: python -P benchmarks/tenas_prune.py [--seeds 3] [--repeats 3] [--threads 1]

The supernet (every edge mixes its remaining ops with equal weight, ``none`` dropped first) is pruned
one op per edge per round by the rank sum of the NTK-condition-number and linear-region changes
(``nasir.strategies.pruning.tenas_prune``), measured in PyTorch on TE-NAS's search network (C = 3, one
cell per stage) with the shipped CIFAR-10 sample (``nasir.frontends.torch.pruning.TENASMeasures``).
Reports the found cell's NB201 test accuracy (CIFAR-10, CIFAR-100, ImageNet16-120) per seed, the
wall seconds per search and the published TE-NAS figures. Writes ``benchmarks/results/tenas_prune.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from nasir.frontends.torch.pruning import TENASMeasures
from nasir.spaces.nb201 import EDGES, OPS, space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies.pruning import tenas_prune

PUBLISHED = {"cifar10": (93.9, 0.47), "cifar100": (71.24, 0.56), "imagenet16": (42.38, 0.46)}  # TE-NAS Table 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "tenas_prune.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench = NB201Benchmark.default()
    runs = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        measures = TENASMeasures(space, repeats=args.repeats, seed=seed)
        result = tenas_prune(space, OPS, len(EDGES), measures.ntk_delta, measures.region_delta)
        key = space.format(result.arch)
        runs.append({"seed": seed, "arch": key, "seconds": round(time.perf_counter() - start, 1),
                     "pruned_per_round": [list(r.pruned) for r in result.rounds],
                     **{ds: bench.query(key, ds, "test_acc") for ds in PUBLISHED}})
        print(json.dumps(runs[-1]), flush=True)
    summary = {ds: {"mean": round(float(np.mean([r[ds] for r in runs])), 3), "std": round(float(np.std([r[ds] for r in runs])), 3),
                    "published": PUBLISHED[ds]} for ds in PUBLISHED}
    result = {"meta": {"command": f"python -P benchmarks/tenas_prune.py --seeds {args.seeds} --repeats {args.repeats} --threads {args.threads}",
                       "date": datetime.date.today().isoformat(), "machine": platform.machine(), "torch": torch.__version__},
              "summary": summary, "seconds_per_search": round(float(np.median([r["seconds"] for r in runs])), 1), "runs": runs}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
