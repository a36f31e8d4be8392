"""/backtest at the wire on Slack: a signed slash command in, the message the Slack stand-in records out."""

from __future__ import annotations

import json
from pathlib import Path

import bt

from tests.slack_standin import SlackStandIn
from tests.test_backtest import END, START, WEIGHTS, bt_value, frame, run_bt
from tests.test_slack import PNG_SIGNATURE, Tilt, calls_in, channel, responses_to, slack, table_rows, tilt  # noqa: F401


def test_backtest_is_posted_with_its_tables_and_chart(tilt: Tilt, slack: SlackStandIn,  # noqa: F811
                                                       prices_dir: Path) -> None:
    where = channel()
    answer = tilt.command("/backtest", f"SPY 70 IJR 20 SMH 10 quarterly {START}..{END}", channel=where)
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"

    post = calls_in(slack, "chat.postMessage", where)[0]
    rows = table_rows(post.body["blocks"])
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    expected = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    assert rows["P1"]["Total"] == f"{(expected.iloc[-1] - 1) * 100:.0f}%"
    assert set(rows) == {"P1", "SPY"}
    sections = [b["text"]["text"] for b in post.body["blocks"] if b["type"] == "section"]
    calendar = next(s for s in sections if s.startswith("*Calendar-year returns"))
    assert "```" in calendar and "2016" in calendar
    assert any(s.startswith("*Contribution to total return") for s in sections)
    assert "Calendar-year returns" in post.body["text"]  # the plain-text fallback has every table too

    complete = calls_in(slack, "files.completeUploadExternal", where)[0]
    assert slack.uploads[json.loads(complete.body["files"])[0]["id"]].startswith(PNG_SIGNATURE)


def test_a_bad_backtest_is_answered_privately(tilt: Tilt, slack: SlackStandIn) -> None:  # noqa: F811
    where = channel()
    tilt.command("/backtest", "SPY 70 IJR 20", channel=where, response="bad-weights")
    reply = responses_to(slack, "bad-weights")[0]
    assert reply["response_type"] == "ephemeral"
    assert "add up to 90%, not 100%" in reply["text"] and "Usage: `/backtest" in reply["text"]
    # The private answer is the command's last act, so by now a public post would have been recorded.
    assert not [c for c in slack.of("chat.postMessage") if c.body.get("channel") == where]

