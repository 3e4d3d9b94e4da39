"""A study process killed with SIGKILL mid-run resumes with nothing lost, nothing evaluated twice, the budget honoured;
a second process cannot take over a study a live one runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _objectives import Logged  # noqa: E402

from nasir.errors import StudyInUseError  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402
from nasir.strategies import make_strategy  # noqa: E402
from nasir.study import Study  # noqa: E402

SCRIPT = Path(__file__).with_name("_study_script.py")


def rows(db: Path, where: str = "1") -> list[tuple]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(f"SELECT number, arch_hash, state, metrics, error FROM trial WHERE {where} ORDER BY number").fetchall()
        except sqlite3.OperationalError:  # the study process has not created its tables yet
            return []


def test_sigkill_then_resume(tmp_path: Path) -> None:
    db, log = tmp_path / "study.db", tmp_path / "evals.log"
    proc = subprocess.Popen([sys.executable, "-P", str(SCRIPT), str(db), "30", "0.15", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(rows(db, "state='COMPLETE'")) < 12:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = rows(db, "state='COMPLETE'")
    assert 12 <= len(before) < 30

    done = subprocess.run([sys.executable, "-P", str(SCRIPT), str(db), "30", "0", str(log)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = rows(db)
    assert [r[0] for r in after] == list(range(30)), "budget honoured: exactly 30 trials, numbered without gaps"
    assert set(before) <= set(after), "every committed trial survived the kill, unchanged"
    killed = [r for r in after if r[2] == "FAILED"]
    assert len(killed) <= 1 and all("died" in r[4] for r in killed)
    assert all(r[2] in ("COMPLETE", "FAILED") for r in after)

    evaluated = [line.split()[1] for line in log.read_text().splitlines()]
    killed_hashes = {r[1] for r in killed}
    repeats = {h for h in evaluated if evaluated.count(h) > 1} - killed_hashes
    assert not repeats, "no architecture was evaluated twice (re-proposals are looked up)"
    assert len({line.split()[0] for line in log.read_text().splitlines()}) == 2, "both processes evaluated"

    whole = tmp_path / "whole.db"
    subprocess.run([sys.executable, "-P", str(SCRIPT), str(whole), "30", "0", str(tmp_path / "w.log")], check=True, capture_output=True, timeout=120)
    cut = killed[0][0] if killed else 30
    assert [r[1] for r in after[: cut + 1]] == [r[1] for r in rows(whole)[: cut + 1]], "resume continued the same random stream"


def test_a_second_process_cannot_open_a_study_that_is_running(tmp_path: Path) -> None:
    db, log = tmp_path / "study.db", tmp_path / "evals.log"
    proc = subprocess.Popen([sys.executable, "-P", str(SCRIPT), str(db), "20", "0.5", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(rows(db, "state='COMPLETE'")) < 3:
        time.sleep(0.02)
    with pytest.raises(StudyInUseError, match=f"being run by process {proc.pid}"):
        Study.open(db, space, make_strategy("rea", space), Logged(), seed=7)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert [r[2] for r in rows(db)] == ["COMPLETE"] * 20, "the running process lost nothing to the refused opener"
    with Study.open(db, space, make_strategy("rea", space), Logged(), seed=7) as again:  # its holder has exited
        assert len(again) == 20


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie no one reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigint_kills_the_pools_workers_and_the_interrupted_trials_resume(tmp_path: Path) -> None:
    """SIGINT to the study process alone (``kill -INT``, a supervisor; Ctrl-C also reaches the workers, which ignore it):
    it kills its two workers mid-evaluation (60 s each) rather than wait for them, and the resume fails the two
    interrupted trials as died and runs the rest."""
    db, log = tmp_path / "study.db", tmp_path / "evals.log"
    proc = subprocess.Popen([sys.executable, "-P", str(SCRIPT), str(db), "6", "60", str(log), "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(log.read_text().splitlines() if log.exists() else []) < 2:
        time.sleep(0.05)
    workers = {int(line.split()[0]) for line in log.read_text().splitlines()}
    assert len(workers) == 2 and proc.pid not in workers
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and out.startswith("interrupted 2") and "Traceback" not in err, err
    assert time.time() - sent < 15, "the workers were killed, not awaited"
    assert not any(_alive(pid) for pid in workers)

    done = subprocess.run([sys.executable, "-P", str(SCRIPT), str(db), "6", "0", str(log)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = rows(db)
    assert [r[2] for r in after] == ["FAILED"] * 2 + ["COMPLETE"] * 4 and all("died" in r[4] for r in after[:2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_pools_workers_end_with_a_sigkilled_study_process(tmp_path: Path) -> None:
    """A study process killed with SIGKILL cannot stop its workers: they watch it and end at once rather than run
    their evaluations (60 s here; an hour of training on a GPU elsewhere) as orphans."""
    db, log = tmp_path / "study.db", tmp_path / "evals.log"
    proc = subprocess.Popen([sys.executable, "-P", str(SCRIPT), str(db), "6", "60", str(log), "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(log.read_text().splitlines() if log.exists() else []) < 2:
        time.sleep(0.05)
    workers = {int(line.split()[0]) for line in log.read_text().splitlines()}
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "an orphaned worker ran on"
