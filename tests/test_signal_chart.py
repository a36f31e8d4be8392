"""A signal card's chart (``analysis.signal_chart``): what it draws, over which window, and whether it reads.

The expected lines are computed here with plain pandas from the fixture's CSV rows (``tests.expected.closes``),
or written out by hand for a ten-close example, never through ``analysis.rules``' own arrays.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from analysis.charts import BENCHMARK_COLOUR, DPI, FIGSIZE_IN, ChartLabels
from analysis.rules import PREDEFINED, Evaluation, Level, Momentum, Rule, Subject, evaluate
from analysis.signal_chart import TRUE_SHADE, build_signal_figure, chart_window, signal_chart
from tests.chart_checks import (
    PLATFORM_FILE_LIMIT,
    PNG_SIGNATURE,
    decode,
    extent,
    outside_canvas,
    overlapping,
    same_colour,
    solid_texts,
    too_small,
)
from tests.expected import closes

LABELS = ChartLabels(title="Signal smallcaps · IWM/SPY above sma200", as_of="2026-07-14", source="CSV folder")
MOMENTUM = Rule(Subject("SMH"), Momentum(12, "m"), "above", Level(0.0, percent=True))
# Ten closes by hand: true on closes 0-1, 4-6 and 8-9.
TEN_DATES = pd.bdate_range("2020-01-01", periods=10)
TEN_QUANTITIES = np.array([0.1, 0.2, -0.1, -0.2, 0.3, 0.3, 0.1, -0.1, 0.2, 0.05])


def _ten(rule: Rule = MOMENTUM) -> Evaluation:
    thresholds = np.zeros(10)
    return Evaluation(rule=rule, dates=TEN_DATES, quantities=TEN_QUANTITIES, thresholds=thresholds,
                      states=TEN_QUANTITIES > thresholds)


def _lines(fig):
    quantity, threshold = fig.axes[0].get_lines()
    return quantity, threshold


@pytest.fixture(scope="module")
def smallcaps(prices_dir: Path) -> tuple[pd.Series, pd.Series]:
    """IWM/SPY on their common closes and its 200-close simple average, in plain pandas."""
    ratio = (pd.Series(closes(prices_dir, "IWM")) / pd.Series(closes(prices_dir, "SPY"))).dropna().sort_index()
    ratio.index = pd.DatetimeIndex(ratio.index)
    return ratio, ratio.rolling(200).mean()


def test_the_chart_draws_the_last_three_years_of_the_ratio_and_its_average(prices_dir: Path, smallcaps) -> None:
    ratio, average = smallcaps
    frame = pd.DataFrame({t: pd.Series(closes(prices_dir, t)) for t in ("IWM", "SPY")}).sort_index()
    frame.index = pd.DatetimeIndex(frame.index)
    window = chart_window(evaluate(PREDEFINED["smallcaps"], frame))
    last = ratio.index[-1]
    shown = ratio.index[ratio.index >= last - pd.DateOffset(years=3)]  # the close exactly 3 years back included
    assert list(window.dates) == list(shown)
    fig = build_signal_figure(window, LABELS, quantity_label="IWM/SPY", threshold_label="IWM/SPY sma200")
    quantity, threshold = _lines(fig)
    assert list(quantity.get_xdata()) == list(mdates.date2num(shown))
    assert quantity.get_ydata() == pytest.approx(ratio[shown].to_numpy(), rel=1e-12)  # a price: drawn as is
    assert threshold.get_ydata() == pytest.approx(average[shown].to_numpy(), rel=1e-9)
    assert fig.axes[0].get_title(loc="left") == "IWM/SPY"  # no "(%)" on a ratio
    footer = [t.get_text() for t in fig.texts if " → " in t.get_text()]
    assert footer[0].startswith(f"{shown[0]:%Y-%m-%d} → {last:%Y-%m-%d} (3.0y) · As of 2026-07-14 · Source: CSV")
    low, high = fig.axes[0].get_ylim()
    both = np.concatenate([ratio[shown], average[shown]])
    assert low < both.min() and both.max() < high  # every point on the panel


def test_a_short_history_is_drawn_whole(prices_dir: Path, smallcaps) -> None:
    ratio, _ = smallcaps
    start = ratio.index[-1] - pd.DateOffset(years=2)
    frame = pd.DataFrame({t: pd.Series(closes(prices_dir, t)) for t in ("IWM", "SPY")}).sort_index()
    frame.index = pd.DatetimeIndex(frame.index)
    full = evaluate(PREDEFINED["smallcaps"], frame.loc[frame.index >= start - pd.DateOffset(days=300)])
    assert list(chart_window(full).dates) == list(full.dates)
    assert list(chart_window(full, years=1).dates) == [d for d in full.dates if d >= full.dates[-1]
                                                       - pd.DateOffset(years=1)]


def test_a_percent_quantity_is_drawn_in_percent_and_says_so() -> None:
    fig = build_signal_figure(_ten(), LABELS, quantity_label="SMH momentum 12m", threshold_label="0%")
    quantity, threshold = _lines(fig)
    assert list(quantity.get_ydata()) == pytest.approx([10, 20, -10, -20, 30, 30, 10, -10, 20, 5])
    assert list(threshold.get_ydata()) == [0.0] * 10
    assert fig.axes[0].get_title(loc="left") == "SMH momentum 12m (%)"


def test_the_shade_covers_every_run_of_closes_where_the_rule_held_top_to_bottom() -> None:
    fig = build_signal_figure(_ten(), LABELS, quantity_label="SMH momentum 12m", threshold_label="0%")
    ax = fig.axes[0]
    (shade,) = ax.collections
    x = mdates.date2num(TEN_DATES)
    runs = [(x[0], x[1]), (x[4], x[6]), (x[8], x[9])]  # each run from its first close to its last
    spans = [(p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in shade.get_paths()]
    assert spans == runs
    # In the x axis's blend: data x, axes y from the bottom (0) to the top (1) of the panel.
    assert all(set(p.vertices[:, 1]) == {0.0, 1.0} for p in shade.get_paths())
    assert shade.get_transform() == ax.get_xaxis_transform()
    assert same_colour(shade.get_facecolor()[0][:3], TRUE_SHADE)
    # Behind both lines, and the quantity over its threshold.
    quantity, threshold = _lines(fig)
    assert shade.get_zorder() < threshold.get_zorder() < quantity.get_zorder()


def test_the_legend_names_each_line_in_its_colour_and_the_threshold_stands_apart() -> None:
    fig = build_signal_figure(_ten(), LABELS, quantity_label="SMH momentum 12m", threshold_label="0%")
    quantity, threshold = _lines(fig)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["SMH momentum 12m", "0%", "rule true"]
    line_handle, threshold_handle, shade_handle = legend.legend_handles
    for handle, line in ((line_handle, quantity), (threshold_handle, threshold)):  # each drawn as its line
        assert same_colour(handle.get_color(), line.get_color()) and handle.get_linewidth() == line.get_linewidth()
        assert handle.get_linestyle() == line.get_linestyle() and handle._dash_pattern == line._dash_pattern
    assert threshold.get_linestyle() != "-"
    assert same_colour(shade_handle.get_facecolor()[:3], TRUE_SHADE)
    # The threshold grey and dashed, the quantity a solid colour and thicker: told apart without colour vision.
    assert same_colour(threshold.get_color(), BENCHMARK_COLOUR) and quantity.get_linestyle() == "-"
    assert not same_colour(quantity.get_color(), BENCHMARK_COLOUR)
    assert quantity.get_linewidth() > threshold.get_linewidth()


@pytest.mark.parametrize("demo", [False, True])
def test_the_signal_chart_reads_inside_its_canvas_and_fits_a_chat_upload(prices_dir: Path, demo: bool) -> None:
    frame = pd.DataFrame({t: pd.Series(closes(prices_dir, t)) for t in ("IWM", "SPY")}).sort_index()
    frame.index = pd.DatetimeIndex(frame.index)
    labels = ChartLabels(LABELS.title, LABELS.as_of, LABELS.source, demo=demo)
    evaluation = evaluate(PREDEFINED["smallcaps"], frame)
    fig = build_signal_figure(chart_window(evaluation), labels, quantity_label="IWM/SPY",
                              threshold_label="IWM/SPY sma200")
    assert outside_canvas(fig) == [] and too_small(fig) == []
    assert overlapping(solid_texts(fig)) == []
    fig.canvas.draw()
    dates = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(dates) >= 3  # a date axis with labels, under a one-panel chart
    png = signal_chart(evaluation, labels, quantity_label="IWM/SPY", threshold_label="IWM/SPY sma200")
    assert png.startswith(PNG_SIGNATURE) and len(png) < PLATFORM_FILE_LIMIT
    assert decode(png).shape[:2] == (int(FIGSIZE_IN[1] * 0.62 * DPI), round(FIGSIZE_IN[0] * DPI))


def test_the_window_fills_the_panel_edge_to_edge_under_a_one_row_legend() -> None:
    fig = build_signal_figure(_ten(), LABELS, quantity_label="SMH momentum 12m", threshold_label="0%")
    ax = fig.axes[0]
    x = mdates.date2num(TEN_DATES)
    assert ax.get_xlim() == pytest.approx((x[0], x[-1]))  # the first and last close on the panel's edges
    low, high = ax.get_ylim()
    assert low < -20 and high > 30
    assert (30 - -20) / (high - low) > 0.85  # and little more: the quantity fills the panel's height
    (legend,) = fig.legends
    assert legend._ncols == 3
    fig.canvas.draw()
    assert extent(legend).y0 > ax.bbox.y1 + 13  # the panel's title fits between
    assert extent(legend).x0 == pytest.approx((0.085 - 0.01) * fig.bbox.width, abs=2)  # top left, under the title
    assert extent(legend).y1 == pytest.approx(0.935 * fig.bbox.height, abs=2)
    assert ax.bbox.x0 > 0 and ax.bbox.x1 <= fig.bbox.x1 and ax.bbox.y0 > 0


def test_a_percent_threshold_is_drawn_in_percent_too_and_the_png_is_the_figure_drawn(prices_dir: Path) -> None:
    from analysis.charts import render_png

    rule = Rule(Subject("SMH"), Momentum(12, "m"), "above", Level(5.0, percent=True))
    evaluation = Evaluation(rule=rule, dates=TEN_DATES, quantities=TEN_QUANTITIES, thresholds=np.full(10, 0.05),
                            states=TEN_QUANTITIES > 0.05)
    fig = build_signal_figure(evaluation, LABELS, quantity_label="SMH momentum 12m", threshold_label="5%")
    _, threshold = _lines(fig)
    assert list(threshold.get_ydata()) == pytest.approx([5.0] * 10)
    png = signal_chart(evaluation, LABELS, quantity_label="SMH momentum 12m", threshold_label="5%")
    assert png == render_png(build_signal_figure(chart_window(evaluation), LABELS, quantity_label="SMH momentum 12m",
                                                 threshold_label="5%"))


def test_the_shade_is_light_enough_to_read_the_lines_through() -> None:
    fig = build_signal_figure(_ten(), LABELS, quantity_label="SMH momentum 12m", threshold_label="0%")
    (shade,) = fig.axes[0].collections
    assert shade.get_facecolor()[0][3] <= 0.3
