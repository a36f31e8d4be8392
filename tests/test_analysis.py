"""The /compare figures on real prices, against independent computations.

The expected values are computed here from the CSV text with the standard
library (``csv``, ``statistics``, plain loops), written from the formulas in
the analysis docstrings without reusing any of Tilt's code, and also checked
against quantstats where its conventions match ours.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import itertools
import math
import statistics
from pathlib import Path

import pandas as pd
import pytest
import quantstats as qs

from analysis.compare import compare
from analysis.drawdown import drawdown_series, max_drawdown
from analysis.relative import relative_strength
from analysis.returns import calendar_year_returns, rolling_cagr, rolling_return, spans_a_year, trailing_returns
from analysis.rolling import rolling_excess, rolling_odds, win_share
from analysis.signals import latest_signals
from analysis.valuation import valuation_gaps
from analysis.windows import Period, Window, resolve_window
from errors import DataUnavailable
from tests.expected import months_back, trailing_pe

REL = 1e-9


def read_closes(folder: Path, ticker: str) -> dict[dt.date, float]:
    with open(folder / f"{ticker}.csv", newline="") as handle:
        return {dt.date.fromisoformat(row["Date"]): float(row["Adj Close"]) for row in csv.DictReader(handle)}


def years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def trailing_window(dates: list[dt.date], years: int) -> list[dt.date]:
    end = dates[-1]
    target = years_back(end, years)
    start = max(d for d in dates if d <= target)
    return [d for d in dates if start <= d <= end]


def frame(closes: dict[str, dict[dt.date, float]], dates: list[dt.date]) -> pd.DataFrame:
    return pd.DataFrame({t: [c[d] for d in dates] for t, c in closes.items()},
                        index=pd.DatetimeIndex([pd.Timestamp(d) for d in dates]))


def expected_metrics(asset: list[float], bench: list[float], days: list[dt.date], rf: float) -> dict[str, float]:
    """Every /compare figure for ``asset`` against ``bench``, straight from the formulas."""
    r = [asset[i] / asset[i - 1] - 1 for i in range(1, len(asset))]
    b = [bench[i] / bench[i - 1] - 1 for i in range(1, len(bench))]
    rf_d = (1 + rf) ** (1 / 252) - 1
    x = [v - rf_d for v in r]
    active = [ri - bi for ri, bi in zip(r, b)]
    calendar_days = (days[-1] - days[0]).days
    growth = (asset[-1] / asset[0]) ** (365.25 / calendar_days) - 1
    bench_growth = (bench[-1] / bench[0]) ** (365.25 / calendar_days) - 1
    peak, depth = asset[0], 0.0
    for price in asset:
        peak = max(peak, price)
        depth = min(depth, price / peak - 1)
    return {
        "total_return": asset[-1] / asset[0] - 1,
        "cagr": growth,
        "volatility": statistics.stdev(r) * math.sqrt(252),
        "max_drawdown": depth,
        "sharpe": statistics.mean(x) / statistics.stdev(x) * math.sqrt(252),
        "sortino": statistics.mean(x) / math.sqrt(sum(min(v, 0) ** 2 for v in x) / len(x)) * math.sqrt(252),
        "beta": statistics.covariance(r, b) / statistics.variance(b),
        "correlation": statistics.correlation(r, b),
        "excess_return": growth - bench_growth,
        "tracking_error": statistics.stdev(active) * math.sqrt(252),
        "information_ratio": statistics.mean(active) / statistics.stdev(active) * math.sqrt(252),
    }


@pytest.fixture(scope="module")
def smh_spy_10y(prices_dir: Path) -> tuple[dict[str, dict[dt.date, float]], list[dt.date]]:
    closes = {t: read_closes(prices_dir, t) for t in ("SMH", "SOXX", "SPY")}
    common = sorted(set.intersection(*(set(c) for c in closes.values())))
    return closes, trailing_window(common, 10)


@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_compare_matches_independent_formulas(smh_spy_10y, rf: float) -> None:
    closes, days = smh_spy_10y
    result = compare(frame(closes, days), "SPY", risk_free=rf).table
    for ticker in ("SMH", "SOXX"):
        expected = expected_metrics([closes[ticker][d] for d in days], [closes["SPY"][d] for d in days], days, rf)
        for metric, value in expected.items():
            assert result.at[ticker, metric] == pytest.approx(value, rel=REL), (ticker, metric)


def test_benchmark_row_is_measured_against_itself(smh_spy_10y) -> None:
    closes, days = smh_spy_10y
    row = compare(frame(closes, days), "SPY").table.loc["SPY"]
    assert row.beta == pytest.approx(1.0, rel=REL)
    assert row.correlation == pytest.approx(1.0, rel=REL)
    assert row.excess_return == 0.0


def test_the_comparison_carries_its_window_its_drawdowns_and_the_total_return_gaps(smh_spy_10y) -> None:
    closes, days = smh_spy_10y
    result = compare(frame(closes, days), "SPY")
    assert list(result.table.columns) == ["total_return", "cagr", "volatility", "max_drawdown", "sharpe", "sortino",
                                          "beta", "correlation", "excess_return", "tracking_error", "information_ratio"]
    assert list(result.table.index) == ["SMH", "SOXX", "SPY"] and result.benchmark == "SPY"
    assert (result.start.date(), result.end.date()) == (days[0], days[-1])
    total = {t: closes[t][days[-1]] / closes[t][days[0]] - 1 for t in ("SMH", "SOXX", "SPY")}
    assert result.excess_total().to_dict() == pytest.approx({t: total[t] - total["SPY"] for t in total}, rel=REL)
    for ticker in total:  # the deepest fall from a running peak, and the dates it ran between
        prices = [closes[ticker][d] for d in days]
        peaks = list(itertools.accumulate(prices, max))
        trough = min(range(len(prices)), key=lambda i: prices[i] / peaks[i])
        drawdown = result.drawdowns[ticker]
        assert drawdown.depth == pytest.approx(prices[trough] / peaks[trough] - 1, rel=REL)
        assert drawdown.trough.date() == days[trough] and prices[days.index(drawdown.peak.date())] == peaks[trough]


def test_matches_quantstats_where_conventions_agree(smh_spy_10y) -> None:
    """quantstats: same volatility, Sharpe and Sortino (rf=0, 252 days), drawdown on prices, beta."""
    closes, days = smh_spy_10y
    prices = frame(closes, days)
    table = compare(prices, "SPY").table
    returns = prices.pct_change().iloc[1:]
    for ticker in ("SMH", "SOXX"):
        assert table.at[ticker, "volatility"] == pytest.approx(qs.stats.volatility(returns[ticker]), rel=REL)
        assert table.at[ticker, "sharpe"] == pytest.approx(qs.stats.sharpe(returns[ticker]), rel=REL)
        assert table.at[ticker, "sortino"] == pytest.approx(qs.stats.sortino(returns[ticker]), rel=REL)
        assert table.at[ticker, "max_drawdown"] == pytest.approx(qs.stats.max_drawdown(prices[ticker]), rel=REL)
        greeks = qs.stats.greeks(returns[ticker], returns["SPY"])
        assert table.at[ticker, "beta"] == pytest.approx(greeks["beta"], rel=1e-6)


def test_max_drawdown_dates(prices_dir: Path) -> None:
    """SPY's deepest fall since 2007 is the 2008-09 crisis: peak Oct 2007, trough 9 Mar 2009."""
    closes = read_closes(prices_dir, "SPY")
    days = [d for d in sorted(closes) if d >= dt.date(2007, 1, 1)]
    series = pd.Series([closes[d] for d in days], index=pd.DatetimeIndex(days))
    result = max_drawdown(series)
    peak = max((d for d in days if d <= result.trough.date()), key=lambda d: closes[d])
    recovery = next(d for d in days if d > result.trough.date() and closes[d] >= closes[peak])
    assert result.trough.date() == dt.date(2009, 3, 9)
    assert result.peak.date() == peak == dt.date(2007, 10, 9)
    assert result.recovery.date() == recovery
    assert result.depth == pytest.approx(closes[dt.date(2009, 3, 9)] / closes[peak] - 1, rel=REL)


def test_max_drawdown_still_under_water_has_no_recovery() -> None:
    series = pd.Series([100.0, 120.0, 90.0, 110.0], index=pd.bdate_range("2024-01-01", periods=4))
    result = max_drawdown(series)
    assert (result.depth, result.peak, result.trough, result.recovery) == (
        pytest.approx(90 / 120 - 1), series.index[1], series.index[2], None)
    assert drawdown_series(series).tolist() == pytest.approx([0.0, 0.0, 90 / 120 - 1, 110 / 120 - 1], abs=1e-15)


@pytest.mark.parametrize("after_trough, recovery", [
    ([120.0], 3),  # back at the peak's close exactly: recovered that day
    ([130.0], 3),  # above it the next day: the peak is still the high before the trough
    ([119.0, 121.0], 4),
])
def test_max_drawdown_recovers_on_the_first_close_at_or_above_the_peak(after_trough: list[float],
                                                                       recovery: int) -> None:
    values = [100.0, 120.0, 90.0, *after_trough]
    series = pd.Series(values, index=pd.bdate_range("2024-01-01", periods=len(values)))
    result = max_drawdown(series)
    assert (result.peak, result.trough, result.recovery) == (series.index[1], series.index[2], series.index[recovery])


def test_a_series_that_never_falls_has_no_drawdown_and_no_recovery() -> None:
    series = pd.Series([100.0, 101.0, 102.0], index=pd.bdate_range("2024-01-01", periods=3))
    result = max_drawdown(series)
    assert (result.depth, result.recovery) == (0.0, None)


def test_calendar_year_returns(prices_dir: Path) -> None:
    closes = read_closes(prices_dir, "IJR")
    days = [d for d in sorted(closes) if dt.date(2015, 6, 1) <= d <= dt.date(2020, 3, 31)]
    series = pd.Series([closes[d] for d in days], index=pd.DatetimeIndex(days))
    result = calendar_year_returns(series)
    last_of = {year: closes[max(d for d in days if d.year == year)] for year in range(2015, 2021)}
    assert result[2015] == pytest.approx(last_of[2015] / closes[days[0]] - 1, rel=REL)
    for year in range(2016, 2021):
        assert result[year] == pytest.approx(last_of[year] / last_of[year - 1] - 1, rel=REL)


def test_rolling_one_year_return(prices_dir: Path) -> None:
    closes = read_closes(prices_dir, "QQQ")
    days = [d for d in sorted(closes) if d >= dt.date(2018, 1, 1)]
    series = pd.Series([closes[d] for d in days], index=pd.DatetimeIndex(days))
    result = rolling_return(series)  # one year unless told
    for day in (dt.date(2020, 3, 23), dt.date(2022, 12, 30), days[-1]):
        base = max(d for d in days if d <= years_back(day, 1))
        assert result[pd.Timestamp(day)] == pytest.approx(closes[day] / closes[base] - 1, rel=REL)
    assert result.iloc[:200].isna().sum() > 0  # the first year has no base yet


def test_rolling_three_year_cagr(prices_dir: Path) -> None:
    """The bottom panel of the backtest chart: each point the growth rate of the 3 calendar years up to it."""
    closes = read_closes(prices_dir, "SMH")
    days = [d for d in sorted(closes) if d >= dt.date(2015, 6, 1)]
    series = pd.Series([closes[d] for d in days], index=pd.DatetimeIndex(days))
    result = rolling_cagr(series)
    for day in (dt.date(2020, 3, 23), dt.date(2022, 12, 30), days[-1]):
        base = max(d for d in days if d <= years_back(day, 3))
        assert result[pd.Timestamp(day)] == pytest.approx((closes[day] / closes[base]) ** (1 / 3) - 1, rel=REL)
    # NaN until the series reaches 3 years back: the first figure is on the first day 3 years after the start.
    first = min(d for d in days if years_back(d, 3) >= days[0])
    assert result.first_valid_index() == pd.Timestamp(first)


def test_trailing_returns_of_the_watchlist_table(prices_dir: Path) -> None:
    """Each horizon from each ticker's own last close: AGG's file ends a day before SMH's."""
    closes = {t: read_closes(prices_dir, t) for t in ("SMH", "AGG")}
    days = sorted(set(closes["SMH"]) | set(closes["AGG"]))
    prices = pd.DataFrame({t: [c.get(d, math.nan) for d in days] for t, c in closes.items()},
                          index=pd.DatetimeIndex(days))
    result = trailing_returns(prices)
    for ticker, series in closes.items():
        dates = sorted(series)
        end = dates[-1]
        targets = {"1w": end - dt.timedelta(days=7), "1m": months_back(end, 1), "3m": months_back(end, 3),
                   "ytd": dt.date(end.year - 1, 12, 31), "1y": years_back(end, 1)}
        bases = {"1d": dates[-2], **{h: max(d for d in dates if d <= t) for h, t in targets.items()}}
        for horizon, base in bases.items():
            assert result.at[ticker, horizon] == pytest.approx(series[end] / series[base] - 1, rel=REL), horizon
    assert max(closes["AGG"]) < max(closes["SMH"])  # so a shared "last date" would have shown a wrong AGG row


def test_a_horizon_reaching_before_the_first_close_is_missing(prices_dir: Path) -> None:
    closes = read_closes(prices_dir, "SPY")
    end = max(closes)
    base = max(d for d in closes if d <= years_back(end, 1))
    for first, known in ((base, True), (min(d for d in closes if d > base), False)):
        days = [d for d in sorted(closes) if d >= first]
        result = trailing_returns(pd.DataFrame({"SPY": [closes[d] for d in days]}, index=pd.DatetimeIndex(days)))
        assert math.isnan(result.at["SPY", "1y"]) is not known
        assert result.at["SPY", "1d"] == pytest.approx(closes[end] / closes[days[-2]] - 1, rel=REL)
    alone = trailing_returns(pd.DataFrame({"SPY": [closes[end]]}, index=pd.DatetimeIndex([end])))
    assert math.isnan(alone.at["SPY", "1d"])  # a single close has no previous one
    last_two = sorted(closes)[-2:]
    pair = trailing_returns(pd.DataFrame({"SPY": [closes[d] for d in last_two]}, index=pd.DatetimeIndex(last_two)))
    assert pair.at["SPY", "1d"] == pytest.approx(closes[end] / closes[last_two[0]] - 1, rel=REL)


def test_trailing_returns_over_the_horizons_asked_for(prices_dir: Path) -> None:
    closes = read_closes(prices_dir, "QQQ")
    days = sorted(closes)
    result = trailing_returns(pd.DataFrame({"QQQ": [closes[d] for d in days]}, index=pd.DatetimeIndex(days)),
                              {"6m": pd.DateOffset(months=6)})
    base = max(d for d in days if d <= months_back(days[-1], 6))
    assert list(result.columns) == ["6m"]
    assert result.at["QQQ", "6m"] == pytest.approx(closes[days[-1]] / closes[base] - 1, rel=REL)


def test_relative_strength_ratio(smh_spy_10y) -> None:
    closes, days = smh_spy_10y
    result = relative_strength(frame(closes, days), "SPY")
    expected = (closes["SMH"][days[-1]] / closes["SMH"][days[0]]) / (closes["SPY"][days[-1]] / closes["SPY"][days[0]])
    assert result["SMH"].iloc[-1] == pytest.approx(expected, rel=REL)
    assert result.iloc[0].tolist() == [1.0, 1.0]
    assert "SPY" not in result.columns


def test_valuation_gaps_from_the_shared_fundamentals(prices_dir: Path) -> None:
    """S&P 600 (IJR) and Russell 2000 (IWM) against the S&P 500 (SPY), on the P/Es of fundamentals.json."""
    ijr, iwm, spy = (trailing_pe(prices_dir, t) for t in ("IJR", "IWM", "SPY"))
    gaps = valuation_gaps(pd.Series({"IJR": ijr, "IWM": iwm, "SPY": spy}),
                          pd.Series({"IJR": None, "IWM": 25.95, "SPY": None}, dtype="float64"), "SPY")
    assert gaps.at["IJR", "trailing_vs_benchmark"] == pytest.approx(ijr / spy - 1, rel=REL)
    assert gaps.at["IWM", "trailing_vs_benchmark"] == pytest.approx(iwm / spy - 1, rel=REL)
    assert gaps.at["IJR", "earnings_yield"] == pytest.approx(1 / ijr, rel=REL)
    assert math.isnan(gaps.at["IWM", "forward_vs_benchmark"])  # SPY has no forward P/E: n/a, not guessed
    assert math.isnan(gaps.at["IJR", "forward_pe"])


def test_a_loss_making_pe_counts_as_missing() -> None:
    gaps = valuation_gaps(pd.Series({"X": -12.0, "SPY": 24.0}), pd.Series({"X": 0.0, "SPY": 22.0}), "SPY")
    assert gaps.loc["X"].isna().all()


def test_every_valuation_column_and_a_pe_under_one_is_still_a_pe() -> None:
    gaps = valuation_gaps(pd.Series({"X": 0.0, "Y": 0.5, "SPY": 20.0}), pd.Series({"X": 0.5, "Y": 30.0, "SPY": 24.0}),
                          "SPY")
    assert list(gaps.columns) == ["trailing_pe", "forward_pe", "earnings_yield", "trailing_vs_benchmark",
                                  "forward_vs_benchmark"]
    assert math.isnan(gaps.at["X", "trailing_pe"]) and gaps.at["X", "forward_pe"] == 0.5  # zero: no multiple
    assert gaps.loc["Y"].tolist() == pytest.approx([0.5, 30.0, 2.0, 0.5 / 20 - 1, 30 / 24 - 1], rel=REL)
    assert gaps.loc["SPY", ["trailing_vs_benchmark", "forward_vs_benchmark"]].tolist() == [0.0, 0.0]


# --- windows ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spy_dates(prices_dir: Path) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in read_closes(prices_dir, "SPY")))


@pytest.mark.parametrize("period, start, end", [
    (Period.trailing(years=10), "2016-07-14", "2026-07-14"),
    (Period.trailing(years=1), "2025-07-14", "2026-07-14"),
    (Period.trailing(months=3), "2026-04-14", "2026-07-14"),
    (Period.trailing(months=1), "2026-06-12", "2026-07-14"),  # 14 June 2026 is a Sunday: last close before it
    (Period.ytd(), "2025-12-31", "2026-07-14"),
    # Ranges open at the close before their first day, which is a trading day here (1 January never is).
    (Period.since(dt.date(2020, 3, 23)), "2020-03-20", "2026-07-14"),
    (Period.between(dt.date(2015, 10, 30), dt.date(2025, 10, 31)), "2015-10-29", "2025-10-31"),
    (Period.max(), "1993-01-29", "2026-07-14"),
])
def test_windows_follow_trailing_return_conventions(spy_dates, period: Period, start: str, end: str) -> None:
    window = resolve_window(period, spy_dates)
    assert (window.start, window.end, window.truncated) == (pd.Timestamp(start), pd.Timestamp(end), False)
    assert window.start in spy_dates and window.end in spy_dates


def test_short_history_truncates_to_the_common_window(prices_dir: Path) -> None:
    dates = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in read_closes(prices_dir, "SGOV")))
    window = resolve_window(Period.trailing(years=10), dates)
    assert (window.start, window.truncated) == (dates[0], True)


def test_fetch_span_reaches_before_the_start_target() -> None:
    start, end = Period.trailing(years=10).fetch_span(dt.date(2026, 7, 14))
    assert end == dt.date(2026, 7, 14)
    assert start < dt.date(2016, 7, 14) and (dt.date(2016, 7, 14) - start).days <= 15
    assert Period.between(dt.date(2015, 1, 1), dt.date(2025, 9, 30)).fetch_span(dt.date(2026, 1, 1))[1] == dt.date(2025, 9, 30)


@pytest.mark.parametrize("period, end, start", [
    (Period.qtd(), "2026-05-20", "2026-03-31"),  # the second quarter opens on 1 April
    (Period.mtd(), "2026-05-20", "2026-04-30"),
    (Period.ytd(), "2026-05-20", "2025-12-31"),
    (Period.qtd(), "2025-12-15", "2025-09-30"),
    (Period.mtd(), "2025-12-15", "2025-11-28"),  # 30 November 2025 is a Sunday
    (Period.trailing(weeks=2), "2026-07-14", "2026-06-30"),
    (Period.calendar_year(2025), "2025-12-31", "2024-12-31"),
])
def test_periods_to_date_weeks_and_calendar_years(spy_dates, period: Period, end: str, start: str) -> None:
    dates = spy_dates[spy_dates <= pd.Timestamp(end)] if period.kind != "range" else spy_dates
    assert resolve_window(period, dates) == Window(start=pd.Timestamp(start), end=pd.Timestamp(end), truncated=False)


def test_trailing_periods_quarters_opening_in_their_first_month_and_markets_open_on_new_years_day(spy_dates) -> None:
    end = pd.Timestamp("2026-07-14")
    expected = {Period.trailing(months=1): "2026-06-12", Period.trailing(weeks=2): "2026-06-30",
                Period.trailing(years=1): "2025-07-14", Period.qtd(): "2026-06-30"}  # July opens the third quarter
    assert {p: resolve_window(p, spy_dates).start for p in expected} == {p: pd.Timestamp(d) for p, d in expected.items()}
    assert Period.max().start_target(end) == pd.Timestamp("1900-01-01")  # every close is on or after it
    # Where 1 January is a trading day (Bombay, say), the year opens at the close of 31 December.
    open_all_year = pd.bdate_range("2024-12-20", "2026-01-10")
    window = resolve_window(Period.calendar_year(2025), open_all_year)
    assert (window.start, window.end) == (pd.Timestamp("2024-12-31"), pd.Timestamp("2025-12-31"))


def test_periods_name_themselves_as_people_say_them() -> None:
    periods = {
        Period.trailing(years=10): ("10y", "over 10y"), Period.trailing(months=3): ("3m", "over 3m"),
        Period.trailing(weeks=2): ("2w", "over 2w"), Period.ytd(): ("ytd", "year to date"),
        Period.qtd(): ("qtd", "quarter to date"), Period.mtd(): ("mtd", "month to date"),
        Period.max(): ("max", "over all common history"), Period.calendar_year(2025): ("2025", "in 2025"),
        Period.since(dt.date(2020, 1, 1)): ("since 2020", "since 2020"),
        Period.since(dt.date(2020, 3, 23)): ("since 2020-03-23", "since 2020-03-23"),
        Period.since(dt.date(2020, 1, 23)): ("since 2020-01-23", "since 2020-01-23"),
        Period.between(dt.date(2015, 10, 30), dt.date(2025, 10, 31)):
            ("2015-10-30..2025-10-31", "from 2015-10-30 to 2025-10-31"),
    }
    assert {p: (p.label, p.phrase) for p in periods} == periods


def test_fetch_spans_end_at_the_period_or_today_whichever_comes_first() -> None:
    today = dt.date(2026, 7, 14)
    assert Period.max().fetch_span(today) == (dt.date(1900, 1, 1), today)
    assert Period.calendar_year(2030).fetch_span(today)[1] == today
    start, end = Period.calendar_year(2020).fetch_span(today)
    assert end == dt.date(2020, 12, 31) and dt.date(2019, 12, 16) <= start < dt.date(2019, 12, 31)


def test_too_little_history_is_a_typed_error_naming_the_period(spy_dates) -> None:
    two = spy_dates[-2:]
    assert resolve_window(Period.max(), two) == Window(start=two[0], end=two[1], truncated=False)
    assert resolve_window(Period.trailing(weeks=2), two) == Window(start=two[0], end=two[1], truncated=True)
    with pytest.raises(DataUnavailable, match="common price history for max"):
        resolve_window(Period.max(), spy_dates[-1:])
    with pytest.raises(DataUnavailable, match="common price history for since 2026-07-15"):
        resolve_window(Period.since(dt.date(2026, 7, 15)), spy_dates)  # opens at the last close: nothing after it
    with pytest.raises(DataUnavailable, match="for 1990"):
        resolve_window(Period.calendar_year(1990), spy_dates)  # before SPY's first close


# --- signals ------------------------------------------------------------------------------------


def expected_signals(series: list[float], bench: list[float]) -> dict[str, bool]:
    """The digest's signals for the last day, by the module docstring's definitions, with plain lists."""
    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    def crossed(now: float, before: float, avg_now: float, avg_before: float) -> tuple[bool, bool]:
        return now > avg_now and not before > avg_before, before > avg_before and not now > avg_now

    today = series[-1]
    result = {
        "new_high": today >= max(series[-252:]) and today > max(series[-253:-1]),
        "new_low": today <= min(series[-252:]) and today < min(series[-253:-1]),
    }
    for days in (50, 200):
        up, down = crossed(today, series[-2], mean(series[-days:]), mean(series[-days - 1:-1]))
        result[f"above_{days}"], result[f"below_{days}"] = up, down
    relative = [s / b for s, b in zip(series, bench)]
    result["rs_up"], result["rs_down"] = crossed(relative[-1], relative[-2], mean(relative[-50:]), mean(relative[-51:-1]))
    return result


def test_signals_match_their_definitions(prices_dir: Path) -> None:
    tickers = ("SPY", "SMH", "IWM", "XLE", "TLT")
    data = {t: read_closes(prices_dir, t) for t in tickers}
    days = sorted(set.intersection(*(set(c) for c in data.values())))[-1000:]
    frame_all = frame(data, days)
    seen = {name: 0 for name in ("new_high", "new_low", "above_50", "below_50", "above_200", "below_200", "rs_up", "rs_down")}
    for end in range(260, len(days), 2):
        table = latest_signals(frame_all.iloc[: end + 1], "SPY")
        for ticker in tickers:
            expected = expected_signals([data[ticker][d] for d in days[: end + 1]], [data["SPY"][d] for d in days[: end + 1]])
            if ticker == "SPY":
                expected["rs_up"] = expected["rs_down"] = False
            assert table.loc[ticker].to_dict() == expected, (ticker, days[end])
            for name, value in expected.items():
                seen[name] += value
    assert all(count > 0 for count in seen.values()), seen  # every signal fired somewhere: the test can fail


def test_signals_at_their_edges_ties_and_a_low_leaving_the_window() -> None:
    def flat(**changes: float) -> list[float]:
        values = [100.0] * 300
        for index, value in changes.items():
            values[int(index[1:])] = value
        return values

    lines = {
        "DROPPED": flat(i47=80.0, i299=90.0),  # the year's low left the window today: lowest now, not a new low
        "NEWLOW": flat(i46=80.0, i299=90.0),  # below every close of the 252 before it
        "TIE": flat(),  # equal to the year's extremes and to every average: nothing is new, nothing crossed
        "ATAVG": flat(i250=101.0, i298=99.0, i299=100.0),  # from below to exactly its 50-day average: not above
        "FROMAVG": flat(i299=101.0),  # from exactly its averages to above them: crossed
    }
    days = pd.bdate_range("2025-01-01", periods=300)
    prices = pd.DataFrame({**lines, "SPY": [100.0] * 300}, index=days)
    table = latest_signals(prices, "SPY")
    assert (table.dtypes == bool).all()
    for name, values in lines.items():
        assert table.loc[name].to_dict() == expected_signals(values, [100.0] * 300), name
    assert (table.at["DROPPED", "new_low"], table.at["NEWLOW", "new_low"], table.at["FROMAVG", "above_50"]) == \
        (False, True, True)
    # 51 sessions are the fewest with a 50-day average on both of the last two: enough to see a crossing.
    short = latest_signals(prices.iloc[-51:], "SPY")
    assert short.at["FROMAVG", "above_50"] and short.at["FROMAVG", "rs_up"] and not short.at["FROMAVG", "above_200"]
    assert not latest_signals(prices.iloc[-50:], "SPY").loc["FROMAVG"].any()


@pytest.mark.parametrize("start, end, expected", [
    ("2025-07-14", "2026-07-14", True),    # a trailing 1y window: exactly one calendar year
    ("2024-02-29", "2025-02-28", True),    # from a leap day, a year on is Feb 28
    ("2025-07-15", "2026-07-14", False),
    ("2026-01-02", "2026-07-14", False),
    ("2015-10-30", "2025-10-31", True),
])
def test_a_window_is_annualised_only_from_one_calendar_year(start: str, end: str, expected: bool) -> None:
    assert spans_a_year(pd.Timestamp(start), pd.Timestamp(end)) is expected


def test_rolling_odds_count_the_windows_won_by_more_than_noise() -> None:
    days = pd.bdate_range("2020-01-01", "2023-08-31")
    wave = [1 + 0.3 * math.sin(i / 40) for i in range(len(days))]
    bench = [100 * 1.0003 ** i for i in range(len(days))]
    values = pd.DataFrame({"A": [b * w for b, w in zip(bench, wave)], "SPY": bench,
                           "SAME": [b * (1 + 1e-13 * (i % 3)) for i, b in enumerate(bench)]}, index=days)
    dates = [d.date() for d in days]
    for years in (1, 3):
        excess = rolling_excess(values, "SPY", years)
        expected = {}
        for i, day in enumerate(dates):
            s = bisect.bisect_right(dates, years_back(day, years)) - 1  # the last close on or before
            if s >= 0:
                expected[day] = [(values[t].iloc[i] / values[t].iloc[s]) ** (1 / years)
                                 - (bench[i] / bench[s]) ** (1 / years) for t in ("A", "SAME")]
        assert list(excess.columns) == ["A", "SAME"] and [d.date() for d in excess.index] == list(expected)
        assert excess["A"].tolist() == pytest.approx([e[0] for e in expected.values()], rel=1e-9, abs=1e-12)
        share = win_share(excess)
        assert share["A"] == pytest.approx(sum(e[0] > 1e-9 for e in expected.values()) / len(expected), rel=1e-12)
        assert 0 < share["A"] < 1 and share["SAME"] == 0  # equal up to floating-point noise: a tie, never a win
    odds = rolling_odds(values, "SPY")
    assert list(odds.columns) == ["1y", "3y"]  # 3 years and 8 months of data: no 5-year window
    assert odds.at["A", "3y"] == win_share(rolling_excess(values, "SPY", 3))["A"]
    empty = win_share(rolling_excess(values.iloc[:200], "SPY", 1))
    assert list(empty.index) == ["A", "SAME"] and empty.isna().all() and empty.dtype == "float64"
    # Won means more than 1e-9 a year: a window exactly that far ahead is a tie.
    assert win_share(pd.DataFrame({"A": [1e-9, 1.1e-9, 0.0, -0.02]})).to_dict() == {"A": 0.25}
    assert rolling_odds(values.iloc[:200], "SPY").empty
