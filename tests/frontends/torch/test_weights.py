"""Neutral weights: exact round trips between independently initialised models, clear key errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasir.errors import SchemaError
from nasir.frontends.torch import export_weights, import_weights, lower
from nasir.spaces.nb201 import space

from ._nets import ALL_OPS, BEST, nb101_like_cell, small_nb201


def test_export_has_exactly_the_ir_keys_shapes_and_float32() -> None:
    net = small_nb201(ALL_OPS)
    weights = export_weights(lower(net, seed=0))
    specs = net.weight_specs()
    assert list(weights) == list(specs)
    for key, spec in specs.items():
        assert weights[key].shape == spec.shape and weights[key].dtype == np.float32, key
    assert weights["cells.0/e0_1/conv.weight"].shape == (4, 4, 3, 3)  # OIHW
    assert weights["head/classifier/weight"].shape == (10, 16)  # (out, in)
    assert not specs["stem/bn/running_var"].trainable


@pytest.mark.parametrize("train_mode", [False, True])
def test_round_trip_into_a_fresh_model_gives_identical_outputs(train_mode: bool) -> None:
    net = small_nb201(ALL_OPS)
    source = lower(net, seed=0)
    source.train()
    source(torch.randn(8, 3, 32, 32))  # move the running statistics away from their init
    target = lower(net, seed=123)
    assert not np.array_equal(export_weights(target)["stem/conv/weight"], export_weights(source)["stem/conv/weight"])
    loaded = import_weights(target, export_weights(source))
    assert loaded == list(net.weight_specs())
    x = torch.randn(4, 3, 32, 32)
    source.train(train_mode)
    target.train(train_mode)
    assert torch.equal(source(x), target(x))
    again = export_weights(target)
    assert all(np.array_equal(again[k], v) for k, v in export_weights(source).items())


def test_round_trip_of_a_bare_cell_and_an_nb101_style_cell() -> None:
    for arch, shape in ((space.parse(BEST), (4, 8, 8)), (nb101_like_cell(8, 8), (8, 8, 8))):
        a, b = lower(arch, input_shapes=shape, seed=1), lower(arch, input_shapes=shape, seed=2)
        import_weights(b, {k: torch.from_numpy(v) for k, v in export_weights(a).items()})  # torch tensors accepted too
        x = torch.randn(2, *shape)
        a.eval()
        b.eval()
        assert torch.equal(a(x), b(x))


def test_weights_of_another_architecture_are_refused_naming_the_key() -> None:
    ours = lower(small_nb201(BEST), seed=0)
    other = export_weights(lower(small_nb201(ALL_OPS), seed=0))  # e0_2 is avg_pool there: no weights
    with pytest.raises(SchemaError, match=r"lack key 'cells\.0/e0_2/conv\.weight'"):
        import_weights(ours, other)
    wider = export_weights(lower(small_nb201(BEST, channels=8), seed=0))
    with pytest.raises(SchemaError, match=r"'stem/conv/weight' has shape \(8, 3, 3, 3\).*\(4, 3, 3, 3\)"):
        import_weights(ours, wider)


def test_unexpected_and_missing_keys_strict_and_lenient() -> None:
    model = lower(small_nb201(BEST), seed=0)
    weights = export_weights(model)
    with pytest.raises(SchemaError, match="unexpected key 'cells.0/typo/conv.weight'"):
        import_weights(model, {**weights, "cells.0/typo/conv.weight": np.zeros(3)})
    partial = {"head/classifier/bias": np.full(10, 0.5, dtype=np.float32), "junk": np.zeros(1)}
    assert import_weights(model, partial, strict=False) == ["head/classifier/bias"]
    assert np.array_equal(export_weights(model)["head/classifier/bias"], partial["head/classifier/bias"])
    with pytest.raises(SchemaError, match="lower\\(\\)"):
        export_weights(torch.nn.Linear(2, 2))
