"""GenNAS proxy-task search (Li et al., NeurIPS 2021, Sec. 3; ``do_search.py``): regularized
evolution over synthetic-signal tasks, fitness = Spearman rho of the GenNAS score vs ground truth.

Usage:
    python benchmarks/gennas_task_search.py [--archs 20 --population 50 --tournament 10 --cycles 400] \\
        [--iterations 100 --channels 16 --cells 5] [--threads 1]

Architectures: ``numpy.random.default_rng(0).choice(15625, 1000, replace=False)[500:500 + archs]``,
disjoint from the first 50 that ``tenas_gennas_proxies.py`` evaluates on. Fitness: Spearman rho of
the ``gennas`` proxy (negated final loss) against ``cifar10-valid`` / ``valid_acc``; signed, where
the reference takes ``abs`` of the loss's correlation (a task that inverts the ranking is not
rewarded here). Evolution as the reference: ``population`` random tasks
(:func:`nasir.gennas_signals.random_task`), then per cycle a tournament of ``tournament`` members drawn with replacement,
the fittest mutated (:func:`nasir.gennas_signals.mutate_task`, ``p = 0.8``) and evaluated, the
oldest member dropped. The preset tasks (single, combo, nb101) are scored on the same architectures
as baselines. Results: ``<out>/tenas_gennas_task_search.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from collections import deque
from datetime import date
from pathlib import Path

import numpy as np
import torch

from nasir import proxy_math
from nasir.machine import cpu_label
from nasir.data import load_sample
from nasir.gennas_signals import TASKS, Task, mutate_task, random_task
from nasir.ir import Network
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import tournament
from nasir.frontends.torch.proxies import ProxyWarning, score_network


def evaluate(task: Task, nets: list[Network], truth: np.ndarray, data, args: argparse.Namespace) -> dict:
    """Scores every architecture with ``task``; returns the record of one evaluated task."""
    start = time.perf_counter()
    opts = {"gennas": {"task": task, "iterations": args.iterations, "eval_interval": min(10, args.iterations)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyWarning)
        scores = np.array([score_network(n, ["gennas"], data, seed=args.seed, catch=True, options=opts)["gennas"] for n in nets])
    return {"task": task.describe(), "rho": round(proxy_math.spearman(scores, truth), 4),
            "tau": round(proxy_math.kendall(scores, truth), 4), "seconds": round(time.perf_counter() - start, 1),
            "scores": [round(float(s), 5) for s in scores]}


def search(nets: list[Network], truth: np.ndarray, data, args: argparse.Namespace) -> list[dict]:
    """Regularized evolution; returns every evaluated task in evaluation order."""
    rng = np.random.default_rng(args.seed)
    history: list[dict] = []
    population: deque[tuple[Task, float]] = deque()

    def add(task: Task) -> None:
        record = evaluate(task, nets, truth, data, args)
        history.append(record)
        population.append((task, record["rho"]))
        print(f"[{len(history)}] rho={record['rho']:+.3f} tau={record['tau']:+.3f} ({record['seconds']:.0f} s)", flush=True)

    for _ in range(args.population):
        add(random_task(rng))
    for _ in range(args.cycles):
        add(mutate_task(tournament(population, args.tournament, rng), rng, p=args.mutation))
        population.popleft()
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--tournament", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=400)
    parser.add_argument("--mutation", type=float, default=0.8, help="probability that a slot is kept (reference p)")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    indices = [int(i) for i in np.random.default_rng(0).choice(15625, 1000, replace=False)[500:500 + args.archs]]
    nets = [space.network(space.from_index(i), channels=args.channels, cells_per_stage=args.cells) for i in indices]
    truth = NB201Benchmark.default().column("cifar10-valid", "valid_acc")[indices]
    data = load_sample()
    start = time.perf_counter()
    baselines = {name: evaluate(task, nets, truth, data, args) for name, task in TASKS.items()}
    for name, record in baselines.items():
        print(f"baseline {name}: rho={record['rho']:+.3f} tau={record['tau']:+.3f}", flush=True)
    history = search(nets, truth, data, args)
    best = max(history, key=lambda r: r["rho"])
    meta = {"command": "python benchmarks/" + Path(__file__).name + " " + shlex.join(sys.argv[1:]), "date": date.today().isoformat(),
            "machine": cpu_label(), "threads": args.threads, "torch": torch.__version__,
            "archs": indices, "truth": "cifar10-valid/valid_acc (nb201v11_cifar10valid_valid_acc)",
            "settings": {k: v for k, v in vars(args).items() if k != "out"}, "wall_seconds": round(time.perf_counter() - start, 1),
            "data": "nasir shipped CIFAR-10 sample, one batch of 16 (seed " + str(args.seed) + ")"}
    out = {"meta": meta, "baselines": baselines, "history": history, "best": best}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tenas_gennas_task_search.json").write_text(json.dumps(out, indent=1))
    print(f"best of {len(history)} tasks: rho={best['rho']:+.3f}; baselines " +
          ", ".join(f"{k} {v['rho']:+.3f}" for k, v in baselines.items()))


if __name__ == "__main__":
    main()
