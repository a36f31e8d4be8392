"""Finished replies (text and chart) cached by their normalised request until the next market close."""

from __future__ import annotations

from typing import Callable

from handlers.reply import Reply
from handlers.services import Services


def cached_reply(services: Services, request_key: str, build: Callable[[], Reply]) -> Reply:
    """The cached reply for ``request_key``, or ``build()``'s, stored until the data goes stale."""
    key = f"reply:{services.market.key}:rf={services.risk_free}:{request_key}"
    stored = services.cache.get_hash(key)
    if stored:
        return Reply.from_bytes(stored[b"doc"], stored.get(b"png"))
    reply = build()
    document, png = reply.to_bytes()
    fields = {"doc": document, **({"png": png} if png is not None else {})}
    services.cache.set_hash(key, fields, expire_at=services.market.fresh_until().timestamp())
    return reply
