"""synflow (Tanaka et al., NeurIPS 2020) as the zero-cost-nas NAS proxy, with the torch frontend's settings.

A float64 copy of the model with every variable (weights and BN statistics) replaced by its
absolute value takes one all-ones image; ``R = sum(output)`` goes backward and the score sums
``|w * dR/dw|`` over conv and linear weights. BatchNorm as in the torch frontend (see its
``synflow`` docstring): ``bn="zc-nas"`` (default) keeps BN, in train mode, only in blocks of kind
``reduction``; ``"identity"`` drops every BN; ``"train"`` keeps all.
"""

from __future__ import annotations

import tensorflow as tf

from nasir.frontends.tensorflow.layers import BatchNorm
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, input_shape, kernels
from nasir.frontends.tensorflow.weights import copy_model

__all__ = ["synflow", "BN_MODES"]

BN_MODES = ("zc-nas", "identity", "train")


def _batch_norms(model: ArchModel | NetworkModel) -> list[BatchNorm]:
    """Every BatchNorm inside ``model`` (Keras' own walk over tracked sub-layers, dicts included)."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, BatchNorm)]


def _drop_bn(subject: Subject, model: ArchModel | NetworkModel, bn: str) -> None:
    if bn == "train":
        return
    kept: set[int] = set()
    if bn == "zc-nas" and subject.network is not None and isinstance(model, NetworkModel):
        for block in subject.network.blocks:
            if block.kind == "reduction":
                kept |= {id(layer) for layer in _batch_norms(model.block_models[block.name])}
    for layer in _batch_norms(model):
        layer.enabled = id(layer) in kept


def synflow(subject: Subject, batch: Batch | None = None, *, bn: str = "zc-nas") -> float:
    if bn not in BN_MODES:
        raise ValueError(f"synflow bn must be one of {BN_MODES}, got {bn!r}")
    model = copy_model(subject.model, dtype="float64")
    _drop_bn(subject, model, bn)
    for variable, _ in model.neutral_variables().values():
        variable.assign(tf.abs(variable))
    if batch is not None:
        nhwc = (1, *batch.x.shape[1:])
    else:
        c, *hw = input_shape(subject)
        nhwc = (1, *hw, c)
    weights = kernels(model)
    with tf.GradientTape() as tape:
        r = tf.reduce_sum(model(tf.ones(nhwc, dtype=tf.float64), training=True))
    grads = tape.gradient(r, weights)
    return sum(float(tf.reduce_sum(tf.abs(w * g))) for w, g in zip(weights, grads) if g is not None)
