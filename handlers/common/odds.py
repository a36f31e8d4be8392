"""Tables shared by /compare and /backtest: the odds of beating the benchmark over rolling windows, and the
tear-sheet figures of a backtest (capture, daily CVaR, the worst drawdowns).  Formulas in ``analysis.rolling``
and ``analysis.tearsheet``."""

from __future__ import annotations

import pandas as pd

from analysis.rolling import rolling_odds
from analysis.tearsheet import capture, daily_cvar, worst_drawdowns
from handlers.common.format import percent, ratio
from handlers.common.reply import Table


def odds_table(values: pd.DataFrame, benchmark: str) -> tuple[Table, ...]:
    """Share of rolling 1-, 3- and 5-year windows each line beat ``benchmark`` (a tie is not a win); only the
    horizons the window is long enough for; no table when it is shorter than a year."""
    odds = rolling_odds(values, benchmark)
    if odds.empty:
        return ()
    rows = [(name, *((percent(v, 0), v) for v in odds.loc[name])) for name in odds.index]
    return (Table.of(("Line", *(f"Won {h}" for h in odds.columns)), rows,
                     title=f"Rolling windows beating {benchmark} (share of windows, one ending each day)"),)


def tearsheet_tables(values: pd.DataFrame, benchmark: str) -> tuple[Table, ...]:
    """Up and down capture and daily CVaR 95% per line; the five worst drawdowns of each line but the benchmark."""
    cvar = daily_cvar(values)
    lines = [c for c in values.columns if c != benchmark]
    captured = {name: capture(values[name], values[benchmark]) for name in lines}
    risk = [(name, *((ratio(c.up), c.up), (ratio(c.down), c.down)), (percent(cvar[name], 2), cvar[name]))
            for name, c in captured.items()]
    risk.append((benchmark, ("—", None), ("—", None), (percent(cvar[benchmark], 2), cvar[benchmark])))
    drawdowns = [(name, (percent(d.depth), d.depth), f"{d.peak:%Y-%m-%d}", f"{d.trough:%Y-%m-%d}",
                  f"{d.recovery:%Y-%m-%d}" if d.recovery is not None else "not yet", (f"{d.days:,}", d.days))
                 for name in lines for d in worst_drawdowns(values[name])]
    return (Table.of(("Line", "Up capture", "Down capture", "CVaR 95% (daily)"), risk,
                     title=f"Capture vs {benchmark} (monthly) and expected daily loss on the worst 5% of days"),
            Table.of(("Line", "Depth", "Peak", "Trough", "Recovered", "Days"), drawdowns,
                     title="Five worst drawdowns (peak → trough → recovery, calendar days)"))
