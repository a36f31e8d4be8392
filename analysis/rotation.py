"""Rotation: which parts of the market lead, and whether small caps lead large caps.

Conventions (daily ``Adj Close``, dividends reinvested; each ticker measured
from its own last close, as in ``analysis.returns.trailing_returns``):

* **Composite momentum score**: the plain average of the 1-, 3-, 6- and
  12-month total returns, ``(r1 + r3 + r6 + r12) / 4``; a ticker without 12
  months of history has no score.  Higher ranks first.
* **Trend**: the last close against its 200-session simple moving average,
  ``P / SMA200 - 1`` (positive: above the average, an uptrend).
* **Relative strength vs the benchmark**: 6-month relative performance,
  ``(1 + r6) / (1 + r6_benchmark) - 1``.
* **Size regime** for a ratio ``R = P_small / P_large``: its distance from its
  own 200-session average ``R / SMA200(R) - 1``, its 6-month change, and how
  many sessions in a row it has stayed on the same side of that average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.returns import trailing_returns

MOMENTUM_HORIZONS = {"1m": pd.DateOffset(months=1), "3m": pd.DateOffset(months=3),
                     "6m": pd.DateOffset(months=6), "12m": pd.DateOffset(years=1)}
TREND_DAYS = 200


def momentum_table(closes: pd.DataFrame, benchmark: str, rank_months: int | None = None) -> pd.DataFrame:
    """One row per ticker: 1m/3m/6m/12m returns, ``score``, ``trend``, ``relative``; best score first, or, with
    ``rank_months``, best total return over that many months first (its column ``f"{rank_months}m"`` added when
    it is not one of the four)."""
    horizons = dict(MOMENTUM_HORIZONS)
    if rank_months is not None:
        horizons.setdefault(horizon_label(rank_months), pd.DateOffset(months=rank_months))
    returns = trailing_returns(closes, horizons)
    table = returns.assign(
        score=returns[list(MOMENTUM_HORIZONS)].mean(axis=1, skipna=False),
        trend=closes.ffill().iloc[-1] / closes.rolling(TREND_DAYS, min_periods=TREND_DAYS).mean().ffill().iloc[-1] - 1.0,
        relative=(1.0 + returns["6m"]) / (1.0 + returns.at[benchmark, "6m"]) - 1.0,
    )
    key = "score" if rank_months is None else horizon_label(rank_months)
    return table.sort_values(key, ascending=False, na_position="last")


def horizon_label(months: int) -> str:
    """The column of a trailing return over ``months``: ``"12m"`` for a year, as ``MOMENTUM_HORIZONS`` names it."""
    return f"{months}m"


@dataclass(frozen=True)
class Regime:
    """Where a small/large price ratio stands; ``sessions`` counts the current run above or below its average."""

    small: str
    large: str
    vs_average: float
    change_6m: float
    leading: bool
    sessions: int


def size_regime(small: pd.Series, large: pd.Series) -> Regime:
    """The regime of ``small / large`` on their common dates (see the module docstring)."""
    ratio = (small / large).dropna()
    average = ratio.rolling(TREND_DAYS, min_periods=TREND_DAYS).mean()
    above = (ratio > average)[average.notna()].to_numpy()
    if above.size == 0:
        raise ValueError(f"{small.name}/{large.name} needs {TREND_DAYS} common sessions")
    leading = bool(above[-1])
    # Length of the final run of equal values: sessions since the side last changed.
    changes = np.flatnonzero(above != leading)
    sessions = int(above.size - (changes[-1] + 1)) if changes.size else int(above.size)
    base = ratio.asof(ratio.index[-1] - pd.DateOffset(months=6))
    return Regime(small=str(small.name), large=str(large.name), vs_average=float(ratio.iloc[-1] / average.iloc[-1] - 1.0),
                  change_6m=float(ratio.iloc[-1] / base - 1.0), leading=leading, sessions=sessions)
