"""The house style every chart follows, stated here as the requirement (issue 25).

Each chart Tilt draws (compare, backtest with its monthly heatmap, rebased, signal, cycle, and the two /tilt charts)
is one product: the same title, footer, panel titles, tick labels, legend, grid and zero line, in the same few
colours.  The table below is the style; the tests check every drawn artist of every chart against it.  Changing
the look of the charts means changing this table on purpose.  (Whether a chart *reads* -- texts inside the canvas,
none over another, none under 8 pt -- is checked in each chart's own tests, with ``tests.chart_checks``.)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.charts import (
    ChartLabels,
    build_compare_figure,
    build_normalised_figure,
)
from analysis.cycle import cycle_figures, episodes
from analysis.cycle_chart import build_cycle_figure
from analysis.monthly_chart import build_backtest_monthly_figure
from analysis.rules import PREDEFINED, evaluate
from analysis.signal_chart import build_signal_figure, chart_window
from analysis.tilt_chart import build_sweep_grid_figure, build_sweep_line_figure
from tests.chart_checks import drawn_texts, solid_texts

# --- the house style ---------------------------------------------------------------------------------------------
INK = "#222222"  # titles, panel titles, axis and tick labels, legend names of grey lines
MUTED = "#555555"  # the footer and notes such as "n/a"
GRID = "#dddddd"
RULE = "#999999"  # spines and the zero line
DEMO_RED = "#c0392b"
# Okabe-Ito, the yellow's darker text form, and the benchmark's grey: what a name may be printed in, beside INK.
SERIES = ("#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7", "#000000", "#8a7e00", "#666666")
TITLE_PT = (13, 20)  # bold; 20 pt, shrunk towards 13 for a long title
PANEL_TITLE_PT = 13  # bold
PANEL_TITLE_PAD_PT = 7  # between the panel's top and the baseline of its title
LABEL_PT = 12  # tick labels, axis labels and legend names
FOOTER_PT = (8, 11)  # shrunk towards 8 for a long footer
PANEL_TEXT_PT = 10  # words on a panel: names beside points, figures in cells, "n/a" at a missing bar
PANEL_NOTE_PT = 12  # what an empty panel says instead of its data
END_LABEL_PT = (9, 12)  # bold, in the line's colour, right of the panel; shrunk towards 9 for long names
GRID_WIDTH = RULE_WIDTH = 0.8
MIN_LINE_WIDTH = 1.8  # a series' line
BENCHMARK_DASHES = (4.0, 2.0)
BENCHMARK_RULE_WIDTH = 1.4  # the benchmark's level of 1x across the relative-strength panel, dashed as its line
DEMO_BADGE_PT = 13  # bold white words on a red box, top right
DEMO_WATERMARK_PT = 40  # bold, faint red, tilted across the middle, over the panels
LEGEND_SWATCH = {"cycle": 1.6}  # font sizes long: 2.4 shows a line's dashes; the cycle chart's swatches are bars
LEGEND_COLUMN_GAP = 1.6  # font sizes between a legend's columns
# -------------------------------------------------------------------------------------------------------------------

TITLE = "IWM vs SPY"
KINDS = ("compare", "backtest", "rebased", "signal", "cycle", "tilt line", "tilt line under 3y", "tilt grid")


def _labels() -> ChartLabels:
    return ChartLabels(TITLE, "2026-07-14", "CSV folder", demo=True, basis="Adj Close: dividends reinvested")


def _prices(prices_dir: Path, tickers: list[str]) -> pd.DataFrame:
    return pd.concat({t: pd.read_csv(prices_dir / f"{t}.csv", index_col="Date", parse_dates=True)["Adj Close"]
                      for t in tickers}, axis=1, sort=True)


def _build(kind: str, prices_dir: Path) -> Figure:
    """One chart of ``kind`` on the fixture's real closes, with demo marks, so every part of it is drawn."""
    labels = _labels()
    pair = _prices(prices_dir, ["IWM", "SPY"]).dropna().loc["2021-07-14":]
    if kind == "compare":
        return build_compare_figure(pair, "SPY", labels)
    if kind == "backtest":
        monthly = pair["IWM"].resample("ME").last().pct_change().dropna()
        return build_backtest_monthly_figure(pair / pair.iloc[0] * 10_000, "SPY", labels,
                                             monthly.set_axis(monthly.index.to_period("M")), "IWM monthly returns (%)")
    if kind == "rebased":
        return build_normalised_figure(pair, labels, benchmark="SPY")
    if kind == "signal":
        evaluation = evaluate(PREDEFINED["smallcaps"], _prices(prices_dir, ["IWM", "SPY"]))
        return build_signal_figure(chart_window(evaluation), labels, quantity_label="IWM/SPY",
                                   threshold_label="200-day average")
    if kind == "cycle":
        figures = cycle_figures(_prices(prices_dir, ["IWM", "SGOV", "SPY"]), "SPY", episodes())
        return build_cycle_figure(figures, labels)
    dates = pd.DatetimeIndex([pair.index[0], pair.index[-1]])
    if kind.startswith("tilt line"):
        rolling = [np.zeros(1), np.linspace(-0.02, 0.01, 41), np.linspace(-0.04, 0.02, 41)]
        rolling = [r[:0] for r in rolling] if kind.endswith("under 3y") else rolling
        return build_sweep_line_figure(["0", "10", "20"], np.array([0.0, -0.004, -0.009]),
                                       np.array([0.0, 0.011, 0.022]), rolling, "Points in IWM", labels, dates)
    excess = np.array([[0.0, 0.004], [-0.01, np.nan]])
    return build_sweep_grid_figure(["0", "10"], ["0", "5"], excess, np.array([[np.nan, 0.5], [-1.2, np.nan]]),
                                   "Points in IWM", "Points in SMH", labels, dates)


def _ink(artist) -> str:
    return mcolors.to_hex(artist.get_color())


def _panels(fig: Figure) -> list:
    """The axes that hold data (colour bars and the heatmap's axes carry their own rules, below)."""
    return [ax for ax in fig.get_axes() if ax.axison and ax.get_label() != "<colorbar>" and not ax.images]


def _rules(ax) -> list[Line2D]:
    """Lines across the whole panel (``axhline``): the zero line, and the benchmark's own level of 1x."""
    return [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0, 1]]


def _zero_lines(ax) -> list[Line2D]:
    return [ln for ln in _rules(ax) if list(ln.get_ydata()) == [0, 0]]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def chart(kind: str, prices_dir: Path) -> Figure:
    fig = _build(kind, prices_dir)
    fig.canvas.draw()
    return fig


def _figure_texts(chart: Figure) -> list:
    return [t for part in (chart, *chart.subfigs) for t in part.texts]


def test_the_title_is_bold_ink_at_the_top_left_and_the_footer_muted_at_the_bottom(chart: Figure) -> None:
    (title,) = [t for t in _figure_texts(chart) if t.get_text() == TITLE]
    assert title.get_fontweight() == "bold" and _ink(title) == INK
    assert TITLE_PT[0] <= title.get_fontsize() <= TITLE_PT[1] and title.get_fontsize() == TITLE_PT[1]  # short: full
    assert (title.get_ha(), title.get_va()) == ("left", "top") and title.get_position()[0] < 0.1
    (footer,) = [t for t in _figure_texts(chart) if "As of 2026-07-14" in t.get_text()]
    assert _ink(footer) == MUTED and FOOTER_PT[0] <= footer.get_fontsize() <= FOOTER_PT[1]
    assert footer.get_fontweight() == "normal" and (footer.get_ha(), footer.get_va()) == ("left", "bottom")
    assert footer.get_position()[1] < 0.05 < 0.9 < title.get_position()[1]
    assert footer.get_position()[0] == title.get_position()[0]  # one left edge for both


def test_titles_footers_and_names_are_printed_as_written_never_as_tex(chart: Figure) -> None:
    # A "$" in a title, a panel title, the footer or a line's name is a dollar sign, not the start of a formula.
    panel_titles = [t for ax in chart.get_axes() for t in (ax.title, ax._left_title) if t.get_text()]
    end_labels = [t for ax in chart.get_axes() for t in _end_labels(ax)]
    assert panel_titles or chart.subfigs  # the monthly heatmap's title is its subfigure's text
    assert all(t.get_parse_math() is False for t in (*_figure_texts(chart), *panel_titles, *end_labels))


def test_panel_titles_are_bold_ink_on_the_left(chart: Figure) -> None:
    titles = [ax.get_title(loc="left") for ax in chart.get_axes()]
    assert any(titles)
    # The monthly heatmap's title sits above its month names, as its subfigure's text, styled as a panel title.
    for heat in chart.subfigs[1:]:
        (title,) = heat.texts
        assert (title.get_fontsize(), title.get_fontweight(), _ink(title)) == (PANEL_TITLE_PT, "bold", INK)
        assert (title.get_ha(), title.get_va()) == ("left", "top")
    for ax in chart.get_axes():
        if ax.get_title(loc="left"):
            drawn = [t for t in drawn_texts(chart) if t.axes is ax and t.get_text() == ax.get_title(loc="left")]
            assert drawn and all((t.get_fontsize(), t.get_fontweight(), _ink(t)) == (PANEL_TITLE_PT, "bold", INK)
                                 for t in drawn)
            for title in drawn:  # its baseline a fixed distance above the panel
                baseline = title.get_transform().transform(title.get_position())[1]
                assert baseline - ax.bbox.y1 == pytest.approx(PANEL_TITLE_PAD_PT * chart.dpi / 72)


def test_the_heatmaps_month_and_year_labels_are_ink(prices_dir: Path) -> None:
    chart = _build("backtest", prices_dir)
    # Drawn as outlines (a collection each for the cell figures, the months and the years), not as texts.
    (heat,) = chart.subfigs[1:]
    cells, months, years = heat.axes[0].collections
    assert len(months.get_paths()) == 12
    for labels in (months, years):
        assert {mcolors.to_hex(c) for c in labels.get_facecolors()} == {INK}


def test_tick_and_axis_labels_are_ink_at_the_label_size(chart: Figure) -> None:
    labelled = [ax for ax in chart.get_axes() if ax.axison]
    checked = 0
    for ax in labelled:
        for axis in (ax.xaxis, ax.yaxis):
            shown = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for text in [*shown, *([axis.label] if axis.label.get_text() else [])]:
                assert (text.get_fontsize(), _ink(text)) == (LABEL_PT, INK), text.get_text()
                checked += 1
    assert checked > 0 or chart.subfigs  # the monthly heatmap draws its labels as outlines, in ink


def test_the_legend_is_frameless_with_names_at_the_label_size_in_ink_or_their_series_colour(kind: str,
                                                                                           chart: Figure) -> None:
    legends = [legend for part in (chart, *chart.subfigs) for legend in part.legends]
    for legend in legends:
        assert not legend.get_frame_on()
        assert (legend.handlelength, legend.columnspacing) == (LEGEND_SWATCH.get(kind, 2.4), LEGEND_COLUMN_GAP)
        for text in legend.get_texts():
            assert text.get_fontsize() == LABEL_PT, text.get_text()
            # Names in ink; the cycle chart's in their bars' colours, as its swatches are pale.
            assert _ink(text) in (SERIES if kind == "cycle" else (INK,)), text.get_text()
    assert len(legends) == (0 if kind.startswith("tilt") else 1)  # the /tilt charts name their points instead


def test_the_grid_is_light_and_thin_and_the_zero_line_a_thin_grey_rule_under_the_data(chart: Figure) -> None:
    for ax in _panels(chart):
        gridlines = [ln for ln in (*ax.xaxis.get_gridlines(), *ax.yaxis.get_gridlines()) if ln.get_visible()]
        assert gridlines, ax.get_title(loc="left")
        assert {(_ink(ln), ln.get_linewidth()) for ln in gridlines} == {(GRID, GRID_WIDTH)}
        assert ax.get_axisbelow() is True
        assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
        assert {mcolors.to_hex(ax.spines[s].get_edgecolor()) for s in ("left", "bottom")} == {RULE}
        for zero in _zero_lines(ax):
            assert (_ink(zero), zero.get_linewidth()) == (RULE, RULE_WIDTH)
            data = [ln for ln in ax.get_lines() if ln not in _zero_lines(ax)]
            assert all(zero.get_zorder() < ln.get_zorder() for ln in data)


def test_series_lines_are_bold_in_the_palette_and_benchmark_lines_grey_and_dashed(chart: Figure) -> None:
    for ax in _panels(chart):
        for line in ax.get_lines():
            if line in _zero_lines(ax):
                continue  # the zero rule (above)
            assert _ink(line) in SERIES, line.get_label()  # colour-blind-safe, and never matplotlib's own blue
            if line.get_marker() not in ("None", None, ""):
                continue  # the /tilt chart's points, joined by a thin line
            if line in _rules(ax):  # the benchmark's own level across the relative-strength panel
                assert (line.get_linewidth(), line.get_linestyle()) == (BENCHMARK_RULE_WIDTH, "--")
            assert line.get_linewidth() >= (BENCHMARK_RULE_WIDTH if line in _rules(ax) else MIN_LINE_WIDTH)
            assert (line.get_linestyle() == "--") == (_ink(line) == "#666666"), line.get_label()  # the benchmark's
            if line.get_linestyle() == "--":
                assert tuple(line._dash_pattern[1]) == tuple(d * line.get_linewidth() for d in BENCHMARK_DASHES)


def test_every_solid_text_is_in_the_house_colours(chart: Figure) -> None:
    colours = {_ink(t) for t in solid_texts(chart)}
    assert colours <= {INK, MUTED, "#ffffff", DEMO_RED, *SERIES}
    assert {INK, MUTED, "#ffffff"} <= colours  # ink, the muted footer, the demo badge's white words


def test_words_on_a_panel_are_ink_or_white_on_dark_cells_and_notes_muted(kind: str, chart: Figure) -> None:
    words = [t for ax in chart.get_axes() for t in ax.texts if t.get_visible() and t.get_text()]
    for text in words:
        if text.get_transform() == text.axes.transAxes and text.get_position()[0] > 1:  # an end label
            assert text.get_fontweight() == "bold" and _ink(text) in SERIES, text.get_text()
            assert not text.get_clip_on()  # drawn right of the panel, so never clipped to it
            assert END_LABEL_PT[0] <= text.get_fontsize() <= END_LABEL_PT[1]
        elif _ink(text) == MUTED:
            assert text.get_fontsize() == (PANEL_TEXT_PT if text.get_text() == "n/a" else PANEL_NOTE_PT), text.get_text()
        else:
            assert _ink(text) in (INK, "#ffffff") and text.get_fontsize() == PANEL_TEXT_PT, text.get_text()
    notes = {t.get_text() for t in words if _ink(t) == MUTED}
    expected = {"cycle": {"n/a"}, "tilt line under 3y": {"Rolling 3-year windows need 3 years of data"}}.get(kind, set())
    assert notes == expected
    for note in (t for t in words if _ink(t) == MUTED and t.get_text() != "n/a"):
        # In the middle of the panel it stands for.
        assert note.get_transform() == note.axes.transAxes and note.get_position() == (0.5, 0.5)
        assert (note.get_ha(), note.get_va()) == ("center", "center")


def test_demo_data_is_marked_by_a_red_badge_and_a_faint_red_watermark(chart: Figure) -> None:
    badge, watermark = [t for t in _figure_texts(chart) if t.get_text() == "DEMO DATA — not real prices"]
    assert (badge.get_fontsize(), badge.get_fontweight(), _ink(badge)) == (DEMO_BADGE_PT, "bold", "#ffffff")
    assert mcolors.to_hex(badge.get_bbox_patch().get_facecolor()) == DEMO_RED and badge.get_rotation() == 0
    assert (watermark.get_fontsize(), watermark.get_fontweight(), _ink(watermark)) == (DEMO_WATERMARK_PT, "bold",
                                                                                         DEMO_RED)
    assert watermark.get_alpha() < 0.2 and watermark.get_rotation() > 0
    assert watermark.get_zorder() > max(ax.get_zorder() for ax in chart.get_axes())


# --- each chart's own marks --------------------------------------------------------------------------------------
# Beyond the shared style, the marks particular to one chart, as designed (sizes in points, areas in points squared).
LINE_CAPS = "round"  # series lines end round, so a line's last point reads as its end, not a cut
END_DOT_AREA = 28  # the dot at each line's end, beside its end label: over the lines, never clipped
END_LABEL_PITCH = 1.2  # end labels pushed apart stand this many of their line heights apart, centre to centre
BADGE_DEPTH_IN = 0.536  # the demo badge's top, below the top edge, on a chart of any height (the legend row's top)
WATERMARK_TILT = 24  # degrees
TICK_LENGTH_PT = 4  # on the value axes; a category axis (the cycle chart's phases) has no tick marks
TILT_POINT = {"markersize": 7, "linewidth": 1.2}  # the /tilt chart's sizes, joined by a thin line
TILT_POINT_NAME_OFFSET = (6, 6)  # points right of and above its point
TILT_BOX_WIDTH, TILT_MEDIAN_WIDTH = 1.0, 2.2  # the box, whiskers and caps in ink; the median in the point colour
COLOUR_BAR_GAP_IN = 0.231  # between the /tilt heatmap and its colour bar
CYCLE_DOT = {"area": 30, "edge": 0.7}  # one episode, in its ticker's colour, with an ink rim
SIGNAL_LINE = ("#d55e00", 2.2)  # the quantity the rule reads, vermillion and bold over its grey threshold
SIGNAL_SWATCH_ALPHA = 0.25  # the legend's swatch of the true shade, darker than the band (0.13) to be seen
HEATMAP_TOP_IN = 0.55  # room above the monthly cells for the panel title and the month names
MONTHS_ABOVE_TICKS_PT = 2.0  # the month names' baseline over the tick marks and their pad


def _series_lines(ax) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if ln not in _rules(ax) and ln.get_marker() in ("None", None, "")]


def _dots(ax) -> list:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def _end_labels(ax) -> list:
    return [t for t in ax.texts if t.get_transform() == ax.transAxes and t.get_position()[0] > 1]


@pytest.mark.parametrize("kind", ["compare", "backtest", "rebased"])
def test_series_lines_end_round_and_each_ends_in_a_dot_over_the_lines(kind: str, prices_dir: Path) -> None:
    chart = _build(kind, prices_dir)
    chart.canvas.draw()
    for ax in _panels(chart):
        assert {ln.get_solid_capstyle() for ln in _series_lines(ax)} == {LINE_CAPS}
    panels = [ax for ax in _panels(chart) if _end_labels(ax)]
    assert len(panels) == {"rebased": 1}.get(kind, 2)  # every panel but the drawdowns, whose ends are all near 0
    for ax in panels:
        (dots,) = _dots(ax)
        assert len(dots.get_offsets()) == len(_end_labels(ax)) and set(dots.get_sizes()) == {END_DOT_AREA}
        assert dots.get_zorder() > max(ln.get_zorder() for ln in ax.get_lines()) and not dots.get_clip_on()
        # Each label level with its slot: pushed apart from its neighbours, never above or below its own place.
        assert {t.get_va() for t in _end_labels(ax)} == {"center"}


def test_end_labels_pushed_apart_stand_a_line_and_a_fifth_apart() -> None:
    # Eight lines ending at one value: every label is pushed, so each stands exactly one pitch from the next.
    dates = pd.bdate_range("2026-01-02", periods=60)
    path = np.linspace(100.0, 120.0, len(dates))
    prices = pd.DataFrame({f"T{i}": path for i in range(8)}, index=dates)
    fig = build_normalised_figure(prices, _labels())
    fig.canvas.draw()
    (ax,) = fig.axes
    labels = _end_labels(ax)
    centres = np.sort([ax.transAxes.transform(t.get_position())[1] for t in labels])
    (size,) = {t.get_fontsize() for t in labels}
    assert np.diff(centres) == pytest.approx(np.full(7, END_LABEL_PITCH * size * fig.dpi / 72), abs=0.01)


def test_the_drawdown_wash_has_no_edge_and_lies_under_every_line(prices_dir: Path) -> None:
    ax = _build("compare", prices_dir).axes[1]
    (wash,) = [c for c in ax.collections if c not in _dots(ax)]
    assert set(wash.get_linewidths()) == {0}
    assert wash.get_zorder() < min(ln.get_zorder() for ln in _series_lines(ax))


def test_the_demo_badge_hangs_at_one_depth_and_the_watermark_at_one_tilt(chart: Figure) -> None:
    for part in (chart, *chart.subfigs):
        for text in (t for t in part.texts if t.get_text() == "DEMO DATA — not real prices"):
            if text.get_rotation() == 0:
                depth = (1 - text.get_position()[1]) * part.bbox.height / chart.dpi
                assert depth == pytest.approx(BADGE_DEPTH_IN, abs=1e-6)
            else:
                assert text.get_rotation() == WATERMARK_TILT


def test_the_tilt_charts_points_boxes_and_colour_bar(prices_dir: Path) -> None:
    scatter, spread = _build("tilt line", prices_dir).axes
    (joined,) = [ln for ln in scatter.get_lines() if ln.get_marker() == "o"]
    assert {"markersize": joined.get_markersize(), "linewidth": joined.get_linewidth()} == TILT_POINT
    names = [t for t in scatter.texts if t.get_text() in ("0", "10", "20")]
    assert len(names) == 3 and {(n.xyann, n.anncoords) for n in names} == {(TILT_POINT_NAME_OFFSET, "offset points")}
    boxes = [p for p in spread.patches]
    assert boxes and {(p.get_linewidth(), mcolors.to_hex(p.get_edgecolor())) for p in boxes} == {(TILT_BOX_WIDTH, INK)}
    *whiskers_and_caps, median = spread.collections
    for part in whiskers_and_caps:
        assert set(part.get_linewidths()) == {TILT_BOX_WIDTH} and _ink_of(part) == {INK}
    assert set(median.get_linewidths()) == {TILT_MEDIAN_WIDTH} and _ink_of(median) == {_ink(joined)}
    grid = _build("tilt grid", prices_dir)
    grid.canvas.draw()
    heat, bar = grid.axes
    assert (bar.bbox.x0 - heat.bbox.x1) / grid.dpi == pytest.approx(COLOUR_BAR_GAP_IN, abs=0.005)


def _ink_of(collection) -> set[str]:
    return {mcolors.to_hex(c) for c in collection.get_edgecolors()}


def test_the_cycle_charts_dots_notes_ticks_and_legend(prices_dir: Path) -> None:
    chart = _build("cycle", prices_dir)
    chart.canvas.draw()
    (ax,) = chart.axes
    dots = _dots(ax)
    assert dots and all(set(d.get_sizes()) == {CYCLE_DOT["area"]} and set(d.get_linewidths()) == {CYCLE_DOT["edge"]}
                        and _ink_of(d) == {INK} for d in dots)
    assert {t.get_rotation() for t in ax.texts if t.get_text() == "n/a"} == {90}  # up the bar that is missing
    assert {t.tick1line.get_markersize() for t in ax.xaxis.get_major_ticks()} == {0}
    assert {t.tick1line.get_markersize() for t in ax.yaxis.get_major_ticks()} == {TICK_LENGTH_PT}
    (legend,) = chart.legends
    assert [h.get_alpha() for h in legend.legend_handles] == [0.55] * len(legend.get_texts())  # as pale as the bars


def test_the_signal_charts_line_shade_and_legend(prices_dir: Path) -> None:
    chart = _build("signal", prices_dir)
    (ax,) = chart.axes
    quantity = max(ax.get_lines(), key=lambda ln: ln.get_zorder())
    assert (_ink(quantity), quantity.get_linewidth()) == SIGNAL_LINE
    (shade,) = ax.collections
    assert set(shade.get_linewidths()) == {0}  # a band without edges: where the rule held, not a line around it
    (legend,) = chart.legends
    assert legend.legend_handles[2].get_alpha() == SIGNAL_SWATCH_ALPHA


def test_the_monthly_heatmap_leaves_room_above_and_sets_its_month_names_clear_of_the_ticks(prices_dir: Path) -> None:
    heat = _build("backtest", prices_dir).subfigs[1]
    (ax,) = heat.axes
    assert (heat.bbox.y1 - ax.bbox.y1) / heat.dpi == pytest.approx(HEATMAP_TOP_IN)
    _cells, months, _years = ax.collections
    tick = ax.xaxis.get_major_ticks()[0]
    clear = tick.tick2line.get_markersize() + tick.get_pad()
    # The lowest ink of month names without descenders sits on the baseline, within a glyph's overshoot.
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    for name in ("Feb", "Mar", "Oct", "Nov", "Dec"):
        bottom = months.get_paths()[names.index(name)].vertices[:, 1].min()
        assert bottom == pytest.approx(clear + MONTHS_ABOVE_TICKS_PT, abs=0.3), name
    # The outlines are in points: "Mar" as wide as matplotlib sets it at the month size (10 pt).
    from matplotlib.textpath import TextPath
    drawn = months.get_transform().transform_path(months.get_paths()[2]).get_extents().width
    assert drawn == pytest.approx(TextPath((0, 0), "Mar", size=LABEL_PT - 2).get_extents().width * heat.dpi / 72)


# --- ticks -------------------------------------------------------------------------------------------------------
# Each value axis: at most so many intervals, at round steps (matplotlib's MaxNLocator with these parameters; None is
# its default ladder 1-1.5-2-2.5-3-4-5-6-8).  Short panels get fewer labels, so they never crowd.
ROUND_STEPS = (1, 2, 2.5, 5, 10)
VALUE_TICKS = {  # (chart, panel): (intervals, steps)
    ("compare", 0): (5, ROUND_STEPS),  # growth of $10,000, on a linear scale
    ("compare", 1): (4, ROUND_STEPS),  # drawdown
    ("compare", 2): (5, ROUND_STEPS),  # relative strength, linear
    ("backtest", 2): (4, ROUND_STEPS),  # rolling 3-year CAGR
    ("cycle", 0): (6, ROUND_STEPS),
    ("tilt line", 0): (5, None),  # excess return against tracking error
    ("tilt line", 1): (5, None),  # rolling 3-year excess
}


@pytest.mark.parametrize(("kind", "panel"), list(VALUE_TICKS))
def test_value_axes_tick_at_round_steps_within_their_budget(kind: str, panel: int, prices_dir: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = _build(kind, prices_dir).axes[panel]
    assert ax.get_yscale() == "linear"
    intervals, steps = VALUE_TICKS[(kind, panel)]
    expected = MaxNLocator(nbins=intervals, steps=steps)
    axes = [ax.yaxis, *([ax.xaxis] if (kind, panel) == ("tilt line", 0) else [])]  # tracking error too
    # Over spans from a third of a unit to thousands, wherever they start, the ticks are the ones the budget gives.
    for low in np.linspace(-50.0, 50.0, 11):
        for span in np.geomspace(0.3, 3_000.0, 25):
            for axis in axes:
                got = axis.get_major_locator().tick_values(low, low + span)
                assert list(got) == pytest.approx(list(expected.tick_values(low, low + span))), (low, span)
