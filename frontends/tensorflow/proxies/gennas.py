"""GenNAS (Li, Hao, Li, Xiong & Chen, NeurIPS 2021, Sec. 3; leeyeehoo/GenNAS): regression on synthetic signals.

The torch frontend's definition and reference settings (its module docstring gives them and the
deviation): the outputs of the three stage-end cells (:func:`nasir.gennas_signals.stage_blocks`)
are resized to the target size (nearest, :func:`nasir.gennas_signals.nearest_indices`) and mapped
by per-stage heads ``BatchNorm -> 1x1 conv (bias)`` onto the targets of
:mod:`nasir.gennas_signals` (the same seeded numpy draws as in torch, so both frameworks regress
the same signals with the same input noise); 100 SGD iterations on one batch of 16 (lr 0.1,
momentum 0.9, weight decay 4e-5 on conv/linear weights only; the update is written out as
``torch.optim.SGD`` computes it), loss ``sum_s w_s MSE_s``, ``w = (0.25, 0.5, 1)``, an eval-mode
loss every 10 iterations; the score is the negated last one.

Training runs on a private copy of the model (the subject is shared with the other proxies).
The heads are an IR graph (``batch_norm -> conv``) lowered with PyTorch's init distribution from
the seed; TensorFlow draws other values than torch, so ``head_weights`` (per stage, the head's
neutral weights ``bn/*``, ``conv/weight``, ``conv/bias``) imports the torch frontend's to compare the
frameworks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from nasir.errors import InvalidArchError
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, lower
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, kernels, run_blocks, to_nchw, to_nhwc, widened
from nasir.frontends.tensorflow.weights import copy_model, import_weights
from nasir.gennas_signals import STAGES, Task, check_schedule, get_task, input_noise, nearest_indices, stage_blocks, targets
from nasir.ir import Arch, Shape
from nasir.proxies import forwards_options
from nasir.proxy_math import check_gennas_options

__all__ = ["gennas", "gennas_losses", "head_arch"]


def head_arch(channels: int) -> Arch:
    """One GenNAS head: ``BatchNorm -> Conv 1x1`` (with bias) to ``channels`` target maps."""
    return Arch({"in": "input", "bn": "batch_norm", "conv": ("conv", {"kernel": 1, "out_channels": channels, "bias": True}),
                 "out": "output"}, [("in", "bn"), ("bn", "conv"), ("conv", "out")])


def _heads(shapes: Sequence[Shape], task: Task, seed: int,
           weights: Sequence[Mapping[str, np.ndarray]] | None, dtype: str = "float32") -> list[ArchModel]:
    init = np.random.default_rng((seed, 2021, 1))  # not the targets' (seed, 2021) stream
    heads = [lower(head_arch(t), input_shapes=(shape[0], task.size, task.size), seed=init)
             for shape, t in zip(shapes, task.channels)]
    for head, w in zip(heads, weights or ()):
        import_weights(head, w)
    return [widened(head, dtype) for head in heads]  # float64: the float32 heads widened, as the network


def _sgd_step(variables: Sequence[tf.Variable], grads: Sequence[tf.Tensor | None], momenta: Sequence[tf.Variable],
              decayed: set[int], lr: float, momentum: float, weight_decay: float) -> None:
    """``torch.optim.SGD.step`` (dampening 0): ``g += wd * p`` on decayed weights, ``buf = momentum * buf + g``
    (``buf`` starts at 0, so the first step is torch's ``buf = g`` exactly), ``p -= lr * buf``; variables
    without a gradient are skipped, as torch skips parameters whose ``grad`` is None."""
    for v, g, buf in zip(variables, grads, momenta):
        if g is None:
            continue
        if id(v) in decayed:
            g = g + weight_decay * v
        buf.assign(momentum * buf + g)
        v.assign_sub(lr * buf)


def gennas_losses(subject: Subject, batch: Batch, *, task: str | Task = "single", iterations: int = 100,
                  eval_interval: int = 10, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 4e-5,
                  stage_weights: tuple[float, float, float] = (0.25, 0.5, 1.0),
                  head_weights: Sequence[Mapping[str, np.ndarray]] | None = None) -> list[float]:
    """The eval-mode regression losses recorded every ``eval_interval`` iterations."""
    if subject.network is None or not isinstance(subject.model, NetworkModel):
        raise InvalidArchError("gennas reads the stage outputs of a nasir Network; score a Network (or its lowered model)")
    check_gennas_options(iterations, eval_interval, lr, momentum, weight_decay, stage_weights, STAGES)
    check_schedule(iterations, eval_interval)
    task = get_task(task)
    model = copy_model(subject.model, dtype=subject.model.compute_dtype)
    names = stage_blocks(subject.network)
    shapes = [subject.network.block_shapes()[n] for n in names]
    heads = _heads(shapes, task, subject.seed, head_weights, subject.model.compute_dtype)
    rng = np.random.default_rng((subject.seed, 2021))
    images = to_nchw(batch.x)
    goal = [to_nhwc(t, batch.x.dtype) for t in targets(task, images, rng)]
    rows_cols = [(nearest_indices(s[1], task.size), nearest_indices(s[2], task.size)) for s in shapes]

    def loss_on(x: tf.Tensor, training: bool) -> tf.Tensor:
        run = lambda m, ins: m(ins if len(ins) > 1 else ins[0], training=training)  # noqa: E731
        feats = run_blocks(model, x, run, last=names[-1])
        outs = [h(tf.gather(tf.gather(feats[n], r, axis=1), c, axis=2), training=training)
                for h, n, (r, c) in zip(heads, names, rows_cols)]
        return sum(w * tf.reduce_mean(tf.square(o - t)) for w, o, t in zip(stage_weights, outs, goal) if w)

    variables = [*model.trainable_variables, *(v for h in heads for v in h.trainable_variables)]
    decayed = {id(v) for m in (model, *heads) for v in kernels(m)}
    momenta = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    @tf.function  # one graph for the 100 steps: ~3x faster than eager on CPU, same ops
    def train_step(x: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = loss_on(x, True)
        _sgd_step(variables, tape.gradient(loss, variables), momenta, decayed, lr, momentum, weight_decay)

    evaluate = tf.function(lambda x: loss_on(x, False))

    def noisy() -> tf.Tensor:  # the input of one loss evaluation: fresh task noise, as torch draws it
        noise = input_noise(task, images.shape, rng)
        return batch.x if noise is None else batch.x + to_nhwc(noise, batch.x.dtype)

    losses: list[float] = []
    for it in range(1, iterations + 1):
        train_step(noisy())
        if it % eval_interval == 0:
            losses.append(float(evaluate(noisy())))
    return losses


@forwards_options(gennas_losses)
def gennas(subject: Subject, batch: Batch, **options: Any) -> float:
    """Negated final evaluated regression loss (higher is better); NaN becomes ``-inf`` upstream."""
    return -gennas_losses(subject, batch, **options)[-1]
