"""Shared fixtures: the real market data the tests carry (tests/data), a real Redis, and the servers' stand-ins."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data"


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
    """The fixture's real daily Adj Close (``tests/data/prices``, see its SOURCES.md) as a folder of plain
    ``<T>.csv`` files, byte for byte the shared folder's rows; named ``prices`` like the shared folder."""
    return unpacked(FIXTURE / "prices", tmp_path_factory.mktemp("fixture") / "prices")


@pytest.fixture(scope="session")
def yahoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's full yfinance columns for nine ETFs, 2014 to 2025-09-29 (``tests/data/yahoo``), unpacked."""
    return unpacked(FIXTURE / "yahoo", tmp_path_factory.mktemp("fixture") / "yahoo")


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
