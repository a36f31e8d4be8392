"""Fetch adjusted closes for a set of tickers and line them up on their common dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from analysis.returns import years_between
from analysis.windows import EARLIEST, LOOKBACK_MARGIN, Period, Window, resolve_window
from errors import DataUnavailable
from handlers.common.format import years
from handlers.common.services import Services
from market.calendar import market_today

# Where the last close is looked for first: data that reaches today has one within two weeks.
RECENT = dt.timedelta(days=14)


@dataclass(frozen=True)
class Aligned:
    """``prices``: Adj Close on the common dates; ``first``/``last``: each ticker's own first and last date."""

    prices: pd.DataFrame
    first: pd.Series
    last: pd.Series


def prices_for_period(services: Services, tickers: list[str], period: Period) -> tuple[Aligned, Window]:
    """Common prices covering ``period``, which ends at the last common close the data has, and the window
    it resolves to (``DataUnavailable`` when there is none, see ``last_closes``)."""
    bars = bars_to_last_close(services, tickers, period.fetch_span)
    prices = adj_closes(bars, tickers)
    if period.first_day is not None and (prices.empty or prices.index[-1].date() < period.first_day):
        raise _no_closes_in(services, tickers, period)
    aligned = Aligned(
        prices=prices,
        first=pd.Series({t: bars[t].index[0] for t in tickers}),
        last=pd.Series({t: bars[t].index[-1] for t in tickers}),
    )
    return aligned, resolve_window(period, prices.index)


def _no_closes_in(services: Services, tickers: list[str], period: Period) -> DataUnavailable:
    """Why a period that starts on ``period.first_day`` holds no close: it starts after the data's last close
    (named, so the person knows what to ask for instead), or it spans no trading day."""
    last = last_closes(services, tickers, market_today(services.market.now())).name.date()
    if last < period.first_day:
        return DataUnavailable(f"`{period.label}` starts after the last close the data has ({last}), so there are "
                               f"no prices in it yet. Ask for a period that starts on or before {last}, "
                               f"e.g. `since {last.year}` or `1y`.")
    return DataUnavailable(f"{period.label} holds no trading day with prices for {', '.join(tickers)}.")


def adj_closes(bars: dict[str, pd.DataFrame], tickers: list[str], *, common: bool = True) -> pd.DataFrame:
    """``Adj Close`` per ticker (columns in ``tickers`` order) on the dates every ticker traded (``common``),
    or on the dates any of them did (NaN for the others)."""
    return pd.concat({t: bars[t]["Adj Close"] for t in tickers}, axis=1, join="inner" if common else "outer", sort=True)


def last_closes(services: Services, tickers: list[str], end: dt.date, *, since: dt.date | None = None,
                common: bool = True) -> pd.Series:
    """The closes on the last date on or before ``end`` with a close for every ticker (``common``; else for any
    of them, NaN for the others); that date is the Series' ``name``.

    Looks in ``since .. end`` when given; else in the last two weeks and then, for a source whose data ends
    earlier (a CSV folder refreshed months ago), in all of its history.  ``DataUnavailable`` when there is none.
    """
    bars: dict[str, pd.DataFrame] = {}
    for start in (since,) if since else (end - RECENT, EARLIEST):
        bars = services.market.bars(tickers, start, end)
        closes = adj_closes(bars, tickers, common=common)
        if not closes.empty:
            return closes.iloc[-1]
    empty = [t for t in tickers if bars[t].empty]
    if empty or not common:
        raise DataUnavailable(f"No prices for {', '.join(empty or tickers)} on or before {end}.")
    raise DataUnavailable(f"{', '.join(tickers)} have no trading day in common on or before {end}.")


def bars_to_last_close(services: Services, tickers: list[str], span: Callable[[dt.date], tuple[dt.date, dt.date]],
                       *, common: bool = True) -> dict[str, pd.DataFrame]:
    """Bars of ``tickers`` over ``span(last)``: ``last`` is the last date with a close (of every ticker when
    ``common``, else of any) on or before the span's end, which is what "the last 3 months" ends at.

    ``span(day)`` is the calendar span a window ending on ``day`` needs, starting ``LOOKBACK_MARGIN`` before
    the close that opens it (as ``Period.fetch_span``).  It is asked for today first, as data usually reaches
    today or a few days before (the margin absorbs those).  When the data ends earlier (a CSV folder refreshed
    months ago), the older side is fetched once more from ``span(last)``, and when ``span(today)`` holds no
    close at all, ``last_closes`` finds the last one there is.
    """
    start, end = span(market_today(services.market.now()))
    bars = services.market.bars(tickers, start, end)
    dates = adj_closes(bars, tickers, common=common).index
    last = dates[-1] if len(dates) else last_closes(services, tickers, end, common=common).name
    needed, _ = span(last.date())
    if needed + LOOKBACK_MARGIN < start:
        bars = services.market.bars(tickers, needed, end)
    return bars


@dataclass(frozen=True)
class Named:
    """How a reply names the window it used: ``label`` in headlines and chart titles ("10y", "all 26.1y of data"),
    ``phrase`` in sentences ("over 10y", "over all 26.1y of data")."""

    label: str
    phrase: str


def named_window(services: Services, tickers: list[str], period: Period, window: Window) -> Named:
    """``period`` named for the window actually used: never "50y" over 26.1 years of data, never "to 2027-12-31"
    when the data stops on 2026-07-14.

    A window cut short at its start (history shorter than asked) is "all N.Ny of data" (or its dates, for a range
    that ends inside the data); a range running past the data's last close ends "to that close (the data's last
    close)".  Anything else keeps the period's own words.
    """
    start, end = f"{window.start:%Y-%m-%d}", f"{window.end:%Y-%m-%d}"
    cut_at_end = period.last_day is not None and period.last_day > window.end.date() and \
        last_closes(services, tickers, market_today(services.market.now())).name == window.end
    if window.truncated:
        if period.last_day is not None and not cut_at_end:
            return Named(f"{start} to {end}", f"from {start} to {end}")
        length = years(years_between(window.start, window.end))
        return Named(f"all {length} of data", f"over all {length} of data")
    if cut_at_end:
        return Named(f"{period.first_day} to {end} (the data's last close)",
                     f"from {period.first_day} to the data's last close on {end}")
    return Named(period.label, period.phrase)


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
