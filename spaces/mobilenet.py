"""A MobileNet-style macro space: stages of MBConv blocks, as in ProxylessNAS, OFA and MobileNetV3.

The searchable ranges are parameters of the space (:class:`Stage`): per stage a width, a depth, SE
on/off and an activation; per block a kernel size and an expansion ratio. The fixed parts (stem,
last 1x1 conv, classifier head, BN settings) are a :class:`Skeleton`. The registered space
``mobilenet`` has the ranges of OFA's MobileNetV3 space (Cai et al., ICLR 2020): kernels 3/5/7,
expansions 3/4/6, depths 2-4 of 5 stages. :func:`mobilenet_v2_space` and
:func:`mobilenet_v3_large_space` are wider spaces whose members :data:`MOBILENET_V2` and
:data:`MOBILENET_V3_LARGE` are torchvision's ``mobilenet_v2()`` and ``mobilenet_v3_large()``.

IR form: an architecture is the chain of ``mbconv`` nodes ``s{stage}.b{block}`` (the body);
:meth:`MobileNetSpace.network` adds the ``stem`` and ``head`` blocks. Expanded channels are
``make_divisible(c_in * expansion, 8)`` (expansion 1: no expand conv). String format, stages
separated by ``|``: ``c24_relu:k3e4,k3e3 | c40_relu_se:k5e3,...`` (width, activation, ``se``, then
one ``k{kernel}e{expansion}`` per block). Encodings: ``onehot`` and ``categorical`` (inactive block
slots are zeros). Dropout before the classifier is the identity at inference and has no weights,
so it is not part of the IR.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from nasir import encodings
from nasir.errors import ArchStringError, InvalidArchError, SpaceConfigError, SpaceTooLargeError
from nasir.ir import Arch, Block, Network
from nasir.ir._cnn_ops import make_divisible
from nasir.rng import Seed, as_rng
from nasir.space import SPACES

__all__ = ["Stage", "Skeleton", "BlockChoice", "StageChoice", "MobileNetSpace", "space", "mobilenet_v2_space",
           "mobilenet_v3_large_space", "MOBILENET_V2", "MOBILENET_V3_LARGE", "ENUMERATE_LIMIT"]

ENUMERATE_LIMIT = 1_000_000


@dataclass(frozen=True)
class Stage:
    """The searchable ranges of one stage; the stride applies to its first block."""

    stride: int
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    kernels: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[float, ...] = (3, 4, 6)
    se: tuple[bool, ...] = (False,)
    acts: tuple[str, ...] = ("relu",)


@dataclass(frozen=True)
class Skeleton:
    """The fixed parts: stem conv 3x3/2, last 1x1 conv, pooled classifier (optional hidden linear + act)."""

    stem_channels: int
    stem_act: str
    last_channels: int
    last_act: str
    head_hidden: int | None
    head_act: str = "hswish"
    num_classes: int = 1000
    input_size: int = 224
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1


class BlockChoice(NamedTuple):
    kernel: int
    expansion: float


class StageChoice(NamedTuple):
    width: int
    se: bool
    act: str
    blocks: tuple[BlockChoice, ...]


Choice = tuple[StageChoice, ...]
_NODE = re.compile(r"^s(\d+)\.b(\d+)$")
_BLOCK = re.compile(r"^k(\d+)e(\d+(?:\.\d+)?)$")


def expanded_channels(cin: int, expansion: float) -> int:
    """Channels after the expand conv: ``c_in`` for expansion 1, else ``make_divisible(c_in * expansion, 8)``."""
    return cin if expansion == 1 else make_divisible(cin * expansion, 8)


class MobileNetSpace:
    """Stages of MBConv blocks with searchable ranges; see the module docstring."""

    encodings = ("onehot", "categorical")

    def __init__(self, stages: Sequence[Stage], skeleton: Skeleton, name: str = "mobilenet") -> None:
        if not stages:
            raise SpaceConfigError("a MobileNet space needs at least one stage")
        for i, st in enumerate(stages):
            if not all((st.widths, st.depths, st.kernels, st.expansions, st.se, st.acts)) or min(st.depths) < 1:
                raise SpaceConfigError(f"stage {i} has an empty range or a depth below 1: {st}")
        self.stages, self.skeleton, self.name = tuple(stages), skeleton, name

    # ------------------------------------------------------------------ choice <-> Arch
    def from_choice(self, choice: Sequence[StageChoice], error: type[Exception] = InvalidArchError) -> Arch:
        """The body chain of ``choice``; choices outside the ranges raise ``error`` naming the stage."""
        self._check(choice, error)
        nodes: dict[str, Any] = {"in": "input", "out": "output"}
        names, cin = ["in"], self.skeleton.stem_channels
        for i, (st, sc) in enumerate(zip(self.stages, choice)):
            for j, (kernel, expansion) in enumerate(sc.blocks):
                attrs = {"out_channels": sc.width, "kernel": kernel, "stride": st.stride if j == 0 else 1, "se": sc.se, "act": sc.act,
                         "expanded_channels": expanded_channels(cin, expansion), "eps": self.skeleton.bn_eps,
                         "momentum": self.skeleton.bn_momentum}
                nodes[f"s{i}.b{j}"] = ("mbconv", attrs)
                names.append(f"s{i}.b{j}")
                cin = sc.width
        return Arch(nodes, list(zip(names, names[1:] + ["out"])))

    def _check(self, choice: Sequence[StageChoice], error: type[Exception]) -> None:
        if len(choice) != len(self.stages):
            raise error(f"{self.name} has {len(self.stages)} stages, the choice has {len(choice)}")
        for i, (st, sc) in enumerate(zip(self.stages, choice)):
            for what, value, allowed in (("width", sc.width, st.widths), ("se", sc.se, st.se), ("act", sc.act, st.acts),
                                         ("depth", len(sc.blocks), st.depths)):
                if value not in allowed:
                    raise error(f"stage {i}: {what} {value!r} is outside the space's range {list(allowed)}")
            for j, (kernel, expansion) in enumerate(sc.blocks):
                if kernel not in st.kernels or expansion not in st.expansions:
                    raise error(f"stage {i} block {j}: k{kernel}e{expansion:g} is outside kernels {list(st.kernels)} / "
                                f"expansions {list(st.expansions)}")

    def to_choice(self, arch: Arch) -> tuple[StageChoice, ...]:
        """Reads the choices back (node ids ``s{i}.b{j}`` give the stages); the rebuilt chain must equal ``arch``."""
        groups: dict[int, list[str]] = {}
        for node in arch.nodes:
            m = _NODE.match(node)
            if arch.op(node) in ("input", "output"):
                continue
            if arch.op(node) != "mbconv" or m is None:
                raise InvalidArchError(f"node {node!r} ({arch.op(node)}) is not a block 's<stage>.b<block>' of a {self.name} chain")
            groups.setdefault(int(m.group(1)), []).append(node)
        if sorted(groups) != list(range(len(self.stages))):
            raise InvalidArchError(f"{self.name} has stages 0..{len(self.stages) - 1}, the graph has blocks of stages {sorted(groups)}")
        choice, cin = [], self.skeleton.stem_channels
        for i, st in enumerate(self.stages):
            attrs = [arch.attrs(n) for n in sorted(groups[i], key=lambda n: int(_NODE.match(n).group(2)))]
            blocks = []
            for a in attrs:
                expansion = next((e for e in st.expansions if expanded_channels(cin, e) == (a["expanded_channels"] or cin)), None)
                if expansion is None:
                    raise InvalidArchError(f"stage {i}: {a['expanded_channels']} expanded channels from {cin} match none of {list(st.expansions)}")
                blocks.append(BlockChoice(a["kernel"], expansion))
                cin = a["out_channels"]
            choice.append(StageChoice(attrs[0]["out_channels"], attrs[0]["se"], attrs[0]["act"], tuple(blocks)))
        if not self.from_choice(choice).same_labels(arch):
            raise InvalidArchError(f"the graph is not wired or configured as {self.name} builds {self.format_choice(choice)!r}")
        return tuple(choice)

    # ------------------------------------------------------------------ strings
    def format(self, arch: Arch) -> str:
        return self.format_choice(self.to_choice(arch))

    @staticmethod
    def format_choice(choice: Sequence[StageChoice]) -> str:
        stages = []
        for sc in choice:
            head = "_".join([f"c{sc.width}", sc.act] + (["se"] if sc.se else []))
            stages.append(f"{head}:" + ",".join(f"k{k}e{e:g}" for k, e in sc.blocks))
        return " | ".join(stages)

    def parse(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise ArchStringError(f"a {self.name} string must be a str, got {type(text).__name__}")
        choice = []
        for i, part in enumerate(text.split("|")):
            head, sep, body = part.strip().partition(":")
            tokens = head.split("_")
            if not sep or len(tokens) not in (2, 3) or not re.fullmatch(r"c\d+", tokens[0]) or tokens[2:] not in ([], ["se"]):
                raise ArchStringError(f"stage {i} of {text!r} must read 'c<width>_<act>[_se]:k<k>e<e>,...', got {part.strip()!r}")
            blocks = [_BLOCK.match(b.strip()) for b in body.split(",")]
            if not all(blocks):
                raise ArchStringError(f"stage {i} of {text!r}: blocks must read k<kernel>e<expansion>, got {body!r}")
            kb = tuple(BlockChoice(int(m.group(1)), float(m.group(2))) for m in blocks)
            choice.append(StageChoice(int(tokens[0][1:]), len(tokens) == 3, tokens[1], kb))
        return self.from_choice(choice, ArchStringError)

    # ------------------------------------------------------------------ sampling and moves
    @staticmethod
    def _random_blocks(st: Stage, depth: int, rng: np.random.Generator) -> list[BlockChoice]:
        pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
        return [BlockChoice(pick(st.kernels), pick(st.expansions)) for _ in range(depth)]

    def sample(self, seed: Seed = None) -> Arch:
        rng = as_rng(seed)
        choice = []
        for st in self.stages:
            width, se, act, depth = (opts[int(rng.integers(len(opts)))] for opts in (st.widths, st.se, st.acts, st.depths))
            choice.append(StageChoice(width, se, act, tuple(self._random_blocks(st, depth, rng))))
        return self.from_choice(choice)

    def _moves(self, choice: Choice) -> list[tuple[int, str, int, Any]]:
        """Every single-decision change as (stage, decision, block or -1, new value)."""
        moves: list[tuple[int, str, int, Any]] = []
        for i, (st, sc) in enumerate(zip(self.stages, choice)):
            stage_level = (("width", sc.width, st.widths), ("se", sc.se, st.se), ("act", sc.act, st.acts), ("depth", len(sc.blocks), st.depths))
            for field, current, options in stage_level:
                moves += [(i, field, -1, v) for v in options if v != current]
            for j, (kernel, expansion) in enumerate(sc.blocks):
                moves += [(i, "kernel", j, v) for v in st.kernels if v != kernel]
                moves += [(i, "expansion", j, v) for v in st.expansions if v != expansion]
        return moves

    def _apply(self, choice: Choice, move: tuple[int, str, int, Any], new_blocks: Sequence[BlockChoice]) -> Arch:
        i, field, j, value = move
        sc = choice[i]
        if field == "depth":
            sc = sc._replace(blocks=(sc.blocks + tuple(new_blocks))[:value])
        elif j >= 0:
            blocks = list(sc.blocks)
            blocks[j] = blocks[j]._replace(**{field: value})
            sc = sc._replace(blocks=tuple(blocks))
        else:
            sc = sc._replace(**{field: value})
        return self.from_choice(choice[:i] + (sc,) + choice[i + 1:])

    def mutate(self, arch: Arch, seed: Seed = None) -> Arch:
        """Resamples one uniformly chosen decision to another value; blocks added by a deeper stage are random."""
        rng = as_rng(seed)
        choice = self.to_choice(arch)
        moves = self._moves(choice)
        if not moves:
            return arch
        move = moves[int(rng.integers(len(moves)))]
        return self._apply(choice, move, self._random_blocks(self.stages[move[0]], max(self.stages[move[0]].depths), rng))

    def neighbors(self, arch: Arch) -> list[Arch]:
        """All single-decision changes, stage by stage; blocks added by a deeper stage copy its last block."""
        choice = self.to_choice(arch)
        return [self._apply(choice, m, [choice[m[0]].blocks[-1]] * max(self.stages[m[0]].depths)) for m in self._moves(choice)]

    def size(self) -> int:
        return math.prod(len(st.widths) * len(st.se) * len(st.acts) * sum((len(st.kernels) * len(st.expansions)) ** d for d in st.depths)
                         for st in self.stages)

    def enumerate(self) -> Iterator[Arch]:
        if self.size() > ENUMERATE_LIMIT:
            raise SpaceTooLargeError(f"{self.name} holds {self.size():.3e} architectures (limit {ENUMERATE_LIMIT:,}); sample it instead")
        per_stage = [[StageChoice(w, se, act, tuple(BlockChoice(*kb) for kb in blocks))
                      for w, se, act, d in itertools.product(st.widths, st.se, st.acts, st.depths)
                      for blocks in itertools.product(itertools.product(st.kernels, st.expansions), repeat=d)] for st in self.stages]
        return (self.from_choice(choice) for choice in itertools.product(*per_stage))

    # ------------------------------------------------------------------ encodings and networks
    def encode(self, arch: Arch, kind: str = "onehot") -> np.ndarray:
        """Per stage: width, se, act, depth; then (kernel, expansion) per block slot up to the largest depth."""
        if kind not in self.encodings:
            raise SpaceConfigError(f"unknown {self.name} encoding {kind!r} (known: {self.encodings})")
        stage_part: list[tuple[int, int]] = []  # (index, number of options)
        slot_part: list[tuple[int, int]] = []  # index -1: inactive slot
        for st, sc in zip(self.stages, self.to_choice(arch)):
            stage_part += [(st.widths.index(sc.width), len(st.widths)), (st.se.index(sc.se), len(st.se)),
                           (st.acts.index(sc.act), len(st.acts)), (st.depths.index(len(sc.blocks)), len(st.depths))]
            for j in range(max(st.depths)):
                block = sc.blocks[j] if j < len(sc.blocks) else None
                slot_part += [(st.kernels.index(block.kernel) if block else -1, len(st.kernels)),
                              (st.expansions.index(block.expansion) if block else -1, len(st.expansions))]
        if kind == "categorical":
            return encodings.categorical([i for i, _ in stage_part] + [i + 1 for i, _ in slot_part])
        return np.concatenate([encodings.onehot([i], n) if i >= 0 else np.zeros(n, dtype=np.float32) for i, n in stage_part + slot_part])

    def network(self, arch: Arch, *, num_classes: int | None = None, input_size: int | None = None) -> Network:
        """Stem -> the body ``arch`` -> last 1x1 conv, global pool, classifier (the skeleton's head)."""
        self.to_choice(arch)  # a body of another space would be lowered with this space's stem and head
        sk = self.skeleton
        bn = {"eps": sk.bn_eps, "momentum": sk.bn_momentum}
        stem = _chain(("conv", "conv_bn_act", {"out_channels": sk.stem_channels, "kernel": 3, "stride": 2, "act": sk.stem_act, **bn}))
        head = [("conv", "conv_bn_act", {"out_channels": sk.last_channels, "kernel": 1, "act": sk.last_act, **bn}), ("pool", "global_avg_pool", {})]
        if sk.head_hidden is not None:
            head += [("fc", "linear", {"out_features": sk.head_hidden}), ("act", "activation", {"fn": sk.head_act})]
        head.append(("classifier", "linear", {"out_features": num_classes or sk.num_classes}))
        size = input_size or sk.input_size
        blocks = (Block("stem", stem, kind="stem"), Block("features", arch, kind="block"), Block("head", _chain(*head), kind="head"))
        return Network(blocks, (3, size, size), name=self.name, meta={"space": self.name})


def _chain(*steps: tuple[str, str, dict[str, Any]]) -> Arch:
    nodes = {"in": "input", "out": "output", **{name: (op, attrs) for name, op, attrs in steps}}
    names = ["in", *(name for name, _, _ in steps), "out"]
    return Arch(nodes, list(zip(names, names[1:])))


# ---------------------------------------------------------------- published points and the registered space

_V3_SKELETON = Skeleton(stem_channels=16, stem_act="hswish", last_channels=960, last_act="hswish", head_hidden=1280,
                        bn_eps=1e-3, bn_momentum=0.01)
_FIRST = Stage(1, (16,), (1,), (3,), (1,), (False,), ("relu",))  # OFA's fixed first block: 3x3 depthwise, no expansion

space = MobileNetSpace([
    _FIRST,
    Stage(2, (24,), (2, 3, 4)),
    Stage(2, (40,), (2, 3, 4), se=(True,)),
    Stage(2, (80,), (2, 3, 4), acts=("hswish",)),
    Stage(1, (112,), (2, 3, 4), se=(True,), acts=("hswish",)),
    Stage(2, (160,), (2, 3, 4), se=(True,), acts=("hswish",)),
], _V3_SKELETON)
"""OFA's MobileNetV3 space (Cai et al., ICLR 2020, ``ofa_mbv3``, width 1.0): per block k 3/5/7 and e 3/4/6, depth 2-4."""
SPACES.register(space.name, space)


def _around(width: int) -> tuple[int, ...]:
    """Widths 0.75x / 1x / 1.25x (multiples of 8) around a published width, so the published net is inside, not at a corner."""
    return tuple(sorted({make_divisible(width * m, 8) for m in (0.75, 1.0, 1.25)}))


def _wide(stride: int, width: int, depth: int, **fixed: Any) -> Stage:
    return Stage(stride, _around(width), tuple(range(max(1, depth - 1), depth + 2)), **fixed)


def mobilenet_v2_space() -> MobileNetSpace:
    """Stages of MobileNetV2 (Sandler et al., CVPR 2018, Table 2) with kernels 3/5/7, expansions 1/3/4/6 and widths/depths around it.

    Skeleton as torchvision's ``mobilenet_v2()``: stem 32 ReLU6, last conv 1280 ReLU6, linear classifier.
    """
    table = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    stages = [_wide(s, c, n, expansions=(1, 3, 4, 6), acts=("relu6",)) for _, c, n, s in table]
    return MobileNetSpace(stages, Skeleton(stem_channels=32, stem_act="relu6", last_channels=1280, last_act="relu6", head_hidden=None),
                          name="mobilenet_v2_space")


def mobilenet_v3_large_space() -> MobileNetSpace:
    """Stages of MobileNetV3-Large (Howard et al., ICCV 2019, Table 1) with SE and hswish searchable per stage.

    Expansions include 2.3 and 2.5 (184/80 and 200/80 in the paper); skeleton as torchvision's
    ``mobilenet_v3_large()``: stem 16 hswish, last conv 960 hswish, linear 1280 + hswish, BN eps 1e-3, momentum 0.01.
    """
    acts = {"se": (False, True), "acts": ("relu", "hswish"), "expansions": (1, 2.3, 2.5, 3, 4, 6)}
    table = ((16, 1, 1), (24, 2, 2), (40, 3, 2), (80, 4, 2), (112, 2, 1), (160, 3, 2))
    return MobileNetSpace([_wide(s, c, n, **acts) for c, n, s in table], _V3_SKELETON, name="mobilenet_v3_large_space")


MOBILENET_V2 = "c16_relu6:k3e1 | c24_relu6:k3e6,k3e6 | c32_relu6:k3e6,k3e6,k3e6 | c64_relu6:k3e6,k3e6,k3e6,k3e6 | " \
               "c96_relu6:k3e6,k3e6,k3e6 | c160_relu6:k3e6,k3e6,k3e6 | c320_relu6:k3e6"
"""torchvision ``mobilenet_v2()`` (width 1.0) in :func:`mobilenet_v2_space`."""
MOBILENET_V3_LARGE = "c16_relu:k3e1 | c24_relu:k3e4,k3e3 | c40_relu_se:k5e3,k5e3,k5e3 | c80_hswish:k3e6,k3e2.5,k3e2.3,k3e2.3 | " \
                     "c112_hswish_se:k3e6,k3e6 | c160_hswish_se:k5e6,k5e6,k5e6"
"""torchvision ``mobilenet_v3_large()`` in :func:`mobilenet_v3_large_space`."""
