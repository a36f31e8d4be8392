"""Recent performance of a list of tickers: the table and chart that watchlists and digests share."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analysis.charts import MAX_TICKERS, ChartLabels, normalised_chart
from analysis.returns import trailing_returns
from analysis.windows import LOOKBACK_MARGIN
from errors import UnknownTicker
from handlers.format import percent
from handlers.prices import adj_closes, bars_to_last_close
from handlers.reply import Chart, Table
from handlers.services import Services
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
    rows = tuple(
        (ticker, f"{last[ticker]:,.2f}", *(percent(returns.at[ticker, h], signed=True) for h in horizons))
        for ticker in closes.columns
    )
    return Table(columns=("Ticker", "Last", *horizons), rows=rows)


def recent_chart(services: Services, closes: pd.DataFrame, title: str, benchmark: str | None) -> Chart:
    """The last ``CHART_MONTHS`` months rebased to 100, for at most ``MAX_TICKERS`` tickers (the first ones)."""
    shown = list(closes.columns[:MAX_TICKERS])
    if benchmark is not None and benchmark in closes.columns and benchmark not in shown:
        shown[-1] = benchmark
    end = closes.index[-1]
    window = closes.loc[end - pd.DateOffset(months=CHART_MONTHS):, shown].ffill().dropna()
    labels = ChartLabels(title=title, as_of=f"{end:%Y-%m-%d}", source=services.source_label(),
                         demo=services.market.is_demo)
    return Chart(
        png=normalised_chart(window, labels, benchmark=benchmark if benchmark in shown else None),
        filename=f"{title.lower().replace(' ', '-').replace('·', '')}.png".replace("--", "-"),
        title=title,
        alt_text=f"{', '.join(shown)} over the last {CHART_MONTHS} months, rebased to 100.",
    )
