"""Posting digests: exactly once per subscription and due time, however many schedulers run.

Each ``tick`` looks at every subscription's latest due instant:

* already posted (or skipped) for that instant: nothing to do;
* more than ``catch_up`` (6 hours) late, e.g. Tilt was down: skipped and logged, never posted;
* otherwise: take the lease for that instant (``SET NX`` with an expiry, in
  Redis, so it holds across processes), check again that nobody posted it,
  build and post the digest (marked late when it is more than a few minutes
  behind), then record it as posted.

A digest that fails to build or post (data source down, Slack 5xx or 429s
beyond the client's own retries) gives its lease back and is tried again on a
later tick after an exponential backoff (30 s, 60 s, ... at most 30 minutes),
still at most once.  Only a process that dies between a successful post and
recording it could post twice; the gap is one Redis write.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Callable

import redis

from handlers.reply import Reply
from schedule.timing import Schedule, latest_due
from store.teamdata import Subscription, TeamStore

log = logging.getLogger(__name__)

CATCH_UP = dt.timedelta(hours=6)
LATE_AFTER = dt.timedelta(minutes=5)
LEASE_SECONDS = 120
DONE_SECONDS = 9 * 24 * 3600  # longer than any look-back, so an instant is never considered twice
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 30 * 60

# Builds the digest for a subscription; the timedelta says how late it is, ``None`` when on time.
Build = Callable[[Subscription, dt.timedelta | None], Reply]
# Posts a reply to a channel of one platform; raises when it could not.
Post = Callable[[Subscription, Reply], None]


@dataclass(frozen=True)
class Outcome:
    subscription: str
    due: dt.datetime
    result: str  # "posted", "late", "skipped", "failed"


class DigestScheduler:
    def __init__(self, store: TeamStore, build: Build, post: Post, *, now: Callable[[], dt.datetime],
                 owner: str | None = None, also: tuple[Callable[[], object], ...] = ()) -> None:
        self.store = store
        self.also = also  # other periodic jobs run from the same loop (``schedule.watch.Watcher.tick``)
        self.client: redis.Redis = store.client
        self.build = build
        self.post = post
        self.now = now
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

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

    def _consider(self, subscription: Subscription, due: dt.datetime, now: dt.datetime) -> Outcome | None:
        stamp = f"{subscription.id}:{due.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%MZ}"
        done_key, lease_key, retry_key = (f"{self.store.prefix}sched:{kind}:{stamp}" for kind in ("done", "lease", "retry"))
        if self.client.exists(done_key):
            return None
        lateness = now - due
        if lateness > CATCH_UP:
            if self.client.set(done_key, "skipped", nx=True, ex=DONE_SECONDS):
                log.warning("skipped the digest for %s due %s: %s late, more than %s", subscription.id, due,
                            lateness, CATCH_UP)
                return Outcome(subscription.id, due, "skipped")
            return None
        retry_at = self.client.hget(retry_key, "at")
        if retry_at is not None and float(retry_at) > now.timestamp():
            return None
        if not self.client.set(lease_key, self.owner, nx=True, ex=LEASE_SECONDS):
            return None  # another scheduler is posting it
        try:
            if self.client.exists(done_key):
                return None
            late = lateness if lateness > LATE_AFTER else None
            self.post(subscription, self.build(subscription, late))
            self.client.set(done_key, "posted", ex=DONE_SECONDS)
            self.client.delete(retry_key)
            return Outcome(subscription.id, due, "late" if late else "posted")
        except Exception as error:
            attempts = int(self.client.hincrby(retry_key, "attempts", 1))
            delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
            self.client.hset(retry_key, "at", now.timestamp() + delay)
            self.client.expire(retry_key, DONE_SECONDS)
            log.warning("digest for %s due %s failed (attempt %d, %s); retrying in %ds", subscription.id, due,
                        attempts, type(error).__name__, delay)
            return Outcome(subscription.id, due, "failed")
        finally:
            if self.client.get(lease_key) == self.owner.encode():
                self.client.delete(lease_key)
