"""Lowering: every IR op has a torch lowering whose weights and shapes obey the IR."""

from __future__ import annotations

import csv
import gzip
from importlib import resources

import numpy as np
import pytest
import torch
from torch import nn

from nasir.errors import (
    DeviceUnavailableError, ModelInputError, ModelTypeError, OptionValueError, SchemaError, SeedTypeError, SeedValueError,
    ShapeMismatchError, UnknownOpError,
)
from nasir.frontends.torch import LOWERINGS, NetworkModule, export_weights, lower, register_lowering
from nasir.ir import OPS, Arch, OpSpec, count_flops, count_params, infer_shapes, weight_specs
from nasir.ir.ops import Attr, WeightSpec
from nasir.registry import Registry
from nasir.spaces.nb201 import space

from ._nets import ALL_OPS, chain, nb101_like_cell, small_nb201

# op -> (attrs, input shape, how many parallel inputs); "input"/"output" occur in every case.
CASES = {
    "identity": [({}, (4, 6, 6), 1)],
    "zero": [({}, (4, 6, 6), 1)],
    "relu": [({}, (4, 6, 6), 1)],
    "add": [({}, (4, 6, 6), 3)],
    "concat": [({}, (4, 6, 6), 2)],
    "channel_slice": [({"channels": 3}, (4, 6, 6), 1)],
    "batch_norm": [({}, (4, 6, 6), 1), ({"affine": False, "momentum": 0.003}, (5,), 1)],
    "conv": [({"out_channels": 6, "kernel": 3, "groups": 2, "bias": True}, (4, 7, 7), 1),
             ({"out_channels": 5, "kernel": 3, "stride": 2, "dilation": 2}, (4, 9, 9), 1)],
    "max_pool": [({"kernel": 3, "stride": 2}, (4, 7, 7), 1), ({"kernel": 2, "stride": 2, "padding": 0}, (4, 6, 6), 1)],
    "avg_pool": [({"kernel": 3}, (4, 6, 6), 1), ({"kernel": 3, "count_include_pad": True, "stride": 2}, (4, 7, 7), 1)],
    "global_avg_pool": [({}, (4, 6, 6), 1)],
    "linear": [({"out_features": 3}, (4,), 1), ({"out_features": 2, "bias": False}, (6,), 1)],
    "relu_conv_bn": [({"kernel": 3}, (4, 6, 6), 1), ({"kernel": 1, "out_channels": 6, "stride": 2, "affine": False}, (4, 6, 6), 1)],
    "conv_bn_relu": [({"kernel": 3, "out_channels": 6, "momentum": 0.003}, (4, 6, 6), 1)],
    "resnet_basic_block": [({"out_channels": 8, "stride": 2}, (4, 8, 8), 1), ({"out_channels": 6}, (4, 6, 6), 1),
                           ({}, (4, 6, 6), 1)],
    "scale": [({"factor": 0.25}, (4, 6, 6), 1)],
    "sep_conv": [({"kernel": 3}, (4, 8, 8), 1), ({"kernel": 5, "stride": 2, "out_channels": 6}, (4, 8, 8), 1)],
    "dil_conv": [({"kernel": 3}, (4, 8, 8), 1), ({"kernel": 5, "stride": 2}, (4, 9, 9), 1)],
    "factorized_reduce": [({"out_channels": 6}, (4, 8, 8), 1)],
    "activation": [({"fn": "hswish"}, (4, 6, 6), 1), ({"fn": "relu6"}, (5,), 1), ({"fn": "hsigmoid"}, (4, 6, 6), 1)],
    "conv_bn_act": [({"kernel": 3, "stride": 2, "out_channels": 8, "act": "hswish"}, (3, 9, 9), 1)],
    "mbconv": [({"kernel": 5, "stride": 2, "expanded_channels": 24, "out_channels": 6, "se": True, "act": "hswish"}, (4, 9, 9), 1),
               ({"kernel": 3}, (8, 6, 6), 1)],
}
CASE_LIST = [(op, *case) for op, cases in CASES.items() for case in cases]


def case_arch(op: str, attrs: dict, fan_in: int) -> Arch:
    """input -> (fan_in parallel identities/relus when fan_in > 1) -> op -> output."""
    nodes: dict = {"in": "input", "x": (op, attrs), "out": "output"}
    edges = []
    if fan_in == 1:
        edges.append(("in", "x"))
    for k in range(fan_in if fan_in > 1 else 0):
        nodes[f"b{k}"] = "relu" if k % 2 else "identity"
        edges += [("in", f"b{k}"), (f"b{k}", "x")]
    return Arch(nodes, edges + [("x", "out")])


def test_every_registered_op_has_a_torch_lowering() -> None:
    missing = [name for name in OPS if name not in LOWERINGS]
    assert not missing, f"IR ops without a torch lowering: {missing}"
    untested = [name for name in OPS if name not in CASES and name not in ("input", "output")]
    assert not untested, f"IR ops without a lowering test case here: {untested}"


@pytest.mark.parametrize(("op", "attrs", "shape", "fan_in"), CASE_LIST, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASE_LIST)])
def test_op_lowering_obeys_ir_shapes_weights_params_and_flops(op: str, attrs: dict, shape: tuple, fan_in: int) -> None:
    arch = case_arch(op, attrs, fan_in)
    model = lower(arch, input_shapes=shape, seed=0)
    x = torch.randn(2, *shape)
    y = model(x)
    assert tuple(y.shape[1:]) == infer_shapes(arch, shape)["out"]
    specs = weight_specs(arch, shape)
    assert model.weight_specs() == specs
    assert {k: v.shape for k, v in export_weights(model).items()} == {k: s.shape for k, s in specs.items()}
    assert sum(p.numel() for p in model.parameters()) == count_params(arch, shape)
    assert hooked_macs(model, x) == count_flops(arch, shape)


def hooked_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Per-sample multiply-accumulates of the convs and linears actually run (batch of inputs)."""
    total = 0

    def hook(m: nn.Module, _i: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model(*inputs)
    for h in handles:
        h.remove()
    return total


def test_op_semantics_follow_the_official_modules() -> None:
    x = torch.randn(2, 4, 6, 6)
    zero = lower(case_arch("zero", {}, 1), input_shapes=(4, 6, 6))
    assert torch.equal(zero(x), torch.zeros_like(x))
    pool = lower(case_arch("avg_pool", {"kernel": 3}, 1), input_shapes=(4, 6, 6))
    ones = pool(torch.ones(1, 4, 6, 6))  # count_include_pad=False: corners average 4 ones, not 4/9
    assert torch.equal(ones, torch.ones(1, 4, 6, 6))
    sl = lower(case_arch("channel_slice", {"channels": 3}, 1), input_shapes=(4, 6, 6))
    assert torch.equal(sl(x), x[:, :3])
    cat = lower(case_arch("concat", {}, 2), input_shapes=(4, 6, 6))
    assert torch.equal(cat(x), torch.cat([x, torch.relu(x)], 1))  # input order = port order
    add = lower(case_arch("add", {}, 3), input_shapes=(4, 6, 6))
    assert torch.equal(add(x), x + torch.relu(x) + x)


def test_random_graphs_have_the_inferred_shape_at_every_node() -> None:
    rng = np.random.default_rng(0)
    unary = [("relu_conv_bn", {"kernel": 3}), ("relu_conv_bn", {"kernel": 1, "out_channels": 4}), ("avg_pool", {}),
             ("max_pool", {}), ("identity", {}), ("zero", {}), ("relu", {}), ("conv_bn_relu", {"kernel": 3, "out_channels": 4})]
    for _ in range(25):
        nodes: dict = {"in": "input"}
        edges, names = [], ["in"]
        for k in range(int(rng.integers(1, 7))):
            name = f"v{k}"
            if k and rng.random() < 0.4:
                srcs = list(rng.choice(names, size=min(2, len(names)), replace=False))
                nodes[name] = "concat" if rng.random() < 0.5 else "add"
            else:
                srcs = [names[int(rng.integers(len(names)))]]
                nodes[name] = unary[int(rng.integers(len(unary)))]
            edges += [(s, name) for s in srcs]
            names.append(name)
        sinks = [n for n in names if n not in {s for s, _ in edges}]
        nodes["cat"], nodes["out"] = "concat", "output"
        edges += [(s, "cat") for s in sinks] + [("cat", "out")]
        try:
            arch = Arch(nodes, edges)
            shapes = infer_shapes(arch, (4, 8, 8))
        except ShapeMismatchError:
            with pytest.raises(ShapeMismatchError):
                lower(Arch(nodes, edges), input_shapes=(4, 8, 8))
            continue
        model = lower(arch, input_shapes=(4, 8, 8), seed=1)
        seen = {}
        for node, name in model._names.items():
            model.nodes[name].register_forward_hook(lambda m, i, o, node=node: seen.__setitem__(node, tuple(o.shape[1:])))
        model(torch.randn(2, 4, 8, 8))
        assert seen == shapes


def test_nb101_style_cell_lowers_with_its_momentum() -> None:
    arch = nb101_like_cell(8, 8)
    model = lower(arch, input_shapes=(8, 8, 8))
    assert model(torch.randn(2, 8, 8, 8)).shape == (2, 8, 8, 8)
    bn = model.nodes["v1"].bn
    assert (bn.momentum, bn.eps) == (0.003, 1e-5)
    assert isinstance(model.nodes["v1"].relu, nn.ReLU) and list(model.nodes["v1"]._modules) == ["conv", "bn", "relu"]


def test_network_module_keys_and_block_names() -> None:
    net = small_nb201(ALL_OPS, channels=4, cells=1)
    model = lower(net)
    assert isinstance(model, NetworkModule)
    assert "cells_1" in model.blocks and "cells.1" not in model.blocks
    assert list(export_weights(model)) == list(net.weight_specs())
    assert model.weight_keys["cells.1/block/downsample.conv.weight"] == "blocks.cells_1.nodes.block.downsample.conv.weight"
    assert model(torch.randn(3, 3, 32, 32)).shape == (3, 10)


def test_node_ids_that_torch_cannot_use_as_module_names_still_lower() -> None:
    arch = Arch({"in": "input", "keys": ("relu_conv_bn", {"kernel": 3}), "a.b": ("relu_conv_bn", {"kernel": 1}),
                 "a_b": "relu", "out": "output"}, [("in", "keys"), ("keys", "a.b"), ("a.b", "a_b"), ("a_b", "out")])
    model = lower(arch, input_shapes=(2, 4, 4))
    assert list(export_weights(model)) == list(weight_specs(arch, (2, 4, 4)))
    assert model.weight_keys["a.b/conv.weight"] != model.weight_keys["keys/conv.weight"]
    assert model(torch.randn(1, 2, 4, 4)).shape == (1, 2, 4, 4)


def test_seeded_init_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    net = small_nb201()
    state = torch.get_rng_state()
    a, b, c = lower(net, seed=3), lower(net, seed=3), lower(net, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    wa, wb, wc = export_weights(a), export_weights(b), export_weights(c)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not np.array_equal(wa["stem/conv/weight"], wc["stem/conv/weight"])
    assert lower(net, seed=np.random.default_rng(0)) is not None


# (index, arch string, exact params for cifar10 / cifar100 / imagenet16): nb201_cost_derived.csv,
# equal to NASLib's measured values.
NB201_PARAMS = [
    (0, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", (129306, 135156, 136456)),
    (2089, "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|", (400346, 406196, 407496)),
    (2363, "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|", (73306, 79156, 80456)),
    (2419, "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|", (830426, 836276, 837576)),
    (3160, "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|", (587386, 593236, 594536)),
    (4672, "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|", (643386, 649236, 650536)),
    (5795, "|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|", (559386, 565236, 566536)),
    (6111, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", (1073466, 1079316, 1080616)),
    (7620, "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_1x1~2|", (372346, 378196, 379496)),
    (7908, "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|", (615386, 621236, 622536)),
    (8112, "|none~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_1x1~2|", (129306, 135156, 136456)),
    (8372, "|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_3x3~1|none~2|", (559386, 565236, 566536)),
    (8475, "|skip_connect~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|avg_pool_3x3~2|", (73306, 79156, 80456)),
    (8731, "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", (73306, 79156, 80456)),
    (9056, "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", (129306, 135156, 136456)),
    (9238, "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|", (587386, 593236, 594536)),
    (9930, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", (1288506, 1294356, 1295656)),
    (9947, "|none~0|+|none~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|", (316346, 322196, 323496)),
    (10123, "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|", (344346, 350196, 351496)),
    (10677, "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|", (344346, 350196, 351496)),
    (11547, "|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|skip_connect~2|", (316346, 322196, 323496)),
    (12086, "|none~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|", (344346, 350196, 351496)),
    (12862, "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|", (830426, 836276, 837576)),
    (13354, "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|", (615386, 621236, 622536)),
    (13881, "|none~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|", (129306, 135156, 136456)),
    (13889, "|skip_connect~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|none~2|", (316346, 322196, 323496)),
    (14271, "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|", (587386, 593236, 594536)),
    (14956, "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|avg_pool_3x3~2|", (73306, 79156, 80456)),
    (15374, "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|", (587386, 593236, 594536)),
    (15455, "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|", (101306, 107156, 108456)),
]


def test_nb201_param_counts_match_the_benchmark_on_a_sample() -> None:
    for index, arch_str, expected in NB201_PARAMS:
        arch = space.parse(arch_str)
        for dataset, params in zip(("cifar10", "cifar100", "imagenet16"), expected):
            model = lower(space.network(arch, dataset=dataset), device="meta")
            assert sum(p.numel() for p in model.parameters()) == params, (index, dataset)
    real = lower(space.network(space.parse(NB201_PARAMS[7][1])), seed=0)  # a real (CPU) build counts the same
    assert sum(p.numel() for p in real.parameters()) == NB201_PARAMS[7][2][0]


def test_nb201_param_counts_match_the_package_table_on_random_rows() -> None:
    table = resources.files("nasir.spaces").joinpath("data/nb201_table.csv.gz")
    with table.open("rb") as raw, gzip.open(raw, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15625
    for k in np.random.default_rng(11).choice(len(rows), 12, replace=False):
        row = rows[int(k)]
        arch = space.parse(row["arch_str"])
        for dataset in ("cifar10", "cifar100", "imagenet16"):
            model = lower(space.network(arch, dataset=dataset), device="meta")
            expected = round(float(row[f"params_m_{dataset}"]) * 1e6)
            assert sum(p.numel() for p in model.parameters()) == expected, (row["index"], dataset)


# ---------------------------------------------------------------- bad input


def test_shapes_that_cannot_lower_raise_shape_mismatch_before_torch() -> None:
    bad = Arch({"in": "input", "c": ("conv", {"out_channels": 8, "kernel": 3, "stride": 2}), "s": "add", "out": "output"},
               [("in", "c"), ("in", "s"), ("c", "s"), ("s", "out")])
    with pytest.raises(ShapeMismatchError, match=r"node 's' \(add\)"):
        lower(bad, input_shapes=(4, 8, 8))
    head = chain(("fc", "linear", {"out_features": 10}))
    with pytest.raises(ShapeMismatchError, match="global_avg_pool"):
        lower(head, input_shapes=(4, 8, 8))
    with pytest.raises(ShapeMismatchError, match="input_shapes"):
        lower(head)
    net = small_nb201()
    with pytest.raises(ShapeMismatchError, match=r"\(3, 32, 32\)"):
        lower(net, input_shapes=(3, 16, 16))


def test_wrong_runtime_input_shape_is_a_shape_mismatch() -> None:
    model = lower(small_nb201())
    with pytest.raises(ShapeMismatchError, match=r"\(batch, 3, 32, 32\)"):
        model(torch.randn(2, 3, 16, 16))
    cell = lower(space.parse(ALL_OPS), input_shapes=(4, 8, 8))
    with pytest.raises(ShapeMismatchError, match="1 input"):
        cell(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8))


def _private_registry(op: OpSpec) -> Registry[OpSpec]:
    reg: Registry[OpSpec] = Registry("op", UnknownOpError)
    for name in ("input", "output"):
        reg.register(name, OPS.get(name))
    reg.register(op.name, op)
    return reg


def test_op_without_lowering_and_lowering_with_wrong_weights_are_named() -> None:
    op = OpSpec(name="test_scale_op", doc="x * w", shape=lambda ins, a: ins[0],
                weights=lambda ins, out, a: {"scale": WeightSpec((ins[0][0],))}, attrs={"k": Attr(int, 1)})
    arch = Arch({"in": "input", "s": "test_scale_op", "out": "output"}, [("in", "s"), ("s", "out")], registry=_private_registry(op))
    with pytest.raises(UnknownOpError, match="register_lowering\\('test_scale_op'\\)"):
        lower(arch, input_shapes=(4, 2, 2))

    class Wrong(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(c + 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    register_lowering("test_scale_op")(lambda ins, out, a: Wrong(ins[0][0]))
    try:
        with pytest.raises(SchemaError, match="node 's'.*test_scale_op"):
            lower(arch, input_shapes=(4, 2, 2))
    finally:
        LOWERINGS._items.pop("test_scale_op")


def test_lower_refuses_what_is_not_a_network_or_a_seed() -> None:
    with pytest.raises(ModelTypeError, match=r"lower\(\) takes a nasir Network or Arch, got str") as info:
        lower("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert isinstance(info.value, TypeError)
    net = small_nb201("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", channels=4)
    with pytest.raises(SeedTypeError, match="seed must be an int, numpy.random.Generator or None, got float") as info:
        lower(net, seed=0.5)
    assert isinstance(info.value, TypeError)
    for seed in (-1, 2**70):
        with pytest.raises(SeedValueError, match=rf"seed must be an int in \[0, 2\*\*64\), got {seed}"):
            lower(net, seed=seed)
    with pytest.raises(OptionValueError, match="'gpu' is not a torch device"):
        lower(net, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="device 'cuda' asked for, but torch .* sees no CUDA GPU"):
            lower(net, device="cuda")


def test_forward_refuses_what_the_module_cannot_run_by_name() -> None:
    net = small_nb201("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", channels=4)
    model = lower(net).eval()
    x = torch.zeros(2, 3, 32, 32)
    with pytest.raises(ModelInputError, match="input 0 is torch.float64 but the module's weights are torch.float32"):
        model(x.double())
    with pytest.raises(ModelInputError, match="input 0 must be a torch.Tensor, got numpy.ndarray; wrap it with torch.from_numpy"):
        model(x.numpy())
    assert model.double()(x.double()).dtype == torch.float64  # a widened module takes double inputs
