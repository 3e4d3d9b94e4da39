"""TE-NAS supernet pruning: the mixed cell, the rank-sum pruning rule, and the torch measurements."""

from __future__ import annotations

import numpy as np
import pytest

from nasir.errors import ArchStringError, StrategyConfigError
from nasir.spaces.nb201 import EDGES, OPS, space
from nasir.strategies.pruning import MeasurementError, NoSupernetError, _dense_ranks, _settle, tenas_prune

PREFERENCE = ["avg_pool_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"]  # pruned first ... kept


def _removed(supernet, pruned) -> tuple[int, str]:
    """The (edge, op) present in ``supernet`` but not in ``pruned``, read from node ids ``e{j}_{i}_{op}``."""
    (node,) = {n for n in set(supernet.nodes) - set(pruned.nodes) if not n.endswith(("_sum", "_mean"))}
    j, i, op = node[1], node[3], node[5:]
    return EDGES.index((int(j), int(i))), op


def test_supernet_cell_mixes_the_remaining_ops() -> None:
    assert space.supernet([[op] for op in space.to_ops(space.from_index(7))]) == space.from_index(7)
    cell = space.supernet([list(OPS[1:])] * 6)
    assert sum(cell.op(n) == "scale" for n in cell.nodes) == 6 and all(
        cell.attrs(n)["factor"] == 0.25 for n in cell.nodes if cell.op(n) == "scale")
    with pytest.raises(ArchStringError, match="6 non-empty lists"):
        space.supernet([["nor_conv_3x3"]] * 5 + [[]])


def test_supernet_edge_is_the_mean_of_its_ops() -> None:
    import torch

    from nasir.frontends.torch import lower

    none = ["none"]
    mixed = space.supernet([none, none, none, ["skip_connect", "avg_pool_3x3"], none, none])  # edge (0, 3) feeds the output
    pool = space.from_ops(("none", "none", "none", "avg_pool_3x3", "none", "none"))
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        got = lower(mixed, input_shapes=[(4, 6, 6)])(x)
        want = (x + lower(pool, input_shapes=[(4, 6, 6)])(x)) / 2
    assert torch.allclose(got, want, atol=1e-6)


def test_dense_ranks_share_ties_of_equal_values() -> None:
    values = {(0, "a"): 0.5, (0, "b"): 0.5, (1, "a"): 0.1, (1, "b"): 0.1000001}
    order, ranks = _dense_ranks(values, descending=True, digits=3)
    assert order == [(0, "a"), (0, "b"), (1, "a"), (1, "b")], "equal sort keys keep the measured order"
    assert ranks == {(0, "a"): 0, (0, "b"): 0, (1, "a"): 1, (1, "b"): 2}, "only equal values tie"
    assert _dense_ranks(values, descending=False, digits=3)[1] == {(1, "a"): 0, (1, "b"): 1, (0, "a"): 2, (0, "b"): 2}


def test_each_repeat_is_rounded_to_precision_decimals_before_the_mean() -> None:
    assert _settle([0.12349, 0.12351, 0.5], 3) == pytest.approx((0.123 + 0.124 + 0.5) / 3)
    assert _settle(0.00049, 3) == 0.0 and _settle(-0.0006, 3) == -0.001


def test_changes_equal_at_three_decimals_tie_and_equal_sums_keep_the_ntk_order() -> None:
    """NTK changes 0.3004 and 0.3001 on edge 0 tie (rank 0); the regions then pick; elsewhere NTK order decides."""
    def ntk(supernet, pruned):
        e, op = _removed(supernet, pruned)
        return {"avg_pool_3x3": 0.3004, "skip_connect": 0.3001}.get(op, 0.1) if e == 0 else 0.1 * (3 - PREFERENCE.index(op))

    def regions(supernet, pruned):
        e, op = _removed(supernet, pruned)
        return 0.5 if (e, op) == (0, "avg_pool_3x3") else 0.0

    first = tenas_prune(space, OPS, len(EDGES), ntk, regions).rounds[0]
    assert first.deltas[(0, "avg_pool_3x3")] == (0.3, 0.5) and first.deltas[(0, "skip_connect")] == (0.3, 0.0)
    assert dict(first.pruned)[0] == "skip_connect", "tied on NTK, avg_pool's removal loses more regions, so skip goes"
    assert all(dict(first.pruned)[e] == "avg_pool_3x3" for e in range(1, 6))


def test_pruning_rule_removes_the_most_prunable_op_per_edge() -> None:
    """NTK delta high for ops early in PREFERENCE (prune them), regions delta flat: the last op survives."""
    calls: list[tuple[int, str]] = []

    def ntk(supernet, pruned):
        calls.append(_removed(supernet, pruned))
        return float(len(PREFERENCE) - PREFERENCE.index(calls[-1][1]))

    result = tenas_prune(space, OPS, len(EDGES), ntk, lambda s, p: 0.0)
    assert result.ops == ("nor_conv_3x3",) * 6 and result.arch == space.from_ops(("nor_conv_3x3",) * 6)
    assert [len(r.deltas) for r in result.rounds] == [24, 18, 12] and len(calls) == 54
    assert [dict(r.pruned) for r in result.rounds] == [{e: op for e in range(6)} for op in PREFERENCE[:3]]


def test_regions_break_the_tie_and_edges_differ() -> None:
    """With equal NTK deltas, the op whose removal loses fewest regions goes; edge 0 prefers to keep pooling."""
    def regions(supernet, pruned):
        e, op = _removed(supernet, pruned)
        keep = "avg_pool_3x3" if e == 0 else "skip_connect"
        return 1.0 if op == keep else 0.1 * PREFERENCE.index(op)

    result = tenas_prune(space, OPS, len(EDGES), lambda s, p: 0.0, regions)
    assert result.ops == ("avg_pool_3x3",) + ("skip_connect",) * 5


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), r"returned a non-finite change \[nan\]"), ([0.2, float("inf")], r"returned a non-finite change \[0.2, inf\]"),
    ([], "returned no value"), (None, "returned None, not a number"),
])
@pytest.mark.parametrize("bad", ["ntk_delta", "region_delta"])
def test_unrankable_measurements_are_refused_naming_the_candidate(bad: str, value, message: str) -> None:
    """NaN compares false with everything, so it used to rank to an arbitrary cell; [] divided by zero."""
    def measure(kind):
        return lambda s, p: value if kind == bad and _removed(s, p) == (2, "avg_pool_3x3") else 0.1

    with pytest.raises(MeasurementError, match=rf"{bad} for pruning 'avg_pool_3x3' from edge 2 in round 1 {message}"):
        tenas_prune(space, OPS, len(EDGES), measure("ntk_delta"), measure("region_delta"))


def test_settle_refuses_what_it_cannot_average_and_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="the measurement returned no value") as raised:
        _settle([], 3)
    assert raised.type is MeasurementError


@pytest.mark.parametrize("other", ["nb101", "darts"])
def test_spaces_without_a_supernet_are_refused_before_any_measurement(other: str) -> None:
    from importlib import import_module

    measured: list[int] = []
    other_space = import_module(f"nasir.spaces.{other}").space
    with pytest.raises(NoSupernetError, match=f"needs a space that builds mixed cells.*{type(other_space).__name__} has no supernet"):
        tenas_prune(other_space, ["a", "b"], 5, lambda s, p: measured.append(1) or 0.0, lambda s, p: 0.0)
    assert not measured and issubclass(NoSupernetError, TypeError)


def test_dropping_every_candidate_op_leaves_nothing_to_prune() -> None:
    measured: list[int] = []
    with pytest.raises(StrategyConfigError, match=r"no op left to search after dropping \['none', 'skip_connect'\] from \['none', 'skip_connect'\]"):
        tenas_prune(space, ["none", "skip_connect"], 6, lambda s, p: measured.append(1) or 0.0, lambda s, p: 0.0,
                    drop=("none", "skip_connect"))
    assert not measured


def test_torch_measures_share_weights_and_batch() -> None:
    from nasir.frontends.torch.pruning import TENASMeasures

    m = TENASMeasures(space, repeats=2, batch_size=8, skeleton={"channels": 3, "cells_per_stage": 1})
    supernet = space.supernet([["skip_connect", "nor_conv_3x3"]] + [["nor_conv_1x1"]] * 5)
    same = space.supernet([["skip_connect", "nor_conv_3x3"]] + [["nor_conv_1x1"]] * 5)
    assert m.ntk_delta(supernet, same) == pytest.approx([0.0, 0.0], abs=1e-9), "identical networks with shared weights: no change"
    assert m.region_delta(supernet, same) == [0.0, 0.0]
    pruned = space.supernet([["nor_conv_3x3"]] + [["nor_conv_1x1"]] * 5)
    d1, d2 = m.ntk_delta(supernet, pruned), m.ntk_delta(supernet, pruned)
    assert len(d1) == 2 and np.all(np.isfinite(d1)) and d1 == d2 and 0.0 not in d1
    assert d1[0] != d1[1], "the repeats see different batches"
    r = m.region_delta(supernet, pruned)
    assert np.all(np.isfinite(r)) and r == m.region_delta(supernet, pruned)


def test_torch_measures_fresh_draws_per_candidate() -> None:
    """``common_draws=False`` (the reference's protocol): every candidate's repeat draws its own batch
    and crops, and the supernet is measured on the same ones, so an unchanged network still scores 0."""
    from nasir.frontends.torch.pruning import TENASMeasures

    m = TENASMeasures(space, repeats=2, batch_size=8, skeleton={"channels": 3, "cells_per_stage": 1}, common_draws=False)
    supernet = space.supernet([["skip_connect", "nor_conv_3x3"]] + [["nor_conv_1x1"]] * 5)
    assert m.ntk_delta(supernet, supernet) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert m.region_delta(supernet, supernet) == [0.0, 0.0]
    pruned = space.supernet([["nor_conv_3x3"]] + [["nor_conv_1x1"]] * 5)
    first, second = m.ntk_delta(supernet, pruned), m.ntk_delta(supernet, pruned)
    assert np.all(np.isfinite(first)) and first != second, "a second candidate sees new batches"
    again = TENASMeasures(space, repeats=2, batch_size=8, skeleton={"channels": 3, "cells_per_stage": 1}, common_draws=False)
    again.ntk_delta(supernet, supernet)
    assert again.ntk_delta(supernet, pruned) == first, "the same seed gives the same draws"


def test_region_units_keep_the_inputs_of_pruned_convs() -> None:
    """The reference keeps pruned ops at weight 0, so ReLU(x_j) of every edge source stays counted."""
    import torch

    from nasir.frontends.torch import lower
    from nasir.frontends.torch.pruning import _unit_codes
    from nasir.proxy_math import thin_network

    def units(ops_per_edge):
        net = space.network(space.supernet(ops_per_edge), channels=3, cells_per_stage=1)
        return _unit_codes(lower(thin_network(net), seed=0).train(), torch.randn(5, 1, 3, 3))

    no_conv = units([["skip_connect"]] * 6)
    assert no_conv.shape == (5, 9 * 4), "head ReLU plus the signs of nodes in, n1 and n2 (9 units each)"
    assert units([["nor_conv_3x3", "skip_connect"]] * 6).shape == (5, 9 * (4 + 6))
