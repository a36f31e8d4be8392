"""/tilt speed: a one-destination sweep and a 4 x 3 grid, cold with their charts, and a warm reply.

* **cold /tilt SPY IJR 0-40 10y** (5 portfolios, chart): ``handlers.common.router.run`` on an empty Redis
  prefix and a fresh CSV provider each run (target p50 <= 400 ms).
* **cold /tilt SPY IJR 0-30 SMH 0-20 10y** (a 4 x 3 grid, 12 portfolios, heatmap): the same (target p50 <= 1 s).
* **warm reply**: the first command again, the finished reply from Redis (target p50 <= 2 ms).

Redis: ``REDIS_URL`` when set, otherwise an embedded redis-server, stopped at the end; the keys written are
deleted.  Prints figures only.

    .venv/bin/python bench/tilt.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.compare import redis_bench, summary  # noqa: E402
from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers.common import router  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402

SWEEP = "/tilt SPY IJR 0-40 10y"
GRID = "/tilt SPY IJR 0-30 SMH 0-20 10y"
COLD_RUNS, WARM_RUNS = 15, 100
TARGET_SWEEP_MS, TARGET_GRID_MS, TARGET_WARM_MS = 400.0, 1000.0, 2.0


def timed(work, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = work()
        seconds.append(time.perf_counter() - started)
        if reply.is_error or reply.chart is None:
            sys.exit(f"the command failed: {reply.text}")
    return seconds


def main() -> None:
    require_prices()
    with redis_bench() as (bench, redis_label):
        def cold(command: str) -> list[float]:
            return timed(lambda: router.run(command, bench.services(CsvFolderProvider(PRICES_DIR))), COLD_RUNS)

        cold(SWEEP)  # lazy imports, fonts, first connection
        sweep, grid = cold(SWEEP), cold(GRID)
        services = bench.services(CsvFolderProvider(PRICES_DIR))
        router.run(SWEEP, services)
        warm = timed(lambda: router.run(SWEEP, services), WARM_RUNS)

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rows = [
        (f"cold {SWEEP} (5 portfolios, chart)", COLD_RUNS, summary(sweep), TARGET_SWEEP_MS),
        (f"cold {GRID} (12 portfolios, heatmap)", COLD_RUNS, summary(grid), TARGET_GRID_MS),
        (f"warm {SWEEP} (reply from Redis)", WARM_RUNS, summary(warm), TARGET_WARM_MS),
    ]
    print(f"/tilt on the shared CSV folder; Redis: {redis_label}")
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'runs':>4}  {'p50 ms':>8}  {'p90 ms':>8}  {'max ms':>8}  target")
    for name, runs, (p50, p90, worst), target in rows:
        print(f"{name:{width}}  {runs:4d}  {p50:8.2f}  {p90:8.2f}  {worst:8.2f}  p50 <= {target:g} ms: "
              f"{verdict(p50 <= target)}")


if __name__ == "__main__":
    main()
