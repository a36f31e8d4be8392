"""What building Slack's blocks adds to a warm reply: /compare, /rotation sectors, /backtest (three tables, two charts).

A warm reply comes from the reply cache (``Reply.from_bytes``); the Slack adapter then builds its
blocks (``chat.slack.blocks.reply_blocks``): the sortable ``data_table`` and the two
``data_visualization`` charts, or the older ``table`` block (what Tilt built before).  Timed with
``time.perf_counter`` over many runs, in process, on real prices (the reply is built once, untimed):

* **native blocks**: ``reply_blocks`` with every block type allowed (what a warm reply now costs);
* **table block**: ``reply_blocks`` with only the old ``table`` block (the cost before this change);
* **added**: the difference of the medians, against the target of at most 1 ms;
* **reply from cache**: ``Reply.from_bytes`` of the cached document (now carrying raw numbers and plots).

Prints figures only; it asserts nothing about timings.

    TILT_SHARED_DIR=../shared .venv/bin/python bench/blocks.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from chat.slack.blocks import ALL_KINDS, TABLE, reply_blocks  # noqa: E402
from handlers.common import router  # noqa: E402
from handlers.common.reply import Reply  # noqa: E402
from handlers.common.services import Services  # noqa: E402
from market.cache import Cache  # noqa: E402
from market.cached import CachedMarket  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402

COMMANDS = ("/compare SMH SPY 10y", "/compare SMH SOXX XSD QQQ IWM vs SPY max", "/rotation sectors",
            "/backtest SPY 70 IJR 20 SMH 10 ; SPY 60 IWM 20 SOXX 20 quarterly 10y")
RUNS = 2000
TARGET_ADDED_MS = 1.0


def timed(work, runs: int = RUNS) -> np.ndarray:
    work()
    times = np.empty(runs)
    for i in range(runs):
        started = time.perf_counter()
        work()
        times[i] = time.perf_counter() - started
    return times * 1e3


def main() -> None:
    require_prices()
    services = Services(market=CachedMarket(CsvFolderProvider(PRICES_DIR), Cache(None)), cache=Cache(None))
    print(f"block building per warm reply, in process, {RUNS} runs each (ms)")
    print(f"{'command':44}  {'native p50':>10}  {'p90':>6}  {'table p50':>9}  {'added p50':>9}  {'from cache p50':>14}  target")
    for command in COMMANDS:
        reply = router.run(command, services)
        if reply.is_error:
            sys.exit(f"{command} failed: {reply.text}")
        document, png = reply.to_bytes()
        native = timed(lambda: reply_blocks(reply, kinds=ALL_KINDS))
        old = timed(lambda: reply_blocks(reply, kinds=frozenset({TABLE})))
        cached = timed(lambda: Reply.from_bytes(document, png))
        added = float(np.median(native) - np.median(old))
        verdict = "met" if float(np.median(native)) <= TARGET_ADDED_MS else "MISSED"
        print(f"{command:44}  {np.median(native):10.3f}  {np.percentile(native, 90):6.3f}  {np.median(old):9.3f}  "
              f"{added:9.3f}  {np.median(cached):14.3f}  all blocks <= {TARGET_ADDED_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
