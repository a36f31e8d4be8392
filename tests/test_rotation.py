"""/rotation and /valuation smallcaps on the shared prices, against independently computed rankings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analysis.rotation import momentum_table, size_regime
from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.services import Services
from handlers.common.snapshot import chart_closes, recent_closes
from tests.expected import closes, expected_score, months_back, trailing_pe

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
CALLER = Caller(platform="slack", team="T9", channel="C9", user="U9")


def test_size_universe_is_ranked_by_composite_momentum(services: Services, prices_dir: Path) -> None:
    reply = router.run("/rotation", services, CALLER)
    assert not reply.is_error, reply.text
    tickers = ("SPY", "QQQ", "IWM", "IJR", "VB")
    scores = {t: expected_score(prices_dir, t) for t in tickers}
    ranked = sorted(tickers, key=scores.get, reverse=True)
    assert [row[1] for row in reply.table.rows] == ranked
    for row in reply.table.rows:
        assert row[2] == f"{scores[row[1]] * 100:.1f}%"
    assert reply.chart is not None and reply.actions


def test_size_regime_sentence_counts_sessions(services: Services, prices_dir: Path) -> None:
    reply = router.run("/rotation size", services, CALLER)
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    days = sorted(set(iwm) & set(spy))
    ratio = [iwm[d] / spy[d] for d in days]
    above = [ratio[i] > sum(ratio[i - 199:i + 1]) / 200 for i in range(199, len(ratio))]
    run = next(i for i, side in enumerate(reversed(above)) if side != above[-1])
    side = "leading" if above[-1] else "lagging"
    assert any(note.startswith(f"Small caps (IWM) {side} SPY for {run} sessions") for note in reply.notes), reply.notes


def test_team_universes(services: Services) -> None:
    assert "Universe `megacaps` is now AAPL, MSFT, NVDA" in router.run("/rotation set megacaps aapl msft nvda", services, CALLER).text
    assert "`megacaps`: AAPL, MSFT, NVDA" in router.run("/rotation list", services, CALLER).plain_text()
    ranked = router.run("/rotation megacaps 6m", services, CALLER)
    assert {row[1] for row in ranked.table.rows} == {"AAPL", "MSFT", "NVDA"}
    other_team = Caller(platform="slack", team="T8", channel="C9", user="U9")
    assert router.run("/rotation megacaps", services, other_team).is_error  # universes belong to their team



def test_valuation_smallcaps_view(services: Services, prices_dir: Path) -> None:
    reply = router.run("/valuation smallcaps", services, CALLER)
    assert reply.text.startswith("*Valuation: S&P 600 (IJR), Russell 2000 (IWM) vs S&P 500 (SPY)*")
    rows = {row[0]: dict(zip(reply.table.columns, row)) for row in reply.table.rows}
    ijr, spy = trailing_pe(prices_dir, "IJR"), trailing_pe(prices_dir, "SPY")
    assert rows["IJR"]["P/E vs bench"] == f"{(ijr / spy - 1) * 100:+.0f}%"
    assert rows["IWM"]["Fwd P/E"] == "25.9x" and rows["SPY"]["Fwd P/E"] == "n/a"
    assert "as of 2025-10-31" in reply.footer and "CSV folder prices" in reply.footer


SECTORS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")


@pytest.mark.parametrize("period, months", [("1m", 1), ("6m", 6), ("1y", 12), ("2y", 24)])
def test_the_rotation_chart_covers_the_requested_period(services: Services, prices_dir: Path, period: str,
                                                        months: int) -> None:
    reply = router.run(f"/rotation sectors {period}", services, CALLER)
    series = {t: closes(prices_dir, t) for t in (*SECTORS, "SPY")}
    days = sorted(set().union(*series.values()))
    end = days[-1]
    start = max(d for d in days if d <= months_back(end, months))
    assert f"from {start} to {end} ({months} months)" in reply.chart.alt_text
    assert reply.footer.endswith(f"chart: {period}")


def test_rotation_chart_data_is_the_window_rebased_to_its_total_returns(services: Services, prices_dir: Path) -> None:
    tickers = ["XLK", "XLE", "SPY"]
    recent, _ = recent_closes(services, tickers, years=2)
    drawn = chart_closes(recent, 6, tickers)
    end = max(closes(prices_dir, "SPY"))
    start = max(d for d in closes(prices_dir, "SPY") if d <= months_back(end, 6))
    assert drawn.index[0].date() == start and drawn.index[-1].date() == end
    for ticker in tickers:
        series = closes(prices_dir, ticker)
        assert drawn[ticker].iloc[-1] / drawn[ticker].iloc[0] == pytest.approx(series[end] / series[start], rel=1e-12)


def test_the_rotation_reply_names_the_tickers_the_chart_leaves_out(services: Services, prices_dir: Path) -> None:
    reply = router.run("/rotation sectors 6m", services, CALLER)

    def six_months(ticker: str) -> float:  # a period given: ranked by its total return
        series = closes(prices_dir, ticker)
        end = max(series)
        return series[end] / series[max(d for d in series if d <= months_back(end, 6))] - 1

    ranked = sorted(SECTORS, key=six_months, reverse=True)
    drawn, left_out = ranked[:7], ranked[7:]
    assert f"Not in the chart: {', '.join(left_out)} (it draws at most 8 lines: the first ones in the table and SPY)." \
        in reply.notes
    assert reply.chart.alt_text.startswith(f"{', '.join([*drawn, 'SPY'])} from ")
    assert not any("Not in the chart" in note for note in router.run("/rotation size", services, CALLER).notes)


def frame(prices_dir: Path, tickers: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({t: pd.Series(closes(prices_dir, t)) for t in tickers}).rename(index=pd.Timestamp).sort_index()


def test_the_momentum_table_ranks_and_measures_trend_and_relative_strength(prices_dir: Path) -> None:
    tickers = ("SPY", "QQQ", "IWM", "XLE")
    prices = frame(prices_dir, tickers)
    table = momentum_table(prices, "SPY")
    scores = {t: expected_score(prices_dir, t) for t in tickers}
    assert list(table.index) == sorted(tickers, key=scores.get, reverse=True)

    every = {t: closes(prices_dir, t) for t in tickers}

    def six_months(ticker: str) -> float:
        series = every[ticker]
        end = max(series)
        return series[end] / series[max(d for d in series if d <= months_back(end, 6))] - 1

    for ticker in tickers:
        series = every[ticker]
        last_200 = [series[d] for d in sorted(series)[-200:]]
        assert table.at[ticker, "score"] == pytest.approx(scores[ticker], rel=1e-12)
        assert table.at[ticker, "trend"] == pytest.approx(series[max(series)] / (sum(last_200) / 200) - 1, rel=1e-9)
        assert table.at[ticker, "relative"] == pytest.approx((1 + six_months(ticker)) / (1 + six_months("SPY")) - 1,
                                                             rel=1e-9, abs=1e-15)
    # Ranked by a period instead: its total return decides, best first, and a month count of its own is a column.
    by_six = momentum_table(prices, "SPY", rank_months=6)
    assert list(by_six.index) == sorted(tickers, key=six_months, reverse=True)
    by_two_years = momentum_table(prices, "SPY", rank_months=24)
    assert "24m" in by_two_years.columns and list(by_two_years.columns[:4]) == ["1m", "3m", "6m", "12m"]


def test_a_ticker_without_a_years_history_has_no_score_and_ranks_last(prices_dir: Path) -> None:
    prices = frame(prices_dir, ("SPY", "QQQ"))
    prices.loc[prices.index < prices.index[-200], "QQQ"] = float("nan")  # 200 sessions: under a year
    table = momentum_table(prices, "SPY")
    assert list(table.index) == ["SPY", "QQQ"] and pd.isna(table.at["QQQ", "score"])


def test_the_size_regime_counts_the_sessions_on_the_same_side_of_the_average(prices_dir: Path) -> None:
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    days = sorted(set(iwm) & set(spy))
    ratio = [iwm[d] / spy[d] for d in days]
    averages = [sum(ratio[i - 199:i + 1]) / 200 for i in range(199, len(ratio))]
    above = [r > a for r, a in zip(ratio[199:], averages)]
    prices = frame(prices_dir, ("IWM", "SPY")).dropna()  # their common dates
    for sessions in (len(ratio), len(ratio) - 3, len(ratio) - 40):
        regime = size_regime(prices["IWM"].iloc[:sessions], prices["SPY"].iloc[:sessions])
        seen = above[:sessions - 199]
        run = next((i for i, side in enumerate(reversed(seen)) if side != seen[-1]), len(seen))
        base = ratio[max(i for i, d in enumerate(days[:sessions]) if d <= months_back(days[sessions - 1], 6))]
        assert (regime.small, regime.large, regime.leading, regime.sessions) == ("IWM", "SPY", seen[-1], run)
        assert regime.vs_average == pytest.approx(ratio[sessions - 1] / averages[sessions - 200] - 1, rel=1e-9)
        assert regime.change_6m == pytest.approx(ratio[sessions - 1] / base - 1, rel=1e-9)


def test_a_size_regime_on_one_side_all_along_counts_every_session() -> None:
    days = pd.bdate_range("2024-01-01", periods=230)
    small = pd.Series([1.01 ** i for i in range(230)], index=days, name="IWM")  # rising against a flat large cap
    regime = size_regime(small, pd.Series(1.0, index=days, name="SPY"))
    assert regime.leading and regime.sessions == 230 - 199
    flat = pd.Series(1.0, index=days, name="SPY")
    level = size_regime(flat.rename("IWM"), flat)  # exactly on its average: not above it, so not leading
    assert (level.leading, level.sessions, level.vs_average, level.change_6m) == (False, 230 - 199, 0.0, 0.0)
    fallen = small.copy()
    fallen.iloc[-1] = 1.0  # the last session drops below the average: lagging for one session
    turned = size_regime(fallen, flat)
    assert (turned.leading, turned.sessions) == (False, 1)
    with pytest.raises(ValueError, match="IWM/SPY needs 200 common sessions"):
        size_regime(small.iloc[:199], pd.Series(1.0, index=days, name="SPY"))
