"""Finished replies (text and chart) cached by their normalised request until the next market close.

Identical requests that arrive while one is being computed wait for it and
share its reply (single flight within the process), so a burst of the same
question costs one computation.

A reply built on stale prices (the data source failed, see ``market.cached``)
says so and is not cached, so the next request tries the source again.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future
from typing import Callable

from handlers.reply import Reply
from handlers.services import Services
from market.cached import reset_stale, served_stale
from metrics import CACHE_REQUESTS

STALE_NOTE = "The data source did not answer just now, so these figures use the latest prices I had (see the date)."

_in_flight: dict[str, Future] = {}
_in_flight_lock = threading.Lock()


def cached_reply(services: Services, request_key: str, build: Callable[[], Reply]) -> Reply:
    """The cached reply for ``request_key``, or ``build()``'s, stored until the data goes stale."""
    key = f"reply:{services.market.key}:rf={services.risk_free}:{request_key}"
    stored = services.cache.get_hash(key)
    if stored:
        CACHE_REQUESTS.labels("reply", "hit").inc()
        return Reply.from_bytes(stored[b"doc"], stored.get(b"png"))
    CACHE_REQUESTS.labels("reply", "miss").inc()
    return _once(key, lambda: _build_and_store(services, key, build))


def _build_and_store(services: Services, key: str, build: Callable[[], Reply]) -> Reply:
    reset_stale()
    reply = build()
    if served_stale():
        return dataclasses.replace(reply, notes=(*reply.notes, STALE_NOTE))
    document, png = reply.to_bytes()
    fields = {"doc": document, **({"png": png} if png is not None else {})}
    # A time-to-live on the market's own clock, so a reply lives until the next close whatever that clock says.
    ttl = services.market.fresh_until() - services.market.now()
    services.cache.set_hash(key, fields, ttl_seconds=max(1, int(ttl.total_seconds())))
    return reply


def _once(key: str, compute: Callable[[], Reply]) -> Reply:
    """Run ``compute`` once for concurrent callers with the same ``key``; all get its result or its error."""
    with _in_flight_lock:
        future = _in_flight.get(key)
        leader = future is None
        if leader:
            future = _in_flight[key] = Future()
    if not leader:
        return future.result()
    try:
        future.set_result(compute())
    except BaseException as error:
        future.set_exception(error)
    finally:
        with _in_flight_lock:
            del _in_flight[key]
    return future.result()
