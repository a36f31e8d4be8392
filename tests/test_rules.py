"""Signal rules (``analysis.rules``) against independent computations on the shared CSV prices.

Each expectation is built here from the CSV text (``tests.expected.closes``) with plain loops or numpy
accumulations, not with the rolling/ewm calls the module uses: the state on the last close, the date of the
last flip, the flips over the last 10 years and the last five flips.
"""

from __future__ import annotations

import bisect
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.rules import (
    PREDEFINED,
    Drawdown,
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
)
from tests.expected import closes, months_back

TICKERS = ("SOXX", "IJR", "SPY", "XSD", "SMH", "IWM", "QQQ")


@pytest.fixture(scope="module")
def frame(prices_dir: Path) -> pd.DataFrame:
    """The CSV closes, a column per ticker on the dates any of them has (the input every rule reads)."""
    table = pd.DataFrame({t: pd.Series(closes(prices_dir, t)) for t in TICKERS})
    return table.set_axis(pd.to_datetime(table.index), axis=0).sort_index()


def subject_series(prices_dir: Path, a: str, b: str = "") -> tuple[list[dt.date], np.ndarray]:
    sa = closes(prices_dir, a)
    if not b:
        days = sorted(sa)
        return days, np.array([sa[d] for d in days])
    sb = closes(prices_dir, b)
    days = sorted(set(sa) & set(sb))
    return days, np.array([sa[d] / sb[d] for d in days])


def sma(values: np.ndarray, n: int) -> np.ndarray:
    total = np.concatenate([[0.0], np.cumsum(values)])
    out = np.full(len(values), np.nan)
    out[n - 1:] = (total[n:] - total[:-n]) / n
    return out


def ema(values: np.ndarray, n: int) -> np.ndarray:
    a, out, level = 2 / (n + 1), np.full(len(values), np.nan), values[0]
    for i, v in enumerate(values):
        level = v if i == 0 else a * v + (1 - a) * level
        if i >= n - 1:
            out[i] = level
    return out


def momentum(days: list[dt.date], values: np.ndarray, months: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, day in enumerate(days):
        j = bisect.bisect_right(days, months_back(day, months)) - 1
        if j >= 0:
            out[i] = values[i] / values[j] - 1
    return out


def drawdown(values: np.ndarray) -> np.ndarray:
    peak, out = -np.inf, np.empty(len(values))
    for i, v in enumerate(values):
        peak = max(peak, v)
        out[i] = v / peak - 1
    return out


def rsi(values: np.ndarray, n: int) -> np.ndarray:
    """Wilder, as in his book: seed with the plain mean of the first n changes, then smooth by 1/n."""
    out = np.full(len(values), np.nan)
    changes = np.diff(values)
    gain = sum(max(c, 0) for c in changes[:n]) / n
    loss = sum(max(-c, 0) for c in changes[:n]) / n
    for i in range(n, len(values)):
        if i > n:
            c = changes[i - 1]
            gain = (gain * (n - 1) + max(c, 0)) / n
            loss = (loss * (n - 1) + max(-c, 0)) / n
        out[i] = 100.0 if loss == 0 else 100 - 100 / (1 + gain / loss)
    return out


def expected(days: list[dt.date], quantity: np.ndarray, threshold: np.ndarray, above: bool) -> dict:
    known = ~np.isnan(quantity) & ~np.isnan(threshold)
    kept = [d for d, k in zip(days, known) if k]
    state = (quantity[known] > threshold[known]) if above else (quantity[known] < threshold[known])
    flips = [(kept[i], bool(state[i])) for i in range(1, len(state)) if state[i] != state[i - 1]]
    last = kept[-1]
    ten_years = last.replace(year=last.year - 10)
    return {"now": bool(state[-1]), "since": flips[-1][0] if flips else kept[0], "last_five": flips[-5:],
            "ten_years": sum(1 for d, _ in flips if d > ten_years), "as_of": last, "ten_years_from": ten_years,
            "gap_inputs": (quantity[known][-1], threshold[known][-1])}


def check(rule: Rule, frame: pd.DataFrame, want: dict) -> None:
    got = evaluate(rule, frame)
    assert got.as_of == want["as_of"]
    assert got.now == want["now"], rule
    assert got.since == want["since"], rule
    assert got.last_flips() == want["last_five"], rule
    assert got.flip_count(want["ten_years_from"]) == want["ten_years"], rule
    quantity, threshold = want["gap_inputs"]
    gap = quantity / threshold - 1 if rule.unit == "price" else quantity - threshold
    assert got.gap == pytest.approx(gap, rel=1e-9, abs=1e-12)


def test_golden_cross_soxx_sma50_above_sma200(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "SOXX")
    want = expected(days, sma(values, 50), sma(values, 200), above=True)
    assert want["ten_years"] >= 4  # a rule that flips: the check below is not vacuous
    check(Rule(Subject("SOXX"), Sma(50), "above", Sma(200)), frame, want)


def test_ratio_momentum_ijr_spy_6m_above_0(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "IJR", "SPY")
    want = expected(days, momentum(days, values, 6), np.zeros(len(values)), above=True)
    assert want["ten_years"] >= 10
    check(Rule(Subject("IJR", "SPY"), Momentum(6, "m"), "above", Level(0.0, percent=True)), frame, want)


def test_drawdown_xsd_below_minus_20(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "XSD")
    want = expected(days, drawdown(values), np.full(len(values), -0.20), above=False)
    assert want["ten_years"] >= 10
    check(Rule(Subject("XSD"), Drawdown(), "below", Level(-20.0, percent=True)), frame, want)


def test_rsi_smh_rsi14_below_30(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "SMH")
    want = expected(days, rsi(values, 14), np.full(len(values), 30.0), above=False)
    assert want["ten_years"] >= 10
    # The last five flips reach back more than 3 years: only full history shows them.
    assert want["last_five"][0][0] < want["as_of"].replace(year=want["as_of"].year - 3)
    check(Rule(Subject("SMH"), Rsi(14), "below", Level(30.0)), frame, want)


def test_ratio_above_its_sma200(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "IWM", "SPY")
    check(Rule(Subject("IWM", "SPY"), Price(), "above", Sma(200)), frame,
          expected(days, values, sma(values, 200), above=True))


def test_price_below_its_ema50(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "QQQ")
    check(Rule(Subject("QQQ"), Price(), "below", Ema(50)), frame, expected(days, values, ema(values, 50), above=False))


def test_price_above_a_level(frame: pd.DataFrame, prices_dir: Path) -> None:
    days, values = subject_series(prices_dir, "SPY")
    want = expected(days, values, np.full(len(values), 600.0), above=True)
    assert want["ten_years"] >= 1
    check(Rule(Subject("SPY"), Price(), "above", Level(600.0)), frame, want)


def test_the_built_in_signals_are_predefined_ratio_rules(frame: pd.DataFrame, prices_dir: Path) -> None:
    for name, a in (("smallcaps", "IWM"), ("semis", "SMH")):
        rule = PREDEFINED[name]
        assert str(rule) == f"{a}/SPY above sma200"
        days, values = subject_series(prices_dir, a, "SPY")
        check(rule, frame, expected(days, values, sma(values, 200), above=True))


def test_rules_sharing_series_compute_each_distinct_series_once(frame: pd.DataFrame) -> None:
    smh = Subject("SMH")
    rules = [Rule(smh, Price(), "above", Sma(200)), Rule(smh, Sma(50), "above", Sma(200)),
             Rule(smh, Price(), "above", Sma(200)), Rule(smh, Rsi(14), "below", Level(30.0))]
    memo: dict = {}
    for rule in rules:
        evaluate(rule, frame, memo)
    assert set(memo) == {(smh, None), (smh, Price()), (smh, Sma(200)), (smh, Sma(50)), (smh, Rsi(14))}
    together = evaluate_all(rules, frame)
    assert list(together) == list(dict.fromkeys(rules))
    assert [together[r].now for r in rules] == [evaluate(r, frame).now for r in rules]


def test_rules_read_back_in_their_own_grammar_and_in_words() -> None:
    cases = {
        Rule(Subject("IWM", "SPY"), Price(), "above", Sma(200)): (
            "IWM/SPY above sma200", "the ratio IWM/SPY is above its 200-day simple average"),
        Rule(Subject("SOXX"), Sma(50), "above", Sma(200)): (
            "SOXX sma50 above sma200", "SOXX's 50-day simple average is above its 200-day simple average"),
        Rule(Subject("SPY"), Price(), "above", Level(600.0)): ("SPY above 600", "SPY is above 600"),
        Rule(Subject("IJR", "SPY"), Momentum(6, "m"), "above", Level(0.0, True)): (
            "IJR/SPY momentum 6m above 0%", "IJR/SPY's 6-month total return is above 0%"),
        Rule(Subject("XSD"), Drawdown(), "below", Level(-20.0, True)): (
            "XSD drawdown below -20%", "XSD's drawdown from the highest close so far is below -20%"),
        Rule(Subject("SMH"), Rsi(14), "below", Level(30.0)): ("SMH rsi14 below 30", "SMH's 14-day RSI is below 30"),
    }
    for rule, (text, words) in cases.items():
        assert (str(rule), rule.words()) == (text, words)


def test_too_little_history_has_no_state(frame: pd.DataFrame) -> None:
    short = frame.iloc[-100:]
    assert not evaluate(Rule(Subject("SPY"), Price(), "above", Sma(200)), short).known
    assert not evaluate(Rule(Subject("SPY"), Rsi(14), "above", Level(70.0)), short.iloc[:10]).known
