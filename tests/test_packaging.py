"""The wheel holds every sub-package and the package data, under nasir.* only."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("nasir-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"nasir"}, f"unexpected top-level entries {tops}"
    for folder in ("frontends", "backends", "spaces"):
        for source in (ROOT / folder).rglob("*.py"):
            assert f"nasir/{folder}/{source.relative_to(ROOT / folder).as_posix()}" in names, source
    for data in ("nb201_table.csv.gz", "cifar10_sample.npz", "PROVENANCE.md"):
        assert f"nasir/spaces/data/{data}" in names
