"""Relative strength of assets against a benchmark.

Convention (PerformanceAnalytics ``chart.RelativePerformance``): the ratio of
cumulative total-return wealth, ``(P_t / P_0) / (B_t / B_0)`` on ``Adj Close``.
It starts at 1.0; rising means the asset is beating the benchmark.
"""

from __future__ import annotations

import pandas as pd


def relative_strength(prices: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """Relative-strength ratio of every column except ``benchmark`` against it."""
    wealth = prices / prices.iloc[0]
    others = wealth.drop(columns=[benchmark])
    return others.div(wealth[benchmark], axis=0)
