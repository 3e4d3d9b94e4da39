"""``nasir score`` and ``nasir search``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from nasir.cli._app import (
    DEFAULT_STORAGE, NO_RESULT, FrameworkOpt, JsonOpt, NameOpt, ProxyOpt, QuietOpt, SeedOpt, SpaceOpt, TRUTH_ACC, ThreadsOpt,
    _echo_json, _export_network, _fmt, _latency_line, _measure, _names, _nb201_bench, _need, _progress, _read_archs,
    _space, app, check_output, console, make_folder, notes, storage_path, writing,
)
from nasir.cli.objective import NetworkProxyScores, SearchObjective, check_proxies, check_proxy_options, space_input_shape


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
    framework: FrameworkOpt = "torch",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score architectures with zero-cost proxies (PyTorch or TensorFlow, CPU, the shipped CIFAR-10 sample); higher is better.

    NB201 rows also show the ground-truth CIFAR-10 test accuracy.

    Example: nasir score --space nb201 --proxy naswot,synflow '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    """
    sp = _space(space)
    cells = _read_archs(sp, archs or [], file)
    scorer = NetworkProxyScores(_names(proxy, "--proxy"), seed, threads, framework, input_shape=space_input_shape(sp),
                                space_name=sp.name)
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
    table = Table(title=f"zero-cost proxies ({framework}, seed {seed})")
    for name in [*scorer.names, *([TRUTH_ACC] if bench else [])]:
        table.add_column(name, justify="right", no_wrap=True, min_width=max(len(name), 9))  # a long arch is cut instead
    table.add_column("architecture", overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row["scores"].values()), *([f"{row[TRUTH_ACC]:.2f}"] if bench else []), row["arch"])
    console.print(table)



# ---------------------------------------------------------------------- search
def _objective(space: str, terms: list[str], seed: int, truth: bool, threads: int, framework: str, option: str = "--objective") -> Any:
    """The plain tabular objective for ``tabular`` alone (studies stored by earlier versions resume), else a SearchObjective;
    a bad term is blamed on ``option`` (``--objective`` or ``--rerank``)."""
    try:
        if terms == ["tabular"]:
            if space != "nb201":
                raise typer.BadParameter(f"the tabular objective needs ground truth; only nb201 ships it (got {space!r}); "
                                         "use a proxy, params, flops or latency")
            from nasir.objectives import TabularObjective

            return TabularObjective(_nb201_bench(), _space(space))
        objective = SearchObjective(space, terms, seed=seed, truth=truth and space == "nb201", threads=threads, framework=framework)
        if objective.proxies:
            check_proxies(objective.proxies, framework)
            check_proxy_options(objective.options, framework)
    except typer.BadParameter as err:
        err.param_hint = option
        raise
    if "latency" in terms:
        _need("nasir.backends.onnx", "onnx", "the latency objective")
    return objective


RANKED_BY_SCORER = ("area", "naswot", "hybrid_bo")
SAMPLED = ("area", "naswot")  # strategies that score a pool of --candidates


EVOLVED = {"population": ("rea", "area", "nsga2"), "tournament": ("rea", "area"), "parallel": ("rea", "area")}  # strategies that take each option
ENCODED = ("bananas", "hybrid_bo")  # strategies whose predictor reads an encoding


def _strategy(name: str, space: Any, objective: Any, *, scorer: str | None, candidates: int | None, framework: str, seed: int,
              threads: int, population: int | None = None, tournament: int | None = None, parallel: int | None = None,
              encoding: str | None = None, warm_start: Sequence[Any] = ()) -> Any:
    """The strategy with what the CLI supplies: the objectives of a Pareto search, the live proxy of a ranked one, the
    population, tournament and breeding batch sizes of an evolution, the encoding of a predictor's, a warm start."""
    from nasir.strategies import STRATEGIES, ProxyScorer, make_strategy

    STRATEGIES.get(name)  # an unknown name fails with close matches before any work
    options: dict[str, Any] = {"warm_start": list(warm_start)} if warm_start else {}
    for option, value, keyword in (("population", population, "population_size"), ("tournament", tournament, "sample_size"),
                                   ("parallel", parallel, "parallel")):
        if value is not None:
            if name not in EVOLVED[option]:
                raise typer.BadParameter(f"--{option} sets an evolution's size; strategy {name!r} has none "
                                         f"(use {', '.join(EVOLVED[option])})", param_hint=f"--{option}")
            options[keyword] = value
    if encoding is not None:
        if name not in ENCODED:
            raise typer.BadParameter(f"--encoding sets a predictor's input; strategy {name!r} has none (use "
                                     f"{', '.join(ENCODED)})", param_hint="--encoding")
        options["encoding"] = encoding
    if name == "nsga2":
        if len(getattr(objective, "terms", ())) < 2:
            raise typer.BadParameter("nsga2 searches a Pareto front: give two or more --objective terms, e.g. "
                                     "tabular,latency", param_hint="--objective")
        options["objectives"] = objective.optimised
    for option, value, takers in (("scorer", scorer, RANKED_BY_SCORER), ("candidates", candidates, SAMPLED)):
        if value is not None and name not in takers:  # an option that would be ignored is refused
            raise typer.BadParameter(f"strategy {name!r} takes no --{option} (use {', '.join(takers)})", param_hint=f"--{option}")
    if name in RANKED_BY_SCORER:
        scorer = scorer or "naswot"
        check_proxies([scorer], framework).set_threads(threads)
        live = ProxyScorer(space, scorer, framework=framework, seed=seed)
        options.update({"scorers": [live]} if name == "hybrid_bo" else {"scorer": live})
        if candidates is not None:
            options["n_candidates" if name == "area" else "n_samples"] = candidates
    return make_strategy(name, space, **options)


def _executor(kind: str, workers: int | None, address: str | None, timeout: float | None = None) -> Callable[[], Any]:
    """What makes the executor (called once the other options are checked: Ray starts when it is made); an option the
    executor would ignore is refused."""
    from nasir.executors import InProcessExecutor, ProcessPoolExecutor, RayExecutor

    if kind not in ("inprocess", "process", "ray"):
        raise typer.BadParameter(f"unknown executor {kind!r}; use inprocess, process or ray", param_hint="--executor")
    if address is not None and kind != "ray":
        raise typer.BadParameter("--address names a Ray cluster; give --executor ray too", param_hint="--address")
    if kind == "inprocess":
        if workers is not None:
            raise typer.BadParameter("--workers sizes --executor process or ray; inprocess evaluates one at a time",
                                     param_hint="--workers")
        if timeout is not None:
            raise typer.BadParameter("--trial-timeout needs --executor process or ray (an evaluation in this process "
                                     "cannot be stopped)", param_hint="--trial-timeout")
        return InProcessExecutor
    if kind == "process":
        return lambda: ProcessPoolExecutor(max_workers=workers or 2, trial_timeout=timeout)
    local = {"num_cpus": workers} if address is None and workers else None  # a local instance as large as asked
    return lambda: RayExecutor(address, max_workers=workers, init_kwargs=local, trial_timeout=timeout)


def _run_study(study: Any, trials: int, seconds: float | None, quiet: bool) -> None:
    """Runs the study to ``trials`` trials (or until ``seconds`` pass), the progress bar moving as each is committed."""
    finished = sum(t.finished for t in study.trials)  # a resumed study's waiting trials are still to come
    with _progress(trials, "search", quiet, done=min(finished, trials)) as advance:
        study.optimize(budget_evals=trials, budget_seconds=seconds, callbacks=[lambda _, trial: advance(1)])


@app.command()
def search(
    space: SpaceOpt = "nb201",
    objective: Annotated[str, typer.Option("--objective", "-o", help=(
        "Comma-separated terms, the first optimised, the rest recorded: tabular (NB201 ground truth), a proxy name "
        "(naswot, synflow, meco, ...), params, flops, latency."))] = "tabular",
    strategy: Annotated[str, typer.Option(help=(
        "Search strategy: random, local, rea, bananas; nsga2 (a Pareto front over every --objective term); "
        "area, naswot, hybrid_bo (rank candidates with the --scorer proxy)."))] = "rea",
    scorer: Annotated[Optional[str], typer.Option(help=(
        "Proxy that area, naswot and hybrid_bo rank candidates with, live (default naswot)."))] = None,
    candidates: Annotated[Optional[int], typer.Option(min=1, help=(
        "Candidates naswot (N) or area (its initial pool) scores with --scorer; default: the strategy's (100, 1000)."))] = None,
    population: Annotated[Optional[int], typer.Option(min=2, help=(
        "Population size of rea, area (default 10) or nsga2 (default 20)."))] = None,
    tournament: Annotated[Optional[int], typer.Option(min=1, help="Tournament (sample) size of rea and area (default 3).")] = None,
    parallel: Annotated[Optional[int], typer.Option(min=1, help=(
        "Children rea and area breed at once from one population (default 1, the papers' sequential REA); set it to "
        "--workers to keep every worker busy. Same seed and --parallel: same trials on any number of workers."))] = None,
    encoding: Annotated[Optional[str], typer.Option(help=(
        "Encoding the predictor of bananas (default path) or hybrid_bo (default adjacency) reads; spaces without those "
        "(darts, mobilenet) need one they have (nasir spaces list)."))] = None,
    warm_start: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False, help=(
        "Architectures to evaluate first, one per line (any form ARCH takes), e.g. known good cells: they join the "
        "initial population or sample of the strategy. Part of the study: give the same file to resume."))] = None,
    rerank: Annotated[Optional[str], typer.Option(help=(
        "A cascade: after the search, evaluate its --rerank-top best cells with this costlier term (e.g. gennas:task=nb101) "
        "and pick its best; stored beside the search, resumed like it."))] = None,
    rerank_top: Annotated[Optional[int], typer.Option(min=1, help=(
        "How many of the search's best cells --rerank evaluates (default 10)."))] = None,
    trials: Annotated[int, typer.Option(min=1, help="Total trials (queries) the study should hold.")] = 100,
    seconds: Annotated[Optional[float], typer.Option("--time", min=0.001, help=(
        "Stop the search after this many seconds; a --rerank then evaluates its whole shortlist."))] = None,
    seed: SeedOpt = 0,
    storage: Annotated[str, typer.Option(help="Study file: a path or sqlite:///file.db; every trial is committed.")] = DEFAULT_STORAGE,
    name: NameOpt = "default",
    resume: Annotated[bool, typer.Option("--resume/--fresh", help="Continue a stored study, or delete it and start over.")] = True,
    retry: Annotated[bool, typer.Option("--retry-interrupted/--fail-interrupted", help=(
        "On resume, evaluate again a trial a killed run left unfinished (so the search ends as an uninterrupted one), "
        "or record it as failed."))] = True,
    executor: Annotated[str, typer.Option(help=(
        "Where evaluations run: inprocess, process (a local worker pool) or ray (a Ray cluster, see --address)."))] = "inprocess",
    workers: Annotated[Optional[int], typer.Option(min=1, help=(
        "Evaluations at once: worker processes of --executor process (default 2), Ray tasks in flight of --executor ray "
        "(default: the cluster's CPUs)."))] = None,
    address: Annotated[Optional[str], typer.Option(help=(
        "The Ray cluster of --executor ray: auto, ray://HOST:10001 (default: a local Ray instance)."))] = None,
    trial_timeout: Annotated[Optional[float], typer.Option(min=0.001, help=(
        "Seconds an evaluation of --executor process or ray may take, counted from the moment a worker starts it (a new "
        "worker's start-up is left out); one still running then is stopped and its trial fails (timed out)."))] = None,
    threads: ThreadsOpt = 1,
    framework: FrameworkOpt = "torch",
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

    The README's main job, a SynFlow search and then GenNAS on its three best cells, is the example.

    Example: nasir search --objective synflow --population 50 --tournament 10 --trials 450
    --rerank gennas:task=nb101 --rerank-top 3 --export best.onnx --latency --report report.html
    """
    from nasir.report.study import is_study_file
    from nasir.study import Study

    sp = _space(space)
    path = storage_path(storage)
    terms = _names(objective, "--objective")
    make_pool = _executor(executor, workers, address, trial_timeout)
    obj = _objective(sp.name, terms, seed, truth, threads, framework)
    plan = _strategy(strategy, sp, obj, scorer=scorer, candidates=candidates, framework=framework, seed=seed, threads=threads,
                     population=population, tournament=tournament, parallel=parallel, encoding=encoding,
                     warm_start=_read_archs(sp, [], warm_start, "--warm-start") if warm_start else ())
    second = None if rerank is None else _objective(sp.name, [rerank], seed, truth, threads, framework, "--rerank")
    if second is None and rerank_top is not None:
        raise typer.BadParameter("--rerank-top sizes the shortlist of --rerank; give --rerank too", param_hint="--rerank-top")
    if second is not None and second.name == obj.name:
        raise typer.BadParameter("--rerank repeats the search's own objective", param_hint="--rerank")
    for out, option in ((export, "--export"), (report, "--report")):
        if out is not None:
            check_output(out, option)
    make_folder(path, "--storage")
    if not resume and is_study_file(path):  # never delete a file that is not a study
        _delete_study(path, name)
    pool = make_pool()
    busy = getattr(pool, "max_workers", 1)
    if not quiet and strategy in EVOLVED["parallel"] and (parallel or 1) < busy:
        notes.print(f"note: {strategy} breeds {parallel or 1} child per step once its population is full, so some of the "
                    f"{busy} workers wait; --parallel {busy} keeps them busy (a different, equally reproducible search)")
    try:
        study = Study.open(path, sp, plan, obj, seed=seed, name=name, executor=pool, retry_interrupted=retry)
    except BaseException:
        pool.close()  # a Ray instance this command started goes with it
        raise
    try:
        _run_study(study, trials, seconds, quiet)
        summary = {**study.summary(), "storage": str(path), "objective": obj.name, "primary": obj.primary}
        best = study.best_trial()
        if second is not None and best is not None:
            summary["rerank"], best = _rerank(study, second, rerank_top or 10, pool, retry, quiet)
            summary["rerank"]["search_best"] = summary["best"]["arch"]
            summary["primary"] = second.primary
            summary["best"] = None if best is None else {"number": best.number, "metrics": best.metrics, "arch": sp.format(best.arch)}
        if strategy == "nsga2":
            summary["pareto_front"] = [{"number": t.number, "arch": sp.format(t.arch), "metrics": t.metrics}
                                       for t in study.pareto_front()]
    finally:
        pool.close()
        study.storage.close()
    if best is not None and TRUTH_ACC in best.metrics:
        column = _nb201_bench().column("cifar10", "test_acc")
        summary["best_rank"] = {"metric": TRUTH_ACC, "rank": int((column > best.metrics[TRUTH_ACC]).sum()) + 1, "of": len(column)}
    if best is not None and export is not None:
        summary["export"] = _export_network(sp.network(best.arch), export, seed, "--export")
    if best is not None and latency:
        with notes.status("measuring the best network's latency", spinner="dots") if not quiet else nullcontext():
            summary["latency"] = _measure(sp.network(best.arch), threads=1, batch=1, warmup=10, repeats=50, runs=3)
    if report is not None:
        from nasir.report import write_report

        with writing(report, "--report"):
            summary["report"] = str(write_report(path, report, name=name))
    if as_json:
        _echo_json(summary)
    else:
        _print_search(summary)
    if best is None:
        raise typer.Exit(NO_RESULT)


def _rerank(study: Any, objective: Any, top: int, pool: Any, retry: bool, quiet: bool) -> tuple[dict[str, Any], Any]:
    """The cascade's second stage: its shortlist for the summary, and the trial of its pick (None if every cell failed)."""
    from nasir.study import rerank

    label = f"reranking the {top} best cells with {objective.name}"
    with notes.status(label, spinner="dots") if not quiet else nullcontext():
        cascade = rerank(study, objective, top, executor=pool, retry_interrupted=retry)
    pick = cascade.best()
    shortlist = [{"arch": study.space.format(first.arch), "stage1": first.metrics.get(study.objective.primary),
                  "stage2": second.metrics.get(objective.primary), "state": second.state.value, "error": second.error}
                 for first, second in cascade.pairs]
    out = {"objective": objective.name, "top": top, "study": cascade.study.name, "search_primary": study.objective.primary,
           "shortlist": shortlist}
    return out, None if pick is None else pick[1]


def _delete_study(path: Path, name: str) -> None:
    """``--fresh``: deletes study ``name`` and the cascades stored beside it, so other studies in the file stay."""
    from nasir.report import load_cascades
    from nasir.study import SQLiteStorage

    storage = SQLiteStorage(path)
    try:
        storage.delete_studies([name, *(c.name for c in load_cascades(path, name))])
    finally:
        storage.close()


def _print_search(summary: dict[str, Any]) -> None:
    best, second = summary["best"], summary.get("rerank")
    if second is not None:
        _print_shortlist(second, summary["primary"])
    if best is None:
        failed = f"every --rerank evaluation failed, e.g. {second['shortlist'][0]['error']}" if second else f"{summary['failed']} failed"
        console.print(f"no completed trial in {summary['storage']} ({failed})")
        return
    if second is not None:
        console.print(f"[bold]cascade pick[/bold]: the best by {summary['primary']} of the search's {len(second['shortlist'])} "
                      f"best cells (of {summary['trials']} trials): {best['arch']}")
    else:
        console.print(f"[bold]best of {summary['trials']} trials[/bold] (trial {best['number']}): {best['arch']}")
    ordered = sorted(best["metrics"].items(), key=lambda kv: kv[0] != summary["primary"])
    rank = summary.get("best_rank", {})
    for metric, value in ordered:
        note = "  (optimised)" if metric == summary["primary"] else ""
        if metric == rank.get("metric"):
            note = f"  (rank {rank['rank']:,} of {rank['of']:,} in the space)"
        console.print(f"  {metric:>24s}  {_fmt(value)}{note}")
    if "pareto_front" in summary:
        _print_front(summary["pareto_front"])
    if "export" in summary:
        ex = summary["export"]
        console.print(f"exported to {ex['path']} ({ex['params'] / 1e6:.3f} M params, {ex['bytes'] / 1e6:.1f} MB, opset {ex['opset']}, "
                      "random weights)")
    if "latency" in summary:
        console.print("latency on onnxruntime CPU: " + _latency_line(summary["latency"]))
    if "report" in summary:
        console.print(f"report written to {summary['report']}")
    console.print(f"study stored in {summary['storage']} ({summary['duplicates']} re-proposals looked up, {summary['failed']} failed)")


def _print_shortlist(second: dict[str, Any], primary: str) -> None:
    table = Table(second["search_primary"], primary, "architecture", title=f"shortlist: the search's {len(second['shortlist'])} best cells")
    for row in second["shortlist"]:
        table.add_row(_fmt(row["stage1"]), _fmt(row["stage2"]) if row["state"] == "COMPLETE" else "failed", row["arch"])
    console.print(table)


def _print_front(front: list[dict[str, Any]]) -> None:
    metrics = list(front[0]["metrics"]) if front else []
    table = Table("trial", *metrics, "architecture", title=f"Pareto front: {len(front)} architectures")
    for point in sorted(front, key=lambda p: p["metrics"].get(metrics[0], 0.0), reverse=True):
        table.add_row(str(point["number"]), *(_fmt(point["metrics"].get(m)) for m in metrics), point["arch"])
    console.print(table)
