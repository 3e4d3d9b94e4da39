"""Search curves, proxy-vs-accuracy scatters and Pareto fronts as PNG/SVG bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nasir.errors import ReportInputError
from nasir.objectives import MAXIMIZE
from nasir.proxy_math import spearman
from nasir.report._figure import new_figure, save
from nasir.report.pareto import best_so_far, pareto_mask

__all__ = ["search_curve", "proxy_scatter", "pareto_plot"]


def search_curve(curves: Mapping[str, Sequence[Sequence[float]]], *, metric: str, direction: str = MAXIMIZE,
                 path: str | Path | None = None, fmt: str | None = None, title: str | None = None) -> bytes:
    """Best-so-far ``metric`` against the trial number, one line per label.

    Each label holds one or more runs (per-trial values, NaN for failed trials). One run also
    shows every trial as a dot; several show their mean with a min-max band (e.g. seeds).
    """
    fig = new_figure(5.2, 3.9)
    ax = fig.add_subplot()
    for label, runs in curves.items():
        best = np.array([best_so_far(run, direction) for run in runs])
        trials = np.arange(1, best.shape[1] + 1)
        if len(runs) == 1:
            line = ax.plot(trials, best[0], lw=2, label=f"{label} (best so far)")[0]
            ax.scatter(trials, np.asarray(runs[0], dtype=float), s=9, alpha=0.35, color=line.get_color(), label=f"{label} (trial)")
        else:
            line = ax.plot(trials, np.nanmean(best, axis=0), lw=2, label=f"{label} (mean of {len(runs)})")[0]
            ax.fill_between(trials, np.nanmin(best, axis=0), np.nanmax(best, axis=0), color=line.get_color(), alpha=0.2)
    finite = np.concatenate([np.asarray(r, dtype=float) for runs in curves.values() for r in runs] or [np.zeros(0)])
    finite = finite[np.isfinite(finite)]
    if len(finite) > 2:  # keep the axis on the interesting range: poor random trials would flatten the curve
        low, high = np.percentile(finite, 10 if direction == MAXIMIZE else 0), np.percentile(finite, 100 if direction == MAXIMIZE else 90)
        pad = 0.05 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("trial")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(metric)
    ax.set_title(title or f"search progress: {metric} ({'higher' if direction == MAXIMIZE else 'lower'} is better)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right" if direction == MAXIMIZE else "upper right")
    return save(fig, path, fmt)


def proxy_scatter(proxy: Sequence[float], truth: Sequence[float], *, proxy_name: str, truth_name: str,
                  path: str | Path | None = None, fmt: str | None = None) -> bytes:
    """Proxy score against ground-truth accuracy, Spearman rho (all architectures) in the title.

    rho ranks degenerate (-inf) scores last, as a search would; they are left out of the picture
    only. A proxy spanning orders of magnitude (synflow) is drawn on a log axis.
    """
    x, y = np.asarray(proxy, dtype=float), np.asarray(truth, dtype=float)
    if x.shape != y.shape:
        raise ReportInputError(f"proxy and truth must have the same length, got {x.shape} and {y.shape}")
    rho = spearman(x, y) if len(x) > 1 else float("nan")
    shown = np.isfinite(x) & np.isfinite(y)
    fig = new_figure(5.2, 3.9)
    ax = fig.add_subplot()
    ax.scatter(x[shown], y[shown], s=12, alpha=0.6, color="#3182bd")
    if shown.any() and x[shown].min() > 0 and x[shown].max() / x[shown].min() > 1e3:
        ax.set_xscale("log")
    left_out = int((~shown).sum())
    ax.set_title(f"{proxy_name} vs {truth_name}: Spearman ρ = {rho:.3f} (n = {len(x)})", fontsize=10)
    ax.set_xlabel(proxy_name + (f"  ({left_out} degenerate not drawn)" if left_out else ""))
    ax.set_ylabel(truth_name)
    ax.grid(alpha=0.3)
    return save(fig, path, fmt)


def pareto_plot(x: Sequence[float], y: Sequence[float], *, x_name: str, y_name: str, x_direction: str, y_direction: str,
                path: str | Path | None = None, fmt: str | None = None) -> bytes:
    """Every architecture as a grey dot, the Pareto-optimal ones in red joined by the front's staircase
    (the edge of the region the front dominates)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    front = pareto_mask(np.stack([xs, ys], axis=1), [x_direction, y_direction]) if len(xs) else np.zeros(0, bool)
    fig = new_figure(5.2, 3.9)
    ax = fig.add_subplot()
    ax.scatter(xs[~front], ys[~front], s=10, alpha=0.4, color="#888888", label="trials")
    order = np.argsort(xs[front])
    ax.step(xs[front][order], ys[front][order], where="pre" if x_direction == MAXIMIZE else "post",
            color="#de2d26", lw=1.2)
    ax.scatter(xs[front], ys[front], s=22, color="#de2d26", zorder=3, label=f"Pareto front ({int(front.sum())})")
    arrow = {MAXIMIZE: "higher is better"}
    ax.set_xlabel(f"{x_name} ({arrow.get(x_direction, 'lower is better')})")
    ax.set_ylabel(f"{y_name} ({arrow.get(y_direction, 'lower is better')})")
    ax.set_title(f"Pareto front: {y_name} vs {x_name}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path, fmt)
