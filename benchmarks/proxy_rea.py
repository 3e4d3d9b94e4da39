"""Training-free REA on the whole NAS-Bench-201 space with a live proxy as the fitness: our label-free
ensemble, GenNAS, or any one registered proxy.

Usage: python -P benchmarks/proxy_rea.py [--fitness ensemble|gennas|meco|synflow|...] [--task nb101] [--seeds 10] [--queries 100]
       [--population 10] [--tournament 3] [--parallel 1] [--rerank gennas --rerank-top 10] [--study-dir DIR] [--threads 1] [--device cuda]
       [--first-seed S]  (a second process on the seeds from S up, beside one on the lower seeds: rows are merged)

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
100 SGD iterations on 16 images, seed 0; every architecture is scored live.
Any other proxy name (``meco``, ``synflow``, ``naswot``, ...) is scored the same way, alone, with its
reference settings; a single fast proxy is the cheapest training-free search.
GenNAS's own NB201 search (``do_explore.py``) is larger: population 50, tournament 10, 400 evolution
steps (450 evaluations), each edge re-drawn with probability 1/5 per mutation; ``--population 50
--tournament 10 --queries 450`` runs that budget with our one-edge mutation. ``--parallel K``: REA breeds K children
per step (as it would to keep K workers busy; a different search, its rows apart).
``--rerank PROXY --rerank-top K`` makes the search a cascade: after it, the K distinct cells it scored best are scored
with a second, costlier proxy (e.g. MeCo's search, then GenNAS on its ten best) and the pick is the second proxy's best;
rows keep the shortlist with both scores. The second stage is the library's ``nasir.study.rerank``, stored beside the
search in its study file; a cascade reuses a finished search's study in ``--study-dir``.
A single proxy's scores are deterministic, so a cell scored once (by an earlier seed, or by any study of the same
fitness in ``--study-dir``) is looked up, not scored again: the search is the same, only faster. Each row therefore
gives ``seconds`` (this run's wall time) and ``uncached_seconds`` (the search's time as if nothing had been cached:
every trial records ``score_seconds``, the time its cell's first scoring took), ``scored_live`` and ``cells`` (the
distinct cells the search evaluated).
Writes benchmarks/results/<fitness>[_<rerank>]_rea.json: per-seed rows appended as they finish (a finished seed is
skipped when the command runs again; ``--study-dir`` also resumes one cut mid-search), and one summary per
search budget, with the command that runs it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from nasir.data import load_sample
from nasir.frontends.torch.proxies import TORCH_PROXIES, ProxyWarning, score_network
from nasir.machine import device_label
from nasir.objectives import FunctionObjective
from nasir.proxy_ensembles import ReferenceRanks
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import RegularizedEvolution
from nasir.study import Cascade, SQLiteStorage, Study, TrialState, rerank, rerank_name

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS, merged_rows, sample_rows  # noqa: E402

REFERENCE_ROWS = sample_rows("a", "az")
AZ = ("az_expressivity", "az_progressivity", "az_trainability")
MEMBERS = (*AZ, "flops", "meco")
SCORE_SECONDS = "score_seconds"  # recorded with every trial: what computing its scores took (the first time)
TESTS = {"cifar10": ("cifar10", "test_acc"), "cifar100": ("cifar100", "test_acc"), "imagenet16": ("ImageNet16-120", "test_acc")}


def stored_scores() -> dict[str, dict[str, float]]:
    """Our scores of the 1,000-architecture sample and the seconds they took, keyed by arch string."""
    return {row["arch_str"]: {**{m: float(row[m]) for m in MEMBERS},
                              SCORE_SECONDS: sum(float(row[f"ms:{m}"]) for m in ("az_expressivity", "flops", "meco")) / 1000}
            for row in merged_rows(REFERENCE_ROWS).values()}  # the AZ-NAS terms share one fused pass: its time is each one's


class ProxyFitness:
    """``arch -> {name: ..., score_seconds: ...}``: one proxy's score of the full network, live, each architecture once.

    Scores are deterministic (seed 0), so one cell scored by an earlier seed or by another study (:meth:`reuse`) is not
    scored again; every score keeps the seconds its first computation took, so a search's cost can be counted as if
    nothing had been cached.
    """

    def __init__(self, name: str, options: dict | None = None, device: str = "cpu") -> None:
        self.name, self.options, self.data, self.device = name, options or {}, load_sample(), device
        self.cache: dict[str, tuple[float, float]] = {}  # arch string -> (score, seconds its first computation took)
        self.live = 0

    def __call__(self, arch) -> dict[str, float]:
        key = space.format(arch)
        if key not in self.cache:
            self.live += 1
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ProxyWarning)
                value = score_network(space.network(arch), [self.name], self.data, seed=0, catch=True, device=self.device,
                                      options={self.name: self.options})[self.name]
            self.cache[key] = (float(value), time.perf_counter() - start)
        value, seconds = self.cache[key]
        return {self.name: value, SCORE_SECONDS: seconds}

    def reuse(self, paths: list[Path], study_name: str | None = None) -> int:
        """Takes the scores (and first-computation times) of the cells the studies in ``paths`` (only those named
        ``study_name``, if given) evaluated; returns how many cells that adds. Studies written before trials recorded
        ``score_seconds`` give their trial's wall time."""
        before = len(self.cache)
        for path in paths:
            storage = SQLiteStorage(path)
            try:
                names = storage.study_names()
                for study in names if study_name is None else [n for n in names if n == study_name]:
                    for trial in storage.trials(study, TrialState.COMPLETE):
                        if trial.duplicate_of is None and self.name in trial.metrics:
                            key, seconds = space.format(trial.arch), trial.metrics.get(SCORE_SECONDS, trial.seconds)
                            known = self.cache.get(key, (0.0, 0.0))[1]
                            self.cache[key] = (trial.metrics[self.name], max(seconds, known))  # a lookup's trial is fast
            finally:
                storage.close()
        return len(self.cache) - before


class EnsembleFitness:
    """``arch -> {"ensemble": ..., members..., score_seconds}``: live proxy scores (or the stored ones) through ReferenceRanks.

    A cell of the reference sample takes its stored scores; its ``score_seconds`` is their stored time (the fused AZ-NAS
    pass, FLOPs and MeCo), so a search's cost counts it as if scored live.
    """

    def __init__(self, stored: dict[str, dict[str, float]], device: str = "cpu") -> None:
        self.stored, self.data, self.device = stored, load_sample(), device
        self.ranks = ReferenceRanks({m: [row[m] for row in stored.values()] for m in MEMBERS})
        self.live = 0

    def __call__(self, arch) -> dict[str, float]:
        key = space.format(arch)
        scores = self.stored.get(key)
        if scores is None:
            self.live += 1
            start = time.perf_counter()
            net = space.network(arch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ProxyWarning)
                scores = score_network(net, [*AZ, "flops"], self.data, seed=0, fused=True, catch=True, device=self.device)
                scores |= score_network(net, ["meco"], self.data, seed=0, catch=True, device=self.device)
            scores[SCORE_SECONDS] = time.perf_counter() - start
        return {"ensemble": float(self.ranks({m: [scores[m]] for m in MEMBERS})[0]),
                **{m: float(scores[m]) for m in (*MEMBERS, SCORE_SECONDS)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fitness", choices=("ensemble", *TORCH_PROXIES.names()), default="ensemble",
                        help="our ensemble, or one registered proxy (gennas, meco, synflow, naswot, ...)")
    parser.add_argument("--task", default="nb101", help="GenNAS task (--fitness gennas)")
    parser.add_argument("--seeds", type=int, default=10, help="run seeds 0 .. SEEDS-1 (those without a row yet)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="start at this seed: a second process beside one still on the lower seeds (own study files)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--population", type=int, default=10, help="REA population size")
    parser.add_argument("--tournament", type=int, default=3, help="REA tournament (sample) size")
    parser.add_argument("--parallel", type=int, default=1, help="children REA breeds per step (what K workers would run)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="where the proxies run (cuda: the GPU check of gpu_checks.sh)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: benchmarks/results/<fitness>[_<rerank>]_rea.json (gennas_<task> for a GenNAS task other than nb101)")
    parser.add_argument("--study-dir", type=Path, default=None,
                        help="keep each seed's SQLite study here, so a killed search resumes mid-seed (default: a temporary folder)")
    parser.add_argument("--rerank", choices=TORCH_PROXIES.names(), default=None,
                        help="a cascade: after the search, score its --rerank-top best cells with this proxy and pick its best")
    parser.add_argument("--rerank-top", type=int, default=10, help="how many of the search's best cells --rerank scores")
    args = parser.parse_args()
    args.out = args.out or RESULTS / f"{_tag(args)}_rea.json"
    torch.set_num_threads(args.threads)
    bench = NB201Benchmark.default()
    if args.fitness == "ensemble":
        fitness = EnsembleFitness(stored_scores(), args.device)
    else:
        fitness = ProxyFitness(args.fitness, _options(args, args.fitness), args.device)
    done = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    budget = {"queries": args.queries, "population": args.population, "tournament": args.tournament}
    if args.parallel != 1:
        budget["parallel"] = args.parallel
    if args.rerank:
        budget |= {"rerank": args.rerank, "rerank_top": args.rerank_top}
        scorer = ProxyFitness(args.rerank, _options(args, args.rerank), args.device)
        for run in done:  # the second stage's scores of earlier rows
            scorer.cache.update({row["arch"]: (row["score"], row["seconds"]) for row in run.get("shortlist", [])})
    others = [r for r in done if _budget(r) != budget]
    runs = [r for r in done if _budget(r) == budget]
    for run in runs:  # rows written before the pick's fitness was recorded: score the pick again (deterministic, seed 0)
        if "fitness" not in run:
            run["fitness"] = fitness(space.parse(run["arch"]))[args.fitness]
    with tempfile.TemporaryDirectory() as tmp:
        studies = args.study_dir or Path(tmp)
        studies.mkdir(parents=True, exist_ok=True)
        prefix = _prefix(args, args.fitness)
        if isinstance(fitness, ProxyFitness):  # cells another seed's study already scored are looked up
            print(f"{fitness.reuse(sorted(studies.glob(f'{prefix}-q*.db')))} scored cells taken from {studies}", flush=True)
        if args.rerank:  # GenNAS's own searches, and the second stages of earlier cascades
            scorer.reuse(sorted(studies.glob(f"{_prefix(args, args.rerank)}-q*.db")))
            scorer.reuse(sorted(studies.glob(f"{prefix}-q*.db")), rerank_name("default", _rerank_name(args)))
        for seed in range(args.first_seed, args.seeds):
            if any(r["seed"] == seed for r in runs):
                continue
            live_before, start, started_at = fitness.live, time.perf_counter(), time.time()
            objective = FunctionObjective(fitness, args.fitness, name=f"{args.fitness}-rea")
            strategy = RegularizedEvolution(space, population_size=args.population, sample_size=args.tournament,
                                            parallel=args.parallel)
            bred = f"-k{args.parallel}" if args.parallel != 1 else ""
            db = f"{prefix}-q{args.queries}-p{args.population}-t{args.tournament}{bred}-{seed}.db"
            study = Study.open(studies / db, space, strategy, objective, seed=seed, retry_interrupted=True)  # only this process runs it
            resumed = len(study.trials)  # trials a killed run of this seed already committed
            best = study.optimize(budget_evals=args.queries)
            key, fit, second, trials = space.format(best.arch), best.metrics[args.fitness], {}, study.trials
            if args.rerank:
                cascade = rerank(study, FunctionObjective(scorer, args.rerank, name=_rerank_name(args)), args.rerank_top,
                                 retry_interrupted=True)
                picked = cascade.best()  # the first of equals: the one the search scored higher
                if picked is None:  # nothing to pick; the study file keeps every failure and its error
                    raise SystemExit(f"seed {seed}: every --rerank {args.rerank} evaluation failed, e.g. "
                                     f"{cascade.pairs[0][1].error or cascade.pairs[0][1].state.value}")
                first, pick = picked
                second = {"stage1_arch": key, "rerank_score": pick.metrics[args.rerank], "shortlist": shortlist_rows(cascade, args.fitness)}
                key, fit = space.format(pick.arch), first.metrics[args.fitness]
                trials += [second for _, second in cascade.pairs]  # not the cells a longer shortlist scored before
            seconds = time.perf_counter() - start
            uncached = uncached_cost(trials, seconds, started_at)
            runs.append({"seed": seed, **budget, "machine": device_label(args.device),
                         "seconds": round(seconds, 1), "uncached_seconds": round(uncached, 1),
                         "scored_live": fitness.live - live_before, "cells": sum(t.duplicate_of is None for t in study.trials),
                         "arch": key, "fitness": fit, **({"resumed_after": resumed} if resumed else {}), **second,
                         **{name: bench.query(key, *column) for name, column in TESTS.items()}})
            write(args, runs, others)
            print(runs[-1], flush=True)
    print(json.dumps(write(args, runs, others)["summaries"], indent=1))


def shortlist_rows(cascade: Cascade, metric: str) -> list[dict]:
    """A cascade's shortlist for the row, best first by stage 1 (``metric``): ``arch``, ``stage1`` and ``score`` (the two
    proxies' scores) and ``seconds`` (what the second proxy's first scoring of the cell took)."""
    stage2 = cascade.study.objective.primary
    return [{"arch": space.format(first.arch), "stage1": first.metrics[metric], "score": second.metrics.get(stage2, -np.inf),
             "seconds": second.metrics.get(SCORE_SECONDS, second.seconds)} for first, second in cascade.pairs]


def uncached_cost(trials: list, seconds: float, started_at: float) -> float:
    """A search's seconds as if no score had been cached: this run's wall time, plus for every cell the search (and its
    second stage) evaluated the scoring time a cache hit (another seed's score, a stored reference score) saved, plus the
    scoring time of cells an earlier, killed run committed. Re-proposals the study looks up cost nothing either way."""
    cost = seconds
    for trial in trials:
        if trial.duplicate_of is not None or not trial.finished:
            continue
        first = trial.metrics.get(SCORE_SECONDS, trial.seconds)  # no score_seconds: a failed trial, or an older study
        earlier = trial.started is None or trial.started < started_at
        cost += first if earlier else max(first - trial.seconds, 0.0)
    return cost


def _rerank_name(args: argparse.Namespace) -> str:
    """The second stage's objective name: its proxy, with GenNAS's task unless it is ``nb101``."""
    return f"{_prefix(args, args.rerank)}-rerank"


def _options(args: argparse.Namespace, proxy: str) -> dict | None:
    return {"task": args.task} if proxy == "gennas" else None


def _prefix(args: argparse.Namespace, proxy: str) -> str:
    """The study files' prefix of a proxy's searches: GenNAS's task is part of it unless it is ``nb101``."""
    return f"gennas-{args.task}" if proxy == "gennas" and args.task != "nb101" else proxy


def _tag(args: argparse.Namespace) -> str:
    """The result file's name: the fitness, then the cascade's second proxy (GenNAS with a task other than nb101 adds it)."""
    return "_".join(_prefix(args, p).replace("-", "_") for p in (args.fitness, args.rerank) if p)


def _budget(run: dict) -> dict:
    """A row's search budget, with a cascade's second stage (rows written before the REA sizes were options ran population
    10, tournament 3)."""
    second = {key: run[key] for key in ("parallel", "rerank", "rerank_top") if key in run}
    return {"queries": run["queries"], "population": run.get("population", 10), "tournament": run.get("tournament", 3)} | second


def write(args: argparse.Namespace, runs: list[dict], others: list[dict]) -> dict:
    """Writes every row (with the rows another process wrote meanwhile), and one summary per search budget (each with
    the command that runs it)."""
    fitness = {"members": list(MEMBERS), "reference": [str(p.relative_to(RESULTS.parent.parent)) for p in REFERENCE_ROWS]}
    if args.fitness == "gennas":
        fitness = {"gennas_task": args.task, "network": "NB201 C=16 N=5, seed 0, 100 iterations, batch 16"}
    elif args.fitness != "ensemble":
        fitness = {"proxy": args.fitness, "network": "NB201 C=16 N=5, seed 0, the proxy's reference settings"}
    if args.rerank:
        fitness["rerank"] = args.rerank + (f" (task {args.task})" if args.rerank == "gennas" else "")
    mine = {(json.dumps(_budget(r)), r["seed"]) for r in runs + others}
    on_disk = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    others = others + [r for r in on_disk if (json.dumps(_budget(r)), r["seed"]) not in mine]  # another process's seeds
    rows = runs + others
    groups: dict[str, list[dict]] = {}
    for run in sorted(rows, key=lambda r: (r["queries"], _budget(r)["population"], r.get("rerank_top", 0), r["seed"])):
        groups.setdefault(json.dumps(_budget(run)), []).append(run)
    here = device_label(args.device)  # rows from other machines (processes, sessions) carry their own
    machine = here if all(r.get("machine", here) == here for r in rows) else "per run (each row's 'machine')"
    result = {"meta": {"date": datetime.date.today().isoformat(), "machine": machine, **fitness},
              "summaries": [_summary(args, group) for group in groups.values()], "runs": rows}
    partial = args.out.with_name(f".{args.out.name}.{os.getpid()}")  # written whole, then renamed: another process
    partial.write_text(json.dumps(result, indent=1))                  # reading the file never sees half of it
    partial.replace(args.out)
    return result


def _summary(args: argparse.Namespace, runs: list[dict]) -> dict:
    """Mean and std of the picks' test accuracies over the seeds of one budget, which seeds they are (processes may take
    them out of order), and the command that runs them all (it skips seeds already written)."""
    budget = _budget(runs[0])
    seeds = sorted(r["seed"] for r in runs)
    task = f" --task {args.task}" if "gennas" in (args.fitness, args.rerank) else ""
    second = f" --parallel {budget['parallel']}" if "parallel" in budget else ""
    second += f" --rerank {budget['rerank']} --rerank-top {budget['rerank_top']}" if "rerank" in budget else ""
    command = (f"python -P benchmarks/proxy_rea.py --fitness {args.fitness}{task} --seeds {seeds[-1] + 1} --queries {budget['queries']} "
               f"--population {budget['population']} --tournament {budget['tournament']}{second} --threads {args.threads}"
               + (f" --device {args.device}" if args.device != "cpu" else ""))
    summary = {name: [round(float(np.mean([r[name] for r in runs])), 2), round(float(np.std([r[name] for r in runs])), 2)]
               for name in TESTS}
    uncached = [r["uncached_seconds"] for r in runs if "uncached_seconds" in r]  # older rows lack it
    return summary | budget | {"runs": len(runs), "seeds": seeds, "median_seconds_per_search": float(np.median([r["seconds"] for r in runs])),
                               "median_uncached_seconds_per_search": float(np.median(uncached)) if len(uncached) == len(runs) else None,
                               "command": command}


if __name__ == "__main__":
    main()
