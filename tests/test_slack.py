"""Tilt's Slack app end to end, at the wire.

``python bot.py serve`` runs as a real process on a free port.  The tests
send it what Slack sends (form-encoded, signed slash commands, interactivity
payloads and Events API callbacks) and read what it sends back: the HTTP
answer (the ack) and the Web API calls recorded by the stand-in in
``tests/slack_standin.py``, which also receives ``response_url`` posts.  Every message and view the
bot sends is checked there against Block Kit's documented limits (``block_problems``); ``checked``
fails the test that sent one Slack would refuse.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from chat.slack.blocks import ALL_KINDS, DATA_TABLE, DATA_VISUALIZATION, TABLE, fallback_text, mrkdwn, reply_blocks
from chat.text import cut, titled_table
from handlers import catalog
from handlers.common.plots import MAX_POINTS
from handlers.common.reply import Plot, Reply, Series, Table, channel_mention, mention
from market.cache import connect
from market.redis_server import EmbeddedRedis
from store.teamdata import Owner, TeamStore
from tests.conftest import ROOT
from tests.expected import closes, trailing_cagrs, trailing_pe
from tests.servers import Answer, send, wait_until
from tests.slack_app import PNG_SIGNATURE, Tilt, calls_in, channel, responses_to, settled, table_rows, uploaded
from tests.slack_standin import MAX_DATA_TABLE_ROWS, SlackStandIn, block_problems


@pytest.fixture(autouse=True)
def checked(slack: SlackStandIn) -> Iterator[None]:
    yield
    slack.check()


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
    settled(tilt, slack)  # both jobs have run to the end: a wrong channel post beside them would be in
    assert not [c for c in slack.of("chat.postMessage") if c.body.get("channel") == where]


def test_umbrella_command_runs_valuation(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    tilt.command("/tilt", "valuation IJR SPY", channel=where)
    rows = table_rows(calls_in(slack, "chat.postMessage", where)[0].body["blocks"])
    ijr, spy = trailing_pe(prices_dir, "IJR"), trailing_pe(prices_dir, "SPY")
    assert rows["IJR"]["P/E"] == f"{ijr:.1f}x" and rows["IJR"]["P/E vs bench"] == f"{(ijr / spy - 1) * 100:+.0f}%"


def test_the_csv_word_posts_a_file_after_the_chart(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/backtest", "SPY 70 IJR 30 5y csv", channel=where)
    calls_in(slack, "chat.postMessage", where)
    completed = calls_in(slack, "files.completeUploadExternal", where, count=2)
    chart, export = (slack.uploads[json.loads(c.body["files"])[0]["id"]] for c in completed[:2])
    assert chart.startswith(PNG_SIGNATURE)
    assert export.decode().startswith("Date,SPY70 IJR30,SPY,SPY70 IJR30 monthly return %,SPY monthly return %")


def test_umbrella_command_without_a_command_name_is_the_sweep(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/tilt", "SPY IJR 0-20 5y", channel=where)
    posted = calls_in(slack, "chat.postMessage", where)[0].body
    assert "How much to tilt SPY into IJR" in posted["text"]
    rows = table_rows(posted["blocks"])
    assert set(rows) >= {"SPY 100", "SPY 90 IJR 10", "SPY 80 IJR 20"}


@pytest.mark.parametrize("signing", [{"secret": "wrong-secret"}, {"timestamp": int(time.time()) - 6 * 60}])
def test_badly_signed_or_stale_requests_get_401_and_do_nothing(tilt: Tilt, slack: SlackStandIn, signing: dict) -> None:
    where = channel()
    answer = tilt.command("/compare", "SMH SPY", channel=where, response="forged", **signing)
    assert answer.status == 401
    settled(tilt, slack)  # refused before anything is queued (the 401 is the answer); had it been, it has run
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
    assert "*Signal: smallcaps* · the ratio IWM/SPY is above its 200-day simple average" in post.body["text"]
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
    settled(tilt, slack)  # the vote's job has run to the end: a wrong second chart or card would be in
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
    settled(tilt, slack)  # a duplicate would have been queued with the first: it has run too
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
    web = tilt.metrics()
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


# --- Slack-native answers: sortable tables, native charts, their fallback; the App Home tab ----------------


def workspace_id() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def block(blocks: list[dict], kind: str, index: int = 0) -> dict:
    return [b for b in blocks if b["type"] == kind][index]


def column(table: dict, name: str) -> list[dict]:
    header = [c["text"] for c in table["rows"][0]]
    return [row[header.index(name)] for row in table["rows"][1:]]


# --- sortable tables and native charts ---------------------------------------------------------


def test_compare_answers_with_a_sortable_table_and_native_charts(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    tilt.command("/compare", "SMH SPY 10y", channel=where, team=workspace_id())
    blocks = calls_in(slack, "chat.postMessage", where)[0].body["blocks"]
    table = block(blocks, DATA_TABLE)
    start, end, smh_cagr, spy_cagr = trailing_cagrs(prices_dir, "SMH", "SPY", 10)
    cagr = column(table, "CAGR")
    # Figures are raw_number cells (numeric sort) showing the same text as before.
    assert all(c["type"] == "raw_number" for col in ("Total", "CAGR", "Sharpe", "Excess/yr") for c in column(table, col))
    assert [c["value"] for c in cagr] == pytest.approx([smh_cagr, spy_cagr], rel=1e-9)
    assert [c["text"] for c in cagr] == [f"{smh_cagr * 100:.1f}%", f"{spy_cagr * 100:.1f}%"]
    assert column(table, "Excess/yr")[1]["text"] == "—"  # the benchmark's own: text, sorting below every figure
    assert column(table, "Excess/yr")[1]["value"] < -1e9
    assert [c["type"] for c in column(table, "Ticker")] == ["raw_text", "raw_text"]
    assert table["caption"].startswith("SMH vs SPY") and table["page_size"] == 2

    growth = block(blocks, DATA_VISUALIZATION, 0)
    assert growth["chart"]["type"] == "line" and growth["title"] == "Growth of $10,000 · 10y"
    categories = growth["chart"]["axis_config"]["categories"]
    assert len(categories) == MAX_POINTS and categories[0] == start.isoformat() and categories[-1] == end.isoformat()
    smh, spy = closes(prices_dir, "SMH"), closes(prices_dir, "SPY")
    for series, prices in zip(growth["chart"]["series"], (smh, spy)):
        expected = [10_000 * prices[dt.date.fromisoformat(c)] / prices[start] for c in categories]
        assert [p["value"] for p in series["data"]] == pytest.approx(expected, abs=0.006)
    bars = block(blocks, DATA_VISUALIZATION, 1)
    assert bars["chart"]["type"] == "bar" and bars["chart"]["axis_config"]["categories"] == ["SMH", "SPY"]
    assert [p["value"] for p in bars["chart"]["series"][0]["data"]] == pytest.approx([smh_cagr * 100, spy_cagr * 100], abs=0.006)
    calls_in(slack, "files.completeUploadExternal", where)  # the full PNG chart is still posted


def test_rotation_ranking_is_a_bar_chart_in_table_order(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/rotation", "sectors", channel=where, team=workspace_id())
    blocks = calls_in(slack, "chat.postMessage", where)[0].body["blocks"]
    table = block(blocks, DATA_TABLE)
    tickers = [c["text"] for c in column(table, "Ticker")]
    scores = [c["value"] for c in column(table, "Score")]
    assert [c["value"] for c in column(table, "#")] == list(range(1, 12)) and scores == sorted(scores, reverse=True)
    assert table["row_header_column_index"] == 1  # the ticker names the row, not the rank
    chart = block(blocks, DATA_VISUALIZATION)["chart"]
    assert chart["type"] == "bar" and chart["axis_config"]["categories"] == tickers
    assert [p["value"] for p in chart["series"][0]["data"]] == pytest.approx([s * 100 for s in scores], abs=0.006)


def test_valuation_figures_sort_as_numbers(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    tilt.command("/valuation", "IJR SPY", channel=where, team=workspace_id())
    table = block(calls_in(slack, "chat.postMessage", where)[0].body["blocks"], DATA_TABLE)
    pe = column(table, "P/E")
    ijr, spy = trailing_pe(prices_dir, "IJR"), trailing_pe(prices_dir, "SPY")
    assert [(c["type"], c["text"], c["value"]) for c in pe] == [("raw_number", f"{ijr:.1f}x", ijr),
                                                                ("raw_number", f"{spy:.1f}x", spy)]
    assert table_rows([table])["IJR"]["P/E vs bench"] == f"{(ijr / spy - 1) * 100:+.0f}%"



def test_cycle_is_posted_with_its_phase_figures_every_episode_and_a_chart(tilt: Tilt, slack: SlackStandIn,
                                                                          prices_dir: Path) -> None:
    where = channel()
    assert tilt.command("/cycle", "IWM vs SPY", channel=where, team=workspace_id()).status == 200
    post = calls_in(slack, "chat.postMessage", where)[0]
    summary, episodes = [b for b in post.body["blocks"] if b["type"] == DATA_TABLE]
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    common = sorted(set(iwm) & set(spy))

    def relative(first: str, last: str) -> float:  # last close before the first day, last on or before the last
        start = max(d for d in common if d < dt.date.fromisoformat(first))
        end = max(d for d in common if d <= dt.date.fromisoformat(last))
        return (iwm[end] / iwm[start]) / (spy[end] / spy[start]) - 1

    recoveries = sorted(relative(*days) for days in (("2001-12-01", "2002-11-30"), ("2009-07-01", "2010-06-30"),
                                                     ("2020-05-01", "2021-04-30")))
    cell = next(row for row in summary["rows"] if row[0]["text"] == "Early recovery")[1]
    assert cell["type"] == "raw_number" and cell["value"] == pytest.approx(recoveries[1], abs=1e-12)
    assert cell["text"] == f"{recoveries[1] * 100:+.1f}% ({sum(r > 0 for r in recoveries)} of 3)"
    covid = next(r for r in episodes["rows"][1:] if [c["text"] for c in r[:3]] == ["Recession", "2020-02-01", "2020-04-30"])
    assert covid[3]["type"] == "raw_number" and covid[3]["value"] == pytest.approx(relative("2020-02-01", "2020-04-30"), abs=1e-12)
    assert "IWM beat SPY in" in post.body["text"] and "Every episode" in episodes["caption"]
    assert uploaded(slack, where).startswith(PNG_SIGNATURE)


def test_an_unknown_cycle_ticker_is_answered_privately(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/cycle", "IWM NOPE", channel=where, response="cycle-unknown")
    reply = responses_to(slack, "cycle-unknown")[0]
    assert reply["response_type"] == "ephemeral" and "can't find the ticker NOPE" in reply["text"]
    assert "Usage: `/cycle" in reply["text"]

# --- falling back when Slack refuses the new blocks ---------------------------------------------


def test_refused_charts_fall_back_to_the_table_and_the_workspace_remembers(tilt: Tilt, slack: SlackStandIn,
                                                                           redis_url: str) -> None:
    workspace, other = workspace_id(), workspace_id()
    first, second = channel(), channel()
    slack.refuse({DATA_VISUALIZATION})
    try:
        tilt.command("/compare", "IWM SPY 1y", channel=first, team=workspace)
        refused, accepted = calls_in(slack, "chat.postMessage", first, count=2)
        assert refused.answer == {"ok": False, "error": "invalid_blocks"}
        assert {b["type"] for b in accepted.body["blocks"]} & {DATA_TABLE, DATA_VISUALIZATION} == {DATA_TABLE}
    finally:
        slack.refused.clear()
    key = f"tilt:v1:slack:block_kinds:message:{workspace}"
    assert connect(redis_url).get(key) == b"data_table,table" and connect(redis_url).ttl(key) > 6 * 24 * 3600
    # Remembered: the next message goes out without charts at once; another workspace still gets them.
    tilt.command("/compare", "IWM SPY 1y", channel=second, team=workspace)
    tilt.command("/compare", "IWM SPY 1y", channel=first, team=other)
    remembered = calls_in(slack, "chat.postMessage", second)[0]
    assert remembered.answer["ok"] and DATA_VISUALIZATION not in {b["type"] for b in remembered.body["blocks"]}
    assert DATA_VISUALIZATION in {b["type"] for b in calls_in(slack, "chat.postMessage", first, count=3)[2].body["blocks"]}


def test_a_slack_without_the_new_blocks_gets_the_table_block(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where, workspace = channel(), workspace_id()
    slack.refuse({DATA_VISUALIZATION, DATA_TABLE})
    try:
        tilt.command("/compare", "SMH SPY 5y", channel=where, team=workspace)
        posts = calls_in(slack, "chat.postMessage", where, count=3)
    finally:
        slack.refused.clear()
    assert [p.answer["ok"] for p in posts] == [False, False, True]
    _, _, smh_cagr, _ = trailing_cagrs(prices_dir, "SMH", "SPY", 5)
    assert table_rows(posts[2].body["blocks"], kind=TABLE)["SMH"]["CAGR"] == f"{smh_cagr * 100:.1f}%"
    assert len(calls_in(slack, "files.completeUploadExternal", where)) == 1  # one chart, one message
    # A button on it updates in place with the blocks the workspace takes, first time.
    tilt.click("tilt_rerun:0", "/compare SMH vs SPY 1y", channel=where, message_ts="1700000000.000300",
               ephemeral=False, response=f"r-{uuid.uuid4().hex[:6]}", user="U9")
    update = calls_in(slack, "chat.update", where)[0]
    assert update.answer["ok"] is True  # T0TEST (the click's workspace) never had a refusal
    assert DATA_TABLE in {b["type"] for b in update.body["blocks"]}


# --- the App Home tab ---------------------------------------------------------------------------


def test_app_home_shows_the_teams_watchlist_calls_signals_and_next_digest(tilt: Tilt, slack: SlackStandIn, redis_url: str,
                                                                        prices_dir: Path) -> None:
    workspace, user, digest_channel = workspace_id(), f"U{uuid.uuid4().hex[:6].upper()}", channel()
    store = TeamStore(connect(redis_url))
    theirs, private = channel(), channel()
    slack.members.update({theirs: {user, "USOMEONEELSE"}, private: {"USOMEONEELSE"}})
    store.add_to_watchlist(Owner("slack", workspace, f"channel:{theirs}"), ["SMH", "IWM"])
    store.add_to_watchlist(Owner("slack", workspace, f"channel:{private}"), ["XLP"])  # a channel they are not in
    store.add_to_watchlist(Owner("slack", workspace, f"user:{user}"), ["XLE"])
    store.add_to_watchlist(Owner("slack", workspace, "user:USOMEONEELSE"), ["XLU"])  # private to that person
    spy, iwm = closes(prices_dir, "SPY"), closes(prices_dir, "IWM")
    entry = sorted(set(spy) & set(iwm))[-30]
    store.add_call(Owner("slack", workspace, "team"), {
        "author": user, "a": "IWM", "b": "SPY", "until": "2099-12-31", "note": "", "channel": digest_channel,
        "created_at": time.time(), "entry_date": entry.isoformat(), "entry_a": iwm[entry], "entry_b": spy[entry],
        "status": "open"})
    store.subscribe(Owner("slack", workspace, f"channel:{digest_channel}"), digest_channel,
                    {"kind": "daily", "at": "08:30", "tz": "America/New_York", "weekday": None})

    assert tilt.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                       "event_ts": str(time.time())}, team=workspace).status == 200
    publish = next(c for c in slack.wait_for("views.publish", count=len(slack.of("views.publish")) or 1)
                   if c.body["user_id"] == user)
    view = json.loads(publish.body["view"]) if isinstance(publish.body["view"], str) else publish.body["view"]
    blocks = view["blocks"]
    assert view["type"] == "home" and len(blocks) <= 100 and blocks[0]["type"] == "header"
    tables = [b for b in blocks if b["type"] == DATA_TABLE]
    watchlist, calls, signals = tables
    last = {t: closes(prices_dir, t) for t in ("SMH", "IWM", "XLE")}
    assert [c["text"] for c in column(watchlist, "Last")] == [f"{p[max(p)]:,.2f}" for p in last.values()]
    assert [c["value"] for c in column(watchlist, "Last")] == pytest.approx([p[max(p)] for p in last.values()])
    # Not XLP, from a channel the person is not in; not XLU, someone else's own list.
    assert [c["text"] for c in column(watchlist, "Ticker")] == ["SMH", "IWM", "XLE"]
    # Opened again within the minute: the same page, and Slack is not asked again who is in which channel.
    tilt.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                "event_ts": str(time.time())}, team=workspace)
    wait_until(lambda: [c for c in slack.of("views.publish") if c.body["user_id"] == user][1:], what="a second publish")
    assert [c.body["user"] for c in slack.of("users.conversations")].count(user) == 1
    end = max(set(spy) & set(iwm))
    relative = (iwm[end] / iwm[entry]) / (spy[end] / spy[entry]) - 1
    assert column(calls, "Since entry")[0]["value"] == pytest.approx(relative, rel=1e-9)
    regimes = {row[0]["text"]: row[2]["text"] for row in signals["rows"][1:]}
    assert regimes == {name: expected_regime(prices_dir, a) for name, a in (("smallcaps", "IWM"), ("semis", "SMH"))}
    texts = " ".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*Next digest*: " in texts and f"<#{digest_channel}>" in texts and "08:30" in texts
    assert DATA_VISUALIZATION not in {b["type"] for b in blocks}
    offered = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert {a.command for c in catalog.listed() for a in c.shortcuts} <= offered  # every declared shortcut

    # A compare button on the Home tab answers in the person's direct messages with Tilt.
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["value"] == "/compare SMH vs SPY 1y")
    home_click(tilt, workspace, user, button["action_id"], button["value"])
    dm = "D" + user.lstrip("U")
    answer = calls_in(slack, "chat.postMessage", dm)[0]
    assert "SMH vs SPY" in answer.body["text"] and DATA_TABLE in {b["type"] for b in answer.body["blocks"]}

    # So does a backtest of a tilt: its figures table and its calendar years, as a data table each.
    tilt_button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                       if e["value"].startswith("/backtest SPY 100 ; SPY 70 IJR 20 SMH 10"))
    home_click(tilt, workspace, user, tilt_button["action_id"], tilt_button["value"])
    backtest = calls_in(slack, "chat.postMessage", dm, count=2)[1]
    assert backtest.body["text"].startswith("*Backtest vs SPY*")
    captions = [b["caption"] for b in backtest.body["blocks"] if b["type"] == DATA_TABLE]
    assert captions[1].startswith("Calendar-year returns") and captions[2].startswith("Contribution")
    assert [c.split(" ")[0] for c in captions[3:]] == ["Rolling", "Capture", "Five"]  # odds and tear sheet


def expected_regime(prices_dir: Path, ticker: str) -> str:
    """True when the ticker/SPY ratio closes above its 200-session simple average on the last common day."""
    a, b = closes(prices_dir, ticker), closes(prices_dir, "SPY")
    ratio = [a[d] / b[d] for d in sorted(set(a) & set(b))]
    return "true" if ratio[-1] > sum(ratio[-200:]) / 200 else "false"


def home_click(tilt: Tilt, workspace: str, user: str, action_id: str, value: str) -> Answer:
    """A click on a button of the Home tab, as Slack sends it: a view, no channel and no response_url."""
    return tilt.post("payload=" + json.dumps({
        "type": "block_actions", "team": {"id": workspace}, "user": {"id": user}, "api_app_id": "A0TILT",
        "container": {"type": "view", "view_id": "V0HOME"}, "view": {"id": "V0HOME", "type": "home"}, "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                     "action_ts": str(time.time())}]}).replace("%", "%25").replace("&", "%26").replace("+", "%2B"))


def test_home_tab_clicks_are_charged_to_the_clickers_budget(tilt: Tilt, slack: SlackStandIn) -> None:
    workspace, user = workspace_id(), f"U{uuid.uuid4().hex[:6].upper()}"
    for _ in range(11):
        assert home_click(tilt, workspace, user, "tilt_home:0:0", "/help").status == 200
    dm = "D" + user.lstrip("U")
    texts = [c.body["text"] for c in calls_in(slack, "chat.postMessage", dm, count=11)]
    assert sum("Slow down" in text for text in texts) == 1 and sum("Tilt" in text for text in texts) >= 10


def test_the_messages_tab_publishes_nothing(tilt: Tilt, slack: SlackStandIn) -> None:
    user = f"U{uuid.uuid4().hex[:6].upper()}"
    tilt.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "messages", "event_ts": "1.0"})
    tilt.event({"type": "app_mention", "user": user, "text": "<@U0TILT> valuation IJR SPY", "ts": "1700000009.000100",
                "channel": (where := channel()), "event_ts": "1700000009.000100"})
    calls_in(slack, "chat.postMessage", where)  # a later event was answered, so the first was handled by then
    assert not [c for c in slack.of("views.publish") if c.body.get("user_id") == user]


def test_the_manifest_enables_the_home_tab() -> None:
    manifest = (ROOT / "slack" / "manifest.yml").read_text()
    assert "home_tab_enabled: true" in manifest and "      - app_home_opened\n" in manifest


# --- the limits themselves ----------------------------------------------------------------------


def test_the_stand_in_refuses_what_slack_would() -> None:
    good = reply_blocks(Reply(text="*t*", table=Table.of(("A", "B"), [("x", ("1", 1.0))]),
                              plots=(Plot("p", "line", ("a", "b"), (Series("s", (1.0, 2.0)),)),)))
    assert block_problems(good) == []
    table, chart = block(good, DATA_TABLE), block(good, DATA_VISUALIZATION)
    broken = {
        "caption": [{**table, "caption": ""}],
        "rows": [{**table, "rows": table["rows"][:1]}],
        "101 rows": [{**table, "rows": [table["rows"][0]] + [table["rows"][1]] * MAX_DATA_TABLE_ROWS}],
        "header": [{**table, "rows": [[{"type": "rich_text", "elements": []}] * 2, table["rows"][1]]}],
        "page_size": [{**table, "page_size": 101}],
        "number": [{**table, "rows": [table["rows"][0], [table["rows"][1][0], {"type": "raw_number", "text": "x"}]]}],
        "title": [{**chart, "title": "x" * 51}],
        "charts": [chart] * 3,
        "series": [{**chart, "chart": {**chart["chart"], "series": [{**chart["chart"]["series"][0], "name": f"s{i}"}
                                                                    for i in range(7)]}}],
        "points": [{**chart, "chart": {**chart["chart"], "axis_config": {"categories": ["a", "c"]}}}],
        "section": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        "header block": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        "blocks": [{"type": "divider"}] * 51,
        "tables": [{"type": "table", "rows": [[{"type": "raw_text", "text": "a"}]]}] * 2,
    }
    assert {name: bool(block_problems(blocks)) for name, blocks in broken.items()} == dict.fromkeys(broken, True)
    assert block_problems([{"type": "divider"}] * 100, limit=100) == []


def test_every_note_is_shown_even_past_a_contexts_ten_elements() -> None:
    notes = tuple(f"note {i}" for i in range(14))
    [context] = [b for b in reply_blocks(Reply(text="*t*", notes=notes)) if b["type"] == "context"]
    assert len(context["elements"]) == 10 and block_problems([context]) == []
    shown = "\n".join(e["text"] for e in context["elements"])
    assert all(note in shown for note in notes)


def test_long_tables_and_titles_render_within_limits() -> None:
    rows = [(f"#{i}", (f"{i}%", i / 100), "") for i in range(150)]
    reply = Reply(text="*" + "headline " * 400 + "*", table=Table.of(("#", "Since", "Note"), rows),
                  plots=(Plot("t" * 80, "bar", tuple(f"category number {i}" for i in range(3)),
                              tuple(Series(f"series with a long name {i}", (1.0, 2.0, 3.0)) for i in range(2))),) * 3)
    for kinds in (ALL_KINDS, ALL_KINDS - {DATA_VISUALIZATION}, frozenset({TABLE}), frozenset()):
        assert block_problems(reply_blocks(reply, kinds=kinds, share_command="/x")) == [], kinds


def test_a_period_after_the_data_is_answered_privately_with_the_last_close(tilt: Tilt, slack: SlackStandIn) -> None:
    tilt.command("/compare", "$QQQ SPY since 2027", channel=channel(), response="after-the-data")
    reply = responses_to(slack, "after-the-data")[0]
    assert reply["response_type"] == "ephemeral"
    assert "`since 2027` starts after the last close the data has (2026-07-14)" in reply["text"]


def test_text_is_shown_as_written_and_mentions_as_slack_writes_them() -> None:
    # Slack reads &, < and > as markup: escaped as its docs say, so `<!channel>` typed in a note pings nobody.
    assert mrkdwn("P&L <!channel> a->b") == "P&amp;L &lt;!channel&gt; a-&gt;b"
    assert mrkdwn(f"by {mention('U7')} in {channel_mention('C9')}") == "by <@U7> in <#C9>"
    text = fallback_text(Reply(text="*SMH vs SPY*", table=Table(("Ticker", "Total"), (("SMH", "210%"),)),
                               takeaway="SMH & co led", notes=("a note",), usage="/compare TICKER", footer="as of x"))
    lines = text.split("\n")
    assert lines[0] == "*SMH vs SPY*" and lines[1] == "```" and "SMH & co" not in text and "SMH &amp; co led" in lines
    assert lines[-3:] == ["a note", "Usage: `/compare TICKER`", "as of x"]
    assert (cut("abc", 3), cut("abcd", 3)) == ("abc", "ab…")  # whole when it fits, else cut with an ellipsis
    untitled = titled_table(Table(("Ticker",), (("SMH",),)))
    assert untitled.startswith("```") and "SMH" in untitled and titled_table(Table(("Ticker",), (("SMH",),), title="T")) == f"*T*\n{untitled}"
