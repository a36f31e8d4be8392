"""Signal rules (``analysis.rules``) on small constructed series whose every figure is worked out by hand here.

The tests on real prices (test_rules.py) check the last state and the recent flips of long histories, where
an indicator's seeding and its first defined close have long been forgotten; these check exactly those: on
which close each indicator starts, its first values, calendar arithmetic at month ends, ties, the close an
alert fires on, and how a rule reads back.
"""

from __future__ import annotations

import datetime as dt
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from analysis.rules import (
    Ema,
    Level,
    Momentum,
    Price,
    Rsi,
    Rule,
    Sma,
    Subject,
    evaluate,
    evaluate_all,
    ratio_rule,
)

X = Subject("X")


def table(values: list[float], start: str = "2024-01-01", freq: str = "B") -> pd.DataFrame:
    """Closes of ticker X on consecutive days (``B``: weekdays, from Monday 1 January 2024 by default)."""
    return pd.DataFrame({"X": np.asarray(values, dtype="float64")},
                        index=pd.date_range(start, periods=len(values), freq=freq))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_ema_is_seeded_with_the_first_close_and_defined_from_the_nth_close() -> None:
    prices = table([1, 4, 1, 4, 1, 4])
    got = evaluate(Rule(X, Price(), "above", Ema(3)), prices)
    # a = 2 / (3 + 1) = 1/2, E_0 = 1: E = 1, 2.5, 1.75, 2.875, 1.9375, 2.96875; undefined before the 3rd close.
    assert list(got.dates) == list(prices.index[2:])
    assert got.thresholds.tolist() == pytest.approx([1.75, 2.875, 1.9375, 2.96875], rel=1e-12)
    assert got.states.tolist() == [False, True, False, True]


def test_weekly_momentum_reaches_back_whole_weeks_from_its_first_close() -> None:
    # Weekdays Mon 1 .. Fri 19 January 2024, 10 a day more each close: two weeks back is 10 closes back.
    prices = table([100 + 10 * i for i in range(15)])
    got = evaluate(Rule(X, Momentum(2, "w"), "above", Level(95.0, percent=True)), prices)
    assert got.dates[0].date() == day("2024-01-15")  # 14 days after the first close, 1 January
    assert got.quantities.tolist() == pytest.approx([(100 + 10 * i) / (100 + 10 * (i - 10)) - 1
                                                     for i in range(10, 15)], rel=1e-12)
    assert got.states.tolist() == [True, False, False, False, False]  # +100%, then 210/110 - 1 = 90.9%, 83.3%...


def test_monthly_momentum_clamps_to_the_end_of_a_shorter_month_and_starts_on_the_first_close() -> None:
    prices = table([100 + i for i in range(90)], start="2023-01-01", freq="D")  # every day, 1 Jan .. 31 Mar 2023

    def close(d: dt.date) -> float:
        return 100 + (d - day("2023-01-01")).days

    got = evaluate(Rule(X, Momentum(1, "m"), "above", Level(0.0, percent=True)), prices).quantity
    assert got.index[0].date() == day("2023-02-01")  # a month after the first close, which is its base
    bases = {"2023-02-01": "2023-01-01", "2023-03-03": "2023-02-03", "2023-03-28": "2023-02-28",
             "2023-03-29": "2023-02-28", "2023-03-31": "2023-02-28", "2023-02-28": "2023-01-28"}
    for on, base in bases.items():
        assert got[pd.Timestamp(on)] == pytest.approx(close(day(on)) / close(day(base)) - 1, rel=1e-12), on


def test_yearly_momentum_takes_the_last_close_on_or_before_the_same_day_a_year_earlier() -> None:
    dates = pd.bdate_range("2023-01-02", "2024-03-01")  # weekdays from Monday 2 January 2023
    first = dates[0].date()
    prices = pd.DataFrame({"X": [100.0 + (d.date() - first).days for d in dates]}, index=dates)

    def close(d: dt.date) -> float:
        return 100.0 + (d - first).days

    got = evaluate(Rule(X, Momentum(1, "y"), "below", Level(0.0, percent=True)), prices).quantity
    # 1 January 2024 looks back to Sunday 1 January 2023, before the first close: no value yet.
    assert got.index[0].date() == day("2024-01-02")
    bases = {"2024-01-02": "2023-01-02", "2024-01-15": "2023-01-13",  # Sunday 15 January 2023: the Friday before
             "2024-02-29": "2023-02-28", "2024-03-01": "2023-03-01"}  # a leap day looks back to 28 February
    for on, base in bases.items():
        assert got[pd.Timestamp(on)] == pytest.approx(close(day(on)) / close(day(base)) - 1, rel=1e-12), on


RSI_PRICES = [10, 11, 12, 11, 13, 13, 12, 15]  # changes +1 +1 -1 +2 0 -1 +3


def test_rsi_is_seeded_with_the_mean_of_the_first_n_changes_then_smoothed_by_one_nth() -> None:
    prices = table(RSI_PRICES)
    got = evaluate(Rule(X, Rsi(3), "above", Level(60.0)), prices)
    # Average gain G and loss L (N = 3): seeded on the 4th close with the mean of the first 3 changes,
    # G = (1 + 1 + 0) / 3, L = (0 + 0 + 1) / 3; then G += (U - G) / 3 and L += (D - L) / 3 on every close.
    averages = [(Fraction(2, 3), Fraction(1, 3)),      # seed
                (Fraction(10, 9), Fraction(2, 9)),     # +2
                (Fraction(20, 27), Fraction(4, 27)),   # 0
                (Fraction(40, 81), Fraction(35, 81)),  # -1
                (Fraction(323, 243), Fraction(70, 243))]  # +3
    want = [float(100 - 100 / (1 + g / loss)) for g, loss in averages]  # 66.7, 83.3, 83.3, 53.3, 82.2
    assert list(got.dates) == list(prices.index[3:])
    assert got.quantities.tolist() == pytest.approx(want, rel=1e-12)
    assert got.states.tolist() == [True, True, True, False, True]


def test_rsi_needs_n_changes_before_its_first_value() -> None:
    rule = Rule(X, Rsi(3), "above", Level(60.0))
    assert not evaluate(rule, table(RSI_PRICES[:3])).known  # 3 closes: 2 changes
    four = evaluate(rule, table(RSI_PRICES[:4]))
    assert (four.known, four.as_of, four.quantities.tolist()) == (True, day("2024-01-04"), [pytest.approx(200 / 3)])


def test_rsi_is_100_without_losses_and_50_without_any_change_and_warns_of_nothing() -> None:
    rule = Rule(X, Rsi(3), "above", Level(70.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the divisions by a zero average loss are expected, not news for the log
        rising = evaluate(rule, table([10, 10.5, 11, 11.5, 12]))  # gains of 0.5, no loss
        flat = evaluate(rule, table([10, 10, 10, 10, 10]))
    assert rising.quantities.tolist() == [100.0, 100.0]
    assert flat.quantities.tolist() == [50.0, 50.0]
    assert (rising.now, flat.now) == (True, False)


def test_a_tie_with_the_threshold_holds_neither_above_nor_below() -> None:
    prices = table([9, 10, 11])
    above = evaluate(Rule(X, Price(), "above", Level(10.0)), prices)
    below = evaluate(Rule(X, Price(), "below", Level(10.0)), prices)
    assert (above.states.tolist(), below.states.tolist()) == ([False, False, True], [True, False, False])


def test_flips_are_dated_and_counted_after_a_day() -> None:
    got = evaluate(Rule(X, Price(), "above", Level(10.0)), table([9, 11, 9, 11]))  # Mon 1 .. Thu 4 January
    assert got.last_flips() == [(day("2024-01-02"), True), (day("2024-01-03"), False), (day("2024-01-04"), True)]
    assert got.last_flips(2) == [(day("2024-01-03"), False), (day("2024-01-04"), True)]
    assert [got.flip_count(day(d)) for d in ("2023-12-31", "2024-01-01", "2024-01-02", "2024-01-04")] == [3, 3, 2, 0]
    assert (got.now, got.since, got.sessions) == (True, day("2024-01-04"), 1)


# Mon 1 .. Fri 5, Mon 8 .. Wed 10 January 2024; above 10 on 1, 3, 9 and 10 January.
ALERT_PRICES = [11, 9, 11, 9, 9, 9, 11, 11]


def test_an_alert_fires_on_the_first_close_after_the_day_it_was_set_on_which_the_rule_held() -> None:
    got = evaluate(Rule(X, Price(), "above", Level(10.0)), table(ALERT_PRICES))
    fires = {"2023-12-29": day("2024-01-01"),  # set before the data: the first close that holds
             "2024-01-01": day("2024-01-03"),  # held on the day it was set: that close is not "after"
             "2024-01-03": day("2024-01-09"),
             "2024-01-06": day("2024-01-09"),  # set on a Saturday
             "2024-01-09": day("2024-01-10"),
             "2024-01-10": None}  # nothing after the last close yet
    assert {on: got.first_held_after(day(on)) for on in fires} == fires


def test_an_evaluation_since_a_date_keeps_every_figure_of_the_closes_from_that_date() -> None:
    rule = Rule(X, Price(), "above", Level(10.0))
    whole = evaluate(rule, table(ALERT_PRICES))
    weekend = whole.since_date(pd.Timestamp("2024-01-06"))  # a Saturday: from the Monday after
    assert weekend.rule == rule
    assert [d.date() for d in weekend.dates] == [day("2024-01-08"), day("2024-01-09"), day("2024-01-10")]
    assert (weekend.quantities.tolist(), weekend.thresholds.tolist(), weekend.states.tolist()) == (
        [9.0, 11.0, 11.0], [10.0, 10.0, 10.0], [False, True, True])
    on_a_close = whole.since_date(pd.Timestamp("2024-01-03"))
    assert (on_a_close.dates[0].date(), on_a_close.quantities[0], len(on_a_close.states)) == (day("2024-01-03"), 11.0, 6)


def test_a_ratio_of_tickers_without_a_common_close_has_no_state() -> None:
    dates = pd.bdate_range("2024-01-01", periods=6)
    closes = pd.DataFrame({"A": [1.0, 2.0, 3.0, np.nan, np.nan, np.nan],
                           "B": [np.nan, np.nan, np.nan, 1.0, 2.0, 3.0]}, index=dates)
    got = evaluate(Rule(Subject("A", "B"), Price(), "above", Level(1.0)), closes)
    assert not got.known
    assert len(got.dates) == 0


def test_a_close_where_the_quantity_is_undefined_has_no_state_and_makes_no_flip() -> None:
    # A source that reports 0 for a missing close (a bad tick) on Mondays 8 and 15 January: the weekly return
    # on the 15th is 0/0, undefined; on the 22nd it is x/0, infinite, still above the threshold.
    values = [100.0 + i for i in range(16)]  # weekdays Mon 1 .. Mon 22 January 2024
    values[5] = values[10] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        got = evaluate(Rule(X, Momentum(1, "w"), "above", Level(0.0, percent=True)), table(values))
    assert pd.Timestamp("2024-01-15") not in got.dates
    assert len(got.dates) == 10  # 8 .. 22 January, but the 15th
    assert got.last_flips() == [(day("2024-01-09"), True)]  # 8th: 0/100 - 1 = -100%, then 106/101 - 1 > 0
    assert (got.now, got.since, got.sessions) == (True, day("2024-01-09"), 9)


def test_rules_evaluated_together_share_the_series_they_have_in_common() -> None:
    prices = table([1, 4, 1, 4, 1, 4])
    crossing, price = Rule(X, Sma(2), "below", Sma(3)), Rule(X, Price(), "above", Sma(3))
    together = evaluate_all([crossing, price], prices)
    # One 3-day average computed once: both evaluations' thresholds are views of the same array.
    assert np.shares_memory(together[crossing].thresholds, together[price].thresholds)
    # (1+4+1)/3 = 2 and (4+1+4)/3 = 3 in turn; the 2-day average is 2.5 throughout.
    assert together[price].thresholds.tolist() == pytest.approx([2.0, 3.0, 2.0, 3.0], rel=1e-12)
    assert together[crossing].states.tolist() == [False, True, False, True]


def test_the_built_in_signal_rule_is_a_ratio_above_its_200_day_average() -> None:
    assert ratio_rule("IWM", "SPY") == Rule(Subject("IWM", "SPY"), Price(), "above", Sma(200))
    assert str(ratio_rule("SMH", "QQQ", 50)) == "SMH/QQQ above sma50"


def test_a_level_reads_back_as_written_to_its_last_digit() -> None:
    assert str(Rule(Subject("IWM", "SPY"), Price(), "above", Level(0.8512345))) == "IWM/SPY above 0.8512345"
    # Whole numbers without a trailing ".0", however large (a %g format would write 1.23457e+06 for the last).
    written = {Level(600.0): "600", Level(-20.0, percent=True): "-20%", Level(1234567.0): "1234567",
               Level(0.1): "0.1", Level(5e-07): "5e-07"}
    assert {level: str(level) for level in written} == written
    assert all(float(text.removesuffix("%")) == level.value for level, text in written.items())


def test_a_rule_against_the_price_reads_as_a_sentence() -> None:
    rule = Rule(X, Sma(50), "below", Price())
    assert (str(rule), rule.words()) == ("X sma50 below price", "X's 50-day simple average is below the price")
