"""Technical signals worth a sentence in the morning digest.

All signals are computed on daily ``Adj Close`` and describe the **last
session** of the frame, vectorised over tickers (columns):

* ``new_high`` / ``new_low``: the last close is the highest (lowest) of the
  trailing 252 sessions (one trading year, today included) and beats the
  previous session's 252-session extreme: a *new* 52-week high (low).
* ``above_50`` / ``below_50`` (and 200): the close crossed its 50-day (200-day)
  simple moving average between the previous session and the last one.
* ``rs_up`` / ``rs_down``: relative strength against the benchmark
  (``P / P_benchmark``) crossed above (below) its own 50-day average: the
  ticker has started to lead (lag) the market.
"""

from __future__ import annotations

import pandas as pd

YEAR = 252


def latest_signals(prices: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """One row per ticker, one boolean column per signal in the module docstring (last session only)."""
    high = prices.rolling(YEAR, min_periods=YEAR).max()
    low = prices.rolling(YEAR, min_periods=YEAR).min()
    today = prices.iloc[-1]
    signals = {
        "new_high": (today >= high.iloc[-1]) & (today > high.iloc[-2]),
        "new_low": (today <= low.iloc[-1]) & (today < low.iloc[-2]),
    }
    for days in (50, 200):
        up, down = _crossings(prices, prices.rolling(days, min_periods=days).mean())
        signals[f"above_{days}"], signals[f"below_{days}"] = up, down
    relative = prices.div(prices[benchmark], axis=0)
    signals["rs_up"], signals["rs_down"] = _crossings(relative, relative.rolling(50, min_periods=50).mean())
    table = pd.DataFrame(signals)
    table.loc[benchmark, ["rs_up", "rs_down"]] = False
    return table.fillna(False).astype(bool)


def _crossings(series: pd.DataFrame, average: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Whether each column crossed above / below ``average`` on the last session."""
    before = series.iloc[-2] > average.iloc[-2]
    after = series.iloc[-1] > average.iloc[-1]
    known = average.iloc[-2:].notna().all()
    return known & after & ~before, known & before & ~after
