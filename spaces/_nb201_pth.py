"""Reading an official NAS-Bench-201 ``.pth`` file through the ``nas-bench-201`` package.

The official file answers the accuracy columns and parameter counts of the shipped table (the
200-epoch ``hp='200'`` results, seed means). Its FLOPs follow the NB201 API convention, which is
not the NASLib convention of the shipped ``flops`` column, so ``flops`` is not offered from it.
Loading the full official file needs tens of GB of RAM; the shipped table is the default.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasir.errors import BenchmarkFileError, MissingDependencyError, SchemaError

__all__ = ["PthSource"]

# table column -> (official dataset, set name) for ArchResults.get_metrics, or a cost key
_METRICS: dict[str, tuple[str, str]] = {
    "cifar10_test_acc": ("cifar10", "ori-test"),
    "nb201v11_cifar10valid_valid_acc": ("cifar10-valid", "x-valid"),
    "nb201v11_cifar10valid_test_acc": ("cifar10-valid", "ori-test"),
    "cifar100_test_acc": ("cifar100", "x-test"),
    "imagenet16_test_acc": ("ImageNet16-120", "x-test"),
}
_COSTS: dict[str, str] = {"params_m_cifar10": "cifar10", "params_m_cifar100": "cifar100", "params_m_imagenet16": "ImageNet16-120"}


class PthSource:
    """A benchmark source over ``NASBench201API`` (200-epoch results, mean over seeds)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise BenchmarkFileError(f"NAS-Bench-201 file {str(path)!r} does not exist")
        try:
            from nas_201_api import NASBench201API
        except ImportError:
            raise MissingDependencyError("reading an official NB201 .pth file needs nas-bench-201 (and torch): pip install 'nasir[bench201]'") from None
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._api = NASBench201API(str(path), verbose=False)
        except Exception as err:  # the package raises bare AssertionError/KeyError on foreign files
            raise SchemaError(f"{str(path)!r} is not an official NAS-Bench-201 file: {type(err).__name__}: {err}") from None
        self._cache: dict[str, np.ndarray] = {}

    def arch_strings(self) -> Sequence[str]:
        return self._api.meta_archs

    def column(self, name: str) -> np.ndarray | None:
        if name not in _METRICS and name not in _COSTS:
            return None
        if name not in self._cache:
            values = np.full(len(self._api.meta_archs), np.nan)
            for index in self._api.evaluated_indexes:
                values[index] = self._value(self._api.query_meta_info_by_index(index, hp="200"), name)
            self._cache[name] = values
        return self._cache[name]

    @staticmethod
    def _value(results: Any, name: str) -> float:
        try:
            if name in _COSTS:
                return float(results.get_compute_costs(_COSTS[name])["params"])
            dataset, setname = _METRICS[name]
            return float(results.get_metrics(dataset, setname, is_random=False)["accuracy"])
        except (KeyError, AssertionError):
            return float("nan")
