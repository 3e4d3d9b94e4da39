"""Builds ``.device/site``: nasir in its installed layout plus the pure-Python packages a bare GPU machine lacks.

Usage: python scripts/device_bundle.py [--dest .device/site]

The lent GPU machine (see the team's device notes) has Python, torch with CUDA, numpy, scipy and onnx,
no internet and no pip index, so ``pip install -e .`` cannot run there. This copies ``nasir/`` with
``frontends/``, ``backends/`` and ``spaces/`` placed where ``pyproject.toml``'s ``package-dir`` puts them
(``nasir.frontends`` ...), and copies from this interpreter's site-packages the pure-Python packages
that the device checks import (networkx for the IR, pytest and its plugins for the GPU-only tests).
On the machine: ``PYTHONPATH=.device/site python ...``, with ``.device`` named in the run's ``carry``
(it is git-ignored). ``benchmarks/gpu_checks.sh`` is the one prepared command.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = {"nasir": "nasir", "frontends": "nasir/frontends", "backends": "nasir/backends", "spaces": "nasir/spaces"}
# pure Python, absent from the device image; pytest 9 needs the next four
PURE_PYTHON = ("networkx", "pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")


def module_path(name: str) -> Path:
    """The package folder (or single-file module) ``name`` is imported from here."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not importable from this interpreter; install the project's test extras first")
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / ".device" / "site")
    args = parser.parse_args()
    if args.dest.exists():
        shutil.rmtree(args.dest)
    for source, target in LAYOUT.items():
        shutil.copytree(ROOT / source, args.dest / target, ignore=SKIP, dirs_exist_ok=True)
    for name in PURE_PYTHON:
        path = module_path(name)
        if path.is_dir():
            shutil.copytree(path, args.dest / path.name, ignore=SKIP)
        else:
            shutil.copy2(path, args.dest / path.name)
    size = sum(f.stat().st_size for f in args.dest.rglob("*") if f.is_file())
    print(f"{args.dest}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
