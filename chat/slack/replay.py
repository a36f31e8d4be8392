"""Replayed Slack requests: a signature seen before is answered with an empty 200 and nothing else.

Slack signs every delivery afresh (its retries of an event included), so a repeated signature is someone
replaying a captured request inside the 5 minutes the signature check allows either side of now.  Each
signature is remembered until ``REPLAY_MEMORY_SECONDS`` after the time it signs (not after it arrived):
the memory then covers the whole window however late the first copy came, and ends when the signature
check would refuse the request anyway.
"""

from __future__ import annotations

import logging
from typing import Callable

from slack_bolt import BoltRequest, BoltResponse

from market.cache import Cache

log = logging.getLogger(__name__)

# Slack's window is 300 s either side of now; as much again covers clocks that disagree between Tilt's
# machines and Redis.
REPLAY_MEMORY_SECONDS = 600


def replay_guard(cache: Cache) -> Callable:
    """Bolt middleware (after the signature check) refusing a request whose signature was seen before."""
    def refuse_replays(req: BoltRequest, resp: BoltResponse, next: Callable[[], None]) -> BoltResponse | None:
        signature = req.headers.get("x-slack-signature", [""])[0]
        if req.mode != "http" or not signature:
            return next()
        signed_at = int(req.headers["x-slack-request-timestamp"][0])  # verified already: digits
        if cache.first_until(f"slack:request:{signature}", signed_at + REPLAY_MEMORY_SECONDS):
            return next()
        log.warning("refused a replayed Slack request")
        return BoltResponse(status=200, body="")

    return refuse_replays
