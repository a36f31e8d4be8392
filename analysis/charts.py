"""Comparison charts as PNG bytes, for chat replies.

One figure, three panels on a shared date axis:

1. **Growth of $10,000**: ``10000 * P_t / P_0`` on the dividend-adjusted close
   (``Adj Close``), i.e. total return with dividends reinvested, no fees or
   taxes.  Log scale when the widest ratio on the panel exceeds
   ``LOG_SCALE_RATIO``, so decades of compounding stay readable.
2. **Drawdown**: ``P_t / max(P_0..P_t) - 1`` in percent (``analysis.drawdown``).
3. **Relative strength**: ``(P_t / P_0) / (B_t / B_0)`` against the benchmark
   (``analysis.relative``); it starts at 1x and rises while the ticker beats it.

The benchmark is drawn dashed in neutral grey, the others in the Okabe-Ito
colour-blind-safe palette.  Title, as-of date and data source are printed on
the image, and demo data carries a watermark, because a PNG gets forwarded
without the message around it.

Thread safety: only ``matplotlib.figure.Figure`` with its own Agg canvas is
used, never ``pyplot`` (a global figure registry) or ``rcParams`` changes
(global state); every style is passed explicitly to the artists.  Several
threads may therefore build and render charts at the same time.

Compare figures are reused: building one (three Axes and their ticks) is a
third of a chart's CPU, and a canvas that is kept keeps its renderer, whose
text measurements matplotlib caches.  ``compare_chart`` takes an idle figure
(or builds one), draws on it, and puts it back emptied (``emptied``); a figure
is only ever in one thread's hands, and a reused one draws the same PNG, byte
for byte, as a new one.

Lines are downsampled for drawing only (``downsample_positions``): a 30-year
daily series has far more points than the ~900 px of plot width, and drawing
them all makes slow renders and large PNGs.  The first and last points and each
bucket's minimum and maximum are kept, so ending values, peaks and troughs are
drawn exactly.
"""

from __future__ import annotations

import io
import queue
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, FigureBase
from matplotlib.font_manager import FontProperties
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

from analysis.drawdown import drawdown_series
from analysis.relative import relative_strength
from analysis.returns import rolling_cagr, spans_a_year, years_between

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
# Yellow goes last: it is the palette's one colour with poor contrast on white.
LINE_COLOURS = tuple(c for c in OKABE_ITO if c != "#F0E442") + ("#F0E442",)
BENCHMARK_COLOUR = "#666666"
BENCHMARK_DASHES = (4.0, 2.0)

GROWTH_START = 10_000.0
ROLLING_YEARS = 3
# A rolling 3-year line needs at least a year of points to say anything.
ROLLING_MIN_YEARS = ROLLING_YEARS + 1
LOG_SCALE_RATIO = 10.0
# A window this short (calendar days) gets one date tick per session instead of automatic (hourly) ones.
SHORT_WINDOW_DAYS = 21
MAX_TICKERS = 8
MAX_POINTS_PER_LINE = 2_000
FIGSIZE_IN = (10.0, 8.0)
DPI = 120
DEMO_TEXT = "DEMO DATA — not real prices"

# Fixed layout in figure fractions: known before drawing, so end labels can be
# de-overlapped in pixels, and no layout engine runs on each render.
_LEFT, _RIGHT, _BOTTOM = 0.085, 0.835, 0.088
_TITLE_Y = 0.978
_LEGEND_Y = 0.935
_LEGEND_ROW = 0.032
_TEXT = "#222222"
_MUTED = "#555555"
_GRID = "#DDDDDD"
_RULE = "#999999"  # the axes' spines and the zero line
_TITLE_PT, _PANEL_PT, _TICK_PT, _LEGEND_PT, _END_LABEL_PT, _FOOTER_PT = 20, 13, 12, 12, 12, 11
_END_LABEL_MIN_PT = 9.0
_RIGHT_MIN = 0.72  # how far left the panels' right edge may move to make room for long end labels
_END_LABEL_X = 1.015  # where end labels start, in axes fractions: just right of the plot
_END_LABEL_PAD_PX = 4.0  # kept free between the longest end label and the figure's edge
_TITLE_MIN_PT, _TITLE_FULL_CHARS = 13, 50
_FOOTER_FULL_CHARS = 106  # about this many footer characters fit the width at full size
_WIDTH_GROWTH, _WIDTH_PANEL = 2.6, 1.8
# Steps of a log axis's labelled ticks within a decade, densest first; and the least distance between two labels,
# in label heights (a tick label's box is about 1.2 font sizes tall).
_LOG_STEPS = ((1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0), (1.0, 2.0, 5.0), (1.0, 3.0), (1.0,))
_LABEL_LINES = 1.3
# Idle compare figures kept for reuse (each holds a ~4.6 MB canvas): as many as charts drawn at once, in practice.
IDLE_FIGURES = 4
_idle: queue.SimpleQueue[Figure] = queue.SimpleQueue()


@dataclass(frozen=True)
class ChartLabels:
    """Words printed on the chart: ``title`` on top, ``as_of`` and ``source`` in the footer."""

    title: str
    as_of: str
    source: str
    demo: bool = False
    basis: str = "Adj Close: dividends reinvested, no fees or taxes"  # what the figures include, bottom right


def compare_chart(
    prices: pd.DataFrame, benchmark: str, labels: ChartLabels, *, log_scale: bool | None = None
) -> bytes:
    """PNG bytes of the three-panel comparison of ``prices`` against ``benchmark``.

    ``prices``: dividend-adjusted closes (``Adj Close``), a ``DatetimeIndex``
    in increasing order, one column per ticker (at most ``MAX_TICKERS``),
    already aligned with no NaN, ``benchmark`` among the columns.
    ``log_scale``: force the growth panel's scale; ``None`` chooses it (see
    ``wants_log_scale``).  Raises ``ValueError`` on input that breaks these rules.
    """
    return _on_idle_figure(lambda onto: build_compare_figure(prices, benchmark, labels, log_scale=log_scale, onto=onto))


def backtest_chart(values: pd.DataFrame, benchmark: str, labels: ChartLabels) -> bytes:
    """PNG bytes of a backtest: growth of $10,000 (log scale), drawdowns, and 3-year rolling CAGR.

    ``values``: portfolio values (or prices) per column, as for ``compare_chart``.
    The third panel is the trailing 3-year CAGR of each column when the window
    has at least ``ROLLING_MIN_YEARS`` years, else relative strength against
    ``benchmark`` (a rolling 3-year line over a short window would be a stub).
    """
    return _on_idle_figure(lambda onto: build_backtest_figure(values, benchmark, labels, onto=onto))


def _on_idle_figure(draw: Callable[[Figure | None], Figure],
                    idle: queue.SimpleQueue[Figure] = _idle) -> bytes:
    """PNG of ``draw(figure)`` on an idle figure from ``idle`` (or on a new one when none is idle, which ``draw``
    makes), which is then kept there."""
    try:
        figure = idle.get_nowait()
    except queue.Empty:
        figure = None  # the builder makes one
    figure = draw(figure)
    png = render_png(figure)
    if idle.qsize() < IDLE_FIGURES:
        idle.put(emptied(figure))
    return png


def render_png(fig: Figure) -> bytes:
    """Render ``fig`` with Agg to PNG bytes, without the timestamped "Software" tag so output is deterministic."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # Fastest zlib level: a chart is sent once, so 8% more bytes beat 12 ms more per reply.
    canvas.print_png(buffer, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def build_compare_figure(
    prices: pd.DataFrame, benchmark: str, labels: ChartLabels, *, log_scale: bool | None = None,
    onto: FigureBase | None = None,
) -> FigureBase:
    """The figure behind ``compare_chart`` (same arguments), for callers and tests that inspect artists.

    ``fig.axes`` is ``[growth, drawdown, relative strength]``; each ticker's
    ``Line2D`` carries the ticker as its label.  ``onto``: an ``emptied``
    compare figure to draw on instead of a new one.
    """
    def third(ax: Axes, x: np.ndarray, colours: dict[str, str]) -> None:
        _draw_relative(ax, x, relative_strength(prices, benchmark), colours, benchmark)

    return _three_panels(prices, benchmark, labels, log_scale, onto, third)


def build_backtest_figure(values: pd.DataFrame, benchmark: str, labels: ChartLabels, *,
                          onto: FigureBase | None = None) -> FigureBase:
    """The figure behind ``backtest_chart``: ``fig.axes`` is ``[growth, drawdown, rolling CAGR or relative]``.

    ``onto``: an emptied compare figure, or a subfigure holding the three panels (``add_compare_panels``).
    """
    if not spans_a_year(values.index[0], values.index[-1], years=ROLLING_MIN_YEARS):
        return build_compare_figure(values, benchmark, labels, log_scale=True, onto=onto)

    def third(ax: Axes, x: np.ndarray, colours: dict[str, str]) -> None:
        _draw_rolling_cagr(ax, x, rolling_cagr(values, ROLLING_YEARS) * 100.0, colours, benchmark)

    return _three_panels(values, benchmark, labels, True, onto, third)


def _three_panels(
    prices: pd.DataFrame, benchmark: str, labels: ChartLabels, log_scale: bool | None, onto: FigureBase | None,
    third: Callable[[Axes, np.ndarray, dict[str, str]], None],
) -> FigureBase:
    """Growth of $10,000 and drawdowns on top, ``third`` drawing the bottom panel; legend, title and footer.

    The benchmark alone is a chart too (a backtest of the market by itself): its lines and a flat 1x.
    """
    _check_prices(prices, benchmark)
    colours = ticker_colours(list(prices.columns), benchmark)
    x = _date_numbers(prices.index)
    growth = growth_of(prices)
    use_log = wants_log_scale(growth) if log_scale is None else log_scale

    fig = onto if onto is not None else _blank_compare_figure()
    legend_rows = _legend_rows(len(colours))
    growth_ax, drawdown_ax, bottom_ax = _place_panels(fig, top=_LEGEND_Y - legend_rows * _LEGEND_ROW - 0.045,
                                                      right=_panel_right(fig, [str(t) for t in colours]))

    _draw_growth(growth_ax, x, growth, colours, benchmark, use_log)
    _draw_drawdown(drawdown_ax, x, drawdown_series(prices) * 100.0, colours, benchmark)
    third(bottom_ax, x, colours)
    _style_date_axis(bottom_ax, x)
    _add_legend(fig, growth_ax, benchmark, legend_rows)
    _add_header_and_footer(fig, labels, prices.index)
    return fig


def normalised_chart(prices: pd.DataFrame, labels: ChartLabels, *, benchmark: str | None = None) -> bytes:
    """PNG of one panel: every column rebased to 100 on the first day, ``100 * P_t / P_0`` (Adj Close).

    For watchlists and digests, where several tickers are read side by side
    over a short window (up to ``MAX_TICKERS`` lines, each labelled at its end).
    """
    return render_png(build_normalised_figure(prices, labels, benchmark=benchmark))


def build_normalised_figure(prices: pd.DataFrame, labels: ChartLabels, *, benchmark: str | None = None) -> Figure:
    """The figure behind ``normalised_chart``; ``fig.axes[0]`` holds one labelled line per ticker."""
    _check_prices(prices, benchmark if benchmark is not None else prices.columns[0])
    colours = ticker_colours(list(prices.columns), benchmark)
    x = _date_numbers(prices.index)
    rebased = growth_of(prices, start=100.0)

    height = 0.62  # of the compare figure's: one panel instead of three
    fig = Figure(figsize=(FIGSIZE_IN[0], FIGSIZE_IN[1] * height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    legend_rows = _legend_rows(len(colours))
    # Legend rows and the panel title keep their size in points, so in a shorter figure they take a larger fraction.
    top = _LEGEND_Y - (legend_rows * _LEGEND_ROW + 0.06) / height
    ax = fig.add_axes((_LEFT, 0.12, _RIGHT - _LEFT, top - 0.12))
    _style_axes(ax)
    for ticker, colour in colours.items():
        _plot(ax, x, rebased[ticker], colour, benchmark=ticker == benchmark, width=_WIDTH_GROWTH)
    _panel_title(ax, "Rebased to 100 · dividends reinvested")
    _end_labels(ax, x[-1], rebased.iloc[-1], colours, lambda v: f"{v:.0f}")
    _style_date_axis(ax, x)
    _add_legend(fig, ax, benchmark, legend_rows)
    _add_header_and_footer(fig, labels, prices.index)
    return fig


def growth_of(prices: pd.DataFrame, start: float = GROWTH_START) -> pd.DataFrame:
    """Value of ``start`` dollars invested on day one, ``start * P_t / P_0``; on Adj Close, dividends reinvested."""
    return start * prices / prices.iloc[0]


def wants_log_scale(values: pd.DataFrame, ratio: float = LOG_SCALE_RATIO) -> bool:
    """True when the largest ending value is more than ``ratio`` times the smallest value anywhere.

    On a linear axis such a panel squeezes the early years and the laggards
    into a flat line at the bottom.
    """
    return bool(values.iloc[-1].max() / values.min().min() > ratio)


def ticker_colours(tickers: list[str], benchmark: str | None) -> dict[str, str]:
    """Line colour per ticker, in column order: the benchmark grey, the others from ``LINE_COLOURS``."""
    others = iter(LINE_COLOURS)
    return {t: BENCHMARK_COLOUR if t == benchmark else next(others) for t in tickers}


def downsample_positions(values: np.ndarray, max_points: int = MAX_POINTS_PER_LINE) -> np.ndarray:
    """Sorted row positions worth drawing, at most ``max_points`` of them.

    All positions when the series is short enough; otherwise the first, the
    last, and the minimum and maximum of each of ``(max_points - 2) // 2``
    equal buckets (min-max decimation), so the drawn line keeps its extremes
    and its exact end value.
    """
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    width = -(-n // ((max_points - 2) // 2))
    rows = -(-n // width)
    # NaN padding fills the last bucket to full width; nanargmin/nanargmax skip it.
    grid = np.full(rows * width, np.nan)
    grid[:n] = values
    grid = grid.reshape(rows, width)
    starts = np.arange(rows) * width
    picked = np.concatenate(([0, n - 1], starts + np.nanargmin(grid, axis=1), starts + np.nanargmax(grid, axis=1)))
    return np.unique(picked)


def _check_prices(prices: pd.DataFrame, benchmark: str) -> None:
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise ValueError("prices needs a DatetimeIndex")
    if benchmark not in prices.columns:
        raise ValueError(f"benchmark {benchmark!r} is not one of the columns {list(prices.columns)}")
    # The benchmark is a column, so there is at least one; a chart has room for MAX_TICKERS lines.
    if prices.shape[1] > MAX_TICKERS:
        raise ValueError(f"charts take at most {MAX_TICKERS} tickers, got {prices.shape[1]}")
    if len(prices) < 2 or not prices.index.is_monotonic_increasing:
        raise ValueError("prices needs at least two rows in increasing date order")
    values = prices.to_numpy(dtype="float64")
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError("prices must be aligned, finite and positive (no NaN)")


def _date_numbers(index: pd.DatetimeIndex) -> np.ndarray:
    # Matplotlib date numbers once, instead of a unit conversion for every line.
    naive = index.tz_localize(None) if index.tz is not None else index
    return mdates.date2num(naive.to_numpy())


def _legend_rows(count: int) -> int:
    return 1 if count <= 5 else 2


def _blank_compare_figure() -> Figure:
    """A compare figure with its three styled panels and nothing drawn (placed by ``_place_panels``)."""
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    add_compare_panels(fig)
    return fig


def add_compare_panels(fig: FigureBase) -> None:
    """The three styled, empty panels of a compare chart on ``fig`` (a figure, or a subfigure of a larger one)."""
    grid = GridSpec(3, 1, figure=fig, height_ratios=(3.0, 1.45, 1.45), hspace=0.34,
                    left=_LEFT, right=_RIGHT, bottom=_BOTTOM)
    growth_ax = fig.add_subplot(grid[0])
    for ax in (growth_ax, fig.add_subplot(grid[1], sharex=growth_ax), fig.add_subplot(grid[2], sharex=growth_ax)):
        _style_axes(ax)


def _place_panels(fig: FigureBase, top: float, right: float) -> tuple[Axes, Axes, Axes]:
    """The compare figure's panels, their grid's top edge at ``top`` (room above for a legend of 1 or 2 rows) and
    right edge at ``right`` (room beside for the end labels)."""
    growth_ax, drawdown_ax, relative_ax = fig.axes
    growth_ax.get_subplotspec().get_gridspec().update(top=top, right=right)
    # GridSpec.update moves only the Axes of figures pyplot manages: place these from their cells.
    for ax in fig.axes:
        ax.set_position(ax.get_subplotspec().get_position(fig))
    return growth_ax, drawdown_ax, relative_ax


def emptied(fig: Figure) -> Figure:
    """``fig``, a compare figure (or one made of subfigures), with everything a chart drew on it removed: ready
    for the next chart.

    What stays is what ``_blank_compare_figure`` made (Axes, styles, ticks, the canvas); every scale
    goes back to linear, and data limits, and limits a chart set, are forgotten, so the next chart's lines
    alone set them.
    """
    for ax in fig.axes:
        for artist in (*ax.lines, *ax.collections, *ax.texts, *ax.images):
            artist.remove()
        ax.set_yscale("linear")
        ax.relim()
        # A panel that set its limits (relative strength) must not pass them on to one that lets its lines set them
        # (rolling CAGR), as a new figure's would not.
        ax.set_autoscale_on(True)
    for part in (fig, *fig.subfigs):
        for artist in (*part.legends, *part.texts):
            artist.remove()
    return fig


def _style_axes(ax: Axes) -> None:
    ax.set_facecolor("white")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(_RULE)
    ax.tick_params(labelsize=_TICK_PT, colors=_TEXT, length=4, labelbottom=False)
    ax.grid(True, which="major", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.margins(x=0.0)


def _zero_line(ax: Axes) -> None:
    """A thin grey rule at 0, under the data: where a figure changes sign."""
    ax.axhline(0.0, color=_RULE, linewidth=0.8, zorder=1)


def _panel_title(ax: Axes, text: str) -> None:
    # A fixed y stops matplotlib re-measuring the tick labels to place the title on every draw.
    ax.set_title(text, loc="left", fontsize=_PANEL_PT, fontweight="bold", color=_TEXT, pad=7, parse_math=False, y=1.0)


def _plot(ax: Axes, x: np.ndarray, y: pd.Series, colour: str, *, benchmark: bool, width: float) -> Line2D:
    keep = downsample_positions(y.to_numpy(dtype="float64"))
    (line,) = ax.plot(x[keep], y.to_numpy()[keep], color=colour, linewidth=width, label=str(y.name),
                      solid_capstyle="round", zorder=2 if benchmark else 3)
    if benchmark:
        line.set_dashes(BENCHMARK_DASHES)
    return line


def _draw_growth(
    ax: Axes, x: np.ndarray, growth: pd.DataFrame, colours: dict[str, str], benchmark: str, log: bool
) -> None:
    for ticker, colour in colours.items():
        _plot(ax, x, growth[ticker], colour, benchmark=ticker == benchmark, width=_WIDTH_GROWTH)
    scale_note = " · log scale" if log else ""
    _panel_title(ax, f"Growth of $10,000 · dividends reinvested{scale_note}")
    _set_value_scale(ax, log, growth.to_numpy(), _dollars)
    _end_labels(ax, x[-1], growth.iloc[-1], colours, lambda v: _dollars(v, None))


def _draw_drawdown(
    ax: Axes, x: np.ndarray, drawdown_pct: pd.DataFrame, colours: dict[str, str], benchmark: str
) -> None:
    for ticker, colour in colours.items():
        _plot(ax, x, drawdown_pct[ticker], colour, benchmark=ticker == benchmark, width=_WIDTH_PANEL)
    bench = drawdown_pct[benchmark].to_numpy()
    keep = downsample_positions(bench)
    # A light wash under the benchmark lets the eye compare depths without another line.
    ax.fill_between(x[keep], bench[keep], 0.0, color=BENCHMARK_COLOUR, alpha=0.12, linewidth=0, zorder=1)
    _zero_line(ax)
    _panel_title(ax, "Drawdown from previous high")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    low = float(drawdown_pct.to_numpy().min())
    ax.set_ylim(min(low * 1.08, -1.0), max(-low * 0.04, 0.5))


def _draw_relative(ax: Axes, x: np.ndarray, relative: pd.DataFrame, colours: dict[str, str], benchmark: str) -> None:
    others = {t: c for t, c in colours.items() if t != benchmark}
    for ticker, colour in others.items():
        _plot(ax, x, relative[ticker], colour, benchmark=False, width=_WIDTH_PANEL)
    ax.axhline(1.0, color=BENCHMARK_COLOUR, linewidth=1.4, dashes=BENCHMARK_DASHES, zorder=1)
    _panel_title(ax, f"Relative strength vs {benchmark} · above 1× = ahead of {benchmark}")
    values = np.append(relative.to_numpy(), 1.0)
    log = bool(values.max() / values.min() > LOG_SCALE_RATIO)
    _set_value_scale(ax, log, values, _times)
    # Two decimals on end labels so neighbours line up (1.10x, 0.86x); ticks keep the shortest form.
    _end_labels(ax, x[-1], relative.iloc[-1], others, lambda v: f"{v:.2f}×")


def _draw_rolling_cagr(
    ax: Axes, x: np.ndarray, cagr_pct: pd.DataFrame, colours: dict[str, str], benchmark: str
) -> None:
    known = cagr_pct.notna().all(axis=1).to_numpy()
    for ticker, colour in colours.items():
        _plot(ax, x[known], cagr_pct[ticker][known], colour, benchmark=ticker == benchmark, width=_WIDTH_PANEL)
    _zero_line(ax)
    _panel_title(ax, f"Rolling {ROLLING_YEARS}-year CAGR · each point: the {ROLLING_YEARS} years up to it")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    _end_labels(ax, x[-1], cagr_pct.iloc[-1], colours, lambda v: _percent(v, None))


def _set_value_scale(ax: Axes, log: bool, values: np.ndarray, formatter: Callable[[float, object], str]) -> None:
    low, high = float(values.min()), float(values.max())
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_formatter(NullFormatter())
        pad = (high / low) ** 0.04
        ax.set_ylim(low / pad, high * pad)
        ax.yaxis.set_major_locator(_log_ticks(low / pad, high * pad, ax.bbox.height / (_TICK_PT * ax.figure.dpi / 72)))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        pad = (high - low) * 0.06 or abs(high) * 0.01
        ax.set_ylim(low - pad, high + pad)
    ax.yaxis.set_major_formatter(FuncFormatter(_distinct(formatter, ax)))


def _log_ticks(low: float, high: float, lines: float = np.inf) -> LogLocator | FixedLocator:
    """Ticks for a log axis from ``low`` to ``high``: 3 to 7 labelled values inside it, no two closer than
    ``_LABEL_LINES`` label heights on an axis ``lines`` label heights tall.

    Over several decades 1-2-5 (or 1-3, or decades alone over four), over about one 1-1.5-2-3-4-5-7; under half
    a decade, where a log locator would leave one or two labels, evenly spaced round values as on a linear axis.
    Where those steps would crowd (about one decade on a short panel, where 4, 5 and 7 sit 10 to 15 px apart), the
    next sparser steps.
    """
    decades = np.log10(high / low)
    if decades >= 0.5:
        steps = _log_tick_steps(decades)
        for sparser in _LOG_STEPS[_LOG_STEPS.index(steps) + 1:]:
            ticks = LogLocator(base=10.0, subs=steps, numticks=12).tick_values(low, high)
            gaps = np.diff(np.log10(ticks[(ticks >= low) & (ticks <= high)])) / decades * lines
            if not len(gaps) or gaps.min() >= _LABEL_LINES:
                break
            steps = sparser
        return LogLocator(base=10.0, subs=steps, numticks=12)
    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return FixedLocator(ticks[(ticks >= low) & (ticks <= high)])


def _distinct(formatter: Callable[[float, object], str], ax: Axes) -> Callable[[float, object], str]:
    """``formatter``, or full figures when its short form would print two ticks alike ($10.0k, $10.0k)."""
    def label(value: float, pos: object) -> str:
        low, high = ax.get_ylim()
        shown = [formatter(v, None) for v in ax.yaxis.get_major_locator().tick_values(low, high)]
        if len(set(shown)) < len(shown):
            return f"{value:,.2f}".rstrip("0").rstrip(".") if formatter is not _dollars else f"${value:,.0f}"
        return formatter(value, pos)

    return label


def _log_tick_steps(decades: float) -> tuple[float, ...]:
    # Aim for 3 to 7 labelled ticks: plain decades alone leave one or two ticks on a short log axis.
    if decades < 1.2:
        return _LOG_STEPS[0]
    if decades < 2.5:
        return _LOG_STEPS[1]
    return _LOG_STEPS[2] if decades < 4.0 else _LOG_STEPS[3]


def _dollars(value: float, _pos: object) -> str:
    # Compared once rounded to the three figures printed: $999,700 is "$1M", not "$1e+03k".
    shown = float(f"{value:.3g}")
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(shown) >= size:
            return f"${shown / size:.3g}{suffix}"
    return f"${shown:.3g}"


def _percent(value: float, _pos: object) -> str:
    # "-10%" rather than "-10.0%": fewer glyphs to read at thumbnail size; a true minus sign like matplotlib's own.
    # Rounding drops float dust such as -1e-15 near zero; + 0.0 turns -0.0 into 0.0.
    return f"{round(value, 9) + 0.0:.3g}%".replace("-", "\u2212")


def _times(value: float, _pos: object) -> str:
    return f"{value:.3g}×"


def _end_labels(
    ax: Axes, x_end: float, ends: pd.Series, colours: dict[str, str], fmt: Callable[[float], str]
) -> None:
    """Ticker and ending value just right of the plot, pushed apart so no two overlap, and inside the figure:
    shrunk when the longest would run off its right edge (a portfolio's name is long), and below
    ``_END_LABEL_MIN_PT`` cut short with an ellipsis before the value."""
    tickers = list(colours)
    if not tickers:  # the benchmark alone has no line of its own on the relative panel, only the 1x rule
        return
    y_end = ends[tickers].to_numpy(dtype="float64")
    to_axes = ax.transData + ax.transAxes.inverted()
    wanted = to_axes.transform(np.column_stack([np.full(len(tickers), x_end), y_end]))[:, 1]
    size, texts = _fitted_labels(ax, [str(t) for t in tickers], [fmt(ends[t]) for t in tickers])
    fig = ax.get_figure(root=True)
    gap = size * fig.dpi / 72.0 * 1.2 / ax.bbox.height
    ax.scatter(np.full(len(tickers), x_end), y_end, s=28, c=[colours[t] for t in tickers], zorder=4, clip_on=False)
    for ticker, y, text in zip(tickers, _spread(wanted, gap), texts, strict=True):
        ax.text(_END_LABEL_X, y, text, transform=ax.transAxes, ha="left", va="center",
                fontsize=size, fontweight="bold", color=_label_colour(colours[ticker]), clip_on=False,
                parse_math=False)


def _panel_right(fig: FigureBase, names: list[str]) -> float:
    """Where the panels end, in fractions of ``fig``'s width: at ``_RIGHT``, or further left, down to
    ``_RIGHT_MIN``, so the longest end label (a name and a value such as ``$41.2k``) fits at full size."""
    renderer = fig.get_figure(root=True).canvas.get_renderer()
    font = FontProperties(size=_END_LABEL_PT, weight="bold")
    widest = max(renderer.get_text_width_height_descent(f"{name} $00.0k", font, ismath=False)[0] for name in names)
    width = fig.bbox.width
    # A label starts _END_LABEL_X plot widths from the plot's left edge, which is at _LEFT.
    plot = (width * (1 - _LEFT) - widest - _END_LABEL_PAD_PX) / _END_LABEL_X
    return float(np.clip(_LEFT + plot / width, _RIGHT_MIN, _RIGHT))


def _fitted_labels(ax: Axes, names: list[str], values: list[str]) -> tuple[float, list[str]]:
    """The font size and texts of end labels ``name value`` that fit between the label's start and the right edge
    of ``ax``'s (sub)figure: the largest size, in tenths of a point from ``_END_LABEL_PT`` down to
    ``_END_LABEL_MIN_PT``, at which the widest fits; at the smallest, each name that still does not fit is cut to
    its longest start that does, with an ellipsis before the value (the legend has the name whole)."""
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    room = ax.get_figure().bbox.x1 - ax.bbox.x0 - _END_LABEL_X * ax.bbox.width - _END_LABEL_PAD_PX

    def too_wide(text: str, size: float) -> bool:
        font = FontProperties(size=size, weight="bold")
        return renderer.get_text_width_height_descent(text, font, ismath=False)[0] > room

    texts = [f"{name} {value}" for name, value in zip(names, values)]
    # Searched, not scaled: text does not widen in proportion to its size (glyphs snap to whole pixels).
    sizes = np.arange(round(_END_LABEL_MIN_PT * 10), round(_END_LABEL_PT * 10) + 1) / 10
    size = float(sizes[_last_fitting(sizes, lambda s: any(too_wide(text, s) for text in texts))])
    fitted = []
    for name, value, text in zip(names, values, texts):
        if too_wide(text, size):
            starts = [f"{name[:cut].rstrip()}… {value}" for cut in range(1, len(name))]
            text = starts[_last_fitting(starts, lambda start: too_wide(start, size))] if starts else text
        fitted.append(text)
    return size, fitted


def _last_fitting(candidates: Sequence, too_wide: Callable[[object], bool]) -> int:
    """Index of the last of ``candidates`` (ordered narrowest first) that is not ``too_wide``; 0 if none is.

    The last is tried first: labels mostly fit at full size, and one measure is then enough."""
    last = len(candidates) - 1
    if not too_wide(candidates[last]):
        return last
    return max(bisect_left(candidates, True, key=too_wide) - 1, 0)


def _label_colour(colour: str) -> str:
    # Yellow text on white is unreadable; the dot beside it still shows the line's colour.
    return "#8A7E00" if colour == "#F0E442" else colour


def _spread(wanted: np.ndarray, gap: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Positions as close to ``wanted`` as possible, at least ``gap`` apart, inside ``[low, high]`` if they fit."""
    order = np.argsort(wanted, kind="stable")
    steps = np.arange(len(wanted)) * gap
    # Push up from the floor (y_0 >= low, y_i >= y_{i-1} + gap), then down from the ceiling (y_last <= high,
    # y_i <= y_{i+1} - gap): the second pass keeps the first's gaps, so only a crowd too tall for the panel
    # leaves it, at the bottom.
    y = np.maximum.accumulate(np.maximum(wanted[order], low) - steps) + steps
    down = steps[::-1]
    y = np.minimum.accumulate(np.minimum(y + down, high)[::-1])[::-1] - down
    placed = np.empty_like(y)
    placed[order] = y
    return placed


def _style_date_axis(ax: Axes, x: np.ndarray) -> None:
    """Date ticks: automatic over weeks and more; over a few sessions, the sessions themselves (at most seven,
    one label a day), so a one-day window draws no hour ticks and no label twice."""
    if x[-1] - x[0] <= SHORT_WINDOW_DAYS:
        ax.xaxis.set_major_locator(FixedLocator(x[np.linspace(0, len(x) - 1, min(len(x), 7)).round().astype(int)]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.tick_params(axis="x", labelbottom=True)


def _add_legend(fig: Figure, growth_ax: Axes, benchmark: str | None, rows: int) -> None:
    handles = growth_ax.get_lines()
    names = [f"{h.get_label()} (benchmark)" if h.get_label() == benchmark else h.get_label() for h in handles]
    legend_row(fig, handles, names, ncol=-(-len(handles) // rows))


def legend_row(fig: Figure, handles: list, names: list[str], *, ncol: int, colours: str | list[str] = _TEXT,
               handle_length: float = 2.4) -> None:
    """The legend every chart has: frameless, under the title, from the panels' left edge; names in ``colours``."""
    fig.legend(handles, names, loc="upper left", bbox_to_anchor=(_LEFT - 0.01, _LEGEND_Y), ncol=ncol,
               frameon=False, fontsize=_LEGEND_PT, handlelength=handle_length, columnspacing=1.6,
               borderaxespad=0.0, labelcolor=colours)


def _add_header_and_footer(fig: Figure, labels: ChartLabels, dates: pd.DatetimeIndex) -> None:
    """Title on top; the dates drawn, the as-of date and the source in the footer (a forwarded PNG keeps them)."""
    fig.text(_LEFT - 0.01, _TITLE_Y, labels.title, ha="left", va="top", fontsize=_title_size(labels.title),
             fontweight="bold", color=_TEXT, parse_math=False)
    footer = " · ".join(part for part in (span_text(dates[0], dates[-1]), f"As of {labels.as_of}",
                                          f"Source: {labels.source}", labels.basis) if part)
    # One line, shrunk when long (a basis naming costs and fees), so its parts never run into each other.
    size = min(_FOOTER_PT, _FOOTER_PT * _FOOTER_FULL_CHARS / len(footer))
    fig.text(_LEFT - 0.01, 0.012, footer, ha="left", va="bottom", fontsize=size, color=_MUTED, parse_math=False)
    if labels.demo:
        _add_demo_marks(fig)


def span_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """``2016-07-14 → 2026-07-14 (10.0y)``; a window under two months in days."""
    days = (end - start).days
    length = f"{days} day{'' if days == 1 else 's'}" if days < 60 else f"{years_between(start, end):.1f}y"
    return f"{start:%Y-%m-%d} → {end:%Y-%m-%d} ({length})"


def _title_size(title: str) -> float:
    # About 50 bold characters fit the width at full size; shrink longer titles rather than let them run off the edge.
    return max(_TITLE_MIN_PT, min(_TITLE_PT, _TITLE_PT * _TITLE_FULL_CHARS / max(len(title), 1)))


def _add_demo_marks(fig: FigureBase) -> None:
    # Two marks: the badge survives cropping of the centre, the watermark survives cropping of the corner.
    # The badge sits at the right end of the legend row, which stays short, not beside a title of any length;
    # as far below the top edge in inches as on the compare chart, as the title above it keeps its size in points
    # (at the compare chart's fraction, a shorter chart's badge ran into the end of a 40-character title).
    height_in = fig.bbox.height / fig.get_figure(root=True).dpi
    fig.text(0.985, 1 - (1 - _LEGEND_Y + 0.002) * FIGSIZE_IN[1] / height_in, DEMO_TEXT, ha="right", va="top",
             fontsize=13, fontweight="bold", color="white",
             bbox={"boxstyle": "round,pad=0.2", "facecolor": "#C0392B", "edgecolor": "none"}, parse_math=False)
    fig.text(0.46, 0.47, DEMO_TEXT, ha="center", va="center", rotation=24, fontsize=40, fontweight="bold",
             color="#C0392B", alpha=0.16, zorder=10, parse_math=False)
