"""SWAP (Peng et al., ICLR 2024): the packed fast path against the reference's definition, the
Gaussian re-initialisation, the regularisation factor and seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasir.data import load_sample
from nasir.frontends.torch.proxies import score, swap
from nasir.frontends.torch.proxies._common import forward_hooks, make_batch, make_subject
from nasir.proxies import PROXIES
from nasir.spaces.nb201 import space

MIXED = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def data():
    return load_sample()


def _small(arch: str):
    return space.network(space.parse(arch), channels=4, cells_per_stage=1)


def test_reference_settings() -> None:
    settings = PROXIES.get("swap").settings
    assert settings["batch_size"] == 16 and settings["repeats"] == swap.REPEATS == 32 and not settings["augment"]


@pytest.mark.parametrize("size", [16, 30])  # 30 > 24 images: the fast path hands over to the plain one
@pytest.mark.parametrize("arch", [MIXED, BEST])
def test_packed_patterns_equal_the_reference_unique_rows(data, arch: str, size: int) -> None:
    batch = make_batch(data, size, 0, augment_images=False, device=torch.device("cpu"))
    fast = swap.swap(make_subject(_small(arch), 0, None), batch, repeats=3)
    plain = swap.swap_plain(make_subject(_small(arch), 0, None), batch, repeats=3)
    assert fast == plain and fast > 100


def test_count_is_the_number_of_distinct_sign_columns(data) -> None:
    """One repeat recomputed by hand with numpy: the ReLU outputs (4-d inputs only), their signs over the
    batch per unit, and the distinct columns."""
    subject = make_subject(_small(MIXED), 0, None)
    batch = make_batch(data, 16, 0, augment_images=False, device=torch.device("cpu"))
    got = swap.swap(subject, batch, repeats=1)
    model = subject.model.train()
    swap._gaussian_init(model, torch.Generator().manual_seed(0))
    columns = []
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    with forward_hooks(relus, lambda m, i, o: columns.append((o.reshape(16, -1) > 0).numpy()) if i[0].dim() == 4 else None):
        with torch.no_grad():
            model(batch.x)
    signs = np.concatenate(columns, axis=1)
    assert got == len({tuple(col) for col in signs.T})


def test_gaussian_init_follows_the_reference(data) -> None:
    model = make_subject(_small(BEST), 0, None).model
    swap._gaussian_init(model, torch.Generator().manual_seed(0))
    convs = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Conv2d)])
    assert abs(convs.std().item() - 1.0) < 0.05 and abs(convs.mean().item()) < 0.05
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and m.affine:
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
        if isinstance(m, nn.Linear):
            assert torch.all(m.bias == 0)


def test_regularisation_multiplies_by_the_parameter_prior(data) -> None:
    net = _small(BEST)
    plain = score(net, "swap", data, seed=0)
    thousands = net.count_params() / 1e3
    assert score(net, "swap", data, seed=0, mu=thousands + 10, sigma=200) == pytest.approx(plain * math.exp(-100 / 200))


def test_seeded(data) -> None:
    net = _small(MIXED)
    assert score(net, "swap", data, seed=3) == score(net, "swap", data, seed=3) != score(net, "swap", data, seed=4)
