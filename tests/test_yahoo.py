"""End-to-end tests of ``market.yahoo`` through yfinance, against the local Yahoo stand-in.

Nothing of ours or of yfinance is mocked: the provider's mirror session sends
yfinance's requests to ``tests/yahoo_standin.py``, which serves the fixture's CSV
files as Yahoo chart JSON.  Expected bars are read straight from the same CSV
files with pandas.  The CSV prices are float32 values written as float64
text, so they survive JSON exactly; we still compare with a 1e-9 relative
tolerance rather than rely on it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
from yfinance.data import YfData

from errors import DataUnavailable, RateLimited, UnknownTicker
from market.provider import BAR_COLUMNS
from market.yahoo import YahooProvider
from tests.yahoo_standin import YahooStandIn

# Canned quoteSummary modules for the stand-in: illustrative figures, not Yahoo's.
# SPY has P/E in both info and holdings (info must win) and P/B only in holdings;
# IJR has no P/E in info and an empty fee table; VB has nothing but its quoteType.
QUOTE_SUMMARIES = {
    "SPY": {
        "quoteType": {"symbol": "SPY", "quoteType": "ETF", "longName": "SPDR S&P 500 ETF Trust", "shortName": "SPDR S&P 500"},
        "summaryDetail": {"currency": "USD", "trailingPE": 27.5, "yield": 0.0112, "totalAssets": 6.6e11},
        "summaryProfile": {},
        "topHoldings": {"equityHoldings": {"priceToEarnings": 26.1, "priceToBook": 5.2}},
        "fundProfile": {"feesExpensesInvestment": {"annualReportExpenseRatio": 0.000945}},
    },
    "IJR": {
        "quoteType": {"symbol": "IJR", "quoteType": "ETF", "longName": "iShares Core S&P Small-Cap ETF"},
        "summaryDetail": {"yield": 0.0135},
        "summaryProfile": {},
        "topHoldings": {"equityHoldings": {"priceToEarnings": 15.9, "priceToBook": 1.8}},
        "fundProfile": {"feesExpensesInvestment": {}},
    },
}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the session: yfinance binds its tz and cookie caches to the first location it is given."""
    return tmp_path_factory.mktemp("yfinance-cache")


@pytest.fixture
def stand_in(yahoo_dir: Path) -> Iterator[YahooStandIn]:
    """A fresh stand-in per test; afterwards no thread it or the provider started may be left."""
    # yfinance memoises past-window answers process-wide by Yahoo URL: the previous test's server must not answer.
    YfData().cache_get.cache_clear()
    threads_before = set(threading.enumerate())
    with YahooStandIn(yahoo_dir, quote_summaries=QUOTE_SUMMARIES) as server:
        yield server
    assert set(threading.enumerate()) - threads_before == set()


@pytest.fixture
def provider(stand_in: YahooStandIn, cache_dir: Path) -> YahooProvider:
    # Generous: a loaded CI machine must not turn a healthy answer into a timeout (the slow test has its own).
    return YahooProvider(api_url=stand_in.url, timeout=10.0, retries=2, backoff=0.01, cache_dir=cache_dir)


def csv_bars(yahoo_dir: Path, ticker: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The CSV rows for ``start..end`` (inclusive), as Yahoo's chart would give them."""
    frame = pd.read_csv(yahoo_dir / f"{ticker}.csv", index_col="Date", parse_dates=["Date"])
    frame = frame.loc[pd.Timestamp(start):pd.Timestamp(end)].copy()
    # SPY, VB and XLK files have an empty splits column (no split in the period); Yahoo reports 0.0.
    frame["Stock Splits"] = frame["Stock Splits"].fillna(0.0)
    return frame


def assert_same_bars(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == list(BAR_COLUMNS)
    assert actual.index.tz is None
    assert list(actual.index) == list(expected.index)
    for column in BAR_COLUMNS:
        np.testing.assert_allclose(actual[column].to_numpy(), expected[column].to_numpy(dtype=float),
                                   rtol=1e-9, atol=0, err_msg=column)


def test_bars_equal_the_csv_rows_for_several_tickers(provider: YahooProvider, stand_in: YahooStandIn, yahoo_dir: Path) -> None:
    start, end = dt.date(2016, 12, 1), dt.date(2017, 2, 28)
    expected = {t: csv_bars(yahoo_dir, t, start, end) for t in ("SPY", "IJR", "SMH")}
    # The window must exercise dividends and a split, or the comparison proves little.
    assert (expected["SPY"]["Dividends"] > 0).any()
    assert (expected["IJR"]["Stock Splits"] == 2.0).any()

    bars = provider.bars(["SPY", "IJR", "SMH"], start, end)

    assert sorted(bars) == ["IJR", "SMH", "SPY"]
    for ticker, frame in bars.items():
        assert_same_bars(frame, expected[ticker])
        assert stand_in.chart_requests(ticker), f"{ticker} was not fetched from the stand-in"


def test_both_window_ends_are_inclusive(provider: YahooProvider, yahoo_dir: Path) -> None:
    start, end = dt.date(2023, 5, 1), dt.date(2023, 5, 5)  # Monday to Friday; SMH split 2:1 on the Friday

    frame = provider.bars(["SMH"], start, end)["SMH"]

    assert_same_bars(frame, csv_bars(yahoo_dir, "SMH", start, end))
    assert (frame.index[0].date(), frame.index[-1].date()) == (start, end)
    assert frame["Stock Splits"].iloc[-1] == 2.0


def test_unknown_ticker_is_named(provider: YahooProvider, stand_in: YahooStandIn) -> None:
    with pytest.raises(UnknownTicker) as caught:
        provider.bars(["NOPE"], dt.date(2020, 1, 2), dt.date(2020, 1, 31))

    assert caught.value.tickers == ("NOPE",)
    assert "NOPE" in str(caught.value) and "Yahoo Finance" in str(caught.value)
    assert stand_in.chart_requests("NOPE"), "Yahoo was never asked about NOPE"


def test_mixed_call_names_only_the_unknown_tickers(provider: YahooProvider) -> None:
    with pytest.raises(UnknownTicker) as caught:
        provider.bars(["SPY", "NOPE", "IJR", "ZZZZ"], dt.date(2020, 2, 3), dt.date(2020, 2, 28))

    assert caught.value.tickers == ("NOPE", "ZZZZ")


def test_a_delisted_ticker_is_unknown_not_empty(provider: YahooProvider, stand_in: YahooStandIn) -> None:
    window = (dt.date(2020, 1, 2), dt.date(2020, 1, 31))
    assert not provider.bars(["VB"], *window)["VB"].empty  # listed: yfinance caches its timezone
    stand_in.delisted.add("VB")
    before = len(stand_in.chart_requests("VB"))
    # yfinance knows the timezone, so Yahoo's "No data found" comes on the window itself ("prices missing").
    with pytest.raises(UnknownTicker) as caught:
        provider.bars(["VB"], dt.date(2021, 1, 4), dt.date(2021, 1, 29))
    assert caught.value.tickers == ("VB",)
    assert any("period1=" in r for r in stand_in.chart_requests("VB")[before:])


def test_weekend_window_gives_an_empty_frame(provider: YahooProvider) -> None:
    frame = provider.bars(["SPY"], dt.date(2019, 6, 1), dt.date(2019, 6, 2))["SPY"]

    assert frame.empty and list(frame.columns) == list(BAR_COLUMNS)


def test_window_before_the_first_bar_gives_an_empty_frame(provider: YahooProvider, yahoo_dir: Path) -> None:
    start, end = dt.date(2010, 1, 4), dt.date(2010, 1, 29)
    first_bar = pd.read_csv(yahoo_dir / "SPY.csv", usecols=["Date"], parse_dates=["Date"])["Date"].min()
    assert pd.Timestamp(end) < first_bar  # so the stand-in answers Yahoo's HTTP 400 "Data doesn't exist"

    frame = provider.bars(["SPY"], start, end)["SPY"]

    assert frame.empty and list(frame.columns) == list(BAR_COLUMNS)


def test_empty_result_for_one_ticker_leaves_the_others_intact(
        provider: YahooProvider, stand_in: YahooStandIn, yahoo_dir: Path) -> None:
    start, end = dt.date(2021, 3, 1), dt.date(2021, 3, 31)
    stand_in.empty.add("IJR")

    bars = provider.bars(["SPY", "IJR"], start, end)

    assert bars["IJR"].empty and list(bars["IJR"].columns) == list(BAR_COLUMNS)
    assert_same_bars(bars["SPY"], csv_bars(yahoo_dir, "SPY", start, end))


def test_rate_limit_is_retried_until_data_comes(provider: YahooProvider, stand_in: YahooStandIn, yahoo_dir: Path) -> None:
    start, end = dt.date(2018, 4, 2), dt.date(2018, 4, 30)
    # yfinance retries a 429 once itself, so two 429s fail exactly one of our attempts.
    stand_in.rate_limited = 2

    frame = provider.bars(["SPY"], start, end)["SPY"]

    assert_same_bars(frame, csv_bars(yahoo_dir, "SPY", start, end))
    assert stand_in.answered_429 == 2


def test_persistent_rate_limit_raises_rate_limited(provider: YahooProvider, stand_in: YahooStandIn) -> None:
    stand_in.rate_limited = 10**6

    with pytest.raises(RateLimited) as caught:
        provider.bars(["SPY", "IJR"], dt.date(2018, 5, 1), dt.date(2018, 5, 31))

    assert str(caught.value) == "Yahoo Finance is rate-limiting us; try again in a minute."
    assert stand_in.answered_429 >= 2 * (provider.retries + 1)  # both tickers, every attempt


def test_slow_answer_times_out_as_data_unavailable(stand_in: YahooStandIn, cache_dir: Path) -> None:
    provider = YahooProvider(api_url=stand_in.url, timeout=0.5, retries=0, cache_dir=cache_dir)
    stand_in.delay = 30.0

    began = time.monotonic()
    with pytest.raises(DataUnavailable) as caught:
        provider.bars(["SPY"], dt.date(2018, 6, 1), dt.date(2018, 6, 29))
    elapsed = time.monotonic() - began

    assert not isinstance(caught.value, RateLimited)
    assert "did not answer (timed out)" in str(caught.value)
    assert elapsed < stand_in.delay / 2  # gave up at its own timeout, long before the answer


def test_malformed_json_is_data_unavailable_and_not_remembered(
        provider: YahooProvider, stand_in: YahooStandIn, yahoo_dir: Path) -> None:
    start, end = dt.date(2018, 7, 2), dt.date(2018, 7, 31)
    stand_in.malformed.add("SPY")

    with pytest.raises(DataUnavailable) as caught:
        provider.bars(["SPY"], start, end)
    assert "did not answer (malformed answer)" in str(caught.value)

    # yfinance memoises past-window answers; a fixed source must be read again, not the garbled copy.
    stand_in.malformed.clear()
    assert_same_bars(provider.bars(["SPY"], start, end)["SPY"], csv_bars(yahoo_dir, "SPY", start, end))


def test_yfinance_caches_live_in_cache_dir(provider: YahooProvider, cache_dir: Path) -> None:
    provider.bars(["IJR"], dt.date(2019, 1, 2), dt.date(2019, 1, 31))

    assert (cache_dir / "tkr-tz.db").is_file()


def test_fundamentals_map_info_and_fund_data(provider: YahooProvider) -> None:
    facts = provider.fundamentals(["SPY", "IJR"])

    spy, ijr = facts["SPY"], facts["IJR"]
    assert (spy.name, spy.quote_type, spy.currency) == ("SPDR S&P 500 ETF Trust", "ETF", "USD")
    assert spy.trailing_pe == 27.5  # info's figure, not the holdings' 26.1
    assert spy.price_to_book == 5.2  # only the holdings have it
    assert (spy.dividend_yield, spy.total_assets, spy.expense_ratio) == (0.0112, 6.6e11, 0.000945)
    assert spy.forward_pe is None
    assert (spy.as_of, spy.source) == (dt.date.today(), "Yahoo Finance")

    assert (ijr.trailing_pe, ijr.price_to_book, ijr.dividend_yield) == (15.9, 1.8, 0.0135)
    assert (ijr.currency, ijr.expense_ratio, ijr.total_assets, ijr.forward_pe) == (None, None, None, None)


def test_fundamentals_without_data_stay_none(provider: YahooProvider) -> None:
    vb = provider.fundamentals(["VB"])["VB"]

    assert vb.quote_type == "ETF"
    assert (vb.name, vb.currency, vb.trailing_pe, vb.forward_pe, vb.price_to_book,
            vb.dividend_yield, vb.expense_ratio, vb.total_assets) == (None,) * 8


def test_fundamentals_of_an_unknown_ticker(provider: YahooProvider) -> None:
    with pytest.raises(UnknownTicker) as caught:
        provider.fundamentals(["SPY", "NOPE"])

    assert caught.value.tickers == ("NOPE",)
