"""Risk and risk-adjusted measures on daily simple returns.

Conventions shared by every function here:

* Input is daily simple returns (``analysis.returns.simple_returns`` of
  ``Adj Close``, so dividends are reinvested): a Series, or a DataFrame with
  one column per ticker.  Benchmark returns must be aligned on the same dates.
* Annualisation factor: 252 trading days a year (``sqrt(252)`` for volatility).
* Standard deviations and covariances are sample statistics (``ddof=1``).
* The risk-free rate is an annual rate, turned into a daily one as
  ``(1 + rf) ** (1 / 252) - 1`` (the quantstats / ffn convention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS = 252


def daily_risk_free(annual_rate: float) -> float:
    """Daily rate equivalent to ``annual_rate`` compounded over 252 trading days."""
    return (1.0 + annual_rate) ** (1.0 / TRADING_DAYS) - 1.0


def annual_volatility(returns: pd.DataFrame | pd.Series) -> pd.Series | float:
    """Annualised volatility, ``std(r, ddof=1) * sqrt(252)``."""
    return returns.std(ddof=1) * np.sqrt(TRADING_DAYS)


def sharpe_ratio(returns: pd.DataFrame | pd.Series, risk_free: float) -> pd.Series | float:
    """Annualised Sharpe ratio, ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(252)``."""
    excess = returns - daily_risk_free(risk_free)
    return excess.mean() / excess.std(ddof=1) * np.sqrt(TRADING_DAYS)


def sortino_ratio(returns: pd.DataFrame | pd.Series, risk_free: float) -> pd.Series | float:
    """Annualised Sortino ratio, ``mean(x) / sqrt(sum(min(x, 0)^2) / N) * sqrt(252)``, ``x = r - rf_d``.

    The downside deviation divides by all ``N`` observations, not only the
    losing ones (Sortino & Price; quantstats, empyrical and ffn agree).
    """
    excess = returns - daily_risk_free(risk_free)
    downside = np.sqrt((excess.clip(upper=0.0) ** 2).mean())
    return excess.mean() / downside * np.sqrt(TRADING_DAYS)


def beta(returns: pd.DataFrame, benchmark: pd.Series) -> pd.Series:
    """Beta of each column against the benchmark, ``cov(r, b) / var(b)``."""
    centred = returns - returns.mean()
    covariance = centred.mul(benchmark - benchmark.mean(), axis=0).sum() / (len(benchmark) - 1)
    return covariance / benchmark.var(ddof=1)


def correlation(returns: pd.DataFrame, benchmark: pd.Series) -> pd.Series:
    """Pearson correlation of each column's daily returns with the benchmark's."""
    return returns.corrwith(benchmark)


def tracking_error(returns: pd.DataFrame, benchmark: pd.Series) -> pd.Series:
    """Annualised tracking error, ``std(r - b, ddof=1) * sqrt(252)``."""
    return annual_volatility(returns.sub(benchmark, axis=0))


def information_ratio(returns: pd.DataFrame, benchmark: pd.Series) -> pd.Series:
    """Annualised information ratio, ``mean(r - b) / std(r - b, ddof=1) * sqrt(252)``.

    quantstats and ffn report the same ratio without the ``sqrt(252)``; the
    annualised form is comparable with the Sharpe ratio next to it.
    """
    active = returns.sub(benchmark, axis=0)
    return active.mean() / active.std(ddof=1) * np.sqrt(TRADING_DAYS)
