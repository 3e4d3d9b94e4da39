"""Image-classification training with the NAS-Bench-201 recipe as the default.

NAS-Bench-201 (Dong & Yang, ICLR 2020, Sec. 2.3 and xautodl ``configs/nas-benchmark``): SGD with
Nesterov momentum 0.9, weight decay 5e-4 on all parameters, learning rate 0.1 annealed by a cosine
per epoch to 0 over 200 epochs, batch 256, cross-entropy, random crop 32 (padding 4) + flip, CIFAR
mean/std normalisation. Every field is configurable through the frozen :class:`Recipe`.

One code path runs on CPU and CUDA; on CUDA it adds mixed precision (bf16 or fp16 autocast) and
the channels-last layout. A run is a pure function of (model init, data, recipe, seed) on CPU.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasir.data import ImageData
from nasir.errors import ModelTypeError, ShapeMismatchError
from nasir.frontends.torch.checkpoint import load_checkpoint, model_hash, save_checkpoint
from nasir.frontends.torch.data import ImageBatches
from nasir.frontends.torch.modules import ArchModule, NetworkModule, lower
from nasir.frontends.torch.progress import Progress
from nasir.ir import Arch, Network
from nasir.recipe import Recipe, TrainResult

__all__ = ["Recipe", "TrainResult", "train", "evaluate", "resolve_device", "set_threads"]

log = logging.getLogger(__name__)


def set_threads(n: int) -> None:
    """Sizes torch's intra-op pool: more threads than free cores makes torch spin and run many times slower."""
    torch.set_num_threads(n)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _model_for(model_or_arch: nn.Module | Network | Arch, data: ImageData, seed: int) -> nn.Module:
    if isinstance(model_or_arch, Network):
        model = lower(model_or_arch, seed=seed)
        shape_in, shape_out = model_or_arch.input_shape, model.output_shape
    elif isinstance(model_or_arch, Arch):
        model = lower(model_or_arch, input_shapes=data.input_shape, seed=seed)
        shape_in, shape_out = data.input_shape, model.output_shape
    elif isinstance(model_or_arch, nn.Module):
        model = model_or_arch
        shape_in = shape_out = None
        if isinstance(model, NetworkModule):
            shape_in, shape_out = model.network.input_shape, model.output_shape
        elif isinstance(model, ArchModule):
            shape_in, shape_out = model.input_shapes[0], model.output_shape
    else:
        raise ModelTypeError(f"train() takes an nn.Module, Network or Arch, got {type(model_or_arch).__name__}")
    if shape_in is not None and tuple(shape_in) != data.input_shape:
        raise ShapeMismatchError(f"the model takes inputs {tuple(shape_in)} but {data.name} images are {data.input_shape}")
    if shape_out is not None and tuple(shape_out) != (data.num_classes,):
        raise ShapeMismatchError(f"the model outputs {tuple(shape_out)} but {data.name} needs ({data.num_classes},) logits")
    return model


def _autocast(device: torch.device, amp: str) -> tuple[torch.dtype | None, torch.amp.GradScaler | None]:
    """Autocast dtype and (fp16 only) gradient scaler; mixed precision is used on CUDA only."""
    if device.type != "cuda" or amp == "off":
        return None, None
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return dtype, scaler


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageData, *, device: str | torch.device | None = None,
             batch_size: int = 1024, amp: str = "off") -> tuple[float, float]:
    """Accuracy (percent) and mean cross-entropy of ``model`` on ``data``'s validation split.

    ``device=None`` evaluates where the model's parameters live.
    """
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else resolve_device(None)
    device = torch.device(device)
    batches = ImageBatches(data.x_val, data.y_val, batch_size, mean=data.mean, std=data.std, device=device)
    dtype, _ = _autocast(device, amp)
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    for xb, yb in batches:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(xb)
        loss_sum += nn.functional.cross_entropy(logits.float(), yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    n = max(len(data.y_val), 1)
    return 100.0 * correct.item() / n, loss_sum.item() / n


class _Run:
    """The mutable state of one training run (model, optimizer, scheduler, RNG, history)."""

    def __init__(self, model: nn.Module, recipe: Recipe, device: torch.device, seed: int) -> None:
        self.model, self.recipe, self.device = model, recipe, device
        self.optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                         weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda e: recipe.lr_at(e) / recipe.lr if recipe.lr else 0.0)
        self.amp_dtype, self.scaler = _autocast(device, recipe.amp)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.history: list[dict[str, float]] = []

    def state(self, arch_hash: str) -> dict[str, Any]:
        return {
            "arch_hash": arch_hash, "recipe": dataclasses.asdict(self.recipe), "epoch": self.epoch,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": {"data": self.generator.get_state(), "torch": torch.get_rng_state()}, "history": self.history,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.generator.set_state(state["rng"]["data"])
        torch.set_rng_state(state["rng"]["torch"])
        self.epoch, self.history = int(state["epoch"]), list(state["history"])

    def epoch_pass(self, batches: ImageBatches, bar: Progress, data: ImageData) -> tuple[dict[str, float], float]:
        """One epoch of SGD, the scheduler step and (when due) validation.

        Returns the epoch record and the seconds spent in the SGD pass alone (for throughput).
        """
        self.model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        for xb, yb in batches:
            loss_sum += self.step(xb, yb).double() * len(yb)
            bar.advance()
        train_loss = loss_sum.item() / len(data.y_train)  # .item() waits for the device
        seconds = time.perf_counter() - start
        self.scheduler.step()
        self.epoch += 1
        record = {"epoch": self.epoch, "train_loss": train_loss, "lr": self.optimizer.param_groups[0]["lr"]}
        r = self.recipe
        if (r.eval_every and self.epoch % r.eval_every == 0) or self.epoch == r.epochs:
            record["val_acc"], record["val_loss"] = evaluate(self.model, data, device=self.device, batch_size=r.eval_batch_size, amp=r.amp)
        self.history.append(record)
        return record, seconds

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits = self.model(xb)
            loss = nn.functional.cross_entropy(logits.float(), yb, label_smoothing=self.recipe.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return loss.detach()


def train(model_or_arch: nn.Module | Network | Arch, data: ImageData, recipe: Recipe = Recipe(), *, seed: int,
          device: str | torch.device | None = None, checkpoint: str | Path | None = None, progress: bool = True,
          stop_after: int | None = None) -> TrainResult[nn.Module]:
    """Trains a model (or lowers and trains a Network / Arch) on ``data`` with ``recipe``.

    Args:
        model_or_arch: a lowered model, or a Network / Arch lowered here with init seed ``seed``.
        data: images (:func:`nasir.data.load_cifar10`, :func:`nasir.data.load_sample`).
        recipe: hyper-parameters.
        seed: seeds the init (when lowering here), shuffling and augmentation.
        device: ``None`` picks CUDA when present, else CPU.
        checkpoint: a file; written after every epoch and, when it exists, resumed from.
        progress: show a progress bar (``rich`` when installed, else log lines).
        stop_after: stop after this epoch (an interruption; the schedule is still ``recipe.epochs``).

    Raises:
        ShapeMismatchError: the model's input/output shapes do not fit the data.
        SchemaError: the checkpoint belongs to another architecture or recipe.
    """
    device = resolve_device(device)
    model = _model_for(model_or_arch, data, seed).to(device)
    channels_last = recipe.channels_last and device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    run, arch_hash = _Run(model, recipe, device, seed), model_hash(model)
    if checkpoint is not None and Path(checkpoint).exists():
        run.restore(load_checkpoint(checkpoint, arch_hash=arch_hash, recipe=dataclasses.asdict(recipe)))
        log.info("resumed %s at epoch %d", checkpoint, run.epoch)
    batches = ImageBatches(data.x_train, data.y_train, recipe.batch_size, mean=data.mean, std=data.std, device=device,
                           train=True, generator=run.generator, padding=recipe.crop_padding, flip=recipe.flip,
                           channels_last=channels_last)
    last = min(recipe.epochs, stop_after if stop_after is not None else recipe.epochs)
    start, images, sgd_seconds = time.perf_counter(), 0, 0.0
    with Progress(enabled=progress, total_epochs=recipe.epochs, steps=len(batches), start_epoch=run.epoch) as bar:
        while run.epoch < last:
            record, seconds = run.epoch_pass(batches, bar, data)
            images, sgd_seconds = images + len(data.y_train), sgd_seconds + seconds
            bar.epoch_done(record)
            if checkpoint is not None:
                save_checkpoint(checkpoint, run.state(arch_hash))
    result = TrainResult(model, history=list(run.history), seconds=time.perf_counter() - start)
    result.images_per_second = images / sgd_seconds if sgd_seconds > 0 else 0.0
    if run.history and "val_acc" in run.history[-1]:
        result.val_acc, result.val_loss = run.history[-1]["val_acc"], run.history[-1]["val_loss"]
    return result
