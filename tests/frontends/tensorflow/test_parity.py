"""Whole-network parity with the torch frontend: same neutral weights, same batch, same logits.

Small skeletons keep the suite fast (NB201 C=8 N=1, NB101 16 stem channels, 1 cell per stack,
DARTS C=4 with 5 cells, a sampled MobileNetV2 body on 64x64 inputs);
benchmarks/tf_parity.py runs the full-size networks.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import torch

import nasir.frontends.tensorflow as tfe
import nasir.frontends.torch as pte
from nasir.frontends.tensorflow.weights import to_neutral
from nasir.spaces import darts, mobilenet
from nasir.spaces.nb201 import space

from ._helpers import ALL_OPS, BEST, chain, compare, pair, rel_err, small_nb101, small_nb201

TOL = 1e-4  # the bar: max relative error of the logits

NB201_CASES = [BEST, ALL_OPS, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|", 11]


@pytest.mark.parametrize("case", NB201_CASES, ids=["best", "all_ops", "all_none", "pools_skips", "sampled"])
def test_nb201_networks_match_torch_in_eval_and_training(case: str | int) -> None:
    arch = space.sample(case) if isinstance(case, int) else space.parse(case)
    net = small_nb201(arch, dataset="cifar100" if case == 11 else "cifar10")
    assert compare(net, 0, batch=3)[0] <= TOL
    out, means, variances = compare(net, 1, batch=3, training=True)
    assert out <= TOL and means <= TOL and variances <= TOL


@pytest.mark.parametrize("seed", [0, 1])
def test_nb101_networks_match_torch_in_eval_and_training(seed: int) -> None:
    net = small_nb101(seed)
    assert compare(net, seed, batch=2)[0] <= TOL
    assert max(compare(net, seed, batch=2, training=True)) <= TOL


def test_imagenet16_input_and_a_bare_cell_match_torch() -> None:
    assert compare(small_nb201(ALL_OPS, dataset="imagenet16"), 2)[0] <= TOL
    assert compare(space.parse(ALL_OPS), 3, input_shapes=(8, 8, 8), batch=2)[0] <= TOL


def test_statistics_moved_by_tf_training_load_back_into_torch() -> None:
    """TF trains (BN statistics move), torch imports the result and predicts the same logits."""
    net = small_nb201(BEST)
    module, model, _ = pair(net, 4)
    x = np.random.default_rng(4).normal(size=(4, 3, 32, 32)).astype(np.float32)
    for _ in range(2):
        tfe.numpy_forward(model, x, training=True)
    pte.import_weights(module, tfe.export_weights(model))
    module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    got = tfe.numpy_forward(model, x)
    assert np.abs(got - expected).max() <= TOL * np.abs(expected).max()


def test_training_mode_gradients_match_torch_on_inputs_far_from_zero() -> None:
    """Batch statistics accumulate in float64: TF's float32 reduce_mean over N*H*W values drifts by
    ~1e-6, which train-mode BN multiplies by mean/std (the gradients of NB201 networks were 1e-2 off)."""
    arch = chain(("bn", "batch_norm", {}), ("rcb", "relu_conv_bn", {"kernel": 3, "out_channels": 8}))
    module, model, _ = pair(arch, 0, (8, 16, 16))
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(32, 8, 16, 16)) * 0.05 + 10.0).astype(np.float32)
    r = rng.normal(size=(32, 8, 16, 16)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_(True)
    module.train()
    (module(xt) * torch.from_numpy(r)).sum().backward()
    xf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xf)
        loss = tf.reduce_sum(model(xf, training=True) * r)
    variables = model.neutral_variables()
    keys = [k for k, (v, _) in variables.items() if v.trainable]
    grads = tape.gradient(loss, [xf] + [variables[k][0] for k in keys])
    assert rel_err(grads[0].numpy(), xt.grad.numpy()) <= TOL
    params = dict(module.named_parameters())
    for key, g in zip(keys, grads[1:]):
        expected = params[module.weight_keys[key]].grad.numpy()
        assert rel_err(to_neutral(g.numpy(), variables[key][1]), expected) <= TOL, key


def test_darts_and_mobilenet_networks_match_torch_in_eval_and_training() -> None:
    """MobileNet on 64x64 inputs and 4 images: at 32x32 its last stages are 1x1, where train-mode BN
    normalises 2 numbers per channel and float32 torch itself lands 4e-4 from the float64 result."""
    darts_net = darts.space.network(darts.space.sample(0), channels=4, layers=5)
    mobile_net = mobilenet.space.network(mobilenet.space.sample(0), input_size=64)
    for net, batch in ((darts_net, 2), (mobile_net, 4)):
        assert compare(net, 0, batch=batch)[0] <= TOL, net.name
        assert max(compare(net, 1, batch=batch, training=True)) <= TOL, net.name
