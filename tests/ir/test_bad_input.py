"""Every kind of bad input gets a typed error whose message names the problem."""

from __future__ import annotations

import pytest

from nasir import errors
from nasir.ir import OPS, Arch, OpSpec, infer_shapes, register_op
from nasir.registry import Registry
from nasir.spaces.nb201 import space as nb201

CONV = ("relu_conv_bn", {"kernel": 3})


def _with_const() -> Registry[OpSpec]:
    """A fresh registry holding the built-in ops plus a user op with no inputs."""
    registry: Registry[OpSpec] = Registry("op", errors.UnknownOpError)
    for name in OPS:
        register_op(OPS.get(name), registry)
    register_op(OpSpec(name="const", doc="A learned constant tensor.", shape=lambda ins, a: (3, 8, 8), min_inputs=0, max_inputs=0), registry)
    return registry


def chain(*ops, edges=None) -> Arch:
    nodes = {"in": "input", **{f"n{i}": op for i, op in enumerate(ops)}, "out": "output"}
    names = ["in", *(f"n{i}" for i in range(len(ops))), "out"]
    return Arch(nodes, edges if edges is not None else list(zip(names, names[1:])))


CASES = [
    ("cycle", lambda: Arch({"in": "input", "a": "add", "b": "relu", "out": "output"}, [("in", "a"), ("b", "a"), ("a", "b"), ("b", "out")]),
     errors.CycleError, "cycle: "),
    ("node not reaching output", lambda: Arch({"in": "input", "c": CONV, "dead": CONV, "out": "output"}, [("in", "c"), ("c", "out"), ("in", "dead")]),
     errors.DisconnectedNodeError, "'dead'"),
    ("node unreachable from input", lambda: Arch({"in": "input", "k": "const", "s": "add", "out": "output"},
                                                 [("in", "s"), ("k", "s"), ("s", "out")], registry=_with_const()),
     errors.DisconnectedNodeError, "['k'] cannot be reached from the input"),
    ("unknown op", lambda: chain("conv3x3"), errors.UnknownOpError, "unknown op 'conv3x3'"),
    ("wrong arity", lambda: Arch({"in": "input", "a": CONV, "b": CONV, "c": CONV, "out": "output"},
                                 [("in", "a"), ("in", "b"), ("a", "c"), ("b", "c"), ("c", "out")]),
     errors.ArityError, "node 'c' (relu_conv_bn) expects 1 input, got 2"),
    ("bad attribute value", lambda: chain(("relu_conv_bn", {"kernel": 0})), errors.AttributeValueError, "'kernel' must be >= 1"),
    ("bad attribute type", lambda: chain(("relu_conv_bn", {"kernel": "3"})), errors.AttributeValueError, "'kernel' must be int"),
    ("unknown attribute", lambda: chain(("relu_conv_bn", {"kernel": 3, "kernal": 5})), errors.AttributeValueError, "no attribute 'kernal'"),
    ("missing attribute", lambda: chain(("relu_conv_bn", {})), errors.AttributeValueError, "requires attribute 'kernel'"),
    ("duplicate edge", lambda: chain(CONV, edges=[("in", "n0"), ("in", "n0"), ("n0", "out")]), errors.InvalidArchError, "duplicate edge"),
    ("bad node id", lambda: Arch({"in": "input", "a/b": CONV, "out": "output"}, [("in", "a/b"), ("a/b", "out")]),
     errors.InvalidArchError, "'a/b'"),
    ("edge to unknown node", lambda: chain(CONV, edges=[("in", "n0"), ("n0", "nope")]), errors.InvalidArchError, "unknown node 'nope'"),
    ("two outputs", lambda: Arch({"in": "input", "o1": "output", "o2": "output"}, [("in", "o1"), ("in", "o2")]),
     errors.InvalidArchError, "exactly one 'output'"),
    ("node spec of the wrong form", lambda: chain(("conv",)), errors.InvalidArchError, "node 'n0': spec ('conv',) must be an op name"),
    ("op name not a string", lambda: chain(5), errors.InvalidArchError, "node 'n0': spec 5"),
    ("port not an int", lambda: chain("relu", edges=[("in", "n0", 0.0), ("n0", "out")]), errors.InvalidArchError, "port 0.0 must be an int"),
    ("NaN attribute", lambda: chain(("scale", {"factor": float("nan")})), errors.AttributeValueError, "'factor' must be finite"),
    ("pool padding beyond half the kernel", lambda: infer_shapes(chain(("max_pool", {"kernel": 2, "stride": 1, "padding": 2})), (4, 8, 8)),
     errors.AttributeValueError, "padding 2 exceeds kernel 2"),
    ("stride-2 basic block on an odd size", lambda: infer_shapes(chain(("resnet_basic_block", {"stride": 2})), (4, 7, 7)),
     errors.ShapeMismatchError, "needs even sizes; got 7x7"),
    ("nodes not a dict", lambda: Arch([("in", "input")], []), errors.InvalidArchError, "nodes must be a dict of node id -> op spec, got a list"),
    ("edges not a list", lambda: Arch({"in": "input", "out": "output"}, None), errors.InvalidArchError, "edges must be a list"),
    ("edge not a pair", lambda: Arch({"in": "input", "out": "output"}, [5]), errors.InvalidArchError, "edge 5 must be (src, dst)"),
    ("edge end not a name", lambda: Arch({"in": "input", "out": "output"}, [(["in"], "out")]), errors.InvalidArchError,
     "refers to unknown node ['in']"),
    ("negative input size", lambda: infer_shapes(chain("relu"), (3, -4, 5)), errors.ShapeMismatchError,
     "a shape is a tuple of ints >= 1 such as (3, 32, 32), got (3, -4, 5)"),
    ("float input size", lambda: infer_shapes(chain("relu"), (8.0, 9, 9)), errors.ShapeMismatchError,
     "input_shapes must be one shape such as (3, 32, 32) or one per input, got (8.0, 9, 9)"),
    ("batch norm over a volume", lambda: infer_shapes(chain("batch_norm"), (4, 3, 5, 5)), errors.ShapeMismatchError,
     "batch_norm takes (C,), (C, L) or (C, H, W) per sample, got (4, 3, 5, 5)"),
    ("bad JSON", lambda: Arch.from_json("{nodes: ["), errors.SchemaError, "not valid JSON"),
    ("JSON repeating a node id", lambda: Arch.from_json(
        '{"schema_version": 1, "nodes": [{"id": "in", "op": "input"}, {"id": "a", "op": "relu"}, {"id": "a", "op": "identity"},'
        ' {"id": "out", "op": "output"}], "edges": [{"src": "in", "dst": "a", "port": 0}, {"src": "a", "dst": "out", "port": 0}]}'),
     errors.SchemaError, "node id(s) ['a'] more than once"),
    ("JSON of another schema version", lambda: Arch.from_json('{"schema_version": 99, "nodes": [], "edges": []}'),
     errors.SchemaError, "schema_version 99"),
    ("JSON missing a field", lambda: Arch.from_json('{"schema_version": 1, "nodes": [{"op": "input"}], "edges": []}'),
     errors.SchemaError, "'id'"),
    ("bad arch string: unknown op", lambda: nb201.parse("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
     errors.ArchStringError, "unknown NB201 op 'conv'"),
    ("bad arch string: wrong edge count", lambda: nb201.parse("|none~0|+|none~0|+|none~0|none~1|none~2|"),
     errors.ArchStringError, "node 2"),
    ("bad arch string: wrong source", lambda: nb201.parse("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"),
     errors.ArchStringError, "'none~1'"),
    ("bad arch string: not a string", lambda: nb201.parse(42), errors.ArchStringError, "must be a str"),
    ("wrong index", lambda: nb201.from_index(15625), errors.ArchIndexError, "0..15624"),
    ("not an NB201 cell", lambda: nb201.format(chain(CONV)), errors.InvalidArchError, "not a NAS-Bench-201 cell"),
]


@pytest.mark.parametrize(("name", "make", "error", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_typed_error_naming_the_problem(name, make, error, fragment) -> None:
    with pytest.raises(error) as info:
        make()
    assert isinstance(info.value, errors.NasirError)
    assert fragment in str(info.value)


def test_shape_mismatch_names_the_node() -> None:
    arch = Arch(
        {"in": "input", "wide": ("relu_conv_bn", {"kernel": 1, "out_channels": 32}), "s": "add", "out": "output"},
        [("in", "wide"), ("in", "s"), ("wide", "s"), ("s", "out")],
    )
    with pytest.raises(errors.ShapeMismatchError, match=r"node 's' \(add\).*\(3, 8, 8\).*\(32, 8, 8\)"):
        infer_shapes(arch, (3, 8, 8))


def test_linear_on_an_image_is_a_shape_error() -> None:
    with pytest.raises(errors.ShapeMismatchError, match="add global_avg_pool first"):
        infer_shapes(chain(("linear", {"out_features": 10})), (3, 8, 8))


def test_kernel_too_large_for_input() -> None:
    with pytest.raises(errors.ShapeMismatchError, match="does not fit a 2x2 input"):
        infer_shapes(chain(("conv", {"kernel": 5, "padding": 0})), (3, 2, 2))


def test_errors_still_behave_like_builtins() -> None:
    with pytest.raises(ValueError):
        chain(("relu_conv_bn", {"kernel": 0}))
    with pytest.raises(KeyError):
        chain("conv3x3")


def test_an_int_given_for_a_float_attribute_is_the_same_architecture() -> None:
    one, one_point_zero = chain(("scale", {"factor": 1})), chain(("scale", {"factor": 1.0}))
    assert one == one_point_zero and one.canonical_hash() == one_point_zero.canonical_hash()
    assert one.to_json() == one_point_zero.to_json()
