"""Tilt in Discord end to end, at the wire.

``python bot.py serve`` runs as a real process with only Discord configured.
The tests send it interactions signed as Discord signs them (Ed25519 over
timestamp + body, with a key generated here) and read what it sends back: the
HTTP answer, and the REST calls recorded by the stand-in for Discord's API in
``tests/discord_standin.py`` (follow-ups with their multipart files, command
registration, channel posts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis as redis_py
from nacl.signing import SigningKey

from chat.discord.embeds import (
    CUSTOM_ID_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    TITLE_LIMIT,
    action_rows,
    fit,
    message,
)
from chat.discord.interactions import caller
from chat.discord.register import command_text
from chat.discord.rest import DiscordRest
from handlers import catalog
from handlers.alert import fired_reply
from handlers.common.caller import Caller
from handlers.common.reply import Action, Chart, Reply, Table, mention
from store.teamdata import Owner, TeamStore
from tests.conftest import ROOT
from tests.discord_app import (
    APPLICATION_ID,
    BOT_TOKEN,
    EPHEMERAL,
    PNG_SIGNATURE,
    DiscordTilt,
    discord_env,
    interaction,
    reply_to,
    slash,
    snowflake,
    table_rows,
)
from tests.discord_standin import DiscordStandIn, check_commands
from tests.expected import closes, trailing_cagrs, trailing_pe
from tests.servers import PATIENCE, wait_until

# --- the endpoint -----------------------------------------------------------------------------


def test_ping_is_answered_with_pong(discord_tilt: DiscordTilt) -> None:
    answer = discord_tilt.interact({"type": 1, "id": "1", "application_id": APPLICATION_ID, "token": "t", "version": 1})
    assert answer.status == 200 and answer.json() == {"type": 1}
    assert answer.content_type == "application/json"
    assert discord_tilt.discord_post(b"{}", path="/slack/events").status == 404  # only the configured platform is served


@pytest.mark.parametrize("case", ["other key", "tampered body", "no headers", "not hex"])
def test_bad_signatures_get_401_and_do_nothing(discord_tilt: DiscordTilt, discord: DiscordStandIn, case: str) -> None:
    command = slash("compare", tickers="SMH SPY")
    body = json.dumps(command).encode()
    headers = {
        "other key": discord_tilt.signed(body, SigningKey.generate()),
        "tampered body": discord_tilt.signed(body.replace(b"SMH SPY", b"QQQ SPY")),
        "no headers": {},
        "not hex": {**discord_tilt.signed(body), "X-Signature-Ed25519": "zz" * 64},
    }[case]
    answer = discord_tilt.discord_post(body, headers=headers)
    assert answer.status == 401
    marker = slash("help")  # queued after anything the refused request could have queued: answered after it
    discord_tilt.interact(marker)
    reply_to(discord, marker)
    assert not discord.calls_to(f"/webhooks/{APPLICATION_ID}/{command['token']}")


# --- commands ---------------------------------------------------------------------------------


def test_compare_is_deferred_at_once_then_followed_up_with_embed_and_chart(discord_tilt: DiscordTilt, discord: DiscordStandIn,
                                                                           prices_dir: Path) -> None:
    command = slash("compare", tickers="SMH SPY", period="10y", benchmark="SPY")
    answer = discord_tilt.interact(command)
    assert answer.status == 200 and answer.seconds < 3
    assert answer.json() == {"type": 5} and answer.content_type == "application/json"

    token = command["token"]
    follow_up = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{token}")[0]
    assert follow_up.status == 200 and follow_up.authorization == ""  # the interaction token is the authority
    embed = follow_up.payload["embeds"][0]
    rows = table_rows(embed["description"])
    start, end, smh_cagr, spy_cagr = trailing_cagrs(prices_dir, "SMH", "SPY", 10)
    assert rows["SMH"]["CAGR"] == f"{smh_cagr * 100:.1f}%" and rows["SPY"]["CAGR"] == f"{spy_cagr * 100:.1f}%"
    assert embed["title"].startswith("SMH vs SPY, 10y") and "beat SPY" in embed["description"]
    assert f"as of {end}" in embed["footer"]["text"] and "CSV folder prices" in embed["footer"]["text"]

    filename, png = follow_up.files["files[0]"]
    assert png.startswith(PNG_SIGNATURE)
    [attachment] = follow_up.payload["attachments"]
    assert attachment["id"] == 0 and attachment["filename"] == filename and "Growth of $10,000" in attachment["description"]
    assert embed["image"]["url"] == f"attachment://{filename}"
    buttons = [b for row in follow_up.payload["components"] for b in row["components"]]
    assert [(b["label"], b["custom_id"]) for b in buttons] == [
        ("1y", "/compare SMH vs SPY 1y"), ("5y", "/compare SMH vs SPY 5y"), ("max", "/compare SMH vs SPY max")]

    [seen] = discord.visible(token)
    assert not seen.ephemeral  # the result replaced the public "thinking…" placeholder


def test_unknown_ticker_is_shown_only_to_the_requester(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    command = slash("compare", tickers="NOPE SPY")
    assert discord_tilt.interact(command).json() == {"type": 5}
    token = command["token"]
    follow_up = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{token}")[0]
    deleted = discord.wait_for("DELETE", f"/webhooks/{APPLICATION_ID}/{token}/messages/@original")[0]
    assert deleted.status == 204 and deleted.at < follow_up.at  # the placeholder goes first
    assert follow_up.payload["flags"] == EPHEMERAL
    [seen] = discord.visible(token)
    assert seen.ephemeral
    embed = seen.payload["embeds"][0]
    assert "can't find the ticker NOPE" in embed["title"] and embed["title"].startswith("⚠️")
    assert embed["fields"][0] == {"name": "Usage", "value": "`/compare TICKER [TICKER ...] [vs BENCH] [PERIOD]   e.g. /compare SMH SPY 10y`"}


def test_cycle_follows_up_with_its_phase_grid_and_chart(discord_tilt: DiscordTilt, discord: DiscordStandIn, prices_dir: Path) -> None:
    command = slash("cycle", tickers="IWM IJR", benchmark="SPY")
    assert discord_tilt.interact(command).json() == {"type": 5}
    follow_up = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}")[0]
    embed = follow_up.payload["embeds"][0]
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    common = sorted(set(iwm) & set(spy))
    # The 2020 recession: the last close before 2020-02-01 to the last close on or before 2020-04-30.
    start, end = max(d for d in common if d.isoformat() < "2020-02-01"), max(d for d in common if d.isoformat() <= "2020-04-30")
    covid = (iwm[end] / iwm[start]) / (spy[end] / spy[start]) - 1
    assert embed["title"].startswith("IJR IWM vs SPY through the cycle")
    assert list(table_rows(embed["description"])) == ["Late expansion", "Recession", "Early recovery",
                                                      "Rate cuts, first 6m", "Rate cuts, first 12m", "Hikes, first 12m"]
    assert f"{covid * 100:+.1f}%" in embed["description"]  # the detail table, in the same embed
    assert "as of 2026-07-14" in embed["footer"]["text"]
    assert follow_up.files["files[0]"][1].startswith(PNG_SIGNATURE)
    buttons = [b["custom_id"] for row in follow_up.payload["components"] for b in row["components"]]
    assert "/compare IJR IWM vs SPY 2020-02-01..2020-04-30" in buttons


def test_valuation_and_help_options_become_command_text(discord_tilt: DiscordTilt, discord: DiscordStandIn,
                                                        prices_dir: Path) -> None:
    valuation = slash("valuation", tickers="IJR", benchmark="SPY")
    help_compare = slash("help", command="compare")
    discord_tilt.interact(valuation)
    discord_tilt.interact(help_compare)
    embed = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{valuation['token']}")[0].payload["embeds"][0]
    assert table_rows(embed["description"])["IJR"]["P/E"] == f"{trailing_pe(prices_dir, 'IJR'):.1f}x"
    help_reply = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{help_compare['token']}")[0].payload
    assert help_reply["flags"] == EPHEMERAL and "**" not in help_reply["embeds"][0]["title"]
    assert "/compare TICKER" in help_reply["embeds"][0]["title"] and "Periods:" in help_reply["embeds"][0]["description"]


def test_options_become_the_routers_command_text_and_ids_the_caller() -> None:
    def data(name: str, **options: str) -> dict[str, Any]:
        return {"name": name, "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()]}

    assert command_text(data("compare", tickers="SMH SPY", period="10y", benchmark="SPY")) == "/compare SMH SPY vs SPY 10y"
    assert command_text(data("watchlist", tickers="SMH SOXX", action="add")) == "/watchlist add SMH SOXX"
    assert command_text(data("digest", schedule="weekly mon 08:00 Europe/London")) == "/digest weekly mon 08:00 Europe/London"
    assert command_text(data("help")) == "/help"
    assert command_text(data("rotation", action="set", universe="mine", tickers="AAPL MSFT")) == "/rotation set mine AAPL MSFT"
    assert command_text(data("rotation", universe="sectors", period="6m")) == "/rotation sectors 6m"
    assert command_text(data("call", ticker="IWM", until="2027-06-30", benchmark="SPY", note="small caps catch up")) \
        == "/call IWM vs SPY until 2027-06-30 small caps catch up"
    assert command_text(data("call", cancel="3")) == "/call cancel 3"
    assert command_text(data("signal", signal="semis")) == "/signal semis"
    assert command_text(data("signal", signal="define x SPY above 600")) == "/signal define x SPY above 600"
    assert command_text(data("alert", rule="IWM/SPY above sma200")) == "/alert IWM/SPY above sma200"
    # Only declared options reach the text: an undeclared command keeps its name (the router says it is unknown).
    assert command_text(data("later", days="3", tickers="SMH")) == "/later"
    assert command_text(data("signal", signal="semis", days="3")) == "/signal semis"

    in_server = slash("watchlist", user="11", channel="22")
    assert caller(in_server) == Caller(platform="discord", team="777", channel="22", user="11", is_dm=False)
    direct = {"type": 2, "channel_id": "33", "user": {"id": "11"}, "data": {}}
    assert caller(direct) == Caller(platform="discord", team="dm:11", channel="33", user="11", is_dm=True)
    assert caller(direct).owner.scope == "user:11"  # a DM's watchlist and digest are the person's own


def test_direct_messages_work_too(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    command = slash("help")
    del command["guild_id"], command["member"]
    command["user"] = {"id": snowflake(), "username": "ana"}
    assert discord_tilt.interact(command).json() == {"type": 5}
    assert "/compare" in json.dumps(reply_to(discord, command)["embeds"])


def in_a_dm(command: dict[str, Any], user: str) -> dict[str, Any]:
    """``command`` as Discord sends it from a direct message with the bot: no server, the person in ``user``."""
    direct = {k: v for k, v in command.items() if k not in ("guild_id", "member")}
    return {**direct, "channel_id": f"dm-{user}", "user": {"id": user, "username": "dm-user"}}


def test_each_persons_direct_messages_keep_their_own_team_data(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    ana, ben = snowflake(), snowflake()
    # The command text of a button is run as typed, so a click defines the universe without any registered option.
    define = in_a_dm(interaction(3, {"custom_id": "/rotation set anas AAPL MSFT", "component_type": 2}), ana)
    discord_tilt.interact(define)
    assert "anas" in reply_to(discord, define)["embeds"][0]["title"]

    listings = {who: in_a_dm(interaction(3, {"custom_id": "/rotation list", "component_type": 2}), who)
                for who in (ana, ben)}
    for listing in listings.values():
        discord_tilt.interact(listing)
    seen = {who: json.dumps(reply_to(discord, listing)["embeds"]) for who, listing in listings.items()}
    assert "`anas`: AAPL, MSFT" in seen[ana]
    assert "anas" not in seen[ben] and "`sectors`" in seen[ben]  # Ben sees the built-in universes only


def test_a_signal_card_gets_a_thread_and_its_vote_buttons_update_it_in_place(discord_tilt: DiscordTilt, discord: DiscordStandIn,
                                                                            redis_url: str) -> None:
    card = slash("signal", signal="smallcaps", channel="889")
    discord_tilt.interact(card)
    posted = reply_to(discord, card)
    assert "Signal: smallcaps" in posted["embeds"][0]["title"] and posted["attachments"]
    agree, disagree = (b["custom_id"] for row in posted["components"] for b in row["components"])
    card_id = agree.split()[1]
    [thread] = [c for c in discord.wait_for("POST", "/channels/889/messages/") if c.path.endswith("/threads")]
    message_id = thread.path.split("/")[4]
    assert thread.authorization == f"Bot {BOT_TOKEN}" and "smallcaps" in thread.payload["name"]
    # Flips are announced in the thread, whose id is the card message's.
    store = TeamStore(redis_py.Redis.from_url(redis_url))
    where = wait_until(lambda: store.thread(Owner("discord", "777", "team"), f"card:{card_id}"), what="the card's thread")
    assert where == (message_id, message_id)

    image = {"url": f"https://cdn.discordapp.com/attachments/889/1/{posted['attachments'][0]['filename']}"}
    ana, ben = snowflake(), snowflake()

    def click(custom_id: str, user: str) -> dict[str, Any]:
        pressed = interaction(3, {"custom_id": custom_id, "component_type": 2}, user=user, channel="889")
        pressed["message"] = {"id": message_id, "interaction_metadata": {"id": card["id"], "type": 2},
                              "embeds": [{**posted["embeds"][0], "image": image}], "attachments": [{"id": "1"}]}
        assert discord_tilt.interact(pressed).json() == {"type": 6}
        return discord.wait_for("PATCH", f"/webhooks/{APPLICATION_ID}/{pressed['token']}/messages/@original")[0].payload

    for custom_id, user, tally in ((agree, ana, ("Agree (1)", "Disagree (0)")), (disagree, ben, ("Agree (1)", "Disagree (1)")),
                                   (disagree, ana, ("Agree (0)", "Disagree (2)"))):  # Ana changes her mind
        edit = click(custom_id, user)
        assert tuple(b["label"] for row in edit["components"] for b in row["components"]) == tally
        assert "attachments" not in edit and edit["embeds"][0]["image"] == image  # the chart stays


def test_period_button_edits_the_message_in_place(discord_tilt: DiscordTilt, discord: DiscordStandIn, prices_dir: Path) -> None:
    click = interaction(3, {"custom_id": "/compare SMH vs SPY 5y", "component_type": 2})
    click["message"] = {"id": "5", "interaction_metadata": {"id": "4", "type": 2, "name": "compare"}}  # under a result
    assert discord_tilt.interact(click).json() == {"type": 6}
    edit = discord.wait_for("PATCH", f"/webhooks/{APPLICATION_ID}/{click['token']}/messages/@original")[0]
    _, _, smh_cagr, _ = trailing_cagrs(prices_dir, "SMH", "SPY", 5)
    assert table_rows(edit.payload["embeds"][0]["description"])["SMH"]["CAGR"] == f"{smh_cagr * 100:.1f}%"
    assert edit.files["files[0]"][1].startswith(PNG_SIGNATURE) and edit.payload["attachments"][0]["id"] == 0


def test_a_button_under_a_channel_post_answers_below_it(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    click = interaction(3, {"custom_id": "/compare XLK vs SPY 1y", "component_type": 2})
    click["message"] = {"id": "6", "author": {"id": APPLICATION_ID, "bot": True}}  # e.g. a digest, posted with the bot token
    assert discord_tilt.interact(click).json() == {"type": 5}
    assert "XLK vs SPY" in reply_to(discord, click)["embeds"][0]["title"]
    assert not discord.calls_to(f"/webhooks/{APPLICATION_ID}/{click['token']}/messages")  # the post is left alone


def test_autocomplete_suggests_tickers(discord_tilt: DiscordTilt) -> None:
    typing = interaction(4, {"name": "compare", "type": 1, "options": [
        {"name": "tickers", "type": 3, "value": "smh so", "focused": True}]})
    answer = discord_tilt.interact(typing)
    assert answer.status == 200 and answer.json()["type"] == 8
    choices = answer.json()["data"]["choices"]
    assert choices[0] == {"name": "smh SOXX · iShares Semiconductor ETF", "value": "smh SOXX"}
    assert all(c["value"].startswith("smh ") for c in choices)

    benchmark = interaction(4, {"name": "compare", "type": 1, "options": [
        {"name": "tickers", "type": 3, "value": "SMH"}, {"name": "benchmark", "type": 3, "value": "", "focused": True}]})
    choices = discord_tilt.interact(benchmark).json()["data"]["choices"]
    assert len(choices) == 25 and choices[0]["value"] == "SPY"
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)


def test_autocomplete_suggests_periods_and_keeps_what_was_typed(discord_tilt: DiscordTilt) -> None:
    def suggested(typed: str) -> list[str]:
        typing = interaction(4, {"name": "compare", "type": 1, "options": [
            {"name": "tickers", "type": 3, "value": "SMH"}, {"name": "period", "type": 3, "value": typed, "focused": True}]})
        return [choice["value"] for choice in discord_tilt.interact(typing).json()["data"]["choices"]]

    assert suggested("1")[:4] == ["1", "1w", "1m", "1y"] and "10y" in suggested("1")
    assert suggested("since 2021-03-01") == ["since 2021-03-01"]  # offered as typed: the grammar decides
    assert suggested("10y")[0] == "10y" and suggested("")[:5] == ["1w", "mtd", "1m", "qtd", "3m"]
    assert suggested("m")[:2] == ["m", "mtd"]


def test_budget_says_slow_down_privately(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    user = str(uuid.uuid4().int)[:18]
    answers = [discord_tilt.interact(slash("help", user=user)) for _ in range(11)]
    assert [a.json()["type"] for a in answers[:10]] == [5] * 10
    throttled = answers[10].json()
    assert throttled["type"] == 4 and throttled["data"]["flags"] == EPHEMERAL
    assert "Slow down" in throttled["data"]["embeds"][0]["title"]


def test_an_undeliverable_reply_becomes_an_apology(discord_tilt: DiscordTilt, discord: DiscordStandIn) -> None:
    command = slash("compare", tickers="QQQ SPY", period="1y")
    discord.fail_next("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}", status=500)
    discord_tilt.interact(command)
    failed, apology = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}", count=2)
    assert failed.status == 500 and apology.status == 200
    assert "Discord would not take it" in apology.payload["embeds"][0]["title"]
    assert BOT_TOKEN not in discord_tilt.log.read_text() and command["token"] not in discord_tilt.log.read_text()


# --- registration, channel posts, limits -----------------------------------------------------


def test_discord_register_sends_the_command_definitions(discord: DiscordStandIn, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "discord-register", "--guild", "555"],
                            env=discord_env(discord, TILT_STATE_DIR=str(tmp_path)), cwd=tmp_path, capture_output=True,
                            text=True, timeout=PATIENCE)
    assert result.returncode == 0, result.stderr
    listed = [command.name for command in catalog.listed()]
    assert result.stdout.strip() == f"Registered {' '.join(f'/{c}' for c in listed)} in server 555."
    call = discord.wait_for("PUT", f"/applications/{APPLICATION_ID}/guilds/555/commands")[0]
    assert call.authorization == f"Bot {BOT_TOKEN}" and call.status == 200
    assert check_commands(call.payload) is None
    commands = {c["name"]: {o["name"]: o for o in c.get("options", [])} for c in call.payload}
    assert list(commands) == listed and "vote" not in commands  # buttons' commands are not offered
    compare = commands["compare"]
    assert all(o["type"] == 3 for c in commands.values() for o in c.values() if o["name"] not in ("cancel", "step"))
    assert commands["call"]["cancel"]["type"] == 4 and commands["call"]["cancel"]["min_value"] == 1
    assert compare["tickers"]["required"] and compare["tickers"]["autocomplete"] and compare["benchmark"]["autocomplete"]
    assert compare["period"]["autocomplete"] and "choices" not in compare["period"]  # free text, as on Slack
    assert set(commands["valuation"]) == {"tickers", "benchmark"}
    assert [c["value"] for c in commands["help"]["command"]["choices"]] == listed
    assert set(commands["watchlist"]) == {"action", "tickers"} and set(commands["digest"]) == {"schedule"}
    assert list(commands["rotation"]) == ["action", "universe", "tickers", "period"]
    assert [c["value"] for c in commands["rotation"]["action"]["choices"]] == ["set", "list"]
    assert not commands["signal"]["signal"]["required"] and "choices" not in commands["signal"]["signal"]
    assert commands["alert"]["rule"]["required"]
    assert set(commands["call"]) == {"ticker", "until", "benchmark", "note", "cancel"} and commands["calls"] == {}


@pytest.mark.parametrize("period, first, last", [
    ("since 2021-03-01", "2021-02-26", None),
    ("2015-10-30 to 2025-10-31", "2015-10-29", "2025-10-31"),
    ("from 2020-03-23", "2020-03-20", None),
])
def test_discord_takes_every_period_the_grammar_does(discord_tilt: DiscordTilt, discord: DiscordStandIn, prices_dir: Path,
                                                     period: str, first: str, last: str | None) -> None:
    command = slash("compare", tickers="QQQ", period=period, benchmark="SPY")
    discord_tilt.interact(command)
    embed = reply_to(discord, command)["embeds"][0]
    closes = pd.read_csv(prices_dir / "SPY.csv", index_col="Date", parse_dates=True)["Adj Close"]
    # The window opens at the last close before its first day and ends at the last close the data has (or
    # on or before its last day): read from the CSV file, not from Tilt.
    opened = closes.index[closes.index < pd.Timestamp(period.split()[-1] if not last else period.split()[0])][-1]
    ended = closes.index[closes.index <= pd.Timestamp(last)][-1] if last else closes.index[-1]
    assert f"{opened:%Y-%m-%d}" == first
    assert f"{opened:%Y-%m-%d} → {ended:%Y-%m-%d}" in embed["footer"]["text"]


def test_discord_register_needs_the_bot_token(discord: DiscordStandIn, tmp_path: Path) -> None:
    env = {k: v for k, v in discord_env(discord, TILT_STATE_DIR=str(tmp_path)).items() if k != "DISCORD_BOT_TOKEN"}
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "discord-register"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=PATIENCE)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tilt: DISCORD_BOT_TOKEN is not set; Tilt needs it for this mode (see README, 'Add Tilt to Discord')."]


def test_a_malformed_public_key_stops_serve_with_one_line(discord: DiscordStandIn, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "serve"], capture_output=True, text=True, timeout=PATIENCE,
                            env=discord_env(discord, DISCORD_PUBLIC_KEY="not-a-key", TILT_STATE_DIR=str(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tilt: DISCORD_PUBLIC_KEY must be the 64 hex digits of the application's public key (General Information)."]


def test_post_to_channel_waits_out_a_rate_limit(discord: DiscordStandIn) -> None:
    chart = Chart(png=PNG_SIGNATURE + b"chart", filename="digest chart.png", title="Digest", alt_text="A chart.")
    reply = Reply(text="*Weekly digest*", table=Table(("Ticker", "1w"), (("SMH", "+2.0%"),)), chart=chart,
                  actions=(Action("1y", "/compare SMH vs SPY 1y"),))
    discord.fail_next("POST", "/channels/999/messages", retry_after=0.4)
    posted = DiscordRest(discord.api_url, BOT_TOKEN).post_to_channel("999", reply)
    limited, sent = discord.wait_for("POST", "/channels/999/messages", count=2)
    assert limited.status == 429 and sent.status == 200 and sent.at - limited.at >= 0.4
    assert sent.authorization == f"Bot {BOT_TOKEN}" and posted["channel_id"] == "999"
    assert sent.payload["embeds"][0]["title"] == "Weekly digest" and "flags" not in sent.payload
    assert sent.files == {"files[0]": ("digest_chart.png", PNG_SIGNATURE + b"chart")}
    assert sent.payload["embeds"][0]["image"]["url"] == "attachment://digest_chart.png"


def test_a_fired_alert_pings_its_author_and_nobody_else(discord: DiscordStandIn) -> None:
    alert = {"id": "4", "rule": "SMH below 250", "author": "4242", "set_as_of": "2025-04-02",
             "fired_on": "2025-04-04", "as_of": "2025-04-04", "now": "SMH at 200.00 is 20.0% below 250"}
    DiscordRest(discord.api_url, BOT_TOKEN).post_to_channel("1002", fired_reply(alert, "CSV folder prices"))
    [sent] = discord.wait_for("POST", "/channels/1002/messages")
    assert sent.payload["content"] == "<@4242>"
    assert sent.payload["allowed_mentions"] == {"parse": [], "users": ["4242"]}
    assert "Alert #4" in sent.payload["embeds"][0]["title"]


def test_a_message_pings_nobody_and_carries_its_buttons_chart_and_flags() -> None:
    commands = [f"/compare SMH SPY {n}y" for n in range(1, 8)]
    actions = tuple(Action(label=c.split()[-1], command=c) for c in commands) + (Action("again", commands[0]),)
    chart = Chart(png=PNG_SIGNATURE, filename="smh spy.png", title="SMH vs SPY", alt_text="SMH ahead of SPY")
    sent = message(Reply(text="*SMH vs SPY* @everyone", actions=actions, chart=chart), ephemeral=True).payload
    assert sent["allowed_mentions"] == {"parse": []}  # no @everyone, role or user is ever pinged
    assert sent["flags"] == 64  # Discord's EPHEMERAL: only the person who asked sees it
    assert sent["attachments"] == [{"id": 0, "filename": "smh_spy.png", "description": "SMH ahead of SPY"}]
    # One grey button per distinct command, five to a row (Discord's limit), in order.
    rows = sent["components"]
    assert [[b["custom_id"] for b in row["components"]] for row in rows] == [commands[:5], commands[5:]]
    assert rows[0] == {"type": 1, "components": [{"type": 2, "style": 2, "label": c.split()[-1], "custom_id": c}
                                                  for c in commands[:5]]}
    plain, refused = (message(Reply(text="ok", is_error=e, usage="/compare TICKER" if e else "")).payload
                      for e in (False, True))
    assert plain["attachments"] == [] and plain["components"] == [] and "flags" not in plain
    assert plain["embeds"][0]["color"] != refused["embeds"][0]["color"]
    assert not plain["embeds"][0].get("fields")
    assert refused["embeds"][0]["fields"] == [{"name": "Usage", "value": "`/compare TICKER`"}]


def test_an_embed_shows_each_part_once_in_discords_markdown() -> None:
    table = Table(("Ticker", "Total"), (("SMH", "210%"),))
    years = Table(("Year", "SMH"), (("2025", "40.1%"),), title="Calendar years")
    embed = message(Reply(text="*`SMH` vs SPY* for <@U1>", table=table, more_tables=(years,), takeaway="*SMH* led",
                          notes=(f"asked by {mention('U7')}",))).payload["embeds"][0]
    assert embed["title"] == "SMH vs SPY for <@U1>"  # no markdown in a title: * and backticks dropped
    parts = embed["description"].split("\n\n")
    assert parts[0].startswith("```") and "SMH" in parts[0] and "210%" in parts[0]  # the table, in a code block
    assert parts[1] == "**SMH** led"
    assert "Calendar years" in parts[2] and "40.1%" in parts[2]
    assert parts[3] == "asked by <@U7>"  # Tilt's mention of a person, as Discord writes one
    assert "vs SPY" not in embed["description"]  # the headline is the title, not repeated below


def test_a_cut_description_closes_its_code_block_and_a_fitting_one_is_whole() -> None:
    assert fit("x" * 10, 10) == "x" * 10
    assert fit("```\n" + "y" * 50, 20) == "```\n" + "y" * 11 + "…\n```"  # 20 characters, the block closed
    # Room for a closing fence is kept either way (16 characters); both fences there: nothing to close.
    assert fit("```a```" + "z" * 50, 20) == "```a```" + "z" * 8 + "…"
    assert len(action_rows((Action("long", "/" + "c" * (CUSTOM_ID_LIMIT - 1)),))) == 1  # 100 characters: a button
    assert action_rows((Action("long", "/" + "c" * CUSTOM_ID_LIMIT),)) == []  # 101 cannot be a custom_id
    # A usage line of 1022 characters fills a field (1024, Discord's limit) with its backticks, uncut.
    field = message(Reply(text="x", usage="u" * 1022)).payload["embeds"][0]["fields"][0]
    assert field["value"] == "`" + "u" * 1022 + "`"


def test_a_very_long_reply_still_fits_discords_limits(discord: DiscordStandIn) -> None:
    rows = tuple((f"T{i:03d}", "12.3%", "4.5%") for i in range(400))
    reply = Reply(text="*" + "headline " * 100 + "end*", table=Table(("Ticker", "Total", "CAGR"), rows),
                  takeaway="takeaway " * 500, notes=("note " * 300,) * 3, footer="footer " * 1000,
                  usage="usage " * 500, is_error=True, ephemeral=True)
    sent = message(reply)
    embed = sent.payload["embeds"][0]
    assert "title" not in embed and embed["description"].startswith("**headline")  # too long for a title
    assert len(embed["description"]) <= DESCRIPTION_LIMIT and embed["description"].count("```") == 2
    size = len(embed["description"]) + len(embed["footer"]["text"]) + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert size <= EMBED_TOTAL_LIMIT

    posted = DiscordRest(discord.api_url, BOT_TOKEN).post_to_channel("1001", reply)
    assert posted["embeds"] == sent.payload["embeds"]
    short = message(Reply(text="x" * TITLE_LIMIT)).payload["embeds"][0]
    assert short["title"] == "x" * TITLE_LIMIT


def test_a_period_after_the_data_is_answered_privately_with_the_last_close(discord_tilt: DiscordTilt,
                                                                          discord: DiscordStandIn) -> None:
    command = slash("backtest", portfolios="$SPY 70 BRK.B 30", period="from 2027-01-01 to 2027-06-30")
    assert discord_tilt.interact(command).json() == {"type": 5}
    follow_up = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}")[0]
    assert follow_up.payload["flags"] == EPHEMERAL
    title = follow_up.payload["embeds"][0]["title"]
    # BRK-B's file ends a day before SPY's: the last close they share is 2026-07-13.
    assert "starts after the last close the data has (2026-07-13)" in title and "went wrong" not in title


def test_a_message_pings_only_its_addressees_and_attaches_the_chart_then_the_csv() -> None:
    from chat.discord.embeds import Upload
    from handlers.common.reply import Attachment

    reply = Reply(text="SPY crossed its 200-day average", notify=("<@123>", "U 456!"),
                  chart=Chart(png=b"png", filename="spy chart.png", title="SPY", alt_text="SPY and its average"),
                  attachment=Attachment(filename="SPY vs IJR.csv", text="Date,SPY\n2026-07-14,1\n",
                                        title="Daily values"))
    sent = message(reply)
    # Mentions as Discord writes them, with only their digits kept; only those users may be pinged.
    assert sent.payload["content"] == "<@123> <@456>"
    assert sent.payload["allowed_mentions"] == {"parse": [], "users": ["123", "456"]}
    # File names Discord would rewrite (a space) are made safe, so attachment:// and the files agree.
    assert sent.payload["attachments"] == [
        {"id": 0, "filename": "spy_chart.png", "description": "SPY and its average"},
        {"id": 1, "filename": "SPY_vs_IJR.csv", "description": "Daily values"},
    ]
    assert sent.files == (Upload("spy_chart.png", b"png"),
                          Upload("SPY_vs_IJR.csv", b"Date,SPY\n2026-07-14,1\n", "text/csv"))
