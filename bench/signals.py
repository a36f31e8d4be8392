"""Team signals on real prices and a real Redis: 1,000 signals watched after a close; cold cards with chart.

* **watch after a close**: 100 workspaces with 10 signals each, over 30 tickers, stored in Redis; one
  ``schedule.watch.Watcher.tick`` with a watcher that has never seen these closes (its ``CloseMemo`` empty),
  bars warm in the Redis cache.  CPU seconds (``time.process_time``) and wall seconds, for the whole tick
  (storage reads, the one fetch, every rule evaluated, every flip check), then for a second tick on the same
  closes (what every later tick costs until the next close).  ``evaluate_all`` alone on the same rules and
  closes is timed as well (pure analysis).
* **cold card**: ``router.run("/signal NAME")`` for signals of each rule kind, data warm in Redis, nothing
  else cached (no reply cache for cards: each posts a new card); wall ms p50 / p90 and CPU ms p50 over the
  runs, chart included (on a loaded machine wall time is mostly waiting for a CPU).

Rules are drawn with a fixed seed from the parameters teams use (sma 20/50/100/200, ema 20/50, rsi 14,
momentum 1/3/6/12 months, drawdown -10/-20/-30%, levels near the last close), a third of them on ratios.
CachedMarket runs on a fixed clock (2026-07-15 09:00 New York).  Redis: ``REDIS_URL`` when set, otherwise
an embedded redis-server in a temp dir.  The keys written here are deleted at the end.  Prints figures
only; asserts nothing about timings.

    .venv/bin/python bench/signals.py
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from analysis.rules import evaluate_all  # noqa: E402
from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers.common import router  # noqa: E402
from handlers.common.caller import Caller  # noqa: E402
from handlers.common.rule_grammar import parse_rule  # noqa: E402
from handlers.common.services import Services  # noqa: E402
from handlers.common.team_signals import available_history  # noqa: E402
from market.cache import Cache, connect  # noqa: E402
from market.cached import CachedMarket  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402
from market.redis_server import EmbeddedRedis  # noqa: E402
from schedule.watch import Watcher  # noqa: E402
from store.teamdata import Owner, TeamStore  # noqa: E402

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
TICKERS = ("SPY", "QQQ", "IWM", "IJR", "SMH", "SOXX", "XSD", "PSI", "IGV", "VGT", "XLK", "XLE", "XLF", "XLV", "XLI",
           "XLY", "XLP", "XLU", "XLB", "XLRE", "MDY", "IJH", "VB", "VTV", "VUG", "MTUM", "QUAL", "USMV", "EFA", "EEM")
WORKSPACES, PER_WORKSPACE = 100, 10
CARD_RUNS = 21


def random_rule(rng: random.Random, last: dict[str, float]) -> str:
    a = rng.choice(TICKERS)
    subject = f"{a}/{rng.choice([t for t in TICKERS if t != a])}" if rng.random() < 1 / 3 else a
    side = rng.choice(("above", "below"))
    kind = rng.randrange(6)
    if kind == 0:
        return f"{subject} {side} {rng.choice(('sma20', 'sma50', 'sma100', 'sma200', 'ema20', 'ema50'))}"
    if kind == 1:
        return f"{subject} {rng.choice(('sma20', 'sma50', 'ema20'))} {side} {rng.choice(('sma100', 'sma200'))}"
    if kind == 2:
        level = last[a] * rng.uniform(0.9, 1.1) if "/" not in subject else rng.uniform(0.2, 2.0)
        return f"{subject} {side} {level:.2f}"
    if kind == 3:
        return f"{subject} momentum {rng.choice(('1m', '3m', '6m', '12m'))} {side} {rng.choice(('0%', '5%', '-5%'))}"
    if kind == 4:
        return f"{a} drawdown below {rng.choice(('-10%', '-20%', '-30%'))}"
    return f"{subject} rsi14 {side} {rng.choice(('30', '50', '70'))}"


def main() -> None:
    require_prices()
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = EmbeddedRedis(Path(tempfile.mkdtemp()))
        url = server.url
    client = connect(url)
    prefix = f"bench:signals:{uuid.uuid4().hex}:"
    try:
        run(client, prefix)
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
        if server is not None:
            server.close()


def run(client, prefix: str) -> None:
    store = TeamStore(client, prefix=prefix)
    cache = Cache(client, prefix=prefix + "cache:")
    services = Services(market=CachedMarket(CsvFolderProvider(PRICES_DIR), cache, now=lambda: NOW), cache=cache,
                        team_store=store)
    closes, missing = available_history(services, list(TICKERS))  # warms the Redis bar cache
    assert not missing, missing
    last = {t: float(closes[t].dropna().iloc[-1]) for t in TICKERS}
    rng = random.Random(22)
    texts = [random_rule(rng, last) for _ in range(WORKSPACES * PER_WORKSPACE)]
    rules = [parse_rule(t) for t in texts]
    distinct = len(set(rules))
    # Each signal as it read on the close before the last: the tick reads the last close as a new one.
    before = evaluate_all(rules, closes.iloc[:-1])
    for w in range(WORKSPACES):
        owner = Owner("slack", f"T{w:03d}", "team")
        for i in range(PER_WORKSPACE):
            rule = rules[w * PER_WORKSPACE + i]
            store.define_signal(owner, {"name": f"s{i}", "rule": str(rule), "author": "U1", "channel": "C1",
                                        "created_at": time.time(), "state": before[rule].now,
                                        "since": before[rule].since.isoformat(), "as_of": ""})
    print(f"{len(texts)} signals in {WORKSPACES} workspaces over {len(TICKERS)} tickers: {distinct} distinct rules")

    cpu, wall = time.process_time(), time.perf_counter()
    evaluate_all(rules, closes)
    print(f"evaluate_all alone:            {time.process_time() - cpu:6.3f} s CPU  "
          f"{time.perf_counter() - wall:6.3f} s wall")

    posted: list = []
    watcher = Watcher(services, lambda *post: posted.append(post), owner="bench")
    cpu, wall = time.process_time(), time.perf_counter()
    watcher.tick()
    print(f"watch tick after a new close:  {time.process_time() - cpu:6.3f} s CPU  "
          f"{time.perf_counter() - wall:6.3f} s wall  ({len(posted)} flips posted)")
    posted.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    watcher.tick()
    print(f"watch tick, same closes:       {time.process_time() - cpu:6.3f} s CPU  "
          f"{time.perf_counter() - wall:6.3f} s wall  ({len(posted)} flips posted)")

    caller = Caller(platform="slack", team="T000", channel="C1", user="U1")
    names = [f"s{i}" for i in range(PER_WORKSPACE)] + ["smallcaps", "semis"]
    timings, cpu_times = [], []
    for n in range(CARD_RUNS):
        start, cpu = time.perf_counter(), time.process_time()
        reply = router.run(f"/signal {names[n % len(names)]}", services, caller)
        timings.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
        assert reply.chart is not None, reply.text
    timings.sort()
    print(f"cold card with chart:          p50 {statistics.median(timings):6.1f} ms  "
          f"p90 {timings[int(len(timings) * 0.9)]:6.1f} ms wall, p50 {statistics.median(cpu_times):6.1f} ms CPU  "
          f"({CARD_RUNS} cards, bars warm in Redis)")


if __name__ == "__main__":
    main()
