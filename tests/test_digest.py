"""Watchlists, digest schedules and the scheduler, on a real Redis with a controllable clock."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_py

from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.reply import Reply
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from market.redis_server import EmbeddedRedis
from market.timing import Schedule, latest_due, next_due
from schedule.runner import DigestScheduler
from store.teamdata import Owner, TeamStore
from tests.conftest import DATA_NOW
from tests.doubles import Clock
from tests.expected import closes, months_back, trailing_pe

UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


CHANNEL = Caller(platform="slack", team="T1", channel="C1", user="U1")
DM = Caller(platform="slack", team="T1", channel="D1", user="U1", is_dm=True)


# --- when digests are due ------------------------------------------------------------------------


@pytest.mark.parametrize("now, expected", [
    ("2026-03-06T14:00", "2026-03-06T13:30"),  # Friday, New York on EST: 08:30 = 13:30 UTC
    ("2026-03-09T12:31", "2026-03-09T12:30"),  # Monday after the clocks went forward: 08:30 EDT = 12:30 UTC
    ("2026-03-09T12:29", "2026-03-06T13:30"),  # just before: the previous trading day's
    ("2026-11-02T13:31", "2026-11-02T13:30"),  # back on EST after 1 November
    ("2026-11-26T15:00", "2026-11-25T13:30"),  # Thanksgiving: the exchange is closed, no digest
    ("2026-07-06T12:00", "2026-07-02T12:30"),  # Friday 3 July is the Independence Day holiday
])
def test_daily_new_york_follows_the_wall_clock_and_the_exchange(now: str, expected: str) -> None:
    schedule = Schedule(kind="daily", at="08:30", tz="America/New_York")
    assert latest_due(schedule, utc(now)) == utc(expected)


def test_weekly_london_across_the_clock_change() -> None:
    schedule = Schedule(kind="weekly", at="08:00", tz="Europe/London", weekday=0)
    assert latest_due(schedule, utc("2026-03-25T12:00")) == utc("2026-03-23T08:00")  # GMT
    assert latest_due(schedule, utc("2026-04-01T12:00")) == utc("2026-03-30T07:00")  # BST from 29 March
    assert next_due(schedule, utc("2026-10-20T12:00")) == utc("2026-10-26T08:00")  # GMT again from 25 October


# --- watchlists ---------------------------------------------------------------------------------


def test_watchlist_add_remove_show(services: Services, prices_dir: Path) -> None:
    added = router.run("/watchlist add SMH soxx IWM", services, CHANNEL)
    assert added.ephemeral and "Added SMH, SOXX, IWM" in added.text
    assert "already" in router.run("/watchlist add SMH", services, CHANNEL).text
    assert "Removed SOXX" in router.run("/watchlist remove SOXX", services, CHANNEL).text

    shown = router.run("/watchlist", services, CHANNEL)
    assert [row[0] for row in shown.table.rows] == ["SMH", "IWM"]
    assert shown.table.columns == ("Ticker", "Last", "1d", "1w", "1m", "3m", "ytd", "1y")
    smh = closes(prices_dir, "SMH")
    days = sorted(smh)
    one_year_base = max(d for d in days if d <= dt.date(2025, 7, 14))
    row = dict(zip(shown.table.columns, shown.table.rows[0]))
    assert row["1d"] == f"{(smh[days[-1]] / smh[days[-2]] - 1) * 100:+.1f}%"
    assert row["1y"] == f"{(smh[days[-1]] / smh[one_year_base] - 1) * 100:+.1f}%"
    one_month_base = max(d for d in days if d <= months_back(days[-1], 1))  # a calendar month, not 4 weeks
    assert row["1m"] == f"{(smh[days[-1]] / smh[one_month_base] - 1) * 100:+.1f}%"
    assert shown.chart is not None and shown.chart.png.startswith(b"\x89PNG")


def shown_watchlist(services: Services, caller: Caller) -> list[str]:
    """The tickers ``/watchlist`` shows ``caller``, as they would read them; [] for an empty watchlist."""
    reply = router.run("/watchlist", services, caller)
    return [] if reply.table is None else [row[0] for row in reply.table.rows]


def test_watchlists_belong_to_their_channel_or_person(services: Services) -> None:
    router.run("/watchlist add QQQ", services, CHANNEL)
    router.run("/watchlist add GLD", services, DM)
    other_channel = Caller(platform="slack", team="T1", channel="C2", user="U1")
    assert shown_watchlist(services, CHANNEL) == ["QQQ"]
    assert shown_watchlist(services, DM) == ["GLD"]
    assert shown_watchlist(services, other_channel) == []


def test_watchlists_of_two_workspaces_stay_apart(services: Services) -> None:
    # The same channel and user ids in another Slack workspace, and on Discord, are other people's channels.
    other_team = Caller(platform="slack", team="T2", channel="C1", user="U1")
    discord = Caller(platform="discord", team="T1", channel="C1", user="U1")
    router.run("/watchlist add SMH", services, CHANNEL)
    router.run("/watchlist add XLE", services, other_team)
    assert shown_watchlist(services, CHANNEL) == ["SMH"]
    assert shown_watchlist(services, other_team) == ["XLE"]
    assert shown_watchlist(services, discord) == []
    router.run("/watchlist remove SMH", services, other_team)  # not in T2's list: T1's stays
    assert shown_watchlist(services, CHANNEL) == ["SMH"]


def test_watchlist_refuses_unknown_tickers_and_more_than_50(services: Services) -> None:
    refused = router.run("/watchlist add SMH NOPE", services, CHANNEL)
    assert refused.is_error and "NOPE" in refused.text
    assert shown_watchlist(services, CHANNEL) == []  # nothing added when any ticker is unknown
    too_many = router.run("/watchlist add " + " ".join(f"T{i}" for i in range(51)), services, CHANNEL)
    assert too_many.is_error and "at most 50" in too_many.text


def test_team_data_errors_are_explained_when_redis_is_down(prices_dir: Path, cache: Cache) -> None:
    dead = Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: DATA_NOW), cache=cache,
                    team_store=TeamStore(connect("redis://127.0.0.1:1")))
    reply = router.run("/watchlist add SMH", dead, CHANNEL)
    assert reply.is_error and "can't reach my storage" in reply.text


# --- /digest ------------------------------------------------------------------------------------


def test_digest_commands(services: Services) -> None:
    scheduled = router.run("/digest weekly mon 08:00 Europe/London", services, CHANNEL)
    assert "every Mon at 08:00 Europe/London" in scheduled.text and "next one is due" in scheduled.text
    assert "every Mon" in router.run("/digest status", services, CHANNEL).text
    subscription = services.store.subscription(CHANNEL.owner)
    assert (subscription.channel, subscription.schedule["weekday"]) == ("C1", 0)
    assert router.run("/digest off", services, CHANNEL).text == "Digest stopped."
    assert "No digest is scheduled" in router.run("/digest", services, CHANNEL).text



def test_digest_now_has_snapshot_movers_signals_valuation_and_chart(services: Services, prices_dir: Path) -> None:
    router.run("/watchlist add XLE", services, CHANNEL)
    digest = router.run("/digest now", services, CHANNEL)
    assert not digest.ephemeral and "Market digest" in digest.text
    assert [row[0] for row in digest.table.rows] == ["SPY", "QQQ", "IWM", "IJR", "SMH", "XLE"]
    spy = closes(prices_dir, "SPY")
    days = sorted(spy)
    year_end = max(d for d in days if d.year == 2025)
    row = dict(zip(digest.table.columns, digest.table.rows[0]))
    assert row["ytd"] == f"{(spy[days[-1]] / spy[year_end] - 1) * 100:+.1f}%"
    one_month_base = max(d for d in days if d <= months_back(days[-1], 1))
    assert row["1m"] == f"{(spy[days[-1]] / spy[one_month_base] - 1) * 100:+.1f}%"
    assert digest.takeaway.startswith("Biggest movers on the day")
    ijr, spy = trailing_pe(prices_dir, "IJR"), trailing_pe(prices_dir, "SPY")
    valuation = next(note for note in digest.notes if note.startswith(f"Trailing P/E vs SPY at {spy:.1f}x (P/E as of "))
    assert f"IJR {ijr:.1f}x ({(ijr / spy - 1) * 100:+.0f}%)" in valuation and "QQQ" not in valuation  # QQQ: no P/E
    assert digest.chart.png.startswith(b"\x89PNG")
    assert [a.command for a in digest.actions][0] == "/compare XLE vs SPY 1y"


# --- the scheduler ------------------------------------------------------------------------------


class Poster:
    """Records what would have been posted; can be told to fail a number of times first."""

    def __init__(self, failures: int = 0) -> None:
        self.posts: list[tuple[str, str]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self, subscription, reply: Reply) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("Slack is down")
            self.posts.append((subscription.channel, reply.text))


def digest_text(subscription, late: dt.timedelta | None) -> Reply:
    return Reply(text=f"digest for {subscription.channel}" + (" (late)" if late else ""))


def subscribe(store: TeamStore, schedule: Schedule, made_at: dt.datetime, channel: str = "C1") -> None:
    owner = Owner(platform="slack", team="T1", scope=f"channel:{channel}")
    store.subscribe(owner, channel, schedule.to_dict())
    key = store.key(owner, "digest")
    data = json.loads(store.client.hget(key, "subscription"))
    store.client.hset(key, "subscription", json.dumps({**data, "created_at": made_at.timestamp()}))


def results_at(scheduler: DigestScheduler, clock: Clock, when: str) -> list[str]:
    """What a tick of ``scheduler`` at ``when`` (UTC) did: the result of each digest it handled."""
    clock.when = utc(when)
    return [o.result for o in scheduler.tick()]


DAILY = Schedule(kind="daily", at="08:30", tz="America/New_York")


def test_a_digest_is_posted_once_at_its_time(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-03-06T00:00"))
    clock, poster = Clock(utc("2026-03-06T13:29")), Poster()
    scheduler = DigestScheduler(store, digest_text, poster, now=clock)
    assert scheduler.tick() == []  # 08:29: the last due time (Thursday's) came before the subscription
    assert results_at(scheduler, clock, "2026-03-06T13:30") == ["posted"]
    assert results_at(scheduler, clock, "2026-03-06T13:45") == []
    assert poster.posts == [("C1", "digest for C1")]


def test_two_schedulers_on_one_redis_post_once(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    clock, poster = Clock(utc("2026-03-06T13:30:05")), Poster()
    schedulers = [DigestScheduler(store, digest_text, poster, now=clock, owner=f"s{i}") for i in range(4)]
    barrier = threading.Barrier(len(schedulers))

    def tick(scheduler: DigestScheduler) -> None:
        barrier.wait()
        scheduler.tick()

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert poster.posts == [("C1", "digest for C1")]


def test_a_missed_run_is_caught_up_once_and_marked_late(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    poster = Poster()
    clock = Clock(utc("2026-03-06T15:40"))  # Tilt was down from 08:00 to 10:40 New York
    scheduler = DigestScheduler(store, digest_text, poster, now=clock)
    assert [o.result for o in scheduler.tick()] == ["late"]
    assert results_at(scheduler, clock, "2026-03-06T16:00") == []
    assert poster.posts == [("C1", "digest for C1 (late)")]


def test_a_run_missed_by_more_than_six_hours_is_skipped_and_logged(store: TeamStore, caplog) -> None:
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    poster = Poster()
    scheduler = DigestScheduler(store, digest_text, poster, now=Clock(utc("2026-03-06T20:00")))
    with caplog.at_level(logging.WARNING, logger="schedule.runner"):
        assert [o.result for o in scheduler.tick()] == ["skipped"]
        assert scheduler.tick() == []
    assert poster.posts == []
    assert len([r for r in caplog.records if "skipped the digest" in r.message]) == 1


def test_a_failed_post_is_retried_with_backoff_and_posted_once(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    clock, poster = Clock(utc("2026-03-06T13:30")), Poster(failures=2)
    scheduler = DigestScheduler(store, digest_text, poster, now=clock)
    assert [o.result for o in scheduler.tick()] == ["failed"]
    assert results_at(scheduler, clock, "2026-03-06T13:30:10") == []  # still backing off (30 s)
    assert results_at(scheduler, clock, "2026-03-06T13:30:31") == ["failed"]
    assert results_at(scheduler, clock, "2026-03-06T13:31:00") == []  # second backoff is 60 s
    assert results_at(scheduler, clock, "2026-03-06T13:31:32") == ["posted"]
    assert results_at(scheduler, clock, "2026-03-06T13:40:00") == []
    assert poster.posts == [("C1", "digest for C1")]


def test_handed_off_digests_are_posted_once_by_workers(store: TeamStore) -> None:
    """With workers, schedulers only hand the due digest off (once per lease), and workers post it once
    however many copies of the job they get."""
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    clock, poster, handed = Clock(utc("2026-03-06T13:30:05")), Poster(failures=1), []
    schedulers = [DigestScheduler(store, digest_text, poster, now=clock, owner=f"s{i}",
                                  hand_off=lambda kind, payload: handed.append((kind, payload))) for i in range(2)]
    worker = DigestScheduler(store, digest_text, poster, now=clock, owner="worker")
    assert [o.result for s in schedulers for o in s.tick()] == ["handed off"]
    assert [o.result for s in schedulers for o in s.tick()] == []  # a worker is on it
    (kind, payload), = handed
    assert kind == "digest" and payload["due"] == "2026-03-06T08:30:00-05:00"
    worker.run_job(payload)  # Slack is down: the post fails and backs off
    clock.when = utc("2026-03-06T13:33:00")  # after the hand-off lease and the backoff: handed off again
    assert [o.result for s in schedulers for o in s.tick()] == ["handed off"]
    for copy in (handed[-1][1], handed[-1][1], payload):
        worker.run_job(copy)
    assert poster.posts == [("C1", "digest for C1")]
    assert [o.result for s in schedulers for o in s.tick()] == []


def test_no_digest_on_a_holiday(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-11-25T14:00"))  # after Wednesday's digest
    poster = Poster()
    scheduler = DigestScheduler(store, digest_text, poster, now=Clock(utc("2026-11-26T14:00")))  # Thanksgiving
    assert scheduler.tick() == [] and poster.posts == []


def test_dst_change_keeps_the_local_time(store: TeamStore) -> None:
    subscribe(store, DAILY, utc("2026-03-05T00:00"))
    clock, poster = Clock(utc("2026-03-09T12:29")), Poster()
    scheduler = DigestScheduler(store, digest_text, poster, now=clock)
    scheduler.tick()  # Friday's is more than 6 h old by now: skipped, not posted
    assert poster.posts == []
    clock.when = utc("2026-03-09T12:30")  # 08:30 EDT
    assert [o.result for o in scheduler.tick()] == ["posted"]


# --- nothing lost ---------------------------------------------------------------------------------


def test_a_restart_keeps_watchlists_and_subscriptions(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "redis")
    store = TeamStore(connect(first.url))
    store.add_to_watchlist(CHANNEL.owner, ["SMH", "IWM"])
    store.subscribe(CHANNEL.owner, "C1", DAILY.to_dict())
    first.close()
    second = EmbeddedRedis(tmp_path / "redis")
    try:
        again = TeamStore(connect(second.url))
        assert again.watchlist(CHANNEL.owner) == ["SMH", "IWM"]
        assert [s.channel for s in again.all_subscriptions()] == ["C1"]
    finally:
        second.close()


def test_export_and_import_round_trip(store: TeamStore, redis_client: redis_py.Redis) -> None:
    store.add_to_watchlist(CHANNEL.owner, ["SMH", "IWM"])
    store.add_to_watchlist(DM.owner, ["GLD"])
    store.subscribe(CHANNEL.owner, "C1", DAILY.to_dict())
    exported = json.loads(json.dumps(store.export()))
    store.remove_from_watchlist(CHANNEL.owner, ["SMH", "IWM"])
    store.unsubscribe(CHANNEL.owner)
    assert store.import_(exported) == len(exported["keys"])
    assert store.watchlist(CHANNEL.owner) == ["SMH", "IWM"]
    assert store.watchlist(DM.owner) == ["GLD"]
    assert store.subscription(CHANNEL.owner).schedule == DAILY.to_dict()
    assert store.export() == exported
