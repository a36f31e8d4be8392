"""Which of Block Kit's newer block types each workspace's Slack accepts, learnt from its refusals.

``data_table`` and ``data_visualization`` became generally available on
2026-05-20; a Slack that does not know them answers ``invalid_blocks``.  The
sender (``chat.slack.delivery.send_blocks``) then drops the newest type the message
used and sends it again, and the types still allowed are kept here in Redis,
per workspace and surface (``message``, ``home``), for ``MEMORY_SECONDS``, so
later messages go out right first time and Tilt tries the new blocks again a
week later.  Without Redis nothing is kept: each message learns afresh.
"""

from __future__ import annotations

import logging

from chat.slack.blocks import ALL_KINDS
from market.cache import Cache

log = logging.getLogger(__name__)

MEMORY_SECONDS = 7 * 24 * 3600


class BlockKinds:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def allowed(self, surface: str, team: str) -> frozenset[str]:
        """The optional block types ``team``'s Slack accepts on ``surface`` (all of them until one is refused)."""
        raw = self.cache.get(self._key(surface, team))
        return ALL_KINDS if raw is None else frozenset(k for k in raw.decode().split(",") if k)

    def refused(self, surface: str, team: str, allowed: frozenset[str]) -> None:
        """Slack refused a block type: from now on ``team`` gets only ``allowed`` on ``surface``."""
        log.warning("Slack workspace %s refused newer blocks on %s; using only %s from now on", team, surface,
                    sorted(allowed) or "plain blocks")
        self.cache.set(self._key(surface, team), ",".join(sorted(allowed)).encode(), ttl_seconds=MEMORY_SECONDS)

    @staticmethod
    def _key(surface: str, team: str) -> str:
        return f"slack:block_kinds:{surface}:{team}"
