"""A study's trials as a plain table (CSV or JSON), for pandas, a spreadsheet or another tool.

One row per trial, in trial order: its number and state, the architecture in the space's notation
(its canonical hash where the space is not registered here), every metric any completed trial holds
(empty where the trial failed or lacks it; a non-finite value is stored as missing), the wall time, the
trial it repeats and the last line of its error.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from nasir.errors import ReportInputError
from nasir.report.study import StudyRecord, arch_formatter, load_study, registered_space

__all__ = ["TABLE_FORMATS", "trial_rows", "write_trials"]

TABLE_FORMATS = (".csv", ".json")


def trial_rows(record: StudyRecord) -> list[dict[str, Any]]:
    """The trials as flat dicts with the same keys in the same order (a metric a trial lacks is None)."""
    arch_of = arch_formatter(registered_space(record.space))
    rows = []
    for t in record.trials:
        metrics = {m: v if (v := t.value(m)) is not None and math.isfinite(v) else None for m in record.metrics}
        rows.append({"number": t.number, "state": t.state.value, "arch": arch_of(t), "arch_hash": t.arch_hash, **metrics,
                     "seconds": t.seconds, "duplicate_of": t.duplicate_of,
                     "error": t.error.strip().splitlines()[-1] if t.error.strip() else ""})
    return rows


def write_trials(study: str | Path | StudyRecord, out: str | Path, *, name: str | None = None) -> Path:
    """Writes the trial table of a study file (or record) to ``out``: CSV, or JSON with the study's identity beside
    the rows, chosen by the suffix. Returns the path."""
    out = Path(out)
    if out.suffix.lower() not in TABLE_FORMATS:
        raise ReportInputError(f"a trial table is written as {' or '.join(TABLE_FORMATS)}, got {out.name!r}")
    record = study if isinstance(study, StudyRecord) else load_study(study, name)
    rows = trial_rows(record)
    if out.suffix.lower() == ".json":
        identity = {"study": record.name, "space": record.space, "strategy": record.strategy, "objective": record.objective,
                    "primary": record.primary, "directions": record.directions, "seed": record.seed}
        out.write_text(json.dumps({**identity, "trials": rows}, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        return out
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["number", "state", "arch", "arch_hash"])
        writer.writeheader()
        writer.writerows(rows)
    return out
