"""/signal NAME: a signal card the team can vote on and discuss; and the votes cast with its buttons.

    /signal smallcaps      IWM vs SPY: leading or lagging its 200-day average, since when
    /signal semis          SMH vs SPY, the same reading
    /vote CARD agree|disagree   (what the card's buttons run; one vote per person, changeable)

The card is a new message (``Reply.track = "card:<id>"``) so the adapter can
report where it was posted; the watcher (``schedule.watch``) replies in its
thread when the signal flips.  A vote answers with the card again, without a
chart, so the adapter updates the card in place with the new tally.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from analysis.named_signals import SIGNALS, Reading, read
from errors import BadRequest, DataUnavailable
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.format import percent
from handlers.common.reply import Action, Chart, Reply
from handlers.common.services import Services
from handlers.common.snapshot import recent_chart, recent_closes

NAMES = tuple(SIGNALS)  # what /signal takes
USAGE = f"/signal {'|'.join(NAMES)}"
VOTE_USAGE = "/vote CARD agree|disagree"
CHOICES = ("agree", "disagree")
YEARS = 3  # history read for a signal: 200 sessions for the average, the rest for "since when"


def handle(text: str, services: Services, caller: Caller) -> Reply:
    name = text.strip().lower()
    if name not in SIGNALS:
        raise BadRequest(f"There is no signal `{name or '?'}`. Known: {', '.join(SIGNALS)}.")
    reading = current(services, name)
    card = {"id": uuid.uuid4().hex[:10], "signal": name, "state": reading.state, "since": reading.since.isoformat(),
            "sessions": reading.sessions, "vs_average": reading.vs_average, "as_of": reading.as_of.isoformat(),
            "source": services.source_label(), "demo": services.market.is_demo, "created_by": caller.user,
            "channel": caller.channel, "created_at": time.time()}
    services.store.add_card(caller.owner, card)
    spec = reading.spec
    closes, _ = recent_closes(services, [spec.a, spec.b], years=1)
    chart = recent_chart(services, closes, f"Signal {name} · {spec.a} vs {spec.b}", benchmark=spec.b)
    return card_reply(card, {}, chart=chart, new=True)


def current(services: Services, name: str) -> Reading:
    """The signal ``name`` on the latest prices."""
    spec = SIGNALS[name]
    closes, missing = recent_closes(services, [spec.a, spec.b], years=YEARS)
    if missing:
        raise DataUnavailable(f"No recent prices for {', '.join(missing)}, so I can't read the {name} signal.")
    try:
        return read(name, closes)
    except ValueError:
        raise DataUnavailable(f"Not enough history to read the {name} signal.") from None


def sentence(spec_label: str, b: str, state: str, since: str, sessions: int, vs_average: float) -> str:
    where = "above" if vs_average >= 0 else "below"
    return (f"{spec_label} {state} {b} since {since} ({sessions} sessions): the ratio is "
            f"{percent(abs(vs_average))} {where} its 200-day average.")


def card_reply(card: dict[str, Any], votes: dict[str, str], chart: Chart | None = None, new: bool = False) -> Reply:
    """The card: what the signal says and since when, the tally, and the Agree / Disagree buttons.

    ``new``: the card's first posting (tracked, so flips can be announced in its thread).
    """
    spec = SIGNALS[card["signal"]]
    agree = sum(1 for c in votes.values() if c == "agree")
    disagree = sum(1 for c in votes.values() if c == "disagree")
    demo = " (demo data, not real prices)" if card.get("demo") else ""
    return Reply(
        text=f"*Signal: {card['signal']}* · {spec.a} vs {spec.b} is *{card['state']}*{demo}",
        takeaway=sentence(spec.label, spec.b, card["state"], card["since"], card["sessions"], card["vs_average"]),
        notes=(f"Votes: {agree} agree – {disagree} disagree",
               "Discuss in this thread; Tilt replies here when the signal flips."),
        footer=f"as of {card['as_of']} · source: {card['source']} · card {card['id']}",
        chart=chart,
        actions=(Action(f"Agree ({agree})", f"/vote {card['id']} agree"),
                 Action(f"Disagree ({disagree})", f"/vote {card['id']} disagree")),
        track=f"card:{card['id']}" if new else None,
    )


def vote(text: str, services: Services, caller: Caller) -> Reply:
    """``CARD agree|disagree`` from a card's button: record the clicker's vote, answer with the updated card."""
    words = text.split()
    if len(words) != 2 or words[1].lower() not in CHOICES:
        raise BadRequest("A vote is `agree` or `disagree` on a card.")
    card = services.store.card(caller.owner, words[0])
    if card is None:
        raise BadRequest("That signal card is no longer known here; post a new one with `/signal`.")
    votes = services.store.vote(caller.owner, card["id"], caller.user, words[1].lower())
    return card_reply(card, votes)


COMMAND = Command(
    name="signal",
    summary="A signal card to vote on and discuss in its thread (small caps, semis vs SPY)",
    usage=USAGE,
    examples=("/signal smallcaps", "/signal semis"),
    guide=(
        "Posts a signal card: whether the signal is leading or lagging and since when, a chart, and Agree / "
        "Disagree buttons (one vote per person; click the other to change it; the card shows the tally). "
        "`smallcaps` is IWM vs SPY, `semis` SMH vs SPY: leading while the ratio is above its 200-day average. "
        "Discuss in the card's thread; Tilt replies there when the signal flips."
    ),
    handle=handle,
    options=(Option("signal", Kind.CHOICE, "Which signal", required=True, choices=tuple((n, n) for n in NAMES)),),
)
# What a card's buttons run: routed like any command, never offered in menus or /help.
VOTE = Command(
    name="vote",
    summary="A vote on a signal card (its buttons)",
    usage=VOTE_USAGE,
    examples=(),
    guide="",
    handle=vote,
    listed=False,
)
