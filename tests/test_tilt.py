"""/tilt: the grammar and its refusals, every row against /backtest and against figures derived here from the
CSV files (bt for the portfolio values, plain pandas for the windows), the takeaway, the charts, Slack's /tilt
umbrella, and any text through the router.

Window: 2015-10-30..2025-10-31, which opens at the last close before it (2015-10-29), as /backtest's.
"""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from pathlib import Path
from typing import Iterator

import bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from errors import BadRequest
from handlers.common import router
from handlers.common.reply import Reply
from handlers.common.services import Services
from handlers.common.tilt_request import parse_tilt
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.calendar import NEW_YORK
from market.csvdir import CsvFolderProvider
from tests.expected import closes

START, END = "2015-10-30", "2025-10-31"
RANGE = f"{START}..{END}"
NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=NEW_YORK)


@pytest.fixture
def services(prices_dir: Path, cache: Cache) -> Services:
    return Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: NOW), cache=cache)


def frame(prices_dir: Path, tickers: list[str]) -> pd.DataFrame:
    joined = pd.concat({t: pd.Series(closes(prices_dir, t)) for t in tickers}, axis=1, join="inner").sort_index()
    joined.index = pd.DatetimeIndex(joined.index)
    return joined.loc["2015-10-29":END]


def bt_mix(prices: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """bt's quarterly-rebalanced growth of 1 (fractional positions, end-of-quarter trades)."""
    strategy = bt.Strategy("s", [bt.algos.RunQuarterly(run_on_end_of_period=True), bt.algos.SelectAll(),
                                 bt.algos.WeighSpecified(**weights), bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bt.run(bt.Backtest(strategy, prices[list(weights)], integer_positions=False, progress_bar=False))
    return result.prices["s"].iloc[1:] / 100.0


def rows(reply: Reply) -> dict[str, dict[str, str]]:
    assert reply.table is not None
    return {r[0]: dict(zip(reply.table.columns, r)) for r in reply.table.rows}


# --- the grammar -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, cells, step", [
    ("SPY IJR 0-40", [(0,), (10,), (20,), (30,), (40,)], 10),
    ("spy ijr 10-30 step 5 5y", [(10,), (15,), (20,), (25,), (30,)], 5),
    ("SPY IJR 0-30 SMH 0-20 step 10 10y", [(a, b) for a in (0, 10, 20, 30) for b in (0, 10, 20)], 10),
    ("SPY SMH 20", [(20,)], 10),
])
def test_sweeps(text: str, cells: list[tuple], step: float) -> None:
    request = parse_tilt(text)
    assert request.cells == [tuple(float(c) for c in cell) for cell in cells] and request.step == step


def test_a_cell_is_spelled_as_backtest_takes_it() -> None:
    request = parse_tilt("SPY IJR 0-30 SMH 0-20 weekly cost 10bp")
    assert request.label((10.0, 20.0)) == "SPY 70 IJR 10 SMH 20"
    assert request.mix((0.0, 0.0)).holdings == (("SPY", 100.0),)
    assert request.execution.cost_bp == 10 and request.rebalance == "weekly"


@pytest.mark.parametrize("command, fragment", [
    ("/tilt SPY IJR 0-120", "at most 100 points"),
    ("/tilt SPY IJR -10-20", "below 0"),
    ("/tilt SPY IJR 0-40 step 15", "doesn't divide"),
    ("/tilt SPY IJR 0-50 SMH 0-40 step 5", "at most 25"),
    ("/tilt SPY SPY 0-40", "can't also be where they go"),
    ("/tilt SPY IJR 0-40 SMH 0-40 IJR 0-10", "at most 2 destinations"),
    ("/tilt SPY IJR 0-70 SMH 0-40", "at most 100"),
    ("/tilt SPY IJR", "e.g. `SPY IJR 0-40`"),
    ("/tilt SPY IJR 0-40 cost", "trading cost"),
    ("/tilt SPY IJR 0-40 band", "band in percentage points"),
    ("/tilt SPY IJR 0-40 6m", "a year or more"),
    ("/tilt SPY FOO 0-40", "FOO"),
])
def test_bad_sweeps_get_a_private_message_with_the_usage(services: Services, command: str, fragment: str) -> None:
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral and fragment in reply.text, reply.text
    assert reply.usage.startswith("/tilt FROM TO")


# --- the figures -----------------------------------------------------------------------------------

def test_every_row_is_the_backtest_of_the_same_weights(services: Services) -> None:
    reply = router.run(f"/tilt SPY IJR 0-20 SMH 0-10 monthly cost 10bp {RANGE}", services)
    assert not reply.is_error, reply.text
    table = rows(reply)
    assert len(table) == 6
    for name, row in table.items():
        if name == "SPY 100":
            continue
        backtest = router.run(f"/backtest {name} monthly cost 10bp {RANGE}", services)
        assert not backtest.is_error, backtest.text
        expected = next(iter(rows(backtest).values()))  # its one portfolio, first; the benchmark last
        for column in ("CAGR", "Vol", "Max DD"):
            assert row[column] == expected[column], (name, column)
        assert row["Excess/yr"] == expected["Excess/yr"], name
    # FROM pays the same costs (its opening purchase), so the 0 row is FROM itself: no active figures.
    assert table["SPY 100"]["Excess/yr"] == "—" and table["SPY 100"]["IR"] == "—"
    spy = router.run(f"/backtest SPY 100 monthly cost 10bp {RANGE}", services)
    assert table["SPY 100"]["CAGR"] == rows(spy)["SPY"]["CAGR"]
    assert any("pays the same trading costs" in n for n in reply.notes)


def test_the_rows_equal_bt_and_rolling_windows_counted_here(services: Services, prices_dir: Path) -> None:
    reply = router.run(f"/tilt SPY IJR 0-40 {RANGE}", services)
    assert not reply.is_error, reply.text
    prices = frame(prices_dir, ["SPY", "IJR"])
    spy = prices["SPY"] / prices["SPY"].iloc[0]
    table = rows(reply)
    years = (prices.index[-1] - prices.index[0]).days / 365.25
    information = {}
    for size in (10, 20, 30, 40):
        name = f"SPY {100 - size} IJR {size}"
        value = bt_mix(prices, {"SPY": (100 - size) / 100, "IJR": size / 100})
        row = table[name]
        cagr = value.iloc[-1] ** (1 / years) - 1
        excess = cagr - (spy.iloc[-1] ** (1 / years) - 1)
        active = value.pct_change().iloc[1:] - spy.pct_change().iloc[1:]
        information[name] = active.mean() / active.std() * np.sqrt(252)
        assert row["CAGR"] == f"{cagr * 100:.1f}%"
        assert row["Excess/yr"] == f"{excess * 100:+.1f}%"
        assert row["TE"] == f"{active.std() * np.sqrt(252) * 100:.1f}%"
        assert row["IR"] == f"{information[name]:.2f}"
        # Every 3-year window: from the last close on or before (end - 3 calendar years), one per date.
        ends = [d for d in value.index if d - pd.DateOffset(years=3) >= value.index[0]]
        excesses = []
        for end in ends:
            start = value.index[value.index <= end - pd.DateOffset(years=3)][-1]
            mine = (value[end] / value[start]) ** (1 / 3) - 1
            theirs = (spy[end] / spy[start]) ** (1 / 3) - 1
            excesses.append(mine - theirs)
        excesses = np.array(excesses)
        assert row["Won 3y"] == f"{(excesses > 1e-9).mean() * 100:.0f}%"
        assert row["Worst 3y"] == f"{excesses.min() * 100:+.1f}%" and row["Best 3y"] == f"{excesses.max() * 100:+.1f}%"
    # SPY 100 is SPY itself: no active figures, and it can't win a window (a tie is not a win).
    assert table["SPY 100"]["IR"] == "—" and table["SPY 100"]["Won 3y"] == "—"
    best = max(information, key=information.get)
    assert f"{best} ({information[best]:.2f}" in reply.takeaway
    shown = [0.0, *(float(table[n]["Excess/yr"].rstrip("%")) for n in information)]  # SPY 100's excess is nil
    steps = ", ".join(f"{round(b - a, 1) + 0.0:+.1f}" for a, b in zip(shown, shown[1:]))
    assert f"Each 10 points into IJR added, in turn: {steps} pts" in reply.takeaway
    assert reply.chart is not None and reply.chart.png.startswith(b"\x89PNG")
    assert "rolling 3-year windows" in " ".join(reply.notes) and "a tie is not a win" in " ".join(reply.notes)


def test_a_grid_is_drawn_as_a_heatmap_and_named_in_the_takeaway(services: Services) -> None:
    one = router.run(f"/tilt SPY SMH 0-20 {RANGE}", services)
    grid = router.run(f"/tilt SPY IJR 0-30 SMH 0-20 {RANGE}", services)
    assert not grid.is_error, grid.text
    assert len(grid.table.rows) == 12 and grid.chart.png != one.chart.png
    assert "Each 10 points added, on average over the grid: into IJR" in grid.takeaway
    assert "into SMH +" in grid.takeaway  # semiconductors led the decade


def test_a_second_identical_sweep_is_the_cached_reply(services: Services) -> None:
    first = router.run("/tilt SPY IJR 0-20 5y", services)
    again = router.run("/tilt spy ijr 0-20 quarterly 5y", services)
    assert again.plain_text() == first.plain_text() and again.chart.png == first.chart.png


# --- /tilt as Slack's umbrella ---------------------------------------------------------------------

@pytest.mark.parametrize("typed, routed", [
    ("compare SMH SPY 10y", "/compare SMH SPY 10y"),
    ("/backtest SPY 70 IJR 30", "/backtest SPY 70 IJR 30"),
    ("tilt SPY IJR 0-40", "/tilt SPY IJR 0-40"),
    ("SPY IJR 0-40", "/tilt SPY IJR 0-40"),
    ("  ", "/help"),
])
def test_the_umbrella_runs_a_named_command_else_the_sweep(typed: str, routed: str) -> None:
    assert router.umbrella(typed) == routed


# --- any text --------------------------------------------------------------------------------------

WORDS = st.sampled_from(["SPY", "IJR", "SMH", "spy", "0-40", "0-30", "10-20", "0-100", "-5-10", "40-0", "0-7",
                         "step", "5", "10", "0", "3", "x", "10y", "2y", "6m", "weekly", "none", "cost", "10bp",
                         "band", "fees", "add", "1000", "monthly", "vs", "FOO", ";", "since", "2020", "%"])


@pytest.fixture(scope="module")
def shared_services(prices_dir: Path, redis_url: str) -> Iterator[Services]:
    """Services on a prefix of this module's own (hypothesis runs many examples on one fixture), emptied after."""
    client = connect(redis_url)
    prefix = f"test:{uuid.uuid4().hex}:"
    cache = Cache(client, prefix=prefix)
    yield Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: NOW), cache=cache)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


@settings(max_examples=60, deadline=None)
@example(text="SPY IJR 0-20 2y")
@example(text="SPY IJR 0-20 SMH 0-10 weekly cost 10bp band 5 fees add 1000 monthly 3y")
@given(text=st.one_of(st.text(max_size=40), st.lists(WORDS, min_size=1, max_size=9).map(" ".join)))
def test_any_text_gets_an_answer_or_says_what_to_fix(shared_services: Services, text: str) -> None:
    reply = router.run(f"/tilt {text}", shared_services)
    assert "Something went wrong" not in reply.text, text
    if reply.is_error:
        assert reply.ephemeral and reply.text
    else:
        assert reply.table is not None and reply.chart is not None


def test_parse_errors_are_bad_requests() -> None:
    with pytest.raises(BadRequest):
        parse_tilt("SPY IJR 0-40 step 0")


def test_compare_shows_the_rolling_odds_where_the_window_is_long_enough(services: Services, prices_dir: Path) -> None:
    reply = router.run("/compare SMH IJR SPY 4y", services)
    assert not reply.is_error, reply.text
    odds = next(t for t in reply.more_tables if t.title.startswith("Rolling windows beating SPY"))
    assert odds.columns == ("Line", "Won 1y", "Won 3y")  # no 5-year window in 4 years
    prices = pd.concat({t: pd.Series(closes(prices_dir, t)) for t in ("SMH", "SPY")}, axis=1, join="inner")
    prices.index = pd.DatetimeIndex(prices.index)
    start = reply.footer.split(" → ")[0]
    window = prices.sort_index().loc[start:]
    dates = window.index
    ends = [d for d in dates if d - pd.DateOffset(years=3) >= dates[0]]
    won = []
    for end in ends:
        begin = dates[dates <= end - pd.DateOffset(years=3)][-1]
        growth = (window.loc[end] / window.loc[begin]) ** (1 / 3)
        won.append(growth["SMH"] - growth["SPY"] > 1e-9)
    assert dict(zip(odds.columns, next(r for r in odds.rows if r[0] == "SMH")))["Won 3y"] == f"{np.mean(won) * 100:.0f}%"
    assert not router.run("/compare SMH SPY 6m", services).more_tables  # no window of a year in six months


# --- the csv word ----------------------------------------------------------------------------------

def test_csv_attaches_the_daily_values_and_monthly_returns(services: Services, prices_dir: Path,
                                                           tmp_path: Path) -> None:
    import io

    from chat.console import render
    from chat.discord.embeds import message
    from tests.discord_standin import check_message

    reply = router.run(f"/backtest SPY 70 IJR 30 csv {RANGE}", services)
    assert not reply.is_error and reply.attachment is not None, reply.text
    table = pd.read_csv(io.StringIO(reply.attachment.text), index_col="Date", parse_dates=True)
    prices = frame(prices_dir, ["SPY", "IJR"])
    value = bt_mix(prices, {"SPY": 0.7, "IJR": 0.3})
    assert np.abs(table["SPY70 IJR30"].to_numpy() - value.to_numpy() * 10_000).max() < 1e-5
    month_ends = value.groupby(value.index.to_period("M")).tail(1)
    expected = (month_ends / month_ends.shift(1) - 1).dropna() * 100
    monthly = table["SPY70 IJR30 monthly return %"].dropna()
    assert np.abs(monthly.loc[expected.index].to_numpy() - expected.to_numpy()).max() < 1e-5
    assert list(table.columns) == ["SPY70 IJR30", "SPY", "SPY70 IJR30 monthly return %", "SPY monthly return %"]
    # Without the word there is no file; the cached reply keeps it.
    assert router.run(f"/backtest SPY 70 IJR 30 {RANGE}", services).attachment is None
    assert router.run(f"/backtest SPY 70 IJR 30 {RANGE} csv", services).attachment == reply.attachment

    # The console writes it beside the chart; Discord attaches it beside the chart, as it would take it.
    shown = render(reply, tmp_path)
    path = tmp_path / reply.attachment.filename
    assert path.read_text() == reply.attachment.text and str(path) in shown
    sent = message(reply)
    files = {f"files[{i}]": (u.filename, u.data) for i, u in enumerate(sent.files)}
    assert check_message(sent.payload, files, allowed_flags=0) is None
    assert files["files[1]"] == (reply.attachment.filename, reply.attachment.text.encode())


def test_a_tilt_exports_every_size(services: Services) -> None:
    reply = router.run(f"/tilt SPY IJR 0-20 csv {RANGE}", services)
    header = reply.attachment.text.splitlines()[0].split(",")
    assert header[:5] == ["Date", "SPY 100", "SPY 90 IJR 10", "SPY 80 IJR 20", "SPY"]
