"""The process pool's overhead per evaluation, and how long a batch takes when one cell kills its worker.

Usage: python -P benchmarks/pool_recovery.py [--repeats 3] [--out benchmarks/results/pool_recovery.json]
(``PYTHONPATH=CHECKOUT`` measures another checkout's executor the same way.)

Overhead: 400 NB201 cells that each sleep 50 ms, two workers, handed over two per ``run`` as ``--parallel 2`` does;
the ideal is 10.0 s. Recovery: three workers evaluate two cells that take ``--pause`` seconds and one that ends its
worker once both have started. The batch's wall time is the dead worker's detection, the re-run of the two lost cells
and the workers' start-up; re-running them one at a time costs one ``--pause`` more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from nasir.executors import ProcessPoolExecutor
from nasir.spaces.nb201 import space


class Sleeper:
    """Sleeps ``pause`` seconds per cell (logging its start to ``log``); a cell whose first edge is ``none`` waits until
    two evaluations have started, then ends its worker as an out-of-memory kill would."""

    name, primary, directions = "sleeper", "ops", {"ops": "maximize"}

    def __init__(self, pause: float, log: str | None = None) -> None:
        self.pause, self.log = pause, log

    def evaluate(self, arch) -> dict[str, float]:
        ops = space.to_ops(arch)
        if ops[0] == "none" and self.log:
            while len(Path(self.log).read_text().splitlines() if os.path.exists(self.log) else []) < 2:
                time.sleep(0.02)
            os._exit(9)
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{time.time()}\n")
        time.sleep(self.pause)
        return {"ops": float(sum(op != "none" for op in ops))}


def cells(fine: int, killers: int = 0) -> list:
    """``fine`` cells that do not start with ``none`` and ``killers`` that do, in that order (seeded)."""
    rng = np.random.default_rng(0)
    good, bad = [], []
    while len(good) < fine or len(bad) < killers:
        arch = space.sample(rng)
        (bad if space.to_ops(arch)[0] == "none" else good).append(arch)
    return good[:fine] + bad[:killers]


def overhead(archs: list) -> float:
    pool, objective = ProcessPoolExecutor(max_workers=2), Sleeper(0.05)
    try:
        list(pool.run(objective, archs[:4], on_start=lambda i: None, stop=lambda: False))  # workers started
        start = time.perf_counter()
        for k in range(0, len(archs), 2):
            list(pool.run(objective, archs[k:k + 2], on_start=lambda i: None, stop=lambda: False))
        return time.perf_counter() - start
    finally:
        pool.close()


def recovery(pause: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        pool, objective = ProcessPoolExecutor(max_workers=3), Sleeper(pause, str(Path(tmp) / "starts.log"))
        try:
            start = time.perf_counter()
            outcomes = list(pool.run(objective, cells(2, 1), on_start=lambda i: None, stop=lambda: False))
            wall = time.perf_counter() - start
        finally:
            pool.close()
        starts = [float(line) for line in (Path(tmp) / "starts.log").read_text().splitlines()]
    return {"seconds": round(wall, 2), "first_reported": outcomes[0][0], "failed": [i for i, o in outcomes if o.error],
            "evaluations_started": len(starts), "re_runs_apart_s": round(abs(starts[-1] - starts[-2]), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pause", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pool_recovery.json"))
    args = parser.parse_args()
    archs = cells(400)
    overheads = [round(overhead(archs), 2) for _ in range(args.repeats)]
    print(f"overhead: 400 x 50 ms on 2 workers, two per run: {overheads} s (ideal 10.0)", flush=True)
    recoveries = [recovery(args.pause) for _ in range(args.repeats)]
    for row in recoveries:
        print(f"recovery: {row}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"overhead_s": overheads, "overhead_median_s": statistics.median(overheads),
                                    "pause_s": args.pause, "recovery": recoveries,
                                    "machine": platform.processor() or platform.machine()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
