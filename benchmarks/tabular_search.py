"""Tabular search on NAS-Bench-201 CIFAR-10: random, local search and regularized evolution.

Usage: python benchmarks/tabular_search.py [--seeds 20] [--queries 150] [--out benchmarks/results]

Objective: validation accuracy of CIFAR-10 trained on the train half (``cifar10-valid/valid_acc``,
``nb201v11_cifar10valid_valid_acc``); reported: the CIFAR-10 test accuracy (``cifar10_test_acc``)
of the best-by-validation architecture after 25/50/100/150 queries, mean and std over seeds.
Every proposal is a query (re-proposals are looked up but counted), as in the NAS-Bench-201 paper.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study, TrialState

CHECKPOINTS = (25, 50, 100, 150)
VALID, TEST = "cifar10-valid/valid_acc", "cifar10/test_acc"


def curve(strategy: str, seed: int, queries: int, bench: NB201Benchmark, workdir: Path) -> list[float]:
    """Test accuracy of the best-by-validation trial after each query."""
    study = Study.open(workdir / f"{strategy}-{seed}.db", space, make_strategy(strategy, space), TabularObjective(bench), seed=seed)
    study.optimize(queries)
    best_valid, best_test, out = -np.inf, np.nan, []
    for trial in study.trials:
        if trial.state is TrialState.COMPLETE and trial.metrics[VALID] > best_valid:
            best_valid, best_test = trial.metrics[VALID], trial.metrics[TEST]
        out.append(best_test)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--strategies", nargs="+", default=["random", "local", "rea"])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    bench, rows, curves = NB201Benchmark.default(), [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in args.strategies:
            start = time.perf_counter()
            curves[strategy] = np.array([curve(strategy, s, args.queries, bench, Path(tmp)) for s in range(args.seeds)])
            seconds = (time.perf_counter() - start) / args.seeds
            for q in CHECKPOINTS:
                acc = curves[strategy][:, q - 1]
                rows.append({"strategy": strategy, "queries": q, "mean": round(acc.mean(), 3), "std": round(acc.std(), 3),
                             "seeds": args.seeds, "seconds_per_search": round(seconds, 2)})
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "tabular_search_nb201_c10.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _plot(curves, args.out / "tabular_search_nb201_c10.png")
    for row in rows:
        print(json.dumps(row))


def _plot(curves: dict[str, np.ndarray], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, runs in curves.items():
        x = np.arange(1, runs.shape[1] + 1)
        mean, std = runs.mean(0), runs.std(0)
        ax.plot(x, mean, label=name)
        ax.fill_between(x, mean - std, mean + std, alpha=0.2)
    ax.axhline(94.37, color="gray", ls="--", lw=0.8, label="optimum 94.37")
    ax.set(xlabel="queries", ylabel="CIFAR-10 test accuracy of best-by-valid (%)", ylim=(90, 94.6),
           title="NAS-Bench-201 CIFAR-10, mean ± std over seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
