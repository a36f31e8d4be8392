"""/signal: the workspace's signals, predefined and its own; their cards, to vote on and discuss.

    /signal                               the workspace's signals and their states (also: /signal list)
    /signal NAME                          the card: the rule in words, true or false since which close, how far
                                          from flipping, the last 5 flips, a chart, Agree / Disagree buttons
    /signal define NAME RULE [note]       a new signal for the workspace, e.g. `soxx-cross SOXX sma50 above sma200`
    /signal delete NAME                   delete one you defined (smallcaps and semis are predefined)
    /vote CARD agree|disagree             (what the card's buttons run; one vote per person, changeable)

Rules are read by ``handlers.common.rule_grammar`` and evaluated on all the history the data has
(``analysis.rules``).  A card is a new message (``Reply.track = "card:<id>"``) so the adapter can report where
it was posted; the watcher (``schedule.watch``) replies in its thread when the signal flips, and posts in
the channel where a signal was defined.  A vote answers with the card again, without a chart, so the
adapter updates the card in place with the new tally.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from analysis.charts import ChartLabels
from analysis.rules import PREDEFINED, Evaluation, Level, Price, Rule
from analysis.signal_chart import CHART_YEARS, signal_chart
from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.reply import Action, Chart, Reply, Table, mention
from handlers.common.rule_grammar import GRAMMAR, SIGNAL_NAME, parse_rule, parse_rule_and_note
from handlers.common.services import Services
from handlers.common.team_signals import (
    TeamSignal,
    distance,
    find,
    flips_line,
    reading,
    readings,
    state_word,
    team_signals,
)
from store.teamdata import MAX_SIGNALS

USAGE = f"/signal [NAME | list | define NAME RULE [note] | delete NAME]; {GRAMMAR}"
VOTE_USAGE = "/vote CARD agree|disagree"
CHOICES = ("agree", "disagree")
VERBS = ("list", "define", "delete")  # words that cannot name a signal


def handle(text: str, services: Services, caller: Caller) -> Reply:
    words = text.split()
    verb = words[0].lower() if words else "list"
    if verb == "list" and len(words) <= 1:
        return list_signals(services, caller)
    if verb == "define":
        return define(services, caller, words[1:])
    if verb == "delete":
        return delete(services, caller, words[1:])
    if len(words) > 1:
        raise BadRequest(f"`/signal {verb[:32]}` takes a signal's name alone; to define one, "
                         f"`/signal define NAME RULE`.")
    signal = find(services, caller.owner, verb)
    return post_card(services, caller, signal, reading(services, signal.rule))


def define(services: Services, caller: Caller, words: list[str]) -> Reply:
    """``NAME RULE``: keep the signal for the workspace and post its first card."""
    if len(words) < 2:
        raise BadRequest("Give a name and a rule, e.g. `/signal define soxx-cross SOXX sma50 above sma200`.")
    name = words[0].lower()
    if not SIGNAL_NAME.match(name):
        raise BadRequest(f"`{words[0][:40]}` is not a signal name: 1 to 32 lower-case letters, digits or -.")
    if name in PREDEFINED or name in VERBS:
        raise BadRequest(f"`{name}` is taken: pick another name.")
    rule, note = parse_rule_and_note(" ".join(words[1:]))
    evaluation = reading(services, rule)
    services.store.define_signal(caller.owner, {
        "name": name, "rule": str(rule), "note": note, "author": caller.user, "channel": caller.channel,
        "created_at": time.time(), "state": evaluation.now, "since": evaluation.since.isoformat(),
        "as_of": evaluation.as_of.isoformat()}, limit=MAX_SIGNALS)
    signal = TeamSignal(name=name, rule=rule, author=caller.user, channel=caller.channel, note=note)
    return post_card(services, caller, signal, evaluation)


def delete(services: Services, caller: Caller, words: list[str]) -> Reply:
    if len(words) != 1:
        raise BadRequest("Say which signal to delete, e.g. `/signal delete soxx-cross`.")
    name = words[0].lower()
    if name in PREDEFINED:
        raise BadRequest(f"`{name}` is predefined: it cannot be deleted.")
    services.store.delete_signal(caller.owner, name[:64], caller.user)
    return Reply(text=f"Signal `{name}` deleted. Its cards stay, but Tilt no longer follows them up.",
                 ephemeral=True)


def list_signals(services: Services, caller: Caller) -> Reply:
    """Every signal of the workspace with its state now, since which close and how far from flipping."""
    signals = team_signals(services, caller.owner)
    evaluations = readings(services, [s.rule for s in signals])
    rows = []
    for signal in signals:
        found = evaluations[signal.rule]
        if isinstance(found, Evaluation):
            rows.append((signal.name, f"`{signal.rule}`", state_word(found.now), found.since.isoformat(),
                         distance(found)))
        else:
            rows.append((signal.name, f"`{signal.rule}`", "–", "–", found))
    known = [e for e in evaluations.values() if isinstance(e, Evaluation)]
    own = len(signals) - len(PREDEFINED)
    return Reply(
        text=f"*Signals* in this workspace: {len(PREDEFINED)} predefined, {own} of your own (at most {MAX_SIGNALS})",
        table=Table.of(("Signal", "Rule", "Now", "Since", "Where it stands"), rows),
        notes=("A card with chart and votes: `/signal NAME`. Define one: `/signal define NAME RULE`.",),
        footer=(f"as of {max(e.as_of for e in known)} · source: {services.source_label()}" if known else ""),
        actions=tuple(Action(f"Card: {s.name}", f"/signal {s.name}") for s in signals[:5]),
    )


def post_card(services: Services, caller: Caller, signal: TeamSignal, evaluation: Evaluation) -> Reply:
    """A new card for ``signal`` read as ``evaluation``, kept for votes and flips, with its chart."""
    card = {"id": uuid.uuid4().hex[:10], "signal": signal.name, "rule": str(signal.rule), "note": signal.note,
            **card_reading(evaluation), "source": services.source_label(), "demo": services.market.is_demo,
            "created_by": caller.user, "channel": caller.channel, "created_at": time.time()}
    services.store.add_card(caller.owner, card)
    return card_reply(card, {}, chart=card_chart(services, signal.name, evaluation), new=True)


def card_reading(evaluation: Evaluation) -> dict[str, Any]:
    """What a card keeps of a reading, to show it again (votes) and to tell a flip (the watcher)."""
    return {"state": evaluation.now, "since": evaluation.since.isoformat(), "sessions": evaluation.sessions,
            "gap": evaluation.gap, "distance": distance(evaluation), "flips": flips_line(evaluation),
            "as_of": evaluation.as_of.isoformat()}


def card_state(card: dict[str, Any]) -> bool:
    """The state a card last showed (cards from before rules said "leading" / "lagging")."""
    return card["state"] in (True, "leading")


def card_rule(card: dict[str, Any]) -> Rule:
    return parse_rule(card["rule"]) if "rule" in card else PREDEFINED[card["signal"]]


def quantity_label(rule: Rule) -> str:
    return str(rule.subject) if isinstance(rule.quantity, Price) else f"{rule.subject} {rule.quantity}"


def card_chart(services: Services, name: str, evaluation: Evaluation) -> Chart:
    rule = evaluation.rule
    title = f"Signal {name} · {rule}"
    labels = ChartLabels(title=title, as_of=evaluation.as_of.isoformat(), source=services.source_label(),
                         demo=services.market.is_demo)
    threshold = f"{rule.threshold}" if isinstance(rule.threshold, Level) else f"{rule.subject} {rule.threshold}"
    png = signal_chart(evaluation, labels, quantity_label=quantity_label(rule), threshold_label=threshold)
    return Chart(png=png, filename=f"signal-{name}.png", title=title,
                 alt_text=f"{quantity_label(rule)} against {threshold} over the last {CHART_YEARS} years to "
                          f"{evaluation.as_of}, shaded where `{rule}` held.")


def card_reply(card: dict[str, Any], votes: dict[str, str], chart: Chart | None = None, new: bool = False) -> Reply:
    """The card: the rule in words, true or false since when, how far from flipping, the last flips, the tally,
    and the Agree / Disagree buttons.  ``new``: the card's first posting (tracked, so flips reach its thread)."""
    rule, state = card_rule(card), card_state(card)
    agree = sum(1 for c in votes.values() if c == "agree")
    disagree = sum(1 for c in votes.values() if c == "disagree")
    demo = " (demo data, not real prices)" if card.get("demo") else ""
    where = f": {card['distance']}" if card.get("distance") else ""
    author = "" if card["signal"] in PREDEFINED else f" · posted by {mention(card['created_by'])}"
    return Reply(
        text=f"*Signal: {card['signal']}* · {rule.words()}: *{state_word(state)}*{demo}",
        takeaway=f"{state_word(state).capitalize()} since the close of {card['since']} ({card['sessions']} closes)"
                 f"{where}.",
        notes=(f"Rule: `{rule}`{author}", *((f"Note: {card['note']}",) if card.get("note") else ()),
               *((card["flips"],) if card.get("flips") else ()),
               f"Votes: {agree} agree – {disagree} disagree",
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
    summary="Your workspace's signals: define a rule, see its card, vote and discuss it",
    usage=USAGE,
    examples=("/signal smallcaps", "/signal define soxx-cross SOXX sma50 above sma200 semis momentum", "/signal list",
              "/signal delete soxx-cross"),
    guide=("A signal is a rule on a ticker or a ratio, read on every close of all the history the data has. "
           "Its card says whether it holds now and since which close, how far it is from flipping, its last 5 "
           "flips, and draws it; vote Agree / Disagree and discuss in the card's thread. Tilt watches every "
           "signal after each close and posts in the card's thread and where the signal was defined when it "
           f"flips. `smallcaps` and `semis` are predefined; a workspace defines up to {MAX_SIGNALS} more. Words "
           "after the rule are a note, shown on its cards and with its flips. "
           + GRAMMAR[0].upper() + GRAMMAR[1:] + "."),
    handle=handle,
    options=(Option("signal", Kind.TEXT, "A signal's name, list, define NAME RULE, or delete NAME"),),
)

VOTE_COMMAND = Command(name="vote", summary="Vote on a signal card", usage=VOTE_USAGE,
                       examples=("/vote CARD agree",), guide="", handle=vote, listed=False)
