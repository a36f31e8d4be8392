"""Rebuild the tests' data fixture in ``tests/data`` from the shared real data, or check it is equal to it.

    .venv/bin/python tests/data/build.py           rewrite tests/data from ../shared/data ($TILT_SHARED_DIR/data)
    .venv/bin/python tests/data/build.py --check   exit 1 unless tests/data holds exactly what a rebuild would write
    ./tilt fixture [--check]                       the same

The fixture is never edited by hand; ``SOURCES.md`` (written here too) lists every file with its rows and dates.

* ``prices/<T>.csv.gz``: the shared ``data/prices/<T>.csv`` rows, copied as text byte for byte: the whole file
  for the tickers in ``WHOLE`` (every ticker the tests read), and its rows from ``TAIL_FROM`` on for every other
  shared ticker, so each ticker the shared folder knows is known here too, with the two years /watchlist and
  /rotation look back over.
* ``prices/fundamentals.json``: the shared file, whole.
* ``yahoo/<T>.csv.gz``: the shared ``data/yahoo/<T>.csv`` files, whole (what the Yahoo stand-in serves).

gzip (header time 0) because pandas and Tilt's CSV provider read ``.csv.gz`` directly. The check compares the
decompressed text, not the compressed bytes, which differ between zlib builds. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Every ticker the tests read, kept whole: the commands' own universes (size, sectors, semis), the tickers tests
# name, and those the commands under way read over their full history (/cycle, /signal, /tilt and its BIL rate).
WHOLE = frozenset({
    "SPY", "QQQ", "IWM", "IJR", "VB", "SMH", "SOXX", "XSD",
    "XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY",
    "AAPL", "MSFT", "NVDA", "TSLA", "BRK-B", "DIA", "VTI", "GLD", "TLT", "SGOV", "AGG", "BIL", "IVV",
})
TAIL_FROM = "2024-07-01"
GZ = ".csv.gz"


def shared_data() -> Path:
    """``$TILT_SHARED_DIR/data``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("TILT_SHARED_DIR", ROOT.parent / "shared")) / "data"


def missing_from(shared: Path) -> list[str]:
    """The shared inputs the build needs that are absent (empty when it can run)."""
    needed = [shared / "prices" / "SPY.csv", shared / "prices" / "fundamentals.json", shared / "yahoo" / "SPY.csv"]
    return [str(path) for path in needed if not path.is_file()]


def kept_rows(text: bytes, ticker: str) -> bytes:
    """The header and the rows of ``ticker``'s shared prices that the fixture keeps (see the module docstring)."""
    lines = text.splitlines(keepends=True)
    if ticker in WHOLE:
        return text
    return b"".join([lines[0], *(line for line in lines[1:] if line[:10].decode() >= TAIL_FROM)])


def expected_files(shared: Path) -> dict[str, bytes]:
    """Each fixture file's path under tests/data and its (decompressed) content, as a rebuild writes them."""
    files = {f"prices/{path.stem}{GZ}": kept_rows(path.read_bytes(), path.stem)
             for path in sorted((shared / "prices").glob("*.csv"))}
    files["prices/fundamentals.json"] = (shared / "prices" / "fundamentals.json").read_bytes()
    files |= {f"yahoo/{path.stem}{GZ}": path.read_bytes() for path in sorted((shared / "yahoo").glob("*.csv"))}
    files["SOURCES.md"] = sources(files).encode()
    return files


def fixture_files(folder: Path = HERE) -> dict[str, bytes]:
    """What ``folder`` holds now, in the shape of ``expected_files`` (the csv.gz files decompressed)."""
    paths = [p for sub in ("prices", "yahoo") for p in sorted((folder / sub).glob("*")) if p.is_file()]
    paths += [folder / "SOURCES.md"] if (folder / "SOURCES.md").is_file() else []
    return {str(p.relative_to(folder)): gzip.decompress(p.read_bytes()) if p.name.endswith(GZ) else p.read_bytes()
            for p in paths}


def differences(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """One line per file that is missing, extra or different."""
    return ([f"missing: {name}" for name in sorted(expected.keys() - actual.keys())]
            + [f"not from the shared data: {name}" for name in sorted(actual.keys() - expected.keys())]
            + [f"differs from the shared data: {name}" for name in sorted(expected.keys() & actual.keys())
               if expected[name] != actual[name]])


def write(files: dict[str, bytes], folder: Path = HERE) -> None:
    """Replace the fixture in ``folder`` by ``files``, deleting any file a rebuild would not write."""
    for stale in fixture_files(folder).keys() - files.keys():
        (folder / stale).unlink()
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(content, compresslevel=9, mtime=0) if name.endswith(GZ) else content)


def sources(files: dict[str, bytes]) -> str:
    """SOURCES.md: where the fixture comes from and, file by file, what it holds."""
    rows = []
    for name, content in files.items():
        if name.endswith(GZ):
            lines = content.decode().splitlines()
            kept = "whole" if name.startswith("yahoo/") or Path(name).name[:-len(GZ)] in WHOLE else f"from {TAIL_FROM}"
            rows.append(f"| `{name}` | {len(lines) - 1} | {lines[1][:10]} | {lines[-1][:10]} | {kept} |")
    return "\n".join([
        "# The tests' data fixture: where it comes from",
        "",
        "Written by `tests/data/build.py` (`./tilt fixture`) from the shared real data (`../shared/data`, or",
        "`$TILT_SHARED_DIR/data`); never edited by hand. `./tilt fixture --check` (and `tests/test_fixture.py`",
        "when the shared folder is present) proves every file equal to the rows it came from.",
        "",
        "- `prices/`: real daily adjusted closes (`Date,Adj Close`, as Yahoo Finance publishes them), copied row",
        "  for row from the shared `data/prices/`, which copied them from the public GitHub repository",
        "  `dsturdy/Factor_Attribution_5_csvs` (commit a206574f380c69cb147d5900c6115d54c74ce8d0, files",
        "  `data/<TICKER>.csv`). The tickers the tests read are whole (first listed date to 2026-07-13 or",
        f"  2026-07-14); every other ticker of the shared folder keeps its rows from {TAIL_FROM} on.",
        "  `fundamentals.json`: a few P/E figures with their source and date (see its `_note`), copied whole.",
        "- `yahoo/`: full yfinance columns (Open, High, Low, Close, Adj Close, Volume, Dividends, Stock Splits)",
        "  for nine ETFs, 2014 to 2025-09-29, copied whole from the shared `data/yahoo/`, which copied them from",
        "  the public GitHub repository `sheep-farm/assets-data` (commits 95522cc24f526d5ea242a504f7329ad3339aa9c5",
        "  and 02056fa1626760eed05c49591fccef71eafd457a); the Yahoo stand-in (`tests/yahoo_standin.py`) serves them.",
        "",
        "The shared folders' own `SOURCES.md` give the checks made when copying from GitHub. Files are gzip",
        "CSV, read directly by pandas and by Tilt's CSV provider (`--data-dir tests/data/prices`).",
        "",
        "| file | rows | first | last | kept |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare tests/data with a rebuild; write nothing")
    check = parser.parse_args(argv).check
    shared = shared_data()
    if missing := missing_from(shared):
        print(f"shared data not found: {', '.join(missing)} (set TILT_SHARED_DIR to the shared folder)",
              file=sys.stderr)
        return 2
    files = expected_files(shared)
    if not check:
        write(files)
    problems = differences(files, fixture_files())
    print("\n".join(problems) or f"tests/data: {len(files)} files equal to {shared}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
