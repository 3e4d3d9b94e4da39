"""Shared helpers: small IR graphs and a torch-vs-TF comparison with the same neutral weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

import nasir.frontends.tensorflow as tfe
import nasir.frontends.torch as pte
from nasir.frontends.torch.proxies import gennas as pt_gennas
from nasir.gennas_signals import TASKS, stage_blocks
from nasir.ir import Arch, Network, weight_specs
from nasir.rng import as_rng
from nasir.spaces import nb101
from nasir.spaces.nb201 import space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_OPS = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def rel(a: float, b: float) -> float:
    """Relative difference of two scores."""
    return abs(a - b) / max(abs(b), 1e-30)


def rel_err(got: np.ndarray, expected: np.ndarray) -> float:
    """max|got - expected| / max|expected| (the parity measure of BENCHMARKS.md)."""
    scale, diff = float(np.abs(expected).max()), float(np.abs(got - expected).max())
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def small_nb201(arch: str | Arch = BEST, dataset: str = "cifar10", channels: int = 8) -> Network:
    cell = space.parse(arch) if isinstance(arch, str) else arch
    return space.network(cell, channels=channels, cells_per_stage=1, dataset=dataset)


def small_nb101(seed: int) -> Network:
    return nb101.space.network(nb101.space.sample(seed), stem_channels=16, cells_per_stack=1)


def chain(*ops: tuple[str, str, dict]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in ops}}
    names = ["in", *(name for name, _, _ in ops), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def random_weights(specs, seed: int) -> dict[str, np.ndarray]:
    """Non-trivial neutral weights: He-uniform kernels, BN scales/variances U(0.5, 1.5), shifts/means N(0, 0.1)."""
    rng = as_rng(seed)
    out = {}
    for key, spec in specs.items():
        role = key.rsplit("/", 1)[-1].split(".")[-1]
        if role in ("running_var", "weight") and len(spec.shape) == 1:
            value = rng.uniform(0.5, 1.5, spec.shape)
        elif role in ("running_mean", "bias"):
            value = rng.normal(0.0, 0.1, spec.shape)
        else:
            value = rng.uniform(-1.0, 1.0, spec.shape) * np.sqrt(6.0 / np.prod(spec.shape[1:]))
        out[key] = value.astype(np.float32)
    return out


def twins(net: Network, seed: int = 0):
    """(torch module, TF model in NHWC) holding the same (non-default) neutral weights."""
    weights = random_weights(net.weight_specs(), seed)
    module = pte.lower(net, seed=seed)
    pte.import_weights(module, weights)
    model = tfe.lower(net, seed=seed)
    tfe.import_weights(model, weights)
    return module, model


def pair(obj: Network | Arch, seed: int, input_shapes: Sequence | None = None):
    """(torch module, TF model in NCHW layout, neutral weights) holding the same random weights."""
    shapes = None if isinstance(obj, Network) else input_shapes
    specs = obj.weight_specs() if isinstance(obj, Network) else weight_specs(obj, input_shapes)
    weights = random_weights(specs, seed)
    module = pte.lower(obj, seed=seed, input_shapes=shapes)
    pte.import_weights(module, weights)
    model = tfe.lower(obj, seed=seed + 1, input_shapes=shapes, layout="NCHW")
    tfe.import_weights(model, weights)
    return module, model, weights


def compare(obj: Network | Arch, seed: int, *, input_shapes: Sequence | None = None, batch: int = 2, training: bool = False):
    """Relative error of TF vs torch on one N(0, 1) batch; with ``training`` also the BN running statistics.

    Returns ``(output rel_err, running_mean rel_err, running_var rel_err)``; the statistics' errors
    are measured against the largest statistic of their kind in the network (running means after
    a training step are ~0 where a BN follows a sum of BN outputs, so per-tensor scales mean nothing).
    """
    module, model, _ = pair(obj, seed, input_shapes)
    shapes = [obj.input_shape] if isinstance(obj, Network) else ([input_shapes] if isinstance(input_shapes[0], int) else list(input_shapes))
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(batch, *s)).astype(np.float32) for s in shapes]
    module.train(training)
    with torch.no_grad():
        expected = module(*(torch.from_numpy(x) for x in xs)).numpy()
    got = tfe.numpy_forward(model, *xs, training=training)
    if not training:
        return rel_err(got, expected), 0.0, 0.0
    a, b = tfe.export_weights(model), pte.export_weights(module)
    stats = []
    for kind in ("running_mean", "running_var"):
        keys = [k for k in b if k.endswith(kind)]
        diff = max((float(np.abs(a[k] - b[k]).max()) for k in keys), default=0.0)
        stats.append(diff / max((float(np.abs(b[k]).max()) for k in keys), default=1.0))
    return rel_err(got, expected), stats[0], stats[1]


def torch_image(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The image torch's MeCo draws for ``seed``."""
    return torch.randn((1, *shape), generator=torch.Generator().manual_seed(seed)).numpy()


def torch_heads(net: Network, seed: int, task: str = "single") -> list[dict[str, torch.Tensor]]:
    """Torch's GenNAS heads for ``seed`` as neutral weights of TF's head graph."""
    shapes = net.block_shapes()
    heads = pt_gennas._heads([shapes[n][0] for n in stage_blocks(net)], TASKS[task], seed, torch.device("cpu"))
    return [{"bn/weight": bn.weight, "bn/bias": bn.bias, "bn/running_mean": bn.running_mean, "bn/running_var": bn.running_var,
             "conv/weight": conv.weight, "conv/bias": conv.bias} for bn, conv in heads]
