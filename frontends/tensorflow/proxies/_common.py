"""Shared plumbing for the TensorFlow proxies: subjects (a private model copy), batches, guards.

Mirrors ``nasir.frontends.torch.proxies._common``: a Network is lowered with ``seed`` (TF init,
PyTorch's distribution), a lowered model is copied (:func:`~nasir.frontends.tensorflow.copy_model`),
so the caller's variables are never touched. Batches are drawn exactly as the torch frontend draws
them (same indices from the same numpy stream, same normalisation), so a float batch or an
un-augmented uint8 batch is the same images in both frameworks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from nasir.errors import ModelTypeError
from nasir.frontends.tensorflow import layers as L
from nasir.frontends.tensorflow.data import augment, normalize
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, lower
from nasir.frontends.tensorflow.weights import copy_model
from nasir.ir import Network
from nasir.proxy_batches import check_dtype, check_image_shape, class_count, draw_indices, int_seed, training_arrays
from nasir.rng import Seed, as_rng

__all__ = ["Batch", "DegenerateNetwork", "Subject", "check_output", "classes", "cross_entropy", "input_shape", "kernels",
           "make_batch", "make_subject", "run_blocks", "to_nchw", "to_nhwc", "widened", "normal_reinit"]


class DegenerateNetwork(Exception):
    """Internal signal: the network's output does not depend on its input (scored ``-inf``)."""


@dataclass
class Subject:
    """A private NHWC model to score (None for IR-only proxies), when known its IR ``network``,
    and the int ``seed`` it was made with (proxies that draw more, e.g. linear_regions' thin network
    and crops, draw from it as the torch frontend does)."""

    model: ArchModel | NetworkModel | None
    network: Network | None
    seed: int = 0


@dataclass(frozen=True)
class Batch:
    """Normalised NHWC images (the scoring dtype) and int64 labels (None when the data has none)."""

    x: tf.Tensor
    y: tf.Tensor | None


def widened(model: ArchModel | NetworkModel, dtype: str) -> ArchModel | NetworkModel:
    """``model`` itself when it computes in ``dtype``, else a copy in ``dtype`` (the same weights, widened)."""
    return model if model.compute_dtype == dtype else copy_model(model, dtype=dtype)


def make_subject(obj: Network | ArchModel | NetworkModel, seed: Seed, dtype: str = "float32") -> Subject:
    """Lowers a Network (init from ``seed``) or copies a lowered model (NHWC); ``dtype="float64"``
    widens the float32 network (the same weights, in double precision)."""
    check_dtype(dtype)
    s = int_seed(seed)  # a Generator seed advances once, as in the torch frontend, keeping batch draws in step
    if isinstance(obj, Network):
        return Subject(widened(lower(obj, seed=s), dtype), obj, s)
    if isinstance(obj, (ArchModel, NetworkModel)):
        return Subject(copy_model(obj, dtype=dtype), obj.network if isinstance(obj, NetworkModel) else None, s)
    raise ModelTypeError(f"proxies score a nasir Network or a model from nasir.frontends.tensorflow.lower(), got {type(obj).__name__}")


def input_shape(subject: Subject) -> tuple[int, ...]:
    """Per-sample input shape, channels first (the IR convention)."""
    return tuple(subject.network.input_shape) if subject.network is not None else tuple(subject.model.input_shapes[0])


def classes(subject: Subject) -> int | None:
    """The network's number of classes when its output shape is a vector: labels must be below it."""
    return class_count(subject.network.output_shape if subject.network is not None else subject.model.output_shape)


def make_batch(data: Any, batch_size: int, seed: Seed, *, augment_images: bool, input_shape: tuple[int, ...] | None = None,
               dtype: str = "float32", classes: int | None = None) -> Batch:
    """Draws ``batch_size`` training images and labels, as the torch frontend's ``make_batch`` does.

    uint8 NHWC images get NAS-Bench-201's augmentation when ``augment_images`` and are normalised
    with the data's mean/std; float input is taken as normalised NCHW (PyTorch's layout, so one
    array feeds both frontends) and transposed to NHWC. Labels must be below ``classes`` when given.
    """
    x, y, mean, std = training_arrays(data, classes)
    x = np.asarray(x)
    rng = as_rng(seed)
    idx = draw_indices(len(x), batch_size, rng)
    xb, yb = x[idx], None if y is None else np.asarray(y)[idx].astype(np.int64)
    if xb.dtype == np.uint8:
        if augment_images:
            xb = augment(xb, np.random.default_rng(int(rng.integers(0, 2**62))))
        nchw = tuple(xb.shape[3:] + xb.shape[1:3])
        xb = normalize(xb, mean, std)
    else:
        nchw = tuple(xb.shape[1:])
        xb = np.transpose(xb.astype(np.float32), (0, 2, 3, 1))
    check_image_shape(nchw, input_shape)
    labels = None if yb is None else tf.constant(yb)
    return Batch(tf.constant(xb.astype(check_dtype(dtype))), labels)  # float64: the float32 images widened


def to_nchw(x: tf.Tensor) -> np.ndarray:
    """An NHWC batch as a numpy NCHW array: the layout the framework-free core draws from (crops, GenNAS targets)."""
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def to_nhwc(x: np.ndarray, dtype: tf.DType | None = None) -> tf.Tensor:
    """A numpy NCHW array from the core as an NHWC tensor (cast to ``dtype`` when given)."""
    nhwc = tf.constant(np.transpose(x, (0, 2, 3, 1)))
    return nhwc if dtype is None else tf.cast(nhwc, dtype)


def run_blocks(model: NetworkModel, x: tf.Tensor, run: Callable[[ArchModel, Sequence[tf.Tensor]], tf.Tensor], *,
               last: str | None = None) -> dict[str, tf.Tensor]:
    """``NetworkModel``'s block loop on an NHWC batch with every block output kept (GenNAS reads the
    stage ends, MeCo every block), each block run as ``run(block_model, inputs)``; stops after ``last``."""
    values: dict[str, tf.Tensor] = {"input": x}
    for block in model.network.blocks:
        values[block.name] = run(model.block_models[block.name], [values[s] for s in block.inputs])
        if block.name == last:
            break
    return values


def kernels(model: ArchModel | NetworkModel) -> list[tf.Variable]:
    """Conv and linear weights (zero-cost-nas ``get_layer_metric_array``'s layers), in spec order."""
    return [v for v, layout in model.neutral_variables().values() if layout in ("conv", "linear")]


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy (``torch.nn.functional.cross_entropy``)."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def check_output(out: tf.Tensor) -> None:
    """Raises :class:`DegenerateNetwork` when every sample of a batch (>1) gives the same output."""
    if out.shape[0] > 1 and bool(tf.reduce_all(out == out[:1])):
        raise DegenerateNetwork("the network's output is identical for every input in the batch")


def normal_reinit(model: ArchModel | NetworkModel, rng: np.random.Generator, std: Callable[[tuple[int, ...]], float]) -> None:
    """Re-draws every conv/linear kernel as ``N(0, std(kernel shape)^2)`` from ``rng``, zeroes their
    biases and sets affine BatchNorm to gamma 1 / beta 0: AZ-NAS's (Kaiming) and SWAP's (unit normal)
    re-initialisations, as the torch frontend's ``normal_reinit`` (draws differ: numpy, not torch)."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, (L.Conv, L.Linear)):
            shape = tuple(layer.kernel.shape)
            layer.kernel.assign(tf.cast(rng.standard_normal(shape, dtype=np.float32) * np.float32(std(shape)), layer.kernel.dtype))
            if layer.bias is not None:
                layer.bias.assign(tf.zeros_like(layer.bias))
        elif isinstance(layer, L.BatchNorm) and layer.affine:
            layer.gamma.assign(tf.ones_like(layer.gamma))
            layer.beta.assign(tf.zeros_like(layer.beta))
