"""/rotation and /valuation smallcaps on the shared prices, against independently computed rankings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers import router
from handlers.caller import Caller
from handlers.services import Services
from market.cache import Cache
from market.cached import CachedMarket
from market.csvdir import CsvFolderProvider
from store.teamdata import TeamStore
from tests.expected import closes, expected_score

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
CALLER = Caller(platform="slack", team="T9", channel="C9", user="U9")


@pytest.fixture
def services(prices_dir: Path, cache: Cache, store: TeamStore) -> Services:
    return Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: NOW), cache=cache,
                    team_store=store)


def test_size_universe_is_ranked_by_composite_momentum(services: Services, prices_dir: Path) -> None:
    reply = router.run("/rotation", services, CALLER)
    assert not reply.is_error, reply.text
    tickers = ("SPY", "QQQ", "IWM", "IJR", "VB")
    scores = {t: expected_score(prices_dir, t) for t in tickers}
    ranked = sorted(tickers, key=scores.get, reverse=True)
    assert [row[1] for row in reply.table.rows] == ranked
    for row in reply.table.rows:
        assert row[2] == f"{scores[row[1]] * 100:.1f}%"
    assert reply.chart is not None and reply.actions


def test_size_regime_sentence_counts_sessions(services: Services, prices_dir: Path) -> None:
    reply = router.run("/rotation size", services, CALLER)
    iwm, spy = closes(prices_dir, "IWM"), closes(prices_dir, "SPY")
    days = sorted(set(iwm) & set(spy))
    ratio = [iwm[d] / spy[d] for d in days]
    above = [ratio[i] > sum(ratio[i - 199:i + 1]) / 200 for i in range(199, len(ratio))]
    run = next(i for i, side in enumerate(reversed(above)) if side != above[-1])
    side = "leading" if above[-1] else "lagging"
    assert any(note.startswith(f"Small caps (IWM) {side} SPY for {run} sessions") for note in reply.notes), reply.notes


def test_team_universes(services: Services) -> None:
    assert "Universe `megacaps` is now AAPL, MSFT, NVDA" in router.run("/rotation set megacaps aapl msft nvda", services, CALLER).text
    assert "`megacaps`: AAPL, MSFT, NVDA" in router.run("/rotation list", services, CALLER).plain_text()
    ranked = router.run("/rotation megacaps 6m", services, CALLER)
    assert {row[1] for row in ranked.table.rows} == {"AAPL", "MSFT", "NVDA"}
    other_team = Caller(platform="slack", team="T8", channel="C9", user="U9")
    assert router.run("/rotation megacaps", services, other_team).is_error  # universes belong to their team


@pytest.mark.parametrize("text, fragment", [
    ("/rotation nowhere", "no universe `nowhere`"),
    ("/rotation set size SPY", "can't be a universe name"),
    ("/rotation set mine NOPE", "NOPE"),
    ("/rotation sectors 5y", "1m to 2y"),
])
def test_rotation_refusals(services: Services, text: str, fragment: str) -> None:
    reply = router.run(text, services, CALLER)
    assert reply.is_error and fragment in reply.text


def test_valuation_smallcaps_view(services: Services) -> None:
    reply = router.run("/valuation smallcaps", services, CALLER)
    assert reply.text.startswith("*Valuation: S&P 600 (IJR), Russell 2000 (IWM) vs S&P 500 (SPY)*")
    rows = {row[0]: dict(zip(reply.table.columns, row)) for row in reply.table.rows}
    assert rows["IJR"]["P/E vs bench"] == f"{(15.9 / 24.17 - 1) * 100:+.0f}%"
    assert rows["IWM"]["Fwd P/E"] == "25.9x" and rows["SPY"]["Fwd P/E"] == "n/a"
    assert "as of 2025-10-31" in reply.footer and "CSV folder prices" in reply.footer
