"""Drawdowns of a price (or wealth) series.

Conventions: drawdown on day t is ``W_t / max(W_0..W_t) - 1`` where ``W`` is the
dividend-adjusted price (``Adj Close``), so dividends are reinvested.  The first
day of the window is the starting peak: a loss on day one counts, and no
phantom baseline is invented before the window (quantstats #438, #541).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def drawdown_series(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Drawdown on every day, ``P_t / cummax(P)_t - 1`` (0 at a new high, negative below it)."""
    return prices / prices.cummax() - 1.0


@dataclass(frozen=True)
class MaxDrawdown:
    """The deepest peak-to-trough fall; ``recovery`` is ``None`` while still under water."""

    depth: float
    peak: pd.Timestamp
    trough: pd.Timestamp
    recovery: pd.Timestamp | None


def max_drawdown(prices: pd.Series) -> MaxDrawdown:
    """Maximum drawdown ``min_t(P_t / cummax(P)_t) - 1`` with its dates.

    ``peak`` is the last all-time high before the trough, ``trough`` the day of
    the deepest drawdown, ``recovery`` the first day after the trough that
    closes at or above the peak's price.
    """
    values = prices.to_numpy(dtype="float64")
    running_max = np.maximum.accumulate(values)
    drawdowns = values / running_max - 1.0
    trough_at = int(np.argmin(drawdowns))
    peak_at = int(np.argmax(values[: trough_at + 1]))
    recovered = np.flatnonzero(values[trough_at:] >= values[peak_at])
    recovery_at = trough_at + int(recovered[0]) if drawdowns[trough_at] < 0 and recovered.size else None
    index = prices.index
    return MaxDrawdown(
        depth=float(drawdowns[trough_at]),
        peak=index[peak_at],
        trough=index[trough_at],
        recovery=index[recovery_at] if recovery_at is not None else None,
    )
