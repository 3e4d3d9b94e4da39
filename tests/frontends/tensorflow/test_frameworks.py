"""``nasir.frameworks``: one switch for building, scoring and training, and one clear error without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nasir.errors import UnknownNameError
from nasir.frameworks import API, frameworks, get_frontend

from ._helpers import ALL_OPS, small_nb201

BLOCK_TF = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
import nasir, nasir.spaces.nb201, nasir.frontends.torch
from nasir.errors import MissingDependencyError
from nasir.frameworks import get_frontend
assert get_frontend("torch").lower is nasir.frontends.torch.lower
try:
    get_frontend("tensorflow")
except MissingDependencyError as err:
    print("ERROR:", err)
"""


def test_both_frameworks_offer_the_same_entry_points() -> None:
    assert sorted(frameworks()) == ["tensorflow", "torch"]
    fronts = {name: get_frontend(name) for name in frameworks()}
    for fe in fronts.values():
        assert all(callable(getattr(fe, attr)) for attr in API)
    assert fronts["tensorflow"].numpy_forward.__module__ == "nasir.frontends.tensorflow.models"
    with pytest.raises(AttributeError, match="tensorflow frontend has no 'nope'"):
        fronts["tensorflow"].nope  # noqa: B018
    with pytest.raises(UnknownNameError, match="tensorflow"):
        get_frontend("tensorflw")


def test_a_model_built_in_one_framework_moves_to_the_other_by_name() -> None:
    net = small_nb201(ALL_OPS, channels=4)
    pt, tf = get_frontend("torch"), get_frontend("tensorflow")
    weights = pt.export_weights(pt.lower(net, seed=3))
    model = tf.lower(net, seed=0)
    tf.import_weights(model, weights)
    back = tf.export_weights(model)
    assert all(np.array_equal(back[k], weights[k]) for k in weights)
    assert tf.score(net, "params") == pt.score(net, "params") == net.count_params()


def test_without_tensorflow_the_core_works_and_asking_for_it_names_the_extra() -> None:
    result = subprocess.run([sys.executable, "-P", "-c", BLOCK_TF], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ERROR: " in result.stdout and "pip install 'nasir[tf]'" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr
