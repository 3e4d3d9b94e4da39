"""Builds the package data in ``spaces/data/`` from the team's staged data (``../shared/data``).

Run from the repository root:  python scripts/make_package_data.py [--shared ../shared/data]

Writes (deterministically, gzip mtime 0):
* ``nb201_table.csv.gz``: all 15,625 NAS-Bench-201 cells in official index order with every
  accuracy column, exact params and NASLib FLOPs, and HW-NAS-Bench's ten metrics per dataset;
  plus NAS-Bench-Suite-Zero's precomputed zero-cost proxy values (NASLib, CIFAR-10, the 9,445
  cells without unreachable ops; empty elsewhere) and Zen-NAS scores for all cells;
* ``cifar10_sample.npz``: the first 512 training and first 128 test CIFAR-10 images.
The provenance of both is in ``spaces/data/PROVENANCE.md``; this script prints their sha256.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "spaces" / "data"
ACCURACY_COLUMNS = [
    "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc", "nb201v11_cifar10_test_acc",
    "nb201v11_cifar10valid_valid_acc", "nb201v11_cifar10valid_test_acc", "naslib_cifar10valid_val_acc",
    "naslib_cifar100_val_acc", "naslib_imagenet16_val_acc",
]
COST_COLUMNS = [f"{kind}_m_{ds}" for kind in ("params", "flops_naslib") for ds in ("cifar10", "cifar100", "imagenet16")]
HW_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "imagenet16"}
ZC_PROXIES = ["epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow"]
ZEN_DATASETS = ["cifar10", "cifar100", "imagenet16"]
HW_METRICS = [
    "edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
    "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _short(value: str) -> str:
    """Proxy values at 9 significant digits: ranks are unchanged and the table stays small."""
    return f"{float(value):.9g}" if value else ""


def build_table(shared: Path) -> bytes:
    truth = _rows(shared / "nb201" / "nb201_ground_truth.csv")
    cost = _rows(shared / "nb201" / "nb201_cost_derived.csv")
    hw = {ds: _rows(shared / "hw_nas_bench" / f"hwnasbench_nb201_{ds}.csv") for ds in HW_DATASETS}
    zc = {int(r["index"]): r for r in _rows(shared / "nb201_zc" / "nb201_zc_naslib_cifar10.csv")}
    zen = _rows(shared / "nb201_zc" / "nb201_zen_naslib_all.csv")
    header = ["index", "arch_str", *ACCURACY_COLUMNS, *COST_COLUMNS, *(f"hw_{ds}_{m}" for ds in HW_DATASETS for m in HW_METRICS),
              *(f"zc_cifar10_{p}" for p in ZC_PROXIES), *(f"zc_{ds}_zen" for ds in ZEN_DATASETS)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(truth):
        sources = [cost[i], zen[i], *(hw[ds][i] for ds in HW_DATASETS), *([zc[i]] if i in zc else [])]
        if any(int(s["index"]) != i or s["arch_str"] != row["arch_str"] for s in [row, *sources]):
            raise SystemExit(f"row {i}: index or arch_str disagree between the staged files")
        values = [row[c] for c in ACCURACY_COLUMNS] + [cost[i][c] for c in COST_COLUMNS]
        values += [hw[ds][i][m] for ds in HW_DATASETS for m in HW_METRICS]
        values += [_short(zc[i][p]) if i in zc else "" for p in ZC_PROXIES]
        values += [_short(zen[i][f"zen_{ds}"]) for ds in ZEN_DATASETS]
        writer.writerow([i, row["arch_str"], *values])
    return gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0)


def build_images(shared: Path, n_train: int = 512, n_test: int = 128) -> None:
    data = np.load(shared / "images" / "cifar10_subset.npz")
    train, test = np.flatnonzero(data["split"] == 0)[:n_train], np.flatnonzero(data["split"] == 1)[:n_test]
    keep = np.concatenate([train, test])
    np.savez_compressed(
        OUT / "cifar10_sample.npz",
        x=data["x"][keep], y=data["y"][keep], split=data["split"][keep],
        source_index=data["source_index"][keep], class_names=data["class_names"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "nb201_table.csv.gz").write_bytes(build_table(args.shared))
    build_images(args.shared)
    for name in ("nb201_table.csv.gz", "cifar10_sample.npz"):
        path = OUT / name
        print(f"{name}: {path.stat().st_size:,} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
