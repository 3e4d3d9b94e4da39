"""Shared helpers: run one IR graph through the direct ONNX export and through torch, same weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nasir.backends.onnx import export, random_weights, run
from nasir.frontends.torch import import_weights, lower
from nasir.ir import Arch, Network, weight_specs


def rel_err(got: np.ndarray, expected: np.ndarray) -> float:
    """max|got - expected| / max|expected| (the parity measure of BENCHMARKS.md); exact match needed for all-zero outputs."""
    scale = float(np.abs(expected).max())
    diff = float(np.abs(got - expected).max())
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def torch_vs_onnx(obj: Network | Arch, seed: int, *, input_shapes: Sequence | None = None, batch: int = 2) -> float:
    """Relative error of onnxruntime vs torch (eval mode) on one random batch, with shared random weights."""
    if isinstance(obj, Network):
        specs, shapes = obj.weight_specs(), [obj.input_shape]
    else:
        shapes = [tuple(input_shapes)] if isinstance(input_shapes[0], int) else [tuple(s) for s in input_shapes]
        specs = weight_specs(obj, shapes)
    weights = random_weights(specs, seed)
    model = export(obj, weights, input_shapes=None if isinstance(obj, Network) else shapes)
    module = lower(obj, seed=seed, input_shapes=None if isinstance(obj, Network) else shapes).eval()
    import_weights(module, weights)
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(batch, *s)).astype(np.float32) for s in shapes]
    with torch.no_grad():
        expected = module(*(torch.from_numpy(x) for x in xs)).numpy()
    return rel_err(run(model, xs), expected)


def torch_forward(net: Network, seed: int, batch: int = 2) -> torch.Tensor:
    """Lowers ``net`` (eval mode), runs one random batch and checks the output is finite and the
    module's parameter count equals the IR's; returns the logits."""
    model = lower(net, seed=0).eval()
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(batch, *net.input_shape)).astype(np.float32))
    with torch.no_grad():
        y = model(x)
    assert torch.isfinite(y).all()
    assert sum(p.numel() for p in model.parameters()) == net.count_params()
    return y
