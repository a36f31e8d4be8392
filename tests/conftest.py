"""Shared fixtures: where the shared real data lives, and a real Redis for the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TILT_SHARED_DIR", ROOT.parent / "shared"))
PRICES_DIR = SHARED / "data" / "prices"
YAHOO_DIR = SHARED / "data" / "yahoo"


@pytest.fixture(scope="session")
def prices_dir() -> Path:
    """``../shared/data/prices``: real daily Adj Close for 68 tickers (read in place, never copied)."""
    assert (PRICES_DIR / "SPY.csv").exists(), f"shared price data not found at {PRICES_DIR}"
    return PRICES_DIR


@pytest.fixture(scope="session")
def yahoo_dir() -> Path:
    """``../shared/data/yahoo``: full yfinance columns for nine ETFs, 2014 to 2025-09-29."""
    assert (YAHOO_DIR / "SPY.csv").exists(), f"shared yahoo data not found at {YAHOO_DIR}"
    return YAHOO_DIR


# --- Redis --------------------------------------------------------------------------------------

import uuid
from typing import Iterator

import redis as redis_py

from market.cache import Cache, connect
from market.redis_server import EmbeddedRedis
from store.teamdata import TeamStore


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole run: ``REDIS_URL`` when set, else an embedded redis-server we start and stop."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.close()


@pytest.fixture
def redis_client(redis_url: str) -> redis_py.Redis:
    return connect(redis_url)


@pytest.fixture
def key_prefix(redis_client: redis_py.Redis) -> Iterator[str]:
    """A Redis key prefix of the test's own, so tests never see each other's data; its keys go afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def cache(redis_client: redis_py.Redis, key_prefix: str) -> Cache:
    """A ``Cache`` on the real Redis, under the test's own prefix."""
    return Cache(redis_client, prefix=f"{key_prefix}cache:")


@pytest.fixture
def store(redis_client: redis_py.Redis, key_prefix: str) -> TeamStore:
    """Team data on the real Redis, under the test's own prefix."""
    return TeamStore(redis_client, prefix=key_prefix)


# --- Services on the shared CSV prices ----------------------------------------------------------

import datetime as dt

from handlers.common.services import Services
from market.cached import CachedMarket
from market.calendar import NEW_YORK
from market.csvdir import CsvFolderProvider

# The morning after the shared data's last close (2026-07-14).
CSV_NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=NEW_YORK)


@pytest.fixture
def csv_services(prices_dir: Path, cache: Cache, store: TeamStore) -> Services:
    """What the bot runs on with ``--data-dir`` pointing at the shared prices, the morning after their last close,
    with team data on the real Redis."""
    return Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: CSV_NOW), cache=cache,
                    team_store=store)
