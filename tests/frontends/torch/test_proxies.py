"""Zero-cost proxies (PyTorch): contract, registry conformance, fast path == plain definition,
determinism, no mutation of the caller's model, degenerate architectures ranked last.

Small NB201 networks (C=4, N=1) keep the file near a minute on two CPU cores.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from nasir import proxy_math
from nasir.data import CIFAR10_MEAN, CIFAR10_STD, load_sample
from nasir.errors import ProxyOptionError, SchemaError, ShapeMismatchError
from nasir.proxies import PROXIES, ProxySpec
from nasir.spaces.nb201 import space
from nasir.frontends.torch import lower
from nasir.frontends.torch.proxies import TORCH_PROXIES, UNSUPPORTED, ProxyWarning, score, score_many, score_network
from nasir.frontends.torch.proxies import naswot, tenas
from nasir.frontends.torch.proxies._common import make_batch, make_subject

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
MIXED = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
CHEAP = ("naswot", "jacob_cov", "synflow", "snip", "grasp", "fisher", "grad_norm", "params", "flops", "meco", "zico", "swap")


def small(arch: str = BEST, channels: int = 4):
    return space.network(space.parse(arch), channels=channels, cells_per_stage=1)


@pytest.fixture(scope="module")
def data():
    return load_sample()


@pytest.fixture(scope="module")
def best_scores(data):
    return score_network(small(), list(CHEAP), data, seed=0, fused=False)


# ---------------------------------------------------------------- contract and registry


def test_every_spec_has_a_torch_implementation_or_a_reason() -> None:
    for name in PROXIES:
        assert (name in TORCH_PROXIES) != (name in UNSUPPORTED), name
        if name in UNSUPPORTED:
            assert len(UNSUPPORTED[name]) > 20
    for name in TORCH_PROXIES:
        impl = TORCH_PROXIES.get(name)
        assert impl.spec is PROXIES.get(name) and impl.spec.higher_is_better
        assert impl.spec.citation and impl.spec.definition


def test_reference_settings_follow_the_papers() -> None:
    assert PROXIES.get("naswot").batch_size == 128
    for name in ("snip", "grasp", "fisher", "grad_norm", "jacob_cov"):
        assert PROXIES.get(name).batch_size == 64 and PROXIES.get(name).settings["augment"]
    assert PROXIES.get("synflow").settings["dtype"] == "float64"
    assert "negated" in PROXIES.get("ntk_cond").orientation


def test_spec_rejects_unknown_needs_and_lower_is_better() -> None:
    with pytest.raises(ValueError, match="unknown needs"):
        ProxySpec("x", frozenset({"labels", "gpu"}), "c", "d")
    with pytest.raises(ValueError, match="higher-is-better"):
        ProxySpec("x", frozenset(), "c", "d", higher_is_better=False)


def test_every_proxy_spec_has_a_torch_implementation_and_unknown_names_fail(data) -> None:
    from nasir.errors import UnknownNameError
    from nasir.frontends.torch.proxies import TORCH_PROXIES, UNSUPPORTED
    from nasir.proxies import PROXIES

    assert UNSUPPORTED == {} and sorted(TORCH_PROXIES.names()) == sorted(PROXIES.names())
    with pytest.raises(UnknownNameError, match="naswto"):
        score(small(), "naswto", data)


def test_option_names_list_what_forwarding_proxies_hand_on() -> None:
    """gennas and the AZ-NAS terms take ``**options`` and pass them on; their option names come from the callee."""
    from nasir.frontends.torch.proxies.aznas import az_scores
    from nasir.frontends.torch.proxies.gennas import gennas_losses

    assert TORCH_PROXIES.get("synflow").option_names == ("bn",)
    assert TORCH_PROXIES.get("naswot").option_names == ()
    assert TORCH_PROXIES.get("gennas").option_names == ("eval_interval", "iterations", "lr", "momentum", "stage_weights",
                                                         "task", "weight_decay")
    assert TORCH_PROXIES.get("az_trainability").option_names == ("batch_size", "init")
    with pytest.raises(TypeError, match="itrations"):
        gennas_losses(None, None, itrations=3)  # the callee really refuses a name not listed
    with pytest.raises(TypeError, match="bogus"):
        az_scores(None, None, bogus=1)


def test_scores_are_finite_floats(best_scores) -> None:
    for name, value in best_scores.items():
        assert isinstance(value, float) and math.isfinite(value), name
    assert best_scores["params"] == small().count_params()
    assert best_scores["flops"] == small().count_flops()


# ---------------------------------------------------------------- fast path == plain definition


def test_naswot_fast_kernel_equals_plain_definition(data) -> None:
    net = small(MIXED)
    batch = make_batch(data, 32, 0, augment_images=False, device=torch.device("cpu"))
    fast = naswot.naswot(make_subject(net, 0, None), batch)
    plain = naswot.naswot_plain(make_subject(net, 0, None), batch)
    assert fast == plain


def test_fused_gradient_pass_equals_separate_proxies(data) -> None:
    net = small(MIXED)
    separate = score_network(net, ["snip", "grad_norm", "fisher"], data, seed=3, fused=False)
    fused = score_network(net, ["snip", "grad_norm", "fisher"], data, seed=3, fused=True)
    for name in separate:
        assert fused[name] == pytest.approx(separate[name], rel=1e-5), name


@pytest.mark.parametrize("name", CHEAP)
def test_a_proxy_keeps_nothing_of_the_model_alive(data, name) -> None:
    """After a call, nothing a proxy made holds the scored copy's layers (fisher's hooks once kept every
    autograd graph in a reference cycle through C++ that no collection frees: ~64 MB leaked per call)."""
    import gc
    import weakref

    from nasir.frontends.torch.proxies._common import weight_layers

    subject = make_subject(small(MIXED), 0, "cpu")
    layers = [weakref.ref(m) for m in weight_layers(subject.model)]
    spec = TORCH_PROXIES.get(name)
    batch = make_batch(data, 8, 0, augment_images=False, device=torch.device("cpu"), input_shape=(3, 32, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyWarning)
        spec.fn(subject, batch)
    del subject, batch
    gc.collect()
    assert all(ref() is None for ref in layers), f"{name} left the scored model's layers alive"


def test_ntk_batched_backward_equals_per_sample_loop(data) -> None:
    net = space.network(space.parse(MIXED), channels=4, cells_per_stage=1)
    batch = make_batch(data, 8, 0, augment_images=True, device=torch.device("cpu"))
    loop = tenas.ntk_cond(make_subject(net, 0, None), batch)
    batched = tenas.ntk_cond(make_subject(net, 0, None), batch, batched=True)
    assert loop < 0 and batched == pytest.approx(loop, rel=1e-6)


def test_snip_and_grad_norm_match_hand_computation(data) -> None:
    """snip = sum |w * dL/dw|, grad_norm = sum of per-layer ||dL/dW|| over conv/linear (zero-cost-nas)."""
    net = small(MIXED)
    model = lower(net, seed=5).train()
    batch = make_batch(data, 64, 5, augment_images=True, device=torch.device("cpu"))
    nn.functional.cross_entropy(model(batch.x), batch.y).backward()
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    snip_ref = sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in layers)
    norm_ref = sum(float(m.weight.grad.norm()) for m in layers)
    got = score_network(net, ["snip", "grad_norm"], data, seed=5, fused=False)
    assert got["snip"] == pytest.approx(snip_ref, rel=1e-5)
    assert got["grad_norm"] == pytest.approx(norm_ref, rel=1e-5)


def test_synflow_bn_modes(data) -> None:
    net = small(MIXED)
    values = {bn: score(net, "synflow", data, seed=0, bn=bn) for bn in ("zc-nas", "identity", "train")}
    assert all(v > 0 for v in values.values()) and len(set(values.values())) == 3
    with pytest.raises(ValueError, match="synflow .*bn.* must be one of"):
        score(net, "synflow", data, bn="eval")


# ---------------------------------------------------------------- determinism, devices, no mutation


def test_same_seed_same_score_and_seed_matters(data, best_scores) -> None:
    repeat = ["naswot", "jacob_cov", "synflow", "snip", "meco"]
    again = score_network(small(), repeat, data, seed=0, fused=False)
    assert again == {k: best_scores[k] for k in repeat}
    assert score(small(), "naswot", data, seed=1) != best_scores["naswot"]
    assert score(small(), "snip", data, seed=np.random.default_rng(7)) == score(small(), "snip", data, seed=np.random.default_rng(7))


def test_cpu_device_argument_is_the_default_path(data, best_scores) -> None:
    assert score(small(), "jacob_cov", data, seed=0, device="cpu") == best_scores["jacob_cov"]


# counts (sign patterns, regions) and long recipes (100 SGD steps, NTK eigenvalues) amplify float32 round-off
CUDA_REL = {"swap": 1e-2, "linear_regions": 1e-2, "gennas": 5e-2, "ntk_cond": 1e-2, "ntk_trace": 1e-2}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only twin of test_cpu_device_argument_is_the_default_path")
@pytest.mark.parametrize("name", TORCH_PROXIES.names())
def test_cuda_scores_match_cpu(data, name) -> None:
    cpu = score(small(), name, data, seed=0)
    assert score(small(), name, data, seed=0, device="cuda") == pytest.approx(cpu, rel=CUDA_REL.get(name, 1e-3)), name


def test_caller_module_is_not_mutated(data) -> None:
    model = lower(small(MIXED, channels=4), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    for name in ("naswot", "synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "meco", "params"):
        score(model, name, data, seed=0)
    score_network(model, ["snip", "grad_norm", "fisher"], data, seed=0, fused=True)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(isinstance(m, nn.BatchNorm2d) for m in model.modules() if "BatchNorm" in type(m).__name__)


def test_module_and_network_give_the_same_score(data) -> None:
    net = small(MIXED)
    assert score(lower(net, seed=11), "naswot", data, seed=11) == score(net, "naswot", data, seed=11)


def test_float64_scores_the_float32_problem_in_double_precision(data, best_scores) -> None:
    """The same weights and batch widened: every proxy within float32 round-off of its float32 score
    (zico's ratio of gradient spreads amplifies round-off most), the caller's module left in float32."""
    model = lower(small(), seed=0)
    wide = score_network(model, list(CHEAP), data, seed=0, fused=False, dtype="float64")
    far = {n: (wide[n], best_scores[n]) for n in CHEAP if not math.isclose(wide[n], best_scores[n], rel_tol=1e-2)}
    assert not far, far
    assert wide["snip"] != best_scores["snip"]  # really recomputed, not the float32 pass
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert make_subject(model, 0, None, dtype="float64").model.blocks["stem"].nodes["conv"].weight.dtype == torch.float64
    narrow = make_batch(data, 4, 0, augment_images=True, device=torch.device("cpu"))
    widened = make_batch(data, 4, 0, augment_images=True, device=torch.device("cpu"), dtype="float64")
    assert widened.x.dtype == torch.float64 and torch.equal(widened.x, narrow.x.double())


def test_an_unknown_dtype_is_refused_by_name(data) -> None:
    with pytest.raises(ValueError, match="float16"):
        score(small(), "naswot", data, dtype="float16")


# ---------------------------------------------------------------- degenerate architectures


def test_all_none_cell_is_ranked_last_with_a_warning(data) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = score_network(small(ALL_NONE), list(TORCH_PROXIES.names()), data, seed=0)
    assert all(v == -math.inf for v in got.values()), got
    assert sum(issubclass(w.category, ProxyWarning) for w in caught) == len(got)


def test_batch_run_survives_constant_and_nan_networks(data) -> None:
    nan_model = lower(small(), seed=0)
    with torch.no_grad():
        next(m for m in nan_model.modules() if isinstance(m, nn.Conv2d)).weight.fill_(float("nan"))
    const = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    with torch.no_grad():
        const[1].weight.zero_()
    with pytest.warns(ProxyWarning):
        got = score_many([small(), nan_model, const, small(ALL_NONE)], ["snip", "jacob_cov"], data, seed=0)
    assert np.isfinite(got["snip"][0]) and np.isfinite(got["jacob_cov"][0])
    assert np.all(got["snip"][1:] == -np.inf) and np.all(got["jacob_cov"][1:] == -np.inf)
    assert proxy_math.ranks(got["snip"])[0] == 4.0


def test_data_of_the_wrong_shape_names_the_fix(data) -> None:
    net16 = space.network(space.parse(BEST), channels=4, cells_per_stage=1, dataset="imagenet16")
    with pytest.raises(ShapeMismatchError, match="network's data set"):
        score(net16, "naswot", data)


def test_xy_pair_uses_cifar_normalisation(data) -> None:
    assert data.mean == CIFAR10_MEAN and data.std == CIFAR10_STD
    assert score(small(), "snip", (data.x_train, data.y_train), seed=2) == score(small(), "snip", data, seed=2)


# ---------------------------------------------------------------- framework-free math


def test_hamming_kernel_counts_equal_codes() -> None:
    rng = np.random.default_rng(0)
    layers = [rng.integers(0, 2, size=(6, n)) for n in (5, 9)]
    k = proxy_math.hamming_kernel(layers)
    codes = np.concatenate(layers, axis=1)
    brute = np.array([[np.sum(a == b) for b in codes] for a in codes])
    assert np.array_equal(k, brute)
    assert proxy_math.logdet_psd(np.ones((3, 3))) == -math.inf


def test_jacob_cov_formula() -> None:
    rng = np.random.default_rng(1)
    j = rng.normal(size=(5, 40))
    v = np.linalg.eigvals(np.corrcoef(j)).real
    expected = -np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5))
    assert proxy_math.jacob_cov_score(j) == pytest.approx(expected, rel=1e-9)
    assert math.isnan(proxy_math.jacob_cov_score(np.zeros((4, 10))))


def test_finite_score_and_rank_statistics() -> None:
    with pytest.warns(ProxyWarning):
        assert proxy_math.finite_score(float("nan"), "x") == -math.inf
    a = np.array([3.0, 1.0, np.nan, 2.0, 2.0, -np.inf])
    b = np.array([1.0, 4.0, 0.5, 2.0, 3.0, 0.1])
    clean = np.where(np.isfinite(a), a, -1e9)
    assert proxy_math.spearman(a, b) == pytest.approx(scipy.stats.spearmanr(clean, b)[0])
    assert proxy_math.kendall(a, b) == pytest.approx(scipy.stats.kendalltau(clean, b)[0])
    agg = proxy_math.rank_aggregate({"p": np.array([1.0, 2, 3]), "q": np.array([3.0, np.nan, 1])})
    assert agg.tolist() == [4.0, 3.0, 5.0]
    assert proxy_math.condition_number(np.array([0.0, 0.0])) == 1e5
    assert proxy_math.condition_number(np.array([2.0, 8.0])) == 4.0
    # a singular NTK whose round-off made lambda_min negative is infinitely ill-conditioned, not "-1e12"
    assert proxy_math.condition_number(np.array([-1e-12, 1.0])) == math.inf
    assert proxy_math.condition_number(np.array([0.0, 1.0])) == math.inf


def test_ntk_cond_of_a_rank_deficient_batch_ranks_last(data) -> None:
    """Two distinct images repeated into a batch of 64 give an NTK of rank 2: -inf with a warning, never a top score."""
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with pytest.warns(ProxyWarning, match="ntk_cond"):
        scores = score_many([small()], ["ntk_cond"], (x, np.array([0, 1])))
    assert scores["ntk_cond"].tolist() == [-math.inf]


def test_meco_alone_on_an_ir_network_is_lowered_not_treated_as_ir_only(data) -> None:
    """MeCo declares no needs; only proxies that need nothing but the IR (params, flops) skip lowering."""
    value = score(small(), "meco", data)
    assert isinstance(value, float) and math.isfinite(value)


# ---------------------------------------------------------------- data, options and failures the caller must see


def test_too_few_images_are_drawn_with_replacement_with_a_warning_naming_the_cause(data) -> None:
    """100 images for naswot's batch of 128 repeat images, so every architecture's kernel is singular (-inf): the
    warning must blame the data, not only the score."""
    with pytest.warns(ProxyWarning, match="only 100 training images for a batch of 128: drawn with replacement"):
        score(small(), "naswot", (data.x_train[:100], data.y_train[:100]))


def test_labels_are_checked_once_per_batch_as_schema_errors(data) -> None:
    x, y = data.x_train, data.y_train
    with pytest.raises(SchemaError, match="proxy 'snip' needs labels; the data has none"):
        score(small(), "snip", (x, None))
    assert math.isfinite(score(small(), "naswot", (x, None)))  # naswot reads no labels
    with pytest.raises(SchemaError, match="label 59 but the network has 10 classes"):
        score_many([small()], ["snip"], (x, y + 50))
    with pytest.raises(SchemaError, match="512 training images but labels of shape \\(10,\\)"):
        score(small(), "naswot", (x, y[:10]))
    with pytest.raises(SchemaError, match="non-negative"):
        score(small(), "naswot", (x, y - 1))
    with pytest.raises(SchemaError, match="integer"):
        score(small(), "snip", (x, y.astype(np.float32)))
    # a batch no loss reads is not held to the network's classes (e.g. another data set's labels)
    assert score(small(), "naswot", (x, y + 50)) == score(small(), "naswot", data)


@pytest.mark.parametrize("name", ["synflow", "meco"])
def test_a_proxy_that_needs_no_data_runs_without_it(data, name) -> None:
    """synflow (all ones) and meco (one N(0, 1) image) need only the input shape, which the IR network says."""
    assert "data" not in PROXIES.get(name).needs
    assert score(small(), name) == score(small(), name, data)


def test_missing_data_is_refused_by_proxy_and_gennas_declares_gradients(data) -> None:
    with pytest.raises(SchemaError, match="proxy 'naswot' needs data"):
        score(small(), "naswot")
    with pytest.raises(SchemaError, match="input shape is unknown"):
        score(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)), "synflow")
    assert PROXIES.get("gennas").needs == {"data", "gradients"}


def test_an_unknown_option_names_the_proxy_and_what_it_takes(data) -> None:
    with pytest.raises(ProxyOptionError, match="proxy 'naswot' has no option 'foo' \\(its options: none\\)"):
        score(small(), "naswot", data, foo=1)
    with pytest.raises(ProxyOptionError, match="'bm' \\(its options: bn\\)"):
        score_many([small()], ["synflow", "params"], data, options={"synflow": {"bm": "identity"}})
    with pytest.raises(TypeError):  # a TypeError, as Python's own for a wrong keyword
        score(small(), "params", foo=1)


class _Failing(nn.Module):
    """A model whose forward raises ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.conv, self.error = nn.Conv2d(3, 4, 3), error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.error


def test_batch_runs_raise_configuration_errors_and_rank_numerical_failures_last(data) -> None:
    """-inf is for an architecture's numerical failure; running out of memory or a module that cannot take the
    data's images would otherwise rank every architecture -inf in silence."""
    with pytest.raises(torch.OutOfMemoryError):
        score_many([_Failing(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))], ["naswot"], data)
    with pytest.raises(RuntimeError, match="not enough memory"):
        score_many([_Failing(RuntimeError("DefaultCPUAllocator: not enough memory"))], ["naswot"], data)
    takes_16 = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    with pytest.raises(ShapeMismatchError, match="does not take the data's images of shape \\(3, 32, 32\\)"):
        score_many([takes_16], ["snip", "synflow"], data)
    with pytest.warns(ProxyWarning, match="linalg"):
        got = score_many([_Failing(RuntimeError("linalg.eigh: The algorithm failed to converge"))], ["naswot"], data)
    assert got["naswot"].tolist() == [-math.inf]


def _reparametrized(kind: str) -> tuple[nn.Module, nn.Module]:
    """A small CNN whose layers compute their weights (weight norm, spectral norm, pruning; hook-based or
    ``parametrize``-based), in eval mode, and the plain CNN holding the weights they compute."""
    from torch.nn.utils import parametrizations, prune

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    plain = __import__("copy").deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the hook-based utilities are deprecated, and still in use
        if kind == "hooks":
            nn.utils.weight_norm(model[0])
            nn.utils.spectral_norm(model[4])
            prune.l1_unstructured(model[0], "weight_v", amount=0.5)
        else:
            parametrizations.weight_norm(model[0])
            parametrizations.spectral_norm(model[4])
    model.eval()(torch.zeros(1, 3, 32, 32))  # the hook-based layers compute their weights in a pass
    with torch.no_grad():
        for layer, twin in ((model[0], plain[0]), (model[4], plain[4])):
            twin.weight.copy_(layer.weight)
    return model, plain


@pytest.mark.parametrize("kind", ["hooks", "parametrize"])
def test_layers_that_compute_their_weights_are_scored_with_the_weights_they_compute(data, kind: str) -> None:
    """torch.nn.utils' weight_norm / spectral_norm / prune: deepcopy refused the hook-based ones, and proxies that
    replace a layer's weight refused the parametrized ones; the caller's module keeps its own."""
    model, plain = _reparametrized(kind)
    names = ["synflow", "snip", "grad_norm", "fisher", "naswot"]
    got, expected = score_network(model, names, data), score_network(plain, names, data)
    assert got == pytest.approx(expected, rel=1e-5) and got["synflow"] > 0
    if kind == "hooks":
        assert hasattr(model[0], "weight_g") and hasattr(model[0], "weight_v_orig") and model[4]._forward_pre_hooks
    else:
        assert type(model[0]).__name__ == "ParametrizedConv2d" and model[0].weight.shape == (8, 3, 3, 3)
        assert nn.utils.parametrize.is_parametrized(model[4], "weight")


def test_proxies_score_the_bare_module_not_the_caller_s_hooks(data) -> None:
    """A caller's hooks stay on the caller's module; the private copies proxies score have none (a hook would fire
    on every pass, and one that rewrites the output would change the score)."""
    model = lower(small(), seed=0)
    expected = {name: score(model, name, data) for name in ("naswot", "fisher")}
    calls = []
    model.register_forward_hook(lambda m, i, out: calls.append(1) or out * 0)
    model.register_forward_pre_hook(lambda m, i: calls.append(1))
    model.register_backward_hook(lambda m, gi, go: calls.append(1))  # the old kind: fisher's full hooks must still register
    model.register_state_dict_post_hook(lambda *a: calls.append(1))  # synflow reads the state dict
    for name, value in expected.items():
        assert score(model, name, data) == value, name
    assert score(model, "synflow", data) > 0 and not calls
    assert model._forward_hooks and model._forward_pre_hooks and model._backward_hooks and model._state_dict_hooks
