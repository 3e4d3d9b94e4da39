"""Op-level latency table vs measured latency on this CPU, for NAS-Bench-201 networks; HW-NAS-Bench side by side.

Usage: python -P benchmarks/latency_predictor.py [--archs 200] [--fit 10] [--threads 1] [--batch 1]

Cells: ``numpy.random.default_rng(0).choice(15625, archs, replace=False)`` (official indices),
CIFAR-10 networks (C=16, N=5). Every network is measured end to end with ``measure`` at its
defaults (warmup 10, repeats 50, runs 3) in ``--rounds`` passes over all networks, and its
latency is the fastest of its per-pass medians (these machines are shared: a burst of contention
from another process hits one pass, rarely all); the table is built from the ops of all networks (each
distinct op timed once, ~30 entries), its overhead model fitted on the first ``--fit`` networks, and
Spearman rho and the share of predictions within +-10% are reported on the remaining ones, next to
FLOPs alone. Then Spearman between our measured latency / our prediction / FLOPs and HW-NAS-Bench's
measured latencies on its devices for the same cells (shipped in nasir's NB201 table).
Writes benchmarks/results/latency_predictor_nb201.json and a per-arch CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nasir.backends.latency import LatencyTable, measure
from nasir.spaces import nb201
from nasir.spaces.nb201_bench import NB201Benchmark

RESULTS = Path(__file__).resolve().parent / "results"
DEVICES = ("edgegpu_latency", "raspi4_latency", "edgetpu_latency", "pixel3_latency", "eyeriss_latency", "fpga_latency")


def rho(a, b) -> float:
    return round(float(spearmanr(a, b)[0]), 4)


def hw_side_by_side(index: np.ndarray, ours: dict[str, np.ndarray]) -> dict:
    """Spearman of ours vs HW-NAS-Bench's measured latencies (shipped in nasir's NB201 table)."""
    bench = NB201Benchmark.default()
    return {device: {name: rho(values, bench.column("cifar10", device)[index]) for name, values in ours.items()}
            for device in DEVICES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--fit", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="passes over all networks; a network's latency is its fastest median")
    parser.add_argument("--estimator", choices=("median_ms", "min_ms"), default="median_ms", help="per-pass statistic of measure()")
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_predictor_nb201.json")
    args = parser.parse_args()
    index = np.random.default_rng(0).choice(15_625, args.archs, replace=False)
    networks = [nb201.space.network(nb201.space.from_index(int(i))) for i in index]
    start = time.perf_counter()
    rounds = np.array([[getattr(measure(n, threads=args.threads, batch=args.batch), args.estimator) for n in networks]
                       for _ in range(args.rounds)])
    measured = rounds.min(axis=0)
    measure_s = time.perf_counter() - start
    table = LatencyTable(threads=args.threads, batch=args.batch)
    start = time.perf_counter()
    table.build(networks)
    build_s = time.perf_counter() - start
    table.fit(networks[: args.fit], measured[: args.fit])
    start = time.perf_counter()
    predicted = table.predict(networks)
    predict_ms = (time.perf_counter() - start) / len(networks) * 1e3
    flops = np.array([n.count_flops() for n in networks], dtype=float)
    test = slice(args.fit, None)
    ratio = predicted[test] / measured[test]
    result = {
        "date": datetime.date.today().isoformat(), "archs": args.archs, "fit_on": args.fit, "evaluated_on": len(measured[test]),
        "measure_settings": {"threads": args.threads, "batch": args.batch, "warmup": 10, "repeats": 50, "runs": 3},
        "table_entries": len(table.table_), "table_build_seconds": round(build_s, 1), "measure_seconds": round(measure_s, 1),
        "predict_ms_per_arch": round(predict_ms, 3), "coef_sum_nodes_const": [round(float(c), 5) for c in table.coef_],
        "spearman_predicted_vs_measured": rho(predicted[test], measured[test]),
        "share_within_10pct": round(float(np.mean(np.abs(ratio - 1) <= 0.10)), 4),
        "mean_abs_pct_error": round(float(np.mean(np.abs(ratio - 1)) * 100), 2),
        "spearman_flops_vs_measured": rho(flops[test], measured[test]),
        "rounds": args.rounds, "estimator": args.estimator,
        "spearman_between_rounds_0_1": rho(rounds[0], rounds[1]) if args.rounds > 1 else None,
        "median_round_spread_pct": round(float(np.median(rounds.max(0) / rounds.min(0) - 1) * 100), 2),
        "measured_ms_range": [round(float(measured.min()), 4), round(float(measured.max()), 4)],
        "hw_nas_bench_spearman": hw_side_by_side(index, {"measured_here": measured, "predicted": predicted, "flops": flops}),
        "device": table.device_,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "arch", "mflops", "measured_ms", "predicted_ms", "fit_set"])
        for k, (i, n) in enumerate(zip(index, networks)):
            writer.writerow([int(i), nb201.space.format(n.blocks[1].arch), flops[k] / 1e6, measured[k], predicted[k], k < args.fit])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
