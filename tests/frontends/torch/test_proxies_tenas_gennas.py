"""TE-NAS linear regions, HNAS NTK trace and GenNAS regression (PyTorch), plus GenNAS signals.

Hand-countable networks for the region count, a brute-force per-sample loop for the NTK trace,
tiny NB201 networks (C=4..8, N=1) and short GenNAS runs keep the file well under a minute.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasir.data import load_sample
from nasir.errors import InvalidArchError, SchemaError, UnknownNameError
from nasir.gennas_signals import TASKS, Signal, Task, mutate_task, random_task, signal_maps, single_task, targets
from nasir.proxies import PROXIES
from nasir.spaces.nb201 import space
from nasir.frontends.torch.proxies import TORCH_PROXIES, score
from nasir.frontends.torch.proxies._common import Batch, make_batch, make_subject
from nasir.frontends.torch.proxies.gennas import gennas_losses, stage_blocks
from nasir.frontends.torch.proxies.hnas import ntk_trace
from nasir.frontends.torch.proxies.linear_regions import count_patterns, relu_codes, thin_network

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
NO_CONV = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return load_sample()


def small(arch: str = BEST, channels: int = 4):
    return space.network(space.parse(arch), channels=channels, cells_per_stage=1)


# ---------------------------------------------------------------- linear regions (TE-NAS)


def _hinge_net() -> nn.Module:
    """1-D input, three hidden ReLUs switching at x = -1 (x > -1), 0 (x > 0) and 2 (x < 2): 4 regions."""
    net = nn.Sequential(nn.Conv2d(1, 3, 1), nn.ReLU(), nn.Conv2d(3, 1, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, 1.0, -1.0]).reshape(3, 1, 1, 1))
        net[0].bias.copy_(torch.tensor([1.0, 0.0, 2.0]))
    return net


def test_regions_of_a_hand_countable_network() -> None:
    x = torch.linspace(-3, 3, 601).reshape(-1, 1, 1, 1)
    assert count_patterns(relu_codes(_hinge_net(), x)) == 4
    assert count_patterns(relu_codes(_hinge_net(), x[x.flatten() < 0.5])) == 3  # x in [-3, 0.5): no x > 2 split
    assert count_patterns(relu_codes(nn.Sequential(nn.Conv2d(1, 1, 1)), x)) == 1  # no ReLU: linear, one region


def test_count_equals_tenas_calc_lr_formula() -> None:
    codes = torch.rand(300, 6) > 0.6
    a = codes.double()
    differ = a @ (1 - a).T
    differ = differ + differ.T  # TE-NAS calc_LR: Hamming distances
    same = (1 - torch.sign(differ)).sum(1)  # multiplicity of each sample's pattern
    assert count_patterns(codes) == round(float((1.0 / same).sum()))


def test_thin_network_is_the_first_cell_at_one_channel_and_the_head() -> None:
    thin = thin_network(small(channels=8), crop=3)
    assert thin.input_shape == (1, 3, 3)
    assert [b.kind for b in thin.blocks] == ["cell", "head"]
    assert thin.blocks[0].arch == small().blocks[1].arch


def test_linear_regions_is_seeded_bounded_and_registered(data) -> None:
    first = score(small(), "linear_regions", data, seed=0)
    assert first == score(small(), "linear_regions", data, seed=0)
    assert 1 <= first <= 3000 and first != score(small(), "linear_regions", data, seed=1)
    few = score(small(NO_CONV), "linear_regions", data, seed=0, samples=200, passes=1, repeats=1)
    assert 1 <= few <= 200
    assert TORCH_PROXIES.get("linear_regions").spec is PROXIES.get("linear_regions")


def test_linear_regions_needs_the_ir_network(data) -> None:
    with pytest.raises(InvalidArchError, match="IR"):
        score(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten()), "linear_regions", data)


# ---------------------------------------------------------------- NTK trace (HNAS)


def test_ntk_trace_equals_brute_force_per_sample_gradients() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    total = 0.0
    for i in range(len(x)):  # one sample at a time: no batch coupling without BatchNorm
        model.zero_grad()
        model(x[i:i + 1])[0, y[i]].backward()
        total += sum(float(p.grad.double().pow(2).sum()) for p in model.parameters())
    got = ntk_trace(make_subject(model, 0, None), Batch(x, y))
    assert got == pytest.approx(math.sqrt(total / len(x)), rel=1e-6)  # float32 gradients


def test_ntk_trace_on_nb201_is_seeded_and_positive(data) -> None:
    batch = make_batch(data, 8, 0, augment_images=True, device=torch.device("cpu"))
    values = [ntk_trace(make_subject(small(), s, None), batch) for s in (0, 0, 1)]
    assert values[0] == values[1] > 0 and values[0] != values[2]
    spec = PROXIES.get("ntk_trace")
    assert spec.batch_size == 64 and {"labels", "gradients"} <= spec.needs


# ---------------------------------------------------------------- GenNAS signals


def _images(n: int = 4) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 3, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_targets_have_the_documented_shapes_and_are_seeded(name) -> None:
    task = TASKS[name]
    out = targets(task, _images(), seed=0)
    assert [t.shape for t in out] == [(4, c, 8, 8) for c in task.channels]
    assert all(t.dtype == np.float32 and np.isfinite(t).all() for t in out)
    again, other = targets(task, _images(), seed=0), targets(task, _images(), seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(out, again))
    assert not all(np.array_equal(a, b) for a, b in zip(out, other))


def test_sin1d_maps_vary_along_one_axis_and_global_maps_are_shared() -> None:
    rng = np.random.default_rng(0)
    maps = signal_maps(Signal("sin1d", betas=(0.2, 0.3), local=False), 3, 64, 8, rng)
    assert maps.shape == (3, 64, 8, 8) and np.abs(maps).max() <= 1.0
    assert np.array_equal(maps[0], maps[2])
    along_rows = np.all(np.ptp(maps[0], axis=1) < 1e-12, axis=1)  # constant down each column
    along_cols = np.all(np.ptp(maps[0], axis=2) < 1e-12, axis=1)
    assert np.all(along_rows ^ along_cols)
    local = signal_maps(Signal("sin2d", betas=(0.2, 0.3)), 2, 16, 8, rng)
    assert not np.array_equal(local[0], local[1])


def test_dot_signals_set_the_documented_number_of_pixels() -> None:
    rng = np.random.default_rng(0)
    dots = signal_maps(Signal("dot", partial=0.25), 2, 5, 8, rng)
    assert set(np.unique(dots)) <= {-1.0, 0.0, 1.0}
    assert np.all(np.count_nonzero(dots.reshape(10, -1), axis=1) == 16)
    blurred = signal_maps(Signal("gdot", partial=0.25), 2, 5, 8, rng)
    np.testing.assert_allclose(np.abs(blurred).reshape(10, -1).max(axis=1), 1.0)


def test_resize_signal_is_the_scaled_image() -> None:
    images = _images(2)
    maps = signal_maps(Signal("resize"), 2, 6, 8, np.random.default_rng(0), images)
    small_img = images[:, :, ::4, ::4].astype(np.float64)
    scaled = ((small_img - small_img.min()) / (small_img - small_img.min()).max() - 0.5) * 2
    for c in range(6):
        assert any(np.allclose(maps[:, c], scaled[:, k]) for k in range(3))
    with pytest.raises(SchemaError, match="images"):
        signal_maps(Signal("resize"), 2, 6, 8, np.random.default_rng(0))


def test_signal_and_task_validation() -> None:
    with pytest.raises(SchemaError, match="kind"):
        Signal("square")
    with pytest.raises(SchemaError, match="frequency"):
        Signal("sin1d")
    with pytest.raises(SchemaError, match="3 stages"):
        Task(((), ()))
    with pytest.raises(SchemaError, match="fewer than"):
        targets(Task(((Signal("sin1d", betas=(0.1,)),), (), ()), channels=(65, 1, 1)), _images(), 0)


def test_task_search_moves_are_seeded_and_valid() -> None:
    a, b = random_task(3), random_task(3)
    assert a == b and a != random_task(4)
    child = mutate_task(a, 5, p=0.0)  # p = 0: every slot redrawn
    assert child == mutate_task(a, 5, p=0.0) and child != a
    assert mutate_task(a, 5, p=1.0) == a  # p = 1: nothing changes
    assert [t.shape[1] for t in targets(child, _images(), 0)] == list(child.channels)
    assert single_task("sin2d").stages[0][0].kind == "sin2d"


# ---------------------------------------------------------------- GenNAS proxy


def test_gennas_stage_ends_are_the_last_cells_of_the_three_stages() -> None:
    assert stage_blocks(space.network(space.parse(BEST), cells_per_stage=2)) == ["cells.1", "cells.4", "cells.7"]
    with pytest.raises(InvalidArchError, match="three stages"):
        stage_blocks(thin_network(small()))


def test_gennas_loss_decreases(data) -> None:
    batch = make_batch(data, 16, 0, augment_images=False, device=torch.device("cpu"))
    losses = gennas_losses(make_subject(small(channels=8), 0, None), batch, task="combo", iterations=20, eval_interval=5)
    assert len(losses) == 4 and losses[-1] < losses[0]


def test_gennas_proxy_is_seeded_and_negates_the_loss(data) -> None:
    a = score(small(), "gennas", data, seed=0, iterations=5, eval_interval=5)
    assert a == score(small(), "gennas", data, seed=0, iterations=5, eval_interval=5) < 0
    assert a != score(small(), "gennas", data, seed=1, iterations=5, eval_interval=5)
    with pytest.raises(UnknownNameError, match="combo"):
        score(small(), "gennas", data, task="cmbo", iterations=5, eval_interval=5)
    with pytest.raises(SchemaError, match="eval_interval"):
        score(small(), "gennas", data, iterations=5)
    assert "negated" in PROXIES.get("gennas").orientation and PROXIES.get("gennas").batch_size == 16
