"""The hierarchical space: sampled networks lower to torch, export to ONNX, and onnxruntime matches torch."""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import pytest

from nasir.backends.onnx import export, random_weights
from nasir.ir import Arch
from nasir.spaces.grammars import HIERARCHICAL_GRAMMAR, hierarchical

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends"))
from _parity import torch_forward, torch_vs_onnx  # noqa: E402

SEEDS = (0, 1, 2)


def test_levels_macro_stage_cell_op() -> None:
    """Every derivation goes macro topology -> stage topology -> cell topology -> op."""
    tree = hierarchical.sample_tree(5)
    assert tree.symbol == "NET"
    stages = [c for c in tree.children if c.symbol == "STAGE"]
    assert len(stages) in (2, 3)
    cells = [g for s in stages for g in s.children]
    assert {c.symbol for c in cells} == {"CELL"} and {o.symbol for c in cells for o in c.children} == {"OP"}
    assert hierarchical.encodings == ("onehot", "adjacency", "counts")
    assert hierarchical.encode(hierarchical.derive(tree)).shape == (1148,)


@pytest.mark.parametrize("seed", SEEDS)
def test_sampled_networks_run_in_torch(seed: int) -> None:
    net = hierarchical.network(hierarchical.sample(seed))
    assert torch_forward(net, seed).shape == (2, 10)


@pytest.mark.parametrize("seed", SEEDS)
def test_sampled_networks_export_to_onnx_and_match_torch(seed: int) -> None:
    net = hierarchical.network(hierarchical.sample(seed))
    model = export(net, random_weights(net.weight_specs(), seed))
    onnx.checker.check_model(model, full_check=True)
    assert torch_vs_onnx(net, seed) < 1e-4


def test_json_round_trip_keeps_the_derivation() -> None:
    """Node ids carry the derivation, so an architecture read back from storage can still be mutated."""
    arch = hierarchical.sample(9)
    back = Arch.from_json(arch.to_json())
    assert hierarchical.derivation(back) == hierarchical.derivation(arch)
    assert hierarchical.mutate(back, 0).same_labels(hierarchical.mutate(arch, 0))
    assert hierarchical.parse(hierarchical.format(arch)).same_labels(arch)
    assert HIERARCHICAL_GRAMMAR.finite and len(HIERARCHICAL_GRAMMAR.symbols) == 6
