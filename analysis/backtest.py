"""Portfolio backtests: what a mix of holdings, rebalanced on a schedule or switched by a signal, would have done.

Conventions (those of Portfolio Visualizer and of ``bt`` with fractional positions):

* Prices are daily ``Adj Close`` (dividends reinvested: the adjusted price
  folds them in), aligned on common dates with no NaN.
* The portfolio starts with value 1 at the **close of the first date**, bought
  at its target weights.  No fees, taxes, cash drag or slippage.
* Between trades the number of units of each holding is constant, so weights
  **drift** with prices.  On a trade date the portfolio is sold and bought at
  that date's close back to the target weights; the value at that close is
  the same before and after the trade.
* Scheduled rebalancing trades on the **last trading day** of each month,
  quarter or year present in the data, never on the window's last date
  (nothing is held after it).
* A **tactical** portfolio holds one leg while a signal is on and another
  while it is off.  The signal of day ``t`` is computed from closes up to
  ``t`` and traded at the close of ``t + 1`` (the next trading day), so no
  decision uses a price it could not have seen.
* **Turnover** of a trade is the one-way fraction of the portfolio traded,
  ``sum_i |w_target,i - w_drifted,i| / 2``; the opening purchase is not counted.
* **Contribution** of a holding is its profit in units of the starting value:
  ``sum over holding periods of V_start * w_i * (P_i,end / P_i,start - 1)``.
  Contributions add up exactly to the total return.

* **Costs** (``cost``, a fraction of the value traded: 10bp is 0.001) are paid
  at each trade out of the whole portfolio, which is then exactly at its
  target weights: if ``V`` is the value before the trade, ``d_i`` the drifted
  weights and ``f`` the cost as a fraction of ``V``, the value after is
  ``V (1 - f)`` with ``f = cost * sum_i |w_i (1 - f) - d_i|``: every unit
  bought or sold pays ``cost``, and the trade is sized so the portfolio is on
  target after paying.  The opening purchase is free (the portfolio is taken as
  already held; what is measured is the cost of keeping it on target).  ``bt``
  charges each security its own commission instead, so its positions end a
  trade short of target by that commission; over ten years of quarterly trades
  at 10bp (SPY 70 IJR 20 SMH 10, 2015-2025) the two differ by at most 5e-6 of the value.
* **Contributions** are new money added at the close of a date and invested
  with the portfolio's rebalance on that date (a contribution date is always a
  trade date).  ``value`` is then the time-weighted growth of 1 (each
  contribution buys units at that close's value per unit) and ``balance`` the
  account's value, contributions included, in units of the starting amount.
* **Bands** (``band``, absolute drift in weight: 5 points is 0.05): a scheduled
  date trades only when some holding's drifted weight is ``band`` or more away
  from its target; checked at that date's close, before trading.

Everything is vectorised over dates: the value on day ``t`` is
``L_k * sum_i w_k,i * P_i,t / P_i,d_k`` where ``d_k`` is the last trade strictly
before ``t`` (the first date for the first period) and ``L_k`` the value just
after the trade at ``d_k``.  ``L_k = (L_{k-1} G_k + A_k) (1 - f_k)`` (``G_k`` the
growth of period ``k``, ``A_k`` the contribution) is a linear recurrence over
the (few) trade dates, solved with a running product and sum; the costs
``f_k``, which depend on the levels only through contributions, by a fixed
point over all trades at once that shrinks errors by the factor ``cost`` each
round.  Bands choose trade dates one trade at a time, each step vectorised
over the remaining scheduled dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Rebalance = Literal["weekly", "monthly", "quarterly", "yearly", "none"]
# pandas period codes of each schedule ("W": weeks Monday to Sunday); "none" buys once and holds.
PERIOD_CODES: dict[str, str] = {"weekly": "W", "monthly": "M", "quarterly": "Q", "yearly": "Y"}
TRADING_DAYS = 252
# The cost fixed point stops when no trade's cost moves by more than this fraction of its value.
COST_TOLERANCE = 1e-15
MAX_COST_ROUNDS = 100


@dataclass(frozen=True)
class Trading:
    """How a fixed mix is traded.

    ``cost``: fraction of the value traded paid on every trade (0.001 is 10bp).
    ``band``: a scheduled rebalance happens only when a weight has drifted this far (0.05 is 5 points); 0 always.
    ``add``: contribution on each date of ``add_schedule``, in units of the starting amount (0.1 is $1,000 on $10,000).
    """

    cost: float = 0.0
    band: float = 0.0
    add: float = 0.0
    add_schedule: Rebalance = "none"


NO_FRICTION = Trading()


@dataclass(frozen=True)
class Simulation:
    """A backtest's path.

    ``value``: time-weighted growth of 1 on every date (what every metric is computed on).
    ``balance``: the account's value in units of the starting amount, contributions included (``value`` without any).
    ``flows``: contribution on each date that had one, in units of the starting amount.
    ``weights``: each holding's share of the value at each close (after that day's trade, if any).
    ``turnover``: one-way fraction traded on each trade date (the opening purchase excluded).
    ``costs``: trading costs paid on each trade date, in units of the starting amount.
    ``contribution``: each holding's profit in units of the starting amount; with ``costs`` and ``flows``
    it adds up to the growth of the balance: ``sum(contribution) - sum(costs) = balance[-1] - 1 - sum(flows)``.
    """

    value: pd.Series
    balance: pd.Series
    flows: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    costs: pd.Series
    contribution: pd.Series

    @property
    def trades(self) -> int:
        """Trade dates after the opening purchase."""
        return int(len(self.turnover))


def rebalance_dates(dates: pd.DatetimeIndex, rebalance: Rebalance) -> pd.DatetimeIndex:
    """The last date of each week, month, quarter or year in ``dates``, except ``dates[-1]``; none for ``"none"``.

    A date is the last of its period when the next date in ``dates`` falls in a
    later period, so the schedule follows the trading days actually present.
    """
    if rebalance == "none":
        return dates[:0]
    periods = dates.to_period(PERIOD_CODES[rebalance])
    is_last = periods[:-1] != periods[1:]
    return dates[:-1][is_last]


def with_fees(prices: pd.DataFrame, expense_ratios: pd.Series) -> pd.DataFrame:
    """Prices net of an annual expense ratio per column (missing: none), taken daily as ``ratio / 252`` of the value.

    Day ``n`` of the frame (the first is day 0) is scaled by ``(1 - ratio / 252) ** n``.
    """
    ratios = expense_ratios.reindex(prices.columns).fillna(0.0).to_numpy(dtype="float64")
    days = np.arange(len(prices), dtype="float64")[:, None]
    return prices * (1.0 - ratios / TRADING_DAYS) ** days


def fixed_mix(prices: pd.DataFrame, weights: pd.Series, rebalance: Rebalance,
              trading: Trading = NO_FRICTION) -> Simulation:
    """A portfolio of ``weights`` (index: columns of ``prices``, summing to 1) rebalanced on a schedule."""
    prices = prices[weights.index]
    w = weights.to_numpy(dtype="float64")
    scheduled = prices.index.get_indexer(rebalance_dates(prices.index, rebalance))
    if not trading.add:
        added = scheduled[:0]
    else:  # the same dates as the schedule, or a schedule of their own (computed once)
        added = scheduled if trading.add_schedule == rebalance else \
            prices.index.get_indexer(rebalance_dates(prices.index, trading.add_schedule))
        added = added[added > 0]
    if trading.band > 0:
        scheduled = _outside_band(prices.to_numpy(dtype="float64"), w, scheduled, np.asarray(added), trading.band)
    trade_at = np.union1d(np.union1d([0], scheduled), added).astype(int)
    trade_dates = prices.index[trade_at]
    targets = pd.DataFrame(np.tile(w, (len(trade_at), 1)), index=trade_dates, columns=weights.index)
    flows = pd.Series(trading.add, index=prices.index[added]) if trading.add else None
    return simulate(prices, targets, trading.cost, flows)


def _outside_band(price: np.ndarray, w: np.ndarray, scheduled: np.ndarray, forced: np.ndarray,
                  band: float) -> np.ndarray:
    """The scheduled dates (positions) on which some weight has drifted ``band`` or more from ``w``.

    After every trade the portfolio is at ``w`` (costs and contributions leave it there), so
    the drift at a later date depends only on the prices since the last trade: each step finds
    the next breach among all later scheduled dates at once.  ``forced`` dates (contributions)
    trade whatever the drift.
    """
    chosen: list[int] = []
    last = 0
    while True:
        later = scheduled[scheduled > last]
        if later.size == 0:
            return np.asarray(chosen, dtype=int)
        held = w * price[later] / price[last]
        drift = np.abs(held / held.sum(axis=1, keepdims=True) - w).max(axis=1)
        # A tiny margin so a drift of exactly ``band`` (as typed) is not lost to rounding.
        breach = later[drift >= band - 1e-12]
        next_forced = forced[forced > last]
        candidates = [*breach[:1], *next_forced[:1]]
        if not candidates:
            return np.asarray(chosen, dtype=int)
        last = int(min(candidates))
        if not next_forced.size or last != next_forced[0]:
            chosen.append(last)


def switching(prices: pd.DataFrame, signal_on: pd.Series, on: str, off: str, cost: float = 0.0) -> Simulation:
    """Hold all in ``on`` while the signal is on, all in ``off`` while it is off.

    ``signal_on``: boolean per date of ``prices`` (and, for the opening
    position, the date before it), computed from closes up to that date.  The
    position held from the close of ``t`` on is the signal of the date before
    ``t``: a signal seen on day ``t`` is traded at the close of ``t + 1``.
    """
    held_on = signal_on.shift(1).reindex(prices.index)
    if held_on.isna().any():
        raise ValueError("the signal must be known from the day before the first date on")
    held_on = held_on.astype(bool)
    switches = held_on.ne(held_on.shift(1))
    # The first close buys; a switch at the last close would trade into a period that never comes.
    switches.iloc[0], switches.iloc[-1] = True, False
    chosen = held_on[switches].to_numpy()
    targets = pd.DataFrame({on: chosen.astype("float64"), off: (~chosen).astype("float64")},
                           index=held_on.index[switches])
    return simulate(prices[[on, off]], targets, cost)


def simulate(prices: pd.DataFrame, targets: pd.DataFrame, cost: float = 0.0,
             flows: pd.Series | None = None) -> Simulation:
    """Hold ``targets`` (rows: weights summing to 1, indexed by trade dates of ``prices``, the first being
    ``prices.index[0]``; columns: those of ``prices``) from each trade date's close to the next one's,
    paying ``cost`` on the value traded and adding ``flows`` (units of the starting amount, on trade dates
    after the first) at their dates' closes."""
    if targets.index[0] != prices.index[0]:
        raise ValueError("the first trade must be on the first date")
    price = prices[targets.columns].to_numpy(dtype="float64")
    target = targets.to_numpy(dtype="float64")
    trade_at = prices.index.get_indexer(targets.index)
    if (trade_at < 0).any():
        raise ValueError("every trade date must be a date of prices")
    added = np.zeros(len(trade_at))
    if flows is not None and len(flows):
        at = targets.index.get_indexer(flows.index)
        if (at <= 0).any():
            raise ValueError("contributions must fall on trade dates after the first")
        added[at] = flows.to_numpy(dtype="float64")

    # Holding period of each date: the last trade strictly before it (the first date belongs to the first).
    period = np.maximum(np.searchsorted(trade_at, np.arange(len(price)), side="left") - 1, 0)
    growth = price / price[trade_at][period]              # P_t / P_{d_k}, per holding
    sleeves = target[period] * growth                     # w_k * P_t / P_{d_k}: value per holding, per unit at d_k
    drifted_value = sleeves[trade_at[1:]]                 # per unit of value after the previous trade
    level, fraction, base = _trade_levels(drifted_value, target[1:], added[1:], cost)

    held = sleeves * level[period][:, None]
    # On a trade date the close is after the trade: on target, costs paid, contribution in.
    held[trade_at[1:]] = target[1:] * level[1:, None]
    value = held.sum(axis=1)
    after = held / value[:, None]
    drifted = drifted_value * level[:-1, None] / base[:, None]
    turnover = np.abs(target[1:] * (1.0 - fraction[:, None]) - drifted).sum(axis=1) / 2.0

    # Units of a fund worth 1 at the start: a contribution buys them at the close's value per unit before it.
    before_flow = level[:-1] * drifted_value.sum(axis=1)
    units = np.cumprod(np.concatenate(([1.0], 1.0 + added[1:] / before_flow)))
    owned = units[np.searchsorted(trade_at, np.arange(len(price)), side="right") - 1]

    # Profit per holding over each period: the value it ends with (before the next trade) minus its value after
    # the trade that opened the period.
    ends = np.append(trade_at[1:], len(price) - 1)
    end_held = (sleeves * level[period][:, None])[ends]
    profit = (end_held - level[:, None] * target).sum(axis=0)

    index = prices.index
    trades = targets.index[1:]
    return Simulation(
        value=pd.Series(value / owned, index=index),
        balance=pd.Series(value, index=index),
        flows=pd.Series(added[1:][added[1:] != 0], index=trades[added[1:] != 0]),
        weights=pd.DataFrame(after, index=index, columns=targets.columns),
        turnover=pd.Series(turnover, index=trades),
        costs=pd.Series(fraction * base, index=trades),
        contribution=pd.Series(profit, index=targets.columns),
    )


def _trade_levels(drifted_value: np.ndarray, target: np.ndarray, added: np.ndarray,
                  cost: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The value just after each trade (``L``, the first 1), each trade's cost as a fraction of the value before
    it (``f``) and that value with its contribution (``B``), for trades after the first.

    ``B_k = L_{k-1} G_k + A_k``, ``L_k = B_k (1 - f_k)``, ``f_k = cost * sum_i |w_k,i (1 - f_k) - d_k,i|`` where
    ``d_k = L_{k-1} * drifted_value_k / B_k`` are the weights held before the trade (short of 1 by the new money).
    """
    growth = drifted_value.sum(axis=1)
    fraction = np.zeros(len(target))
    for _ in range(MAX_COST_ROUNDS):
        keep = 1.0 - fraction
        # L_k = a_k L_{k-1} + b_k with L_0 = 1: L_k = P_k (1 + sum_j<=k b_j / P_j), P the running product of a.
        running = np.cumprod(growth * keep)
        level = np.concatenate(([1.0], running * (1.0 + np.cumsum(added * keep / running))))
        base = level[:-1] * growth + added
        drifted = drifted_value * (level[:-1] / base)[:, None]
        updated = cost * np.abs(target * keep[:, None] - drifted).sum(axis=1)
        if np.abs(updated - fraction).max(initial=0.0) <= COST_TOLERANCE:
            return level, fraction, base
        fraction = updated
    raise ValueError(f"trading costs of {cost} did not settle; is the cost below 100%?")


def annual_turnover(simulation: Simulation) -> float:
    """Average one-way turnover a year: total traded over the window's length in years of 365.25 days."""
    index = simulation.value.index
    years = (index[-1] - index[0]).days / 365.25
    return float(simulation.turnover.sum() / years)


def time_on(simulation: Simulation, holding: str) -> float:
    """Fraction of the holding periods (day to day returns) spent fully in ``holding``."""
    held = simulation.weights[holding].to_numpy()[:-1]
    return float((held > 0.5).mean())


def money_weighted_return(simulation: Simulation) -> float:
    """The annual internal rate of return of the account: the ``r`` at which the starting amount and every
    contribution, grown at ``r`` to the last date, add up to the final balance.

    ``1 * (1 + r) ** T + sum_j F_j * (1 + r) ** (T - t_j) = balance_T``, times in years of 365.25 days from
    the first date.  Found by bisection on ``-99.99%..+1000%`` a year (the left side grows with ``r``).
    """
    index = simulation.value.index
    dates = index[:1].append(simulation.flows.index)
    remaining = np.asarray((index[-1] - dates).days, dtype="float64") / 365.25
    amounts = np.concatenate(([1.0], simulation.flows.to_numpy(dtype="float64")))
    final = float(simulation.balance.iloc[-1])
    low, high = np.log1p(-0.9999), np.log1p(10.0)
    for _ in range(100):  # bisection rounds, halving the interval each time: far below 1e-12 at the end
        middle = (low + high) / 2.0
        grown = float((amounts * np.exp(middle * remaining)).sum())
        low, high = (middle, high) if grown < final else (low, middle)
    return float(np.expm1((low + high) / 2.0))
