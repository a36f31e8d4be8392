"""The tear-sheet figures of ``analysis.tearsheet`` on small series built here, every expected value worked out
by hand from the numbers the series is built from (the real-price checks against quantstats and ``bt`` are in
test_backtest.py, where rounding to the reply's digits hides small slips).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.tearsheet import capture, daily_cvar, monthly_returns, worst_drawdowns

# Month-end closes from 2024-01-31 (a month's last trading day) to 2024-07-31, as monthly returns:
#                 Feb    Mar    Apr    May    Jun    Jul
PORTFOLIO = (0.08, -0.06, 0.03, 0.04, -0.02, 0.01)
BENCHMARK = (0.10, -0.10, 0.00, 0.05, -0.05, 0.02)  # April flat: neither an up nor a down month


def month_end_series(monthly: tuple[float, ...], start: float) -> pd.Series:
    """Daily closes from 2024-01-31 to 2024-07-31 whose month-end closes compound ``monthly`` from ``start``; the
    closes inside a month are 3% under its end, so a figure that read them would be off."""
    days = pd.bdate_range("2024-01-31", "2024-07-31")
    ends = pd.Series(start * np.cumprod((1.0, *(1.0 + r for r in monthly))),
                     index=pd.period_range("2024-01", "2024-07", freq="M"))
    level = ends.reindex(days.to_period("M")).to_numpy()
    last_of_month = pd.Series(days, index=days).groupby(days.to_period("M")).transform("max").to_numpy() == days
    return pd.Series(np.where(last_of_month, level, level * 0.97), index=days)


def test_monthly_returns_run_from_the_windows_first_close_and_skip_a_first_month_of_one_close() -> None:
    # A window starting mid-month: January's return runs from its first close (100), not its second (104).
    days = pd.DatetimeIndex(["2024-01-15", "2024-01-16", "2024-01-31", "2024-02-14", "2024-02-29", "2024-03-28"])
    values = pd.Series([100.0, 104.0, 110.0, 90.0, 99.0, 108.9], index=days)
    mid = monthly_returns(values)
    assert list(mid.index.astype(str)) == ["2024-01", "2024-02", "2024-03"]
    assert mid.to_numpy() == pytest.approx([0.10, -0.10, 0.10], rel=1e-12)

    # A window starting on January's last close: January is that one close, so no return; February is first.
    whole = monthly_returns(month_end_series(PORTFOLIO, 50.0))
    assert list(whole.index.astype(str)) == ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]
    assert whole.to_numpy() == pytest.approx(PORTFOLIO, rel=1e-12)


def test_capture_annualises_the_geometric_mean_of_the_up_and_the_down_months_apart() -> None:
    portfolio, benchmark = month_end_series(PORTFOLIO, 50.0), month_end_series(BENCHMARK, 400.0)

    def annual(months: list[int], returns: tuple[float, ...]) -> float:
        return math.prod(1.0 + returns[m] for m in months) ** (12.0 / len(months)) - 1.0

    up, down = [0, 3, 5], [1, 4]  # Feb, May, Jul rose; Mar, Jun fell; flat April is in neither
    result = capture(portfolio, benchmark)
    assert result.up == pytest.approx(annual(up, PORTFOLIO) / annual(up, BENCHMARK), rel=1e-12)
    assert result.down == pytest.approx(annual(down, PORTFOLIO) / annual(down, BENCHMARK), rel=1e-12)
    # The figures by hand: up (1.08·1.04·1.01)^4 - 1 over (1.10·1.05·1.02)^4 - 1, down (0.94·0.98)^6 - 1 over
    # (0.90·0.95)^6 - 1.
    assert round(result.up, 4) == 0.7084 and round(result.down, 4) == 0.6382


def test_capture_of_a_benchmark_that_never_fell_has_no_down_figure() -> None:
    rising = (0.10, 0.02, 0.00, 0.05, 0.01, 0.02)
    result = capture(month_end_series(PORTFOLIO, 50.0), month_end_series(rising, 400.0))
    assert math.isnan(result.down)
    assert result.up > 0


def test_worst_drawdowns_date_each_episode_from_peak_to_recovery_in_calendar_days() -> None:
    # Business days from Thursday 2024-01-04: the weekends make calendar days differ from closes counted.
    days = pd.bdate_range("2024-01-04", periods=12)
    values = pd.Series([100, 110, 99, 88, 110, 121, 115, 121, 130, 117, 91, 120], index=days, dtype="float64")
    drawdowns = worst_drawdowns(values)

    # Three episodes, deepest first; a close at a new high (100, 110 again, 121 again) is no drawdown of depth 0.
    # The last is still under water: no recovery, its length runs to the last close (Friday 2024-01-19).
    expected = [
        (91 / 130 - 1, "2024-01-16", "2024-01-18", None, 3),
        (88 / 110 - 1, "2024-01-05", "2024-01-09", "2024-01-10", 5),  # recovered at exactly the old high
        (115 / 121 - 1, "2024-01-11", "2024-01-12", "2024-01-15", 4),  # peak Thursday, recovered Monday
    ]
    assert len(drawdowns) == len(expected)
    for found, (depth, peak, trough, recovery, length) in zip(drawdowns, expected):
        assert found.depth == pytest.approx(depth, rel=1e-12)
        assert (found.peak, found.trough) == (pd.Timestamp(peak), pd.Timestamp(trough))
        assert found.recovery == (None if recovery is None else pd.Timestamp(recovery))
        assert found.days == length


def test_daily_cvar_is_the_mean_of_each_columns_worst_days_first_day_included() -> None:
    # 40 daily returns a column: the 5th percentile sits at position 0.05 * 39 = 1.95 of the sorted returns, between
    # the second and third worst, so the tail is the two worst days. Column a's worst is its very first return.
    calm = np.tile([0.01, -0.005], 20)
    a, b = calm.copy(), calm.copy()
    a[0], a[17] = -0.05, -0.04
    b[10], b[30] = -0.02, -0.03
    values = pd.DataFrame({"a": np.cumprod(np.r_[1.0, 1.0 + a]), "b": np.cumprod(np.r_[1.0, 1.0 + b])},
                          index=pd.bdate_range("2024-01-02", periods=41))
    cvar = daily_cvar(values)
    assert cvar["a"] == pytest.approx(-0.045, rel=1e-9)
    assert cvar["b"] == pytest.approx(-0.025, rel=1e-9)
