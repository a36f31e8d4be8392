"""Doing a piece of work exactly once across every scheduler process, with Redis as the referee.

A piece of work is named by a ``stamp`` (a digest's due time, a card's flip, a call's
expiry).  ``ExactlyOnce.run`` does it only if no "done" record exists for the
stamp, and only in the one process holding the stamp's lease (``SET NX`` with an
expiry, so a crashed holder's lease lapses); the done record is checked again
under the lease.  Work that raises gives the lease back and is not tried again
before an exponential backoff (30 s, doubling, at most 30 minutes).

Only a process that dies between finishing the work and recording it could do it
twice; the gap is one Redis write.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable, Literal

import redis

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 30 * 60

Result = Literal["done", "failed", "skipped"]


class ExactlyOnce:
    def __init__(self, client: redis.Redis, namespace: str, *, keep_seconds: int, owner: str | None = None) -> None:
        """``namespace`` prefixes the keys; "done" records are kept ``keep_seconds`` (longer than any look-back)."""
        self.client = client
        self.namespace = namespace
        self.keep_seconds = keep_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def _keys(self, stamp: str) -> tuple[str, str, str]:
        done, lease, retry = (f"{self.namespace}{kind}:{stamp}" for kind in ("done", "lease", "retry"))
        return done, lease, retry

    def hand_off(self, stamp: str, now: float) -> bool:
        """Whether to give ``stamp``'s work to a worker now: not done, not backing off, and not handed off
        and not yet tried since (so a scheduler ticking every few seconds does not queue it again and
        again while a worker is on it; a hand-off nobody took up lapses after ``LEASE_SECONDS``)."""
        if self._settled_or_resting(stamp, now):
            return False
        return bool(self.client.set(self._handed_key(stamp), self.owner, nx=True, ex=LEASE_SECONDS))

    def _handed_key(self, stamp: str) -> str:
        return f"{self.namespace}handed:{stamp}"

    def _settled_or_resting(self, stamp: str, now: float) -> bool:
        """Done (or skipped) already, or failed recently and backing off."""
        done_key, _, retry_key = self._keys(stamp)
        if self.client.exists(done_key):
            return True
        retry_at = self.client.hget(retry_key, "at")
        return retry_at is not None and float(retry_at) > now

    def is_done(self, stamp: str) -> bool:
        return bool(self.client.exists(self._keys(stamp)[0]))

    def skip(self, stamp: str) -> bool:
        """Record ``stamp`` as deliberately not done; ``True`` for the one caller that recorded it."""
        return bool(self.client.set(self._keys(stamp)[0], "skipped", nx=True, ex=self.keep_seconds))

    def run(self, stamp: str, now: float, work: Callable[[], None]) -> Result | None:
        """Do ``work`` for ``stamp`` if it is this process's turn (``now``: unix time, for the backoff).

        Returns "done" or "failed" when this process tried it, ``None`` when it was not its turn
        (already done, backing off, or another process holds the lease).
        """
        done_key, lease_key, retry_key = self._keys(stamp)
        if self._settled_or_resting(stamp, now):
            return None
        if not self.client.set(lease_key, self.owner, nx=True, ex=LEASE_SECONDS):
            return None
        try:
            if self.client.exists(done_key):
                return None
            work()
            self.client.set(done_key, "done", ex=self.keep_seconds)
            self.client.delete(retry_key)
            return "done"
        except Exception as error:
            attempts = int(self.client.hincrby(retry_key, "attempts", 1))
            delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
            self.client.hset(retry_key, "at", now + delay)
            self.client.expire(retry_key, self.keep_seconds)
            log.warning("%s failed (attempt %d, %s: %s); retrying in %ds", stamp, attempts, type(error).__name__,
                        error, delay)
            return "failed"
        finally:
            if self.client.get(lease_key) == self.owner.encode():
                self.client.delete(lease_key)
            self.client.delete(self._handed_key(stamp))  # this attempt is over: it may be handed off again
