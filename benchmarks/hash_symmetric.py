"""Canonical-hash time on the IR's worst case: k interchangeable parallel branches summed by one ``add``.

Usage: python -P benchmarks/hash_symmetric.py [--out benchmarks/results/hash_symmetric.json]

Colour refinement cannot split identical branches, so the exact search individualises them one by one; the
automorphisms it finds prune the rest. Also times the whole NB201 space (15,625 cells) for scale.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from nasir.ir import Arch
from nasir.spaces.nb201 import space as nb201

CASES = ((1, 12), (1, 16), (1, 20), (2, 16), (2, 20), (2, 24))  # (ops per branch, branches)


def branches(depth: int, k: int) -> Arch:
    """``k`` chains of ``depth`` ReLUs from the input, summed by one ``add``."""
    nodes, edges = {"in": "input", "s": "add", "out": "output"}, [("s", "out")]
    for i in range(k):
        previous = "in"
        for d in range(depth):
            nodes[f"b{i}_{d}"] = "relu"
            edges.append((previous, f"b{i}_{d}"))
            previous = f"b{i}_{d}"
        edges.append((previous, "s"))
    return Arch(nodes, edges)


def seconds(depth: int, k: int, repeats: int = 3) -> float:
    """Median wall time of hashing a freshly built Arch (the hash is cached per object)."""
    times = []
    for _ in range(repeats):
        arch = branches(depth, k)
        start = time.perf_counter()
        arch.canonical_hash()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/hash_symmetric.json"))
    args = parser.parse_args()
    rows = []
    for depth, k in CASES:
        rows.append({"ops_per_branch": depth, "branches": k, "nodes": 3 + depth * k, "seconds": round(seconds(depth, k), 3)})
        print(f"{k:3d} branches of {depth} op(s), {rows[-1]['nodes']:3d} nodes: {rows[-1]['seconds']:.3f} s", flush=True)
    start = time.perf_counter()
    distinct = len({nb201.from_index(i).canonical_hash() for i in range(15625)})
    whole = time.perf_counter() - start
    print(f"NB201: {distinct:,} distinct hashes of 15,625 cells in {whole:.1f} s (parse + hash)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"symmetric": rows, "nb201": {"cells": 15625, "distinct": distinct, "seconds": round(whole, 2)},
                                    "machine": platform.processor() or platform.machine()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
