"""A team's home page (Slack's App Home tab): the watchlist, open calls, the live signals, the next digest.

Platform-neutral: ``build`` returns a ``Home``, a title and sections that are
ordinary ``Reply`` values (headline, table, notes, buttons), which an adapter
lays out on its own surface.  Each section stands alone: one that cannot be
read just now (the data source down, storage unavailable) says so in a line
and the others still show.  No PNG is drawn here, so the page builds quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

from analysis.named_signals import SIGNALS
from errors import TiltError
from handlers import calls, compare, signal
from handlers.catalog import listed
from handlers.common.caller import Caller
from handlers.common.format import percent
from handlers.common.parse import DEFAULT_BENCHMARK
from handlers.common.reply import Action, Reply, Table, channel_mention
from handlers.common.services import Services
from handlers.common.snapshot import recent_closes, returns_table
from market.timing import Schedule, next_due

HORIZONS = ("1d", "1w", "1m", "3m", "ytd", "1y")
MAX_WATCHED = 20
MAX_BUTTONS = 8
TITLE = "Tilt: your team's market view"


@dataclass(frozen=True)
class Home:
    title: str
    sections: tuple[Reply, ...]


def build(services: Services, caller: Caller, member_of: Collection[str]) -> Home:
    """The home page ``caller`` sees: their team's figures, with the watchlists of the channels they belong to
    (``member_of``, channel ids) and their own."""
    watched = watched_tickers(services, caller, member_of)
    team = tuple(_section(name, lambda make=make: make(services, caller, watched)) for name, make in (
        ("Watchlist", watchlist_section), ("Calls", calls_section), ("Signals", signals_section),
        ("Digest", digest_section), ("Compare", compare_section)))
    return Home(title=TITLE, sections=(*team, *shortcut_sections()))


def watched_tickers(services: Services, caller: Caller, member_of: Collection[str]) -> list[str]:
    """What the person watches: the watchlists of the channels they belong to and their own, in the order they
    were added, at most ``MAX_WATCHED``.  Other people's lists, and channels the person is not in (a private
    channel's tickers included), stay out."""
    try:
        lists = services.store.team_watchlists(caller.platform, caller.team)
    except TiltError:
        return []
    seen = {f"user:{caller.user}", *(f"channel:{channel}" for channel in member_of)}
    shared = [t for scope, tickers in lists.items() if scope in seen for t in tickers]
    return list(dict.fromkeys(shared))[:MAX_WATCHED]


def watchlist_section(services: Services, caller: Caller, watched: list[str]) -> Reply:
    if not watched:
        return Reply(text="*Watchlist*: empty. Add tickers with `/watchlist add SMH SOXX IWM` in a channel.")
    closes, missing = recent_closes(services, watched)
    return Reply(text=f"*Watchlist* ({len(closes.columns)} tickers), total returns with dividends reinvested",
                 table=returns_table(closes, HORIZONS),
                 notes=(f"No prices for {', '.join(missing)}.",) if missing else (),
                 footer=f"as of {closes.index[-1]:%Y-%m-%d} · source: {services.source_label()}")


def calls_section(services: Services, caller: Caller, watched: list[str]) -> Reply:
    """The team's calls as ``/calls`` shows them (open first, hit rates), without its chart."""
    listed = calls.list_calls("", services, caller)
    return Reply(text=listed.text, table=listed.table, notes=listed.notes, footer=listed.footer)


def signals_section(services: Services, caller: Caller, watched: list[str]) -> Reply:
    """Each named signal: leading or lagging, since when, how far from its 200-day average."""
    readings = [signal.current(services, name) for name in SIGNALS]
    rows = ((r.name, f"{r.spec.a} vs {r.spec.b}", r.state, r.since.isoformat(), (str(r.sessions), r.sessions),
             (percent(r.vs_average, signed=True), r.vs_average)) for r in readings)
    return Reply(text="*Signals*: ratio vs its 200-day average",
                 table=Table.of(("Signal", "Pair", "Regime", "Since", "Sessions", "vs 200d"), rows),
                 footer=f"as of {max(r.as_of for r in readings)} · source: {services.source_label()}",
                 actions=tuple(Action(f"Signal card: {name}", f"/signal {name}") for name in SIGNALS))


def digest_section(services: Services, caller: Caller, watched: list[str]) -> Reply:
    """When the team's next digest is due, and where."""
    now = services.market.now()
    upcoming = sorted((when, s) for s in services.store.all_subscriptions(caller.platform, caller.team)
                      if (when := next_due(Schedule.from_dict(s.schedule), now)) is not None)
    if not upcoming:
        return Reply(text="*Digest*: none scheduled. Schedule one in a channel with `/digest weekdays 08:30`.")
    when, first = upcoming[0]
    return Reply(text=f"*Next digest*: {when:%a %d %b %H:%M %Z} in {channel_mention(first.channel)}"
                      f" ({Schedule.from_dict(first.schedule).describe()})",
                 notes=(f"{len(upcoming)} digests scheduled in this workspace.",) if len(upcoming) > 1 else ())


def compare_section(services: Services, caller: Caller, watched: list[str]) -> Reply:
    """Buttons that run a compare (the watchlist's, then /compare's declared shortcuts); the answer arrives in
    the person's direct messages with Tilt."""
    mine = [Action(f"{t} vs {DEFAULT_BENCHMARK} 1y", f"/compare {t} vs {DEFAULT_BENCHMARK} 1y")
            for t in watched if t != DEFAULT_BENCHMARK]
    buttons = {action.command: action for action in (*mine, *compare.COMMAND.shortcuts)}
    return Reply(text="*Compare*: one click, answered in your messages with Tilt",
                 actions=tuple(buttons.values())[:MAX_BUTTONS])


def shortcut_sections() -> tuple[Reply, ...]:
    """One section of buttons per other command that declares shortcuts (a backtest of a tilt, the cycle
    lens...); the answers arrive in the person's messages with Tilt."""
    return tuple(Reply(text=f"*/{command.name}*: {command.summary}, answered in your messages with Tilt",
                       actions=command.shortcuts[:MAX_BUTTONS])
                 for command in listed() if command.shortcuts and command.name != compare.COMMAND.name)


def _section(name: str, make: Callable[[], Reply]) -> Reply:
    """``make()``, or a line saying this part cannot be shown now (the rest of the page still can)."""
    try:
        return make()
    except TiltError as error:
        return Reply(text=f"*{name}*: not available just now ({error}).")
