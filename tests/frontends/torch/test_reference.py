"""Faithfulness: the lowered NB201 network computes exactly what a hand-written TinyNetwork does.

The reference below is written by hand after the NAS-Bench-201 paper and the structure of its
official modules (``InferCell`` with edges ``'i<-j'`` summed with Python's ``sum`` in order
j = 0..i-1, ``ReLUConvBN`` as ``Sequential(ReLU, Conv, BN)``, ``ResNetBasicblock``, ``Zero`` as
``x.mul(0.)``, ``POOLING`` as ``AvgPool2d(3, 1, 1, count_include_pad=False)``), keeping the
official ``state_dict`` names so the key mapping doubles as documentation.
"""

from __future__ import annotations

import torch
from torch import nn

from nasir.frontends.torch import export_weights, lower
from nasir.spaces.nb201 import EDGES, space

from ._nets import ALL_OPS, BEST, small_nb201


class RefReLUConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int, pad: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class RefZero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def ref_op(name: str, c: int) -> nn.Module:
    return {
        "none": lambda: RefZero(),
        "skip_connect": lambda: nn.Identity(),
        "nor_conv_1x1": lambda: RefReLUConvBN(c, c, 1, 1, 0),
        "nor_conv_3x3": lambda: RefReLUConvBN(c, c, 3, 1, 1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }[name]()


class RefInferCell(nn.Module):
    def __init__(self, ops: tuple[str, ...], c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({f"{i}<-{j}": ref_op(op, c) for (j, i), op in zip(EDGES, ops)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for i in (1, 2, 3):
            nodes.append(sum(self.edges[f"{i}<-{j}"](nodes[j]) for j in range(i)))
        return nodes[-1]


class RefResBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_a = RefReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = RefReLUConvBN(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class RefTinyNetwork(nn.Module):
    def __init__(self, ops: tuple[str, ...], c: int, n: int, classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells: list[nn.Module] = []
        for stage in range(3):
            if stage:
                cells.append(RefResBlock(c, 2 * c))
                c *= 2
            cells.extend(RefInferCell(ops, c) for _ in range(n))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.view(out.size(0), -1))


def official_key(key: str) -> str:
    """Neutral key -> the official TinyNetwork state_dict key."""
    block, node, role = key.split("/")
    role = role.replace("conv.", "op.1.").replace("bn.", "op.2.")
    if block == "stem":
        return f"stem.{0 if node == 'conv' else 1}.{role}"
    if block == "head":
        return f"lastact.0.{role}" if node == "lastact_bn" else f"classifier.{role}"
    if node == "block":
        return f"{block}.{role.replace('downsample.op.1.', 'downsample.1.')}"
    j, i = node[1:].split("_")
    return f"{block}.edges.{i}<-{j}.{role}"


def _loaded_reference(arch_str: str, c: int, n: int) -> tuple[nn.Module, nn.Module]:
    lowered = lower(small_nb201(arch_str, channels=c, cells=n), seed=7)
    ref = RefTinyNetwork(space.to_ops(space.parse(arch_str)), c, n, 10)
    weights = {official_key(k): torch.from_numpy(v) for k, v in export_weights(lowered).items()}
    missing, unexpected = ref.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    return lowered, ref


def test_lowered_nb201_cell_equals_hand_written_infer_cell_bit_for_bit() -> None:
    for arch_str in (ALL_OPS, BEST):
        cell = space.parse(arch_str)
        lowered = lower(cell, input_shapes=(6, 8, 8), seed=1)
        ref = RefInferCell(space.to_ops(cell), 6)
        weights = {official_key(f"cells.0/{k}").removeprefix("cells.0."): torch.from_numpy(v) for k, v in export_weights(lowered).items()}
        missing, unexpected = ref.load_state_dict(weights, strict=False)
        assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
        x = torch.randn(4, 6, 8, 8)
        for mode in (True, False):
            lowered.train(mode)
            ref.train(mode)
            assert torch.equal(lowered(x), ref(x))


def test_lowered_tiny_network_equals_hand_written_reference() -> None:
    lowered, ref = _loaded_reference(ALL_OPS, c=4, n=2)
    x = torch.randn(3, 3, 32, 32)
    lowered.train()
    ref.train()
    assert torch.equal(lowered(x), ref(x))  # batch statistics, and running stats updated identically
    lowered.eval()
    ref.eval()
    assert torch.equal(lowered(x), ref(x))
    assert sum(p.numel() for p in lowered.parameters()) == sum(p.numel() for p in ref.parameters())


def test_gradients_match_the_reference() -> None:
    lowered, ref = _loaded_reference(BEST, c=4, n=1)
    x = torch.randn(2, 3, 32, 32)
    lowered(x).square().sum().backward()
    ref(x).square().sum().backward()
    grads: dict[str, torch.Tensor] = {}
    ref_params = dict(ref.named_parameters())
    state_to_neutral = {path: key for key, path in lowered.weight_keys.items()}
    for path, p in lowered.named_parameters():
        grads[official_key(state_to_neutral[path])] = p.grad
    assert grads.keys() == ref_params.keys()
    for k, g in grads.items():
        assert torch.equal(g, ref_params[k].grad), k
