"""Tilt's Slack app end to end, at the wire.

``python bot.py serve`` runs as a real process on a free port.  The tests
send it what Slack sends (form-encoded, signed slash commands, interactivity
payloads and Events API callbacks) and read what it sends back: the HTTP
answer (the ack) and the Web API calls recorded by the stand-in in
``tests/slack_standin.py``, which also receives ``response_url`` posts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest

from market.cache import connect
from market.redis_server import EmbeddedRedis
from store.teamdata import Owner, TeamStore
from tests.conftest import ROOT
from tests.expected import trailing_cagrs
from tests.servers import Answer, ServeProcess, send, wait_until
from tests.slack_standin import Call, SlackStandIn

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

    def post(self, body: str, *, timestamp: int | None = None, secret: str = SECRET, content_type: str | None = None) -> Answer:
        """POST ``body`` to /slack/events, signed as Slack signs it."""
        request = urllib.request.Request(self.url + "/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": content_type or "application/x-www-form-urlencoded", **signed(body, timestamp, secret)})
        return send(request)

    def command(self, command: str, text: str, *, channel: str, user: str = "U1", response: str | None = None,
                team: str = "T0TEST", **signing) -> Answer:
        return self.post(urlencode(self.command_form(command, text, channel=channel, user=user, response=response,
                                                     team=team)), **signing)

    def command_form(self, command: str, text: str, *, channel: str, user: str = "U1", response: str | None = None,
                     team: str = "T0TEST") -> dict[str, str]:
        """A slash command's fields, as Slack form-encodes them."""
        return {"token": "deprecated", "team_id": team, "team_domain": "tilt-test", "channel_id": channel,
                "channel_name": "markets", "user_id": user, "user_name": "ana", "command": command, "text": text,
                "api_app_id": "A0TILT", "is_enterprise_install": "false", "trigger_id": "1.2.3",
                "response_url": self.slack.response_url(response or f"r-{uuid.uuid4().hex[:8]}")}

    def click(self, action_id: str, value: str, *, channel: str, message_ts: str, ephemeral: bool, response: str,
              user: str = "U1") -> Answer:
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


def signed(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for ``body``: v0, HMAC-SHA256 of ``v0:ts:body`` (``ts`` now unless given)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def tilt(slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path_factory) -> Iterator[Tilt]:
    server = Tilt(slack, redis_url, prices_dir, tmp_path_factory.mktemp("tilt"))
    yield server
    server.stop()


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


def table_rows(blocks: list[dict]) -> dict[str, list[str]]:
    table = next(b for b in blocks if b["type"] == "table")
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    header = rows[0]
    return {row[0]: dict(zip(header, row)) for row in rows[1:]}


# --- slash commands ---------------------------------------------------------------------------


def test_compare_is_acked_at_once_then_posted_with_figures_and_chart(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    answer = tilt.command("/compare", "SMH SPY 10y", channel=where, response="compare-ok")
    assert answer.status == 200 and answer.seconds < 3
    assert answer.json() == {"response_type": "ephemeral", "text": "Working on it…"}

    post = calls_in(slack, "chat.postMessage", where)[0]
    assert post.authorization == "Bearer xoxb-test-token"
    rows = table_rows(post.body["blocks"])
    start, end, smh_cagr, spy_cagr = trailing_cagrs(prices_dir, "SMH", "SPY", 10)
    assert rows["SMH"]["CAGR"] == f"{smh_cagr * 100:.1f}%" and rows["SPY"]["CAGR"] == f"{spy_cagr * 100:.1f}%"
    assert f"{smh_cagr * 100:.1f}%" in post.body["text"]  # the plain-text fallback carries the figures too
    footer = post.body["blocks"][-1]["elements"][0]["text"]
    assert f"as of {end}" in footer and "CSV folder prices" in footer
    buttons = next(b for b in post.body["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["1y", "5y", "max"]

    complete = calls_in(slack, "files.completeUploadExternal", where)[0]
    file_id = json.loads(complete.body["files"])[0]["id"]
    assert slack.uploads[file_id].startswith(PNG_SIGNATURE)
    assert not [c for c in slack.of("response") if c.body["_response_url"] == "compare-ok"]  # nothing more to say


def test_errors_go_only_to_the_requester_with_usage(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    assert tilt.command("/compare", "NOPE SPY", channel=where, response="bad-ticker").status == 200
    reply = responses_to(slack, "bad-ticker")[0]
    assert reply["response_type"] == "ephemeral"
    assert "can't find the ticker NOPE" in reply["text"] and "Usage: `/compare" in reply["text"]
    tilt.command("/compare", "SMH 0y", channel=where, response="bad-period")
    assert "out of range" in responses_to(slack, "bad-period")[0]["text"]
    time.sleep(0.3)  # both answers are in: room for a wrong channel post beside them
    assert not [c for c in slack.of("chat.postMessage") if c.body.get("channel") == where]


def test_umbrella_command_runs_valuation(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/tilt", "valuation IJR SPY", channel=where)
    rows = table_rows(calls_in(slack, "chat.postMessage", where)[0].body["blocks"])
    assert rows["IJR"]["P/E"] == "15.9x" and rows["IJR"]["P/E vs bench"] == f"{(15.9 / 24.17 - 1) * 100:+.0f}%"


@pytest.mark.parametrize("signing", [{"secret": "wrong-secret"}, {"timestamp": int(time.time()) - 6 * 60}])
def test_badly_signed_or_stale_requests_get_401_and_do_nothing(tilt: Tilt, slack: SlackStandIn, signing: dict) -> None:
    where = channel()
    answer = tilt.command("/compare", "SMH SPY", channel=where, response="forged", **signing)
    assert answer.status == 401
    time.sleep(0.3)  # refused before anything is queued (the 401 is the answer): room for a wrong post anyway
    assert not [c for c in slack.calls if c.body.get("channel") == where or c.body.get("_response_url") == "forged"]


def test_unsigned_request_gets_401(tilt: Tilt) -> None:
    request = urllib.request.Request(tilt.url + "/slack/events", data=b"command=%2Fhelp", method="POST")
    assert send(request).status == 401


def test_budget_says_slow_down(tilt: Tilt, slack: SlackStandIn) -> None:
    where, user = channel(), f"U{uuid.uuid4().hex[:6]}"
    answers = [tilt.command("/help", "", channel=where, user=user) for _ in range(11)]
    assert all(a.json()["text"] == "Working on it…" for a in answers[:10])
    assert answers[10].json()["response_type"] == "ephemeral" and "Slow down" in answers[10].json()["text"]


def test_not_in_channel_answers_privately_with_a_share_button(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    slack.not_member.add(where)
    tilt.command("/compare", "IWM SPY 1y", channel=where, response="private")
    reply = responses_to(slack, "private")[0]
    assert reply["response_type"] == "ephemeral" and "/invite @Tilt" in reply["text"]
    share = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Share in channel")
    assert share["value"] == "/compare IWM SPY 1y"

    tilt.click(share["action_id"], share["value"], channel=where, message_ts="1.0", ephemeral=True, response="shared")
    public, cleanup = responses_to(slack, "shared", count=2)
    assert public["response_type"] == "in_channel" and "IWM vs SPY" in public["text"]
    assert cleanup["delete_original"] is True  # the private copy goes away


def test_period_button_updates_the_message_in_place(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    tilt.click("tilt_rerun:1", "/compare SMH vs SPY 5y", channel=where, message_ts="1700000000.000100",
               ephemeral=False, response="button")
    update = calls_in(slack, "chat.update", where)[0]
    assert update.body["ts"] == "1700000000.000100"
    _, _, smh_cagr, _ = trailing_cagrs(prices_dir, "SMH", "SPY", 5)
    assert table_rows(update.body["blocks"])["SMH"]["CAGR"] == f"{smh_cagr * 100:.1f}%"
    complete = calls_in(slack, "files.completeUploadExternal", where)[0]
    assert complete.body["thread_ts"] == "1700000000.000100"  # the new chart goes in the message's thread


def test_signal_card_vote_updates_the_card_in_place(tilt: Tilt, slack: SlackStandIn, redis_url: str) -> None:
    where = channel()
    # A user of its own: the per-person command budget (10 a minute) is shared with the other tests' U1.
    tilt.command("/signal", "smallcaps", channel=where, user=f"U{uuid.uuid4().hex[:6].upper()}", response="signal")
    post = calls_in(slack, "chat.postMessage", where)[0]
    assert "*Signal: smallcaps* · IWM vs SPY is" in post.body["text"]
    buttons = next(b for b in post.body["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Agree (0)", "Disagree (0)"]
    calls_in(slack, "files.completeUploadExternal", where)  # the chart
    card_id = buttons[0]["value"].split()[1]
    # The adapter reported where the card landed, so flips can be announced in its thread.
    store, team = TeamStore(connect(redis_url)), Owner(platform="slack", team="T0TEST", scope="team")
    ts = post.answer["ts"]
    assert wait_until(lambda: store.thread(team, f"card:{card_id}"), what="the card's thread") == (where, ts)

    tilt.click(buttons[0]["action_id"], buttons[0]["value"], channel=where, message_ts=ts, ephemeral=False, response="vote")
    update = calls_in(slack, "chat.update", where)[0]
    assert update.body["ts"] == ts
    assert "Votes: 1 agree – 0 disagree" in update.body["text"]
    labels = [b["text"]["text"] for b in next(b for b in update.body["blocks"] if b["type"] == "actions")["elements"]]
    assert labels == ["Agree (1)", "Disagree (0)"]
    time.sleep(0.3)  # the vote's update is in: room for a wrong second chart or card
    assert len(calls_in(slack, "files.completeUploadExternal", where)) == 1  # no second chart for a vote
    assert len(calls_in(slack, "chat.postMessage", where)) == 1  # and no second card


def test_mention_answers_in_the_thread(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    assert tilt.event({"type": "app_mention", "user": "U1", "text": "<@U0TILT> compare QQQ SPY 3y",
                       "ts": "1700000001.000200", "channel": where, "event_ts": "1700000001.000200"}).status == 200
    post = calls_in(slack, "chat.postMessage", where)[0]
    assert post.body["thread_ts"] == "1700000001.000200" and "QQQ vs SPY" in post.body["text"]


def test_a_retried_event_is_answered_once(tilt: Tilt, slack: SlackStandIn) -> None:
    where, event_id = channel(), f"Ev{uuid.uuid4().hex[:10]}"
    mention = {"type": "app_mention", "user": "U7", "text": "<@U0TILT> valuation IJR SPY", "ts": "1700000003.000400",
               "channel": where, "event_ts": "1700000003.000400"}
    assert tilt.event(mention, event_id=event_id).status == 200
    assert tilt.event(mention, event_id=event_id).status == 200  # Slack's retry: same event id
    calls_in(slack, "chat.postMessage", where)
    time.sleep(0.5)  # the first is answered (a duplicate would have been queued with it): room for the duplicate
    assert len([c for c in slack.of("chat.postMessage") if c.body.get("channel") == where]) == 1


def test_oversized_and_malformed_requests_are_refused_without_harm(tilt: Tilt) -> None:
    assert tilt.post("text=" + "x" * 70_000).status == 413
    assert tilt.post("%%%not-a-form").status in (200, 400, 404)  # signed garbage: no crash, no answer
    assert tilt.get("/healthz").status == 200


def test_direct_message_runs_the_command(tilt: Tilt, slack: SlackStandIn) -> None:
    where = "D" + channel()[1:]
    tilt.event({"type": "message", "channel_type": "im", "user": "U1", "text": "valuation IWM SPY",
                "ts": "1700000002.000300", "channel": where, "event_ts": "1700000002.000300"})
    assert "IWM" in calls_in(slack, "chat.postMessage", where)[0].body["text"]


def test_slack_rate_limit_is_waited_out(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    tilt.command("/compare", "XLK SPY 2y", channel=where)
    posts = calls_in(slack, "chat.postMessage", where, count=2)
    assert posts[1].at - posts[0].at >= 1.0


def test_health_and_metrics(tilt: Tilt) -> None:
    assert tilt.get("/healthz").status == 200
    web = tilt.get("/metrics").body.decode()
    assert 'tilt_ack_seconds_bucket{le="0.1",path="/slack/events"}' in web
    # Commands run on the worker, which counts them across its forked work horses.
    worker = send(urllib.request.Request(tilt.worker_metrics_url)).body.decode()
    answered = re.search(r'^tilt_commands_total\{command="compare",outcome="ok"\} (\d+)', worker, re.M)
    assert answered and float(answered.group(1)) >= 2
    assert 'tilt_command_seconds_bucket{command="compare",le="2.0"}' in worker and "tilt_cache_requests_total" in worker
    assert tilt.get("/nothing-here").status == 404


def test_tilt_still_answers_when_redis_stops(slack: SlackStandIn, prices_dir: Path, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis")
    server = Tilt(slack, redis.url, prices_dir, tmp_path / "tilt")
    try:
        redis.close()
        where = channel()
        assert server.command("/compare", "VTI SPY 1y", channel=where).status == 200
        assert "VTI vs SPY" in calls_in(slack, "chat.postMessage", where)[0].body["text"]
        assert server.get("/healthz").status == 503
    finally:
        server.stop()


def test_the_manifest_declares_every_command() -> None:
    from chat.slack.app import SLASH_COMMANDS, UMBRELLA_COMMAND

    manifest = (ROOT / "slack" / "manifest.yml").read_text()
    declared = re.findall(r"^\s+- command: (/\S+)$", manifest, re.M)
    assert sorted(declared) == sorted([*SLASH_COMMANDS, UMBRELLA_COMMAND])
