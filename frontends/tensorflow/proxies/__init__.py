"""Zero-cost proxies in TensorFlow: ``score(network, "naswot", data, seed=0)`` -> one float, higher is better.

The same definitions and reference settings as ``nasir.frontends.torch.proxies`` (specs in
:data:`nasir.proxies.PROXIES`; batch sizes, BatchNorm in train mode, synflow in float64 on an
all-ones input with ``|theta|``); TensorFlow supplies the forward passes and autodiff, the
closing formulas come from :mod:`nasir.proxy_math`. Given the same neutral weights and the same
batch (a float NCHW array, or un-augmented uint8 images), both frontends compute the same score
up to float32 round-off (which gennas' 100 SGD steps amplify, as they do between two torch runs).
``dtype="float64"`` scores that same problem (the float32 weights, batch and draws, widened) in
double precision, where the two frameworks agree to ~1e-12: a check of definitions, not of rounding.

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.data import load_sample
    >>> from nasir.frontends.tensorflow.proxies import score, score_many
    >>> net = space.network(space.from_index(6111))
    >>> score(net, "synflow", load_sample(), seed=0)                          # doctest: +SKIP
    >>> score_many([net], ["naswot", "snip", "flops"], load_sample(), seed=0)  # doctest: +SKIP

Guarantees (as in the torch frontend): the caller's Network/model is never modified (scoring runs
on a private copy; every proxy runs BatchNorm in train mode, whose output never reads the moving
statistics the pass updates, so the copy is shared, except by synflow which builds its own
float64 ``|theta|`` copy, gennas which trains its own and AZ-NAS and SWAP which re-initialise their own);
the same ``seed`` gives the same weights, batch and score; an architecture whose output is
constant, or whose score is NaN/inf, scores ``-inf`` with a :class:`~nasir.proxy_math.ProxyWarning`;
data a proxy cannot use, an unknown option and running out of memory raise.
Augmented batches (uint8 images) are drawn from numpy, not torch's generator: same distribution,
other crops. What a proxy draws besides the weights and batch, from the same seed, also has
TensorFlow's values where torch draws it with its own generator (linear_regions' thin network,
gennas' heads, meco's input image, AZ-NAS' Kaiming weights, noise and Rademacher vectors, SWAP's 32
N(0, 1) re-inits); the options ``thin_weights``, ``head_weights``, ``image``, AZ-NAS' ``weights``, ``x``,
``signs`` and SWAP's ``weights`` take the torch frontend's, to compare frameworks.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from nasir.errors import UnsupportedProxyError
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies import cost, grasp, jacob_cov, loss_gradient, naswot, synflow, tenas, zico
from nasir.frontends.tensorflow.proxies import aznas, gennas, hnas, linear_regions, meco, swap
from nasir.frontends.tensorflow.proxies._common import (Batch, DegenerateNetwork, Subject, classes, input_shape, make_batch,
                                                       make_subject)
from nasir.ir import Network
from nasir.proxies import PROXIES, ProxyImpl, unsupported_by
from nasir.proxy_batches import check_dtype, plan_batches
from nasir.proxy_math import ProxyWarning, finite_score, ir_constant_output
from nasir.registry import Registry
from nasir.rng import Seed

__all__ = ["TFProxy", "TF_PROXIES", "UNSUPPORTED", "score", "score_many", "score_network", "unsupported_proxies", "ProxyWarning"]

Model = Network | ArchModel | NetworkModel


TFProxy = ProxyImpl  # a TensorFlow fn(subject, batch, **options) -> float for a spec

TF_PROXIES: Registry[TFProxy] = Registry("tensorflow proxy")
UNSUPPORTED: dict[str, str] = {}

for _name, _fn in (
    ("naswot", naswot.naswot),
    ("jacob_cov", jacob_cov.jacob_cov),
    ("synflow", synflow.synflow),
    ("snip", loss_gradient.snip),
    ("grasp", grasp.grasp),
    ("fisher", loss_gradient.fisher),
    ("grad_norm", loss_gradient.grad_norm),
    ("params", cost.params),
    ("flops", cost.flops),
    ("ntk_cond", tenas.ntk_cond),
    ("zico", zico.zico),
    ("linear_regions", linear_regions.linear_regions),
    ("meco", meco.meco),
    ("ntk_trace", hnas.ntk_trace),
    ("gennas", gennas.gennas),
    ("swap", swap.swap),
    ("az_expressivity", aznas.az_expressivity),
    ("az_progressivity", aznas.az_progressivity),
    ("az_trainability", aznas.az_trainability),
):
    TF_PROXIES.register(_name, TFProxy(PROXIES.get(_name), _fn))
for _name in PROXIES:
    if _name not in TF_PROXIES and _name not in UNSUPPORTED:
        UNSUPPORTED[_name] = "not implemented in the TensorFlow frontend yet"

# proxies one shared pass scores together (as the torch frontend's GROUPS): fn(subject, batch, names, **options)
GROUPS: tuple[tuple[frozenset[str], Callable[..., dict[str, float]]], ...] = (
    (loss_gradient.LOSS_GRADIENT, loss_gradient.loss_gradient), (aznas.FUSED, aznas.az_scores))


def unsupported_proxies() -> dict[str, str]:
    """Proxy specs this frontend does not implement, each with the reason (specs registered later included)."""
    return unsupported_by(TF_PROXIES, UNSUPPORTED, "TensorFlow")


def _batches(proxies: Sequence[TFProxy], data: Any, seed: Seed, subject: Subject, dtype: str) -> dict[tuple[int, bool], Batch]:
    # the torch frontend's plan: the same draws keep a shared numpy Generator seed in step with torch's
    shape = input_shape(subject)
    plan = plan_batches(proxies, data, shape_known=True)
    n_classes = classes(subject) if any(plan.values()) else None
    return {k: make_batch(data, k[0], seed, augment_images=k[1], input_shape=shape, dtype=dtype,
                          classes=n_classes if labelled else None)
            for k, labelled in plan.items()}


def _degenerate(name: str, why: str) -> float:
    warnings.warn(f"proxy {name!r}: {why}; ranked last as -inf", ProxyWarning, stacklevel=3)
    return -math.inf


def _guarded(run: Callable[[], Any], catch: bool, names: set[str]) -> dict[str, float]:
    try:
        result = run()
    except DegenerateNetwork as err:
        return {n: _degenerate(n, str(err)) for n in names}
    except (tf.errors.OpError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as err:
        if not catch or isinstance(err, tf.errors.ResourceExhaustedError):  # out of memory: the run's, not the architecture's
            raise
        return {n: _degenerate(n, f"{type(err).__name__}: {err}") for n in names}
    values = result if isinstance(result, dict) else {next(iter(names)): result}
    return {n: finite_score(v, f"proxy {n!r}") for n, v in values.items()}


def _same_options(opts: Sequence[dict[str, Any]]) -> bool:
    """Whether every member of a fused group got equal options; arrays (torch's draws) count as equal
    only when they are the same objects (numpy compares distinct arrays elementwise, not to one bool)."""
    try:
        return all(o == opts[0] for o in opts)
    except ValueError:
        return False


def score_network(obj: Model, proxies: Sequence[str], data: Any, *, seed: Seed = 0, device: str | None = None,
                  fused: bool = True, catch: bool = False, options: dict[str, dict[str, Any]] | None = None,
                  dtype: str = "float32") -> dict[str, float]:
    """Scores one architecture with several proxies (sharing batches and, when ``fused``, one pass per
    :data:`GROUPS` group: snip/grad_norm/fisher, and the AZ-NAS terms when their options agree).
    ``catch`` turns numerical failures into ``-inf`` (not running out of memory).
    ``device`` is a TensorFlow device string (``"/CPU:0"``, ``"/GPU:0"``); None lets TF place ops.
    ``dtype="float64"`` scores the same weights and batch widened to double precision."""
    check_dtype(dtype)
    impls = [TF_PROXIES.get(name) for name in proxies]
    for name, given in (options or {}).items():
        TF_PROXIES.get(name).check_options(given)
    network = obj if isinstance(obj, Network) else getattr(obj, "network", None)
    if isinstance(network, Network) and ir_constant_output(network):
        return {p.spec.name: _degenerate(p.spec.name, "the network's output does not depend on its input") for p in impls}
    if isinstance(obj, Network) and all(p.spec.ir_only for p in impls):
        bare = Subject(None, obj)  # IR-only proxies: no lowering needed
        return {p.spec.name: finite_score(p.fn(bare, None), f"proxy {p.spec.name!r}") for p in impls}
    with tf.device(device) if device else contextlib.nullcontext():
        subject = make_subject(obj, seed, dtype)
        batches = _batches(impls, data, seed, subject, dtype)
        out: dict[str, float] = {}
        for members, run in GROUPS if fused else ():
            shared = {p.spec.name for p in impls if p.spec.name in members}
            opts = [(options or {}).get(n, {}) for n in sorted(shared)]
            if len(shared) > 1 and _same_options(opts):
                lead = TF_PROXIES.get(min(shared))  # members share batch settings
                batch = batches.get((lead.batch_size, lead.augment))
                out.update(_guarded(lambda: run(subject, batch, shared, **opts[0]), catch, shared))
        for p in impls:
            if p.spec.name in out:
                continue
            batch = batches.get((p.batch_size, p.augment))
            opts = (options or {}).get(p.spec.name, {})
            out.update(_guarded(lambda: p.fn(subject, batch, **opts), catch, {p.spec.name}))
    return {name: out[name] for name in proxies}


def score(obj: Model, proxy: str, data: Any = None, *, seed: Seed = 0, device: str | None = None, dtype: str = "float32",
          **options: Any) -> float:
    """One proxy's score of one architecture (higher is better); see the module docstring.

    Args:
        obj: an IR Network (lowered with PyTorch's default init distribution from ``seed``) or a
            model from :func:`nasir.frontends.tensorflow.lower` (copied, any layout).
        proxy: a name in :data:`TF_PROXIES` (``nasir.proxies.PROXIES`` has the specs).
        data: ``nasir.data.ImageData`` or ``(x, y)``: uint8 NHWC images, or float NCHW already
            normalised (the torch frontend's convention), ``y`` None when no proxy reads labels; needed by
            the proxies whose spec needs ``data`` (the others run without it).
        seed: weights and batch; same seed, same score.
        device: a TensorFlow device string, or None.
        dtype: ``"float32"`` (default) or ``"float64"`` (the same weights and batch, widened).
        options: proxy options, e.g. ``bn="identity"`` for synflow.
    """
    if proxy in UNSUPPORTED:
        raise UnsupportedProxyError(f"proxy {proxy!r} has no TensorFlow implementation: {UNSUPPORTED[proxy]}")
    return score_network(obj, [proxy], data, seed=seed, device=device, fused=False, options={proxy: options}, dtype=dtype)[proxy]


def score_many(objs: Iterable[Model], proxies: Sequence[str], data: Any = None, *, seed: Seed = 0, device: str | None = None,
               fused: bool = True, options: dict[str, dict[str, Any]] | None = None, dtype: str = "float32") -> dict[str, np.ndarray]:
    """Scores many architectures; returns ``{proxy: float64 array, one per architecture}``.

    A numerical failure or degenerate architecture gives ``-inf`` for that cell (with a warning);
    the run goes on.
    """
    rows = [score_network(o, proxies, data, seed=seed, device=device, fused=fused, catch=True, options=options, dtype=dtype)
            for o in objs]
    return {p: np.array([r[p] for r in rows], dtype=np.float64) for p in proxies}
