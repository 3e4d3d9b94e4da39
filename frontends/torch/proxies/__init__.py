"""Zero-cost proxies in PyTorch: ``score(network, "naswot", data, seed=0)`` -> one float, higher is better.

Specs (what each proxy needs, citation, reference settings) live in :data:`nasir.proxies.PROXIES`;
this package maps each spec to a PyTorch implementation (:data:`TORCH_PROXIES`) or lists it in
:data:`UNSUPPORTED` with the reason.

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.data import load_sample
    >>> from nasir.frontends.torch.proxies import score, score_many
    >>> net = space.network(space.from_index(6111))
    >>> score(net, "synflow", load_sample(), seed=0)                 # doctest: +SKIP
    >>> score_many([net], ["naswot", "snip", "flops"], load_sample(), seed=0)  # doctest: +SKIP

Guarantees: the caller's Network/module is never modified (each proxy scores a private copy); the
same ``seed`` gives the same weights, batch and score; CPU and CUDA share one code path
(``device``); an architecture whose output is constant (found from the IR, or from identical
outputs over the batch) or whose score is NaN/inf scores ``-inf`` with a
:class:`~nasir.proxy_math.ProxyWarning` instead of raising; what is not the architecture's doing
raises: data a proxy cannot use (none, no labels, labels out of range), a bare module refusing the
data's image shape, an unknown option, running out of memory.
``dtype="float64"`` scores the same weights and batch widened to double precision (e.g. to tell
a proxy's own amplification of float32 round-off from a difference of definitions).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nasir.errors import ShapeMismatchError, UnsupportedProxyError
from nasir.ir import Network
from nasir.proxies import PROXIES, ProxyImpl, unsupported_by
from nasir.proxy_batches import check_dtype, plan_batches
from nasir.proxy_math import ProxyWarning, finite_score, ir_constant_output
from nasir.registry import Registry
from nasir.rng import Seed
from nasir.frontends.torch.proxies import cost, fisher, grad_norm, grasp, jacob_cov, meco, naswot, snip, synflow, tenas, zico
from nasir.frontends.torch.proxies import aznas, gennas, hnas, linear_regions, swap
from nasir.frontends.torch.proxies._common import Batch, Subject, classes, input_shape, make_batch, make_subject
from nasir.frontends.torch.proxies._fused import GROUPS
from nasir.frontends.torch.proxies._guard import DegenerateNetwork

__all__ = ["TorchProxy", "TORCH_PROXIES", "UNSUPPORTED", "score", "score_many", "score_network", "unsupported_proxies", "ProxyWarning"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TorchProxy(ProxyImpl):
    """A PyTorch implementation of a spec.

    ``fn(subject, batch, **options)`` may rewrite ``subject.model`` (modes, grads, weights): callers give it a
    private model (:func:`score_network` does). ``plain`` is the unbatched/unfused definition the tests compare
    ``fn`` against (``None`` when ``fn`` is already the plain definition).
    """

    plain: Callable[..., float] | None = None
    options: dict[str, Any] = field(default_factory=dict)


TORCH_PROXIES: Registry[TorchProxy] = Registry("torch proxy")
UNSUPPORTED: dict[str, str] = {}

for _name, _fn, _plain in (
    ("naswot", naswot.naswot, naswot.naswot_plain),
    ("jacob_cov", jacob_cov.jacob_cov, None),
    ("synflow", synflow.synflow, None),
    ("snip", snip.snip, None),
    ("grasp", grasp.grasp, None),
    ("fisher", fisher.fisher, None),
    ("grad_norm", grad_norm.grad_norm, None),
    ("params", cost.params, None),
    ("flops", cost.flops, None),
    ("ntk_cond", tenas.ntk_cond, None),
    ("meco", meco.meco, None),
    ("zico", zico.zico, None),
    ("linear_regions", linear_regions.linear_regions, None),
    ("ntk_trace", hnas.ntk_trace, None),
    ("gennas", gennas.gennas, None),
    ("swap", swap.swap, swap.swap_plain),
    ("az_expressivity", aznas.az_expressivity, None),
    ("az_progressivity", aznas.az_progressivity, None),
    ("az_trainability", aznas.az_trainability, None),
):
    TORCH_PROXIES.register(_name, TorchProxy(PROXIES.get(_name), _fn, _plain))
for _name in PROXIES:
    if _name not in TORCH_PROXIES and _name not in UNSUPPORTED:
        UNSUPPORTED[_name] = "not implemented in the PyTorch frontend yet"


def unsupported_proxies() -> dict[str, str]:
    """Proxy specs this frontend does not implement, each with the reason (specs registered later included)."""
    return unsupported_by(TORCH_PROXIES, UNSUPPORTED, "PyTorch")


def _batches(proxies: Sequence[TorchProxy], data: Any, seed: Seed, subject: Subject, dtype: str) -> dict[tuple[int, bool], Batch]:
    shape = input_shape(subject)
    plan = plan_batches(proxies, data, shape is not None)
    n_classes = classes(subject) if any(plan.values()) else None
    return {k: make_batch(data, k[0], seed, augment_images=k[1], device=subject.device, input_shape=shape, dtype=dtype,
                          classes=n_classes if labelled else None)
            for k, labelled in plan.items()}


def _degenerate(name: str, why: str) -> float:
    warnings.warn(f"proxy {name!r}: {why}; ranked last as -inf", ProxyWarning, stacklevel=3)
    return -math.inf


def score_network(obj: Network | nn.Module, proxies: Sequence[str], data: Any, *, seed: Seed = 0,
                  device: str | torch.device | None = None, fused: bool = True, catch: bool = False,
                  options: dict[str, dict[str, Any]] | None = None, dtype: str = "float32") -> dict[str, float]:
    """Scores one architecture with several proxies (sharing batches and, when ``fused``, one pass
    per :data:`~nasir.frontends.torch.proxies._fused.GROUPS` group: snip/grad_norm/fisher, and the
    AZ-NAS terms when their options agree). ``catch`` turns numerical failures into ``-inf`` (not running
    out of memory, nor a bare module refusing the data's image shape: ShapeMismatchError).
    ``dtype="float64"`` scores the same weights and batch widened to double precision."""
    check_dtype(dtype)
    impls = [TORCH_PROXIES.get(name) for name in proxies]
    for name, given in (options or {}).items():
        TORCH_PROXIES.get(name).check_options(given)
    if isinstance(obj, Network) and all(p.spec.ir_only for p in impls):
        if ir_constant_output(obj):
            return {p.spec.name: _degenerate(p.spec.name, "the network's output does not depend on its input") for p in impls}
        bare = Subject(nn.Identity(), obj, torch.device("cpu"), 0)  # IR-only proxies: no lowering needed
        return {p.spec.name: finite_score(p.fn(bare, None), f"proxy {p.spec.name!r}") for p in impls}
    subject = make_subject(obj, seed, device, dtype)
    if subject.network is not None and ir_constant_output(subject.network):
        return {p.spec.name: _degenerate(p.spec.name, "the network's output does not depend on its input") for p in impls}
    batches = _batches(impls, data, seed, subject, dtype)
    # images a bare module of unknown input shape is fed: a shape error in its pass is about them, not the architecture
    unchecked = next((tuple(b.x.shape[1:]) for b in batches.values()), None) if input_shape(subject) is None else None
    passes: list[tuple[set[str], Callable[[Subject], Any]]] = []  # (proxies one pass scores, the pass)
    for group in GROUPS if fused else ():
        shared = {p.spec.name for p in impls if p.spec.name in group.members}
        opts = [{**TORCH_PROXIES.get(n).options, **(options or {}).get(n, {})} for n in sorted(shared)]
        if len(shared) > 1 and all(o == opts[0] for o in opts):
            lead = TORCH_PROXIES.get(min(shared))  # members share batch settings
            batch = batches.get((lead.batch_size, lead.augment))
            passes.append((shared, lambda s, g=group, b=batch, n=shared, o=opts[0]: g.run(s, b, n, **o)))
    planned = {name for names, _ in passes for name in names}
    for p in impls:
        if p.spec.name in planned:
            continue
        planned.add(p.spec.name)
        batch = batches.get((p.batch_size, p.augment))
        opts = {**p.options, **(options or {}).get(p.spec.name, {})}
        passes.append(({p.spec.name}, lambda s, p=p, b=batch, o=opts: p.fn(s, b, **o)))
    out: dict[str, float] = {}
    for i, (names, run) in enumerate(passes):
        # proxies change modes, grads and weights of what they score, so each pass gets its own copy; the
        # subject is already private (lowered or copied above), so the last pass takes it as it is
        mine = subject if i == len(passes) - 1 else _copy(subject)
        out.update(_guarded(lambda: run(mine), catch, names, unchecked))
    return {name: out[name] for name in proxies}


def _copy(subject: Subject) -> Subject:
    return Subject(subject.fresh(), subject.network, subject.device, subject.seed)


# torch's messages for running out of memory (CUDA's OutOfMemoryError, the CPU and MPS allocators' RuntimeError)
_OUT_OF_MEMORY = re.compile(r"out of memory|can't allocate memory|not enough memory", re.IGNORECASE)
# torch's messages for a layer refusing its input's shape (linear, conv, pooling, view/reshape)
_SHAPE_REFUSED = re.compile(r"shapes cannot be multiplied|size mismatch|expected input\[|but got input of size|"
                            r"Output size is too small|shape '\[.*\]' is invalid for input of size|don't multiply up to the size")


def _guarded(run: Callable[[], Any], catch: bool, names: set[str], unchecked: tuple[int, ...] | None) -> dict[str, float]:
    """Runs one pass; ``catch`` turns a numerical failure (NaN, a linalg error) into ``-inf`` for its proxies,
    but never running out of memory, nor a bare module refusing the ``unchecked`` images' shape: those are
    the run's configuration, and would score every architecture -inf."""
    try:
        result = run()
    except DegenerateNetwork as err:
        return {n: _degenerate(n, str(err)) for n in names}
    except (RuntimeError, ArithmeticError, np.linalg.LinAlgError) as err:
        if unchecked is not None and isinstance(err, RuntimeError) and _SHAPE_REFUSED.search(str(err)):
            raise ShapeMismatchError(f"the module does not take the data's images of shape {unchecked} (C, H, W): {err}; "
                                     "pass images of the module's input shape") from err
        if not catch or isinstance(err, torch.OutOfMemoryError) or _OUT_OF_MEMORY.search(str(err)):
            raise
        return {n: _degenerate(n, f"{type(err).__name__}: {err}") for n in names}
    values = result if isinstance(result, dict) else {next(iter(names)): result}
    return {n: finite_score(v, f"proxy {n!r}") for n, v in values.items()}


def score(obj: Network | nn.Module, proxy: str, data: Any = None, *, seed: Seed = 0,
          device: str | torch.device | None = None, dtype: str = "float32", **options: Any) -> float:
    """One proxy's score of one architecture (higher is better); see the module docstring.

    Args:
        obj: an IR Network (lowered with PyTorch default init from ``seed``) or a torch module (copied).
        proxy: a name in :data:`TORCH_PROXIES` (``nasir.proxies.PROXIES`` has the specs).
        data: ``nasir.data.ImageData`` or ``(x, y)`` (``y`` None when no proxy reads labels); needed by the
            proxies whose spec needs ``data``; the others use at most its image shape (params/flops not even that).
        seed: weights and batch; same seed, same score.
        device: ``"cpu"`` (default), ``"cuda"``...
        dtype: ``"float32"`` (default) or ``"float64"`` (the same weights and batch, widened).
        options: proxy options, e.g. ``bn="identity"`` for synflow.
    """
    if proxy in UNSUPPORTED:
        raise UnsupportedProxyError(f"proxy {proxy!r} has no PyTorch implementation: {UNSUPPORTED[proxy]}")
    return score_network(obj, [proxy], data, seed=seed, device=device, fused=False, options={proxy: options}, dtype=dtype)[proxy]


def score_many(objs: Iterable[Network | nn.Module], proxies: Sequence[str], data: Any = None, *, seed: Seed = 0,
               device: str | torch.device | None = None, fused: bool = True,
               options: dict[str, dict[str, Any]] | None = None, dtype: str = "float32") -> dict[str, np.ndarray]:
    """Scores many architectures; returns ``{proxy: float64 array, one per architecture}``.

    A numerical failure or degenerate architecture gives ``-inf`` for that cell (with a warning);
    the run goes on.
    """
    rows = [score_network(o, proxies, data, seed=seed, device=device, fused=fused, catch=True, options=options, dtype=dtype)
            for o in objs]
    return {p: np.array([r[p] for r in rows], dtype=np.float64) for p in proxies}
