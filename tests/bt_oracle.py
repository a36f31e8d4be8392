"""``bt`` 1.4 as the independent oracle /backtest is checked against, and the closes it is run on.

``bt`` is run with fractional positions (``integer_positions=False``), rebalancing on the last
trading day of each period (``run_on_end_of_period=True``), on the same closes as Tilt, with
commissions on the value traded when a cost is given (``commissions=lambda q, p: abs(q * p) * cost``);
its series starts at 100 on a dummy row the day before the first date.  Its starting capital stays at
its default, $1,000,000: bt sizes an order net of its commission by iterating until it is within 1e-8
dollars (``np.isclose``'s absolute tolerance), which on $1 of capital would be 1e-8 of the value.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import bt
import pandas as pd

from analysis.backtest import rebalance_dates
from tests.expected import closes

START, END = "2015-10-30", "2025-10-31"
WEIGHTS = {"SPY": 0.7, "IJR": 0.2, "SMH": 0.1}


def frame(prices_dir: Path, tickers: list[str]) -> pd.DataFrame:
    """Common closes read from the CSV text with the standard library, not with Tilt's reader."""
    columns = {t: pd.Series(closes(prices_dir, t)) for t in tickers}
    joined = pd.concat(columns, axis=1, join="inner").sort_index()
    joined.index = pd.DatetimeIndex(joined.index)
    return joined


def run_bt(prices: pd.DataFrame, first_algo: bt.core.Algo, weigh: bt.core.Algo,
           cost: float = 0.0) -> bt.backtest.Result:
    strategy = bt.Strategy("s", [first_algo, bt.algos.SelectAll(), weigh, bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bt's own deprecation warnings under pandas 3
        return bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False,
                                  commissions=lambda quantity, price: abs(quantity * price) * cost))


def bt_value(result: bt.backtest.Result) -> pd.Series:
    """bt's portfolio value as growth of 1 on each real date; on the first, the starting amount before the opening
    purchase at its close (bt's dummy row), as Tilt counts it, so the purchase's cost falls in the first day's
    return (bt's own first-date value is after it; without costs the two are the same)."""
    values = result.prices["s"] / 100.0
    return pd.concat([pd.Series(values.iloc[0], index=values.index[1:2]), values.iloc[2:]])


class AddCash(bt.core.Algo):
    """bt's way of adding money: ``adjust`` the strategy's capital (a flow, not a return) on given dates."""

    def __init__(self, dates: pd.DatetimeIndex, amount: float) -> None:
        super().__init__()
        self.dates, self.amount = set(dates), amount

    def __call__(self, target) -> bool:
        if target.now in self.dates:
            target.adjust(self.amount)
        return True


def bt_adding_quarterly(prices: pd.DataFrame, amount: float, cost: float = 0.0) -> pd.Series:
    """bt's account value, in dollars from $10,000, of ``WEIGHTS`` rebalanced quarterly with ``amount`` added at
    each quarter's last close (its own way: ``AddCash``, then the rebalance invests it), paying ``cost`` on the
    value traded.  Run on $1,000,000 (bt's default, see above) and scaled to $10,000."""
    scale = 100.0
    strategy = bt.Strategy("s", [AddCash(rebalance_dates(prices.index, "quarterly"), amount * scale),
                                 bt.algos.RunQuarterly(run_on_end_of_period=True), bt.algos.SelectAll(),
                                 bt.algos.WeighSpecified(**WEIGHTS), bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False,
                                    initial_capital=10_000.0 * scale,
                                    commissions=lambda quantity, price: abs(quantity * price) * cost))
    return result.backtests["s"].strategy.values / scale
