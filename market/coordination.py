"""Doing a piece of work once for every process and thread that needs it at the same time, with Redis as referee.

Tilt runs as several web and worker processes around one Redis.  A piece of work
(computing a reply, downloading a batch of tickers) has a ``name``; whoever needs it
calls ``Flight.run(name, work)`` and gets its outcome:

* **Within a process**, threads sharing a ``Cache`` (one per process in production)
  wait for the first of them, which alone takes part in the rest: a burst costs one
  poller, and with Redis down single flight within the process remains.
* **Across processes**, the first caller takes the name's *lease* (``SET NX PX``
  with a token of its own) and runs ``work``; the others poll until the holder's
  *outcome* appears.  The holder renews its lease every third of ``lease_seconds``
  while it works, so a slow leader keeps it and a dead one (its process gone)
  loses it within ``lease_seconds``: the next poll finds the lease free, takes it
  and runs ``work`` itself, and the other waiters follow the new holder.
* The **outcome** is a small hash: the fields ``work`` returned, or the error's
  class and sentence, which every waiter raises again as the same ``errors``
  class (an ``UnknownTicker`` keeps its tickers; anything that is not a
  ``TiltError``, i.e. a bug, arrives as a ``RuntimeError``).  By default it is
  kept under the leader's token, so a caller arriving after the flight ended
  starts a new one (a reply built on stale prices must be retried).  With
  ``once=True`` (work whose name is never reused, such as a batch) it is kept
  under the name, so a late caller gets it instead of doing the work again.
  Outcomes are kept ``OUTCOME_SECONDS``, long enough for every waiter.
* A waiter gives up after ``max_wait`` seconds with ``DataUnavailable`` rather
  than hang behind a leader that is alive but stuck.

Conventions: ``work`` returns ``dict[str, bytes]`` (what fits a Redis hash; the
field ``error`` is the protocol's), and every caller, leader included, gets that
dict.  Every Redis step fails soft like ``market.cache``: when Redis cannot be
reached the caller runs ``work`` itself, as Tilt did before it had several processes.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Callable, Iterator

import errors
from errors import DataUnavailable, TiltError, UnknownTicker
from market.cache import Cache

# A leader that has not renewed its lease for this long is taken for dead.
LEASE_SECONDS = 5.0
# How long a waiter waits for a live leader: a person is waiting for the answer.
MAX_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.02
OUTCOME_SECONDS = 60

Outcome = dict[str, bytes]

# Threads sharing a Cache wait here for the one of them that takes part across processes (see module docstring).
_local: dict[tuple[int, str], Future] = {}
_local_lock = threading.Lock()

# KEYS: the name's lease, the outcome awaited.  ARGV: the caller's token, the lease in milliseconds.
# One atomic step, so a lease is never taken between its holder's outcome being written and being read.
_POLL = """
local outcome = redis.call('HGETALL', KEYS[2])
if #outcome > 0 then
  table.insert(outcome, 1, 'done')
  return outcome
end
local holder = redis.call('GET', KEYS[1])
if holder then return {'wait', holder} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'lead', ARGV[1]}
"""

# KEYS: the lease, the outcome.  ARGV: the holder's token, seconds to keep the outcome, then field, value pairs.
_FINISH = """
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[2], ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 'ok'
"""

# KEYS: the lease.  ARGV: the holder's token, the lease in milliseconds.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 'ok'
"""


def lease_key(name: str) -> str:
    """The ``Cache`` key of the lease on ``name`` (a test takes it by hand to play a leader that died)."""
    return f"flight:lease:{name}"


class Flight:
    """Single flight on one ``Cache``; cheap to build, so make one where needed (the in-process table is shared)."""

    def __init__(self, cache: Cache, *, lease_seconds: float = LEASE_SECONDS, max_wait: float = MAX_WAIT_SECONDS,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.cache = cache
        self.lease_seconds = lease_seconds
        self.max_wait = max_wait
        self.poll_seconds = poll_seconds

    def run(self, name: str, work: Callable[[], Outcome], *, once: bool = False) -> Outcome:
        """``work()``'s outcome, computed once for everyone asking for ``name`` meanwhile (see module docstring).

        The leader raises ``work``'s own exception; waiters raise a copy of the same ``errors`` class.
        """
        with _local_lock:
            future = _local.get((id(self.cache), name))
            first = future is None
            if first:
                future = _local[(id(self.cache), name)] = Future()
        if first:
            try:
                future.set_result(self._across_processes(name, work, once))
            except BaseException as error:
                future.set_exception(error)
            finally:
                with _local_lock:
                    del _local[(id(self.cache), name)]
        return future.result()

    def _across_processes(self, name: str, work: Callable[[], Outcome], once: bool) -> Outcome:
        token = uuid.uuid4().hex
        outcome_key = (lambda _: f"flight:outcome:{name}") if once else (lambda holder: f"flight:outcome:{holder}")
        holder = token  # until a poll names the holder, look for our own (absent) outcome
        deadline = time.monotonic() + self.max_wait
        while True:
            state = self.cache.eval(_POLL, [lease_key(name), outcome_key(holder)], [token, self._lease_ms])
            if state is None:  # Redis is down: work alone, as without it
                return work()
            verb, *rest = state
            if verb == b"done":
                return _outcome(dict(zip(rest[::2], rest[1::2])))
            if verb == b"lead":
                return self._lead(name, token, outcome_key(token), work)
            holder = rest[0].decode()
            if time.monotonic() >= deadline:
                raise DataUnavailable("The data source is slow to answer just now; please try again in a minute.")
            time.sleep(self.poll_seconds)

    def _lead(self, name: str, token: str, outcome_key: str, work: Callable[[], Outcome]) -> Outcome:
        """Run ``work`` under the lease and publish its outcome (or its error) before giving the lease back."""
        with self._renewing(name, token):
            try:
                outcome = work()
            except Exception as error:
                self._finish(name, token, outcome_key, _failure(error))
                raise
            self._finish(name, token, outcome_key, {**outcome, "error": b""})
        return outcome

    def _finish(self, name: str, token: str, outcome_key: str, fields: Outcome) -> None:
        pairs = [part for field, value in fields.items() for part in (field, value)]
        self.cache.eval(_FINISH, [lease_key(name), outcome_key], [token, OUTCOME_SECONDS, *pairs])

    @contextmanager
    def _renewing(self, name: str, token: str) -> Iterator[None]:
        """Keep the lease while the work runs: a thread renews it every third of its length until the work ends."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease_seconds / 3):
                self.cache.eval(_RENEW, [lease_key(name)], [token, self._lease_ms])

        threading.Thread(target=renew, name=f"lease {name}", daemon=True).start()
        try:
            yield
        finally:
            stop.set()

    @property
    def _lease_ms(self) -> int:
        return max(1, int(self.lease_seconds * 1000))


def _failure(error: Exception) -> Outcome:
    """An error as an outcome: its class name and sentence, and the tickers of an ``UnknownTicker``."""
    tickers = list(error.tickers) if isinstance(error, UnknownTicker) else []
    return {"error": type(error).__name__.encode(), "message": str(error).encode(),
            "tickers": json.dumps(tickers).encode()}


def _outcome(fields: dict[bytes, bytes]) -> Outcome:
    """A published outcome as ``work`` returned it, or its error raised."""
    outcome = {field.decode(): value for field, value in fields.items()}
    kind = outcome.pop("error").decode()
    if kind:
        raise _rebuilt(kind, outcome["message"].decode(), json.loads(outcome["tickers"]))
    return outcome


def _rebuilt(kind: str, message: str, tickers: list[str]) -> Exception:
    """The leader's error for a waiter: the same ``errors`` class with the same sentence.

    Built without the class's constructor, whose arguments differ from class to
    class: an exception's ``args`` are its sentence, and ``UnknownTicker`` also
    carries its ``tickers``.
    """
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, TiltError)):
        return RuntimeError(f"{kind} while another Tilt process computed this: {message}")
    error = cls.__new__(cls, message)
    if isinstance(error, UnknownTicker):
        error.tickers = tuple(tickers)
    return error
