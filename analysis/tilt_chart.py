"""The /tilt chart: what each size of a tilt bought, drawn with matplotlib (Agg), as PNG bytes.

* One destination: excess return a year against tracking error, one point per size (left), beside the spread
  of rolling 3-year excess per size (right: a box from the 25th to the 75th percentile with the median, whiskers
  at the 5th and 95th).
* Two destinations: a heatmap of excess return a year over the grid, each cell also showing its
  information ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.charts import (
    _MUTED,
    _TEXT,
    _TICK_PT,
    OKABE_ITO,
    ChartLabels,
    _add_header_and_footer,
    _panel_title,
    _style_axes,
    _zero_line,
    render_png,
)

FIGSIZE_IN = (11.0, 5.6)
DPI = 100
POINT_COLOUR = OKABE_ITO[4]
# A diverging map that reads under the common colour-vision deficiencies (blue below 0, orange above).
HEATMAP = "PuOr_r"
PERCENTILES = (5, 25, 50, 75, 95)


def sweep_line_chart(sizes: list[str], excess: np.ndarray, tracking: np.ndarray, rolling: list[np.ndarray],
                     x_label: str, labels: ChartLabels, dates: pd.DatetimeIndex) -> bytes:
    """One destination: ``excess`` and ``tracking`` a year (fractions) per size, ``rolling`` each size's
    rolling 3-year excess (fractions; empty arrays when the window is under 3 years); ``dates`` starts and ends
    the window measured."""
    return render_png(build_sweep_line_figure(sizes, excess, tracking, rolling, x_label, labels, dates))


def build_sweep_line_figure(sizes: list[str], excess: np.ndarray, tracking: np.ndarray, rolling: list[np.ndarray],
                            x_label: str, labels: ChartLabels, dates: pd.DatetimeIndex) -> Figure:
    """The figure behind ``sweep_line_chart``: ``fig.axes`` is ``[scatter, spread]``."""
    fig = _figure(labels, dates)
    # Fixed places in figure fractions: no layout engine or grid to solve on each render.
    scatter, spread = fig.add_axes((0.07, 0.17, 0.39, 0.63)), fig.add_axes((0.57, 0.17, 0.41, 0.63))
    _style(scatter, "Excess return vs tracking error (% a year)", "Tracking error", "Excess return")
    scatter.xaxis.set_major_locator(MaxNLocator(5))
    scatter.margins(0.12)  # room for the size labels beside the outer points
    scatter.plot(tracking * 100, excess * 100, "-o", color=POINT_COLOUR, markersize=7, linewidth=1.2)
    for name, x, y in zip(sizes, tracking * 100, excess * 100):
        scatter.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=10, color=_TEXT)
    if any(len(r) for r in rolling):
        _style(spread, "Rolling 3-year excess (% a year)", x_label, "")
        _draw_boxes(spread, sizes, rolling)
    else:
        spread.axis("off")
        spread.text(0.5, 0.5, "Rolling 3-year windows need 3 years of data", ha="center", va="center",
                    fontsize=12, color=_MUTED, transform=spread.transAxes)
    for ax in (scatter, spread):
        _zero_line(ax)
    return fig


def sweep_grid_chart(rows: list[str], columns: list[str], excess: np.ndarray, information: np.ndarray,
                     row_label: str, column_label: str, labels: ChartLabels, dates: pd.DatetimeIndex) -> bytes:
    """Two destinations: ``excess`` and ``information`` (rows x columns arrays; excess in fractions) as a heatmap;
    ``dates`` starts and ends the window measured."""
    return render_png(build_sweep_grid_figure(rows, columns, excess, information, row_label, column_label, labels,
                                              dates))


def build_sweep_grid_figure(rows: list[str], columns: list[str], excess: np.ndarray, information: np.ndarray,
                            row_label: str, column_label: str, labels: ChartLabels, dates: pd.DatetimeIndex) -> Figure:
    """The figure behind ``sweep_grid_chart``: ``fig.axes`` is ``[heatmap, colour bar]``."""
    fig = _figure(labels, dates)
    ax = fig.add_axes((0.12, 0.17, 0.7, 0.63))
    shown = excess * 100
    limit = max(float(np.nanmax(np.abs(shown))), 0.1) if np.isfinite(shown).any() else 1.0
    image = ax.imshow(shown, cmap=HEATMAP, vmin=-limit, vmax=limit, aspect="auto", origin="lower")
    for (i, j), value in np.ndenumerate(shown):
        ir = information[i, j]
        text = "n/a" if not np.isfinite(value) else f"{value:+.1f}%" + (f"\nIR {ir:.2f}" if np.isfinite(ir) else "")
        # Light text on the dark ends of the map, dark text elsewhere.
        dark = np.isfinite(value) and abs(value) > 0.6 * limit
        ax.text(j, i, text, ha="center", va="center", fontsize=10, color="white" if dark else _TEXT)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(labelsize=_TICK_PT, colors=_TEXT)
    _axis_labels(ax, column_label, row_label)
    _panel_title(ax, "Excess return a year over the benchmark (and information ratio)")
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    bar.ax.tick_params(labelsize=_TICK_PT, colors=_TEXT)
    bar.set_label("% a year", fontsize=_TICK_PT, color=_TEXT)
    return fig


def _draw_boxes(ax: Axes, sizes: list[str], rolling: list[np.ndarray]) -> None:
    """Boxes from the 25th to the 75th percentile with the median, whiskers to the 5th and 95th: one collection
    per part for all sizes (matplotlib's ``boxplot`` makes several artists per box, each measured on draw)."""
    x = np.arange(len(sizes), dtype="float64")
    q = np.array([np.percentile(r * 100, PERCENTILES) if len(r) else [np.nan] * 5 for r in rolling])
    ax.bar(x, q[:, 3] - q[:, 1], bottom=q[:, 1], width=0.5, facecolor="none", edgecolor=_TEXT, linewidth=1.0)
    ax.vlines(np.concatenate([x, x]), np.concatenate([q[:, 0], q[:, 3]]), np.concatenate([q[:, 1], q[:, 4]]),
              color=_TEXT, linewidth=1.0)
    ax.hlines(np.concatenate([q[:, 0], q[:, 4]]), np.concatenate([x, x]) - 0.12, np.concatenate([x, x]) + 0.12,
              color=_TEXT, linewidth=1.0)
    ax.hlines(q[:, 2], x - 0.25, x + 0.25, color=POINT_COLOUR, linewidth=2.2)
    ax.set_xticks(x, sizes)
    ax.set_xlim(-0.6, len(sizes) - 0.4)


def _figure(labels: ChartLabels, dates: pd.DatetimeIndex) -> Figure:
    # Its own Agg canvas, as the other charts' figures: one a caller can measure, never pyplot's.
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    _add_header_and_footer(fig, labels, dates)
    return fig


def _style(ax: Axes, title: str, x_label: str, y_label: str) -> None:
    """The house style of ``analysis.charts`` with the axes named, tick labels on both axes and five or so ticks an
    axis (each tick is a handful of artists to build and measure on every draw)."""
    _style_axes(ax)
    _panel_title(ax, title)
    _axis_labels(ax, x_label, y_label)
    ax.tick_params(labelbottom=True)
    ax.yaxis.set_major_locator(MaxNLocator(5))


def _axis_labels(ax: Axes, x_label: str, y_label: str) -> None:
    ax.set_xlabel(x_label, fontsize=_TICK_PT, color=_TEXT)
    ax.set_ylabel(y_label, fontsize=_TICK_PT, color=_TEXT)
