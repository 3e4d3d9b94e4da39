"""``nasir report``: one self-contained HTML page per study (images inlined as data URIs).

The page loads nothing: a Content-Security-Policy forbids every external resource and script, so
it renders the same from an e-mail attachment, a CI artefact or an air-gapped machine.
"""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nasir.errors import NasirError, StudyMismatchError, UnknownNameError
from nasir.objectives import MINIMIZE
from nasir.report._figure import data_uri
from nasir.report.cell import draw_cell
from nasir.report.plots import pareto_plot, proxy_scatter, search_curve
from nasir.report.study import StudyRecord, arch_formatter, cascade_pick, load_cascades, load_study, registered_space
from nasir.study import Trial, TrialState

__all__ = ["render_report", "write_report", "PARAMS"]

PARAMS = "params_m"  # derived from the IR when the study did not store it
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1220px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
code, td.arch { font-family: ui-monospace, monospace; font-size: 12px; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f4f4; position: sticky; top: 0; } td.arch, td.note, th.arch { text-align: left; }
tr.best { background: #fff3b0; } tr.FAILED { color: #b00; } .figures { display: flex; flex-wrap: wrap; gap: 12px; }
img { max-width: 100%; border: 1px solid #eee; } figure { margin: 0; } .scroll { overflow-x: auto; }
"""


def _params(record: StudyRecord, space) -> np.ndarray | None:
    """Parameters (millions) of every trial's network, from the IR: a cost axis every study has."""
    if space is None:
        return None
    cache: dict[str, float] = {}
    out = []
    for trial in record.trials:
        if trial.arch_hash not in cache:
            try:
                cache[trial.arch_hash] = space.network(trial.arch).count_params() / 1e6
            except NasirError:
                cache[trial.arch_hash] = math.nan
        out.append(cache[trial.arch_hash])
    return np.array(out)


def _truth_metric(metrics: Sequence[str]) -> str | None:
    """The ground-truth accuracy proxies are judged against: CIFAR-10 test accuracy when stored."""
    accuracies = [m for m in metrics if "acc" in m and not m.startswith("proxy/")]
    return "cifar10/test_acc" if "cifar10/test_acc" in accuracies else next(iter(accuracies), None)


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}" if abs(value) >= 1e5 or (value and abs(value) < 1e-2) else f"{value:.2f}"


def _figure(title: str, png: bytes, alt: str) -> str:
    return f'<figure><img src="{data_uri(png)}" alt="{html.escape(alt)}"><figcaption>{html.escape(title)}</figcaption></figure>'


def _identity(record: StudyRecord) -> str:
    created = datetime.datetime.fromtimestamp(record.created).isoformat(timespec="seconds")
    done = record.count(TrialState.COMPLETE)
    rows = [("file", str(record.path)), ("study", record.name), ("space", record.space), ("strategy", record.strategy),
            ("objective", record.objective), ("optimised", f"{record.primary} ({record.direction(record.primary)})"),
            ("seed", str(record.seed)), ("created", created),
            ("trials", f"{len(record.trials)} ({done} complete, {record.count(TrialState.FAILED)} failed, "
                       f"{sum(t.duplicate_of is not None for t in record.trials)} re-proposals looked up)")]
    return "<table>" + "".join(f'<tr><th>{k}</th><td class="arch">{html.escape(v)}</td></tr>' for k, v in rows) + "</table>"


def _trial_table(record: StudyRecord, metrics: list[str], extra: dict[str, np.ndarray], arch_of: Callable[[Trial], str],
                 best: Trial | None) -> str:
    head = "".join(f"<th>{html.escape(m)}</th>" for m in [*metrics, *extra])
    rows = []
    for i, t in enumerate(record.trials):
        cells = "".join(f"<td>{_number(t.value(m))}</td>" for m in metrics)
        cells += "".join(f"<td>{_number(float(v[i]))}</td>" for v in extra.values())
        note = f"= trial {t.duplicate_of}" if t.duplicate_of is not None else t.error.splitlines()[-1] if t.error else ""
        cls = f"{t.state.value}{' best' if best is not None and t.number == best.number else ''}"
        rows.append(f'<tr class="{cls}"><td>{t.number}</td><td>{t.state.value.lower()}</td><td class="arch">{html.escape(arch_of(t))}</td>'
                    f"{cells}<td>{t.seconds:.2f}</td><td class=\"note\">{html.escape(note)}</td></tr>")
    return (f'<table><tr><th>#</th><th>state</th><th class="arch">architecture</th>{head}<th>seconds</th>'
            f'<th class="arch">note</th></tr>{"".join(rows)}</table>')


def _pareto_axes(record: StudyRecord, metrics: list[str], extra: dict[str, np.ndarray],
                 pareto: tuple[str, str] | None) -> tuple[str, str] | None:
    if pareto is not None:
        unknown = [m for m in pareto if m not in metrics and m not in extra]
        if unknown:
            raise UnknownNameError(f"study {record.name!r} has no metric {unknown[0]!r} for the Pareto plot "
                                   f"(it has {', '.join([*metrics, *extra])})")
        return pareto
    costs = [m for m in metrics if record.direction(m) == MINIMIZE] + list(extra)
    y = _truth_metric(metrics) or record.primary
    x = next((c for c in costs if c != y), None)
    return (x, y) if x else None


def _best_section(record: StudyRecord, best: Trial, arch_of: Callable[[Trial], str]) -> list[str]:
    ordered = sorted(best.metrics.items(), key=lambda kv: kv[0] != record.primary)
    shown = "".join(f"<tr><th>{html.escape(m)}</th><td>{_number(v)}</td></tr>" for m, v in ordered)
    picture = draw_cell(best.arch, title=arch_of(best))
    return [f"<h2>Best architecture (trial {best.number})</h2><p><code>{html.escape(arch_of(best))}</code></p>",
            f"<table>{shown}</table>", _figure("the best cell: ops as boxes, data flowing left to right", picture, "best cell")]


def _cascade_section(record: StudyRecord, stage: StudyRecord, arch_of: Callable[[Trial], str]) -> list[str]:
    """A second stage of the search (``nasir.study.rerank``): its cells with both scores, its pick highlighted."""
    first = {t.arch_hash: t for t in record.trials if t.duplicate_of is None}
    truth = _truth_metric(stage.metrics)
    metrics = [record.primary, stage.primary, *([truth] if truth and truth != stage.primary else [])]
    try:
        (pick, over), stale = cascade_pick(record, stage), ""
    except StudyMismatchError as err:
        pick, stale = None, str(err)
    rows = []
    for t in stage.trials:
        values = [first[t.arch_hash].value(record.primary) if t.arch_hash in first else None, *map(t.value, metrics[1:])]
        cls = f"{t.state.value}{' best' if pick is not None and t.number == pick.number else ''}"
        rows.append(f'<tr class="{cls}"><td class="arch">{html.escape(arch_of(t))}</td>'
                    + "".join(f"<td>{_number(v)}</td>" for v in values) + "</tr>")
    head = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    verdict = (html.escape(stale) if stale else f"pick: <code>{html.escape(arch_of(pick))}</code>, the best by "
               f"{html.escape(stage.primary)} of the search's {over} best cells (of the {len(stage.trials)} it evaluated)"
               if pick is not None else "every cell it evaluated failed")
    return [f"<h2>Cascade: {html.escape(stage.objective)} on the search's best cells</h2><p>{verdict}</p>",
            f'<table><tr><th class="arch">architecture</th>{head}</tr>{"".join(rows)}</table>']


def _figures(record: StudyRecord, values: dict[str, np.ndarray], direction: dict[str, str], axes: tuple[str, str] | None) -> list[str]:
    """Search curve, one proxy-vs-accuracy scatter per stored proxy, the Pareto front; each architecture counted once.
    A plot of a metric no trial holds (every trial failed) is left out, and the page says so."""
    missing = sorted({record.primary, *(axes or ())} - set(values))
    figures = [f"<p>no plot of {html.escape(', '.join(missing))}: no completed trial holds it</p>"] if missing else []
    if record.primary in values:
        figures.append(_figure("best so far against trials", search_curve({record.strategy: [values[record.primary]]},
                               metric=record.primary, direction=direction[record.primary]), "search curve"))
    evaluated = np.array([t.duplicate_of is None for t in record.trials], dtype=bool)
    truth = _truth_metric(list(values))
    for proxy in [m for m in values if m.startswith("proxy/")] if truth else []:
        done = evaluated & np.isfinite(values[truth])
        figures.append(_figure(f"{proxy} against {truth} over the searched architectures",
                               proxy_scatter(values[proxy][done], values[truth][done], proxy_name=proxy, truth_name=truth),
                               f"{proxy} vs {truth}"))
    if axes and not set(axes) - set(values):
        x, y = axes
        figures.append(_figure(f"Pareto front of {y} and {x}", pareto_plot(values[x][evaluated], values[y][evaluated], x_name=x,
                               y_name=y, x_direction=direction[x], y_direction=direction[y]), "Pareto front"))
    return figures


def render_report(record: StudyRecord, *, pareto: tuple[str, str] | None = None, title: str | None = None,
                  cascades: Sequence[StudyRecord] = ()) -> str:
    """The HTML page of a study: summary, its cascades' picks, best cell, search curve, proxy scatters, Pareto front,
    trials."""
    space = registered_space(record.space)
    arch_of = arch_formatter(space)
    metrics = record.metrics
    params = _params(record, space) if PARAMS not in metrics else None
    extra = {PARAMS: params} if params is not None else {}
    direction = {**{m: record.direction(m) for m in metrics}, PARAMS: MINIMIZE}
    values = {m: record.values(m) for m in metrics} | extra
    best = record.best()
    title = title or f"nasir study {record.name!r}"
    picks = [part for stage in cascades for part in _cascade_section(record, stage, arch_of)]
    parts = [f"<h1>{html.escape(title)}</h1>", _identity(record), *picks, *(_best_section(record, best, arch_of) if best else []),
             '<h2>Plots</h2><div class="figures">', *_figures(record, values, direction, _pareto_axes(record, metrics, extra, pareto)),
             f'</div><h2>Trials ({len(record.trials)})</h2><div class="scroll">', _trial_table(record, metrics, extra, arch_of, best),
             f"</div><p><small>written by nasir from {html.escape(str(record.path))}</small></p>"]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write_report(study: str | Path | StudyRecord, out: str | Path, *, name: str | None = None,
                 pareto: tuple[str, str] | None = None, title: str | None = None) -> Path:
    """Writes the report of a study file (or record) to ``out``, with the cascades stored beside it, and returns its path."""
    record = study if isinstance(study, StudyRecord) else load_study(study, name)
    out = Path(out)
    out.write_text(render_report(record, pareto=pareto, title=title, cascades=load_cascades(record.path, record.name)),
                   encoding="utf-8")
    return out
