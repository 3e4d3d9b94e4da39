"""What a cascade's shortlist size K buys: every shorter shortlist of the recorded cascades, read back from their rows.

Usage: python -P benchmarks/cascade_k.py [--files meco_gennas_rea.json synflow_gennas_rea.json] [--out FILE]

A cascade row of ``proxy_rea.py --rerank`` keeps its whole shortlist, best stage-1 score first, with each cell's
stage-2 score and the seconds its first stage-2 scoring took. Both proxies are deterministic, so the cascade with
shortlist size k < K would have scored exactly the first k cells and picked the best of them (the first of equals,
as ``proxy_rea.py`` does): this script replays that for every k, with no new scoring.
Reported per stage-1 budget and k: CIFAR-10 test accuracy of the pick (mean +- std over the seeds), how many seeds
pick a cell at or above 94.0, and the median search time as if nothing were cached, split into stage 1 (the row's
``uncached_seconds`` less its whole shortlist) and stage 2 (the first k cells' seconds).
K is read off results already seen, so the best k here is chosen after the fact; a fixed k must be validated on
fresh seeds. Writes benchmarks/results/cascade_k.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nasir.spaces.nb201_bench import NB201Benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS  # noqa: E402

GOAL = 94.0  # the CIFAR-10 bar


def replay(runs: list[dict], k: int, bench: NB201Benchmark) -> dict:
    """The picks of shortlist size ``k`` over ``runs`` (one budget's seeds), their accuracy and time."""
    picks, stage1, stage2 = [], [], []
    for run in runs:
        shortlist = run["shortlist"]
        head = shortlist[:k]
        picks.append(bench.query(max(head, key=lambda row: row["score"])["arch"], "cifar10", "test_acc"))
        stage1.append(run["uncached_seconds"] - sum(row["seconds"] for row in shortlist))
        stage2.append(sum(row["seconds"] for row in head))
    return {"k": k, "cifar10": [round(float(np.mean(picks)), 2), round(float(np.std(picks)), 2)],
            "at_goal": int(sum(p >= GOAL for p in picks)), "seeds": len(runs),
            "median_stage1_seconds": round(float(np.median(stage1)), 1),
            "median_stage2_seconds": round(float(np.median(stage2)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=["meco_gennas_rea.json", "synflow_gennas_rea.json"],
                        help="cascade rows of proxy_rea.py, under benchmarks/results unless absolute")
    parser.add_argument("--out", type=Path, default=RESULTS / "cascade_k.json")
    args = parser.parse_args()
    bench = NB201Benchmark.default()
    tables = []
    for name in args.files:
        groups: dict[tuple, dict[int, list[dict]]] = {}  # stage-1 budget -> shortlist size -> rows
        for run in json.loads((RESULTS / name).read_text())["runs"]:
            budget = (run["queries"], run["population"], run["tournament"])
            groups.setdefault(budget, {}).setdefault(run["rerank_top"], []).append(run)
        for (queries, population, tournament), by_top in sorted(groups.items()):
            top = max(by_top)  # a shorter shortlist of the same search is one of the longest one's prefixes
            runs = by_top[top]
            rows = [replay(runs, k, bench) for k in range(1, top + 1)]
            tables.append({"file": name, "stage1": name.split("_")[0], "queries": queries, "population": population,
                           "tournament": tournament, "rows": rows})
            print(f"\n{name}: {queries} trials, P{population} T{tournament}, {len(runs)} seeds")
            print(" k | CIFAR-10 test   | >= 94.0 | stage 1 s | stage 2 s")
            for row in rows:
                mean, std = row["cifar10"]
                print(f"{row['k']:2d} | {mean:6.2f} +- {std:4.2f} | {row['at_goal']:3d}/{row['seeds']:<3d} | "
                      f"{row['median_stage1_seconds']:9.1f} | {row['median_stage2_seconds']:9.1f}")
    out = {"command": "python -P benchmarks/cascade_k.py --files " + " ".join(args.files), "goal": GOAL, "tables": tables}
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
