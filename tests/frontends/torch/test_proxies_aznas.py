"""AZ-NAS proxies (PyTorch): the closing math on known answers, agreement with a plain statement of
the reference computation, known block Jacobians, fused == separate, determinism, no mutation,
degenerate architectures, other IR spaces, and the log-rank ensemble on clear cases.

Small networks (NB201 C=8, N=1) keep the file well under 30 s on two CPU cores.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasir import proxy_math
from nasir.data import load_sample
from nasir.errors import InvalidArchError, SchemaError
from nasir.ir import Arch, Block, Network
from nasir.proxies import PROXIES
from nasir.proxy_ensembles import rank_ensemble
from nasir.spaces import darts, nb101
from nasir.spaces.nb201 import space
from nasir.frontends.torch import lower
from nasir.frontends.torch.proxies import ProxyWarning, score, score_many, score_network
from nasir.frontends.torch.proxies import aznas
from nasir.frontends.torch.proxies._common import make_subject

AZ = ["az_expressivity", "az_progressivity", "az_trainability"]
CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
WEAK = "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def small(arch: str = MIXED) -> Network:
    return space.network(space.parse(arch), channels=8, cells_per_stage=1)


def _chain(*ops: tuple[str, str, dict]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in ops}}
    names = ["in", *(name for name, _, _ in ops), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


def known_jacobians() -> Network:
    """stem conv -> 2x2 average pool, stride 2 (sigma 1/2) -> x2 (sigma 2) -> head: each block term is -0.5."""
    return Network((
        Block("stem", _chain(("conv", "conv", {"out_channels": 8, "kernel": 3})), kind="stem"),
        Block("pool", _chain(("p", "avg_pool", {"kernel": 2, "stride": 2, "padding": 0})), kind="reduction"),
        Block("double", _chain(("s", "scale", {"factor": 2.0})), kind="cell"),
        Block("head", _chain(("gap", "global_avg_pool", {}), ("fc", "linear", {"out_features": 10})), kind="head"),
    ), (3, 32, 32), name="known-jacobians")


# ---------------------------------------------------------------- framework-free math


def test_spectral_entropy_known_answers() -> None:
    assert proxy_math.spectral_entropy(np.eye(8)) == pytest.approx(math.log(8), abs=1e-6)  # isotropic: log C
    v = np.array([1.0, -2.0, 0.5])
    assert proxy_math.spectral_entropy(np.outer(v, v)) == pytest.approx(0.0, abs=1e-6)  # rank 1
    assert proxy_math.spectral_entropy(np.diag([1.0, 1.0, 0.0, 0.0])) == pytest.approx(math.log(2), abs=1e-6)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 5))
    cov = np.cov(a.T)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert proxy_math.spectral_entropy(7.0 * q @ cov @ q.T) == pytest.approx(proxy_math.spectral_entropy(cov), rel=1e-9)
    assert math.isnan(proxy_math.spectral_entropy(np.zeros((3, 3))))


def test_progressivity_and_jacobian_norm_score_known_answers() -> None:
    assert proxy_math.az_progressivity([1.0, 3.0, 2.5, 4.0]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="consecutive"):
        proxy_math.az_progressivity([1.0])
    assert proxy_math.jacobian_norm_score(np.eye(4)) == pytest.approx(0.0, abs=1e-5)
    assert proxy_math.jacobian_norm_score(2 * np.eye(3)) == pytest.approx(-0.5, abs=1e-5)
    assert proxy_math.jacobian_norm_score(np.diag([0.5, 0.1])) == pytest.approx(-0.5, abs=1e-5)
    tall = np.vstack([np.eye(2), np.zeros((2, 2))])  # 4x2 with orthonormal columns: sigma 1
    assert proxy_math.jacobian_norm_score(tall) == pytest.approx(0.0, abs=1e-5)


# ---------------------------------------------------------------- the reference computation


def _plain_reference(net: Network, seed: int) -> dict[str, float]:
    """The reference steps on a chain of blocks, written out directly (torch linear algebra)."""
    model = lower(net, seed=seed).train()
    gen = torch.Generator().manual_seed(seed)
    aznas._kaiming_init(model, gen)  # the documented draw order: init, input noise, Rademacher vectors
    x = torch.randn((aznas.BATCH_SIZE, *net.input_shape), generator=gen)
    feats, f = [], x
    for module in list(model.blocks.values())[:-1]:  # all but the head
        f = module(f)
        feats.append(f)
    entropies = []
    for f in feats:
        rows = f.detach().permute(0, 2, 3, 1).reshape(-1, f.shape[1]).double()
        rows = rows - rows.mean(0)
        s = torch.linalg.eigvalsh(rows.T @ rows / rows.shape[0]).clamp(min=0)
        p = s / s.sum()
        entropies.append(float(-(p * torch.log(p + 1e-8)).sum()))
    terms = []
    for f_in, f_out in reversed(list(zip(feats, feats[1:]))):
        g_out = torch.randint(0, 2, f_out.shape, generator=gen).float() * 2 - 1
        (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True)
        if g_in.shape[2] != g_out.shape[2]:
            g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
        a = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).double()
        b = g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1]).double()
        sigma = float(torch.linalg.svdvals(a.T @ b / b.shape[0]).max())
        terms.append(-sigma - 1 / (sigma + 1e-6) + 2)
    return {"az_expressivity": sum(entropies), "az_progressivity": min(np.diff(entropies)),
            "az_trainability": float(np.mean(terms))}


def test_nb201_scores_equal_the_plain_reference_computation() -> None:
    net = small(MIXED)
    assert aznas.feature_blocks(net) == ["stem", "cells.0", "cells.1", "cells.2", "cells.3", "cells.4"]
    got = score_network(net, AZ, None, seed=4)
    want = _plain_reference(net, 4)
    for name in AZ:
        assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-7), name


def test_known_block_jacobians_give_the_expected_trainability() -> None:
    net = known_jacobians()
    assert aznas.jacobian_pairs(net) == [("stem", "pool"), ("pool", "double")]
    got = score_network(net, AZ, None, seed=0, options={n: {"batch_size": 128} for n in AZ})
    assert got["az_trainability"] == pytest.approx(-0.5, abs=0.05)
    assert got["az_progressivity"] <= 1e-9  # x2 leaves the normalised spectrum unchanged


def test_identity_block_makes_trainability_minus_inf_as_in_the_reference() -> None:
    with pytest.warns(ProxyWarning, match="az_trainability"):
        got = score_network(small(IDENTITY), AZ, None, seed=0)
    assert got["az_trainability"] == -math.inf
    assert math.isfinite(got["az_expressivity"]) and got["az_progressivity"] == 0.0


# ---------------------------------------------------------------- fused, seeds, options, no mutation


@pytest.fixture(scope="module")
def mixed_scores() -> dict[str, float]:
    """The three AZ terms from one fused pass, with flops, on the MIXED cell at seed 0."""
    return score_network(small(MIXED), [*AZ, "flops"], None, seed=0, fused=True)


def test_fused_pass_equals_separate_proxies(mixed_scores) -> None:
    net = small(MIXED)
    for name in AZ:
        assert mixed_scores[name] == pytest.approx(score(net, name, seed=0), rel=1e-9), name
    assert mixed_scores["flops"] == net.count_flops()


def test_same_seed_same_scores_and_options_matter(mixed_scores) -> None:
    net = small(MIXED)
    a = score_network(net, AZ, None, seed=0)
    assert a == {n: mixed_scores[n] for n in AZ}
    assert score(net, "az_progressivity", seed=1) != a["az_progressivity"]
    assert score(net, "az_expressivity", seed=0, batch_size=16) != a["az_expressivity"]
    assert score(net, "az_expressivity", seed=0, init="default") != a["az_expressivity"]
    mixed_options = score_network(net, AZ, None, seed=0, options={"az_trainability": {"batch_size": 16}})
    assert mixed_options["az_expressivity"] == a["az_expressivity"]
    assert mixed_options["az_trainability"] == score(net, "az_trainability", seed=0, batch_size=16)


def test_caller_module_is_not_mutated(mixed_scores) -> None:
    model = lower(small(MIXED), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert score_network(model, AZ, None, seed=0) == {n: mixed_scores[n] for n in AZ}  # re-initialised from the seed
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_bare_module_and_bad_options_are_rejected() -> None:
    bare = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
    with pytest.raises(InvalidArchError, match="nasir Network"):
        score(bare, "az_expressivity", load_sample())
    with pytest.raises(SchemaError, match="input shape is unknown"):
        score(bare, "az_expressivity")
    with pytest.raises(ValueError, match="init"):
        score(small(), "az_expressivity", init="xavier")
    with pytest.raises(ValueError, match="az_scores computes"):
        aznas.az_scores(make_subject(small(), 0, None), None, {"snip"})


def test_specs_state_the_reference_settings() -> None:
    for name in AZ:
        spec = PROXIES.get(name)
        assert spec.batch_size == 64 and "N(0, 1)" in spec.settings["input"] and "Kaiming" in spec.settings["init"]
        assert "AZ-NAS" in spec.citation
    assert PROXIES.get("az_trainability").needs == {"gradients"}


# ---------------------------------------------------------------- degenerate and other spaces


def test_all_none_cell_scores_minus_inf_with_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = score_network(small(ALL_NONE), AZ, None, seed=0)
    assert all(v == -math.inf for v in got.values())
    assert sum(issubclass(w.category, ProxyWarning) for w in caught) == len(AZ)


def test_nb101_and_darts_networks_score_finite() -> None:
    nets = [nb101.space.network(nb101.space.sample(np.random.default_rng(0)), stem_channels=8, stacks=2, cells_per_stack=1),
            darts.space.network(darts.space.sample(np.random.default_rng(0)), channels=4, layers=5)]
    assert aznas.jacobian_pairs(nets[0])[-1] == ("downsample1", "stack1.cell0")
    assert aznas.jacobian_pairs(nets[1])[1] == ("cells.0", "cells.1")  # DARTS: the latest of (s0, s1)
    for net in nets:
        got = score_network(net, AZ, None, seed=0, options={n: {"batch_size": 16} for n in AZ})
        assert all(math.isfinite(v) for v in got.values()), (net.name, got)


def test_log_rank_ensemble_prefers_convolutions_over_pooling_and_skips() -> None:
    nets = [small(CONV3), small(MIXED), small(WEAK)]
    scores = score_many(nets, [*AZ, "flops"], None, seed=0)
    agg = rank_ensemble(scores, method="log")
    assert agg[0] > agg[2] and agg[1] > agg[2]
    assert agg[0] == pytest.approx(max(agg))
