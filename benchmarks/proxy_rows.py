"""The standard 1,000-architecture sample, and the per-architecture rows ``proxies_nb201.py`` writes on it, read back
for the benchmarks built on them.

One row per cell (official ``index``, ``arch_str``, one column per proxy, ``ms:<proxy>`` times);
several runs on the same sample (``--tag``) hold different proxies of the same cells, so they are
merged by index.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def sample_indices(n: int) -> np.ndarray:
    """The first ``n`` official indices of the standard sample: 1,000 cells drawn without replacement with seed 0, so
    every benchmark's first ``n`` are the same cells (all 15,625 for ``n >= 15625``)."""
    if n >= 15625:
        return np.arange(15625)
    return np.random.default_rng(0).choice(15625, 1000, replace=False)[:n]


def sample_rows(*tags: str) -> tuple[Path, ...]:
    """The row files of the 1,000-architecture standard sample (seed 0) for the given ``--tag`` runs."""
    return tuple(RESULTS / f"proxies_nb201_cifar10_n1000_s0_{tag}.csv" for tag in tags)


def merged_rows(paths: tuple[Path, ...]) -> dict[int, dict[str, str]]:
    """Official index -> every column of that cell over ``paths`` (as text, as csv reads it)."""
    rows: dict[int, dict[str, str]] = {}
    for path in paths:
        with path.open() as f:
            for row in csv.DictReader(f):
                rows.setdefault(int(row["index"]), {}).update(row)
    return rows
