"""The official NAS-Bench-201 index <-> arch-string order, read from the shipped table.

The benchmark's index order is not a product order (the official file stores cells in the order
they were trained), so it can only come from data: the ``arch_str`` column of the package table.
"""

from __future__ import annotations

import csv
import gzip
import io
from functools import cache
from importlib import resources

from nasir.errors import ArchStringError, BenchmarkFileError

__all__ = ["arch_strings", "index_of", "TABLE_RESOURCE"]

TABLE_RESOURCE = "data/nb201_table.csv.gz"


@cache
def arch_strings() -> tuple[str, ...]:
    """All 15,625 arch strings in official index order."""
    try:
        raw = resources.files("nasir.spaces").joinpath(TABLE_RESOURCE).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as err:
        raise BenchmarkFileError(f"NB201 package table {TABLE_RESOURCE} is missing: {err}; reinstall nasir") from None
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode()))
    header = next(reader)
    col = header.index("arch_str")
    return tuple(row[col] for row in reader)


@cache
def _positions() -> dict[str, int]:
    return {s: i for i, s in enumerate(arch_strings())}


def index_of(arch_str: str) -> int:
    """Official index of a (well-formed) arch string."""
    try:
        return _positions()[arch_str]
    except KeyError:
        raise ArchStringError(f"{arch_str!r} is not an NB201 architecture") from None
