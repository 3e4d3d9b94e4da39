"""The command line, run as a user runs it: a real subprocess of the installed entry point."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasir.report import load_study
from nasir.spaces.nb201 import space as nb201

NASIR = shutil.which("nasir", path=str(Path(sys.executable).parent)) or "nasir"
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"  # index 6111
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # output independent of the input: proxies give -inf
COMMANDS = (("demo",), ("score",), ("search",), ("export",), ("latency",), ("report",), ("bench", "proxies"),
            ("bench", "search"), ("spaces", "list"), ("spaces", "sample"), ("spaces", "show"), ("spaces", "count"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([NASIR, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``nasir ARGS`` through ``nasir.cli.main`` in this process: (exit code, stdout, stderr)."""
    from nasir.cli import main

    monkeypatch.setattr(sys, "argv", ["nasir", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-trial tabular NB201 study written by the CLI itself."""
    db = tmp_path_factory.mktemp("cli") / "study.db"
    assert run("search", "--trials", "20", "--storage", f"sqlite:///{db}", "--quiet").returncode == 0
    return db


def test_demo_prints_ground_truth() -> None:
    result = run("demo", "-n", "3", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "NAS-Bench-201 samples" in result.stdout and result.stdout.count("|+|") >= 3


def test_spaces_list_json_and_count() -> None:
    rows = json.loads(run("spaces", "list", "--json").stdout)
    assert {r["name"]: r["size"] for r in rows} == {
        "nb101": 423_624, "nb201": 15_625, "nb201-grammar": 15_625, "hierarchical-c10": 18_355_499_226_925_056,
        "hierarchical-param-c10": 110_132_995_361_550_336, "darts": 1_076_746_950_455_072_400, "mobilenet": 21_758_655_492_572_485_851}
    assert run("spaces", "count", "--space", "nb201").stdout.strip() == "15625"


def test_spaces_sample_is_seeded() -> None:
    first = run("spaces", "sample", "--space", "nb101", "-n", "2", "--seed", "4").stdout
    assert first == run("spaces", "sample", "--space", "nb101", "-n", "2", "--seed", "4").stdout
    assert len(first.splitlines()) == 2


def test_spaces_show_reports_exact_params() -> None:
    shown = json.loads(run("spaces", "show", CELL).stdout)
    assert shown["params"] == 1_073_466 and shown["hash"].startswith("v1:")


def test_every_command_has_help_with_an_example() -> None:
    from typer.testing import CliRunner

    from nasir.cli import app

    for command in COMMANDS:
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Example: nasir " + command[0] in result.output, command


def _nb101_json() -> str:
    from nasir.spaces.nb101 import space

    return space.sample(0).to_json()


@pytest.mark.parametrize(("args", "fragment"), [
    (("spaces", "count", "--space", "nb999"), "unknown search space 'nb999'"),
    (("score", "--space", "nb999", "0"), "unknown search space 'nb999' (known: darts, hierarchical-c10, hierarchical-param-c10, mobilenet, nb101, nb201, nb201-grammar)"),
    (("score", "--proxy", "naswoot", "0"), "unknown proxy 'naswoot'; did you mean 'naswot'?"),
    (("score", "--file", "missing.txt"), "'missing.txt' does not exist"),
    (("score", "--file", "binary.txt"), "cannot read 'binary.txt'"),
    (("score", "--file", "archs.txt"), "line 3 of 'archs.txt': unknown NB201 op 'conv_9x9'"),
    (("score", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"), "node 3 of"),
    (("export", "{not json"), "architecture JSON is not valid JSON"),
    (("export", "6111", "--cell", "--input-shape", "16x32x32"), "'16x32x32' is not C,H,W"),
    (("latency", "NB101_JSON"), "is not an NB201 op"),
    (("export",), "give exactly one of ARCH and --study"),
    (("report", "binary.txt"), "'binary.txt' is not a nasir study"),
    (("report", "missing.db"), "study file 'missing.db' does not exist"),
    (("export", "--study", "STUDY", "--space", "nb101"), "searched space 'nb201', not 'nb101'"),
    (("search", "--storage", "STUDY", "--space", "nb101", "--objective", "params"), "space is 'nb201' in the file but 'nb101' here"),
    (("search", "--storage", "STUDY", "--strategy", "random"), "strategy is 'rea' in the file but 'random' here"),
    (("search", "--storage", "binary.txt", "--fresh"), "'binary.txt' is not an SQLite database"),  # and --fresh keeps it
    (("search", "--space", "nb101"), "the tabular objective needs ground truth"),
    (("search", "--objective", "accuracy"), "unknown term 'accuracy': use tabular, params, flops, latency or a proxy"),
    (("search", "--storage", "postgres://db/x"), "studies are stored in SQLite"),
    (("search", "--executor", "threads"), "unknown executor 'threads'; use inprocess, process or ray"),
    (("search", "--executor", "process", "--address", "auto"), "--address names a Ray cluster; give --executor ray too"),
    (("search", "--workers", "4"), "--workers sizes --executor process or ray"),
    (("search", "--trial-timeout", "60"), "--trial-timeout needs --executor process or ray"),
    (("search", "--objective", "synflow:bogus"), "proxy options are name:option=value"),
    (("search", "--rerank", "tabular"), "--rerank repeats the search's own objective"),
    (("search", "--rerank", "accuracy"), "unknown term 'accuracy'"),
    (("search", "--strategy", "random", "--population", "20"), "strategy 'random' has none (use rea, area, nsga2)"),
    (("search", "--strategy", "nsga2", "--parallel", "4"), "strategy 'nsga2' has none (use rea, area)"),
    (("search", "--trials", "0"), "'--trials'"),
    (("latency", "6111", "--predict", "tpu-v9"), "neither an HW-NAS-Bench device"),
    (("report", "STUDY", "--pareto", "params_m"), "give two metrics X,Y"),
    (("bench", "search", "--strategy", "annealing"), "unknown strategy 'annealing'"),
    (("bench", "search", "--strategy", "random,nsga2"), "strategy 'nsga2' needs a scorer proxy or several objectives"),
    (("search", "--objective", "synflow:bogus=1"), "Invalid value for --objective: proxy 'synflow' has no option 'bogus'"),
    (("search", "--objective", "gennas:itrations=5"), "proxy 'gennas' has no option 'itrations' (its options: eval_interval, "
                                                      "iterations, lr"),
    (("search", "--objective", "az_trainability:bogus=1"), "proxy 'az_trainability' has no option 'bogus' (its options: batch_size, init)"),
    (("search", "--objective", "params", "--rerank", "gennas:task=nope"), "Invalid value for --rerank: unknown GenNAS task 'nope'"),
    (("search", "--rerank", "params,flops"), "Invalid value for --rerank: unknown term 'params,flops'"),
    (("search", "--storage", "new.db", "--export", "adir"), "Invalid value for --export: 'adir' is a folder"),
    (("search", "--storage", "new.db", "--report", "binary.txt/r.html"), "binary.txt' is a file, not a folder"),
    (("export", "6111", "-o", "adir"), "Invalid value for --out: 'adir' is a folder"),
    (("report", "STUDY", "-o", "adir"), "Invalid value for --out: 'adir' is a folder"),
    (("export", "6111", "--cell", "--input-shape", "0,32,32"), "'0,32,32': sizes must be positive"),
    (("export", "6111", "--cell", "--input-shape=-1,32,32"), "'-1,32,32': sizes must be positive"),
    (("spaces", "sample", "-n", "-3"), "'-n'"),
    (("demo", "-n", "0"), "'-n'"),
    (("spaces", "sample", "--seed", "-1"), "'--seed'"),
    (("search", "--storage", "good.txt/new.db", "--trials", "3"), "is a file, not a folder"),
    (("search", "--storage", "/proc/nasir/new.db", "--trials", "3"), "cannot write '/proc/nasir/new.db'"),
    (("export", "6111", "--seed", "-1", "-o", "neg.onnx"), "'--seed'"),
    (("search", "--storage", "new.db", "--space", "darts", "--objective", "params", "--strategy", "bananas"),
     "space 'darts' has no 'path' encoding; pass encoding= one of ['adjacency', 'categorical']"),
    (("search", "--storage", "new.db", "--strategy", "rea", "--encoding", "path"), "strategy 'rea' has none (use bananas, hybrid_bo)"),
    (("search", "--storage", "new.db", "--strategy", "rea", "--scorer", "synflow"), "strategy 'rea' takes no --scorer (use area"),
    (("search", "--storage", "new.db", "--strategy", "hybrid_bo", "--candidates", "50"), "takes no --candidates (use area, naswot)"),
    (("search", "--storage", "new.db", "--rerank-top", "3"), "--rerank-top sizes the shortlist of --rerank; give --rerank too"),
    (("search", "--storage", "new.db", "--warm-start", "archs.txt"), "line 3 of 'archs.txt': "),
    (("search", "--storage", "STUDY", "--warm-start", "good.txt"), "strategy_config is '{\"population_size\": 10, \"sample_size\": 3}' in the file"),
    (("latency", "6111", "--predict", "edgegpu", "--batch", "8"), "--predict predicts; --batch set(s) a measurement"),
    (("latency", "6", "--predict", "edgetpu"), "no edgetpu latency for this cell: it did not pass the Edge TPU compiler"),
    (("export", "--top", "3"), "--top and --pareto choose cells of a study: give --study"),
    (("latency", "missing.onnx"), "ONNX file 'missing.onnx' does not exist"),
    (("latency", "adir"), "folder 'adir' holds no .onnx file"),
    (("latency", "adir", "--runtime", "torch"), "an ONNX file is timed on onnxruntime as it is; drop --runtime"),
    (("export", "6111", "--study", "STUDY", "--top", "2"), "--top and --pareto choose cells of --study; give no ARCH"),
    (("export", "--study", "STUDY", "--top", "2", "--pareto", "params_m,flops_m"), "give one of --top and --pareto"),
    (("export", "--study", "STUDY", "--pareto", "cifar10/test_acc,latency_ms"), "needs two or more metrics its trials hold"),
    (("export", "--study", "STUDY", "--top", "2", "-o", "binary.txt"), "'binary.txt' is a file; with --top or --pareto"),
    (("bench", "proxies", "--truth", "cifar10"), "'cifar10' is not DATASET/METRIC"),
    (("search", "--space", "mobilenet", "--objective", "naswot", "--storage", "new.db"),
     "Invalid value for --objective: naswot read(s) images, and the shipped CIFAR-10 sample holds (3, 32, 32) images but "
     "space 'mobilenet' takes (3, 224, 224)"),
    (("export", "{\"schema_version\": 1, \"nodes\": \"x\", \"edges\": []}"), "nodes and edges must be lists of objects"),
])
def test_bad_arguments_give_one_line_and_exit_2(args: tuple[str, ...], fragment: str, study: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """In this process (``main()`` as the entry point calls it), to keep the many cases quick."""
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81 not text")
    (tmp_path / "archs.txt").write_text(f"# two good, one bad\n{CELL}\n|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    (tmp_path / "good.txt").write_text(f"{CELL}\n")
    (tmp_path / "adir").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main([a.replace("STUDY", str(study)).replace("NB101_JSON", _nb101_json()) for a in args], monkeypatch, capsys)
    assert code == 2, (out, err)
    assert fragment in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "binary.txt").exists() and not (tmp_path / "new.db").exists()  # refused before any search


def test_bad_arguments_through_the_installed_entry_point() -> None:
    for args, fragment in ((("spaces", "show", "|conv~0|"), "error: NB201 arch string must have 3"),
                           (("score", "--proxy", "naswoot", "0"), "did you mean 'naswot'?")):
        result = run(*args)
        assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_internal_errors_exit_1_in_one_line_and_debug_shows_the_trace(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture) -> None:
    from nasir.space import SPACES

    def broken(name: str):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SPACES, "get", broken)
    code, _, err = run_main(["spaces", "count"], monkeypatch, capsys)
    assert code == 1 and err.strip() == "internal error: RuntimeError: disk on fire (run with --debug for the traceback)"
    code, _, err = run_main(["--debug", "spaces", "count"], monkeypatch, capsys)  # the trace, then the same line and code
    assert code == 1 and "Traceback" in err and 'raise RuntimeError("disk on fire")' in err
    assert err.strip().splitlines()[-1] == "internal error: RuntimeError: disk on fire"
    monkeypatch.undo()
    code, _, err = run_main(["--debug", "spaces", "show", "--space", "nb999", "0"], monkeypatch, capsys)
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: unknown search space 'nb999'")


def test_ctrl_c_in_a_command_prints_how_to_resume(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from nasir.space import SPACES

    def interrupted(name: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(SPACES, "get", interrupted)
    code, _, err = run_main(["spaces", "count"], monkeypatch, capsys)
    assert code == 130 and err.startswith("interrupted: ") and "run the same command to resume" in err


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    ("torch", ["score", "6111"], "pip install 'nasir[torch]'"),
    ("onnx", ["export", "6111"], "pip install 'nasir[onnx]'"),
    ("matplotlib", ["report", "STUDY"], "pip install 'nasir[viz]'"),
])
def test_a_missing_extra_is_named_in_one_line(blocked: str, args: list[str], extra: str, study: Path) -> None:
    argv = ["nasir", *(a.replace("STUDY", str(study)) for a in args)]
    code = f"import sys; sys.modules[{blocked!r}] = None; sys.argv = {argv!r}\nfrom nasir.cli import main; main()"
    result = run_python(code)
    assert result.returncode == 2 and extra in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_cli_imports_no_framework_until_a_command_needs_one() -> None:
    code = ("import sys, nasir.cli, nasir.report, nasir.report.html\n"
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'tensorflow', 'matplotlib') if m in sys.modules))")
    result = run_python(code)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_search_commits_and_resumes(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    first = json.loads(run("search", "--trials", "30", "--storage", db, "--json").stdout)
    assert first["trials"] == 30 and first["best"]["metrics"]["cifar10/test_acc"] > 80
    more = json.loads(run("search", "--trials", "60", "--storage", db, "--json").stdout)
    assert more["trials"] == 60 and more["best"]["metrics"]["cifar10-valid/valid_acc"] >= first["best"]["metrics"]["cifar10-valid/valid_acc"]
    other = run("search", "--trials", "5", "--storage", db, "--strategy", "random")
    assert other.returncode == 2 and "strategy is 'rea' in the file but 'random' here" in other.stderr
    fresh = json.loads(run("search", "--trials", "5", "--storage", db, "--strategy", "random", "--fresh", "--json").stdout)
    assert fresh["trials"] == 5



def test_a_warm_start_is_evaluated_first_and_is_part_of_the_study(tmp_path: Path) -> None:
    cells = tmp_path / "known.txt"
    cells.write_text(f"# the best two cells of NB201 on CIFAR-10\n{CELL}\n6111\n"
                     "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|\n")
    db = str(tmp_path / "w.db")
    first = json.loads(run("search", "--trials", "12", "--warm-start", str(cells), "--storage", db, "--json").stdout)
    assert first["best"]["arch"] == CELL and first["duplicates"] == 1, "6111 is CELL: looked up, not evaluated again"
    assert [t.arch_hash for t in load_study(db).trials[:3]] == [nb201.parse(CELL).canonical_hash()] * 2 + [
        nb201.parse(cells.read_text().splitlines()[-1]).canonical_hash()]
    assert json.loads(run("search", "--trials", "20", "--warm-start", str(cells), "--storage", db, "--json").stdout)["trials"] == 20


def test_search_resume_retries_or_fails_the_interrupted_trial(tmp_path: Path) -> None:
    whole = json.loads(run("search", "--trials", "12", "--storage", str(tmp_path / "whole.db"), "--json", "--quiet").stdout)
    run("search", "--trials", "10", "--storage", str(tmp_path / "a.db"), "--json", "--quiet")
    conn = sqlite3.connect(tmp_path / "a.db")  # trial 9 was being evaluated when the process died
    with conn:
        conn.execute("UPDATE trial SET state='RUNNING' WHERE number=9")
    conn.close()  # the last connection: the change leaves the WAL for the file that is copied
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    retried = json.loads(run("search", "--trials", "12", "--storage", str(tmp_path / "a.db"), "--json", "--quiet").stdout)
    failed = json.loads(run("search", "--trials", "12", "--storage", str(tmp_path / "b.db"), "--json", "--quiet",
                            "--fail-interrupted").stdout)
    assert retried["failed"] == 0 and retried["best"] == whole["best"]
    assert failed["failed"] == 1

def test_a_cascade_reranks_the_searchs_best_cells_and_resumes(tmp_path: Path) -> None:
    args = ("search", "--objective", "flops", "--population", "5", "--tournament", "2", "--parallel", "3", "--trials", "20",
            "--rerank", "tabular",
            "--rerank-top", "4", "--storage", str(tmp_path / "c.db"), "--json", "--quiet")
    first = json.loads(run(*args).stdout)
    shortlist = first["rerank"]["shortlist"]
    assert len(shortlist) == 4 and [row["stage1"] for row in shortlist] == sorted(row["stage1"] for row in shortlist)
    assert first["primary"] == "cifar10-valid/valid_acc" and first["rerank"]["search_primary"] == "flops_m"
    assert first["best"]["metrics"]["cifar10-valid/valid_acc"] == max(row["stage2"] for row in shortlist)
    assert first["best"]["arch"] in [row["arch"] for row in shortlist] and "rank" in first["best_rank"]
    with sqlite3.connect(tmp_path / "c.db") as conn:
        config = json.loads(conn.execute("SELECT strategy_config FROM study WHERE name='default'").fetchone()[0])
        reranked = conn.execute("SELECT COUNT(*) FROM trial WHERE study=?", (first["rerank"]["study"],)).fetchone()[0]
    assert (config["population_size"], config["sample_size"], config["parallel"], reranked) == (5, 2, 3, 4)
    again = json.loads(run(*args[:-4], "--rerank-top", "6", *args[-4:]).stdout)  # resumed: only the two new cells run
    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM trial WHERE study=?", (first["rerank"]["study"],)).fetchone()[0] == 6
    assert [row["arch"] for row in again["rerank"]["shortlist"][:4]] == [row["arch"] for row in shortlist]
    text = run(*args[:-2], "--quiet").stdout
    assert "shortlist: the search's 4 best cells" in text and "cascade pick" in text and first["best"]["arch"] in text
    assert run(*args[:11], "--rerank", "params", *args[13:]).returncode == 0  # a second cascade of the same search
    refused = run("latency", "--study", str(tmp_path / "c.db"), "--predict", "edgegpu")
    assert refused.returncode == 2 and "has several cascades" in refused.stderr and "--name" in refused.stderr


def test_proxy_options_reach_the_proxy_and_no_pick_exits_3(tmp_path: Path) -> None:
    done = run("search", "--objective", "params", "--rerank", "synflow:bn=bogus", "--rerank-top", "1", "--trials", "2",
               "--strategy", "random", "--storage", str(tmp_path / "o.db"), "--json", "--quiet")
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    (row,) = result["rerank"]["shortlist"]
    assert row["state"] == "FAILED" and "synflow bn must be one of" in row["error"] and result["best"] is None
    assert result["rerank"]["objective"] == "cli:synflow:bn=bogus:truth"
    export = run("export", "--study", str(tmp_path / "o.db"), "-o", str(tmp_path / "x.onnx"))
    assert export.returncode == 2 and "no pick; --name 'default' reads the search's own best" in export.stderr, export.stderr


def test_a_search_with_no_completed_trial_exits_3_and_still_has_a_report(tmp_path: Path) -> None:
    failed = run("search", "--objective", "synflow:bn=bogus", "--trials", "2", "--strategy", "random", "--quiet", cwd=tmp_path)
    assert failed.returncode == 3 and "no completed trial in nasir-study.db (2 failed)" in failed.stdout, failed.stderr
    report = run("report", "nasir-study.db", "-o", "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "no plot of proxy/synflow: no completed trial holds it" in (tmp_path / "r.html").read_text()


def test_fresh_deletes_only_the_named_study_and_its_cascades(tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    assert run("search", "--objective", "params", "--strategy", "random", "--trials", "4", "--name", "other", "--storage", db,
               "--quiet").returncode == 0
    assert run("search", "--objective", "flops", "--strategy", "random", "--trials", "6", "--rerank", "tabular",
               "--rerank-top", "2", "--storage", db, "--quiet").returncode == 0
    fresh = json.loads(run("search", "--objective", "params", "--strategy", "random", "--trials", "3", "--fresh",
                           "--storage", db, "--json", "--quiet").stdout)
    assert fresh["trials"] == 3
    with sqlite3.connect(db) as conn:
        assert dict(conn.execute("SELECT study, COUNT(*) FROM trial GROUP BY study").fetchall()) == {"default": 3, "other": 4}
        assert sorted(r[0] for r in conn.execute("SELECT name FROM study")) == ["default", "other"]


def test_study_readers_act_on_the_pick_search_printed(tmp_path: Path) -> None:
    """A cascade's pick is over the search's current best cells, not every cell the cascade ever scored."""
    args = ("search", "--objective", "flops", "--strategy", "random", "--storage", "c.db", "--quiet", "--json")
    assert run(*args, "--trials", "6", "--rerank", "tabular", "--rerank-top", "2", cwd=tmp_path).returncode == 0
    grown = json.loads(run(*args, "--trials", "30", cwd=tmp_path).stdout)  # its best cell is new: the cascade is stale
    stale = run("export", "--study", "c.db", "-o", "s.onnx", cwd=tmp_path)
    assert stale.returncode == 2 and "is out of date" in stale.stderr and "--name 'default'" in stale.stderr, stale.stderr
    assert run("report", "c.db", "-o", "r.html", cwd=tmp_path).returncode == 0
    assert "is out of date" in (tmp_path / "r.html").read_text()
    again = json.loads(run(*args, "--trials", "30", "--rerank", "tabular", "--rerank-top", "1", cwd=tmp_path).stdout)
    assert again["best"]["arch"] == grown["best"]["arch"]
    for command in ("export", "latency"):
        read = json.loads(run(command, "--study", "c.db", *(["-o", "p.onnx"] if command == "export" else ["--predict", "edgegpu"]),
                              "--json", cwd=tmp_path).stdout)
        assert read["arch"] == again["best"]["arch"] and "over the search's 1 best cells, not all 3" in read["source"]


def test_proxy_options_parse_into_the_objective() -> None:
    from nasir.cli.objective import SearchObjective

    objective = SearchObjective("nb201", ["gennas:task=nb101:iterations=50:lr=0.05", "params"])
    assert objective.options == {"gennas": {"task": "nb101", "iterations": 50, "lr": 0.05}}
    assert objective.primary == "proxy/gennas" and objective.name == "cli:gennas:task=nb101:iterations=50:lr=0.05,params:truth"
    assert SearchObjective("nb201", ["gennas"]).options == {"gennas": {}}


def test_process_and_ray_executors_give_the_same_study(tmp_path: Path) -> None:
    """A local worker pool and a real local Ray instance (two CPUs) evaluate the same trials as this process."""
    args = ("search", "--objective", "params,flops", "--strategy", "random", "--trials", "8", "--json", "--quiet")
    inproc = json.loads(run(*args, "--storage", str(tmp_path / "a.db")).stdout)
    pooled = json.loads(run(*args, "--storage", str(tmp_path / "b.db"), "--executor", "process", "--workers", "2").stdout)
    on_ray = json.loads(run(*args, "--storage", str(tmp_path / "c.db"), "--executor", "ray", "--workers", "2").stdout)
    assert inproc["best"] == pooled["best"] == on_ray["best"] and inproc["primary"] == "params_m"
    assert on_ray["evaluations"] == 8 and on_ray["failed"] == 0
    assert set(inproc["best"]["metrics"]) == {"params_m", "flops_m", "cifar10-valid/valid_acc", "cifar10/test_acc"}


def test_an_evaluation_over_the_trial_timeout_is_stopped_and_its_trial_fails(tmp_path: Path) -> None:
    """GenNAS's 100-iteration regression takes ~20 s a cell on this CPU: with a 2 s limit every trial times out."""
    db = tmp_path / "t.db"
    result = run("search", "--objective", "gennas", "--strategy", "random", "--trials", "2", "--executor", "process",
                 "--workers", "1", "--trial-timeout", "2", "--storage", str(db), "--json", "--quiet")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["failed"] == 2
    assert [t.error for t in load_study(db).trials] == ["timed out after 2 s (the evaluation was stopped)"] * 2


def test_rea_on_a_worker_pool_says_how_to_keep_the_workers_busy(tmp_path: Path) -> None:
    args = ("search", "--objective", "params", "--population", "4", "--trials", "8", "--executor", "process", "--workers", "2")
    idle = run(*args, "--storage", str(tmp_path / "a.db"))
    busy = run(*args, "--parallel", "2", "--storage", str(tmp_path / "b.db"))
    assert idle.returncode == busy.returncode == 0, idle.stderr + busy.stderr
    said = " ".join(idle.stderr.split())
    assert "rea breeds 1 child per step" in said and "--parallel 2 keeps them busy" in said
    assert "breeds" not in busy.stderr


def test_main_job_training_free_search_exports_times_and_reports(tmp_path: Path) -> None:
    """A proxy-driven search, ONNX export, CPU latency, HTML report."""
    result = run("search", "--objective", "meco", "--trials", "6", "--strategy", "random", "--export", "best.onnx",
                 "--latency", "--report", "report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "best of 6 trials" in out and "proxy/meco" in out and "(optimised)" in out and "of 15,625 in the space)" in out
    assert "exported to best.onnx" in out and "latency on onnxruntime CPU: median" in out and "report written to report.html" in out
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "best.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": np.zeros((2, 3, 32, 32), np.float32)})[0]
    assert logits.shape == (2, 10)
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_readme_main_job_small_a_cascade_exports_and_reports_its_pick(tmp_path: Path) -> None:
    """The README's first command, small and with a cheap second proxy: a search, a rerank of its best cells, the pick
    exported and in the report's cascade table."""
    result = run("search", "--objective", "synflow", "--trials", "6", "--strategy", "random", "--rerank", "meco",
                 "--rerank-top", "2", "--export", "best.onnx", "--report", "report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cascade pick: the best by proxy/meco of the search's 2 best cells (of 6 trials)" in out
    assert "(optimised)" in out and "of 15,625 in the space)" in out and "exported to best.onnx" in out
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "Cascade" in html
    pick = out.split("cascade pick:", 1)[1].splitlines()[1].strip()
    again = json.loads(run("export", "--study", "nasir-study.db", "-o", "again.onnx", "--json", cwd=tmp_path).stdout)
    assert again["arch"] == pick and again["source"].startswith("cascade pick of study 'default', trial ")
    assert again["source"].endswith(" of 'default:rerank:cli:meco:truth'")
    assert (tmp_path / "again.onnx").read_bytes() == (tmp_path / "best.onnx").read_bytes()  # the same pick, the same seed
    searched = json.loads(run("export", "--study", "nasir-study.db", "--name", "default", "-o", "s.onnx", "--json", cwd=tmp_path).stdout)
    assert searched["source"].startswith("best of study 'default', trial ")
    assert run("report", "nasir-study.db", "-o", "again.html", cwd=tmp_path).returncode == 0
    assert "Cascade" in (tmp_path / "again.html").read_text()


def test_score_prints_proxies_and_ground_truth(tmp_path: Path) -> None:
    (tmp_path / "archs.txt").write_text(f"# one per line\n{EMPTY}\n")
    result = run("score", "--proxy", "synflow,meco", "--json", "--quiet", "6111", "--file", "archs.txt", cwd=tmp_path)
    rows = json.loads(result.stdout)
    assert [r["arch"] for r in rows] == [CELL, EMPTY]
    assert rows[0]["scores"]["meco"] > 0 and rows[0]["cifar10/test_acc"] == pytest.approx(94.373, abs=1e-3)
    assert rows[1]["scores"] == {"synflow": None, "meco": None}  # -inf is not JSON: degenerate cells give null


def test_a_space_of_other_images_is_scored_by_the_proxies_that_read_none(tmp_path: Path) -> None:
    """MobileNet networks take 224x224 images: SynFlow and MeCo build their own input of that shape, while a proxy
    that reads images is refused up front (the shipped sample is CIFAR-10's 32x32), naming the ones that would run."""
    from nasir.space import SPACES
    from nasir.spaces import load_builtin

    load_builtin()
    mobilenet = SPACES.get("mobilenet")
    arch = mobilenet.format(mobilenet.sample(np.random.default_rng(1)))
    scored = run("score", "--space", "mobilenet", "--proxy", "synflow,meco", "--json", "--quiet", arch)
    assert scored.returncode == 0, scored.stderr
    assert all(np.isfinite(v) for v in json.loads(scored.stdout)[0]["scores"].values())
    refused = run("score", "--space", "mobilenet", "--proxy", "synflow,snip", arch)
    assert refused.returncode == 2 and "snip read(s) images" in refused.stderr and "(3, 224, 224)" in refused.stderr
    assert "use proxies that read none (az_expressivity, az_progressivity, az_trainability, flops, meco, params, synflow)" in refused.stderr


def test_export_and_latency_from_an_arch_or_a_study(study: Path, tmp_path: Path) -> None:
    shown = json.loads(run("export", CELL, "-o", str(tmp_path / "net.onnx"), "--json").stdout)
    assert shown["params"] == 1_073_466 and (tmp_path / "net.onnx").stat().st_size == shown["bytes"]
    cell = json.loads(run("export", "--study", str(study), "--cell", "-o", str(tmp_path / "cell.onnx"), "--json").stdout)
    assert cell["input_shape"] == [16, 32, 32] and cell["source"].startswith("best of study 'default', trial ")
    best = load_study(study).best()
    assert cell["arch"] == nb201.format(best.arch) and cell["source"].endswith(f"trial {best.number}")
    timed = json.loads(run("latency", "6111", "--runs", "1", "--repeats", "5", "--warmup", "1", "--json").stdout)
    assert 0 < timed["median_ms"] <= timed["p90_ms"] and timed["threads"] == 1
    predicted = json.loads(run("latency", "--study", str(study), "--predict", "edgegpu", "--json").stdout)
    assert predicted["predicted_ms"] > 0 and "HW-NAS-Bench" in predicted["device"]
    (tmp_path / "manifest.json").write_text('{"name": "an app of ours"}')  # beside net.onnx, not nasir's
    beside = run("latency", str(tmp_path / "net.onnx"), "--runs", "1", "--repeats", "2", "--warmup", "0", "--json")
    assert beside.returncode == 0 and json.loads(beside.stdout)["median_ms"] > 0, beside.stderr
    assert "is not a manifest nasir export wrote (KeyError: 'files')" in beside.stderr


def test_bench_commands_report_correlations_and_curves(tmp_path: Path) -> None:
    proxies = json.loads(run("bench", "proxies", "--proxy", "synflow", "--sample", "4", "--plot", str(tmp_path / "p.png"),
                             "--json", "--quiet").stdout)
    assert proxies["sample"] == 4 and -1 <= proxies["proxies"][0]["spearman"] <= 1
    assert Path(proxies["proxies"][0]["plot"]).read_bytes().startswith(b"\x89PNG")
    search = json.loads(run("bench", "search", "--strategy", "random,rea", "--trials", "12", "--seeds", "2",
                            "--plot", str(tmp_path / "c.png"), "--json", "--quiet").stdout)
    assert [r["strategy"] for r in search["strategies"]] == ["random", "rea"] and (tmp_path / "c.png").stat().st_size > 1000
    assert all(0 <= r["regret_mean"] < 20 for r in search["strategies"])


def test_report_command_writes_the_page(study: Path, tmp_path: Path) -> None:
    result = run("report", str(study), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 0 and "report written to" in result.stderr
    assert (tmp_path / "r.html").read_text().count("data:image/png;base64,") == 3  # cell, curve, Pareto (no proxy stored)


def test_report_command_writes_the_trial_table_without_matplotlib(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    argv = ["nasir", "report", str(study), "-o", str(out)]
    result = run_python(f"import sys; sys.modules['matplotlib'] = None; sys.argv = {argv!r}\nfrom nasir.cli import main; main()")
    assert result.returncode == 0 and "trials written to" in result.stderr, result.stderr
    assert out.read_text().splitlines()[0].startswith("number,state,arch,arch_hash,")
    refused = run("report", str(study), "-o", str(tmp_path / "t.json"), "--pareto", "params_m,cifar10/test_acc")
    assert refused.returncode == 2 and "a trial table has none" in refused.stderr and not (tmp_path / "t.json").exists()


def test_nsga2_from_the_cli_returns_a_pareto_front_over_every_objective_term(tmp_path: Path) -> None:
    from nasir.pareto import pareto_front

    out = json.loads(run("search", "--objective", "tabular,params", "--strategy", "nsga2", "--trials", "40",
                         "--storage", str(tmp_path / "p.db"), "--json", "--quiet").stdout)
    front = out["pareto_front"]
    points = [[p["metrics"]["cifar10-valid/valid_acc"], p["metrics"]["params_m"]] for p in front]
    assert len(front) >= 3 and len(pareto_front(points, ["maximize", "minimize"])) == len(front)
    lone = run("search", "--objective", "tabular", "--strategy", "nsga2", "--trials", "5", "--storage", str(tmp_path / "q.db"))
    assert lone.returncode == 2 and "two or more --objective terms" in lone.stderr


def test_export_writes_a_studys_pareto_front_or_best_cells_with_a_manifest(tmp_path: Path) -> None:
    """Every file is a network onnxruntime runs; the front is the one the search printed; latency times the folder."""
    import onnxruntime as ort

    db = str(tmp_path / "p.db")
    searched = json.loads(run("search", "--objective", "tabular,params", "--strategy", "nsga2", "--trials", "40", "--storage", db,
                              "--json", "--quiet").stdout)
    front = run("export", "--study", db, "--pareto", "cifar10-valid/valid_acc,params_m", "-o", str(tmp_path / "front"), "--json")
    assert front.returncode == 0, front.stderr
    rows = json.loads(front.stdout)
    assert sorted(r["arch"] for r in rows) == sorted(p["arch"] for p in searched["pareto_front"])
    manifest = json.loads((tmp_path / "front" / "manifest.json").read_text())
    assert manifest["files"] == rows and manifest["chosen"] == "pareto cifar10-valid/valid_acc,params_m"
    for row in rows:
        session = ort.InferenceSession(row["path"], providers=["CPUExecutionProvider"])
        (logits,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 32, 32), np.float32)})
        assert logits.shape == (1, 10) and row["params"] == round(row["metrics"]["params_m"] * 1e6)
    timed = json.loads(run("latency", str(tmp_path / "front"), "--warmup", "0", "--repeats", "3", "--runs", "1", "--json").stdout)
    assert sorted((t["trial"], t["arch"]) for t in timed) == sorted((r["trial"], r["arch"]) for r in rows)
    assert all(t["median_ms"] > 0 and t["runtime"] == "onnxruntime" for t in timed)
    best = json.loads(run("export", "--study", db, "--top", "2", "-o", str(tmp_path / "top"), "--json").stdout)
    accs = sorted((t.metrics["cifar10-valid/valid_acc"] for t in load_study(db).trials if t.metrics), reverse=True)
    assert [r["metrics"]["cifar10-valid/valid_acc"] for r in best] == sorted(set(accs), reverse=True)[:2]
    assert sorted(p.name for p in (tmp_path / "top").iterdir()) == sorted(["manifest.json"] + [f"trial-{r['trial']}.onnx" for r in best])


def test_naswot_strategy_from_the_cli_ranks_candidates_with_the_scorer_proxy(tmp_path: Path) -> None:
    out = json.loads(run("search", "--strategy", "naswot", "--scorer", "synflow", "--candidates", "6", "--trials", "1",
                         "--storage", str(tmp_path / "n.db"), "--json", "--quiet").stdout)
    picked = out["best"]["arch"]
    scores = json.loads(run("score", "--proxy", "synflow", "--json", picked).stdout)[0]["scores"]["synflow"]
    assert out["trials"] == 1 and np.isfinite(scores)
    bad = run("search", "--strategy", "area", "--scorer", "nope", "--trials", "3", "--storage", str(tmp_path / "m.db"))
    assert bad.returncode == 2 and "unknown proxy 'nope'" in bad.stderr


def test_bananas_searches_darts_with_the_encoding_given(tmp_path: Path) -> None:
    done = run("search", "--space", "darts", "--objective", "params", "--strategy", "bananas", "--encoding", "adjacency",
               "--trials", "12", "--storage", str(tmp_path / "d.db"), "-q", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["complete"] == 12 and summary["best"]["arch"].startswith("Genotype(")


def test_a_darts_cell_of_two_inputs_exports_with_two_shapes(tmp_path: Path) -> None:
    from nasir.spaces.darts import space as darts

    cell = darts.format(darts.sample(0))
    done = run("export", cell, "--space", "darts", "--cell", "--input-shape", "16,32,32;16,32,32", "-o", str(tmp_path / "c.onnx"),
               "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["input_shape"] == [[16, 32, 32], [16, 32, 32]] and (tmp_path / "c.onnx").stat().st_size > 0


def test_a_rerun_with_a_smaller_rerank_top_is_read_back_with_its_k(tmp_path: Path) -> None:
    """The file records --rerank-top: after 3 then 1, readers pick over the search's best cell, as search printed."""
    args = ("search", "--objective", "flops", "--strategy", "random", "--storage", "c.db", "--quiet", "--json", "--trials", "8",
            "--rerank", "tabular")
    wide = json.loads(run(*args, "--rerank-top", "3", cwd=tmp_path).stdout)
    narrow = json.loads(run(*args, "--rerank-top", "1", cwd=tmp_path).stdout)
    assert narrow["best"]["arch"] != wide["best"]["arch"], "seed 0 picks differently over 3 cells and over 1"
    read = json.loads(run("export", "--study", "c.db", "-o", "p.onnx", "--json", cwd=tmp_path).stdout)
    assert read["arch"] == narrow["best"]["arch"] and "over the search's 1 best cells, not all 3" in read["source"]
