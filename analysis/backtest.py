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

Everything is vectorised over dates: the value on day ``t`` is
``C_k * sum_i w_k,i * P_i,t / P_i,d_k`` where ``d_k`` is the last trade strictly
before ``t`` (the first date for the first period) and ``C_k`` the value at
``d_k``, itself a running product over the (few) trade dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Rebalance = Literal["monthly", "quarterly", "yearly", "none"]
# pandas period codes of each schedule; "none" buys once and holds.
PERIOD_CODES: dict[str, str] = {"monthly": "M", "quarterly": "Q", "yearly": "Y"}


@dataclass(frozen=True)
class Simulation:
    """A backtest's path.

    ``value``: portfolio value on every date, 1.0 at the first close.
    ``weights``: each holding's share of the value at each close (after that day's trade, if any).
    ``turnover``: one-way fraction traded on each trade date (the opening purchase excluded).
    ``contribution``: each holding's profit in units of the starting value; sums to the total return.
    """

    value: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    contribution: pd.Series

    @property
    def trades(self) -> int:
        """Trade dates after the opening purchase."""
        return int(len(self.turnover))


def rebalance_dates(dates: pd.DatetimeIndex, rebalance: Rebalance) -> pd.DatetimeIndex:
    """The last date of each month, quarter or year in ``dates``, except ``dates[-1]``; none for ``"none"``.

    A date is the last of its period when the next date in ``dates`` falls in a
    later period, so the schedule follows the trading days actually present.
    """
    if rebalance == "none":
        return dates[:0]
    periods = dates.to_period(PERIOD_CODES[rebalance])
    is_last = periods[:-1] != periods[1:]
    return dates[:-1][is_last]


def fixed_mix(prices: pd.DataFrame, weights: pd.Series, rebalance: Rebalance) -> Simulation:
    """A portfolio of ``weights`` (index: columns of ``prices``, summing to 1) rebalanced on a schedule."""
    trade_dates = prices.index[:1].append(rebalance_dates(prices.index, rebalance))
    targets = pd.DataFrame(np.tile(weights.to_numpy(dtype="float64"), (len(trade_dates), 1)),
                           index=trade_dates, columns=weights.index)
    return simulate(prices[weights.index], targets)


def switching(prices: pd.DataFrame, signal_on: pd.Series, on: str, off: str) -> Simulation:
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
    return simulate(prices[[on, off]], targets)


def simulate(prices: pd.DataFrame, targets: pd.DataFrame) -> Simulation:
    """Hold ``targets`` (rows: weights summing to 1, indexed by trade dates of ``prices``, the first being
    ``prices.index[0]``; columns: those of ``prices``) from each trade date's close to the next one's."""
    if targets.index[0] != prices.index[0]:
        raise ValueError("the first trade must be on the first date")
    price = prices[targets.columns].to_numpy(dtype="float64")
    target = targets.to_numpy(dtype="float64")
    trade_at = prices.index.get_indexer(targets.index)
    if (trade_at < 0).any():
        raise ValueError("every trade date must be a date of prices")
    # Holding period of each date: the last trade strictly before it (the first date belongs to the first).
    period = np.maximum(np.searchsorted(trade_at, np.arange(len(price)), side="left") - 1, 0)
    growth = price / price[trade_at][period]              # P_t / P_{d_k}, per holding
    sleeves = target[period] * growth                     # w_k * P_t / P_{d_k}: value per holding, per unit at d_k
    period_growth = sleeves.sum(axis=1)
    # Value at each trade date: the product of the growth of every earlier holding period.
    at_trade = np.cumprod(np.concatenate(([1.0], period_growth[trade_at[1:]])))
    held = sleeves * at_trade[period][:, None]
    value = held.sum(axis=1)

    after = held / value[:, None]
    after[trade_at[1:]] = target[1:]
    drifted = held[trade_at[1:]] / value[trade_at[1:], None]
    turnover = np.abs(target[1:] - drifted).sum(axis=1) / 2.0

    # Profit per holding over each period: the value it ends with minus the value it started with.
    ends = np.append(trade_at[1:], len(price) - 1)
    profit = (held[ends] - at_trade[:, None] * target).sum(axis=0)

    index = prices.index
    return Simulation(
        value=pd.Series(value, index=index),
        weights=pd.DataFrame(after, index=index, columns=targets.columns),
        turnover=pd.Series(turnover, index=targets.index[1:]),
        contribution=pd.Series(profit, index=targets.columns),
    )


def annual_turnover(simulation: Simulation) -> float:
    """Average one-way turnover a year: total traded over the window's length in years of 365.25 days."""
    index = simulation.value.index
    years = (index[-1] - index[0]).days / 365.25
    return float(simulation.turnover.sum() / years)


def time_on(simulation: Simulation, holding: str) -> float:
    """Fraction of the holding periods (day to day returns) spent fully in ``holding``."""
    held = simulation.weights[holding].to_numpy()[:-1]
    return float((held > 0.5).mean())
