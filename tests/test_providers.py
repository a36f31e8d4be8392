"""The CSV-folder and demo providers, and the ``info`` field mapping every provider shares."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from errors import DataUnavailable, UnknownTicker
from market.csvdir import CsvFolderProvider
from market.demo import DemoProvider
from market.provider import BAR_COLUMNS, Fundamentals


def test_info_fields_are_converted_to_fractions() -> None:
    facts = Fundamentals.from_info("SPY", {"netExpenseRatio": 0.0945, "dividendYield": 1.12, "trailingPE": "27.5",
                                          "forwardPE": "n/a", "longName": "SPDR S&P 500"}, as_of=None, source="x")
    assert facts.expense_ratio == pytest.approx(0.000945)
    assert facts.dividend_yield == pytest.approx(0.0112)
    assert facts.trailing_pe == 27.5 and facts.forward_pe is None and facts.name == "SPDR S&P 500"
    fund = Fundamentals.from_info("IJR", {"yield": 0.0141, "annualReportExpenseRatio": 0.0006, "dividendYield": 1.41},
                                  as_of=None, source="x")
    assert (fund.dividend_yield, fund.expense_ratio) == (0.0141, 0.0006)
    assert Fundamentals.from_json(fund.to_json()) == fund


def test_csv_folder_reads_adj_close_only_files(prices_dir: Path) -> None:
    bars = CsvFolderProvider(prices_dir).bars(["BRK-B"], dt.date(2026, 7, 1), dt.date(2026, 7, 31))["BRK-B"]
    raw = pd.read_csv(prices_dir / "BRK-B.csv", index_col="Date", parse_dates=["Date"]).loc["2026-07-01":]
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert bars["Adj Close"].tolist() == raw["Adj Close"].tolist()
    assert bars.index[-1] == pd.Timestamp("2026-07-13") and bars["Close"].isna().all()


def test_csv_folder_reads_full_yfinance_files(yahoo_dir: Path) -> None:
    bars = CsvFolderProvider(yahoo_dir).bars(["IJR"], dt.date(2017, 1, 18), dt.date(2017, 1, 20))["IJR"]
    assert bars.loc["2017-01-19", "Stock Splits"] == 2.0
    assert bars["Volume"].notna().all()


def test_csv_folder_errors(tmp_path: Path, prices_dir: Path) -> None:
    with pytest.raises(UnknownTicker, match="NOPE, ZZZ"):
        CsvFolderProvider(prices_dir).bars(["SPY", "NOPE", "ZZZ"], dt.date(2020, 1, 1), dt.date(2020, 2, 1))
    (tmp_path / "BAD.csv").write_text("Date,Close\n2020-01-02,1\n")
    with pytest.raises(DataUnavailable, match="no 'Adj Close'"):
        CsvFolderProvider(tmp_path).bars(["BAD"], dt.date(2020, 1, 1), dt.date(2020, 2, 1))
    with pytest.raises(DataUnavailable, match="does not exist"):
        CsvFolderProvider(tmp_path / "missing")


def test_csv_folder_picks_up_a_rewritten_file(tmp_path: Path) -> None:
    path = tmp_path / "ABC.csv"
    path.write_text("Date,Adj Close\n2020-01-02,1.0\n")
    provider = CsvFolderProvider(tmp_path)
    assert len(provider.bars(["ABC"], dt.date(2020, 1, 1), dt.date(2020, 12, 31))["ABC"]) == 1
    path.write_text("Date,Adj Close\n2020-01-02,1.0\n2020-01-03,1.1\n")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert len(provider.bars(["ABC"], dt.date(2020, 1, 1), dt.date(2020, 12, 31))["ABC"]) == 2


def test_a_row_without_adj_close_is_no_bar(tmp_path: Path) -> None:
    # A source's row with a close but no adjusted close (Yahoo's newest bar at times): no price to compute with.
    (tmp_path / "GAP.csv").write_text("Date,Close,Adj Close\n2020-01-02,1.0,1.0\n2020-01-03,1.1,\n2020-01-06,1.2,1.2\n")
    bars = CsvFolderProvider(tmp_path).bars(["GAP"], dt.date(2020, 1, 1), dt.date(2020, 1, 31))["GAP"]
    assert list(bars.index) == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-06")]
    assert bars["Adj Close"].tolist() == [1.0, 1.2]


def test_demo_market_is_deterministic_and_bounded() -> None:
    one = DemoProvider(today=dt.date(2026, 7, 15)).bars(["SMH", "SPY"], dt.date(2016, 1, 1), dt.date(2026, 7, 15))
    two = DemoProvider(today=dt.date(2026, 7, 15)).bars(["SMH", "SPY"], dt.date(2016, 1, 1), dt.date(2026, 7, 15))
    pd.testing.assert_frame_equal(one["SMH"], two["SMH"])
    assert not one["SMH"]["Adj Close"].equals(one["SPY"]["Adj Close"])
    assert one["SPY"].index[-1] == pd.Timestamp("2026-07-15")
    with pytest.raises(UnknownTicker, match="NVDA"):
        DemoProvider().bars(["NVDA"], dt.date(2020, 1, 1), dt.date(2020, 2, 1))
