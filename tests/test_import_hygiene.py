"""The core imports no deep-learning framework, and still works when frameworks are absent; every error lives in nasir.errors."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "tensorflow", "onnx", "onnxruntime", "keras", "jax")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120)


def test_core_and_nb201_import_no_framework() -> None:
    code = (
        "import sys, nasir, nasir.ir, nasir.encodings, nasir.spaces.nb201\n"
        f"loaded = [m for m in {FRAMEWORKS!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr


def test_study_and_strategies_load_scipy_only_when_a_predictor_runs() -> None:
    """scipy costs about a second to import; a random or evolution search never needs it."""
    code = (
        "import sys, nasir.study, nasir.strategies, nasir.predictors\n"
        "assert not [m for m in sys.modules if m.startswith('scipy')]\n"
        "import numpy as np\n"
        "from nasir.predictors import GPRegressor\n"
        "GPRegressor().fit(np.eye(3), np.arange(3.0))\n"
        "assert 'scipy.linalg' in sys.modules\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr


def test_core_works_with_frameworks_blocked() -> None:
    """Masking torch/tensorflow in sys.modules makes any import of them fail; the core must not care."""
    code = (
        "import sys\n"
        f"for m in {FRAMEWORKS!r}: sys.modules[m] = None\n"
        "from nasir.spaces.nb201 import space\n"
        "arch = space.sample(0)\n"
        "net = space.network(arch)\n"
        "print(net.count_params(), arch.canonical_hash())\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1].startswith("v1:")


def test_grammar_core_and_grammar_spaces_work_with_frameworks_blocked() -> None:
    code = (
        "import sys\n"
        f"for m in {FRAMEWORKS!r}: sys.modules[m] = None\n"
        "import nasir.grammar, nasir.spaces.grammars as g\n"
        "arch = g.hierarchical.sample(0)\n"
        "print(g.hierarchical.network(arch).count_params(), g.nb201.size())\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    params, size = map(int, result.stdout.split())
    assert params > 0 and size == 15_625


def test_every_nasir_error_is_defined_in_nasir_errors() -> None:
    """One place to find what can be caught: every error class nasir raises is listed in nasir.errors."""
    import nasir.backends.onnx  # noqa: F401
    import nasir.grammar  # noqa: F401
    import nasir.latency  # noqa: F401
    import nasir.predictors  # noqa: F401
    import nasir.strategies  # noqa: F401
    import nasir.study  # noqa: F401
    from nasir import errors

    def subclasses(cls: type) -> set[type]:
        return set(cls.__subclasses__()).union(*(subclasses(c) for c in cls.__subclasses__()))

    found = subclasses(errors.NasirError)
    assert len(found) > 40
    assert {c.__qualname__ for c in found if c.__module__ != "nasir.errors" and not c.__module__.startswith("test")} == set()
    assert {c.__qualname__ for c in found if c.__module__ == "nasir.errors"} <= set(errors.__all__)


def test_a_missing_framework_or_backend_is_named_with_its_extra() -> None:
    """Importing a frontend, or a CLI command needing a backend, without its package says which extra installs it."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = sys.modules['onnx'] = None\n"
        "from nasir.errors import MissingDependencyError\n"
        "try:\n"
        "    import nasir.frontends.torch\n"
        "except MissingDependencyError as err:\n"
        "    print(err)\n"
        "from nasir.cli._app import _need\n"
        "try:\n"
        "    _need('nasir.backends.onnx', 'onnx', 'ONNX export')\n"
        "except MissingDependencyError as err:\n"
        "    print(err)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    torch_line, onnx_line = result.stdout.splitlines()
    assert torch_line.startswith("the PyTorch frontend needs torch") and "pip install 'nasir[torch]'" in torch_line
    assert onnx_line == "ONNX export: the ONNX backend needs onnx: pip install 'nasir[onnx]'"
