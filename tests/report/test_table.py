"""The trial table of a study (CSV / JSON): every trial, the same values as the stored study."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from nasir.errors import ReportInputError
from nasir.objectives import FunctionObjective
from nasir.report import load_study, trial_rows, write_trials
from nasir.spaces.nb201 import space
from nasir.strategies import make_strategy
from nasir.study import Study


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_csv_holds_every_trial_with_the_stored_values(study_file: Path, tmp_path: Path) -> None:
    record = load_study(study_file)
    with write_trials(study_file, tmp_path / "t.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(record.trials) == 20
    assert list(rows[0])[:4] == ["number", "state", "arch", "arch_hash"] and "proxy/params" in rows[0]
    for row, trial in zip(rows, record.trials):
        assert int(row["number"]) == trial.number and row["arch_hash"] == trial.arch_hash
        assert space.parse(row["arch"]).canonical_hash() == trial.arch_hash
        assert float(row["cifar10/test_acc"]) == trial.metrics["cifar10/test_acc"]
        assert row["duplicate_of"] == ("" if trial.duplicate_of is None else str(trial.duplicate_of))


def test_failures_and_non_finite_values_are_missing_in_strict_json(tmp_path: Path) -> None:
    objective = FunctionObjective(lambda arch: {"acc": 1.0}, "acc", {"acc": "maximize", "cost": "minimize"})
    with Study.open(tmp_path / "s.db", space, make_strategy("random", space), objective, seed=0) as study:
        ok, failed, odd = study.ask(3)
        study.tell(ok, {"acc": 91.5, "cost": 2.0})
        study.tell(failed, "Traceback (most recent call last):\n  ...\nValueError: the cell blew up")
        study.tell(odd, {"acc": 90.0, "cost": math.inf})
    table = _strict(write_trials(tmp_path / "s.db", tmp_path / "t.json").read_text())
    assert (table["study"], table["strategy"], table["primary"], table["seed"]) == ("default", "random", "acc", 0)
    first, second, third = table["trials"]
    assert (first["state"], first["acc"], first["cost"], first["error"]) == ("COMPLETE", 91.5, 2.0, "")
    assert (second["state"], second["acc"], second["error"]) == ("FAILED", None, "ValueError: the cell blew up")
    assert (third["acc"], third["cost"]) == (90.0, None)
    assert [list(row) for row in trial_rows(load_study(tmp_path / "s.db"))] == [list(row) for row in table["trials"]]


def test_a_table_is_csv_or_json(study_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match=r"a trial table is written as \.csv or \.json, got 't\.xlsx'") as info:
        write_trials(study_file, tmp_path / "t.xlsx")
    assert isinstance(info.value, ValueError) and not (tmp_path / "t.xlsx").exists()
