"""Fetch adjusted closes for a set of tickers and line them up on their common dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analysis.returns import years_between
from analysis.windows import Period, Window, resolve_window
from errors import DataUnavailable
from handlers.format import years
from handlers.services import Services
from market.calendar import market_today


@dataclass(frozen=True)
class Aligned:
    """``prices``: Adj Close on the common dates; ``first``/``last``: each ticker's own first and last date."""

    prices: pd.DataFrame
    first: pd.Series
    last: pd.Series


def common_prices(services: Services, tickers: list[str], start: dt.date, end: dt.date) -> Aligned:
    """``Adj Close`` per ticker (columns in ``tickers`` order) on the dates every ticker traded.

    Raises ``DataUnavailable`` naming the tickers with no prices in the span,
    or when they share no dates at all.
    """
    bars = services.market.bars(tickers, start, end)
    empty = [t for t in tickers if bars[t].empty]
    if empty:
        raise DataUnavailable(f"No prices for {', '.join(empty)} between {start} and {end}.")
    prices = pd.concat({t: bars[t]["Adj Close"] for t in tickers}, axis=1, join="inner")
    if len(prices) < 2:
        raise DataUnavailable(f"{', '.join(tickers)} have no trading days in common between {start} and {end}.")
    return Aligned(
        prices=prices,
        first=pd.Series({t: bars[t].index[0] for t in tickers}),
        last=pd.Series({t: bars[t].index[-1] for t in tickers}),
    )


def prices_for_period(services: Services, tickers: list[str], period: Period) -> tuple[Aligned, Window]:
    """Common prices covering ``period`` and the window it resolves to.

    How far back to fetch depends on the last common date, which is only known
    once the data is in (a CSV folder may end months before today).  So when
    the fetched data neither reaches back to the window's start nor was asked
    for from before it, the older side is fetched once more.
    """
    start, end = period.fetch_span(market_today(services.market.now()))
    aligned = common_prices(services, tickers, start, end)
    target = period.start_target(aligned.prices.index[-1])
    if aligned.prices.index[0] > target and pd.Timestamp(start) > target:
        needed_start, _ = period.fetch_span(aligned.prices.index[-1].date())
        aligned = common_prices(services, tickers, needed_start, end)
    return aligned, resolve_window(period, aligned.prices.index)


def window_notes(aligned: Aligned, period: Period, window: Window) -> list[str]:
    """Plain sentences for a window that is not quite what was asked for."""
    notes = []
    if window.truncated:
        youngest = aligned.first.idxmax()
        length = years(years_between(window.start, window.end))
        notes.append(f"{youngest}'s history starts {aligned.first[youngest]:%Y-%m-%d}, "
                     f"so this covers the common {length}, not {period.label}.")
    lagging = aligned.last[aligned.last == window.end].index
    if period.last_day is None and aligned.last.max() > window.end:
        notes.append(f"Prices for {', '.join(lagging)} end {window.end:%Y-%m-%d}, so the window ends there for all.")
    return notes
