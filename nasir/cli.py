"""The ``nasir`` command line: the only place where flags become objects."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nasir.errors import NasirError
from nasir.space import SPACES

__all__ = ["app", "main"]

app = typer.Typer(
    help="Framework-agnostic neural architecture search on one graph IR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spaces_app = typer.Typer(help="Inspect search spaces.", no_args_is_help=True)
app.add_typer(spaces_app, name="spaces")
console = Console() if sys.stdout.isatty() else Console(width=160)  # pipes and CI logs get whole rows
log = logging.getLogger(__name__)

SpaceOpt = Annotated[str, typer.Option("--space", "-s", help="Search space name (see `nasir spaces list`).")]
SeedOpt = Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


def _load_spaces() -> None:
    """Imports the built-in spaces so they register themselves."""
    import nasir.spaces.nb101  # noqa: F401
    import nasir.spaces.nb201  # noqa: F401


def _space(name: str):
    _load_spaces()
    return SPACES.get(name)


@spaces_app.command("list")
def spaces_list(as_json: JsonOpt = False) -> None:
    """List the registered search spaces and their sizes.

    Example: nasir spaces list
    """
    _load_spaces()
    rows = [{"name": n, "size": SPACES.get(n).size(), "encodings": list(SPACES.get(n).encodings)} for n in SPACES]
    if as_json:
        typer.echo(json.dumps(rows))
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
    cell = sp.parse(arch)
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
    from nasir.spaces.nb201 import space as nb201
    from nasir.spaces.nb201_bench import NB201Benchmark

    bench = NB201Benchmark.default()
    table = Table("index", "params (M)", "C10 test", "C100 test", "IN16 test", title="NAS-Bench-201 samples")
    table.add_column("architecture", no_wrap=True)
    for k in range(n):
        cell = nb201.sample(seed * 1_000_003 + k)
        index = nb201.index(cell)
        accs = [f"{bench.query(index, ds, 'test_acc'):.2f}" for ds in ("cifar10", "cifar100", "imagenet16")]
        table.add_row(str(index), f"{bench.query(index, 'cifar10', 'params'):.3f}", *accs, nb201.format(cell))
    console.print(table)


@app.command()
def search(
    space: SpaceOpt = "nb201",
    strategy: Annotated[str, typer.Option(help="Search strategy: random, local, rea, bananas.")] = "rea",
    trials: Annotated[int, typer.Option(help="Total trials (queries) the study should hold.")] = 100,
    seed: SeedOpt = 0,
    storage: Annotated[str, typer.Option(help="SQLite file the study is committed to, trial by trial.")] = "nasir-study.db",
    name: Annotated[str, typer.Option(help="Study name inside the storage file.")] = "default",
    resume: Annotated[bool, typer.Option("--resume/--fresh", help="Continue a stored study, or start over.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Search NAS-Bench-201 on the shipped ground truth (validation accuracy; test accuracy reported).

    Example: nasir search --strategy rea --trials 150 --seed 0 --storage study.db
    """
    from pathlib import Path

    from nasir.objectives import TabularObjective
    from nasir.spaces.nb201_bench import NB201Benchmark
    from nasir.strategies import make_strategy
    from nasir.study import Study

    sp = _space(space)
    if sp.name != "nb201":
        raise typer.BadParameter(f"tabular search needs ground truth; only nb201 ships it (got {space!r})", param_hint="--space")
    if not resume:
        Path(storage).unlink(missing_ok=True)
    study = Study.open(storage, sp, make_strategy(strategy, sp), TabularObjective(NB201Benchmark.default()), seed=seed, name=name)
    with _progress(trials, len(study), quiet=as_json) as advance:
        while len(study) < trials:
            study.step()
            advance()
    summary = study.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    best = summary["best"]
    console.print(f"[bold]best of {summary['trials']} trials[/bold] (trial {best['number']}): {best['arch']}")
    for metric, value in best["metrics"].items():
        console.print(f"  {metric:>24s}  {value:.2f}")
    console.print(f"study stored in {storage} ({summary['duplicates']} re-proposals looked up, {summary['failed']} failed)")


def _progress(total: int, done: int, *, quiet: bool):
    """A rich progress bar with ETA; a no-op when quiet."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextmanager
    def bar():
        if quiet:
            yield lambda: None
            return
        with Progress(TextColumn("search"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("search", total=total, completed=done)
            yield lambda: progress.advance(task)

    return bar()


def main() -> None:
    """Entry point: runs the app and turns nasir errors into one readable line and exit code 2."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app(standalone_mode=False)
    except NasirError as err:
        if debug:
            raise
        Console(stderr=True).print(f"[red]error:[/red] {err}")
        raise SystemExit(2) from None
    except typer.Exit as exit_:
        raise SystemExit(exit_.exit_code) from None
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        if hasattr(err, "show"):
            err.show()
            raise SystemExit(getattr(err, "exit_code", 2)) from None
        raise
