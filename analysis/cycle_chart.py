"""The /cycle chart as PNG bytes, in the style of ``analysis.charts`` (its palette, fonts, header and footer).

One bar group per phase type (``analysis.cycle.PHASE_TYPES`` order): a bar per ticker at its median return
relative to the benchmark over the episodes with a figure, and each of those episodes as a dot over its
ticker's bar, so a median resting on one outlier shows.  A ticker with no episode in a phase gets "n/a" at
zero instead of a bar.  Like the other charts it is built on its own ``Figure`` and Agg canvas, never
``pyplot``, so threads may draw at the same time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis.charts import (
    _LEFT,
    _LEGEND_ROW,
    _LEGEND_Y,
    _MUTED,
    _TEXT,
    DPI,
    FIGSIZE_IN,
    LINE_COLOURS,
    ChartLabels,
    _add_header_and_footer,
    _label_colour,
    _legend_rows,
    _panel_title,
    _percent,
    _style_axes,
    _zero_line,
    legend_row,
    render_png,
)
from analysis.cycle import PHASE_TYPES, CycleFigures

HEIGHT = 0.8  # of the compare figure's: one panel
GROUP_WIDTH = 0.8  # of the space between two phase types
DOT_SPREAD = 0.6  # of a bar's width, over which a phase's episodes are spread
_RIGHT_EDGE, _BOTTOM_EDGE = 0.975, 0.2


def cycle_chart(figures: CycleFigures, labels: ChartLabels) -> bytes:
    """PNG bytes of ``build_cycle_figure``."""
    return render_png(build_cycle_figure(figures, labels))


def build_cycle_figure(figures: CycleFigures, labels: ChartLabels) -> Figure:
    """The figure behind ``cycle_chart``: ``fig.axes[0]`` holds one ``BarContainer`` per ticker (labelled with
    the ticker, heights the medians in percent, 0 where n/a) and one scatter of its episodes per ticker."""
    tickers = list(figures.relative.columns)
    colours = dict(zip(tickers, LINE_COLOURS))
    phases = [p for p in PHASE_TYPES if any(e.phase == p for e in figures.episodes)]
    slot = {p.key: i for i, p in enumerate(phases)}

    fig = Figure(figsize=(FIGSIZE_IN[0], FIGSIZE_IN[1] * HEIGHT), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    legend_rows = _legend_rows(len(tickers))
    top = _LEGEND_Y - (legend_rows * _LEGEND_ROW + 0.06) / HEIGHT
    ax = fig.add_axes((_LEFT, _BOTTOM_EDGE, _RIGHT_EDGE - _LEFT, top - _BOTTOM_EDGE))
    _style_axes(ax)

    width = GROUP_WIDTH / len(tickers)
    offsets = (np.arange(len(tickers)) - (len(tickers) - 1) / 2) * width
    # Each episode's place in its phase (0, 1, ...) and how many the phase has, to spread its dots over the bar.
    phase_of = pd.Series([e.phase.key for e in figures.episodes])
    rank = phase_of.groupby(phase_of).cumcount().to_numpy()
    size = phase_of.map(phase_of.value_counts()).to_numpy()
    spread = np.where(size > 1, rank / np.maximum(size - 1, 1) - 0.5, 0.0) * DOT_SPREAD * width
    x_phase = phase_of.map(slot).to_numpy(dtype=float)

    medians = figures.summary["median"].unstack("ticker").reindex(index=[p.key for p in phases], columns=tickers) * 100
    for ticker, offset in zip(tickers, offsets):
        heights = medians[ticker].to_numpy()
        x = np.arange(len(phases)) + offset
        ax.bar(x, np.nan_to_num(heights), width=width * 0.92, color=colours[ticker], alpha=0.55, label=ticker,
               zorder=2)
        for missing in x[np.isnan(heights)]:
            ax.text(missing, 0.0, "n/a", ha="center", va="bottom", fontsize=10, color=_MUTED, rotation=90,
                    parse_math=False)
        values = figures.relative[ticker].to_numpy() * 100
        shown = np.isfinite(values)
        ax.scatter((x_phase + offset + spread)[shown], values[shown], s=30, color=colours[ticker],
                   edgecolors="#222222", linewidths=0.7, zorder=4)

    _zero_line(ax)
    ax.set_xlim(-0.5, len(phases) - 0.5)
    counts = phase_of.value_counts()
    ax.set_xticks(np.arange(len(phases)),
                  [f"{p.short}\n{counts[p.key]} episode{'s' if counts[p.key] > 1 else ''}" for p in phases])
    ax.tick_params(axis="x", labelbottom=True, length=0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.grid(False, axis="x")
    first = min(e.first_day for e in figures.episodes)
    last = max(e.last_day for e in figures.episodes)
    _panel_title(ax, f"Return relative to {figures.benchmark} · bar: median · dot: one episode · "
                     f"phases {first:%Y-%m} to {last:%Y-%m}")
    legend_row(fig, [Patch(facecolor=colours[t], alpha=0.55, edgecolor="none") for t in tickers], tickers,
               ncol=-(-len(tickers) // legend_rows), colours=[_label_colour(colours[t]) for t in tickers] or _TEXT,
               handle_length=1.6)
    _add_header_and_footer(fig, labels, pd.DatetimeIndex([pd.Timestamp(first), pd.Timestamp(last)]))
    return fig
