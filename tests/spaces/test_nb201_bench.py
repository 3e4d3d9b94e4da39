"""NB201 ground truth: the shipped table, the official .pth path, and every error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nasir import errors
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def bench() -> NB201Benchmark:
    return NB201Benchmark.default()


@pytest.mark.parametrize(("dataset", "metric", "index", "value"), [
    ("cifar10", "test_acc", 6111, 94.37),
    ("cifar100", "test_acc", 9930, 73.51),
    ("imagenet16", "test_acc", 857, 47.31),
    ("cifar10-valid", "valid_acc", 6111, 91.61),
])
def test_published_optima(bench: NB201Benchmark, dataset: str, metric: str, index: int, value: float) -> None:
    assert bench.best(dataset, metric) == index
    assert bench.query(index, dataset, metric) == pytest.approx(value, abs=0.005)


def test_queries_by_index_string_and_arch_agree(bench: NB201Benchmark) -> None:
    by_index = bench.query(6111, "cifar10", "test_acc")
    assert bench.query(BEST_C10, "cifar10") == by_index
    assert bench.query(space.parse(BEST_C10), "cifar10") == by_index
    assert bench.query(0, "cifar10", "params") == pytest.approx(0.129306)
    assert bench.query(1, "imagenet16", "flops") == pytest.approx(29.180992)
    assert bench.query(0, "cifar10", "edgegpu_latency") == pytest.approx(5.807418537139893)
    assert list(bench.query_many([0, 1], "cifar10", "params")) == pytest.approx([0.129306, 0.802426])
    assert len(bench) == 15_625


def test_cells_hw_nas_bench_could_not_compile_for_the_edge_tpu_have_no_latency(bench: NB201Benchmark) -> None:
    for dataset in ("cifar10", "cifar100", "imagenet16"):
        tpu = bench.column(dataset, "edgetpu_latency")
        assert np.isnan(tpu).sum() == 4_699 and np.nanmin(tpu) > 0  # HW-NAS-Bench's -1: not a latency
    assert np.isnan(bench.query(6, "cifar10", "edgetpu_latency")) and bench.query(6, "cifar10", "edgegpu_latency") > 0


@pytest.mark.parametrize(("call", "error", "fragment"), [
    (lambda b: b.query(0, "mnist"), errors.BenchmarkQueryError, "unknown NB201 dataset 'mnist'"),
    (lambda b: b.query(0, "cifar10", "top5"), errors.BenchmarkQueryError, "no metric 'top5'"),
    (lambda b: b.query(15_625), errors.ArchIndexError, "0..15624"),
    (lambda b: b.query("|foo~0|"), errors.BenchmarkQueryError, "not in this NB201 benchmark"),
    (lambda b: b.query(3.5), errors.BenchmarkQueryError, "not float"),
])
def test_bad_queries(bench: NB201Benchmark, call, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        call(bench)


def test_missing_and_malformed_tables(tmp_path: Path) -> None:
    with pytest.raises(errors.BenchmarkFileError, match="does not exist"):
        NB201Benchmark.from_table(tmp_path / "nope.csv.gz")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"index,arch\n0,x\n"))
    with pytest.raises(errors.SchemaError, match="lacks column"):
        NB201Benchmark.from_table(bad)
    with pytest.raises(errors.BenchmarkFileError, match="does not exist"):
        NB201Benchmark.from_pth(tmp_path / "NAS-Bench-201-v1_1-096897.pth")


def _official_file(path: Path, accuracies: dict[int, float]) -> None:
    """Writes a small file in the official NAS-Bench-201 format with the package's own classes."""
    import torch
    from nas_201_api.api_utils import ArchResults, ResultsCount

    strings = [space.format(space.from_index(i)) for i in range(3)]
    arch2infos = {}
    for index, acc in accuracies.items():
        results = ArchResults(index, strings[index])
        for seed, delta in ((777, -0.5), (888, 0.5)):
            count = ResultsCount("cifar10", None, {0: 50.0}, {0: 1.0}, 0.5 + index, 80.0, {"arch_str": strings[index]}, seed, 1, [0.01])
            count.update_eval({"ori-test@0": acc + delta}, {"ori-test@0": 0.3}, {"ori-test@0": 1.0})
            results.update("cifar10", seed, count)
        arch2infos[index] = {"less": results.state_dict(), "full": results.state_dict()}
    torch.save({"meta_archs": strings, "arch2infos": arch2infos, "evaluated_indexes": sorted(accuracies)}, path)


def test_official_pth_file_is_read_through_nas_bench_201(tmp_path: Path) -> None:
    path = tmp_path / "NAS-Bench-201-mini.pth"
    _official_file(path, {0: 80.0, 2: 90.0})
    bench = NB201Benchmark.from_pth(path)
    assert len(bench) == 3
    assert bench.query(0, "cifar10", "test_acc") == pytest.approx(80.0)  # mean over the two seeds
    assert bench.query(space.from_index(2), "cifar10", "test_acc") == pytest.approx(90.0)
    assert bench.query(2, "cifar10", "params") == pytest.approx(2.5)
    assert bench.best("cifar10", "test_acc") == 2
    with pytest.raises(errors.BenchmarkQueryError, match="no metric 'flops'"):
        bench.query(0, "cifar10", "flops")


def test_foreign_pth_file_is_a_schema_error(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "weights.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(errors.SchemaError, match="not an official NAS-Bench-201 file"):
        NB201Benchmark.from_pth(path)
