"""``nasir spaces list|sample|show|count`` and ``nasir demo``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from nasir.cli._app import JsonOpt, SeedOpt, SpaceOpt, _echo_json, _space, app, console, parse_arch, spaces_app
from nasir.space import SPACES


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
def spaces_sample(space: SpaceOpt = "nb201", n: Annotated[int, typer.Option("-n", min=1, help="How many.")] = 5, seed: SeedOpt = 0) -> None:
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
def demo(n: Annotated[int, typer.Option("-n", min=1, help="How many architectures.")] = 10, seed: SeedOpt = 0) -> None:
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
