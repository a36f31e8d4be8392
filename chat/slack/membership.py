"""Which channels a person is in, as Slack says (``users.conversations``), kept briefly in Redis.

The App Home tab shows only the watchlists of those channels: a private channel's tickers stay with the
people in it.  Slack lists a private channel to Tilt only when Tilt is in it too, so one it cannot see
counts as one the person is not in.  When Slack does not answer, the person is taken to be in no channel
(their own list still shows) and nothing is kept, so the next opening asks again.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from market.cache import Cache

log = logging.getLogger(__name__)

# Long enough for a person flicking between tabs to ask Slack once; short enough that leaving a channel
# takes its watchlist off their Home tab within the minute.
MEMORY_SECONDS = 60
CONVERSATION_TYPES = "public_channel,private_channel,mpim"
PAGE_SIZE = 1000  # Slack's most per page


def channels_of(client: WebClient, cache: Cache, team: str, user: str) -> frozenset[str]:
    """The ids of the channels ``user`` of ``team`` is in (that Tilt can see), from Redis or else from Slack."""
    key = f"slack:member_of:{team}:{user}"
    kept = cache.get(key)
    if kept is not None:
        return frozenset(kept.decode().split(",")) - {""}
    try:
        pages = client.users_conversations(user=user, types=CONVERSATION_TYPES, exclude_archived=True, limit=PAGE_SIZE)
        channels = frozenset(channel["id"] for page in pages for channel in page["channels"])
    except SlackApiError as error:
        log.warning("Slack would not list the channels of %s (%s): their Home tab shows only their own list",
                    user, error.response.get("error"))
        return frozenset()
    cache.set(key, ",".join(sorted(channels)).encode(), ttl_seconds=MEMORY_SECONDS)
    return channels
