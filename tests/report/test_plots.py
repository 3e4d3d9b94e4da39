"""Pictures: the Pareto and best-so-far numbers, the cell layout, and that every plot is a real image."""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread

from nasir.errors import ParetoInputError, ReportInputError
from nasir.ir import Arch
from nasir.proxy_math import spearman
from nasir.report import best_so_far, cell_layout, draw_cell, pareto_mask, pareto_plot, proxy_scatter, search_curve
from nasir.spaces.nb201 import space

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
PNG = b"\x89PNG\r\n\x1a\n"


def _png_shape(data: bytes) -> tuple[int, ...]:
    assert data.startswith(PNG)
    return imread(io.BytesIO(data)).shape


def _svg_text(draw) -> str:
    """SVG with text kept as text (not glyph paths), so titles can be read back."""
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        return draw(fmt="svg").decode()


def test_pareto_mask_keeps_non_dominated_points_only() -> None:
    points = [(1, 5), (2, 4), (2, 2), (3, 1), (0.5, 5), (math.nan, 9), (1, 5)]
    mask = pareto_mask(points, ["minimize", "maximize"])  # small cost, high accuracy
    assert mask.tolist() == [False, False, False, False, True, False, False]
    mask = pareto_mask(points, ["maximize", "maximize"])
    assert mask.tolist() == [True, True, False, True, False, False, True]  # duplicates of a front point stay


def test_pareto_mask_and_proxy_scatter_refuse_inputs_that_do_not_fit() -> None:
    with pytest.raises(ParetoInputError, match=r"points must be \(n, 2\), got shape \(2, 3\)"):
        pareto_mask([[1, 2, 3], [4, 5, 6]], ["maximize", "minimize"])
    with pytest.raises(ParetoInputError, match=r"points must be \(n, 1\), got shape \(3,\)"):
        pareto_mask([1, 2, 3], ["maximize"])
    with pytest.raises(ReportInputError, match=r"proxy and truth must have the same length, got \(3,\) and \(2,\)"):
        proxy_scatter([1.0, 2.0, 3.0], [1.0, 2.0], proxy_name="naswot", truth_name="acc")


def test_best_so_far_ignores_failed_trials() -> None:
    assert np.allclose(best_so_far([math.nan, 3, 1, 4, math.nan, 2]), [math.nan, 3, 3, 4, 4, 4], equal_nan=True)
    assert np.allclose(best_so_far([5, math.nan, 7, 2], "minimize"), [5, 5, 5, 2])


def test_cell_layout_is_layered_left_to_right() -> None:
    arch = space.parse(CELL)
    layout = cell_layout(arch)
    x = {n: p[0] for n, p in layout.nodes.items()}
    assert x["in"] == 0 and x["out"] == max(x.values())
    assert all(x[src] < x[dst] for src, dst, _ in arch.edges)
    for route in layout.routes.values():  # one column per step: waypoints keep long edges out of boxes
        assert [p[0] for p in route] == list(np.arange(route[0][0], route[-1][0] + 1))
    slots = [p for p in layout.nodes.values()] + [p for r in layout.routes.values() for p in r[1:-1]]
    assert len(set(slots)) == len(slots)


def test_draw_cell_png_and_svg(tmp_path) -> None:
    arch = space.parse(CELL)
    height, width, _ = _png_shape(draw_cell(arch, tmp_path / "cell.png", title=CELL))
    assert width > 2 * height > 200 and (tmp_path / "cell.png").read_bytes().startswith(PNG)
    svg = _svg_text(lambda fmt: draw_cell(arch, fmt=fmt))
    assert svg.lstrip().startswith("<?xml") and "relu_conv_bn" in svg and "avg_pool" in svg and "zero" in svg
    multi = Arch({"a": ("input", {"index": 0}), "b": ("input", {"index": 1}), "s": "add", "out": "output"},
                 [("a", "s"), ("b", "s"), ("s", "out")])
    assert _png_shape(draw_cell(multi))[0] > 0
    with pytest.raises(ReportInputError, match="pictures are written as png or svg, not 'gif'"):
        draw_cell(arch, fmt="gif")


def test_plots_are_images_with_the_numbers_in_their_titles() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(80, 94, 30)
    proxy = truth + rng.normal(0, 1, 30)
    proxy[3] = -math.inf  # a degenerate architecture: ranked last, not drawn
    assert _png_shape(search_curve({"rea": [truth], "random": [truth[::-1], truth]}, metric="acc"))[1] > 300
    svg = _svg_text(lambda fmt: proxy_scatter(proxy, truth, proxy_name="meco", truth_name="acc", fmt=fmt))
    assert f"Spearman ρ = {spearman(proxy, truth):.3f} (n = 30)" in svg and "1 degenerate not drawn" in svg
    cost = rng.uniform(0, 1, 30)
    svg = _svg_text(lambda fmt: pareto_plot(cost, truth, x_name="params", y_name="acc", x_direction="minimize",
                                            y_direction="maximize", fmt=fmt))
    front = int(pareto_mask(np.c_[cost, truth], ["minimize", "maximize"]).sum())
    assert f"Pareto front ({front})" in svg and "params (lower is better)" in svg
