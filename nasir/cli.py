"""The ``nasir`` command line: the only place where flags become objects.

Exit codes: 0 done; 2 bad input (unknown name, unreadable file, a study of another search, a bad
architecture, a missing extra), printed as one ``error:`` line; 1 an internal error, also one line
(``--debug`` anywhere on the command line shows the traceback). Results go to stdout (a table,
or JSON with ``--json``); progress bars and notes go to stderr (none with ``--quiet``). torch,
onnx, onnxruntime and matplotlib are imported only by the commands that use them.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from nasir.errors import ArchStringError, InvalidArchError, MissingDependencyError, NasirError
from nasir.ir import Arch
from nasir.space import SPACES, SearchSpace

__all__ = ["app", "main", "SearchObjective"]

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
SeedOpt = Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes on stderr.")]
ProxyOpt = Annotated[str, typer.Option("--proxy", "-p", help="Comma-separated zero-cost proxies (see nasir.proxies.PROXIES).")]
ThreadsOpt = Annotated[int, typer.Option(min=1, help="torch threads per evaluating process (no more than free cores).")]
NameOpt = Annotated[str, typer.Option(help="Study name inside the storage file.")]
StudyOpt = Annotated[Optional[Path], typer.Option("--study", help="Take the best trial of this study file instead of ARCH.")]
ArchArg = Annotated[Optional[str], typer.Argument(help="Architecture: the space's string, IR JSON, or an NB201 index.",
                                                  show_default=False)]
DEFAULT_STORAGE = "nasir-study.db"
TRUTH_ACC = "cifar10/test_acc"


# ---------------------------------------------------------------------- helpers
def _space(name: str) -> SearchSpace:
    """A registered space (importing the built-in ones registers them)."""
    import nasir.spaces.nb101  # noqa: F401
    import nasir.spaces.nb201  # noqa: F401

    return SPACES.get(name)


def _need(module: str, extra: str, what: str) -> Any:
    """Imports an optional dependency, or fails with one line naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"{what} needs {module}: pip install 'nasir[{extra}]'") from None


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


def _read_archs(space: SearchSpace, archs: Sequence[str], file: Path | None) -> list[Arch]:
    """Architectures given on the command line, then one per line of ``file`` (``#`` lines are comments)."""
    out = [parse_arch(space, a) for a in archs]
    if file is not None:
        try:
            lines = file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise typer.BadParameter(f"cannot read {str(file)!r}: {err}", param_hint="--file") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    out.append(parse_arch(space, line))
                except NasirError as err:
                    raise ArchStringError(f"line {number} of {str(file)!r}: {err}") from None
    if not out:
        raise typer.BadParameter("give at least one architecture (ARCH or --file)")
    return out


def storage_path(url: str) -> Path:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` (SQLAlchemy's spelling) or a plain path."""
    if "://" not in url:
        return Path(url)
    scheme, _, rest = url.partition("://")
    if scheme != "sqlite" or not rest.startswith("/") or rest == "/":
        raise typer.BadParameter(f"{url!r}: studies are stored in SQLite; use a path or sqlite:///file.db", param_hint="--storage")
    return Path(rest[1:])


def _best_of_study(path: Path, name: str | None, space_name: str | None) -> tuple[SearchSpace, Arch, str]:
    """The space, best architecture and a label of a stored study, checking ``--space`` against it."""
    from nasir.report import load_study
    from nasir.study import StudyMismatchError

    record = load_study(path, name)
    if space_name is not None and space_name != record.space:
        raise StudyMismatchError(f"study {record.name!r} in {str(path)!r} searched space {record.space!r}, not {space_name!r}")
    best = record.best()
    if best is None:
        raise StudyMismatchError(f"study {record.name!r} in {str(path)!r} has no completed trial yet")
    return _space(record.space), best.arch, f"best of study {record.name!r} (trial {best.number})"


def _target(arch: str | None, study: Path | None, name: str | None, space_name: str | None) -> tuple[SearchSpace, Arch, str]:
    """What ``export``/``latency`` work on: ARCH, or the best trial of ``--study``; exactly one."""
    if (arch is None) == (study is None):
        raise typer.BadParameter("give exactly one of ARCH and --study STUDY.db")
    if study is not None:
        return _best_of_study(study, name, space_name)
    space = _space(space_name or "nb201")
    cell = parse_arch(space, arch)
    return space, cell, space.format(cell)


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


# ---------------------------------------------------------------------- proxies and objectives
def check_proxies(names: Sequence[str]) -> None:
    """Fails before any work on a proxy name that is unknown or has no PyTorch implementation."""
    from nasir.proxies import PROXIES

    for name in names:
        PROXIES.get(name)  # unknown names raise with close matches
    _need("torch", "torch", "scoring zero-cost proxies")
    from nasir.frontends.torch.proxies import UNSUPPORTED

    for name in names:
        if name in UNSUPPORTED:
            raise typer.BadParameter(f"proxy {name!r} has no PyTorch implementation: {UNSUPPORTED[name]}")


class ProxyScorer:
    """Scores networks with zero-cost proxies on the shipped CIFAR-10 sample (one seeded batch per size)."""

    def __init__(self, names: Sequence[str], seed: int = 0, threads: int = 1) -> None:
        check_proxies(names)
        torch = _need("torch", "torch", "scoring zero-cost proxies")
        torch.set_num_threads(threads)  # more threads than free cores makes torch spin and run many times slower
        from nasir.data import load_sample

        self.names, self.seed, self.data = list(names), seed, load_sample()

    def __call__(self, network: Any) -> dict[str, float]:
        """``{proxy: score}``, higher is better; a degenerate network scores -inf (no warning printed)."""
        from nasir.frontends.torch import lower
        from nasir.frontends.torch.proxies import ProxyWarning, score_network
        from nasir.proxies import PROXIES

        specs = [PROXIES.get(n) for n in self.names]
        # score_network takes a set whose needs all lie within {"network"} for IR-only and skips lowering, which
        # breaks a proxy declaring no needs at all (meco, scored alone); a lowered module takes the full path
        misrouted = all(s.needs <= {"network"} for s in specs) and any(not s.needs for s in specs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)
            return score_network(lower(network, seed=self.seed) if misrouted else network, self.names, self.data,
                                 seed=self.seed, catch=True)


class SearchObjective:
    """What ``nasir search --objective`` measures: proxies, IR costs, CPU latency and NB201 ground truth.

    Terms: ``tabular`` (NB201 validation accuracy, test accuracy reported), a proxy name
    (``proxy/<name>``, maximised), ``params`` / ``flops`` (``params_m`` / ``flops_m`` from the IR,
    minimised), ``latency`` (``latency_ms`` on onnxruntime CPU, one thread, minimised). The first
    term is optimised; the others, and the ground truth when ``truth`` is set, are recorded for
    reports and Pareto fronts. Picklable for the process-pool executor: only settings travel,
    the benchmark, data and frameworks are loaded in the worker on first use.
    """

    def __init__(self, space: str, terms: Sequence[str], *, seed: int = 0, truth: bool = True, threads: int = 1) -> None:
        self.space_name, self.terms, self.seed, self.threads = space, list(terms), seed, threads
        self.truth = truth or "tabular" in self.terms
        proxies = [t for t in self.terms if t not in ("tabular", "params", "flops", "latency")]
        if len(set(self.terms)) != len(self.terms):
            raise typer.BadParameter(f"objective terms repeat: {','.join(self.terms)}", param_hint="--objective")
        if self.truth and space != "nb201":
            raise typer.BadParameter(f"ground truth ships for nb201 only, not {space!r}; use a proxy, params, flops or latency",
                                     param_hint="--objective")
        from nasir.proxies import PROXIES

        unknown = [t for t in proxies if t not in PROXIES]
        if unknown:
            raise typer.BadParameter(f"unknown term {unknown[0]!r}: use tabular, params, flops, latency or a proxy "
                                     f"({', '.join(PROXIES)})", param_hint="--objective")
        self.proxies = proxies
        self.directions = self._directions()
        self.primary = next(iter(self._metrics(self.terms[0])))
        self.name = f"cli:{','.join(self.terms)}" + (":truth" if self.truth and "tabular" not in self.terms else "")
        self._state: dict[str, Any] = {}

    @staticmethod
    def _metrics(term: str) -> dict[str, str]:
        fixed = {"tabular": {"cifar10-valid/valid_acc": "maximize", TRUTH_ACC: "maximize"}, "params": {"params_m": "minimize"},
                 "flops": {"flops_m": "minimize"}, "latency": {"latency_ms": "minimize"}}
        return fixed.get(term, {f"proxy/{term}": "maximize"})

    def _directions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for term in self.terms + (["tabular"] if self.truth else []):
            out.update(self._metrics(term))
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_state": {}}

    def _load(self) -> dict[str, Any]:
        """The expensive parts, built on first use in whichever process evaluates."""
        if not self._state:
            self._state["space"] = _space(self.space_name)
            if self.truth:
                from nasir.objectives import TabularObjective
                from nasir.spaces.nb201_bench import NB201Benchmark

                self._state["truth"] = TabularObjective(NB201Benchmark.default(), self._state["space"])
            if self.proxies:
                self._state["proxies"] = ProxyScorer(self.proxies, self.seed, self.threads)
            if "latency" in self.terms:
                self._state["measure"] = _need("nasir.backends.onnx", "onnx", "measuring latency").measure
        return self._state

    def evaluate(self, arch: Arch) -> dict[str, float]:
        state = self._load()
        network = state["space"].network(arch)
        metrics = state["truth"].evaluate(arch) if self.truth else {}
        if self.proxies:
            metrics.update({f"proxy/{k}": v for k, v in state["proxies"](network).items()})
        if "params" in self.terms:
            metrics["params_m"] = network.count_params() / 1e6
        if "flops" in self.terms:
            metrics["flops_m"] = network.count_flops() / 1e6
        if "latency" in self.terms:
            metrics["latency_ms"] = state["measure"](network, threads=1, warmup=3, repeats=10, runs=1).median_ms
        return metrics


# ---------------------------------------------------------------------- spaces and demo
@spaces_app.command("list")
def spaces_list(as_json: JsonOpt = False) -> None:
    """List the registered search spaces and their sizes.

    Example: nasir spaces list
    """
    _space("nb201")
    rows = [{"name": n, "size": SPACES.get(n).size(), "encodings": list(SPACES.get(n).encodings)} for n in SPACES]
    if as_json:
        _echo_json(rows)
        return
    table = Table("space", "architectures", "encodings")
    for row in rows:
        table.add_row(row["name"], f"{row['size']:,}", ", ".join(row["encodings"]))
    console.print(table)


@spaces_app.command("sample")
def spaces_sample(space: SpaceOpt = "nb201", n: Annotated[int, typer.Option("-n", help="How many.")] = 5, seed: SeedOpt = 0) -> None:
    """Print random architectures of a space in its own string format.

    Example: nasir spaces sample --space nb201 -n 3 --seed 1
    """
    sp = _space(space)
    for k in range(n):
        typer.echo(sp.format(sp.sample(seed * 1_000_003 + k)))


@spaces_app.command("show")
def spaces_show(arch: Annotated[str, typer.Argument(help="Architecture string of the space.")], space: SpaceOpt = "nb201") -> None:
    """Show an architecture: canonical hash, params and FLOPs of its network, and its IR as JSON.

    Example: nasir spaces show '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    """
    sp = _space(space)
    cell = parse_arch(sp, arch)
    network = sp.network(cell)
    typer.echo(json.dumps({
        "arch": sp.format(cell),
        "hash": cell.canonical_hash(),
        "params": network.count_params(),
        "flops_macs": network.count_flops(),
        "ir": cell.to_dict(),
    }, indent=2))


@spaces_app.command("count")
def spaces_count(space: SpaceOpt = "nb201") -> None:
    """Print the number of architectures in a space.

    Example: nasir spaces count --space nb101
    """
    typer.echo(_space(space).size())


@app.command()
def demo(n: Annotated[int, typer.Option("-n", help="How many architectures.")] = 10, seed: SeedOpt = 0) -> None:
    """Sample NAS-Bench-201 cells and print them with their ground-truth accuracies.

    Example: nasir demo -n 5 --seed 0
    """
    from nasir.spaces.nb201_bench import NB201Benchmark

    nb201 = _space("nb201")
    bench = NB201Benchmark.default()
    table = Table("index", "params (M)", "C10 test", "C100 test", "IN16 test", title="NAS-Bench-201 samples")
    table.add_column("architecture", no_wrap=True)
    for k in range(n):
        cell = nb201.sample(seed * 1_000_003 + k)
        index = nb201.index(cell)
        accs = [f"{bench.query(index, ds, 'test_acc'):.2f}" for ds in ("cifar10", "cifar100", "imagenet16")]
        table.add_row(str(index), f"{bench.query(index, 'cifar10', 'params'):.3f}", *accs, nb201.format(cell))
    console.print(table)


# ---------------------------------------------------------------------- score
@app.command()
def score(
    archs: Annotated[Optional[list[str]], typer.Argument(help="Architectures: space strings, IR JSON or NB201 indices.",
                                                         show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="More architectures, one per line.", exists=True,
                                                 dir_okay=False)] = None,
    space: SpaceOpt = "nb201",
    proxy: ProxyOpt = "naswot,synflow,meco",
    seed: SeedOpt = 0,
    threads: ThreadsOpt = 1,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score architectures with zero-cost proxies (PyTorch, CPU, the shipped CIFAR-10 sample); higher is better.

    NB201 rows also show the ground-truth CIFAR-10 test accuracy.

    Example: nasir score --space nb201 --proxy naswot,synflow '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    """
    sp = _space(space)
    cells = _read_archs(sp, archs or [], file)
    scorer = ProxyScorer(_names(proxy, "--proxy"), seed, threads)
    bench = _nb201_bench() if sp.name == "nb201" else None
    rows = []
    with _progress(len(cells), "scoring", quiet or len(cells) < 3) as advance:
        for cell in cells:
            row = {"arch": sp.format(cell), "scores": scorer(sp.network(cell))}
            if bench is not None:
                row[TRUTH_ACC] = bench.query(cell, "cifar10", "test_acc")
            rows.append(row)
            advance(1)
    if as_json:
        _echo_json(rows)
        return
    table = Table(*scorer.names, *([TRUTH_ACC] if bench else []), title=f"zero-cost proxies (seed {seed})")
    table.add_column("architecture", no_wrap=True)
    for row in rows:
        table.add_row(*(_fmt(v) for v in row["scores"].values()), *([f"{row[TRUTH_ACC]:.2f}"] if bench else []), row["arch"])
    console.print(table)


def _nb201_bench() -> Any:
    from nasir.spaces.nb201_bench import NB201Benchmark

    return NB201Benchmark.default()


# ---------------------------------------------------------------------- search
def _objective(space: str, terms: list[str], seed: int, truth: bool, threads: int) -> Any:
    """The plain tabular objective for ``tabular`` alone (studies stored by earlier versions resume), else a SearchObjective."""
    if terms == ["tabular"]:
        if space != "nb201":
            raise typer.BadParameter(f"the tabular objective needs ground truth; only nb201 ships it (got {space!r}); "
                                     "use a proxy, params, flops or latency", param_hint="--objective")
        from nasir.objectives import TabularObjective

        return TabularObjective(_nb201_bench(), _space(space))
    objective = SearchObjective(space, terms, seed=seed, truth=truth and space == "nb201", threads=threads)
    if objective.proxies:
        check_proxies(objective.proxies)
    if "latency" in terms:
        _need("nasir.backends.onnx", "onnx", "the latency objective")
    return objective


def _executor(kind: str, workers: int) -> Any:
    from nasir.executors import InProcessExecutor, ProcessPoolExecutor

    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "process":
        return ProcessPoolExecutor(max_workers=workers)
    raise typer.BadParameter(f"unknown executor {kind!r}; use inprocess or process", param_hint="--executor")


def _run_study(study: Any, trials: int, seconds: float | None, quiet: bool) -> None:
    """Runs the study to ``trials`` trials (or until ``seconds`` pass), a batch at a time, with a progress bar."""
    deadline = None if seconds is None else time.perf_counter() + seconds
    with _progress(trials, "search", quiet, done=min(len(study), trials)) as advance:
        while len(study) < trials:
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                break
            before = len(study)
            study.optimize(budget_evals=min(trials, before + study.batch_size), budget_seconds=left)
            if len(study) == before:
                break
            advance(len(study) - before)


def _export_network(network: Any, out: Path, seed: int) -> dict[str, Any]:
    """Writes the network as ONNX (random weights from ``seed``) after checking the model."""
    backend = _need("nasir.backends.onnx", "onnx", "ONNX export")
    onnx = _need("onnx", "onnx", "ONNX export")
    model = backend.export(network, seed=seed)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return {"path": str(out), "bytes": out.stat().st_size, "params": network.count_params(), "opset": model.opset_import[0].version,
            "weights": f"random (seed {seed}): train, then export with nasir.frontends.torch.export_weights"}


def _measure(obj: Any, *, threads: int, batch: int, warmup: int, repeats: int, runs: int) -> dict[str, Any]:
    backend = _need("nasir.backends.onnx", "onnx", "measuring latency")
    _need("onnxruntime", "onnx", "measuring latency")
    result = backend.measure(obj, threads=threads, batch=batch, warmup=warmup, repeats=repeats, runs=runs)
    return {"median_ms": result.median_ms, "p90_ms": result.p90_ms, "cv": result.cv, "min_ms": result.min_ms, "batch": batch,
            "threads": threads, "runs": runs, "repeats": repeats, "cpu": result.fingerprint["cpu"],
            "onnxruntime": result.fingerprint["onnxruntime"]}


def _latency_line(lat: dict[str, Any]) -> str:
    return (f"median {lat['median_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms, CV {100 * lat['cv']:.1f}% "
            f"(batch {lat['batch']}, {lat['threads']} thread(s), {lat['runs']}x{lat['repeats']} calls, {lat['cpu']})")


@app.command()
def search(
    space: SpaceOpt = "nb201",
    objective: Annotated[str, typer.Option("--objective", "-o", help=(
        "Comma-separated terms, the first optimised, the rest recorded: tabular (NB201 ground truth), a proxy name "
        "(naswot, synflow, meco, ...), params, flops, latency."))] = "tabular",
    strategy: Annotated[str, typer.Option(help="Search strategy: random, local, rea, bananas.")] = "rea",
    trials: Annotated[int, typer.Option(min=1, help="Total trials (queries) the study should hold.")] = 100,
    seconds: Annotated[Optional[float], typer.Option("--time", min=0.001, help="Stop after this many seconds.")] = None,
    seed: SeedOpt = 0,
    storage: Annotated[str, typer.Option(help="Study file: a path or sqlite:///file.db; every trial is committed.")] = DEFAULT_STORAGE,
    name: NameOpt = "default",
    resume: Annotated[bool, typer.Option("--resume/--fresh", help="Continue a stored study, or delete it and start over.")] = True,
    executor: Annotated[str, typer.Option(help="Where evaluations run: inprocess or process (a local worker pool).")] = "inprocess",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of --executor process.")] = 2,
    threads: ThreadsOpt = 1,
    truth: Annotated[bool, typer.Option("--truth/--no-truth", help="Record NB201 ground-truth accuracy with every trial.")] = True,
    export: Annotated[Optional[Path], typer.Option(help="Write the best network as ONNX to this file.")] = None,
    latency: Annotated[bool, typer.Option("--latency", help="Measure the best network on onnxruntime (CPU, 1 thread).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the HTML report of the study to this file.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Search a space, training-free: NB201 ground truth, zero-cost proxies, IR costs or measured latency.

    Every trial is committed to --storage; running the same command again resumes.

    The best architecture can be exported to ONNX, timed on this CPU and written into an HTML report.

    Example: nasir search --objective meco --trials 300 --export best.onnx --latency --report report.html
    """
    from nasir.report.study import is_study_file
    from nasir.strategies import make_strategy
    from nasir.study import Study

    sp = _space(space)
    path = storage_path(storage)
    terms = _names(objective, "--objective")
    pool = _executor(executor, workers)
    obj = _objective(sp.name, terms, seed, truth, threads)
    if not resume and is_study_file(path):  # never delete a file that is not a study
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    study = Study.open(path, sp, make_strategy(strategy, sp), obj, seed=seed, name=name, executor=pool)
    try:
        _run_study(study, trials, seconds, quiet)
        summary = {**study.summary(), "storage": str(path), "objective": obj.name, "primary": obj.primary}
        best = study.best_trial()
    finally:
        pool.close()
        study.storage.close()
    if best is not None and TRUTH_ACC in best.metrics:
        column = _nb201_bench().column("cifar10", "test_acc")
        summary["best_rank"] = {"metric": TRUTH_ACC, "rank": int((column > best.metrics[TRUTH_ACC]).sum()) + 1, "of": len(column)}
    if best is not None and export is not None:
        summary["export"] = _export_network(sp.network(best.arch), export, seed)
    if best is not None and latency:
        with notes.status("measuring the best network's latency", spinner="dots") if not quiet else nullcontext():
            summary["latency"] = _measure(sp.network(best.arch), threads=1, batch=1, warmup=10, repeats=50, runs=3)
    if report is not None:
        from nasir.report import write_report

        summary["report"] = str(write_report(path, report, name=name))
    if as_json:
        _echo_json(summary)
        return
    _print_search(summary)


def _print_search(summary: dict[str, Any]) -> None:
    best = summary["best"]
    if best is None:
        console.print(f"no completed trial in {summary['storage']} ({summary['failed']} failed)")
        return
    console.print(f"[bold]best of {summary['trials']} trials[/bold] (trial {best['number']}): {best['arch']}")
    ordered = sorted(best["metrics"].items(), key=lambda kv: kv[0] != summary["primary"])
    rank = summary.get("best_rank", {})
    for metric, value in ordered:
        note = "  (optimised)" if metric == summary["primary"] else ""
        if metric == rank.get("metric"):
            note = f"  (rank {rank['rank']:,} of {rank['of']:,} in the space)"
        console.print(f"  {metric:>24s}  {_fmt(value)}{note}")
    if "export" in summary:
        ex = summary["export"]
        console.print(f"exported to {ex['path']} ({ex['params'] / 1e6:.3f} M params, {ex['bytes'] / 1e6:.1f} MB, opset {ex['opset']}, "
                      "random weights)")
    if "latency" in summary:
        console.print("latency on onnxruntime CPU: " + _latency_line(summary["latency"]))
    if "report" in summary:
        console.print(f"report written to {summary['report']}")
    console.print(f"study stored in {summary['storage']} ({summary['duplicates']} re-proposals looked up, {summary['failed']} failed)")


# ---------------------------------------------------------------------- export and latency
@app.command("export")
def export_cmd(
    arch: ArchArg = None,
    study: StudyOpt = None,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the file's only study).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="ONNX file to write.")] = Path("model.onnx"),
    space: StudySpaceOpt = None,
    cell: Annotated[bool, typer.Option("--cell", help="Export the bare cell instead of the whole network.")] = False,
    input_shape: Annotated[str, typer.Option(help="Per-sample input shape C,H,W of a bare --cell.")] = "16,32,32",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Export an architecture (or a study's best) to ONNX, built straight from the IR (random weights).

    Example: nasir export --study nasir-study.db -o best.onnx
    """
    backend = _need("nasir.backends.onnx", "onnx", "ONNX export")
    sp, arch_, label = _target(arch, study, name, space)
    if cell:
        try:
            shape = tuple(int(v) for v in input_shape.split(","))
        except ValueError:
            raise typer.BadParameter(f"{input_shape!r} is not C,H,W (three integers)", param_hint="--input-shape") from None
        model = backend.export(arch_, input_shapes=shape, seed=seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        _need("onnx", "onnx", "ONNX export").save(model, str(out))
        info = {"path": str(out), "bytes": out.stat().st_size, "input_shape": list(shape)}
    else:
        info = _export_network(sp.network(arch_), out, seed)
    info["arch"] = label if study is not None else sp.format(arch_)
    if as_json:
        _echo_json(info)
        return
    console.print(f"wrote {out} ({info['bytes'] / 1e6:.2f} MB{', bare cell' if cell else ''}, random weights seed {seed}): {info['arch']}")


HW_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")


@app.command()
def latency(
    arch: ArchArg = None,
    study: StudyOpt = None,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the file's only study).")] = None,
    space: StudySpaceOpt = None,
    threads: Annotated[int, typer.Option(min=1, help="onnxruntime intra-op threads.")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Batch size.")] = 1,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed calls per session.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed calls per session.")] = 50,
    runs: Annotated[int, typer.Option(min=1, help="Independent sessions.")] = 3,
    predict: Annotated[Optional[str], typer.Option(help=(
        "Predict instead of measuring: an HW-NAS-Bench device (edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga; NB201) "
        "or a LatencyTable JSON file."))] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure an architecture's latency on onnxruntime CPU (median, p90, CV), or predict it.

    Example: nasir latency --threads 1 --batch 1 '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    """
    sp, cell, label = _target(arch, study, name, space)
    network = sp.network(cell)
    if predict is not None:
        result = {"arch": label, **_predict(sp, cell, network, predict)}
        line = f"predicted {result['predicted_ms']:.3f} ms on {result['device']}: {label}"
    else:
        with notes.status("measuring", spinner="dots") if not quiet else nullcontext():
            result = {"arch": label, **_measure(network, threads=threads, batch=batch, warmup=warmup, repeats=repeats, runs=runs)}
        line = f"{_latency_line(result)}: {label}"
    if as_json:
        _echo_json(result)
    else:
        console.print(line, soft_wrap=True)


def _predict(space: SearchSpace, cell: Arch, network: Any, how: str) -> dict[str, Any]:
    """A latency lookup: HW-NAS-Bench's measurement on a device (NB201), or an op-level LatencyTable."""
    if how in HW_DEVICES:
        if space.name != "nb201":
            raise typer.BadParameter(f"HW-NAS-Bench latencies exist for nb201 cells only, not {space.name!r}", param_hint="--predict")
        return {"predicted_ms": _nb201_bench().query(cell, "cifar10", f"{how}_latency"), "device": f"{how} (HW-NAS-Bench, CIFAR-10)"}
    path = Path(how)
    if not path.is_file():
        raise typer.BadParameter(f"{how!r} is neither an HW-NAS-Bench device ({', '.join(HW_DEVICES)}) nor a LatencyTable file",
                                 param_hint="--predict")
    _need("onnx", "onnx", "latency prediction")
    from nasir.backends.latency import LatencyTable

    try:
        table = LatencyTable.load(path)
    except (ValueError, KeyError, TypeError) as err:
        raise typer.BadParameter(f"{how!r} is not a LatencyTable JSON file ({type(err).__name__}: {err})", param_hint="--predict") from None
    return {"predicted_ms": float(table.build([network]).predict(network)), "device": f"{table.device_.get('cpu')} (table {how})"}


# ---------------------------------------------------------------------- bench
def benchmark_sample(n: int) -> list[int]:
    """NB201 indices of the standard proxy sample: the first ``n`` of ``default_rng(0).choice(15625, 1000)``."""
    import numpy as np

    if n >= 15625:
        return list(range(15625))
    return [int(i) for i in np.random.default_rng(0).choice(15625, max(n, 1000), replace=False)[:n]]


@bench_app.command("proxies")
def bench_proxies(
    proxy: ProxyOpt = "naswot,synflow,meco",
    sample: Annotated[int, typer.Option(min=3, help="How many NB201 cells (the benchmarks' standard sample).")] = 100,
    truth: Annotated[str, typer.Option(help="Ground truth dataset/metric, e.g. cifar100/test_acc.")] = "cifar10-valid/test_acc",
    seed: SeedOpt = 0,
    threads: ThreadsOpt = 1,
    plot: Annotated[Optional[Path], typer.Option(help="One proxy-vs-accuracy scatter per proxy, named PLOT with _PROXY added.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Rank correlation of zero-cost proxies with NAS-Bench-201 ground truth (Spearman, Kendall, ms/arch).

    Example: nasir bench proxies --proxy naswot,synflow,meco --sample 100 --plot proxies.png
    """
    import numpy as np

    from nasir.proxy_math import kendall, spearman

    dataset, _, metric = truth.partition("/")
    bench = _nb201_bench()
    nb201 = _space("nb201")
    indices = benchmark_sample(sample)
    truth_values = bench.query_many(indices, dataset, metric)
    scorer = ProxyScorer(_names(proxy, "--proxy"), seed, threads)
    start = time.perf_counter()
    per_cell = []
    with _progress(len(indices), "scoring", quiet) as advance:
        for index in indices:
            per_cell.append(scorer(nb201.network(nb201.from_index(index))))
            advance(1)
    ms = 1000 * (time.perf_counter() - start) / len(indices)
    scores = {p: np.array([cell[p] for cell in per_cell]) for p in scorer.names}
    rows = [{"proxy": p, "spearman": spearman(v, truth_values), "kendall": kendall(v, truth_values),
             "degenerate": int(np.sum(~np.isfinite(v)))} for p, v in scores.items()]
    if plot is not None:
        from nasir.report import proxy_scatter

        for row in rows:
            target = plot.with_name(f"{plot.stem}_{row['proxy']}{plot.suffix or '.png'}")
            proxy_scatter(scores[row["proxy"]], truth_values, proxy_name=row["proxy"], truth_name=truth, path=target)
            row["plot"] = str(target)
    result = {"truth": truth, "sample": len(indices), "seed": seed, "ms_per_arch_all_proxies": ms, "proxies": rows}
    if as_json:
        _echo_json(result)
        return
    table = Table("proxy", "Spearman ρ", "Kendall τ", "degenerate", title=f"{len(indices)} NB201 cells vs {truth} "
                  f"({ms:.0f} ms per cell for all proxies)")
    for row in rows:
        table.add_row(row["proxy"], f"{row['spearman']:+.3f}", f"{row['kendall']:+.3f}", str(row["degenerate"]))
    console.print(table)


def _search_runs(names: list[str], trials: int, seeds: int, objective: Any, quiet: bool) -> tuple[dict, dict]:
    """Per strategy: the per-trial primary metric of every seed's run, and the test accuracy each run picks."""
    import tempfile

    from nasir.strategies import make_strategy
    from nasir.study import Study

    nb201 = _space("nb201")
    curves: dict[str, list[list[float]]] = {s: [] for s in names}
    picks: dict[str, list[float]] = {s: [] for s in names}
    with tempfile.TemporaryDirectory() as tmp, _progress(len(names) * seeds, "runs", quiet) as advance:
        for s in names:
            for seed in range(seeds):
                study = Study.open(Path(tmp) / f"{s}-{seed}.db", nb201, make_strategy(s, nb201), objective, seed=seed)
                best = study.optimize(budget_evals=trials)
                curves[s].append([math.nan if (v := t.value(objective.primary)) is None else v for t in study.trials])
                picks[s].append(best.metrics[TRUTH_ACC] if best is not None else math.nan)
                study.storage.close()
                advance(1)
    return curves, picks


@bench_app.command("search")
def bench_search(
    strategy: Annotated[str, typer.Option(help="Comma-separated strategies: random, local, rea, bananas.")] = "random,rea",
    trials: Annotated[int, typer.Option(min=1, help="Trials per run.")] = 100,
    seeds: Annotated[int, typer.Option(min=1, help="Runs per strategy (seeds 0..N-1).")] = 5,
    plot: Annotated[Optional[Path], typer.Option(help="Write the best-so-far curves (mean and range over seeds) here.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare search strategies on the NB201 ground truth (validation accuracy; test accuracy of the pick).

    Example: nasir bench search --strategy random,rea,local --trials 150 --seeds 10 --plot curves.png
    """
    import numpy as np

    from nasir.objectives import TabularObjective
    from nasir.strategies import make_strategy

    nb201 = _space("nb201")
    names = _names(strategy, "--strategy")
    for s in names:
        make_strategy(s, nb201)  # unknown names fail before any run
    bench = _nb201_bench()
    objective = TabularObjective(bench, nb201)
    curves, picks = _search_runs(names, trials, seeds, objective, quiet)
    oracle = float(np.nanmax(bench.column("cifar10", "test_acc")))
    rows = [{"strategy": s, "valid_acc_mean": float(np.nanmean([np.nanmax(c) for c in curves[s]])),
             "test_acc_mean": float(np.nanmean(picks[s])), "test_acc_std": float(np.nanstd(picks[s])),
             "regret_mean": oracle - float(np.nanmean(picks[s]))} for s in names]
    result = {"trials": trials, "seeds": seeds, "best_test_acc_in_space": oracle, "strategies": rows}
    if plot is not None:
        from nasir.report import search_curve

        search_curve(curves, metric=objective.primary, path=plot, title=f"NB201 CIFAR-10: best so far over {seeds} seed(s)")
        result["plot"] = str(plot)
    if as_json:
        _echo_json(result)
        return
    table = Table("strategy", "valid acc (best)", "test acc of pick", "± std", "regret", title=f"{trials} trials x {seeds} seeds, "
                  f"best test accuracy in the space {oracle:.2f}")
    for row in rows:
        table.add_row(row["strategy"], f"{row['valid_acc_mean']:.2f}", f"{row['test_acc_mean']:.2f}", f"{row['test_acc_std']:.2f}",
                      f"{row['regret_mean']:.2f}")
    console.print(table)


# ---------------------------------------------------------------------- report
@app.command("report")
def report_cmd(
    study: Annotated[Path, typer.Argument(help="Study file (SQLite) written by nasir search or the Python API.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the file's only study).")] = None,
    pareto: Annotated[Optional[str], typer.Option(help="Two metrics X,Y for the Pareto plot (default: a cost and the accuracy).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Write one self-contained HTML page: best cell, search curve, proxy-vs-accuracy, Pareto front, trials.

    Example: nasir report nasir-study.db -o report.html
    """
    from nasir.report import write_report

    axes = _names(pareto, "--pareto") if pareto else None
    if axes is not None and len(axes) != 2:
        raise typer.BadParameter(f"give two metrics X,Y, got {pareto!r}", param_hint="--pareto")
    with notes.status("drawing the report", spinner="dots") if not quiet else nullcontext():
        written = write_report(study, out, name=name, pareto=tuple(axes) if axes else None)
    _note(quiet, f"report written to {written} ({written.stat().st_size / 1e3:.0f} kB)")


# ---------------------------------------------------------------------- entry point
def main() -> None:
    """Entry point: runs the app; turns every failure into one readable line and an exit code."""
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
    except NasirError as err:
        if debug:
            raise
        _fail("error: ", str(err), 2)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted: ", "a study keeps every finished trial; run the same command to resume", 130)
    except Exception as err:
        if debug:
            raise
        if hasattr(err, "format_message") and hasattr(err, "exit_code"):  # click's usage errors (typer may vendor click)
            if not err.format_message():  # no arguments: the help was printed
                raise SystemExit(err.exit_code) from None
            _fail("error: ", err.format_message(), err.exit_code)
        _fail("internal error: ", f"{type(err).__name__}: {err} (run with --debug for the traceback)", 1)
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(prefix: str, message: str, code: int) -> None:
    """One line on stderr (never wrapped, never read as markup), then exit with ``code``."""
    from rich.text import Text

    Console(stderr=True).print(Text.assemble((prefix, "red"), " ".join(message.split())), soft_wrap=True)
    raise SystemExit(code) from None
