"""Direct ONNX export: every op lowers, models pass the full checker, and onnxruntime agrees with torch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import nasir
from nasir import errors
from nasir.backends.onnx import ONNX_LOWERINGS, export, random_weights, run
from nasir.ir import OPS, Arch, OpSpec, weight_specs
from nasir.registry import Registry
from nasir.spaces import nb101, nb201

from ._parity import torch_vs_onnx

TOL = 1e-4  # max|ort - torch| / max|torch|


def _chain(op: str, attrs: dict | None = None, *, inputs: int = 1) -> Arch:
    ins = {f"in{i}": ("input", {"index": i}) for i in range(inputs)}
    return Arch({**ins, "x": (op, attrs or {}), "out": "output"}, [*((f"in{i}", "x") for i in range(inputs)), ("x", "out")])


# (label, arch, per-sample input shapes): one small case per op and per attribute that changes the lowering
OP_CASES = [
    ("identity", _chain("identity"), [(3, 6, 6)]),
    ("zero", _chain("zero"), [(3, 6, 6)]),
    ("relu", _chain("relu"), [(3, 6, 6)]),
    ("add3", _chain("add", inputs=3), [(3, 6, 6)] * 3),
    ("concat", _chain("concat", inputs=2), [(3, 6, 6), (5, 6, 6)]),
    ("channel_slice", _chain("channel_slice", {"channels": 2}), [(5, 6, 6)]),
    ("batch_norm", _chain("batch_norm", {"eps": 1e-3}), [(4, 6, 6)]),
    ("batch_norm_no_affine", _chain("batch_norm", {"affine": False}), [(4, 6, 6)]),
    ("conv_grouped_bias", _chain("conv", {"out_channels": 6, "kernel": 3, "stride": 2, "groups": 2, "bias": True}), [(4, 9, 9)]),
    ("conv_dilated", _chain("conv", {"out_channels": 5, "kernel": 3, "dilation": 2}), [(4, 9, 9)]),
    ("max_pool", _chain("max_pool", {"kernel": 3, "stride": 2}), [(3, 7, 7)]),
    ("avg_pool_no_pad_count", _chain("avg_pool", {"kernel": 3, "stride": 1, "padding": 1}), [(3, 6, 6)]),
    ("avg_pool_pad_count", _chain("avg_pool", {"kernel": 3, "stride": 2, "count_include_pad": True}), [(3, 7, 7)]),
    ("global_avg_pool", _chain("global_avg_pool"), [(3, 5, 5)]),
    ("linear", _chain("linear", {"out_features": 7}), [(5,)]),
    ("linear_no_bias", _chain("linear", {"out_features": 7, "bias": False}), [(5,)]),
    ("relu_conv_bn", _chain("relu_conv_bn", {"kernel": 3, "out_channels": 6}), [(4, 6, 6)]),
    ("relu_conv_bn_1x1", _chain("relu_conv_bn", {"kernel": 1, "padding": 0}), [(4, 6, 6)]),
    ("conv_bn_relu", _chain("conv_bn_relu", {"kernel": 3, "out_channels": 6, "eps": 1e-3}), [(4, 6, 6)]),
    ("basic_block_stride2", _chain("resnet_basic_block", {"out_channels": 8, "stride": 2}), [(4, 8, 8)]),
    ("basic_block_widen", _chain("resnet_basic_block", {"out_channels": 8}), [(4, 6, 6)]),
    ("basic_block_same", _chain("resnet_basic_block"), [(4, 6, 6)]),
    ("scale", _chain("scale", {"factor": 0.2}), [(3, 6, 6)]),
    ("sep_conv_5x5_stride2", _chain("sep_conv", {"kernel": 5, "stride": 2, "out_channels": 6}), [(4, 8, 8)]),
    ("dil_conv_3x3", _chain("dil_conv", {"kernel": 3}), [(4, 8, 8)]),
    ("factorized_reduce", _chain("factorized_reduce", {"out_channels": 6}), [(4, 8, 8)]),
    ("hswish", _chain("activation", {"fn": "hswish"}), [(4, 6, 6)]),
    ("hsigmoid", _chain("activation", {"fn": "hsigmoid"}), [(4, 6, 6)]),
    ("conv_bn_hswish", _chain("conv_bn_act", {"kernel": 3, "stride": 2, "out_channels": 8, "act": "hswish"}), [(3, 9, 9)]),
    ("mbconv_se_hswish", _chain("mbconv", {"kernel": 5, "stride": 2, "expanded_channels": 24, "out_channels": 6, "se": True,
                                           "act": "hswish"}), [(4, 9, 9)]),
    ("mbconv_residual", _chain("mbconv", {"kernel": 3}), [(8, 6, 6)]),
    ("mbconv_even_kernel", _chain("mbconv", {"kernel": 4, "expanded_channels": 16}), [(8, 9, 9)]),  # 9x9 -> 8x8: no residual
]


def test_every_registered_op_has_an_onnx_lowering() -> None:
    assert [op for op in OPS if op not in ONNX_LOWERINGS] == []


def test_op_cases_cover_every_lowered_op() -> None:
    covered = {"input", "output"} | {arch.op("x") for _, arch, _ in OP_CASES}
    assert sorted(set(OPS) - covered) == []


@pytest.mark.parametrize("label, arch, shapes", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_each_op_matches_torch_and_passes_the_full_checker(label: str, arch: Arch, shapes: list) -> None:
    onnx.checker.check_model(export(arch, input_shapes=shapes), full_check=True)
    assert torch_vs_onnx(arch, seed=3, input_shapes=shapes, batch=3) <= TOL


@pytest.mark.parametrize("seed", range(10))
def test_random_nb201_networks_match_torch(seed: int) -> None:
    network = nb201.space.network(nb201.space.sample(seed))  # the benchmark skeleton: C=16, N=5
    onnx.checker.check_model(export(network), full_check=True)
    assert torch_vs_onnx(network, seed) <= TOL


@pytest.mark.parametrize("seed", range(3))
def test_random_nb101_networks_match_torch(seed: int) -> None:
    network = nb101.space.network(nb101.space.sample(seed), stem_channels=32, cells_per_stack=1)
    onnx.checker.check_model(export(network), full_check=True)
    assert torch_vs_onnx(network, seed) <= TOL


def test_initialisers_nodes_and_metadata_trace_back_to_the_ir() -> None:
    network = nb201.space.network(nb201.space.from_index(1), channels=8, cells_per_stage=1)
    model = export(network, random_weights(network.weight_specs(), 1))
    initialisers = {t.name for t in model.graph.initializer}
    assert set(network.weight_specs()) <= initialisers
    assert {n.name for n in model.graph.node} >= {"cells.0/e0_1/conv.Conv", "cells.0/e0_1/bn.BatchNormalization",
                                                   "stem/bn/BatchNormalization", "head/classifier/Gemm", "output"}
    assert all(n.name.split("/")[0] in {b.name for b in network.blocks} | {"output"} for n in model.graph.node)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["canonical_hash"] == network.canonical_hash() and props["nasir_version"] == nasir.__version__
    assert nasir.Network.from_dict(json.loads(props["network_json"])) == network
    assert props["weights"] == "given" and model.opset_import[0].version == 17
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import)) == 8


def test_shapes_and_attributes_taken_from_numpy_export_like_plain_ints() -> None:
    arch = _chain("conv", {"out_channels": 5, "kernel": 3})
    x = np.zeros((2, 4, 9, 9), np.float32)
    plain = export(arch, input_shapes=(4, 9, 9))
    for shapes in (x.shape[1:], tuple(np.array(x.shape[1:])), np.array(x.shape[1:]), [np.array(x.shape[1:])]):
        assert export(arch, input_shapes=shapes).SerializeToString() == plain.SerializeToString()
    numpy_attrs = _chain("conv", {"out_channels": np.int64(5), "kernel": np.int32(3)})  # e.g. read from an array
    assert numpy_attrs == arch and numpy_attrs.canonical_hash() == arch.canonical_hash()


def test_dynamic_and_fixed_batch_axes() -> None:
    network = nb201.space.network(nb201.space.sample(5), channels=8, cells_per_stage=1)
    dynamic = export(network)
    assert dynamic.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 4):
        assert run(dynamic, np.zeros((batch, 3, 32, 32), np.float32)).shape == (batch, 10)
    fixed = export(network, batch=4, opset=18)
    onnx.checker.check_model(fixed, full_check=True)
    assert fixed.graph.output[0].type.tensor_type.shape.dim[0].dim_value == 4 and fixed.opset_import[0].version == 18
    np.testing.assert_array_equal(run(fixed, np.ones((4, 3, 32, 32), np.float32)), run(dynamic, np.ones((4, 3, 32, 32), np.float32)))


def test_the_latency_key_tells_apart_opsets_and_fixed_batches() -> None:
    """The key stamped in the model is what latency caches look results up by: only the default export shares the IR's."""
    network = nb201.space.network(nb201.space.sample(5), channels=8, cells_per_stage=1)

    def key(model: onnx.ModelProto) -> str:
        return {p.key: p.value for p in model.metadata_props}["model_key"]

    keys = [key(export(network)), key(export(network, opset=18)), key(export(network, batch=4)), key(export(network, batch="n"))]
    assert keys[0] == keys[3] == network.canonical_hash() and len(set(keys)) == 3


def test_bare_cell_uses_bare_arch_weight_keys() -> None:
    cell = nb201.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    specs = weight_specs(cell, (8, 16, 16))
    model = export(cell, random_weights(specs, 0), input_shapes=(8, 16, 16))
    assert set(specs) <= {t.name for t in model.graph.initializer} and "e0_1/conv.weight" in specs
    props = {p.key: p.value for p in model.metadata_props}
    assert Arch.from_json(props["arch_json"]) == cell and json.loads(props["input_shapes"]) == [[8, 16, 16]]
    assert props["weights"] == "given" and any(n.name == "e0_1/conv.Conv" for n in model.graph.node)


def test_random_weights_are_deterministic_and_documented_ranges() -> None:
    specs = nb201.space.network(nb201.space.sample(0), channels=8, cells_per_stage=1).weight_specs()
    a, b, c = random_weights(specs, 7), random_weights(specs, 7), random_weights(specs, 8)
    assert list(a) == list(specs) and all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    assert all(v.dtype == np.float32 for v in a.values())
    assert 0.5 <= a["stem/bn/running_var"].min() and a["stem/bn/running_var"].max() <= 1.5


def test_weights_from_another_architecture_are_refused() -> None:
    a = nb201.space.network(nb201.space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"), channels=8, cells_per_stage=1)
    b = nb201.space.network(nb201.space.parse("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"), channels=8, cells_per_stage=1)
    with pytest.raises(errors.SchemaError, match=r"cells\.0/e0_1/conv\.weight' has shape \(8, 8, 3, 3\)"):
        export(b, random_weights(a.weight_specs()))
    with pytest.raises(errors.SchemaError, match="lack"):
        export(a, {})
    with pytest.raises(errors.SchemaError, match="does not have, e.g. 'extra/weight'"):
        export(a, {**random_weights(a.weight_specs()), "extra/weight": np.zeros(1, np.float32)})


def test_bad_export_arguments_are_named() -> None:
    cell = nb201.space.sample(0)
    with pytest.raises(errors.SchemaError, match="input_shapes"):
        export(cell)
    with pytest.raises(errors.ShapeMismatchError):
        export(cell, input_shapes=[(8, 16, 16), (8, 16, 16)])
    with pytest.raises(errors.ExportOptionError, match="opset must be an int from 13 to"):
        export(cell, input_shapes=(8, 16, 16), opset=11)
    with pytest.raises(errors.ExportOptionError, match="opset must be an int from 13 to"):
        export(cell, input_shapes=(8, 16, 16), opset=onnx.defs.onnx_opset_version() + 1)
    assert export(cell, input_shapes=(8, 16, 16), opset=np.int64(17)).opset_import[0].version == 17
    for batch in (0, -1, "", " ", True, 2.0):
        with pytest.raises(errors.ExportOptionError, match="batch must be a positive size or the name"):
            export(cell, input_shapes=(8, 16, 16), batch=batch)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Network or Arch"):
        export("|nor_conv_3x3~0|")  # type: ignore[arg-type]


def test_an_op_without_onnx_lowering_is_a_clear_error() -> None:
    ops: Registry[OpSpec] = Registry("op", errors.UnknownOpError)
    for name in OPS:
        ops.register(name, OPS.get(name))
    ops.register("swish", OpSpec(name="swish", doc="x * sigmoid(x)", shape=lambda ins, a: ins[0]))
    arch = Arch({"in": "input", "s": "swish", "out": "output"}, [("in", "s"), ("s", "out")], registry=ops)
    with pytest.raises(errors.UnknownOpError, match=r"node s: unknown ONNX lowering 'swish'.*register_lowering"):
        export(arch, input_shapes=(3, 4, 4))
