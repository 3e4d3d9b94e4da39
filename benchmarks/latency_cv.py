"""Stability of ``nasir.backends.latency.measure`` at its default settings on this CPU.

Usage: python -P benchmarks/latency_cv.py [--measurements 10] [--threads 1] [--batch 1]

Picks a mid-size NAS-Bench-201 network (CIFAR-10 skeleton, C=16, N=5): the architecture of median
FLOPs among 201 cells drawn with ``numpy.random.default_rng(0).choice(15625, 201, replace=False)``.
Then calls ``measure(network)`` ``--measurements`` times (each call: fresh sessions, defaults
warmup=10, repeats=50, runs=3, batch=1, threads=1, CPU EP) and reports the coefficient of
variation of the reported medians across calls (the stability claim), the same for the
fastest call (``min_ms``), and the median within-call CV of single timed calls. Writes benchmarks/results/latency_cv_nb201.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np

from nasir.backends.latency import measure
from nasir.spaces import nb201

RESULTS = Path(__file__).resolve().parent / "results"


def mid_size_index() -> int:
    indices = np.random.default_rng(0).choice(15_625, 201, replace=False)
    flops = [nb201.space.network(nb201.space.from_index(int(i))).count_flops() for i in indices]
    return int(indices[np.argsort(flops)[len(flops) // 2]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_cv_nb201.json")
    args = parser.parse_args()
    index = mid_size_index()
    network = nb201.space.network(nb201.space.from_index(index))
    start, results = time.perf_counter(), []
    for _ in range(args.measurements):
        results.append(measure(network, threads=args.threads, batch=args.batch))
    medians = np.array([r.median_ms for r in results])
    minima = np.array([r.min_ms for r in results])
    out = {
        "date": datetime.date.today().isoformat(), "nb201_index": index, "arch": nb201.space.format(network.blocks[1].arch),
        "mflops": network.count_flops() / 1e6, "params": network.count_params(),
        "settings": {"threads": args.threads, "batch": args.batch, "warmup": results[0].warmup,
                     "repeats": results[0].repeats, "runs": results[0].runs, "provider": "cpu"},
        "medians_ms": [round(float(m), 4) for m in medians],
        "cv_of_medians": float(medians.std() / medians.mean()),
        "max_over_min": float(medians.max() / medians.min()),
        "minima_ms": [round(float(m), 4) for m in minima],
        "cv_of_minima": float(minima.std() / minima.mean()),
        "within_call_cv_median": float(np.median([r.cv for r in results])),
        "p90_over_median": float(np.median([r.p90_ms / r.median_ms for r in results])),
        "seconds": round(time.perf_counter() - start, 1), "fingerprint": results[0].fingerprint,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
