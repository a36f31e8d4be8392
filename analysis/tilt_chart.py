"""The /tilt chart: what each size of a tilt bought, drawn with matplotlib (Agg), as PNG bytes.

* One destination: excess return a year against tracking error, one point per size (left), beside the spread
  of rolling 3-year excess per size (right: a box from the 25th to the 75th percentile with the median, whiskers
  at the 5th and 95th).
* Two destinations: a heatmap of excess return a year over the grid, each cell also showing its
  information ratio.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from analysis.charts import (
    _FOOTER_PT,
    _GRID,
    _LEFT,
    _MUTED,
    _TEXT,
    _TICK_PT,
    DEMO_TEXT,
    OKABE_ITO,
    ChartLabels,
    _title_size,
    render_png,
)

FIGSIZE_IN = (11.0, 5.6)
DPI = 100
POINT_COLOUR = OKABE_ITO[4]
# A diverging map that reads under the common colour-vision deficiencies (blue below 0, orange above).
HEATMAP = "PuOr_r"


def sweep_line_chart(sizes: list[str], excess: np.ndarray, tracking: np.ndarray, rolling: list[np.ndarray],
                     x_label: str, labels: ChartLabels) -> bytes:
    """One destination: ``excess`` and ``tracking`` a year (fractions) per size, ``rolling`` each size's
    rolling 3-year excess (fractions; empty arrays when the window is under 3 years)."""
    fig = _figure(labels)
    scatter, spread = fig.subplots(1, 2, gridspec_kw={"left": 0.07, "right": 0.98, "top": 0.83, "bottom": 0.17,
                                                      "wspace": 0.22})
    scatter.plot(tracking * 100, excess * 100, "-o", color=POINT_COLOUR, markersize=7, linewidth=1.2)
    for name, x, y in zip(sizes, tracking * 100, excess * 100):
        scatter.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=10, color=_TEXT)
    _style(scatter, "Excess return vs tracking error (% a year)", "Tracking error", "Excess return")
    if any(len(r) for r in rolling):
        spread.boxplot([r * 100 for r in rolling], tick_labels=sizes, whis=(5, 95), showfliers=False,
                       medianprops={"color": POINT_COLOUR, "linewidth": 2})
        _style(spread, "Rolling 3-year excess (% a year)", x_label, "")
    else:
        spread.axis("off")
        spread.text(0.5, 0.5, "Rolling 3-year windows need 3 years of data", ha="center", va="center",
                    fontsize=12, color=_MUTED, transform=spread.transAxes)
    for ax in (scatter, spread):
        ax.axhline(0, color=_MUTED, linewidth=0.8)
    return render_png(fig)


def sweep_grid_chart(rows: list[str], columns: list[str], excess: np.ndarray, information: np.ndarray,
                     row_label: str, column_label: str, labels: ChartLabels) -> bytes:
    """Two destinations: ``excess`` and ``information`` (rows x columns arrays; excess in fractions) as a heatmap."""
    fig = _figure(labels)
    ax = fig.add_axes((0.12, 0.17, 0.7, 0.66))
    shown = excess * 100
    limit = max(float(np.nanmax(np.abs(shown))), 0.1) if np.isfinite(shown).any() else 1.0
    image = ax.imshow(shown, cmap=HEATMAP, vmin=-limit, vmax=limit, aspect="auto", origin="lower")
    for (i, j), value in np.ndenumerate(shown):
        ir = information[i, j]
        text = f"{value:+.1f}%" + (f"\nIR {ir:.2f}" if np.isfinite(ir) else "")
        # Light text on the dark ends of the map, dark text elsewhere.
        dark = np.isfinite(value) and abs(value) > 0.6 * limit
        ax.text(j, i, text, ha="center", va="center", fontsize=10, color="white" if dark else _TEXT)
    ax.set_xticks(range(len(columns)), columns, fontsize=_TICK_PT)
    ax.set_yticks(range(len(rows)), rows, fontsize=_TICK_PT)
    ax.set_xlabel(column_label, fontsize=_TICK_PT, color=_TEXT)
    ax.set_ylabel(row_label, fontsize=_TICK_PT, color=_TEXT)
    ax.set_title("Excess return a year over the benchmark (and information ratio)", fontsize=13, color=_TEXT,
                 loc="left")
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    bar.set_label("% a year", fontsize=11, color=_TEXT)
    return render_png(fig)


def _figure(labels: ChartLabels) -> Figure:
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    fig.text(_LEFT - 0.06, 0.97, labels.title, ha="left", va="top", fontsize=_title_size(labels.title) * 0.9,
             fontweight="bold", color=_TEXT, parse_math=False)
    fig.text(_LEFT - 0.06, 0.015, f"As of {labels.as_of} · Source: {labels.source}", ha="left", va="bottom",
             fontsize=_FOOTER_PT - 1, color=_MUTED, parse_math=False)
    fig.text(0.985, 0.015, "Adj Close: dividends reinvested", ha="right", va="bottom", fontsize=_FOOTER_PT - 1,
             color=_MUTED, parse_math=False)
    if labels.demo:
        fig.text(0.5, 0.5, DEMO_TEXT, ha="center", va="center", rotation=20, fontsize=36, fontweight="bold",
                 color="#C0392B", alpha=0.16, zorder=10, parse_math=False)
    return fig


def _style(ax, title: str, x_label: str, y_label: str) -> None:
    ax.set_title(title, fontsize=13, color=_TEXT, loc="left")
    ax.set_xlabel(x_label, fontsize=_TICK_PT, color=_TEXT)
    ax.set_ylabel(y_label, fontsize=_TICK_PT, color=_TEXT)
    ax.grid(True, color=_GRID, linewidth=0.8)
    ax.tick_params(labelsize=_TICK_PT - 1)

