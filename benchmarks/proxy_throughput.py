"""Proxy throughput on CPU or CUDA: architectures scored per second, per proxy or fused group.

Usage: python -P benchmarks/proxy_throughput.py [--device cuda] [--sample 50] [--warmup 3] [--jobs naswot six ...]
       [--whole-space] [--sync-cells 3] [--threads 1]

What issue #7 asks to show about speed: ms per architecture for each proxy on the project's CPU machine
and on one GPU, against the authors' reference code measured on an H100 (NASWOT 67 ms/arch, about 200-280
ms for each classic zero-cost proxy and 1.3 s for the six, 748 ms for TE-NAS's NTK condition number, 2.1 s
for GenNAS), with targets of 5x faster than those, the six classic proxies together under 50 ms/arch,
and NASWOT over all 15,625 cells under 3 minutes (``--whole-space``; cut at ``--space-seconds`` and projected).

Cells: the first ``--sample`` of BENCH.md's standard sample (``default_rng(0).choice(15625, 1000)``),
full C=16 N=5 networks, seed 0, the shipped CIFAR-10 images: the settings of ``proxies_nb201.py``. The
time of one architecture runs from building its IR network to the score read back as a float (lowering
and the copy each proxy gets included); ``--warmup`` cells from the end of the sample are scored first,
untimed (imports, allocator, cuDNN autotuning). A job is a proxy name or ``+``-joined names scored in one
call (fused where a fused pass exists); ``six`` is the six classic proxies together.
Two checks ride along. (1) Scores: each proxy's scores are compared with our stored CPU scores of the same
cells (``benchmarks/results/*n1000*.csv``): max relative difference and Spearman, so the CUDA path
is checked against the CPU one. (2) Host syncs: on CUDA, ``torch.cuda.set_sync_debug_mode("warn")``
counts the synchronising calls while ``--sync-cells`` more cells are scored (untimed); reading the
score back is one per proxy, anything above that stalls the GPU per architecture.
Writes benchmarks/results/proxy_throughput_<cpu|cuda>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from nasir.data import load_sample
from nasir.machine import device_label
from nasir.spaces.nb201_bench import NB201Benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxies_nb201 import score_arch  # noqa: E402
from proxy_rows import RESULTS, merged_rows, sample_indices, sample_rows  # noqa: E402

SIX = "synflow+snip+grasp+fisher+grad_norm+jacob_cov"
DEFAULT_JOBS = ("naswot", "synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "six", "meco", "zico", "swap",
                "az_expressivity+az_progressivity+az_trainability", "linear_regions", "ntk_cond", "gennas:task=combo")
# the authors' code on one H100, same archs and batch (issue #7); classic proxies: the low end of "about 200-280 ms"
REFERENCE_H100_MS = {"naswot": 67.0, "synflow": 200.0, "snip": 200.0, "grasp": 200.0, "fisher": 200.0, "grad_norm": 200.0,
                     "jacob_cov": 200.0, SIX: 1300.0, "ntk_cond": 748.0, "gennas:task=combo": 2100.0}
TARGET_MS = {SIX: 50.0, "naswot": 180_000 / 15625}  # six together; NASWOT: the whole space in 3 minutes
# per-architecture CPU scores written by proxies_nb201.py / tenas_gennas_proxies.py for the same sample and seed
STORED_TENAS_GENNAS = {"ntk_cond": ("tenas_gennas_proxies_ntk_cond_n1000.csv", "ntk_cond"),
                       "gennas:task=combo": ("tenas_gennas_proxies_gennas_combo_n1000.csv", "gennas")}


def stored_scores() -> dict[str, dict[int, float]]:
    """Proxy (as a job names it) -> official index -> our stored CPU score."""
    rows = merged_rows(sample_rows("a", "az", "swap", "lr", "grasp"))
    out: dict[str, dict[int, float]] = {}
    for index, row in rows.items():
        for name, value in row.items():
            if name not in ("index", "arch_str") and not name.startswith("ms:") and value != "":
                out.setdefault(name, {})[index] = float(value)
    for name, (file, column) in STORED_TENAS_GENNAS.items():
        out[name] = {i: float(r[column]) for i, r in merged_rows((RESULTS / file,)).items()}
    return out


def score_cell(index: int, job: str, data, device: torch.device) -> dict[str, float]:
    """One cell's scores for one job, by ``proxies_nb201.py``'s own scoring (seed 0), on ``device``."""
    row = score_arch(int(index), [job], data, 0, "cifar10", device=device)
    return {text: row[text] for text in job.split("+")}


def timed(index: int, job: str, data, device: torch.device) -> tuple[float, dict[str, float]]:
    """Milliseconds from building the network to the scores back on the host, and the scores."""
    start = time.perf_counter()
    values = score_cell(index, job, data, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 1000 * (time.perf_counter() - start), values


def count_syncs(cells: np.ndarray, job: str, data, device: torch.device) -> float | None:
    """Synchronising CUDA calls per architecture (None on CPU or with no cells)."""
    if device.type != "cuda" or not len(cells):
        return None
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for index in cells:
                score_cell(index, job, data, device)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught) / len(cells)


def check(scores: dict[str, list[tuple[int, float]]], stored: dict[str, dict[int, float]]) -> dict[str, dict]:
    """Per proxy: how this run's scores compare with the stored CPU scores of the same cells."""
    out = {}
    for name, pairs in scores.items():
        both = [(v, stored[name][i]) for i, v in pairs if name in stored and i in stored[name]
                and np.isfinite(v) and np.isfinite(stored[name][i])]
        if len(both) < 2:
            continue
        ours, cpu = np.array(both).T
        rel = np.abs(ours - cpu) / np.maximum(np.abs(cpu), 1e-12)
        out[name] = {"cells": len(both), "max_rel_diff": float(rel.max()), "spearman": float(spearmanr(ours, cpu)[0])}
    return out


def run_job(job: str, cells: np.ndarray, warm: np.ndarray, sync_cells: np.ndarray, data, device, stored) -> dict:
    for index in warm:
        score_cell(index, job, data, device)
    ms, scores = [], {}
    for index in cells:
        t, values = timed(index, job, data, device)
        ms.append(t)
        for name, v in values.items():
            scores.setdefault(name, []).append((int(index), float(v)))
    median = float(np.median(ms))
    row = {"job": job, "cells": len(cells), "ms_per_arch_median": round(median, 2),
           "ms_per_arch_p90": round(float(np.percentile(ms, 90)), 2), "archs_per_s": round(1000 / median, 3),
           "syncs_per_arch": count_syncs(sync_cells, job, data, device), "vs_stored_cpu_scores": check(scores, stored)}
    if job in REFERENCE_H100_MS:
        row |= {"reference_h100_ms": REFERENCE_H100_MS[job], "speedup_vs_reference": round(REFERENCE_H100_MS[job] / median, 2)}
    if job in TARGET_MS:
        row |= {"target_ms": round(TARGET_MS[job], 2), "meets_target": median <= TARGET_MS[job]}
    return row


def whole_space(data, device: torch.device, limit_s: float) -> dict:
    """NASWOT on the cells in index order until all 15,625 are scored or ``limit_s`` passes: wall time
    (projected to the whole space when cut short), and agreement with NASLib's stored values."""
    bench = NB201Benchmark.default()
    values, start = [], time.perf_counter()
    while len(values) < len(bench) and time.perf_counter() - start < limit_s:
        values.append(score_cell(len(values), "naswot", data, device)["naswot"])
    seconds = time.perf_counter() - start
    projected = seconds * len(bench) / len(values)
    ours, naslib = np.array(values), bench.column("cifar10", "zc_nwot")[:len(values)]
    both = np.isfinite(ours) & np.isfinite(naslib)
    return {"cells": len(values), "seconds": round(seconds, 1), "projected_whole_space_s": round(projected, 1),
            "target_s": 180.0, "meets_target": projected <= 180.0, "naslib_cells": int(both.sum()),
            "spearman_vs_naslib_nwot": float(spearmanr(ours[both], naslib[both])[0]) if both.sum() > 1 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sample", type=int, default=50, help="timed cells: the first N of the standard sample")
    parser.add_argument("--warmup", type=int, default=3, help="untimed cells scored first (from the sample's end)")
    parser.add_argument("--sync-cells", type=int, default=3, help="cells scored with CUDA sync counting (untimed)")
    parser.add_argument("--jobs", nargs="+", default=list(DEFAULT_JOBS), help="proxy names, '+'-joined groups, or 'six'")
    parser.add_argument("--whole-space", action="store_true", help="also NASWOT over the space in index order (see --space-seconds)")
    parser.add_argument("--space-seconds", type=float, default=600.0, help="stop --whole-space after this long and project the total")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed shapes per cell: let cuDNN pick its kernels
    sample = sample_indices(1000)
    cells, spare = sample[:args.sample], sample[::-1]  # untimed cells come from the sample's end
    warm, sync_cells = spare[:args.warmup], spare[args.warmup:args.warmup + args.sync_cells]
    data, stored = load_sample(), stored_scores()
    name = device_label(device)
    result = {"meta": {"date": datetime.date.today().isoformat(), "device": name, "torch": torch.__version__,
                       "threads": args.threads, "command": "python -P benchmarks/proxy_throughput.py " + " ".join(sys.argv[1:])},
              "jobs": []}
    out = args.out or RESULTS / f"proxy_throughput_{device.type}.json"
    for job in args.jobs:  # written after each job: a run cut short by a time limit keeps what it measured
        result["jobs"].append(run_job(SIX if job == "six" else job, cells, warm, sync_cells, data, device, stored))
        print(json.dumps(result["jobs"][-1]), flush=True)
        out.write_text(json.dumps(result, indent=1))
    if args.whole_space:
        result["naswot_whole_space"] = whole_space(data, device, args.space_seconds)
        print(json.dumps(result["naswot_whole_space"]), flush=True)
        out.write_text(json.dumps(result, indent=1))

if __name__ == "__main__":
    main()
