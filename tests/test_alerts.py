"""/alert: one-shot alerts set, listed, cancelled, refused, and fired exactly once by the watcher.

End to end through the router on the shared CSV prices and a real Redis, with a controllable clock.
SPY's closes around April 2025 (from the CSV): 556.69 on 2025-04-02, 498.27 on 2025-04-04, 489.59 on
2025-04-08, 541.01 on 2025-04-09; the tests check those figures against the CSV before relying on them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.alert import PER_PERSON
from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.reply import mention
from handlers.common.services import Services
from schedule.watch import Watcher
from store.teamdata import Owner
from tests.doubles import Clock, Poster, evening, tick_together
from tests.expected import closes

NEW_YORK = ZoneInfo("America/New_York")
ANA = Caller(platform="slack", team="T1", channel="C1", user="U1")
BEN = Caller(platform="slack", team="T1", channel="C2", user="U2")
TEAM = Owner(platform="slack", team="T1", scope="team")


@pytest.fixture
def clock() -> Clock:
    return Clock(evening("2025-04-02"))


@pytest.fixture(autouse=True)
def spy_in_april_2025(prices_dir: Path) -> None:
    spy = closes(prices_dir, "SPY")
    assert spy[dt.date(2025, 4, 2)] > 500 and spy[dt.date(2025, 4, 3)] > 500
    assert spy[dt.date(2025, 4, 4)] < 500 and spy[dt.date(2025, 4, 8)] < 500 and spy[dt.date(2025, 4, 9)] > 500


def test_an_alert_fires_once_mentioning_its_author_with_two_watchers(services: Services, clock: Clock) -> None:
    answer = router.run("/alert SPY below 500 rebalance into equities", services, ANA)
    assert not answer.is_error and answer.ephemeral and answer.text == "Alert #1 set: `SPY below 500`."
    assert "first close after 2025-04-02" in answer.takeaway
    poster = Poster()
    clock.when = evening("2025-04-03")
    assert Watcher(services, poster).tick() == [] and poster.posts == []  # still above 500

    clock.when = evening("2025-04-08")
    watchers = [Watcher(services, poster, owner=f"w{i}") for i in range(2)]
    followed = tick_together(watchers)
    assert [(f.what, f.item) for f in followed] == [("alert", "1")]
    [(channel, thread, reply)] = poster.posts
    assert (channel, thread) == ("C1", None)
    assert reply.text.startswith(f"{mention('U1')} *Alert #1*: `SPY below 500` held on the close of 2025-04-04")
    assert "Note: rebalance into equities" in reply.notes and reply.notify == ("U1",)
    clock.when = evening("2025-04-10")  # below 500 no longer; fired alerts do not come back either way
    assert watchers[0].tick() == [] and watchers[1].tick() == [] and len(poster.posts) == 1
    assert [a["status"] for a in services.store.alerts(TEAM)] == ["fired"]
    assert "No active alerts" in router.run("/alert list", services, ANA).text


def test_an_alert_that_cannot_be_posted_is_retried_and_posted_once(services: Services, clock: Clock) -> None:
    router.run("/alert SPY below 500", services, ANA)
    clock.when = evening("2025-04-08")
    poster = Poster(delay=0.0, failures=1)
    watcher = Watcher(services, poster)
    assert watcher.tick() == [] and poster.attempts == 1
    clock.when += dt.timedelta(seconds=31)
    assert [f.item for f in watcher.tick()] == ["1"]
    clock.when += dt.timedelta(minutes=5)
    assert watcher.tick() == [] and len(poster.posts) == 1 and poster.attempts == 2


def test_an_alert_already_true_fires_on_a_later_close_not_on_the_one_it_was_set_on(services: Services,
                                                                                     clock: Clock) -> None:
    clock.when = evening("2025-04-04")
    answer = router.run("/alert SPY below 500", services, ANA)
    assert "already holds on the close of 2025-04-04" in answer.takeaway
    poster = Poster(delay=0.0)
    assert Watcher(services, poster).tick() == []
    clock.when = evening("2025-04-07")
    assert [f.what for f in Watcher(services, poster).tick()] == ["alert"]
    assert "held on the close of 2025-04-07" in poster.posts[0][2].text


def test_list_and_cancel_only_by_the_author(services: Services, clock: Clock) -> None:
    router.run("/alert SPY below 500", services, ANA)
    router.run("/alert IWM/SPY above sma200", services, BEN)
    listed = router.run("/alert list", services, ANA)
    assert [row[0] for row in listed.table.rows] == ["#1", "#2"] and listed.ephemeral
    assert [row[4] for row in listed.table.rows][0] == "false"
    refused = router.run("/alert cancel 1", services, BEN)
    assert refused.is_error and "only they may cancel it" in refused.text
    assert not router.run("/alert cancel 1", services, ANA).is_error
    assert "already fired or been cancelled" in router.run("/alert cancel 1", services, ANA).text
    clock.when = evening("2025-04-08")
    poster = Poster(delay=0.0)
    Watcher(services, poster).tick()
    assert all("Alert #1" not in reply.text for _, _, reply in poster.posts)


def test_twenty_alerts_a_person(services: Services) -> None:
    for n in range(PER_PERSON):
        assert not router.run(f"/alert SPY below {400 + n}", services, ANA).is_error
    refused = router.run("/alert SPY below 300", services, ANA)
    assert refused.is_error and f"You hold {PER_PERSON} alerts" in refused.text
    assert not router.run("/alert SPY below 300", services, BEN).is_error
    router.run("/alert cancel 3", services, ANA)
    assert not router.run("/alert SPY below 300", services, ANA).is_error


@pytest.mark.parametrize("text, fragment", [
    ("/alert FOOBARX below 10", "can't find the ticker FOOBARX"),
    ("/alert SGOV above 100", "No prices for SGOV"),  # on 2019-06-03 SGOV (launched 2020) has no data yet
    ("/alert SPY above sma0", "between 2 and 1000"),
    ("/alert SPY below two-hundred", "is not a number"),
    ("/alert", "Give a rule"),
    ("/alert cancel x", "by its number"),
    ("/alert cancel 99", "no alert #99"),
])
def test_bad_alerts_are_refused_privately_with_the_grammar(services: Services, clock: Clock, text: str,
                                                           fragment: str) -> None:
    clock.when = evening("2019-06-03")
    reply = router.run(text, services, ANA)
    assert reply.is_error and reply.ephemeral and fragment in reply.text, reply.text
    assert services.store.alerts(TEAM) == []
