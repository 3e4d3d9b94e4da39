"""Tabular search on NAS-Bench-201 CIFAR-10: random search, local search, REA and BANANAS.

Usage: python benchmarks/tabular_search.py [--seeds 20] [--queries 150] [--workers 2] [--out benchmarks/results]
       [--strategies rea --parallel 4]  (REA breeding 4 children per step: what keeping 4 workers busy costs)

Objective: validation accuracy of CIFAR-10 trained on the train half (``cifar10-valid/valid_acc``,
column ``nb201v11_cifar10valid_valid_acc``); reported: the CIFAR-10 test accuracy (``cifar10_test_acc``)
of the best-by-validation architecture after 25/50/100/150 queries, mean and std (population,
ddof=0) over seeds 0..N-1. Every proposal is a query (re-proposals are looked up but counted), as in
the NAS-Bench-201 paper and NASLib. Each search is a real ``Study`` on an SQLite file.
Writes ``tabular_search_nb201_c10.csv`` (summary), ``tabular_search_nb201_c10_runs.csv`` (per seed),
``tabular_search_nb201_c10.json`` (summary + environment) and a PNG plot when matplotlib is importable; with
``--parallel K`` (K > 1) the names end in ``_parallelK``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study, TrialState

CHECKPOINTS = (25, 50, 100, 150)
VALID, TEST = "cifar10-valid/valid_acc", "cifar10/test_acc"
NAME = "tabular_search_nb201_c10"


def _bench() -> NB201Benchmark:
    """One table per worker process (loading it is not part of a search)."""
    global _BENCH
    if _BENCH is None:
        _BENCH = NB201Benchmark.default()
    return _BENCH


_BENCH: NB201Benchmark | None = None


def search(job: tuple[str, int, int, int, str]) -> dict:
    """One seeded search; the test accuracy of the best-by-validation trial after each query."""
    strategy, seed, queries, parallel, workdir = job
    objective = TabularObjective(_bench(), space)
    options = {"parallel": parallel} if parallel > 1 else {}
    start = time.perf_counter()
    study = Study.open(Path(workdir) / f"{strategy}-{seed}.db", space, make_strategy(strategy, space, **options), objective,
                       seed=seed)
    study.optimize(budget_evals=queries)
    best_valid, best_test, curve = -np.inf, np.nan, []
    for trial in study.trials:
        if trial.state is TrialState.COMPLETE and trial.metrics[VALID] > best_valid:
            best_valid, best_test = trial.metrics[VALID], trial.metrics[TEST]
        curve.append(best_test)
    summary = study.summary()
    return {"strategy": strategy, "seed": seed, "curve": curve, "seconds": time.perf_counter() - start,
            "evaluations": summary["evaluations"], "duplicates": summary["duplicates"]}


def plot(curves: dict[str, np.ndarray], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, runs in curves.items():
        x = np.arange(1, runs.shape[1] + 1)
        mean, std = runs.mean(0), runs.std(0)
        ax.plot(x, mean, label=strategy)
        ax.fill_between(x, mean - std, mean + std, alpha=0.15)
    ax.axhline(94.37, color="k", lw=0.8, ls="--", label="optimum 94.37")
    ax.set(xlabel="queries", ylabel="CIFAR-10 test acc. of best-by-valid (%)", ylim=(92.0, 94.6),
           title=f"NAS-Bench-201 CIFAR-10, mean ± std over {len(next(iter(curves.values())))} seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--strategies", nargs="+", default=["random", "local", "rea", "bananas"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=1, help="children REA breeds per step (the strategies must be rea)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    if args.parallel > 1 and set(args.strategies) != {"rea"}:
        parser.error("--parallel sets REA's breeding batch: give --strategies rea")
    name = NAME if args.parallel == 1 else f"{NAME}_parallel{args.parallel}"
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.workers) as pool:
        jobs = [(s, seed, args.queries, args.parallel, tmp) for s in args.strategies for seed in range(args.seeds)]
        runs = list(pool.map(search, jobs))
    curves = {s: np.array([r["curve"] for r in runs if r["strategy"] == s]) for s in args.strategies}
    rows = []
    for s in args.strategies:
        mine = [r for r in runs if r["strategy"] == s]
        for q in (q for q in CHECKPOINTS if q <= args.queries):
            acc = curves[s][:, q - 1]
            rows.append({"strategy": s, "queries": q, "mean": round(float(acc.mean()), 3), "std": round(float(acc.std()), 3),
                         "seeds": args.seeds, "seconds_per_search": round(float(np.median([r["seconds"] for r in mine])), 2),
                         "evaluations_per_search": round(float(np.mean([r["evaluations"] for r in mine])), 1)})
    with open(args.out / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(args.out / f"{name}_runs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["strategy", "seed", "seconds", "evaluations", "duplicates", *(f"test_acc@{q}" for q in CHECKPOINTS if q <= args.queries)])
        for r in runs:
            writer.writerow([r["strategy"], r["seed"], round(r["seconds"], 3), r["evaluations"], r["duplicates"],
                             *(round(r["curve"][q - 1], 4) for q in CHECKPOINTS if q <= args.queries)])
    env = {"date": datetime.date.today().isoformat(), "python": platform.python_version(), "numpy": np.__version__,
           "machine": platform.processor() or platform.machine(), "workers": args.workers, "parallel": args.parallel,
           "wall_seconds": round(time.perf_counter() - start, 1)}
    plotted = args.parallel == 1 and plot(curves, args.out / f"{name}.png")
    (args.out / f"{name}.json").write_text(json.dumps({"rows": rows, "environment": env, "plot": plotted}, indent=1))
    for row in rows:
        print(row)
    print(env)


if __name__ == "__main__":
    main()
