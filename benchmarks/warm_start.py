"""Warm-starting a search with cells found on another dataset (NAS-Bench-201, tabular).

Usage: python -P benchmarks/warm_start.py [--seeds 20] [--source-queries 150] [--top 10] [--queries 100]
       [--out benchmarks/results/warm_start_transfer.json]

Per seed: REA (P 10, S 3) searches CIFAR-10 (``cifar10-valid/valid_acc``) for ``--source-queries`` queries; its
``--top`` best cells by that validation accuracy become the ``warm_start`` of an REA search on CIFAR-100 and on
ImageNet16-120, which optimises the target's validation accuracy (NASLib's ``naslib_val_acc`` column) and reports the
test accuracy of its best-by-validation cell. The same searches without a warm start are the baseline; REA's initial
population is then ``--top`` random cells, so the two differ only in where the population starts. Warm cells count
as target queries (they are the target study's first trials); the source search's queries are not counted (it was
run for CIFAR-10 anyway). Each search is a real ``Study`` on an SQLite file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study, TrialState

CHECKPOINTS = (10, 25, 50, 100)
TARGETS = {"cifar100": "cifar100", "imagenet16-120": "imagenet16"}


def best_after(study: Study, valid: str, test: str, n: int) -> float:
    """Test accuracy of the best-by-validation trial among the first ``n`` (the first of equals)."""
    done = [t for t in study.trials[:n] if t.state is TrialState.COMPLETE]
    return max(done, key=lambda t: t.metrics[valid]).metrics[test]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--source-queries", type=int, default=150)
    parser.add_argument("--top", type=int, default=10, help="source cells handed over (and REA's population size)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "warm_start_transfer.json")
    args = parser.parse_args()
    bench = NB201Benchmark.default()
    checkpoints = [c for c in CHECKPOINTS if c <= args.queries]
    curves: dict[str, dict[str, list[list[float]]]] = {t: {"cold": [], "warm": []} for t in TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            source = Study.open(Path(tmp) / f"source-{seed}.db", space, make_strategy("rea", space), TabularObjective(bench, space),
                                seed=seed)
            source.optimize(budget_evals=args.source_queries)
            handed = [t.arch for t in source.top_trials(args.top)]
            for target, ds in TARGETS.items():
                valid, test = f"{ds}/naslib_val_acc", f"{ds}/test_acc"
                objective = TabularObjective(bench, space, dataset=ds, metric="naslib_val_acc", report=((ds, "test_acc"),))
                for kind, warm in (("cold", []), ("warm", handed)):
                    strategy = make_strategy("rea", space, population_size=args.top, warm_start=warm)
                    study = Study.open(Path(tmp) / f"{target}-{kind}-{seed}.db", space, strategy, objective, seed=seed)
                    study.optimize(budget_evals=args.queries)
                    curves[target][kind].append([best_after(study, valid, test, n) for n in checkpoints])
            print(f"seed {seed}: " + ", ".join(f"{t} {k} {curves[t][k][-1][-1]:.2f}" for t in TARGETS for k in ("cold", "warm")),
                  flush=True)
    summary = {target: {kind: {str(n): [round(float(np.mean(col)), 2), round(float(np.std(col)), 2)]
                               for n, col in zip(checkpoints, np.array(rows).T)} for kind, rows in kinds.items()}
               for target, kinds in curves.items()}
    result = {"meta": {"date": datetime.date.today().isoformat(), "machine": platform.machine(), "seeds": args.seeds,
                       "source_queries": args.source_queries, "top": args.top, "queries": args.queries,
                       "command": f"python -P benchmarks/warm_start.py --seeds {args.seeds} --source-queries "
                                  f"{args.source_queries} --top {args.top} --queries {args.queries}"},
              "summary": summary, "runs": curves}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    for target, kinds in summary.items():
        for kind, row in kinds.items():
            print(f"{target:15s} {kind}: " + "  ".join(f"{n}: {m:.2f} +- {s:.2f}" for n, (m, s) in row.items()))


if __name__ == "__main__":
    main()
