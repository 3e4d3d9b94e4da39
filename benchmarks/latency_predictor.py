"""Op-level latency table vs measured latency on this CPU, for NAS-Bench-201 networks; HW-NAS-Bench side by side.

Usage: python -P benchmarks/latency_predictor.py [--archs 200] [--fit 40] [--rounds 3] [--estimator min_ms]

Evaluation cells: ``numpy.random.default_rng(0).choice(15625, archs, replace=False)`` (official
indices); training cells, on which the overhead model is fitted: ``default_rng(1)`` draws with the
evaluation cells removed, the first ``--fit`` of them (disjoint by construction, asserted).
CIFAR-10 networks (C=16, N=5). Every network is measured end to end with ``measure`` at its
defaults (warmup 10, repeats 50, runs 3) in ``--rounds`` passes over all networks, and its
latency is the fastest of its per-pass ``--estimator`` values (these machines are shared: a
burst of contention from another process hits one pass, rarely all). The table holds every
distinct (op, attrs, shapes) the networks run (each timed once); predictions for the evaluation
networks (table lookups plus onnxruntime's layout conversions, read from a session that is
optimised but never run) are scored by Spearman rho and the share within +-10%, next to FLOPs
alone, to the table without the layout terms, and to the first version of the model (every IR
node costed, ``a * sum + b * nodes + c``); all fitted on the same training networks. Then Spearman between our measured latency / our
prediction / FLOPs and HW-NAS-Bench's measured latencies on its devices for the same cells.
Writes benchmarks/results/latency_predictor_nb201.json and a per-arch CSV (evaluation and training rows);
``--rescore-hw`` recomputes only the HW-NAS-Bench side from that CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nasir.backends.latency import LatencyCache, LatencyTable, measure
from nasir.backends.onnx.predictor import op_signatures
from nasir.spaces import nb201
from nasir.spaces.nb201_bench import NB201Benchmark

RESULTS = Path(__file__).resolve().parent / "results"
DEVICES = ("edgegpu_latency", "raspi4_latency", "edgetpu_latency", "pixel3_latency", "eyeriss_latency", "fpga_latency")


def rho(a, b) -> float:
    """Spearman over the pairs both sides measured (HW-NAS-Bench has no Edge TPU latency for the cells that did not
    compile, NaN in the table)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    kept = ~(np.isnan(a) | np.isnan(b))
    return round(float(spearmanr(a[kept], b[kept])[0]), 4)


def scores(predicted: np.ndarray, measured: np.ndarray) -> dict:
    ratio = predicted / measured
    return {"spearman": rho(predicted, measured), "share_within_10pct": round(float(np.mean(np.abs(ratio - 1) <= 0.10)), 4),
            "mean_abs_pct_error": round(float(np.mean(np.abs(ratio - 1)) * 100), 2),
            "max_abs_pct_error": round(float(np.max(np.abs(ratio - 1)) * 100), 1)}


def hw_side_by_side(index: np.ndarray, ours: dict[str, np.ndarray]) -> dict:
    """Spearman of ours vs HW-NAS-Bench's measured latencies (shipped in nasir's NB201 table)."""
    bench = NB201Benchmark.default()
    theirs = {device: bench.column("cifar10", device)[index] for device in DEVICES}
    return {device: {"cells": int((~np.isnan(hw)).sum()), **{name: rho(values, hw) for name, values in ours.items()}}
            for device, hw in theirs.items()}


def rescore_hw(out: Path) -> dict:
    """Recomputes ``hw_nas_bench_spearman`` of a stored run from its per-arch CSV (no measuring)."""
    with open(out.with_suffix(".csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["set"] == "eval"]
    column = lambda key: np.array([float(r[key]) for r in rows])  # noqa: E731
    result = json.loads(out.read_text())
    result["hw_nas_bench_spearman"] = hw_side_by_side(np.array([int(r["index"]) for r in rows]), {
        "measured_here": column("measured_ms"), "predicted": column("predicted_ms"), "flops": column("mflops")})
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result["hw_nas_bench_spearman"]


def first_version(train, train_ms, evaluate, cache: LatencyCache, threads: int, batch: int) -> np.ndarray:
    """The previous model, for comparison: every IR node costed, ``a * sum + b * nodes + c`` by least squares."""
    table = LatencyTable(threads=threads, batch=batch, cache=cache, merge=False, layout=False).build([*train, *evaluate])

    def features(network) -> list[float]:
        return [sum(table.totals(network).values()), len(op_signatures(network, merge=False)), 1.0]

    coef, *_ = np.linalg.lstsq(np.array([features(n) for n in train]), train_ms, rcond=None)
    return np.array([features(n) for n in evaluate]) @ coef


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--fit", type=int, default=40, help="training networks (default_rng(1), disjoint from the evaluated ones)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="passes over all networks; a network's latency is its fastest value")
    parser.add_argument("--estimator", choices=("median_ms", "min_ms"), default="min_ms", help="per-pass statistic of measure()")
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_predictor_nb201.json")
    parser.add_argument("--rescore-hw", action="store_true",
                        help="only recompute the HW-NAS-Bench Spearman of --out from its CSV (no measuring)")
    args = parser.parse_args()
    if args.rescore_hw:
        print(json.dumps(rescore_hw(args.out), indent=2))
        return
    index = np.random.default_rng(0).choice(15_625, args.archs, replace=False)
    held = set(index.tolist())
    train_index = np.array([i for i in np.random.default_rng(1).choice(15_625, args.fit + args.archs, replace=False)
                            if i not in held][: args.fit])
    assert len(train_index) == args.fit and not held & set(train_index.tolist())
    networks = [nb201.space.network(nb201.space.from_index(int(i))) for i in index]
    train = [nb201.space.network(nb201.space.from_index(int(i))) for i in train_index]
    loads = [round(os.getloadavg()[0], 2)]
    start = time.perf_counter()
    rounds = []
    for _ in range(args.rounds):
        rounds.append([getattr(measure(n, threads=args.threads, batch=args.batch), args.estimator) for n in [*networks, *train]])
        loads.append(round(os.getloadavg()[0], 2))
    rounds = np.array(rounds)
    measured_all = rounds.min(axis=0)
    measured, train_ms = measured_all[: args.archs], measured_all[args.archs:]
    measure_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        cache = LatencyCache(Path(tmp) / "ops.db")  # shared op timings: the comparison model reuses them
        table = LatencyTable(threads=args.threads, batch=args.batch, cache=cache)
        start = time.perf_counter()
        table.build([*networks, *train])
        build_s = time.perf_counter() - start
        table.fit(train, train_ms)
        start = time.perf_counter()
        predicted = table.predict(networks)
        predict_ms = (time.perf_counter() - start) / len(networks) * 1e3
        plain = LatencyTable(threads=args.threads, batch=args.batch, cache=cache, layout=False).fit(train, train_ms)
        start = time.perf_counter()
        table_only = plain.predict(networks)
        table_only_ms = (time.perf_counter() - start) / len(networks) * 1e3
        previous = first_version(train, train_ms, networks, cache, args.threads, args.batch)
        cache.close()
    loads.append(round(os.getloadavg()[0], 2))
    flops = np.array([n.count_flops() for n in networks], dtype=float)
    result = {
        "date": datetime.date.today().isoformat(), "archs": args.archs, "fit_on": args.fit,
        "train_index": [int(i) for i in train_index],
        "measure_settings": {"threads": args.threads, "batch": args.batch, "warmup": 10, "repeats": 50, "runs": 3},
        "rounds": args.rounds, "estimator": args.estimator, "load_average_1min": loads,
        "table_entries": len(table.table_), "table_build_seconds": round(build_s, 1), "measure_seconds": round(measure_s, 1),
        "predict_ms_per_arch": round(predict_ms, 3), "predict_ms_per_arch_without_layout": round(table_only_ms, 3),
        "scale_per_op": {op: round(v, 4) for op, v in table.scale_.items()},
        "intercept_ms": round(table.intercept_, 5),
        "evaluated": scores(predicted, measured),
        "without_layout_terms": {**scores(table_only, measured), "scale_per_op": {op: round(v, 4) for op, v in plain.scale_.items()}},
        "first_version_same_training": scores(previous, measured),
        "spearman_flops_vs_measured": rho(flops, measured),
        "spearman_between_rounds_0_1": rho(rounds[0, : args.archs], rounds[1, : args.archs]) if args.rounds > 1 else None,
        "median_round_spread_pct": round(float(np.median(rounds.max(0) / rounds.min(0) - 1) * 100), 2),
        "measured_ms_range": [round(float(measured.min()), 4), round(float(measured.max()), 4)],
        "hw_nas_bench_spearman": hw_side_by_side(index, {"measured_here": measured, "predicted": predicted, "flops": flops}),
        "device": table.device_,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    train_pred = table.predict(train)
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "arch", "mflops", "measured_ms", "predicted_ms", "without_layout_ms", "first_version_ms", "set"])
        for k, (i, n) in enumerate(zip(index, networks)):
            writer.writerow([int(i), nb201.space.format(n.blocks[1].arch), flops[k] / 1e6, measured[k], predicted[k], table_only[k],
                             previous[k], "eval"])
        for k, (i, n) in enumerate(zip(train_index, train)):
            writer.writerow([int(i), nb201.space.format(n.blocks[1].arch), n.count_flops() / 1e6, train_ms[k], train_pred[k], "", "",
                             "train"])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
