"""Native charts (``Plot``) built from analysis output: small enough for a chat platform to draw itself.

Line charts are resampled to at most ``MAX_POINTS`` evenly spaced sessions (the
first and last always kept); bar charts show at most ``MAX_BARS`` categories.
Percentages are plotted in percent (12.3, not 0.123) so axes read as the table does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from handlers.common.reply import Plot, Series

# Slack's data_visualization takes at most 20 points a series (and 20 categories).
MAX_POINTS = 20
MAX_BARS = 20
MAX_SERIES = 6
GROWTH_START = 10_000.0


def growth_plot(prices: pd.DataFrame, title: str) -> Plot:
    """Growth of $10,000 in each column of ``prices`` (dividends reinvested: ``Adj Close``), dated on the x axis.

    Keeps the first ``MAX_SERIES`` columns; ``$10,000 * P_t / P_0`` from each column's first close.
    """
    closes = prices.iloc[:, :MAX_SERIES].ffill().dropna()
    growth = closes / closes.iloc[0] * GROWTH_START
    sampled = growth.iloc[np.unique(np.linspace(0, len(growth) - 1, min(len(growth), MAX_POINTS)).round().astype(int))]
    return Plot(title=title, kind="line", categories=tuple(f"{day:%Y-%m-%d}" for day in sampled.index),
                series=tuple(Series(str(name), tuple(np.round(sampled[name].to_numpy(), 2).tolist()))
                             for name in sampled.columns),
                y_label="Growth of $10,000")


def bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], *, y_label: str,
         scale: float = 1.0) -> tuple[Plot, ...]:
    """One group of bars per category, each series' values times ``scale`` (100 for fractions shown in percent).

    A bar chart cannot leave a gap, so a series with a missing value is left out; no plot when none is left.
    """
    shown = tuple(str(c) for c in categories[:MAX_BARS])
    values = {name: np.asarray(list(v)[:MAX_BARS], dtype=float) * scale for name, v in series.items()}
    complete = [Series(name, tuple(np.round(v, 2).tolist())) for name, v in values.items() if np.isfinite(v).all()]
    if not shown or not complete:
        return ()
    return (Plot(title=title, kind="bar", categories=shown, series=tuple(complete[:MAX_SERIES]), y_label=y_label),)
