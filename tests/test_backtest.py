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

# Imported with the module, as in test_analysis: importing quantstats restyles matplotlib (its rcParams), which
# must not change between two charts of one test run.
import quantstats as qs
from scipy.optimize import brentq

from analysis.backtest import (
    Trading,
    annual_turnover,
    fixed_mix,
    money_weighted_return,
    rebalance_dates,
    simulate,
    switching,
    time_on,
    with_fees,
)
from analysis.rules import PREDEFINED, evaluate
from errors import BadRequest
from handlers.common import router
from handlers.common.backtest_request import MAX_HOLDINGS, parse_backtest, with_signals
from handlers.common.portfolios import Mix, Tactical
from handlers.common.reply import Reply
from handlers.common.services import Services
from tests.bt_oracle import END, START, WEIGHTS, bt_adding_quarterly, bt_value, frame, run_bt
from tests.doubles import Recording

BT_SCHEDULES = {"monthly": bt.algos.RunMonthly, "quarterly": bt.algos.RunQuarterly, "yearly": bt.algos.RunYearly}


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


def smallcaps(history: pd.DataFrame) -> pd.Series:
    """The smallcaps signal (IWM/SPY above its 200-session average) on each close it has a reading."""
    return evaluate(PREDEFINED["smallcaps"], history).state


def test_tactical_portfolio_equals_bt_trading_the_shifted_signal(prices_dir: Path) -> None:
    history = frame(prices_dir, ["IWM", "SPY"]).loc["2013-01-01":END]
    signal = smallcaps(history)
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
    full = switching(history.loc[START:], smallcaps(history),
                     "IWM", "SPY")
    known = history.loc[:cut]
    early = switching(known.loc[START:], smallcaps(known),
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


@pytest.mark.parametrize("a, traded", [
    ([100.0, 130.0, 130.0, 130.0, 130.0], 0.65 / 1.15 - 0.5),  # 6.5 points off at January's close: traded there
    ([90.0, 110.0, 110.0, 110.0, 110.0], 0.05),  # exactly 5 points (A at 11/20 of the value): a band as typed counts
    ([100.0, 100.0, 100.0, 130.0, 130.0], 0.65 / 1.15 - 0.5),  # off only at the last scheduled close, February's
])
def test_a_band_trades_when_a_weight_has_drifted_that_far_since_the_last_trade(a: list[float], traded: float) -> None:
    """50/50 in A and B, B flat, a 5-point band, monthly: A's weight is 0.5 a / (0.5 a + 0.5) with a its growth."""
    dates = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01"])
    prices = pd.DataFrame({"A": a, "B": [100.0] * 5}, index=dates)
    result = fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly", Trading(band=0.05))
    first_move = dates[1] if a[1] != a[0] else dates[3]
    assert list(result.turnover.index) == [first_move]
    assert result.turnover.iloc[0] == pytest.approx(traded, rel=1e-9)


def test_costs_and_balance_are_dated_and_sized_by_hand() -> None:
    """Cash 1 buys A and B half each at cost c: 1 / (1 + c) is held, c / (1 + c) paid.  A rises 30% by January's
    close, to 0.65 / (1 + c) against B's 0.5 / (1 + c), and the rebalance orders 0.075 / (1 + c) out of A into B:
    the sale raises that much, selling it grossed up by 1 / (1 - c); the purchase spends it, buying it net of
    1 / (1 + c)."""
    c = 0.01
    dates = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01"])
    prices = pd.DataFrame({"A": [100.0, 130.0, 130.0], "B": [100.0] * 3}, index=dates)
    result = fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly", Trading(cost=c))
    order = 0.075 / (1 + c)
    assert list(result.costs.index) == [dates[0], dates[1]]
    assert result.costs.iloc[0] == pytest.approx(c / (1 + c), rel=1e-12)
    assert result.costs.iloc[1] == pytest.approx(order * c / (1 - c) + order * c / (1 + c), rel=1e-9)
    assert list(result.balance.index) == list(dates)
    a, b = 0.65 / (1 + c) - order / (1 - c), 0.5 / (1 + c) + order / (1 + c)
    assert result.balance.iloc[-1] == pytest.approx(a + b, rel=1e-9)


def test_a_sale_never_sells_more_than_the_holding_however_high_the_cost() -> None:
    """At c = 0.6, cash 1 buys A and B at 0.5 / 1.6 = 0.3125 each.  A rises ninefold by January's close: 2.8125
    in A, 0.3125 in B.  Back to half each, A's order is 2.8125 - 1.5625 = 1.25, grossed up 1.25 / 0.4 = 3.125:
    more than A holds.  So A is sold in full, raising 2.8125 * 0.4 = 1.125, which B spends: 1.125 / 1.6."""
    c = 0.6
    dates = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01"])
    prices = pd.DataFrame({"A": [100.0, 900.0, 900.0], "B": [100.0] * 3}, index=dates)
    result = fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly", Trading(cost=c))
    assert result.balance.iloc[-1] == pytest.approx(0.3125 + 1.125 / 1.6, rel=1e-12)
    assert result.costs.iloc[1] == pytest.approx(2.8125 * c + 1.125 / 1.6 * c, rel=1e-12)
    assert result.balance.iloc[-1] == pytest.approx(3.125 - result.costs.iloc[1], rel=1e-12)


def test_a_band_with_a_single_scheduled_date_trades_on_it() -> None:
    dates = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01"])
    prices = pd.DataFrame({"A": [100.0, 130.0, 130.0], "B": [100.0] * 3}, index=dates)
    result = fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly", Trading(band=0.05))
    assert list(result.turnover.index) == [dates[1]]
    assert list(fixed_mix(prices, pd.Series({"A": 0.5, "B": 0.5}), "monthly", Trading(band=0.1)).turnover) == []


def test_time_on_is_the_share_of_day_to_day_returns_spent_in_a_leg() -> None:
    dates = pd.bdate_range("2024-01-01", periods=8)
    prices = pd.DataFrame({"A": np.linspace(100, 107, 8), "B": np.linspace(100, 93, 8)}, index=dates)
    signal = pd.Series(False, index=dates.insert(0, dates[0] - pd.offsets.BDay(1)))
    signal[dates[3]] = True  # seen on day 3: A held from day 4's close to day 5's, one of the 7 daily returns
    result = switching(prices, signal, on="A", off="B")
    assert (time_on(result, "A"), time_on(result, "B")) == (pytest.approx(1 / 7), pytest.approx(6 / 7))


def test_simulate_refuses_a_first_trade_after_the_first_date(window: pd.DataFrame) -> None:
    targets = pd.DataFrame([[1.0, 0.0, 0.0]], index=[window.index[5]], columns=list(WEIGHTS))
    with pytest.raises(ValueError, match="^the first trade must be on the first date$"):
        simulate(window, targets)
    first = pd.DataFrame([[1.0, 0.0, 0.0]] * 2, index=[window.index[0], pd.Timestamp("1990-01-02")], columns=list(WEIGHTS))
    with pytest.raises(ValueError, match="^every trade date must be a date of prices$"):
        simulate(window, first)
    opening = pd.DataFrame([[1.0, 0.0, 0.0]] * 2, index=window.index[[0, 5]], columns=list(WEIGHTS))
    with pytest.raises(ValueError, match="^contributions must fall on trade dates after the first$"):
        simulate(window, opening, flows=pd.Series(0.1, index=window.index[[0]]))
    for cost in (1.0, 1.5, -0.001):
        with pytest.raises(ValueError, match=f"^a trading cost is a fraction of the value traded, from 0 to below 1, "
                                             f"not {cost:g}$"):
            simulate(window, pd.DataFrame([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], index=window.index[[0, 5]],
                                          columns=list(WEIGHTS)), cost=cost)
    unknown = pd.Series([True] * len(window), index=window.index)  # nothing known the day before the first
    with pytest.raises(ValueError, match="^the signal must be known from the day before the first date on$"):
        switching(window, unknown, on="SPY", off="IJR")


def test_a_cost_whose_trades_do_not_settle_is_refused_by_name(window: pd.DataFrame) -> None:
    """At 70% a trade leaves the weights far from target and each trade's result depends on the last one's, so the
    fixed point over the trades does not settle in its rounds: refused, rather than answered with unsettled figures."""
    with pytest.raises(ValueError, match=r"^trading costs of 0\.7 did not settle; is the cost below 100%\?$"):
        fixed_mix(window, pd.Series(WEIGHTS), "monthly", Trading(cost=0.7))


def test_a_tactical_switch_pays_its_cost_on_both_sides_of_the_trade() -> None:
    """Cash 1 into B, then all of B into all of A, at cost c: the opening purchase buys 1 / (1 + c) of B; selling
    it raises (1 - c) of that, which buys (1 - c) / (1 + c)^2 of A."""
    dates = pd.bdate_range("2024-01-01", periods=4)
    prices = pd.DataFrame({"A": [100.0] * 4, "B": [100.0] * 4}, index=dates)
    signal = pd.Series([False, True, True, True, True], index=dates.insert(0, dates[0] - pd.offsets.BDay(1)))
    result = switching(prices, signal, on="A", off="B", cost=0.01)
    assert result.value.iloc[-1] == pytest.approx(0.99 / 1.01 ** 2, rel=1e-12)


def test_contributions_on_a_schedule_start_after_the_opening_close() -> None:
    dates = pd.DatetimeIndex(["2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01", "2024-03-28", "2024-04-01"])
    prices = pd.DataFrame({"A": [100.0] * 6, "B": [100.0] * 6}, index=dates)
    weights = pd.Series({"A": 0.5, "B": 0.5})
    # 31 January is the opening close (no contribution then), 29 February and 28 March are month ends.
    result = fixed_mix(prices, weights, "quarterly", Trading(add=0.1, add_schedule="monthly"))
    assert list(result.flows.index) == [dates[2], dates[4]] and result.balance.iloc[-1] == pytest.approx(1.2)
    shifted = fixed_mix(prices.iloc[1:], weights, "none", Trading(add=0.1, add_schedule="monthly"))
    assert list(shifted.flows.index) == [dates[2], dates[4]]  # 29 February is the second close here


def test_weekly_rebalancing_equals_bt_run_weekly(window: pd.DataFrame) -> None:
    expected = bt_value(run_bt(window, bt.algos.RunWeekly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    ours = fixed_mix(window, pd.Series(WEIGHTS), "weekly")
    assert np.abs(ours.value.to_numpy() - expected.to_numpy()).max() < 1e-9
    assert ours.trades > 500  # ten years of weeks


def test_contributions_equal_bt_adding_cash_and_the_irr_solves_its_equation(window: pd.DataFrame) -> None:
    quarter_ends = rebalance_dates(window.index, "quarterly")
    dollars = bt_adding_quarterly(window, 1000.0).iloc[1:]
    added = pd.Series(1000.0, index=quarter_ends).reindex(window.index, fill_value=0.0)
    # The money arrives at the close: a day's return is the value less that day's contribution over yesterday's.
    # (bt's own index divides by yesterday's value plus the contribution instead, as if it came in the day before.)
    time_weighted = ((dollars - added) / dollars.shift(1)).fillna(1.0).cumprod()

    ours = fixed_mix(window, pd.Series(WEIGHTS), "quarterly", Trading(add=0.1, add_schedule="quarterly"))

    assert np.abs(ours.balance.to_numpy() * 10_000 - dollars.to_numpy()).max() < 1e-6
    assert np.abs(ours.value.to_numpy() - time_weighted.to_numpy()).max() < 1e-9
    # Invested at each rebalance, the new money leaves the time-weighted path exactly that of no contributions.
    assert np.abs(ours.value.to_numpy() - fixed_mix(window, pd.Series(WEIGHTS), "quarterly").value).max() < 1e-9
    assert len(ours.flows) == len(quarter_ends) == 40
    # The money-weighted return: the rate at which every dollar put in grows to the final balance.
    start, end = window.index[0], window.index[-1]

    def surplus(rate: float) -> float:
        grown = 10_000 * (1 + rate) ** ((end - start).days / 365.25)
        grown += sum(1000 * (1 + rate) ** ((end - d).days / 365.25) for d in quarter_ends)
        return grown - dollars.iloc[-1]

    assert abs(money_weighted_return(ours) - brentq(surplus, -0.5, 1.0, xtol=1e-14)) < 1e-10


def units_held(prices: pd.DataFrame, weights: dict[str, float], schedule: pd.DatetimeIndex, cost: float,
               band: float, flows: dict[pd.Timestamp, float]) -> pd.DataFrame:
    """An independent account, day by day: the units held at each close, after that close's trade. Bought at the
    first close paying ``cost``; on a scheduled date, traded back towards target when some weight is ``band`` or
    more off it (always on a contribution date). Each holding's order is its target share of the value
    (contribution included) less what it holds, and pays its own cost: a sale of an order raises it in full
    (selling it over 1 - cost), a purchase spends it in full (buying it over 1 + cost)."""
    target = pd.Series(weights)
    units = target / (1 + cost) / prices.iloc[0]
    held_after = [units]
    for date, row in prices.iloc[1:].iterrows():
        held = units * row
        added = flows.get(date, 0.0)
        weights_now = held / held.sum()
        if added or (date in schedule and (weights_now - target).abs().max() >= band - 1e-12):
            orders = target * (held.sum() + added) - held
            units = units + orders.where(orders < 0, orders / (1 + cost)).where(orders > 0, orders / (1 - cost)) / row
        held_after.append(units)
    return pd.DataFrame(held_after, index=prices.index)


def trade_by_trade(prices: pd.DataFrame, weights: dict[str, float], schedule: pd.DatetimeIndex, cost: float,
                   band: float, flows: dict[pd.Timestamp, float]) -> pd.Series:
    """The value of that account at each close; the first day's is the cash before the opening purchase."""
    values = (units_held(prices, weights, schedule, cost, band, flows) * prices).sum(axis=1)
    values.iloc[0] = 1.0
    return values


@pytest.mark.parametrize("rebalance, trading", [
    ("quarterly", Trading(cost=0.001)),
    ("weekly", Trading(cost=0.0025)),
    ("monthly", Trading(band=0.05)),
    ("monthly", Trading(cost=0.001, band=0.03)),
    ("monthly", Trading(cost=0.001, band=0.03, add=0.1, add_schedule="yearly")),
])
def test_costs_bands_and_contributions_equal_an_account_kept_day_by_day(window: pd.DataFrame, rebalance: str,
                                                                        trading: Trading) -> None:
    schedule = rebalance_dates(window.index, rebalance)
    flows = {d: trading.add for d in rebalance_dates(window.index, trading.add_schedule)} if trading.add else {}
    expected = trade_by_trade(window, WEIGHTS, schedule, trading.cost, trading.band, flows)

    ours = fixed_mix(window, pd.Series(WEIGHTS), rebalance, trading)

    assert np.abs(ours.balance.to_numpy() / expected.to_numpy() - 1).max() < 1e-12
    profit = ours.contribution.sum() - ours.costs.sum()
    assert abs(profit - (ours.balance.iloc[-1] - 1 - ours.flows.sum())) < 1e-12
    if trading.cost:  # the opening purchase pays too
        assert ours.costs.iloc[0] == pytest.approx(trading.cost / (1 + trading.cost), rel=1e-12)
    if trading.band:
        assert 0 < ours.trades - len(ours.flows) < len(schedule)  # the band skips most scheduled dates


@pytest.mark.parametrize("wider", [0.0, 1e-9])
def test_a_band_measures_the_drift_from_the_weights_costly_trades_and_contributions_left(wider: float) -> None:
    """A and B half each at a 10% cost, half the starting amount added at the quarter ends (29 December, 28 March),
    rebalanced monthly within a band. A rises from 50 to 66 by March and is flat after, B is flat at 200. With costs
    a trade leaves the weights off target (each holding pays its own), so on 30 April, a month end with March's
    prices, the drift is what the March contribution's trade left: a band of exactly that trades there, one a hair
    wider does not."""
    dates = pd.DatetimeIndex(["2023-12-28", "2023-12-29", "2024-03-28", "2024-04-30", "2024-05-01"])
    prices = pd.DataFrame({"A": [50.0, 60.0, 66.0, 66.0, 66.0], "B": [200.0] * 5}, index=dates)
    weights, cost, flows = {"A": 0.5, "B": 0.5}, 0.1, {dates[1]: 0.5, dates[2]: 0.5}
    left = units_held(prices, weights, dates[:0], cost, 1.0, flows).loc[dates[2]] * prices.loc[dates[3]]
    drift = float((left / left.sum() - 0.5).abs().max())
    assert drift > 1e-3
    band = drift + wider

    ours = fixed_mix(prices, pd.Series(weights), "monthly", Trading(cost=cost, band=band, add=0.5, add_schedule="quarterly"))

    assert list(ours.turnover.index) == [dates[1], dates[2], *([dates[3]] if not wider else [])]
    expected = trade_by_trade(prices, weights, rebalance_dates(dates, "monthly"), cost, band, flows)
    assert np.abs(ours.balance.to_numpy() / expected.to_numpy() - 1).max() < 1e-12


BT_SCHEDULES_WITH_WEEKS = {**BT_SCHEDULES, "weekly": bt.algos.RunWeekly}


@pytest.mark.parametrize("rebalance, cost", [("quarterly", 0.001), ("weekly", 0.0025), ("monthly", 0.02),
                                             ("none", 0.001)])
def test_costs_equal_bt_commissions_on_the_value_traded(window: pd.DataFrame, rebalance: str, cost: float) -> None:
    """bt 1.4 charges each holding its commission on the value it trades, the opening purchase included; so does
    Tilt, to 1e-9 of the value on every day (in practice a few 1e-15)."""
    first = BT_SCHEDULES_WITH_WEEKS[rebalance](run_on_end_of_period=True) if rebalance != "none" \
        else bt.algos.RunOnce()
    expected = bt_value(run_bt(window, first, bt.algos.WeighSpecified(**WEIGHTS), cost))

    ours = fixed_mix(window, pd.Series(WEIGHTS), rebalance, Trading(cost=cost))

    assert ours.value.index.equals(expected.index)
    assert np.abs(ours.value.to_numpy() / expected.to_numpy() - 1).max() < 1e-9
    free = fixed_mix(window, pd.Series(WEIGHTS), rebalance).value
    assert 1 - ours.value.iloc[-1] / free.iloc[-1] > cost / 2  # the costs themselves are far larger than that
    assert ours.value.iloc[1] < free.iloc[1] / (1 + cost) * (1 + 1e-12)  # the opening purchase paid on day one


def test_costs_with_contributions_equal_bt(window: pd.DataFrame) -> None:
    dollars = bt_adding_quarterly(window, 1000.0, cost=0.001)
    ours = fixed_mix(window, pd.Series(WEIGHTS), "quarterly", Trading(cost=0.001, add=0.1, add_schedule="quarterly"))
    # bt's first real date is after the opening purchase; Tilt's first balance is the $10,000 before it.
    assert ours.balance.iloc[0] * 10_000 == dollars.iloc[0] == 10_000
    assert np.abs(ours.balance.to_numpy()[1:] * 10_000 / dollars.to_numpy()[2:] - 1).max() < 1e-9


def test_a_switch_with_costs_buys_with_what_the_sale_raised(prices_dir: Path) -> None:
    """bt buys the new leg with the value before the sale, as if the sale paid no commission, and ends in debt by
    it; Tilt sells the old leg in full, pays for that, and buys the new one with what is left. Checked against an
    account kept here."""
    history = frame(prices_dir, ["IWM", "SPY"]).loc["2013-01-01":END]
    signal = smallcaps(history)
    prices = history.loc[START:END]
    cost = 0.001

    ours = switching(prices, signal, on="IWM", off="SPY", cost=cost)

    held = signal.shift(1).reindex(prices.index).astype(bool)
    leg = "IWM" if held.iloc[0] else "SPY"
    units = 1 / (1 + cost) / prices[leg].iloc[0]
    values, paid = [1.0], 1 - 1 / (1 + cost)
    for date, on in held.iloc[1:-1].items():
        wanted = "IWM" if on else "SPY"
        if wanted != leg:
            before = units * prices.at[date, leg]
            paid += before * (1 - (1 - cost) / (1 + cost))  # the sale's cost, then the purchase's
            units = before * (1 - cost) / (1 + cost) / prices.at[date, wanted]
            leg = wanted
        values.append(units * prices.at[date, leg])
    values.append(units * prices[leg].iloc[-1])
    assert np.abs(ours.value.to_numpy() / np.array(values) - 1).max() < 1e-12
    assert ours.trades > 10
    assert ours.costs.sum() == pytest.approx(paid, rel=1e-12)


def test_fees_are_taken_daily(window: pd.DataFrame) -> None:
    ratios = pd.Series({"SPY": 0.0009, "SMH": 0.0035})
    net = with_fees(window, ratios)
    daily = window.pct_change().iloc[1:]
    net_daily = net.pct_change().iloc[1:]
    # Each day the holding returns its gross return less ratio/252 of its value; a holding without a ratio pays none.
    assert np.allclose(net_daily["SPY"], (1 + daily["SPY"]) * (1 - 0.0009 / 252) - 1, rtol=0, atol=1e-14)
    assert np.allclose(net_daily["SMH"], (1 + daily["SMH"]) * (1 - 0.0035 / 252) - 1, rtol=0, atol=1e-14)
    assert net["IJR"].equals(window["IJR"])


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


def resolved(text: str):
    return with_signals(parse_backtest(text), PREDEFINED.__getitem__)


@pytest.mark.parametrize("text, spelled", [
    ("SPY 70 IJR 30 weekly cost 10bp band 5 fees add $1,000 monthly vs SPY 60 AGG 40 5y",
     "SPY 70 IJR 30 rebalance weekly cost 10bp band 5 fees add 1000 monthly vs SPY 60 AGG 40"),
    ("add 1k quarterly SPY 70 IJR 30 cost 10 bp band 5% yearly",
     "SPY 70 IJR 30 rebalance yearly cost 10bp band 5 add 1000 quarterly vs SPY"),
    ("SPY 70 IJR 30 cost 0.25%", "SPY 70 IJR 30 rebalance quarterly cost 25bp vs SPY"),
    ("COST 50 SPY 50", "COST 50 SPY 50 rebalance quarterly vs SPY"),  # Costco with a weight, not a cost
    ("SPY 70 IJR 30 vs AGG 40 SPY 60", "SPY 70 IJR 30 rebalance quarterly vs SPY 60 AGG 40"),
])
def test_the_words_of_a_real_world_backtest(text: str, spelled: str) -> None:
    assert parse_backtest(text).spelled == spelled


def test_a_blended_benchmark_is_named_by_its_tickers_and_weights() -> None:
    request = parse_backtest("SPY 70 IJR 30 vs SPY 60 AGG 40")
    assert (request.benchmark, request.tickers) == ("SPY/AGG 60/40", ["IJR", "SPY", "AGG"])
    assert parse_backtest("SPY 70 IJR 30 vs QQQ").blend is None


def test_tactical_requests() -> None:
    assert resolved("tactical smallcaps").portfolios == (Tactical("smallcaps", "IWM", "SPY"),)
    assert resolved("tactical smallcaps IJR 5y").portfolios == (Tactical("smallcaps", "IJR", "SPY"),)
    assert resolved("tactical smallcaps hold QQQ else TLT").portfolios == (Tactical("smallcaps", "QQQ", "TLT"),)
    both = resolved("tactical semis ; SPY 80 SMH 20")
    assert both.portfolios == (Tactical("semis", "SMH", "SPY"), Mix((("SPY", 80.0), ("SMH", 20.0))))
    assert both.tickers == ["SMH", "SPY"]
    assert resolved("tactical semis hold SMH else SPY").spelled == resolved("tactical semis").spelled


def test_spellings_of_one_backtest_share_a_key() -> None:
    assert (parse_backtest("SPY 70 IJR 20 SMH 10").key == parse_backtest("smh:10 ijr:20 spy:70 quarterly 10y").key
            == parse_backtest("SPY 70 SMH 10 IJR 20 rebalance quarterly vs spy").key)
    assert parse_backtest("SPY 70 IJR 30").key != parse_backtest("SPY 70 IJR 30 monthly").key
    # The normalised spelling parses back to the same request (follow-up buttons run it).
    request = resolved("tactical smallcaps IJR ; SPY:60 IWM:40 yearly vs QQQ")
    assert resolved(request.spelled).key.replace("10y", "") == request.key.replace("10y", "")


@pytest.mark.parametrize("text, fragment", [
    ("SPY 70 IJR 20", "add up to 90%, not 100%"),
    ("SPY 70 IJR 29.5", "add up to 99.5%, not 100%"),  # half a point off is a typo, not rounding: never rescaled
    ("SPY 100 vs QQQ vs IWM", "Give one benchmark after `vs`"),
    ("SPY 100 vs", "Name a benchmark after `vs`"),
    ("SPY 100 vs ; QQQ 100", "Name a benchmark after `vs`"),
    ("SPY 70 IJR 40 SMH -10", "can't be negative"),
    (" ".join(f"T{i} 5" for i in range(MAX_HOLDINGS + 1)), "at most 10"),
    ("SPY 100 ; QQQ 100 ; IWM 100 ; IJR 100 ; SMH 100", "at most 4"),
    ("SPY 70 IJR", "Give every holding a weight"),
    ("SPY 50 SPY 50", "more than once"),
    ("SPY seventy IJR 30", "not a weight"),
    ("SPY 100 ; SPY 100", "the same"),
    ("SPY 100 rebalance", "how often"),
    ("SPY 100 monthly yearly", "one rebalancing schedule"),
    ("tactical", "Name the signal"),
    ("tactical Growth_Fund", "Name the signal"),
    ("tactical smallcaps QQQ", "holds one of IWM, IJR"),
    ("tactical mine SMH", "Say what to hold"),
    ("tactical mine hold SMH else SMH", "two different tickers"),
    ("SPY 100 3d", "not a period"),
    ("SPY 100 ;", "tickers and weights"),
    ("", "tickers and weights"),
    ("SPY 70 IJR 30 cost", "trading cost in basis points"),
    ("SPY 70 IJR 30 cost cheap", "trading cost in basis points"),
    ("SPY 70 IJR 30 cost 900bp", "at most 200bp"),
    ("SPY 70 IJR 30 band", "band in percentage points"),
    ("SPY 70 IJR 30 band 0", "more than 0"),
    ("SPY 70 IJR 30 add 1000", r"how often to add \$1,000"),
    ("SPY 70 IJR 30 add 1000 weekly", "how often to add"),
    ("SPY 70 IJR 30 add monthly", "amount and how often"),
    ("SPY 70 IJR 30 vs SPY 60 AGG 30", "adds up to 90%, not 100%"),
    ("SPY 70 IJR 30 band 5 band 3", "once"),
])
def test_bad_backtests_are_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match=fragment):
        parse_backtest(text)


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


def test_backtest_reply_matches_bt_and_the_csv_files(services: Services, prices_dir: Path) -> None:
    reply = router.run(f"/backtest SPY 70 IJR 20 SMH 10 quarterly {START}..{END}", services)
    assert not reply.is_error and not reply.ephemeral, reply.text

    # The window opens at the last close before the range's first day (as /compare's), so bt gets the same dates.
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    expected = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    total = expected.iloc[-1] - 1
    years = (prices.index[-1] - prices.index[0]).days / 365.25
    assert cell(reply, "SPY70 IJR20 SMH10", "Total") == f"{total * 100:.0f}%"
    assert cell(reply, "SPY70 IJR20 SMH10", "CAGR") == f"{((1 + total) ** (1 / years) - 1) * 100:.1f}%"
    spy = prices["SPY"]
    assert cell(reply, "SPY", "Total") == f"{(spy.iloc[-1] / spy.iloc[0] - 1) * 100:.0f}%"

    contributions = titled(reply, "Contribution")
    assert contributions.title == "Contribution to total return (percentage points)"
    assert contributions.rows[-1] == ("Total", f"{total * 100:+.1f}")
    years_table = titled(reply, "Calendar-year")
    year_2016 = dict(zip(years_table.columns, next(r for r in years_table.rows if r[0] == "2016")))
    assert year_2016["SPY"] == f"{(spy.loc['2016-12-30'] / spy.loc['2015-12-31'] - 1) * 100:.1f}%"
    assert year_2016["SPY70 IJR20 SMH10"] == f"{(expected.loc['2016-12-30'] / expected.loc['2015-12-31'] - 1) * 100:.1f}%"
    assert (years_table.rows[0][0], years_table.rows[-1][0]) == ("2015*", "2025*")
    assert not any(note.startswith("P1") for note in reply.notes)  # the name says what it holds
    drawdowns = next(n for n in reply.notes if n.startswith("Max drawdowns"))
    for name, value in (("SPY70 IJR20 SMH10", expected), ("SPY", spy)):
        underwater = value / value.cummax() - 1
        trough = underwater.idxmin()
        peak = value.loc[:trough].idxmax()
        assert f"{name} {underwater.min() * 100:.1f}% {peak:%Y-%m-%d} → {trough:%Y-%m-%d}" in drawdowns
    assert reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")
    assert "2015-10-29 → 2025-10-31" in reply.footer


def test_a_second_identical_backtest_is_the_cached_reply(services: Services, recording: Recording) -> None:
    first = router.run("/backtest SPY 70 IJR 30 5y", services)
    calls = len(recording.calls)
    again = router.run("/backtest ijr:30 spy:70 rebalance quarterly 5y", services)
    assert again.plain_text() == first.plain_text() and again.chart.png == first.chart.png
    assert len(recording.calls) == calls


@pytest.mark.parametrize("period", ["3y", "10y"])
def test_a_backtest_of_the_benchmark_alone_answers_with_its_chart(services: Services, period: str) -> None:
    # Under 4 years the bottom panel is relative strength, where the benchmark alone has no line to label: that
    # chart once failed, and the reply was "Something went wrong".
    reply = router.run(f"/backtest SPY 100 {period}", services)
    assert not reply.is_error and reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")


def test_a_short_window_is_not_annualised(services: Services) -> None:
    reply = router.run("/backtest SPY 70 IJR 30 6m", services)
    assert reply.table.columns == ("Portfolio", "Total", "Vol", "Max DD", "Sharpe", "Sortino", "Beta", "Corr",
                                   "Excess", "Turnover")
    assert "a year" not in reply.plain_text() and "CAGR" not in reply.plain_text()


def test_a_tactical_backtest_says_its_trades_and_time_in_each_leg(services: Services,
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


def test_a_holding_with_shorter_history_shortens_the_window_and_says_so(services: Services) -> None:
    reply = router.run("/backtest SPY 50 XLC 50 since 2010", services)
    assert not reply.is_error, reply.text
    assert any("XLC's history starts 2018-06-19" in n for n in reply.notes)
    assert reply.footer.startswith("2018-06-19 →")


@pytest.mark.parametrize("command, fragment", [
    ("/backtest SPY 50 FOO 50", "can't find the ticker FOO"),
    ("/backtest SPY 70 IJR 20", "add up to 90%"),
    ("/backtest SPY 110 IJR -10", "can't be negative"),
    ("/backtest " + " ".join(f"T{i} 5" for i in range(11)), "at most 10"),
    ("/backtest SPY 70 IJR 30 cost", "trading cost"),
    ("/backtest SPY 70 IJR 30 band", "band in percentage points"),
    ("/backtest SPY 70 IJR 30 add 500", "how often to add"),
    ("/backtest SPY 70 IJR 30 vs SPY 50 AGG 40", "not 100%"),
])
def test_bad_backtests_get_a_private_message_with_the_usage(services: Services, command: str,
                                                             fragment: str) -> None:
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral and fragment in reply.text
    assert reply.usage.startswith("/backtest")


def test_the_follow_up_buttons_run_the_same_backtest_over_another_period(services: Services) -> None:
    reply = router.run("/backtest SPY 70 IJR 30 yearly 10y", services)
    commands = {a.label: a.command for a in reply.actions}
    assert "10y" not in commands
    again = router.run(commands["5y"], services)
    assert not again.is_error and "5y" in again.text and "rebalanced yearly" in again.text



def test_weekly_rebalancing_and_a_blended_benchmark_equal_bt(services: Services, prices_dir: Path) -> None:
    reply = router.run(f"/backtest SPY 70 IJR 30 weekly {START}..{END} vs SPY 60 AGG 40", services)
    assert not reply.is_error, reply.text
    prices = frame(prices_dir, ["SPY", "IJR", "AGG"]).loc["2015-10-29":END]
    weekly = bt.algos.RunWeekly
    mix = bt_value(run_bt(prices[["SPY", "IJR"]], weekly(run_on_end_of_period=True),
                          bt.algos.WeighSpecified(SPY=0.7, IJR=0.3)))
    blend = bt_value(run_bt(prices[["SPY", "AGG"]], weekly(run_on_end_of_period=True),
                            bt.algos.WeighSpecified(SPY=0.6, AGG=0.4)))
    assert cell(reply, "SPY70 IJR30", "Total") == f"{(mix.iloc[-1] - 1) * 100:.0f}%"
    assert cell(reply, "SPY/AGG 60/40", "Total") == f"{(blend.iloc[-1] - 1) * 100:.0f}%"
    assert "vs SPY/AGG 60/40" in reply.text and "rebalanced weekly" in reply.text


def test_with_costs_the_portfolios_and_the_benchmarks_equal_bt_each_paying_them(services: Services,
                                                                               prices_dir: Path) -> None:
    """A cost is paid on both sides: a blended benchmark pays it on its opening purchase and each rebalance, a one
    ticker benchmark on its opening purchase, as bt charges a strategy of each (read from the CSV export)."""
    import io

    prices = frame(prices_dir, ["SPY", "IJR", "AGG"]).loc["2015-10-29":END]
    weekly = bt.algos.RunWeekly(run_on_end_of_period=True)
    mix = bt_value(run_bt(prices[["SPY", "IJR"]], weekly, bt.algos.WeighSpecified(SPY=0.7, IJR=0.3), 0.0025))
    blend = bt_value(run_bt(prices[["SPY", "AGG"]], bt.algos.RunWeekly(run_on_end_of_period=True),
                            bt.algos.WeighSpecified(SPY=0.6, AGG=0.4), 0.0025))
    spy = bt_value(run_bt(prices[["SPY"]], bt.algos.RunOnce(), bt.algos.WeighSpecified(SPY=1.0), 0.0025))
    for benchmark, column, expected in (("vs SPY 60 AGG 40", "SPY/AGG 60/40", blend), ("", "SPY", spy)):
        reply = router.run(f"/backtest SPY 70 IJR 30 weekly cost 25bp {START}..{END} {benchmark} csv", services)
        assert not reply.is_error, reply.text
        exported = pd.read_csv(io.StringIO(reply.attachment.text), index_col="Date", parse_dates=True)
        assert np.abs(exported["SPY70 IJR30"].to_numpy() / (mix.to_numpy() * 10_000) - 1).max() < 1e-9
        assert np.abs(exported[column].to_numpy() / (expected.to_numpy() * 10_000) - 1).max() < 1e-9
    # The one-ticker benchmark is its price over the opening purchase's cost.
    assert abs(spy.iloc[-1] - prices["SPY"].iloc[-1] / prices["SPY"].iloc[0] / 1.0025) < 1e-12


def test_contributions_say_the_final_value_and_both_returns(services: Services, prices_dir: Path) -> None:
    reply = router.run(f"/backtest SPY 70 IJR 20 SMH 10 add 1000 quarterly {START}..{END}", services)
    assert not reply.is_error, reply.text
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    final = bt_adding_quarterly(prices, 1000.0).iloc[-1]
    note = next(n for n in reply.notes if n.startswith("SPY70 IJR20 SMH10: $10,000 plus $1,000 quarterly"))
    assert f"(40 times, $50,000 in all) grew to ${final:,.0f}" in note, note
    assert "money-weighted return" in note and "a year, time-weighted" in note


def test_costs_and_fees_are_named_in_the_notes_and_footer(services: Services) -> None:
    reply = router.run("/backtest SPY 70 IJR 30 cost 10bp fees band 5 5y", services)
    assert not reply.is_error, reply.text
    [costs] = [n for n in reply.notes if n.startswith("Trading costs 10bp of the value traded")]
    assert "the opening purchase included" in costs and "the benchmark pays them too" in costs
    assert any(n.startswith("Band 5 points") for n in reply.notes)
    # The shared fundamentals carry no expense ratio: the note says so rather than inventing one.
    assert "Fees: no expense ratio known for SPY, IJR, so no fee is taken." in reply.notes
    assert "costs 10bp" in reply.footer and "expense ratios taken daily" in reply.footer


def test_tear_sheet_equals_quantstats_and_counts_made_here(services: Services, prices_dir: Path) -> None:
    reply = router.run(f"/backtest SPY 70 IJR 20 SMH 10 quarterly {START}..{END}", services)
    assert not reply.is_error, reply.text
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    value = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                            bt.algos.WeighSpecified(**WEIGHTS)))
    spy = prices["SPY"] / prices["SPY"].iloc[0]
    daily = value.pct_change().iloc[1:]

    # The five worst drawdowns: quantstats' episodes, which start the close after our peak and end the close
    # before our recovery.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(daily)).sort_values("max drawdown").head(5)
    dates = value.index
    drawdowns = titled(reply, "Five worst drawdowns")
    ours = [dict(zip(drawdowns.columns, r)) for r in drawdowns.rows if r[0] == "SPY70 IJR20 SMH10"]
    assert len(ours) == 5
    for row, (_, theirs) in zip(ours, details.iterrows()):
        assert row["Depth"] == f"{theirs['max drawdown']:.1f}%"
        assert row["Peak"] == f"{dates[dates.get_loc(pd.Timestamp(theirs['start'])) - 1]:%Y-%m-%d}"
        assert row["Trough"] == theirs["valley"]
        assert row["Recovered"] == f"{dates[dates.get_loc(pd.Timestamp(theirs['end'])) + 1]:%Y-%m-%d}"

    risk = dict(zip(titled(reply, "Capture").columns, next(r for r in titled(reply, "Capture").rows if r[0] == "SPY70 IJR20 SMH10")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert risk["CVaR 95% (daily)"] == f"{qs.stats.cvar(daily, method='historical') * 100:.2f}%"
    # Capture, which quantstats lacks: monthly returns by calendar month, geometric averages annualised.
    months = pd.DataFrame({"p": value, "b": spy}).resample("ME").last()
    months = months.pct_change().fillna(months.iloc[0] / pd.Series({"p": value.iloc[0], "b": spy.iloc[0]}) - 1)

    def annual(r: pd.Series) -> float:
        return float(np.prod(1 + r) ** (12 / len(r)) - 1)

    up, down = months[months["b"] > 0], months[months["b"] < 0]
    assert risk["Up capture"] == f"{annual(up['p']) / annual(up['b']):.2f}"
    assert risk["Down capture"] == f"{annual(down['p']) / annual(down['b']):.2f}"

    # Rolling odds: every 1-, 3- and 5-year window, from the last close on or before (end - N years).
    odds = titled(reply, "Rolling windows beating SPY")
    row = dict(zip(odds.columns, next(r for r in odds.rows if r[0] == "SPY70 IJR20 SMH10")))
    for years in (1, 3, 5):
        ends = [d for d in dates if d - pd.DateOffset(years=years) >= dates[0]]
        starts = [dates[dates <= d - pd.DateOffset(years=years)][-1] for d in ends]
        won = [(value[e] / value[s]) ** (1 / years) - (spy[e] / spy[s]) ** (1 / years) > 1e-9
               for s, e in zip(starts, ends)]
        assert row[f"Won {years}y"] == f"{np.mean(won) * 100:.0f}%"


def test_the_chart_ends_with_a_heatmap_of_the_first_portfolios_monthly_returns(services: Services,
                                                                               prices_dir: Path) -> None:
    import io

    from PIL import Image

    from analysis.charts import DPI, FIGSIZE_IN
    from analysis.monthly_chart import monthly_grid
    from analysis.tearsheet import monthly_returns

    reply = router.run(f"/backtest SPY 70 IJR 20 SMH 10 {START}..{END}", services)
    # The three panels (FIGSIZE_IN at DPI), then the heatmap below them.
    assert Image.open(io.BytesIO(reply.chart.png)).height > FIGSIZE_IN[1] * DPI + 300
    assert "heatmap of SPY70 IJR20 SMH10's monthly returns" in reply.chart.alt_text
    value = bt_value(run_bt(frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END],
                            bt.algos.RunQuarterly(run_on_end_of_period=True), bt.algos.WeighSpecified(**WEIGHTS)))
    grid = monthly_grid(monthly_returns(value))
    month_end = value.resample("ME").last()
    assert abs(grid.loc[2020, 3] - (month_end["2020-03"].iloc[0] / month_end["2020-02"].iloc[0] - 1)) < 1e-12
    assert grid.loc[2015].isna().sum() == 9 and grid.shape == (11, 12)  # Oct 2015 is partial; Nov, Dec follow
