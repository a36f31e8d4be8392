"""/signal define, list, cards, delete; the team's signals in storage; flips watched exactly once.

End to end through the router on the shared CSV prices and a real Redis, with a controllable clock.
Expected states are computed here with plain pandas on the CSV text (``tests.expected.closes``).
"""

from __future__ import annotations

import datetime as dt
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import bt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.format import percent
from handlers.common.reply import Reply
from handlers.common.rule_grammar import GRAMMAR, parse_rule
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from schedule.watch import Watcher
from store.teamdata import MAX_SIGNALS, Owner, TeamStore
from tests.conftest import DATA_NOW
from tests.doubles import Clock, Poster, evening, tick_together
from tests.expected import closes

NEW_YORK = ZoneInfo("America/New_York")
ANA = Caller(platform="slack", team="T1", channel="C1", user="U1")
BEN = Caller(platform="slack", team="T1", channel="C2", user="U2")
TEAM = Owner(platform="slack", team="T1", scope="team")


def series(prices_dir: Path, a: str, b: str = "") -> pd.Series:
    sa = pd.Series(closes(prices_dir, a))
    if b:
        sb = pd.Series(closes(prices_dir, b))
        return (sa / sb).dropna().sort_index()
    return sa.sort_index()


def run_and_last_flip(state: pd.Series) -> tuple[bool, dt.date]:
    """The state on the last close and the first close of its run (plain pandas)."""
    changed = state.ne(state.shift()) & state.shift().notna()
    return bool(state.iloc[-1]), state.index[changed.to_numpy()][-1]


# --- define, card, list, delete ---------------------------------------------------------------


def test_a_defined_golden_cross_gets_a_card_that_matches_pandas(services: Services, prices_dir: Path) -> None:
    card = router.run("/signal define soxx-cross SOXX sma50 above sma200", services, ANA)
    assert not card.is_error and not card.ephemeral, card.text
    soxx = series(prices_dir, "SOXX")
    fast, slow = soxx.rolling(50).mean(), soxx.rolling(200).mean()
    state = (fast > slow)[slow.notna()]
    now, since = run_and_last_flip(state)
    word = "true" if now else "false"
    assert card.text == f"*Signal: soxx-cross* · SOXX's 50-day simple average is above its 200-day simple average: *{word}*"
    assert card.takeaway.startswith(f"{word.capitalize()} since the close of {since} (")
    gap = fast.iloc[-1] / slow.iloc[-1] - 1
    assert f"is {abs(gap) * 100:.1f}% {'above' if gap > 0 else 'below'} its 200-day simple average" in card.takeaway
    flips = [d for d in state.index[(state.ne(state.shift()) & state.shift().notna()).to_numpy()]][-5:]
    assert next(n for n in card.notes if n.startswith("Last flips: ")).count("→") == len(flips) == 5
    assert str(flips[0]) in " ".join(card.notes) and card.chart.png.startswith(b"\x89PNG")
    assert card.track.startswith("card:") and [a.label for a in card.actions] == ["Agree (0)", "Disagree (0)"]
    again = router.run("/signal soxx-cross", services, BEN)
    assert again.text == card.text and again.track != card.track


def test_ratio_momentum_card_states_the_return_in_points(services: Services, prices_dir: Path) -> None:
    card = router.run("/signal define ijr-mom IJR/SPY momentum 6m above 0%", services, ANA)
    ratio = series(prices_dir, "IJR", "SPY")
    ratio.index = pd.to_datetime(ratio.index)
    base = ratio.asof(ratio.index[-1] - pd.DateOffset(months=6))
    momentum = ratio.iloc[-1] / base - 1
    assert card.text.endswith(f"*{'true' if momentum > 0 else 'false'}*")
    assert f"IJR/SPY's 6-month total return is {momentum * 100:+.1f}%, {abs(momentum) * 100:.1f} points" in card.takeaway


def test_list_shows_every_signal_with_its_state_and_is_what_signal_alone_shows(services: Services,
                                                                               prices_dir: Path) -> None:
    router.run("/signal define spy600 SPY above 600", services, ANA)
    listed = router.run("/signal list", services, BEN)
    assert router.run("/signal", services, BEN).table == listed.table
    rows = {row[0]: row for row in listed.table.rows}
    assert list(rows) == ["smallcaps", "semis", "spy600"]
    spy = series(prices_dir, "SPY")
    assert rows["spy600"][2] == ("true" if spy.iloc[-1] > 600 else "false")
    assert rows["spy600"][1] == "`SPY above 600`"


def test_only_the_author_deletes_and_the_predefined_stay(services: Services) -> None:
    router.run("/signal define spy600 SPY above 600", services, ANA)
    refused = router.run("/signal delete spy600", services, BEN)
    assert refused.is_error and refused.ephemeral and "Only the person who defined" in refused.text
    assert GRAMMAR in refused.usage
    assert router.run("/signal delete smallcaps", services, ANA).is_error
    gone = router.run("/signal delete spy600", services, ANA)
    assert not gone.is_error and gone.ephemeral
    assert services.store.signals(TEAM) == []
    assert "There is no signal `spy600`" in router.run("/signal spy600", services, ANA).text


@pytest.mark.parametrize("text, fragment", [
    ("/signal define x FOOBARX above sma200", "can't find the ticker FOOBARX"),
    ("/signal define x SPY/FOOBARX above sma200", "can't find the ticker FOOBARX"),
    ("/signal define x SPY macd above 2", "`macd` is not an indicator"),
    ("/signal define x SPY above sma0", "between 2 and 1000"),
    ("/signal define x SPY above sma5000", "between 2 and 1000"),
    ("/signal define x SPY above 6o0", "`6o0` is not a number"),
    ("/signal define x SPY above -5", "above 0"),
    ("/signal define x SPY rsi14 below 130", "between 0 and 100"),
    ("/signal define x SPY drawdown below 20%", "drawdown below -P%"),
    ("/signal define x SPY momentum 6m above 5", "is not a percentage"),
    ("/signal define x SPY momentum 99m above 5%", "up to 52w, 24m or 10y"),
    ("/signal define Bad_Name SPY above 600", "is not a signal name"),
    ("/signal define " + "a" * 33 + " SPY above 600", "is not a signal name"),
    ("/signal define smallcaps SPY above 600", "`smallcaps` is taken"),
    ("/signal define list SPY above 600", "`list` is taken"),
    ("/signal define x", "Give a name and a rule"),
    ("/signal define x SPY above 600 " + "why " * 60, "at most 200 characters"),
    ("/signal x SPY above 600", "takes a signal's name alone"),
    ("/signal nosuch", "There is no signal `nosuch`"),
])
def test_bad_input_gets_a_short_private_message_with_the_grammar(services: Services, text: str,
                                                                  fragment: str) -> None:
    reply = router.run(text, services, ANA)
    assert reply.is_error and reply.ephemeral and fragment in reply.text, reply.text
    assert GRAMMAR in reply.usage
    assert services.store.signals(TEAM) == []


def test_a_taken_name_is_refused_and_the_first_definition_kept(services: Services) -> None:
    router.run("/signal define spy600 SPY above 600", services, ANA)
    refused = router.run("/signal define spy600 QQQ above 500", services, BEN)
    assert refused.is_error and "already exists" in refused.text and GRAMMAR in refused.usage
    assert [s["rule"] for s in services.store.signals(TEAM)] == ["SPY above 600"]


def test_fifty_signals_at_most_even_when_defined_at_once(services: Services) -> None:
    texts = [f"/signal define s{i:02d} SPY above {500 + i}" for i in range(MAX_SIGNALS + 6)]
    people = [Caller(platform="slack", team="T1", channel="C1", user=f"U{i}") for i in range(len(texts))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda pair: router.run(pair[0], services, pair[1]), zip(texts, people)))
    refused = [r for r in replies if r.is_error]
    assert len(refused) == 6 and all(f"at most {MAX_SIGNALS} signals" in r.text for r in refused)
    stored = services.store.signals(TEAM)
    assert len(stored) == MAX_SIGNALS and len({s["name"] for s in stored}) == MAX_SIGNALS
    assert router.run("/signal define late SPY above 600", services, ANA).is_error


def test_one_name_defined_twice_at_once_is_stored_once(services: Services) -> None:
    texts = ["/signal define same SPY above 600", "/signal define same QQQ above 500"] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda t: router.run(t, services, ANA), texts))
    assert sum(not r.is_error for r in replies) == 1
    assert [s["name"] for s in services.store.signals(TEAM)] == ["same"]


def test_signals_stay_in_their_workspace_and_survive_export_and_import(services: Services, store: TeamStore) -> None:
    router.run("/signal define spy600 SPY above 600", services, ANA)
    other = Caller(platform="slack", team="T2", channel="C1", user="U1")
    assert "There is no signal `spy600`" in router.run("/signal spy600", services, other).text
    exported = store.export()
    store.delete_team("slack", "T1")
    assert store.signals(TEAM) == []
    store.import_(exported)
    assert [s["name"] for s in store.signals(TEAM)] == ["spy600"]


def test_signals_need_storage(prices_dir: Path) -> None:
    dead = Services(market=CachedMarket(CsvFolderProvider(prices_dir), Cache(None), now=lambda: DATA_NOW),
                    cache=Cache(None), team_store=TeamStore(connect("redis://127.0.0.1:1")))
    for text in ("/signal define spy600 SPY above 600", "/signal list", "/signal delete spy600"):
        reply = router.run(text, dead, ANA)
        assert reply.is_error and "can't reach my storage" in reply.text, text


def test_a_flip_posts_once_in_the_cards_thread_and_once_where_it_was_defined(services: Services, clock: Clock,
                                                                              prices_dir: Path) -> None:
    smh = series(prices_dir, "SMH")
    change = smh.diff()
    gain = change.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()  # only to find a flip day to stand on
    rsi = 100 - 100 / (1 + gain / (-change.clip(upper=0)).ewm(alpha=1 / 14, adjust=False).mean())
    below = (rsi < 30)[200:]
    flips = below.index[(below != below.shift()).to_numpy()][1:]
    day = next(d for d in reversed(flips) if below[d])  # a close where SMH's RSI dropped below 30
    before = below.index[below.index.get_loc(day) - 1]

    clock.when = evening(str(before))
    card = router.run("/signal define smh-oversold SMH rsi14 below 30 add to SMH when this fires", services, ANA)
    assert card.text.endswith("*false*"), card.text
    assert "Note: add to SMH when this fires" in card.notes
    router.posted(services, ANA, card.track, "C1", "1700000000.000100")
    poster = Poster()
    assert Watcher(services, poster).tick() == [] and poster.posts == []

    clock.when = evening(str(day))
    watchers = [Watcher(services, poster, owner=f"w{i}") for i in range(2)]
    followed = tick_together(watchers)
    assert sorted(f.what for f in followed) == ["flip", "signal"]
    assert len(poster.posts) == 2
    in_thread = next(p for p in poster.posts if p[1] is not None)
    in_channel = next(p for p in poster.posts if p[1] is None)
    assert in_thread[:2] == ("C1", "1700000000.000100") and in_channel[0] == "C1"
    for _, _, reply in poster.posts:
        assert f"`smh-oversold` is now *true* (since the close of {day})" in reply.plain_text()
    assert "Note: add to SMH when this fires" in in_channel[2].plain_text()
    assert watchers[0].tick() == [] and watchers[1].tick() == [] and len(poster.posts) == 2
    assert services.store.signal(TEAM, "smh-oversold")["state"] is True


def test_a_deleted_signal_is_no_longer_announced(services: Services, clock: Clock) -> None:
    clock.when = evening("2025-04-02")  # SPY closed at 556.69; below 500 from 2025-04-04 (498.27)
    card = router.run("/signal define spy-500 SPY below 500", services, ANA)
    router.posted(services, ANA, card.track, "C1", "1700000000.000300")
    router.run("/signal define kept SPY below 500", services, BEN)  # the same rule, not deleted
    router.run("/signal delete spy-500", services, ANA)
    clock.when = evening("2025-04-08")
    poster = Poster(delay=0.0)
    Watcher(services, poster).tick()
    assert [(channel, thread) for channel, thread, _ in poster.posts] == [("C2", None)]
    assert "`kept` is now *true* (since the close of 2025-04-04)" in poster.posts[0][2].plain_text()


# --- backtests of a workspace's signals ----------------------------------------------------------


def bt_tactical(prices: pd.DataFrame, state: pd.Series, on: str, off: str) -> pd.Series:
    """bt's value (growth of 1) all in ``on`` from the close after ``state`` reads true, else all in ``off``."""
    held = state.astype(bool).shift(1).reindex(prices.index)  # the position from each close on: yesterday's reading
    switches = held.ne(held.shift(1))
    switches.iloc[-1] = False
    targets = pd.DataFrame({on: held.astype(float), off: 1.0 - held.astype(float)})[switches]
    strategy = bt.Strategy("s", [bt.algos.RunDaily(), bt.algos.SelectAll(), bt.algos.WeighTarget(targets),
                                 bt.algos.Rebalance()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bt's own deprecation warnings
        result = bt.run(bt.Backtest(strategy, prices[[on, off]], integer_positions=False, progress_bar=False))
    return result.prices["s"].iloc[1:] / 100.0


def common(prices_dir: Path, tickers: list[str]) -> pd.DataFrame:
    joined = pd.concat({t: pd.Series(closes(prices_dir, t)) for t in tickers}, axis=1, join="inner").sort_index()
    joined.index = pd.DatetimeIndex(joined.index)
    return joined


def backtest_figures(reply: Reply, row: str) -> dict[str, str]:
    return dict(zip(reply.table.columns, next(r for r in reply.table.rows if r[0] == row)))


def test_a_defined_single_ticker_signal_backtests_like_bt(services: Services, prices_dir: Path) -> None:
    router.run("/signal define soxx-cross SOXX sma50 above sma200", services, ANA)
    needs_legs = router.run("/backtest tactical soxx-cross 2015-10-30..2025-10-31", services, ANA)
    assert needs_legs.is_error and "say what to hold" in needs_legs.text
    reply = router.run("/backtest tactical soxx-cross hold SOXX else SPY 2015-10-30..2025-10-31", services, ANA)
    assert not reply.is_error, reply.text
    history = common(prices_dir, ["SOXX", "SPY"])
    state = (history["SOXX"].rolling(50).mean() > history["SOXX"].rolling(200).mean())[199:]
    prices = history.loc["2015-10-29":"2025-10-31"]  # the window opens at the last close before its first day
    expected = bt_tactical(prices, state, "SOXX", "SPY")
    total = expected.iloc[-1] - 1
    years = (prices.index[-1] - prices.index[0]).days / 365.25
    figures = backtest_figures(reply, "tactical soxx-cross hold SOXX else SPY")  # named by its rule
    assert figures["Total"] == f"{total * 100:.0f}%"
    assert figures["CAGR"] == f"{((1 + total) ** (1 / years) - 1) * 100:.1f}%"
    assert any(n.startswith("tactical soxx-cross hold SOXX else SPY: SOXX while SOXX's 50-day simple average is above its 200-day simple average "
                            "(the /signal soxx-cross rule), else SPY") for n in reply.notes), reply.notes


def test_a_defined_ratio_signal_holds_a_else_b_like_bt(services: Services, prices_dir: Path) -> None:
    router.run("/signal define ijr-mom IJR/SPY momentum 6m above 0%", services, ANA)
    reply = router.run("/backtest tactical ijr-mom 2015-10-30..2025-10-31", services, ANA)
    assert not reply.is_error, reply.text
    history = common(prices_dir, ["IJR", "SPY"])
    ratio = history["IJR"] / history["SPY"]
    base = pd.Series([ratio.asof(d - pd.DateOffset(months=6)) for d in ratio.index], index=ratio.index)
    state = (ratio / base - 1 > 0)[base.notna()]
    prices = history.loc["2015-10-29":"2025-10-31"]
    expected = bt_tactical(prices, state, "IJR", "SPY")
    assert backtest_figures(reply, "tactical ijr-mom")["Total"] == f"{(expected.iloc[-1] - 1) * 100:.0f}%"
    held = state.shift(1).reindex(prices.index)
    trades = int((held != held.shift(1)).iloc[1:-1].sum())
    assert trades > 20 and any(f"{trades} trades" in n for n in reply.notes), reply.notes
    other = Caller(platform="slack", team="T2", channel="C1", user="U1")
    assert "There is no signal `ijr-mom`" in router.run("/backtest tactical ijr-mom", services, other).text


# --- the digest and the Home tab -----------------------------------------------------------------


def test_the_digest_lists_the_signals_and_the_flips_since_the_last_digest(services: Services, clock: Clock) -> None:
    clock.when = evening("2025-04-02")  # SPY 556.69; it closed below 500 on 2025-04-04 and back above on 2025-04-09
    router.run("/signal define spy-500 SPY below 500", services, ANA)
    services.store.subscribe(ANA.owner, "C1", {"kind": "weekdays", "at": "08:30", "tz": "America/New_York",
                                               "weekday": None})

    def digest_at(day: str) -> list[str]:
        d = dt.date.fromisoformat(day)
        clock.when = dt.datetime(d.year, d.month, d.day, 8, 31, tzinfo=NEW_YORK)
        reply = router.run("/digest now", services, ANA)
        assert not reply.is_error, reply.text
        return [n for n in reply.notes if n.startswith(("Signals ", "Flipped", "No signal flipped"))]

    monday = digest_at("2025-04-07")
    assert "spy-500" in monday[0].split("true: ")[1]
    assert monday[1] == "Flipped since the last digest (Fri 04 Apr 08:30 New York): spy-500 → true on 2025-04-04."
    assert digest_at("2025-04-08")[1] == "No signal flipped since the last digest (Mon 07 Apr 08:30 New York)."
    assert "spy-500 → false on 2025-04-09" in digest_at("2025-04-10")[1]


def test_the_home_tab_lists_the_workspaces_signals(services: Services) -> None:
    router.run("/signal define spy600 SPY above 600", services, ANA)
    home = router.home(services, BEN, member_of=())  # signals are the workspace's, whatever channels Ben is in
    section = next(s for s in home.sections if s.text.startswith("*Signals*"))
    assert [row[0] for row in section.table.rows] == ["smallcaps", "semis", "spy600"]
    assert ("Card: spy600", "/signal spy600") in [(a.label, a.command) for a in section.actions]


def test_the_watcher_computes_each_series_once_per_close_across_workspaces(services: Services, clock: Clock) -> None:
    clock.when = evening("2025-04-02")
    for team in ("T1", "T2", "T3"):
        caller = Caller(platform="slack", team=team, channel="C1", user="U1")
        router.run("/signal define golden SOXX sma50 above sma200", services, caller)
        router.run("/signal define rsi SOXX rsi14 below 30", services, caller)
    watcher = Watcher(services, Poster(delay=0.0))
    watcher.tick()
    soxx = next(subject for subject, indicator in watcher.memo.series if indicator is None and str(subject) == "SOXX")
    # smallcaps/semis have no cards here; each workspace's two rules share SOXX and its averages.
    assert {str(i) for s, i in watcher.memo.series if s == soxx} == {"None", "sma50", "sma200", "rsi14"}
    first = dict(watcher.memo.evaluations)
    watcher.tick()  # the same closes: nothing is recomputed
    assert all(watcher.memo.evaluations[rule] is evaluation for rule, evaluation in first.items())
    clock.when = evening("2025-04-03")  # a new close: everything read again, once
    watcher.tick()
    assert {e.as_of for e in watcher.memo.evaluations.values()} == {dt.date(2025, 4, 3)}
    assert not any(watcher.memo.evaluations[rule] is evaluation for rule, evaluation in first.items())


# --- the grammar reads back what it wrote ----------------------------------------------------------

SUBJECTS = st.sampled_from(["SPY", "iwm", "IWM/SPY", "smh/soxx", "BRK-B", "^IRX"])
NUMBERS = st.one_of(st.integers(1, 5000).map(str), st.floats(0.0001, 1e6, allow_nan=False).map(repr),
                    st.decimals("0.01", "999.99", places=2).map(str))
RULES = st.one_of(
    st.tuples(SUBJECTS, st.sampled_from(["above", "below"]), st.sampled_from(["sma2", "sma200", "ema50", "sma1000"])),
    st.tuples(SUBJECTS, st.sampled_from(["sma50", "ema20"]), st.sampled_from(["above", "below"]),
              st.sampled_from(["sma200", "ema100"])),
    st.tuples(SUBJECTS, st.sampled_from(["above", "below"]), NUMBERS),
    st.tuples(SUBJECTS, st.just("momentum"), st.sampled_from(["1w", "52w", "6m", "24m", "1y", "10y"]),
              st.sampled_from(["above", "below"]), st.sampled_from(["0%", "-0%", "5%", "-12.5%", "0.001%"])),
    st.tuples(SUBJECTS, st.just("drawdown"), st.just("below"), st.sampled_from(["-20%", "-0.5%", "-99.9%"])),
    st.tuples(SUBJECTS, st.sampled_from(["rsi2", "rsi14"]), st.sampled_from(["above", "below"]),
              st.sampled_from(["0", "30", "70.5", "100"])),
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(RULES)
def test_a_rule_reads_back_from_its_own_text(text: str) -> None:
    """Signals and alerts are stored as the rule's text: it must parse back to the very same rule."""
    rule = parse_rule(text)
    assert parse_rule(str(rule)) == rule
    assert "-0%" not in str(rule) and str(rule) == str(parse_rule(str(rule)))


def test_a_gap_that_rounds_to_zero_reads_zero_not_minus_zero() -> None:
    assert (percent(-0.00004), percent(-0.00004, signed=True), percent(-0.0004, 0)) == ("0.0%", "+0.0%", "0%")
    assert percent(-0.0123, signed=True) == "-1.2%"
