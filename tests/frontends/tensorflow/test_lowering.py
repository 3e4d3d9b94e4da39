"""Every IR op has a TF lowering, and each op computes what the torch frontend computes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import nasir.frontends.tensorflow as tfe
from nasir.errors import ModelTypeError, OptionValueError, SchemaError, ShapeMismatchError, UnknownOpError
from nasir.frontends.tensorflow import layers
from nasir.ir import OPS, Arch, OpSpec, WeightSpec
from nasir.registry import Registry
from nasir.spaces.nb201 import space

from ._helpers import ALL_OPS, chain, compare, rel_err

TOL = 1e-5  # single ops: float32 round-off only


def test_every_ir_op_has_a_tensorflow_lowering() -> None:
    missing = [op for op in OPS if op not in tfe.LOWERINGS]
    assert not missing, f"ops without a tensorflow lowering: {missing}"


SINGLE_OPS = [
    # (op, attrs, input shape): padding cases where TF 'SAME' differs from PyTorch are the point
    ("conv", {"out_channels": 6, "kernel": 3, "stride": 2, "padding": 1}, (4, 8, 8)),
    ("conv", {"out_channels": 6, "kernel": 3, "stride": 2, "padding": 1}, (4, 9, 7)),
    ("conv", {"out_channels": 4, "kernel": 5, "padding": 4, "dilation": 2, "bias": True}, (4, 9, 9)),
    ("conv", {"out_channels": 6, "kernel": 3, "groups": 2, "bias": True}, (4, 8, 8)),
    ("conv", {"out_channels": 3, "kernel": 1, "stride": 2, "padding": 0}, (4, 7, 7)),
    ("max_pool", {"kernel": 3, "stride": 1, "padding": 1}, (3, 8, 8)),
    ("max_pool", {"kernel": 3, "stride": 2, "padding": 1}, (3, 8, 8)),
    ("max_pool", {"kernel": 2, "stride": 2, "padding": 0}, (3, 9, 9)),
    ("avg_pool", {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False}, (3, 8, 8)),
    ("avg_pool", {"kernel": 3, "stride": 2, "padding": 1, "count_include_pad": False}, (3, 8, 8)),
    ("avg_pool", {"kernel": 5, "stride": 2, "padding": 2, "count_include_pad": False}, (3, 9, 8)),
    ("avg_pool", {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": True}, (3, 8, 8)),
    ("batch_norm", {"momentum": 0.3, "eps": 1e-3}, (5, 4, 4)),
    ("batch_norm", {"affine": False}, (5, 4, 4)),
    ("relu_conv_bn", {"kernel": 3, "stride": 2, "padding": 1, "out_channels": 6}, (4, 8, 8)),
    ("conv_bn_relu", {"kernel": 3, "out_channels": 6, "momentum": 0.003}, (4, 8, 8)),
    ("resnet_basic_block", {"out_channels": 8, "stride": 2}, (4, 8, 8)),
    ("resnet_basic_block", {"out_channels": 8, "stride": 1}, (4, 8, 8)),
    ("resnet_basic_block", {"out_channels": 4, "stride": 1}, (4, 8, 8)),
    ("conv", {"out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "groups": 4}, (4, 8, 8)),  # depthwise
    ("conv", {"out_channels": 4, "kernel": 3, "stride": 2, "dilation": 2, "groups": 4}, (4, 9, 9)),  # strided+dilated
    ("sep_conv", {"kernel": 3, "stride": 2, "out_channels": 6}, (4, 8, 8)),
    ("dil_conv", {"kernel": 3, "out_channels": 6}, (4, 8, 8)),
    ("factorized_reduce", {"out_channels": 6}, (4, 8, 8)),
    ("conv_bn_act", {"kernel": 3, "stride": 2, "groups": 2, "out_channels": 6, "act": "hswish"}, (4, 8, 8)),
    ("mbconv", {"kernel": 5, "expanded_channels": 12, "se": True, "act": "hswish"}, (4, 8, 8)),
    ("mbconv", {"kernel": 3, "stride": 2, "out_channels": 6, "act": "relu6"}, (4, 8, 8)),
    ("mbconv", {"kernel": 4, "expanded_channels": 8}, (4, 9, 9)),  # the even kernel shrinks 9x9 to 8x8: no residual
    ("activation", {"fn": "hsigmoid"}, (3, 4, 4)),
    ("scale", {"factor": 0.25}, (3, 4, 4)),
    ("channel_slice", {"channels": 2}, (5, 4, 4)),
    ("zero", {}, (3, 4, 4)),
    ("relu", {}, (3, 4, 4)),
    ("identity", {}, (3, 4, 4)),
]


@pytest.mark.parametrize("op, attrs, shape", SINGLE_OPS, ids=[f"{o}-{i}" for i, (o, _, _) in enumerate(SINGLE_OPS)])
def test_single_op_matches_torch_in_eval_and_training(op: str, attrs: dict, shape: tuple) -> None:
    arch = chain(("x", op, attrs))
    out, _, _ = compare(arch, 0, input_shapes=shape, batch=3)
    assert out <= TOL
    assert max(compare(arch, 1, input_shapes=shape, batch=3, training=True)) <= TOL


def test_vector_ops_and_multi_input_ops_match_torch() -> None:
    head = chain(("gap", "global_avg_pool", {}), ("bn", "batch_norm", {}), ("fc", "linear", {"out_features": 7}))
    assert max(compare(head, 0, input_shapes=(6, 5, 5), batch=4, training=True)) <= TOL
    nodes = {"a": "input", "b": ("input", {"index": 1}), "p": ("conv", {"kernel": 1, "out_channels": 3}),
             "sum": "add", "cat": "concat", "out": "output"}
    edges = [("a", "p"), ("b", "sum"), ("p", "sum"), ("a", "sum"), ("sum", "cat"), ("b", "cat"), ("cat", "out")]
    arch = Arch(nodes, edges)
    assert compare(arch, 0, input_shapes=[(3, 6, 6), (3, 6, 6)])[0] <= TOL


def test_same_padding_is_used_only_where_it_equals_pytorch_padding() -> None:
    # stride 1, odd kernel: TF 'SAME' pads (k-1)/2 on both sides, and its avg pool excludes the padding
    same = layers.AvgPool((8, 8), kernel=3, stride=1, padding=1, count_include_pad=False)
    assert same.tf_padding == "SAME"
    x = np.arange(2 * 8 * 8 * 1, dtype=np.float32).reshape(2, 8, 8, 1)
    corner = x[:, :2, :2, 0].reshape(2, -1).mean(axis=1)  # 4 real pixels in the top-left window
    np.testing.assert_allclose(np.asarray(same(x))[:, 0, 0, 0], corner, rtol=1e-6)
    # stride 2 on an even size: 'SAME' would pad (0, 1), PyTorch pads (1, 1): explicit padding instead
    assert layers.Conv((8, 8), 4, 4, kernel=3, stride=2, padding=1).tf_padding is None
    assert layers.MaxPool((8, 8), kernel=3, stride=2, padding=1).tf_padding is None
    assert layers.same_padding_equivalent(9, 3, 2, 1) and not layers.same_padding_equivalent(8, 3, 2, 1)


def test_nchw_and_nhwc_models_agree_and_inputs_are_checked() -> None:
    net = space.network(space.parse(ALL_OPS), channels=4, cells_per_stage=1)
    nhwc, nchw = tfe.lower(net, seed=3), tfe.lower(net, seed=3, layout="NCHW")
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    a = tfe.numpy_forward(nhwc, x.transpose(0, 2, 3, 1))
    assert a.shape == (2, 10) and np.array_equal(a, tfe.numpy_forward(nchw, x))
    with pytest.raises(ShapeMismatchError, match=r"\(batch, 32, 32, 3\) in NHWC"):
        nhwc(x)
    cell = tfe.lower(space.parse(ALL_OPS), input_shapes=(4, 8, 8), layout="NCHW")
    assert tuple(cell(np.zeros((1, 4, 8, 8), np.float32)).shape) == (1, 4, 8, 8)  # image outputs come back NCHW
    with pytest.raises(ShapeMismatchError, match="needs input_shapes"):
        tfe.lower(space.parse(ALL_OPS))
    with pytest.raises(OptionValueError, match="layout must be one of"):
        tfe.lower(net, layout="NCWH")
    for dtype in ("float16", "int32", "bogus"):  # Keras would take float16 silently and fail deep inside on the others
        with pytest.raises(OptionValueError, match=f"dtype must be one of .*got '{dtype}'"):
            tfe.lower(net, dtype=dtype)
    with pytest.raises(ModelTypeError, match="lower\\(\\) takes a nasir Network or Arch, got str"):
        tfe.lower("|nor_conv_3x3~0|")  # type: ignore[arg-type]


def test_seeded_init_is_deterministic_and_follows_pytorch_defaults() -> None:
    net = space.network(space.parse(ALL_OPS), channels=4, cells_per_stage=1)
    a, b, c = (tfe.export_weights(tfe.lower(net, seed=s)) for s in (5, 5, 6))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    kernel = a["cells.0/e0_1/conv.weight"]  # 4 -> 4 channels, 3x3: bound 1/sqrt(36)
    assert not np.array_equal(kernel, c["cells.0/e0_1/conv.weight"])
    assert np.abs(kernel).max() <= 1 / 6 and np.abs(kernel).max() > 0.1
    assert np.all(a["stem/bn/weight"] == 1) and np.all(a["stem/bn/running_var"] == 1) and np.all(a["stem/bn/running_mean"] == 0)


def test_keras_sees_exactly_the_trainable_weights_and_gradients_flow() -> None:
    net = space.network(space.parse(ALL_OPS), channels=4, cells_per_stage=1)
    model = tfe.lower(net, seed=0)
    n_trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert n_trainable == net.count_params()
    assert len(model.non_trainable_variables) == sum(1 for s in net.weight_specs().values() if not s.trainable)
    x = tf.random.stateless_normal((2, 32, 32, 3), seed=(1, 2))
    step = tf.function(lambda x: model(x, training=True))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(step(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)


def test_unknown_op_and_a_lowering_that_breaks_the_weight_contract_fail_clearly() -> None:
    ops: Registry[OpSpec] = Registry("op")
    for name in OPS:
        ops.register(name, OPS.get(name))
    ops.register("tf_test_scale", OpSpec("tf_test_scale", "x * w", shape=lambda ins, a: ins[0],
                                         weights=lambda ins, out, a: {"w": WeightSpec((ins[0][0],))}))
    arch = Arch({"in": "input", "s": "tf_test_scale", "out": "output"}, [("in", "s"), ("s", "out")], registry=ops)
    with pytest.raises(UnknownOpError, match=r"register_lowering\('tf_test_scale'\)"):
        tfe.lower(arch, input_shapes=(3, 4, 4))
    tfe.register_lowering("tf_test_scale")(lambda ins, out, a: (lambda x: x))  # forgets the weight
    with pytest.raises(SchemaError, match="declares"):
        tfe.lower(arch, input_shapes=(3, 4, 4))


def test_rel_err_definition() -> None:
    assert rel_err(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == 0.5


def test_copy_model_keeps_weights_across_layouts_and_dtypes() -> None:
    cell = tfe.lower(space.parse(ALL_OPS), input_shapes=(4, 8, 8), seed=1, layout="NCHW")
    x = np.random.default_rng(0).normal(size=(2, 4, 8, 8)).astype(np.float32)
    twin = tfe.copy_model(cell, dtype="float64")
    assert twin.layout == "NHWC" and twin.compute_dtype == "float64"
    got = np.asarray(twin(x.transpose(0, 2, 3, 1).astype(np.float64)))
    np.testing.assert_allclose(got.transpose(0, 3, 1, 2), tfe.numpy_forward(cell, x), rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(tfe.export_weights(twin).values(), tfe.export_weights(cell).values()))
