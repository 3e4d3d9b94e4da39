"""MobileNet macro space: MobileNetV2/V3-Large as points of it, the mbconv op, moves, encodings, lowering, ONNX parity."""

from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from nasir.backends.onnx import export
from nasir.errors import ArchStringError, InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.frontends.torch import lower
from nasir.frontends.torch.profile import measured_macs, ptflops_macs
from nasir.ir import Arch, count_flops, count_params
from nasir.space import SPACES, SearchSpace
from nasir.spaces import mobilenet as mb
from nasir.spaces.mobilenet import MOBILENET_V2, MOBILENET_V3_LARGE, MobileNetSpace, Skeleton, Stage, space

from ..backends._parity import torch_vs_onnx

TOL = 1e-4  # max|ort - torch| / max|torch|, as in tests/backends
TINY = MobileNetSpace([Stage(1, (8,), (1,), (3,), (1,)), Stage(2, (8, 16), (1, 2), (3, 5), (3, 6), se=(False, True), acts=("relu", "hswish"))],
                      Skeleton(stem_channels=8, stem_act="hswish", last_channels=32, last_act="hswish", head_hidden=24,
                               num_classes=5, input_size=32, bn_eps=1e-3, bn_momentum=0.01), name="tiny")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convs on a loaded 2-core machine are ~50x faster on one torch thread than on two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- published points


@pytest.mark.parametrize("build, text, params, macs, published_macs", [
    # torchvision docs: MobileNet_V2_Weights num_params 3,504,872; paper Table 4 / TF-slim README: 300M MACs
    (mb.mobilenet_v2_space, MOBILENET_V2, 3_504_872, 300_774_272, 300e6),
    # torchvision docs: MobileNet_V3_Large_Weights num_params 5,483,032; paper Table 3: 219M MAdds
    (mb.mobilenet_v3_large_space, MOBILENET_V3_LARGE, 5_483_032, 216_589_760, 219e6),
])
def test_published_mobilenets_are_points_of_the_space(build, text: str, params: int, macs: int, published_macs: float) -> None:
    sp = build()
    arch = sp.parse(text)
    assert sp.format(arch) == text
    network = sp.network(arch)
    assert network.input_shape == (3, 224, 224) and network.output_shape == (1000,)
    model = lower(network, seed=0).eval()
    assert network.count_params() == params == sum(p.numel() for p in model.parameters())
    assert network.count_flops() == macs == measured_macs(model, (3, 224, 224))
    assert network.count_flops("ptflops") == ptflops_macs(model, (3, 224, 224))  # SE pool and convs, hard-swish 0
    assert abs(macs / published_macs - 1) <= 0.02


def test_v3_large_blocks_follow_torchvision() -> None:
    sp = mb.mobilenet_v3_large_space()
    body = sp.parse(MOBILENET_V3_LARGE)
    blocks = [dict(body.attrs(n)) for n in body.nodes if body.op(n) == "mbconv"]
    # torchvision bneck_conf: (kernel, expanded, out, SE, activation, stride)
    expected = [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", 2),
                (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1), (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1),
                (3, 184, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1), (3, 480, 112, True, "hswish", 1),
                (3, 672, 112, True, "hswish", 1), (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1), (5, 960, 160, True, "hswish", 1)]
    got = [(b["kernel"], b["expanded_channels"], b["out_channels"], b["se"], b["act"], b["stride"]) for b in blocks]
    assert got == expected
    assert all((b["eps"], b["momentum"]) == (1e-3, 0.01) for b in blocks)


# ---------------------------------------------------------------- the mbconv op against torchvision's block


def _torchvision_block(cin: int, exp: int, cout: int, k: int, stride: int, act: type[nn.Module]) -> nn.Sequential:
    """torchvision InvertedResidual layers (expand, depthwise, SE, project) in forward order."""
    sq = 24  # _make_divisible(72 // 4, 8)
    return nn.Sequential(
        nn.Conv2d(cin, exp, 1, bias=False), nn.BatchNorm2d(exp), act(),
        nn.Conv2d(exp, exp, k, stride, k // 2, groups=exp, bias=False), nn.BatchNorm2d(exp), act(),
        nn.Conv2d(exp, sq, 1), nn.Conv2d(sq, exp, 1),  # SE fc1, fc2 (applied by hand below)
        nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout),
    )


@pytest.mark.parametrize("stride, cout", [(1, 24), (2, 40)])
def test_mbconv_computes_torchvision_inverted_residual(stride: int, cout: int) -> None:
    attrs = {"out_channels": cout, "kernel": 5, "stride": stride, "expanded_channels": 72, "se": True, "act": "hswish"}
    arch = Arch({"in": "input", "x": ("mbconv", attrs), "out": "output"}, [("in", "x"), ("x", "out")])
    ours = lower(arch, input_shapes=(24, 9, 9), seed=0).eval()
    ref = _torchvision_block(24, 72, cout, 5, stride, nn.Hardswish).eval()
    with torch.no_grad():
        for tensor in ref.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) - 0.3)
        for name, tensor in ref.named_buffers():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
    ours.load_state_dict(dict(zip(ours.state_dict(), ref.state_dict().values())))
    x = torch.randn(2, 24, 9, 9)
    with torch.no_grad():
        y = ref[5](ref[4](ref[3](ref[2](ref[1](ref[0](x))))))
        gate = nn.functional.hardsigmoid(ref[7](torch.relu(ref[6](nn.functional.adaptive_avg_pool2d(y, 1)))))
        expected = ref[9](ref[8](y * gate)) + (x if stride == 1 and cout == 24 else 0)
        assert torch.allclose(ours(x), expected, atol=1e-5)
    assert count_params(arch, (24, 9, 9)) == sum(p.numel() for p in ref.parameters())


def test_mbconv_without_expansion_has_no_expand_conv() -> None:
    arch = Arch({"in": "input", "x": ("mbconv", {"kernel": 3}), "out": "output"}, [("in", "x"), ("x", "out")])
    model = lower(arch, input_shapes=(16, 8, 8))
    assert model.nodes["x"].expand is None and model.nodes["x"].residual
    assert count_params(arch, (16, 8, 8)) == 16 * 9 + 2 * 16 + 16 * 16 + 2 * 16
    assert count_flops(arch, (16, 8, 8)) == 16 * 9 * 64 + 16 * 16 * 64


# ---------------------------------------------------------------- the space


def test_registered_space_is_ofa_mobilenet_v3() -> None:
    assert SPACES.get("mobilenet") is space and isinstance(space, SearchSpace)
    assert space.size() == (9**2 + 9**3 + 9**4) ** 5  # OFA: ~2e19 (kernel x expansion per block, depth 2-4, 5 stages)
    with pytest.raises(SpaceTooLargeError):
        space.enumerate()


def test_sampling_mutation_and_neighbours_are_seeded_single_decision_moves() -> None:
    assert space.sample(4).same_labels(space.sample(4))
    assert len({space.format(space.sample(s)) for s in range(20)}) == 20
    parent = space.sample(0)
    assert space.mutate(parent, 9).same_labels(space.mutate(parent, 9))
    neighbours = {n.canonical_hash() for n in space.neighbors(parent)}
    depths = [len(s.blocks) for s in space.to_choice(parent)]
    expected = sum(d * 4 + 2 for d in depths[1:])  # per block 2 other kernels + 2 other expansions; 2 other depths per stage
    assert len(space.neighbors(parent)) == expected
    mutated_depth = False
    for seed in range(30):
        child = space.mutate(parent, seed)
        if [len(s.blocks) for s in space.to_choice(child)] == depths:
            assert child.canonical_hash() in neighbours  # same depths: exactly one kernel or expansion changed
        else:
            mutated_depth = True
    assert mutated_depth


def test_tiny_space_enumerates_its_size_and_round_trips() -> None:
    archs = list(TINY.enumerate())
    assert len(archs) == TINY.size() == 2 * 2 * 2 * (4 + 16)
    assert len({a.canonical_hash() for a in archs}) == len(archs)
    assert all(TINY.parse(TINY.format(a)).same_labels(a) for a in archs[:: len(archs) // 10])


def test_encodings_have_fixed_lengths_and_zero_inactive_slots() -> None:
    short, deep = TINY.parse("c8_relu:k3e1 | c16_hswish_se:k5e6"), TINY.parse("c8_relu:k3e1 | c16_hswish_se:k5e6,k3e3")
    for kind in TINY.encodings:
        assert TINY.encode(short, kind).shape == TINY.encode(deep, kind).shape
    onehot = TINY.encode(short, "onehot")
    assert onehot[-4:].sum() == 0 and TINY.encode(deep, "onehot")[-4:].sum() == 2
    assert list(TINY.encode(short, "categorical")) == [0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 2, 2, 0, 0]
    with pytest.raises(SpaceConfigError, match="unknown tiny encoding 'path'"):
        TINY.encode(short, "path")


@pytest.mark.parametrize("text, match", [
    ("c8_relu:k3e1", "has 2 stages"),
    ("c8_relu:k3e1 | c16_hswish_se:k7e6", "outside kernels"),
    ("c8_relu:k3e1 | c16_gelu:k5e6", "act 'gelu' is outside"),
    ("c8_relu:k3e1 | c24_relu:k5e6", "width 24 is outside"),
    ("c8_relu:k3e1 | c16_relu:k5e6,k5e6,k5e6", "depth 3 is outside"),
    ("c8_relu:k3e1 | c16_relu:5x5", "k<kernel>e<expansion>"),
    ("c8_relu:k3e1 | 16_relu:k5e6", "c<width>_<act>"),
])
def test_bad_strings_raise_a_typed_error(text: str, match: str) -> None:
    with pytest.raises(ArchStringError, match=match):
        TINY.parse(text)


def test_foreign_graphs_are_rejected() -> None:
    with pytest.raises(InvalidArchError, match="not a block"):
        TINY.to_choice(Arch({"in": "input", "x": "relu", "out": "output"}, [("in", "x"), ("x", "out")]))
    with pytest.raises(InvalidArchError, match="has stages 0..1"):
        TINY.to_choice(space.sample(0))
    arch = TINY.sample(0)
    node = arch.nodes[-2]
    with pytest.raises(InvalidArchError, match="not wired or configured"):
        TINY.to_choice(arch.with_node(node, "mbconv", {**arch.attrs(node), "eps": 1e-5}))


def test_sampled_networks_lower_and_match_onnxruntime() -> None:
    network = space.network(space.sample(1), input_size=32, num_classes=10)
    model = lower(network, seed=0).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    for seed in range(3):
        small = TINY.network(TINY.sample(seed))
        onnx.checker.check_model(export(small), full_check=True)
        assert torch_vs_onnx(small, seed) <= TOL
    onnx.checker.check_model(export(network), full_check=True)
    assert torch_vs_onnx(network, 1) <= TOL


def test_stages_without_choices_are_refused() -> None:
    with pytest.raises(SpaceConfigError, match="a MobileNet space needs at least one stage"):
        MobileNetSpace([], TINY.skeleton)
    with pytest.raises(SpaceConfigError, match="stage 1 has an empty range or a depth below 1"):
        MobileNetSpace([TINY.stages[0], Stage(2, (8,), (0, 1))], TINY.skeleton)
    with pytest.raises(SpaceConfigError, match="stage 0 has an empty range"):
        MobileNetSpace([Stage(1, (), (1,))], TINY.skeleton)
