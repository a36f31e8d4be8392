"""/backtest: the engine against ``bt`` 1.4 as an independent oracle, no look-ahead, the grammar, the command.

``bt`` is run with fractional positions and no commissions (``integer_positions=False``),
rebalancing on the last trading day of each period (``run_on_end_of_period=True``), on the
same closes as Tilt; its series starts at 100 on a dummy row the day before the first date.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import bt
import numpy as np
import pandas as pd
import pytest

from analysis.backtest import annual_turnover, fixed_mix, rebalance_dates, simulate, switching
from analysis.named_signals import SIGNALS, leading_sessions
from errors import BadRequest
from handlers.common import router
from handlers.common.backtest_request import MAX_HOLDINGS, Mix, Tactical, parse_backtest
from handlers.common.reply import Reply
from handlers.common.services import Services
from tests.expected import closes
from tests.test_cache import Recording
from tests.test_commands import recording, services  # noqa: F401  (fixtures)

START, END = "2015-10-30", "2025-10-31"
WEIGHTS = {"SPY": 0.7, "IJR": 0.2, "SMH": 0.1}
BT_SCHEDULES = {"monthly": bt.algos.RunMonthly, "quarterly": bt.algos.RunQuarterly, "yearly": bt.algos.RunYearly}


def frame(prices_dir: Path, tickers: list[str]) -> pd.DataFrame:
    """Common closes read from the CSV text with the standard library, not with Tilt's reader."""
    columns = {t: pd.Series(closes(prices_dir, t)) for t in tickers}
    joined = pd.concat(columns, axis=1, join="inner").sort_index()
    joined.index = pd.DatetimeIndex(joined.index)
    return joined


def run_bt(prices: pd.DataFrame, first_algo: bt.core.Algo, weigh: bt.core.Algo) -> bt.backtest.Result:
    strategy = bt.Strategy("s", [first_algo, bt.algos.SelectAll(), weigh, bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bt's own deprecation warnings under pandas 3
        return bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False))


def bt_value(result: bt.backtest.Result) -> pd.Series:
    """bt's portfolio value as growth of 1 from the first real date (its dummy first row dropped)."""
    return result.prices["s"].iloc[1:] / 100.0


@pytest.fixture(scope="module")
def window(prices_dir: Path) -> pd.DataFrame:
    return frame(prices_dir, list(WEIGHTS)).loc[START:END]


@pytest.mark.parametrize("rebalance", ["monthly", "quarterly", "yearly", "none"])
def test_fixed_weights_equal_bt(window: pd.DataFrame, rebalance: str) -> None:
    first = BT_SCHEDULES[rebalance](run_on_end_of_period=True) if rebalance != "none" else bt.algos.RunOnce()
    oracle = run_bt(window, first, bt.algos.WeighSpecified(**WEIGHTS))
    expected = bt_value(oracle)

    ours = fixed_mix(window, pd.Series(WEIGHTS), rebalance)

    assert ours.value.index.equals(expected.index)
    assert abs(ours.value.iloc[-1] - expected.iloc[-1]) < 1e-6
    assert np.abs(ours.value.to_numpy() - expected.to_numpy()).max() < 1e-9
    bt_weights = oracle.backtests["s"].security_weights.iloc[1:][list(WEIGHTS)]
    assert np.abs(ours.weights.to_numpy() - bt_weights.to_numpy()).max() < 1e-9
    # Contributions add up to the total return, each holding's share of the profit.
    assert abs(ours.contribution.sum() - (ours.value.iloc[-1] - 1.0)) < 1e-12


def test_the_schedules_trade_on_the_last_trading_day_of_each_period(window: pd.DataFrame) -> None:
    dates = window.index
    quarter_ends = rebalance_dates(dates, "quarterly")
    # Independently: for each calendar quarter in the window, its last date, except the window's own last date.
    expected = [max(d for d in dates if (d.year, (d.month - 1) // 3) == key)
                for key in sorted({(d.year, (d.month - 1) // 3) for d in dates})][:-1]
    assert list(quarter_ends) == expected
    assert pd.Timestamp("2016-03-31") in quarter_ends and pd.Timestamp("2016-06-30") in quarter_ends
    assert len(rebalance_dates(dates, "monthly")) == 120 and len(rebalance_dates(dates, "yearly")) == 10
    assert rebalance_dates(dates, "none").empty
    assert fixed_mix(window, pd.Series(WEIGHTS), "quarterly").trades == len(quarter_ends)


def test_weights_drift_between_rebalances(window: pd.DataFrame) -> None:
    result = fixed_mix(window, pd.Series(WEIGHTS), "yearly")
    day = pd.Timestamp("2016-06-30")  # mid-year: drifted by six months of prices
    base = window.loc["2015-12-31"]
    units = pd.Series(WEIGHTS) * result.value.loc["2015-12-31"] / base
    held = units * window.loc[day]
    assert np.allclose(result.weights.loc[day], held / held.sum(), rtol=0, atol=1e-12)
    assert result.weights.loc["2016-12-30"].round(12).to_dict() == WEIGHTS  # rebalanced at the year's last close


def test_tactical_portfolio_equals_bt_trading_the_shifted_signal(prices_dir: Path) -> None:
    history = frame(prices_dir, ["IWM", "SPY"]).loc["2013-01-01":END]
    signal = leading_sessions(history, SIGNALS["smallcaps"]).dropna().astype(bool)
    prices = history.loc[START:END]

    ours = switching(prices, signal, on="IWM", off="SPY")

    held = signal.shift(1).reindex(prices.index)  # the position from each close on: yesterday's reading
    switches = held.ne(held.shift(1))
    switches.iloc[-1] = False
    targets = pd.DataFrame({"IWM": held.astype(float), "SPY": 1.0 - held.astype(float)})[switches]
    expected = bt_value(run_bt(prices, bt.algos.RunDaily(), bt.algos.WeighTarget(targets)))
    assert np.abs(ours.value.to_numpy() - expected.to_numpy()).max() < 1e-9
    assert ours.trades == int(switches.sum()) - 1 > 10


def test_a_signal_seen_on_day_t_is_traded_at_the_close_of_t_plus_1() -> None:
    dates = pd.bdate_range("2024-01-01", periods=8)
    rng = np.random.default_rng(7)
    prices = pd.DataFrame(100 * np.cumprod(1 + rng.normal(0, 0.02, (8, 2)), axis=0), index=dates, columns=["A", "B"])
    before = dates[0] - pd.offsets.BDay(1)
    signal = pd.Series(False, index=dates.insert(0, before))
    signal[dates[3]] = True  # seen at the close of day 3 only

    result = switching(prices, signal, on="A", off="B")

    daily = prices / prices.shift(1) - 1
    # Bought A at day 4's close, so day 5's return is A's; every other day is B's.
    chosen = [daily.at[d, "A" if d == dates[5] else "B"] for d in dates[1:]]
    assert np.allclose(result.value.to_numpy()[1:], np.cumprod(1 + np.array(chosen)), rtol=1e-12)
    assert result.weights.loc[dates[3], "A"] == 0.0 and result.weights.loc[dates[4], "A"] == 1.0
    assert list(result.turnover.index) == [dates[4], dates[5]]


def test_no_figure_depends_on_a_later_price(prices_dir: Path) -> None:
    history = frame(prices_dir, ["IWM", "SPY"]).loc["2013-01-01":END]
    cut = pd.Timestamp("2020-03-16")  # a flip-heavy spell
    full = switching(history.loc[START:], leading_sessions(history, SIGNALS["smallcaps"]).dropna().astype(bool),
                     "IWM", "SPY")
    known = history.loc[:cut]
    early = switching(known.loc[START:], leading_sessions(known, SIGNALS["smallcaps"]).dropna().astype(bool),
                      "IWM", "SPY")
    assert np.array_equal(full.value.loc[:cut].to_numpy(), early.value.to_numpy())


def test_turnover_is_one_way_by_hand_on_two_holdings() -> None:
    """50/50 in A and B; A rises 20% by the month's last close, so the portfolio is 0.6 A + 0.5 B = 1.1.
    Rebalancing sells 0.05 of A and buys 0.05 of B: one-way, 0.05 / 1.1 = 1/22 of the portfolio is traded."""
    dates = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01"])
    prices = pd.DataFrame({"A": [100.0, 120.0, 120.0], "B": [100.0, 100.0, 100.0]}, index=dates)
    result = fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly")
    assert list(result.turnover.index) == [dates[1]]
    assert result.turnover.iloc[0] == pytest.approx(1 / 22, rel=1e-12)
    # "Turnover/yr": what was traded over the window's length, 2 days, in years of 365.25 days.
    assert annual_turnover(result) == pytest.approx((1 / 22) / (2 / 365.25), rel=1e-12)


def test_simulate_refuses_a_first_trade_after_the_first_date(window: pd.DataFrame) -> None:
    targets = pd.DataFrame([[1.0, 0.0, 0.0]], index=[window.index[5]], columns=list(WEIGHTS))
    with pytest.raises(ValueError, match="first trade"):
        simulate(window, targets)


# --- the grammar -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, portfolios, rebalance, period, benchmark", [
    ("SPY 70 IJR 20 SMH 10", [(("SPY", 70), ("IJR", 20), ("SMH", 10))], "quarterly", "10y", "SPY"),
    ("spy:70 ijr:20 smh:10 rebalance monthly 5y", [(("SPY", 70), ("IJR", 20), ("SMH", 10))], "monthly", "5y", "SPY"),
    ("IJR 20% SPY 80% yearly since 2021-03-01 vs QQQ", [(("SPY", 80), ("IJR", 20))], "yearly", "since 2021-03-01",
     "QQQ"),
    ("SPY 100 ; SPY 70 IJR 20 SMH 10; SPY 60 IWM 20 SOXX 20 none 2015-10-30..2025-10-31",
     [(("SPY", 100),), (("SPY", 70), ("IJR", 20), ("SMH", 10)), (("SPY", 60), ("IWM", 20), ("SOXX", 20))],
     "none", "2015-10-30..2025-10-31", "SPY"),
    ("QQQ from 2020-03-23", [(("QQQ", 100),)], "quarterly", "since 2020-03-23", "SPY"),
    ("SPY 33.34 IJR 33.33 SMH 33.33 2015-10-30 to 2025-10-31", [(("SPY", 33.34), ("IJR", 33.33), ("SMH", 33.33))],
     "quarterly", "2015-10-30..2025-10-31", "SPY"),
])
def test_backtest_requests(text: str, portfolios: list, rebalance: str, period: str, benchmark: str) -> None:
    request = parse_backtest(text)
    assert [p.holdings for p in request.portfolios] == [tuple((t, float(w)) for t, w in p) for p in portfolios]
    assert (request.rebalance, request.period.label, request.benchmark) == (rebalance, period, benchmark)


def test_tactical_requests() -> None:
    assert parse_backtest("tactical smallcaps").portfolios == (Tactical("smallcaps", "IWM", "SPY"),)
    assert parse_backtest("tactical smallcaps IJR 5y").portfolios == (Tactical("smallcaps", "IJR", "SPY"),)
    both = parse_backtest("tactical semis ; SPY 80 SMH 20")
    assert both.portfolios == (Tactical("semis", "SMH", "SPY"), Mix((("SPY", 80.0), ("SMH", 20.0))))
    assert both.tickers == ["SMH", "SPY"]


def test_spellings_of_one_backtest_share_a_key() -> None:
    assert (parse_backtest("SPY 70 IJR 20 SMH 10").key == parse_backtest("smh:10 ijr:20 spy:70 quarterly 10y").key
            == parse_backtest("SPY 70 SMH 10 IJR 20 rebalance quarterly vs spy").key)
    assert parse_backtest("SPY 70 IJR 30").key != parse_backtest("SPY 70 IJR 30 monthly").key
    # The normalised spelling parses back to the same request (follow-up buttons run it).
    request = parse_backtest("tactical smallcaps IJR ; SPY:60 IWM:40 yearly vs QQQ")
    assert parse_backtest(request.spelled).key.replace("10y", "") == request.key.replace("10y", "")


@pytest.mark.parametrize("text, message", [
    ("SPY 70 IJR 20", "The weights of `SPY 70 IJR 20` add up to 90%, not 100%."),
    # Half a point off is a typo, not rounding: never rescaled.
    ("SPY 70 IJR 29.5", "The weights of `SPY 70 IJR 29.5` add up to 99.5%, not 100%."),
    ("SPY 70 IJR 40 SMH -10", "Weights can't be negative (`SMH -10`): Tilt backtests long-only portfolios."),
    (" ".join(f"T{i} 5" for i in range(MAX_HOLDINGS + 1)), "That portfolio has 11 holdings; I take at most 10."),
    ("SPY 100 ; QQQ 100 ; IWM 100 ; IJR 100 ; SMH 100", "That is 5 portfolios; I backtest at most 4 side by side."),
    ("SPY 70 IJR", "Give every holding a weight, e.g. `SPY 70 IJR 30` (I read `SPY 70 IJR`)."),
    ("SPY 25 SPY 25 IJR 25 IJR 25", "IJR, SPY appears more than once in a portfolio; give each holding once."),
    ("spy seventy ijr 30", "`seventy` is not a weight for SPY: give a percentage, e.g. `SPY 70`."),
    ("SPY 100 ; SPY 100", "Two of those portfolios are the same; give each one once."),
    ("SPY 100 rebalance", "Say how often to rebalance: `rebalance monthly`, `quarterly`, `yearly` or `none`."),
    ("SPY 100 monthly yearly", "Give one rebalancing schedule: monthly, quarterly, yearly or none."),
    ("SPY 100 vs QQQ vs IWM", "Give one benchmark after `vs`."),
    ("SPY 100 vs", "Name a benchmark after `vs`, e.g. `vs SPY`."),
    ("SPY 100 vs ; QQQ 100", "Name a benchmark after `vs`, e.g. `vs SPY`."),
    ("tactical growth", "Name the signal to trade on: `tactical smallcaps`, `tactical semis`."),
    ("tactical semis SMH SOXX", "A tactical portfolio takes a signal and at most one ticker, e.g. `tactical semis SOXX`."),
    ("tactical smallcaps QQQ", "`tactical smallcaps` holds one of IWM, IJR while the signal is on, not QQQ."),
    ("SPY 100 ;", "Give each portfolio as tickers and weights, e.g. `SPY 70 IJR 20 SMH 10`."),
    ("", "Give each portfolio as tickers and weights, e.g. `SPY 70 IJR 20 SMH 10`."),
])
def test_bad_backtests_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_backtest(text)
    assert str(refused.value) == message


def test_a_word_only_a_period_could_be_is_refused_as_one() -> None:
    with pytest.raises(BadRequest, match="not a period"):
        parse_backtest("SPY 100 1w")


@pytest.mark.parametrize("text, holdings", [
    ("SPY 60, IJR 40", (("SPY", 60.0), ("IJR", 40.0))),  # commas count as spaces
    ("SPY 50 IJR 50", (("IJR", 50.0), ("SPY", 50.0))),  # equal weights in ticker order
    ("SPY 100 IJR 0", (("SPY", 100.0),)),  # a zero weight is no holding
    ("SPY 99 IJR 1", (("SPY", 99.0), ("IJR", 1.0))),
    # Within 0.05 points of 100: rescaled to 100, to 4 decimals (70 / 99.96 and 29.96 / 99.96).
    ("SPY 70 IJR 29.96", (("SPY", 70.028), ("IJR", 29.972))),
    (" ".join(f"T{i} 10" for i in range(MAX_HOLDINGS)), tuple((f"T{i}", 10.0) for i in range(MAX_HOLDINGS))),
])
def test_mixes_as_typed(text: str, holdings: tuple) -> None:
    assert parse_backtest(text).portfolios == (Mix(holdings),)


@pytest.mark.parametrize("text", ["SPY 70 IJR 30 versus QQQ", "SPY 70 IJR 30 vs. qqq", "SPY 70 vs QQQ IJR 30"])
def test_the_benchmark_may_be_named_anywhere(text: str) -> None:
    request = parse_backtest(text)
    assert (request.benchmark, request.portfolios) == ("QQQ", (Mix((("SPY", 70.0), ("IJR", 30.0))),))


def test_four_portfolios_side_by_side() -> None:
    assert len(parse_backtest("SPY 100 ; QQQ 100 ; IWM 100 ; IJR 100").portfolios) == 4


# --- the command -----------------------------------------------------------------------------------

def cell(reply: Reply, row: str, column: str) -> str:
    assert reply.table is not None
    values = next(r for r in reply.table.rows if r[0] == row)
    return dict(zip(reply.table.columns, values))[column]


def titled(reply: Reply, prefix: str):
    return next(t for t in reply.more_tables if t.title.startswith(prefix))


def test_backtest_reply_matches_bt_and_the_csv_files(services: Services, prices_dir: Path) -> None:  # noqa: F811
    reply = router.run(f"/backtest SPY 70 IJR 20 SMH 10 quarterly {START}..{END}", services)
    assert not reply.is_error and not reply.ephemeral, reply.text

    # The window opens at the last close before the range's first day (as /compare's), so bt gets the same dates.
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    expected = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    total = expected.iloc[-1] - 1
    years = (prices.index[-1] - prices.index[0]).days / 365.25
    assert cell(reply, "P1", "Total") == f"{total * 100:.0f}%"
    assert cell(reply, "P1", "CAGR") == f"{((1 + total) ** (1 / years) - 1) * 100:.1f}%"
    spy = prices["SPY"]
    assert cell(reply, "SPY", "Total") == f"{(spy.iloc[-1] / spy.iloc[0] - 1) * 100:.0f}%"

    contributions = titled(reply, "Contribution")
    assert contributions.rows[-1] == ("Total", f"{total * 100:+.1f}%")
    years_table = titled(reply, "Calendar-year")
    year_2016 = dict(zip(years_table.columns, next(r for r in years_table.rows if r[0] == "2016")))
    assert year_2016["SPY"] == f"{(spy.loc['2016-12-30'] / spy.loc['2015-12-31'] - 1) * 100:.1f}%"
    assert year_2016["P1"] == f"{(expected.loc['2016-12-30'] / expected.loc['2015-12-31'] - 1) * 100:.1f}%"
    assert (years_table.rows[0][0], years_table.rows[-1][0]) == ("2015*", "2025*")
    assert "P1: SPY 70% · IJR 20% · SMH 10%" in reply.notes
    drawdowns = next(n for n in reply.notes if n.startswith("Max drawdowns"))
    for name, value in (("P1", expected), ("SPY", spy)):
        underwater = value / value.cummax() - 1
        trough = underwater.idxmin()
        peak = value.loc[:trough].idxmax()
        assert f"{name} {underwater.min() * 100:.1f}% {peak:%Y-%m-%d} → {trough:%Y-%m-%d}" in drawdowns
    assert reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")
    assert "2015-10-29 → 2025-10-31" in reply.footer


def test_a_second_identical_backtest_is_the_cached_reply(services: Services, recording: Recording) -> None:  # noqa: F811
    first = router.run("/backtest SPY 70 IJR 30 5y", services)
    calls = len(recording.calls)
    again = router.run("/backtest ijr:30 spy:70 rebalance quarterly 5y", services)
    assert again.plain_text() == first.plain_text() and again.chart.png == first.chart.png
    assert len(recording.calls) == calls


def test_a_short_window_is_not_annualised(services: Services) -> None:  # noqa: F811
    reply = router.run("/backtest SPY 70 IJR 30 6m", services)
    assert reply.table.columns == ("Portfolio", "Total", "Vol", "Max DD", "Sharpe", "Sortino", "Beta", "Corr",
                                   "Excess", "Turnover")
    assert "a year" not in reply.plain_text() and "CAGR" not in reply.plain_text()


def test_a_tactical_backtest_says_its_trades_and_time_in_each_leg(services: Services,  # noqa: F811
                                                                   prices_dir: Path) -> None:
    reply = router.run("/backtest tactical smallcaps since 2015", services)
    assert not reply.is_error, reply.text
    # The rule, from the CSV files: IWM/SPY above its 200-session average; held from the next close on.
    history = frame(prices_dir, ["IWM", "SPY"])
    ratio = history["IWM"] / history["SPY"]
    leading = ratio > ratio.rolling(200).mean()
    held = leading.shift(1).loc["2014-12-31":]  # "since 2015" opens at the last close of 2014
    trades = int((held != held.shift(1)).iloc[1:-1].sum())  # after the opening purchase; none on the last close
    in_iwm = float(held.iloc[:-1].mean())
    expected = f"{trades} trades; {in_iwm * 100:.0f}% of the time in IWM, {(1 - in_iwm) * 100:.0f}% in SPY"
    assert any(expected in note and "traded on the next close" in note for note in reply.notes), reply.notes
    assert trades > 10


def test_a_holding_with_shorter_history_shortens_the_window_and_says_so(services: Services) -> None:  # noqa: F811
    reply = router.run("/backtest SPY 50 XLC 50 since 2010", services)
    assert not reply.is_error, reply.text
    assert any("XLC's history starts 2018-06-19" in n for n in reply.notes)
    assert reply.footer.startswith("2018-06-19 →")


@pytest.mark.parametrize("command, fragment", [
    ("/backtest SPY 50 FOO 50", "can't find the ticker FOO"),
    ("/backtest SPY 70 IJR 20", "add up to 90%"),
    ("/backtest SPY 110 IJR -10", "can't be negative"),
    ("/backtest " + " ".join(f"T{i} 5" for i in range(11)), "at most 10"),
])
def test_bad_backtests_get_a_private_message_with_the_usage(services: Services, command: str,  # noqa: F811
                                                             fragment: str) -> None:
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral and fragment in reply.text
    assert reply.usage.startswith("/backtest")


def test_the_follow_up_buttons_run_the_same_backtest_over_another_period(services: Services) -> None:  # noqa: F811
    reply = router.run("/backtest SPY 70 IJR 30 yearly 10y", services)
    commands = {a.label: a.command for a in reply.actions}
    assert "10y" not in commands
    again = router.run(commands["5y"], services)
    assert not again.is_error and "5y" in again.text and "rebalanced yearly" in again.text

