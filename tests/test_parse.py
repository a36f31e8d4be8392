"""The command grammar: what parses to what, what is refused, and that nothing else can happen."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import BadRequest
from handlers.common.backtest_request import parse_backtest
from handlers.common.parse import (
    MAX_TICKERS,
    PERIOD_HELP,
    parse_compare,
    parse_cycle,
    parse_period,
    parse_valuation,
    split_period,
)


def _refusal(parse, text):
    """The message ``parse`` refuses ``text`` with (it fails the test if ``text`` is taken)."""
    with pytest.raises(BadRequest) as refused:
        parse(text)
    return str(refused.value)


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


# --- /cycle's grammar, and the edges of the period grammar -------------------------------------------------------


@pytest.mark.parametrize("text, tickers, benchmark", [
    ("IWM", ("IWM",), "SPY"),  # against the market unless named
    ("SMH SOXX", ("SMH", "SOXX"), "SPY"),  # two tilts, both against SPY (not one against the other)
    ("iwm ijr vs qqq", ("IJR", "IWM"), "QQQ"),
    ("SPY IWM", ("IWM",), "SPY"),
    ("A B C D E F G H vs SPY", ("A", "B", "C", "D", "E", "F", "G", "H"), "SPY"),  # eight, and the benchmark
    ("SPY A B C D E F G H", ("A", "B", "C", "D", "E", "F", "G", "H"), "SPY"),  # a typed SPY is not a ninth
])
def test_cycle_takes_tickers_and_a_benchmark_that_is_spy_unless_named(text: str, tickers: tuple, benchmark: str) -> None:
    request = parse_cycle(text)
    assert (request.symbols.tickers, request.symbols.benchmark) == (tickers, benchmark)
    assert request.key == f"cycle|{','.join(tickers)}|{benchmark}"


@pytest.mark.parametrize("word", ["1w", "52w"])
def test_weeks_run_from_one_to_fifty_two(word: str) -> None:
    period = parse_period(word)
    assert period is not None and period.label == word
    for outside in ("0w", "53w"):
        with pytest.raises(BadRequest, match=f"^`{outside}` is out of range: use 1w to 52w"):
            parse_period(outside)


@pytest.mark.parametrize("tokens, rest, label", [
    (["from", "2020-01-01", "until", "2022-12-31", "SMH"], ["SMH"], "2020-01-01..2022-12-31"),
    (["IJR", "SINCE", "2020-01-01", "UNTIL", "2022-06-30", "vs", "SPY"], ["IJR", "vs", "SPY"], "2020-01-01..2022-06-30"),
    (["3", "years", "SMH", "SPY"], ["SMH", "SPY"], "3y"),
    (["2020-01-01", "to", "2022-12-31", "SMH"], ["SMH"], "2020-01-01..2022-12-31"),
])
def test_the_words_after_a_spelled_out_period_are_kept(tokens: list[str], rest: list[str], label: str) -> None:
    kept, period = split_period(tokens)
    assert kept == rest and period is not None and period.label == label


@pytest.mark.parametrize("tokens, why", [
    (["SMH", "1.5y"], f"`1.5y` is not a period I know. Use whole units: `18m` is a year and a half. {PERIOD_HELP}"),
    (["SMH", "3d"], f"`3d` is not a period I know. {PERIOD_HELP}"),
    (["from", "2020-01-01", "to", "Tomorrow"], "`tomorrow` is not a date (use YYYY-MM-DD)."),
])
def test_a_word_meant_as_a_period_is_refused_with_why(tokens: list[str], why: str) -> None:
    assert _refusal(split_period, tokens) == why


# --- /backtest's options, benchmarks and portfolios: each limit at its edge, each refusal word for word ------------


@pytest.mark.parametrize("text, cost, band, add", [
    ("SPY 100 cost 1bp", 1.0, 0.0, 0.0),  # the least cost, band and amount above 0 are taken
    ("SPY 100 cost 200bp", 200.0, 0.0, 0.0),  # and the most
    ("SPY 100 cost 10 bps", 10.0, 0.0, 0.0),
    ("SPY 100 cost 10 BP", 10.0, 0.0, 0.0),
    ("SPY 100 band 1", 0.0, 1.0, 0.0),
    ("SPY 100 band 50", 0.0, 50.0, 0.0),
    ("SPY 100 add 1 monthly", 0.0, 0.0, 1.0),
    ("SPY 100 add 1000000000 monthly", 0.0, 0.0, 1e9),
])
def test_backtest_options_are_taken_up_to_their_limits(text: str, cost: float, band: float, add: float) -> None:
    execution = parse_backtest(text).execution
    assert (execution.cost_bp, execution.band, execution.add) == (cost, band, add)


def test_without_options_a_backtest_is_frictionless() -> None:
    from handlers.common.backtest_request import Execution

    # No cost, no band, no fees, nothing added: the plain dataclass written out here, not the module's constant.
    assert parse_backtest("SPY 70 IJR 30").execution == Execution(cost_bp=0.0, band=0.0, fees=False, add=0.0,
                                                                 add_schedule="none")


def test_a_benchmark_is_one_ticker_at_100_or_a_blend_and_the_words_after_it_are_kept() -> None:
    single = parse_backtest("SPY 70 IJR 30 vs QQQ")
    assert (single.benchmark, single.blend) == ("QQQ", None)
    blend = parse_backtest("SPY 70 IJR 30 vs SPY 60 AGG 40 5y")
    assert blend.benchmark == "SPY/AGG 60/40" and blend.blend.holdings == (("SPY", 60.0), ("AGG", 40.0))
    assert blend.period.label == "5y" and [p.holdings for p in blend.portfolios] == [(("SPY", 70.0), ("IJR", 30.0))]
    three = parse_backtest("SPY 100 vs SPY 50 AGG 30 GLD 20")
    assert three.blend.holdings == (("SPY", 50.0), ("AGG", 30.0), ("GLD", 20.0))


# Every parser's refusals in one table: the message a user reads is the requirement, word for word.
@pytest.mark.parametrize("parse, text, why", [
    (parse_compare, "", "Name at least one ticker, e.g. `SMH`."),
    (parse_compare, "SMH vs", "Name a benchmark after `vs`, e.g. `vs SPY`."),
    (parse_compare, "SMH vs QQQ vs SPY", "Give one benchmark after `vs`."),
    (parse_cycle, "IWM 10y", "The phases have their own dates; leave out `10y`."),
    (parse_cycle, "A B C D E F G H I", "That is 9 tickers; /cycle measures at most 8 against SPY."),
    (parse_cycle, "A B C D E F G H I vs QQQ", "That is 9 tickers; /cycle measures at most 8 against QQQ."),
    (parse_cycle, "SPY", "Compare SPY with something other than itself, e.g. `SPY vs QQQ`."),
    (parse_backtest, "SPY 100 add", "Give the amount and how often, e.g. `add 1000 monthly` (added to a $10,000 start)."),
    (parse_backtest, "SPY 100 add 0 monthly", "Add more than $0 and at most $1,000,000,000 at a time, not $0."),
    (parse_backtest, "SPY 100 add 1000000001 monthly", "Add more than $0 and at most $1,000,000,000 at a time, not $1,000,000,001."),
    (parse_backtest, "SPY 100 band", "Give the band in percentage points of drift, e.g. `band 5`: rebalance only when a weight is 5 "
                     "points or more off its target."),
    (parse_backtest, "SPY 100 band 50.5", "A band is more than 0 and at most 50 points, not 50.5."),
    (parse_backtest, "SPY 100 cost", "Give the trading cost in basis points of the value traded, e.g. `cost 10bp`."),
    (parse_backtest, "SPY 100 cost 0bp", "A trading cost is more than 0 and at most 200bp, not 0bp."),
    (parse_backtest, "SPY 70 IJR 30 vs SPY vs QQQ", "Give one benchmark after `vs`."),
    (parse_backtest, "SPY 100 vs", "Name a benchmark after `vs`, e.g. `vs SPY` or `vs SPY 60 AGG 40`."),
    (parse_backtest, "SPY 70 IJR 30 vs SPY 60 AGG 30", "The blended benchmark `SPY 60 AGG 30` adds up to 90%, not 100%."),
    (parse_backtest, "SPY 70 IJR 30 vs SPY 60", "The blended benchmark `SPY 60` adds up to 60%, not 100%."),
    (parse_backtest, "SPY 100 vs SPY -60 AGG 160", "Weights can't be negative (`SPY -60`): Tilt backtests long-only portfolios."),
    (parse_backtest, "SPY 50 IJR 25 SPY 25", "SPY appears more than once in a portfolio; give each holding once."),
    (parse_backtest, "SPY 50 IJR 25 SPY 15 IJR 10", "IJR, SPY appears more than once in a portfolio; give each holding once."),
    (parse_backtest, "SPY 70 IJR 20", "The weights of `SPY 70 IJR 20` add up to 90%, not 100%."),
    (parse_backtest, "SPY 70 IJR", "Give every holding a weight, e.g. `SPY 70 IJR 30` (I read `SPY 70 IJR`)."),
    (parse_backtest, "spy 70 ijr abc", "`abc` is not a weight for IJR: give a percentage, e.g. `IJR 70`."),
    (parse_backtest, "tactical", "Name the signal to trade on, e.g. `tactical smallcaps` or `tactical soxx-cross hold SOXX else SPY` "
                 "(`/signal list` shows the workspace's)."),
    (parse_backtest, "tactical smallcaps a b c d", "Say what to hold: `tactical smallcaps hold SMH else SPY`."),
    (parse_backtest, "SPY 100; SPY 100", "Two of those portfolios are the same; give each one once."),
    (parse_backtest, "SPY 100 ;", "Give each portfolio as tickers and weights, e.g. `SPY 70 IJR 20 SMH 10`."),
])
def test_refusals_say_why_word_for_word(parse, text: str, why: str) -> None:
    assert _refusal(parse, text) == why


def test_two_tactical_portfolios_that_resolve_alike_are_refused() -> None:
    from analysis.rules import PREDEFINED
    from handlers.common.backtest_request import with_signals

    # `smallcaps` holds IWM while its signal is on, so naming IWM says the same thing twice.
    with pytest.raises(BadRequest) as refused:
        with_signals(parse_backtest("tactical smallcaps; tactical smallcaps IWM"), PREDEFINED.__getitem__)
    assert str(refused.value) == "Two of those portfolios are the same; give each one once."
