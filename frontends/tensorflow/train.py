"""Image-classification training in TensorFlow with the torch frontend's recipe (NAS-Bench-201 by default).

The one framework-free :class:`nasir.recipe.Recipe` that the torch frontend also reads: SGD with Nesterov momentum 0.9 and
weight decay 5e-4 on every parameter, learning rate 0.1 annealed by a per-epoch cosine to 0,
batch 256, cross-entropy, random crop 32 (padding 4) + flip, CIFAR mean/std.

Why a custom loop: Keras' SGD applies weight decay decoupled from the gradient and scales its
momentum buffer by the learning rate, so its steps drift from ``torch.optim.SGD``'s once the
rate changes; :class:`SGD` below is torch's update rule (``g += wd * w; b = m * b + g;
w -= lr * (g + m * b)``), so one step on the same weights and batch moves both frameworks to the
same weights. The step is one ``tf.function``; shuffling and augmentation come from a numpy
Generator seeded with ``seed``, so a CPU run is a pure function of (init, data, recipe, seed).
A checkpoint holds every variable, the momentum buffers and the Generator state, so a resumed
run is bit-identical to an uninterrupted one on CPU.
``amp`` and ``channels_last`` are CUDA settings of the torch loop; this loop runs float32 NHWC.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from nasir.data import ImageData
from nasir.errors import ModelTypeError, SchemaError, ShapeMismatchError
from nasir.frontends.tensorflow.checkpoint import load_checkpoint, model_hash, save_checkpoint
from nasir.frontends.tensorflow.data import ImageBatches, normalize
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, lower
from nasir.ir import Arch, Network
from nasir.recipe import Recipe, TrainResult

__all__ = ["Recipe", "SGD", "TrainResult", "evaluate", "set_threads", "train"]

log = logging.getLogger(__name__)


class SGD:
    """``torch.optim.SGD`` (momentum, dampening 0, optional Nesterov, L2 weight decay in the gradient)."""

    def __init__(self, variables: Sequence[tf.Variable], *, momentum: float, weight_decay: float, nesterov: bool) -> None:
        self.variables = list(variables)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.buffers = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables] if momentum else []

    def apply(self, grads: Sequence[tf.Tensor | None], lr: tf.Tensor) -> None:
        """One step; variables without a gradient are left alone, as torch skips ``grad is None``."""
        for i, (v, g) in enumerate(zip(self.variables, grads)):
            if g is None:
                continue
            if self.weight_decay:
                g = g + self.weight_decay * v
            if self.momentum:
                buf = self.buffers[i]
                buf.assign(self.momentum * buf + g)
                g = g + self.momentum * buf if self.nesterov else buf
            v.assign_sub(lr * g)


def set_threads(n: int) -> None:
    """Sizes TensorFlow's intra- and inter-op pools (more threads than free cores slows it down).

    TensorFlow fixes its pools when its runtime starts; asked later, this warns and keeps them.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        if tf.config.threading.get_intra_op_parallelism_threads() != n:
            warnings.warn(f"TensorFlow's runtime is already initialised; its thread pools stay as they are (asked for {n})",
                          RuntimeWarning, stacklevel=2)


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    """Mean cross-entropy with torch's label smoothing (``(1 - e) * nll + e * mean_k(-log p_k)``)."""
    logp = tf.nn.log_softmax(logits)
    nll = -tf.gather(logp, labels, axis=1, batch_dims=1)
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * tf.reduce_mean(logp, axis=1)
    return tf.reduce_mean(nll)


def _model_for(model_or_arch: ArchModel | NetworkModel | Network | Arch, data: ImageData, seed: int) -> ArchModel | NetworkModel:
    if isinstance(model_or_arch, Network):
        model = lower(model_or_arch, seed=seed)
    elif isinstance(model_or_arch, Arch):
        model = lower(model_or_arch, input_shapes=data.input_shape, seed=seed)
    elif isinstance(model_or_arch, (ArchModel, NetworkModel)):
        model = model_or_arch
    else:
        raise ModelTypeError(f"train() takes a model from nasir.frontends.tensorflow.lower(), a Network or an Arch, got {type(model_or_arch).__name__}")
    if model.layout != "NHWC":
        raise SchemaError("train() feeds NHWC batches; lower the model with layout='NHWC' (the default)")
    if tuple(model.input_shapes[0]) != data.input_shape:
        raise ShapeMismatchError(f"the model takes inputs {tuple(model.input_shapes[0])} but {data.name} images are {data.input_shape}")
    if tuple(model.output_shape) != (data.num_classes,):
        raise ShapeMismatchError(f"the model outputs {tuple(model.output_shape)} but {data.name} needs ({data.num_classes},) logits")
    return model


def evaluate(model: ArchModel | NetworkModel, data: ImageData, *, batch_size: int = 1024) -> tuple[float, float]:
    """Accuracy (percent) and mean cross-entropy of ``model`` (inference mode) on ``data``'s validation split."""
    correct, loss_sum = 0, 0.0
    for start in range(0, len(data.y_val), batch_size):
        xb = normalize(data.x_val[start:start + batch_size], data.mean, data.std)
        yb = tf.constant(data.y_val[start:start + batch_size], dtype=tf.int64)
        logits = model(xb, training=False)
        loss_sum += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits)))
        correct += int(tf.reduce_sum(tf.cast(tf.argmax(logits, axis=1) == yb, tf.int32)))
    n = max(len(data.y_val), 1)
    return 100.0 * correct / n, loss_sum / n


def _step_fn(model: ArchModel | NetworkModel, optimizer: SGD, label_smoothing: float):
    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(x: tf.Tensor, y: tf.Tensor, lr: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = cross_entropy(model(x, training=True), y, label_smoothing)
        optimizer.apply(tape.gradient(loss, variables), lr)
        return loss

    return step


class _Run:
    """The mutable state of one run, all of it checkpointed: model and momentum variables, data Generator, epoch, history."""

    def __init__(self, model: ArchModel | NetworkModel, optimizer: SGD, rng: np.random.Generator, recipe: Recipe) -> None:
        self.model, self.optimizer, self.rng, self.recipe = model, optimizer, rng, recipe
        self.epoch = 0
        self.history: list[dict[str, float]] = []

    def save(self, path: str | Path, arch_hash: str) -> None:
        meta = {"arch_hash": arch_hash, "recipe": dataclasses.asdict(self.recipe), "epoch": self.epoch,
                "history": self.history, "rng": self.rng.bit_generator.state}
        save_checkpoint(path, meta, {"model": [v.numpy() for v in self.model.variables],
                                     "momentum": [b.numpy() for b in self.optimizer.buffers]})

    def restore(self, path: str | Path, arch_hash: str) -> None:
        state = load_checkpoint(path, arch_hash=arch_hash, recipe=dataclasses.asdict(self.recipe))
        _assign(self.model.variables, state["model"], path, "model variables")
        _assign(self.optimizer.buffers, state["momentum"], path, "momentum buffers")
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.history = int(state["epoch"]), list(state["history"])

    def epoch_pass(self, step: Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor], batches: ImageBatches, data: ImageData,
                   progress: bool) -> float:
        """One epoch of SGD and (when due) validation, recorded in the history; returns the SGD pass's seconds."""
        r, epoch = self.recipe, self.epoch
        lr = tf.constant(r.lr_at(epoch), tf.float32)
        bar = keras.utils.Progbar(len(batches), unit_name="step") if progress else None
        tick, loss_sum = time.perf_counter(), 0.0
        for i, (xb, yb) in enumerate(batches):
            loss = float(step(tf.constant(xb), tf.constant(yb), lr))
            loss_sum += loss * len(yb)
            if bar is not None:
                bar.update(i + 1, values=[("loss", loss)])
        seconds = time.perf_counter() - tick
        self.epoch += 1
        record = {"epoch": self.epoch, "train_loss": loss_sum / len(data.y_train), "lr": r.lr_at(self.epoch)}
        if (r.eval_every and self.epoch % r.eval_every == 0) or self.epoch == r.epochs:
            record["val_acc"], record["val_loss"] = evaluate(self.model, data, batch_size=r.eval_batch_size)
        self.history.append(record)
        return seconds


def _assign(variables: Sequence[Any], arrays: Sequence[np.ndarray], path: str | Path, what: str) -> None:
    """Loads arrays into variables by position, refusing a file whose layout differs (a damaged file)."""
    if [tuple(v.shape) for v in variables] != [a.shape for a in arrays]:
        raise SchemaError(f"checkpoint {str(path)!r} holds {what} of other shapes than this model's")
    for variable, array in zip(variables, arrays):
        variable.assign(array)


def train(model_or_arch: ArchModel | NetworkModel | Network | Arch, data: ImageData, recipe: Recipe = Recipe(), *, seed: int,
          device: str | None = None, checkpoint: str | Path | None = None, progress: bool = True,
          stop_after: int | None = None) -> TrainResult[ArchModel | NetworkModel]:
    """Trains a model (in place) or lowers and trains a Network / Arch on ``data`` with ``recipe``.

    Args:
        model_or_arch: a model from :func:`~nasir.frontends.tensorflow.lower` (NHWC), or a
            Network / Arch lowered here with init seed ``seed``.
        data: images (:func:`nasir.data.load_cifar10`, :func:`nasir.data.load_sample`).
        recipe: hyper-parameters.
        seed: seeds the init (when lowering here), shuffling and augmentation.
        device: a TensorFlow device string (``"/GPU:0"``); None lets TensorFlow place ops.
        checkpoint: a file; written after every epoch and, when it exists, resumed from.
        progress: a Keras progress bar per epoch.
        stop_after: stop after this epoch (an interruption; the schedule is still ``recipe.epochs``).

    Raises:
        ShapeMismatchError: the model's input/output shapes do not fit the data.
        SchemaError: the checkpoint belongs to another architecture or recipe, or is no TensorFlow checkpoint.
    """
    with tf.device(device) if device else contextlib.nullcontext():
        model = _model_for(model_or_arch, data, seed)
        optimizer = SGD(model.trainable_variables, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
                        nesterov=recipe.nesterov)
        run, arch_hash = _Run(model, optimizer, np.random.default_rng(seed), recipe), model_hash(model)
        if checkpoint is not None and Path(checkpoint).exists():
            run.restore(checkpoint, arch_hash)
            log.info("resumed %s at epoch %d", checkpoint, run.epoch)
        step = _step_fn(model, optimizer, recipe.label_smoothing)
        batches = ImageBatches(data.x_train, data.y_train, recipe.batch_size, mean=data.mean, std=data.std, train=True,
                               rng=run.rng, padding=recipe.crop_padding, flip=recipe.flip)
        last = min(recipe.epochs, stop_after if stop_after is not None else recipe.epochs)
        start, images, sgd_seconds = time.perf_counter(), 0, 0.0
        while run.epoch < last:
            seconds = run.epoch_pass(step, batches, data, progress)
            images, sgd_seconds = images + len(data.y_train), sgd_seconds + seconds
            if checkpoint is not None:
                run.save(checkpoint, arch_hash)
    result = TrainResult(model, history=list(run.history), seconds=time.perf_counter() - start)
    result.images_per_second = images / sgd_seconds if sgd_seconds > 0 else 0.0
    if run.history and "val_acc" in run.history[-1]:
        result.val_acc, result.val_loss = run.history[-1]["val_acc"], run.history[-1]["val_loss"]
    return result
