"""Signal cards, votes, team calls and their follow-ups in threads, on a real Redis with a controllable clock.

Expectations are computed independently from the CSV text (``tests.expected.closes``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.reply import Reply, mention
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from schedule.watch import Watcher
from store.teamdata import Owner, TeamStore
from tests.expected import closes

NEW_YORK = ZoneInfo("America/New_York")
DATA_NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=NEW_YORK)
ANA = Caller(platform="slack", team="T1", channel="C1", user="U1")
BEN = Caller(platform="slack", team="T1", channel="C1", user="U2")
TEAM = Owner(platform="slack", team="T1", scope="team")


class Clock:
    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def __call__(self) -> dt.datetime:
        return self.when


def evening(day: dt.date | str) -> dt.datetime:
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime(day.year, day.month, day.day, 18, 0, tzinfo=NEW_YORK)


class ThreadPoster:
    """Records follow-ups as (platform, channel, thread ts, text); slow, so concurrent watchers overlap."""

    def __init__(self, delay: float = 0.2) -> None:
        self.posts: list[tuple[str, str, str | None, str]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, team: Owner, channel: str, thread_ts: str | None, reply: Reply) -> None:
        time.sleep(self.delay)
        with self._lock:
            self.posts.append((team.platform, channel, thread_ts, reply.plain_text()))


@pytest.fixture
def clock() -> Clock:
    return Clock(DATA_NOW)


@pytest.fixture
def services(prices_dir: Path, store: TeamStore, clock: Clock) -> Services:
    # Uncached market: the clock moves back and forth in these tests, and the CSV provider filters to "today".
    return Services(market=CachedMarket(CsvFolderProvider(prices_dir), Cache(None), now=clock), cache=Cache(None),
                    team_store=store)


def tally(reply: Reply) -> tuple[int, int]:
    note = next(n for n in reply.notes if n.startswith("Votes:"))
    agree, disagree = re.fullmatch(r"Votes: (\d+) agree – (\d+) disagree", note).groups()
    return int(agree), int(disagree)


def common_last(series: dict[str, dict[dt.date, float]], on_or_before: dt.date) -> dt.date:
    return max(set.intersection(*(set(s) for s in series.values())) & {d for d in series["a"] if d <= on_or_before})


# --- signal cards and votes ------------------------------------------------------------------------


def test_signal_card_says_what_and_since_when(services: Services, prices_dir: Path) -> None:
    card = router.run("/signal smallcaps", services, ANA)
    assert not card.is_error and not card.ephemeral, card.text
    # Independently: IWM/SPY against its 200-session average on the CSV closes; the current run's first day.
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    days = sorted(set(iwm) & set(spy) & {d for d in iwm if d >= dt.date(2023, 7, 1)})
    ratio = pd.Series([iwm[d] / spy[d] for d in days], index=days)
    above = (ratio > ratio.rolling(200).mean())[199:]
    run_start = max((d for d, prev, now in zip(above.index[1:], above.values[:-1], above.values[1:]) if prev != now))
    state = "leading" if above.iloc[-1] else "lagging"
    assert f"IWM vs SPY is *{state}*" in card.text
    assert f"{state} SPY since {run_start}" in card.takeaway
    assert [a.label for a in card.actions] == ["Agree (0)", "Disagree (0)"]
    assert card.track and card.track.startswith("card:") and card.chart.png.startswith(b"\x89PNG")
    assert card.actions[0].command == f"/vote {card.track.split(':')[1]} agree"


def test_unknown_signal_and_bad_votes_are_explained(services: Services) -> None:
    assert "Known: smallcaps, semis" in router.run("/signal bonds", services, ANA).text
    card = router.run("/signal semis", services, ANA)
    card_id = card.track.split(":")[1]
    assert router.run(f"/vote {card_id} maybe", services, ANA).is_error
    assert "no longer known" in router.run("/vote nosuchcard agree", services, ANA).text
    assert "/vote" not in router.run("/help", services, ANA).plain_text()  # buttons' command, not for people


def test_votes_from_twenty_people_in_parallel_tally_exactly(services: Services) -> None:
    card = router.run("/signal smallcaps", services, ANA)
    card_id = card.track.split(":")[1]
    people = [Caller(platform="slack", team="T1", channel="C1", user=f"U{i:02d}") for i in range(20)]
    first = {p.user: "agree" if i % 3 else "disagree" for i, p in enumerate(people)}
    changed = {p.user: ("disagree" if first[p.user] == "agree" else "agree") for i, p in enumerate(people) if i % 4 == 0}
    start = threading.Barrier(len(people))

    def vote(person: Caller) -> list[Reply]:
        start.wait()
        replies = [router.run(f"/vote {card_id} {first[person.user]}", services, person)]
        if person.user in changed:
            replies.append(router.run(f"/vote {card_id} {changed[person.user]}", services, person))
        return replies

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        replies = [r for rs in pool.map(vote, people) for r in rs]
    assert not any(r.is_error for r in replies)
    assert all(r.chart is None and r.track is None for r in replies)  # a vote updates the card, never posts a new one
    final = {**first, **changed}
    expected = (sum(v == "agree" for v in final.values()), sum(v == "disagree" for v in final.values()))
    # The scenario by hand: 13 agree and 7 disagree first; U00, U12 switch to agree, U04, U08, U16 to disagree.
    assert expected == (12, 8)
    again = router.run(f"/vote {card_id} {final['U00']}", services, people[0])  # a repeated vote changes nothing
    assert tally(again) == expected
    assert [a.label for a in again.actions] == [f"Agree ({expected[0]})", f"Disagree ({expected[1]})"]
    assert services.store.votes(TEAM, card_id) == final


# --- calls -----------------------------------------------------------------------------------------


def relative(prices_dir: Path, a: str, b: str, entry: dt.date, end: dt.date) -> tuple[dt.date, dt.date, float]:
    """Entry and end dates (last common close on or before) and the relative return, from the CSV text."""
    series = {"a": closes(prices_dir, a), "b": closes(prices_dir, b)}
    start, stop = common_last(series, entry), common_last(series, end)
    return start, stop, (series["a"][stop] / series["a"][start]) / (series["b"][stop] / series["b"][start]) - 1


def row(reply: Reply, number: str) -> dict[str, str]:
    return next(dict(zip(reply.table.columns, r)) for r in reply.table.rows if r[0] == f"#{number}")


def test_call_performance_matches_the_price_data(services: Services, clock: Clock, prices_dir: Path) -> None:
    clock.when = evening("2026-01-15")
    made = router.run("/call IWM over SPY until 2026-06-30 small caps catch up", services, ANA)
    assert not made.is_error, made.text
    assert made.track == "call:1" and "Call #1" in made.text
    entry, _, _ = relative(prices_dir, "IWM", "SPY", dt.date(2026, 1, 15), dt.date(2026, 1, 15))
    assert f"Entry {entry}" in made.takeaway and f"IWM {closes(prices_dir, 'IWM')[entry]:,.2f}" in made.takeaway

    clock.when = evening("2026-04-15")
    listed = router.run("/calls", services, BEN)
    _, _, expected = relative(prices_dir, "IWM", "SPY", dt.date(2026, 1, 15), dt.date(2026, 4, 15))
    assert row(listed, "1")["Since entry"] == f"{expected * 100:+.1f}%"
    assert row(listed, "1")["Status"] == "open" and row(listed, "1")["By"] == "U1"
    assert "#1: small caps catch up" in listed.notes

    clock.when = DATA_NOW  # past expiry, not yet resolved: measured to the expiry close
    _, _, at_expiry = relative(prices_dir, "IWM", "SPY", dt.date(2026, 1, 15), dt.date(2026, 6, 30))
    assert row(router.run("/calls", services, BEN), "1")["Since entry"] == f"{at_expiry * 100:+.1f}%"


@pytest.mark.parametrize("text, fragment", [
    ("/call IWM over IWM until 2026-12-31", "two different tickers"),
    ("/call IWM until 2026-07-01", "future date"),
    ("/call IWM until someday", "not a date"),
    ("/call IWM over SPY", "until YYYY-MM-DD"),
    ("/call NOPE until 2026-12-31", "NOPE"),
])
def test_bad_calls_are_refused(services: Services, text: str, fragment: str) -> None:
    reply = router.run(text, services, ANA)
    assert reply.is_error and fragment in reply.text and reply.usage, reply.text


def test_calls_resolve_once_at_expiry_with_hit_rates(services: Services, clock: Clock, prices_dir: Path) -> None:
    clock.when = evening("2026-01-15")
    router.run("/call IWM over SPY until 2026-06-30", services, ANA)         # #1, tracked in a thread
    router.run("/call SPY over IWM until 2026-06-30", services, BEN)         # #2, the opposite: exactly one hits
    router.run("/call SMH until 2026-05-29 chips", services, ANA)            # #3, against SPY
    router.run("/call XLE until 2026-12-31", services, BEN)                  # #4, not due
    router.posted(services, ANA, "call:1", "C1", "1700000000.000100")

    clock.when = evening("2026-06-30")  # expiry day itself: #3 is due (after 29 May), #1 and #2 not yet
    poster = ThreadPoster(delay=0.0)
    assert [f.item for f in Watcher(services, poster).tick()] == ["3"]

    clock.when = DATA_NOW
    watchers = [Watcher(services, poster, owner=f"w{i}") for i in range(2)]
    start = threading.Barrier(2)

    def tick(watcher: Watcher) -> list:
        start.wait()
        return watcher.tick()

    poster.delay = 0.2
    with ThreadPoolExecutor(max_workers=2) as pool:
        followed = [f for fs in pool.map(tick, watchers) for f in fs]
    assert sorted(f.item for f in followed) == ["1", "2"]
    assert watchers[0].tick() == [] and watchers[1].tick() == []
    assert len(poster.posts) == 3

    results = {}
    for number, (a, b, until) in {"1": ("IWM", "SPY", "2026-06-30"), "2": ("SPY", "IWM", "2026-06-30"),
                                  "3": ("SMH", "SPY", "2026-05-29")}.items():
        _, end, value = relative(prices_dir, a, b, dt.date(2026, 1, 15), dt.date.fromisoformat(until))
        results[number] = value
        post = next(p for p in poster.posts if f"Call #{number} resolved" in p[3])
        assert f"{'a hit' if value > 0 else 'a miss'}." in post[3] and f"{value * 100:+.1f}%" in post[3]
        assert f"to {end}" in post[3]
    assert next(p for p in poster.posts if "Call #1 " in p[3])[:3] == ("slack", "C1", "1700000000.000100")
    assert next(p for p in poster.posts if "Call #2 " in p[3])[:3] == ("slack", "C1", None)  # no thread known: channel

    listed = router.run("/calls", services, ANA)
    assert [r[0] for r in listed.table.rows] == ["#4", "#1", "#2", "#3"]  # open first
    for number, value in results.items():
        assert row(listed, number)["Status"] == ("hit" if value > 0 else "miss")
        assert row(listed, number)["Since entry"] == f"{value * 100:+.1f}%"
    ana_hits = (results["1"] > 0) + (results["3"] > 0)
    ben_hits = int(results["2"] > 0)
    rates = next(n for n in listed.notes if n.startswith("Hit rate"))
    assert f"{mention('U1')} {ana_hits} of 2 ({ana_hits / 2 * 100:.0f}%)" in rates
    assert f"{mention('U2')} {ben_hits} of 1 ({ben_hits * 100:.0f}%)" in rates


def test_only_the_author_cancels_a_call_and_a_cancelled_call_is_not_scored(services: Services, clock: Clock,
                                                                           prices_dir: Path) -> None:
    clock.when = evening("2026-01-15")
    router.run("/call IWM over SPY until 2026-06-30", services, ANA)   # #1, to be cancelled
    router.run("/call SMH until 2026-05-29", services, ANA)            # #2, resolves and is scored
    clock.when = evening("2026-02-02")

    refused = router.run("/call cancel 1", services, BEN)
    assert refused.is_error and refused.ephemeral and f"Only {mention('U1')}" in refused.text
    assert row(router.run("/calls", services, ANA), "1")["Status"] == "open"  # Ben changed nothing

    cancelled = router.run("/call cancel 1", services, ANA)
    assert not cancelled.is_error and "Call #1" in cancelled.text and "cancelled" in cancelled.text
    again = router.run("/call cancel 1", services, ANA)
    assert again.is_error and "already cancelled" in again.text
    for text, fragment in (("/call cancel 9", "no call #9"), ("/call cancel x", "number")):
        reply = router.run(text, services, ANA)
        assert reply.is_error and fragment in reply.text, reply.text

    clock.when = DATA_NOW  # both past expiry: only the open one resolves
    poster = ThreadPoster(delay=0.0)
    assert [f.item for f in Watcher(services, poster).tick()] == ["2"]
    listed = router.run("/calls", services, ANA)
    assert row(listed, "1")["Status"] == "cancelled" and row(listed, "1")["Since entry"] == "–"
    assert listed.text == "*Team calls*: 0 open, 1 closed, 1 cancelled"
    _, _, smh = relative(prices_dir, "SMH", "SPY", dt.date(2026, 1, 15), dt.date(2026, 5, 29))
    hits = int(smh > 0)
    assert f"{mention('U1')} {hits} of 1 ({hits * 100:.0f}%)" in next(n for n in listed.notes if n.startswith("Hit rate"))
    assert not any(n.startswith("Open calls") for n in router.run("/digest now", services, ANA).notes)


def test_open_calls_appear_in_the_digest(services: Services, clock: Clock, prices_dir: Path) -> None:
    clock.when = evening("2026-03-02")
    router.run("/call IJR over SPY until 2026-12-31", services, ANA)
    clock.when = DATA_NOW
    digest = router.run("/digest now", services, ANA)
    _, _, value = relative(prices_dir, "IJR", "SPY", dt.date(2026, 3, 2), dt.date(2026, 7, 14))
    assert f"Open calls: #1 IJR over SPY {value * 100:+.1f}% (until 2026-12-31)." in digest.notes


def test_cards_and_calls_need_storage(prices_dir: Path) -> None:
    dead = Services(market=CachedMarket(CsvFolderProvider(prices_dir), Cache(None), now=lambda: DATA_NOW),
                    cache=Cache(None), team_store=TeamStore(connect("redis://127.0.0.1:1")))
    for text in ("/signal smallcaps", "/call IWM until 2026-12-31", "/calls", "/vote abc agree"):
        reply = router.run(text, dead, ANA)
        assert reply.is_error and "can't reach my storage" in reply.text, text


def test_cards_votes_and_calls_survive_export_and_import(services: Services, store: TeamStore) -> None:
    card_id = router.run("/signal semis", services, ANA).track.split(":")[1]
    router.run(f"/vote {card_id} agree", services, BEN)
    router.run("/call IWM until 2026-12-31", services, ANA)
    router.posted(services, ANA, f"card:{card_id}", "C1", "1.5")
    exported = json.loads(json.dumps(store.export()))
    store.client.delete(*[k for k in exported["keys"]])
    assert store.calls(TEAM) == [] and store.watched_teams() == []
    store.import_(exported)
    assert store.votes(TEAM, card_id) == {"U2": "agree"}
    assert [c["a"] for c in store.calls(TEAM)] == ["IWM"] and store.thread(TEAM, f"card:{card_id}") == ("C1", "1.5")
    assert store.watched_teams() == [TEAM]


# --- signal flips --------------------------------------------------------------------------------


def last_flip(prices_dir: Path, a: str, b: str) -> tuple[dt.date, dt.date]:
    """The last session before the ratio a/b last crossed its 200-session average, and the first one after."""
    sa, sb = closes(prices_dir, a), closes(prices_dir, b)
    days = sorted(set(sa) & set(sb))
    ratio = pd.Series([sa[d] / sb[d] for d in days], index=days)
    above = (ratio > ratio.rolling(200).mean())[199:]
    changes = [i for i in range(1, len(above)) if above.iloc[i] != above.iloc[i - 1]]
    return above.index[changes[-1] - 1], above.index[changes[-1]]


def test_a_flip_posts_exactly_one_thread_reply(services: Services, clock: Clock, prices_dir: Path) -> None:
    before, after = last_flip(prices_dir, "IWM", "SPY")
    clock.when = evening(before)
    card = router.run("/signal smallcaps", services, ANA)
    old_state = "leading" if "is *leading*" in card.text else "lagging"
    router.posted(services, ANA, card.track, "C1", "1700000000.000200")
    untracked = router.run("/signal smallcaps", services, BEN)  # never reported as posted: no thread to reply in
    router.run(f"/vote {card.track.split(':')[1]} agree", services, BEN)
    poster = ThreadPoster()
    assert Watcher(services, poster).tick() == [] and poster.posts == []  # nothing changed

    clock.when = evening(after)
    watchers = [Watcher(services, poster, owner=f"w{i}") for i in range(2)]
    start = threading.Barrier(2)

    def tick(watcher: Watcher) -> list:
        start.wait()
        return watcher.tick()

    with ThreadPoolExecutor(max_workers=2) as pool:
        followed = [f for fs in pool.map(tick, watchers) for f in fs]
    assert [f.what for f in followed] == ["flip"]
    assert len(poster.posts) == 1
    platform, channel, thread, text = poster.posts[0]
    new_state = "lagging" if old_state == "leading" else "leading"
    assert (platform, channel, thread) == ("slack", "C1", "1700000000.000200")
    assert f"now *{new_state}* SPY (since {after})" in text and f"it was {old_state}" in text
    assert "Votes on this card: 1 agree – 0 disagree" in text
    assert watchers[0].tick() == [] and watchers[1].tick() == [] and len(poster.posts) == 1
    assert services.store.card(TEAM, card.track.split(":")[1])["state"] == new_state
    assert services.store.card(TEAM, untracked.track.split(":")[1])["state"] == old_state


def test_rotation_offers_the_signal_card(services: Services) -> None:
    size = router.run("/rotation", services, ANA)
    assert ("Signal card: smallcaps", "/signal smallcaps") in [(a.label, a.command) for a in size.actions]
    assert "/signal semis" in [a.command for a in router.run("/rotation semis", services, ANA).actions]


def test_slack_poster_replies_in_the_thread() -> None:
    from chat.slack.client import web_client
    from chat.slack.delivery import poster
    from tests.slack_standin import SlackStandIn

    with SlackStandIn() as slack:
        client = web_client("xoxb-test", slack.api_url)
        post = poster(lambda team: client)
        post("T1", "CTHREAD", "1700000000.000300", Reply(text="*Flip:* now lagging"))
        sent = slack.wait_for("chat.postMessage")[0].body
        assert (sent["channel"], sent["thread_ts"], sent["text"]) == ("CTHREAD", "1700000000.000300", "*Flip:* now lagging")
        slack.not_member.add("CGONE")
        with pytest.raises(PermissionError):  # so the watcher gives the lease back and tries again later
            post("T1", "CGONE", "1.0", Reply(text="x"))


def test_a_follow_up_that_cannot_be_posted_backs_off_and_is_posted_once(services: Services, clock: Clock) -> None:
    clock.when = evening("2026-01-15")
    router.run("/call IWM until 2026-06-30", services, ANA)
    attempts: list[dt.datetime] = []
    delivered = ThreadPoster(delay=0.0)

    def flaky(platform: str, channel: str, thread_ts: str | None, reply: Reply) -> None:
        attempts.append(clock.when)
        if len(attempts) <= 2:
            raise PermissionError("not_in_channel")
        delivered(platform, channel, thread_ts, reply)

    watcher = Watcher(services, flaky)
    start = DATA_NOW
    for seconds, expected in ((0, []), (10, []), (31, []), (60, []), (92, ["1"]), (600, [])):
        clock.when = start + dt.timedelta(seconds=seconds)
        assert [f.item for f in watcher.tick()] == expected, seconds
    assert [int((a - start).total_seconds()) for a in attempts] == [0, 31, 92]  # 30 s, then 60 s of backoff
    assert len(delivered.posts) == 1 and services.store.calls(TEAM)[0]["status"] == "closed"


def test_no_id_reaches_another_workspace(services: Services) -> None:
    """Card ids, call ids and channel ids are looked up inside the caller's own workspace only."""
    other = Caller(platform="slack", team="T2", channel="C1", user="U1")  # same channel and user ids, other team
    card_id = router.run("/signal smallcaps", services, ANA).track.split(":")[1]
    refused = router.run(f"/vote {card_id} agree", services, other)
    assert refused.is_error and "no longer known here" in refused.text
    tally = router.run(f"/vote {card_id} disagree", services, ANA)
    assert [a.label for a in tally.actions] == ["Agree (0)", "Disagree (1)"]  # the other team's click counted nowhere
    router.run("/call IWM over SPY until 2026-07-30 mine", services, ANA)
    assert "mine" not in router.run("/calls", services, other).plain_text()
    assert "mine" in router.run("/calls", services, ANA).plain_text()


def test_a_call_cancelled_while_it_resolves_is_either_cancelled_or_scored_never_both(services: Services, clock: Clock,
                                                                                    prices_dir: Path) -> None:
    clock.when = evening("2026-01-15")
    router.run("/call IWM over SPY until 2026-06-30", services, ANA)
    clock.when = DATA_NOW  # past expiry: the watcher resolves it
    answers: list[Reply] = []

    class CancellingPoster(ThreadPoster):
        """Posts the result, but the author cancels the call in that very moment."""

        def __call__(self, team: Owner, channel: str, thread_ts: str | None, reply: Reply) -> None:
            answers.append(router.run("/call cancel 1", services, ANA))
            super().__call__(team, channel, thread_ts, reply)

    poster = CancellingPoster(delay=0.0)
    Watcher(services, poster).tick()
    status = row(router.run("/calls", services, ANA), "1")["Status"]
    [cancel] = answers
    assert cancel.is_error and "closed" in cancel.text  # the cancel came second: refused
    assert status in ("hit", "miss") and len(poster.posts) == 1

    # The other order: cancelled before the watcher writes, it stays cancelled and nothing is announced.
    clock.when = evening("2026-01-15")
    router.run("/call SMH over SPY until 2026-06-30", services, ANA)  # #2
    clock.when = DATA_NOW
    stale = next(c for c in services.store.calls(ANA.owner) if c["id"] == "2")
    assert not router.run("/call cancel 2", services, ANA).is_error
    quiet = ThreadPoster(delay=0.0)
    Watcher(services, quiet)._resolve(ANA.owner, stale)  # as a watcher that had read the call before the cancel
    assert row(router.run("/calls", services, ANA), "2")["Status"] == "cancelled" and quiet.posts == []
