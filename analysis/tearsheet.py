"""Tear-sheet statistics of a portfolio against a benchmark: up and down capture, the worst drawdowns, daily CVaR.

Conventions (returns are daily simple returns of dividend-adjusted values; see ``analysis.returns``):

* **Capture** (Morningstar's definition, on calendar-month returns, the first month from the window's first
  close): over the months the benchmark rose, the portfolio's geometric average monthly return annualised,
  ``prod(1 + r_p) ** (12 / n) - 1``, over the benchmark's over the same months; down capture the same over the
  months it fell (a month of exactly 0 is in neither).  Above 1 up and below 1 down is what a tilt wants.
  quantstats has no capture ratio.
* **Drawdowns**: an episode runs from a **peak** (the last close at the running high) to the **recovery** (the
  first later close at or above it; none while still under water), its **trough** the lowest close between;
  **length** is calendar days from peak to recovery (or to the last date).  quantstats' ``drawdown_details``
  dates the same episodes from the first close under water (the day after our peak) to the last one (the day
  before our recovery), and counts ``end - start + 1`` days; the depths are the same.
* **CVaR 95%** (expected shortfall, historical): the mean of the daily returns at or below their 5th percentile
  (linear interpolation between closes, as pandas and quantstats' ``cvar(method="historical")``); negative
  is a loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.drawdown import drawdown_series

CVAR_CONFIDENCE = 0.95
WORST_DRAWDOWNS = 5


@dataclass(frozen=True)
class Capture:
    up: float
    down: float


@dataclass(frozen=True)
class Drawdown:
    depth: float
    peak: pd.Timestamp
    trough: pd.Timestamp
    recovery: pd.Timestamp | None
    days: int


def monthly_returns(values: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Each calendar month's return, last close of the month over the last close before it (the window's first
    close for the first month, which is partial unless the window starts on a month's last close)."""
    month_ends = values.groupby(values.index.to_period("M")).last()
    previous = month_ends.shift(1)
    previous.iloc[0] = values.iloc[0]
    returns = month_ends / previous - 1.0
    # A first "month" that is only the window's first close has no return.
    return returns.iloc[1:] if (values.index.to_period("M") == values.index[0].to_period("M")).sum() == 1 \
        else returns


def capture(portfolio: pd.Series, benchmark: pd.Series) -> Capture:
    """Up and down capture of ``portfolio`` against ``benchmark`` (values on the same dates)."""
    months = monthly_returns(pd.DataFrame({"p": portfolio, "b": benchmark}))

    def ratio(chosen: pd.Series) -> float:
        picked = months[chosen]
        if picked.empty:
            return float("nan")
        annual = (1.0 + picked).prod() ** (12.0 / len(picked)) - 1.0
        return float(annual["p"] / annual["b"])

    return Capture(up=ratio(months["b"] > 0), down=ratio(months["b"] < 0))


def worst_drawdowns(values: pd.Series, count: int = WORST_DRAWDOWNS) -> list[Drawdown]:
    """The ``count`` deepest drawdown episodes, deepest first."""
    underwater = drawdown_series(values)
    episode = (underwater == 0).cumsum()  # a new episode starts at every close at the running high
    frame = pd.DataFrame({"depth": underwater.to_numpy(), "episode": episode.to_numpy(), "date": values.index})
    grouped = frame.groupby("episode")
    summary = pd.DataFrame({
        "depth": grouped["depth"].min(),
        "peak": grouped["date"].first(),
        "trough": frame.loc[grouped["depth"].idxmin(), "date"].to_numpy(),
    })
    # An episode recovers on the first close of the next one (the next close at the running high).
    summary["recovery"] = summary["peak"].shift(-1)
    summary = summary[summary["depth"] < 0].nsmallest(count, "depth")
    last = values.index[-1]
    return [Drawdown(depth=float(r.depth), peak=r.peak, trough=r.trough,
                     recovery=None if pd.isna(r.recovery) else r.recovery,
                     days=int(((last if pd.isna(r.recovery) else r.recovery) - r.peak).days))
            for r in summary.itertuples()]


def daily_cvar(values: pd.DataFrame, confidence: float = CVAR_CONFIDENCE) -> pd.Series:
    """Historical expected shortfall of daily returns per column: the mean return at or below the
    ``1 - confidence`` quantile."""
    returns = values.pct_change().iloc[1:]
    cutoff = returns.quantile(1.0 - confidence)
    return returns.where(returns.le(cutoff, axis=1)).mean()


