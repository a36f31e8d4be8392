"""Named signals a team can discuss and vote on (``/signal NAME``).

Each signal is a price ratio ``R = P_a / P_b`` (daily ``Adj Close``) read as
in ``analysis.rotation.size_regime``: **leading** while ``R`` closes above its
own 200-session simple moving average, **lagging** otherwise.  ``since`` is the
first session of the current run (the run is counted within the data given,
so a run longer than the window reads "since" the window's first measurable
session).  Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.rotation import TREND_DAYS


@dataclass(frozen=True)
class Spec:
    """A ratio signal: ``a`` against ``b``, and how to name ``a`` in a sentence."""

    a: str
    b: str
    label: str


SIGNALS: dict[str, Spec] = {
    "smallcaps": Spec("IWM", "SPY", "Small caps (IWM)"),
    "semis": Spec("SMH", "SPY", "Semiconductors (SMH)"),
}


@dataclass(frozen=True)
class Reading:
    """Where a named signal stands on its last session."""

    name: str
    spec: Spec
    state: str  # "leading" or "lagging"
    since: dt.date
    sessions: int
    vs_average: float
    as_of: dt.date


def read(name: str, closes: pd.DataFrame) -> Reading:
    """The signal ``name`` on ``closes`` (columns include its two tickers); ``ValueError`` if too short."""
    spec = SIGNALS[name]
    ratio, average = _ratio_and_average(closes, spec)
    above = _above(ratio, average).dropna()
    if above.empty:
        raise ValueError(f"{spec.a}/{spec.b} needs {TREND_DAYS} common sessions")
    flags = above.to_numpy(dtype=bool)
    leading = bool(flags[-1])
    changes = np.flatnonzero(flags != leading)
    start = int(changes[-1] + 1) if changes.size else 0
    return Reading(name=name, spec=spec, state="leading" if leading else "lagging",
                   since=above.index[start].date(), sessions=int(flags.size - start),
                   vs_average=float(ratio.iloc[-1] / average.iloc[-1] - 1.0), as_of=ratio.index[-1].date())


def leading_sessions(closes: pd.DataFrame, spec: Spec) -> pd.Series:
    """Per common session of ``spec.a`` and ``spec.b``: whether ``a`` leads (``R`` above its 200-session average),
    1.0 or 0.0.

    Each session's reading uses closes up to that session only; NaN until the
    average has ``TREND_DAYS`` sessions.  Pure: the backtests trade on it.
    """
    return _above(*_ratio_and_average(closes, spec))


def _ratio_and_average(closes: pd.DataFrame, spec: Spec) -> tuple[pd.Series, pd.Series]:
    """``R = P_a / P_b`` on the common sessions, and its trailing ``TREND_DAYS``-session simple average."""
    ratio = (closes[spec.a] / closes[spec.b]).dropna()
    return ratio, ratio.rolling(TREND_DAYS, min_periods=TREND_DAYS).mean()


def _above(ratio: pd.Series, average: pd.Series) -> pd.Series:
    return (ratio > average).astype("float64").where(average.notna())
