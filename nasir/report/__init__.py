"""Pictures, the HTML report and the trial table of a study, framework-free (matplotlib's Agg backend, networkx).

    >>> from nasir.report import draw_cell, write_report, write_trials
    >>> png = draw_cell(space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"))
    >>> write_report("nasir-study.db", "report.html")   # one self-contained page
    >>> write_trials("nasir-study.db", "trials.csv")    # every trial as a row (or .json)

matplotlib is imported only when a picture is drawn (``pip install 'nasir[viz]'``); reading a
study and computing Pareto fronts need numpy only.
"""

from __future__ import annotations

from nasir.report.cell import cell_layout, draw_cell
from nasir.report.html import render_report, write_report
from nasir.report.pareto import best_so_far, pareto_mask
from nasir.report.plots import pareto_plot, proxy_scatter, search_curve
from nasir.report.study import StudyRecord, load_cascades, load_study
from nasir.report.table import trial_rows, write_trials

__all__ = ["StudyRecord", "best_so_far", "cell_layout", "draw_cell", "load_cascades", "load_study", "pareto_mask", "pareto_plot",
           "proxy_scatter", "render_report", "search_curve", "trial_rows", "write_report", "write_trials"]
