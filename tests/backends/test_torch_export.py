"""The torch.onnx cross-check path: a second exporter that must agree with the direct one."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from nasir.backends.onnx import export, random_weights, run, torch_export
from nasir.frontends.torch import import_weights, lower
from nasir.spaces import nb201

from ._parity import rel_err


def test_torch_onnx_export_agrees_with_direct_export_and_torch() -> None:
    network = nb201.space.network(nb201.space.sample(11), channels=8, cells_per_stage=2)
    weights = random_weights(network.weight_specs(), 11)
    module = lower(network, seed=0).train()
    import_weights(module, weights)
    via_torch = torch_export(module, network.input_shape)
    assert module.training, "the caller's mode is restored"
    onnx.checker.check_model(via_torch, full_check=True)
    props = {p.key: p.value for p in via_torch.metadata_props}
    assert props["canonical_hash"] == network.canonical_hash() and "dynamo=False" in props["exporter"]
    assert via_torch.ir_version == 8 and [i.name for i in via_torch.graph.input] == ["input"]
    direct = export(network, weights)
    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = module.eval()(torch.from_numpy(x)).numpy()
    assert rel_err(run(via_torch, x), expected) <= 1e-4
    assert rel_err(run(direct, x), run(via_torch, x)) <= 1e-4
    assert run(via_torch, x[:1]).shape == (1, 10), "dynamic batch axis"
