"""Comparison charts on real prices from the tests' fixture (``tests/data/prices``).

Expected values are recomputed here from the raw CSV rows, not through the
module's helpers, so a wrong convention in ``analysis.charts`` cannot agree
with itself.
"""

from __future__ import annotations

import io
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator

from analysis.charts import (
    BENCHMARK_COLOUR,
    DEMO_TEXT,
    DPI,
    FIGSIZE_IN,
    MAX_POINTS_PER_LINE,
    OKABE_ITO,
    ChartLabels,
    _distinct,
    _dollars,
    _log_ticks,
    _percent,
    _times,
    backtest_chart,
    build_backtest_figure,
    build_compare_figure,
    build_normalised_figure,
    compare_chart,
    downsample_positions,
    emptied,
    render_png,
)
from tests.chart_checks import (
    boxes_overlap,
    contrast,
    drawn_texts,
    extent,
    not_literal,
    outline_boxes,
    outside_canvas,
    overlapping,
    same_colour,
    solid_texts,
    too_small,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PIXELS = (round(FIGSIZE_IN[1] * DPI), round(FIGSIZE_IN[0] * DPI))  # (rows, columns)
LABELS = ChartLabels(title="SMH vs SOXX vs SPY", as_of="2026-07-14", source="Yahoo Finance")
EIGHT = ["QQQ", "XLK", "XLF", "XLE", "XLV", "XLU", "DIA", "SPY"]


def _read(prices_dir: Path, ticker: str) -> pd.Series:
    return pd.read_csv(prices_dir / f"{ticker}.csv", index_col="Date", parse_dates=True)["Adj Close"].rename(ticker)


def _aligned(prices_dir: Path, tickers: list[str], years: int | None = None) -> pd.DataFrame:
    """Common dates of ``tickers``, optionally only the last ``years`` of them."""
    frame = pd.concat([_read(prices_dir, t) for t in tickers], axis=1, join="inner", sort=True)
    if years is not None:
        frame = frame.loc[frame.index >= frame.index[-1] - pd.DateOffset(years=years)]
    return frame


def _line(fig: Figure, panel: int, ticker: str):
    (line,) = [ln for ln in fig.axes[panel].get_lines() if ln.get_label() == ticker]
    return line


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _decode(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def semis_10y(prices_dir: Path) -> pd.DataFrame:
    return _aligned(prices_dir, ["SMH", "SOXX", "SPY"], years=10)


@pytest.fixture(scope="module")
def eight_25y(prices_dir: Path) -> pd.DataFrame:
    return _aligned(prices_dir, EIGHT, years=25)


@pytest.fixture(scope="module")
def semis_10y_png(semis_10y: pd.DataFrame) -> bytes:
    return compare_chart(semis_10y, "SPY", LABELS)


def test_png_decodes_to_the_figure_size(semis_10y_png: bytes) -> None:
    assert semis_10y_png.startswith(PNG_SIGNATURE)
    assert _decode(semis_10y_png).shape[:2] == PIXELS


def test_eight_tickers_over_25_years_stay_under_1_mb(eight_25y: pd.DataFrame) -> None:
    assert len(eight_25y) > 6_000
    png = compare_chart(eight_25y, "SPY", ChartLabels("Sectors vs SPY", "2026-07-14", "Yahoo Finance"))
    assert len(png) < 1_000_000
    assert _decode(png).shape[:2] == PIXELS


def test_eight_noisy_series_over_30_years_stay_under_1_mb() -> None:
    # Worst case for PNG compression: 8 jagged random walks, 30 years of weekdays.
    dates = pd.bdate_range("1996-01-01", periods=30 * 261)
    steps = np.random.default_rng(7).normal(0.0003, 0.03, size=(len(dates), 8))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=[f"T{i}" for i in range(8)])
    png = compare_chart(prices, "T0", ChartLabels("Noise", "2026-01-01", "synthetic", demo=True))
    assert len(png) < 1_000_000


def test_title_as_of_and_source_are_on_the_image(semis_10y: pd.DataFrame) -> None:
    text = "\n".join(_texts(build_compare_figure(semis_10y, "SPY", LABELS)))
    assert LABELS.title in text
    assert LABELS.as_of in text
    assert LABELS.source in text


@pytest.mark.parametrize("demo", [False, True])
def test_demo_label_only_on_demo_data(semis_10y: pd.DataFrame, demo: bool) -> None:
    labels = ChartLabels(LABELS.title, LABELS.as_of, LABELS.source, demo=demo)
    texts = _texts(build_compare_figure(semis_10y, "SPY", labels))
    assert any("DEMO DATA" in t for t in texts) is demo
    assert (DEMO_TEXT in texts) is demo


def test_log_scale_for_long_semis_history_and_linear_for_one_year(prices_dir: Path) -> None:
    long = _aligned(prices_dir, ["SMH", "SPY"])
    short = _aligned(prices_dir, ["SMH", "SPY"], years=1)
    assert build_compare_figure(long, "SPY", LABELS).axes[0].get_yscale() == "log"
    assert build_compare_figure(short, "SPY", LABELS).axes[0].get_yscale() == "linear"
    assert build_compare_figure(short, "SPY", LABELS, log_scale=True).axes[0].get_yscale() == "log"
    assert build_compare_figure(long, "SPY", LABELS, log_scale=False).axes[0].get_yscale() == "linear"


def test_growth_line_ends_at_10000_times_total_return(prices_dir: Path) -> None:
    # Long history, so the line is downsampled and the last point must survive it.
    prices = _aligned(prices_dir, ["SMH", "SPY"])
    assert len(prices) > MAX_POINTS_PER_LINE
    raw = _read(prices_dir, "SMH")
    expected = 10_000.0 * float(raw.loc[prices.index[-1]]) / float(raw.loc[prices.index[0]])
    line = _line(build_compare_figure(prices, "SPY", LABELS), 0, "SMH")
    assert line.get_ydata()[-1] == pytest.approx(expected, rel=1e-9)
    assert line.get_ydata()[0] == pytest.approx(10_000.0, rel=1e-12)
    assert line.get_xdata()[-1] == mdates.date2num(prices.index[-1])
    assert len(line.get_xdata()) <= MAX_POINTS_PER_LINE


def test_relative_strength_ends_at_ratio_of_total_returns(prices_dir: Path, semis_10y: pd.DataFrame) -> None:
    first, last = semis_10y.index[0], semis_10y.index[-1]
    smh, spy = _read(prices_dir, "SMH"), _read(prices_dir, "SPY")
    expected = (float(smh[last]) / float(smh[first])) / (float(spy[last]) / float(spy[first]))
    fig = build_compare_figure(semis_10y, "SPY", LABELS)
    assert _line(fig, 2, "SMH").get_ydata()[-1] == pytest.approx(expected, rel=1e-9)
    assert [ln.get_label() for ln in fig.axes[2].get_lines() if not ln.get_label().startswith("_")] == ["SMH", "SOXX"]
    assert any(list(ln.get_ydata()) == [1.0, 1.0] for ln in fig.axes[2].get_lines())


def test_backtest_bottom_panel_is_the_rolling_three_year_cagr(prices_dir: Path, semis_10y: pd.DataFrame) -> None:
    last = semis_10y.index[-1]
    smh = _read(prices_dir, "SMH").loc[semis_10y.index]
    base = smh.loc[:last - pd.DateOffset(years=3)].iloc[-1]  # the last close 3 calendar years back
    line = _line(build_backtest_figure(semis_10y, "SPY", LABELS), 2, "SMH")
    assert line.get_ydata()[-1] == pytest.approx(100.0 * ((smh[last] / base) ** (1 / 3) - 1), rel=1e-9)
    # The line starts once 3 years of history lie behind a point.
    first = semis_10y.index[semis_10y.index >= semis_10y.index[0] + pd.DateOffset(years=3)][0]
    assert line.get_xdata()[0] == mdates.date2num(first)


def test_drawdown_panel_keeps_the_deepest_trough_in_percent(prices_dir: Path) -> None:
    prices = _aligned(prices_dir, ["SMH", "SPY"])
    values = _read(prices_dir, "SMH").loc[prices.index].to_numpy()
    deepest = 100.0 * float(np.min(values / np.maximum.accumulate(values) - 1.0))
    line = _line(build_compare_figure(prices, "SPY", LABELS), 1, "SMH")
    assert min(line.get_ydata()) == pytest.approx(deepest, rel=1e-9)
    assert deepest < -80.0  # the 2000-2002 semiconductor crash


def test_benchmark_is_grey_and_dashed_others_okabe_ito(eight_25y: pd.DataFrame) -> None:
    fig = build_compare_figure(eight_25y, "SPY", LABELS)
    spy = _line(fig, 0, "SPY")
    assert spy.get_color() == BENCHMARK_COLOUR
    assert spy.get_linestyle() != "-"
    others = [_line(fig, 0, t) for t in EIGHT if t != "SPY"]
    assert all(ln.get_color() in OKABE_ITO and ln.get_linestyle() == "-" for ln in others)
    assert len({ln.get_color() for ln in others}) == len(others)


def test_end_labels_do_not_overlap(eight_25y: pd.DataFrame) -> None:
    fig = build_compare_figure(eight_25y, "SPY", LABELS)
    renderer = fig.canvas.get_renderer()
    for ax in (fig.axes[0], fig.axes[2]):
        boxes = sorted((t.get_window_extent(renderer) for t in ax.texts), key=lambda b: b.y0)
        assert len(boxes) >= 7
        assert all(lower.y1 <= upper.y0 + 0.5 for lower, upper in zip(boxes, boxes[1:]))


def test_concurrent_renders_match_sequential_ones(
    semis_10y: pd.DataFrame, semis_10y_png: bytes, prices_dir: Path
) -> None:
    other = _aligned(prices_dir, ["QQQ", "IWM", "SPY"], years=5)
    other_labels = ChartLabels("QQQ vs IWM vs SPY", "2026-07-14", "Yahoo Finance", demo=True)
    other_png = compare_chart(other, "SPY", other_labels)
    jobs = [(semis_10y, LABELS), (other, other_labels)] * 2
    start = threading.Barrier(len(jobs))

    def render(job: tuple[pd.DataFrame, ChartLabels]) -> bytes:
        start.wait()
        return compare_chart(job[0], "SPY", job[1])

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(render, jobs))
    assert results == [semis_10y_png, other_png] * 2
    assert semis_10y_png != other_png


def test_render_png_accepts_any_figure() -> None:
    fig = Figure(figsize=(2, 1), dpi=50)
    png = render_png(fig)
    assert png.startswith(PNG_SIGNATURE)
    assert _decode(png).shape[:2] == (50, 100)


def test_downsample_keeps_ends_and_extremes() -> None:
    values = np.random.default_rng(3).normal(size=50_001).cumsum()
    keep = downsample_positions(values, max_points=500)
    assert len(keep) <= 500
    assert keep[0] == 0 and keep[-1] == len(values) - 1
    assert np.all(np.diff(keep) > 0)
    assert values[keep].min() == values.min() and values[keep].max() == values.max()
    assert list(downsample_positions(values[:300], max_points=500)) == list(range(300))


@pytest.mark.parametrize(
    ("mutate", "benchmark", "why"),
    [
        (lambda f: f, "VOO", "benchmark 'VOO' is not one of the columns ['SMH', 'SOXX', 'SPY']"),
        (lambda f: f.assign(SMH=f["SMH"].where(f.index != f.index[5])), "SPY",
         "prices must be aligned, finite and positive (no NaN)"),
        (lambda f: f.iloc[:1], "SPY", "prices needs at least two rows in increasing date order"),
        (lambda f: f.iloc[::-1], "SPY", "prices needs at least two rows in increasing date order"),
        # Nine lines, one more than the eight the compare charts are drawn with elsewhere.
        (lambda f: pd.concat([f.add_suffix(str(i)) for i in range(3)], axis=1).iloc[:, :8].assign(SPY=f["SPY"]),
         "SPY", "charts take at most 8 tickers, got 9"),
        (lambda f: f.reset_index(drop=True), "SPY", "prices needs a DatetimeIndex"),
    ],
    ids=["unknown-benchmark", "nan", "one-row", "unsorted", "too-many-tickers", "no-dates"],
)
def test_bad_input_is_refused(semis_10y: pd.DataFrame, mutate, benchmark: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(why)}$"):
        build_compare_figure(mutate(semis_10y), benchmark, LABELS)


def test_a_reused_figure_draws_the_same_png_as_a_new_one(prices_dir: Path) -> None:
    # Six tickers on log scales (NVDA ran far ahead) under a two-row legend, with demo marks; then two on
    # linear scales under one row; then the first again.
    many = _aligned(prices_dir, ["NVDA", "TSLA", "AAPL", "XLE", "XLU", "SPY"], years=15)
    many_labels = ChartLabels("Six vs SPY", "2026-07-14", "Yahoo Finance", demo=True)
    few, few_labels = _aligned(prices_dir, ["QQQ", "SPY"], years=1), ChartLabels("QQQ vs SPY", "2026-07-14", "CSV")
    first = build_compare_figure(many, "SPY", many_labels)
    assert [ax.get_yscale() for ax in first.axes] == ["log", "linear", "log"]
    many_png = render_png(first)
    second = build_compare_figure(few, "SPY", few_labels, onto=emptied(first))
    assert second is first and [ax.get_yscale() for ax in second.axes] == ["linear"] * 3
    assert render_png(second) == render_png(build_compare_figure(few, "SPY", few_labels))
    assert render_png(build_compare_figure(many, "SPY", many_labels, onto=emptied(second))) == many_png


def test_compare_chart_reuses_figures_and_draws_what_a_new_one_draws(semis_10y: pd.DataFrame,
                                                                     eight_25y: pd.DataFrame) -> None:
    eight_labels = ChartLabels("Sectors vs SPY", "2026-07-14", "Yahoo Finance")
    drawn = [compare_chart(frame, "SPY", labels) for frame, labels in [(eight_25y, eight_labels), (semis_10y, LABELS)] * 3]
    assert drawn[0::2] == [render_png(build_compare_figure(eight_25y, "SPY", eight_labels))] * 3
    assert drawn[1::2] == [render_png(build_compare_figure(semis_10y, "SPY", LABELS))] * 3


# --- what a chart says about its own window and values (issue 26) -----------------------------------------------


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.texts]


def _y_labels(fig: Figure, panel: int = 0) -> list[str]:
    fig.canvas.draw()
    ax = fig.axes[panel]
    low, high = ax.get_ylim()
    return [t.get_text() for t in ax.get_yticklabels() if t.get_visible() and low <= t.get_position()[1] <= high]


def test_every_chart_shows_its_date_range_and_as_of_date(prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["SGOV", "SPY"], years=10)  # asked for 10y, SGOV has 6.1
    start, end = frame.index[0], frame.index[-1]
    length = (end - start).days / 365.25
    footer = next(t for t in _texts(build_compare_figure(frame, "SPY", LABELS)) if t.startswith(f"{start:%Y-%m-%d}"))
    assert footer.startswith(f"{start:%Y-%m-%d} → {end:%Y-%m-%d} ({length:.1f}y) · As of 2026-07-14")
    assert f"({length:.1f}y)" == "(6.1y)"
    alone = build_backtest_figure(frame[["SPY"]], "SPY", LABELS)  # the benchmark alone is a chart too
    assert any(t.startswith(f"{start:%Y-%m-%d} → {end:%Y-%m-%d}") for t in _texts(alone))


@pytest.mark.parametrize("tickers", [["QQQ", "SPY"], EIGHT])
def test_log_axes_label_enough_values_across_the_lines(prices_dir: Path, tickers: list[str]) -> None:
    frame = _aligned(prices_dir, tickers, years=10)
    growth = 10_000 * frame / frame.iloc[0]
    fig = build_backtest_figure(frame, "SPY", LABELS)
    labels = _y_labels(fig)
    values = [float(t.replace("$", "").replace("k", "e3").replace(",", "")) for t in labels]
    assert fig.axes[0].get_yscale() == "log"
    assert len(labels) >= 4 and len(set(labels)) == len(labels)
    assert max(values) >= growth.to_numpy().max() / 2 and min(values) <= growth.to_numpy().min() * 2


def test_a_one_day_window_draws_no_hour_ticks_or_repeated_labels(prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["QQQ", "SPY"]).iloc[-2:]
    fig = build_compare_figure(frame, "SPY", LABELS)
    fig.canvas.draw()
    dates = [t.get_text() for t in fig.axes[2].get_xticklabels() if t.get_text()]
    assert dates == [f"{d:%b %d}" for d in frame.index]
    growth = _y_labels(fig)
    assert len(set(growth)) == len(growth) >= 2
    assert any("(1 day) · As of 2026-07-14 · Source: Yahoo Finance" in t for t in _texts(fig))


def test_a_long_footer_is_one_line_inside_the_figure(prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["QQQ", "SPY"], years=10)
    basis = "Adj Close: dividends reinvested, costs 10bp, expense ratios taken daily, no taxes"
    fig = build_backtest_figure(frame, "SPY", replace(LABELS, basis=basis))
    fig.canvas.draw()
    [footer] = [t for t in fig.texts if t.get_text().startswith(f"{frame.index[0]:%Y-%m-%d}")]
    assert footer.get_text().endswith(f"Source: {LABELS.source} · {basis}")  # the basis is part of the one line
    box = footer.get_window_extent()
    assert 0 <= box.x0 and box.x1 <= fig.bbox.x1  # shrunk to fit: nothing runs off the edge, nothing overlaps


# --- the /backtest chart: long names and the monthly heatmap in one figure (issue 27) ---------------------------


def _portfolio_values(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame``'s columns renamed as portfolios are named (their holdings), the last one kept as the benchmark."""
    return frame.set_axis([*names, frame.columns[-1]], axis=1)


@pytest.mark.parametrize("names, full_size", [
    (["SPY70 IJR20 SMH10"], True),  # cut at the right edge before
    (["SPY20 IJR20 SMH20 QQQ2"], False),  # fits at 10.5 pt: was cut ("QQ…") at 10.7, a few pixels too wide
    (["SPY10 IJR10 SMH10 QQQ10 XLK10 XLF10 XLE10 XLV10 XLU10 DIA10", "tactical smallcaps hold IWM else SPY"], False),
])
def test_end_labels_of_long_names_stay_inside_the_figure(prices_dir: Path, names: list[str], full_size: bool) -> None:
    frame = _portfolio_values(_aligned(prices_dir, ["QQQ", "IWM", "SPY"][-len(names) - 1:], years=10), names)
    fig = build_backtest_figure(frame, "SPY", LABELS)
    renderer = fig.canvas.get_renderer()
    for ax in (fig.axes[0], fig.axes[2]):
        labels = [t for t in ax.texts if t.get_text()]
        assert len(labels) == len(names) + 1
        for label in labels:
            box = label.get_window_extent(renderer)
            assert ax.bbox.x1 < box.x0 and box.x1 <= fig.bbox.x1  # right of the plot, inside the figure
        assert all(t.get_fontsize() == 12 for t in labels) is full_size
        # Shrunk before cut: a name loses characters only at the smallest size, 9 pt.
        assert all("…" not in t.get_text() for t in labels if t.get_fontsize() > 9)
        # A name may be cut short, never the value it ends with.
        assert labels[-1].get_text().startswith("SPY ")
        # Shrunk or cut no more than needed: a tenth of a point larger, or one more character of a name, would not fit.
        room = fig.bbox.x1 - 4 - labels[0].get_window_extent(renderer).x0  # 4 px kept free at the edge
        size = labels[0].get_fontsize()
        whole = [f"{name} {label.get_text().rsplit(' ', 1)[1]}" for name, label in zip([*names, "SPY"], labels)]
        assert round(size * 10) == size * 10 and 9 <= size <= 12
        assert max(_bold_width(renderer, text, size) for text in whole) <= room or size == 9
        if size < 12:
            assert max(_bold_width(renderer, text, size + 0.1) for text in whole) > room
        for label, name in zip(labels, names):
            kept, cut, value = label.get_text().partition("… ")
            assert _bold_width(renderer, label.get_text(), size) <= room
            if cut:
                longer = next(name[:k].rstrip() for k in range(len(kept) + 1, len(name)) if name[:k].rstrip() != kept)
                assert _bold_width(renderer, f"{longer}… {value}", size) > room
    if full_size:
        assert fig.axes[0].texts[0].get_text().startswith("SPY70 IJR20 SMH10 $")


def _bold_width(renderer, text: str, size: float) -> float:
    from matplotlib.font_manager import FontProperties

    return renderer.get_text_width_height_descent(text, FontProperties(size=size, weight="bold"), ismath=False)[0]


def test_the_backtest_chart_and_its_heatmap_are_one_figure_drawn_alike_when_reused(prices_dir: Path) -> None:
    from analysis.monthly_chart import HEAT_MARGIN_IN, ROW_IN, backtest_monthly_chart, build_backtest_monthly_figure

    ten = _portfolio_values(_aligned(prices_dir, ["QQQ", "SPY"], years=10), ["QQQ"])
    two = _portfolio_values(_aligned(prices_dir, ["IWM", "SPY"], years=2), ["IWM"])

    def monthly(frame: pd.DataFrame) -> pd.Series:
        month_end = frame.iloc[:, 0].groupby(frame.index.to_period("M")).last()
        return (month_end / month_end.shift(1) - 1).dropna()

    # Two years draw relative strength at the bottom (limits set by the chart), ten years the rolling CAGR (limits
    # from its lines): a reused figure once kept the first's limits for the second.
    drawn = [backtest_monthly_chart(frame, "SPY", LABELS, monthly(frame), "monthly returns (%)")
             for frame in (ten, two, ten)]
    fresh = [render_png(build_backtest_monthly_figure(frame, "SPY", LABELS, monthly(frame), "monthly returns (%)"))
             for frame in (ten, two)]
    assert drawn == [fresh[0], fresh[1], fresh[0]]
    for png, frame in zip(drawn, (ten, two)):
        years = monthly(frame).index.year.nunique()
        height = FIGSIZE_IN[1] + HEAT_MARGIN_IN + ROW_IN * years
        assert _decode(png).shape[:2] == (int(height * DPI), PIXELS[1])  # Agg drops a part pixel


def test_the_heatmap_prints_each_months_return_in_its_cell(prices_dir: Path) -> None:
    from analysis.monthly_chart import build_backtest_monthly_figure

    frame = _portfolio_values(_aligned(prices_dir, ["SMH", "SPY"], years=3), ["SMH"])
    month_end = frame["SMH"].groupby(frame.index.to_period("M")).last()
    returns = (month_end / month_end.shift(1) - 1).dropna()
    fig = build_backtest_monthly_figure(frame, "SPY", LABELS, returns, "SMH monthly returns (%)")
    panels, heat = fig.subfigs
    assert len(panels.axes) == 3 and len(heat.axes) == 1
    cells, months, years = heat.axes[0].collections  # figures, then month and year labels, drawn as outlines
    first_year = returns.index[0].year
    expected = {(r.month - 1, r.year - first_year) for r in returns.index}
    assert {(int(x), int(y)) for x, y in cells.get_offsets()} == expected
    assert [int(x) for x, _ in months.get_offsets()] == list(range(12))
    assert [int(y) for _, y in years.get_offsets()] == list(range(returns.index[-1].year - first_year + 1))
    # The darkest cells (beyond 60% of the largest move either way) print in white.
    limit = abs(returns * 100).max()
    white = sum(abs(returns * 100) > 0.6 * limit)
    assert sum(tuple(c) == (1.0, 1.0, 1.0, 1.0) for c in cells.get_facecolors()) == white > 0
    assert "SMH monthly returns (%)" in [t.get_text() for t in heat.texts]


# --- readability: every text inside the canvas, none over another, none too small (issue 25) --------------------


@pytest.mark.parametrize("title", ["IWM vs SPY", "Signal smallcaps · IWM/SPY above sma200",
                                   "IWM SGOV XSD QQQ vs SPY through the cycle, since 2000",
                                   "SPY10 IJR10 SMH10 QQQ10 XLK10 XLF10 XLE10 XLV10 XLU10 DIA10 vs SPY, monthly, 10y"])
def test_the_demo_badge_clears_titles_of_any_length_on_charts_of_any_height(prices_dir: Path, title: str) -> None:
    # The one-panel chart is 0.62 of the compare chart's height: its demo badge once covered the end of a title of
    # 37 to 60 characters, since the badge sat at a fraction of the height while the title keeps its size in points.
    frame = _aligned(prices_dir, ["IWM", "SPY"], years=1)
    labels = ChartLabels(title, "2026-07-14", "Yahoo Finance", demo=True)
    for fig in (build_compare_figure(frame, "SPY", labels), build_normalised_figure(frame, labels, benchmark="SPY")):
        texts = solid_texts(fig)
        assert DEMO_TEXT in [t.get_text() for t in texts] and title in [t.get_text() for t in texts]
        assert overlapping(texts) == []
        assert outside_canvas(fig, texts) == []


# --- what each panel says, in plain pandas on the fixture's rows (issue 25) -------------------------------------

FIVE = ["SMH", "XLU", "SPY"]  # five years: under the downsampling threshold, so every close is a point


@pytest.fixture(scope="module")
def five_years(prices_dir: Path) -> pd.DataFrame:
    return _aligned(prices_dir, FIVE, years=5)


@pytest.fixture  # built for each test: mutmut maps a function to the tests that call it, not to a shared fixture's
def five_years_figure(five_years: pd.DataFrame):
    fig = build_compare_figure(five_years, "SPY", LABELS)
    fig.canvas.draw()
    return fig


def _visible(ax) -> list:
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def test_each_panel_draws_growth_drawdown_and_relative_strength_of_every_close(five_years: pd.DataFrame,
                                                                               five_years_figure) -> None:
    fig, prices = five_years_figure, five_years
    assert len(prices) < MAX_POINTS_PER_LINE
    x = list(mdates.date2num(prices.index))
    for ticker in FIVE:
        p = prices[ticker].to_numpy()
        growth, drawdown = _line(fig, 0, ticker), _line(fig, 1, ticker)
        assert list(growth.get_xdata()) == x and list(drawdown.get_xdata()) == x
        assert growth.get_ydata() == pytest.approx(10_000 * p / p[0], rel=1e-12)
        assert drawdown.get_ydata() == pytest.approx(100 * (p / np.maximum.accumulate(p) - 1), abs=1e-9)
    spy = prices["SPY"].to_numpy()
    for ticker in FIVE[:-1]:
        p = prices[ticker].to_numpy()
        assert _line(fig, 2, ticker).get_ydata() == pytest.approx((p / p[0]) / (spy / spy[0]), rel=1e-12)
    # The benchmark is the 1x line on the relative panel, not a line of its own.
    assert [ln.get_label() for ln in _visible(fig.axes[2])] == FIVE[:-1]


def test_each_panel_is_titled_for_what_it_shows_and_formats_its_ticks_in_its_unit(five_years_figure) -> None:
    fig = five_years_figure
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["Growth of $10,000 · dividends reinvested",  # linear: SMH's best is under 10x XLU's low
                      "Drawdown from previous high", "Relative strength vs SPY · above 1× = ahead of SPY"]
    units = [_y_labels(fig, panel) for panel in range(3)]
    assert all(label.startswith("$") and label.endswith("k") for label in units[0])
    assert all(label.endswith("%") for label in units[1]) and any(label.startswith("\u2212") for label in units[1])
    assert all(label.endswith("×") for label in units[2])
    # At least two labels a panel (two fix a linear scale), none printed twice.
    assert all(len(labels) >= 2 and len(set(labels)) == len(labels) for labels in units)


def test_every_panels_limits_show_all_of_its_lines(five_years_figure, prices_dir: Path) -> None:
    long_fig = build_backtest_figure(_aligned(prices_dir, ["NVDA", "XLU", "SPY"], years=15), "SPY", LABELS)
    for fig in (five_years_figure, long_fig):
        for ax in fig.axes:
            low, high = ax.get_ylim()
            for line in ax.get_lines():
                assert low < min(line.get_ydata()) and max(line.get_ydata()) < high, ax.get_title(loc="left")
    assert [ax.get_yscale() for ax in long_fig.axes] == ["log", "linear", "linear"]
    assert long_fig.axes[0].get_title(loc="left").endswith(" · log scale")


def test_the_drawdown_panel_leaves_room_below_the_deepest_trough_and_shades_the_benchmarks(five_years: pd.DataFrame,
                                                                                          five_years_figure) -> None:
    ax = five_years_figure.axes[1]
    deepest = min(100 * (p / np.maximum.accumulate(p) - 1).min() for p in five_years.to_numpy().T)
    low, high = ax.get_ylim()
    assert low == pytest.approx(deepest * 1.08) and high == pytest.approx(-deepest * 0.04)
    (wash,) = ax.collections[:1]
    spy = five_years["SPY"].to_numpy()
    assert same_colour(wash.get_facecolor()[0][:3], BENCHMARK_COLOUR)
    assert wash.get_facecolor()[0][3] <= 0.2  # a light wash: the lines over it, the benchmark's among them, show
    assert min(wash.get_paths()[0].vertices[:, 1]) == pytest.approx(100 * (spy / np.maximum.accumulate(spy) - 1).min())
    assert max(wash.get_paths()[0].vertices[:, 1]) == 0.0
    assert any(list(ln.get_ydata()) == [0.0, 0.0] for ln in ax.get_lines())


def test_a_shallow_drawdown_still_shows_a_percent_of_depth(prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["SHY", "BIL"], years=1)  # T-bills barely fall
    deepest = float((frame / frame.cummax() - 1).min().min()) * 100
    low, high = build_compare_figure(frame, "BIL", LABELS).axes[1].get_ylim()
    # A 1% floor under a trough shallower than it, and half a percent above 0 for the line along the top.
    assert -1.0 < deepest * 1.08 and (low, high) == pytest.approx((-1.0, 0.5))


def test_the_legend_and_end_labels_name_each_line_in_its_colour(five_years: pd.DataFrame, five_years_figure) -> None:
    fig = five_years_figure
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["SMH", "XLU", "SPY (benchmark)"]
    for handle, ticker in zip(legend.legend_handles, FIVE):
        line = _line(fig, 0, ticker)
        assert same_colour(handle.get_color(), line.get_color()) and handle.get_linestyle() == line.get_linestyle()
    growth = fig.axes[0]
    last = five_years.iloc[-1] / five_years.iloc[0] * 10_000
    labels = {t.get_text().split()[0]: t for t in growth.texts}
    assert [t.get_text() for t in growth.texts] == [f"{t} ${last[t] / 1000:.3g}k" for t in FIVE]
    dots = growth.collections[0]
    assert np.allclose(dots.get_offsets(), [(mdates.date2num(five_years.index[-1]), last[t]) for t in FIVE])
    for ticker, colour in zip(FIVE, dots.get_facecolors()):
        line = _line(fig, 0, ticker)
        assert same_colour(colour[:3], line.get_color())
        assert same_colour(labels[ticker].get_color(), line.get_color())
        assert labels[ticker].get_fontweight() == "bold"
        box = extent(labels[ticker])
        assert growth.bbox.x1 < box.x0  # just right of the plot
    relative = fig.axes[2]
    spy = five_years["SPY"]
    ratio = {t: five_years[t].iloc[-1] / five_years[t].iloc[0] / (spy.iloc[-1] / spy.iloc[0]) for t in FIVE[:-1]}
    assert [t.get_text() for t in relative.texts] == [f"{t} {ratio[t]:.2f}×" for t in FIVE[:-1]]


def test_end_labels_sit_at_their_lines_ends_unless_they_would_collide(five_years: pd.DataFrame,
                                                                      five_years_figure) -> None:
    growth = five_years_figure.axes[0]
    ends = five_years.iloc[-1] / five_years.iloc[0] * 10_000
    to_axes = growth.transData + growth.transAxes.inverted()
    wanted = {t: to_axes.transform((mdates.date2num(five_years.index[-1]), ends[t]))[1] for t in FIVE}
    placed = {t.get_text().split()[0]: t.get_position() for t in growth.texts}
    gap = 12 * DPI / 72 * 1.2 / growth.bbox.height
    for ticker in FIVE:
        x, y = placed[ticker]
        assert x == pytest.approx(1.015)
        others = [wanted[t] for t in FIVE if t != ticker]
        if all(abs(wanted[ticker] - o) > gap * 2 for o in others):
            assert y == pytest.approx(wanted[ticker])


@pytest.mark.parametrize(("wanted", "gap", "placed"), [
    ([0.5, 0.2], 0.1, [0.5, 0.2]),  # apart already: untouched
    ([0.5, 0.5], 0.1, [0.5, 0.6]),  # a tie: the second pushed up, in column order
    ([0.52, 0.5, 0.51], 0.1, [0.7, 0.5, 0.6]),  # a crowd spreads upward from its lowest
    ([0.99, 0.98], 0.1, [1.0, 0.9]),  # at the ceiling: pushed down instead, inside the panel
    ([1.4, -0.3], 0.1, [1.0, 0.0]),  # ends off the panel (a clipped axis) are brought to its edges
])
def test_end_labels_are_spread_at_least_a_gap_apart_inside_the_panel(wanted, gap, placed) -> None:
    from analysis.charts import _spread

    assert list(_spread(np.array(wanted), gap)) == pytest.approx(placed)


@pytest.mark.parametrize(("value", "dollars", "percent", "times"), [
    (10_000.0, "$10k", "1e+04%", "1e+04×"),
    (12_345.0, "$12.3k", "1.23e+04%", "1.23e+04×"),
    (2_500_000.0, "$2.5M", "2.5e+06%", "2.5e+06×"),
    (3.1e9, "$3.1B", "3.1e+09%", "3.1e+09×"),
    (999.0, "$999", "999%", "999×"),
    (-12.345, "$-12.3", "\u221212.3%", "-12.3×"),
    (-1e-15, "$-1e-15", "0%", "-1e-15×"),
    (1.5, "$1.5", "1.5%", "1.5×"),
])
def test_tick_formats_say_their_unit_in_three_figures(value: float, dollars: str, percent: str, times: str) -> None:
    assert (_dollars(value, None), _percent(value, None), _times(value, None)) == (dollars, percent, times)


@pytest.mark.parametrize(("days", "text"), [(1, "(1 day)"), (2, "(2 days)"), (59, "(59 days)"), (60, "(0.2y)"),
                                            (3653, "(10.0y)")])
def test_the_span_says_days_under_two_months_and_years_past_them(days: int, text: str) -> None:
    from analysis.charts import span_text

    start = pd.Timestamp("2016-07-14")
    end = start + pd.Timedelta(days=days)
    assert span_text(start, end) == f"2016-07-14 → {end:%Y-%m-%d} {text}"


@pytest.mark.parametrize(("length", "size"), [(1, 20.0), (50, 20.0), (60, 20 * 50 / 60), (76, 20 * 50 / 76),
                                              (77, 13.0), (200, 13.0)])
def test_long_titles_shrink_to_fit_down_to_a_readable_size(five_years: pd.DataFrame, length: int,
                                                            size: float) -> None:
    title = ("SPY60 IJR20 SMH20 rebalanced yearly vs SPY " * 5)[:length]
    fig = build_compare_figure(five_years, "SPY", replace(LABELS, title=title))
    (drawn,) = [t for t in fig.texts if t.get_text() == title]
    assert drawn.get_fontsize() == pytest.approx(size)
    assert drawn.get_fontweight() == "bold"
    if length <= 120:
        assert outside_canvas(fig, [drawn]) == []


def test_a_long_footer_shrinks_in_proportion_to_its_length(five_years: pd.DataFrame) -> None:
    basis = "Adj Close: dividends reinvested, costs 10bp, expense ratios taken daily, no taxes"
    fig = build_compare_figure(five_years, "SPY", replace(LABELS, basis=basis))
    (footer,) = [t for t in fig.texts if " → " in t.get_text()]
    assert len(footer.get_text()) > 106
    assert footer.get_fontsize() == pytest.approx(11 * 106 / len(footer.get_text()))
    (short,) = [t for t in build_compare_figure(five_years, "SPY", replace(LABELS, basis="")).texts
                if " → " in t.get_text()]
    assert len(short.get_text()) < 106 and short.get_fontsize() == 11 and short.get_text().endswith("Yahoo Finance")
    assert footer.get_color() == short.get_color() and footer.get_position()[1] < 0.05  # at the bottom


def test_the_demo_marks_are_a_badge_top_right_and_a_watermark_across_the_middle(five_years: pd.DataFrame) -> None:
    fig = build_compare_figure(five_years, "SPY", replace(LABELS, demo=True))
    badge, watermark = [t for t in fig.texts if t.get_text() == DEMO_TEXT]
    box = extent(badge)
    assert box.x1 <= fig.bbox.x1 and box.x1 > 0.9 * fig.bbox.width and box.y0 > fig.axes[0].bbox.y1
    assert badge.get_bbox_patch() is not None and same_colour(badge.get_color(), "white")
    assert contrast("white", badge.get_bbox_patch().get_facecolor()) >= 4.5  # white on red, readable
    middle = extent(watermark)
    assert middle.x0 < fig.bbox.width / 2 < middle.x1 and middle.y0 < fig.bbox.height / 2 < middle.y1
    assert watermark.get_alpha() < 0.5 and watermark.get_rotation() != 0 and watermark.get_zorder() > 2
    # Large, bold, faint red, whole on the canvas.
    assert watermark.get_fontsize() >= 30 and watermark.get_fontweight() == "bold"
    r, g, b, _ = mcolors.to_rgba(watermark.get_color())
    assert r > 0.6 and g < 0.4 and b < 0.4
    assert outside_canvas(fig, [watermark]) == []
    assert abs((middle.x0 + middle.x1) / 2 - 0.46 * fig.bbox.width) < 2  # centred where it is placed
    assert abs((middle.y0 + middle.y1) / 2 - 0.47 * fig.bbox.height) < 2


@pytest.mark.parametrize("tickers", [["QQQ", "SPY"], FIVE, EIGHT])
@pytest.mark.parametrize("demo", [False, True])
def test_compare_and_backtest_charts_read_inside_the_canvas(prices_dir: Path, tickers: list[str], demo: bool) -> None:
    frame = _aligned(prices_dir, tickers, years=10)
    labels = replace(LABELS, demo=demo)
    for fig in (build_compare_figure(frame, "SPY", labels), build_backtest_figure(frame, "SPY", labels)):
        texts = solid_texts(fig)
        assert outside_canvas(fig, texts) == [] and too_small(fig) == []
        assert overlapping(texts) == []


def test_the_legend_takes_two_rows_past_five_tickers_and_the_panels_start_below_it(eight_25y: pd.DataFrame,
                                                                                   five_years_figure) -> None:
    eight = build_compare_figure(eight_25y, "SPY", LABELS)
    for fig, columns in ((five_years_figure, 3), (eight, 4)):
        (legend,) = fig.legends
        assert legend._ncols == columns
        fig.canvas.draw()
        assert extent(legend).y0 > fig.axes[0].bbox.y1 + 13  # the growth panel's title fits between
        assert extent(legend).x0 == pytest.approx((0.085 - 0.01) * fig.bbox.width, abs=2)  # top left, under the title
        assert extent(legend).y1 == pytest.approx(0.935 * fig.bbox.height, abs=2)
    assert eight.axes[0].bbox.y1 < five_years_figure.axes[0].bbox.y1


def test_log_tick_labels_never_crowd_a_short_panel(prices_dir: Path) -> None:
    # SMH ran to 6.7x SPY and XLU fell to 0.5x over ten years: about one decade on a panel 148 px tall, where the
    # dense steps 1-1.5-2-3-4-5-7 put 1.5x on 2x and 3x, 4x, 5x on one another.
    fig = build_compare_figure(_aligned(prices_dir, ["SMH", "XLU", "SPY"], years=10), "SPY", LABELS)
    ax = fig.axes[2]
    assert ax.get_yscale() == "log" and 1.0 < np.log10(np.divide(*ax.get_ylim()[::-1])) < 1.2
    labels = _y_labels(fig, 2)
    shown = [t for t in ax.get_yticklabels() if t.get_text() in labels]
    assert len(shown) >= 3 and overlapping(shown) == []


def test_only_the_benchmark_is_grey_and_the_others_take_the_palette_in_order(eight_25y: pd.DataFrame) -> None:
    from analysis.charts import LINE_COLOURS

    order = ["SPY", *[t for t in EIGHT if t != "SPY"]]  # the benchmark first: it takes no palette colour
    fig = build_compare_figure(eight_25y[order], "SPY", LABELS)
    colours = [mcolors.to_hex(_line(fig, 0, t).get_color()).upper() for t in order]
    assert colours == [BENCHMARK_COLOUR, *LINE_COLOURS[:7]]
    assert LINE_COLOURS[-1] == "#F0E442"  # yellow, the palette's faintest on white, comes last
    assert all(_line(fig, 0, t).get_zorder() > _line(fig, 0, "SPY").get_zorder() for t in order[1:])


# --- the one-panel chart of watchlists and digests --------------------------------------------------------------


@pytest.mark.parametrize(("tickers", "benchmark"), [(["SMH", "XLU", "SPY"], "SPY"), (EIGHT, None)])
def test_the_normalised_chart_rebases_every_line_to_100_and_names_it(prices_dir: Path, tickers: list[str],
                                                                     benchmark: str | None) -> None:
    from analysis.charts import normalised_chart

    frame = _aligned(prices_dir, tickers).iloc[-21:]  # a month of closes, as a digest draws
    fig = build_normalised_figure(frame, LABELS, benchmark=benchmark)
    (ax,) = fig.axes
    assert ax.get_title(loc="left") == "Rebased to 100 · dividends reinvested"
    x = list(mdates.date2num(frame.index))
    for ticker in tickers:
        line = _line(fig, 0, ticker)
        assert list(line.get_xdata()) == x
        assert line.get_ydata() == pytest.approx(100 * frame[ticker].to_numpy() / frame[ticker].iloc[0], rel=1e-12)
        assert (line.get_linestyle() != "-") is (ticker == benchmark)
        assert same_colour(line.get_color(), BENCHMARK_COLOUR) is (ticker == benchmark)
    ends = 100 * frame.iloc[-1] / frame.iloc[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{t} {ends[t]:.0f}" for t in tickers)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"{t} (benchmark)" if t == benchmark else t
                                                          for t in tickers]
    assert legend._ncols == (3 if len(tickers) == 3 else 4)
    low, high = ax.get_ylim()
    assert low < 100 * (frame / frame.iloc[0]).to_numpy().min() and 100 * (frame / frame.iloc[0]).to_numpy().max() < high
    fig.canvas.draw()
    dates = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(dates) >= 3 and len(set(dates)) == len(dates)
    assert any(t.get_text().startswith(f"{frame.index[0]:%Y-%m-%d} → {frame.index[-1]:%Y-%m-%d} (")
               for t in fig.texts)
    texts = solid_texts(fig)
    assert outside_canvas(fig, texts) == [] and too_small(fig) == [] and overlapping(texts) == []
    assert extent(legend).y0 > ax.bbox.y1 + 13 and ax.bbox.x0 > 0  # the panel title fits under the legend
    png = normalised_chart(frame, LABELS, benchmark=benchmark)
    assert png == render_png(fig)
    assert _decode(png).shape[:2] == (int(FIGSIZE_IN[1] * 0.62 * DPI), PIXELS[1])


# --- the /backtest heatmap of monthly returns ---------------------------------------------------------------------


def test_monthly_grid_puts_each_return_in_its_year_and_month_and_leaves_the_rest_blank() -> None:
    from analysis.monthly_chart import monthly_grid

    months = pd.period_range("2023-11", "2024-02", freq="M")
    grid = monthly_grid(pd.Series([0.01, -0.02, 0.03, 0.04], index=months))
    assert list(grid.index) == [2023, 2024] and list(grid.columns) == list(range(1, 13))
    assert (grid.loc[2023, 11], grid.loc[2023, 12], grid.loc[2024, 1], grid.loc[2024, 2]) == (0.01, -0.02, 0.03, 0.04)
    assert int(grid.notna().sum().sum()) == 4


@pytest.fixture  # built for each test, as five_years_figure
def heatmap_figure(prices_dir: Path):
    from analysis.monthly_chart import build_backtest_monthly_figure

    frame = _aligned(prices_dir, ["SMH", "SPY"], years=3).set_axis(["SMH", "SPY"], axis=1)
    month_end = frame["SMH"].groupby(frame.index.to_period("M")).last()
    returns = (month_end / month_end.shift(1) - 1).dropna()
    returns.iloc[1] = -0.0004  # prints as 0.0, never as -0.0
    fig = build_backtest_monthly_figure(frame, "SPY", replace(LABELS, demo=True), returns, "SMH monthly returns (%)")
    fig.canvas.draw()
    return fig, returns


def test_the_heatmap_colours_months_on_a_scale_centred_on_zero_first_year_on_top(heatmap_figure) -> None:
    fig, returns = heatmap_figure
    panels, heat = fig.subfigs
    (ax,) = heat.axes
    (image,) = ax.images
    first = returns.index[0].year
    shown = image.get_array().filled(np.nan)
    assert shown.shape == (returns.index[-1].year - first + 1, 12)
    for period, value in returns.items():
        assert shown[period.year - first, period.month - 1] == pytest.approx(100 * value)
    assert np.isnan(shown).sum() == shown.size - len(returns)
    limit = 100 * returns.abs().max()
    assert image.get_clim() == pytest.approx((-limit, limit)) and image.get_cmap().name == "PuOr_r"
    assert ax.get_xlim() == (-0.5, 11.5) and ax.get_ylim() == (len(shown) - 0.5, -0.5)  # first year at the top
    assert panels.bbox.y0 == pytest.approx(heat.bbox.y1) and len(panels.axes) == 3  # the three panels above it


def test_each_cells_figure_is_centred_on_its_cell_and_never_minus_zero(heatmap_figure) -> None:
    from matplotlib.textpath import TextPath

    fig, returns = heatmap_figure
    (ax,) = fig.subfigs[1].axes
    cells = ax.collections[0]
    # Each cell's outline matched to its figure, written here.
    first = returns.index[0].year
    expected = {(p.month - 1, p.year - first): f"{round(100 * v, 1) + 0.0:.1f}" for p, v in returns.items()}
    assert "0.0" in expected.values() and "-0.0" not in expected.values()
    for path, (column, row) in zip(cells.get_paths(), cells.get_offsets()):
        box, written = path.get_extents(), TextPath((0, 0), expected[int(column), int(row)], size=8).get_extents()
        assert (box.width, box.height) == pytest.approx((written.width, written.height), abs=1e-6)
        assert ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_month_and_year_labels_sit_outside_the_cells_inside_the_canvas(heatmap_figure) -> None:
    fig, returns = heatmap_figure
    heat = fig.subfigs[1]
    (ax,) = heat.axes
    cells, months, years = ax.collections
    month_boxes, year_boxes = outline_boxes(months), outline_boxes(years)
    assert len(month_boxes) == 12 and len(year_boxes) == returns.index[-1].year - returns.index[0].year + 1
    to_pixels = ax.transData.transform
    for column, box in enumerate(month_boxes):
        assert box.y0 > ax.bbox.y1 + 3.5 * DPI / 72  # above the tick marks
        assert (box.x0 + box.x1) / 2 == pytest.approx(to_pixels((column, 0))[0], abs=0.5)  # over its column
    for row, box in enumerate(year_boxes):
        assert box.x1 < ax.bbox.x0 - 3.5 * DPI / 72  # left of the tick marks
        assert (box.y0 + box.y1) / 2 == pytest.approx(to_pixels((0, row))[1], abs=0.5)  # beside its row
    canvas = fig.bbox
    for box in (*month_boxes, *year_boxes, *outline_boxes(cells)):
        assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1 and canvas.y0 <= box.y0 and box.y1 <= canvas.y1
    for a, b in zip(month_boxes, month_boxes[1:]):
        assert not boxes_overlap(a, b)
    (title,) = heat.texts
    assert title.get_text() == "SMH monthly returns (%)"
    assert all(not boxes_overlap(extent(title), box) for box in month_boxes)
    assert extent(title).y0 > max(b.y1 for b in month_boxes) - 1 and extent(title).y1 <= heat.bbox.y1
    texts = solid_texts(fig)
    assert outside_canvas(fig, texts) == [] and overlapping(texts) == [] and too_small(fig) == []


# --- the rules of the input, the date axis and the right edge -----------------------------------------------------


@pytest.mark.parametrize("broken", ["no-dates", "zero", "negative", "nine", "none"])
def test_prices_a_chart_cannot_draw_are_refused(semis_10y: pd.DataFrame, broken: str) -> None:
    frame = semis_10y.iloc[:50]
    frames = {
        "no-dates": frame.reset_index(drop=True),
        "zero": frame.assign(SMH=frame["SMH"].where(frame.index != frame.index[3], 0.0)),
        "negative": frame.assign(SMH=-frame["SMH"]),
        "nine": pd.concat([frame.add_suffix(str(i)) for i in range(3)], axis=1).iloc[:, :9].assign(SPY=frame["SPY"]),
        "none": frame[[]],
    }
    with pytest.raises(ValueError):
        build_compare_figure(frames[broken], "SPY", LABELS)


def test_eight_tickers_or_the_benchmark_alone_are_drawn(semis_10y: pd.DataFrame, eight_25y: pd.DataFrame) -> None:
    assert len(build_compare_figure(eight_25y, "SPY", LABELS).axes[0].get_lines()) == 8
    alone = build_compare_figure(semis_10y[["SPY"]].iloc[-30:], "SPY", LABELS)
    assert [ln.get_label() for ln in _visible(alone.axes[0])] == ["SPY"] and _visible(alone.axes[2]) == []


@pytest.mark.parametrize(("sessions", "labelled"), [(2, 2), (7, 7), (15, 7)])
def test_a_window_of_a_few_sessions_labels_sessions_never_hours(prices_dir: Path, sessions: int, labelled: int) -> None:
    frame = _aligned(prices_dir, ["QQQ", "SPY"]).iloc[-sessions:]
    assert (frame.index[-1] - frame.index[0]).days <= 21
    fig = build_compare_figure(frame, "SPY", LABELS)
    fig.canvas.draw()
    dates = [t.get_text() for t in fig.axes[2].get_xticklabels() if t.get_text()]
    positions = [int(round(p)) for p in np.linspace(0, sessions - 1, labelled)]
    assert dates == [f"{frame.index[p]:%b %d}" for p in positions]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()] == []  # only the bottom panel


def test_a_month_or_more_gets_a_date_axis_of_three_to_seven_labels(prices_dir: Path) -> None:
    for years in (None, 1):
        frame = _aligned(prices_dir, ["QQQ", "SPY"], years=years)
        frame = frame if years else frame.iloc[-30:]  # 30 sessions: past the 21 days of a few sessions
        fig = build_compare_figure(frame, "SPY", LABELS)
        fig.canvas.draw()
        dates = [t.get_text() for t in fig.axes[2].get_xticklabels() if t.get_text()]
        assert 3 <= len(dates) <= 8 and len(set(dates)) == len(dates)


@pytest.mark.parametrize(("names", "right"), [(["QQQ"], 0.835), (["SPY70 IJR20 SMH10"], None),
                                               (["SPY10 IJR10 SMH10 QQQ10 XLK10 XLF10 XLE10"], 0.72)])
def test_the_panels_end_where_their_end_labels_fit(prices_dir: Path, names: list[str], right: float | None) -> None:
    frame = _portfolio_values(_aligned(prices_dir, ["QQQ", "SPY"], years=5), names)
    fig = build_backtest_figure(frame, "SPY", LABELS)
    edge = fig.axes[0].get_position().x1
    assert all(ax.get_position().x1 == pytest.approx(edge) for ax in fig.axes)
    if right is not None:
        assert edge == pytest.approx(right)
    else:
        assert 0.72 < edge < 0.835
        fig.canvas.draw()
        label = fig.axes[0].texts[0]
        assert label.get_fontsize() == 12 and extent(label).x1 <= fig.bbox.x1
        assert extent(label).x1 > fig.bbox.x1 - 30  # no more room taken from the panels than the label needs


def test_a_name_too_long_even_at_the_smallest_size_is_cut_with_an_ellipsis_before_its_value(prices_dir: Path) -> None:
    name = "SPY5 IJR5 SMH5 QQQ5 XLK5 XLF5 XLE5 XLV5 XLU5 DIA5 IWM5 VB5 VTV5 VUG5 MDY5 IJH5"
    frame = _portfolio_values(_aligned(prices_dir, ["QQQ", "SPY"], years=5), [name])
    fig = build_backtest_figure(frame, "SPY", LABELS)
    fig.canvas.draw()
    label = fig.axes[0].texts[0]
    value = f"${10_000 * frame[name].iloc[-1] / frame[name].iloc[0] / 1000:.3g}k"
    assert label.get_fontsize() == 9 and label.get_text().endswith(f"… {value}")
    kept = label.get_text()[:-len(f"… {value}")]
    assert name.startswith(kept) and len(kept) > 10
    assert extent(label).x1 <= fig.bbox.x1
    assert fig.axes[0].texts[1].get_text().startswith("SPY $")  # a short name beside it is whole


def test_the_png_carries_no_timestamp_and_a_compare_chart_is_its_figure_drawn(five_years: pd.DataFrame) -> None:
    png = compare_chart(five_years, "SPY", LABELS)
    assert b"Software" not in png and b"tIME" not in png
    assert png == render_png(build_compare_figure(five_years, "SPY", LABELS))
    assert backtest_chart(five_years, "SPY", LABELS) == render_png(build_backtest_figure(five_years, "SPY", LABELS))


def test_log_scale_is_chosen_past_a_tenfold_spread_between_the_best_end_and_the_lowest_low() -> None:
    from analysis.charts import wants_log_scale

    frame = pd.DataFrame({"A": [1.0, 5.0, 10.0], "B": [2.0, 1.0, 3.0]})
    assert not wants_log_scale(frame)  # 10 / 1: exactly tenfold
    assert wants_log_scale(frame.assign(A=[1.0, 5.0, 10.01]))
    assert wants_log_scale(frame.assign(B=[2.0, 0.99, 3.0]))
    assert not wants_log_scale(frame.assign(A=[1.0, 50.0, 10.0]))  # a peak along the way is not an end


def test_the_rolling_cagr_panel_says_its_window_in_percent_and_labels_each_end(prices_dir: Path,
                                                                               semis_10y: pd.DataFrame) -> None:
    fig = build_backtest_figure(semis_10y, "SPY", LABELS)
    ax = fig.axes[2]
    assert ax.get_title(loc="left") == "Rolling 3-year CAGR · each point: the 3 years up to it"
    last = semis_10y.index[-1]
    base = semis_10y.loc[:last - pd.DateOffset(years=3)].iloc[-1]
    cagr = 100 * ((semis_10y.iloc[-1] / base) ** (1 / 3) - 1)
    expected = [f"{t} {round(cagr[t], 9) + 0.0:.3g}%".replace("-", "\u2212") for t in semis_10y.columns]
    assert sorted(t.get_text() for t in ax.texts) == sorted(expected)
    labels = _y_labels(fig, 2)
    assert len(labels) >= 2 and all(label.endswith("%") for label in labels)
    assert any(list(ln.get_ydata()) == [0.0, 0.0] for ln in ax.get_lines())
    spy = _line(fig, 2, "SPY")
    assert same_colour(spy.get_color(), BENCHMARK_COLOUR) and spy.get_linestyle() != "-"
    # Every panel spans the window edge to edge: the first close on the left edge, the last on the right.
    x = mdates.date2num(semis_10y.index)
    assert all(a.get_xlim() == pytest.approx((x[0], x[-1])) for a in fig.axes)


def test_value_axes_pad_the_lines_a_little_each_way(five_years: pd.DataFrame, prices_dir: Path) -> None:
    growth = 10_000 * five_years / five_years.iloc[0]
    low, high = growth.to_numpy().min(), growth.to_numpy().max()
    linear = build_compare_figure(five_years, "SPY", LABELS, log_scale=False).axes[0]
    assert linear.get_ylim() == pytest.approx((low - 0.06 * (high - low), high + 0.06 * (high - low)))
    log = build_compare_figure(five_years, "SPY", LABELS, log_scale=True).axes[0]
    pad = (high / low) ** 0.04
    assert log.get_ylim() == pytest.approx((low / pad, high * pad))
    flat = build_compare_figure(five_years[["SPY"]], "SPY", LABELS).axes[2]  # the benchmark alone: a flat 1x
    assert flat.get_ylim() == pytest.approx((0.99, 1.01))


def test_ticks_that_would_read_alike_in_short_form_print_in_full(prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["BIL", "SGOV"]).iloc[-15:]  # T-bills over three weeks: $10.0k to $10.02k
    fig = build_compare_figure(frame, "BIL", LABELS)
    labels = _y_labels(fig, 0)
    assert len(labels) >= 2 and len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"\$10,0\d\d", label) for label in labels)


@pytest.mark.parametrize(("decades", "steps"), [(0.5, (1, 1.5, 2, 3, 4, 5, 7)), (1.19, (1, 1.5, 2, 3, 4, 5, 7)),
                                                (1.2, (1, 2, 5)), (2.49, (1, 2, 5)), (2.5, (1, 3)), (3.99, (1, 3)),
                                                (4.0, (1,))])
def test_log_axes_step_more_sparsely_the_more_decades_they_span(decades: float, steps: tuple) -> None:
    from analysis.charts import _log_tick_steps, _log_ticks

    assert _log_tick_steps(decades) == steps
    values = _log_ticks(1.0, 10 ** decades).tick_values(1.0, 10 ** decades)
    inside = values[(values >= 1.0) & (values <= 10 ** decades)]
    assert 2 <= len(inside) <= 12 and inside[0] == 1.0


def test_under_half_a_decade_a_log_axis_gets_evenly_spaced_round_values(prices_dir: Path) -> None:
    from analysis.charts import _log_ticks

    ticks = _log_ticks(9_000.0, 14_000.0).tick_values(9_000.0, 14_000.0)
    assert list(ticks) == [9_000.0, 10_000.0, 11_000.0, 12_000.0, 13_000.0, 14_000.0]  # round steps, all inside
    assert list(_log_ticks(9_100.0, 13_900.0).tick_values(0, 0)) == [10_000.0, 11_000.0, 12_000.0, 13_000.0]
    frame = _aligned(prices_dir, ["QQQ", "SPY"], years=1)
    labels = _y_labels(build_compare_figure(frame, "SPY", LABELS, log_scale=True), 0)
    assert len(labels) >= 3 and len(set(labels)) == len(labels)


def test_the_heatmap_fills_its_width_and_prints_its_labels_once_unclipped(heatmap_figure) -> None:
    fig, returns = heatmap_figure
    heat = fig.subfigs[1]
    (ax,) = heat.axes
    assert ax.bbox.x0 == pytest.approx(heat.bbox.x0 + 0.085 * heat.bbox.width)
    assert ax.bbox.width == pytest.approx(0.835 * heat.bbox.width)  # cells stretched to the width, not square
    # No tick label text of its own: the months and years are the outlines, drawn once.
    assert [t.get_text() for t in drawn_texts(fig) if t.axes is ax] == []
    assert all(not c.get_clip_on() for c in ax.collections)  # month and year labels lie outside the cells' box


def test_titles_and_footers_with_dollar_signs_are_printed_as_written(five_years: pd.DataFrame) -> None:
    labels = ChartLabels(title="$10k in SMH vs $10k in SPY", as_of="2026-07-14", source="$ feed $",
                         basis="fees: $0 to $5 a trade", demo=True)
    for fig in (build_compare_figure(five_years, "SPY", labels), build_normalised_figure(five_years, labels)):
        fig.canvas.draw()
        texts = [t for t in fig.texts if "$" in t.get_text()]
        assert len(texts) == 2 and not_literal(texts) == []


def test_the_normalised_chart_draws_one_ticker_refuses_a_missing_benchmark_and_dots_the_last_close(
        prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["SMH", "SPY"]).iloc[-21:]
    one = build_normalised_figure(frame[["SMH"]], LABELS)  # a watchlist of one
    (line,) = _visible(one.axes[0])
    assert line.get_label() == "SMH"
    with pytest.raises(ValueError):
        build_normalised_figure(frame, LABELS, benchmark="QQQ")
    fig = build_normalised_figure(frame, LABELS, benchmark="SPY")
    (dots,) = fig.axes[0].collections
    assert np.allclose(dots.get_offsets(), [(mdates.date2num(frame.index[-1]), 100 * frame[t].iloc[-1] / frame[t].iloc[0])
                                            for t in ("SMH", "SPY")])


def test_the_panels_keep_their_height_and_the_heatmap_gets_a_row_per_year(heatmap_figure) -> None:
    from analysis.monthly_chart import HEAT_MARGIN_IN, ROW_IN

    fig, returns = heatmap_figure
    panels, heat = fig.subfigs
    years = returns.index[-1].year - returns.index[0].year + 1
    assert panels.bbox.height == pytest.approx(FIGSIZE_IN[1] * DPI)
    assert heat.bbox.height == pytest.approx((HEAT_MARGIN_IN + ROW_IN * years) * DPI)
    for part in (panels, heat):
        assert (part.bbox.x0, part.bbox.x1) == pytest.approx((0, fig.bbox.width))
    assert heat.bbox.y0 == pytest.approx(0)


def test_a_forced_scale_reaches_the_png_and_more_charts_at_once_than_idle_figures_draw_alike(
        five_years: pd.DataFrame) -> None:
    from analysis.charts import IDLE_FIGURES

    for log_scale in (True, False):
        assert compare_chart(five_years, "SPY", LABELS, log_scale=log_scale) == \
            render_png(build_compare_figure(five_years, "SPY", LABELS, log_scale=log_scale))
    expected = render_png(build_compare_figure(five_years, "SPY", LABELS, log_scale=True))
    count = IDLE_FIGURES + 2  # more than are kept idle: some draw on new figures
    start = threading.Barrier(count)

    def render(_: int) -> bytes:
        start.wait()
        return compare_chart(five_years, "SPY", LABELS, log_scale=True)

    with ThreadPoolExecutor(max_workers=count) as pool:
        assert list(pool.map(render, range(count))) == [expected] * count


def test_year_and_month_labels_are_the_years_and_months_at_a_readable_size(heatmap_figure) -> None:
    from matplotlib.textpath import TextPath

    fig, returns = heatmap_figure
    (ax,) = fig.subfigs[1].axes
    _, months, years = ax.collections
    first = returns.index[0].year
    written = [str(y) for y in range(first, returns.index[-1].year + 1)]
    for path, year in zip(years.get_paths(), written):
        box, expected = path.get_extents(), TextPath((0, 0), year, size=10).get_extents()
        assert (box.width, box.height) == pytest.approx((expected.width, expected.height), abs=1e-6)
    for path, month in zip(months.get_paths(), ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                                "Nov", "Dec"]):
        assert path.get_extents().width == pytest.approx(TextPath((0, 0), month, size=10).get_extents().width)
    # 10 pt at the chart's DPI: digits some 7/10 of that high, in pixels.
    for box in (*outline_boxes(months), *outline_boxes(years)):
        assert 0.5 * 10 * DPI / 72 < box.height < 1.2 * 10 * DPI / 72


@pytest.mark.parametrize(("moves", "limit"), [([0.004, -0.003, 0.002], 1.0), ([0.01, -0.015, 0.005], 1.5),
                                              ([0.01, -0.03, 0.02], 3.0)])
def test_the_heatmap_scale_reaches_the_largest_move_either_way_and_at_least_one_percent(
        prices_dir: Path, moves: list[float], limit: float) -> None:
    from analysis.monthly_chart import build_backtest_monthly_figure

    frame = _portfolio_values(_aligned(prices_dir, ["SMH", "SPY"], years=1), ["SMH"])
    returns = pd.Series(moves, index=pd.period_range("2026-01", periods=3, freq="M"))
    title = "$10k in SMH, monthly returns (%), $ of gain"
    fig = build_backtest_monthly_figure(frame, "SPY", LABELS, returns, title)
    (image,) = fig.subfigs[1].axes[0].images
    assert image.get_clim() == pytest.approx((-limit, limit))
    fig.canvas.draw()
    (drawn,) = fig.subfigs[1].texts
    assert drawn.get_text() == title and not_literal([drawn]) == []


def test_a_backtest_draws_rolling_cagr_from_four_years_on_and_relative_strength_on_a_log_scale_before(
        prices_dir: Path) -> None:
    frame = _aligned(prices_dir, ["QQQ", "SPY"])
    last = frame.index[-1]
    exactly = frame.loc[frame.index >= last - pd.DateOffset(years=4)]
    assert exactly.index[0] == last - pd.DateOffset(years=4)  # a close exactly 4 years back: 4 years to the day
    shorter = exactly.iloc[:-1]  # a close short of 4 years
    cases = [(exactly, "Rolling 3-year CAGR"), (shorter, "Relative strength vs SPY"),
             (frame.iloc[-500:], "Relative strength vs SPY")]
    for values, title in cases:
        fig = build_backtest_figure(values, "SPY", LABELS)
        assert fig.axes[2].get_title(loc="left").startswith(title), (values.index[0], values.index[-1])
        assert fig.axes[0].get_yscale() == "log"  # growth on a log scale, even over two years


def test_the_rolling_panel_rests_on_a_grey_zero_rule_and_dots_its_last_close(semis_10y: pd.DataFrame) -> None:
    ax = build_backtest_figure(semis_10y, "SPY", LABELS).axes[2]
    (zero,) = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0.0, 0.0]]
    r, g, b, _ = mcolors.to_rgba(zero.get_color())
    assert r == g == b and zero.get_zorder() < min(ln.get_zorder() for ln in _visible(ax))
    (dots,) = ax.collections
    assert set(dots.get_offsets()[:, 0]) == {mdates.date2num(semis_10y.index[-1])}


# --- tick labels: how many a log axis gets, and how each reads (issue 25) ---------------------------------------

def _log_ticks_by_hand(low: float, high: float, lines: float, start: int) -> list[float]:
    """The ticks inside [low, high] of the first step set, from ``start`` on, whose labels sit at least 1.3 label
    heights apart on an axis ``lines`` label heights tall (the sparsest set when none does)."""
    sets = [(1, 1.5, 2, 3, 4, 5, 7), (1, 2, 5), (1, 3), (1,)]
    decades = math.log10(high / low)
    for steps in sets[start:]:
        inside = sorted(s * 10.0 ** k for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
                        for s in steps if low <= s * 10.0 ** k <= high)
        gaps = [(math.log10(b) - math.log10(a)) / decades * lines for a, b in zip(inside, inside[1:])]
        if not gaps or min(gaps) >= 1.3:
            return inside
    return inside


@pytest.mark.parametrize(("low", "high", "lines", "start"), [
    (100.0, 1000.0, 20.0, 0),  # one decade on a tall panel: 1-1.5-2-3-4-5-7
    (100.0, 1000.0, 8.0, 0),  # ... on a shorter one: 1-2-5
    (100.0, 1000.0, 4.0, 0),  # ... on a short one: 1-3
    (80.0, 1200.0, 6.0, 0),
    (0.7, 3.2, 5.0, 0),  # relative strength under one decade
    (10.0, 1_000_000.0, 6.0, 2),  # five decades: 1-3, then decades alone
])
def test_log_axes_take_the_densest_steps_whose_labels_do_not_crowd(low, high, lines, start) -> None:
    ticks = _log_ticks(low, high, lines).tick_values(low, high)
    assert list(ticks[(ticks >= low) & (ticks <= high)]) == pytest.approx(_log_ticks_by_hand(low, high, lines, start))


def test_half_a_decade_is_already_a_log_axis_and_less_gets_round_values() -> None:
    half = _log_ticks(1.0, 10 ** 0.5, 10.0).tick_values(1.0, 10 ** 0.5)
    assert [t for t in half if 1.0 <= t <= 10 ** 0.5] == pytest.approx([1.0, 1.5, 2.0, 3.0])
    under = _log_ticks(100.0, 300.0, 10.0).tick_values(100.0, 300.0)
    assert list(under) == pytest.approx([100.0, 150.0, 200.0, 250.0, 300.0])


@pytest.mark.parametrize(("value", "text"), [
    (999.0, "$999"), (1_000.0, "$1k"), (999_700.0, "$1M"), (1_000_000.0, "$1M"), (12_345_678.0, "$12.3M"),
    (999_999_999.0, "$1B"), (1e9, "$1B"), (-2_500.0, "$-2.5k"),
])
def test_dollar_ticks_take_the_largest_unit_the_rounded_figure_reaches(value: float, text: str) -> None:
    assert _dollars(value, None) == text


def test_tick_labels_that_would_read_alike_are_printed_in_full() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    ax.set_ylim(1.0, 3.0)
    ax.yaxis.set_major_locator(FixedLocator([1.5, 2.0, 2.5]))
    same = _distinct(lambda value, pos: "x", ax)
    assert [same(v, i) for i, v in enumerate([1.5, 2.0, 2.5])] == ["1.5", "2", "2.5"]
    ax.set_ylim(10_000.0, 10_030.0)
    ax.yaxis.set_major_locator(FixedLocator([10_000.0, 10_020.0]))
    dollars = _distinct(_dollars, ax)
    assert [dollars(v, None) for v in (10_000.0, 10_020.0)] == ["$10,000", "$10,020"]  # not "$10k" twice
    ax.yaxis.set_major_locator(FixedLocator([10_000.0, 20_000.0]))
    assert [dollars(v, None) for v in (10_000.0, 20_000.0)] == ["$10k", "$20k"]


# --- log axes: ticks that fill the view without crowding ------------------------------------------------------------
LOG_LADDERS = ((1, 1.5, 2, 3, 4, 5, 7), (1, 2, 5), (1, 3), (1,))  # each decade's values, densest first
LABEL_PITCH = 1.3  # labels on a log axis stand at least this many label heights apart
TICK_LABEL_PT = 12


def _log_axes(height_px: float = 300.0):
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    return fig.add_axes((0.1, 0.1, 0.8, height_px / (FIGSIZE_IN[1] * DPI)))


def _view_ticks(ax) -> np.ndarray:
    low, high = ax.get_ylim()
    ticks = ax.yaxis.get_major_locator().tick_values(low, high)
    return ticks[(ticks >= low) & (ticks <= high)]


def test_a_log_axis_under_half_a_decade_labels_every_round_value_in_its_view() -> None:
    from matplotlib.ticker import MaxNLocator

    from analysis.charts import _set_value_scale

    ax = _log_axes()
    for low in np.geomspace(0.5, 50_000.0, 13):
        for ratio in np.linspace(1.05, 2.8, 13):  # under half a decade with the margins
            _set_value_scale(ax, True, np.array([low, low * ratio]), _dollars)
            view = ax.get_ylim()
            assert view[0] < low and view[1] > low * ratio  # a margin either side of the data
            round_values = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(*view)
            expected = round_values[(round_values >= view[0]) & (round_values <= view[1])]
            assert list(_view_ticks(ax)) == pytest.approx(list(expected)), (low, ratio)
            assert 2 <= len(expected) <= 7


def test_a_log_axis_takes_the_densest_ladder_whose_labels_do_not_crowd() -> None:
    from matplotlib.ticker import LogLocator

    from analysis.charts import _set_value_scale

    def pixels_apart(ax, ticks: np.ndarray) -> float:
        if len(ticks) < 2:
            return np.inf  # nothing to crowd
        return float(np.diff(ax.transData.transform(np.column_stack([np.ones(len(ticks)), ticks]))[:, 1]).min())

    label_px = TICK_LABEL_PT * DPI / 72
    ax = _log_axes()
    # Axes from short to tall, a pixel apart at one start (the choice between two ladders turns at some height), and
    # ten pixels apart at starts across a decade (which steps of a ladder fall inside a short span depends on where
    # in its decade the span starts).
    fine = [(100.0, decades, height) for decades in (0.9, 1.5, 3.0) for height in np.arange(60.0, 420.0, 1.0)]
    coarse = [(10 ** (2 + start / 10), decades, height) for start in range(10) for decades in (0.55, 0.7)
              for height in np.arange(60.0, 420.0, 10.0)]
    for start, decades, height in fine + coarse:
        ax.set_position((0.1, 0.1, 0.8, height / (FIGSIZE_IN[1] * DPI)))
        _set_value_scale(ax, True, np.array([start, start * 10 ** decades]), _dollars)
        bottom, top = ax.get_ylim()
        # The densest ladder the span allows: 1-1.5-2-3-4-5-7 under 1.2 decades, 1-2-5 under 2.5, 1-3 under 4.
        first = int(np.searchsorted([1.2, 2.5, 4.0], np.log10(top / bottom), side="right"))
        ladders = LOG_LADDERS[first:]
        fits = [ladder for ladder in ladders
                if pixels_apart(ax, _inside(LogLocator(subs=ladder), bottom, top)) >= LABEL_PITCH * label_px]
        expected = _inside(LogLocator(subs=(fits or ladders[-1:])[0]), bottom, top)
        assert list(_view_ticks(ax)) == pytest.approx(list(expected)), (start, decades, height)


def _inside(locator, low: float, high: float) -> np.ndarray:
    ticks = locator.tick_values(low, high)
    return ticks[(ticks >= low) & (ticks <= high)]


def test_a_name_is_cut_to_its_longest_start_that_fits_with_no_space_before_the_ellipsis() -> None:
    from analysis.charts import _fitted_labels

    name, value = "SPY5 IJR5 SMH5 QQQ5 XLK5 XLF5 XLE5 XLV5 XLU5 DIA5", "$12.3k"
    cuts = set()
    # Figures from 1 inch wide (room for the value alone) to wide enough for the name whole.
    for width in np.arange(1.0, 8.0, 0.2):
        fig = Figure(figsize=(width, 3.0), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.05, 0.1, 0.2, 0.8))
        renderer = fig.canvas.get_renderer()
        room = fig.bbox.x1 - 4 - ax.bbox.x0 - 1.015 * ax.bbox.width
        size, (text,) = _fitted_labels(ax, [name], [value])
        kept, cut, _ = text.partition("… ")
        cuts.add(kept if cut else None)
        if not cut:
            assert text == f"{name} {value}" and _bold_width(renderer, text, size) <= room
            continue
        assert size == 9 and name.startswith(kept) and kept == kept.rstrip()
        assert _bold_width(renderer, text, size) <= room or len(kept) == 1  # one character at the least
        longer = next(name[:k].rstrip() for k in range(len(kept) + 1, len(name) + 1) if name[:k].rstrip() != kept)
        assert _bold_width(renderer, f"{longer}… {value}", size) > room, width
    assert "S" in cuts and None in cuts
    assert any(c and name[len(c)] == " " for c in cuts)  # a cut at the end of a word: its space is dropped
    # A one-letter name has nothing to cut: it stays whole even where it does not fit.
    narrow = Figure(figsize=(1.0, 3.0), dpi=DPI)
    FigureCanvasAgg(narrow)
    huge = "$123,456,789,012k"
    assert _fitted_labels(narrow.add_axes((0.05, 0.1, 0.2, 0.8)), ["X"], [huge]) == (9.0, [f"X {huge}"])


def _walks(columns: int, sessions: int = 60, tz: str | None = None) -> pd.DataFrame:
    dates = pd.bdate_range("2026-03-02", periods=sessions, tz=tz)
    steps = np.random.default_rng(7).normal(0.0, 0.01, (sessions, columns))
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=[f"T{i}" for i in range(columns)])


def test_the_legend_is_one_row_up_to_five_names_then_two() -> None:
    for count, columns in ((1, 1), (4, 4), (5, 5), (6, 3), (7, 4), (8, 4)):
        (legend,) = build_normalised_figure(_walks(count), LABELS).legends
        assert legend._ncols == columns, count


def test_the_yellow_lines_label_is_printed_darker_beside_a_yellow_dot() -> None:
    fig = build_normalised_figure(_walks(8), LABELS)  # no benchmark: the eighth line takes the eighth colour
    (ax,) = fig.axes
    yellow = [ln for ln in ax.get_lines() if same_colour(ln.get_color(), "#F0E442")]
    assert [ln.get_label() for ln in yellow] == ["T7"]
    (label,) = [t for t in ax.texts if t.get_text().startswith("T7 ")]
    assert same_colour(label.get_color(), "#8A7E00")  # yellow words on white cannot be read
    others = [t for t in ax.texts if t is not label]
    assert all(same_colour(t.get_color(), _line(fig, 0, t.get_text().split()[0]).get_color()) for t in others)
    (dots,) = ax.collections
    assert same_colour(dots.get_facecolors()[7], "#F0E442")


def test_dates_with_a_time_zone_are_drawn_on_their_own_calendar_days() -> None:
    # yfinance's index is in the exchange's zone (America/New_York): a session is its date, not 04:00 UTC.
    aware = _walks(2, tz="America/New_York")
    fig = build_normalised_figure(aware, LABELS)
    naive_days = mdates.date2num(aware.index.tz_localize(None).to_numpy())
    assert list(_line(fig, 0, "T0").get_xdata()) == list(naive_days)
    plain = build_normalised_figure(aware.tz_localize(None), LABELS)
    assert list(_line(plain, 0, "T0").get_xdata()) == list(naive_days)


def _date_axis(first: str, last: str):
    from analysis.charts import _style_date_axis

    x = mdates.date2num(pd.bdate_range(first, last).to_numpy())
    ax = Figure(figsize=FIGSIZE_IN, dpi=DPI).add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set_xlim(x[0], x[-1])
    _style_date_axis(ax, x)
    return x, ax.xaxis.get_major_locator()(), ax.xaxis.get_major_formatter()


def test_up_to_21_days_the_date_axis_labels_sessions_and_past_it_months_and_years() -> None:
    # Three weeks to the day (Monday to Monday): sessions, as "Mar 02"; a day more: matplotlib's concise dates.
    x, ticks, formatter = _date_axis("2026-03-02", "2026-03-23")
    assert x[-1] - x[0] == 21 and len(x) == 16
    sessions = pd.bdate_range("2026-03-02", "2026-03-23")
    shown = [sessions[i] for i in (0, 2, 5, 8, 10, 12, 15)]  # seven of the sixteen, evenly, both ends
    assert list(ticks) == list(mdates.date2num(shown))
    assert formatter.format_ticks(ticks) == [f"{d:%b %d}" for d in shown]
    x, ticks, formatter = _date_axis("2026-03-02", "2026-03-24")
    assert x[-1] - x[0] == 22 and isinstance(formatter, mdates.ConciseDateFormatter)


@pytest.mark.parametrize("days", [22, 45, 90, 200, 365, 700, 1100, 1800, 3650, 7300, 11000])
def test_past_21_days_three_to_seven_concise_date_labels_without_an_offset(days: int) -> None:
    last = pd.Timestamp("2026-07-14")
    x, ticks, formatter = _date_axis(str((last - pd.Timedelta(days=days)).date()), str(last.date()))
    expected = mdates.AutoDateLocator(minticks=3, maxticks=7)
    expected.create_dummy_axis()
    expected.axis.set_view_interval(x[0], x[-1])
    assert list(ticks) == list(expected())
    assert formatter.format_ticks(ticks) == mdates.ConciseDateFormatter(expected).format_ticks(ticks)
    assert formatter.get_offset() == ""  # no "2026-Jul" at the axis's end, under the end labels


def test_downsampling_keeps_every_point_up_to_its_budget_and_fills_the_budget_past_it() -> None:
    noise = np.random.default_rng(3).normal(size=20_000).cumsum()
    assert list(downsample_positions(noise[:500], max_points=500)) == list(range(500))  # at the budget: all
    # Past it, the first, the last and the low and high of each of (500 - 2) // 2 = 249 buckets of equal width: on a
    # long noisy line (no bucket's low and high on one point), 490 to 500 of them.
    for n in (501, 9_950, 20_000):
        keep = downsample_positions(noise[:n], max_points=500)
        assert len(keep) <= 500 and (n < 1_000 or len(keep) >= 490), n
