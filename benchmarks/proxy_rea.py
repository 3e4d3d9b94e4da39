"""Training-free REA on the whole NAS-Bench-201 space with a live proxy as the fitness: our label-free
ensemble, GenNAS, or any one registered proxy.

Usage: python -P benchmarks/proxy_rea.py [--fitness ensemble|gennas|meco|synflow|...] [--task nb101] [--seeds 10] [--queries 100]
       [--population 10] [--tournament 3] [--threads 1]

``--fitness ensemble`` (default): AZ-NAS's three terms, FLOPs and MeCo (the declared "log-rank (AZ-NAS terms + meco)" of the
1,000-architecture proxy table, rho 0.919), each computed live with the torch frontend (full C=16
N=5 network, seed 0, the settings of ``proxies_nb201.py``) and combined with
:class:`nasir.proxy_ensembles.ReferenceRanks` against our scores of the 1,000-architecture standard
sample, so an architecture's fitness never changes during the search. Search: a real ``Study`` (SQLite
file) with ``RegularizedEvolution`` (population 10, sample 3) for ``--queries`` evaluations; no label
is read during the search. Reported: CIFAR-10 / CIFAR-100 / ImageNet16-120 test accuracy of the
best-scored architecture, mean +- std over the seeds, and wall time per search on this CPU.
Cells of the reference sample reuse their stored scores (same code, seed and data); the rest are
scored live. ``--fitness gennas``: GenNAS's regression loss (negated) with ``--task`` (default ``nb101``,
the task GenNAS searched on NAS-Bench-101 and transferred to NB201: "GenNAS-N"), full C=16 N=5 network,
100 SGD iterations on 16 images, seed 0; every architecture is scored live (cached within the run).
Any other proxy name (``meco``, ``synflow``, ``naswot``, ...) is scored the same way, alone, with its
reference settings; a single fast proxy is the cheapest training-free search.
GenNAS's own NB201 search (``do_explore.py``) is larger: population 50, tournament 10, 400 evolution
steps (450 evaluations), each edge re-drawn with probability 1/5 per mutation; ``--population 50
--tournament 10 --queries 450`` runs that budget with our one-edge mutation.
Writes benchmarks/results/<fitness>_rea.json: per-seed rows appended as they finish (a finished seed is
skipped when the command runs again; ``--study-dir`` also resumes one cut mid-search), and one summary per
search budget, with the command that runs it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from nasir.data import load_sample
from nasir.frontends.torch.proxies import TORCH_PROXIES, ProxyWarning, score_network
from nasir.machine import cpu_label
from nasir.objectives import FunctionObjective
from nasir.proxy_ensembles import ReferenceRanks
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import RegularizedEvolution
from nasir.study import Study

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS, merged_rows, sample_rows  # noqa: E402

REFERENCE_ROWS = sample_rows("a", "az")
AZ = ("az_expressivity", "az_progressivity", "az_trainability")
MEMBERS = (*AZ, "flops", "meco")
TESTS = {"cifar10": ("cifar10", "test_acc"), "cifar100": ("cifar100", "test_acc"), "imagenet16": ("ImageNet16-120", "test_acc")}


def stored_scores() -> dict[str, dict[str, float]]:
    """Our scores of the 1,000-architecture sample, keyed by arch string."""
    return {row["arch_str"]: {m: float(row[m]) for m in MEMBERS} for row in merged_rows(REFERENCE_ROWS).values()}


class ProxyFitness:
    """``arch -> {name: ...}``: one proxy's score of the full network, live, each architecture once."""

    def __init__(self, name: str, options: dict | None = None) -> None:
        self.name, self.options, self.data, self.cache = name, options or {}, load_sample(), {}
        self.live = 0

    def __call__(self, arch) -> dict[str, float]:
        key = space.format(arch)
        if key not in self.cache:
            self.live += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ProxyWarning)
                value = score_network(space.network(arch), [self.name], self.data, seed=0, catch=True,
                                      options={self.name: self.options})[self.name]
            self.cache[key] = float(value)
        return {self.name: self.cache[key]}


class EnsembleFitness:
    """``arch -> {"ensemble": ..., members...}``: live proxy scores (or the stored ones) through ReferenceRanks."""

    def __init__(self, stored: dict[str, dict[str, float]]) -> None:
        self.stored, self.data = stored, load_sample()
        self.ranks = ReferenceRanks({m: [row[m] for row in stored.values()] for m in MEMBERS})
        self.live = 0

    def __call__(self, arch) -> dict[str, float]:
        key = space.format(arch)
        scores = self.stored.get(key)
        if scores is None:
            self.live += 1
            net = space.network(arch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ProxyWarning)
                scores = score_network(net, [*AZ, "flops"], self.data, seed=0, fused=True, catch=True)
                scores |= score_network(net, ["meco"], self.data, seed=0, catch=True)
        return {"ensemble": float(self.ranks({m: [scores[m]] for m in MEMBERS})[0]), **{m: float(scores[m]) for m in MEMBERS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fitness", choices=("ensemble", *TORCH_PROXIES.names()), default="ensemble",
                        help="our ensemble, or one registered proxy (gennas, meco, synflow, naswot, ...)")
    parser.add_argument("--task", default="nb101", help="GenNAS task (--fitness gennas)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--population", type=int, default=10, help="REA population size")
    parser.add_argument("--tournament", type=int, default=3, help="REA tournament (sample) size")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None,
                        help="default: benchmarks/results/<fitness>_rea.json (gennas_<task>_rea.json for a task other than nb101)")
    parser.add_argument("--study-dir", type=Path, default=None,
                        help="keep each seed's SQLite study here, so a killed search resumes mid-seed (default: a temporary folder)")
    args = parser.parse_args()
    other_task = args.fitness == "gennas" and args.task != "nb101"  # rows of another GenNAS task go to their own file
    args.out = args.out or RESULTS / (f"gennas_{args.task}_rea.json" if other_task else f"{args.fitness}_rea.json")
    torch.set_num_threads(args.threads)
    bench = NB201Benchmark.default()
    if args.fitness == "ensemble":
        fitness = EnsembleFitness(stored_scores())
    else:
        fitness = ProxyFitness(args.fitness, {"task": args.task} if args.fitness == "gennas" else None)
    done = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    budget = {"queries": args.queries, "population": args.population, "tournament": args.tournament}
    others = [r for r in done if _budget(r) != budget]
    runs = [r for r in done if _budget(r) == budget]
    for run in runs:  # rows written before the pick's fitness was recorded: score the pick again (deterministic, seed 0)
        if "fitness" not in run:
            run["fitness"] = fitness(space.parse(run["arch"]))[args.fitness]
    with tempfile.TemporaryDirectory() as tmp:
        studies = args.study_dir or Path(tmp)
        studies.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            if any(r["seed"] == seed for r in runs):
                continue
            live_before, start = fitness.live, time.perf_counter()
            objective = FunctionObjective(fitness, args.fitness, name=f"{args.fitness}-rea")
            strategy = RegularizedEvolution(space, population_size=args.population, sample_size=args.tournament)
            db = f"{args.fitness}-q{args.queries}-p{args.population}-t{args.tournament}-{seed}.db"
            study = Study.open(studies / db, space, strategy, objective, seed=seed)
            resumed = len(study.trials)  # trials a killed run of this seed already committed
            best = study.optimize(budget_evals=args.queries)
            key = space.format(best.arch)
            runs.append({"seed": seed, **budget, "seconds": round(time.perf_counter() - start, 1),
                         "scored_live": fitness.live - live_before, "arch": key, "fitness": best.metrics[args.fitness],
                         **({"resumed_after": resumed} if resumed else {}),
                         **{name: bench.query(key, *column) for name, column in TESTS.items()}})
            write(args, runs, others)
            print(runs[-1], flush=True)
    print(json.dumps(write(args, runs, others)["summaries"], indent=1))


def _budget(run: dict) -> dict:
    """A row's search budget (rows written before the REA sizes were options ran population 10, tournament 3)."""
    return {"queries": run["queries"], "population": run.get("population", 10), "tournament": run.get("tournament", 3)}


def write(args: argparse.Namespace, runs: list[dict], others: list[dict]) -> dict:
    """Writes every row, and one summary per search budget (each with the command that runs it)."""
    fitness = {"members": list(MEMBERS), "reference": [str(p.relative_to(RESULTS.parent.parent)) for p in REFERENCE_ROWS]}
    if args.fitness == "gennas":
        fitness = {"gennas_task": args.task, "network": "NB201 C=16 N=5, seed 0, 100 iterations, batch 16"}
    elif args.fitness != "ensemble":
        fitness = {"proxy": args.fitness, "network": "NB201 C=16 N=5, seed 0, the proxy's reference settings"}
    groups: dict[str, list[dict]] = {}
    for run in sorted(runs + others, key=lambda r: (r["queries"], _budget(r)["population"], r["seed"])):
        groups.setdefault(json.dumps(_budget(run)), []).append(run)
    result = {"meta": {"date": datetime.date.today().isoformat(), "machine": cpu_label(), **fitness},
              "summaries": [_summary(args, group) for group in groups.values()], "runs": runs + others}
    args.out.write_text(json.dumps(result, indent=1))
    return result


def _summary(args: argparse.Namespace, runs: list[dict]) -> dict:
    """Mean and std of the picks' test accuracies over the seeds of one budget, and its command."""
    budget = _budget(runs[0])
    task = f" --task {args.task}" if args.fitness == "gennas" else ""
    command = (f"python -P benchmarks/proxy_rea.py --fitness {args.fitness}{task} --seeds {len(runs)} --queries {budget['queries']} "
               f"--population {budget['population']} --tournament {budget['tournament']} --threads {args.threads}")
    summary = {name: [round(float(np.mean([r[name] for r in runs])), 2), round(float(np.std([r[name] for r in runs])), 2)]
               for name in TESTS}
    return summary | budget | {"runs": len(runs), "median_seconds_per_search": float(np.median([r["seconds"] for r in runs])),
                               "command": command}


if __name__ == "__main__":
    main()
