"""Shared fixtures: the real market data the tests carry (tests/data), a real Redis, the services a command
runs on, and the running Tilt apps with the stand-ins for Slack's and Discord's APIs."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest
import redis as redis_py

from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.calendar import NEW_YORK
from market.csvdir import CsvFolderProvider
from market.redis_server import EmbeddedRedis
from store.teamdata import TeamStore
from tests.discord_app import BOT_TOKEN, DiscordTilt, SlackAndDiscordTilt
from tests.discord_standin import DiscordStandIn
from tests.doubles import Clock, Recording
from tests.servers import ROOT
from tests.slack_app import Tilt
from tests.slack_standin import SlackStandIn

FIXTURE = ROOT / "tests" / "data"
DATA_NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=NEW_YORK)  # the morning after the data's last close, 2026-07-14


def unpacked(source: Path, target: Path) -> Path:
    """``source``'s files copied into ``target``, each ``<T>.csv.gz`` decompressed to ``<T>.csv``."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.name.endswith(".csv.gz"):
            (target / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
        else:
            shutil.copy(path, target)
    return target


@pytest.fixture(scope="session")
def prices_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's real daily Adj Close (``tests/data/prices``, see tests/data/SOURCES.md) as a folder of plain
    ``<T>.csv`` files, the fixture's rows byte for byte, in a folder named ``prices`` like the shared one."""
    return unpacked(FIXTURE / "prices", tmp_path_factory.mktemp("fixture") / "prices")


@pytest.fixture(scope="session")
def yahoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's full yfinance columns for nine ETFs, 2014 to 2025-09-29 (``tests/data/yahoo``), unpacked."""
    return unpacked(FIXTURE / "yahoo", tmp_path_factory.mktemp("fixture") / "yahoo")


# --- Redis --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole run: ``REDIS_URL`` when set, else an embedded redis-server we start and stop."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield own_database(configured)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.close()


def own_database(url: str) -> str:
    """``url`` with a Redis database of this pytest-xdist worker's own (worker ``gwN`` takes database N + 1):
    each worker runs Tilt processes of its own, and their job queues, named alike, must not meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return url
    return urlunsplit(urlsplit(url)._replace(path=f"/{int(worker.removeprefix('gw')) + 1}"))


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


# --- what a command runs on ---------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    """The commands' "now": ``DATA_NOW`` until the test moves it."""
    return Clock(DATA_NOW)


@pytest.fixture
def recording(prices_dir: Path) -> Recording:
    """The fixture's prices, through a provider that records every call."""
    return Recording(CsvFolderProvider(prices_dir))


def services_for(provider, cache: Cache, store: TeamStore | None = None,
                 clock: Callable[[], dt.datetime] = lambda: DATA_NOW) -> Services:
    """What a command runs on: ``provider`` cached in ``cache``, team data in ``store``, "now" from ``clock``."""
    return Services(market=CachedMarket(provider, cache, now=clock), cache=cache, team_store=store)


@pytest.fixture
def services(recording: Recording, cache: Cache, store: TeamStore, clock: Clock) -> Services:
    """The fixture's prices cached in the test's Redis, its team data, and ``clock``."""
    return services_for(recording, cache, store, clock)


# --- Tilt running, and the stand-ins it talks to ----------------------------------------------------


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    """Slack's Web API, one per test module (as long as the module's running Tilt)."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def fresh_slack() -> Iterator[SlackStandIn]:
    """Slack's Web API for one test alone, for a test that counts every call made to it."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def discord() -> Iterator[DiscordStandIn]:
    with DiscordStandIn(bot_token=BOT_TOKEN) as standin:
        yield standin


@pytest.fixture(scope="module")
def recent_prices(prices_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few tickers of the fixture's prices moved forward by whole weeks so the last close is within the past
    week (``/call`` takes today's closes as entry; the data ends months ago).  Weekdays are kept."""
    folder = tmp_path_factory.mktemp("recent-prices")
    last = pd.read_csv(prices_dir / "SPY.csv", usecols=["Date"], parse_dates=["Date"])["Date"].max()
    weeks = (pd.Timestamp(dt.date.today()) - last).days // 7
    for ticker in ("SPY", "IJR", "IWM", "SMH", "VTI", "QQQ"):
        frame = pd.read_csv(prices_dir / f"{ticker}.csv", parse_dates=["Date"])
        frame["Date"] = (frame["Date"] + pd.Timedelta(weeks=weeks)).dt.strftime("%Y-%m-%d")
        frame.to_csv(folder / f"{ticker}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def served_prices(prices_dir: Path) -> Path:
    """The CSV folder ``both_tilt`` serves (a module may serve ``recent_prices`` instead)."""
    return prices_dir


@pytest.fixture(scope="module")
def tilt(slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path_factory) -> Iterator[Tilt]:
    """Tilt's Slack app (serve and a worker) on the session's Redis."""
    server = Tilt(slack, redis_url, prices_dir, tmp_path_factory.mktemp("tilt"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def discord_tilt(discord: DiscordStandIn, redis_url: str, prices_dir: Path, tmp_path_factory) -> Iterator[DiscordTilt]:
    """Tilt with only Discord configured, on the session's Redis."""
    server = DiscordTilt(discord, redis_url, prices_dir, tmp_path_factory.mktemp("tilt-discord"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def both_tilt(slack: SlackStandIn, discord: DiscordStandIn, redis_url: str, served_prices: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackAndDiscordTilt]:
    """Tilt answering Slack and Discord on one process pair, on the session's Redis (no other Tilt runs beside
    it there: workers share the queue name)."""
    server = SlackAndDiscordTilt(slack, discord, redis_url, served_prices, tmp_path_factory.mktemp("tilt-both"))
    yield server
    server.stop()
