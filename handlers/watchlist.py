"""/watchlist: the conversation's list of tickers to follow, with their recent returns.

A watchlist belongs to a channel; in a direct message it is the person's own.
"""

from __future__ import annotations

from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.parse import parse_ticker
from handlers.common.reply import Action, Reply
from handlers.common.services import Services
from handlers.common.snapshot import check_tickers, left_out_note, recent_chart, recent_closes, returns_table
from store.teamdata import MAX_WATCHLIST

USAGE = "/watchlist [add|remove TICKER ...]"
HORIZONS = ("1d", "1w", "1m", "3m", "ytd", "1y")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    verb, *words = text.split() or ["show"]
    verb = verb.lower()
    if verb == "show" and not words:
        return show(services, caller)
    if verb not in ("add", "remove"):
        raise BadRequest(f"`{verb}` is not a watchlist action: use `add`, `remove`, or nothing to show the list.")
    tickers = [parse_ticker(w) for w in " ".join(words).replace(",", " ").split()]
    if not tickers:
        raise BadRequest(f"Name the tickers to {verb}, e.g. `/watchlist {verb} SMH`.")
    return add(services, caller, tickers) if verb == "add" else remove(services, caller, tickers)


def add(services: Services, caller: Caller, tickers: list[str]) -> Reply:
    if len(set(tickers)) > MAX_WATCHLIST:
        raise BadRequest(f"A watchlist holds at most {MAX_WATCHLIST} tickers.")
    check_tickers(services, tickers)  # one unknown ticker refuses the lot
    new, whole = services.store.add_to_watchlist(caller.owner, tickers)
    added = f"Added {', '.join(new)}." if new else "Those were already on the watchlist."
    return Reply(text=f"{added} The watchlist now has {len(whole)}: {', '.join(whole)}.", ephemeral=True)


def remove(services: Services, caller: Caller, tickers: list[str]) -> Reply:
    gone, left = services.store.remove_from_watchlist(caller.owner, tickers)
    removed = f"Removed {', '.join(gone)}." if gone else f"{', '.join(tickers)} {'was' if len(tickers) == 1 else 'were'} not on the watchlist."
    remaining = f"{len(left)} left: {', '.join(left)}." if left else "The watchlist is empty."
    return Reply(text=f"{removed} {remaining}", ephemeral=True)


def show(services: Services, caller: Caller) -> Reply:
    tickers = services.store.watchlist(caller.owner)
    if not tickers:
        return Reply(text="The watchlist is empty. Add tickers with `/watchlist add SMH SOXX IWM`.", ephemeral=True)
    closes, missing = recent_closes(services, tickers)
    end = closes.index[-1]
    return Reply(
        text=f"*Watchlist* ({len(closes.columns)} tickers), total returns with dividends reinvested"
        + (" (demo data, not real prices)" if services.market.is_demo else ""),
        table=returns_table(closes, HORIZONS),
        notes=(*left_out_note(list(closes.columns), None), *((f"No prices for {', '.join(missing)}.",) if missing else ())),
        footer=f"as of {end:%Y-%m-%d} · source: {services.source_label()}",
        chart=recent_chart(services, closes, "Watchlist · 3 months", benchmark=None),
        actions=tuple(Action(f"{t} vs SPY", f"/compare {t} vs SPY 1y") for t in list(closes.columns)[:5] if t != "SPY"),
    )


COMMAND = Command(
    name="watchlist",
    summary="This channel's watchlist and its returns; add or remove tickers",
    usage=USAGE,
    examples=("/watchlist add SMH SOXX IWM", "/watchlist remove SOXX", "/watchlist"),
    guide=(
        "The conversation's tickers to follow (a channel's, or your own in a direct message), up to "
        '50, with 1d, 1w, 1m, 3m, YTD and 1y total returns and a 3-month chart.'
    ),
    handle=handle,
    options=(
        Option("action", Kind.CHOICE, "Change the list (leave out to show it)", choices=(("add", "add"), ("remove", "remove"))),
        Option("tickers", Kind.TICKERS, "One or more tickers, e.g. SMH or IJR IWM"),
    ),
)
