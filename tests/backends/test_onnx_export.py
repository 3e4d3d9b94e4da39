"""Direct ONNX export: every op lowers, models pass the full checker, and onnxruntime agrees with torch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from nasir import errors
from nasir.backends.onnx import ONNX_LOWERINGS, ProviderError, export, random_weights, run, session
from nasir.frontends.torch import import_weights, lower
from nasir.ir import OPS, Arch
from nasir.spaces import nb101, nb201


def test_every_registered_op_has_an_onnx_lowering() -> None:
    assert [op for op in OPS if op not in ONNX_LOWERINGS] == []


def _parity(network, seed: int) -> float:
    weights = random_weights(network.weight_specs(), seed)
    model = export(network, weights)
    onnx.checker.check_model(model, full_check=True)
    module = lower(network, seed=seed).eval()
    import_weights(module, weights)
    x = np.random.default_rng(seed).normal(size=(3, *network.input_shape)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    got = run(model, x)
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("seed", range(4))
def test_nb201_parity_with_torch(seed: int) -> None:
    network = nb201.space.network(nb201.space.sample(seed), channels=8, cells_per_stage=2)
    assert _parity(network, seed) <= 1e-4


@pytest.mark.parametrize("seed", range(2))
def test_nb101_parity_with_torch(seed: int) -> None:
    network = nb101.space.network(nb101.space.sample(seed), stem_channels=16, cells_per_stack=1)
    assert _parity(network, seed) <= 1e-4


def test_bare_cell_export_dynamic_batch_and_metadata() -> None:
    cell = nb201.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    model = export(cell, input_shapes=(8, 16, 16))
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["network_hash"].startswith("v1:") and json.loads(props["network_json"])["blocks"][0]["name"] == "arch"
    assert model.opset_import[0].version == 17 and model.ir_version <= 10
    assert any(n.name.startswith("arch/e0_1/") for n in model.graph.node)
    for batch in (1, 5):
        assert run(model, np.zeros((batch, 8, 16, 16), np.float32)).shape == (batch, 8, 16, 16)


def test_weights_from_another_architecture_are_refused() -> None:
    a = nb201.space.network(nb201.space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"), channels=8, cells_per_stage=1)
    b = nb201.space.network(nb201.space.parse("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"), channels=8, cells_per_stage=1)
    with pytest.raises(errors.SchemaError, match=r"cells\.0/e0_1/conv\.weight' has shape \(8, 8, 3, 3\)"):
        export(b, random_weights(a.weight_specs()))
    with pytest.raises(errors.SchemaError, match="lack"):
        export(a, {})


def test_missing_provider_is_an_error_not_a_silent_fallback() -> None:
    model = export(nb201.space.network(nb201.space.sample(0), channels=8, cells_per_stage=1))
    with pytest.raises(ProviderError, match="CUDAExecutionProvider"):
        session(model, provider="cuda")
    assert session(model).provider == "CPUExecutionProvider"


def test_primitive_relu_cell_runs() -> None:
    cell = Arch({"in": "input", "r": "relu", "out": "output"}, [("in", "r"), ("r", "out")])
    assert run(export(cell, input_shapes=(2, 4, 4)), -np.ones((1, 2, 4, 4), np.float32)).max() == 0.0
