"""The op-level latency lookup table: real timings per op, a fitted overhead model, fast predictions."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from nasir.backends.latency import LatencyCache, LatencyTable, measure
from nasir.backends.onnx.predictor import layout_conversions, op_signatures
from nasir.errors import BenchmarkQueryError
from nasir.spaces import nb201

QUICK = {"warmup": 2, "repeats": 10, "runs": 2, "chain": 4}
CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOLS = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"


def _net(arch: str, channels: int = 8):
    return nb201.space.network(nb201.space.parse(arch), channels=channels, cells_per_stage=1)


def _ops(keys: list[str], op: str) -> int:
    return sum(json.loads(k)[0] == op for k in keys)


def test_signatures_cover_every_costed_node() -> None:
    network = _net(POOLS)
    keys = op_signatures(network, merge=False)
    costed = sum(1 for b in network.blocks for n in b.arch.nodes if b.arch.op(n) not in ("input", "output", "identity"))
    assert len(keys) == costed
    op, attrs, ins = json.loads(keys[0])
    assert (op, ins) == ("conv", [[3, 32, 32]]) and attrs["out_channels"] == 8


def _ort_node_counts(network) -> dict[str, int]:
    """Node types of the graph onnxruntime really runs (its default, full optimisation), read back from disk."""
    import onnx
    import onnxruntime as ort
    from nasir.backends.onnx.export import export

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(export(network).SerializeToString(), options, providers=["CPUExecutionProvider"])
        nodes = onnx.load(options.optimized_model_filepath).graph.node
    return {t: sum(n.op_type == t for n in nodes) for t in ("AveragePool", "Mul")}


def test_merged_units_are_the_nodes_onnxruntime_runs() -> None:
    # POOLS applies avg_pool twice to the cell input and zero twice to node 1: onnxruntime runs each once
    # per cell, and so must the table count them (merge=False, the first version, counted both).
    pools, convs = _net(POOLS), _net(CONV3)
    merged, plain = op_signatures(pools), op_signatures(pools, merge=False)
    cells = 3
    assert (_ops(merged, "avg_pool"), _ops(merged, "zero")) == (cells, cells)
    assert (_ops(plain, "avg_pool"), _ops(plain, "zero")) == (2 * cells, 2 * cells)
    assert _ops(merged, "add") == _ops(plain, "add") - cells, "a single-input add lowers to no node"
    with_pools, without = _ort_node_counts(pools), _ort_node_counts(convs)  # CONV3 cells have no pool, no zero
    assert with_pools["AveragePool"] - without["AveragePool"] == _ops(merged, "avg_pool")
    assert with_pools["Mul"] - without["Mul"] == _ops(merged, "zero")


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
    assert isinstance(table.intercept_, float)
    assert set(table.scale_) == {json.loads(k)[0] for k in table.table_} | {"ReorderInput", "ReorderOutput"}
    predictions = table.predict([heavy, light])
    assert predictions.shape == (2,) and np.isfinite(predictions).all()
    assert isinstance(table.predict(heavy), float)
    table.save(tmp_path / "table.json")
    loaded = LatencyTable.load(tmp_path / "table.json")
    np.testing.assert_allclose(loaded.predict([heavy, light]), predictions)
    assert loaded.device_ == table.device_ and loaded.chain == QUICK["chain"] and loaded.scale_ == table.scale_
    old = json.loads((tmp_path / "table.json").read_text())
    del old["scale"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="build and fit it again"):
        LatencyTable.load(tmp_path / "old.json")


def test_layout_conversions_are_read_from_onnxruntime() -> None:
    # A zero edge's Mul runs in plain NCHW next to blocked-layout pools, so POOLS cells convert
    # tensors back and forth; CONV3 cells stay blocked from conv to conv.
    pools, convs = layout_conversions(_net(POOLS, 16)), layout_conversions(_net(CONV3, 16))
    assert set(pools) == {"ReorderInput", "ReorderOutput"}
    cell_tensor = 16 * 32 * 32 / 1e6  # millions of elements of one stage-1 tensor
    assert pools["ReorderOutput"] >= convs["ReorderOutput"] + cell_tensor
    assert pools["ReorderInput"] >= convs["ReorderInput"] + cell_tensor
    assert LatencyTable(provider="cuda").layout is False and LatencyTable().layout is True


def test_fit_learns_per_op_type_factors() -> None:
    # Targets made from the real table and layout conversions with known factors: the fit must find
    # them (ridge 0), and a strong ridge must keep the table factors at the plain table's 1.
    cells = [POOLS, CONV3, "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
             "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
             "|none~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
             "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|",
             "|none~0|+|skip_connect~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|",
             "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_1x1~2|"]
    networks = [_net(c) for c in cells]
    table = LatencyTable(ridge=0.0, **QUICK).build(networks)
    truth = {"avg_pool": 2.0, "zero": 3.0, "relu_conv_bn": 0.9, "ReorderInput": 0.2, "ReorderOutput": 0.3}

    def made_up(network) -> float:
        return sum(truth.get(op, 0.0 if op.startswith("Reorder") else 1.0) * v for op, v in table.totals(network).items()) + 0.05

    target = [made_up(n) for n in networks]
    table.fit(networks, target)
    for op, factor in truth.items():
        assert table.scale_[op] == pytest.approx(factor, rel=0.02), op
    np.testing.assert_allclose(table.predict(networks), target, rtol=1e-3)
    stiff = LatencyTable(ridge=1e6, **QUICK).fit(networks, target)
    assert all(v == pytest.approx(1.0, abs=0.01) for op, v in stiff.scale_.items() if not op.startswith("Reorder"))


def test_unseen_ops_are_named(tmp_path: Path) -> None:
    table = LatencyTable(**QUICK).build([_net(POOLS)])
    with pytest.raises(BenchmarkQueryError, match="not in the table .*call build"):
        table.predict(_net(CONV3))
    assert table.missing(_net(POOLS)) == [] and len(table.missing(_net(CONV3))) > 0


def test_a_table_from_another_device_predicts_but_never_measures_here(tmp_path: Path, monkeypatch, capsys) -> None:
    """Timing missing ops on this machine would mix two devices in one prediction labelled with the table's."""
    from nasir.cli import main

    table = LatencyTable(**QUICK).build([_net(POOLS)])
    assert table.built_here()
    table.device_ = {**table.device_, "cpu": "Some Other CPU (edge board)"}
    assert not table.built_here()
    table.save(tmp_path / "edge.json")
    monkeypatch.setattr(sys, "argv", ["nasir", "latency", "6111", "--predict", str(tmp_path / "edge.json")])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and "which was built on Some Other CPU (edge board), not this machine" in err
    assert len(LatencyTable.load(tmp_path / "edge.json").table_) == len(table.table_), "nothing was measured into it"


def test_op_timings_are_cached_in_sqlite(tmp_path: Path) -> None:
    cache = LatencyCache(tmp_path / "ops.db")
    first = LatencyTable(cache=cache, **QUICK).build([_net(POOLS)])
    stored = len(cache)
    second = LatencyTable(cache=cache, **QUICK).build([_net(POOLS)])
    assert stored > 0 and len(cache) == stored and second.table_ == first.table_
