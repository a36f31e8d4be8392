"""Follow-ups in threads: signal flips under their cards, and calls resolved at expiry.

Each ``tick`` (run from the scheduler's loop, beside the digests) looks at
every team with cards or calls (``TeamStore.watched_teams``):

* **signals**: every rule any team's cards or signals use is read on the latest
  prices in one pass (``handlers.common.team_signals.readings``): one fetch, each
  distinct series (ticker or ratio, and indicator) computed once, and kept until
  the closes change, so a tick between two closes recomputes nothing.
* **cards**: when a card's rule now reads otherwise than the card last announced,
  Tilt replies in the card's thread ("now true ... since ...") and the card takes
  the new state.  Cards whose message is unknown (not posted by an adapter that
  reports it), and cards of a signal since deleted, are left alone.
* **defined signals**: when a team's own signal flips, Tilt posts once in the
  channel where it was defined, and the signal takes the new state.
* **alerts**: an active alert whose rule held on a close after the one it was
  set on fires: it retires (atomically, so an alert cancelled meanwhile stays
  cancelled) and is posted in its channel mentioning its author.  If the post
  fails, the fired alert is posted on the next try.
* **calls**: an open call past its ``until`` date is closed at the expiry
  close (``handlers.calls.resolve``) and the result is posted in its thread
  (or, when its message is unknown, in the channel where it was made).

Exactly once, however many watchers run: each follow-up has a name (card or
signal, new state and since-date; call number), guarded like digests by a lease (``SET
NX`` with an expiry) and a "done" record checked again under the lease.  A
follow-up that fails (Slack down, Tilt removed from the channel) gives the lease
back and is tried again after a backoff, as digests are (30 s doubling to 30 minutes).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable

from analysis.rules import PREDEFINED, Evaluation, Rule
from errors import TiltError
from handlers import alert as alert_handler
from handlers import calls as calls_handler
from handlers import signal as signal_handler
from handlers.common.reply import Action, Reply
from handlers.common.rule_grammar import parse_rule
from handlers.common.services import Services
from handlers.common.team_signals import CloseMemo, distance, readings, state_word
from schedule.once import ExactlyOnce
from store.teamdata import Owner

log = logging.getLogger(__name__)

DONE_SECONDS = 30 * 24 * 3600

# Posts a reply on a platform: (platform, channel, thread ts or None for a new message, reply); raises on failure.
ThreadPost = Callable[[Owner, str, str | None, Reply], None]


@dataclass(frozen=True)
class Followed:
    what: str  # "flip" (a card's thread), "signal" (a defined signal's channel), "alert" or "resolved"
    team: str
    item: str  # card id, signal name, alert number or call number


class Watcher:
    def __init__(self, services: Services, post: ThreadPost, *, owner: str | None = None) -> None:
        self.services = services
        self.store = services.store
        self.post = post
        self.once = ExactlyOnce(self.store.client, f"{self.store.prefix}watch:", keep_seconds=DONE_SECONDS, owner=owner)
        self.memo = CloseMemo()

    def tick(self) -> list[Followed]:
        """Announce every flip and resolve every due call; returns what this watcher posted."""
        done: list[Followed] = []
        teams = [(team, self.store.cards(team), self.store.signals(team), _pending(self.store.alerts(team)))
                 for team in self.store.watched_teams()]
        evaluations = self._read([rule for _, cards, defined, alerts in teams
                                  for rule in _rules(cards, defined, alerts)])
        for team, cards, defined, alerts in teams:
            done.extend(self._cards(team, cards, defined, evaluations))
            for signal in defined:
                evaluation = evaluations.get(parse_rule(signal["rule"]))
                if evaluation is not None and evaluation.now != signal["state"]:
                    done.extend(self._signal_flip(team, signal, evaluation))
            done.extend(self._alerts(team, alerts, evaluations))
            for call in self.store.calls(team):
                if calls_handler.is_due(self.services, call):
                    done.extend(self._resolve(team, call))
        return done

    def _cards(self, team: Owner, cards: list[dict], defined: list[dict],
               evaluations: dict[Rule, Evaluation]) -> list[Followed]:
        """Flips under the cards of signals the team still has (a deleted signal's cards are left alone)."""
        done: list[Followed] = []
        followed = {s["name"]: s["rule"] for s in defined} | {name: str(r) for name, r in PREDEFINED.items()}
        for card in cards:
            rule = signal_handler.card_rule(card)
            evaluation = evaluations.get(rule)
            if (followed.get(card["signal"]) == str(rule) and evaluation is not None
                    and evaluation.now != signal_handler.card_state(card)):
                done.extend(self._flip(team, card, evaluation))
        return done

    def _alerts(self, team: Owner, alerts: list[dict], evaluations: dict[Rule, Evaluation]) -> list[Followed]:
        """Fire the alerts whose rule held on a close after they were set; post the fired ones not yet posted."""
        done: list[Followed] = []
        for alert in alerts:
            evaluation = evaluations.get(parse_rule(alert["rule"]))
            if alert["status"] == "fired":
                done.extend(self._fire(team, alert))  # fired, but its post failed: post it now
            elif evaluation is not None:
                on = evaluation.first_held_after(dt.date.fromisoformat(alert["set_as_of"]))
                if on is not None:
                    done.extend(self._fire(team, {**alert, "status": "fired", "fired_on": on.isoformat(),
                                                  "as_of": evaluation.as_of.isoformat(),
                                                  "now": distance(evaluation)}))
        return done

    def _read(self, rules: list[Rule]) -> dict[Rule, Evaluation]:
        """The rules that have a reading on the latest prices (the others are logged and tried next tick)."""
        try:
            found = readings(self.services, rules, self.memo)
        except TiltError as error:
            log.warning("could not read signals (%s)", error)
            return {}
        for rule, why in found.items():
            if not isinstance(why, Evaluation):
                log.warning("could not read %s (%s)", rule, why)
        return {rule: e for rule, e in found.items() if isinstance(e, Evaluation)}

    def _flip(self, team: Owner, card: dict, evaluation: Evaluation) -> list[Followed]:
        where = self.store.thread(team, f"card:{card['id']}")
        if where is None:
            return []
        now = state_word(evaluation.now)
        stamp = f"flip:{team.platform}:{team.team}:{card['id']}:{now}:{evaluation.since}"

        def work() -> None:
            votes = self.store.votes(team, card["id"])
            agree = sum(v == "agree" for v in votes.values())
            was = state_word(signal_handler.card_state(card))
            text = (f"*Flip:* `{card['signal']}` is now *{now}* (since the close of {evaluation.since}): "
                    f"{evaluation.rule.words()}; it was {was} since {card['since']}.")
            self.post(team, where[0], where[1], Reply(
                text=text, takeaway=f"{distance(evaluation)}.",
                notes=(f"Votes on this card: {agree} agree – {len(votes) - agree} disagree",),
                footer=f"as of {evaluation.as_of} · source: {self.services.source_label()}"))
            self.store.update_card(team, {**card, **signal_handler.card_reading(evaluation)})

        return [Followed("flip", f"{team.platform}:{team.team}", card["id"])] if self._once(stamp, work) else []

    def _signal_flip(self, team: Owner, signal: dict, evaluation: Evaluation) -> list[Followed]:
        now = state_word(evaluation.now)
        stamp = f"signal:{team.platform}:{team.team}:{signal['name']}:{signal['created_at']}:{now}:{evaluation.since}"

        def work() -> None:
            if self.store.signal(team, signal["name"]) is None:
                return  # deleted meanwhile: not announced
            self.post(team, signal["channel"], None, Reply(
                text=f"*Flip:* signal `{signal['name']}` is now *{now}* (since the close of {evaluation.since}): "
                     f"{evaluation.rule.words()}.",
                takeaway=f"{distance(evaluation)}.",
                notes=(*((f"Note: {signal['note']}",) if signal.get("note") else ()),
                       f"It was {state_word(signal['state'])} since {signal['since']}."),
                footer=f"as of {evaluation.as_of} · source: {self.services.source_label()}",
                actions=(Action(f"Card: {signal['name']}", f"/signal {signal['name']}"),)))
            self.store.update_signal(team, {**signal, "state": evaluation.now, "since": evaluation.since.isoformat(),
                                            "as_of": evaluation.as_of.isoformat()})

        return [Followed("signal", f"{team.platform}:{team.team}", signal["name"])] if self._once(stamp, work) else []

    def _fire(self, team: Owner, fired: dict) -> list[Followed]:
        """Retire ``fired`` (unless cancelled meanwhile) and post it in its channel, mentioning its author."""
        stamp = f"alert:{team.platform}:{team.team}:{fired['id']}"

        def work() -> None:
            stored = next((a for a in self.store.alerts(team) if a["id"] == fired["id"]), None)
            if stored is None or stored["status"] == "cancelled" or stored.get("announced"):
                return
            if stored["status"] == "active" and not self.store.replace_active_alert(team, fired):
                return  # cancelled meanwhile
            posted = fired if stored["status"] == "active" else stored
            self.post(team, posted["channel"], None, alert_handler.fired_reply(posted, self.services.source_label()))
            self.store.update_alert(team, {**posted, "announced": True})

        return [Followed("alert", f"{team.platform}:{team.team}", fired["id"])] if self._once(stamp, work) else []

    def _resolve(self, team: Owner, call: dict) -> list[Followed]:
        stamp = f"call:{team.platform}:{team.team}:{call['id']}"

        def work() -> None:
            closed = call
            if call["status"] == "open":
                # Closed before it is announced, and only while still open (atomically): a call its author
                # cancelled meanwhile stays cancelled and is not announced.  If the post below fails, the call
                # stays closed and unannounced, and the next try (``is_due``) posts it.
                closed = calls_handler.resolve(self.services, call)
                if not self.store.replace_open_call(team, closed):
                    return
            where = self.store.thread(team, f"call:{call['id']}")
            channel, thread = where if where else (call["channel"], None)
            self.post(team, channel, thread, calls_handler.result_reply(closed))
            self.store.update_call(team, {**closed, "announced": True})

        return [Followed("resolved", f"{team.platform}:{team.team}", call["id"])] if self._once(stamp, work) else []

    def _once(self, stamp: str, work: Callable[[], None]) -> bool:
        """Run ``work`` unless it was done for ``stamp``, by one watcher at a time; ``True`` when this one did it."""
        return self.once.run(stamp, self.services.market.now().timestamp(), work) == "done"


def _rules(cards: list[dict], defined: list[dict], alerts: list[dict]) -> list[Rule]:
    return [*(signal_handler.card_rule(c) for c in cards), *(parse_rule(s["rule"]) for s in defined),
            *(parse_rule(a["rule"]) for a in alerts)]


def _pending(alerts: list[dict]) -> list[dict]:
    """Alerts still to fire, and fired ones not yet posted."""
    return [a for a in alerts if a["status"] == "active" or (a["status"] == "fired" and not a.get("announced"))]
