"""The /compare metric set: every figure for every ticker against one benchmark.

All figures are on dividend-adjusted closes over the same common window; see
``analysis.returns`` and ``analysis.risk`` for each formula and convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.drawdown import MaxDrawdown, max_drawdown
from analysis.returns import cagr, simple_returns, spans_a_year, total_return
from analysis.risk import (
    annual_volatility,
    beta,
    correlation,
    information_ratio,
    sharpe_ratio,
    sortino_ratio,
    tracking_error,
)

METRICS = (
    "total_return", "cagr", "volatility", "max_drawdown", "sharpe", "sortino",
    "beta", "correlation", "excess_return", "tracking_error", "information_ratio",
)


@dataclass(frozen=True)
class Comparison:
    """``table``: one row per ticker (benchmark last), one column per name in ``METRICS``."""

    table: pd.DataFrame
    drawdowns: dict[str, MaxDrawdown]
    benchmark: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def annualised(self) -> bool:
        """Whether the window is long enough to show CAGR and excess per year (``spans_a_year``);
        a shorter one is read on total returns only."""
        return spans_a_year(self.start, self.end)

    def excess_total(self) -> pd.Series:
        """Total return minus the benchmark's, per ticker (the gap for a window under a year)."""
        return self.table["total_return"] - self.table.at[self.benchmark, "total_return"]


def compare(prices: pd.DataFrame, benchmark: str, risk_free: float = 0.0) -> Comparison:
    """Compute ``METRICS`` for every column of ``prices`` (aligned Adj Close, no NaN) against ``benchmark``.

    ``excess_return`` is the annualised excess return, ``CAGR - CAGR_benchmark``;
    for the benchmark itself beta and correlation are 1 and the active figures 0/NaN.
    """
    returns = simple_returns(prices)
    bench_returns = returns[benchmark]
    growth = cagr(prices)
    drawdowns = {ticker: max_drawdown(prices[ticker]) for ticker in prices.columns}
    table = pd.DataFrame({
        "total_return": total_return(prices),
        "cagr": growth,
        "volatility": annual_volatility(returns),
        "max_drawdown": pd.Series({t: d.depth for t, d in drawdowns.items()}),
        "sharpe": sharpe_ratio(returns, risk_free),
        "sortino": sortino_ratio(returns, risk_free),
        "beta": beta(returns, bench_returns),
        "correlation": correlation(returns, bench_returns),
        "excess_return": growth - growth[benchmark],
        "tracking_error": tracking_error(returns, bench_returns),
        "information_ratio": information_ratio(returns, bench_returns),
    }, columns=list(METRICS))
    return Comparison(table=table, drawdowns=drawdowns, benchmark=benchmark,
                      start=prices.index[0], end=prices.index[-1])
