"""Training: a real short run on shipped CIFAR-10 images, determinism, checkpoint/resume, evaluator."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nasir.data import ImageData, load_sample
from nasir.errors import ModelTypeError, SchemaError, ShapeMismatchError
from nasir.frontends.torch import Recipe, TrainEvaluator, evaluate, export_weights, lower, train
from nasir.frontends.torch.progress import Progress
from nasir.spaces.nb201 import space

from ._nets import ALL_OPS, BEST, small_nb201

FAST = Recipe(epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def sample() -> ImageData:
    return load_sample().subset(256, 64)


@pytest.fixture(scope="module")
def tiny(sample: ImageData) -> ImageData:
    return sample.subset(128, 32)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    wa, wb = export_weights(a), export_weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_recipe_defaults_are_the_nb201_schedule() -> None:
    r = Recipe()
    assert (r.epochs, r.batch_size, r.lr, r.momentum, r.nesterov, r.weight_decay) == (200, 256, 0.1, 0.9, True, 5e-4)
    assert (r.crop_padding, r.flip, r.eta_min) == (4, True, 0.0)
    assert r.lr_at(0) == 0.1 and math.isclose(r.lr_at(100), 0.05) and math.isclose(r.lr_at(200), 0.0, abs_tol=1e-12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.lr = 1.0  # type: ignore[misc]
    with pytest.raises(SchemaError, match="Recipe.amp"):
        Recipe(amp="fp8")
    with pytest.raises(SchemaError, match="Recipe.epochs"):
        Recipe(epochs=0)


def test_a_short_real_training_run_lowers_the_loss(sample: ImageData) -> None:
    net = small_nb201(BEST, channels=8, cells=1)
    result = train(net, sample, Recipe(epochs=3, batch_size=64), seed=0, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.05, losses
    assert [h["lr"] for h in result.history] == pytest.approx([Recipe(epochs=3).lr_at(e) for e in (1, 2, 3)], abs=1e-12)
    assert 0.0 <= result.val_acc <= 100.0 and math.isfinite(result.val_loss)
    assert result.images_per_second > 0 and result.train_loss == losses[-1]
    assert str(result.model.blocks["stem"].nodes["conv"].weight.device) == "cpu"
    assert evaluate(result.model, sample) == (result.val_acc, result.val_loss)  # the model it returns is the trained one


def test_training_is_deterministic_with_a_seed(tiny: ImageData) -> None:
    net = small_nb201(BEST, channels=4, cells=1)
    a = train(net, tiny, FAST, seed=3, progress=False)
    b = train(net, tiny, FAST, seed=3, progress=False)
    c = train(net, tiny, FAST, seed=4, progress=False)
    assert a.history == b.history and _same_weights(a.model, b.model)
    assert not _same_weights(a.model, c.model)


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tiny: ImageData, tmp_path: Path) -> None:
    net = small_nb201(BEST, channels=4, cells=1)
    full = train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "full.pt")
    first = train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "part.pt", stop_after=1)
    assert len(first.history) == 1
    state = torch.load(tmp_path / "part.pt", weights_only=True)
    assert state["epoch"] == 1 and state["arch_hash"] == net.canonical_hash()
    resumed = train(lower(net, seed=99), tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "part.pt")
    assert resumed.history == full.history
    assert _same_weights(resumed.model, full.model)
    again = train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "full.pt")  # finished: nothing to do
    assert again.history == full.history and _same_weights(again.model, full.model)


def test_checkpoints_of_another_arch_or_recipe_or_garbage_are_refused(tiny: ImageData, tmp_path: Path) -> None:
    ckpt = tmp_path / "run.pt"
    train(small_nb201(BEST, channels=4), tiny, FAST, seed=0, progress=False, checkpoint=ckpt, stop_after=1)
    with pytest.raises(SchemaError, match=r"run\.pt.*written for architecture"):
        train(small_nb201(ALL_OPS, channels=4), tiny, FAST, seed=0, progress=False, checkpoint=ckpt)
    with pytest.raises(SchemaError, match=r"another recipe \(fields \['lr'\]"):
        train(small_nb201(BEST, channels=4), tiny, dataclasses.replace(FAST, lr=0.05), seed=0, progress=False, checkpoint=ckpt)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SchemaError, match=r"junk\.pt.*not a readable"):
        train(small_nb201(BEST, channels=4), tiny, FAST, seed=0, progress=False, checkpoint=tmp_path / "junk.pt")


def test_models_that_do_not_fit_the_data_fail_before_training(tiny: ImageData) -> None:
    with pytest.raises(ShapeMismatchError, match=r"outputs \(100,\)"):
        train(small_nb201(BEST, channels=4, dataset="cifar100"), tiny, FAST, seed=0, progress=False)
    with pytest.raises(ShapeMismatchError, match=r"takes inputs \(3, 16, 16\)"):
        train(small_nb201(BEST, channels=4, dataset="imagenet16"), tiny, FAST, seed=0, progress=False)
    with pytest.raises(ShapeMismatchError, match=r"outputs \(3, 32, 32\) but .* needs \(10,\) logits"):
        train(space.parse(BEST), tiny, FAST, seed=0, progress=False)  # a bare cell is no classifier
    with pytest.raises(ModelTypeError, match=r"train\(\) takes an nn.Module, Network or Arch, got str") as info:
        train(BEST, tiny, FAST, seed=0, progress=False)  # the string, not the parsed cell
    assert isinstance(info.value, TypeError)


def test_train_evaluator_scores_architectures_reproducibly(tiny: ImageData) -> None:
    evaluator = TrainEvaluator(space, tiny, epochs=1, recipe=Recipe(batch_size=64), seed=0,
                               network_kwargs={"channels": 4, "cells_per_stage": 1})
    first = evaluator.evaluate(space.parse(BEST))
    assert set(first) == {"val_acc", "val_loss", "train_loss", "seconds", "epochs"} and first["epochs"] == 1
    assert 0.0 <= first["val_acc"] <= 100.0 and first["seconds"] > 0
    second = evaluator(space.parse(BEST))
    assert (first["val_acc"], first["train_loss"]) == (second["val_acc"], second["train_loss"])


def test_progress_logs_epochs_without_rich(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # makes `import rich.progress` fail
    with caplog.at_level(logging.INFO, logger="nasir.frontends.torch.train"):
        with Progress(enabled=True, total_epochs=2, steps=3) as bar:
            bar.advance()
            bar.epoch_done({"epoch": 1, "train_loss": 2.5})
    assert "epoch 1/2 train_loss=2.5" in caplog.text


def test_progress_bar_runs_inside_training(tiny: ImageData) -> None:
    result = train(small_nb201(BEST, channels=4), tiny.subset(64, 16), Recipe(epochs=1, batch_size=64), seed=0, progress=True)
    assert len(result.history) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only twin of test_a_short_real_training_run_lowers_the_loss")
def test_cuda_training_uses_the_same_code_path_with_bf16(sample: ImageData) -> None:
    net = small_nb201(BEST, channels=8, cells=1)
    result = train(net, sample, Recipe(epochs=3, batch_size=64), seed=0, progress=False, device="cuda")
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0] and next(result.model.parameters()).is_cuda
