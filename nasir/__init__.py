"""nasir: framework-agnostic neural architecture search on one graph IR.

The core (this package) never imports a deep-learning framework at import time; frameworks live in
``nasir.frontends`` (torch, tensorflow) and ``nasir.backends`` (onnx), spaces in ``nasir.spaces``.
"""

from __future__ import annotations

from nasir import errors
from nasir.ir import Arch, Block, Network, OpSpec, get_op, register_op

__all__ = ["Arch", "Block", "Network", "OpSpec", "errors", "get_op", "register_op", "__version__"]

__version__ = "0.1.0"
