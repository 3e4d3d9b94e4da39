"""Training-free and multi-objective search on NAS-Bench-201 with tabular proxy values.

Usage: python benchmarks/training_free_search.py [--runs 500] [--seeds 20] [--out benchmarks/results]
       python benchmarks/training_free_search.py --mo-only [--mo-seeds 20] [--mo-dev-seeds 100]  (minutes)

Proxy values are NAS-Bench-Suite-Zero's (NASLib, CIFAR-10, shipped in nasir's NB201 table as
``zc_*``); they exist for the 9,445 cells without unreachable ops, so every search here runs on that
part of the space (``RestrictedSpace``; NAS-Bench-Suite-Zero does the same), baselines included.

* NASWOT sample-and-rank (Mellor et al. 2021): N = 10, 100, 1000 random cells scored with ``nwot``,
  the best is picked; ``--runs`` repetitions; test accuracy on CIFAR-10, CIFAR-100, ImageNet16-120.
* AREA (NASWOT-assisted REA: M = 1000, P = 10, S = 3) against REA (P = 10, S = 3), 150 queries of
  ``cifar10-valid`` validation accuracy, ``--seeds`` seeds: CIFAR-10 test accuracy of the best-by-valid.
* Hybrid GP-BO (proxy features nwot, synflow, jacov) against plain GP-BO, 100 queries, ``--bo-seeds`` seeds.
* NSGA-II against random search and REA (on validation accuracy alone), 300 queries, ``--mo-seeds``
  seeds (0, 1, ...): validation accuracy vs parameters and vs HW-NAS-Bench edge-GPU latency;
  hypervolume and how much of the table's true front is found. ``--mo-dev-seeds`` adds the same
  comparison on the separate seeds 1000, 1001, ... used while developing NSGA-II (reported apart).
Every search is a real ``Study`` on an SQLite file. Writes ``training_free_search.json`` and a Pareto
plot; with ``--mo-only`` only the multi-objective part runs and writes ``training_free_search_mo.json``
and ``training_free_pareto_mo.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from nasir.objectives import TabularObjective
from nasir.pareto import hypervolume_2d, pareto_front
from nasir.space import RestrictedSpace
from nasir.spaces.nb201 import space as full_space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import AREA, NSGA2, HybridBO, RandomSearch, RegularizedEvolution, SampleAndRank, TableScorer
from nasir.study import Study, TrialState

VALID, TEST = "cifar10-valid/valid_acc", "cifar10/test_acc"
TESTS = {"cifar10": ("cifar10", "test_acc"), "cifar100": ("cifar100", "test_acc"), "imagenet16": ("imagenet16", "test_acc")}
PUBLISHED_NASWOT = {10: (91.53, 1.62), 100: (91.61, 1.71)}  # NASWOT repo README, CIFAR-10 test, full space, 500 runs
MO_STRATEGIES = ("nsga2", "random", "rea")
DEV_SEED_START = 1000  # NSGA-II was developed on seeds 1000.. ; the reported seeds are 0..
MO = {"params": ("cifar10", "params", [80.0, 1.6]), "edgegpu_latency": ("cifar10", "edgegpu_latency", [80.0, 10.0])}

_STATE: dict = {}


def _setup() -> tuple[NB201Benchmark, RestrictedSpace]:
    """The table and the scored sub-space, once per worker process."""
    if not _STATE:
        bench = NB201Benchmark.default()
        nwot = bench.column("cifar10", "zc_nwot")
        scored = lambda a: not np.isnan(nwot[bench.index_of(full_space.format(a))])  # noqa: E731
        _STATE.update(bench=bench, space=RestrictedSpace(full_space, scored, label="naslib-scored"))
    return _STATE["bench"], _STATE["space"]


def _best_by_valid(study: Study) -> dict[str, float]:
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    best = max(done, key=lambda t: (t.metrics[VALID], -t.number))
    return best.metrics


def naswot_run(job: tuple[int, int]) -> dict:
    n, seed = job
    bench, space = _setup()
    start = time.perf_counter()
    (pick,) = SampleAndRank(space, scorer=TableScorer(bench, space, "cifar10", "zc_nwot"), n_samples=n, seed=seed).ask(1)
    key = space.format(pick)
    return {"n": n, "seed": seed, "seconds": time.perf_counter() - start, **{d: bench.query(key, *c) for d, c in TESTS.items()}}


def single_run(job: tuple[str, int, int, str]) -> dict:
    name, seed, queries, tmp = job
    bench, space = _setup()
    scorers = {p: TableScorer(bench, space, "cifar10", f"zc_{p}") for p in ("nwot", "synflow", "jacov")}
    strategy = {
        "rea": lambda: RegularizedEvolution(space),
        "area": lambda: AREA(space, scorer=scorers["nwot"], n_candidates=1000),
        "gp_bo": lambda: HybridBO(space),
        "hybrid_bo": lambda: HybridBO(space, scorers=list(scorers.values())),
    }[name]()
    start = time.perf_counter()
    study = Study.open(Path(tmp) / f"{name}-{seed}.db", space, strategy, TabularObjective(bench, space), seed=seed)
    study.optimize(budget_evals=queries)
    return {"strategy": name, "seed": seed, "seconds": time.perf_counter() - start, "test": _best_by_valid(study)[TEST]}


def mo_run(job: tuple[str, str, int, int, str, int | None]) -> dict:
    """One search of the multi-objective comparison: NSGA-II on (accuracy, cost), random search, or REA
    on validation accuracy alone; the front is read from every trial either way."""
    name, cost, seed, queries, tmp, population = job
    bench, space = _setup()
    ds, metric, _ = MO[cost]
    objective = TabularObjective(bench, space, report=[(ds, "test_acc"), (ds, metric)])
    dirs = {VALID: "maximize", f"{ds}/{metric}": "minimize"}
    strategy = {
        "nsga2": lambda: NSGA2(space, objectives=dirs, **({"population_size": population} if population else {})),
        "random": lambda: RandomSearch(space),
        "rea": lambda: RegularizedEvolution(space),
    }[name]()
    study = Study.open(Path(tmp) / f"mo-{name}-{cost}-{seed}.db", space, strategy, objective, seed=seed)
    study.optimize(budget_evals=queries)
    front = study.pareto_front(dirs)
    return {"strategy": name, "cost": cost, "seed": seed, "duplicates": study.summary()["duplicates"],
            "front": [[t.metrics[VALID], t.metrics[f"{ds}/{metric}"]] for t in front]}


def true_front(bench: NB201Benchmark, cost: str) -> np.ndarray:
    """The whole scored sub-space's front: what a perfect search would return."""
    ds, metric, _ = MO[cost]
    scored = ~np.isnan(bench.column("cifar10", "zc_nwot"))
    pts = np.stack([bench.column("cifar10-valid", "valid_acc"), bench.column(ds, metric)], axis=1)[scored]
    return pts[pareto_front(pts, ["maximize", "minimize"])]


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 3), "std": round(float(np.std(values)), 3), "n": len(values)}


def plot(mo: list[dict], fronts: dict[str, np.ndarray], path: Path, seed: int = 0, queries: int = 300) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, cost in zip(axes, MO):
        tf = fronts[cost][np.argsort(fronts[cost][:, 1])]
        ax.step(tf[:, 1], tf[:, 0], where="post", color="k", lw=1, label="true front (whole table)")
        for name, marker in (("nsga2", "o"), ("random", "x"), ("rea", "+")):
            run = next((r for r in mo if r["strategy"] == name and r["cost"] == cost and r["seed"] == seed), None)
            if run is None:
                continue
            pts = np.array(run["front"])
            ax.scatter(pts[:, 1], pts[:, 0], marker=marker, label=f"{name} (seed {seed}, {queries} queries)")
        ax.set(xlabel=f"CIFAR-10 {cost} ({'M' if cost == 'params' else 'ms, HW-NAS-Bench'})", ylabel="cifar10-valid validation acc. (%)",
               ylim=(80, 92), title=f"NB201: accuracy vs {cost}")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def mo_summary(mo: list[dict], fronts: dict[str, np.ndarray], seeds: list[int]) -> dict:
    """Hypervolume (mean, std, per seed), true-front points found and duplicate queries, per cost and strategy."""
    out: dict = {}
    for cost, (_, _, ref) in MO.items():
        tf = {tuple(p) for p in fronts[cost].round(6).tolist()}
        out[cost] = {"reference_point": ref, "true_front_size": len(tf),
                     "true_hypervolume": round(hypervolume_2d(fronts[cost], ["maximize", "minimize"], ref), 4)}
        for name in MO_STRATEGIES:
            runs = sorted((r for r in mo if r["strategy"] == name and r["cost"] == cost and r["seed"] in seeds), key=lambda r: r["seed"])
            if not runs:
                continue
            hv = [hypervolume_2d(r["front"], ["maximize", "minimize"], ref) for r in runs]
            found = [len({tuple(p) for p in np.round(r["front"], 6).tolist()} & tf) for r in runs]
            out[cost][name] = {"hypervolume": _stats(hv), "true_front_points_found": _stats(found),
                               "duplicate_queries": _stats([r.get("duplicates", 0) for r in runs]),
                               "hypervolume_per_seed": [round(h, 3) for h in hv]}
    return out


def main_mo(args: argparse.Namespace) -> None:
    """``--mo-only``: the multi-objective comparison alone, on the reported and (optionally) development seeds."""
    start = time.perf_counter()
    bench, _ = _setup()
    seeds = list(range(args.mo_seeds))
    dev = list(range(DEV_SEED_START, DEV_SEED_START + args.mo_dev_seeds))
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.workers) as pool:
        jobs = [(m, c, s, args.mo_queries, tmp, args.mo_population) for m in MO_STRATEGIES for c in MO for s in seeds + dev]
        mo = list(pool.map(mo_run, jobs, chunksize=4))
    fronts = {c: true_front(bench, c) for c in MO}
    population = args.mo_population or NSGA2.__init__.__kwdefaults__["population_size"]
    command = (f"python benchmarks/training_free_search.py --mo-only --mo-seeds {args.mo_seeds} --mo-dev-seeds {args.mo_dev_seeds}"
               + (f" --mo-queries {args.mo_queries}" if args.mo_queries != 300 else "")
               + (f" --mo-population {args.mo_population}" if args.mo_population != 40 else ""))
    result = {"meta": {"command": command, "date": datetime.date.today().isoformat(), "machine": platform.machine(),
                       "processor": platform.processor(), "space": "NB201 cells NASLib scored (9,445 without unreachable ops)",
                       "queries": args.mo_queries, "nsga2_population": population, "rea": "P 10, S 3, on validation accuracy alone",
                       "seeds": [seeds[0], seeds[-1]] if seeds else [], "dev_seeds": [dev[0], dev[-1]] if dev else [],
                       "seconds": round(time.perf_counter() - start, 1)},
              "multi_objective": mo_summary(mo, fronts, seeds)}
    if dev:
        result["multi_objective_dev_seeds"] = mo_summary(mo, fronts, dev)
    if seeds:
        plot(mo, fronts, args.out / "training_free_pareto_mo.png", seed=seeds[0], queries=args.mo_queries)
    (args.out / "training_free_search_mo.json").write_text(json.dumps(result, indent=1))
    for part in ("multi_objective", "multi_objective_dev_seeds"):
        for cost, row in result.get(part, {}).items():
            print(part, cost, {m: f"{row[m]['hypervolume']['mean']:.2f} +- {row[m]['hypervolume']['std']:.2f}"
                               for m in MO_STRATEGIES if m in row})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="NASWOT repetitions per N")
    parser.add_argument("--seeds", type=int, default=20, help="seeds for AREA vs REA")
    parser.add_argument("--bo-seeds", type=int, default=10, help="seeds for the GP-BO pair (a GP fit per query)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--mo-only", action="store_true", help="run only the multi-objective comparison (minutes); "
                        "writes training_free_search_mo.json and training_free_pareto_mo.png")
    parser.add_argument("--mo-seeds", type=int, default=20, help="seeds 0..N-1 of the multi-objective comparison")
    parser.add_argument("--mo-dev-seeds", type=int, default=0,
                        help=f"also run seeds {DEV_SEED_START}..{DEV_SEED_START}+N-1 (the development seeds), reported apart (--mo-only)")
    parser.add_argument("--mo-queries", type=int, default=300, help="queries per multi-objective search")
    parser.add_argument("--mo-population", type=int, default=40,
                        help="NSGA-II population: about an eighth of --mo-queries (see nasir.strategies.nsga2); 0: the strategy's default")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.mo_only:
        main_mo(args)
        return
    start = time.perf_counter()
    bench, _ = _setup()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.workers) as pool:
        naswot = list(pool.map(naswot_run, [(n, s) for n in (10, 100, 1000) for s in range(args.runs)], chunksize=50))
        single = list(pool.map(single_run, [(m, s, 150, tmp) for m in ("rea", "area") for s in range(args.seeds)]
                               + [(m, s, 100, tmp) for m in ("gp_bo", "hybrid_bo") for s in range(args.bo_seeds)]))
        mo = list(pool.map(mo_run, [(m, c, s, args.mo_queries, tmp, args.mo_population)
                                    for m in MO_STRATEGIES for c in MO for s in range(args.mo_seeds)]))
    fronts = {c: true_front(bench, c) for c in MO}
    result = {"meta": {"command": "python benchmarks/training_free_search.py " + f"--runs {args.runs} --seeds {args.seeds} --bo-seeds {args.bo_seeds}"
                       + f" --mo-seeds {args.mo_seeds}" + (f" --mo-population {args.mo_population}" if args.mo_population != 40 else ""),
                       "date": datetime.date.today().isoformat(), "machine": platform.machine(), "processor": platform.processor(),
                       "space": "NB201 cells NASLib scored (9,445 without unreachable ops)", "seconds": round(time.perf_counter() - start, 1)}}
    result["naswot"] = {str(n): {d: _stats([r[d] for r in naswot if r["n"] == n]) for d in TESTS}
                        | {"ms_per_search": round(1000 * float(np.median([r["seconds"] for r in naswot if r["n"] == n])), 2),
                           "published_c10": PUBLISHED_NASWOT.get(n)} for n in (10, 100, 1000)}
    result["single_objective"] = {m: {**_stats([r["test"] for r in single if r["strategy"] == m]),
                                      "queries": 150 if m in ("rea", "area") else 100,
                                      "seconds_per_search": round(float(np.median([r["seconds"] for r in single if r["strategy"] == m])), 2)}
                                  for m in ("rea", "area", "gp_bo", "hybrid_bo")}
    result["multi_objective"] = mo_summary(mo, fronts, list(range(args.mo_seeds)))
    plot(mo, fronts, args.out / "training_free_pareto.png", queries=args.mo_queries)
    (args.out / "training_free_search.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items()}, indent=1))


if __name__ == "__main__":
    main()
