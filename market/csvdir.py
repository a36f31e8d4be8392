"""A folder of yfinance-format CSV files as a market-data source.

Layout: ``<TICKER>.csv`` (or gzip-compressed ``<TICKER>.csv.gz``) per ticker
with yfinance's column names, where only ``Date`` and ``Adj Close`` are
required (``tests/data/prices`` is such a folder), plus an optional
``fundamentals.json`` keyed by ticker with yfinance ``info`` field names and an optional top-level ``as_of`` date.

Files are parsed once and kept in memory, keyed by their modification time, so
a folder that is refreshed in place is picked up without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pandas as pd

from errors import DataUnavailable, UnknownTicker
from market.provider import Fundamentals, normalise_bars


class CsvFolderProvider:
    """Reads ``<TICKER>.csv`` files from ``folder``; see the module docstring for the format."""

    is_demo = False
    bills = "BIL"  # its file may be missing: then no T-bill data, and replies say so

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataUnavailable(f"The market data folder {self.folder} does not exist.")
        self.name = f"CSV folder {self.folder.name}"
        self.key = f"csv:{self.folder.resolve()}"
        self._frames: dict[str, tuple[float, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def bars(self, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
        missing = [t for t in tickers if not self._path(t).is_file()]
        if missing:
            raise UnknownTicker(missing, source=self.name)
        window = slice(pd.Timestamp(start), pd.Timestamp(end))
        return {t: self._read(t).loc[window] for t in tickers}

    def fundamentals(self, tickers: list[str]) -> dict[str, Fundamentals]:
        missing = [t for t in tickers if not self._path(t).is_file()]
        if missing:
            raise UnknownTicker(missing, source=self.name)
        table = self._fundamentals_table()
        as_of = table.get("as_of")
        as_of_date = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else None
        return {
            t: Fundamentals.from_info(t, table.get(t, {}), as_of=as_of_date, source=self.name)
            for t in tickers
        }

    def _path(self, ticker: str) -> Path:
        plain = self.folder / f"{ticker}.csv"
        return plain if plain.is_file() else self.folder / f"{ticker}.csv.gz"  # pandas reads either

    def _read(self, ticker: str) -> pd.DataFrame:
        path = self._path(ticker)
        mtime = path.stat().st_mtime
        with self._lock:
            cached = self._frames.get(ticker)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            raw = pd.read_csv(path, index_col="Date", parse_dates=["Date"])
        except (ValueError, OSError, EOFError) as error:  # EOFError: a truncated .csv.gz
            raise DataUnavailable(f"{path.name} in {self.name} could not be read ({error}).") from error
        if "Adj Close" not in raw.columns:
            raise DataUnavailable(f"{path.name} in {self.name} has no 'Adj Close' column.")
        frame = normalise_bars(raw)
        with self._lock:
            self._frames[ticker] = (mtime, frame)
        return frame

    def _fundamentals_table(self) -> dict:
        path = self.folder / "fundamentals.json"
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (ValueError, OSError) as error:
            raise DataUnavailable(f"fundamentals.json in {self.name} could not be read ({error}).") from error
