"""Counts and exact costs of the NAS-Bench spaces, from the IR alone (no framework).

Usage: python benchmarks/space_counts.py [--shared ../shared/data] [--out benchmarks/results/space_counts.json]

* NB201: 15,625 cells with distinct canonical hashes; 6,466 unique computations by our
  ``unique_key``, cross-checked cell by cell against ``nats_bench``'s official key;
* NB201: IR parameter counts of the whole network vs the benchmark's exact counts, all cells and
  all three datasets;
* NB101: IR parameter counts vs NASLib's for the 500 staged cells.
(The NB101 enumeration to 423,624 cells is scripts/nb101_enumerate.py.)
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import numpy as np

from nasir.spaces import nb101, nb201
from nasir.spaces.nb101_spec import Nb101Spec


def nb201_counts() -> dict:
    from nats_bench.genotype_utils import topology_str2structure

    t0 = time.perf_counter()
    hashes, pairs, ours, official = set(), set(), set(), set()
    for ops in nb201.space.enumerate_ops():
        cell = nb201.space.from_ops(ops)
        text = nb201.space.format(cell)
        key = (nb201.space.unique_key(cell), topology_str2structure(text).to_unique_str(consider_zero=True))
        hashes.add(cell.canonical_hash())
        pairs.add(key)
        ours.add(key[0])
        official.add(key[1])
    return {"cells": 15_625, "distinct_hashes": len(hashes), "unique_ours": len(ours), "unique_official": len(official),
            "same_partition": len(pairs) == len(ours) == len(official), "seconds": round(time.perf_counter() - t0, 1)}


def nb201_params(shared: Path) -> dict:
    t0 = time.perf_counter()
    rows = list(csv.DictReader((shared / "nb201" / "nb201_cost_derived.csv").open()))
    mismatches = 0
    for row in rows:
        cell = nb201.space.parse(row["arch_str"])
        for ds in ("cifar10", "cifar100", "imagenet16"):
            if nb201.space.network(cell, dataset=ds).count_params() != round(float(row[f"params_m_{ds}"]) * 1e6):
                mismatches += 1
    return {"checked": 3 * len(rows), "mismatches": mismatches, "seconds": round(time.perf_counter() - t0, 1)}


def nb101_params(shared: Path) -> dict:
    rows = list(csv.DictReader((shared / "nb101" / "nb101_naslib_zc_500.csv").open()))
    mismatches = 0
    for row in rows:
        n = int(row["num_vertices"])
        matrix = np.array([int(c) for c in row["adjacency_rowmajor"]]).reshape(n, n)
        cell = nb101.space.from_spec(Nb101Spec.create(matrix, row["ops"].split("|")))
        mismatches += nb101.space.network(cell).count_params() != round(float(row["params"]) * 1e6)
    return {"checked": len(rows), "mismatches": int(mismatches)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "space_counts.json")
    args = parser.parse_args()
    result = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
              "nb201_counts": nb201_counts(), "nb201_params": nb201_params(args.shared), "nb101_params": nb101_params(args.shared)}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
