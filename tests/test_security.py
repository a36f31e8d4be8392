"""Tilt probed at its edges, at the wire: what people type is shown as typed, never as a ping or a disguised link.

One ``bot.py serve`` process with Slack and Discord both configured, on closes that reach this week.  Requests
go in signed as the
platforms sign them; what Tilt sends out is read from the Slack and Discord stand-ins.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chat.discord.rest import DiscordRest
from chat.web import MAX_CLICK_BYTES, MAX_HEADER_BYTES, REQUEST_SECONDS
from handlers.common.reply import Reply
from tests.discord_app import APPLICATION_ID, BOT_TOKEN, SlackAndDiscordTilt, interaction, slash
from tests.discord_standin import DiscordStandIn
from tests.servers import PATIENCE, send, wait_until
from tests.slack_app import calls_in, channel, responses_to, signed
from tests.slack_standin import SlackStandIn

# Everything Slack's mrkdwn turns into a notification or a masked link, and an ampersand.
HOSTILE = "<!channel> <!here> <@U0EVIL> <https://evil.example|slack.com> R&D"
RAW_MARKUP = ("<!channel", "<!here", "<@U0EVIL", "<https://evil")


def slack_escaped(text: str) -> str:
    """Slack's documented escaping of text to be shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture(scope="module")
def served_prices(recent_prices: Path) -> Path:
    """Closes moved forward to this week: a call takes its entry from the latest closes."""
    return recent_prices


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
def test_a_call_note_is_posted_as_typed_and_only_tilts_own_mention_pings(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn,
                                                                         as_sent: str) -> None:
    where, caller = channel(), user()
    until = dt.date.today() + dt.timedelta(days=30)
    both_tilt.command("/call", f"SMH over SPY until {until} {as_sent}", channel=where, user=caller)
    posted = calls_in(slack, "chat.postMessage", where)[0].body
    texts = mrkdwn_texts(posted)
    assert not [markup for markup in RAW_MARKUP for text in texts if markup in text]
    assert f"Note: {slack_escaped(HOSTILE)}" in posted["text"]  # shown as typed: escaped once, not twice
    assert f"by <@{caller}>" in posted["blocks"][0]["text"]["text"]  # Tilt's own mention still mentions

    both_tilt.command("/calls", "", channel=where, user=caller)
    listed = calls_in(slack, "chat.postMessage", where, count=2)[1].body
    assert not [markup for markup in RAW_MARKUP for text in mrkdwn_texts(listed) if markup in text]
    assert slack_escaped(HOSTILE) in listed["text"]


def test_a_signal_note_and_an_alert_note_are_shown_as_typed(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    where, caller = channel(), user()
    name = f"s{uuid.uuid4().hex[:8]}"
    both_tilt.command("/signal", f"define {name} SPY above 600 {HOSTILE}", channel=where, user=caller)
    card = calls_in(slack, "chat.postMessage", where)[0].body
    assert not [markup for markup in RAW_MARKUP for text in mrkdwn_texts(card) if markup in text]
    assert f"Note: {slack_escaped(HOSTILE)}" in card["text"] and f"posted by <@{caller}>" in card["text"]
    both_tilt.command("/alert", f"SPY below 100 {HOSTILE}", channel=where, user=caller, response="alert")
    shown = responses_to(slack, "alert")[0]
    assert not [markup for markup in RAW_MARKUP for text in mrkdwn_texts(shown) if markup in text]
    assert f"Note: {slack_escaped(HOSTILE)}" in shown["text"]


def test_words_echoed_in_errors_are_escaped(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    where = channel()
    # /tilt SPY IJR WORD: the sweep echoes a range it can't read.
    both_tilt.command("/tilt", "SPY IJR <!here>", channel=where, user=user(), response="echo")
    shown = responses_to(slack, "echo")[0]
    assert "`&lt;!here&gt;` is not a range of points" in shown["text"]
    assert not [text for text in mrkdwn_texts(shown) if "<!here" in text]
    # Nor can anyone type what Tilt's own mentions are made of (private-use characters around an id).
    both_tilt.command("/tilt", "SPY IJR \ue000U0EVIL\ue001", channel=where, user=user(), response="forged-mention")
    shown = responses_to(slack, "forged-mention")[0]
    assert "is not a range of points" in shown["text"] and not [text for text in mrkdwn_texts(shown) if "<@" in text]


# --- Discord: masked links, and no pings from any message ---------------------------------------


def test_a_masked_link_typed_into_discord_is_not_a_link(both_tilt: SlackAndDiscordTilt, discord: DiscordStandIn) -> None:
    # The backticks close Tilt's code span around the echoed word; the length puts the headline in the description.
    word = "x`[notice](https://evil.example)`" + "y" * 260
    command = slash("digest", user=user(), schedule=word)
    assert both_tilt.interact(command).status == 200
    token = command["token"]
    sent = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{token}")[-1].payload
    embed = sent["embeds"][0]
    assert "[notice]" in embed["description"]
    assert "](https://evil.example)" not in json.dumps(embed, ensure_ascii=False)


def test_every_discord_message_tilt_sends_pings_nobody(both_tilt: SlackAndDiscordTilt, discord: DiscordStandIn) -> None:
    """Follow-ups, private replies, edits in place and channel posts (digests) all say ``parse: []``."""
    commands = [slash("compare", user=user(), tickers="SMH SPY", period="1m"),  # a follow-up
                slash("compare", user=user(), tickers="NOPE"),  # a private reply after deleting the placeholder
                interaction(3, {"custom_id": "/compare SMH SPY 3m", "component_type": 2}, user=user())]
    commands[2]["message"] = {"id": "1", "interaction_metadata": {"id": "2"}}  # a button under a result: an edit
    for command in commands:
        assert both_tilt.interact(command).status == 200
    for command, method in zip(commands, ("POST", "POST", "PATCH")):
        discord.wait_for(method, f"/webhooks/{APPLICATION_ID}/{command['token']}")
    DiscordRest(discord.api_url, BOT_TOKEN).post_to_channel("555", Reply(text="*Digest*", notes=(HOSTILE,)))
    messages = [c for c in discord.calls if c.method in ("POST", "PATCH") and "/commands" not in c.path]
    tokens = [command["token"] for command in commands]
    assert {c.path.split("/")[3] for c in messages if c.path.startswith("/webhooks/")} >= set(tokens)
    assert any(c.path.startswith("/channels/555/messages") for c in messages)
    assert [c.payload.get("allowed_mentions") for c in messages] == [{"parse": []}] * len(messages)


# --- bodies and headers too large: refused by the server before they are read -----------------


def exchange(both_tilt: SlackAndDiscordTilt, sent: bytes) -> bytes:
    """Send ``sent`` on a fresh connection and read the server's answer until it closes the connection.

    The client sends no more than ``sent``: an answer proves the server did not wait for the rest.
    """
    with socket.create_connection(("127.0.0.1", both_tilt.port), timeout=PATIENCE) as connection:
        connection.sendall(sent)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_50_mb_body_is_refused_from_its_headers(both_tilt: SlackAndDiscordTilt) -> None:
    headers = (b"POST /slack/events HTTP/1.1\r\nHost: tilt\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\n\r\n" % (50 * 1024 * 1024))
    assert status(exchange(both_tilt, headers + b"text=")) == 413
    assert both_tilt.get("/healthz").status == 200


def test_a_chunked_body_is_refused_once_it_passes_the_limit(both_tilt: SlackAndDiscordTilt) -> None:
    # One chunk announcing 100 KB, of which only just over the 64 KB limit is sent (and the end never is).
    declared, sent = 100 * 1024, MAX_CLICK_BYTES + 1
    request = (b"POST /discord/interactions HTTP/1.1\r\nHost: tilt\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % declared + b"x" * sent)
    assert status(exchange(both_tilt, request)) == 413


def test_oversized_headers_are_refused(both_tilt: SlackAndDiscordTilt) -> None:
    # Headers of exactly the limit, never ended: the server must not wait for their end (nor read beyond it).
    start = b"GET /healthz HTTP/1.1\r\nHost: tilt\r\nX-Padding: "
    request = start + b"p" * (MAX_HEADER_BYTES - len(start))
    assert status(exchange(both_tilt, request)) == 431
    assert both_tilt.get("/healthz").status == 200


# --- budgets and metrics ---------------------------------------------------------------------------


def test_slack_clicks_are_charged_to_the_clickers_budget(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    where, clicker = channel(), user()
    names = [f"click-{uuid.uuid4().hex[:8]}" for _ in range(11)]
    for name in names:
        assert both_tilt.click("tilt_rerun:0", "/help", channel=where, message_ts="1.0", ephemeral=True,
                          response=name, user=clicker).status == 200
    answers = [responses_to(slack, name)[0]["text"] for name in names]
    assert not [text for text in answers[:10] if "Slow down" in text]
    assert "Slow down" in answers[10]


def test_discord_clicks_are_charged_to_the_clickers_budget(both_tilt: SlackAndDiscordTilt) -> None:
    clicker = user()
    answers = [both_tilt.interact(interaction(3, {"custom_id": "/help", "component_type": 2}, user=clicker)).json()
               for _ in range(11)]
    assert [a["type"] for a in answers] == [5] * 10 + [4]
    assert "Slow down" in answers[10]["data"]["embeds"][0]["title"]


def test_metric_labels_are_known_command_names_whatever_people_type(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    where, typist = channel(), user()
    junk = [f"zzjunk{uuid.uuid4().hex[:6]}" for _ in range(11)]
    # Slack's /tilt takes any words (a first word that is no command's name is the /tilt sweep): whatever is
    # typed after it is counted under "tilt", never under the words themselves.
    for word in junk:  # the 11th is over the person's budget: counted as throttled by the web process
        both_tilt.command("/tilt", word, channel=where, user=typist, response=word)
    for word in junk[:10]:
        responses_to(slack, word)
    def timed() -> str | None:  # a command's time is recorded just after its answer is delivered
        metrics = send(urllib.request.Request(both_tilt.worker_metrics_url)).body.decode()
        return metrics if 'tilt_command_seconds_count{command="tilt"}' in metrics else None

    worker = wait_until(timed, PATIENCE, "the worker's metrics")
    web = both_tilt.metrics()
    assert 'tilt_commands_total{command="tilt",outcome="throttled"}' in web
    assert "zzjunk" not in worker + web


# --- holding the door: connection floods, noisy neighbours, stale and malformed requests ---------

WORKING = {"response_type": "ephemeral", "text": "Working on it…"}
SLACK_ANSWER_SECONDS = 3  # Slack shows the person an error when the ack takes longer


def test_300_idle_connections_do_not_keep_a_signed_command_waiting(both_tilt: SlackAndDiscordTilt) -> None:
    idle = [socket.create_connection(("127.0.0.1", both_tilt.port), timeout=PATIENCE) for _ in range(300)]
    try:
        answer = both_tilt.command("/help", "", channel=channel(), user=user(), timeout=2 * SLACK_ANSWER_SECONDS)
        assert answer.status == 200 and answer.json() == WORKING
        assert answer.seconds < SLACK_ANSWER_SECONDS
        assert send(urllib.request.Request(both_tilt.url + "/healthz"), SLACK_ANSWER_SECONDS).status == 200
    finally:
        for connection in idle:
            connection.close()


def test_a_request_trickling_in_is_cut_off(both_tilt: SlackAndDiscordTilt) -> None:
    """A byte every 0.2 s is never idle, yet the server closes the connection a few seconds after it began."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", both_tilt.port), timeout=0.2) as connection:
        connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: tilt\r\n")
        while time.monotonic() - started < 6 * REQUEST_SECONDS:
            try:
                if connection.recv(1024) == b"":
                    break  # closed by the server
            except TimeoutError:
                connection.sendall(b"X")  # still open: one more byte of a header that never ends
            except ConnectionResetError:
                break
        else:
            pytest.fail(f"the connection was still open {6 * REQUEST_SECONDS} s after its request began")
    assert both_tilt.get("/healthz").status == 200


def test_one_person_over_their_budget_costs_the_slack_workspace_nothing(both_tilt: SlackAndDiscordTilt) -> None:
    workspace, where, noisy = f"T{uuid.uuid4().hex[:8].upper()}", channel(), user()
    answers = [both_tilt.command("/help", "", channel=where, user=noisy, team=workspace).json()["text"] for _ in range(205)]
    assert answers[:10] == [WORKING["text"]] * 10 and all("Slow down" in text for text in answers[10:])
    colleague = both_tilt.command("/help", "", channel=where, user=user(), team=workspace)
    assert colleague.json() == WORKING


def test_one_person_over_their_budget_costs_the_discord_server_nothing(both_tilt: SlackAndDiscordTilt) -> None:
    server, noisy = str(uuid.uuid4().int)[:18], user()

    def help_from(person: str) -> dict[str, Any]:
        return both_tilt.interact({**slash("help", user=person), "guild_id": server}).json()

    answers = [help_from(noisy)["type"] for _ in range(205)]
    assert answers == [5] * 10 + [4] * 195  # a deferral, then "slow down" to the sender only
    assert help_from(user()) == {"type": 5}


@pytest.mark.parametrize("age, status", [(7 * 24 * 3600, 401), (-6 * 60, 401), (4 * 60, 200)],
                         ids=["signed a week ago", "signed 6 minutes ahead", "signed 4 minutes ago"])
def test_a_discord_interaction_signed_more_than_5_minutes_off_is_refused(both_tilt: SlackAndDiscordTilt, discord: DiscordStandIn,
                                                                         age: int, status: int) -> None:
    command = slash("help", user=user())
    body = json.dumps(command).encode()
    answer = both_tilt.discord_post(body, both_tilt.signed(body, at=int(time.time()) - age))
    assert answer.status == status
    if status == 200:
        assert answer.json() == {"type": 5}
        discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}")


def raw_post(both_tilt: SlackAndDiscordTilt, body: str, headers: list[tuple[str, str]]) -> bytes:
    """``POST /slack/events`` with exactly ``headers`` (repeats and omissions as given), as raw HTTP."""
    lines = [b"POST /slack/events HTTP/1.1", b"Host: tilt", b"Connection: close",
             b"Content-Type: application/x-www-form-urlencoded", b"Content-Length: %d" % len(body.encode()),
             *(f"{name}: {value}".encode() for name, value in headers)]
    return exchange(both_tilt, b"\r\n".join(lines) + b"\r\n\r\n" + body.encode())


@pytest.mark.parametrize("header, variant", [(header, variant) for header in ("timestamp", "signature")
                                             for variant in ("garbage", "missing", "duplicated")])
def test_malformed_slack_signature_headers_get_401_and_one_log_line(both_tilt: SlackAndDiscordTilt, header: str, variant: str) -> None:
    body = urlencode(both_tilt.command_form("/help", "", channel=channel(), user=user()))
    timestamp = "abc" if (header, variant) == ("timestamp", "garbage") else str(int(time.time()))
    headers = {"timestamp": [("X-Slack-Request-Timestamp", timestamp)],
               "signature": [("X-Slack-Signature", "garbage" if (header, variant) == ("signature", "garbage")
                              else signed(body, timestamp)["X-Slack-Signature"])]}
    if variant == "missing":
        headers[header] = []
    elif variant == "duplicated":
        headers[header] = headers[header] * 2
    logged = both_tilt.log.stat().st_size
    answer = raw_post(both_tilt, body, headers["timestamp"] + headers["signature"])
    assert status(answer) == 401
    new = both_tilt.log.read_text()[logged:]
    assert "Traceback" not in new and len(new.splitlines()) == 1, new


def test_typed_urls_and_channel_names_are_not_made_links(both_tilt: SlackAndDiscordTilt, slack: SlackStandIn) -> None:
    where = channel()
    until = dt.date.today() + dt.timedelta(days=30)
    note = "see #general and https://evil.example"
    both_tilt.command("/call", f"SMH over SPY until {until} {note}", channel=where, user=user())
    posted = calls_in(slack, "chat.postMessage", where)[0].body
    texts = [block["text"] for block in posted["blocks"] if block["type"] == "section"]
    texts += [e for block in posted["blocks"] if block["type"] == "context" for e in block["elements"]]
    assert any("https://evil.example" in text["text"] for text in texts)
    assert [(text["type"], text.get("verbatim")) for text in texts] == [("mrkdwn", True)] * len(texts)


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 addresses (as /proc/net/tcp writes them: hex, little-endian) listening on ``port``."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {row[1].split(":")[0] for row in rows if row[3] == "0A" and int(row[1].split(":")[1], 16) == port}


def test_metrics_are_served_only_on_a_port_of_their_own_bound_to_this_machine(both_tilt: SlackAndDiscordTilt) -> None:
    assert both_tilt.command("/help", "", channel=channel(), user=user()).status == 200
    assert both_tilt.get("/metrics").status == 404
    assert 'tilt_ack_seconds_count{path="/slack/events"}' in both_tilt.metrics()
    assert listening_addresses(both_tilt.metrics_port) == {"0100007F"}  # 127.0.0.1
