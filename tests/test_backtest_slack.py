"""/backtest at the wire on Slack: a signed slash command in, the message the Slack stand-in records out."""

from __future__ import annotations

from pathlib import Path

import bt

from tests.bt_oracle import END, START, WEIGHTS, bt_value, frame, run_bt
from tests.slack_app import PNG_SIGNATURE, Tilt, calls_in, channel, responses_to, table_rows, uploaded
from tests.slack_standin import SlackStandIn


def test_backtest_is_posted_with_its_tables_and_chart(tilt: Tilt, slack: SlackStandIn,
                                                       prices_dir: Path) -> None:
    where = channel()
    answer = tilt.command("/backtest", f"SPY 70 IJR 20 SMH 10 quarterly {START}..{END}", channel=where)
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"

    post = calls_in(slack, "chat.postMessage", where)[0]
    rows = table_rows(post.body["blocks"])
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    expected = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    assert rows["SPY70 IJR20 SMH10"]["Total"] == f"{(expected.iloc[-1] - 1) * 100:.0f}%"
    assert set(rows) == {"SPY70 IJR20 SMH10", "SPY"}
    tables = {b["caption"]: b for b in post.body["blocks"] if b["type"] == "data_table"}
    calendar = next(t for caption, t in tables.items() if caption.startswith("Calendar-year returns"))
    header = [cell["text"] for cell in calendar["rows"][0]]
    year_2016 = dict(zip(header, next(r for r in calendar["rows"] if r[0]["text"] == "2016")))
    spy = prices["SPY"]
    assert year_2016["SPY"]["type"] == "raw_number"  # sorts as a number
    assert abs(year_2016["SPY"]["value"] - (spy.loc["2016-12-30"] / spy.loc["2015-12-31"] - 1)) < 1e-9
    assert any(caption.startswith("Contribution to total return") for caption in tables)
    growth = next(b for b in post.body["blocks"] if b["type"] == "data_visualization" and "Growth" in b["title"])
    p1 = next(series for series in growth["chart"]["series"] if series["name"] == "SPY70 IJR20 SMH10")
    assert len(p1["data"]) <= 20 and abs(p1["data"][-1]["value"] - 10_000 * expected.iloc[-1]) < 0.01
    assert "Calendar-year returns" in post.body["text"]  # the plain-text fallback has every table too

    assert uploaded(slack, where).startswith(PNG_SIGNATURE)


def test_a_bad_backtest_is_answered_privately(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/backtest", "SPY 70 IJR 20", channel=where, response="bad-weights")
    reply = responses_to(slack, "bad-weights")[0]
    assert reply["response_type"] == "ephemeral"
    assert "add up to 90%, not 100%" in reply["text"] and "Usage: `/backtest" in reply["text"]
    # The private answer is the command's last act, so by now a public post would have been recorded.
    assert not [c for c in slack.of("chat.postMessage") if c.body.get("channel") == where]



def test_a_holding_a_portfolio_does_not_own_shows_a_dash_on_slack(tilt: Tilt, slack: SlackStandIn) -> None:
    where = channel()
    tilt.command("/backtest", "SPY 70 IJR 30 ; QQQ 60 SMH 40 5y", channel=where)
    post = calls_in(slack, "chat.postMessage", where)[0]
    tables = {b["caption"]: b for b in post.body["blocks"] if b["type"] == "data_table"}
    contributions = next(t for caption, t in tables.items() if caption.startswith("Contribution"))
    header = [cell["text"] for cell in contributions["rows"][0]]
    assert header == ["Holding", "SPY70 IJR30", "QQQ60 SMH40"]
    rows = {r[0]["text"]: dict(zip(header, r)) for r in contributions["rows"][1:]}
    assert rows["QQQ"]["SPY70 IJR30"]["text"] == "—" and rows["IJR"]["QQQ60 SMH40"]["text"] == "—"
    assert not rows["QQQ"]["QQQ60 SMH40"]["text"].endswith("%")  # points: the unit is in the caption
