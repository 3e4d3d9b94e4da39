"""TensorFlow training: torch's recipe and update rule, a real short run on shipped CIFAR-10 images, checkpoint/resume,
the evaluator."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import torch

import nasir.frontends.tensorflow as tfe
import nasir.frontends.torch as pte
from nasir.data import ImageData, load_sample
from nasir.errors import DataConfigError, ModelTypeError, SchemaError, ShapeMismatchError
from nasir.frontends.tensorflow.checkpoint import load_checkpoint
from nasir.frontends.tensorflow.data import ImageBatches, augment
from nasir.frontends.tensorflow.train import SGD, cross_entropy
from nasir.frontends.torch.checkpoint import save_checkpoint as save_torch_checkpoint
from nasir.spaces.nb201 import space

from ._helpers import ALL_OPS, BEST, random_weights, rel_err, small_nb201

FAST = tfe.Recipe(epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def tiny() -> ImageData:
    return load_sample().subset(128, 32)


def test_both_frontends_read_the_one_core_recipe() -> None:
    from nasir.recipe import Recipe

    assert tfe.Recipe is pte.Recipe is Recipe


def test_sgd_steps_move_weights_as_torch_does() -> None:
    """Nesterov momentum, L2 weight decay in the gradient and a changing rate: three steps on the same
    weights and batch (BN in train mode, label smoothing) give torch's weights and statistics."""
    net = small_nb201(BEST, channels=4)
    weights = random_weights(net.weight_specs(), 0)
    module, model = pte.lower(net), tfe.lower(net)
    pte.import_weights(module, weights)
    tfe.import_weights(model, weights)
    recipe = pte.Recipe(lr=0.2, weight_decay=5e-3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    opt_t = torch.optim.SGD(module.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                            weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)
    opt_f = SGD(model.trainable_variables, momentum=recipe.momentum, weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)
    xt, xf = torch.from_numpy(x), tf.constant(x.transpose(0, 2, 3, 1))
    module.train()
    for lr in (0.2, 0.1, 0.05):
        for group in opt_t.param_groups:
            group["lr"] = lr
        opt_t.zero_grad()
        torch.nn.functional.cross_entropy(module(xt), torch.from_numpy(y), label_smoothing=0.1).backward()
        opt_t.step()
        with tf.GradientTape() as tape:
            loss = cross_entropy(model(xf, training=True), tf.constant(y), 0.1)
        opt_f.apply(tape.gradient(loss, model.trainable_variables), tf.constant(lr))
    expected, got = pte.export_weights(module), tfe.export_weights(model)
    assert max(rel_err(got[k], expected[k]) for k in expected) <= 1e-4


def test_a_short_real_training_run_lowers_the_loss_and_is_seeded(tiny: ImageData) -> None:
    net = small_nb201(BEST, channels=4)
    recipe = tfe.Recipe(epochs=3, batch_size=32, lr=0.05)
    result = tfe.train(net, tiny, recipe, seed=0, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.05, losses
    assert [h["lr"] for h in result.history] == pytest.approx([recipe.lr_at(e) for e in (1, 2, 3)], abs=1e-12)
    assert 0.0 <= result.val_acc <= 100.0 and math.isfinite(result.val_loss) and result.images_per_second > 0
    # the evaluator trains the same network from the same seed: the same run, number for number
    evaluator = tfe.TrainEvaluator(space, tiny, epochs=3, recipe=pte.Recipe(batch_size=32, lr=0.05),
                                   network_kwargs={"channels": 4, "cells_per_stage": 1})
    metrics = evaluator(space.parse(BEST))
    assert metrics["train_loss"] == result.train_loss and metrics["val_acc"] == result.val_acc
    assert set(metrics) == {"val_acc", "val_loss", "train_loss", "seconds", "epochs"}


def test_training_checks_shapes_and_augmentation_is_seeded(tiny: ImageData) -> None:
    with pytest.raises(ShapeMismatchError, match=r"takes inputs \(3, 16, 16\)"):
        tfe.train(small_nb201(BEST, dataset="imagenet16"), tiny, seed=0)
    with pytest.raises(ShapeMismatchError, match=r"needs \(10,\) logits"):
        tfe.train(small_nb201(BEST, dataset="cifar100"), tiny, seed=0)
    with pytest.raises(ModelTypeError, match=r"train\(\) takes a model from nasir.frontends.tensorflow.lower\(\), a Network or an Arch, "
                                             r"got str") as info:
        tfe.train(BEST, tiny, seed=0)  # the string, not the parsed cell
    assert isinstance(info.value, TypeError)
    with pytest.raises(DataConfigError, match="training batches need a numpy Generator for shuffling and augmentation"):
        ImageBatches(tiny.x_train, tiny.y_train, 16, mean=tiny.mean, std=tiny.std, train=True)
    a, b = (augment(tiny.x_train[:16], np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(a, b) and a.shape == (16, 32, 32, 3) and not np.array_equal(a, tiny.x_train[:16])


def _same_variables(a: tf.keras.Model, b: tf.keras.Model) -> bool:
    """Every variable, BN moving statistics included, bit for bit."""
    return len(a.variables) == len(b.variables) and all(np.array_equal(u.numpy(), v.numpy()) for u, v in zip(a.variables, b.variables))


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tiny: ImageData, tmp_path: Path) -> None:
    net = small_nb201(BEST, channels=4)
    full = tfe.train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "full.npz")
    first = tfe.train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "part.npz", stop_after=1)
    assert len(first.history) == 1 and not (tmp_path / "part.npz.tmp").exists()
    state = load_checkpoint(tmp_path / "part.npz", arch_hash=net.canonical_hash(), recipe=dataclasses.asdict(FAST))
    assert state["epoch"] == 1 and len(state["model"]) == len(first.model.variables) > len(first.model.trainable_variables)
    resumed = tfe.train(tfe.lower(net, seed=99), tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "part.npz")
    assert resumed.history == full.history and _same_variables(resumed.model, full.model)
    again = tfe.train(net, tiny, FAST, seed=1, progress=False, checkpoint=tmp_path / "full.npz")  # finished: nothing to do
    assert again.history == full.history and _same_variables(again.model, full.model)


def test_checkpoints_of_another_arch_recipe_or_format_are_refused(tiny: ImageData, tmp_path: Path) -> None:
    ckpt, recipe = tmp_path / "run.npz", dataclasses.replace(FAST, epochs=1)
    tfe.train(small_nb201(BEST, channels=4), tiny, recipe, seed=0, progress=False, checkpoint=ckpt)
    with pytest.raises(SchemaError, match=r"run\.npz.*written for architecture"):
        tfe.train(small_nb201(ALL_OPS, channels=4), tiny, recipe, seed=0, progress=False, checkpoint=ckpt)
    with pytest.raises(SchemaError, match=r"run\.npz.*another recipe \(fields \['lr'\]"):
        tfe.train(small_nb201(BEST, channels=4), tiny, dataclasses.replace(recipe, lr=0.05), seed=0, progress=False, checkpoint=ckpt)
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(SchemaError, match=r"junk\.npz.*not a readable"):
        tfe.train(small_nb201(BEST, channels=4), tiny, recipe, seed=0, progress=False, checkpoint=tmp_path / "junk.npz")
    save_torch_checkpoint(tmp_path / "torch.pt", {"arch_hash": small_nb201(BEST, channels=4).canonical_hash()})
    with pytest.raises(SchemaError, match=r"torch\.pt.*not a nasir-tf-checkpoint/1 file"):
        tfe.train(small_nb201(BEST, channels=4), tiny, recipe, seed=0, progress=False, checkpoint=tmp_path / "torch.pt")
    with pytest.raises(SchemaError, match=r"run\.npz.*not a readable"):  # and torch refuses the TensorFlow file
        pte.train(pte.lower(small_nb201(BEST, channels=4)), tiny, recipe, seed=0, progress=False, checkpoint=ckpt)
