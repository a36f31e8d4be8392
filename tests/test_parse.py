"""The command grammar: what parses to what, what is refused, and that nothing else can happen."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import BadRequest
from handlers.common.backtest_request import parse_backtest
from handlers.common.parse import MAX_TICKERS, parse_compare, parse_valuation


@pytest.mark.parametrize("text, tickers, benchmark, period", [
    ("SMH SPY 10y", ("SMH",), "SPY", "10y"),
    ("spy smh 10Y", ("SMH",), "SPY", "10y"),
    ("SMH", ("SMH",), "SPY", "10y"),
    ("IWM IJR", ("IWM",), "IJR", "10y"),
    ("smh, soxx vs qqq 3m", ("SMH", "SOXX"), "QQQ", "3m"),
    ("QQQ ytd", ("QQQ",), "SPY", "ytd"),
    ("QQQ max", ("QQQ",), "SPY", "max"),
    ("IJR IWM vs SPY since 2020", ("IJR", "IWM"), "SPY", "since 2020"),
    ("IJR since 2020-03-23", ("IJR",), "SPY", "since 2020-03-23"),
    ("IJR SPY 2015-01-01..2025-09-30", ("IJR",), "SPY", "2015-01-01..2025-09-30"),
    ("IJR SPY 2015-01-01 to 2025-09-30", ("IJR",), "SPY", "2015-01-01..2025-09-30"),
    ("IJR from 2020-03-23 vs SPY", ("IJR",), "SPY", "since 2020-03-23"),
    ("IJR FROM 2020", ("IJR",), "SPY", "since 2020"),
    ("brk-b ^irx eurusd=x 7203.t vs spy", ("7203.T", "BRK-B", "EURUSD=X", "^IRX"), "SPY", "10y"),
    ("IJR from 2020-01-01 to 2022-12-31", ("IJR",), "SPY", "2020-01-01..2022-12-31"),
    ("IJR mtd", ("IJR",), "SPY", "mtd"),
    ("IJR QTD", ("IJR",), "SPY", "qtd"),
    ("IJR 1w", ("IJR",), "SPY", "1w"),
    ("IJR 2w", ("IJR",), "SPY", "2w"),
    ("IJR 2022", ("IJR",), "SPY", "2022"),
    ("IJR 5 years", ("IJR",), "SPY", "5y"),
    ("IJR 18 months", ("IJR",), "SPY", "18m"),
    ("$smh $SPY", ("SMH",), "SPY", "10y"),
    ("BRK.B VOD.L 7203.T vs $SPY", ("7203.T", "BRK-B", "VOD.L"), "SPY", "10y"),
    ("reliance.ns vs ^nsei", ("RELIANCE.NS",), "^NSEI", "10y"),  # longer than 8 characters
    ("ABCDEFGHIJ.1234 SPY", ("ABCDEFGHIJ.1234",), "SPY", "10y"),  # 15 characters: the longest a ticker may be
    ("SMH versus QQQ 1m", ("SMH",), "QQQ", "1m"),
    ("smh vs. qqq 24M", ("SMH",), "QQQ", "24m"),
    ("IWM IJR SMH 1y", ("IJR", "IWM"), "SMH", "1y"),  # no SPY: the last ticker is the benchmark
    ("SMH 50y", ("SMH",), "SPY", "50y"),
    ("SMH since 2020 QQQ", ("SMH",), "QQQ", "since 2020"),  # the word after the period is a ticker again
    ("SMH since 1900", ("SMH",), "SPY", "since 1900"),
    (" ".join(f"T{i}" for i in range(MAX_TICKERS)), tuple(f"T{i}" for i in range(MAX_TICKERS - 1)),
     f"T{MAX_TICKERS - 1}", "10y"),
])
def test_compare_requests(text: str, tickers: tuple[str, ...], benchmark: str, period: str) -> None:
    request = parse_compare(text)
    assert (request.symbols.tickers, request.symbols.benchmark, request.period.label) == (tickers, benchmark, period)


def test_spellings_of_one_question_share_a_key() -> None:
    assert parse_compare("spy smh 10Y").key == parse_compare("SMH SPY 10y").key == parse_compare("SMH vs SPY 10y").key
    assert parse_compare("SMH SOXX SPY").key == parse_compare("soxx smh spy").key
    assert parse_compare("SMH SPY 10y").key != parse_compare("SMH SPY 5y").key


def test_range_dates_are_parsed() -> None:
    period = parse_compare("IJR 2015-01-01..2025-09-30").period
    assert (period.first_day, period.last_day) == (dt.date(2015, 1, 1), dt.date(2025, 9, 30))


@pytest.mark.parametrize("text, fragment", [
    ("", "Name at least one ticker, e.g. `SMH`."),
    ("SPY", "other than itself"),
    ("SPY vs SPY", "other than itself"),
    (" ".join(f"T{i}" for i in range(MAX_TICKERS + 1)), "That is 9 tickers; I compare at most 8 at a time."),
    ("$$$", "not a ticker"),
    ("ABCDEFGHIJ.12345 SPY", "not a ticker"),  # 16 characters
    ("SMH 0y", "out of range"),
    ("SMH 99y", "out of range"),
    ("SMH 30m", "out of range"),
    ("SMH 0m", "out of range"),
    ("SMH 25m", "`25m` is out of range: use 1m to 24m"),
    ("SMH 51y", "`51y` is out of range: use 1y to 50y"),
    ("SMH 5y 3y", "one period"),
    ("SMH vs", "Name a benchmark after `vs`, e.g. `vs SPY`."),
    ("SMH vs QQQ vs SPY", "Give one benchmark after `vs`."),
    ("SMH since", "after `since`"),
    ("SMH since last-week", "`since last-week` needs a year"),
    ("SMH 2025-01-01..2015-01-01", "must come before"),
    ("SMH 2020-01-02..2020-01-02", "must come before"),  # a range of one day has no return
    ("SMH 2020-01-01 to soon", "`soon` is not a date"),
    ("SMH SPY until", "`until` needs dates around it"),
    ("x" * 20, f"`{'x' * 20}` is not a ticker"),  # shown whole up to 20 characters
    ("x" * 21, f"`{'x' * 20}...` is not a ticker"),
    ("SMH 2025-13-01..2026-01-01", "not a date"),
    ("SMH since 1850", "too early"),
    ("SMH 100y", "out of range"),
    ("SMH SPY 1.5y", "not a period I know. Use whole units"),
    ("SMH SPY 60w", "out of range"),
    ("SMH SPY 100 years", "out of range"),
    ("SMH SPY from 2020-01-01 to", "end date after"),
    ("SMH 3d", "not a period I know"),
    ("SMH from", "after `from`"),
    ("SMH from soon", "needs a year"),
    ("SMH SPY to", "needs dates around it"),
    ("SMH 2020-01-01", "on its own is not a period"),
    ("SMH 2020-01-01 to", "end date after"),
    ("SMH 2021-01-01 to 2020-01-01", "must come before"),
    ("SMH 2020-01-01 to 2021-01-01 5y", "one period"),
])
def test_bad_input_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_compare(text)
    assert fragment in str(refused.value)


@pytest.mark.parametrize("text, message", [
    ("", "Name at least one ticker, e.g. `SMH`."),
    ("SMH vs", "Name a benchmark after `vs`, e.g. `vs SPY`."),
    ("SMH vs QQQ vs SPY", "Give one benchmark after `vs`."),
])
def test_refusals_read_as_written(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_compare(text)
    assert str(refused.value) == message


def test_valuation_takes_no_period() -> None:
    assert parse_valuation("IJR IWM SPY").symbols.all == ["IJR", "IWM", "SPY"]
    assert parse_valuation("IJR SPY vs QQQ").symbols.all == ["IJR", "SPY", "QQQ"]  # the benchmark named wins
    with pytest.raises(BadRequest) as refused:
        parse_valuation("IJR SPY 5y")
    assert str(refused.value) == "Valuations are today's figures; leave out the period."


def test_the_smallcaps_valuation_view() -> None:
    for text in ("smallcaps", " SmallCaps "):
        assert parse_valuation(text).symbols.all == ["IJR", "IWM", "SPY"]


TOKENS = st.sampled_from(["SMH", "spy", "vs", "since", "2020", "10y", "ytd", "max", "0m", "2015-01-01..2016-01-01",
                          ",", "^IRX", "BRK-B", "???", "7203.T", "x" * 30, "é", "1y", "since", "VS"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(TOKENS, max_size=12).map(" ".join)))
def test_any_text_parses_or_says_why(text: str) -> None:
    for parse in (parse_compare, parse_valuation):
        try:
            request = parse(text)
        except BadRequest as error:
            assert str(error) and "Traceback" not in str(error)
        else:
            assert 1 <= len(request.symbols.all) <= MAX_TICKERS
            assert request.symbols.benchmark not in request.symbols.tickers


def test_mtd_and_decimals_are_never_tickers() -> None:
    assert parse_compare("SMH mtd").symbols.tickers == ("SMH",)
    assert parse_compare("$MTD SPY mtd").symbols.tickers == ("MTD",)  # a cashtag is a ticker, whatever it reads like
    with pytest.raises(BadRequest, match="`1.5y` is not a period"):
        parse_compare("SMH 1.5y")


@pytest.mark.parametrize("schedule", ["daily", "biweekly", "semiannually"])
def test_an_unknown_schedule_is_refused_with_the_schedules(schedule: str) -> None:
    with pytest.raises(BadRequest, match=f"`{schedule}` is not a rebalancing schedule I know; the schedules are "
                                         "`weekly`, `monthly`, `quarterly`, `yearly`"):
        parse_backtest(f"SPY 70 IJR 30 {schedule}")
