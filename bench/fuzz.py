"""The long campaign behind tests/test_every_request.py: many requests per command, from each command's grammar
mixed with garbage (tests/requests.py), end to end through ``handlers.common.router.run`` on the shared CSV
prices and a real Redis.  Prints how many requests were tried per command, how many were answered, refused with
a typed error, or crashed (the generic apology), and one example of each distinct crash (exception type and the
innermost frame of Tilt's own code).

    .venv/bin/python bench/fuzz.py --examples 3000 [--seed 26] [--commands compare,backtest]

Commands come from ``handlers.catalog.COMMANDS`` (what the router routes); the examples are shared evenly
between them.  Redis: ``REDIS_URL`` when set, else an embedded redis-server; keys are deleted at the end.
The CSV clock is fixed at 2026-07-15 09:00 New York, the morning after the data's last close.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers import catalog  # noqa: E402
from handlers.common import router  # noqa: E402
from handlers.common.caller import LOCAL, Caller  # noqa: E402
from handlers.common.services import Services  # noqa: E402
from market.cache import Cache, connect  # noqa: E402
from market.cached import CachedMarket  # noqa: E402
from market.csvdir import CsvFolderProvider  # noqa: E402
from market.redis_server import EmbeddedRedis  # noqa: E402
from store.teamdata import TeamStore  # noqa: E402
from tests.requests import REQUESTS  # noqa: E402

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
CALLERS = (Caller(platform="slack", team="T1", channel="C1", user="U1"), LOCAL)
GENERIC = "something went wrong"


class Crashes(logging.Handler):
    """Collects the tracebacks the router logs for requests it could not answer."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def cause(record: logging.LogRecord) -> str:
    """``IndexError at handlers/common/prices.py:38``: the exception and the innermost frame of Tilt's code."""
    kind, error, tb = record.exc_info
    ours = [f for f in traceback.extract_tb(tb) if str(ROOT) in f.filename and ".venv" not in f.filename]
    where = f"{Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}" if ours else "?"
    return f"{kind.__name__}: {str(error)[:80]} at {where}"


def campaign(name: str, examples: int, seed: int, services: Services, crashes: Crashes) -> Counter:
    outcomes: Counter = Counter()
    reasons: Counter = Counter()
    found: dict[str, str] = {}

    @settings(max_examples=examples, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(arguments=REQUESTS[name], caller=st.sampled_from(CALLERS))
    def one(arguments: str, caller: Caller) -> None:
        text = f"/{name} {arguments}"
        before = len(crashes.records)
        reply = router.run(text, services, caller)
        new = crashes.records[before:]
        if new or GENERIC in reply.text.lower():
            outcomes["crashed"] += 1
            for record in new:
                found.setdefault(cause(record), text)
        elif reply.is_error:
            outcomes["typed error"] += 1
            reasons[reply.text.removeprefix(":warning: ")[:50]] += 1
        else:
            outcomes["answered"] += 1

    one._hypothesis_internal_use_seed = seed  # a fixed seed: the same requests every run
    one()
    print("    most frequent refusals: " + "; ".join(f"{n}x {r!r}" for r, n in reasons.most_common(3)))
    for where, text in found.items():
        print(f"    crash: {where}\n      e.g. {text!r}")
    return outcomes


def main() -> None:
    require_prices()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000, help="requests in all, shared evenly between commands")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--commands", default="", help="comma-separated command names (default: every routed one)")
    args = parser.parse_args()
    names = args.commands.split(",") if args.commands else sorted(command.name for command in catalog.COMMANDS)
    per_command = max(1, args.examples // len(names))

    logging.basicConfig(level=logging.CRITICAL)
    crashes = Crashes()
    router_log = logging.getLogger("handlers.common.router")
    router_log.setLevel(logging.ERROR)  # its tracebacks come here, not to the terminal
    router_log.propagate = False
    router_log.addHandler(crashes)
    configured = os.environ.get("REDIS_URL")
    server = None if configured else EmbeddedRedis(Path(tempfile.mkdtemp(prefix="tilt-fuzz-")))
    client = connect(configured or server.url)
    prefix = f"fuzz:{uuid.uuid4().hex}:"
    cache = Cache(client, prefix=f"{prefix}cache:")
    services = Services(market=CachedMarket(CsvFolderProvider(PRICES_DIR), cache, now=lambda: NOW), cache=cache,
                        team_store=TeamStore(client, prefix=prefix))
    total: Counter = Counter()
    started = time.perf_counter()
    try:
        for name in names:
            began = time.perf_counter()
            print(f"/{name}: {per_command} requests", flush=True)
            outcomes = campaign(name, per_command, args.seed, services, crashes)
            total.update(outcomes)
            print(f"    answered {outcomes['answered']}, typed error {outcomes['typed error']}, "
                  f"crashed {outcomes['crashed']}  ({time.perf_counter() - began:.1f} s)", flush=True)
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        if server is not None:
            server.close()
    tried = sum(total.values())
    print(f"\n{tried} requests tried in {time.perf_counter() - started:.0f} s: answered {total['answered']}, "
          f"typed error {total['typed error']}, crashed {total['crashed']}")


if __name__ == "__main__":
    main()
