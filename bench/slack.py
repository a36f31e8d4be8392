"""Tilt's Slack app at the wire: ack latency, time to the posted result, sustained commands a second.

Runs ``python bot.py serve`` as a real process (``tests.slack_app.Tilt``) against
the in-process stand-in Slack Web API (``tests.slack_standin.SlackStandIn``), on
real prices (``$TILT_SHARED_DIR/data/prices``, default ``../shared/data/prices``)
and a real Redis (``REDIS_URL`` when set, otherwise an embedded redis-server in a
temp dir, stopped at the end).  Every command is a correctly signed, form-encoded
slash command, as Slack sends it.

First the data cache is warmed: one ``/compare PAIR max`` per ticker pair used
below (so every bar those tickers have is in Redis; those replies are then in the
reply cache too).  Then:

1. **Ack latency**: time from sending ``POST /slack/events`` to receiving its HTTP
   200 ("Working on it…"), measured by the client, with 1, 10 and 50 requests in
   flight (400 warm commands per level, signed beforehand, sent as raw HTTP from
   one asyncio loop: ``send_all``).  Each level is drained (every result and chart recorded) before the
   next starts.  Beside it, the server's own view (``tilt_ack_seconds`` from
   ``/metrics``: the share of acks the WSGI app produced within 100 ms, and the
   bucket holding their p99), which leaves out waitress's task queue, the TCP
   accept queue and the client.  Twice: (a) with the RQ worker running the
   commands meanwhile, on the same 2 CPUs as the server, the stand-in and this
   load generator; (b) with the worker suspended while a level is sent (``rq
   suspend``, then resumed to drain the queue), as when workers run on machines
   of their own: what the web process alone can do.
2. **Request -> posted result**: from sending the command to the stand-in
   recording ``chat.postMessage`` for that command's channel (``Call.at``; the
   stand-in runs in this process, so both clocks are the same ``time.monotonic``),
   one command at a time.  Also the chart (``files.completeUploadExternal``).
   * cold reply, cold data: ``/compare NEW SPY 10y`` with a ticker this Redis
     (and the server's CSV reader) has never seen;
   * cold reply, warm data: a warmed pair with a period never asked (1y..20y);
   * warm reply: the cold-reply/warm-data commands again (reply cache hits).
3. **Sustained**: 300 warm commands from 10 senders, each sending its next as soon
   as the previous is acked; completed posts a second from the first send to the
   last ``chat.postMessage``.

Every command has its own channel, user and response URL; teams change every 100
commands, so the per-user (10/min) and per-team (200/min) budgets of
``handlers/common/budget.py`` never bite: throttled answers ("Slow down") are counted
and printed (expected 0).  With ``REDIS_URL`` set, "cold" requests are only
picked among those whose reply (and, for cold data, bars) are not in that Redis.

Prints figures only; asserts nothing about timings.

    .venv/bin/python bench/slack.py
    WEB_CONCURRENCY=2 .venv/bin/python bench/slack.py     # the server in two processes
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import redis as redis_py  # noqa: E402
from rq.suspension import resume, suspend  # noqa: E402

from bench.shared import PRICES_DIR, require_prices  # noqa: E402
from handlers.common.parse import parse_compare  # noqa: E402
from market.redis_server import EmbeddedRedis  # noqa: E402
from tests.servers import Answer  # noqa: E402
from tests.slack_app import Tilt, signed  # noqa: E402
from tests.slack_standin import Call, SlackStandIn  # noqa: E402

# Pairs whose data is warmed first; everything that needs "warm data" uses only these tickers.
WARM_PAIRS = [("SMH", "SPY"), ("QQQ", "SPY"), ("IWM", "SPY"), ("XLK", "SPY"), ("IJR", "SPY"),
              ("VTV", "SPY"), ("EFA", "SPY"), ("TLT", "SPY"), ("GLD", "SPY"), ("SOXX", "QQQ")]
WARM_COMMANDS = [f"{a} {b} max" for a, b in WARM_PAIRS]  # in the reply cache after the warm-up

ACK_LEVELS = (1, 10, 50)
ACK_REQUESTS = 400
COLD_DATA_RUNS = 15
COLD_REPLY_RUNS = 20
WARM_REPLY_RUNS = 40
SUSTAINED_COMMANDS = 300
SUSTAINED_WORKERS = 10
COMMANDS_PER_TEAM = 100
POST_TIMEOUT = 60.0

TARGET_ACK_P99_MS = 100.0  # at 50 concurrent
TARGET_WARM_POSTED_P50_MS = 150.0

SLOW_DOWN = "Slow down"


def where_of(call: Call) -> str:
    """The channel (or response URL) a recorded Web API call went to."""
    return call.body.get("channel") or call.body.get("channel_id") or call.body.get("_response_url") or ""


class RecordingStandIn(SlackStandIn):
    """The stand-in, also indexing the first call of each method per channel / response URL, for quick waits."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[tuple[str, str], Call] = {}

    def _record(self, call: Call) -> None:
        with self._lock:
            self.first.setdefault((call.method, where_of(call)), call)
        super()._record(call)  # appends and notifies under the same condition

    def first_call(self, method: str, where: str, deadline: float) -> Call | None:
        with self._lock:
            while (method, where) not in self.first:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)
            return self.first[(method, where)]

    def forget(self) -> None:
        """Drop what was recorded (uploaded PNGs add up over a thousand commands)."""
        with self._lock:
            self.calls.clear()
            self.uploads.clear()
            self.first.clear()


def record_ack(sent: Sent, post: Callable[[], Answer]) -> None:
    """Send the command (``post``) and record on ``sent`` when, how fast and what the HTTP answer was."""
    sent.sent_at = time.monotonic()
    try:
        answer = post()
    except OSError as error:
        sent.ack_seconds = time.monotonic() - sent.sent_at
        sent.problem = f"no HTTP answer ({type(error).__name__})"
        return
    sent.ack_seconds = time.monotonic() - sent.sent_at
    note_answer(sent, answer.status, answer.body)


def note_answer(sent: Sent, status: int, body: bytes) -> None:
    sent.status = status
    try:
        sent.ack_text = json.loads(body).get("text", "")
    except ValueError:
        sent.ack_text = body.decode(errors="replace")
    if status != 200:
        sent.problem = f"HTTP {status}"
    elif sent.throttled:
        sent.problem = "throttled"


def send_all(sender: Sender, texts: list[str], in_flight: int) -> list[Sent]:
    """Send ``texts`` as signed commands, at most ``in_flight`` at a time, from one asyncio loop.

    Each request is built and signed beforehand and sent as raw HTTP/1.0 on a fresh connection, so the
    figure is the server's answer time, not a client's (50 urllib threads in this process would spend
    as much CPU as the server on the same 2 CPUs).
    """
    prepared = [sender.prepare(text) for text in texts]
    host, port = "127.0.0.1", sender.tilt.port

    async def one(sent: Sent, request: bytes, gate: asyncio.Semaphore) -> None:
        async with gate:
            sent.sent_at = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                response = await reader.read()  # HTTP/1.0: the server closes after its answer
                writer.close()
            except OSError as error:
                sent.problem = f"no HTTP answer ({type(error).__name__})"
                return
            finally:
                sent.ack_seconds = time.monotonic() - sent.sent_at
            head, _, body = response.partition(b"\r\n\r\n")
            status = head.split(b" ", 2)[1:2]
            if not status:
                sent.problem = "connection closed without an answer"
                return
            note_answer(sent, int(status[0]), body)

    async def everything() -> None:
        gate = asyncio.Semaphore(in_flight)
        await asyncio.gather(*(one(sent, request, gate) for sent, request in prepared))

    asyncio.run(everything())
    return [sent for sent, _ in prepared]


@dataclass
class Sent:
    """One slash command as sent, and what came of it."""

    text: str
    channel: str
    response: str
    sent_at: float = 0.0
    ack_seconds: float = float("nan")
    status: int = 0
    ack_text: str = ""
    posted_at: float | None = None
    chart_at: float | None = None
    problem: str | None = None

    @property
    def throttled(self) -> bool:
        return SLOW_DOWN in self.ack_text

    @property
    def posted_ms(self) -> float:
        return (self.posted_at - self.sent_at) * 1000 if self.posted_at is not None else float("nan")

    @property
    def chart_ms(self) -> float:
        return (self.chart_at - self.sent_at) * 1000 if self.chart_at is not None else float("nan")


class Sender:
    """Signed slash commands to the running Tilt, each with its own channel, user and response URL."""

    def __init__(self, tilt: Tilt, slack: RecordingStandIn) -> None:
        self.tilt, self.slack = tilt, slack
        self.run = uuid.uuid4().hex[:6].upper()  # budget keys live 60 s in Redis: never reuse a team or user
        self._count = 0
        self._lock = threading.Lock()

    def new(self, text: str) -> tuple[Sent, dict[str, str]]:
        with self._lock:
            n = self._count
            self._count += 1
        team, user = f"T{self.run}{n // COMMANDS_PER_TEAM:04d}", f"U{self.run}{n:06d}"
        sent = Sent(text=text, channel=f"C{self.run}{n:06d}", response=f"bench-{self.run}-{n}")
        form = {"token": "deprecated", "team_id": team, "team_domain": "tilt-bench", "channel_id": sent.channel,
                "channel_name": "markets", "user_id": user, "user_name": "bench", "command": "/compare",
                "text": text, "api_app_id": "A0TILT", "is_enterprise_install": "false", "trigger_id": "1.2.3",
                "response_url": self.slack.response_url(sent.response)}
        return sent, form

    def send(self, text: str) -> Sent:
        sent, form = self.new(text)
        body = urlencode(form)
        record_ack(sent, lambda: self.tilt.post(body))
        return sent

    def prepare(self, text: str) -> tuple[Sent, bytes]:
        """A command as the raw, signed HTTP request that ``send`` would make."""
        sent, form = self.new(text)
        body = urlencode(form)
        head = {"Host": f"127.0.0.1:{self.tilt.port}", "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": str(len(body.encode())), **signed(body)}
        lines = ["POST /slack/events HTTP/1.0", *(f"{name}: {value}" for name, value in head.items())]
        return sent, ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def wait_posted(self, sent: Sent, deadline: float) -> None:
        """Fill in when the result and its chart reached the stand-in.

        Waiting for both before moving on keeps one measurement's deliveries out of the next one's.
        """
        if sent.problem or sent.throttled:
            return
        post = self.slack.first_call("chat.postMessage", sent.channel, deadline)
        if post is None:
            reply = self.slack.first.get(("response", sent.response))
            sent.problem = ("answered privately: " + reply.body.get("text", "")[:80]) if reply else "no post in time"
            return
        sent.posted_at = post.at
        done = self.slack.first_call("files.completeUploadExternal", sent.channel, deadline)
        sent.chart_at = done.at if done else None


# --- figures ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    finite = [v for v in values if v == v]
    return float(np.percentile(finite, q)) if finite else float("nan")


def ms(value: float) -> str:
    return "    n/a" if value != value else f"{value:7.1f}"


def server_ack_buckets(tilt: Tilt) -> dict[float, float]:
    """Cumulative ``tilt_ack_seconds`` bucket counts for POST /slack/events (``le`` in seconds), from /metrics."""
    buckets: dict[float, float] = {}
    for line in tilt.metrics().splitlines():
        found = re.match(r"^tilt_ack_seconds_bucket\{(.*)\} (\S+)$", line)
        if not found:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if labels.get("path", "/slack/events") == "/slack/events":
            le = float(labels["le"])  # "+Inf" parses as inf
            buckets[le] = buckets.get(le, 0.0) + float(found.group(2))
    return buckets


def server_ack_summary(before: dict[float, float], after: dict[float, float]) -> tuple[float, float]:
    """(share of acks within 100 ms, upper bound in ms of the bucket holding the p99) between two readings."""
    delta = {le: after.get(le, 0.0) - before.get(le, 0.0) for le in after}
    total = delta.get(float("inf"), 0.0)
    if not total:
        return float("nan"), float("nan")
    within = delta.get(0.1, 0.0) / total
    p99_bound = next((le for le in sorted(delta) if delta[le] >= 0.99 * total), float("inf"))
    return within, p99_bound * 1000


def problems(sents: list[Sent]) -> str:
    found = [s.problem for s in sents if s.problem]
    if not found:
        return ""
    kinds: dict[str, int] = {}
    for p in found:
        kinds[p] = kinds.get(p, 0) + 1
    return "; ".join(f"{n}x {p}" for p, n in kinds.items())


# --- the measurements -------------------------------------------------------------------------


def warm_up(sender: Sender) -> float:
    started = time.monotonic()
    for text in WARM_COMMANDS:
        sent = sender.send(text)
        sender.wait_posted(sent, time.monotonic() + POST_TIMEOUT)
        if sent.problem:
            raise SystemExit(f"warm-up /compare {text} failed: {sent.problem}")
    return time.monotonic() - started


def ack_latency(sender: Sender, tilt: Tilt, slack: RecordingStandIn, redis_url: str, *, paused: bool) -> list[dict]:
    """Each level's acks; ``paused``: RQ workers take no job while the level is sent (``rq suspend``), as
    when they run on other machines, and drain the queue afterwards."""
    connection = redis_py.Redis.from_url(redis_url)
    rows = []
    for level in ACK_LEVELS:
        slack.forget()
        before = server_ack_buckets(tilt)
        texts = [WARM_COMMANDS[i % len(WARM_COMMANDS)] for i in range(ACK_REQUESTS)]
        if paused:
            suspend(connection)
        started = time.monotonic()
        sents = send_all(sender, texts, level)
        acked = time.monotonic()
        resume(connection)
        deadline = time.monotonic() + POST_TIMEOUT
        for sent in sents:
            sender.wait_posted(sent, deadline)
        posted = [s.posted_at for s in sents if s.posted_at is not None]
        server_within, server_p99 = server_ack_summary(before, server_ack_buckets(tilt))
        acks = [s.ack_seconds * 1000 for s in sents if s.status == 200]
        rows.append({
            "level": level, "p50": pct(acks, 50), "p99": pct(acks, 99), "max": max(acks, default=float("nan")),
            "failed": sum(1 for s in sents if s.status != 200), "throttled": sum(1 for s in sents if s.throttled),
            "server_within": server_within, "server_p99": server_p99,
            "send_s": acked - started,
            "drain_s": (max(posted) - started) if posted else float("nan"),
            "unposted": sum(1 for s in sents if s.posted_at is None), "problems": problems(sents),
        })
    slack.forget()
    return rows


def time_to_post(sender: Sender, texts: list[str]) -> list[Sent]:
    """One command at a time: send, wait for its post and chart, next."""
    sents = []
    for text in texts:
        sent = sender.send(text)
        sender.wait_posted(sent, time.monotonic() + POST_TIMEOUT)
        sents.append(sent)
    return sents


def sustained(sender: Sender) -> dict:
    texts = [WARM_COMMANDS[i % len(WARM_COMMANDS)] for i in range(SUSTAINED_COMMANDS)]
    with ThreadPoolExecutor(max_workers=SUSTAINED_WORKERS) as pool:
        sents = list(pool.map(sender.send, texts))
    deadline = time.monotonic() + POST_TIMEOUT
    for sent in sents:
        sender.wait_posted(sent, deadline)
    first_send = min(s.sent_at for s in sents)
    posted = [s.posted_at for s in sents if s.posted_at is not None]
    charts = [s.chart_at for s in sents if s.chart_at is not None]
    span = (max(posted) - first_send) if posted else float("nan")
    return {
        "posted": len(posted), "span": span, "rate": len(posted) / span if posted else float("nan"),
        "chart_rate": len(charts) / (max(charts) - first_send) if charts else float("nan"),
        "throttled": sum(1 for s in sents if s.throttled), "failed": sum(1 for s in sents if s.status != 200),
        "ack_p50": pct([s.ack_seconds * 1000 for s in sents], 50), "ack_p99": pct([s.ack_seconds * 1000 for s in sents], 99),
        "posted_p50": pct([s.posted_ms for s in sents], 50), "posted_p90": pct([s.posted_ms for s in sents], 90),
        "problems": problems(sents),
    }


# --- choosing "cold" requests -----------------------------------------------------------------


class Fresh:
    """What this Redis has not seen: reply keys and bars keys as the server names them."""

    def __init__(self, url: str) -> None:
        self.client = redis_py.Redis.from_url(url)
        market = f"csv:{PRICES_DIR.resolve()}"
        risk_free = float(os.environ["TILT_RISK_FREE"]) if os.environ.get("TILT_RISK_FREE") else None
        self._reply = f"tilt:v1:reply:{market}:rf={risk_free}:"
        self._bars = f"tilt:v1:bars:{market}:"

    def reply(self, text: str) -> bool:
        return not self.client.exists(self._reply + parse_compare(text).key)

    def ticker(self, ticker: str) -> bool:
        return not self.client.exists(self._bars + ticker)

    def close(self) -> None:
        self.client.close()


def cold_data_commands(fresh: Fresh) -> list[str]:
    warm = {t for pair in WARM_PAIRS for t in pair}
    candidates = sorted(p.stem for p in PRICES_DIR.glob("*.csv") if p.stem not in warm)
    chosen = [f"{t} SPY 10y" for t in candidates if fresh.ticker(t) and fresh.reply(f"{t} SPY 10y")]
    return chosen[:COLD_DATA_RUNS]


def cold_reply_commands(fresh: Fresh) -> list[str]:
    """Warmed pairs over 1y..20y, spread over pairs and periods, whose replies are not cached."""
    combos = [f"{' '.join(WARM_PAIRS[(i // 20 + i) % len(WARM_PAIRS)])} {i % 20 + 1}y" for i in range(20 * len(WARM_PAIRS))]
    return [text for text in combos if fresh.reply(text)][:COLD_REPLY_RUNS]


# --- report -----------------------------------------------------------------------------------


def report_latency(label: str, sents: list[Sent]) -> str:
    posted = [s.posted_ms for s in sents]
    charts = [s.chart_ms for s in sents]
    acks = [s.ack_seconds * 1000 for s in sents]
    line = (f"  {label:<26} {len(sents):>3}  {ms(pct(posted, 50))}  {ms(pct(posted, 90))}"
            f"   {ms(pct(charts, 50))}  {ms(pct(charts, 90))}   {ms(pct(acks, 50))}")
    trouble = problems(sents) + ("; " if problems(sents) else "")
    throttled = sum(1 for s in sents if s.throttled)
    if throttled or problems(sents):
        line += f"   ({trouble}{throttled} throttled)"
    return line


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    require_prices()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tilt-bench-slack-") as tmp:
        configured = os.environ.get("REDIS_URL")
        embedded = None if configured else EmbeddedRedis(Path(tmp) / "redis")
        redis_url = configured or embedded.url
        fresh = Fresh(redis_url)
        try:
            with RecordingStandIn() as slack:
                tilt = Tilt(slack, redis_url, PRICES_DIR, Path(tmp) / "tilt")
                try:
                    run(tilt, slack, fresh, redis_url, "REDIS_URL" if configured else "embedded redis-server (temp dir)")
                finally:
                    tilt.stop()
        finally:
            fresh.close()
            if embedded is not None:
                embedded.close()
    print(f"\n(bench ran {time.monotonic() - began:.0f} s)")
    return 0


def run(tilt: Tilt, slack: RecordingStandIn, fresh: Fresh, redis_url: str, redis_label: str) -> None:
    sender = Sender(tilt, slack)
    print(f"Tilt over HTTP: `bot.py serve` (waitress, WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '1')}) "
          "-> stand-in Slack Web API in this process")
    print(f"prices: {PRICES_DIR} (CSV folder) | Redis: {redis_label} | {os.cpu_count()} CPUs")
    print(f"warm-up: /compare {len(WARM_COMMANDS)} pairs over max, one at a time: {warm_up(sender):.1f} s")

    print(f"\n1. Ack latency: signed POST /slack/events -> HTTP 200, {ACK_REQUESTS} warm /compare per level")
    print("  (server: acks produced by the WSGI app itself, from /metrics tilt_ack_seconds: share within 100 ms, and")
    print("   the histogram bucket holding its p99; the rest of the client's figure is waitress's queue and the network;")
    print("   all posted: from the level's first send to its last chat.postMessage)")
    for paused in (False, True):
        print("  a) the worker running beside the server, on the same 2 CPUs" if not paused else
              "  b) the worker paused while a level is sent (rq suspend), as with workers on other machines; "
              "it drains the queue afterwards")
        report_acks(ack_latency(sender, tilt, slack, redis_url, paused=paused))
    run_rest(tilt, slack, sender, fresh)


def report_acks(rows: list[dict]) -> None:
    print("  concurrent   p50 ms   p99 ms   max ms   non-200  throttled   server <=100ms  server p99   sending s  all posted s")
    for r in rows:
        bound = "n/a" if r["server_p99"] != r["server_p99"] else f"<={r['server_p99']:.0f} ms"
        line = (f"  {r['level']:>10}  {ms(r['p50'])}  {ms(r['p99'])}  {ms(r['max'])}   {r['failed']:>7}  {r['throttled']:>9}"
                f"   {r['server_within'] * 100:>13.0f}%  {bound:>10}   {r['send_s']:>9.2f}  {r['drain_s']:>12.2f}")
        if r["unposted"]:
            line += f"   ({r['unposted']} not posted: {r['problems']})"
        print(line)
    at_50 = next(r for r in rows if r["level"] == 50)
    print(f"  target: ack p99 <= {TARGET_ACK_P99_MS:.0f} ms at 50 concurrent -> {at_50['p99']:.1f} ms, "
          f"{verdict(at_50['p99'] <= TARGET_ACK_P99_MS)}")


def run_rest(tilt: Tilt, slack: RecordingStandIn, sender: Sender, fresh: Fresh) -> None:
    cold_data = cold_data_commands(fresh)
    print("\n2. Request -> result posted (chat.postMessage) and chart done (files.completeUploadExternal), one at a time")
    print("  case                         n   posted p50     p90   chart p50     p90    ack p50   (ms)")
    cold_data_sents = time_to_post(sender, cold_data)
    cold_reply = cold_reply_commands(fresh)
    cold_reply_sents = time_to_post(sender, cold_reply)
    repeated = cold_reply or WARM_COMMANDS  # (an external Redis that has seen every combination already)
    warm_texts = [repeated[i % len(repeated)] for i in range(WARM_REPLY_RUNS)]
    warm_sents = time_to_post(sender, warm_texts)
    print(report_latency("cold reply, cold data", cold_data_sents))
    print(report_latency("cold reply, warm data", cold_reply_sents))
    print(report_latency("warm reply (cache hit)", warm_sents))
    warm_p50 = pct([s.posted_ms for s in warm_sents], 50)
    print(f"  cold data: /compare NEW SPY 10y, NEW never fetched before ({', '.join(t.split()[0] for t in cold_data)})")
    print(f"  cold reply, warm data: {len(cold_reply)} warmed pairs over periods never asked (1y..20y);"
          " warm reply: those again")
    print(f"  target: warm result posted <= {TARGET_WARM_POSTED_P50_MS:.0f} ms p50 -> {warm_p50:.1f} ms, "
          f"{verdict(warm_p50 <= TARGET_WARM_POSTED_P50_MS)}")
    slack.forget()

    print(f"\n3. Sustained: {SUSTAINED_COMMANDS} warm /compare from {SUSTAINED_WORKERS} senders (next one as soon as acked)")
    s = sustained(sender)
    print(f"  {s['posted']}/{SUSTAINED_COMMANDS} posted in {s['span']:.2f} s: {s['rate']:.1f} results posted/s "
          f"({s['chart_rate']:.1f} charts/s); ack p50 {s['ack_p50']:.1f} ms, p99 {s['ack_p99']:.1f} ms; "
          f"request -> posted p50 {s['posted_p50']:.0f} ms, p90 {s['posted_p90']:.0f} ms")
    print(f"  throttled: {s['throttled']}, non-200 acks: {s['failed']}"
          + (f"; {s['problems']}" if s["problems"] else ""))
    slack.forget()
    report_log(tilt.log.read_text(errors="replace"))


def report_log(log: str) -> None:
    """How much the server logged: waitress's queue-depth warnings counted, anything else shown (a few)."""
    lines = log.strip().splitlines()
    queue = [line for line in lines if "waitress.queue" in line and "Task queue depth" in line]
    other = [line for line in lines if line not in queue and "Tilt listening" not in line]
    print(f"\nserver log: {len(queue)} waitress 'Task queue depth' warnings, {len(other)} other lines")
    for line in other[:8]:
        print(f"  {line[:200]}")


if __name__ == "__main__":
    sys.exit(main())
