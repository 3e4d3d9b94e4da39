"""AREA on the whole NAS-Bench-201 space with our own NASWOT scores, beside REA with the same budget.

Usage: python -P benchmarks/area_live.py [--seeds 20] [--queries 150]

AREA (Mellor et al., ICML 2021): score M = 1000 candidates with NASWOT, seed regularised evolution
(P = 10, S = 3) with the best 10, then evolve on ``cifar10-valid`` validation accuracy read from
the NB201 table. The M candidates are the 1,000-architecture standard sample
(``numpy.random.default_rng(0).choice(15625, 1000, replace=False)``, all 15,625 cells eligible,
unreachable ops included) with the NASWOT scores ``proxies_nb201.py`` computed for them (full C=16
N=5 networks, batch 128, seed 0): ``AREA(candidates=...)``. So every seed starts from the same
proxy-picked population, and seeds differ in evolution only; the paper draws a new M per run.
REA gets the same budget on the same space. Both are real ``Study`` runs (SQLite). Reported: test
accuracy on CIFAR-10 / CIFAR-100 / ImageNet16-120 of the best-by-validation cell, mean +- std over
the seeds, and the cost: NASWOT's measured scoring time of the M candidates on this CPU (once) plus
the search's own wall time (table queries). Writes benchmarks/results/area_live.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasir.machine import cpu_label
from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import AREA, RegularizedEvolution
from nasir.study import Study, TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS, merged_rows, sample_rows  # noqa: E402

VALID = "cifar10-valid/valid_acc"
TESTS = {"cifar10": ("cifar10", "test_acc"), "cifar100": ("cifar100", "test_acc"), "imagenet16": ("ImageNet16-120", "test_acc")}


class StoredNaswot:
    """NASWOT scores of the standard sample, looked up (never recomputed) by official index."""

    name = "naswot(proxies_nb201 standard sample, seed 0)"

    def __init__(self) -> None:
        rows = merged_rows(sample_rows("a"))
        self.scores = {int(i): float(r["naswot"]) for i, r in rows.items()}
        self.ms = {int(i): float(r["ms:naswot"]) for i, r in rows.items()}

    def __call__(self, archs) -> np.ndarray:
        return np.array([self.scores.get(space.index(a), -np.inf) for a in archs])


def search(name: str, seed: int, queries: int, naswot: StoredNaswot, pool: list, bench: NB201Benchmark, tmp: Path) -> dict:
    strategy = AREA(space, scorer=naswot, candidates=pool) if name == "area" else RegularizedEvolution(space)
    objective = TabularObjective(bench, space, report=list(TESTS.values()))
    start = time.perf_counter()
    study = Study.open(tmp / f"{name}-{seed}.db", space, strategy, objective, seed=seed)
    study.optimize(budget_evals=queries)
    seconds = time.perf_counter() - start
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    best = max(done, key=lambda t: (t.metrics[VALID], -t.number))
    return {"strategy": name, "seed": seed, "seconds": round(seconds, 2), "arch": space.format(best.arch),
            **{d: best.metrics[f"{ds}/{m}"] for d, (ds, m) in TESTS.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, default=RESULTS / "area_live.json")
    args = parser.parse_args()
    bench = NB201Benchmark.default()
    naswot = StoredNaswot()
    pool = [space.from_index(i) for i in np.random.default_rng(0).choice(15625, 1000, replace=False)]
    assert all(space.index(a) in naswot.scores for a in pool), "the pool is the scored standard sample"
    top = AREA(space, scorer=naswot, candidates=pool).ask(10)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for name in ("area", "rea"):
                rows.append(search(name, seed, args.queries, naswot, pool, bench, Path(tmp)))
                print(rows[-1], flush=True)
    summary = {}
    for name in ("area", "rea"):
        mine = [r for r in rows if r["strategy"] == name]
        summary[name] = {d: {"mean": round(float(np.mean([r[d] for r in mine])), 2), "std": round(float(np.std([r[d] for r in mine])), 2)}
                         for d in TESTS}
        summary[name]["search_seconds_median"] = round(float(np.median([r["seconds"] for r in mine])), 2)
    summary["area"]["naswot_scoring_seconds_of_the_1000"] = round(sum(naswot.ms[space.index(a)] for a in pool) / 1000, 1)
    summary["area"]["initial_population_cifar10_test"] = [bench.query(space.format(a), *TESTS["cifar10"]) for a in top]
    result = {"summary": summary, "rows": rows, "seeds": args.seeds, "queries": args.queries,
              "date": datetime.date.today().isoformat(), "machine": cpu_label(),
              "command": f"python -P benchmarks/area_live.py --seeds {args.seeds} --queries {args.queries}"}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name, s in summary.items():
        print(name, {d: f"{s[d]['mean']:.2f} +- {s[d]['std']:.2f}" for d in TESTS}, f"search {s['search_seconds_median']} s")


if __name__ == "__main__":
    main()
