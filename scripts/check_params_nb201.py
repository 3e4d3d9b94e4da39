"""Checks the PyTorch lowering of every NAS-Bench-201 network against the benchmark's exact params.

For each of the 15,625 cells and each head (CIFAR-10, CIFAR-100, ImageNet16-120) the official
TinyNetwork (C=16, N=5) is lowered with ``nasir.frontends.torch.lower`` (on the ``meta`` device:
real modules, no memory) and ``sum(p.numel() for p in model.parameters())`` is compared with
``params_m_*`` of ``shared/data/nb201/nb201_cost_derived.csv`` (exact counts, equal to NASLib's
measured values) and with the IR's own ``Network.count_params()``. On every ``--macs-every``-th
CIFAR-10 network, the multiply-accumulates measured by forward hooks on the lowered convs and
linears are compared with ``Network.count_flops()``.

Every network's ``Network.count_flops("naslib")`` (IR only, no torch) is compared with
``flops_naslib_m_*`` (NASLib's ``flops`` proxy, MFLOPs) and stored under ``naslib_flops``.
``--naslib-flops-only`` runs just that check (about 4 minutes) and updates that key of ``--out``,
keeping the params results already there.

Usage::

    python scripts/check_params_nb201.py [--csv PATH] [--out benchmarks/results/nb201_params_check.json]
    python scripts/check_params_nb201.py --naslib-flops-only
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nasir.spaces.nb201 import space

if TYPE_CHECKING:
    from torch import nn

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "nb201" / "nb201_cost_derived.csv"
DATASETS = {"cifar10": "params_m_cifar10", "cifar100": "params_m_cifar100", "imagenet16": "params_m_imagenet16"}
FLOPS_COLUMNS = {dataset: f"flops_naslib_m_{dataset}" for dataset in DATASETS}


def hooked_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of convs and linears, measured on the lowered modules' real output shapes."""
    import torch
    from torch import nn

    total = 0

    def hook(mod: nn.Module, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            total += out[0].numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            total += mod.in_features * mod.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.empty((1, *input_shape), device="meta"))
    for h in handles:
        h.remove()
    return total


def check(rows: list[dict[str, str]], macs_every: int) -> dict[str, object]:
    from nasir.frontends.torch import lower

    mismatches: list[dict[str, object]] = []
    ir_mismatches: list[dict[str, object]] = []
    macs_checked = macs_bad = 0
    for k, row in enumerate(rows):
        arch = space.parse(row["arch_str"])
        for dataset, column in DATASETS.items():
            network = space.network(arch, dataset=dataset)
            model = lower(network, device="meta")
            torch_params = sum(p.numel() for p in model.parameters())
            expected = round(float(row[column]) * 1e6)
            if torch_params != expected:
                mismatches.append({"index": int(row["index"]), "dataset": dataset, "torch": torch_params, "expected": expected})
            if network.count_params() != torch_params:
                ir_mismatches.append({"index": int(row["index"]), "dataset": dataset, "torch": torch_params, "ir": network.count_params()})
            if dataset == "cifar10" and macs_every and k % macs_every == 0:
                macs_checked += 1
                macs_bad += hooked_macs(model, network.input_shape) != network.count_flops()
        if (k + 1) % 1000 == 0:
            print(f"  {k + 1}/{len(rows)} cells, {len(mismatches)} mismatches so far", flush=True)
    return {"mismatches": mismatches, "ir_mismatches": ir_mismatches, "macs_checked": macs_checked, "macs_mismatches": macs_bad}


def check_naslib_flops(rows: list[dict[str, str]]) -> dict[str, object]:
    """IR ``count_flops("naslib")`` vs ``flops_naslib_m_*`` for every cell and head (no torch)."""
    start = time.perf_counter()
    mismatches: list[dict[str, object]] = []
    for row in rows:
        arch = space.parse(row["arch_str"])
        for dataset, column in FLOPS_COLUMNS.items():
            got = space.network(arch, dataset=dataset).count_flops("naslib")
            expected = round(float(row[column]) * 1e6)
            if got != expected:
                mismatches.append({"index": int(row["index"]), "dataset": dataset, "ir": got, "expected": expected})
    return {
        "networks": len(rows) * len(FLOPS_COLUMNS), "mismatches": len(mismatches),
        "seconds": round(time.perf_counter() - start, 1), "first_mismatches": mismatches[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nb201_params_check.json")
    parser.add_argument("--limit", type=int, default=None, help="check only the first N cells")
    parser.add_argument("--macs-every", type=int, default=50, help="hook-measure MACs on every N-th CIFAR-10 net (0: never)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--naslib-flops-only", action="store_true", help="run only the IR NASLib-FLOPs check (no torch)")
    args = parser.parse_args(argv)
    with args.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[: args.limit]
    flops = check_naslib_flops(rows)
    print(json.dumps({k: v for k, v in flops.items() if k != "first_mismatches"}), flush=True)
    if args.naslib_flops_only:
        report = json.loads(args.out.read_text()) if args.out.exists() else {}
        report["naslib_flops"] = flops
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        return 0 if not flops["mismatches"] else 1
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    found = check(rows, args.macs_every)
    seconds = time.perf_counter() - start
    report = {
        "csv": os.path.relpath(args.csv, ROOT), "cells": len(rows), "networks": len(rows) * len(DATASETS),
        "param_mismatches": len(found["mismatches"]), "ir_vs_torch_mismatches": len(found["ir_mismatches"]),
        "macs_checked": found["macs_checked"], "macs_mismatches": found["macs_mismatches"],
        "seconds": round(seconds, 1), "ms_per_network": round(1000 * seconds / max(len(rows) * len(DATASETS), 1), 2),
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.processor() or platform.machine(),
        "threads": args.threads, "first_mismatches": found["mismatches"][:20] + found["ir_mismatches"][:20],
        "naslib_flops": flops,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("first_mismatches", "naslib_flops")}, indent=2))
    return 0 if not (found["mismatches"] or found["ir_mismatches"] or found["macs_mismatches"] or flops["mismatches"]) else 1


if __name__ == "__main__":
    sys.exit(main())
