"""Tabular NAS-Bench-201 ground truth, separate from the search space.

``NB201Benchmark.default()`` reads the compact table shipped in ``nasir/spaces/data`` (provenance
beside it); ``NB201Benchmark.from_pth(path)`` reads an official NAS-Bench-201 ``.pth`` file through
the ``nas-bench-201`` package. Both answer the same ``query(arch, dataset, metric)``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from nasir.errors import ArchIndexError, BenchmarkFileError, BenchmarkQueryError, SchemaError
from nasir.ir import Arch

__all__ = ["NB201Benchmark", "DATASETS", "COLUMNS"]

DATASETS = {"cifar10": "cifar10", "cifar10-valid": "cifar10-valid", "cifar100": "cifar100", "imagenet16": "imagenet16",
            "imagenet16-120": "imagenet16", "ImageNet16-120": "imagenet16"}
HW_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
              "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy")
ZC_PROXIES = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow")
_HW_DATASET = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100", "imagenet16": "imagenet16"}

# (dataset, metric) -> column of the shipped table: the one place the names meet.
COLUMNS: dict[tuple[str, str], str] = {
    ("cifar10", "test_acc"): "cifar10_test_acc",                     # NATS-Bench 200 epochs, train+valid -> test, seed mean
    ("cifar10-valid", "valid_acc"): "nb201v11_cifar10valid_valid_acc",  # train half -> valid half (search objective)
    ("cifar10-valid", "test_acc"): "nb201v11_cifar10valid_test_acc",    # zero-cost-nas correlations use this
    ("cifar100", "test_acc"): "cifar100_test_acc",
    ("imagenet16", "test_acc"): "imagenet16_test_acc",
    ("cifar10-valid", "naslib_val_acc"): "naslib_cifar10valid_val_acc",  # NAS-Bench-Suite-Zero labels
    ("cifar100", "naslib_val_acc"): "naslib_cifar100_val_acc",
    ("imagenet16", "naslib_val_acc"): "naslib_imagenet16_val_acc",
    **{(ds, "params"): f"params_m_{_HW_DATASET[ds]}" for ds in _HW_DATASET},
    **{(ds, "flops"): f"flops_naslib_m_{_HW_DATASET[ds]}" for ds in _HW_DATASET},
    **{(ds, m): f"hw_{_HW_DATASET[ds]}_{m}" for ds in _HW_DATASET for m in HW_METRICS},
    # NAS-Bench-Suite-Zero's precomputed proxies (NASLib names; NaN for the 6,180 cells it did not score)
    **{("cifar10", f"zc_{p}"): f"zc_cifar10_{p}" for p in ZC_PROXIES},
    **{(ds, "zc_zen"): f"zc_{_HW_DATASET[ds]}_zen" for ds in ("cifar10", "cifar100", "imagenet16")},
}
REQUIRED = ("index", "arch_str", "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc")
# HW-NAS-Bench writes -1 for a cell that did not pass the Edge TPU compiler (4,699 of 15,625; GATECH-EIC/HW-NAS-Bench
# issue 11): no measurement, so it reads as NaN rather than as the fastest latency in the space.
NOT_COMPILED = {f"hw_{ds}_edgetpu_latency" for ds in set(_HW_DATASET.values())}
TABLE_RESOURCE = "data/nb201_table.csv.gz"


class _Source(Protocol):
    """Where the numbers come from: the shipped table or an official ``.pth`` file."""

    def arch_strings(self) -> Sequence[str]: ...
    def column(self, name: str) -> np.ndarray | None: ...


class _TableSource:
    def __init__(self, raw: bytes, origin: str) -> None:
        try:
            text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        except (OSError, UnicodeDecodeError) as err:
            raise SchemaError(f"{origin} is not a (gzipped) CSV table: {err}") from None
        rows = list(csv.reader(io.StringIO(text)))
        header, body = rows[0] if rows else [], rows[1:]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise SchemaError(f"{origin} lacks column(s) {missing}; expected the nasir NB201 table format")
        self._strings = [r[header.index("arch_str")] for r in body]
        self._columns = {c: np.array([float(r[i]) if r[i] else np.nan for r in body]) for i, c in enumerate(header) if c not in ("arch_str",)}
        for name in NOT_COMPILED & set(self._columns):
            self._columns[name][self._columns[name] == -1.0] = np.nan

    def arch_strings(self) -> Sequence[str]:
        return self._strings

    def column(self, name: str) -> np.ndarray | None:
        return self._columns.get(name)


class NB201Benchmark:
    """Answers NAS-Bench-201 ground-truth queries for architectures, indices or arch strings."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._index = {s: i for i, s in enumerate(source.arch_strings())}

    @classmethod
    def default(cls) -> NB201Benchmark:
        """The table shipped with nasir (see ``nasir/spaces/data/PROVENANCE.md``)."""
        try:
            raw = resources.files("nasir.spaces").joinpath(TABLE_RESOURCE).read_bytes()
        except FileNotFoundError:
            raise BenchmarkFileError(f"the shipped NB201 table {TABLE_RESOURCE} is missing; reinstall nasir") from None
        return cls(_TableSource(raw, TABLE_RESOURCE))

    @classmethod
    def from_table(cls, path: str | Path) -> NB201Benchmark:
        """A table in the shipped format (CSV or gzipped CSV)."""
        path = Path(path)
        if not path.is_file():
            raise BenchmarkFileError(f"NB201 table {str(path)!r} does not exist")
        return cls(_TableSource(path.read_bytes(), str(path)))

    @classmethod
    def from_pth(cls, path: str | Path) -> NB201Benchmark:
        """An official NAS-Bench-201 ``.pth`` file, read with the ``nas-bench-201`` package."""
        from nasir.spaces._nb201_pth import PthSource

        return cls(PthSource(path))

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self._index)

    @property
    def metrics(self) -> list[tuple[str, str]]:
        """(dataset, metric) pairs this benchmark can answer."""
        return [key for key, col in COLUMNS.items() if self._source.column(col) is not None]

    def index_of(self, arch: int | str | Arch) -> int:
        """The official index of an architecture given as index, arch string or NB201 Arch."""
        if isinstance(arch, Arch):
            from nasir.spaces.nb201 import space

            arch = space.format(arch)
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if not 0 <= arch < len(self):
                raise ArchIndexError(f"NB201 index must be in 0..{len(self) - 1}, got {arch}")
            return int(arch)
        if isinstance(arch, str):
            if arch not in self._index:
                raise BenchmarkQueryError(f"architecture {arch!r} is not in this NB201 benchmark")
            return self._index[arch]
        raise BenchmarkQueryError(f"query an NB201 architecture by index, arch string or Arch, not {type(arch).__name__}")

    def column(self, dataset: str, metric: str) -> np.ndarray:
        """The whole column for (dataset, metric), in index order (read-only)."""
        ds = DATASETS.get(dataset)
        if ds is None:
            raise BenchmarkQueryError(f"unknown NB201 dataset {dataset!r} (known: {sorted(set(DATASETS.values()))})")
        name = COLUMNS.get((ds, metric))
        values = self._source.column(name) if name else None
        if values is None:
            known = sorted({m for d, m in self.metrics if d == ds})
            raise BenchmarkQueryError(f"NB201 benchmark has no metric {metric!r} for {ds} (known: {known})")
        view = values.view()
        view.flags.writeable = False
        return view

    def query(self, arch: int | str | Arch, dataset: str = "cifar10", metric: str = "test_acc") -> float:
        """One value, e.g. ``query(6111, "cifar10", "test_acc") == 94.37...``."""
        return float(self.column(dataset, metric)[self.index_of(arch)])

    def query_many(self, archs: Iterable[int | str | Arch], dataset: str = "cifar10", metric: str = "test_acc") -> np.ndarray:
        """Values for several architectures (indices, arch strings or Archs) as one array, in the order given."""
        column = self.column(dataset, metric)
        return column[[self.index_of(a) for a in archs]]

    def best(self, dataset: str = "cifar10", metric: str = "test_acc") -> int:
        """Index of the architecture with the highest value."""
        return int(np.nanargmax(self.column(dataset, metric)))


