"""Issue 26's examples end to end through the router on the shared CSV prices and a real Redis: requests that
used to crash get a private, typed answer, and the words of a reply match the figures it shows.

Expected figures are computed here with plain pandas on the CSV files.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from handlers.common import router
from handlers.common.caller import LOCAL, Caller
from handlers.common.format import percent
from handlers.common.services import Services

GENERIC = "something went wrong"
LAST_CLOSE = "2026-07-14"


def adj_close(prices_dir: Path, ticker: str) -> pd.Series:
    return pd.read_csv(prices_dir / f"{ticker}.csv", index_col="Date", parse_dates=True)["Adj Close"]


@pytest.mark.parametrize("command", [
    "/compare QQQ SPY since 2027",
    "/compare QQQ SPY since 2026-08-01",
    "/compare QQQ SPY 2030-01-01..2031-01-01",
    "/compare QQQ SPY 2030-01-01 to 2031-01-01",
    "/backtest SPY 70 IJR 30 since 2026-08-01",
    "/backtest tactical smallcaps since 2027",
])
def test_a_period_after_the_data_gets_a_private_error_naming_the_last_close(services: Services,
                                                                            prices_dir: Path, command: str) -> None:
    last = max(adj_close(prices_dir, t).index.max() for t in ("QQQ", "SPY")).date().isoformat()
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral
    assert last == LAST_CLOSE and f"last close the data has ({last})" in reply.text
    assert GENERIC not in reply.text.lower()


def test_a_range_without_a_trading_day_says_so(services: Services) -> None:
    reply = router.run("/compare QQQ SPY 2020-01-04..2020-01-05", services)  # a weekend
    assert reply.is_error and reply.ephemeral and "no trading day" in reply.text


@pytest.mark.parametrize("command, ticker", [("/backtest SPY 100 10y", "SPY"), ("/backtest QQQ 100 vs QQQ 10y", "QQQ")])
def test_a_backtest_of_the_benchmark_alone_answers_with_its_own_figures(services: Services, prices_dir: Path,
                                                                        command: str, ticker: str) -> None:
    series = adj_close(prices_dir, ticker)
    end = series.index[-1]
    start = series.index[series.index <= end - pd.DateOffset(years=10)][-1]
    years = (end - start).days / 365.25
    cagr = (series[end] / series[start]) ** (1 / years) - 1
    depth = (series[start:end] / series[start:end].cummax() - 1).min()

    reply = router.run(command, services)

    assert not reply.is_error, reply.text
    assert [row[0] for row in reply.table.rows] == [ticker]
    assert dict(zip(reply.table.columns, reply.table.rows[0]))["CAGR"] == f"{cagr * 100:.1f}%"
    assert f"{ticker} on its own over 10y: CAGR {cagr * 100:.1f}%, max drawdown {depth * 100:.0f}%" in reply.takeaway
    assert "nothing else" in reply.takeaway
    assert reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")


def first_common(prices_dir: Path, tickers: list[str]) -> pd.Timestamp:
    return max(adj_close(prices_dir, t).index.min() for t in tickers)


@pytest.mark.parametrize("period", ["50y", "since 1900"])
def test_a_window_cut_short_at_its_start_is_named_for_what_it_covers(services: Services, prices_dir: Path,
                                                                       period: str) -> None:
    start, end = first_common(prices_dir, ["SMH", "SPY"]), adj_close(prices_dir, "SPY").index.max()
    length = f"{(end - start).days / 365.25:.1f}y"
    reply = router.run(f"/compare SMH SPY {period}", services)
    assert length == "26.1y"
    assert reply.text.startswith(f"*SMH vs SPY*, all {length} of data,")
    assert f"over all {length} of data" in reply.takeaway
    assert f"· all {length} of data" in reply.chart.title
    assert f"over {period}" not in reply.takeaway and f", {period}," not in reply.text


def test_a_range_past_the_data_ends_at_its_last_close_and_says_so(services: Services, prices_dir: Path) -> None:
    last = adj_close(prices_dir, "SPY").index.max().date().isoformat()
    reply = router.run("/compare SMH SPY 2020-01-01..2027-12-31", services)
    assert f", 2020-01-01 to {last} (the data's last close)," in reply.text
    assert f"from 2020-01-01 to the data's last close on {last}" in reply.takeaway
    assert "2027-12-31" not in reply.text + reply.takeaway + reply.chart.title
    backtest = router.run("/backtest SPY 70 SGOV 30 10y", services)
    start = first_common(prices_dir, ["SGOV", "SPY"])
    assert backtest.text.startswith(f"*Backtest vs SPY*, all {(pd.Timestamp(last) - start).days / 365.25:.1f}y of data,")


def test_a_window_of_days_is_measured_in_days(services: Services) -> None:
    reply = router.run("/compare SMH SPY 2020-01-01..2020-01-05", services)
    assert "2019-12-31 → 2020-01-03 (3 days)" in reply.footer and "0.0y" not in reply.footer


def test_comparison_words_follow_the_rounded_figures(services: Services, prices_dir: Path) -> None:
    ivv, spy = adj_close(prices_dir, "IVV"), adj_close(prices_dir, "SPY")
    end = spy.index.max()
    depths = {name: f"{(s[s.index[s.index <= end - pd.DateOffset(years=10)][-1]:] / s[s.index[s.index <= end - pd.DateOffset(years=10)][-1]:].cummax() - 1).min() * 100:.0f}%"
              for name, s in (("IVV", ivv), ("SPY", spy))}
    assert depths["IVV"] == depths["SPY"] == "-34%"
    reply = router.run("/compare IVV SPY 10y", services)
    assert f"with drawdowns about as deep ({depths['IVV']} vs {depths['SPY']})" in reply.takeaway
    assert "deeper" not in reply.takeaway and "shallower" not in reply.takeaway


def test_backtest_tables_name_portfolios_by_holdings_in_one_unit(services: Services, prices_dir: Path) -> None:
    reply = router.run("/backtest SPY 100 ; SPY 70 IJR 20 SMH 10 ; SPY 33.3333 QQQ 33.3333 IWM 33.3334 10y", services)
    names = ["SPY", "SPY70 IJR20 SMH10", "IWM33.3 QQQ33.3 SPY33.3"]
    assert [row[0] for row in reply.table.rows] == names
    contributions = next(t for t in reply.more_tables if t.title.startswith("Contribution"))
    assert contributions.title == "Contribution to total return (percentage points)"
    assert contributions.columns == ("Holding", *names)
    rows = {row[0]: dict(zip(contributions.columns, row)) for row in contributions.rows}
    assert rows["QQQ"]["SPY70 IJR20 SMH10"] == "" and rows["SMH"]["IWM33.3 QQQ33.3 SPY33.3"] == ""
    assert all(not cell.endswith("%") for row in contributions.rows for cell in row[1:])
    spy = adj_close(prices_dir, "SPY")
    end = spy.index.max()
    start = spy.index[spy.index <= end - pd.DateOffset(years=10)][-1]
    assert rows["Total"]["SPY"] == f"{(spy[end] / spy[start] - 1) * 100:+.1f}"
    shown = reply.text + reply.takeaway + " ".join(reply.notes)
    assert "P1" not in shown and "P2" not in shown and "33.3333" not in shown


def test_tactical_only_backtests_do_not_claim_no_rebalancing(services: Services) -> None:
    reply = router.run("/backtest tactical smallcaps ; tactical semis 10y", services)
    assert "no rebalancing needed" not in reply.text and "switching on their signal" in reply.text
    assert "one holding each, no rebalancing needed" in router.run("/backtest SPY 100 ; QQQ 100 10y", services).text


@pytest.mark.parametrize("value, digits, signed, shown", [
    (-0.0004, 1, False, "0.0%"), (-0.00004, 1, True, "+0.0%"), (-0.004, 0, False, "0%"), (0.0004, 1, True, "+0.0%"),
    (-0.0006, 1, True, "-0.1%"), (0.1234, 1, True, "+12.3%"),
])
def test_a_rounded_zero_is_never_negative(value: float, digits: int, signed: bool, shown: str) -> None:
    assert percent(value, digits, signed) == shown


SECTORS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")


def six_month_return(prices_dir: Path, ticker: str) -> float:
    series = adj_close(prices_dir, ticker)
    end = series.index[-1]
    return series.iloc[-1] / series[:end - pd.DateOffset(months=6)].iloc[-1] - 1


def test_rotation_with_a_period_ranks_by_that_period(services: Services, prices_dir: Path) -> None:
    expected = sorted(SECTORS, key=lambda t: six_month_return(prices_dir, t), reverse=True)
    reply = router.run("/rotation sectors 6m", services)
    assert [row[1] for row in reply.table.rows] == expected
    assert "ranked by 6-month total return" in reply.text and "over 6 months" in reply.takeaway
    assert reply.plots[0].title == "Rotation sectors: 6-month return" and reply.plots[0].categories == tuple(expected)
    composite = router.run("/rotation sectors", services)
    assert "ranked by composite momentum" in composite.text
    assert [row[1] for row in composite.table.rows] != expected  # the two rankings differ on this data


def test_the_digest_dates_its_p_e_figures(services: Services, prices_dir: Path) -> None:
    as_of = json.loads((prices_dir / "fundamentals.json").read_text())["as_of"]
    reply = router.run("/digest now", services)
    line = next(n for n in reply.notes if n.startswith("Trailing P/E"))
    assert as_of == "2025-10-31" and f"(P/E as of {as_of})" in line
    assert f"as of {LAST_CLOSE}" in reply.footer  # the prices' date stays the prices'


def sharpe(returns: pd.Series, annual: float) -> float:
    excess = returns - ((1 + annual) ** (1 / 252) - 1)
    return excess.mean() / excess.std(ddof=1) * 252 ** 0.5


def test_sharpe_ratios_are_measured_against_t_bills_by_default(services: Services, prices_dir: Path) -> None:
    sgov, spy, bil = (adj_close(prices_dir, t) for t in ("SGOV", "SPY", "BIL"))
    common = sgov.index.intersection(spy.index)
    end = common[-1]
    start = common[common <= end - pd.DateOffset(years=5)][-1]
    bills = bil[start:end]
    rate = (bills.iloc[-1] / bills.iloc[0]) ** (365.25 / (bills.index[-1] - bills.index[0]).days) - 1
    returns = sgov[common][start:end].pct_change().dropna()

    reply = router.run("/compare SGOV SPY 5y", services)

    row = dict(zip(reply.table.columns, next(r for r in reply.table.rows if r[0] == "SGOV")))
    assert row["Sharpe"] == f"{sharpe(returns, rate):.2f}"
    assert abs(float(row["Sharpe"])) < 2  # not the 12.4 of a zero rate
    assert f"risk-free {rate * 100:.1f}% (BIL T-bills, annual)" in reply.footer


def test_tilt_risk_free_overrides_the_t_bill_rate(services: Services, prices_dir: Path) -> None:
    sgov = adj_close(prices_dir, "SGOV")
    spy = adj_close(prices_dir, "SPY")
    common = sgov.index.intersection(spy.index)
    start = common[common <= common[-1] - pd.DateOffset(years=5)][-1]
    returns = sgov[common][start:].pct_change().dropna()
    reply = router.run("/compare SGOV SPY 5y", replace(services, risk_free=0.04))
    row = dict(zip(reply.table.columns, next(r for r in reply.table.rows if r[0] == "SGOV")))
    assert row["Sharpe"] == f"{sharpe(returns, 0.04):.2f}"
    assert "risk-free 4.0% (TILT_RISK_FREE, annual)" in reply.footer


# --- the grammar people type (issue 26): the same meaning whoever asks, from Slack, Discord or the console ---------

PLATFORMS = (Caller(platform="slack", team="T1", channel="C1", user="U1"),
             Caller(platform="discord", team="G1", channel="D1", user="U2"), LOCAL)


def window_total(prices_dir: Path, ticker: str, start_target: pd.Timestamp, end: pd.Timestamp | None = None) -> str:
    series = adj_close(prices_dir, ticker)
    end = series.index[series.index <= (end or series.index[-1])][-1]
    start = series.index[series.index <= start_target][-1]
    return f"{(series[end] / series[start] - 1) * 100:.1f}%"


LAST = pd.Timestamp(LAST_CLOSE)


@pytest.mark.parametrize("period, start_target, end, headline", [
    ("from 2020-01-01 to 2022-12-31", pd.Timestamp("2019-12-31"), pd.Timestamp("2022-12-31"), "2020-01-01..2022-12-31"),
    ("mtd", pd.Timestamp("2026-06-30"), None, "mtd"),
    ("qtd", pd.Timestamp("2026-06-30"), None, "qtd"),
    ("1w", LAST - pd.DateOffset(weeks=1), None, "1w"),
    ("2w", LAST - pd.DateOffset(weeks=2), None, "2w"),
    ("2022", pd.Timestamp("2021-12-31"), pd.Timestamp("2022-12-31"), "2022"),
    ("18 months", LAST - pd.DateOffset(months=18), None, "18m"),
])
def test_every_period_people_type_means_the_same_everywhere(services: Services, prices_dir: Path, period: str,
                                                             start_target: pd.Timestamp, end: pd.Timestamp | None,
                                                             headline: str) -> None:
    expected = window_total(prices_dir, "SMH", start_target, end)
    for caller in PLATFORMS:
        reply = router.run(f"/compare $smh SPY {period}", services, caller)
        assert not reply.is_error, reply.text
        assert reply.text.startswith(f"*SMH vs SPY*, {headline},")
        row = dict(zip(reply.table.columns, reply.table.rows[0]))
        assert row["Ticker"] == "SMH"
        if "CAGR" not in row:  # under a year the total return has one decimal
            assert row["Total"] == expected


def test_five_years_spelled_out_is_5y(services: Services) -> None:
    assert router.run("/compare SMH SPY 5 years", services).table == router.run("/compare SMH SPY 5y",
                                                                                      services).table


def test_cashtags_and_share_classes_name_yahoo_tickers(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare BRK.B vs $SPY 6m", services)
    assert reply.text.startswith("*BRK-B vs SPY*, 6m,")
    end = min(adj_close(prices_dir, t).index[-1] for t in ("BRK-B", "SPY"))  # BRK-B's file ends a day early
    assert reply.table.rows[0][1] == window_total(prices_dir, "BRK-B", end - pd.DateOffset(months=6))
    backtest = router.run("/backtest $QQQ 60 BRK.B 40 1y", services)
    assert backtest.table.rows[0][0] == "QQQ60 BRK-B40"


@pytest.mark.parametrize("text, fragment", [
    ("/compare SMH SPY 1.5y", "`1.5y` is not a period I know"),
    ("/backtest SPY 70 IJR 30 daily", "the schedules are `weekly`, `monthly`, `quarterly`"),
])
def test_what_cannot_be_a_period_or_schedule_is_said(services: Services, text: str, fragment: str) -> None:
    for caller in PLATFORMS:
        reply = router.run(text, services, caller)
        assert reply.is_error and reply.ephemeral and fragment in reply.text
        assert "ticker" not in reply.text.split(".")[0]


def test_a_short_window_plots_total_returns_not_cagr(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare SMH SPY 1w", services)
    plot = next(p for p in reply.plots if p.title.endswith("and volatility"))
    assert plot.title == "Total return and volatility" and plot.series[0].name == "Total return"
    expected = float(window_total(prices_dir, "SMH", LAST - pd.DateOffset(weeks=1)).rstrip("%"))
    assert plot.series[0].values[0] == pytest.approx(expected, abs=0.051)  # plots keep two decimals
    assert router.run("/compare SMH SPY 10y", services).plots[1].title == "CAGR and volatility"
