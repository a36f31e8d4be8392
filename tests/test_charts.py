"""Comparison charts on real prices from the tests' fixture (``tests/data/prices``).

Expected values are recomputed here from the raw CSV rows, not through the
module's helpers, so a wrong convention in ``analysis.charts`` cannot agree
with itself.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis.charts import (
    BENCHMARK_COLOUR,
    DEMO_TEXT,
    DPI,
    FIGSIZE_IN,
    MAX_POINTS_PER_LINE,
    OKABE_ITO,
    ChartLabels,
    build_backtest_figure,
    build_compare_figure,
    build_normalised_figure,
    compare_chart,
    downsample_positions,
    emptied,
    render_png,
)
from tests.chart_checks import outside_canvas, overlapping, solid_texts

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
    ("mutate", "benchmark"),
    [
        (lambda f: f, "VOO"),
        (lambda f: f.assign(SMH=f["SMH"].where(f.index != f.index[5])), "SPY"),
        (lambda f: f.iloc[:1], "SPY"),
        (lambda f: f.iloc[::-1], "SPY"),
        (lambda f: pd.concat([f.add_suffix(str(i)) for i in range(3)], axis=1).assign(SPY=f["SPY"]), "SPY"),
    ],
    ids=["unknown-benchmark", "nan", "one-row", "unsorted", "too-many-tickers"],
)
def test_bad_input_is_refused(semis_10y: pd.DataFrame, mutate, benchmark: str) -> None:
    with pytest.raises(ValueError):
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
        # A name may be cut short, never the value it ends with.
        assert labels[-1].get_text().startswith("SPY ")
    if full_size:
        assert fig.axes[0].texts[0].get_text().startswith("SPY70 IJR20 SMH10 $")


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


def test_log_tick_labels_never_crowd_a_short_panel(prices_dir: Path) -> None:
    # SMH ran to 6.7x SPY and XLU fell to 0.5x over ten years: about one decade on a panel 148 px tall, where the
    # dense steps 1-1.5-2-3-4-5-7 put 1.5x on 2x and 3x, 4x, 5x on one another.
    fig = build_compare_figure(_aligned(prices_dir, ["SMH", "XLU", "SPY"], years=10), "SPY", LABELS)
    ax = fig.axes[2]
    assert ax.get_yscale() == "log" and 1.0 < np.log10(np.divide(*ax.get_ylim()[::-1])) < 1.2
    labels = _y_labels(fig, 2)
    shown = [t for t in ax.get_yticklabels() if t.get_text() in labels]
    assert len(shown) >= 3 and overlapping(shown) == []
