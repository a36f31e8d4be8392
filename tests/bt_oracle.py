"""``bt`` 1.4 as the independent oracle /backtest is checked against, and the closes it is run on.

``bt`` is run with fractional positions and no commissions (``integer_positions=False``),
rebalancing on the last trading day of each period (``run_on_end_of_period=True``), on the
same closes as Tilt; its series starts at 100 on a dummy row the day before the first date.
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


def run_bt(prices: pd.DataFrame, first_algo: bt.core.Algo, weigh: bt.core.Algo) -> bt.backtest.Result:
    strategy = bt.Strategy("s", [first_algo, bt.algos.SelectAll(), weigh, bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bt's own deprecation warnings under pandas 3
        return bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False))


def bt_value(result: bt.backtest.Result) -> pd.Series:
    """bt's portfolio value as growth of 1 from the first real date (its dummy first row dropped)."""
    return result.prices["s"].iloc[1:] / 100.0


class AddCash(bt.core.Algo):
    """bt's way of adding money: ``adjust`` the strategy's capital (a flow, not a return) on given dates."""

    def __init__(self, dates: pd.DatetimeIndex, amount: float) -> None:
        super().__init__()
        self.dates, self.amount = set(dates), amount

    def __call__(self, target) -> bool:
        if target.now in self.dates:
            target.adjust(self.amount)
        return True


def bt_adding_quarterly(prices: pd.DataFrame, amount: float) -> pd.Series:
    """bt's account value, in dollars from $10,000, of ``WEIGHTS`` rebalanced quarterly with ``amount`` added at
    each quarter's last close (its own way: ``AddCash``, then the rebalance invests it)."""
    strategy = bt.Strategy("s", [AddCash(rebalance_dates(prices.index, "quarterly"), amount),
                                 bt.algos.RunQuarterly(run_on_end_of_period=True), bt.algos.SelectAll(),
                                 bt.algos.WeighSpecified(**WEIGHTS), bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False,
                                    initial_capital=10_000.0))
    return result.backtests["s"].strategy.values
