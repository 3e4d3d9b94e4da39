"""Framework-free numpy math shared by every frontend's zero-cost proxies.

Frontends (PyTorch now, TensorFlow later) collect tensors (activation codes, Jacobians, feature
maps, NTK matrices) and hand numpy arrays to these functions, so each score's closing formula is
written once. Non-finite results are mapped to ``-inf`` by :func:`finite_score` (ranked last,
with a warning) so a batch run never crashes on one degenerate architecture.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasir.errors import InvalidArchError, SchemaError, ScorerOutputError
from nasir.ir import Block, Network

if TYPE_CHECKING:
    from nasir.ir import Arch

__all__ = [
    "JACOB_COV_K", "ProxyWarning", "hamming_kernel", "logdet_psd", "jacob_cov_score", "corr_min_eig",
    "meco_score", "thin_network", "one_channel_crops", "count_patterns", "swap_regular_factor", "ntk_trace_norm",
    "condition_number", "finite_score", "ranks", "rank_aggregate", "spearman", "kendall", "ir_constant_output",
    "zico_score", "AZ_ENTROPY_EPS", "AZ_SIGMA_EPS", "AZ_TERMS", "AZ_INITS", "AZ_BATCH_SIZE", "az_terms_asked",
    "az_entropy_terms", "spectral_entropy", "az_progressivity", "jacobian_norm_score", "feature_blocks", "jacobian_pairs",
    "ZC_NAS_BN_OPS", "check_choice", "check_int", "check_number", "check_gennas_options", "check_swap_options",
    "check_region_options",
]

logger = logging.getLogger(__name__)

JACOB_COV_K = 1e-5  # Mellor et al. 2020 (arXiv v1), eval_score's k
# IR ops whose zero-cost-nas module keeps BN whatever the model's bn flag (NB201's ResNetBasicblock):
# synflow's bn="zc-nas" keeps BN inside these nodes only
ZC_NAS_BN_OPS = frozenset({"resnet_basic_block"})


class ProxyWarning(RuntimeWarning):
    """A proxy produced a degenerate value (NaN/inf, constant output); the score became ``-inf``."""


def finite_score(value: float, what: str) -> float:
    """``float(value)`` when finite, else ``-inf`` with a :class:`ProxyWarning` naming ``what``.

    ``-inf`` ranks an architecture last under "higher is better", which is the defined result for
    constant-output or numerically broken networks (never an exception in a batch run).
    """
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if math.isfinite(value):
        return value
    warnings.warn(f"{what}: score is {value}; ranked last as -inf", ProxyWarning, stacklevel=2)
    return -math.inf


def check_choice(proxy: str, option: str, value: object, allowed: Sequence[object]) -> None:
    """Rejects an option value outside ``allowed`` (a typo would otherwise reach a silent default branch)."""
    if value not in allowed:
        raise SchemaError(f"{proxy} {option} must be one of {tuple(allowed)}, got {value!r}")


def check_int(proxy: str, option: str, value: object, *, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``; a bool, float or string is rejected, not truncated
    (counts such as repeats and samples divide the score or size the draws)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise SchemaError(f"{proxy} {option} must be {allowed}, got {value!r}")
    return int(value)


def check_number(proxy: str, option: str, value: object, *, low: float = -math.inf) -> float:
    """``value`` as a finite float ``>= low``; a bool or string is rejected."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < low:
        raise SchemaError(f"{proxy} {option} must be a finite number >= {low}, got {value!r}")
    return float(value)


def check_gennas_options(iterations: object, eval_interval: object, lr: object, momentum: object, weight_decay: object,
                         stage_weights: object, stages: int) -> None:
    """GenNAS's counts (positive ints; how they fit together is ``gennas_signals.check_schedule``'s),
    optimiser numbers (non-negative, as ``torch.optim.SGD`` requires) and exactly one non-negative
    stage weight per stage, not all zero (the loss sums the weighted stages)."""
    check_int("gennas", "iterations", iterations)
    check_int("gennas", "eval_interval", eval_interval)
    for option, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
        check_number("gennas", option, value, low=0.0)
    if not isinstance(stage_weights, (Sequence, np.ndarray)) or isinstance(stage_weights, str) or len(stage_weights) != stages:
        raise SchemaError(f"gennas stage_weights must hold one weight per stage ({stages}), got {stage_weights!r}")
    if not sum(check_number("gennas", "stage_weights", w, low=0.0) for w in stage_weights):
        raise SchemaError(f"gennas stage_weights must weight at least one stage, got {stage_weights!r}")


def check_swap_options(repeats: object, mu: object, sigma: object) -> None:
    """SWAP averages over ``repeats`` >= 1 inits; its regularisation takes ``mu`` and ``sigma`` together
    (one alone would be ignored) with ``sigma > 0`` (it divides, and a negative one rewards distance from ``mu``)."""
    check_int("swap", "repeats", repeats)
    if (mu is None) != (sigma is None):
        raise SchemaError(f"swap mu and sigma regularise together: give both or neither, got mu={mu!r}, sigma={sigma!r}")
    if mu is not None:
        check_number("swap", "mu", mu)
        if check_number("swap", "sigma", sigma) <= 0:
            raise SchemaError(f"swap sigma must be > 0, got {sigma!r}")


def hamming_kernel(codes: Sequence[np.ndarray]) -> np.ndarray:
    """NASWOT kernel ``K = N_A - d_H`` summed over layers (Mellor et al. 2021, Sec. 3).

    Args:
        codes: per ReLU layer, a ``(batch, units)`` binary array (1 where the unit is active).

    Returns:
        ``(batch, batch)`` float64: for each pair, the number of units with equal codes,
        ``c c^T + (1 - c)(1 - c)^T`` accumulated over layers.
    """
    if not codes:
        raise SchemaError("hamming_kernel needs at least one layer of activation codes")
    k = np.zeros((codes[0].shape[0],) * 2)
    for c in codes:
        c = np.asarray(c, dtype=np.float64)
        k += c @ c.T + (1.0 - c) @ (1.0 - c).T
    return k


def logdet_psd(k: np.ndarray) -> float:
    """``log|K|`` via ``slogdet`` (NASWOT's score); ``-inf`` when K is singular or not positive."""
    sign, logdet = np.linalg.slogdet(np.asarray(k, dtype=np.float64))
    return float(logdet) if sign > 0 else -math.inf


def jacob_cov_score(jacobians: np.ndarray, k: float = JACOB_COV_K) -> float:
    """Mellor et al. 2020 (arXiv v1) ``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues ``v``
    of the correlation matrix of per-sample input Jacobians (rows of ``jacobians``).

    The reference uses ``np.linalg.eig``; the matrix is symmetric, so ``eigvalsh`` gives the same
    spectrum without complex round-off. NaN (a zero-variance row) propagates to the caller.
    """
    j = np.asarray(jacobians, dtype=np.float64).reshape(len(jacobians), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(j)
        if not np.all(np.isfinite(corr)):
            return math.nan
        v = np.linalg.eigvalsh(corr)
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def corr_min_eig(features: np.ndarray) -> float:
    """MeCo's per-layer term (Jiang et al., NeurIPS 2023, Eq. 5): the smallest eigenvalue of the
    channel-by-channel Pearson correlation matrix of one feature map ``(channels, positions)``.
    NaN/inf entries (constant channels) are zeroed first, as in the authors' code.
    """
    f = np.asarray(features, dtype=np.float64)
    f = f.reshape(f.shape[0], -1)
    if f.shape[1] < 2:  # one position: every correlation is undefined (the reference zeroes them)
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(f) if f.shape[0] > 1 else np.ones((1, 1))
    corr = np.where(np.isfinite(corr), corr, 0.0)
    return float(np.linalg.eigvalsh(np.atleast_2d(corr))[0])


AZ_ENTROPY_EPS = 1e-8  # AZ-NAS reference: log(p + 1e-8) in the spectrum entropy
AZ_SIGMA_EPS = 1e-6  # AZ-NAS reference: 1 / (sigma + 1e-6) in the trainability term
AZ_TERMS = frozenset({"az_expressivity", "az_progressivity", "az_trainability"})  # one pass scores all three
AZ_INITS = ("kaiming", "default")  # the reference's re-initialisation, or the model's own weights
AZ_BATCH_SIZE = 64  # the NB201 search loader's batch size in the reference notebook


def az_terms_asked(names: Iterable[str], init: str) -> set[str]:
    """The AZ-NAS terms asked of one pass, checked (both frontends take the same options)."""
    asked = set(names)
    if not asked <= AZ_TERMS:
        raise SchemaError(f"az_scores computes {sorted(AZ_TERMS)}, not {sorted(asked - AZ_TERMS)}")
    if init not in AZ_INITS:
        raise SchemaError(f"AZ-NAS init must be one of {AZ_INITS}, got {init!r}")
    return asked


def az_entropy_terms(entropies: Sequence[float]) -> dict[str, float]:
    """Expressivity (the sum of the blocks' spectrum entropies) and progressivity from the same entropies."""
    return {"az_expressivity": float(sum(entropies)), "az_progressivity": az_progressivity(entropies)}


def spectral_entropy(cov: np.ndarray) -> float:
    """AZ-NAS expressivity of one feature map (Lee & Ham, CVPR 2024): the Shannon entropy of the
    eigenvalue spectrum of its channel covariance, normalised to sum to 1.

    High when the features spread evenly over all channel directions (isotropic: ``log C``), 0 when
    they lie on one direction (rank 1). Eigenvalues below 0 are round-off of a PSD matrix and are
    clamped to 0; an all-zero covariance (constant features) gives NaN, which callers rank last.
    """
    v = np.clip(np.linalg.eigvalsh(np.asarray(cov, dtype=np.float64)), 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = v / v.sum()
        return float(-(p * np.log(p + AZ_ENTROPY_EPS)).sum())


def az_progressivity(entropies: Sequence[float]) -> float:
    """AZ-NAS progressivity: the smallest increase of the per-block expressivity from one block to
    the next (a network should gain expressivity at every block, so its worst step is scored)."""
    e = np.asarray(entropies, dtype=np.float64)
    if e.size < 2:
        raise SchemaError(f"progressivity compares consecutive blocks; got {e.size} block(s)")
    return float(np.min(np.diff(e)))


def jacobian_norm_score(cross: np.ndarray) -> float:
    """AZ-NAS trainability term of one block: ``2 - s - 1 / (s + 1e-6)`` (0 at ``s = 1``, negative
    otherwise), ``s`` the largest singular value of ``cross``.

    ``cross = E[g_in g_out^T]`` over positions, with ``g_out`` a Rademacher vector backpropagated to
    ``g_in = J^T g_out``; as ``E[g_out g_out^T] = I`` it estimates the block Jacobian ``J^T``, so
    ``s`` estimates its spectral norm, which should stay near 1 for gradients neither to vanish nor
    to explode.
    """
    s = float(np.linalg.norm(np.asarray(cross, dtype=np.float64), 2))
    return 2.0 - s - 1.0 / (s + AZ_SIGMA_EPS)


def feature_blocks(network: Network) -> list[str]:
    """Names of the blocks whose outputs AZ-NAS scores: every block but the head(s), in order."""
    names = [b.name for b in network.blocks if b.kind != "head"]
    if len(names) < 2:
        raise InvalidArchError(f"AZ-NAS compares consecutive blocks; network {network.name!r} has {len(names)} "
                               f"non-head block(s): {names}")
    return names


def jacobian_pairs(network: Network) -> list[tuple[str, str]]:
    """``(input block, block)`` per scored block that reads another scored block: its latest such input."""
    names = feature_blocks(network)
    order = {n: i for i, n in enumerate(names)}
    pairs = []
    for name in names:
        inputs = [s for s in network.block(name).inputs if s in order]
        if inputs:
            pairs.append((max(inputs, key=order.__getitem__), name))
    return pairs


def meco_score(features: Iterable[np.ndarray]) -> float:
    """MeCo (Jiang et al., NeurIPS 2023, Eq. 6): the sum of :func:`corr_min_eig` over the hooked
    feature maps (one per module call, each ``(channels, ...)`` of the first sample), NaN terms
    dropped as in the authors' code."""
    terms = (corr_min_eig(f) for f in features)
    return float(sum(t for t in terms if not math.isnan(t)))


def check_region_options(samples: object, passes: object, repeats: object, crop: object, image_hw: Sequence[int]) -> None:
    """linear_regions' counts (ints >= 1) and crop side (at most the images' smaller side, which it is cut from)."""
    for option, value in (("samples", samples), ("passes", passes), ("repeats", repeats)):
        check_int("linear_regions", option, value)
    check_int("linear_regions", "crop", crop, high=min(image_hw))


def thin_network(network: Network, *, crop: int = 3) -> Network:
    """TE-NAS's thin copy for counting linear regions (``model_config_thin``: C=1, N=1, no stem):
    the network's first ``cell`` block at one input channel of ``crop x crop``, then its head block.

    Defined for single-input cells (NAS-Bench-201's). TE-NAS's DARTS thin network is another
    construction (the first normal *and* reduction cell at C=1, both inputs fed the crop, a BN-ReLU
    head; its FactorizedReduce pads the odd 3x3 crop, which the official DARTS op, the IR's
    ``factorized_reduce``, refuses), so multi-input cells (DARTS, NASNet) are rejected up front
    rather than scored by a different definition.
    """
    cells = [b for b in network.blocks if b.kind == "cell"]
    if not cells:
        raise InvalidArchError(f"network {network.name!r} has no block of kind 'cell' to build TE-NAS's thin network from")
    if len(cells[0].arch.input_nodes) != 1:
        raise InvalidArchError(f"linear_regions builds TE-NAS's thin network from single-input cells (NAS-Bench-201's); "
                               f"block {cells[0].name!r} of network {network.name!r} takes {len(cells[0].arch.input_nodes)} "
                               f"inputs (a DARTS/NASNet cell), whose thin network TE-NAS builds differently: not supported")
    blocks = [Block("cells.0", cells[0].arch, kind="cell")]
    heads = [b for b in network.blocks if b.kind == "head"]
    if heads:
        blocks.append(Block("head", heads[-1].arch, kind="head"))
    return Network(tuple(blocks), (1, crop, crop), name=f"{network.name}-thin")


def one_channel_crops(images: np.ndarray, n: int, crop: int, rng: np.random.Generator) -> np.ndarray:
    """TE-NAS's region-count inputs (``RandomCrop(crop)`` + ``RandChannel(1)``): ``n`` random
    ``crop x crop`` patches of one random channel of NCHW ``images``, ``(n, 1, crop, crop)``; each
    image is used once before any is reused (a shuffled loader's order)."""
    b, c, h, w = images.shape
    idx = np.concatenate([rng.permutation(b) for _ in range(math.ceil(n / b))])[:n]
    chan = rng.integers(0, c, size=n)
    off = np.arange(crop)
    rows = rng.integers(0, h - crop + 1, size=n)[:, None] + off
    cols = rng.integers(0, w - crop + 1, size=n)[:, None] + off
    return images[idx[:, None, None], chan[:, None, None], rows[:, :, None], cols[:, None, :]][:, None]


def count_patterns(codes: np.ndarray) -> int:
    """Distinct rows of a binary ``(samples, units)`` ReLU code matrix: the linear regions hit
    (TE-NAS's ``calc_LR`` sums reciprocal multiplicities, the same number). No unit: one region."""
    codes = np.asarray(codes, dtype=bool)
    if codes.shape[1] == 0:
        return 1
    return int(np.unique(np.packbits(codes, axis=1), axis=0).shape[0])


def swap_regular_factor(params: int, mu: float | None, sigma: float | None) -> float:
    """SWAP's regularisation (Peng et al., ICLR 2024): ``exp(-(params/1e3 - mu)^2 / sigma)``, 1 without
    ``mu`` and ``sigma``; ``params`` counts trainable weights (no BN statistics)."""
    if mu is None or sigma is None:
        return 1.0
    return math.exp(-((params / 1e3 - mu) ** 2) / sigma)


def ntk_trace_norm(sq_norms: Sequence[float]) -> float:
    """HNAS's ``M_trace = sqrt(||Theta||_tr / m)`` (Shu et al., NeurIPS 2022) from the per-sample
    squared gradient norms ``||d f(x_i) / d theta||^2``, the diagonal of the NTK ``J J^T``."""
    return math.sqrt(sum(sq_norms) / len(sq_norms))


def zico_score(layer_grads: Sequence[np.ndarray]) -> float:
    """ZiCo (Li et al., ICLR 2023, Eq. 4-5; SLDGroup/ZiCo ``getzico``) from per-layer gradients.

    Args:
        layer_grads: per conv/linear layer, a ``(mini-batches, weights)`` array of loss gradients.

    Returns:
        ``sum over layers of log(sum_theta mean_b|g| / std_b(g))`` over the weights whose gradient
        varies between mini-batches (population std, as ``np.std``); a layer whose sum is 0 is
        skipped, as in the reference.
    """
    total = 0.0
    for g in layer_grads:
        g = np.asarray(g, dtype=np.float64).reshape(len(g), -1)
        std = g.std(axis=0)
        keep = std != 0
        ratio = float((np.abs(g).mean(axis=0)[keep] / std[keep]).sum())
        if ratio != 0:
            total += math.log(ratio)
    return total


def condition_number(eigenvalues: np.ndarray, *, nan_value: float = 1e5) -> float:
    """``lambda_max / lambda_min`` of a symmetric PSD spectrum (TE-NAS NTK trainability, Sec. 3.1).

    TE-NAS replaces a NaN ratio by ``1e5`` (its ``np.nan_to_num(..., nan=100000.0)``); kept here. A singular
    NTK (``lambda_min <= 0``, which round-off can make slightly negative) is infinitely ill-conditioned: ``inf``,
    where the plain ratio would flip sign and rank the worst network best.
    """
    v = np.sort(np.asarray(eigenvalues, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v[-1] / v[0]
    if math.isnan(ratio):
        return float(nan_value)
    return math.inf if v[0] <= 0 else float(ratio)


def _reaches_output(arch: Arch, live_inputs: set[str]) -> bool:
    """Whether ``arch``'s output depends on a live input through non-``zero`` ops."""
    live: set[str] = set()
    for node in arch.nodes:
        if arch.op(node) == "input":
            if node in live_inputs:
                live.add(node)
        elif arch.op(node) != "zero" and any(p in live for p in arch.inputs(node)):
            live.add(node)
    return arch.output_node in live


def ir_constant_output(network: Network) -> bool:
    """True when no input-to-output path of an IR ``Network`` avoids ``zero`` ops (e.g. an
    all-``none`` NB201 cell): every proxy of every frontend then scores the network ``-inf``
    without running it."""
    live = {"input"}
    for block in network.blocks:
        ports = {node for node, src in zip(block.arch.input_nodes, block.inputs) if src in live}
        if _reaches_output(block.arch, ports):
            live.add(block.name)
    return network.blocks[-1].name not in live


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 = lowest); NaN and -inf share the lowest places (ranked last)."""
    x = np.asarray(values, dtype=np.float64).copy()
    x[~np.isfinite(x) & ~(x == np.inf)] = -np.inf
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def rank_aggregate(scores: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """TE-NAS-style combination: the (weighted) sum of each proxy's ranks over the same architectures.

    Every proxy must already be "higher is better"; a degenerate (-inf/NaN) value takes the lowest
    rank of its proxy, so one broken score cannot lift an architecture.
    """
    if not scores:
        raise ScorerOutputError("rank_aggregate needs at least one proxy's scores")
    lengths = {len(v) for v in scores.values()}
    if len(lengths) != 1:
        raise ScorerOutputError(f"every proxy must score the same architectures; got lengths {sorted(lengths)}")
    total = np.zeros(lengths.pop())
    for name, values in scores.items():
        total += (1.0 if weights is None else float(weights[name])) * ranks(values)
    return total


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rho with average ranks (ties), NaN/-inf ranked lowest."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / den) if den else math.nan


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall tau-b (O(n^2), fine for a few thousand architectures), NaN/-inf ranked lowest."""
    ra, rb = ranks(a), ranks(b)
    da = np.sign(ra[:, None] - ra[None, :])
    db = np.sign(rb[:, None] - rb[None, :])
    iu = np.triu_indices(len(ra), 1)
    da, db = da[iu], db[iu]
    den = math.sqrt(float(np.count_nonzero(da)) * float(np.count_nonzero(db)))
    return float((da * db).sum() / den) if den else math.nan
