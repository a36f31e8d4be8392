"""The data fixture in tests/data: equal to the shared rows it came from, within its size budget, read by Tilt."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from market.csvdir import CsvFolderProvider
from tests.data.build import HERE as FIXTURE
from tests.data.build import differences, expected_files, fixture_files, missing_from, shared_data, sources

BUDGET = 3_000_000  # bytes: issue 24's "at most 3 MB"


def test_the_fixture_equals_the_shared_rows_it_came_from() -> None:
    shared = shared_data()
    if missing := missing_from(shared):
        pytest.skip(f"shared data not found: {', '.join(missing)} (set TILT_SHARED_DIR to the shared folder)")
    assert differences(expected_files(shared), fixture_files()) == []
    for packed in sorted(FIXTURE.glob("*/*.csv.gz")):
        rows = gzip.decompress(packed.read_bytes()).splitlines()
        source = (shared / packed.parent.name / packed.name.removesuffix(".gz")).read_bytes().splitlines()
        assert rows[0] == source[0], packed  # the same header
        assert rows[1:] == source[len(source) - len(rows) + 1:], packed  # the source's rows, up to its last one


def test_sources_md_lists_every_file_the_fixture_holds() -> None:
    files = fixture_files()
    listed = files.pop("SOURCES.md").decode()
    assert listed == sources(files)


def test_the_fixture_fits_in_three_megabytes() -> None:
    size = sum(path.stat().st_size for path in FIXTURE.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    assert size <= BUDGET, f"tests/data holds {size} bytes"


def test_the_csv_provider_reads_the_compressed_fixture_as_its_csv_text(prices_dir: Path) -> None:
    provider = CsvFolderProvider(FIXTURE / "prices")
    bars = provider.bars(["SPY", "AMZN"], dt.date(1990, 1, 1), dt.date(2026, 12, 31))
    for ticker in ("SPY", "AMZN"):
        text = pd.read_csv(prices_dir / f"{ticker}.csv", index_col="Date", parse_dates=["Date"])["Adj Close"]
        assert bars[ticker]["Adj Close"].tolist() == text.tolist()
        assert list(bars[ticker].index) == list(text.index)
    written = json.loads((FIXTURE / "prices" / "fundamentals.json").read_text())
    assert {t: provider.fundamentals([t])[t].trailing_pe for t in ("IJR", "SPY")} == {
        t: written[t]["trailingPE"] for t in ("IJR", "SPY")}
