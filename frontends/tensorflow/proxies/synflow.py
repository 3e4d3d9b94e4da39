"""synflow (Tanaka et al., NeurIPS 2020) as the zero-cost-nas NAS proxy, with the torch frontend's settings.

A float64 copy of the model with every variable (weights and BN statistics) replaced by its
absolute value takes one all-ones image; ``R = sum(output)`` goes backward and the score sums
``|w * dR/dw|`` over conv and linear weights. BatchNorm as in the torch frontend (see its
``synflow`` docstring): ``bn="zc-nas"`` (default) keeps BN, in train mode, only inside
``resnet_basic_block`` nodes (NB201's ResNet reduction blocks; DARTS' reduction cells lose theirs);
``"identity"`` drops every BN; ``"train"`` keeps all. A kept BN that sees one value per channel
scores ``-inf`` (:func:`~nasir.frontends.tensorflow.proxies.meco.single_value_bn_guard`), as in torch.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from nasir.frontends.tensorflow.layers import BatchNorm
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel
from nasir.frontends.tensorflow.proxies._common import Batch, Subject, input_shape, kernels
from nasir.frontends.tensorflow.proxies.meco import single_value_bn_guard
from nasir.frontends.tensorflow.weights import copy_model
from nasir.proxy_math import ZC_NAS_BN_OPS, check_choice

__all__ = ["synflow", "BN_MODES"]

BN_MODES = ("zc-nas", "identity", "train")


def _batch_norms(model: keras.layers.Layer) -> list[BatchNorm]:
    """Every BatchNorm inside ``model`` or a layer (Keras' own walk over tracked sub-layers, dicts included)."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, BatchNorm)]


def _drop_bn(model: ArchModel | NetworkModel, bn: str) -> None:
    """Disables every BN but those the mode keeps: all (``train``), none (``identity``), or those inside
    the IR nodes whose op zero-cost-nas builds with BN whatever its flag (``zc-nas``)."""
    if bn == "train":
        return
    kept: set[int] = set()
    if bn == "zc-nas" and isinstance(model, NetworkModel):
        for block in model.network.blocks:
            block_model = model.block_models[block.name]
            for node, layer in block_model.node_layers.items():
                if block.arch.op(node) in ZC_NAS_BN_OPS:
                    kept |= {id(b) for b in _batch_norms(layer)}
    for layer in _batch_norms(model):
        layer.enabled = id(layer) in kept


def synflow(subject: Subject, batch: Batch | None = None, *, bn: str = "zc-nas") -> float:
    check_choice("synflow", "bn", bn, BN_MODES)
    model = copy_model(subject.model, dtype="float64")
    _drop_bn(model, bn)
    for variable, _ in model.neutral_variables().values():
        variable.assign(tf.abs(variable))
    if batch is not None:
        nhwc = (1, *batch.x.shape[1:])
    else:
        c, *hw = input_shape(subject)
        nhwc = (1, *hw, c)
    weights = kernels(model)
    with tf.GradientTape() as tape, single_value_bn_guard(model):
        r = tf.reduce_sum(model(tf.ones(nhwc, dtype=tf.float64), training=True))
    grads = tape.gradient(r, weights)
    return sum(float(tf.reduce_sum(tf.abs(w * g))) for w, g in zip(weights, grads) if g is not None)
