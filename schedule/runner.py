"""Posting digests: exactly once per subscription and due time, however many schedulers run.

Each ``tick`` looks at every subscription's latest due instant:

* already posted (or skipped) for that instant: nothing to do;
* more than ``catch_up`` (6 hours) late, e.g. Tilt was down: skipped and logged, never posted;
* otherwise: build and post the digest (marked late when it is more than a few
  minutes behind) through ``schedule.once.ExactlyOnce``: one process at a time
  under a Redis lease, at most once, retried with backoff when it fails (data
  source down, Slack 5xx or 429s beyond the client's own retries).

With workers (``hand_off``), the scheduler only decides what is due: it hands each
due digest to an RQ worker as a ``JOB_KIND`` job, at most once per lease period,
and the worker builds and posts it through the same ``ExactlyOnce`` (so a job
handed off twice, or retried after its worker died, still posts once).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Callable

from handlers.common.reply import Reply
from market.timing import Schedule, latest_due
from schedule.once import ExactlyOnce
from store.teamdata import Owner, Subscription, TeamStore

log = logging.getLogger(__name__)

CATCH_UP = dt.timedelta(hours=6)
LATE_AFTER = dt.timedelta(minutes=5)
DONE_SECONDS = 9 * 24 * 3600  # longer than any look-back, so an instant is never considered twice

# Builds the digest for a subscription; the timedelta says how late it is, ``None`` when on time.
Build = Callable[[Subscription, dt.timedelta | None], Reply]
# Posts a reply to a channel of one platform; raises when it could not.
Post = Callable[[Subscription, Reply], None]
# Gives a due digest to a worker: ``hand_off(JOB_KIND, payload)``.
HandOff = Callable[[str, dict], None]

JOB_KIND = "digest"


@dataclass(frozen=True)
class Outcome:
    subscription: str
    due: dt.datetime
    result: str  # "posted", "late", "skipped", "failed", "handed off"


class DigestScheduler:
    def __init__(self, store: TeamStore, build: Build, post: Post, *, now: Callable[[], dt.datetime],
                 owner: str | None = None, also: tuple[Callable[[], object], ...] = (),
                 hand_off: HandOff | None = None) -> None:
        self.store = store
        self.hand_off = hand_off
        self.also = also  # other periodic jobs run from the same loop (``schedule.watch.Watcher.tick``)
        self.build = build
        self.post = post
        self.now = now
        self.once = ExactlyOnce(store.client, f"{store.prefix}sched:", keep_seconds=DONE_SECONDS, owner=owner)

    def tick(self) -> list[Outcome]:
        """Post every digest that is due now; returns what was done (nothing for digests not due)."""
        now = self.now()
        outcomes = []
        for subscription in self.store.all_subscriptions():
            due = latest_due(Schedule.from_dict(subscription.schedule), now)
            if due is None or due.timestamp() < subscription.created_at:
                continue  # nothing due since this subscription was made
            outcome = self._consider(subscription, due, now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run_forever(self, stop: threading.Event, interval: float = 15.0) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; a failing tick is logged, never fatal."""
        while not stop.is_set():
            for job in (self.tick, *self.also):
                try:
                    job()
                except Exception:
                    log.exception("scheduler job %s failed", getattr(job, "__qualname__", job))
            stop.wait(interval)

    def run_job(self, payload: dict) -> None:
        """A worker's part of a handed-off digest: build and post it (exactly once, as ``tick`` would)."""
        subscription = self.store.subscription(Owner(payload["platform"], payload["team"], payload["scope"]))
        due = dt.datetime.fromisoformat(payload["due"])
        if subscription is None or subscription.id != payload["subscription"]:
            return  # unsubscribed or re-subscribed since it was handed off
        self._consider(subscription, due, self.now(), handing_off=False)

    def _consider(self, subscription: Subscription, due: dt.datetime, now: dt.datetime, *,
                  handing_off: bool = True) -> Outcome | None:
        stamp = f"{subscription.id}:{due.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%MZ}"
        if self.once.is_done(stamp):
            return None
        lateness = now - due
        if lateness > CATCH_UP:
            if self.once.skip(stamp):
                log.warning("skipped the digest for %s due %s: %s late, more than %s", subscription.id, due,
                            lateness, CATCH_UP)
                return Outcome(subscription.id, due, "skipped")
            return None
        late = lateness if lateness > LATE_AFTER else None
        if self.hand_off is not None and handing_off:
            if not self.once.hand_off(stamp, now.timestamp()):
                return None
            self.hand_off(JOB_KIND, {"subscription": subscription.id, "platform": subscription.platform,
                                     "team": subscription.team, "scope": subscription.scope, "due": due.isoformat()})
            return Outcome(subscription.id, due, "handed off")
        result = self.once.run(stamp, now.timestamp(), lambda: self.post(subscription, self.build(subscription, late)))
        if result is None:
            return None
        return Outcome(subscription.id, due, "failed" if result == "failed" else "late" if late else "posted")
