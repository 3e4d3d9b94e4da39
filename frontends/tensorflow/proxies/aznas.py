"""AZ-NAS (Lee & Ham, CVPR 2024; cvlab-yonsei/AZ-NAS): expressivity, progressivity and trainability from one pass.

The torch frontend's definition (its module docstring gives the reference and the deviations):
Kaiming-normal re-initialisation (fan_in, ReLU gain) of conv/linear kernels, zero biases,
BatchNorm gamma 1 / beta 0 (``init="default"`` keeps the model's weights); 64 N(0, 1) images;
BatchNorm in train mode; the block outputs of :func:`nasir.proxy_math.feature_blocks`.
Expressivity and progressivity come from the spectra of the channel covariances (float64,
:func:`nasir.proxy_math.spectral_entropy`); trainability backpropagates a Rademacher ``g_out``
from each block of :func:`nasir.proxy_math.jacobian_pairs` (last block first) to its input,
pixel-unshuffles the higher-resolution side in torch's channel order, and scores
``M = g_in^T g_out / positions`` (:func:`nasir.proxy_math.jacobian_norm_score`); an identity
block gives ``-inf``; the score is the mean over blocks.

Feature maps are NHWC here; covariances are over channels, so the layout only matters where
positions are regrouped (pixel-unshuffle) and where NCHW draws are handed in.

Draws: torch draws the Kaiming weights, the input and the Rademacher vectors from its own
generator, which TensorFlow cannot reproduce; here each is drawn from its own numpy stream seeded
by ``seed`` (same distributions). To compare the frameworks, the options take torch's:
``weights`` (its re-initialised neutral weights, imported instead of this init), ``x`` (the input,
NCHW) and ``signs`` (the ``g_out`` tensors, NCHW, in the order torch draws them). In float64 the
float32 draws are widened, as torch widens its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from nasir import proxy_math
from nasir.errors import InvalidArchError, SchemaError
from nasir.frontends.tensorflow.models import NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, check_output, normal_reinit, run_blocks, to_nhwc
from nasir.frontends.tensorflow.weights import copy_model, import_weights
from nasir.proxies import fused_member
from nasir.proxy_math import feature_blocks, jacobian_pairs

__all__ = ["FUSED", "BATCH_SIZE", "az_scores", "az_expressivity", "az_progressivity", "az_trainability"]

FUSED, BATCH_SIZE, INITS = proxy_math.AZ_TERMS, proxy_math.AZ_BATCH_SIZE, proxy_math.AZ_INITS
_INIT, _INPUT, _SIGNS = range(3)  # one numpy stream per draw: handing in one leaves the others unchanged


def _stream(seed: int, kind: int) -> np.random.Generator:
    return np.random.default_rng((seed, 2024, kind))


def _kaiming_init(model: NetworkModel, rng: np.random.Generator) -> None:
    """The reference's ``kaiming_norm_fanin`` init (fan_in of a Keras kernel: all axes but the last)."""
    normal_reinit(model, rng, lambda shape: math.sqrt(2.0 / math.prod(shape[:-1])))


def _channel_cov(feat: tf.Tensor) -> np.ndarray:
    """Covariance of the channels over batch and positions (float64), as ``(C, C)``."""
    f = np.asarray(feat, dtype=np.float64).reshape(-1, feat.shape[-1])
    f = f - f.mean(axis=0, keepdims=True)
    return f.T @ f / f.shape[0]


def _pixel_unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    """``F.pixel_unshuffle`` on NHWC: channel ``c * r * r + i * r + j`` holds offset ``(i, j)`` of channel ``c``,
    torch's order (``tf.nn.space_to_depth`` puts ``c`` last), so ``M`` equals torch's entry for entry."""
    n, h, w, c = x.shape
    return x.reshape(n, h // r, r, w // r, r, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, h // r, w // r, c * r * r)


def _same_positions(g_in: np.ndarray, g_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-unshuffles the higher-resolution gradient so both cover the same positions (reference: stride-2 blocks)."""
    if g_in.shape[1:-1] == g_out.shape[1:-1]:
        return g_in, g_out
    down = math.prod(g_in.shape[1:-1]) > math.prod(g_out.shape[1:-1])
    big, small = (g_in, g_out) if down else (g_out, g_in)
    factor = big.shape[1] // small.shape[1] if big.ndim == 4 and small.shape[1] else 0
    if not factor or tuple(s * factor for s in small.shape[1:-1]) != big.shape[1:-1]:
        chw = lambda g: (g.shape[-1], *g.shape[1:-1])  # noqa: E731  (the IR's convention, as torch reports it)
        raise InvalidArchError(f"AZ-NAS trainability pairs positions by one integer down-sampling factor; got block "
                               f"input {chw(g_in)} and output {chw(g_out)}")
    big = _pixel_unshuffle(big, factor)
    return (big, small) if down else (small, big)


def _block_term(g_in: tf.Tensor, g_out: tf.Tensor) -> float:
    """One block's trainability term; ``-inf`` for an identity block (its input gradient is ``g_out`` exactly)."""
    if g_in.shape == g_out.shape and bool(tf.reduce_all(g_in == g_out)):
        return -math.inf
    a, b = _same_positions(np.asarray(g_in, dtype=np.float64), np.asarray(g_out, dtype=np.float64))
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    return proxy_math.jacobian_norm_score(a.T @ b / b.shape[0])


def _g_outs(pairs: Sequence[tuple[str, str]], shapes: Mapping[str, tuple[int, ...]], n: int, seed: int, dtype: str,
            signs: Sequence[np.ndarray] | None) -> list[tf.Tensor]:
    """The Rademacher ``g_out`` per pair (NHWC), last block first (torch's draw order); ``signs`` (NCHW) when given."""
    if signs is None:
        rng = _stream(seed, _SIGNS)
        signs = [rng.integers(0, 2, (n, *shapes[dst])) * 2 - 1 for _, dst in reversed(pairs)]
    elif len(signs) != len(pairs):
        raise SchemaError(f"AZ-NAS trainability draws one g_out per scored block pair ({len(pairs)}), got {len(signs)}")
    return [to_nhwc(np.asarray(g, dtype=np.float32), dtype) for g in signs]


def _block_outputs(model: NetworkModel, x: tf.Tensor) -> dict[str, tf.Tensor]:
    """Every block's output in train mode."""
    return run_blocks(model, x, lambda m, ins: m(ins if len(ins) > 1 else ins[0], training=True))


def _input_gradient(model: NetworkModel, feats: Mapping[str, tf.Tensor], src: str, dst: str, g_out: tf.Tensor) -> tf.Tensor:
    """``g_out``'s vector-Jacobian product from block ``dst`` back to its input block ``src``.

    ``dst`` is re-run on a tape of its own: one tape over the whole network would walk every earlier
    block for every pair (TensorFlow's tape does not prune to the sources), which made the pass
    quadratic in depth. The re-run gives the same output (BN in train mode normalises by the batch),
    and nothing else between them reads ``src`` (it is ``dst``'s latest scored input,
    :func:`nasir.proxy_math.jacobian_pairs`), so this is the whole network's gradient.
    """
    ins = [feats[i] for i in model.network.block(dst).inputs]
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(feats[src])
        out = model.block_models[dst](ins if len(ins) > 1 else ins[0], training=True)
    g_in = tape.gradient(out, feats[src], output_gradients=g_out)
    return tf.zeros_like(feats[src]) if g_in is None else g_in


def _trainability(model: NetworkModel, pairs: Sequence[tuple[str, str]], feats: Mapping[str, tf.Tensor],
                  g_outs: Sequence[tf.Tensor]) -> float:
    """Mean block term, last block first; an input the block does not depend on has a zero gradient (about -1e6)."""
    terms = [_block_term(_input_gradient(model, feats, src, dst, g_out), g_out)
             for (src, dst), g_out in zip(reversed(pairs), g_outs)]
    return float(np.mean(terms))


def az_scores(subject: Subject, batch: Batch | None = None, names: Iterable[str] = FUSED, *, batch_size: int = BATCH_SIZE,
              init: str = "kaiming", weights: Mapping[str, np.ndarray] | None = None, x: np.ndarray | None = None,
              signs: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """The AZ-NAS terms in ``names`` (a subset of :data:`FUSED`) from one forward pass.

    ``batch`` is unused: AZ-NAS feeds Gaussian noise. The scored weights are a private copy (the
    subject is shared with other proxies). ``weights``, ``x`` and ``signs`` take torch's draws
    (module docstring); ``x`` sets the batch size. Raw values may be NaN/-inf; the caller's guard
    turns them into ``-inf`` with a warning.
    """
    names = proxy_math.az_terms_asked(names, init)
    network = subject.network
    if network is None or not isinstance(subject.model, NetworkModel):
        raise InvalidArchError("AZ-NAS scores the block outputs of a nasir Network; score a Network (or its lowered model)")
    blocks = feature_blocks(network)
    dtype = subject.model.compute_dtype
    model = copy_model(subject.model, dtype=dtype)
    if weights is not None:
        import_weights(model, weights)
    elif init == "kaiming":
        _kaiming_init(model, _stream(subject.seed, _INIT))
    if x is None:
        x = _stream(subject.seed, _INPUT).standard_normal((batch_size, *network.input_shape), dtype=np.float32)
    feats = _block_outputs(model, to_nhwc(np.asarray(x, dtype=np.float32), dtype))
    check_output(feats[network.blocks[-1].name])
    scores: dict[str, float] = {}
    if names & {"az_expressivity", "az_progressivity"}:
        scores |= proxy_math.az_entropy_terms([proxy_math.spectral_entropy(_channel_cov(feats[n])) for n in blocks])
    if "az_trainability" in names:
        pairs = jacobian_pairs(network)
        g_outs = _g_outs(pairs, network.block_shapes(), int(x.shape[0]), subject.seed, dtype, signs)
        scores["az_trainability"] = _trainability(model, pairs, feats, g_outs)
    return {n: scores[n] for n in names}


# expressivity: sum of the blocks' spectrum entropies; progressivity: their smallest increase; trainability:
# mean block term 2 - s - 1/s (0 best). Higher is better for all three.
az_expressivity, az_progressivity, az_trainability = (fused_member(az_scores, n) for n in sorted(FUSED))
