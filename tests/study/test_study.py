"""Studies on real SQLite files: determinism, resume, dedup, failures, executors, bad files, budgets."""

from __future__ import annotations

import logging
import math
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _objectives import BENCH, Crashes, CrashesBeside, Flaky, Hangs, Logged, MissingInWorkers, SlowToLoad  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "strategies"))
from _options import options  # noqa: E402

from nasir import errors  # noqa: E402
from nasir.executors import ProcessPoolExecutor  # noqa: E402
from nasir.objectives import FunctionObjective, TabularObjective  # noqa: E402
from nasir.spaces import nb101  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402
from nasir.strategies import STRATEGIES, make_strategy  # noqa: E402
from nasir.study import BudgetError, SQLiteStorage, Study, StudyMismatchError, StudyStorageError, TrialState  # noqa: E402


def study(path: Path, strategy: str = "rea", seed: int = 0, objective=None, **kwargs) -> Study:
    return Study.open(path, space, make_strategy(strategy, space, **options(strategy)), objective or Logged(), seed=seed, **kwargs)


def hashes(s: Study) -> list[str]:
    return [t.arch_hash for t in s.trials]


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_seeded_and_resumed_studies_equal_an_uninterrupted_one(tmp_path: Path, strategy: str) -> None:
    whole = study(tmp_path / "whole.db", strategy)
    whole.optimize(budget_evals=35)
    part = study(tmp_path / "parts.db", strategy)
    part.optimize(budget_evals=17)
    part.storage.close()
    resumed = study(tmp_path / "parts.db", strategy)
    assert len(resumed) == 17
    resumed.optimize(budget_evals=35)
    assert hashes(resumed) == hashes(whole) and len(whole) == 35
    other = study(tmp_path / "other.db", strategy, seed=1)
    other.optimize(budget_evals=35)
    assert hashes(other) != hashes(whole)


def test_what_is_stored(tmp_path: Path) -> None:
    s = study(tmp_path / "s.db", "random", seed=3)
    best = s.optimize(budget_evals=12)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version, application FROM schema_version").fetchall() == [(1, "nasir")]
        assert conn.execute("SELECT name, space, strategy, seed, primary_metric FROM study").fetchall() == [
            ("default", "nb201", "random", 3, "cifar10-valid/valid_acc")]
    t = s.trials[5]
    assert t.state is TrialState.COMPLETE and t.arch.canonical_hash() == t.arch_hash and t.started <= t.finished_at
    assert t.metrics["cifar10/test_acc"] == BENCH.query(space.format(t.arch), "cifar10", "test_acc")
    assert best.metrics["cifar10-valid/valid_acc"] == max(x.metrics["cifar10-valid/valid_acc"] for x in s.trials)
    assert s.summary()["best"]["arch"] == space.format(best.arch)


def test_duplicates_are_looked_up_not_evaluated(tmp_path: Path) -> None:
    log = tmp_path / "evals.log"
    s = study(tmp_path / "d.db", "rea", seed=3, objective=Logged(str(log)))
    s.optimize(budget_evals=120)
    dups = [t for t in s.trials if t.duplicate_of is not None]
    assert dups, "REA on NB201 re-proposes architectures within 120 queries"
    evaluated = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(evaluated) == len(set(evaluated)) == 120 - len(dups), "each query counts; repeats are not evaluated"
    for t in dups:
        original = s.trials[t.duplicate_of]
        assert original.duplicate_of is None and t.metrics == original.metrics and t.arch_hash == original.arch_hash


def test_failing_objective_fails_the_trial_and_the_study_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = study(tmp_path / "f.db", "random", objective=Flaky())
    with caplog.at_level(logging.WARNING, logger="nasir.study"):
        s.optimize(budget_evals=40)
    failed = [t for t in s.trials if t.state is TrialState.FAILED]
    assert len(s.trials) == 40 and 0 < len(failed) < 40
    assert {t.error.split(":")[0] for t in failed} == {"RuntimeError", "objective returned nan for 'cifar10-valid/valid_acc'"}
    assert s.best_trial().state is TrialState.COMPLETE
    assert all(s.strategy.scores[t.number] == float("-inf") for t in failed)
    # one warning per distinct error (repeats go to DEBUG); the summary counts every failure
    distinct = {t.error for t in failed}
    assert len(failed) > len(distinct), "Flaky fails the same way more than once in 40 random cells"
    warned = [r.getMessage() for r in caplog.records if "failed: " in r.getMessage()]
    assert len(warned) == len(distinct) and all(any(e in line for line in warned) for e in distinct)
    assert s.summary()["failed"] == len(failed)


def test_ask_tell_primitives_and_dead_process_recovery(tmp_path: Path) -> None:
    s = study(tmp_path / "p.db", "random")
    a, b, c = s.ask(3)
    assert {t.state for t in (a, b, c)} == {TrialState.RUNNING}
    s.tell(a, {"cifar10-valid/valid_acc": 90.0})
    s.tell(b, ValueError("diverged"))
    with pytest.raises(errors.AskTellError, match="trial 0 of study 'default' is already COMPLETE"):
        s.tell(a, 91.0)
    s.storage.close()  # c is left RUNNING, as by a process that died
    again = study(tmp_path / "p.db", "random")
    states = [(t.state, t.error) for t in again.trials]
    assert states[0][0] is TrialState.COMPLETE and states[1] == (TrialState.FAILED, "ValueError: diverged")
    assert states[2][0] is TrialState.FAILED and "died" in states[2][1]
    again.optimize(budget_evals=5)
    assert len(again) == 5



@pytest.mark.parametrize("strategy", ["rea", "local", "random"])
def test_retry_interrupted_resumes_into_the_uninterrupted_study(tmp_path: Path, strategy: str) -> None:
    whole = study(tmp_path / "whole.db", strategy)
    whole.optimize(budget_evals=30)
    part = study(tmp_path / "part.db", strategy)
    part.optimize(budget_evals=12)
    (cut,) = part.ask(1)
    part.storage.close()  # the evaluation of `cut` started, then the process died
    resumed = study(tmp_path / "part.db", strategy, retry_interrupted=True)
    assert resumed.trials[cut.number].state is TrialState.WAITING
    resumed.optimize(budget_evals=30)
    assert hashes(resumed) == hashes(whole)
    assert [(t.state, t.metrics) for t in resumed.trials] == [(t.state, t.metrics) for t in whole.trials]

@pytest.mark.parametrize("workers", [0, -2, "2", True, 1.5])
def test_process_pool_needs_a_worker(workers) -> None:
    with pytest.raises(errors.ExecutorConfigError, match=f"max_workers must be an int >= 1, got {workers!r}") as info:
        ProcessPoolExecutor(max_workers=workers)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_workers": 0}, "max_workers must be an int >= 1 or None .*, got 0"), ({"max_workers": "4"}, "got '4'"),
    ({"num_cpus": 0}, r"num_cpus \(CPUs each task reserves\) must be a positive number, got 0"),
    ({"num_cpus": "1"}, "got '1'"),
])
def test_bad_ray_settings_are_refused_before_ray_starts(kwargs: dict, message: str) -> None:
    from nasir.executors import RayExecutor

    with pytest.raises(errors.ExecutorConfigError, match=message):
        RayExecutor(**kwargs)


@pytest.mark.parametrize(("callbacks", "message"), [
    (print, r"callbacks must be a list of functions f\(study, trial\), got <built-in function print>; pass \[print\]"),
    ([lambda s: None], r"callback '.*<lambda>' must take \(study, trial\), its signature is \(s\)"),
    ([3], "callbacks must be functions f\\(study, trial\\), got 3"),
])
def test_bad_callbacks_are_refused_before_the_first_trial(tmp_path: Path, callbacks, message: str) -> None:
    s = study(tmp_path / "c.db")
    with pytest.raises(errors.StudyConfigError, match=message):
        s.optimize(budget_evals=5, callbacks=callbacks)
    assert len(s) == 0


def _unpicklable() -> Logged:
    objective = Logged()
    objective.hook = lambda value: value  # a lambda cannot be pickled
    return objective


@pytest.mark.parametrize("objective, message", [
    (_unpicklable, r"objective 'tabular:.*' cannot be sent to worker processes .*lambda.*define it at module level"),
    (MissingInWorkers, r"objective 'tabular:.*' could not be loaded in a worker process: ModuleNotFoundError: No module "
                       r"named 'missing_plugin'")])
def test_an_objective_that_cannot_reach_the_workers_is_named_and_its_trials_wait(tmp_path: Path, objective, message: str) -> None:
    pool = ProcessPoolExecutor(max_workers=2)
    stuck = study(tmp_path / "u.db", "random", objective=objective(), executor=pool)
    with pytest.raises(errors.ExecutorError, match=message):
        stuck.optimize(budget_evals=4)
    pool.close()
    stuck.storage.close()
    resumed = study(tmp_path / "u.db", "random")
    assert {t.state for t in resumed.trials} == {TrialState.WAITING}
    resumed.optimize(budget_evals=4)
    assert [t.state for t in resumed.trials] == [TrialState.COMPLETE] * 4


def test_process_pool_gives_the_same_study(tmp_path: Path) -> None:
    inproc = study(tmp_path / "a.db", "local")
    inproc.optimize(budget_evals=40)
    pool = ProcessPoolExecutor(max_workers=2)
    try:
        pooled = study(tmp_path / "b.db", "local", executor=pool, batch_size=8)
        pooled.optimize(budget_evals=40)
    finally:
        pool.close()
    assert hashes(pooled) == hashes(inproc)
    assert [t.metrics for t in pooled.trials] == [t.metrics for t in inproc.trials]


class _BatchLog(ProcessPoolExecutor):
    """A real process pool that notes how many architectures each batch hands it."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers)
        self.batches: list[int] = []

    def run(self, objective, archs, **kwargs):
        self.batches.append(len(archs))
        return super().run(objective, archs, **kwargs)


def test_parallel_evolution_keeps_every_worker_busy_with_the_same_trials(tmp_path: Path) -> None:
    """REA with parallel=2 on two workers: after the random population, every batch is two children (sequential REA
    would hand over one and leave a worker idle), and the study equals the in-process one."""
    make = lambda: make_strategy("rea", space, parallel=2)  # noqa: E731
    inproc = Study.open(tmp_path / "a.db", space, make(), Logged(), seed=0)
    inproc.optimize(budget_evals=24)
    pool = _BatchLog(max_workers=2)
    try:
        pooled = Study.open(tmp_path / "b.db", space, make(), Logged(), seed=0, executor=pool)
        pooled.optimize(budget_evals=24)
    finally:
        pool.close()
    assert pool.batches == [2] * 12
    assert hashes(pooled) == hashes(inproc) and [t.metrics for t in pooled.trials] == [t.metrics for t in inproc.trials]


def test_callbacks_see_every_trial_and_can_stop_the_search_which_resumes_unchanged(tmp_path: Path) -> None:
    whole = study(tmp_path / "whole.db")
    whole.optimize(budget_evals=30)
    part = study(tmp_path / "part.db")
    seen: list[tuple[int, str]] = []

    def note(s: Study, trial) -> None:
        seen.append((trial.number, s.storage.trial(s.name, trial.number).state.value))  # committed before the call
        if trial.metrics.get("cifar10-valid/valid_acc", 0) > 90:
            s.stop()

    part.optimize(budget_evals=30, callbacks=[note])
    first_good = next(t.number for t in whole.trials if t.metrics["cifar10-valid/valid_acc"] > 90)
    assert seen == [(n, "COMPLETE") for n in range(first_good + 1)] and len(part) == first_good + 1 < 30
    part.optimize(budget_evals=30)  # stop() lasts one call
    assert hashes(part) == hashes(whole)


def test_a_callback_error_keeps_what_was_recorded_and_requeues_what_was_in_flight(tmp_path: Path) -> None:
    inproc = study(tmp_path / "a.db", "random")
    inproc.optimize(budget_evals=24)

    def fail_at_12(s: Study, trial) -> None:
        if trial.number == 12:
            raise KeyError("the logger is down")

    pool = ProcessPoolExecutor(max_workers=2)
    try:
        pooled = study(tmp_path / "b.db", "random", executor=pool, batch_size=4, objective=Logged(pause=0.2))
        with pytest.raises(KeyError, match="the logger is down"):
            pooled.optimize(budget_evals=24, callbacks=[fail_at_12])
        states = {t.number: t.state for t in pooled.trials}
        assert states[12] is TrialState.COMPLETE and TrialState.RUNNING not in states.values()
        pooled.optimize(budget_evals=24)
    finally:
        pool.close()
    assert hashes(pooled) == hashes(inproc) and all(t.state is TrialState.COMPLETE for t in pooled.trials)


class _CtrlCOnce(Logged):
    """Raises KeyboardInterrupt (Ctrl-C in a notebook) in its eighth evaluation."""

    calls = 0

    def evaluate(self, arch):
        self.calls += 1
        if self.calls == 8:
            raise KeyboardInterrupt
        return super().evaluate(arch)


def test_after_ctrl_c_the_same_study_goes_on(tmp_path: Path) -> None:
    """The interrupted trial stays RUNNING, as a killed process leaves it; going on in the same Study object first treats
    it as reopening would: FAILED, or evaluated again with retry_interrupted. Before, it stayed RUNNING and the same
    object had nothing more to propose."""
    failing = study(tmp_path / "a.db", objective=_CtrlCOnce())
    with pytest.raises(KeyboardInterrupt):
        failing.optimize(budget_evals=20)
    assert failing.storage.trial(failing.name, 7).state is TrialState.RUNNING
    failing.optimize(budget_evals=20)
    interrupted = failing.storage.trial(failing.name, 7)
    assert interrupted.state is TrialState.FAILED and "interrupted and died with the run (KeyboardInterrupt)" in interrupted.error
    assert len(failing) == 20 and all(t.finished for t in failing.trials)

    uninterrupted = study(tmp_path / "b.db")
    uninterrupted.optimize(budget_evals=20)
    retrying = study(tmp_path / "c.db", objective=_CtrlCOnce(), retry_interrupted=True)
    with pytest.raises(KeyboardInterrupt):
        retrying.optimize(budget_evals=20)
    retrying.optimize(budget_evals=20)
    assert hashes(retrying) == hashes(uninterrupted) and all(t.state is TrialState.COMPLETE for t in retrying.trials)


def test_a_hung_evaluation_times_out_and_the_search_goes_on(tmp_path: Path) -> None:
    """Seed 1's random search proposes two cells that never finish (trials 8 and 10): killed at the timeout, both
    fail, the evaluations in flight with them are run again on new workers, and the other trials complete. Each new
    worker spends 3 s unpickling the objective, yet the 1 s limit counts from the start of each evaluation, so no
    look-up times out, on the first workers or on those started after each kill."""
    for bad in (0, -1.0, math.nan, math.inf, True, "8"):
        with pytest.raises(errors.ExecutorConfigError, match="trial_timeout must be a positive number"):
            ProcessPoolExecutor(trial_timeout=bad)
    pool = ProcessPoolExecutor(max_workers=2, trial_timeout=1)
    try:
        hung = study(tmp_path / "h.db", "random", seed=1, objective=SlowToLoad(), executor=pool)
        hung.optimize(budget_evals=12)
    finally:
        pool.close()
    failed = [t.number for t in hung.trials if t.state is TrialState.FAILED]
    assert failed == [8, 10] and len(hung.trials) == 12
    assert all(hung.trials[n].error == "timed out after 1 s (the evaluation was stopped)" for n in failed)
    assert all(t.metrics == Hangs().evaluate(t.arch) for t in hung.trials if t.number not in failed)
    assert [hung.strategy.scores[n] for n in failed] == [-math.inf, -math.inf]


def test_a_dead_worker_fails_only_its_own_trial(tmp_path: Path) -> None:
    """Seed 1's random search proposes two cells whose evaluation ends the worker process (trials 8 and 10). A dead
    worker breaks the pool and the evaluation beside it, so the pool is replaced and both run again, one at a time:
    only 8 and 10 fail, and the study goes on with the new pool (in the same batch and in a later one)."""
    pool = ProcessPoolExecutor(max_workers=2)
    try:
        crashing = study(tmp_path / "c.db", "random", seed=1, objective=Crashes(), executor=pool, batch_size=4)
        crashing.optimize(budget_evals=12)
        crashing.optimize(budget_evals=16)
    finally:
        pool.close()
    failed = [t.number for t in crashing.trials if t.state is TrialState.FAILED]
    assert failed == [8, 10] and len(crashing.trials) == 16
    assert all(crashing.trials[n].error.startswith("worker process died while evaluating") for n in failed)
    assert all(t.metrics == Hangs().evaluate(t.arch) for t in crashing.trials if t.number not in failed)


def test_evaluations_lost_with_a_dead_worker_run_again_side_by_side(tmp_path: Path) -> None:
    """Three workers: a cell kills its worker while two 6 s evaluations run beside it. The death is seen at once (the
    pool itself may see it only when another evaluation finishes), only that cell fails, and the two lost evaluations
    start again together on the new pool, not one after the other."""
    rng = np.random.default_rng(0)
    fine, killer = [], None
    while len(fine) < 2 or killer is None:
        arch = space.sample(rng)
        if space.to_ops(arch)[0] != "none":
            fine.append(arch)
        elif killer is None:
            killer = arch
    log = tmp_path / "evals.log"
    pool = ProcessPoolExecutor(max_workers=3)
    try:
        yielded = list(pool.run(CrashesBeside(str(log), pause=6.0), [*fine[:2], killer], on_start=lambda i: None,
                                stop=lambda: False))
    finally:
        pool.close()
    assert yielded[0][0] == 2, "the dead worker was seen at once, not when an evaluation beside it finished"
    outcomes = dict(yielded)
    assert outcomes[2].error.startswith("worker process died while evaluating")
    assert [outcomes[i].metrics for i in (0, 1)] == [{"ops": sum(op != "none" for op in space.to_ops(arch))} for arch in fine[:2]]
    starts: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        _, arch_hash, at = line.split()
        starts.setdefault(arch_hash, []).append(float(at))
    first, second = (starts[arch.canonical_hash()] for arch in fine[:2])
    assert len(first) == len(second) == 2, "both were lost with the dead worker and ran again"
    assert abs(first[1] - second[1]) < 6.0, "the lost evaluations ran again side by side"


def test_ray_gives_the_same_study(tmp_path: Path) -> None:
    """A real local Ray instance (two CPUs), one task per architecture."""
    import ray

    from nasir.executors import RayExecutor

    inproc = study(tmp_path / "a.db", "rea")
    inproc.optimize(budget_evals=25)
    # workers import the objectives' module from this folder, as a cluster's workers would from the job's files
    ray_exec = RayExecutor(init_kwargs={"num_cpus": 2, "runtime_env": {"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}}},
                           trial_timeout=3)
    try:
        assert ray_exec.max_workers == 2
        distributed = study(tmp_path / "b.db", "rea", executor=ray_exec, batch_size=4)
        distributed.optimize(budget_evals=25)
        flaky = study(tmp_path / "c.db", "random", objective=Flaky(), executor=ray_exec)
        flaky.optimize(budget_evals=12)
        hung = study(tmp_path / "d.db", "random", seed=1, objective=Hangs(), executor=ray_exec)
        hung.optimize(budget_evals=12)
        slow = study(tmp_path / "e.db", "random", seed=1, objective=SlowToLoad(load=4), executor=ray_exec)
        slow.optimize(budget_evals=4)
        crashing = study(tmp_path / "f.db", "random", seed=1, objective=Crashes(), executor=ray_exec)
        crashing.optimize(budget_evals=12)
        with pytest.raises(errors.ExecutorError, match="could not be loaded in a Ray worker: ModuleNotFoundError: No module "
                                                       "named 'missing_plugin'"):
            study(tmp_path / "g.db", "random", objective=MissingInWorkers(), executor=ray_exec).optimize(budget_evals=4)
        mark = tmp_path / "hanging"
        abandoned = ray_exec.run(Hangs(str(mark)), [hung.trials[0].arch, hung.trials[8].arch], on_start=lambda i: None,
                                 stop=lambda: False)
        assert next(abandoned)[0] == 0
        deadline = time.time() + 60  # the hung cell's task runs (a task still waiting for a worker is Ray's to drop)
        while time.time() < deadline and not mark.exists():
            time.sleep(0.1)
        assert mark.exists(), "the hung cell's task never started"
        abandoned.close()  # as a callback's error or Ctrl-C does: the hung cell's task is cancelled, not left to hang
        deadline = time.time() + 60
        while time.time() < deadline and ray.available_resources().get("CPU", 0) < 2:
            time.sleep(0.1)
        assert ray.available_resources().get("CPU", 0) == 2, "the abandoned run's task still holds a CPU"
    finally:
        ray_exec.close()
    assert [t.number for t in crashing.trials if t.state is TrialState.FAILED] == [8, 10], "a dead worker fails its task only"
    assert "WorkerCrashedError" in crashing.trials[8].error
    assert [t.number for t in hung.trials if t.state is TrialState.FAILED] == [8, 10], "the hung cells' tasks were cancelled"
    assert hung.trials[8].error == "timed out after 3 s (the evaluation was stopped)"
    assert [t.state for t in slow.trials] == [TrialState.COMPLETE] * 4, "a task's 4 s of unpickling is not timed"
    assert hashes(distributed) == hashes(inproc)
    assert [t.metrics for t in distributed.trials] == [t.metrics for t in inproc.trials]
    failed = [t for t in flaky.trials if t.state is TrialState.FAILED]
    assert failed and all("simulated out-of-memory" in t.error or "returned nan" in t.error for t in failed)


def test_a_ray_cluster_that_cannot_be_reached_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray
    from ray._private.services import find_gcs_addresses

    from nasir.executors import RayExecutor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if ray.is_initialized() or find_gcs_addresses():
        pytest.skip("a Ray instance runs on this machine: 'auto' would reach it")
    with pytest.raises(errors.ExecutorError, match=r"cannot reach the Ray cluster at 'auto' \(Could not find any running Ray "
                                                   r"instance.*\); start one \(ray start --head\)"):
        RayExecutor(address="auto")


def test_budgets(tmp_path: Path) -> None:
    s = study(tmp_path / "b.db", "random")
    for kwargs, message in (({"budget_evals": 0}, "budget_evals must be an int >= 1"), ({"budget_seconds": 0}, "positive finite"),
                            ({"budget_evals": -3}, "int >= 1"), ({"budget_evals": 2.5}, "int >= 1"), ({"budget_evals": True}, "int >= 1"),
                            ({"budget_seconds": float("nan")}, "got nan"), ({"budget_seconds": float("inf")}, "got inf"),
                            ({}, "give a budget")):
        with pytest.raises(BudgetError, match=message):
            s.optimize(**kwargs)
    assert isinstance(BudgetError("x"), ValueError) and isinstance(BudgetError("x"), errors.NasirError)
    s.optimize(budget_seconds=0.3)
    assert len(s) > 10, "a time budget runs trials until it is spent"
    n = len(s)
    s.optimize(budget_evals=n)
    assert len(s) == n, "a study that already holds its budget does nothing"


def test_bad_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database, just text" * 10)
    with pytest.raises(StudyStorageError, match="not an SQLite database"):
        study(corrupt)
    truncated = tmp_path / "truncated.db"
    study(tmp_path / "good.db").optimize(budget_evals=3)
    truncated.write_bytes((tmp_path / "good.db").read_bytes()[:100] + b"\x00garbage" * 600)
    with pytest.raises(StudyStorageError, match="corrupt"):
        study(truncated)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER)")
    with pytest.raises(StudyStorageError, match="another application"):
        study(foreign)
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(StudyStorageError, match="'.*folder.db' is a folder, not a study file"):
        study(tmp_path / "folder.db")
    assert isinstance(StudyStorageError("x"), errors.NasirError)


def test_another_search_in_the_same_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    study(db, "rea").optimize(budget_evals=3)
    with pytest.raises(StudyMismatchError, match="space is 'nb201' in the file but 'nb101' here"):
        Study.open(db, nb101.space, make_strategy("rea", nb101.space), Logged())
    with pytest.raises(StudyMismatchError, match="strategy is 'rea' in the file but 'random' here"):
        study(db, "random")
    with pytest.raises(StudyMismatchError, match="seed is 0 in the file but 1 here"):
        study(db, "rea", seed=1)
    with pytest.raises(StudyMismatchError, match="strategy_config"):
        Study.open(db, space, make_strategy("rea", space, population_size=20), Logged())
    other = study(db, "random", name="second")
    other.optimize(budget_evals=2)
    assert other.storage.study_names() == ["default", "second"]


def test_objectives() -> None:
    with pytest.raises(errors.BenchmarkQueryError, match="no metric 'top5'"):
        TabularObjective(BENCH, space, metric="top5")
    lat = TabularObjective(BENCH, space, dataset="cifar10", metric="edgegpu_latency")
    assert lat.directions == {"cifar10/edgegpu_latency": "minimize", "cifar10/test_acc": "maximize"}
    with pytest.raises(errors.DirectionError, match="directions must map 'size' .* got {'size': 'up'}"):
        FunctionObjective(len, "size", {"size": "up"})
    with pytest.raises(errors.DirectionError, match="directions must map 'size'"):  # the primary metric has no direction
        FunctionObjective(len, "size", {"params": "minimize"})


def test_minimised_objective(tmp_path: Path) -> None:
    s = study(tmp_path / "m.db", "rea", objective=TabularObjective(BENCH, space, dataset="cifar10", metric="params"))
    best = s.optimize(budget_evals=30)
    assert best.metrics["cifar10/params"] == min(t.metrics["cifar10/params"] for t in s.trials)


def test_search_core_imports_no_framework() -> None:
    import subprocess

    code = ("import sys\nimport nasir.study, nasir.strategies, nasir.predictors, nasir.executors, nasir.objectives\n"
            "loaded = [m for m in ('torch', 'tensorflow', 'onnx', 'onnxruntime', 'jax', 'sklearn', 'ray') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_ask_never_hands_out_one_architecture_twice(tmp_path: Path) -> None:
    s = study(tmp_path / "a.db", "random")
    asked = s.ask(400)  # random search re-draws some of NB201's 15,625 cells within 400 proposals
    assert len({t.arch_hash for t in asked}) == len(asked) == 400
    for t in asked:
        s.tell(t, 50.0)
    assert s.summary()["evaluations"] == 400 and s.summary()["duplicates"] == len(s) - 400 > 0
    assert s.summary()["waiting"] == 0, "proposals that waited for a running twin were looked up once it was told"


def test_a_study_reopened_with_other_directions_is_refused(tmp_path: Path) -> None:
    study(tmp_path / "d.db", "random").optimize(budget_evals=3)
    flipped = FunctionObjective(Logged().evaluate, primary="cifar10-valid/valid_acc", name=Logged().name,
                                directions={"cifar10-valid/valid_acc": "minimize", "cifar10/test_acc": "maximize"})
    with pytest.raises(StudyMismatchError, match="directions is"):
        study(tmp_path / "d.db", "random", objective=flipped)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": -1}, r"seed, an int in \[0, 2\*\*63\), got -1"), ({"seed": 2**70}, "got 1180591620717411303424"),
    ({"seed": 1.5}, "got 1.5"), ({"name": None}, "non-empty string, got None"), ({"name": ""}, "non-empty string"),
    ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"), ({"batch_size": -1}, "got -1"),
])
def test_bad_study_arguments_are_refused_before_anything_is_stored(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(errors.StudyConfigError, match=message):
        study(tmp_path / "c.db", "random", **kwargs)
    assert not (tmp_path / "c.db").exists() or not SQLiteStorage(tmp_path / "c.db").study_names()


def test_a_strategy_must_fit_the_study(tmp_path: Path) -> None:
    with pytest.raises(errors.StudyConfigError, match="built for space 'nb101', the study searches 'nb201'"):
        Study.open(tmp_path / "f.db", space, make_strategy("random", nb101.space), Logged())
    typo = make_strategy("nsga2", space, objectives={"cifar10-valid/valid_acc": "maximize", "cifar10/test_ac": "maximize"})
    with pytest.raises(errors.StudyConfigError, match=r"optimises \['cifar10/test_ac'\], which objective"):
        Study.open(tmp_path / "f.db", space, typo, Logged())
    turned = make_strategy("nsga2", space, objectives={"cifar10-valid/valid_acc": "maximize", "cifar10/test_acc": "minimize"})
    with pytest.raises(errors.StudyConfigError, match="orients"):
        Study.open(tmp_path / "f.db", space, turned, Logged())


def _latency_sometimes(arch) -> dict:
    ops = space.to_ops(arch)
    return {"acc": float(ops.count("nor_conv_3x3")), **({"lat": float(ops.count("nor_conv_1x1"))} if ops[0] != "none" else {})}


def test_a_result_without_a_metric_the_strategy_optimises_fails_and_the_study_reopens(tmp_path: Path) -> None:
    directions = {"acc": "maximize", "lat": "minimize"}
    objective = FunctionObjective(_latency_sometimes, "acc", directions, name="two")
    path = tmp_path / "mo.db"
    with Study.open(path, space, make_strategy("nsga2", space, objectives=directions, population_size=4), objective, seed=1) as s:
        s.optimize(budget_evals=30)
        short = [t for t in s.trials if t.state is TrialState.FAILED]
        assert short and all(space.to_ops(t.arch)[0] == "none" for t in short)
        assert all("objective returned no ['lat']" in t.error and "'nsga2' optimises" in t.error and "lat" not in t.metrics
                   for t in short)
        assert all("lat" in t.metrics for t in s.trials if t.state is TrialState.COMPLETE)
    with Study.open(path, space, make_strategy("nsga2", space, objectives=directions, population_size=4), objective, seed=1) as s:
        s.optimize(budget_evals=40)
        assert len(s.trials) == 40


def _accuracy(arch) -> dict:
    return {"acc": 1.0}


class _NoDirections:
    name, primary = "bare", "acc"

    def evaluate(self, arch) -> dict:
        return {"acc": 1.0}


class _Misdirected(_NoDirections):
    directions = {"acc": "up"}


class _PrimaryNotDirected(_NoDirections):
    directions = {"loss": "minimize"}


@pytest.mark.parametrize(("objective", "message"), [
    (_accuracy, r"objective _accuracy is a function: wrap it, e\.g\. FunctionObjective\(_accuracy, primary='acc'\)"),
    (_NoDirections(), "objective _NoDirections lacks directions: an objective has name"),
    (_Misdirected(), r"objective _Misdirected is malformed \(primary 'acc', directions \{'acc': 'up'\}\)"),
    (_PrimaryNotDirected(), r"malformed \(primary 'acc', directions \{'loss': 'minimize'\}\): .* the primary among them"),
])
def test_what_is_not_an_objective_is_named_before_anything_is_stored(tmp_path: Path, objective, message: str) -> None:
    with pytest.raises(errors.StudyConfigError, match=message):
        study(tmp_path / "o.db", "random", objective=objective)
    assert not (tmp_path / "o.db").exists() or not SQLiteStorage(tmp_path / "o.db").study_names()


@pytest.mark.parametrize(("part", "message"), [
    ({"space": "nb201"}, r"space must be a nasir space \(SearchSpace\), got the string 'nb201'; pass a space object"),
    ({"space": nb101}, "got the module nasir.spaces.nb101"),
    ({"strategy": "rea"}, r"strategy must be a nasir strategy \(Strategy\), got the string 'rea'; build one for the space"),
    ({"strategy": type(make_strategy("random", space))}, "got the class RandomSearch"),
    ({"executor": "cf"}, r"executor must be a nasir executor \(Executor\), got a concurrent\.futures\.process\."
                         "ProcessPoolExecutor; use InProcessExecutor"),
])
def test_a_space_strategy_or_executor_that_is_not_one_is_named_before_anything_is_stored(tmp_path: Path, part: dict,
                                                                                        message: str) -> None:
    from concurrent.futures import ProcessPoolExecutor as FuturesPool

    parts = {"space": space, "strategy": make_strategy("random", space), "executor": None, **part}
    if parts["executor"] == "cf":
        parts["executor"] = FuturesPool(1)
    try:
        with pytest.raises(errors.StudyConfigError, match=message):
            Study.open(tmp_path / "p.db", parts["space"], parts["strategy"], Logged(), seed=0, executor=parts["executor"])
    finally:
        if parts["executor"] is not None:
            parts["executor"].shutdown()
    assert not (tmp_path / "p.db").exists() or not SQLiteStorage(tmp_path / "p.db").study_names()


def test_pareto_front_names_unknown_metrics(tmp_path: Path) -> None:
    s = study(tmp_path / "p.db", "random")
    s.optimize(budget_evals=10)
    assert 1 <= len(s.pareto_front()) < 10
    for metrics in (["cifar10-valid/valid_acc", "latncy"], []):
        with pytest.raises(errors.UnknownNameError, match="pareto_front needs metrics the trials hold"):
            s.pareto_front(metrics)


def test_non_finite_side_metrics_are_stored_as_strict_json(tmp_path: Path) -> None:
    side = FunctionObjective(lambda arch: {"acc": 1.0, "latency": math.inf, "energy": math.nan}, primary="acc",
                             directions={"acc": "maximize", "latency": "minimize", "energy": "minimize"}, name="side")
    s = Study.open(tmp_path / "j.db", space, make_strategy("random", space), side, seed=0)
    s.optimize(budget_evals=2)
    with sqlite3.connect(tmp_path / "j.db") as conn:
        assert conn.execute("SELECT json_extract(metrics, '$.latency') FROM trial").fetchall() == [(None,), (None,)]
    metrics = s.trials[0].metrics
    assert metrics["acc"] == 1.0 and math.isnan(metrics["latency"]) and math.isnan(metrics["energy"])


@pytest.mark.parametrize("returned, error", [
    (0.5, "objective returned 0.5 (float), not a dict of metric names to numbers"),
    (None, "objective returned None (NoneType), not a dict of metric names to numbers"),
    ({"size": "big"}, "objective returned 'big' (str) for 'size', not a number"),
    ({"size": [1.0, 2.0]}, "objective returned [1.0, 2.0] (list) for 'size', not a number"),
    ({"params": 3}, "objective returned no 'size' (got ['params'])")])
def test_an_objective_that_returns_no_dict_of_numbers_fails_its_trials_by_name(tmp_path: Path, returned, error: str) -> None:
    objective = FunctionObjective(lambda arch: returned, "size", {"size": "maximize"}, name="wrong")
    wrong = study(tmp_path / "w.db", "random", objective=objective)
    wrong.optimize(budget_evals=2)
    assert [(t.state, t.error) for t in wrong.trials] == [(TrialState.FAILED, error)] * 2


def test_bad_tell_input_is_named_and_leaves_the_trial_to_tell(tmp_path: Path) -> None:
    s = study(tmp_path / "t.db", "random")
    (trial,) = s.ask(1)
    with pytest.raises(StudyStorageError, match="has no trial 999"):
        s.tell(999, 1.0)
    with pytest.raises(errors.TellResultTypeError, match=r"tell\(\) takes metrics, a number or an error .*got None") as info:
        s.tell(trial, None)
    assert isinstance(info.value, TypeError)
    with pytest.raises(errors.TellResultTypeError, match=r"got \[1.0\]"):
        s.tell(trial, [1.0])
    assert s.summary()["running"] == 1
    s.tell(trial, 1.0)
    assert s.summary()["complete"] == 1 and s.summary()["running"] == 0
    assert "arch_json" not in repr(s.trials[0]) and "number=0" in repr(s.trials[0])


def test_a_study_in_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(StudyStorageError, match="does not exist; create it first"):
        study(tmp_path / "nope" / "s.db")
