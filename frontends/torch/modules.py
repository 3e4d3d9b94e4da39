"""Generic modules that execute IR graphs: :class:`ArchModule` (one Arch), :class:`NetworkModule`.

Both are built only from :data:`~nasir.frontends.torch.lowerings.LOWERINGS`, so a new IR op needs
one lowering function and nothing else here. Shapes are checked by :func:`nasir.ir.infer_shapes`
before any torch module is made, so bad architectures fail with
:class:`~nasir.errors.ShapeMismatchError` naming the node, never with a torch trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nasir.errors import (
    DeviceUnavailableError, ModelInputError, ModelTypeError, OptionValueError, SchemaError, SeedTypeError, SeedValueError,
    ShapeMismatchError, UnknownNameError, UnknownOpError,
)
from nasir.ir import Arch, Network, Shape, WeightSpec, infer_shapes
from nasir.frontends.torch.lowerings import LOWERINGS

__all__ = ["ArchModule", "NetworkModule", "lower", "module_name"]

_IGNORED_BUFFERS = ("num_batches_tracked",)


class _Call(nn.Module):
    """Wraps a parameter-free callable returned by a lowering so it can sit in a ModuleDict."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)


_RESERVED = frozenset(dir(nn.ModuleDict()))  # 'keys', 'training', 'forward'... cannot be module names


def module_name(name: str, taken: Iterable[str] = ()) -> str:
    """A ModuleDict-safe key for an IR name: ``'.'`` becomes ``'_'``, clashes get a suffix."""
    base = name.replace(".", "_")
    taken = set(taken) | _RESERVED
    out, k = base, 1
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    return out


_CHECKED: set[tuple[Any, ...]] = set()  # lowering signatures already verified (pure functions of their inputs)


def _check_weights(node: str, op: str, module: nn.Module, specs: Mapping[str, WeightSpec]) -> None:
    """Fails if a lowering's tensors differ from the op's declared weights (the neutral contract)."""
    found = {k: tuple(v.shape) for k, v in module.state_dict().items() if k.rsplit(".", 1)[-1] not in _IGNORED_BUFFERS}
    declared = {role: tuple(s.shape) for role, s in specs.items()}
    trainable = {k for k, p in module.named_parameters()}
    if found != declared or trainable != {r for r, s in specs.items() if s.trainable}:
        raise SchemaError(
            f"node {node!r}: the torch lowering of op {op!r} holds tensors {found} (parameters {sorted(trainable)}) "
            f"but the op declares {declared}; fix the lowering or the op's weights rule"
        )


def _lower_node(arch: Arch, node: str, shapes: Mapping[str, Shape]) -> tuple[nn.Module, dict[str, WeightSpec]]:
    op = arch.op(node)
    try:
        fn = LOWERINGS.get(op)
    except UnknownNameError:
        raise UnknownOpError(f"node {node!r}: op {op!r} has no torch lowering; add one with "
                             f"@nasir.frontends.torch.register_lowering({op!r})") from None
    ins = [shapes[p] for p in arch.inputs(node)]
    module = fn(ins, shapes[node], arch.attrs(node))
    if not isinstance(module, nn.Module):
        if not callable(module):
            raise SchemaError(f"the torch lowering of op {op!r} returned {type(module).__name__}, not an nn.Module or callable")
        module = _Call(module)
    specs = arch.spec(node).weights(ins, shapes[node], arch.attrs(node))
    signature = (op, fn, tuple(ins), shapes[node], tuple(sorted(arch.attrs(node).items())))
    if signature not in _CHECKED:
        _check_weights(node, op, module, specs)
        _CHECKED.add(signature)
    return module, specs


class ArchModule(nn.Module):
    """Runs an :class:`~nasir.ir.Arch`: nodes in ``arch.nodes`` order, inputs by port.

    Args:
        arch: the graph.
        input_shapes: one per-sample shape such as ``(16, 32, 32)``, or one per input node.

    Attributes:
        nodes: ``ModuleDict`` of node modules (keys from :func:`module_name`).
        weight_keys: neutral key ``"<node>/<role>"`` -> ``state_dict`` key.
    """

    def __init__(self, arch: Arch, input_shapes: Shape | Sequence[Shape]) -> None:
        super().__init__()
        self.arch = arch
        self.shapes = infer_shapes(arch, input_shapes)
        self.input_shapes = tuple(self.shapes[n] for n in arch.input_nodes)
        self.nodes = nn.ModuleDict()
        self._names: dict[str, str] = {}
        self._specs: dict[str, WeightSpec] = {}
        self.weight_keys: dict[str, str] = {}
        for node in arch.nodes:
            module, specs = _lower_node(arch, node, self.shapes)
            name = module_name(node, self.nodes.keys())
            self.nodes[name] = module
            self._names[node] = name
            for role, spec in specs.items():
                self._specs[f"{node}/{role}"] = spec
                self.weight_keys[f"{node}/{role}"] = f"nodes.{name}.{role}"
        self._plan = self._schedule()

    def _schedule(self) -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
        """Per node: (node, module key, input nodes, values to free afterwards)."""
        last_use: dict[str, str] = {}
        for node in self.arch.nodes:
            for src in self.arch.inputs(node):
                last_use[src] = node
        plan = []
        for node in self.arch.nodes:
            free = tuple(src for src, user in last_use.items() if user == node)
            plan.append((node, self._names[node], self.arch.inputs(node), free))
        return tuple(plan)

    @property
    def output_shape(self) -> Shape:
        return self.shapes[self.arch.output_node]

    def weight_specs(self) -> dict[str, WeightSpec]:
        """Neutral weight specs, equal to ``nasir.ir.weight_specs(arch, input_shapes)``."""
        return dict(self._specs)

    def node_module(self, node: str) -> nn.Module:
        """The module computing IR node ``node`` (e.g. to hook its output)."""
        return self.nodes[self._names[node]]

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        _check_inputs(self, "architecture", inputs, self.input_shapes)
        values: dict[str, torch.Tensor] = {}
        index = {n: i for i, n in enumerate(self.arch.input_nodes)}
        for node, name, srcs, free in self._plan:
            module = self.nodes[name]
            values[node] = module(inputs[index[node]]) if node in index else module(*(values[s] for s in srcs))
            for src in free:
                del values[src]
        return values[self.arch.output_node]


def _check_inputs(module: nn.Module, what: str, inputs: Sequence[torch.Tensor], expected: Sequence[Shape]) -> None:
    """Refuses inputs the module cannot run, naming the input: the wrong count or shape, no tensor, or a floating
    dtype other than the module's (torch would stop inside a conv with a message naming neither)."""
    if len(inputs) != len(expected):
        raise ShapeMismatchError(f"{what} takes {len(expected)} input(s) of per-sample shapes {list(expected)}, got {len(inputs)}")
    weight = next(module.parameters(), None)
    for i, (x, shape) in enumerate(zip(inputs, expected)):
        if not isinstance(x, torch.Tensor):
            raise ModelInputError(f"{what} input {i} must be a torch.Tensor, got {type(x).__module__}.{type(x).__name__}"
                                  f"{'; wrap it with torch.from_numpy' if isinstance(x, np.ndarray) else ''}")
        if weight is not None and x.dtype != weight.dtype:
            raise ModelInputError(f"{what} input {i} is {x.dtype} but the module's weights are {weight.dtype}; "
                                  f"convert one, e.g. x.to({weight.dtype})")
        if tuple(x.shape[1:]) != tuple(shape):
            raise ShapeMismatchError(f"{what} input {i} must be (batch, {', '.join(map(str, shape))}), got {tuple(x.shape)}")


class NetworkModule(nn.Module):
    """Runs a :class:`~nasir.ir.Network` block by block.

    Attributes:
        blocks: ``ModuleDict`` of :class:`ArchModule`, keyed by block name with ``'.'`` -> ``'_'``
            (``cells.3`` -> ``cells_3``); neutral keys keep the IR names (``cells.3/e0_1/conv.weight``).
        weight_keys: neutral key -> ``state_dict`` key.
    """

    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network = network
        ins = network.block_input_shapes()
        self.blocks = nn.ModuleDict()
        self.weight_keys: dict[str, str] = {}
        self._names: dict[str, str] = {}
        for block in network.blocks:
            try:
                module = ArchModule(block.arch, ins[block.name])
            except (ShapeMismatchError, SchemaError, UnknownOpError) as err:
                raise type(err)(f"block {block.name!r}: {err}") from None
            name = module_name(block.name, self.blocks.keys())
            self.blocks[name] = module
            self._names[block.name] = name
            for key, path in module.weight_keys.items():
                self.weight_keys[f"{block.name}/{key}"] = f"blocks.{name}.{path}"
        self._plan = self._schedule()

    def _schedule(self) -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
        last_use: dict[str, str] = {}
        for b in self.network.blocks:
            for src in b.inputs:
                last_use[src] = b.name
        return tuple(
            (b.name, self._names[b.name], b.inputs, tuple(s for s, u in last_use.items() if u == b.name))
            for b in self.network.blocks
        )

    @property
    def output_shape(self) -> Shape:
        return self.network.output_shape

    def block_module(self, name: str) -> ArchModule:
        """The module running block ``name`` (e.g. ``"cells.0"``)."""
        return self.blocks[self._names[name]]

    def weight_specs(self) -> dict[str, WeightSpec]:
        """Neutral weight specs, equal to ``network.weight_specs()``."""
        out: dict[str, WeightSpec] = {}
        for block in self.network.blocks:
            for key, spec in self.blocks[self._names[block.name]].weight_specs().items():
                out[f"{block.name}/{key}"] = spec
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_inputs(self, f"network {self.network.name or ''}".strip(), (x,), (self.network.input_shape,))
        values: dict[str, torch.Tensor] = {"input": x}
        for block, name, srcs, free in self._plan:
            values[block] = self.blocks[name](*(values[s] for s in srcs))
            for src in free:
                del values[src]
        return values[self.network.blocks[-1].name]


def _torch_seed(seed: int | np.random.Generator | None) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if not 0 <= seed < 2**64:  # torch.manual_seed's range, non-negative as everywhere in nasir
            raise SeedValueError(f"seed must be an int in [0, 2**64), got {seed}")
        return int(seed)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    raise SeedTypeError(f"seed must be an int, numpy.random.Generator or None, got {type(seed).__name__}")


def checked_device(device: str | torch.device) -> torch.device:
    """A device to place a module on, checked before anything is built: a name torch does not know is an
    OptionValueError, a GPU this torch cannot see a DeviceUnavailableError (never a silent fallback to the CPU)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise OptionValueError(f"{device!r} is not a torch device ({err}); use 'cpu', 'cuda', 'cuda:<i>' or 'meta'") from None
    if dev.type == "cuda" and not (torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count()):
        raise DeviceUnavailableError(f"device {device!r} asked for, but torch {torch.__version__} sees "
                                     f"{torch.cuda.device_count() if torch.cuda.is_available() else 'no'} CUDA GPU(s); use 'cpu'")
    return dev


def lower(
    obj: Network | Arch,
    *,
    input_shapes: Shape | Sequence[Shape] | None = None,
    seed: int | np.random.Generator | None = 0,
    device: str | torch.device | None = None,
) -> ArchModule | NetworkModule:
    """Lowers a Network or a bare Arch to a PyTorch module.

    Parameters get PyTorch's default initialisation, as in the official NB201 ``TinyNetwork``,
    drawn from a private RNG seeded with ``seed`` (the global torch RNG is left untouched);
    ``seed=None`` draws from the global RNG instead.

    Args:
        obj: the network, or an Arch together with ``input_shapes``.
        input_shapes: per-sample input shape(s) of a bare Arch; for a Network, omit it or pass
            its own ``input_shape``.
        seed: init seed (int or numpy Generator).
        device: where the module lives; ``"meta"`` builds shapes only (fast parameter counting).

    Raises:
        ShapeMismatchError: the shapes do not fit (naming block and node), before torch is called.
        UnknownOpError: an op has no torch lowering.
        OptionValueError, DeviceUnavailableError: ``device`` is no device, or a GPU torch cannot see.
    """
    if isinstance(obj, Network):
        if input_shapes is not None and tuple(input_shapes) != tuple(obj.input_shape):
            raise ShapeMismatchError(f"network {obj.name!r} takes input shape {obj.input_shape}, not {tuple(input_shapes)}")
        build = lambda: NetworkModule(obj)  # noqa: E731
    elif isinstance(obj, Arch):
        if input_shapes is None:
            raise ShapeMismatchError("lowering a bare Arch needs input_shapes, e.g. input_shapes=(16, 32, 32)")
        infer_shapes(obj, input_shapes)
        build = lambda: ArchModule(obj, input_shapes)  # noqa: E731
    else:
        raise ModelTypeError(f"lower() takes a nasir Network or Arch, got {type(obj).__name__}")
    device = None if device is None else checked_device(device)
    if device is not None and device.type == "meta":
        with torch.device("meta"):
            return build()
    torch_seed = _torch_seed(seed)
    if torch_seed is None:
        module = build()
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            module = build()
    return module.to(device) if device is not None else module

