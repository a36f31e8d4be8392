"""In-process /cycle IWM IJR vs SPY on real prices and a real Redis: cold, warm data, warm reply, chart alone.

Every figure but the last is one call of ``handlers.common.router.run(COMMAND, services)`` (parse, fetch of
26 years of closes, every episode's figures, tables, takeaway, chart, reply cache), timed with
``time.perf_counter`` (wall) and ``time.process_time`` (this process's CPU, which tells more than wall time
on a machine shared with other work):

* **cold**: an empty cache (a fresh Redis key prefix per run) and a fresh ``CsvFolderProvider`` per run;
* **warm data**: bars already in Redis, the reply deleted (untimed) before each run;
* **warm reply**: the finished reply (text and PNG) comes from Redis ("reply hits" counts the runs that found
  it there before running, so a reply cache that silently misses shows up);
* **chart alone**: ``analysis.cycle_chart.cycle_chart`` on the same figures.

The clock is fixed (2026-07-15 09:00 New York) as in ``bench/compare.py``, whose Redis set-up this shares
(``REDIS_URL`` or an embedded redis-server; the keys written here are deleted at the end).  Prints figures
only; it asserts nothing about timings.

    .venv/bin/python bench/cycle.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from analysis.charts import ChartLabels  # noqa: E402
from analysis.cycle import cycle_figures  # noqa: E402
from analysis.cycle_chart import cycle_chart  # noqa: E402
from bench.compare import PRICES_DIR, Bench, redis_bench, summary  # noqa: E402
from handlers import cycle  # noqa: E402
from handlers.common import router  # noqa: E402
from handlers.common.services import Services  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402

COMMAND = "/cycle IWM IJR vs SPY"
COLD_RUNS = 10
WARM_RUNS = 30
CHART_RUNS = 10


CPU: list[float] = []  # CPU seconds of each timed call, in the order timed


def timed(call: Callable[[], object]) -> float:
    """Wall seconds of ``call()``; its CPU seconds go to ``CPU``."""
    started, cpu = time.perf_counter(), time.process_time()
    call()
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - started


def run_once(services: Services) -> float:
    def run() -> None:
        reply = router.run(COMMAND, services)
        if reply.is_error or reply.chart is None:
            sys.exit(f"{COMMAND} failed: {reply.text}")

    return timed(run)


def measure(bench: Bench, redis_label: str) -> None:
    first = run_once(bench.services(CsvFolderProvider(PRICES_DIR)))  # imports, font cache, first connection
    CPU.clear()
    cold = [run_once(bench.services(CsvFolderProvider(PRICES_DIR))) for _ in range(COLD_RUNS)]
    cold_cpu = CPU[:]

    services = bench.services(CsvFolderProvider(PRICES_DIR))
    run_once(services)
    warm_data = []
    CPU.clear()
    for _ in range(WARM_RUNS):
        bench.clear_replies(services)
        warm_data.append(run_once(services))
    warm_data_cpu = CPU[:]

    run_once(services)
    warm_reply, reply_hits = [], 0
    CPU.clear()
    for _ in range(WARM_RUNS):
        reply_hits += bench.has_reply(services)
        warm_reply.append(run_once(services))
    warm_reply_cpu = CPU[:]

    prices = cycle.cycle_prices(services, ["IJR", "IWM", "SPY"])
    figures = cycle_figures(prices, "SPY", cycle.PHASES)
    labels = ChartLabels(title="IJR IWM vs SPY through the cycle", as_of="2026-07-14", source=services.source_label())
    png = cycle_chart(figures, labels)
    CPU.clear()
    chart = [timed(lambda: cycle_chart(figures, labels)) for _ in range(CHART_RUNS)]
    chart_cpu = CPU[:]

    print(f"{COMMAND}, in process, via handlers.common.router.run")
    print(f"data: {PRICES_DIR} ({len(prices)} dates, {len(cycle.PHASES)} episodes); redis: {redis_label}")
    print()
    rows = [
        ("cold (Redis empty, fresh CSV provider)", COLD_RUNS, summary(cold), summary(cold_cpu), ""),
        ("warm data (bars in Redis, no reply)", WARM_RUNS, summary(warm_data), summary(warm_data_cpu), ""),
        ("warm reply (reply in Redis)", WARM_RUNS, summary(warm_reply), summary(warm_reply_cpu),
         f"reply hits: {reply_hits}/{WARM_RUNS}"),
        ("chart alone (cycle_chart)", CHART_RUNS, summary(chart), summary(chart_cpu), f"PNG {len(png) / 1024:.0f} KiB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'runs':>4}  {'p50 ms':>8}  {'p90 ms':>8}  {'max ms':>8}  {'CPU p50':>8}  note")
    for name, runs, (p50, p90, worst), (cpu, _, _), note in rows:
        print(f"{name:{width}}  {runs:4d}  {p50:8.1f}  {p90:8.1f}  {worst:8.1f}  {cpu:8.1f}  {note}")
    print(f"{'first call in process (one-off)':{width}}  {1:4d}  {first * 1e3:8.1f}")


def main() -> None:
    if not (PRICES_DIR / "SPY.csv").is_file():
        sys.exit(f"shared price data not found at {PRICES_DIR} (set TILT_SHARED_DIR to the shared folder)")
    with redis_bench() as (bench, redis_label):
        measure(bench, redis_label)


if __name__ == "__main__":
    main()
