"""A signal card's chart: the rule's quantity, its average or threshold, and the closes where the rule held.

One panel over the trailing ``CHART_YEARS`` years of the evaluation (``analysis.rules.Evaluation``): the
quantity as a solid line, the threshold dashed grey, and a light band behind every close whose state is
true.  Percent quantities (momentum, drawdown) are drawn in percent.  Styled as the other charts
(``analysis.charts``), thread-safe for the same reasons (no pyplot, no rcParams).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.charts import (
    _LEFT,
    _LEGEND_ROW,
    _LEGEND_Y,
    BENCHMARK_COLOUR,
    BENCHMARK_DASHES,
    DPI,
    FIGSIZE_IN,
    LINE_COLOURS,
    ChartLabels,
    _add_header_and_footer,
    _date_numbers,
    _panel_title,
    _style_axes,
    _style_date_axis,
    downsample_positions,
    legend_row,
    render_png,
)
from analysis.rules import Evaluation

CHART_YEARS = 3
TRUE_SHADE = "#009E73"


def chart_window(evaluation: Evaluation, years: int = CHART_YEARS) -> Evaluation:
    """The evaluation's trailing ``years`` years (all of it when shorter): what the chart draws."""
    return evaluation.since_date(evaluation.dates[-1] - pd.DateOffset(years=years))


def signal_chart(evaluation: Evaluation, labels: ChartLabels, *, quantity_label: str, threshold_label: str) -> bytes:
    """PNG of ``evaluation`` over its last ``CHART_YEARS`` years (see the module docstring)."""
    return render_png(build_signal_figure(chart_window(evaluation), labels, quantity_label=quantity_label,
                                          threshold_label=threshold_label))


def build_signal_figure(evaluation: Evaluation, labels: ChartLabels, *, quantity_label: str,
                        threshold_label: str) -> Figure:
    """The figure behind ``signal_chart``, on the window given; ``fig.axes[0]`` holds the two lines."""
    scale = 100.0 if evaluation.rule.unit == "percent" else 1.0
    x = _date_numbers(evaluation.dates)
    height = 0.62  # of the compare figure's, as the one-panel normalised chart
    fig = Figure(figsize=(FIGSIZE_IN[0], FIGSIZE_IN[1] * height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    top = _LEGEND_Y - (_LEGEND_ROW + 0.06) / height
    ax = fig.add_axes((_LEFT, 0.12, 0.96 - _LEFT, top - 0.12))
    _style_axes(ax)
    state = evaluation.states
    ax.fill_between(x, 0, 1, where=state, transform=ax.get_xaxis_transform(), color=TRUE_SHADE, alpha=0.13,
                    linewidth=0, step="post", zorder=1)
    quantity = evaluation.quantities * scale
    threshold = evaluation.thresholds * scale
    keep = downsample_positions(quantity)
    (quantity_line,) = ax.plot(x[keep], quantity[keep], color=LINE_COLOURS[4], linewidth=2.2, zorder=3)
    (threshold_line,) = ax.plot(x, threshold, color=BENCHMARK_COLOUR, linewidth=1.8, dashes=BENCHMARK_DASHES, zorder=2)
    _panel_title(ax, f"{quantity_label}{' (%)' if scale != 1.0 else ''}")
    _style_date_axis(ax, x)
    # The lines themselves name themselves in the legend; the shade's swatch is darker than the faint band to show.
    legend_row(fig, [quantity_line, threshold_line, Patch(color=TRUE_SHADE, alpha=0.25)],
               [quantity_label, threshold_label, "rule true"], ncol=3)
    _add_header_and_footer(fig, labels, pd.DatetimeIndex(evaluation.dates))
    return fig
