"""/call and /calls: the team's recorded calls, their performance since entry, and each person's hit rate.

    /call IWM over SPY until 2026-06-30 [note]     IWM to beat SPY until that date
    /call SMH until 2026-12-31 [note]              the same against SPY
    /call cancel 7                                  withdraw call #7 (its author only)
    /calls                                          open and closed calls, performance, hit rates

Conventions (daily ``Adj Close``, dividends reinvested):

* **Entry**: the last close both tickers share when the call is made.
* **Performance since entry**: the relative return ``(1 + r_a) / (1 + r_b) - 1``
  from the entry closes to the latest shared close on or before ``until``
  (so, once expired, the expiry close).
* **Resolution**: on the first market day after ``until`` the call closes at
  the last shared close on or before ``until``; it is a *hit* when the
  relative return is above zero.  ``schedule.watch`` does this and posts the
  result in the call's thread.
* **Hit rate**: hits / closed calls, per author.
* **Cancelled**: its author may withdraw an open call; it is then neither
  resolved nor scored, and ``/calls`` lists it as cancelled without a figure.
  (Nobody else may: a workspace admin is not told apart from anyone else here.)
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from errors import BadRequest, TiltError
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.format import percent
from handlers.common.parse import DEFAULT_BENCHMARK, parse_ticker
from handlers.common.plots import bars
from handlers.common.prices import RECENT, last_closes
from handlers.common.reply import Cell, Reply, Table, mention
from handlers.common.services import Services
from market.calendar import market_today
from store.teamdata import Owner

USAGE = "/call TICKER [over BENCH] until YYYY-MM-DD [note] · /call cancel N · /calls"
LIST_USAGE = "/calls"
MAX_YEARS = 5
MAX_NOTE = 300
COLUMNS = ("#", "Call", "By", "Entry", "Until", "Since entry", "Status")
NOT_SCORED = "–"  # a cancelled call's figure


def handle(text: str, services: Services, caller: Caller) -> Reply:
    verb, _, number = text.strip().partition(" ")
    if verb.lower() == "cancel":
        return cancel(services, caller, number.strip().lstrip("#"))
    a, b, until, note = parse_call(text)
    today = market_today(services.market.now())
    if until <= today:
        raise BadRequest(f"`until` must be a future date; {until} is not after {today}.")
    if until > today + dt.timedelta(days=366 * MAX_YEARS):
        raise BadRequest(f"A call runs at most {MAX_YEARS} years.")
    entry = last_closes(services, [a, b], today)
    entry_date, entry_a, entry_b = entry.name.date(), float(entry[a]), float(entry[b])
    call = services.store.add_call(caller.owner, {
        "author": caller.user, "a": a, "b": b, "until": until.isoformat(), "note": note, "channel": caller.channel,
        "created_at": time.time(), "entry_date": entry_date.isoformat(), "entry_a": entry_a, "entry_b": entry_b,
        "status": "open"})
    return Reply(
        text=f"*Call #{call['id']}* by {mention(caller.user)}: {a} over {b} until {until}",
        takeaway=f"Entry {entry_date}: {a} {entry_a:,.2f}, {b} {entry_b:,.2f}. It resolves after {until}'s close; "
                 f"a hit if {a} beats {b} (total return) by then.",
        notes=((f"Note: {note}",) if note else ()) + ((
            f"The latest common close in {services.source_label()} is {entry_date}, so that is the entry.",)
            if today - entry_date > RECENT else ()),
        footer=f"as of {entry_date} · source: {services.source_label()} · `/calls` for every call and hit rates",
        track=f"call:{call['id']}",
    )


def cancel(services: Services, caller: Caller, number: str) -> Reply:
    """Withdraw open call ``number``; only its author may."""
    if not number.isdigit():
        raise BadRequest("Say which call to cancel by its number, e.g. `/call cancel 3` (`/calls` lists them).")
    call = services.store.call(caller.owner, number)
    if call is None:
        raise BadRequest(f"There is no call #{number} here; `/calls` lists them.")
    if call["author"] != caller.user:
        raise BadRequest(f"Only {mention(call['author'])}, who made call #{number}, can cancel it.")
    if call["status"] != "open":
        raise BadRequest(f"Call #{number} is already {call['status']}.")
    if not services.store.replace_open_call(caller.owner, {**call, "status": "cancelled", "cancelled_at": time.time()}):
        raise BadRequest(f"Call #{number} was resolved just now, so it can no longer be cancelled; `/calls` shows it.")
    return Reply(text=f"*Call #{number}* ({call['a']} over {call['b']}) is cancelled: it will not be resolved or "
                      "counted in hit rates.")


def parse_call(text: str) -> tuple[str, str, dt.date, str]:
    """``"IWM over SPY until 2026-06-30 note"`` -> ``("IWM", "SPY", date(2026, 6, 30), "note")``."""
    words = text.split()
    if len(words) < 3:
        raise BadRequest("Say what beats what until when, e.g. `/call IWM over SPY until 2026-06-30 small caps catch up`.")
    a = parse_ticker(words[0])
    rest = words[1:]
    b = DEFAULT_BENCHMARK
    if rest[0].lower() in ("over", "vs"):
        if len(rest) < 2:
            raise BadRequest("Name the ticker after `over`.")
        b, rest = parse_ticker(rest[1]), rest[2:]
    if len(rest) < 2 or rest[0].lower() != "until":
        raise BadRequest("Give the end date as `until YYYY-MM-DD`.")
    try:
        until = dt.date.fromisoformat(rest[1])
    except ValueError:
        raise BadRequest(f"`{rest[1]}` is not a date; use YYYY-MM-DD.") from None
    if a == b:
        raise BadRequest("A call needs two different tickers.")
    note = " ".join(rest[2:])
    if len(note) > MAX_NOTE:
        raise BadRequest(f"Keep the note under {MAX_NOTE} characters.")
    return a, b, until, note


def last_common_close(services: Services, call: dict[str, Any], end: dt.date) -> tuple[dt.date, float, float]:
    """The last date from the call's entry to ``end`` on which both its tickers have a close, and the two closes."""
    closes = last_closes(services, [call["a"], call["b"]], end, since=dt.date.fromisoformat(call["entry_date"]))
    return closes.name.date(), float(closes[call["a"]]), float(closes[call["b"]])


def relative(call: dict[str, Any], close_a: float, close_b: float) -> float:
    return (close_a / call["entry_a"]) / (close_b / call["entry_b"]) - 1.0


def performance(services: Services, call: dict[str, Any]) -> tuple[dt.date, float]:
    """(as of, relative return since entry): the stored result of a closed call, else on the latest closes
    up to its ``until`` date (a call past expiry that the watcher has not closed yet reads as it will close)."""
    if call["status"] == "closed":
        return dt.date.fromisoformat(call["exit_date"]), call["relative"]
    end = min(market_today(services.market.now()), dt.date.fromisoformat(call["until"]))
    day, close_a, close_b = last_common_close(services, call, end)
    return day, relative(call, close_a, close_b)


def is_due(services: Services, call: dict[str, Any]) -> bool:
    """Whether the watcher has work on ``call``: open past its date, or closed and not yet announced (the post failed)."""
    if call["status"] == "closed":
        return not call.get("announced", True)  # calls closed before this flag existed were announced
    return call["status"] == "open" and market_today(services.market.now()) > dt.date.fromisoformat(call["until"])


def resolve(services: Services, call: dict[str, Any]) -> dict[str, Any]:
    """The call closed at the last shared close on or before ``until``, not yet announced (not stored: the caller
    does that)."""
    day, close_a, close_b = last_common_close(services, call, dt.date.fromisoformat(call["until"]))
    result = relative(call, close_a, close_b)
    return {**call, "status": "closed", "exit_date": day.isoformat(), "exit_a": close_a, "exit_b": close_b,
            "relative": result, "hit": result > 0, "closed_at": time.time(), "announced": False}


def result_reply(call: dict[str, Any]) -> Reply:
    """What Tilt posts in the call's thread when it resolves."""
    verdict = "a hit" if call["hit"] else "a miss"
    return Reply(
        text=f"*Call #{call['id']} resolved: {verdict}.* {call['a']} vs {call['b']} "
             f"{percent(call['relative'], signed=True)} from {call['entry_date']} to {call['exit_date']}.",
        notes=(f"{call['a']} {call['entry_a']:,.2f} → {call['exit_a']:,.2f}, {call['b']} {call['entry_b']:,.2f} → "
               f"{call['exit_b']:,.2f} · called by {mention(call['author'])}",),
    )


def list_calls(text: str, services: Services, caller: Caller) -> Reply:
    if text.strip():
        raise BadRequest("`/calls` takes nothing after it.")
    calls = services.store.calls(caller.owner)
    if not calls:
        return Reply(text="No calls yet. Make one with `/call IWM over SPY until 2026-12-31`.", ephemeral=True)
    ordered = [c for c in calls if c["status"] == "open"] + [c for c in calls if c["status"] != "open"]
    rows, as_of, results = [], [], []
    for call in ordered:
        since_entry: Cell = NOT_SCORED
        if call["status"] != "cancelled":
            day, result = performance(services, call)
            as_of.append(day)
            results.append(result)
            since_entry = (percent(result, signed=True), result)
        rows.append(((f"#{call['id']}", int(call["id"])), f"{call['a']} over {call['b']}", call["author"],
                     call["entry_date"], call["until"], since_entry, status(call)))
    counts = {state: sum(c["status"] == state for c in calls) for state in ("open", "closed", "cancelled")}
    notes = [f"Hit rate (closed calls): {line}" for line in hit_rate_lines(calls)]
    notes += [f"#{c['id']}: {c['note']}" for c in ordered if c.get("note")][:8]
    scored = [c for c in ordered if c["status"] != "cancelled"]
    return Reply(
        text="*Team calls*: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n or state != "cancelled"),
        table=Table.of(COLUMNS, rows),
        takeaway="Since entry: relative total return (1 + r) / (1 + r_bench) − 1, to the latest close "
                 "or to the expiry close once closed.",
        notes=tuple(notes),
        footer=(f"as of {max(as_of)} · " if as_of else "") + f"source: {services.source_label()}",
        plots=bars("Calls: relative return since entry", [f"#{c['id']} {c['a']}/{c['b']}"[:20] for c in scored],
                   {"Since entry": results}, y_label="%", scale=100),
    )


def status(call: dict[str, Any]) -> str:
    """open, hit, miss or cancelled."""
    if call["status"] == "closed":
        return "hit" if call["hit"] else "miss"
    return call["status"]


def hit_rates(calls: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per author: (hits, closed calls)."""
    rates: dict[str, tuple[int, int]] = {}
    for call in calls:
        if call["status"] == "closed":
            hits, total = rates.get(call["author"], (0, 0))
            rates[call["author"]] = (hits + bool(call["hit"]), total + 1)
    return rates


def hit_rate_lines(calls: list[dict[str, Any]]) -> list[str]:
    rates = hit_rates(calls)
    if not rates:
        return ["none closed yet"]
    return [", ".join(f"{mention(a)} {h} of {n} ({percent(h / n, 0)})" for a, (h, n) in sorted(rates.items()))]


def open_call_lines(services: Services, owner: Owner) -> list[str]:
    """One digest line with the team's open calls and how they stand; nothing when there are none or on failure."""
    try:
        calls = [c for c in services.store.calls(owner) if c["status"] == "open"]
        parts = [f"#{c['id']} {c['a']} over {c['b']} {percent(performance(services, c)[1], signed=True)} "
                 f"(until {c['until']})" for c in calls[:10]]
    except TiltError:
        return []
    return [f"Open calls: {'; '.join(parts)}."] if parts else []



CALL = Command(
    name="call",
    summary="Record a team call (e.g. IWM over SPY until a date), or cancel one of yours",
    usage=USAGE,
    examples=(
        "/call IWM over SPY until 2026-12-31 small caps catch up",
        "/call SMH until 2027-03-31",
        "/call cancel 3",
    ),
    guide=(
        "Records a team call with today's closes as entry and you as author: A to beat B (SPY if left out) until "
        "the date. It resolves itself after that day's close (a hit if A's total return beat B's) and Tilt posts "
        "the result in the call's thread. Open calls appear in the digest. Its author may withdraw an open call with "
        "`/call cancel N`: it is then not resolved or counted in hit rates."
    ),
    handle=handle,
    options=(
        Option("ticker", Kind.TICKER, "The ticker you expect to beat the benchmark"),
        Option("cancel", Kind.INTEGER, "The number of your open call to cancel (leave the rest out)", prefix="cancel"),
        Option("benchmark", Kind.BENCHMARK, "To beat (default: SPY)", prefix="vs"),
        Option("until", Kind.TEXT, "The call's end date, YYYY-MM-DD", prefix="until"),
        Option("note", Kind.TEXT, "Why, in a sentence"),
    ),
)
CALLS = Command(
    name="calls",
    summary="Open and closed team calls, performance since entry, hit rates",
    usage=LIST_USAGE,
    examples=("/calls",),
    guide=("Open and closed calls with the relative return since entry (to the expiry close once closed), and each "
           "author's hit rate on closed calls."),
    handle=list_calls,
)
