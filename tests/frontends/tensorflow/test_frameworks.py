"""``nasir.frameworks``: one switch for building, scoring and training, and one clear error without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nasir.errors import UnknownNameError, UnsupportedProxyError
from nasir.frameworks import API, frameworks, get_frontend
from nasir.proxies import PROXIES

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
        assert all(callable(getattr(fe, attr)) for attr in API if attr != "proxy_implementations")
        assert sorted(fe.proxy_implementations.names()) == sorted(name for name in PROXIES if name not in fe.unsupported_proxies())
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


def test_the_proxy_scorer_of_a_strategy_runs_in_either_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same definition, same neutral weights: both frameworks rank by the same params; synflow is deterministic."""
    from nasir import proxies
    from nasir.registry import Registry
    from nasir.spaces.nb201 import space
    from nasir.strategies import ProxyScorer

    skeleton = {"cells_per_stage": 1, "channels": 4}
    archs = [space.from_index(i) for i in (6111, 100, 2000)]
    tf_scores = ProxyScorer(space, "params", framework="tensorflow", skeleton=skeleton)(archs)
    assert tf_scores.tolist() == ProxyScorer(space, "params", framework="torch", skeleton=skeleton)(archs).tolist()
    synflow = ProxyScorer(space, "synflow", framework="tensorflow", seed=1, skeleton=skeleton)
    assert synflow.name == "tensorflow:synflow" and np.array_equal(synflow(archs), synflow(archs))
    extended = Registry("proxy")
    for name in proxies.PROXIES:
        extended.register(name, proxies.PROXIES.get(name))
    extended.register("only_in_torch", proxies.ProxySpec("only_in_torch", frozenset(), "test", "a spec no frontend implements"))
    monkeypatch.setattr(proxies, "PROXIES", extended)
    monkeypatch.setattr(get_frontend("tensorflow").module.proxies, "PROXIES", extended)
    with pytest.raises(UnsupportedProxyError,
                       match="proxy 'only_in_torch' has no tensorflow implementation: not implemented in the TensorFlow frontend") as info:
        ProxyScorer(space, "only_in_torch", framework="tensorflow")
    assert isinstance(info.value, NotImplementedError)


# The CLI sizes TensorFlow's thread pools; earlier tests in this process have already started its runtime.
@pytest.mark.filterwarnings("ignore:TensorFlow's runtime is already initialised:RuntimeWarning")
def test_the_cli_scores_with_the_framework_it_is_given(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import json

    from nasir.cli import main
    from nasir.spaces.nb201 import space

    monkeypatch.setattr(sys, "argv", ["nasir", "score", "6111", "--proxy", "synflow,params", "--framework", "tensorflow", "--json"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    row = json.loads(capsys.readouterr().out)[0]["scores"]
    net = space.network(space.from_index(6111))
    assert row == {"synflow": get_frontend("tensorflow").score(net, "synflow", seed=0), "params": net.count_params()}
