"""/backtest at the wire on Discord: a signed slash command in, the follow-up the Discord stand-in records out."""

from __future__ import annotations

from pathlib import Path

import bt

from tests.bt_oracle import END, START, WEIGHTS, bt_value, frame, run_bt
from tests.discord_app import APPLICATION_ID, PNG_SIGNATURE, DiscordTilt, slash, table_rows
from tests.discord_standin import DiscordStandIn


def test_backtest_on_discord_is_followed_up_with_its_tables_and_chart(discord_tilt: DiscordTilt,
                                                                      discord: DiscordStandIn,
                                                                      prices_dir: Path) -> None:
    command = slash("backtest", portfolios="SPY 70 IJR 20 SMH 10", rebalance="quarterly",
                    period=f"{START} to {END}", benchmark="SPY")
    assert discord_tilt.interact(command).json() == {"type": 5}

    follow_up = discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}")[0]
    embed = follow_up.payload["embeds"][0]
    rows = table_rows(embed["description"])
    prices = frame(prices_dir, list(WEIGHTS)).loc["2015-10-29":END]
    expected = bt_value(run_bt(prices, bt.algos.RunQuarterly(run_on_end_of_period=True),
                               bt.algos.WeighSpecified(**WEIGHTS)))
    assert rows["SPY70 IJR20 SMH10"]["Total"] == f"{(expected.iloc[-1] - 1) * 100:.0f}%"
    assert "**Calendar-year returns" in embed["description"] and "2015-10-29 → 2025-10-31" in embed["footer"]["text"]
    assert follow_up.files["files[0]"][1].startswith(PNG_SIGNATURE)
    assert "flags" not in follow_up.payload  # posted for everyone
