"""Zero-cost proxies: the framework-free contract and the :data:`PROXIES` registry.

A :class:`ProxySpec` says what a proxy needs (images, labels, gradients, a loss), cites the paper,
and pins the reference settings (batch size, input, BatchNorm handling, dtype) that frontends
must reproduce. Every frontend returns one ``float`` per architecture, oriented so that **higher
is better** (quantities the paper minimises are negated, see ``orientation``); a degenerate
network (constant output, NaN/inf) scores ``-inf`` with a warning instead of raising.

The PyTorch implementations live in ``nasir.frontends.torch.proxies``; shared closing formulas in
:mod:`nasir.proxy_math`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from nasir.errors import ProxyOptionError, SchemaError, UnknownNameError
from nasir.registry import Registry

__all__ = ["ProxySpec", "ProxyImpl", "PROXIES", "NEEDS", "register_proxy", "get_proxy", "unsupported_by", "fused_member",
           "forwards_options"]

NEEDS = frozenset({"data", "labels", "gradients", "loss", "network"})
ZC_NAS = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021 (SamsungLabs/zero-cost-nas)"


@dataclass(frozen=True)
class ProxySpec:
    """What a zero-cost proxy is and how its paper ran it.

    Args:
        name: registry key (``"synflow"``).
        needs: subset of :data:`NEEDS`: ``data`` (real images), ``labels``, ``gradients``,
            ``loss`` (cross-entropy), ``network`` (the IR Network, e.g. for FLOPs).
        higher_is_better: always True for the returned score (the contract); kept explicit so a
            spec reads on its own.
        orientation: how the returned score relates to the paper's quantity (e.g. "negated").
        citation: paper (and section) defining the score.
        settings: reference settings (``batch_size``, ``input``, ``bn``, ``dtype``, ``augment``...).
        definition: one line stating the formula.
    """

    name: str
    needs: frozenset[str]
    citation: str
    definition: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    orientation: str = "as in the paper (higher is better)"
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise SchemaError(f"proxy {self.name!r}: unknown needs {sorted(unknown)} (known: {sorted(NEEDS)})")
        if not self.higher_is_better:
            raise SchemaError(f"proxy {self.name!r}: returned scores must be higher-is-better; negate and say so in orientation")
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    @property
    def batch_size(self) -> int | None:
        return self.settings.get("batch_size")

    @property
    def ir_only(self) -> bool:
        """Needs nothing but the IR network (params, flops): scored without lowering or a batch."""
        return self.needs == {"network"}


@dataclass(frozen=True)
class ProxyImpl:
    """A frontend's implementation of a spec: ``fn(subject, batch, **options) -> float`` (raw, maybe non-finite)."""

    spec: ProxySpec
    fn: Callable[..., float]

    @property
    def batch_size(self) -> int:
        """Images per batch the proxy is fed (1 where the spec sets none)."""
        return int(self.spec.settings.get("batch_size") or 1)

    @property
    def augment(self) -> bool:
        return bool(self.spec.settings.get("augment", False))

    @property
    def option_names(self) -> tuple[str, ...]:
        """The keyword options ``fn`` takes, so a caller can refuse a misspelt one before spending trials on it."""
        params = inspect.signature(self.fn).parameters.values()
        return tuple(sorted(p.name for p in params if p.kind is p.KEYWORD_ONLY))

    def check_options(self, given: Mapping[str, Any]) -> None:
        """Raises ProxyOptionError for an option ``fn`` does not take, naming the ones it does (a misspelt
        option would otherwise be a bare TypeError from deep inside the proxy, after the model was built)."""
        unknown = sorted(set(given) - set(self.option_names))
        if unknown:
            takes = ", ".join(self.option_names) or "none"
            raise ProxyOptionError(f"proxy {self.spec.name!r} has no option {unknown[0]!r} (its options: {takes})")


PROXIES: Registry[ProxySpec] = Registry("proxy", UnknownNameError)


def register_proxy(spec: ProxySpec) -> ProxySpec:
    """Adds a spec to :data:`PROXIES` (duplicates raise)."""
    return PROXIES.register(spec.name, spec)


def unsupported_by(implemented: Registry, reasons: Mapping[str, str], frontend: str) -> dict[str, str]:
    """Specs a frontend does not implement, each with its reason (specs registered after import included)."""
    return {name: reasons.get(name, f"not implemented in the {frontend} frontend") for name in PROXIES if name not in implemented}


F = TypeVar("F", bound=Callable[..., Any])


def forwards_options(target: Callable[..., Any]) -> Callable[[F], F]:
    """Marks a proxy function that hands its ``**options`` on to ``target``: its signature then lists
    ``target``'s keyword options (in place of ``**options``), which :attr:`ProxyImpl.option_names` reads."""
    def mark(fn: F) -> F:
        own = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD]
        taken = [p for p in inspect.signature(target).parameters.values() if p.kind is p.KEYWORD_ONLY]
        fn.__signature__ = inspect.signature(fn).replace(parameters=own + taken)  # type: ignore[attr-defined]
        return fn

    return mark


def fused_member(run: Callable[..., Mapping[str, float]], name: str) -> Callable[..., float]:
    """One proxy of a pass that scores several (``run(subject, batch, names, **options)``), as a proxy
    function ``fn(subject, batch=None, **options)``: each frontend registers its fused pass once."""
    def score(subject: Any, batch: Any = None, **options: Any) -> float:
        return run(subject, batch, {name}, **options)[name]

    score.__name__ = score.__qualname__ = name
    score.__doc__ = f"``{name}`` alone, from one pass of :func:`{run.__module__}.{run.__name__}`."
    return forwards_options(run)(score)


def get_proxy(name: str) -> ProxySpec:
    """The spec for ``name``; unknown names raise with close matches."""
    return PROXIES.get(name)


_CE = {"batch_size": 64, "input": "one random augmented training batch", "bn": "train mode (batch statistics)",
       "init": "PyTorch default", "loss": "cross_entropy", "dtype": "float32", "augment": True}
AZ_NAS = ("Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024 "
          "(cvlab-yonsei/AZ-NAS NB201/ZeroShotProxy/compute_az_nas_score.py); combined with flops by sum of log(rank/n)")
_AZ = {"batch_size": 64, "input": "one N(0, 1) noise batch at the network's input shape (seeded); no images",
       "init": "Kaiming normal (fan_in, ReLU gain) on conv/linear weights, zero biases, norm weight 1 / bias 0 "
               "(option init='default' keeps PyTorch's)", "bn": "train mode (batch statistics)",
       "dtype": "float32 network, float64 spectra", "augment": False,
       "blocks": "every IR block except kind 'head', in order (NB201: stem + 17 cells/reduction blocks)"}

for _spec in (
    ProxySpec("naswot", frozenset({"data"}),
              "Mellor et al., Neural Architecture Search without Training, ICML 2021, Sec. 3 (BayesWatch/nas-without-training)",
              "log|K|, K = N_A - d_H over the binary codes of every ReLU's input (slogdet)",
              {"batch_size": 128, "input": "one random training batch, not augmented", "bn": "train mode",
               "init": "PyTorch default", "dtype": "float32", "augment": False}),
    ProxySpec("jacob_cov", frozenset({"data", "gradients"}),
              "Mellor et al., NAS without Training, arXiv:2006.04647 v1 (2020), Sec. 3; as run by " + ZC_NAS,
              "-sum(log(v+k) + 1/(v+k)), v = eigenvalues of corr(d sum(f(x)) / dx_i), k = 1e-5",
              {**_CE, "loss": None}),
    ProxySpec("synflow", frozenset({"gradients"}),
              "Tanaka et al., NeurIPS 2020 (SynFlow) as a NAS proxy in " + ZC_NAS + ", Sec. 3",
              "sum over conv/linear weights |w * dR/dw|, R = sum f_{|theta|}(1), all-ones input, float64",
              {"batch_size": 1, "input": "all ones (one sample)", "dtype": "float64", "init": "PyTorch default",
               "bn": "zc-nas: BN dropped everywhere except inside NB201's ResNet reduction blocks (resnet_basic_block), "
                     "which keep BN in train mode (the zero-cost-nas NB201 model's bn=False copy); "
                     "'identity' = NASLib (every BN dropped)"}),
    ProxySpec("snip", frozenset({"data", "labels", "gradients", "loss"}),
              "Lee et al., SNIP, ICLR 2019, as a NAS proxy in " + ZC_NAS,
              "sum over conv/linear weights |w * dL/dw|", _CE),
    ProxySpec("grasp", frozenset({"data", "labels", "gradients", "loss"}),
              "Wang et al., GraSP, ICLR 2020, as a NAS proxy in " + ZC_NAS,
              "sum over conv/linear weights -w * (H g), g = dL/dw (T=1, one iteration)", _CE),
    ProxySpec("fisher", frozenset({"data", "labels", "gradients", "loss"}),
              "Theis et al. 2018 / Turner et al. 2020 (channel Fisher), as a NAS proxy in " + ZC_NAS,
              "sum over conv/linear output channels k of fan_in(k) * 0.5 * mean_n (sum_hw a*dL/da)^2",
              _CE),
    ProxySpec("grad_norm", frozenset({"data", "labels", "gradients", "loss"}),
              ZC_NAS + ", Sec. 3 (baseline)",
              "sum over conv/linear layers of ||dL/dW||_2 (per-layer norms, summed)", _CE),
    ProxySpec("params", frozenset({"network"}), "baseline; " + ZC_NAS,
              "trainable parameters from the IR (network.count_params())", {}),
    ProxySpec("flops", frozenset({"network"}), "baseline; " + ZC_NAS,
              "multiply-accumulates per sample from the IR (network.count_flops())", {}),
    ProxySpec("ntk_cond", frozenset({"data", "gradients"}),
              "Chen, Gong, Wang, TE-NAS, ICLR 2021, Sec. 3.1.1 (VITA-Group/TENAS)",
              "-lambda_max/lambda_min of the empirical NTK J J^T, J = per-sample d sum(logits_i)/d weights",
              {"batch_size": 64, "input": "one random augmented training batch", "bn": "train mode",
               "params": "every parameter whose name contains 'weight' (BN weights included)", "augment": True},
              orientation="negated (TE-NAS: lower condition number is better)"),
    ProxySpec("linear_regions", frozenset({"data"}),
              "Chen, Gong, Wang, TE-NAS, ICLR 2021, Sec. 3.1.2 (Xiong et al. 2020 region count; VITA-Group/TENAS linear_region_counter.py)",
              "mean over 3 repeats of the number of distinct ReLU activation patterns of the thin network (first cell at "
              "C=1 plus head) over 3 passes of 1,000 one-channel 3x3 crops",
              {"batch_size": 128, "input": "per pass 1,000 one-channel 3x3 crops cut from one 128-image training batch, 3 passes",
               "bn": "train mode", "init": "PyTorch default (as the reference actually runs)", "augment": False,
               "spaces": "single-input (NB201-style) cells; multi-input DARTS/NASNet cells are refused"}),
    ProxySpec("meco", frozenset(),
              "Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
              "Eigenvalue of Correlation, NeurIPS 2023, Eq. 5-6",
              "sum over modules of lambda_min(corr of the output's channels), on one sample",
              {"batch_size": 1, "input": "one N(0, 1) image at the network's input shape (seeded)", "bn": "train mode",
               "augment": False}),
    ProxySpec("zico", frozenset({"data", "labels", "gradients", "loss"}),
              "Li, Kang, Han, Marculescu, ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, "
              "ICLR 2023, Eq. 4-5 (SLDGroup/ZiCo)",
              "sum over conv/linear layers of log(sum_theta mean_b|g| / std_b(g)), b over 2 mini-batches",
              {"batch_size": 128, "splits": 2, "input": "one random augmented training batch split in two halves of 64",
               "bn": "train mode", "loss": "cross_entropy", "augment": True}),
    ProxySpec("ntk_trace", frozenset({"data", "labels", "gradients"}),
              "Shu, Dai, Wu, Low, Unifying and Boosting Gradient-Based Training-Free Neural Architecture Search, "
              "NeurIPS 2022 (trace-norm metric M_trace; shuyao95/HNAS)",
              "sqrt(trace(J J^T) / m), J = per-sample d logit_{y_i} / d (conv and linear weights and biases)",
              {"batch_size": 64, "input": "one random augmented training batch", "bn": "train mode",
               "init": "PyTorch default", "params": "conv and linear weights and biases", "augment": True}),
    ProxySpec("gennas", frozenset({"data", "gradients"}),
              "Li, Hao, Li, Xiong, Chen, Generic Neural Architecture Search via Regression, NeurIPS 2021, Sec. 3 "
              "(leeyeehoo/GenNAS)",
              "-(final eval MSE) of 1x1-conv heads on the 3 stage outputs regressing synthetic signals, after "
              "100 SGD iterations on one batch",
              {"batch_size": 16, "input": "one random training batch + per-iteration task noise", "bn": "train mode "
               "(eval mode for the recorded loss)", "init": "PyTorch default", "augment": False, "iterations": 100,
               "optimizer": "SGD lr 0.1, momentum 0.9, weight decay 4e-5 (weights only)", "target_size": 8,
               "stage_weights": (0.25, 0.5, 1.0), "task": "single (options: single, combo, nb101)"},
              orientation="negated (GenNAS: lower regression loss is better)"),
    ProxySpec("swap", frozenset({"data"}),
              "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024, Sec. 3 (pym1024/SWAP)",
              "mean over 32 Gaussian inits of the number of distinct sample-wise patterns sign(relu(x)) over the batch, "
              "over every unit of every ReLU with a 4-d input",
              {"batch_size": 16, "input": "one random training batch, not augmented", "bn": "train mode",
               "init": "conv/linear weights N(0, 1), biases 0, BN weight 1 / bias 0, re-drawn per repeat",
               "repeats": 32, "augment": False,
               "regularisation": "off (options mu, sigma: times exp(-(params/1e3 - mu)^2 / sigma))"}),
    ProxySpec("az_expressivity", frozenset(), AZ_NAS,
              "sum over blocks of the entropy of the normalised eigenvalues of the block output's channel covariance "
              "(over batch x positions)", _AZ),
    ProxySpec("az_progressivity", frozenset(), AZ_NAS,
              "min over consecutive blocks of the increase of that per-block entropy", _AZ),
    ProxySpec("az_trainability", frozenset({"gradients"}), AZ_NAS,
              "mean over blocks of 2 - s - 1/(s + 1e-6), s = sigma_max(g_in^T g_out / positions), g_out Rademacher at "
              "the block output, g_in its backprop to the block input (pixel-unshuffled); identity block: -inf",
              _AZ, orientation="as in the reference code (0 when every block Jacobian has spectral norm 1)"),
):
    register_proxy(_spec)
