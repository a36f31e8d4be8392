"""How a backtest is traded, from the words of the request (``Execution``) to the engine's ``Trading``, and the
notes that say what it cost: trading costs, expense ratios, contributions and the money-weighted return.

Shared by /backtest and /tilt, so a /tilt row is the /backtest of the same weights traded the same way.
"""

from __future__ import annotations

import pandas as pd

from analysis.backtest import Rebalance, Simulation, Trading, money_weighted_return, with_fees
from analysis.returns import spans_a_year, years_between
from handlers.common.backtest_request import STARTING_AMOUNT, Execution
from handlers.common.format import money, percent
from handlers.common.portfolios import Mix
from handlers.common.services import Services


def trading(execution: Execution) -> Trading:
    """The engine's ``Trading`` for the request's words (basis points, points and dollars to fractions)."""
    return Trading(cost=execution.cost_bp / 10_000, band=execution.band / 100,
                   add=execution.add / STARTING_AMOUNT, add_schedule=execution.add_schedule)


def benchmark_value(prices: pd.DataFrame, benchmark: Mix, rebalance: Rebalance, execution: Execution) -> pd.Series:
    """The benchmark's growth of 1 (a ticker, or a blend rebalanced on the portfolios' schedule), bought at the first
    close and traded paying the portfolios' trading cost, as they would hold it: a portfolio of the benchmark alone
    is the benchmark.  No expense ratios (their drag is what ``fees`` measures against it), bands or contributions."""
    return benchmark.simulate(prices, rebalance, {}, Trading(cost=execution.cost_bp / 10_000)).value


def net_of_fees(services: Services, prices: pd.DataFrame, held: list[str],
                execution: Execution) -> tuple[pd.DataFrame, list[str]]:
    """``prices`` with each held ticker's expense ratio taken daily when ``fees`` was asked for, and the note
    naming the ratios used and the tickers without one (their prices are left as they are)."""
    if not execution.fees:
        return prices, []
    facts = services.market.fundamentals(held)
    ratios = pd.Series({t: facts[t].expense_ratio for t in held if t in facts and facts[t].expense_ratio is not None},
                       dtype="float64")
    known = ", ".join(f"{t} {percent(r, 2)}" for t, r in ratios.items())
    unknown = [t for t in held if t not in ratios.index]
    missing = f"no expense ratio known for {', '.join(unknown)}, so no fee is taken" if unknown else ""
    if ratios.empty:
        return prices, [f"Fees: {missing}."]
    note = (f"Fees: expense ratios taken daily, {known} a year" + (f"; {missing}" if missing else "")
            + ". Adj Close is already net of each fund's own expenses, so this counts them a second time: "
              "read it as the drag of those fees.")
    return with_fees(prices, ratios), [note]


def execution_notes(simulations: dict[str, Simulation], execution: Execution) -> list[str]:
    """What trading cost each portfolio, and where money was added, its final value and both returns."""
    notes = []
    if execution.cost_bp:
        paid = "; ".join(f"{name} {percent(s.costs.sum(), 2)} of the start over {s.trades} trades and the opening "
                         f"purchase" for name, s in simulations.items())
        notes.append(f"Trading costs {execution.cost_bp:g}bp of the value traded on every purchase and sale, the "
                     f"opening purchase included, each holding paying its own (as bt's commissions); the benchmark "
                     f"pays them too: {paid}.")
    if execution.band:
        notes.append(f"Band {execution.band:g} points: a scheduled rebalance trades only when some weight is "
                     f"{execution.band:g} points or more off its target.")
    if execution.add:
        for name, s in simulations.items():
            if s.flows.empty:  # a tactical portfolio, or a window with no date to add on
                notes.append(f"{name}: no money added (contributions go to fixed mixes, on the last trading day "
                             f"of each {execution.add_schedule[:-2]}).")
                continue
            put_in = STARTING_AMOUNT * (1 + s.flows.sum())
            final = STARTING_AMOUNT * s.balance.iloc[-1]
            start, end = s.value.index[0], s.value.index[-1]
            years = years_between(start, end)
            money_weighted, time_weighted = money_weighted_return(s), s.value.iloc[-1] ** (1 / years) - 1
            if spans_a_year(start, end):
                returns = f"{percent(money_weighted)} a year, time-weighted {percent(time_weighted)}"
            else:  # under a year, over the window: never annualised
                returns = (f"{percent((1 + money_weighted) ** years - 1)} over the window, time-weighted "
                           f"{percent(s.value.iloc[-1] - 1)}")
            notes.append(
                f"{name}: {money(STARTING_AMOUNT)} plus {money(execution.add)} {execution.add_schedule} "
                f"({len(s.flows)} times, {money(put_in)} in all) grew to {money(final)}; money-weighted return "
                f"{returns}.")
    return notes
