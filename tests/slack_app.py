"""Tilt's Slack app as a real ``bot.py serve`` process, talked to as Slack talks to it, and what the tests read
back from the Slack stand-in (``tests/slack_standin.py``): calls by channel, ``response_url`` posts, table rows."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

from tests.servers import PATIENCE, Answer, ServeProcess, send, wait_until
from tests.slack_standin import Call, SlackStandIn
from tests.yahoo_standin import YahooStandIn

SECRET = "test-signing-secret"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Tilt(ServeProcess):
    """A running ``bot.py serve`` process and the means to talk to it as Slack does."""

    def __init__(self, slack: SlackStandIn, redis_url: str, prices_dir: Path, state: Path, *, workers: int = 1) -> None:
        self.slack = slack
        super().__init__(self.environment(slack, redis_url, prices_dir, state), state, workers=workers)

    def environment(self, slack: SlackStandIn, redis_url: str, prices_dir: Path, state: Path) -> dict[str, str]:
        """One workspace: a bot token."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MARKET_", "REDIS_", "DISCORD_"))}
        return {**env, "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": slack.api_url, "MARKET_DATA_DIR": str(prices_dir), "REDIS_URL": redis_url,
                "TILT_STATE_DIR": str(state)}

    def post(self, body: str, *, timestamp: int | None = None, secret: str = SECRET, content_type: str | None = None,
             timeout: float = PATIENCE) -> Answer:
        """POST ``body`` to /slack/events, signed as Slack signs it."""
        request = urllib.request.Request(self.url + "/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": content_type or "application/x-www-form-urlencoded", **signed(body, timestamp, secret)})
        return send(request, timeout)

    def command(self, command: str, text: str, *, channel: str, user: str | None = None, response: str | None = None,
                team: str = "T0TEST", **signing) -> Answer:
        """A signed slash command from ``user``, or else a person of its own: the per-person budget (10 a minute)
        is then never shared between tests, however slowly they run."""
        return self.post(urlencode(self.command_form(command, text, channel=channel, user=user, response=response,
                                                     team=team)), **signing)

    def command_form(self, command: str, text: str, *, channel: str, user: str | None = None,
                     response: str | None = None, team: str = "T0TEST") -> dict[str, str]:
        """A slash command's fields, as Slack form-encodes them (from a person of its own unless ``user``)."""
        user = user or f"U{uuid.uuid4().hex[:8].upper()}"
        return {"token": "deprecated", "team_id": team, "team_domain": "tilt-test", "channel_id": channel,
                "channel_name": "markets", "user_id": user, "user_name": "ana", "command": command, "text": text,
                "api_app_id": "A0TILT", "is_enterprise_install": "false", "trigger_id": "1.2.3",
                "response_url": self.slack.response_url(response or f"r-{uuid.uuid4().hex[:8]}")}

    def click(self, action_id: str, value: str, *, channel: str, message_ts: str, ephemeral: bool, response: str,
              user: str | None = None) -> Answer:
        """A click on a button, by ``user`` or else a person of its own (a click is charged to their budget)."""
        user = user or f"U{uuid.uuid4().hex[:8].upper()}"
        payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": user}, "api_app_id": "A0TILT",
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral},
                   "channel": {"id": channel}, "message": {"ts": message_ts, "text": "..."}, "trigger_id": "1.2.3",
                   "response_url": self.slack.response_url(response),
                   "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                                "action_ts": str(time.time())}]}
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def event(self, event: dict, team: str = "T0TEST", event_id: str | None = None) -> Answer:
        envelope = {"token": "x", "team_id": team, "api_app_id": "A0TILT", "type": "event_callback",
                    "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()), "event": event,
                    "authorizations": [{"team_id": team, "user_id": f"U{team}BOT", "is_bot": True}]}
        return self.post(json.dumps(envelope), content_type="application/json")


class YahooTilt(Tilt):
    """Tilt on Yahoo's chart API (the stand-in) instead of a CSV folder, so fetching can be made slow or fail."""

    def __init__(self, slack: SlackStandIn, yahoo: YahooStandIn, redis_url: str, state: Path, *,
                 workers: int = 1) -> None:
        self.yahoo = yahoo
        super().__init__(slack, redis_url, Path("unused"), state, workers=workers)

    def environment(self, slack: SlackStandIn, redis_url: str, prices_dir: Path, state: Path) -> dict[str, str]:
        env = super().environment(slack, redis_url, prices_dir, state)
        del env["MARKET_DATA_DIR"]
        # No pacing: the token bucket is not under test here, and it would only slow the answers down.
        return {**env, "YAHOO_API_URL": self.yahoo.url, "TILT_YAHOO_RATE": "1000"}


def signed(body: str, timestamp: int | str | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for ``body``: v0, HMAC-SHA256 of ``v0:ts:body`` (``ts`` now unless given)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def channel() -> str:
    """A channel of the test's own, so its calls are told apart from any other test's."""
    return f"C{uuid.uuid4().hex[:8].upper()}"


def in_channel(slack: SlackStandIn, method: str, channel_id: str) -> list[Call]:
    """Every ``method`` call for channel ``channel_id`` so far (failed ones included)."""
    return [c for c in slack.of(method) if c.body.get("channel") == channel_id or c.body.get("channel_id") == channel_id]


def calls_in(slack: SlackStandIn, method: str, channel_id: str, count: int = 1) -> list[Call]:
    """The ``method`` calls for ``channel_id``, once there are ``count`` of them."""
    def found() -> list[Call] | None:
        calls = in_channel(slack, method, channel_id)
        return calls if len(calls) >= count else None

    return wait_until(found, what=f"{count} {method} for {channel_id}")


def responses_to(slack: SlackStandIn, name: str, count: int = 1) -> list[dict]:
    """The bodies posted to response URL ``name``, once there are ``count`` of them."""
    def found() -> list[dict] | None:
        bodies = [c.body for c in slack.of("response") if c.body["_response_url"] == name]
        return bodies if len(bodies) >= count else None

    return wait_until(found, what=f"{count} response_url posts to {name}")


def settled(tilt: Tilt, slack: SlackStandIn) -> str:
    """Wait until every job queued so far has run: a marker command queued now is answered after them (its one
    worker takes jobs in order), so whatever they would post, a late duplicate too, is in once its answer is.
    Returns the marker's response name (its one post is the marker's own)."""
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    tilt.command("/help", "", channel=channel(), response=marker)
    responses_to(slack, marker)
    return marker


def uploaded(slack: SlackStandIn, channel_id: str) -> bytes:
    """The bytes of the file whose upload to ``channel_id`` was completed (once it is)."""
    complete = calls_in(slack, "files.completeUploadExternal", channel_id)[0]
    return slack.uploads[json.loads(complete.body["files"])[0]["id"]]


def table_rows(blocks: list[dict], kind: str = "data_table") -> dict[str, dict[str, str]]:
    """The figures of the message's table block (``kind``), by row name and column, as displayed."""
    table = next(b for b in blocks if b["type"] == kind)
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    header = rows[0]
    return {row[0]: dict(zip(header, row)) for row in rows[1:]}
