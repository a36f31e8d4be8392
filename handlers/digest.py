"""/digest: schedule the conversation's market digest, and the digest itself.

    /digest daily 08:30 America/New_York     every trading day (also: weekdays)
    /digest weekly mon 08:00 Europe/London   once a week
    /digest off | status | now               stop, show the schedule, post one right away

The digest: a market snapshot (``SNAPSHOT`` plus the watchlist: last close and
1d, 1w, 1m, YTD total returns), the biggest movers, technical signals
(``analysis.signals``), valuation gaps against SPY where fundamentals are
known, the team's signals (true / false) and those that flipped since the
last digest, a three-month chart, and buttons that compare a ticker with SPY.
"Since the last digest": on a close after the previous due time of the
conversation's schedule (without one, after the close before the last).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from analysis.returns import trailing_returns
from analysis.rules import Evaluation
from analysis.signals import latest_signals
from errors import BadRequest, DataUnavailable
from handlers.calls import open_call_lines
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.format import NOT_AVAILABLE, multiple, percent
from handlers.common.reply import Action, Reply
from handlers.common.services import Services
from handlers.common.snapshot import left_out_note, recent_chart, recent_closes, returns_table
from handlers.common.team_signals import readings, state_word, team_signals
from market.calendar import NEW_YORK
from market.provider import Fundamentals
from market.timing import WEEKDAYS, Schedule, latest_due, next_due
from store.teamdata import Owner

USAGE = "/digest daily|weekdays HH:MM [TIMEZONE] · /digest weekly DAY HH:MM [TIMEZONE] · /digest off|status|now"
SNAPSHOT = ("SPY", "QQQ", "IWM", "IJR", "SMH")
BENCHMARK = "SPY"
HORIZONS = ("1d", "1w", "1m", "ytd")
DEFAULT_TZ = "America/New_York"
MOVERS = 3
SIGNAL_WORDS = {
    "new_high": "New 52-week highs", "new_low": "New 52-week lows",
    "above_50": "Crossed above the 50-day average", "below_50": "Crossed below the 50-day average",
    "above_200": "Crossed above the 200-day average", "below_200": "Crossed below the 200-day average",
    "rs_up": f"Relative strength vs {BENCHMARK} turning up", "rs_down": f"Relative strength vs {BENCHMARK} turning down",
}
CLOSE = dt.time(16, 0)  # a close's instant, New York time, against which "since the last digest" is read
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    words = text.split()
    verb = words[0].lower() if words else "status"
    if verb == "status" and len(words) <= 1:
        return status(services, caller)
    if verb == "off" and len(words) == 1:
        stopped = services.store.unsubscribe(caller.owner)
        return Reply(text="Digest stopped." if stopped else "There was no digest scheduled here.", ephemeral=True)
    if verb == "now" and len(words) == 1:
        return build(services, services.store.watchlist(caller.owner), owner=caller.owner)
    schedule = parse_schedule(words)
    if caller.platform == "console":
        raise BadRequest("Scheduled digests are posted to Slack or Discord channels; here, use `/digest now`.")
    services.store.subscribe(caller.owner, caller.channel, schedule.to_dict())
    upcoming = next_due(schedule, services.market.now())
    when = f" The next one is due {upcoming:%a %d %b %H:%M %Z}." if upcoming else ""
    return Reply(text=f"Digest scheduled {schedule.describe()}.{when}", ephemeral=True)


def parse_schedule(words: list[str]) -> Schedule:
    """``["weekly", "mon", "08:00", "Europe/London"]`` -> ``Schedule``; ``BadRequest`` says what is wrong."""
    kind, *rest = words
    kind = kind.lower()
    if kind not in ("daily", "weekdays", "weekly"):
        raise BadRequest(f"`{kind}` is not a digest schedule: use daily, weekdays, weekly, off, status or now.")
    weekday = None
    if kind == "weekly":
        if not rest or rest[0].lower()[:3] not in WEEKDAYS:
            raise BadRequest("Say which day for a weekly digest, e.g. `/digest weekly mon 08:00 Europe/London`.")
        weekday, rest = WEEKDAYS.index(rest[0].lower()[:3]), rest[1:]
    if not rest or not _TIME.match(rest[0]):
        raise BadRequest("Give the time as HH:MM on a 24-hour clock, e.g. `08:30`.")
    hour, minute = _TIME.match(rest[0]).groups()
    if len(rest) > 2:
        raise BadRequest(f"I don't understand `{' '.join(rest[2:])}` after the time zone.")
    tz = rest[1] if len(rest) == 2 else DEFAULT_TZ
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"`{tz}` is not a time zone; use a name like America/New_York or Europe/London.") from None
    return Schedule(kind=kind, at=f"{int(hour):02d}:{minute}", tz=tz, weekday=weekday)


def status(services: Services, caller: Caller) -> Reply:
    subscription = services.store.subscription(caller.owner)
    watchlist = services.store.watchlist(caller.owner)
    follows = f"It covers {', '.join(SNAPSHOT)}" + (f" and the watchlist ({len(watchlist)})." if watchlist else ".")
    if subscription is None:
        return Reply(text=f"No digest is scheduled here. {follows}", usage=USAGE, ephemeral=True)
    schedule = Schedule.from_dict(subscription.schedule)
    upcoming = next_due(schedule, services.market.now())
    when = f" Next: {upcoming:%a %d %b %H:%M %Z}." if upcoming else ""
    return Reply(text=f"Digest scheduled {schedule.describe()}.{when} {follows}", ephemeral=True)


def build(services: Services, watchlist: list[str], late: dt.timedelta | None = None, owner: Owner | None = None) -> Reply:
    """The digest for a conversation with ``watchlist``; ``late`` marks a digest posted after its time;
    ``owner`` adds a line with its team's open calls (``/call``)."""
    tickers = list(dict.fromkeys([*SNAPSHOT, *watchlist]))
    closes, missing = recent_closes(services, tickers)
    returns = trailing_returns(closes)
    end = closes.index[-1]
    notes = [*_signal_lines(closes), *_valuation_lines(services, list(closes.columns)),
             *left_out_note(list(closes.columns), BENCHMARK)]
    if owner is not None:
        notes.extend(open_call_lines(services, owner))
        notes.extend(team_signal_lines(services, owner))
    if missing:
        notes.append(f"No prices for {', '.join(missing)}.")
    lateness = f" (late: posted {_duration(late)} after its time)" if late else ""
    demo = " (demo data, not real prices)" if services.market.is_demo else ""
    return Reply(
        text=f"*Market digest* for {end:%a %d %b %Y}{lateness}{demo}",
        table=returns_table(closes, HORIZONS),
        takeaway=_movers(returns["1d"]),
        notes=tuple(notes),
        footer=f"total returns with dividends reinvested · as of {end:%Y-%m-%d} · source: {services.source_label()}",
        chart=recent_chart(services, closes, "Market digest · 3 months", benchmark=BENCHMARK),
        actions=tuple(Action(f"{t} vs {BENCHMARK}", f"/compare {t} vs {BENCHMARK} 1y")
                      for t in [*watchlist, *SNAPSHOT] if t != BENCHMARK and t in closes.columns)[:5],
    )


def team_signal_lines(services: Services, owner: Owner) -> list[str]:
    """The team's signals, true and false, and the flips on closes after the last digest."""
    signals = team_signals(services, owner)
    found = readings(services, [s.rule for s in signals])
    read = [(s.name, e) for s in signals if isinstance(e := found[s.rule], Evaluation)]
    if not read:
        return []
    groups = {word: [name for name, e in read if state_word(e.now) == word] for word in ("true", "false")}
    lines = ["Signals " + " · ".join(f"{word}: {', '.join(names)}" for word, names in groups.items() if names) + "."]
    since = _last_digest(services, owner, read[0][1])
    flipped = [f"{name} → {state_word(state)} on {day}" for name, e in read for day, state in e.last_flips()
               if dt.datetime.combine(day, CLOSE, NEW_YORK) > since]
    when = f"{since.astimezone(NEW_YORK):%a %d %b %H:%M} New York"
    lines.append(f"Flipped since the last digest ({when}): {'; '.join(flipped)}." if flipped
                 else f"No signal flipped since the last digest ({when}).")
    return lines


def _last_digest(services: Services, owner: Owner, evaluation: Evaluation) -> dt.datetime:
    """When the conversation's previous digest was due; without a schedule, the close before the last one."""
    subscription = services.store.subscription(owner)
    now = services.market.now()
    if subscription is not None:
        schedule = Schedule.from_dict(subscription.schedule)
        current = latest_due(schedule, now)
        previous = latest_due(schedule, current - dt.timedelta(minutes=1)) if current else None
        if previous is not None:
            return previous
    before = evaluation.dates[-2] if len(evaluation.dates) > 1 else evaluation.dates[-1]
    return dt.datetime.combine(before.date(), CLOSE, NEW_YORK)


def _movers(day: pd.Series) -> str:
    ranked = day.dropna().sort_values(ascending=False)
    if ranked.empty:
        return ""
    up = [f"{t} {percent(v, signed=True)}" for t, v in ranked.head(MOVERS).items() if v > 0]
    down = [f"{t} {percent(v, signed=True)}" for t, v in ranked.tail(MOVERS)[::-1].items() if v < 0]
    parts = [f"up: {', '.join(up)}" if up else "", f"down: {', '.join(down)}" if down else ""]
    return "Biggest movers on the day, " + "; ".join(p for p in parts if p) + "." if any(parts) else "No movers: prices were flat."


def _signal_lines(closes: pd.DataFrame) -> list[str]:
    if BENCHMARK not in closes.columns:
        return []
    signals = latest_signals(closes.ffill().dropna(how="all"), BENCHMARK)
    return [f"{words}: {', '.join(signals.index[signals[name]])}." for name, words in SIGNAL_WORDS.items()
            if signals[name].any()]


def _valuation_lines(services: Services, tickers: list[str]) -> list[str]:
    """One line of P/E gaps to SPY for the tickers with known figures, each figure with its own as-of date (one
    date for all when they share it: P/E figures are often months older than the prices above them); nothing
    when the source has none."""
    try:
        facts = services.market.fundamentals(tickers)
    except DataUnavailable:
        return []
    benchmark = facts.get(BENCHMARK)
    if benchmark is None or not benchmark.trailing_pe:
        return []
    known = {t: f for t, f in facts.items() if t != BENCHMARK and f.trailing_pe and f.trailing_pe > 0}
    if not known:
        return []
    dates = {f.as_of for f in (benchmark, *known.values())}

    def dated(fact: Fundamentals) -> str:
        return "" if len(dates) == 1 else f", as of {fact.as_of or NOT_AVAILABLE}"

    gaps = [f"{t} {multiple(f.trailing_pe)} ({percent(f.trailing_pe / benchmark.trailing_pe - 1, 0, signed=True)}"
            f"{dated(f)})" for t, f in known.items()]
    shared = f" (P/E as of {dates.pop() or NOT_AVAILABLE})" if len(dates) == 1 else ""
    return [f"Trailing P/E vs {BENCHMARK} at {multiple(benchmark.trailing_pe)}"
            + (f" as of {benchmark.as_of or NOT_AVAILABLE}" if not shared else "")
            + f"{shared}: {', '.join(gaps)}."]


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


COMMAND = Command(
    name="digest",
    summary="A market digest posted here on a schedule (daily, weekdays, weekly, off, status, now)",
    usage=USAGE,
    examples=(
        "/digest daily 08:30 America/New_York",
        "/digest weekly mon 08:00 Europe/London",
        "/digest status",
        "/digest now",
        "/digest off",
    ),
    guide=(
        'A market digest posted here on a schedule: SPY, QQQ, IWM, IJR, SMH and the watchlist, '
        'movers, 52-week highs and lows, moving-average crosses, relative strength turns and '
        'valuation gaps. Daily digests skip days the New York Stock Exchange is closed; times follow '
        "the time zone's clock through daylight-saving changes."
    ),
    handle=handle,
    options=(
        Option("schedule", Kind.TEXT, "daily|weekdays HH:MM [TZ], weekly DAY HH:MM [TZ], off, status (default) or now"),
    ),
)
