"""A deterministic synthetic market for offline first runs and demos.

Prices are geometric random walks on weekdays from 2000-01-03 to the last
weekday on or before today, seeded by the ticker name, so every run (and every
machine) sees the same series.  Each ticker gets a drift and volatility that
loosely resemble its real asset class, and shares a common market factor so
correlations and betas look plausible.  These are *not* real prices: every
reply and chart built on them says so.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import pandas as pd

from errors import UnknownTicker
from market.provider import Fundamentals, normalise_bars

FIRST_DAY = dt.date(2000, 1, 3)

# ticker: (annual drift, annual volatility, beta to the common market factor, trailing P/E, forward P/E)
UNIVERSE: dict[str, tuple[float, float, float, float | None, float | None]] = {
    "SPY": (0.08, 0.18, 1.00, 24.2, 22.0),
    "IVV": (0.08, 0.18, 1.00, 24.2, 22.0),
    "VOO": (0.08, 0.18, 1.00, 24.2, 22.0),
    "QQQ": (0.11, 0.24, 1.15, 33.0, 28.5),
    "DIA": (0.07, 0.17, 0.95, 22.0, 20.0),
    "IWM": (0.06, 0.23, 1.15, 34.3, 26.0),
    "IJR": (0.07, 0.22, 1.10, 15.9, 14.5),
    "VB": (0.07, 0.21, 1.10, 19.0, 17.0),
    "MDY": (0.07, 0.20, 1.05, 19.5, 17.5),
    "SMH": (0.14, 0.33, 1.40, 38.0, 27.0),
    "SOXX": (0.13, 0.33, 1.40, 36.0, 26.0),
    "XSD": (0.10, 0.35, 1.40, 40.0, 30.0),
    "XLK": (0.11, 0.24, 1.20, 36.0, 29.0),
    "XLF": (0.06, 0.24, 1.10, 17.0, 15.0),
    "XLE": (0.05, 0.30, 0.90, 14.0, 13.0),
    "XLV": (0.07, 0.16, 0.75, 21.0, 18.0),
    "XLU": (0.05, 0.17, 0.50, 20.0, 18.0),
    "TLT": (0.03, 0.14, -0.20, None, None),
    "GLD": (0.06, 0.16, 0.05, None, None),
}

MARKET_VOLATILITY = 0.16
TRADING_DAYS = 252


class DemoProvider:
    """Synthetic bars and fundamentals for the tickers in ``UNIVERSE``."""

    name = "demo data, not real prices"
    key = "demo"
    is_demo = True
    bills = ""  # no synthetic T-bills: a made-up rate would look like a real one

    def __init__(self, today: dt.date | None = None) -> None:
        self._dates = pd.bdate_range(FIRST_DAY, today or dt.date.today(), name="Date")
        self._market = _shocks("market", len(self._dates)) * MARKET_VOLATILITY / np.sqrt(TRADING_DAYS)

    def bars(self, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
        self._check(tickers)
        window = slice(pd.Timestamp(start), pd.Timestamp(end))
        return {t: self._series(t).loc[window] for t in tickers}

    def fundamentals(self, tickers: list[str]) -> dict[str, Fundamentals]:
        self._check(tickers)
        as_of = self._dates[-1].date()
        return {
            t: Fundamentals(ticker=t, name=f"{t} (demo)", quote_type="ETF", currency="USD",
                            trailing_pe=UNIVERSE[t][3], forward_pe=UNIVERSE[t][4], as_of=as_of, source=self.name)
            for t in tickers
        }

    def _check(self, tickers: list[str]) -> None:
        unknown = [t for t in tickers if t not in UNIVERSE]
        if unknown:
            raise UnknownTicker(unknown, source=f"the demo market (it knows {', '.join(UNIVERSE)})")

    def _series(self, ticker: str) -> pd.DataFrame:
        drift, volatility, beta, _, _ = UNIVERSE[ticker]
        daily_vol = volatility / np.sqrt(TRADING_DAYS)
        market_part = beta * self._market
        # Idiosyncratic noise tops the market factor up to the ticker's total volatility.
        own_vol = np.sqrt(max(daily_vol**2 - (beta * MARKET_VOLATILITY) ** 2 / TRADING_DAYS, 1e-10))
        log_returns = drift / TRADING_DAYS - daily_vol**2 / 2 + market_part + own_vol * _shocks(ticker, len(self._dates))
        close = 100.0 * np.exp(np.cumsum(log_returns))
        return normalise_bars(pd.DataFrame({"Close": close, "Adj Close": close}, index=self._dates))


def _shocks(seed_name: str, size: int) -> np.ndarray:
    """Standard normal draws seeded by a stable hash of ``seed_name`` (Python's ``hash`` is salted)."""
    return np.random.default_rng(zlib.crc32(seed_name.encode())).standard_normal(size)
