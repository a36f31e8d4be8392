"""Tilt probed at its edges, at the wire: what people type is shown as typed, never as a ping or a disguised link.

One ``bot.py serve`` process with Slack and Discord both configured, on closes that reach this week.  Requests
go in signed as the
platforms sign them; what Tilt sends out is read from the Slack and Discord stand-ins.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from chat.discord.rest import DiscordRest
from chat.web import MAX_CLICK_BYTES, MAX_HEADER_BYTES
from handlers.common.reply import Reply
from tests import test_faults
from tests.discord_standin import DiscordStandIn
from tests.servers import PATIENCE, Answer, send, wait_until
from tests.slack_standin import SlackStandIn
from tests.test_discord import APPLICATION_ID, BOT_TOKEN, interaction, slash
from tests.test_slack import calls_in, channel, responses_to

# Everything Slack's mrkdwn turns into a notification or a masked link, and an ampersand.
HOSTILE = "<!channel> <!here> <@U0EVIL> <https://evil.example|slack.com> R&D"
RAW_MARKUP = ("<!channel", "<!here", "<@U0EVIL", "<https://evil")


def slack_escaped(text: str) -> str:
    """Slack's documented escaping of text to be shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The stand-ins, and closes moved forward to this week (a call takes its entry from the latest closes).
slack, discord, recent_prices = test_faults.slack, test_faults.discord, test_faults.recent_prices


class Tilt(test_faults.SlackAndDiscordTilt):
    def interact(self, sent: dict[str, Any]) -> Answer:
        """Send ``sent`` as a Discord interaction, signed as Discord signs it."""
        body = json.dumps(sent).encode()
        return self.discord_post(body, self.signed(body))


@pytest.fixture(scope="module")
def tilt(slack: SlackStandIn, discord: DiscordStandIn, redis_url: str, recent_prices: Path,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tilt]:
    server = Tilt(slack, discord, redis_url, recent_prices, tmp_path_factory.mktemp("tilt-security"))
    yield server
    server.stop()


def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
    """Every string of a Slack message that Slack reads as mrkdwn: ``text``, sections and context elements."""
    texts = [body.get("text", "")]
    for block in body.get("blocks") or []:
        texts.append((block.get("text") or {}).get("text", ""))
        texts.extend(e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn")
    return texts


def user() -> str:
    """A person of the test's own (the per-person command budget is shared by every test's U1)."""
    return f"U{uuid.uuid4().hex[:8].upper()}"


# --- Slack: mentions, channel pings and masked links people type -----------------------------


@pytest.mark.parametrize("as_sent", [HOSTILE, slack_escaped(HOSTILE)], ids=["raw", "escaped-by-slack"])
def test_a_call_note_is_posted_as_typed_and_only_tilts_own_mention_pings(tilt: Tilt, slack: SlackStandIn,
                                                                         as_sent: str) -> None:
    where, caller = channel(), user()
    until = dt.date.today() + dt.timedelta(days=30)
    tilt.command("/call", f"SMH over SPY until {until} {as_sent}", channel=where, user=caller)
    posted = calls_in(slack, "chat.postMessage", where)[0].body
    texts = mrkdwn_texts(posted)
    assert not [markup for markup in RAW_MARKUP for text in texts if markup in text]
    assert f"Note: {slack_escaped(HOSTILE)}" in posted["text"]  # shown as typed: escaped once, not twice
    assert f"by <@{caller}>" in posted["blocks"][0]["text"]["text"]  # Tilt's own mention still mentions

    tilt.command("/calls", "", channel=where, user=caller)
    listed = calls_in(slack, "chat.postMessage", where, count=2)[1].body
    assert not [markup for markup in RAW_MARKUP for text in mrkdwn_texts(listed) if markup in text]
    assert slack_escaped(HOSTILE) in listed["text"]


def test_words_echoed_in_errors_are_escaped(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    # /tilt SPY IJR WORD: the sweep echoes a range it can't read.
    tilt.command("/tilt", "SPY IJR <!here>", channel=where, user=user(), response="echo")
    shown = responses_to(slack, "echo")[0]
    assert "`&lt;!here&gt;` is not a range of points" in shown["text"]
    assert not [text for text in mrkdwn_texts(shown) if "<!here" in text]
    # Nor can anyone type what Tilt's own mentions are made of (private-use characters around an id).
    tilt.command("/tilt", "SPY IJR \ue000U0EVIL\ue001", channel=where, user=user(), response="forged-mention")
    shown = responses_to(slack, "forged-mention")[0]
    assert "is not a range of points" in shown["text"] and not [text for text in mrkdwn_texts(shown) if "<@" in text]


# --- Discord: masked links, and no pings from any message ---------------------------------------


def test_a_masked_link_typed_into_discord_is_not_a_link(tilt: Tilt, discord: DiscordStandIn) -> None:
    # The backticks close Tilt's code span around the echoed word; the length puts the headline in the description.
    word = "x`[notice](https://evil.example)`" + "y" * 260
    command = slash("digest", user=user(), schedule=word)
    assert tilt.interact(command).status == 200
    token = command["token"]
    sent = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{token}")[-1].payload
    embed = sent["embeds"][0]
    assert "[notice]" in embed["description"]
    assert "](https://evil.example)" not in json.dumps(embed, ensure_ascii=False)


def test_every_discord_message_tilt_sends_pings_nobody(tilt: Tilt, discord: DiscordStandIn) -> None:
    """Follow-ups, private replies, edits in place and channel posts (digests) all say ``parse: []``."""
    commands = [slash("compare", user=user(), tickers="SMH SPY", period="1m"),  # a follow-up
                slash("compare", user=user(), tickers="NOPE"),  # a private reply after deleting the placeholder
                interaction(3, {"custom_id": "/compare SMH SPY 3m", "component_type": 2}, user=user())]
    commands[2]["message"] = {"id": "1", "interaction_metadata": {"id": "2"}}  # a button under a result: an edit
    for command in commands:
        assert tilt.interact(command).status == 200
    for command, method in zip(commands, ("POST", "POST", "PATCH")):
        discord.wait_for(method, f"/webhooks/{APPLICATION_ID}/{command['token']}")
    DiscordRest(discord.api_url, BOT_TOKEN).post_to_channel("555", Reply(text="*Digest*", notes=(HOSTILE,)))
    messages = [c for c in discord.calls if c.method in ("POST", "PATCH") and "/commands" not in c.path]
    tokens = [command["token"] for command in commands]
    assert {c.path.split("/")[3] for c in messages if c.path.startswith("/webhooks/")} >= set(tokens)
    assert any(c.path.startswith("/channels/555/messages") for c in messages)
    assert [c.payload.get("allowed_mentions") for c in messages] == [{"parse": []}] * len(messages)


# --- bodies and headers too large: refused by the server before they are read -----------------


def exchange(tilt: Tilt, sent: bytes) -> bytes:
    """Send ``sent`` on a fresh connection and read the server's answer until it closes the connection.

    The client sends no more than ``sent``: an answer proves the server did not wait for the rest.
    """
    with socket.create_connection(("127.0.0.1", tilt.port), timeout=PATIENCE) as connection:
        connection.sendall(sent)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_50_mb_body_is_refused_from_its_headers(tilt: Tilt) -> None:
    headers = (b"POST /slack/events HTTP/1.1\r\nHost: tilt\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\n\r\n" % (50 * 1024 * 1024))
    assert status(exchange(tilt, headers + b"text=")) == 413
    assert tilt.get("/healthz").status == 200


def test_a_chunked_body_is_refused_once_it_passes_the_limit(tilt: Tilt) -> None:
    # One chunk announcing 100 KB, of which only just over the 64 KB limit is sent (and the end never is).
    declared, sent = 100 * 1024, MAX_CLICK_BYTES + 1
    request = (b"POST /discord/interactions HTTP/1.1\r\nHost: tilt\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % declared + b"x" * sent)
    assert status(exchange(tilt, request)) == 413


def test_oversized_headers_are_refused(tilt: Tilt) -> None:
    # Headers of exactly the limit, never ended: the server must not wait for their end (nor read beyond it).
    start = b"GET /healthz HTTP/1.1\r\nHost: tilt\r\nX-Padding: "
    request = start + b"p" * (MAX_HEADER_BYTES - len(start))
    assert status(exchange(tilt, request)) == 431
    assert tilt.get("/healthz").status == 200


# --- budgets and metrics ---------------------------------------------------------------------------


def test_slack_clicks_are_charged_to_the_clickers_budget(tilt: Tilt, slack: SlackStandIn) -> None:
    where, clicker = channel(), user()
    names = [f"click-{uuid.uuid4().hex[:8]}" for _ in range(11)]
    for name in names:
        assert tilt.click("tilt_rerun:0", "/help", channel=where, message_ts="1.0", ephemeral=True,
                          response=name, user=clicker).status == 200
    answers = [responses_to(slack, name)[0]["text"] for name in names]
    assert not [text for text in answers[:10] if "Slow down" in text]
    assert "Slow down" in answers[10]


def test_discord_clicks_are_charged_to_the_clickers_budget(tilt: Tilt) -> None:
    clicker = user()
    answers = [tilt.interact(interaction(3, {"custom_id": "/help", "component_type": 2}, user=clicker)).json()
               for _ in range(11)]
    assert [a["type"] for a in answers] == [5] * 10 + [4]
    assert "Slow down" in answers[10]["data"]["embeds"][0]["title"]


def test_metric_labels_are_known_command_names_whatever_people_type(tilt: Tilt, slack: SlackStandIn) -> None:
    where, typist = channel(), user()
    junk = [f"zzjunk{uuid.uuid4().hex[:6]}" for _ in range(11)]
    # Slack's /tilt takes any words (a first word that is no command's name is the /tilt sweep): whatever is
    # typed after it is counted under "tilt", never under the words themselves.
    for word in junk:  # the 11th is over the person's budget: counted as throttled by the web process
        tilt.command("/tilt", word, channel=where, user=typist, response=word)
    for word in junk[:10]:
        responses_to(slack, word)
    def timed() -> str | None:  # a command's time is recorded just after its answer is delivered
        metrics = send(urllib.request.Request(tilt.worker_metrics_url)).body.decode()
        return metrics if 'tilt_command_seconds_count{command="tilt"}' in metrics else None

    worker = wait_until(timed, PATIENCE, "the worker's metrics")
    web = tilt.get("/metrics").body.decode()
    assert 'tilt_commands_total{command="tilt",outcome="throttled"}' in web
    assert "zzjunk" not in worker + web
