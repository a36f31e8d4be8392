"""Redis as a cache that can fail without taking Tilt down.

Every operation swallows Redis errors and behaves like a miss (reads) or a
no-op (writes): Tilt then answers uncached.  The first failure logs one
warning; after it Redis is left alone for ``retry_after`` seconds so a dead
server does not add a connect timeout to every request, and the recovery is
logged once too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

T = TypeVar("T")

# A cache that answers slower than this is treated as down: the user is waiting.
SOCKET_TIMEOUT_SECONDS = 1.0


def connect(url: str) -> redis.Redis:
    """A redis-py client for ``url`` with timeouts short enough for a chat reply.

    One quick retry only: redis-py's default backs off over several seconds,
    which a person waiting in chat would feel on every command while Redis is down.
    """
    return redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30, retry=Retry(NoBackoff(), 1),
    )


# KEYS: the counters in order; ARGV: the window, then each counter's limit.
_COUNT_UNTIL_OVER = """
local counts = {}
for i, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
    counts[i] = redis.call('INCR', key)
    if counts[i] > tonumber(ARGV[i + 1]) then break end
end
return counts
"""


class Cache:
    """Byte values and hashes in Redis, each call failing soft (see module docstring)."""

    def __init__(self, client: redis.Redis | None, *, retry_after: float = 5.0, prefix: str = "tilt:v1:") -> None:
        self.client = client
        self.prefix = prefix
        self._retry_after = retry_after
        self._down_since: float | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether the last call reached Redis (False also when no Redis is configured)."""
        return self.client is not None and self._down_since is None

    def get(self, key: str) -> bytes | None:
        return self._call(lambda c: c.get(self.prefix + key), None)

    def set(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> None:
        """Store ``value``, expiring after ``ttl_seconds`` if given."""
        self._call(lambda c: c.set(self.prefix + key, value, ex=ttl_seconds), None)

    def get_hash(self, key: str) -> dict[bytes, bytes]:
        return self._call(lambda c: c.hgetall(self.prefix + key), {})

    def set_hash(self, key: str, mapping: dict[str, bytes | str], *, ttl_seconds: int | None = None) -> None:
        """Replace the hash at ``key`` with ``mapping`` in one transaction, optionally expiring after ``ttl_seconds``."""
        def write(client: redis.Redis) -> None:
            with client.pipeline(transaction=True) as pipe:
                pipe.delete(self.prefix + key)
                pipe.hset(self.prefix + key, mapping=mapping)
                if ttl_seconds:
                    pipe.expire(self.prefix + key, ttl_seconds)
                pipe.execute()

        self._call(write, None)

    def count(self, keys: tuple[str, ...], window_seconds: int) -> list[int] | None:
        """Add one to each counter (one round trip); each lives ``window_seconds`` from its first use.

        Returns the new counts, or ``None`` if Redis is down.
        """
        def increment(client: redis.Redis) -> list[int]:
            # SET NX EX starts the window (EXPIRE ... NX would need Redis 7; the embedded server is 6.2).
            with client.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.set(self.prefix + key, 0, ex=window_seconds, nx=True)
                    pipe.incr(self.prefix + key)
                return [int(count) for count in pipe.execute()[1::2]]

        return self._call(increment, None)

    def count_until_over(self, limits: tuple[tuple[str, int], ...], window_seconds: int) -> list[int] | None:
        """Add one to each counter in turn, as ``count`` does, stopping after the first whose new count is over its
        limit: the counters after it are left as they were (one atomic round trip).

        Returns the new counts of the counters reached, or ``None`` if Redis is down.
        """
        counts = self._call(lambda c: c.eval(_COUNT_UNTIL_OVER, len(limits), *(self.prefix + key for key, _ in limits),
                                             window_seconds, *(limit for _, limit in limits)), None)
        return None if counts is None else [int(count) for count in counts]

    def first(self, key: str, ttl_seconds: int) -> bool:
        """True the first time ``key`` is seen within ``ttl_seconds`` (and when Redis is down: better twice than never)."""
        return bool(self._call(lambda c: c.set(self.prefix + key, b"1", nx=True, ex=ttl_seconds), True))

    def first_until(self, key: str, expires_at: int) -> bool:
        """True the first time ``key`` is seen before ``expires_at`` (Unix seconds, Redis's clock), and when Redis is
        down; a time already past remembers nothing, so every sighting is a first."""
        return bool(self._call(lambda c: c.set(self.prefix + key, b"1", nx=True, exat=expires_at), True))

    def delete(self, key: str) -> None:
        self._call(lambda c: c.delete(self.prefix + key), None)

    def eval(self, script: str, keys: list[str], args: list[object]) -> bytes | None:
        """Run a Lua ``script`` on ``keys`` (prefixed here); ``None`` if Redis is down."""
        return self._call(lambda c: c.eval(script, len(keys), *(self.prefix + k for k in keys), *args), None)

    def ping(self) -> bool:
        return bool(self._call(lambda c: c.ping(), False))

    def _call(self, operation: Callable[[redis.Redis], T], fallback: T) -> T:
        if self.client is None or self._resting():
            return fallback
        try:
            result = operation(self.client)
        except (redis.RedisError, OSError) as error:
            self._mark_down(error)
            return fallback
        self._mark_up()
        return result

    def _resting(self) -> bool:
        with self._lock:
            return self._down_since is not None and time.monotonic() - self._down_since < self._retry_after

    def _mark_down(self, error: Exception) -> None:
        with self._lock:
            first = self._down_since is None
            self._down_since = time.monotonic()
        if first:
            log.warning("Redis is unreachable (%s); answering uncached until it is back", type(error).__name__)

    def _mark_up(self) -> None:
        with self._lock:
            was_down, self._down_since = self._down_since is not None, None
        if was_down:
            log.warning("Redis is reachable again; caching resumed")
