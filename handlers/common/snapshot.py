"""Recent performance of a list of tickers: the table and chart that watchlists and digests share."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analysis.charts import MAX_TICKERS, ChartLabels, normalised_chart
from analysis.returns import trailing_returns
from analysis.windows import LOOKBACK_MARGIN, Period, resolve_window
from errors import UnknownTicker
from handlers.common.format import percent
from handlers.common.prices import adj_closes, bars_to_last_close
from handlers.common.reply import Chart, Table
from handlers.common.services import Services
from market.calendar import market_today

CHART_MONTHS = 3


def check_tickers(services: Services, tickers: list[str]) -> None:
    """Raise ``UnknownTicker`` naming every ticker the market does not know (checked on the last two weeks)."""
    today = market_today(services.market.now())
    services.market.bars(tickers, today - dt.timedelta(days=14), today)


def recent_closes(services: Services, tickers: list[str], years: int = 2) -> tuple[pd.DataFrame, list[str]]:
    """Adj Close of ``tickers`` over the ``years`` years to the last close the data has, outer-joined on dates;
    and the tickers left out.

    Unknown tickers (a watchlist entry that was delisted since) and tickers
    without prices are left out rather than failing the whole snapshot.
    """
    def span(day: dt.date) -> tuple[dt.date, dt.date]:
        return day - dt.timedelta(days=366 * years) - LOOKBACK_MARGIN, day

    try:
        bars = bars_to_last_close(services, tickers, span, common=False)
    except UnknownTicker as error:
        known = [t for t in tickers if t not in error.tickers]
        if not known:
            raise
        closes, missing = recent_closes(services, known, years)
        return closes, [*error.tickers, *missing]
    missing = [t for t in tickers if bars[t].empty]
    present = [t for t in tickers if not bars[t].empty]
    return adj_closes(bars, present, common=False), missing


def returns_table(closes: pd.DataFrame, horizons: tuple[str, ...]) -> Table:
    """Last close and total returns over ``horizons`` (labels of ``analysis.returns.HORIZONS``), one row per ticker."""
    returns = trailing_returns(closes)
    last = closes.ffill().iloc[-1]
    rows = (
        (ticker, (f"{last[ticker]:,.2f}", last[ticker]),
         *((percent(returns.at[ticker, h], signed=True), returns.at[ticker, h]) for h in horizons))
        for ticker in closes.columns
    )
    return Table.of(("Ticker", "Last", *horizons), rows)


def chart_tickers(columns: list[str], benchmark: str | None) -> tuple[list[str], list[str]]:
    """The tickers a recent chart draws, at most ``MAX_TICKERS``: the first ones in ``columns`` and the
    benchmark; and the ones left out."""
    shown = list(columns[:MAX_TICKERS])
    if benchmark is not None and benchmark in columns and benchmark not in shown:
        shown[-1] = benchmark
    return shown, [t for t in columns if t not in shown]


def left_out_note(columns: list[str], benchmark: str | None) -> list[str]:
    """A sentence naming the tickers the chart leaves out, if any (for the reply's notes)."""
    _, left_out = chart_tickers(columns, benchmark)
    if not left_out:
        return []
    which = "the first ones in the table" + (f" and {benchmark}" if benchmark in columns else "")
    return [f"Not in the chart: {', '.join(left_out)} (it draws at most {MAX_TICKERS} lines: {which})."]


def chart_closes(closes: pd.DataFrame, months: int, tickers: list[str]) -> pd.DataFrame:
    """What a recent chart draws: ``tickers`` over the trailing ``months`` window of ``closes``.

    The window is resolved as every trailing period is (``analysis.windows.resolve_window``): from the last
    close on or before the last date minus ``months``, so a line's end value rebased to 100 is its ``months``
    total return.  A ticker's missing days carry its last close; dates before every ticker has one are dropped.
    """
    window = resolve_window(Period.trailing(months=months), closes.index)
    return closes.loc[window.start:window.end, tickers].ffill().dropna()


def recent_chart(services: Services, closes: pd.DataFrame, title: str, benchmark: str | None,
                 months: int = CHART_MONTHS) -> Chart:
    """The last ``months`` months rebased to 100, for the tickers ``chart_tickers`` picks (``left_out_note``
    names the others)."""
    shown, _ = chart_tickers(list(closes.columns), benchmark)
    window = chart_closes(closes, months, shown)
    labels = ChartLabels(title=title, as_of=f"{closes.index[-1]:%Y-%m-%d}", source=services.source_label(),
                         demo=services.market.is_demo)
    return Chart(
        png=normalised_chart(window, labels, benchmark=benchmark if benchmark in shown else None),
        filename=f"{title.lower().replace(' ', '-').replace('·', '')}.png".replace("--", "-"),
        title=title,
        alt_text=f"{', '.join(shown)} from {window.index[0]:%Y-%m-%d} to {window.index[-1]:%Y-%m-%d} "
                 f"({months} months), rebased to 100.",
    )
