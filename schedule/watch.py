"""Follow-ups in threads: signal flips under their cards, and calls resolved at expiry.

Each ``tick`` (run from the scheduler's loop, beside the digests) looks at
every team with cards or calls (``TeamStore.watched_teams``):

* **cards**: the card's signal is read on the latest prices (once per signal
  and tick); when its state differs from the state the card last announced,
  Tilt replies in the card's thread ("now lagging ... since ...") and the card
  takes the new state.  Cards whose message is unknown (not posted by an adapter
  that reports it) are left alone.
* **calls**: an open call past its ``until`` date is closed at the expiry
  close (``handlers.calls.resolve``) and the result is posted in its thread
  (or, when its message is unknown, in the channel where it was made).

Exactly once, however many watchers run: each follow-up has a name (card and
new state and since-date; call number), guarded like digests by a lease (``SET
NX`` with an expiry) and a "done" record checked again under the lease.  A
follow-up that fails (Slack down, Tilt removed from the channel) gives the lease
back and is tried again after a backoff, as digests are (30 s doubling to 30 minutes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from analysis.named_signals import SIGNALS, Reading
from handlers import calls as calls_handler
from handlers import signal as signal_handler
from handlers.common.reply import Reply
from handlers.common.services import Services
from schedule.once import ExactlyOnce
from store.teamdata import Owner

log = logging.getLogger(__name__)

DONE_SECONDS = 30 * 24 * 3600

# Posts a reply on a platform: (platform, channel, thread ts or None for a new message, reply); raises on failure.
ThreadPost = Callable[[Owner, str, str | None, Reply], None]


@dataclass(frozen=True)
class Followed:
    what: str  # "flip" or "resolved"
    team: str
    item: str  # card id or call number


class Watcher:
    def __init__(self, services: Services, post: ThreadPost, *, owner: str | None = None) -> None:
        self.services = services
        self.store = services.store
        self.post = post
        self.once = ExactlyOnce(self.store.client, f"{self.store.prefix}watch:", keep_seconds=DONE_SECONDS, owner=owner)

    def tick(self) -> list[Followed]:
        """Announce every flip and resolve every due call; returns what this watcher posted."""
        done: list[Followed] = []
        readings: dict[str, Reading | None] = {}
        for team in self.store.watched_teams():
            for card in self.store.cards(team):
                if card["signal"] not in readings:
                    readings[card["signal"]] = self._read(card["signal"])
                reading = readings[card["signal"]]
                if reading is not None and reading.state != card["state"]:
                    done.extend(self._flip(team, card, reading))
            for call in self.store.calls(team):
                if calls_handler.is_due(self.services, call):
                    done.extend(self._resolve(team, call))
        return done

    def _read(self, name: str) -> Reading | None:
        if name not in SIGNALS:
            return None
        try:
            return signal_handler.current(self.services, name)
        except Exception as error:
            log.warning("could not read signal %s (%s)", name, error)
            return None

    def _flip(self, team: Owner, card: dict, reading: Reading) -> list[Followed]:
        where = self.store.thread(team, f"card:{card['id']}")
        if where is None:
            return []
        stamp = f"flip:{team.platform}:{team.team}:{card['id']}:{reading.state}:{reading.since}"

        def work() -> None:
            votes = self.store.votes(team, card["id"])
            agree = sum(v == "agree" for v in votes.values())
            spec = reading.spec
            text = (f"*Flip:* {spec.label} now *{reading.state}* {spec.b} (since {reading.since}); "
                    f"it was {card['state']} since {card['since']}.")
            self.post(team, where[0], where[1], Reply(
                text=text, notes=(f"Votes on this card: {agree} agree – {len(votes) - agree} disagree",),
                footer=f"as of {reading.as_of} · source: {self.services.source_label()}"))
            self.store.update_card(team, {**card, "state": reading.state, "since": reading.since.isoformat(),
                                          "sessions": reading.sessions, "vs_average": reading.vs_average,
                                          "as_of": reading.as_of.isoformat()})

        return [Followed("flip", f"{team.platform}:{team.team}", card["id"])] if self._once(stamp, work) else []

    def _resolve(self, team: Owner, call: dict) -> list[Followed]:
        stamp = f"call:{team.platform}:{team.team}:{call['id']}"

        def work() -> None:
            closed = call
            if call["status"] == "open":
                # Closed before it is announced, and only while still open (atomically): a call its author
                # cancelled meanwhile stays cancelled and is not announced.  If the post below fails, the call
                # stays closed and unannounced, and the next try (``is_due``) posts it.
                closed = calls_handler.resolve(self.services, call)
                if not self.store.replace_open_call(team, closed):
                    return
            where = self.store.thread(team, f"call:{call['id']}")
            channel, thread = where if where else (call["channel"], None)
            self.post(team, channel, thread, calls_handler.result_reply(closed))
            self.store.update_call(team, {**closed, "announced": True})

        return [Followed("resolved", f"{team.platform}:{team.team}", call["id"])] if self._once(stamp, work) else []

    def _once(self, stamp: str, work: Callable[[], None]) -> bool:
        """Run ``work`` unless it was done for ``stamp``, by one watcher at a time; ``True`` when this one did it."""
        return self.once.run(stamp, self.services.market.now().timestamp(), work) == "done"
