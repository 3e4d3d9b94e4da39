"""Enumerate every unique NAS-Bench-101 cell and check the count against the published 423,624.

Usage: ``python scripts/nb101_enumerate.py [--max-vertices 7] [--out benchmarks/results/nb101_enumerate.json]``.
Prints the count, the number of distinct official spec hashes and the wall time, and writes the
same as one line of JSON (default ``benchmarks/results/nb101_enumerate.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from nasir.spaces.nb101_spec import MAX_EDGES, MAX_VERTICES, NUM_UNIQUE_SPECS, enumerate_unique_specs

__all__ = ["main"]

# A row of the official dataset (NNI's NAS-Bench-101 example; dumps of nasbench_only108.tfrecord).
KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "nb101_enumerate.json"


def run(max_vertices: int) -> dict:
    """Enumerates, times and summarises; ``ok`` is only meaningful for the full space."""
    start = time.perf_counter()
    hashes = {spec.spec_hash() for spec in enumerate_unique_specs(max_vertices, MAX_EDGES)}
    seconds = time.perf_counter() - start
    full = max_vertices == MAX_VERTICES
    return {
        "benchmark": "nb101_enumerate",
        "max_vertices": max_vertices,
        "max_edges": MAX_EDGES,
        "count": len(hashes),
        "expected": NUM_UNIQUE_SPECS if full else None,
        "ok": (len(hashes) == NUM_UNIQUE_SPECS and KNOWN_HASH in hashes) if full else None,
        "known_hash_found": KNOWN_HASH in hashes,
        "seconds": round(seconds, 2),
        "processes": 1,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-vertices", type=int, default=MAX_VERTICES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = run(args.max_vertices)
    print(f"unique NB101 cells (<= {args.max_vertices} vertices, <= {MAX_EDGES} edges): {result['count']:,}")
    if result["expected"] is not None:
        print(f"published: {result['expected']:,} -> {'OK' if result['ok'] else 'MISMATCH'}")
    print(f"wall time: {result['seconds']:.1f} s (1 process)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0 if result["ok"] in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
