"""The app, its option types and the helpers every command shares (parsing, progress, output)."""

from __future__ import annotations

import importlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from nasir.errors import ArchStringError, InvalidArchError, MissingDependencyError, NasirError
from nasir.ir import Arch
from nasir.space import SPACES, SearchSpace

app = typer.Typer(
    help="Framework-agnostic neural architecture search on one graph IR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spaces_app = typer.Typer(help="Inspect search spaces.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmark proxies and search strategies on the embedded NAS-Bench-201 ground truth.",
                        no_args_is_help=True)
app.add_typer(spaces_app, name="spaces")
app.add_typer(bench_app, name="bench")
console = Console() if sys.stdout.isatty() else Console(width=160)  # pipes and CI logs get whole rows
notes = Console(stderr=True)

SpaceOpt = Annotated[str, typer.Option("--space", "-s", help="Search space name (see `nasir spaces list`).")]
StudySpaceOpt = Annotated[Optional[str], typer.Option("--space", "-s", help="Search space (default: the study's, else nb201).")]
SeedOpt = Annotated[int, typer.Option(min=0, help="Random seed; the same seed gives the same result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes on stderr.")]
ProxyOpt = Annotated[str, typer.Option("--proxy", "-p", help="Comma-separated zero-cost proxies (see nasir.proxies.PROXIES).")]
ThreadsOpt = Annotated[int, typer.Option(min=1, help="Framework threads per evaluating process (no more than free cores).")]
FrameworkOpt = Annotated[str, typer.Option("--framework", help="Framework that scores proxies: torch or tensorflow.")]
NameOpt = Annotated[str, typer.Option(help="Study name inside the storage file.")]
StudyOpt = Annotated[Optional[Path], typer.Option("--study", help="Take the best trial of this study file instead of ARCH.")]
ArchArg = Annotated[Optional[str], typer.Argument(help="Architecture: the space's string, IR JSON, or an NB201 index.",
                                                  show_default=False)]
DEFAULT_STORAGE = "nasir-study.db"
TRUTH_ACC = "cifar10/test_acc"
NO_RESULT = 3  # exit code of a search that ran but ended with no completed trial (or no cascade pick)



# ---------------------------------------------------------------------- helpers
def _space(name: str) -> SearchSpace:
    """A registered space (importing the built-in ones registers them)."""
    from nasir.spaces import load_builtin

    load_builtin()
    return SPACES.get(name)


def _need(module: str, extra: str, what: str) -> Any:
    """Imports an optional dependency, or fails with one line naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except MissingDependencyError as err:  # a nasir package's own guard, naming what it lacks
        raise MissingDependencyError(f"{what}: {err}") from None
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] == "nasir":
            raise  # a bug inside nasir, not a missing dependency
        raise MissingDependencyError(f"{what} needs {err.name}: pip install 'nasir[{extra}]'") from None


def parse_arch(space: SearchSpace, text: str) -> Arch:
    """An architecture of ``space`` from its string format, IR JSON or (NB201) benchmark index."""
    text = text.strip()
    if text.isdigit() and hasattr(space, "from_index"):
        return space.from_index(int(text))
    if not text.startswith("{"):
        return space.parse(text)
    arch = Arch.from_json(text)
    if space.parse(space.format(arch)).canonical_hash() != arch.canonical_hash():
        raise InvalidArchError(f"the IR JSON is a valid graph but not a {space.name} cell")
    return arch


def _read_archs(space: SearchSpace, archs: Sequence[str], file: Path | None, option: str = "--file") -> list[Arch]:
    """Architectures given on the command line, then one per line of ``file`` (``#`` lines are comments); ``option``
    names the file's option in errors."""
    out = [parse_arch(space, a) for a in archs]
    if file is not None:
        try:
            lines = file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise typer.BadParameter(f"cannot read {str(file)!r}: {err}", param_hint=option) from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    out.append(parse_arch(space, line))
                except NasirError as err:
                    raise ArchStringError(f"line {number} of {str(file)!r}: {err}") from None
    if not out:
        raise typer.BadParameter("give at least one architecture (ARCH or --file)" if option == "--file" else
                                 f"{str(file)!r} holds no architecture", param_hint=option)
    return out


def storage_path(url: str) -> Path:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` (SQLAlchemy's spelling) or a plain path."""
    if "://" not in url:
        return Path(url)
    scheme, _, rest = url.partition("://")
    if scheme != "sqlite" or not rest.startswith("/") or rest == "/":
        raise typer.BadParameter(f"{url!r}: studies are stored in SQLite; use a path or sqlite:///file.db", param_hint="--storage")
    return Path(rest[1:])


def load_study_of_space(path: Path, name: str | None, space_name: str | None) -> Any:
    """The stored study (a ``StudyRecord``), checking ``--space`` against the space it searched."""
    from nasir.report.study import load_study
    from nasir.study import StudyMismatchError

    record = load_study(path, name)
    if space_name is not None and space_name != record.space:
        raise StudyMismatchError(f"study {record.name!r} in {str(path)!r} searched space {record.space!r}, not {space_name!r}")
    return record


def _best_of_study(path: Path, name: str | None, space_name: str | None) -> tuple[SearchSpace, Arch, str]:
    """The space, best architecture and a label of a stored study, checking ``--space`` against it. A search reranked by
    a cascade (without ``name``), or a cascade named, gives the cascade's pick over the search's current best cells: what
    ``nasir search --rerank`` printed and exported."""
    from nasir.report.study import cascade_pick, load_cascades, load_study
    from nasir.study import StudyMismatchError
    from nasir.study.cascade import RERANK

    record = load_study_of_space(path, name, space_name)
    if name is None:
        search, cascades = record, load_cascades(path, record.name)
    else:  # a cascade named explicitly is read as the pick of the search it belongs to
        parent = name.partition(RERANK)[0]
        cascades = [c for c in load_cascades(path, parent) if c.name == name] if parent != name else []
        search = load_study(path, parent) if cascades else record
    if len(cascades) > 1:
        raise StudyMismatchError(f"study {record.name!r} in {str(path)!r} has several cascades "
                                 f"{[c.name for c in cascades]}; name the one to read with --name")
    if cascades:
        record = cascades[0]
        best, over = cascade_pick(search, record)
        held = len({t.arch_hash for t in record.trials})
        what, of = f"cascade pick of study {search.name!r}", f" of {record.name!r}"
        if over < held:  # say which shortlist the pick is of when it is not every cell the cascade evaluated
            of += f", over the search's {over} best cells, not all {held} the cascade evaluated"
    else:
        best, what, of = record.best(), f"best of study {record.name!r}", ""
    if best is None and cascades:
        raise StudyMismatchError(f"cascade {record.name!r} in {str(path)!r} has no completed trial, so no pick; "
                                 f"--name {search.name!r} reads the search's own best")
    if best is None:
        raise StudyMismatchError(f"study {record.name!r} in {str(path)!r} has no completed trial yet")
    return _space(record.space), best.arch, f"{what}, trial {best.number}{of}"


def _target(arch: str | None, study: Path | None, name: str | None, space_name: str | None) -> tuple[SearchSpace, Arch, dict[str, str]]:
    """What ``export``/``latency`` work on: ARCH, or the best trial of ``--study`` (exactly one), with how to show it:
    ``{"arch": the space's string}``, plus ``"source"`` (which study's trial) for a study's."""
    if (arch is None) == (study is None):
        raise typer.BadParameter("give exactly one of ARCH and --study STUDY.db")
    if study is not None:
        space, cell, source = _best_of_study(study, name, space_name)
        return space, cell, {"arch": space.format(cell), "source": source}
    space = _space(space_name or "nb201")
    cell = parse_arch(space, arch)
    return space, cell, {"arch": space.format(cell)}


def _shown(ident: dict[str, str]) -> str:
    """A target for a line of output: the architecture, then the study trial it came from."""
    return f"{ident['arch']} ({ident['source']})" if "source" in ident else ident["arch"]


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise typer.BadParameter("give at least one name", param_hint=option)
    return names


@contextmanager
def _progress(total: int, label: str, quiet: bool, done: int = 0) -> Iterator[Callable[[int], None]]:
    """A progress bar with elapsed time and ETA on stderr, yielding ``advance(n)``; silent when quiet."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=notes, transient=True, disable=quiet) as progress:
        task = progress.add_task(label, total=total, completed=done)
        yield lambda n=1: progress.advance(task, n)


def _echo_json(data: Any) -> None:
    """Strict JSON on stdout: a degenerate (-inf) or missing (NaN) value becomes null."""
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        return [clean(v) for v in x] if isinstance(x, (list, tuple)) else x

    typer.echo(json.dumps(clean(data), allow_nan=False))


def _note(quiet: bool, text: str) -> None:
    if not quiet:
        notes.print(text, markup=False, highlight=False, soft_wrap=True)


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e5 or (value and abs(value) < 1e-2) or not math.isfinite(value) else f"{value:.2f}"



# ---------------------------------------------------------------------- shared by several commands
def _nb201_bench() -> Any:
    from nasir.spaces.nb201_bench import NB201Benchmark

    return NB201Benchmark.default()


def check_output(path: Path, option: str) -> None:
    """Refuses, before any work, an output path that cannot become a file: a folder, or one under a file."""
    if path.is_dir():
        raise typer.BadParameter(f"{str(path)!r} is a folder; give a file name", param_hint=option)
    folder = next(p for p in path.absolute().parents if p.exists())  # the missing folders below it are created
    if not folder.is_dir():
        raise typer.BadParameter(f"cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder", param_hint=option)


@contextmanager
def writing(path: Path, option: str) -> Iterator[None]:
    """Around the write of an output file: creates its missing folders, and makes a failed write (a bad path, a
    read-only disk) bad input rather than an internal error."""
    make_folder(path, option)
    try:
        yield
    except OSError as err:
        raise typer.BadParameter(f"cannot write {str(path)!r}: {err.strerror or err}", param_hint=option) from None


def make_folder(path: Path, option: str) -> None:
    """Checks an output path and creates its missing folders; a path under a file or where no folder can be made
    (no permission, /proc) is bad input."""
    check_output(path, option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise typer.BadParameter(f"cannot write {str(path)!r}: {err.strerror or err}", param_hint=option) from None


def _export_network(network: Any, out: Path, seed: int, option: str = "--out") -> dict[str, Any]:
    """Writes the network as ONNX (random weights from ``seed``) after checking the model."""
    backend = _need("nasir.backends.onnx", "onnx", "ONNX export")
    onnx = _need("onnx", "onnx", "ONNX export")
    model = backend.export(network, seed=seed)
    onnx.checker.check_model(model)
    with writing(out, option):
        onnx.save(model, str(out))
    return {"path": str(out), "bytes": out.stat().st_size, "params": network.count_params(), "opset": model.opset_import[0].version,
            "weights": f"random (seed {seed}): train, then export with nasir.frontends.torch.export_weights"}


def _measure(obj: Any, *, threads: int, batch: int, warmup: int, repeats: int, runs: int, runtime: str = "onnxruntime",
             **options: str) -> dict[str, Any]:
    """Times ``obj`` on a runtime of ``nasir.latency.RUNTIMES`` (options such as ``provider``, ``device``); a summary dict."""
    from nasir.latency import measure

    if runtime == "onnxruntime":
        _need("nasir.backends.onnx", "onnx", "measuring latency")
        _need("onnxruntime", "onnx", "measuring latency")
    result = measure(obj, runtime=runtime, threads=threads, batch=batch, warmup=warmup, repeats=repeats, runs=runs, **options)
    fp = result.fingerprint
    return {"median_ms": result.median_ms, "p90_ms": result.p90_ms, "cv": result.cv, "min_ms": result.min_ms, "batch": batch,
            "threads": threads, "runs": runs, "repeats": repeats, "cpu": fp["cpu"], "runtime": runtime,
            "device": fp.get("gpu") or fp.get("device") or fp.get("provider"), runtime: fp.get(runtime), "fingerprint": fp}


def _latency_line(lat: dict[str, Any]) -> str:
    return (f"median {lat['median_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms, CV {100 * lat['cv']:.1f}% "
            f"(batch {lat['batch']}, {lat['threads']} thread(s), {lat['runs']}x{lat['repeats']} calls, {lat['cpu']})")
