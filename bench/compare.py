"""In-process /compare SMH SPY 10y on real prices and a real Redis: cold, warm data, warm reply; chart; peak RSS.

Every figure is one call of ``handlers.common.router.run("/compare SMH SPY 10y", services)``
(parse, fetch, metrics, takeaway, chart, reply cache), timed with ``time.perf_counter``:

* **cold**: an empty cache (a fresh ``Cache`` key prefix per run) and a fresh
  ``CsvFolderProvider`` per run, so its in-memory CSV cache is cold too; then
  again with the provider's CSV cache warm (only Redis empty).  Chart included.
* **warm data**: bars already in Redis, reply cache empty (the ``reply:*``
  keys under the prefix are deleted, untimed, before each run).
* **warm reply**: the finished reply (text and PNG) comes from Redis.
* **chart**: ``analysis.charts.compare_chart`` alone on the 10y SMH/SPY frame.
* **peak RSS**: ``ru_maxrss`` of this process at the end.

The reply-cache entry count after each warm-reply run is checked (printed as
"reply hits"), so a reply cache that silently misses shows up in the table.

CachedMarket runs on a fixed clock (2026-07-15 09:00 New York), so the figures
do not depend on today's date.  Redis: ``REDIS_URL`` when set, otherwise an
embedded redis-server in a temp dir, stopped at the end.  The keys written here
are deleted at the end.  Prints figures only; it asserts nothing about timings.

    .venv/bin/python bench/compare.py
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from analysis.charts import ChartLabels, compare_chart  # noqa: E402
from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers.common import router  # noqa: E402
from handlers.common.parse import parse_compare  # noqa: E402
from handlers.common.prices import prices_for_period  # noqa: E402
from handlers.common.services import Services  # noqa: E402
from market.cache import Cache, connect  # noqa: E402
from market.cached import CachedMarket  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402
from market.redis_server import EmbeddedRedis  # noqa: E402
from tests.doubles import Recording  # noqa: E402

COMMAND = "/compare SMH SPY 10y"
NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
RUNS = 30
CHART_RUNS = 20

TARGET_COLD_MS = 300.0
TARGET_WARM_REPLY_P50_MS = 10.0
TARGET_PEAK_RSS_MB = 250.0


class Bench:
    def __init__(self, client) -> None:
        self.client = client
        self.prefixes: list[str] = []

    def services(self, provider) -> Services:
        """Services on a cache prefix of their own: an empty cache."""
        prefix = f"bench:{uuid.uuid4().hex}:"
        self.prefixes.append(prefix)
        cache = Cache(self.client, prefix=prefix)
        return Services(market=CachedMarket(provider, cache, now=lambda: NOW), cache=cache)

    def clear_replies(self, services: Services) -> None:
        keys = list(self.client.scan_iter(match=services.cache.prefix + "reply:*"))
        if keys:
            self.client.delete(*keys)

    def has_reply(self, services: Services) -> bool:
        return any(True for _ in self.client.scan_iter(match=services.cache.prefix + "reply:*"))

    def cleanup(self) -> None:
        for prefix in self.prefixes:
            keys = list(self.client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                self.client.delete(*keys)


def run_once(services: Services) -> float:
    started = time.perf_counter()
    reply = router.run(COMMAND, services)
    seconds = time.perf_counter() - started
    if reply.is_error or reply.chart is None:
        sys.exit(f"{COMMAND} failed: {reply.text}")
    return seconds


def summary(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.array(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 90)), float(ms.max())


def main() -> None:
    require_prices()
    with redis_bench() as (bench, redis_label):
        measure(bench, redis_label)


@contextmanager
def redis_bench() -> Iterator[tuple[Bench, str]]:
    """A ``Bench`` on ``REDIS_URL`` or on an embedded redis-server, and which it is; its keys and server go after."""
    configured = os.environ.get("REDIS_URL")
    state = tempfile.TemporaryDirectory(prefix="tilt-bench-")
    server = None if configured else EmbeddedRedis(Path(state.name) / "redis")
    bench = Bench(connect(configured or server.url))
    try:
        yield bench, "REDIS_URL" if configured else "embedded redis-server"
    finally:
        bench.cleanup()
        bench.client.close()
        if server is not None:
            server.close()
        state.cleanup()


def measure(bench: Bench, redis_label: str) -> None:
    # First call in the process: lazy imports, matplotlib font cache, first Redis connection.
    first = run_once(bench.services(Recording(CsvFolderProvider(PRICES_DIR))))

    # (a) cold: empty Redis prefix and a fresh provider (CSV files parsed again) on every run.
    cold = [run_once(bench.services(Recording(CsvFolderProvider(PRICES_DIR)))) for _ in range(RUNS)]

    # (a') cold Redis, CSV files already parsed in the provider's memory.
    warm_files = Recording(CsvFolderProvider(PRICES_DIR))
    run_once(bench.services(warm_files))
    cold_warm_files = [run_once(bench.services(warm_files)) for _ in range(RUNS)]

    # (b) warm data cache: bars in Redis, replies deleted before each run.
    provider = Recording(CsvFolderProvider(PRICES_DIR))
    services = bench.services(provider)
    run_once(services)
    calls_before = len(provider.calls)
    warm_data = []
    for _ in range(RUNS):
        bench.clear_replies(services)
        warm_data.append(run_once(services))
    warm_data_calls = len(provider.calls) - calls_before

    # (c) warm reply cache.
    run_once(services)
    warm_reply, reply_hits = [], 0
    for _ in range(RUNS):
        reply_hits += bench.has_reply(services)
        warm_reply.append(run_once(services))
    warm_reply_calls = len(provider.calls) - calls_before - warm_data_calls

    # (d) the chart alone, on the same 10y SMH/SPY frame the handler draws.
    request = parse_compare(COMMAND.removeprefix("/compare "))
    aligned, window = prices_for_period(services, request.symbols.all, request.period)
    prices = aligned.prices.loc[window.start:window.end]
    labels = ChartLabels(title=f"SMH vs SPY · {request.period.label}", as_of=f"{window.end:%Y-%m-%d}",
                         source=services.source_label())
    compare_chart(prices, request.symbols.benchmark, labels)
    chart = []
    for _ in range(CHART_RUNS):
        started = time.perf_counter()
        png = compare_chart(prices, request.symbols.benchmark, labels)
        chart.append(time.perf_counter() - started)

    # (e) peak RSS (Linux reports kilobytes, macOS bytes).
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_rss_mb = maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024

    print(f"{COMMAND}, in process, via handlers.common.router.run")
    print(f"data: {PRICES_DIR} ({len(prices)} closes, {window.start:%Y-%m-%d} -> {window.end:%Y-%m-%d}); "
          f"redis: {redis_label}; clock fixed at {NOW:%Y-%m-%d %H:%M %Z}")
    print()

    def verdict(value: float, target: float) -> str:
        return "met" if value <= target else "MISSED"

    def cold_note(figures: tuple[float, float, float]) -> str:
        p50, p90, _ = figures
        return f"<= {TARGET_COLD_MS:.0f} ms: p50 {verdict(p50, TARGET_COLD_MS)}, p90 {verdict(p90, TARGET_COLD_MS)}"

    rows = [
        ("cold (Redis empty, CSV cache cold)", RUNS, summary(cold), cold_note(summary(cold))),
        ("cold (Redis empty, CSV cache warm)", RUNS, summary(cold_warm_files), cold_note(summary(cold_warm_files))),
        ("warm data (bars in Redis, no reply)", RUNS, summary(warm_data),
         f"provider calls: {warm_data_calls}"),
        ("warm reply (reply in Redis)", RUNS, summary(warm_reply),
         f"p50 <= {TARGET_WARM_REPLY_P50_MS:.0f} ms: {verdict(summary(warm_reply)[0], TARGET_WARM_REPLY_P50_MS)}"
         f"; reply hits: {reply_hits}/{RUNS}; provider calls: {warm_reply_calls}"),
        ("chart alone (compare_chart)", CHART_RUNS, summary(chart), f"PNG {len(png) / 1024:.0f} KiB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'runs':>4}  {'p50 ms':>8}  {'p90 ms':>8}  {'max ms':>8}  target / note")
    for name, runs, (p50, p90, worst), note in rows:
        print(f"{name:{width}}  {runs:4d}  {p50:8.1f}  {p90:8.1f}  {worst:8.1f}  {note}")
    print(f"{'first call in process (one-off)':{width}}  {1:4d}  {first * 1e3:8.1f}  {'':8}  {'':8}  "
          f"lazy imports, font cache, first connection")
    print(f"{'peak RSS (ru_maxrss)':{width}}  {'':4}  {peak_rss_mb:6.0f} MB  {'':8}  {'':8}  "
          f"<= {TARGET_PEAK_RSS_MB:.0f} MB: {verdict(peak_rss_mb, TARGET_PEAK_RSS_MB)}")


if __name__ == "__main__":
    main()
