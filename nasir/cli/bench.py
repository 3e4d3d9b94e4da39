"""``nasir bench proxies|search`` on the embedded NB201 ground truth, and ``nasir report``."""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from nasir.cli._app import (
    FrameworkOpt, JsonOpt, ProxyOpt, QuietOpt, SeedOpt, TRUTH_ACC, ThreadsOpt, _echo_json, _names, _nb201_bench, _note, _progress,
    _space, app, bench_app, console, notes, writing,
)
from nasir.cli.objective import NetworkProxyScores


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
    framework: FrameworkOpt = "torch",
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
    if not dataset or not metric:
        raise typer.BadParameter(f"{truth!r} is not DATASET/METRIC, e.g. cifar100/test_acc", param_hint="--truth")
    bench = _nb201_bench()
    nb201 = _space("nb201")
    indices = benchmark_sample(sample)
    truth_values = bench.query_many(indices, dataset, metric)
    scorer = NetworkProxyScores(_names(proxy, "--proxy"), seed, threads, framework)
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
    result = {"truth": truth, "sample": len(indices), "seed": seed, "framework": framework, "ms_per_arch_all_proxies": ms,
              "proxies": rows}
    if as_json:
        _echo_json(result)
        return
    table = Table("proxy", "Spearman ρ", "Kendall τ", "degenerate", title=f"{len(indices)} NB201 cells vs {truth}, {framework} "
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


BENCHED = ("random", "local", "rea", "bananas", "hybrid_bo")  # the strategies that run on the ground truth alone


@bench_app.command("search")
def bench_search(
    strategy: Annotated[str, typer.Option(help=f"Comma-separated strategies: {', '.join(BENCHED)}.")] = "random,rea",
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
    from nasir.strategies import STRATEGIES

    nb201 = _space("nb201")
    names = _names(strategy, "--strategy")
    for s in names:
        STRATEGIES.get(s)  # unknown names fail with close matches before any run
        if s not in BENCHED:
            raise typer.BadParameter(f"strategy {s!r} needs a scorer proxy or several objectives, which bench search "
                                     f"does not give; use {', '.join(BENCHED)} (or nasir search --strategy {s})",
                                     param_hint="--strategy")
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
    out: Annotated[Path, typer.Option("--out", "-o", help=(
        "File to write: the HTML report, or with a .csv or .json name the table of every trial."))] = Path("report.html"),
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the file's only search; its cascades are shown with it).")] = None,
    pareto: Annotated[Optional[str], typer.Option(help="Two metrics X,Y for the Pareto plot (default: a cost and the accuracy).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Write one self-contained HTML page: best cell, search curve, proxy-vs-accuracy, Pareto front, trials.

    With -o trials.csv (or .json) it writes every trial as a row instead: number, state, architecture, metrics,
    seconds, the trial it repeats, its error.

    Example: nasir report nasir-study.db -o report.html
    """
    from nasir.report import load_study, write_report, write_trials
    from nasir.report.table import TABLE_FORMATS

    axes = _names(pareto, "--pareto") if pareto else None
    if axes is not None and len(axes) != 2:
        raise typer.BadParameter(f"give two metrics X,Y, got {pareto!r}", param_hint="--pareto")
    if out.suffix.lower() in TABLE_FORMATS:
        if axes is not None:
            raise typer.BadParameter("--pareto draws a plot of the HTML report; a trial table has none", param_hint="--pareto")
        record = load_study(study, name)
        with writing(out, "--out"):
            written = write_trials(record, out)
        _note(quiet, f"{len(record.trials)} trials written to {written}")
        return
    with notes.status("drawing the report", spinner="dots") if not quiet else nullcontext(), writing(out, "--out"):
        written = write_report(study, out, name=name, pareto=tuple(axes) if axes else None)
    _note(quiet, f"report written to {written} ({written.stat().st_size / 1e3:.0f} kB)")
