"""TE-NAS linear regions, HNAS NTK trace, GenNAS regression and the TE-NAS rank sum on NAS-Bench-201.

Usage:
    python benchmarks/tenas_gennas_proxies.py --sample 50 [--channels 16 --cells 5] \\
        [--gennas-iterations 100] [--threads 1] [--tag full] [--resume] \\
        [--proxies gennas] [--summarize-only]

Sample: the first N of ``numpy.random.default_rng(0).choice(15625, 1000, replace=False)`` (BENCH.md's
standard sample). Ground truth: ``cifar10-valid`` / ``test_acc`` (``nb201v11_cifar10valid_test_acc``,
the column zero-cost-nas correlates with). Proxies run at their registered settings (batch sizes,
TE-NAS's thin network, GenNAS's 100 iterations) on the NB201 network of ``--channels`` x ``--cells``
(the benchmark's 16 x 5 by default; smaller values are a stated reduction). ``tenas`` is
:func:`nasir.proxy_ensembles.tenas_rank` of ``ntk_cond`` and ``linear_regions``; ``azlog`` the
AZ-NAS log-rank sum of the same two (both need ``ntk_cond`` and ``linear_regions`` in ``--proxies``).
``--proxies`` scores a subset, so a slow proxy can run alone on a larger sample (``--resume --reverse`` in a second process
works through it from the other end, on the same csv). Rows go to
``<out>/tenas_gennas_proxies[_<tag>].csv`` as they are scored (``--resume`` keeps them;
``--summarize-only`` summarises the rows written so far), the summary to the matching ``.json``; the
markdown section ``tenas_gennas_section.md`` is rebuilt from every ``tenas_gennas_proxies*.json`` in ``<out>``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import torch

from nasir import proxy_math
from nasir.machine import device_label
from nasir.data import load_sample
from nasir.proxy_ensembles import rank_ensemble, tenas_rank
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.frontends.torch.proxies import ProxyWarning, score_network

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import sample_indices  # noqa: E402

PROXIES = ("linear_regions", "ntk_trace", "gennas", "ntk_cond")
TRUTH = ("cifar10-valid", "test_acc")
ALSO_TRUTH = {"c10_test": ("cifar10", "test_acc")}  # AZ-NAS's column; GenNAS does not say which it used


def score_arch(index: int, data, args: argparse.Namespace, *, warm_up: bool = False) -> dict:
    """One row: every proxy's score and wall time; ``warm_up`` runs the same paths on a tiny network."""
    skeleton = {"channels": 4, "cells_per_stage": 1} if warm_up else {"channels": args.channels, "cells_per_stage": args.cells}
    net = space.network(space.from_index(index), **skeleton)
    row: dict = {"index": index}
    options = {"gennas": {"task": args.gennas_task, "iterations": 10 if warm_up else args.gennas_iterations}}
    for proxy in args.proxies:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)
            row[proxy] = score_network(net, [proxy], data, seed=args.seed, device=args.device, fused=False, catch=True,
                                       options=options)[proxy]
        row[f"ms:{proxy}"] = round(1000 * (time.perf_counter() - start), 1)
    return row


def read_rows(path: Path) -> list[dict]:
    """The rows written so far, one per cell (the first, if two processes both scored a cell)."""
    if not path.exists():
        return []
    with path.open() as f:
        rows = {int(r["index"]): {k: float(v) for k, v in r.items()} for r in reversed(list(csv.DictReader(f)))}
    return list(reversed(rows.values()))


def spans(rows: list[dict], sample: int) -> str:
    """Which positions of the sample ``rows`` hold, e.g. "positions 1-639, 760-1000": two processes fill it from both ends."""
    scored = {int(r["index"]) for r in rows}
    positions = {i + 1 for i, index in enumerate(sample_indices(sample)) if int(index) in scored}
    runs, start = [], None
    for k in range(1, sample + 2):
        if k in positions and start is None:
            start = k
        elif k not in positions and start is not None:
            runs.append(f"{start}-{k - 1}" if k - 1 > start else str(start))
            start = None
    return "positions " + ", ".join(runs)


def summarize(rows: list[dict], truth: np.ndarray, proxies: list[str], also: dict[str, np.ndarray]) -> dict:
    cols = {p: np.array([r[p] for r in rows]) for p in proxies}
    if {"ntk_cond", "linear_regions"} <= set(proxies):
        cols["tenas"] = tenas_rank(cols["ntk_cond"], cols["linear_regions"])
        cols["azlog"] = rank_ensemble({"ntk_cond": cols["ntk_cond"], "linear_regions": cols["linear_regions"]}, method="log")
    out = {}
    for name, values in cols.items():
        entry = {"rho": round(proxy_math.spearman(values, truth), 4), "tau": round(proxy_math.kendall(values, truth), 4),
                 "n_minus_inf": int(np.sum(~np.isfinite(values)))}
        entry |= {f"rho_{key}": round(proxy_math.spearman(values, column), 4) for key, column in also.items()}
        if name in PROXIES:
            ms = np.array([r[f"ms:{name}"] for r in rows])
            entry |= {"ms_per_arch_median": round(float(np.median(ms)), 1), "ms_per_arch_p90": round(float(np.percentile(ms, 90)), 1)}
        out[name] = entry
    return out


def section(runs: list[dict]) -> str:
    """One markdown section holding every run's table (``runs``: the JSON records, in file order)."""
    lines = ["### TE-NAS / HNAS / GenNAS proxies on NAS-Bench-201", ""]
    for run in runs:
        meta = run["meta"]
        gennas = (f"GenNAS task `{meta['gennas_task']}`, {meta['gennas_iterations']} iterations; "
                  if "gennas" in meta.get("proxies", PROXIES) else "")
        lines += [f"Command ({meta['date']}): `{meta['command']}`", "",
                  f"{meta['n_archs']} architectures ({meta['sample']}); ground truth `{meta['truth']}`; network "
                  f"C={meta['channels']}, N={meta['cells']}; {gennas}{meta['machine']}, {meta['threads']} thread(s), "
                  f"torch {meta['torch']}. {meta['note']}", "",
                  "| proxy | Spearman rho | Kendall tau | rho (cifar10 test) | ms/arch (median) | ms/arch (p90) |",
                  "|---|---|---|---|---|---|"]
        for name, e in run["proxies"].items():
            c10 = f"{e['rho_c10_test']:+.3f}" if "rho_c10_test" in e else "-"
            lines.append(f"| {name} | {e['rho']:+.3f} | {e['tau']:+.3f} | {c10} | {e.get('ms_per_arch_median', '-')} | "
                         f"{e.get('ms_per_arch_p90', '-')} |")
        lines.append("")
    lines += ["`tenas`: dense-rank sum of `ntk_cond` (-kappa) and `linear_regions` (TE-NAS); `azlog`: AZ-NAS sum of "
              "log(rank/n) of the same two. Times are wall-clock on a shared, loaded machine: compare ratios, not absolutes.", ""]
    return "\n".join(lines)


def score_all(args: argparse.Namespace, csv_path: Path) -> list[dict]:
    """Scores the sample (appending rows to ``csv_path``; ``--resume`` keeps rows already there)."""
    if args.summarize_only:
        return read_rows(csv_path)
    if not args.resume and csv_path.exists():
        csv_path.unlink()
    data = load_sample()
    indices = [int(i) for i in sample_indices(args.sample)]
    score_arch(indices[0], data, args, warm_up=True)  # imports, allocator, first-call paths
    fields = ["index", *args.proxies, *(f"ms:{p}" for p in args.proxies)]
    for k, index in reversed(list(enumerate(indices))) if args.reverse else enumerate(indices):
        if index in {int(r["index"]) for r in read_rows(csv_path)}:
            continue  # scored before, or by another process working through the sample from the other end
        row = score_arch(index, data, args)
        new = not csv_path.exists()
        with csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(f"[{k + 1}/{len(indices)}] {index} " + " ".join(f"{p}={row[p]:.4g} ({row[f'ms:{p}']:.0f} ms)" for p in args.proxies), flush=True)
    order = {ix: i for i, ix in enumerate(indices)}
    rows = read_rows(csv_path)  # with what another process wrote meanwhile
    return sorted((r for r in rows if int(r["index"]) in order), key=lambda r: order[int(r["index"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--gennas-task", default="single")
    parser.add_argument("--gennas-iterations", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda; resumed rows keep the device they were scored on")
    parser.add_argument("--note", default="", help="free text recorded with the results (e.g. what was reduced and why)")
    parser.add_argument("--tag", default="", help="suffix of the csv/json files (several settings side by side)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--reverse", action="store_true",
                        help="score the sample from its end: a second process beside a --resume one, both appending to one csv")
    parser.add_argument("--proxies", nargs="+", choices=PROXIES, default=list(PROXIES), help="score only these")
    parser.add_argument("--summarize-only", action="store_true", help="score nothing; summarise the rows already written")
    args = parser.parse_args()
    if args.reverse and not args.resume:
        parser.error("--reverse runs beside another process on the same csv: give --resume too")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / ("tenas_gennas_proxies" + (f"_{args.tag}" if args.tag else ""))
    rows = score_all(args, stem.with_suffix(".csv"))
    if not rows:
        raise SystemExit(f"no scored rows in {stem.with_suffix('.csv')}")
    bench = NB201Benchmark.default()
    scored = [int(r["index"]) for r in rows]
    truth = bench.column(*TRUTH)[scored]
    also = {key: bench.column(*column)[scored] for key, column in ALSO_TRUTH.items()}
    meta = {"command": "python benchmarks/" + Path(__file__).name + " " + shlex.join(sys.argv[1:]), "date": date.today().isoformat(),
            "machine": device_label(args.device),
            "threads": args.threads, "torch": torch.__version__,
            "n_archs": len(rows), "sample": f"{spans(rows, args.sample)} of numpy.random.default_rng(0).choice(15625, 1000, replace=False)",
            "truth": "nb201v11_cifar10valid_test_acc (cifar10-valid/test_acc)", "channels": args.channels, "cells": args.cells,
            "gennas_task": args.gennas_task, "proxies": args.proxies, "gennas_iterations": args.gennas_iterations, "seed": args.seed, "note": args.note,
            "data": "nasir shipped CIFAR-10 sample (512 train images), one batch per batch size, seed " + str(args.seed)}
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "proxies": summarize(rows, truth, args.proxies, also)}, indent=1))
    runs = [json.loads(p.read_text()) for p in sorted(args.out.glob("tenas_gennas_proxies*.json"))]
    (args.out / "tenas_gennas_section.md").write_text(section(runs))
    print(section(runs))


if __name__ == "__main__":
    main()
