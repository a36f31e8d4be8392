"""Finished replies (text and chart) cached by their normalised request until the next market close.

Identical requests that arrive while one is being computed wait for it and
share its reply, whichever Tilt process they reach (single flight through
Redis, see ``market.coordination``; with Redis down, still within a process),
so a burst of the same question costs one computation.  Every caller, the one
that built the reply included, gets it as the cache would give it back.

A reply built on stale prices (the data source failed, see ``market.cached``)
says so and is not cached, so the next request tries the source again; requests
that were waiting for it get it as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from handlers.common.reply import Reply
from handlers.common.services import Services
from market.cached import reset_stale, served_stale
from market.coordination import Flight, Outcome
from metrics import CACHE_REQUESTS

STALE_NOTE = "The data source did not answer just now, so these figures use the latest prices I had (see the date)."


def reply_key(services: Services, request_key: str) -> str:
    """The cache key (and single-flight name) of a request's reply: the code, source and settings shape it."""
    return f"reply:{services.release}:{services.market.key}:rf={services.risk_free}:{request_key}"


def cached_reply(services: Services, request_key: str, build: Callable[[], Reply]) -> Reply:
    """The cached reply for ``request_key``, or ``build()``'s, stored until the data goes stale."""
    key = reply_key(services, request_key)
    stored = services.cache.get_hash(key)
    if stored:
        CACHE_REQUESTS.labels("reply", "hit").inc()
        return Reply.from_bytes(stored[b"doc"], stored.get(b"png"))
    CACHE_REQUESTS.labels("reply", "miss").inc()
    fields = Flight(services.cache).run(key, lambda: _stored_or_built(services, key, build))
    return Reply.from_bytes(fields["doc"], fields.get("png"))


def _stored_or_built(services: Services, key: str, build: Callable[[], Reply]) -> Outcome:
    """The reply's fields: stored by a flight that ended just before this one began, else built (and stored)."""
    stored = services.cache.get_hash(key)
    if stored:
        return {field.decode(): value for field, value in stored.items()}
    reset_stale()
    reply = build()
    if served_stale():
        return _fields(dataclasses.replace(reply, notes=(*reply.notes, STALE_NOTE)))
    fields = _fields(reply)
    # A time-to-live on the market's own clock, so a reply lives until the next close whatever that clock says.
    ttl = services.market.fresh_until() - services.market.now()
    services.cache.set_hash(key, fields, ttl_seconds=max(1, int(ttl.total_seconds())))
    return fields


def _fields(reply: Reply) -> Outcome:
    document, png = reply.to_bytes()
    return {"doc": document, **({"png": png} if png is not None else {})}
