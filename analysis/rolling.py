"""Rolling windows against a benchmark: how often a line beat it over every N-year stretch, and by how much.

Conventions:

* A window ends on every date of the series whose start (the last close on or
  before the end date minus N calendar years, as ``analysis.returns.rolling_return``)
  lies inside the series; windows overlap (one per trading day).
* The excess of a window is annualised: ``(1 + R_line) ** (1/N) - (1 + R_bench) ** (1/N)``,
  the difference of the two N-year growth rates (as /compare's excess return a year).
* A window is **won** when that excess is more than ``TIE`` (1e-9 a year): equal
  returns, up to floating-point noise, are a tie and not a win.  The share of
  windows won is wins over all windows.
"""

from __future__ import annotations

import pandas as pd

from analysis.returns import rolling_cagr

TIE = 1e-9
HORIZONS = (1, 3, 5)


def rolling_excess(values: pd.DataFrame, benchmark: str, years: int) -> pd.DataFrame:
    """Annualised excess over ``benchmark`` of every other column, one row per complete ``years``-year window."""
    growth = rolling_cagr(values, years)
    excess = growth.drop(columns=benchmark).sub(growth[benchmark], axis=0)
    return excess.dropna(how="all")


def win_share(excess: pd.DataFrame) -> pd.Series:
    """Share of windows with an excess above ``TIE`` per column (NaN when there is no window)."""
    if excess.empty:
        return pd.Series(float("nan"), index=excess.columns)
    return (excess > TIE).mean()


def rolling_odds(values: pd.DataFrame, benchmark: str, horizons: tuple[int, ...] = HORIZONS) -> pd.DataFrame:
    """Share of rolling windows won against ``benchmark``: one row per line, one column per horizon that has at
    least one complete window (a window shorter than the horizon has none, and its column is left out)."""
    shares = {f"{years}y": win_share(rolling_excess(values, benchmark, years)) for years in horizons}
    return pd.DataFrame({label: share for label, share in shares.items() if share.notna().any()})
