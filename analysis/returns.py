"""Return measures on dividend-adjusted prices.

Conventions shared by every function here:

* Input is ``Adj Close`` (a Series, or a DataFrame with one column per ticker)
  indexed by trading date; dividends are reinvested because the adjusted
  price already folds them in, so total return is a plain price ratio.
* Daily returns are simple returns ``r_t = P_t / P_{t-1} - 1``.
* Annualisation of a growth rate uses calendar days: ``365.25`` days a year.
"""

from __future__ import annotations

import pandas as pd

DAYS_PER_YEAR = 365.25


def simple_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Daily simple returns ``P_t / P_{t-1} - 1``; the first date (no previous close) is dropped."""
    return (prices / prices.shift(1) - 1.0).iloc[1:]


def total_return(prices: pd.DataFrame | pd.Series) -> pd.Series | float:
    """Total return over the whole window, ``P_end / P_start - 1`` (dividends reinvested)."""
    return prices.iloc[-1] / prices.iloc[0] - 1.0


def years_between(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of a window in years of 365.25 calendar days."""
    return (end - start).days / DAYS_PER_YEAR


def cagr(prices: pd.DataFrame | pd.Series) -> pd.Series | float:
    """Compound annual growth rate on calendar days: ``(P_end / P_start) ** (365.25 / days) - 1``.

    ``days`` counts calendar days between the first and last date of the window
    (the ffn convention), so the figure does not depend on how many trading
    days a year has.
    """
    years = years_between(prices.index[0], prices.index[-1])
    return (prices.iloc[-1] / prices.iloc[0]) ** (1.0 / years) - 1.0


def calendar_year_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Return of each calendar year, last close of the year over the last close of the year before.

    The first year is measured from the window's first close, so it is partial
    when the window starts mid-year; likewise the last year ends at the last close.
    """
    year_ends = prices.groupby(prices.index.year).last()
    previous = year_ends.shift(1)
    previous.iloc[0] = prices.iloc[0]
    return year_ends / previous - 1.0


def rolling_return(prices: pd.DataFrame | pd.Series, years: int = 1) -> pd.DataFrame | pd.Series:
    """Trailing ``years``-year total return on every date.

    ``P_t / P_s - 1`` where ``s`` is the last close on or before ``t`` minus
    ``years`` calendar years; NaN while the window does not yet reach back that far.
    """
    base_dates = prices.index - pd.DateOffset(years=years)
    base = prices.reindex(base_dates, method="ffill")
    base.index = prices.index
    return prices / base - 1.0
