"""A study process killed with SIGKILL mid-run resumes with nothing lost and the budget honoured."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).with_name("_study_script.py")


def completed(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT number, arch_hash, metrics FROM trials WHERE state='COMPLETE' ORDER BY number").fetchall()


def test_sigkill_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    proc = subprocess.Popen([sys.executable, "-P", str(SCRIPT), str(db), "30", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and (not db.exists() or len(completed(db)) < 8):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = completed(db)
    assert 8 <= len(before) < 30

    done = subprocess.run([sys.executable, "-P", str(SCRIPT), str(db), "30", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT number, state, error FROM trials ORDER BY number").fetchall()
    assert [r[0] for r in rows] == list(range(30)), "budget honoured: exactly 30 trials, numbered without gaps"
    assert set(before) <= set(completed(db)), "every committed trial survived the kill"
    killed = [r for r in rows if r[1] == "FAILED"]
    assert all("died" in r[2] for r in killed) and len(killed) <= 1

    uninterrupted = tmp_path / "whole.db"
    subprocess.run([sys.executable, "-P", str(SCRIPT), str(uninterrupted), "30", "0"], check=True, capture_output=True, timeout=120)
    if not killed:  # the kill landed between trials: the resumed search is the uninterrupted one
        assert [r[1] for r in completed(db)] == [r[1] for r in completed(uninterrupted)]
