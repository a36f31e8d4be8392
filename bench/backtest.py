"""/backtest speed: the engine against ``bt`` in the same run, and the command cold and warm.

* **engine vs bt**: SPY 70 / IJR 20 / SMH 10, rebalanced quarterly, 2015-10-30..2025-10-31
  (10 years of daily closes from the shared CSV folder), through
  ``analysis.backtest.fixed_mix`` and through ``bt`` 1.4 (fractional positions,
  ``RunQuarterly(run_on_end_of_period=True)``) on the same frame; the medians,
  their ratio (target: Tilt at least 50x faster) and the largest difference of
  the daily value series (they must be equal to 1e-9).  The same again for the
  real-world words bt can express: weekly rebalancing at 10bp (``RunWeekly``,
  commissions on the value traded, the opening purchase included, as Tilt's
  costs) and $1,000 added each quarter (``adjust``, compared in dollars).
* **cold /backtest**: ``handlers.common.router.run`` of the same backtest with its
  chart (and the monthly heatmap under it), on an empty Redis prefix and a fresh CSV
  provider each run (target p50 <= 300 ms); wall and CPU time of this process.
* **warm reply**: the same command again, the finished reply from Redis (target p50 <= 2 ms).

Redis: ``REDIS_URL`` when set, otherwise an embedded redis-server, stopped at
the end; the keys written are deleted.  Prints figures only.

    .venv/bin/python bench/backtest.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import bt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.backtest import Trading, fixed_mix, rebalance_dates  # noqa: E402
from bench.compare import redis_bench, summary  # noqa: E402
from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers.common import router  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402
from tests.bt_oracle import AddCash  # noqa: E402

WEIGHTS = {"SPY": 0.7, "IJR": 0.2, "SMH": 0.1}
START, END = "2015-10-30", "2025-10-31"
COMMAND = f"/backtest SPY 70 IJR 20 SMH 10 quarterly {START}..{END}"
ENGINE_RUNS, BT_RUNS, COMMAND_RUNS = 200, 15, 20
TARGET_SPEEDUP = 50.0
TARGET_COLD_MS = 300.0
TARGET_WARM_MS = 2.0
CAPITAL = 1_000_000.0


def closes() -> pd.DataFrame:
    frames = {t: pd.read_csv(PRICES_DIR / f"{t}.csv", index_col="Date", parse_dates=True)["Adj Close"]
              for t in WEIGHTS}
    return pd.concat(frames, axis=1, join="inner").loc[START:END]


def timed(work, runs: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def run_bt(prices: pd.DataFrame, schedule=bt.algos.RunQuarterly, cost: float = 0.0, add: float = 0.0) -> pd.Series:
    """bt's daily value as growth of 1 (with ``add``: its account value over the starting amount); on the first
    date the amount before the opening purchase (bt's day-before row), as Tilt counts it.  On bt's default
    $1,000,000: it sizes orders net of commission to 1e-8 dollars."""
    first = [AddCash(rebalance_dates(prices.index, "quarterly"), add * CAPITAL)] if add else []
    strategy = bt.Strategy("s", [*first, schedule(run_on_end_of_period=True), bt.algos.SelectAll(),
                                 bt.algos.WeighSpecified(**WEIGHTS), bt.algos.Rebalance()])
    result = bt.run(bt.Backtest(strategy, prices, integer_positions=False, progress_bar=False,
                                initial_capital=CAPITAL, commissions=lambda q, p: abs(q * p) * cost))
    values = result.backtests["s"].strategy.values / CAPITAL if add else result.prices["s"] / 100.0
    return pd.concat([values.iloc[:1], values.iloc[2:]]).set_axis(prices.index)


def main() -> None:
    require_prices()
    warnings.simplefilter("ignore")  # bt's deprecation warnings under pandas 3
    prices = closes()
    weights = pd.Series(WEIGHTS)
    fixed_mix(prices, weights, "quarterly")
    run_bt(prices)
    ours, simulation = timed(lambda: fixed_mix(prices, weights, "quarterly"), ENGINE_RUNS)
    theirs, reference = timed(lambda: run_bt(prices), BT_RUNS)
    difference = float(np.abs(simulation.value.to_numpy() - reference.to_numpy()).max())
    speedup = np.median(theirs) / np.median(ours)
    variants = []
    for label, schedule, trading, bt_schedule in (
            ("weekly, 10bp", "weekly", Trading(cost=0.001), dict(schedule=bt.algos.RunWeekly, cost=0.001)),
            ("quarterly, +1,000 a quarter on 10,000", "quarterly", Trading(add=0.1, add_schedule="quarterly"),
             dict(add=0.1))):
        mine, result = timed(lambda: fixed_mix(prices, weights, schedule, trading), ENGINE_RUNS)
        others, oracle = timed(lambda: run_bt(prices, **bt_schedule), BT_RUNS)
        gap = float(np.abs(result.balance.to_numpy() / oracle.to_numpy() - 1).max())
        variants.append((label, mine, others, gap))

    with redis_bench() as (bench, _):
        run = lambda services: router.run(COMMAND, services)  # noqa: E731
        first = run(bench.services(CsvFolderProvider(PRICES_DIR)))  # lazy imports, fonts, first connection
        if first.is_error:
            sys.exit(f"{COMMAND} failed: {first.text}")
        cold_cpu: list[float] = []

        def cold_run():
            started = time.process_time()
            reply = run(bench.services(CsvFolderProvider(PRICES_DIR)))
            cold_cpu.append(time.process_time() - started)
            return reply

        cold, _ = timed(cold_run, COMMAND_RUNS)
        services = bench.services(CsvFolderProvider(PRICES_DIR))
        run(services)
        warm, reply = timed(lambda: run(services), COMMAND_RUNS * 5)

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(f"{COMMAND}: {len(prices)} daily closes of {', '.join(WEIGHTS)}; bt {bt.__version__}")
    print(f"figures: total return Tilt {simulation.value.iloc[-1] - 1:.9f}, bt {reference.iloc[-1] - 1:.9f}; "
          f"largest daily difference {difference:.1e} (equal to 1e-9: {verdict(difference < 1e-9)})")
    print()
    variant_rows = []
    for label, mine, others, gap in variants:
        faster = np.median(others) / np.median(mine)
        variant_rows += [(f"engine: fixed_mix {label}", ENGINE_RUNS, summary(mine), ""),
                         (f"engine: bt.run {label}", BT_RUNS, summary(others),
                          f"Tilt {faster:.0f}x faster (>= {TARGET_SPEEDUP:.0f}x: {verdict(faster >= TARGET_SPEEDUP)}); "
                          f"largest relative difference {gap:.1e}")]
    rows = [
        ("engine: analysis.backtest.fixed_mix", ENGINE_RUNS, summary(ours), ""),
        ("engine: bt.run", BT_RUNS, summary(theirs),
         f"Tilt {speedup:.0f}x faster (>= {TARGET_SPEEDUP:.0f}x: {verdict(speedup >= TARGET_SPEEDUP)})"),
        *variant_rows,
        ("cold /backtest with chart", COMMAND_RUNS, summary(cold),
         f"p50 <= {TARGET_COLD_MS:.0f} ms: {verdict(summary(cold)[0] <= TARGET_COLD_MS)}"),
        ("cold /backtest with chart, CPU", COMMAND_RUNS, summary(cold_cpu),
         "this process's CPU time: less inflated than wall time by other processes on the machine"),
        ("warm reply (from Redis)", COMMAND_RUNS * 5, summary(warm),
         f"p50 <= {TARGET_WARM_MS:.0f} ms: {verdict(summary(warm)[0] <= TARGET_WARM_MS)}; "
         f"chart {len(reply.chart.png) / 1024:.0f} KiB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'runs':>4}  {'p50 ms':>8}  {'p90 ms':>8}  {'max ms':>8}  target / note")
    for name, runs, (p50, p90, worst), note in rows:
        print(f"{name:{width}}  {runs:4d}  {p50:8.2f}  {p90:8.2f}  {worst:8.2f}  {note}")


if __name__ == "__main__":
    main()
