"""Checks the PyTorch lowering of every NAS-Bench-201 network against the benchmark's exact params.

For each of the 15,625 cells and each head (CIFAR-10, CIFAR-100, ImageNet16-120) the official
TinyNetwork (C=16, N=5) is lowered with ``nasir.frontends.torch.lower`` (on the ``meta`` device:
real modules, no memory) and ``sum(p.numel() for p in model.parameters())`` is compared with
``params_m_*`` of ``shared/data/nb201/nb201_cost_derived.csv`` (exact counts, equal to NASLib's
measured values) and with the IR's own ``Network.count_params()``. On every ``--macs-every``-th
CIFAR-10 network, the multiply-accumulates measured by forward hooks on the lowered convs and
linears are compared with ``Network.count_flops()``.

Usage::

    python scripts/check_params_nb201.py [--csv PATH] [--out benchmarks/results/nb201_params_check.json]
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

import torch
from torch import nn

from nasir.frontends.torch import lower
from nasir.spaces.nb201 import space

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "nb201" / "nb201_cost_derived.csv"
DATASETS = {"cifar10": "params_m_cifar10", "cifar100": "params_m_cifar100", "imagenet16": "params_m_imagenet16"}


def hooked_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of convs and linears, measured on the lowered modules' real output shapes."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nb201_params_check.json")
    parser.add_argument("--limit", type=int, default=None, help="check only the first N cells")
    parser.add_argument("--macs-every", type=int, default=50, help="hook-measure MACs on every N-th CIFAR-10 net (0: never)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with args.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[: args.limit]
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
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "first_mismatches"}, indent=2))
    return 0 if not (found["mismatches"] or found["ir_mismatches"] or found["macs_mismatches"]) else 1


if __name__ == "__main__":
    sys.exit(main())
