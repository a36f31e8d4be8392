"""The risk-free rate Sharpe and Sortino are measured against: from T-bill data over the window itself, unless
``TILT_RISK_FREE`` sets one rate for everything.

The source names its T-bill series (``Provider.bills``):

* ``^IRX`` (Yahoo; the 13-week T-bill yield, in percent): the average yield over the window, ``mean(^IRX) / 100``.
* ``BIL`` (the CSV folder; a 1-3 month T-bill ETF): its annualised total return over the window,
  ``(P_end / P_start) ** (365.25 / days) - 1`` on Adj Close, i.e. after the fund's fee.
* Where the T-bill data covers only part of the window, the part it covers; with none at all, 0, and the
  footer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.windows import Window
from errors import DataUnavailable, UnknownTicker
from handlers.common.format import percent
from handlers.common.services import Services

YIELD_INDEX = "^IRX"


@dataclass(frozen=True)
class RiskFree:
    """An annual rate and where it came from, as the footer says it."""

    rate: float
    said: str


def risk_free(services: Services, window: Window) -> RiskFree:
    """The annual risk-free rate over ``window`` (see the module docstring)."""
    if services.risk_free is not None:
        return RiskFree(services.risk_free, f"risk-free {percent(services.risk_free)} (TILT_RISK_FREE, annual)")
    ticker = services.market.bills
    closes = pd.Series(dtype="float64")
    if ticker:
        try:
            closes = services.market.bars([ticker], window.start.date(), window.end.date())[ticker]["Adj Close"].dropna()
        except (UnknownTicker, DataUnavailable):
            pass  # no T-bill data is no reason to refuse the figures: the footer says the rate is 0
    if len(closes) < 2:
        return RiskFree(0.0, "risk-free 0% (no T-bill data for this window)")
    found = _average_yield(closes) if ticker == YIELD_INDEX else _fund_return(closes)
    cover = "" if closes.index[0] <= window.start + pd.Timedelta(days=7) else f" from {closes.index[0]:%Y-%m-%d}"
    return RiskFree(found, f"risk-free {percent(found)} ({ticker} T-bills{cover}, annual)")


def _average_yield(closes: pd.Series) -> float:
    return float(closes.mean()) / 100.0


def _fund_return(closes: pd.Series) -> float:
    days = (closes.index[-1] - closes.index[0]).days
    return float((closes.iloc[-1] / closes.iloc[0]) ** (365.25 / days) - 1.0)
