"""Commands end to end through the router: real shared prices, real Redis, the replies people see.

Figures in replies are checked against values computed here from the CSV
text with the standard library, then formatted the way the table shows them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config import REPLY_CODE, code_release
from errors import DataUnavailable
from handlers.common import router
from handlers.common.reply import Reply
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from market.demo import DemoProvider
from market.redis_server import EmbeddedRedis
from tests.conftest import DATA_NOW as NOW
from tests.conftest import services_for
from tests.doubles import Flaky, Recording
from tests.expected import closes, common_window, total_returns, trailing_cagrs, trailing_pe

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def row_of(reply: Reply, ticker: str) -> dict[str, str]:
    assert reply.table is not None
    row = next(r for r in reply.table.rows if r[0] == ticker)
    return dict(zip(reply.table.columns, row))


def test_compare_reply_has_the_figures_a_chart_and_a_footer(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare SMH SPY 10y", services)
    smh = closes(prices_dir, "SMH")
    start, end, smh_cagr, spy_cagr = trailing_cagrs(prices_dir, "SMH", "SPY", 10)

    assert not reply.is_error and not reply.ephemeral
    assert row_of(reply, "SMH")["CAGR"] == f"{smh_cagr * 100:.1f}%"
    assert row_of(reply, "SPY")["CAGR"] == f"{spy_cagr * 100:.1f}%"
    assert row_of(reply, "SMH")["Total"] == f"{(smh[end] / smh[start] - 1) * 100:.0f}%"
    assert row_of(reply, "SMH")["Excess/yr"] == f"{(smh_cagr - spy_cagr) * 100:+.1f}%"
    assert [r[0] for r in reply.table.rows] == ["SMH", "SPY"]  # benchmark last
    assert "SMH beat SPY" in reply.takeaway
    assert f"{start} → {end}" in reply.footer and "as of 2026-07-14" in reply.footer
    assert "CSV folder prices" in reply.footer
    assert reply.chart is not None and reply.chart.png.startswith(PNG_SIGNATURE)
    assert len(reply.chart.png) < 1_000_000


def test_the_same_question_spelled_differently_is_answered_from_the_reply_cache(services: Services, recording: Recording) -> None:
    first = router.run("/compare SMH SPY 10y", services)
    stored = services.cache.client.keys(f"{services.cache.prefix}reply:*")
    assert len(stored) == 1
    ttl = services.cache.client.ttl(stored[0])
    assert 0 < ttl <= 8 * 3600  # 09:00 on 15 July: the reply lives until the settled close at 16:30
    calls = len(recording.calls)
    again = router.run("/compare spy smh 10Y", services)
    assert len(recording.calls) == calls
    assert again.plain_text() == first.plain_text()
    assert again.chart.png == first.chart.png


def test_history_shorter_than_asked_is_said(services: Services) -> None:
    reply = router.run("/compare SGOV SPY 10y", services)
    assert any("SGOV's history starts 2020-06-01" in note and "not 10y" in note for note in reply.notes)
    assert "2020-06-01 →" in reply.footer


def test_series_ending_on_different_days_end_together(services: Services) -> None:
    reply = router.run("/compare AGG SPY 1y", services)  # AGG's file ends a day before SPY's
    assert any("AGG" in note and "2026-07-13" in note for note in reply.notes)
    assert "as of 2026-07-13" in reply.footer


def test_valuation_reply_shows_the_gap_and_n_a(services: Services, prices_dir: Path) -> None:
    reply = router.run("/valuation IJR IWM SPY", services)
    ijr, spy = trailing_pe(prices_dir, "IJR"), trailing_pe(prices_dir, "SPY")
    assert row_of(reply, "IJR")["P/E"] == f"{ijr:.1f}x"
    assert row_of(reply, "IJR")["P/E vs bench"] == f"{(ijr / spy - 1) * 100:+.0f}%"
    assert row_of(reply, "IJR")["Fwd P/E"] == "n/a"
    assert row_of(reply, "SPY")["P/E vs bench"] == "—"
    assert f"IJR trades at {ijr:.1f}x" in reply.takeaway and "discount" in reply.takeaway
    assert "as of 2025-10-31" in reply.footer


@pytest.mark.parametrize("command, fragment, with_usage", [
    ("/compare FOO SPY", "can't find the ticker FOO", True),
    ("/compare SMH 10x", "`10x` is not a period I know", True),
    ("/compare SMH SPY 1.5y", "`1.5y` is not a period I know", True),
    ("/compare SMH SPY 100y", "out of range", True),
    ("/compare SMH 0y", "out of range", True),
    ("/compare A B C D E F G H I", "at most 8", True),
    ("/compare $$$", "not a ticker", True),
    ("/valuation IJR 5y", "leave out the period", True),
    ("/frobnicate", "don't know the command", True),
    ("/help nothing", "no command `nothing`", True),
    ("/compare IJR SPY 1900-01-01..1901-01-01", "No prices for", False),
    ("/digest hourly 08:00", "not a digest schedule", True),
    ("/digest daily 8.30", "HH:MM", True),
    ("/digest daily 25:00", "HH:MM", True),
    ("/digest daily 08:30 Mars/Olympus", "not a time zone", True),
    ("/digest weekly 08:00", "which day", True),
    ("/call IWM over IWM until 2026-12-31", "two different tickers", True),
    ("/call IWM until 2026-07-01", "future date", True),
    ("/call IWM until someday", "not a date", True),
    ("/call IWM over SPY", "until YYYY-MM-DD", True),
    ("/call NOPE until 2026-12-31", "NOPE", True),
    ("/rotation nowhere", "no universe `nowhere`", True),
    ("/rotation set size SPY", "can't be a universe name", True),
    ("/rotation set mine NOPE", "NOPE", True),
    ("/rotation sectors 5y", "1m to 2y", True),
])
def test_bad_input_gets_a_private_friendly_message(services: Services, command: str, fragment: str, with_usage: bool) -> None:
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral
    assert fragment in reply.text
    assert bool(reply.usage) == with_usage
    assert "Traceback" not in reply.plain_text()


class Broken:
    """A data source that is down, or that fails in a way nobody planned for."""

    name, key, is_demo, bills = "Broken", "broken", False, "BIL"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def bars(self, tickers, start, end):
        raise self.error

    def fundamentals(self, tickers):
        raise self.error


def test_a_data_source_that_is_down_is_explained(cache: Cache) -> None:
    reply = router.run("/compare SMH SPY", services_for(Broken(DataUnavailable("Yahoo Finance did not answer.")), cache))
    assert reply.is_error and reply.ephemeral and "did not answer" in reply.text


def test_an_unexpected_failure_is_logged_not_shown(cache: Cache, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="handlers.common.router"):
        reply = router.run("/valuation IJR SPY", services_for(Broken(ZeroDivisionError("boom")), cache))
    assert reply.is_error and reply.ephemeral
    assert "boom" not in reply.plain_text() and "ZeroDivisionError" not in reply.plain_text()
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_demo_replies_say_they_are_not_real(cache: Cache) -> None:
    reply = router.run("/compare SMH SPY 5y", services_for(DemoProvider(today=dt.date(2026, 7, 15)), cache))
    assert "demo data, not real prices" in reply.text
    assert "demo data, not real prices" in reply.footer
    assert router.run("/valuation IJR SPY", services_for(DemoProvider(), cache)).text.endswith("(demo data, not real figures)")


def test_tilt_answers_while_redis_is_stopped_mid_run(recording: Recording, tmp_path: Path, prices_dir: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    services = services_for(recording, Cache(connect(server.url), retry_after=0.0))
    before = router.run("/compare IJR SPY 5y", services)
    server.close()
    during = router.run("/compare IJR SPY 3y", services)
    assert not before.is_error and not during.is_error
    # Each answer is the figure for its own window, computed afresh without Redis, not a stale or cached one.
    for reply, years in ((before, 5), (during, 3)):
        _, _, ijr_cagr, spy_cagr = trailing_cagrs(prices_dir, "IJR", "SPY", years)
        assert (row_of(reply, "IJR")["CAGR"], row_of(reply, "SPY")["CAGR"]) == (f"{ijr_cagr * 100:.1f}%",
                                                                                f"{spy_cagr * 100:.1f}%")
    assert not services.cache.available


class Slow(Recording):
    """A provider that takes a while, so that concurrent identical requests overlap."""

    def bars(self, tickers, start, end):
        time.sleep(0.3)
        return super().bars(tickers, start, end)


def test_identical_requests_arriving_together_are_computed_once(prices_dir: Path, cache: Cache) -> None:
    provider = Slow(CsvFolderProvider(prices_dir))
    services = services_for(provider, cache)
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda text: router.run(text, services), ["/compare XLE SPY 3y", "/compare spy xle 3Y"] * 3))
    assert len({r.plain_text() for r in replies}) == 1 and not replies[0].is_error
    # One computation: one batched fetch of the prices, one of the T-bills the Sharpe ratios are measured against.
    assert [c[:2] for c in provider.calls] == [("bars", ("XLE", "SPY")), ("bars", ("BIL",))]


def test_follow_up_actions_survive_the_reply_cache(services: Services) -> None:
    first = router.run("/compare SMH SPY 10y", services)
    cached = router.run("/compare SMH SPY 10y", services)
    assert [a.label for a in first.actions] == ["1y", "5y", "max"]
    assert cached.actions == first.actions
    assert first.actions[1].command == "/compare SMH vs SPY 5y"


def test_a_failing_source_falls_back_to_cached_prices_and_says_so(prices_dir: Path, cache: Cache) -> None:
    provider = Flaky(CsvFolderProvider(prices_dir))
    clock = {"now": NOW}
    services = Services(market=CachedMarket(provider, cache, now=lambda: clock["now"]), cache=cache)
    fresh = router.run("/compare IJR SPY 3y", services)
    clock["now"] = NOW + dt.timedelta(days=2)  # past the next close: the bars need refreshing
    provider.down = True
    degraded = router.run("/compare IJR SPY 2y", services)
    assert not degraded.is_error and "did not answer" in degraded.notes[-1]
    assert "as of 2026-07-14" in degraded.footer and "as of 2026-07-14" in fresh.footer
    again = router.run("/compare IJR SPY 2y", services)
    prices = [c for c in provider.calls if c[:2] == ("bars", ("IJR", "SPY"))]
    assert provider.calls[-1][0] == "bars" and len(prices) == 3  # not cached
    assert "did not answer" in again.notes[-1]
    never_cached = router.run("/compare XLU SPY 2y", services)
    assert never_cached.is_error and "did not answer" in never_cached.text


def test_a_reply_cached_by_earlier_code_is_not_served_after_a_deploy(prices_dir: Path, cache: Cache) -> None:
    before, after = (dataclasses.replace(services_for(CsvFolderProvider(prices_dir), cache), release=release)
                     for release in ("old", "new"))
    right = router.run("/compare SMH SPY 10y", before)
    # The old code's cached reply is made wrong, as a figure a deploy corrects would be.
    [key] = cache.client.keys(f"{cache.prefix}reply:old:*")
    cache.client.hset(key, "doc", Reply(text="a figure the old code got wrong").to_bytes()[0])
    assert router.run("/compare SMH SPY 10y", before).text == "a figure the old code got wrong"  # served from cache
    assert router.run("/compare SMH SPY 10y", after) == right


def test_the_release_is_a_digest_of_the_code_that_shapes_replies(tmp_path: Path) -> None:
    for package in REPLY_CODE:
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text(f"NAME = {package!r}\n")
    (tmp_path / "bot.py").write_text("WIRING = 1\n")
    first = code_release(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{12}", first) and code_release(tmp_path) == first
    (tmp_path / "bot.py").write_text("WIRING = 2\n")  # wiring, not reply code: the same release
    assert code_release(tmp_path) == first
    changed = set()
    for package in REPLY_CODE:
        (tmp_path / package / "module.py").write_text(f"NAME = {package!r} + '!'\n")
        changed.add(code_release(tmp_path))
    assert len(changed | {first}) == len(REPLY_CODE) + 1
    assert code_release() != code_release(tmp_path)  # the project's own code


def test_the_reply_cache_keeps_raw_numbers_and_plots(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare SMH SPY 10y", services)
    again = Reply.from_bytes(*reply.to_bytes())
    assert again == reply and again.table.values and len(again.plots) == 2
    _, _, smh_cagr, _ = trailing_cagrs(prices_dir, "SMH", "SPY", 10)
    assert again.table.numbers(0)[reply.table.columns.index("CAGR")] == pytest.approx(smh_cagr, rel=1e-9)
    # A reply cached before tables carried numbers (and replies plots) still reads, without them.
    document = json.loads(reply.to_bytes()[0])
    del document["table"]["values"], document["plots"]
    older = Reply.from_bytes(json.dumps(document).encode(), reply.chart.png)
    assert older.table.rows == reply.table.rows and older.table.values == () and older.plots == ()


@pytest.mark.parametrize("command, tickers, start_target", [
    ("/compare QQQ ytd", ["QQQ", "SPY"], dt.date(2025, 12, 31)),
    ("/compare SMH SPY 6m", ["SMH", "SPY"], dt.date(2026, 1, 14)),
    ("/compare IWM QQQ vs SPY 3m", ["IWM", "QQQ", "SPY"], dt.date(2026, 4, 14)),
])
def test_a_window_under_a_year_is_not_annualised(services: Services, prices_dir: Path, command: str,
                                                 tickers: list[str], start_target: dt.date) -> None:
    reply = router.run(command, services)
    start, end = common_window(prices_dir, tickers, start_target)
    totals = total_returns(prices_dir, tickers, start, end)
    assert not reply.is_error, reply.text
    assert reply.table.columns == ("Ticker", "Total", "Vol", "Max DD", "Sharpe", "Beta", "Corr", "Excess")
    for ticker in tickers[:-1]:
        assert row_of(reply, ticker)["Total"] == f"{totals[ticker] * 100:.1f}%"
        assert row_of(reply, ticker)["Excess"] == f"{(totals[ticker] - totals['SPY']) * 100:+.1f}%"
    best = max(tickers[:-1], key=totals.get)
    gap = (totals[best] - totals["SPY"]) * 100
    assert f"{best} {'beat' if gap >= 0 else 'trailed'} SPY by {abs(gap):.1f} pts " in reply.takeaway
    assert f"(total return {totals[best] * 100:.1f}% vs {totals['SPY'] * 100:.1f}%)" in reply.takeaway
    assert "a year" not in reply.plain_text() and "CAGR" not in reply.plain_text()
    assert f"{start} → {end}" in reply.footer


def test_a_window_of_a_year_keeps_cagr_and_excess_a_year(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare SMH SPY 1y", services)
    start, end, smh_cagr, spy_cagr = trailing_cagrs(prices_dir, "SMH", "SPY", 1)
    assert reply.table.columns[2] == "CAGR" and reply.table.columns[-1] == "Excess/yr"
    assert f"SMH beat SPY by {(smh_cagr - spy_cagr) * 100:.1f} pts a year over 1y" in reply.takeaway
