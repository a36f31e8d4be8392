"""Portfolio backtests: what a mix of holdings, rebalanced on a schedule or switched by a signal, would have done.

Conventions (those of Portfolio Visualizer and of ``bt`` with fractional positions):

* Prices are daily ``Adj Close`` (dividends reinvested: the adjusted price
  folds them in), aligned on common dates with no NaN.
* The portfolio starts with value 1 in cash at the **close of the first date**
  and buys its target weights at that close; the value on the first date is
  that 1, before the purchase (so a cost of the purchase falls in the first
  day's return, as in ``bt``'s series from its day-before row).  No fees,
  taxes, cash drag or slippage unless asked for.
* Between trades the number of units of each holding is constant, so weights
  **drift** with prices.  On a trade date the portfolio is sold and bought at
  that date's close back to the target weights; the value at that close is
  the same before and after the trade, less its costs.
* Scheduled rebalancing trades on the **last trading day** of each month,
  quarter or year present in the data, never on the window's last date
  (nothing is held after it).
* A **tactical** portfolio holds one leg while a signal is on and another
  while it is off.  The signal of day ``t`` is computed from closes up to
  ``t`` and traded at the close of ``t + 1`` (the next trading day), so no
  decision uses a price it could not have seen.
* **Turnover** of a trade is the one-way fraction of the portfolio traded,
  ``sum_i |w_after,i - w_drifted,i| / 2`` (without costs ``w_after`` is the
  target); the opening purchase is not counted.
* **Contribution** of a holding is its profit in units of the starting value:
  ``sum over holding periods of V_start * w_i * (P_i,end / P_i,start - 1)``.
  Contributions add up exactly to the total return (less the costs, when paid).

* **Costs** (``cost``, a fraction of the value traded: 10bp is 0.001) are
  ``bt``'s commissions on the value traded (``abs(q * p) * cost``), paid by
  each holding on its own trade, on every trade including the opening
  purchase.  A trade with value ``B`` to invest (the value before it plus any
  contribution) orders each holding ``w_i B - h_i``; a sale raises its order in
  full (it sells ``|order| / (1 - cost)``), a purchase spends its order in full
  (it buys ``order / (1 + cost)``), so the trade uses exactly the cash there is
  and leaves each holding short of its target by the cost it paid (the weights
  after a trade are a little off target, and the next drift starts from them).
  A holding whose target is 0 (a tactical switch) is sold in full and raises
  its value less its cost; the purchases then shrink in proportion to spend
  only that (``bt`` would buy as much as if the sale paid nothing, and carry
  the difference as negative cash).  With these rules the daily values equal
  ``bt``'s to a few 1e-15 of the value (SPY 70 IJR 20 SMH 10, 2015-2025, weekly
  to yearly, 10 to 200bp, with contributions).
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
after the trade at ``d_k`` and ``w_k`` the weights that trade left.
``L_k = (L_{k-1} G_k + A_k) keep_k`` (``G_k`` the growth of period ``k``, ``A_k``
the contribution, ``keep_k`` the share the costs leave) is a linear recurrence
over the (few) trade dates, solved with a running product and sum; the weights
after each trade and ``keep_k``, which depend on the trade before, by a fixed
point over all trades at once that shrinks errors by about the factor ``cost``
each round.  Bands choose trade dates one trade at a time, each step vectorised
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
    ``costs``: trading costs paid on each trade date, the opening purchase's first, in units of the starting amount.
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
        scheduled = _outside_band(prices.to_numpy(dtype="float64"), w, scheduled, np.asarray(added), trading)
    trade_at = np.union1d(np.union1d([0], scheduled), added).astype(int)
    trade_dates = prices.index[trade_at]
    targets = pd.DataFrame(np.tile(w, (len(trade_at), 1)), index=trade_dates, columns=weights.index)
    flows = pd.Series(trading.add, index=prices.index[added]) if trading.add else None
    return simulate(prices, targets, trading.cost, flows)


def _outside_band(price: np.ndarray, w: np.ndarray, scheduled: np.ndarray, forced: np.ndarray,
                  trading: Trading) -> np.ndarray:
    """The scheduled dates (positions) on which some weight has drifted ``trading.band`` or more from ``w``.

    The drift at a later date depends only on the prices since the last trade and the weights that trade left
    (on target without costs, a little off with them): each step finds the next breach among all later
    scheduled dates at once, then makes that trade (``_traded``) to know the weights it leaves.  ``forced``
    dates (contributions, of ``trading.add`` each) trade whatever the drift.
    """
    chosen: list[int] = []
    last = 0
    after, level = w, 1.0 / (1.0 + trading.cost)  # the opening purchase
    while True:
        later = scheduled[scheduled > last]
        if later.size == 0:
            return np.asarray(chosen, dtype=int)
        held = after * price[later] / price[last]
        drift = np.abs(held / held.sum(axis=1, keepdims=True) - w).max(axis=1)
        # A tiny margin so a drift of exactly ``band`` (as typed) is not lost to rounding.
        breach = later[drift >= trading.band - 1e-12]
        next_forced = forced[forced > last]
        candidates = [*breach[:1], *next_forced[:1]]
        if not candidates:
            return np.asarray(chosen, dtype=int)
        day = int(min(candidates))
        added = trading.add if next_forced.size and day == next_forced[0] else 0.0
        if not added:
            chosen.append(day)
        drifted_value = level * after * price[day] / price[last]
        base = drifted_value.sum() + added
        holdings = _traded(drifted_value / base, w, trading.cost)
        after, level, last = holdings / holdings.sum(), base * holdings.sum(), day


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
    paying ``cost`` on the value of every purchase and sale (the opening purchase included) and adding
    ``flows`` (units of the starting amount, on trade dates after the first) at their dates' closes."""
    if targets.index[0] != prices.index[0]:
        raise ValueError("the first trade must be on the first date")
    if not 0 <= cost < 1:  # a sale of value v raises v (1 - cost): nothing is left at 100%
        raise ValueError(f"a trading cost is a fraction of the value traded, from 0 to below 1, not {cost:g}")
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

    moved = price[trade_at[1:]] / price[trade_at[:-1]]    # each holding's growth from one trade to the next
    after, level, base, drifted = _trade_levels(moved, target, added, cost)
    bought = after * level[:, None]                        # each holding's value just after each trade

    # Holding period of each date: the last trade strictly before it (the first date belongs to the first).
    period = np.maximum(np.searchsorted(trade_at, np.arange(len(price)), side="left") - 1, 0)
    held = bought[period] * (price / price[trade_at][period])
    # On a trade date the close is after the trade: costs paid, contribution in.
    held[trade_at[1:]] = bought[1:]
    value = held.sum(axis=1)
    weights = held / value[:, None]
    value[0] = 1.0  # the starting amount, before the opening purchase at that close
    traded = np.abs(after * (level / base)[:, None] - drifted).sum(axis=1)  # value traded, per unit of the base

    # Units of a fund worth 1 at the start: a contribution buys them at the close's value per unit before it.
    before_flow = base[1:] - added[1:]
    units = np.cumprod(np.concatenate(([1.0], 1.0 + added[1:] / before_flow)))
    owned = units[np.searchsorted(trade_at, np.arange(len(price)), side="right") - 1]

    # Profit per holding over each period: the value it ends with (before the next trade) minus its value after
    # the trade that opened the period.
    ends = np.append(trade_at[1:], len(price) - 1)
    end_held = (bought[period] * (price / price[trade_at][period]))[ends]
    profit = (end_held - bought).sum(axis=0)

    index = prices.index
    trades = targets.index[1:]
    return Simulation(
        value=pd.Series(value / owned, index=index),
        balance=pd.Series(value, index=index),
        flows=pd.Series(added[1:][added[1:] != 0], index=trades[added[1:] != 0]),
        weights=pd.DataFrame(weights, index=index, columns=targets.columns),
        turnover=pd.Series(traded[1:] / 2.0, index=trades),
        costs=pd.Series(cost * traded * base, index=targets.index),
        contribution=pd.Series(profit, index=targets.columns),
    )


def _trade_levels(moved: np.ndarray, target: np.ndarray, added: np.ndarray,
                  cost: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every trade, the opening purchase first: each holding's share of the value just after it (``u``), that
    value (``L``), the value it invests (``B``: the value before it plus its contribution; 1 for the opening
    purchase) and the holdings before it as fractions of ``B`` (``d``; none before the opening purchase).

    ``B_k = L_{k-1} G_k + A_k`` with ``G_k = sum_i u_{k-1,i} m_{k,i}`` (``m`` the growth since the last trade),
    ``d_k = L_{k-1} u_{k-1} m_k / B_k``, and the trade (``_traded``) turns ``d_k`` into holdings ``n_k`` worth
    ``keep_k = sum_i n_k,i`` of ``B_k``: ``L_k = B_k keep_k``, ``u_k = n_k / keep_k``.  With costs ``u_k`` is
    not quite the target (each holding pays its own), so each trade depends on the last.  Instead of a loop over
    trades: a fixed point over all of them at once, from ``u = target``, ``keep = 1``; each round shrinks the
    error by about the factor ``cost``, and without costs the first round is exact.
    """
    after, keep = target.copy(), np.ones(len(target))
    for _ in range(MAX_COST_ROUNDS):
        drifted_value = after[:-1] * moved                # per unit of the value after the previous trade
        growth = drifted_value.sum(axis=1)
        # L_k = a_k L_{k-1} + b_k with L_0 = keep_0: L_k = P_k (keep_0 + sum_j<=k b_j / P_j), P the running product.
        running = np.cumprod(growth * keep[1:])
        level = np.concatenate((keep[:1], running * (keep[0] + np.cumsum(added[1:] * keep[1:] / running))))
        base = np.concatenate(([1.0], level[:-1] * growth + added[1:]))
        drifted = np.vstack([np.zeros(target.shape[1]), drifted_value * (level[:-1] / base[1:])[:, None]])
        holdings = _traded(drifted, target, cost)
        updated_keep = holdings.sum(axis=1)
        updated_after = holdings / updated_keep[:, None]
        settled = max(np.abs(updated_after - after).max(), np.abs(updated_keep - keep).max()) <= COST_TOLERANCE
        after, keep = updated_after, updated_keep
        if settled:
            return after, level, base, drifted
    raise ValueError(f"trading costs of {cost} did not settle; is the cost below 100%?")


def _traded(held: np.ndarray, target: np.ndarray, cost: float) -> np.ndarray:
    """The holdings after a trade towards ``target`` (rows: trades), as fractions of the value invested, from
    ``held``, the holdings before it (fractions of that value; the rest is cash: new money).

    As ``bt`` with commissions on the value traded: each holding's order is its target share of the value invested
    less what it holds, and each pays its own cost; a sale raises its amount (selling a little more), a purchase
    spends its amount (buying a little less), so the holdings end short of target by what they paid.  A holding
    whose target is 0, or at most ``cost`` times what it holds (its grossed-up sale would be more than it holds,
    and leave it short), is sold in full and raises what it is worth less its cost, and the purchases shrink in
    proportion to spend only the cash there is (``bt`` would buy as if the cost were not paid, into debt).
    """
    order = target - held
    sold_out = (held > 0) & (target <= held * cost)
    sold = np.where(sold_out, -held, np.minimum(order, 0.0) / (1.0 - cost))
    raised = np.where(sold_out, held * (1.0 - cost), -np.minimum(order, 0.0))
    buys = np.maximum(order, 0.0)
    wanted = buys.sum(axis=-1, keepdims=True)
    cash = 1.0 - held.sum(axis=-1, keepdims=True) + raised.sum(axis=-1, keepdims=True)
    spend = np.divide(cash, wanted, out=np.ones_like(wanted), where=wanted > 0)
    return held + sold + buys * spend / (1.0 + cost)


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
