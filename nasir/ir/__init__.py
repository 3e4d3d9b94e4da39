"""The graph IR: ops registry, architecture DAGs, networks, hashing and analyses."""

from __future__ import annotations

from nasir.ir._builtin_ops import padding_of  # (importing it registers the built-in ops)
from nasir.ir import _cnn_ops  # noqa: F401  (registers the DARTS and MobileNet ops)
from nasir.ir.analysis import count_flops, count_params, infer_shapes, input_output_paths, weight_specs
from nasir.ir.arch import SCHEMA_VERSION, Arch
from nasir.ir.network import NETWORK_INPUT, Block, Network
from nasir.ir.ops import OPS, REQUIRED, Attr, OpSpec, Shape, WeightSpec, get_op, register_op

__all__ = [
    "Arch", "Attr", "Block", "Network", "NETWORK_INPUT", "OPS", "OpSpec", "REQUIRED", "SCHEMA_VERSION",
    "Shape", "WeightSpec", "count_flops", "count_params", "get_op", "infer_shapes", "input_output_paths",
    "padding_of", "register_op", "weight_specs",
]
