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


def spans_a_year(start: pd.Timestamp, end: pd.Timestamp, years: int = 1) -> bool:
    """Whether a window is long enough to annualise: ``end`` is at least one (or ``years``) calendar year after ``start``.

    Growth over a shorter window is shown as a total return only: annualising
    six months of returns compounds noise into a headline figure.
    """
    return start + pd.DateOffset(years=years) <= end


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


def rolling_cagr(prices: pd.DataFrame | pd.Series, years: int = 3) -> pd.DataFrame | pd.Series:
    """Trailing ``years``-year growth rate on every date, ``(1 + rolling_return) ** (1 / years) - 1``.

    Each point annualises the ``rolling_return`` over ``years`` calendar years
    (the base is the last close on or before ``t`` minus ``years`` years); NaN
    while the window does not reach back that far.
    """
    return (1.0 + rolling_return(prices, years)) ** (1.0 / years) - 1.0


# Horizons of the watchlist and digest tables: label -> offset back from the last date ("1d" is the previous close).
HORIZONS: dict[str, pd.DateOffset | str] = {
    "1d": "previous",
    "1w": pd.DateOffset(weeks=1),
    "1m": pd.DateOffset(months=1),
    "3m": pd.DateOffset(months=3),
    "ytd": "year_end",
    "1y": pd.DateOffset(years=1),
}


def trailing_returns(prices: pd.DataFrame, horizons: dict[str, pd.DateOffset | str] | None = None) -> pd.DataFrame:
    """Total return per ticker (rows) over each horizon (columns), each ending at the ticker's own last close.

    Tickers may end on different days (a late file, a holiday abroad): each is
    measured from its own last close, so a stale ticker never shows a fake 0%.
    A horizon starts at the last close on or before ``last date - offset``;
    ``"previous"`` is the close before the last one, ``"year_end"`` the last
    close of the previous year.  NaN where a ticker has no close that far back.
    """
    horizons = HORIZONS if horizons is None else horizons
    return pd.DataFrame({ticker: _horizon_returns(prices[ticker].dropna(), horizons) for ticker in prices.columns}).T


def _horizon_returns(series: pd.Series, horizons: dict[str, pd.DateOffset | str]) -> pd.Series:
    end, last = series.index[-1], series.iloc[-1]
    bases = {}
    for label, offset in horizons.items():
        if offset == "previous":
            bases[label] = series.iloc[-2] if len(series) > 1 else float("nan")
            continue
        since = pd.Timestamp(end.year - 1, 12, 31) if offset == "year_end" else end - offset
        bases[label] = series.asof(since) if since >= series.index[0] else float("nan")
    return last / pd.Series(bases, dtype="float64") - 1.0
