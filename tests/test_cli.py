"""The command line, run as a user runs it: a real subprocess of the installed entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NASIR = shutil.which("nasir", path=str(Path(sys.executable).parent)) or "nasir"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NASIR, *args], capture_output=True, text=True, timeout=120)


def test_demo_prints_ground_truth() -> None:
    result = run("demo", "-n", "3", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "NAS-Bench-201 samples" in result.stdout and result.stdout.count("|+|") >= 3


def test_spaces_list_json_and_count() -> None:
    rows = json.loads(run("spaces", "list", "--json").stdout)
    assert {r["name"]: r["size"] for r in rows} == {"nb101": 423_624, "nb201": 15_625}
    assert run("spaces", "count", "--space", "nb201").stdout.strip() == "15625"


def test_spaces_sample_is_seeded() -> None:
    first = run("spaces", "sample", "--space", "nb101", "-n", "2", "--seed", "4").stdout
    assert first == run("spaces", "sample", "--space", "nb101", "-n", "2", "--seed", "4").stdout
    assert len(first.splitlines()) == 2


def test_spaces_show_reports_exact_params() -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    shown = json.loads(run("spaces", "show", arch).stdout)
    assert shown["params"] == 1_073_466 and shown["hash"].startswith("v1:")


@pytest.mark.parametrize(("args", "fragment"), [
    (("spaces", "show", "|conv~0|"), "error:"),
    (("spaces", "count", "--space", "nb999"), "unknown search space 'nb999'"),
])
def test_bad_arguments_give_one_line_and_exit_2(args: tuple[str, ...], fragment: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_every_command_has_help_with_an_example() -> None:
    for command in (("demo",), ("search",), ("spaces", "list"), ("spaces", "sample"), ("spaces", "show"), ("spaces", "count")):
        result = run(*command, "--help")
        assert result.returncode == 0 and "Example:" in result.stdout


def test_search_commits_and_resumes(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    first = json.loads(run("search", "--trials", "30", "--storage", db, "--json").stdout)
    assert first["trials"] == 30 and first["best"]["metrics"]["cifar10/test_acc"] > 80
    more = json.loads(run("search", "--trials", "60", "--storage", db, "--json").stdout)
    assert more["trials"] == 60 and more["best"]["metrics"]["cifar10-valid/valid_acc"] >= first["best"]["metrics"]["cifar10-valid/valid_acc"]
    other = run("search", "--trials", "5", "--storage", db, "--strategy", "random")
    assert other.returncode == 2 and "strategy is 'rea' in the file but 'random' here" in other.stderr
