"""The op-level latency lookup table: real timings per op, a fitted overhead model, fast predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasir.backends.latency import LatencyCache, LatencyTable, measure
from nasir.backends.onnx.predictor import op_signatures
from nasir.spaces import nb201

QUICK = {"warmup": 2, "repeats": 10, "runs": 2, "chain": 4}
CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOLS = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"


def _net(arch: str, channels: int = 8):
    return nb201.space.network(nb201.space.parse(arch), channels=channels, cells_per_stage=1)


def test_signatures_cover_every_costed_node() -> None:
    network = _net(POOLS)
    keys = op_signatures(network)
    costed = sum(1 for b in network.blocks for n in b.arch.nodes if b.arch.op(n) not in ("input", "output", "identity"))
    assert len(keys) == costed
    op, attrs, ins = json.loads(keys[0])
    assert (op, ins) == ("conv", [[3, 32, 32]]) and attrs["out_channels"] == 8


def test_table_build_fit_predict_save_load(tmp_path: Path) -> None:
    heavy, light = _net(CONV3, 16), _net(POOLS, 16)
    table = LatencyTable(**QUICK).build([heavy, light])
    assert len(table.table_) == len(set(op_signatures(heavy)) | set(op_signatures(light)))
    assert all(v >= 0 for v in table.table_.values())
    conv = [v for k, v in table.table_.items() if json.loads(k)[0] == "relu_conv_bn" and json.loads(k)[2] == [[16, 32, 32]]]
    pool = [v for k, v in table.table_.items() if json.loads(k)[0] == "avg_pool" and json.loads(k)[2] == [[16, 32, 32]]]
    assert conv[0] > pool[0], "a 3x3 conv costs more than a 3x3 average pool on the same tensor"
    measured = [measure(n, warmup=2, repeats=10, runs=2).median_ms for n in (heavy, light)]
    table.fit([heavy, light], measured)
    assert table.coef_.shape == (3,)
    predictions = table.predict([heavy, light])
    assert predictions.shape == (2,) and np.isfinite(predictions).all()
    assert isinstance(table.predict(heavy), float)
    table.save(tmp_path / "table.json")
    loaded = LatencyTable.load(tmp_path / "table.json")
    np.testing.assert_allclose(loaded.predict([heavy, light]), predictions)
    assert loaded.device_ == table.device_ and loaded.chain == QUICK["chain"]


def test_unseen_ops_are_named(tmp_path: Path) -> None:
    table = LatencyTable(**QUICK).build([_net(POOLS)])
    with pytest.raises(KeyError, match="not in the table .*call build"):
        table.predict(_net(CONV3))


def test_op_timings_are_cached_in_sqlite(tmp_path: Path) -> None:
    cache = LatencyCache(tmp_path / "ops.db")
    first = LatencyTable(cache=cache, **QUICK).build([_net(POOLS)])
    stored = len(cache)
    second = LatencyTable(cache=cache, **QUICK).build([_net(POOLS)])
    assert stored > 0 and len(cache) == stored and second.table_ == first.table_
