"""Slack-native answers at the wire: sortable data tables, native charts, their fallback, and the App Home tab.

Every message and view the bot sends is checked by the stand-in against Block Kit's documented limits
(``tests.slack_standin.block_problems``); ``checked`` fails the test that sent one Slack would refuse.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from chat.slack.blocks import ALL_KINDS, DATA_TABLE, DATA_VISUALIZATION, TABLE, reply_blocks
from handlers.reply import Plot, Reply, Series, Table
from market.cache import connect
from store.teamdata import Owner, TeamStore
from tests.expected import closes, trailing_cagrs
from tests.slack_standin import MAX_DATA_TABLE_ROWS, SlackStandIn, block_problems
from tests.test_slack import Tilt, calls_in, channel, table_rows


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def tilt(slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path_factory) -> Iterator[Tilt]:
    server = Tilt(slack, redis_url, prices_dir, tmp_path_factory.mktemp("tilt"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def checked(slack: SlackStandIn) -> Iterator[None]:
    yield
    slack.check()


def team() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def block(blocks: list[dict], kind: str, index: int = 0) -> dict:
    return [b for b in blocks if b["type"] == kind][index]


def column(table: dict, name: str) -> list[dict]:
    header = [c["text"] for c in table["rows"][0]]
    return [row[header.index(name)] for row in table["rows"][1:]]


# --- sortable tables and native charts ---------------------------------------------------------


def test_compare_answers_with_a_sortable_table_and_native_charts(tilt: Tilt, slack: SlackStandIn, prices_dir: Path) -> None:
    where = channel()
    tilt.command("/compare", "SMH SPY 10y", channel=where, team=team())
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
    assert len(categories) == 60 and categories[0] == start.isoformat() and categories[-1] == end.isoformat()
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
    tilt.command("/rotation", "sectors", channel=where, team=team())
    blocks = calls_in(slack, "chat.postMessage", where)[0].body["blocks"]
    table = block(blocks, DATA_TABLE)
    tickers = [c["text"] for c in column(table, "Ticker")]
    scores = [c["value"] for c in column(table, "Score")]
    assert [c["value"] for c in column(table, "#")] == list(range(1, 12)) and scores == sorted(scores, reverse=True)
    assert table["row_header_column_index"] == 1  # the ticker names the row, not the rank
    chart = block(blocks, DATA_VISUALIZATION)["chart"]
    assert chart["type"] == "bar" and chart["axis_config"]["categories"] == tickers
    assert [p["value"] for p in chart["series"][0]["data"]] == pytest.approx([s * 100 for s in scores], abs=0.006)


def test_valuation_figures_sort_as_numbers(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/valuation", "IJR SPY", channel=where, team=team())
    table = block(calls_in(slack, "chat.postMessage", where)[0].body["blocks"], DATA_TABLE)
    pe = column(table, "P/E")
    assert [(c["type"], c["text"], c["value"]) for c in pe] == [("raw_number", "15.9x", 15.9), ("raw_number", "24.2x", 24.17)]
    assert table_rows([table])["IJR"]["P/E vs bench"] == f"{(15.9 / 24.17 - 1) * 100:+.0f}%"


# --- falling back when Slack refuses the new blocks ---------------------------------------------


def test_refused_charts_fall_back_to_the_table_and_the_workspace_remembers(tilt: Tilt, slack: SlackStandIn,
                                                                           redis_url: str) -> None:
    workspace, other = team(), team()
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
    where, workspace = channel(), team()
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
    workspace, user, digest_channel = team(), f"U{uuid.uuid4().hex[:6].upper()}", channel()
    store = TeamStore(connect(redis_url))
    store.add_to_watchlist(Owner("slack", workspace, f"channel:{channel()}"), ["SMH", "IWM"])
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
    assert [c["text"] for c in column(watchlist, "Ticker")] == ["SMH", "IWM", "XLE"]  # not XLU: someone's own list
    end = max(set(spy) & set(iwm))
    relative = (iwm[end] / iwm[entry]) / (spy[end] / spy[entry]) - 1
    assert column(calls, "Since entry")[0]["value"] == pytest.approx(relative, rel=1e-9)
    regimes = {row[0]["text"]: row[2]["text"] for row in signals["rows"][1:]}
    assert regimes == {name: expected_regime(prices_dir, a) for name, a in (("smallcaps", "IWM"), ("semis", "SMH"))}
    texts = " ".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*Next digest*: " in texts and f"<#{digest_channel}>" in texts and "08:30" in texts
    assert DATA_VISUALIZATION not in {b["type"] for b in blocks}

    # A compare button on the Home tab answers in the person's direct messages with Tilt.
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["value"] == "/compare SMH vs SPY 1y")
    tilt.post("payload=" + json.dumps({
        "type": "block_actions", "team": {"id": workspace}, "user": {"id": user}, "api_app_id": "A0TILT",
        "container": {"type": "view", "view_id": "V0HOME"}, "view": {"id": "V0HOME", "type": "home"}, "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b", "value": button["value"],
                     "action_ts": str(time.time())}]}).replace("%", "%25").replace("&", "%26").replace("+", "%2B"))
    dm = "D" + user.lstrip("U")
    answer = calls_in(slack, "chat.postMessage", dm)[0]
    assert "SMH vs SPY" in answer.body["text"] and DATA_TABLE in {b["type"] for b in answer.body["blocks"]}


def expected_regime(prices_dir: Path, ticker: str) -> str:
    """Leading when the ticker/SPY ratio closes above its 200-session simple average on the last common day."""
    a, b = closes(prices_dir, ticker), closes(prices_dir, "SPY")
    ratio = [a[d] / b[d] for d in sorted(set(a) & set(b))]
    return "leading" if ratio[-1] > sum(ratio[-200:]) / 200 else "lagging"


def test_the_messages_tab_publishes_nothing(tilt: Tilt, slack: SlackStandIn) -> None:
    user = f"U{uuid.uuid4().hex[:6].upper()}"
    tilt.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "messages", "event_ts": "1.0"})
    tilt.event({"type": "app_mention", "user": user, "text": "<@U0TILT> valuation IJR SPY", "ts": "1700000009.000100",
                "channel": (where := channel()), "event_ts": "1700000009.000100"})
    calls_in(slack, "chat.postMessage", where)  # a later event was answered, so the first was handled by then
    assert not [c for c in slack.of("views.publish") if c.body.get("user_id") == user]


def test_the_manifest_enables_the_home_tab() -> None:
    from tests.conftest import ROOT

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


def test_long_tables_and_titles_render_within_limits() -> None:
    rows = [(f"#{i}", (f"{i}%", i / 100), "") for i in range(150)]
    reply = Reply(text="*" + "headline " * 400 + "*", table=Table.of(("#", "Since", "Note"), rows),
                  plots=(Plot("t" * 80, "bar", tuple(f"category number {i}" for i in range(3)),
                              tuple(Series(f"series with a long name {i}", (1.0, 2.0, 3.0)) for i in range(2))),) * 3)
    for kinds in (ALL_KINDS, ALL_KINDS - {DATA_VISUALIZATION}, frozenset({TABLE}), frozenset()):
        assert block_problems(reply_blocks(reply, kinds=kinds, share_command="/x")) == [], kinds
