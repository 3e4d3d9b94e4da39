"""GenNAS synthetic regression targets and proxy tasks (Li et al., NeurIPS 2021; leeyeehoo/GenNAS).

GenNAS scores an architecture by how well it regresses, from one batch of images, a set of
synthetic signal maps at three stages. This module builds those maps in numpy (seeded), so every
frontend trains against the same targets. Signal bases (``utils/tricks.py`` of the reference):

- ``sin1d``: for each frequency ``beta``, 32 sine/cosine maps varying along rows and 32 along
  columns, ``sin(2 pi beta k + phase)``, ``k = 1..size``, random phases;
- ``sin2d``: for each pair ``(beta1, beta2)``, 32 maps of ``sin/cos(2 pi (beta1 y + beta2 x) + phase)``
  and their row-flipped copies;
- ``dot`` / ``gdot``: ``round(partial * size^2)`` random pixels set to +-1 (``gdot``: then blurred
  with a sigma-1 Gaussian and rescaled to max |value| 1);
- ``resize``: the input images resized to ``size x size`` (nearest), min-max scaled to [-1, 1]
  over the batch, a random RGB channel per target channel.

``local`` signals draw new phases/dots/channel choices per sample; global ones draw one map set
shared by the batch. Per stage, a target is the level-weighted sum of its signals, restricted to
``channels[stage]`` maps drawn at random from the generated pool (as the reference's ``randperm``).

Tasks: ``combo`` is the reference's ``CONF_COMBO`` and ``nb101`` its ``CONF_NB101`` (the task
searched on NAS-Bench-101, which the authors' README also uses for NAS-Bench-201). The released
code has no CV "single" config; ``single_task(kind)`` is one signal type at every stage, like its
``CONF_NLP_SINGLE`` (Dot, local, every position), and ``TASKS["single"]`` is the Dot version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import gaussian_filter

from nasir.errors import InvalidArchError, SchemaError, UnknownNameError
from nasir.rng import Seed, as_rng

if TYPE_CHECKING:
    from nasir.ir import Network

__all__ = ["KINDS", "NOISES", "Signal", "Task", "TASKS", "single_task", "signal_maps", "targets", "input_noise",
           "get_task", "stage_blocks", "check_schedule", "nearest_indices",
           "random_task", "mutate_task"]

KINDS = ("sin1d", "sin2d", "dot", "gdot", "resize")
NOISES = ("gaussian", "uniform")
STAGES = 3
POS_FEATS = 32  # generate_wave's num_pos_feats
CHANNEL_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)  # config_generator's last_channel_l* choices (x 64)
LEVELS = tuple(round(0.5 + 0.1 * k, 1) for k in range(25))  # np.arange(0.5, 3., 0.1)
NOISE_LEVELS = tuple(round(0.1 * k, 1) for k in range(10))


@dataclass(frozen=True)
class Signal:
    """One signal basis of a stage's target.

    Args:
        kind: one of :data:`KINDS`.
        level: multiplier of the maps.
        betas: ``sin1d``/``sin2d`` frequencies (cycles per pixel); ten in the reference.
        local: new random draws per sample (True) or one draw shared by the batch.
        partial: ``dot``/``gdot``: fraction of the ``size x size`` positions set to +-1.
    """

    kind: str
    level: float = 1.0
    betas: tuple[float, ...] = ()
    local: bool = True
    partial: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SchemaError(f"GenNAS signal kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind in ("sin1d", "sin2d") and not self.betas:
            raise SchemaError(f"a {self.kind} signal needs at least one frequency in betas")
        if not 0.0 <= self.partial <= 1.0:
            raise SchemaError(f"a dot signal's partial is a fraction in [0, 1], got {self.partial}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))


@dataclass(frozen=True)
class Task:
    """A GenNAS proxy task: per stage, the signals summed into the target, and the input noise.

    Args:
        stages: three tuples of :class:`Signal` (an empty stage has an all-zero target).
        channels: target channels per stage (the reference: ``last_channel_l* x 64``).
        noise: ``"gaussian"`` or ``"uniform"`` noise added to the input at every iteration.
        noise_level: its scale (0 = no noise).
        size: spatial size of every target (8 in the reference for 32x32 inputs).
    """

    stages: tuple[tuple[Signal, ...], ...]
    channels: tuple[int, ...] = (64, 64, 64)
    noise: str = "gaussian"
    noise_level: float = 0.0
    size: int = 8
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.stages) != STAGES or len(self.channels) != STAGES:
            raise SchemaError(f"a GenNAS task has {STAGES} stages and {STAGES} channel counts, "
                              f"got {len(self.stages)} and {len(self.channels)}")
        if self.noise not in NOISES:
            raise SchemaError(f"GenNAS noise must be one of {NOISES}, got {self.noise!r}")
        if any(c < 1 for c in self.channels) or self.size < 1:
            raise SchemaError(f"target channels and size must be positive, got {self.channels} and {self.size}")
        object.__setattr__(self, "stages", tuple(tuple(s) for s in self.stages))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    def describe(self) -> dict:
        """A JSON-friendly description (for benchmark records)."""
        return {"name": self.name, "channels": list(self.channels), "noise": self.noise, "noise_level": self.noise_level,
                "stages": [[{"kind": s.kind, "level": s.level, "betas": list(s.betas), "local": s.local,
                             "partial": s.partial} for s in stage] for stage in self.stages]}


# ------------------------------------------------------------------ signal maps


def _wave_pool(kind: str, betas: Sequence[float], size: int, rng: np.random.Generator) -> np.ndarray:
    """All maps of one draw of ``generate_wave`` before channel selection: ``(pool, size, size)``."""
    k = np.arange(1, size + 1, dtype=np.float64)  # not_mask.cumsum: 1..size
    maps = []
    if kind == "sin1d":
        for beta in betas:
            step = rng.random(POS_FEATS) * 2 * math.pi
            axis = k * 2 * math.pi * beta
            pos_y = np.broadcast_to(axis[:, None, None], (size, size, 1)) + step  # varies along rows
            pos_x = np.broadcast_to(axis[None, :, None], (size, size, 1)) + step  # varies along columns
            maps += [_sincos(pos_y), _sincos(pos_x)]
    else:
        for beta1 in betas:
            for beta2 in betas:
                step = rng.random(POS_FEATS) * 2 * math.pi
                pos = (k[:, None, None] * 2 * math.pi * beta1 + k[None, :, None] * 2 * math.pi * beta2) + step
                s = _sincos(pos)
                maps += [s, s[:, ::-1, :]]  # the reference concatenates the row-flipped copy
    return np.concatenate(maps, axis=0)


def _sincos(pos: np.ndarray) -> np.ndarray:
    """``stack(sin(pos[..., 0::2]), cos(pos[..., 1::2])).flatten`` -> channels first ``(feats, h, w)``."""
    inter = np.stack([np.sin(pos[..., 0::2]), np.cos(pos[..., 1::2])], axis=-1).reshape(*pos.shape[:2], -1)
    return np.moveaxis(inter, -1, 0)


def _dots(n: int, size: int, gaussian: bool, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(size * size)
    where = rng.choice(size * size, size=n, replace=False)
    out[where] = np.where(rng.random(n) > 0.5, 1.0, -1.0)
    out = out.reshape(size, size)
    if gaussian and n:
        out = gaussian_filter(out, 1)
        out = out / np.abs(out).max()
    return out


def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    """Source rows (or columns) of a nearest resize, ``F.interpolate``'s default: ``floor(i * in / out)``;
    also how GenNAS resizes stage outputs to the target size, in any framework."""
    return np.floor(np.arange(size_out) * size_in / size_out).astype(int)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Nearest resize (:func:`nearest_indices`), then min-max scaling over the whole batch to [-1, 1]."""
    h, w = images.shape[-2:]
    small = images[:, :, nearest_indices(h, size)][:, :, :, nearest_indices(w, size)].astype(np.float64)
    small = small - small.min()
    return (small / small.max() - 0.5) * 2


def signal_maps(signal: Signal, batch: int, channels: int, size: int, rng: np.random.Generator,
                images: np.ndarray | None = None) -> np.ndarray:
    """One signal's maps ``(batch, channels, size, size)`` (float64, before ``level``)."""
    if signal.kind in ("sin1d", "sin2d"):
        def draw() -> np.ndarray:
            pool = _wave_pool(signal.kind, signal.betas, size, rng)
            if channels > len(pool):
                raise SchemaError(f"{signal.kind} with {len(signal.betas)} frequencies makes {len(pool)} maps, fewer than "
                                  f"the {channels} target channels")
            return pool[rng.permutation(len(pool))[:channels]]
        return np.stack([draw() for _ in range(batch)]) if signal.local else np.broadcast_to(draw(), (batch, channels, size, size)).copy()
    if signal.kind in ("dot", "gdot"):
        n = int(signal.partial * size * size)
        per = batch if signal.local else 1
        maps = np.array([[_dots(n, size, signal.kind == "gdot", rng) for _ in range(channels)] for _ in range(per)])
        return maps if signal.local else np.broadcast_to(maps, (batch, channels, size, size)).copy()
    if images is None:
        raise SchemaError("a resize signal needs the input images")
    small = _resize(np.asarray(images), size)
    picks = rng.permutation(1000)[:channels] % small.shape[1]  # reference: repeat RGB 1000x, keep randperm(1000)[:c]
    return small[:, picks]


def targets(task: Task, images: np.ndarray, seed: Seed) -> list[np.ndarray]:
    """The three stage targets ``(batch, channels[s], size, size)`` float32 for ``images`` (NCHW)."""
    rng = as_rng(seed)
    images = np.asarray(images)
    out = []
    for stage, channels in zip(task.stages, task.channels):
        t = np.zeros((len(images), channels, task.size, task.size))
        for signal in stage:
            t += signal.level * signal_maps(signal, len(images), channels, task.size, rng, images)
        out.append(t.astype(np.float32))
    return out


def input_noise(task: Task, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray | None:
    """Noise added to the input at one iteration (``None`` when the level is 0)."""
    if task.noise_level == 0:
        return None
    if task.noise == "gaussian":
        return (rng.standard_normal(shape) * task.noise_level).astype(np.float32)
    return rng.uniform(-task.noise_level, task.noise_level, size=shape).astype(np.float32)


# ------------------------------------------------------------------ tasks

_HIGH = (0.375, 0.3875, 0.4, 0.4125, 0.425, 0.4375, 0.45, 0.4625, 0.475, 0.4875)
_LOW = (0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.325, 0.35)


def single_task(kind: str = "dot", *, betas: Sequence[float] = _HIGH) -> Task:
    """One signal type (level 1, local, every position for dots) at all three stages, 64 channels."""
    sig = Signal(kind, 1.0, tuple(betas) if kind in ("sin1d", "sin2d") else (), True, 1.0)
    return Task(((sig,),) * STAGES, name=f"single-{kind}")


TASKS: dict[str, Task] = {
    "single": single_task("dot"),
    "combo": Task((
        (Signal("sin1d", 1.0, _HIGH), Signal("sin2d", 1.0, _HIGH), Signal("dot", 1.0, partial=1.0)),
        (Signal("sin1d", 1.0, _HIGH), Signal("sin2d", 1.0, _LOW), Signal("resize", 1.0)),
        (Signal("sin1d", 1.0, _HIGH), Signal("dot", 1.0, partial=1.0), Signal("resize", 1.0)),
    ), name="combo"),
    "nb101": Task((
        (Signal("sin2d", 1.1, (0.014257232402844334, 0.0168671689792797, 0.014930071944680878, 0.0204012022061141,
                               0.022935808834129698, 0.0172234284050367, 0.01564545022287097, 0.019183789517967623,
                               0.01550017992399958, 0.014574095887562394)),),
        (Signal("sin1d", 1.8, (0.2991077123933203, 0.3060359499425501, 0.30375714406796583, 0.2880217185797205,
                               0.2934476311034326, 0.2960826278609313, 0.3058547556352616, 0.2928834290170104,
                               0.30562376104172906, 0.29586053617133456)),
         Signal("sin2d", 2.9, (0.37984431962046133, 0.3818358163414827, 0.3583425915890292, 0.3276257467988693,
                               0.26487541063592235, 0.2807695886901979, 0.4205045860585813, 0.3414214149894483,
                               0.3036242990663395, 0.4203015359951532)),
         Signal("gdot", 1.1, partial=0.578125), Signal("resize", 2.4)),
        (Signal("sin1d", 1.5, (0.1539337022534557, 0.10572650708639424, 0.106631778214214, 0.15756559392005454,
                               0.1337356958776917, 0.10509981523526175, 0.13191482406159902, 0.1317568276094524,
                               0.10281716031383362, 0.10936835489126645), local=False),
         Signal("sin2d", 0.9, (0.1979369424135534, 0.2030890995764645, 0.10339032893028458, 0.20484341381119886,
                               0.13566384672510265, 0.20905695437266292, 0.24540172530847384, 0.08635711325215838,
                               0.13518427726099247, 0.14525989963217315), local=False),
         Signal("gdot", 2.1, partial=0.4375, local=False), Signal("resize", 2.2)),
    ), channels=(64, 48, 16), noise="uniform", noise_level=0.1, name="nb101"),
}


def _random_signal(kind: str, rng: np.random.Generator) -> Signal:
    """``config_generator.generate_config``'s draw of one present signal."""
    level = float(rng.choice(LEVELS))
    if kind in ("sin1d", "sin2d"):
        lo, hi = np.sort(rng.random(2) * 0.5)
        return Signal(kind, level, tuple(rng.uniform(lo, hi, 10)), bool(rng.random() > 0.5))
    if kind in ("dot", "gdot"):
        return Signal(kind, level, partial=float(rng.random()), local=bool(rng.random() > 0.5))
    return Signal(kind, level)


def random_task(seed: Seed) -> Task:
    """A task drawn as GenNAS's task search does: each signal kind present at each stage with
    probability 1/2 (random level, frequencies, locality, density), channel ratios from
    {0.25..1.5} x 64, Gaussian or uniform input noise of level 0..0.9."""
    rng = as_rng(seed)
    stages = tuple(tuple(_random_signal(k, rng) for k in KINDS if rng.random() > 0.5) for _ in range(STAGES))
    channels = tuple(int(float(rng.choice(CHANNEL_RATIOS)) * 64) for _ in range(STAGES))
    return Task(stages, channels, str(rng.choice(NOISES)), float(rng.choice(NOISE_LEVELS)), name="random")


def mutate_task(task: Task, seed: Seed, *, p: float = 0.8) -> Task:
    """GenNAS's ``mutate_config``: with probability ``1 - p`` each, redraw the noise, each stage's
    channel ratio and each (stage, kind) slot (present with probability 1/2, freshly drawn)."""
    rng = as_rng(seed)
    noise, level = task.noise, task.noise_level
    if rng.random() > p:
        noise, level = str(rng.choice(NOISES)), float(rng.choice(NOISE_LEVELS))
    channels = tuple(int(float(rng.choice(CHANNEL_RATIOS)) * 64) if rng.random() > p else c for c in task.channels)
    stages = []
    for stage in task.stages:
        by_kind = {s.kind: s for s in stage}
        for kind in KINDS:
            if rng.random() >= p:
                by_kind.pop(kind, None)
                if rng.random() > 0.5:
                    by_kind[kind] = _random_signal(kind, rng)
        stages.append(tuple(by_kind[k] for k in KINDS if k in by_kind))
    return replace(task, stages=tuple(stages), channels=channels, noise=noise, noise_level=level, name="mutant")


# ------------------------------------------------------------------ the proxy's framework-free parts


def get_task(task: str | Task) -> Task:
    """A :class:`Task`, given as itself or by its name in :data:`TASKS`."""
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise UnknownNameError(f"unknown GenNAS task {task!r} (known: {sorted(TASKS)}; or pass a gennas_signals.Task)")
    return TASKS[task]


def stage_blocks(network: Network) -> list[str]:
    """Names of the blocks ending each stage: a ``cell`` block followed by a ``reduction`` or ``head``
    (GenNAS regresses the outputs of the last cell of each of the three stages)."""
    blocks = network.blocks
    ends = [a.name for a, b in zip(blocks, blocks[1:]) if a.kind == "cell" and b.kind in ("reduction", "head")]
    if len(ends) != STAGES:
        raise InvalidArchError(f"GenNAS regresses three stages; network {network.name!r} has {len(ends)} stage ends "
                               f"(cell blocks before a reduction or the head): {ends}")
    return ends


def check_schedule(iterations: int, eval_interval: int) -> None:
    """GenNAS records an eval-mode loss every ``eval_interval`` iterations and scores the last one,
    so at least one must fall within ``iterations``."""
    if not 0 < eval_interval <= iterations:
        raise SchemaError(f"gennas needs 0 < eval_interval <= iterations, got {eval_interval} and {iterations}")
