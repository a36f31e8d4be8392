"""Every command on a source whose data ends months before today: the shared CSV folder ends 2026-07-14 and
the clock says 2026-12-04 (the day this was written), or 2027-11-15 (data sixteen months old; the exchange calendar ends in December 2027).  Windows end
at the last close the data has, and replies say which date that is.

Expected figures come from the CSV text (``tests.expected``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.reply import Reply
from handlers.common.services import Services
from market.cache import Cache
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from store.teamdata import TeamStore
from tests.expected import closes, common_window, expected_score, months_back, total_returns

NEW_YORK = ZoneInfo("America/New_York")
ANA = Caller(platform="slack", team="T7", channel="C7", user="U7")


@pytest.fixture(params=[dt.datetime(2026, 12, 4, 9, 0, tzinfo=NEW_YORK), dt.datetime(2027, 11, 15, 9, 0, tzinfo=NEW_YORK)],
                ids=["months-late", "sixteen-months-late"])
def now(request: pytest.FixtureRequest) -> dt.datetime:
    return request.param


@pytest.fixture
def services(prices_dir: Path, cache: Cache, store: TeamStore, now: dt.datetime) -> Services:
    return Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: now), cache=cache,
                    team_store=store)


def last_common(prices_dir: Path, tickers: list[str]) -> dt.date:
    return max(set.intersection(*(set(closes(prices_dir, t)) for t in tickers)))


def ok(reply: Reply) -> Reply:
    assert not reply.is_error, reply.text
    return reply


@pytest.mark.parametrize("period, target", [
    ("1m", lambda end: months_back(end, 1)),
    ("3m", lambda end: months_back(end, 3)),
    ("6m", lambda end: months_back(end, 6)),
    ("ytd", lambda end: dt.date(end.year - 1, 12, 31)),
    ("1y", lambda end: end.replace(year=end.year - 1)),
    ("2y", lambda end: end.replace(year=end.year - 2)),
    ("10y", lambda end: end.replace(year=end.year - 10)),
    ("max", lambda end: dt.date(1900, 1, 1)),
    ("since 2026-05-01", lambda end: dt.date(2026, 4, 30)),
])
def test_compare_windows_end_at_the_last_close_the_data_has(services: Services, prices_dir: Path, period: str,
                                                            target) -> None:
    reply = ok(router.run(f"/compare SMH SPY {period}", services))
    end = last_common(prices_dir, ["SMH", "SPY"])
    if period == "max":
        start = min(set(closes(prices_dir, "SMH")) & set(closes(prices_dir, "SPY")))
    else:
        start, _ = common_window(prices_dir, ["SMH", "SPY"], target(end))
    totals = total_returns(prices_dir, ["SMH", "SPY"], start, end)
    assert f"{start} → {end}" in reply.footer and f"as of {end}" in reply.footer
    smh_total = dict(zip(reply.table.columns, reply.table.rows[0]))["Total"]
    assert smh_total in (f"{totals['SMH'] * 100:.1f}%", f"{totals['SMH'] * 100:.0f}%")


def test_a_call_enters_at_the_last_common_close_and_says_so(services: Services, prices_dir: Path,
                                                            now: dt.datetime) -> None:
    made = ok(router.run(f"/call SMH over SPY until {now.date() + dt.timedelta(days=90)}", services, ANA))
    entry = last_common(prices_dir, ["SMH", "SPY"])
    assert f"Entry {entry}: SMH {closes(prices_dir, 'SMH')[entry]:,.2f}, SPY {closes(prices_dir, 'SPY')[entry]:,.2f}" \
        in made.takeaway
    assert f"The latest common close in CSV folder prices is {entry}, so that is the entry." in made.notes
    assert f"as of {entry}" in made.footer
    listed = ok(router.run("/calls", services, ANA))
    assert dict(zip(listed.table.columns, listed.table.rows[0]))["Since entry"] == "+0.0%"
    assert f"as of {entry}" in listed.footer


def test_rotation_ranks_on_the_last_closes(services: Services, prices_dir: Path) -> None:
    reply = ok(router.run("/rotation size 2y", services, ANA))
    scores = {row[1]: row[2] for row in reply.table.rows}
    assert scores == {t: f"{expected_score(prices_dir, t) * 100:.1f}%" for t in scores}
    end = last_common(prices_dir, ["SPY"])
    assert f"as of {end}" in reply.footer
    start, _ = common_window(prices_dir, ["SPY"], end.replace(year=end.year - 2))
    assert f"from {start} to {end} (24 months)" in reply.chart.alt_text  # the whole 2y, not what reaches today


def test_signal_reads_the_last_closes(services: Services, prices_dir: Path) -> None:
    reply = ok(router.run("/signal semis", services, ANA))
    assert f"as of {last_common(prices_dir, ['SMH', 'SPY'])}" in reply.footer


def test_watchlist_and_digest_measure_from_the_last_close(services: Services, prices_dir: Path) -> None:
    ok(router.run("/watchlist add SMH XLE", services, ANA))
    listed = ok(router.run("/watchlist", services, ANA))
    digest = ok(router.run("/digest now", services, ANA))
    for ticker in ("SMH", "XLE"):
        end = last_common(prices_dir, [ticker])
        start, _ = common_window(prices_dir, [ticker], end.replace(year=end.year - 1))
        year = total_returns(prices_dir, [ticker], start, end)[ticker]
        assert dict(zip(listed.table.columns, next(r for r in listed.table.rows if r[0] == ticker)))["1y"] \
            == f"{year * 100:+.1f}%"
        ytd_start, _ = common_window(prices_dir, [ticker], dt.date(end.year - 1, 12, 31))
        ytd = total_returns(prices_dir, [ticker], ytd_start, end)[ticker]
        assert dict(zip(digest.table.columns, next(r for r in digest.table.rows if r[0] == ticker)))["ytd"] \
            == f"{ytd * 100:+.1f}%"
    assert "as of 2026-07-14" in listed.footer and "as of 2026-07-14" in digest.footer


@pytest.mark.parametrize("period, target", [
    ("3m", lambda end: months_back(end, 3)),
    ("1y", lambda end: end.replace(year=end.year - 1)),
])
def test_backtest_windows_end_at_the_last_close_the_data_has(services: Services, prices_dir: Path, period: str,
                                                             target) -> None:
    tickers = ["IWM", "SPY"]
    end = last_common(prices_dir, tickers)
    start, _ = common_window(prices_dir, tickers, target(end))
    for command in (f"/backtest IWM 100 {period}", f"/backtest tactical smallcaps {period}"):
        reply = ok(router.run(command, services))
        assert f"{start} → {end}" in reply.footer and f"as of {end}" in reply.footer
    totals = total_returns(prices_dir, tickers, start, end)
    single = ok(router.run(f"/backtest IWM 100 {period}", services))
    iwm_total = dict(zip(single.table.columns, single.table.rows[0]))["Total"]
    assert iwm_total in (f"{totals['IWM'] * 100:.1f}%", f"{totals['IWM'] * 100:.0f}%")
