"""The /tilt charts (``analysis.tilt_chart``): what each size of a tilt bought, and whether the chart reads.

Small hand-written sweeps: the expected points, percentiles and cell texts are worked out here from the
inputs (numpy's percentile on the same arrays, the formatting written out), never read back from the chart code.
"""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from analysis.charts import OKABE_ITO, ChartLabels
from analysis.tilt_chart import (
    DPI,
    FIGSIZE_IN,
    build_sweep_grid_figure,
    build_sweep_line_figure,
    sweep_grid_chart,
    sweep_line_chart,
)
from tests.chart_checks import (
    PLATFORM_FILE_LIMIT,
    PNG_SIGNATURE,
    contrast,
    decode,
    drawn_texts,
    extent,
    not_literal,
    outside_canvas,
    overlapping,
    solid_texts,
    too_small,
)

LABELS = ChartLabels(title="How much to tilt SPY into IJR", as_of="2026-07-14", source="CSV folder",
                     basis="Adj Close: dividends reinvested, costs 5bp")
# The window measured: the footer starts with it.
DATES = pd.DatetimeIndex(["2016-07-14", "2026-07-14"])
SIZES = ["0", "10", "20", "30"]
EXCESS = np.array([0.0, -0.004, -0.009, -0.015])  # a year, fractions
TRACKING = np.array([0.0, 0.011, 0.022, 0.034])
ROLLING = [np.zeros(1), np.linspace(-0.02, 0.01, 41), np.linspace(-0.04, 0.02, 41), np.linspace(-0.06, 0.03, 41)]
PIXELS = (round(FIGSIZE_IN[1] * DPI), round(FIGSIZE_IN[0] * DPI))


def _line_figure(rolling=ROLLING, labels=LABELS):
    return build_sweep_line_figure(SIZES, EXCESS, TRACKING, rolling, "Points in IJR", labels, DATES)


def _segments(ax, colour=None) -> list[np.ndarray]:
    found = [c for c in ax.collections if isinstance(c, LineCollection)]
    return [c for c in found if colour is None or np.allclose(c.get_color()[0], mcolors.to_rgba(colour))]


def test_each_size_is_a_point_at_its_tracking_error_and_excess_named_by_its_size() -> None:
    fig = _line_figure()
    scatter = fig.axes[0]
    (line, zero) = scatter.get_lines()
    assert list(line.get_xdata()) == pytest.approx([0.0, 1.1, 2.2, 3.4])  # percent a year
    assert list(line.get_ydata()) == pytest.approx([0.0, -0.4, -0.9, -1.5])
    assert line.get_marker() == "o" and line.get_color() in OKABE_ITO
    assert list(zero.get_ydata()) == [0, 0]  # the line where a size stops beating the benchmark
    names = [t for t in scatter.texts if isinstance(t, Annotation)]
    assert [t.get_text() for t in names] == SIZES
    assert np.allclose([t.xy for t in names], list(zip([0.0, 1.1, 2.2, 3.4], [0.0, -0.4, -0.9, -1.5])))
    assert all(isinstance(t, Annotation) for t in scatter.texts)
    assert scatter.get_title(loc="left") == "Excess return vs tracking error (% a year)"  # above the panel
    assert (scatter.xaxis.label.get_text(), scatter.yaxis.label.get_text()) == ("Tracking error", "Excess return")
    # Every point and its name inside the panel, with room left: none sits on the frame.
    low, high = scatter.get_ylim()
    assert low < -1.5 and high > 0.0
    left, right = scatter.get_xlim()
    assert left < 0.0 and right > 3.4
    # ... and little more: the points spread over most of the panel, so their differences show.
    assert (3.4 - 0.0) / (right - left) > 0.7 and (0.0 - -1.5) / (high - low) > 0.7


def test_each_sizes_rolling_excess_is_a_box_of_its_quartiles_with_whiskers_at_5_and_95() -> None:
    fig = _line_figure()
    spread = fig.axes[1]
    q = np.array([np.percentile(r * 100, [5, 25, 50, 75, 95]) for r in ROLLING])
    boxes = [p for p in spread.patches if isinstance(p, Rectangle)]
    assert [b.get_y() for b in boxes] == pytest.approx(q[:, 1])
    assert [b.get_height() for b in boxes] == pytest.approx(q[:, 3] - q[:, 1])
    assert [b.get_x() + b.get_width() / 2 for b in boxes] == pytest.approx(range(4))
    assert all(b.get_facecolor()[3] == 0 for b in boxes)  # hollow: the whiskers and median show through
    whiskers, caps, medians = _segments(spread)
    assert np.allclose(sorted((s[0][0], s[0][1], s[1][1]) for s in whiskers.get_segments()),
                       sorted([(x, q[x, 0], q[x, 1]) for x in range(4)] + [(x, q[x, 3], q[x, 4]) for x in range(4)]))
    assert np.allclose(sorted((s[0][0], s[1][0], s[0][1]) for s in caps.get_segments()),
                       sorted([(x - 0.12, x + 0.12, q[x, k]) for x in range(4) for k in (0, 4)]))
    assert np.allclose([(s[0][0], s[1][0], s[0][1]) for s in medians.get_segments()],
                       [(x - 0.25, x + 0.25, q[x, 2]) for x in range(4)])
    assert not np.allclose(medians.get_color()[0], whiskers.get_color()[0])  # the median stands out
    assert [t.get_text() for t in spread.get_xticklabels()] == SIZES
    assert spread.get_xlim() == pytest.approx((-0.6, 3.6))
    assert spread.xaxis.label.get_text() == "Points in IJR"
    low, high = spread.get_ylim()
    assert low < q.min() and q.max() < high  # every whisker on the panel
    assert any(list(line.get_ydata()) == [0, 0] for line in spread.get_lines())


def test_under_three_years_the_spread_panel_says_why_it_is_empty() -> None:
    fig = _line_figure(rolling=[np.zeros(0)] * 4)
    spread = fig.axes[1]
    assert not spread.axison and not spread.patches
    assert [t.get_text() for t in spread.texts] == ["Rolling 3-year windows need 3 years of data"]
    (note,) = spread.texts
    assert note.get_position() == (0.5, 0.5) and note.get_transform() == spread.transAxes
    assert outside_canvas(fig) == [] and overlapping(solid_texts(fig)) == []


@pytest.mark.parametrize("demo", [False, True])
def test_the_line_chart_reads_inside_its_canvas_and_fits_a_chat_upload(demo: bool) -> None:
    labels = ChartLabels(LABELS.title, LABELS.as_of, LABELS.source, demo=demo, basis=LABELS.basis)
    fig = _line_figure(labels=labels)
    texts = [t.get_text() for t in fig.texts]
    assert texts[:2] == [LABELS.title, "2016-07-14 → 2026-07-14 (10.0y) · As of 2026-07-14 · Source: CSV folder · "
                         + LABELS.basis]
    assert ("DEMO DATA — not real prices" in texts) is demo
    assert outside_canvas(fig) == [] and too_small(fig) == []
    assert overlapping(solid_texts(fig)) == []
    png = sweep_line_chart(SIZES, EXCESS, TRACKING, ROLLING, "Points in IJR", labels, DATES)
    assert png.startswith(PNG_SIGNATURE) and len(png) < PLATFORM_FILE_LIMIT
    assert decode(png).shape[:2] == PIXELS


ROWS, COLUMNS = ["0", "10", "20"], ["0", "5", "10", "15"]
GRID_EXCESS = np.array([[0.0, 0.004, 0.008, 0.012], [-0.01, -0.006, -0.002, 0.002], [-0.02, -0.016, -0.012, np.nan]])
GRID_IR = np.array([[np.nan, 0.5, 0.51, 0.523], [-1.2, -0.8, -0.25, 0.1], [-1.5, -1.1, -0.9, np.nan]])


def _grid_figure(excess=GRID_EXCESS, labels=LABELS):
    return build_sweep_grid_figure(ROWS, COLUMNS, excess, GRID_IR, "Points in IJR", "Points in SMH", labels, DATES)


def test_the_grid_colours_each_cell_by_its_excess_centred_on_zero() -> None:
    fig = _grid_figure()
    ax = fig.axes[0]
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    shown = image.get_array()
    assert np.allclose(shown.filled(np.nan), GRID_EXCESS * 100, equal_nan=True)
    assert image.get_clim() == pytest.approx((-2.0, 2.0))  # symmetric about 0, out to the largest move
    assert image.get_cmap().name == "PuOr_r" and image.origin == "lower"  # row "0" at the bottom
    assert [t.get_text() for t in ax.get_xticklabels()] == COLUMNS
    assert [t.get_text() for t in ax.get_yticklabels()] == ROWS
    assert (ax.xaxis.label.get_text(), ax.yaxis.label.get_text()) == ("Points in SMH", "Points in IJR")
    colour_bar = fig.axes[1]
    assert colour_bar.yaxis.label.get_text() == "% a year"
    assert colour_bar.get_ylim() == pytest.approx((-2.0, 2.0))
    # The grid fills the chart's width beside its colour bar: cells stretch to it rather than stay square.
    fig.canvas.draw()
    assert ax.bbox.width > 0.6 * fig.bbox.width and colour_bar.bbox.x0 > ax.bbox.x1


def test_each_cell_prints_its_excess_and_information_ratio_readable_on_its_colour() -> None:
    ax = _grid_figure().axes[0]
    cells = {t.get_position(): t for t in ax.texts}
    assert len(cells) == 12
    assert cells[(3, 2)].get_text() == "n/a"  # a cell without a figure says so, never "+nan%"
    assert cells[(0, 0)].get_text() == "+0.0%"  # no IR on the zero tilt, none printed as "nan"
    assert cells[(1, 0)].get_text() == "+0.4%\nIR 0.50"
    assert cells[(3, 0)].get_text() == "+1.2%\nIR 0.52"
    assert cells[(0, 2)].get_text() == "-2.0%\nIR -1.50"
    # The light text on the dark ends only: beyond 60% of the largest move (1.2 of 2.0), either way.
    white = {xy for xy, t in cells.items() if mcolors.to_hex(t.get_color()) == "#ffffff"}
    assert white == {(0, 2), (1, 2)}
    assert all(t.get_ha() == "center" and t.get_va() == "center" for t in cells.values())


def test_a_grid_of_tiny_or_missing_moves_keeps_a_readable_scale() -> None:
    tiny = np.full((3, 4), 0.0002)
    (image,) = [a for a in _grid_figure(tiny).axes[0].get_children() if isinstance(a, AxesImage)]
    assert image.get_clim() == pytest.approx((-0.1, 0.1))  # not a scale of +-0.02%, where dust looks dark
    (image,) = [a for a in _grid_figure(np.full((3, 4), np.nan)).axes[0].get_children() if isinstance(a, AxesImage)]
    assert image.get_clim() == pytest.approx((-1.0, 1.0))


@pytest.mark.parametrize("demo", [False, True])
def test_the_grid_chart_reads_inside_its_canvas_and_fits_a_chat_upload(demo: bool) -> None:
    labels = ChartLabels(LABELS.title, LABELS.as_of, LABELS.source, demo=demo, basis=LABELS.basis)
    fig = _grid_figure(labels=labels)
    assert outside_canvas(fig) == [] and too_small(fig) == []
    assert overlapping(solid_texts(fig)) == []
    png = sweep_grid_chart(ROWS, COLUMNS, GRID_EXCESS, GRID_IR, "Points in IJR", "Points in SMH", labels, DATES)
    assert png.startswith(PNG_SIGNATURE) and len(png) < PLATFORM_FILE_LIMIT
    assert decode(png).shape[:2] == PIXELS


def test_the_png_is_the_figure_drawn() -> None:
    from analysis.charts import render_png

    assert sweep_line_chart(SIZES, EXCESS, TRACKING, ROLLING, "Points in IJR", LABELS, DATES) == \
        render_png(_line_figure())
    assert sweep_grid_chart(ROWS, COLUMNS, GRID_EXCESS, GRID_IR, "Points in IJR", "Points in SMH", LABELS, DATES) == \
        render_png(_grid_figure())


def test_a_box_reads_as_one_box_and_its_median_as_the_points_colour() -> None:
    fig = _line_figure()
    scatter, spread = fig.axes
    boxes = [p for p in spread.patches if isinstance(p, Rectangle)]
    whiskers, caps, medians = _segments(spread)
    # Box edges, whiskers and caps one dark colour, readable on white; the median in the points' colour.
    edge = boxes[0].get_edgecolor()
    assert edge[3] == 1.0 and contrast(edge[:3]) >= 4.5
    assert all(np.allclose(c, edge) for c in (*whiskers.get_color(), *caps.get_color()))
    assert np.allclose(medians.get_color()[0], mcolors.to_rgba(scatter.get_lines()[0].get_color()))
    # The median spans its box exactly, and boxes keep a gap between neighbours.
    assert all(b.get_width() == pytest.approx(s[1][0] - s[0][0]) for b, s in zip(boxes, medians.get_segments()))
    assert all(b.get_width() < 1 for b in boxes)


def test_a_size_without_rolling_windows_gets_no_box_while_the_others_keep_theirs() -> None:
    rolling = [np.zeros(0), *ROLLING[1:]]
    spread = _line_figure(rolling=rolling).axes[1]
    boxes = [p for p in spread.patches if isinstance(p, Rectangle)]
    assert np.isnan(boxes[0].get_height()) and np.isnan(boxes[0].get_y())
    assert [b.get_height() for b in boxes[1:]] == pytest.approx(
        [np.percentile(r * 100, 75) - np.percentile(r * 100, 25) for r in ROLLING[1:]])


def test_size_names_sit_beside_their_points_inside_the_panel_over_a_muted_zero_line_and_a_grid() -> None:
    fig = _line_figure()
    fig.canvas.draw()
    scatter, spread = fig.axes
    names = [t for t in scatter.texts if isinstance(t, Annotation)]
    to_pixels = scatter.transData.transform
    for name in names:
        box = extent(name)
        x, y = to_pixels(name.xy)
        assert box.x0 > x and box.y0 > y  # up and right of its point, not over it
        assert scatter.bbox.x0 <= box.x0 and box.x1 <= scatter.bbox.x1 and box.y1 <= scatter.bbox.y1
    # The spread panel: its title, its axis named by the caller, no y label of its own (the scatter's says it).
    assert spread.get_title(loc="left") == "Rolling 3-year excess (% a year)" and not spread.texts
    assert spread.yaxis.label.get_text() == ""
    for ax in (scatter, spread):
        zero = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0, 0]]
        assert len(zero) == 1
        r, g, b, _ = mcolors.to_rgba(zero[0].get_color())
        assert r == g == b and 0.2 < r < 0.8  # a grey rule, not a line in the points' colour
        assert all(line.get_visible() for line in ax.yaxis.get_gridlines())


def test_the_grid_panel_says_what_its_cells_hold() -> None:
    ax = _grid_figure().axes[0]
    assert ax.get_title(loc="left") == "Excess return a year over the benchmark (and information ratio)"


@pytest.mark.parametrize("build", [_line_figure, _grid_figure])
def test_words_with_dollar_signs_are_printed_as_written(build) -> None:
    labels = ChartLabels(title="Tilt $10k of SPY into $2k of IJR", as_of="2026-07-14", source="$ feed $",
                         basis="fees: $0 to $5 a trade", demo=True)
    fig = build(labels=labels)
    fig.canvas.draw()
    texts = [t for t in fig.texts if "$" in t.get_text()]
    assert len(texts) == 2 and not_literal(texts) == []


@pytest.mark.parametrize("build", [_line_figure, _grid_figure])
def test_the_demo_badge_clears_the_panel_titles_and_the_watermark_lies_faint_across_the_middle(build) -> None:
    fig = build(labels=ChartLabels(LABELS.title, LABELS.as_of, LABELS.source, demo=True))
    fig.canvas.draw()
    # Two marks, as on every chart: a badge at the top right and this watermark.
    badge, mark = [t for t in fig.texts if t.get_text() == "DEMO DATA — not real prices"]
    # Its red box, not only its words, clears the panel titles below it.
    box = badge.get_bbox_patch().get_window_extent(fig.canvas.get_renderer())
    titles = [t for t in drawn_texts(fig) if t.get_text() in {ax.get_title(loc="left") for ax in fig.axes}]
    assert badge.get_rotation() == 0 and len(titles) == len(fig.axes) - (build is _grid_figure) and box.y0 > max(extent(t).y1 for t in titles)
    box = extent(mark)
    assert box.x0 < fig.bbox.width / 2 < box.x1 and box.y0 < fig.bbox.height / 2 < box.y1
    assert mark.get_fontsize() >= 30 and mark.get_rotation() != 0 and mark.get_fontweight() == "bold"
    r, g, b, _ = mcolors.to_rgba(mark.get_color())
    assert r > 0.6 and g < 0.4 and b < 0.4 and mark.get_alpha() < 0.5  # faint red over the panels
    assert mark.get_zorder() > max(ax.get_zorder() for ax in fig.axes)
