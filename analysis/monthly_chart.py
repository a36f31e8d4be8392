"""The /backtest chart with a heatmap of monthly returns (years down, months across) for the first portfolio
below its three panels, in one figure and one PNG.  Colours diverge at 0 (orange up, purple down, colour-blind
safe); each cell prints its return in percent; a month outside the window is blank.

The figure is two subfigures: the three panels of ``analysis.charts`` on top, in their own fixed layout
(``FIGSIZE_IN``), and the heatmap below, as tall as its rows need.  Figures are reused as the compare
charts' are (``analysis.charts``): resized to the next chart's rows, drawn on, and emptied.
"""

from __future__ import annotations

import functools
import queue

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Transform

from analysis.charts import (
    _PANEL_PT,
    _TEXT,
    _TICK_PT,
    DPI,
    FIGSIZE_IN,
    ChartLabels,
    _on_idle_figure,
    add_compare_panels,
    build_backtest_figure,
)
from analysis.tilt_chart import HEATMAP

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The heatmap's height in inches: a margin for its title and month names, and a row per year.
HEAT_MARGIN_IN, ROW_IN = 0.9, 0.28
CELL_PT = 8.0
_TICK_LENGTH_PT, _TICK_PAD_PT = 3.5, 3.5
_idle: queue.SimpleQueue[Figure] = queue.SimpleQueue()


def monthly_grid(returns: pd.Series) -> pd.DataFrame:
    """Monthly returns (index: monthly periods) as years x 12 months, NaN where the window has no return."""
    frame = pd.DataFrame({"year": returns.index.year, "month": returns.index.month, "r": returns.to_numpy()})
    return frame.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))


def backtest_monthly_chart(values: pd.DataFrame, benchmark: str, labels: ChartLabels, returns: pd.Series,
                           title: str) -> bytes:
    """PNG of ``analysis.charts.backtest_chart(values, benchmark, labels)`` with the heatmap of ``returns``
    (fractions, monthly periods) titled ``title`` below it."""
    return _on_idle_figure(lambda onto: build_backtest_monthly_figure(values, benchmark, labels, returns, title,
                                                                      onto=onto), _idle)


def build_backtest_monthly_figure(values: pd.DataFrame, benchmark: str, labels: ChartLabels, returns: pd.Series,
                                  title: str, *, onto: Figure | None = None) -> Figure:
    """The figure behind ``backtest_monthly_chart``: ``fig.subfigs`` is ``[panels, heatmap]``; ``onto``: an
    emptied figure of the same kind to draw on instead of a new one."""
    grid = monthly_grid(returns) * 100.0
    fig = onto if onto is not None else _blank_figure()
    panels, heat = fig.subfigs
    heat_in = HEAT_MARGIN_IN + ROW_IN * len(grid)
    height = FIGSIZE_IN[1] + heat_in
    fig.set_size_inches(FIGSIZE_IN[0], height)
    split = heat_in / height
    panels.bbox_relative.set_points(np.array([[0.0, split], [1.0, 1.0]]))
    heat.bbox_relative.set_points(np.array([[0.0, 0.0], [1.0, split]]))
    build_backtest_figure(values, benchmark, labels, onto=panels)
    _draw_heatmap(heat, grid, title, heat_in)
    return fig


def _blank_figure() -> Figure:
    """Three empty panels above an empty heatmap Axes, to be sized by the chart drawn on them."""
    fig = Figure(figsize=(FIGSIZE_IN[0], FIGSIZE_IN[1] + HEAT_MARGIN_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    panels, heat = fig.subfigures(2, 1, height_ratios=(FIGSIZE_IN[1], HEAT_MARGIN_IN))
    add_compare_panels(panels)
    ax = heat.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.xaxis.tick_top()
    # Month and year labels are drawn as outlines (``_outlines``), not as tick labels.
    ax.tick_params(colors=_TEXT, length=_TICK_LENGTH_PT, labeltop=False, labelleft=False)
    return fig


def _draw_heatmap(heat: SubFigure, grid: pd.DataFrame, title: str, height_in: float) -> None:
    """``grid`` (percent, years x months) as coloured cells with their figures, on ``heat``'s one Axes."""
    (ax,) = heat.axes
    rows = len(grid)
    ax.set_position((0.085, 0.08, 0.835, 1 - 0.08 - 0.55 / height_in))
    limit = max(float(np.nanmax(np.abs(grid.to_numpy()))), 1.0)
    ax.imshow(grid.to_numpy(), cmap=HEATMAP, vmin=-limit, vmax=limit, aspect="auto")
    _cell_figures(ax, grid.to_numpy(), limit)
    ax.set_xlim(-0.5, 11.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks(range(12))
    ax.set_yticks(range(rows))
    # Months above their columns, years left of their rows, clear of the tick marks.
    clear = _TICK_LENGTH_PT + _TICK_PAD_PT
    _outlines(ax, [_text_path(m, _TICK_PT - 2, "center", "baseline", (0.0, clear + 2.0)) for m in MONTHS],
              np.column_stack([np.arange(12), np.ones(12)]), ax.get_xaxis_transform(), _TEXT)
    _outlines(ax, [_text_path(str(y), _TICK_PT - 2, "right", "center", (-clear, 0.0)) for y in grid.index],
              np.column_stack([np.zeros(rows), np.arange(rows)]), ax.get_yaxis_transform(), _TEXT)
    heat.text(0.085, 1 - 0.1 / height_in, title, ha="left", va="top", fontsize=_PANEL_PT, fontweight="bold", color=_TEXT,
              parse_math=False)


def _cell_figures(ax: Axes, cells: np.ndarray, limit: float) -> None:
    """Each finite cell's return (one decimal) centred on it, white on the darkest cells."""
    rows, columns = np.nonzero(np.isfinite(cells))
    values = cells[rows, columns]
    # + 0.0 after rounding: never "-0.0".
    paths = [_text_path(f"{round(v, 1) + 0.0:.1f}", CELL_PT, "center", "center") for v in values]
    _outlines(ax, paths, np.column_stack([columns, rows]), ax.transData,
              np.where(np.abs(values) > 0.6 * limit, "white", _TEXT))


def _outlines(ax: Axes, paths: list[Path], at: np.ndarray, transform: Transform, colours: str | np.ndarray) -> None:
    """``paths`` (in points) placed at ``at`` (in ``transform``'s coordinates), as one collection of filled outlines.

    Text drawn this way rather than as a text artist per label: a decade's heatmap has some 130 cells and 23
    labels, and laying out and rasterising that many texts was a third of the whole chart's time.
    """
    fig = ax.get_figure()
    ax.add_collection(PathCollection(paths, offsets=at, offset_transform=transform,
                                     transform=Affine2D().scale(1 / 72) + fig.dpi_scale_trans, facecolors=colours,
                                     edgecolors="none", zorder=3, clip_on=False), autolim=False)


@functools.lru_cache(maxsize=4096)
def _text_path(text: str, size: float, ha: str, va: str, shift: tuple[float, float] = (0.0, 0.0)) -> Path:
    """The outline of ``text`` at ``size`` points, in points: its ink centred on (0, 0) or its right end there
    (``ha``), its ink centred on 0 or its baseline there (``va``), then moved by ``shift``.  The same few hundred
    figures, months and years recur in every heatmap, so each is laid out once per process."""
    path = TextPath((0, 0), text, size=size, prop=FontProperties(size=size))
    box = path.get_extents()
    x = -(box.x0 + box.x1) / 2 if ha == "center" else -box.x1
    y = -(box.y0 + box.y1) / 2 if va == "center" else 0.0
    return path.transformed(Affine2D().translate(x + shift[0], y + shift[1]))
