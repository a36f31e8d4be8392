"""A heatmap of monthly returns (years down, months across) for a backtest's first portfolio, drawn below the
backtest chart so the reply keeps one image.  Colours diverge at 0 (orange up, purple down, colour-blind safe);
each cell prints its return in percent; a month outside the window is blank.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from analysis.charts import _TEXT, _TICK_PT, render_png
from analysis.tilt_chart import HEATMAP

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WIDTH_IN, ROW_IN, DPI = 10.0, 0.28, 120


def monthly_grid(returns: pd.Series) -> pd.DataFrame:
    """Monthly returns (index: monthly periods) as years x 12 months, NaN where the window has no return."""
    frame = pd.DataFrame({"year": returns.index.year, "month": returns.index.month, "r": returns.to_numpy()})
    return frame.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))


def monthly_heatmap(returns: pd.Series, title: str) -> bytes:
    """PNG of ``returns`` (fractions, monthly periods) as a years x months heatmap."""
    grid = monthly_grid(returns) * 100.0
    rows = len(grid)
    fig = Figure(figsize=(WIDTH_IN, 0.9 + ROW_IN * rows), dpi=DPI)
    ax = fig.add_axes((0.085, 0.08, 0.835, 1 - 0.08 - 0.55 / (0.9 + ROW_IN * rows)))
    limit = max(float(np.nanmax(np.abs(grid.to_numpy()))), 1.0)
    ax.imshow(grid.to_numpy(), cmap=HEATMAP, vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        if np.isfinite(value):
            # + 0.0 after rounding: never "-0.0".
            ax.text(j, i, f"{round(value, 1) + 0.0:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(value) > 0.6 * limit else _TEXT)
    ax.set_xticks(range(12), MONTHS, fontsize=_TICK_PT - 2)
    ax.set_yticks(range(rows), [str(y) for y in grid.index], fontsize=_TICK_PT - 2)
    ax.xaxis.tick_top()
    fig.text(0.085, 1 - 0.1 / (0.9 + ROW_IN * rows), title, ha="left", va="top", fontsize=13, color=_TEXT,
             parse_math=False)
    return render_png(fig)


def stacked(top: bytes, bottom: bytes) -> bytes:
    """One PNG of ``top`` above ``bottom`` (centred, white behind)."""
    upper, lower = Image.open(io.BytesIO(top)), Image.open(io.BytesIO(bottom))
    width = max(upper.width, lower.width)
    canvas = Image.new("RGB", (width, upper.height + lower.height), "white")
    canvas.paste(upper, ((width - upper.width) // 2, 0))
    canvas.paste(lower, ((width - lower.width) // 2, upper.height))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
