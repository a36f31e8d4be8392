"""Protecting a data source shared by every Tilt process: a rate limit and a circuit breaker, in Redis.

* **Token bucket** (``RateLimit``): each request to the source takes one token
  (a batch of N tickers is N requests to Yahoo, so N tokens); tokens refill at ``rate`` a second up to ``burst``.
  A batch larger than ``burst`` goes ahead once the bucket is full and leaves it
  in debt (negative) for the rest, so what comes after waits until the whole
  batch is paid for: a 50-ticker batch costs 50 tokens, not ``burst``.  The bucket lives in
  Redis (updated atomically by a Lua script), so every web and worker process
  draws from the same one.  A caller waits for a token up to ``max_wait``
  seconds, then gets ``RateLimited``.
* **Circuit breaker** (``Breaker``): ``threshold`` failures within ``window``
  seconds open the circuit for ``cool_down`` seconds, during which calls fail at
  once with ``DataUnavailable`` instead of waiting for a source that is down;
  ``market.cached`` then answers from cached prices where it has them.

Both fail open: when Redis cannot be reached they let every call through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from errors import DataUnavailable, RateLimited
from market.cache import Cache

_TAKE = """
local rate, burst, now, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local need = math.min(cost, burst)
local wait = 0
if tokens >= need then tokens = tokens - cost else wait = (need - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


@dataclass(frozen=True)
class RateLimit:
    cache: Cache
    source: str
    rate: float  # tokens a second
    burst: int
    max_wait: float = 5.0

    def take(self, cost: int = 1) -> None:
        """Take ``cost`` tokens, waiting up to ``max_wait`` seconds for ``min(cost, burst)`` of them to be there
        (the rest is owed); else ``RateLimited``."""
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = self.cache.eval(_TAKE, [f"ratelimit:{self.source}"], [self.rate, self.burst, time.time(), cost])
            if wait is None or float(wait) == 0.0:
                return
            if time.monotonic() + float(wait) > deadline:
                raise RateLimited(f"Tilt is pacing its requests to {self.source}; try again in a few seconds.")
            time.sleep(float(wait))


@dataclass(frozen=True)
class Breaker:
    cache: Cache
    source: str
    threshold: int = 5
    window: int = 60
    cool_down: int = 30

    def check(self) -> None:
        """``DataUnavailable`` at once while the circuit is open."""
        if self.cache.get(f"breaker:{self.source}:open") is not None:
            raise DataUnavailable(f"{self.source} has been failing; I'll try it again in a few seconds.")

    def failed(self) -> None:
        counts = self.cache.count((f"breaker:{self.source}:failures",), self.window)
        if counts is not None and counts[0] >= self.threshold:
            self.cache.set(f"breaker:{self.source}:open", b"1", ttl_seconds=self.cool_down)
            self.cache.delete(f"breaker:{self.source}:failures")

    def succeeded(self) -> None:
        self.cache.delete(f"breaker:{self.source}:failures")
