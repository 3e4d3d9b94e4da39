"""TE-NAS pruning-based search on NAS-Bench-201 (Chen, Gong & Wang, ICLR 2021), end to end on this CPU.

Usage: python -P benchmarks/tenas_prune.py [--seeds 0 1 2] [--repeats 3] [--batch-size 72] [--precision 3] [--threads 1]
    [--fresh-draws]

The supernet (every edge mixes its remaining ops with equal weight, ``none`` dropped first) is pruned
one op per edge per round by the rank sum of the NTK-condition-number and linear-region changes
(``nasir.strategies.pruning.tenas_prune``), measured in PyTorch on TE-NAS's search network (C = 3, one
cell per stage) with the shipped CIFAR-10 sample (``nasir.frontends.torch.pruning.TENASMeasures``).
Defaults are ``prune_launch.py``'s for NAS-Bench-201: NTK batch 72, 3 repeats, changes rounded to 3
decimals. ``--fresh-draws`` gives every candidate its own batches and crops, as the reference does,
instead of the default common random numbers (``TENASMeasures(common_draws=False)``; twice the NTK
cost). Reports the found cell's NB201 test accuracy (CIFAR-10, CIFAR-100, ImageNet16-120) per
seed, the wall seconds per search and the published TE-NAS figures, summarised per settings. Each
finished seed is merged into ``--out`` at once (re-read before writing), so a killed run keeps its
seeds, a rerun skips them, and two processes may run different seeds into the same file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from nasir.frontends.torch.pruning import NTK_BATCH, TENASMeasures
from nasir.machine import cpu_label
from nasir.spaces.nb201 import EDGES, OPS, space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies.pruning import tenas_prune

PUBLISHED = {"cifar10": (93.9, 0.47), "cifar100": (71.24, 0.56), "imagenet16": (42.38, 0.46)}  # TE-NAS Table 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=NTK_BATCH)
    parser.add_argument("--precision", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fresh-draws", action="store_true", help="new batches and crops per candidate (the reference's protocol)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "tenas_prune.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench = NB201Benchmark.default()
    settings = {"repeats": args.repeats, "batch_size": args.batch_size, "precision": args.precision}
    if args.fresh_draws:  # only then: rows of the default protocol keep matching their settings
        settings["fresh_draws"] = True
    for seed in args.seeds:
        if any(r["seed"] == seed for r in _runs(args.out, settings)):
            continue
        start = time.perf_counter()
        measures = TENASMeasures(space, repeats=args.repeats, batch_size=args.batch_size, seed=seed,
                                 common_draws=not args.fresh_draws)
        result = tenas_prune(space, OPS, len(EDGES), measures.ntk_delta, measures.region_delta, precision=args.precision)
        key = space.format(result.arch)
        run = {"seed": seed, "arch": key, "seconds": round(time.perf_counter() - start, 1),
               "pruned_per_round": [list(r.pruned) for r in result.rounds],
               **{ds: bench.query(key, ds, "test_acc") for ds in PUBLISHED}}
        print(json.dumps(run), flush=True)
        _write(args.out, settings, run)
    print(json.dumps(json.loads(args.out.read_text())["summaries"], indent=1))


def _runs(out: Path, settings: dict) -> list[dict]:
    """The finished seeds in ``out`` run with these settings (others are kept in the file but not summarised)."""
    if not out.exists():
        return []
    return [r for r in json.loads(out.read_text())["runs"] if r.get("settings") == settings]


def _write(out: Path, settings: dict, run: dict) -> None:
    old = json.loads(out.read_text())["runs"] if out.exists() else []
    runs = sorted([r for r in old if (r["seed"], r.get("settings")) != (run["seed"], settings)] + [{**run, "settings": settings}],
                  key=lambda r: (json.dumps(r.get("settings"), sort_keys=True), r["seed"]))
    groups: dict[str, list[dict]] = {}  # runs are sorted by settings, so the groups come out in that order
    for r in runs:
        groups.setdefault(json.dumps(r.get("settings"), sort_keys=True), []).append(r)
    result = {"meta": {"date": datetime.date.today().isoformat(), "machine": cpu_label(), "torch": torch.__version__},
              "summaries": [_summary(group[0]["settings"], group) for group in groups.values()], "runs": runs}
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, out)


def _summary(settings: dict, runs: list[dict]) -> dict:
    """Mean and std of the picks' test accuracies over the seeds run with ``settings``."""
    command = ("python -P benchmarks/tenas_prune.py --repeats {repeats} --batch-size {batch_size} --precision {precision} "
               "--threads 1 --seeds ...".format(**settings) + (" --fresh-draws" if settings.get("fresh_draws") else ""))
    summary = {ds: {"mean": round(float(np.mean([r[ds] for r in runs])), 3), "std": round(float(np.std([r[ds] for r in runs])), 3),
                    "published": PUBLISHED[ds]} for ds in PUBLISHED}
    return summary | {"seeds": len(runs), "settings": settings, "command": command,
                      "median_seconds_per_search": float(np.median([r["seconds"] for r in runs]))}


if __name__ == "__main__":
    main()
