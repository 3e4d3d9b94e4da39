"""A small builder that collects ONNX nodes and initialisers while a network is lowered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Nodes, initialisers and unique names for one ONNX graph.

    Args:
        weights: neutral weights keyed ``"<block>/<node>/<role>"``; an op's lowering asks for its
            weights by role and they become initialisers under their neutral key.
    """

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._names: set[str] = set()

    def weight(self, key: str) -> str:
        """The initialiser holding neutral weight ``key`` (float32)."""
        if key not in self.initializers:
            if key not in self.weights:
                raise KeyError(key)
            self.initializers[key] = numpy_helper.from_array(np.asarray(self.weights[key], dtype=np.float32), key)
        return key

    def constant(self, name: str, value: Any, dtype: type = np.float32) -> str:
        """A named constant initialiser (shared by every node that uses the same name)."""
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        return name

    def add(self, op_type: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        """Appends a node; its single output tensor gets the (unique) node name."""
        out = self._unique(name)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def _unique(self, name: str) -> str:
        candidate, k = name, 1
        while candidate in self._names:
            k += 1
            candidate = f"{name}_{k}"
        self._names.add(candidate)
        return candidate
