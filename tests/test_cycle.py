"""/cycle end to end through the router on the real prices the tests carry, and the phase table's dates.

Every episode's expected figure is computed here with plain pandas from the fixture's prices (``tests/data``) and the
phase dates written out by hand below (from the NBER and FOMC dates of issue 23 and the month rules), never
from ``analysis.cycle``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.charts import DPI, FIGSIZE_IN, ChartLabels
from analysis.cycle import (
    CUTS_12M,
    EARLY_RECOVERY,
    HIKES_12M,
    LATE_EXPANSION,
    RECESSION,
    Episode,
    cycle_figures,
    episode_windows,
    episodes,
    most_consistent,
    summarise,
)
from analysis.cycle_chart import build_cycle_figure, cycle_chart
from analysis.cycle_phases import EVENTS, Event
from handlers import cycle
from handlers.common import router
from handlers.common.format import percent
from handlers.common.reply import Reply, Table
from handlers.common.services import Services
from market.cache import Cache
from market.csvdir import CsvFolderProvider
from market.demo import DemoProvider
from tests.chart_checks import (
    PLATFORM_FILE_LIMIT,
    contrast,
    decode,
    extent,
    outside_canvas,
    overlapping,
    same_colour,
    solid_texts,
    too_small,
)
from tests.conftest import services_for

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Phase, first day, last day, and the window on SPY's trading days: the last close before the first day and the
# last close on or before the last day (2002-11-30 is a Saturday; every other last day is a trading day).
EPISODES = (
    ("Late expansion", "2000-03-01", "2001-02-28", "2000-02-29", "2001-02-28"),
    ("Late expansion", "2006-12-01", "2007-11-30", "2006-11-30", "2007-11-30"),
    ("Late expansion", "2019-02-01", "2020-01-31", "2019-01-31", "2020-01-31"),
    ("Recession", "2001-03-01", "2001-11-30", "2001-02-28", "2001-11-30"),
    ("Recession", "2007-12-01", "2009-06-30", "2007-11-30", "2009-06-30"),
    ("Recession", "2020-02-01", "2020-04-30", "2020-01-31", "2020-04-30"),
    ("Early recovery", "2001-12-01", "2002-11-30", "2001-11-30", "2002-11-29"),
    ("Early recovery", "2009-07-01", "2010-06-30", "2009-06-30", "2010-06-30"),
    ("Early recovery", "2020-05-01", "2021-04-30", "2020-04-30", "2021-04-30"),
    ("Rate cuts, first 6m", "2001-01-03", "2001-07-02", "2001-01-02", "2001-07-02"),
    ("Rate cuts, first 6m", "2007-09-18", "2008-03-17", "2007-09-17", "2008-03-17"),
    ("Rate cuts, first 6m", "2019-07-31", "2020-01-30", "2019-07-30", "2020-01-30"),
    ("Rate cuts, first 6m", "2024-09-18", "2025-03-17", "2024-09-17", "2025-03-17"),
    ("Rate cuts, first 12m", "2001-01-03", "2002-01-02", "2001-01-02", "2002-01-02"),
    ("Rate cuts, first 12m", "2007-09-18", "2008-09-17", "2007-09-17", "2008-09-17"),
    ("Rate cuts, first 12m", "2019-07-31", "2020-07-30", "2019-07-30", "2020-07-30"),
    ("Rate cuts, first 12m", "2024-09-18", "2025-09-17", "2024-09-17", "2025-09-17"),
    ("Hikes, first 12m", "2004-06-30", "2005-06-29", "2004-06-29", "2005-06-29"),
    ("Hikes, first 12m", "2015-12-16", "2016-12-15", "2015-12-15", "2016-12-15"),
    ("Hikes, first 12m", "2022-03-16", "2023-03-15", "2022-03-15", "2023-03-15"),
)
PHASE_NAMES = ("Late expansion", "Recession", "Early recovery", "Rate cuts, first 6m", "Rate cuts, first 12m",
               "Hikes, first 12m")
PLURALS = {"Late expansion": "late expansions", "Recession": "recessions", "Early recovery": "early recoveries",
           "Rate cuts, first 6m": "rate-cut cycles (first 6 months)",
           "Rate cuts, first 12m": "rate-cut cycles (first 12 months)", "Hikes, first 12m": "hiking cycles (first 12 months)"}


def read_prices(folder: Path, tickers: list[str]) -> pd.DataFrame:
    return pd.concat({t: pd.read_csv(folder / f"{t}.csv", index_col="Date", parse_dates=True)["Adj Close"]
                      for t in tickers}, axis=1, sort=True)


def expected_relative(prices: pd.DataFrame, ticker: str, bench: str, first: str, last: str) -> float:
    """Relative return over one phase on the pair's common closes; NaN without a close before it or after its end."""
    pair = prices[[ticker, bench]].dropna()
    before, through = pair[pair.index < first], pair[pair.index <= last]
    if before.empty or pair.index[-1] < pd.Timestamp(last):
        return math.nan
    growth = through.iloc[-1] / before.iloc[-1]
    return growth[ticker] / growth[bench] - 1


def expected_total(closes: pd.Series, first: str, last: str) -> float:
    closes = closes.dropna()
    return closes[closes.index <= last].iloc[-1] / closes[closes.index < first].iloc[-1] - 1


def shown(value: float) -> str:
    """A relative return as the tables show it: signed, one decimal, never -0.0%."""
    return "n/a" if math.isnan(value) else f"{round(value * 100, 1) + 0.0:+.1f}%"


def rows_by(table: Table, *keys: int) -> dict[tuple[str, ...], dict[str, str]]:
    return {tuple(row[k] for k in keys): dict(zip(table.columns, row)) for row in table.rows}


# --- figures ---------------------------------------------------------------------------------------


def test_every_episode_is_the_independent_pandas_figure(services: Services, prices_dir: Path) -> None:
    reply = router.run("/cycle IWM IJR XSD vs SPY", services)
    prices = read_prices(prices_dir, ["IWM", "IJR", "XSD", "SPY"])
    assert not reply.is_error and not reply.ephemeral
    detail = reply.more_tables[0]
    assert detail.columns == ("Phase", "From", "To", "IJR", "IWM", "XSD", "SPY total")
    assert [row[:3] for row in detail.rows] == [episode[:3] for episode in EPISODES]
    for i, (_, first, last, _, _) in enumerate(EPISODES):
        for column, ticker in enumerate(("IJR", "IWM", "XSD"), start=3):
            expected = expected_relative(prices, ticker, "SPY", first, last)
            assert detail.rows[i][column] == shown(expected), (first, ticker)
            if math.isnan(expected):
                assert detail.numbers(i)[column] is None
            else:
                assert detail.numbers(i)[column] == pytest.approx(expected, abs=1e-12)
        assert detail.numbers(i)[6] == pytest.approx(expected_total(prices["SPY"], first, last), abs=1e-12)
    # Missing history, as the issue names it: IWM and IJR begin 2000-05-26, XSD 2006-02-06.
    na = {t: {detail.rows[i][1] + " " + detail.rows[i][0] for i in range(len(EPISODES)) if detail.rows[i][c] == "n/a"}
          for c, t in ((3, "IJR"), (4, "IWM"), (5, "XSD"))}
    assert na["IWM"] == na["IJR"] == {"2000-03-01 Late expansion"}
    assert na["XSD"] == {"2000-03-01 Late expansion", "2001-03-01 Recession", "2001-12-01 Early recovery",
                         "2001-01-03 Rate cuts, first 6m", "2001-01-03 Rate cuts, first 12m", "2004-06-30 Hikes, first 12m"}


def test_medians_hit_rates_and_counts_rest_on_the_episodes_with_data(services: Services, prices_dir: Path) -> None:
    reply = router.run("/cycle IWM IJR XSD vs SPY", services)
    prices = read_prices(prices_dir, ["IWM", "IJR", "XSD", "SPY"])
    assert reply.table.columns == ("Phase", "IJR", "IWM", "XSD")
    assert [row[0] for row in reply.table.rows] == list(PHASE_NAMES)
    rows = rows_by(reply.table, 0)
    for i, phase in enumerate(PHASE_NAMES):
        dates = [(first, last) for name, first, last, _, _ in EPISODES if name == phase]
        for column, ticker in enumerate(("IJR", "IWM", "XSD"), start=1):
            figures = pd.Series([expected_relative(prices, ticker, "SPY", *d) for d in dates]).dropna()
            assert rows[(phase,)][ticker] == f"{shown(figures.median())} ({(figures > 0).sum()} of {len(figures)})"
            assert reply.table.numbers(i)[column] == pytest.approx(figures.median(), abs=1e-12)
    assert rows[("Late expansion",)]["XSD"].endswith("of 2)")  # 2000 left out: XSD began in 2006


def relative_by_phase(prices_dir: Path, ticker: str) -> dict[str, pd.Series]:
    """``ticker``'s return relative to SPY in each episode of each phase type, worked out here."""
    prices = read_prices(prices_dir, [ticker, "SPY"])
    return {phase: pd.Series([expected_relative(prices, ticker, "SPY", f, last)
                              for name, f, last, _, _ in EPISODES if name == phase]).dropna()
            for phase in PHASE_NAMES}


def test_the_takeaway_names_the_counts_and_median_the_table_shows(services: Services, prices_dir: Path) -> None:
    reply = router.run("/cycle IWM vs SPY", services)
    by_phase = relative_by_phase(prices_dir, "IWM")
    beat = re.match(r"IWM beat SPY in (\d) of (\d) (.+?) \(median (\S+)\), and lagged in (\d) of (\d) (.+?) "
                    r"\(median (\S+)\)\.$", reply.takeaway)
    assert beat, reply.takeaway
    won, of, plural, median, lost, of_lost, plural_lost, median_lost = beat.groups()
    phase = next(p for p in PHASE_NAMES if PLURALS[p] == plural)
    lagging = next(p for p in PHASE_NAMES if PLURALS[p] == plural_lost)
    assert (int(won), int(of), median) == ((by_phase[phase] > 0).sum(), len(by_phase[phase]), shown(by_phase[phase].median()))
    assert (int(lost), int(of_lost), median_lost) == ((by_phase[lagging] < 0).sum(), len(by_phase[lagging]),
                                                     shown(by_phase[lagging].median()))
    # The most consistent phases each way: no phase has a larger share of wins (or losses).
    assert int(won) / int(of) == max((s > 0).mean() for s in by_phase.values())
    assert int(lost) / int(of_lost) == max((s < 0).mean() for s in by_phase.values())


def test_the_takeaway_leaves_out_a_side_no_phase_went_in_most_episodes(services: Services, prices_dir: Path) -> None:
    reply = router.run("/cycle SMH", services)
    by_phase = relative_by_phase(prices_dir, "SMH")
    # SMH trailed SPY in at most half the episodes of every phase type, so no phase is named for lagging.
    assert all(2 * (s < 0).sum() <= len(s) for s in by_phase.values())
    assert "lagged" not in reply.takeaway, reply.takeaway
    beat = re.fullmatch(r"SMH beat SPY in (\d) of (\d) (.+?) \(median (\S+)\)\.", reply.takeaway)
    assert beat, reply.takeaway
    won, of, plural, median = beat.groups()
    phase = next(p for p in PHASE_NAMES if PLURALS[p] == plural)
    assert (int(won), int(of), median) == ((by_phase[phase] > 0).sum(), len(by_phase[phase]),
                                           shown(by_phase[phase].median()))
    assert int(won) / int(of) == max((s > 0).mean() for s in by_phase.values()) > 0.5


def test_the_reply_states_its_dates_sources_and_gaps_and_is_cached(services: Services) -> None:
    reply = router.run("/cycle iwm", services)
    assert reply.text.startswith("*IWM vs SPY through the cycle*")
    assert reply.footer == "phases 2000-03-01 → 2025-09-17 · as of 2026-07-14 · source: CSV folder prices"
    notes = "\n".join(reply.notes)
    assert "(1 + r) / (1 + r_SPY) - 1" in notes and "last close before the phase's first day" in notes
    assert "peaks 2001-03, 2007-12, 2020-02; troughs 2001-11, 2009-06, 2020-04" in notes
    assert "first cuts 2001-01-03, 2007-09-18, 2019-07-31, 2024-09-18; first hikes 2004-06-30, 2015-12-16, 2022-03-16" in notes
    assert "IWM has prices from 2000-05-26 to 2026-07-14: n/a in 1 episode." in notes
    assert "-0.0%" not in reply.plain_text()
    assert reply.chart is not None and reply.chart.png.startswith(PNG_SIGNATURE)
    assert reply.actions[1].command == "/compare IWM vs SPY 2020-02-01..2020-04-30"
    stored = services.cache.client.keys(f"{services.cache.prefix}reply:*")
    assert len(stored) == 1 and b"cycle|IWM|SPY" in stored[0]
    again = router.run("/cycle IWM vs spy", services)
    assert again.plain_text() == reply.plain_text() and again.chart.png == reply.chart.png


def test_eight_tickers_are_measured_against_the_benchmark_besides(services: Services) -> None:
    reply = router.run("/cycle IWM IJR SMH SOXX XSD QQQ VB MDY", services)
    assert not reply.is_error and reply.table.columns == ("Phase", "IJR", "IWM", "MDY", "QQQ", "SMH", "SOXX", "VB", "XSD")
    assert reply.more_tables[0].columns[-1] == "SPY total" and reply.chart.png.startswith(PNG_SIGNATURE)


def test_demo_replies_say_they_are_not_real(cache: Cache) -> None:
    reply = router.run("/cycle IWM", services_for(DemoProvider(dt.date(2026, 7, 14)), cache))
    assert not reply.is_error and reply.text.endswith("(demo data, not real prices)")


# --- the phase table's dates -----------------------------------------------------------------------


def test_each_episode_has_the_hand_written_dates_and_window(prices_dir: Path) -> None:
    spy = read_prices(prices_dir, ["SPY"]).index
    phases = episodes()
    assert [(e.phase.label, f"{e.first_day}", f"{e.last_day}") for e in phases] == [e[:3] for e in EPISODES]
    windows = episode_windows(spy, phases)
    assert [(f"{s:%Y-%m-%d}", f"{e:%Y-%m-%d}") for s, e in zip(windows.start, windows.end)] == [e[3:] for e in EPISODES]


def test_every_event_cites_the_announcement_that_dated_it() -> None:
    months = {f"{m:02d}": name for m, name in enumerate(("January", "February", "March", "April", "May", "June", "July",
                                                          "August", "September", "October", "November", "December"), 1)}
    for event in EVENTS:
        if event.kind in ("peak", "trough"):
            year, month = event.date.split("-")
            assert re.fullmatch(rf"NBER Business Cycle Dating Committee, announcement of \d{{4}}-\d{{2}}-\d{{2}}: "
                                rf"{event.kind} in {months[month]} {year}", event.source), event
        else:
            assert event.source.startswith(f"FOMC statement, {event.date}: federal funds target"), event
    kinds = [e.kind for e in sorted(EVENTS, key=lambda e: e.date) if e.kind in ("peak", "trough")]
    assert kinds == ["peak", "trough"] * 3  # each recession's peak comes before its trough


def shifted(events, months: int = 1, only: str | None = None):
    """The event table with every date (or the one row dated ``only``) moved ``months`` later."""
    def move(date: str) -> str:
        if len(date) == 7:
            return str(pd.Period(date, freq="M") + months)
        return f"{(pd.Timestamp(date) + pd.DateOffset(months=months)).date()}"

    return tuple(dataclasses.replace(e, date=move(e.date)) if only in (None, e.date) else e for e in events)


def test_a_phase_shifted_by_one_month_is_caught(prices_dir: Path) -> None:
    expected = [e[:3] for e in EPISODES]
    def dated(events) -> list[tuple[str, str, str]]:
        return [(e.phase.label, f"{e.first_day}", f"{e.last_day}") for e in episodes(events)]

    # One turning point a month late moves exactly the phases it bounds, and the date check sees it.
    late_trough = dated(shifted(EVENTS, only="2009-06"))
    assert [i for i, (got, want) in enumerate(zip(late_trough, expected)) if got != want] == [4, 7]
    # Every row a month late or early: every episode's dates differ, and so does every figure.
    prices = read_prices(prices_dir, ["IWM", "SPY"])
    figures = cycle_figures(prices, "SPY", episodes()).relative["IWM"]
    independent = pd.Series([expected_relative(prices, "IWM", "SPY", f, last) for _, f, last, _, _ in EPISODES])
    assert np.allclose(figures, independent, rtol=0, atol=1e-12, equal_nan=True)
    for months in (1, -1):
        moved = shifted(EVENTS, months)
        assert all(got != want for got, want in zip(dated(moved), expected))
        moved_figures = cycle_figures(prices, "SPY", episodes(moved)).relative["IWM"]
        both = moved_figures.notna() & independent.notna()
        assert both.sum() >= 18 and (moved_figures[both] - independent[both]).abs().min() > 1e-4


def test_the_chart_draws_each_median_as_a_bar_and_each_episode_as_a_dot(prices_dir: Path) -> None:
    prices = read_prices(prices_dir, ["IWM", "XSD", "SPY"])
    figures = cycle_figures(prices, "SPY", episodes())
    fig = build_cycle_figure(figures, ChartLabels(title="IWM XSD vs SPY through the cycle", as_of="2026-07-14",
                                                  source="CSV folder prices"))
    ax = fig.axes[0]
    for container, ticker in zip(ax.containers, ("IWM", "XSD")):
        assert container.get_label() == ticker
        medians = [pd.Series([expected_relative(prices, ticker, "SPY", f, last) for name, f, last, _, _ in EPISODES
                              if name == phase]).median() * 100 for phase in PHASE_NAMES]
        assert [bar.get_height() for bar in container] == pytest.approx(medians, abs=1e-9)
    dots = [len(collection.get_offsets()) for collection in ax.collections]
    assert dots == [19, 14]  # IWM n/a once (2000), XSD six times (before 2006)
    assert [t.get_text().split("\n")[-1] for t in ax.get_xticklabels()] == ["3 episodes"] * 3 + ["4 episodes"] * 2 + ["3 episodes"]


def test_a_peak_announced_before_its_trough_adds_a_late_expansion_and_no_recession_yet() -> None:
    peak = Event("peak", "2026-05", "NBER Business Cycle Dating Committee, announcement of 2026-11-02: peak in May 2026")
    phases = episodes((*EVENTS, peak))
    late = [(f"{e.first_day}", f"{e.last_day}") for e in phases if e.phase == LATE_EXPANSION]
    assert late[-1] == ("2025-05-01", "2026-04-30") and len(late) == 4
    # No trough after it: the recession it opens has no end yet, so it is not a phase; the others are unchanged.
    assert [e for e in phases if e.phase == RECESSION] == [e for e in episodes() if e.phase == RECESSION]
    assert len(phases) == len(EPISODES) + 1


COVID = Episode(RECESSION, dt.date(2020, 2, 1), dt.date(2020, 4, 30))
AFTER_COVID = Episode(EARLY_RECOVERY, dt.date(2020, 5, 1), dt.date(2021, 4, 30))
BEFORE_COVID = Episode(LATE_EXPANSION, dt.date(2019, 2, 1), dt.date(2020, 1, 31))


def windows_of(dates: pd.DatetimeIndex, phases: tuple[Episode, ...]) -> list[tuple[str, str]]:
    windows = episode_windows(dates, phases)
    return [(str(start)[:10], str(end)[:10]) for start, end in zip(windows.start, windows.end)]  # "NaT" as is


def test_a_window_may_open_on_the_first_close_and_a_phase_ending_on_the_last_close_is_over() -> None:
    # Closes from 2020-01-31, the last close before the recession, to 2020-04-30, its last day.
    dates = pd.bdate_range("2020-01-31", "2020-04-30")
    assert windows_of(dates, (BEFORE_COVID, COVID, AFTER_COVID)) == [
        ("NaT", "NaT"),  # no close before 2019-02-01
        ("2020-01-31", "2020-04-30"),
        ("NaT", "NaT"),  # not over: the data end before 2021-04-30
    ]
    # Its figure is the closes' ratio: SPY 100 -> 80, IWM 50 -> 35, so IWM ended at 0.7 / 0.8 of SPY's dollar.
    prices = pd.DataFrame({"SPY": np.linspace(100.0, 80.0, len(dates)), "IWM": np.linspace(50.0, 35.0, len(dates))},
                          index=dates)
    figures = cycle_figures(prices, "SPY", (COVID, AFTER_COVID))
    assert figures.relative["IWM"].iloc[0] == pytest.approx(0.7 / 0.8 - 1, rel=1e-12)
    assert figures.benchmark_return.iloc[0] == pytest.approx(-0.2, rel=1e-12)
    assert math.isnan(figures.relative["IWM"].iloc[1]) and math.isnan(figures.benchmark_return.iloc[1])
    # The benchmark alone: still one row per episode, with no ticker columns.
    alone = cycle_figures(prices[["SPY"]], "SPY", (COVID, AFTER_COVID))
    assert alone.relative.shape == (2, 0) and alone.benchmark_return.iloc[0] == pytest.approx(-0.2, rel=1e-12)


def test_a_phase_with_no_close_inside_it_or_no_dates_at_all_is_n_a() -> None:
    # A gap over the whole recession: the close before it is also the last close on or before its end.
    gap = pd.DatetimeIndex(["2020-01-31", "2020-05-01"])
    assert windows_of(gap, (COVID,)) == [("NaT", "NaT")]
    assert windows_of(pd.DatetimeIndex([]), (COVID, AFTER_COVID)) == [("NaT", "NaT")] * 2


# --- the summary and the takeaway's pick ------------------------------------------------------------

H2004 = Episode(HIKES_12M, dt.date(2004, 6, 30), dt.date(2005, 6, 29))
H2015 = Episode(HIKES_12M, dt.date(2015, 12, 16), dt.date(2016, 12, 15))
R2001 = Episode(RECESSION, dt.date(2001, 3, 1), dt.date(2001, 11, 30))
R2008 = Episode(RECESSION, dt.date(2007, 12, 1), dt.date(2009, 6, 30))


def test_the_summary_counts_a_tie_as_neither_a_hit_nor_a_lag_and_keeps_the_phases_and_tickers_order() -> None:
    # Two phase types only, in PHASE_TYPES order (recession before hikes, though "hikes" sorts first), and the
    # tickers in column order (XSD before IWM). XSD has no recession figure; IWM tied SPY in the 2004 hikes.
    relative = pd.DataFrame({"XSD": [math.nan, math.nan, 0.05, -0.02], "IWM": [0.10, -0.03, 0.0, 0.02]})
    summary = summarise(relative, (R2001, R2008, H2004, H2015))
    assert summary.index.names == ["phase", "ticker"]
    assert list(summary.index) == [("recession", "XSD"), ("recession", "IWM"), ("hikes_12m", "XSD"), ("hikes_12m", "IWM")]
    assert summary["count"].tolist() == [0, 2, 2, 2]
    assert summary["hits"].tolist() == [0, 1, 1, 1]
    assert summary["lags"].tolist() == [0, 1, 1, 0]
    assert np.allclose(summary["median"], [math.nan, 0.035, 0.015, 0.01], rtol=0, atol=1e-15, equal_nan=True)


def summary_of(rows: dict[tuple[str, str], tuple[float, int, int, int]]) -> pd.DataFrame:
    """A summary as ``summarise`` lays it out: (phase key, ticker) -> median, hits, lags, count."""
    return pd.DataFrame(list(rows.values()), columns=["median", "hits", "lags", "count"],
                        index=pd.MultiIndex.from_tuples(list(rows), names=["phase", "ticker"]))


def test_the_most_consistent_phase_needs_a_majority_of_its_episodes_even_of_one() -> None:
    summary = summary_of({
        ("cuts_6m", "IWM"): (math.nan, 0, 0, 0),  # no episode with a figure
        ("recession", "IWM"): (0.04, 1, 0, 1),  # beat SPY in its only episode
        ("hikes_12m", "IWM"): (0.01, 1, 1, 2),  # half and half: not most
    })
    assert most_consistent(summary, "hits") == ("recession", "IWM")
    assert most_consistent(summary, "lags") is None


def test_the_most_consistent_phase_ties_go_to_more_episodes_then_the_larger_median_gap() -> None:
    both_won = {("late_expansion", "XSD"): (0.02, 2, 0, 2), ("recession", "XSD"): (0.08, 2, 0, 2)}
    assert most_consistent(summary_of(both_won), "hits") == ("recession", "XSD")
    more = summary_of({**both_won, (CUTS_12M.key, "IWM"): (0.01, 3, 0, 3)})
    assert most_consistent(more, "hits") == ("cuts_12m", "IWM")


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "fragment"), [
    ("/cycle NOPE", "can't find the ticker NOPE"),
    ("/cycle IWM IJR SMH SOXX XSD QQQ VB MDY IJH", "That is 9 tickers; /cycle measures at most 8 against SPY"),
    ("/cycle IWM IJR SMH SOXX XSD QQQ VB MDY IJH vs SPY", "That is 9 tickers; /cycle measures at most 8 against SPY"),
    ("/cycle IWM 10y", "The phases have their own dates; leave out `10y`"),
    ("/cycle SPY", "other than itself"),
    ("/cycle", "Name at least one ticker"),
    ("/cycle IWM vs", "Name a benchmark after `vs`"),
])
def test_bad_input_gets_a_short_private_message(services: Services, command: str, fragment: str) -> None:
    reply = router.run(command, services)
    assert reply.is_error and reply.ephemeral and fragment in reply.text
    assert reply.usage == cycle.COMMAND.usage_line and len(reply.text) < 200


@pytest.fixture
def young_market(prices_dir: Path, tmp_path: Path) -> Path:
    """SPY and IWM as they are, and NEWCO: SPY's closes from 2025-10-01 only (after every phase ended)."""
    for ticker in ("SPY", "IWM"):
        (tmp_path / f"{ticker}.csv").symlink_to(prices_dir / f"{ticker}.csv")
    spy = pd.read_csv(prices_dir / "SPY.csv")
    spy[spy["Date"] >= "2025-10-01"].to_csv(tmp_path / "NEWCO.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(("command", "fragment"), [
    ("/cycle NEWCO IWM", "No phase can be measured for NEWCO (NEWCO has prices from 2025-10-01 to 2026-07-14)"),
    ("/cycle IWM vs NEWCO", "No phase can be measured for the benchmark NEWCO"),
])
def test_a_ticker_with_no_data_in_any_phase_is_refused(young_market: Path, cache: Cache, command: str,
                                                       fragment: str) -> None:
    reply = router.run(command, services_for(CsvFolderProvider(young_market), cache))
    assert reply.is_error and reply.ephemeral and fragment in reply.text and reply.usage == cycle.COMMAND.usage_line


def test_a_phase_not_over_at_the_last_close_is_n_a_and_said(prices_dir: Path, tmp_path: Path, cache: Cache) -> None:
    for ticker in ("SPY", "IWM"):
        closes = pd.read_csv(prices_dir / f"{ticker}.csv")
        closes[closes["Date"] <= "2025-06-30"].to_csv(tmp_path / f"{ticker}.csv", index=False)
    reply = router.run("/cycle IWM", services_for(CsvFolderProvider(tmp_path), cache))
    rows = rows_by(reply.more_tables[0], 0, 1)
    assert rows[("Rate cuts, first 12m", "2024-09-18")]["IWM"] == "n/a"
    assert rows[("Rate cuts, first 6m", "2024-09-18")]["IWM"] != "n/a"  # over on 2025-03-17
    assert rows_by(reply.table, 0)[("Rate cuts, first 12m",)]["IWM"].endswith(" of 3)")
    assert ("Not over at the last close (2025-06-30), so n/a and left out: Rate cuts, first 12m 2024-09-18 to "
            "2025-09-17") in reply.notes
    assert "as of 2025-06-30" in reply.footer


def test_percent_never_prints_minus_zero() -> None:
    assert [percent(v, signed=True) for v in (-0.00001, 0.00001, -0.0006)] == ["+0.0%", "+0.0%", "-0.1%"]
    assert percent(-0.004, 0) == "0%"


# --- any text ---------------------------------------------------------------------------------------

WORDS = st.sampled_from(["IWM", "ijr", "SPY", "XSD", "vs", "VS", "NOPE", "10y", "since", "2020", ",", "???", "é",
                         "x" * 30, "^IRX", "max", "2015-01-01..2016-01-01"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=40), st.lists(WORDS, max_size=6).map(" ".join)))
def test_any_cycle_text_gets_an_answer_or_a_user_error(services: Services, text: str) -> None:
    reply = router.run(f"/cycle {text}", services)
    assert isinstance(reply, Reply)
    if reply.is_error:
        assert reply.ephemeral and reply.usage == cycle.COMMAND.usage_line and "Something went wrong" not in reply.text
    else:
        assert reply.table is not None and reply.more_tables and reply.chart is not None
        assert reply.table.rows and all(re.fullmatch(r"n/a|[+-]\d+\.\d% \(\d of \d\)", cell)
                                        for row in reply.table.rows for cell in row[1:])


# --- the chart: what it says and whether it reads ---------------------------------------------------------------

CYCLE_LABELS = ChartLabels(title="IWM SGOV XSD vs SPY through the cycle", as_of="2026-07-14", source="CSV folder")


def _bars(ax) -> dict[str, list]:
    return {container.get_label(): list(container) for container in ax.containers}


def test_the_chart_places_each_tickers_bars_side_by_side_within_its_phase(prices_dir: Path) -> None:
    tickers = ["IWM", "SGOV", "XSD"]
    prices = read_prices(prices_dir, [*tickers, "SPY"])
    figures = cycle_figures(prices, "SPY", episodes())
    ax = build_cycle_figure(figures, CYCLE_LABELS).axes[0]
    bars = _bars(ax)
    assert list(bars) == tickers
    slot = 0.8 / len(tickers)  # the phase's 0.8 shared by its tickers, left to right in column order
    for i, ticker in enumerate(tickers):
        centres = [bar.get_x() + bar.get_width() / 2 for bar in bars[ticker]]
        assert centres == pytest.approx([p + (i - 1) * slot for p in range(len(PHASE_NAMES))], abs=1e-12)
        assert all(0 < bar.get_width() < slot for bar in bars[ticker])  # apart from its neighbours
    assert ax.get_xlim() == pytest.approx((-0.5, len(PHASE_NAMES) - 0.5))
    # SGOV (from 2020-06) has no episode in three phases: a zero-height bar and "n/a" on its place, no more.
    heights = [bar.get_height() for bar in bars["SGOV"]]
    missing = [p for p, name in enumerate(PHASE_NAMES)
               if all(math.isnan(expected_relative(prices, "SGOV", "SPY", f, last))
                      for phase, f, last, _, _ in EPISODES if phase == name)]
    assert missing == [0, 1, 2] and all(heights[p] == 0 for p in missing)
    notes = [t for t in ax.texts if t.get_text() == "n/a"]
    assert sorted(t.get_position()[0] for t in notes) == pytest.approx(missing)  # SGOV is the middle bar
    assert all(t.get_position()[1] == 0 for t in notes)
    # Each "n/a" upright in its own slot, standing on the zero line: read across, it would run into the bars beside.
    ax.figure.canvas.draw()
    zero = ax.transData.transform((0, 0))[1]
    for note in notes:
        box, centre = extent(note), ax.transData.transform((note.get_position()[0], 0))[0]
        assert (box.x0 + box.x1) / 2 == pytest.approx(centre, abs=1.0)
        assert box.width < slot * (ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
        assert box.y0 >= zero - 1.0 and box.height > box.width


def test_the_chart_draws_each_episode_over_its_tickers_bar_at_its_figure(prices_dir: Path) -> None:
    tickers = ["IWM", "XSD"]
    prices = read_prices(prices_dir, [*tickers, "SPY"])
    figures = cycle_figures(prices, "SPY", episodes())
    ax = build_cycle_figure(figures, CYCLE_LABELS).axes[0]
    bars = _bars(ax)
    width = 0.8 / len(tickers)
    # An episode's place among its phase's episodes (in date order): the dots spread evenly across the middle 60%
    # of the bar's slot, whether or not a ticker has a figure for every episode.
    rank = {(name, f): sorted(e[1] for e in EPISODES if e[0] == name).index(f) for name, f, *_ in EPISODES}
    count = {name: sum(e[0] == name for e in EPISODES) for name in PHASE_NAMES}
    for i, (ticker, dots) in enumerate(zip(tickers, ax.collections)):
        expected = [(PHASE_NAMES.index(phase), 100 * expected_relative(prices, ticker, "SPY", f, last),
                     (rank[phase, f] / (count[phase] - 1) - 0.5) * 0.6 * width)
                    for phase, f, last, _, _ in EPISODES]
        shown = [(p, y, spread) for p, y, spread in expected if not math.isnan(y)]
        offsets = dots.get_offsets()
        assert list(offsets[:, 1]) == pytest.approx([y for _, y, _ in shown], abs=1e-9)
        centre = (i - 0.5) * width
        assert list(offsets[:, 0]) == pytest.approx([p + centre + spread for p, _, spread in shown], abs=1e-12)
        for (phase, _, _), (x, _) in zip(shown, offsets):
            bar = bars[ticker][phase]
            assert bar.get_x() <= x <= bar.get_x() + bar.get_width()  # over its own ticker's bar
        # The dots are drawn over the bars, in the bar's colour with a dark rim: each reads as its ticker's, and shows
        # over its own bar.
        assert dots.get_zorder() > bars[ticker][0].get_zorder()
        assert np.allclose(dots.get_facecolor()[0][:3], bars[ticker][0].get_facecolor()[:3])
        assert contrast(dots.get_edgecolor()[0][:3]) >= 7 and dots.get_linewidths()[0] > 0
    (zero,) = ax.get_lines()
    r, g, b, _ = mcolors.to_rgba(zero.get_color())
    assert list(zero.get_ydata()) == [0, 0] and r == g == b and zero.get_zorder() < bars["IWM"][0].get_zorder()
    low, high = ax.get_ylim()
    every = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    assert low < every.min() and every.max() < high  # no dot cut off


def test_a_phase_with_one_episode_draws_its_dot_on_the_bars_centre(prices_dir: Path) -> None:
    prices = read_prices(prices_dir, ["IWM", "SPY"])
    chosen = tuple(e for e in episodes() if e.phase.label == "Recession" or f"{e.first_day}" == "2022-03-16")
    ax = build_cycle_figure(cycle_figures(prices, "SPY", chosen), CYCLE_LABELS).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Recession\n3 episodes", "Hikes\nfirst 12m\n1 episode"]
    assert ax.get_xlim() == pytest.approx((-0.5, 1.5))
    (dots,) = ax.collections
    assert list(dots.get_offsets()[:, 0]) == pytest.approx([-0.24, 0.0, 0.24, 1.0])
    assert ax.get_title(loc="left").endswith("phases 2001-03 to 2023-03")
    two = tuple(e for e in episodes() if e.phase.label == "Hikes, first 12m" and e.first_day.year > 2010)
    ax = build_cycle_figure(cycle_figures(prices, "SPY", two), CYCLE_LABELS).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Hikes\nfirst 12m\n2 episodes"]
    (dots,) = ax.collections
    assert list(dots.get_offsets()[:, 0]) == pytest.approx([-0.24, 0.24])  # two episodes: both ends of the spread


def test_the_chart_names_its_benchmark_dates_and_tickers_in_their_colours(prices_dir: Path) -> None:
    tickers = ["IWM", "IJR", "SMH", "SOXX", "XSD", "QQQ", "MDY", "VB"]  # eight: two legend rows, yellow last
    prices = read_prices(prices_dir, [*tickers, "SPY"])
    fig = build_cycle_figure(cycle_figures(prices, "SPY", episodes()), CYCLE_LABELS)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == ("Return relative to SPY · bar: median · dot: one episode · "
                                        "phases 2000-03 to 2025-09")
    footer = [t.get_text() for t in fig.texts if " → " in t.get_text()]
    assert footer and footer[0].startswith("2000-03-01 → 2025-09-17 (25.5y) · As of 2026-07-14 · Source: CSV folder")
    assert any(t.get_text() == CYCLE_LABELS.title for t in fig.texts)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == tickers
    assert legend._ncols == 4  # two rows of four
    bars = _bars(ax)
    for ticker, patch, text in zip(tickers, legend.get_patches(), legend.get_texts()):
        assert same_colour(patch.get_facecolor(), bars[ticker][0].get_facecolor())
        # Each name in its bar's colour, but yellow, the palette's one colour barely visible on white (contrast
        # 1.3), printed darker; every name at least as legible as the palette's lightest others (2.25).
        if contrast(patch.get_facecolor()[:3]) > 2:
            assert same_colour(text.get_color(), patch.get_facecolor()[:3])
        assert contrast(text.get_color()) >= 2.2
    assert len({bars[t][0].get_facecolor() for t in tickers}) == len(tickers)
    # Top left, under the title, in rows of whole columns (seven tickers: four and three).
    fig.canvas.draw()
    box = extent(legend)
    assert box.x0 == pytest.approx((0.085 - 0.01) * fig.bbox.width, abs=2)
    assert box.y1 == pytest.approx(0.935 * fig.bbox.height, abs=2)
    seven = build_cycle_figure(cycle_figures(prices[[*tickers[:7], "SPY"]], "SPY", episodes()), CYCLE_LABELS)
    assert seven.legends[0]._ncols == 4
    assert all(line.get_visible() for line in ax.yaxis.get_gridlines())  # horizontal rules to read heights by
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.endswith("%") for label in labels)
    assert any(label.startswith("\u2212") for label in labels)  # losses below the zero line, with a true minus
    assert any(line.get_ydata()[0] == 0 for line in ax.get_lines())  # the zero line itself


@pytest.mark.parametrize("tickers", [["IWM"], ["IWM", "SGOV", "XSD"], ["IWM", "IJR", "SMH", "SOXX", "XSD", "QQQ",
                                                                         "MDY", "VB"]])
def test_the_cycle_chart_reads_inside_its_canvas(prices_dir: Path, tickers: list[str]) -> None:
    prices = read_prices(prices_dir, [*tickers, "SPY"])
    figures = cycle_figures(prices, "SPY", episodes())
    fig = build_cycle_figure(figures, dataclasses.replace(CYCLE_LABELS, demo=True))
    assert outside_canvas(fig) == []
    assert too_small(fig) == []
    assert overlapping(solid_texts(fig)) == []
    # Phases are categories, not values: grid lines run across (returns), none down between the bar groups.
    (ax,) = fig.axes
    assert any(line.get_visible() for line in ax.yaxis.get_gridlines())
    assert not any(line.get_visible() for line in ax.xaxis.get_gridlines())
    png = cycle_chart(figures, CYCLE_LABELS)
    assert png.startswith(PNG_SIGNATURE) and len(png) < PLATFORM_FILE_LIMIT
    assert decode(png).shape[:2] == (round(FIGSIZE_IN[1] * 0.8 * DPI), round(FIGSIZE_IN[0] * DPI))
