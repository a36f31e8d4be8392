"""Issue 26's examples end to end through the router on the shared CSV prices and a real Redis: requests that
used to crash get a private, typed answer, and the words of a reply match the figures it shows.

Expected figures are computed here with plain pandas on the CSV files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from handlers.common import router
from handlers.common.services import Services

GENERIC = "something went wrong"
LAST_CLOSE = "2026-07-14"


def adj_close(prices_dir: Path, ticker: str) -> pd.Series:
    return pd.read_csv(prices_dir / f"{ticker}.csv", index_col="Date", parse_dates=True)["Adj Close"]


@pytest.mark.parametrize("command", [
    "/compare QQQ SPY since 2027",
    "/compare QQQ SPY since 2026-08-01",
    "/compare QQQ SPY 2030-01-01..2031-01-01",
    "/compare QQQ SPY 2030-01-01 to 2031-01-01",
    "/backtest SPY 70 IJR 30 since 2026-08-01",
    "/backtest tactical smallcaps since 2027",
])
def test_a_period_after_the_data_gets_a_private_error_naming_the_last_close(csv_services: Services,
                                                                            prices_dir: Path, command: str) -> None:
    last = max(adj_close(prices_dir, t).index.max() for t in ("QQQ", "SPY")).date().isoformat()
    reply = router.run(command, csv_services)
    assert reply.is_error and reply.ephemeral
    assert last == LAST_CLOSE and f"last close the data has ({last})" in reply.text
    assert GENERIC not in reply.text.lower()


def test_a_range_without_a_trading_day_says_so(csv_services: Services) -> None:
    reply = router.run("/compare QQQ SPY 2020-01-04..2020-01-05", csv_services)  # a weekend
    assert reply.is_error and reply.ephemeral and "no trading day" in reply.text


@pytest.mark.parametrize("command, ticker", [("/backtest SPY 100 10y", "SPY"), ("/backtest QQQ 100 vs QQQ 10y", "QQQ")])
def test_a_backtest_of_the_benchmark_alone_answers_with_its_own_figures(csv_services: Services, prices_dir: Path,
                                                                        command: str, ticker: str) -> None:
    series = adj_close(prices_dir, ticker)
    end = series.index[-1]
    start = series.index[series.index <= end - pd.DateOffset(years=10)][-1]
    years = (end - start).days / 365.25
    cagr = (series[end] / series[start]) ** (1 / years) - 1
    depth = (series[start:end] / series[start:end].cummax() - 1).min()

    reply = router.run(command, csv_services)

    assert not reply.is_error, reply.text
    assert [row[0] for row in reply.table.rows] == [ticker]
    assert dict(zip(reply.table.columns, reply.table.rows[0]))["CAGR"] == f"{cagr * 100:.1f}%"
    assert f"{ticker} on its own over 10y: CAGR {cagr * 100:.1f}%, max drawdown {depth * 100:.0f}%" in reply.takeaway
    assert "nothing else" in reply.takeaway
    assert reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")
