"""Training-free sample-and-rank search on the whole NAS-Bench-201 space with our own live proxy scores.

Usage: python -P benchmarks/live_sample_and_rank.py [--draws 500] [--sizes 10 100]

NASWOT's search (Mellor et al., ICML 2021): score N random cells, keep the best. The scores are ours,
computed on full networks by ``proxies_nb201.py`` for the 1,000-architecture standard sample
(``numpy.random.default_rng(0).choice(15625, 1000, replace=False)``, a uniform sample of all 15,625
cells, unreachable ops included). One search = N cells drawn without replacement from those 1,000,
ranked by one proxy (NASWOT, MeCo, SynFlow) or by our label-free ensemble (sum of log ranks, recomputed
among the N, of AZ-NAS's three terms, FLOPs, MeCo, NASWOT and SynFlow); ``--draws`` searches per N. Reported: test
accuracy of the pick on CIFAR-10 / CIFAR-100 / ImageNet16-120 (scores from CIFAR-10 images), the
optimum among the N as a ceiling, and the search's CPU time (the scored cells' measured ms/arch).
Writes benchmarks/results/live_sample_and_rank.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from nasir.machine import cpu_label
from nasir.proxy_ensembles import rank_ensemble
from nasir.spaces.nb201_bench import NB201Benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS, merged_rows, sample_rows  # noqa: E402

ROWS = sample_rows("a", "az")
SINGLE = ("naswot", "meco", "synflow")  # the one-proxy rankers, NASWOT's search with another score
RANKERS = (*SINGLE, "ensemble")
ENSEMBLE = ("az_expressivity", "az_progressivity", "az_trainability", "flops", "meco", "naswot", "synflow")
ACCURACY = {"cifar10": ("cifar10", "test_acc"), "cifar100": ("cifar100", "test_acc"), "imagenet16": ("ImageNet16-120", "test_acc")}
# NASWOT repository README (BENCH.md), CIFAR-10 / CIFAR-100 / ImageNet16-120 test accuracy, N = 10 and 100
PUBLISHED_NASWOT = {10: (91.53, 66.63, 38.33), 100: (91.61, 66.56, 36.37)}


def load_scores() -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Official indices, score columns and per-architecture CPU ms of every proxy the searches read."""
    rows = merged_rows(ROWS)
    index = np.array(sorted(rows))
    scores = {name: np.array([float(rows[i][name]) for i in index]) for name in ENSEMBLE}
    # flops is free; a fused group's row holds each member's equal share of the pass, so the shares add up
    timed = ("az_expressivity", "az_progressivity", "az_trainability", "meco", "naswot", "synflow")
    ms = {name: np.array([float(rows[i][f"ms:{name}"]) for i in index]) for name in timed}
    return index, scores, ms


def pick(members: np.ndarray, scores: dict[str, np.ndarray], ranker: str) -> int:
    """Position (in ``members``) of the cell the ranker keeps; ties go to the first drawn."""
    if ranker in SINGLE:
        values = scores[ranker][members]
    else:
        values = rank_ensemble({name: scores[name][members] for name in ENSEMBLE}, method="log")
    return int(top(values, 1)[0])


def top(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best-scored cells (-inf and NaN last)."""
    return np.argsort(-np.where(np.isfinite(values), values, -np.inf), kind="stable")[:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "live_sample_and_rank.json")
    args = parser.parse_args()
    bench = NB201Benchmark.default()
    index, scores, ms = load_scores()
    accuracy = {name: bench.column(*column)[index] for name, column in ACCURACY.items()}
    valid = bench.column("cifar10-valid", "valid_acc")[index]
    cost_ms = {ranker: ms[ranker] for ranker in SINGLE} | {"ensemble": sum(ms.values())}
    rng = np.random.default_rng(args.seed)
    table = []
    for n in args.sizes:
        draws = [rng.choice(len(index), size=n, replace=False) for _ in range(args.draws)]
        for ranker, cost in cost_ms.items():
            picks = np.array([members[pick(members, scores, ranker)] for members in draws])
            row = {"N": n, "ranker": ranker, "draws": args.draws,
                   "cpu_s_per_search_median": round(float(np.median([cost[m].sum() for m in draws])) / 1000, 1)}
            for name, acc in accuracy.items():
                row[name] = (round(float(acc[picks].mean()), 2), round(float(acc[picks].std()), 2))
            if ranker == "naswot" and n in PUBLISHED_NASWOT:
                row["published_naswot_readme"] = PUBLISHED_NASWOT[n]
            table.append(row)
        best_valid = np.array([m[int(np.argmax(valid[m]))] for m in draws])
        table.append({"N": n, "ranker": "oracle: best cifar10-valid validation accuracy among the N", "draws": args.draws,
                      **{name: (round(float(acc[best_valid].mean()), 2), round(float(acc[best_valid].std()), 2))
                         for name, acc in accuracy.items()}})
    whole = {ranker: {name: round(float(acc[pick(np.arange(len(index)), scores, ranker)]), 2) for name, acc in accuracy.items()}
             for ranker in RANKERS}
    top10 = {name: round(float(accuracy["cifar10"][top(scores[name], 10)].mean()), 2) for name in ENSEMBLE}
    top10["ensemble"] = round(float(accuracy["cifar10"][top(rank_ensemble(scores, method="log"), 10)].mean()), 2)
    result = {"meta": {"command": "python -P benchmarks/live_sample_and_rank.py " + " ".join(
                  [f"--draws {args.draws}", "--sizes", *map(str, args.sizes)]),
                       "date": datetime.date.today().isoformat(), "machine": cpu_label(),
                       "scores": [str(p.relative_to(RESULTS.parent.parent)) for p in ROWS], "ensemble": list(ENSEMBLE)},
              "searches": table, "whole_sample_N1000_one_search": whole,
              "cifar10_test_mean_of_the_10_best_scored_of_1000": top10}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
