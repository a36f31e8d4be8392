"""/alert: one-shot alerts on the signal rules, for the person who sets them.

    /alert SMH below 250 [note]           post here, mentioning you, when the rule first holds after now
    /alert IWM/SPY above sma200           any rule /signal define takes
    /alert list                           the workspace's active alerts, and whether each holds now
    /alert cancel N                       cancel alert #N (its author only)

An alert is set on the last close the data has; it **fires** on the first later close on which its rule
holds (read at the close, as signals are), once: the watcher (``schedule.watch``) posts it in the channel
where it was set, mentioning its author, and the alert retires.  A rule that already holds on the close it
is set on fires after the next close if it still holds then.  Each person holds up to ``PER_PERSON``
active alerts.
"""

from __future__ import annotations

import time
from typing import Any

from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.reply import Reply, Table, mention
from handlers.common.rule_grammar import GRAMMAR, parse_rule, parse_rule_and_note
from handlers.common.services import Services
from handlers.common.team_signals import distance, reading, readings, state_word

USAGE = f"/alert RULE [note] | list | cancel N; {GRAMMAR}"
PER_PERSON = 20


def handle(text: str, services: Services, caller: Caller) -> Reply:
    words = text.split()
    if not words:
        raise BadRequest("Give a rule to be alerted on, e.g. `/alert SMH below 250`.")
    verb = words[0].lower()
    if verb == "list" and len(words) == 1:
        return list_alerts(services, caller)
    if verb == "cancel":
        return cancel(services, caller, words[1:])
    return set_alert(services, caller, " ".join(words))


def set_alert(services: Services, caller: Caller, text: str) -> Reply:
    rule, note = parse_rule_and_note(text)
    evaluation = reading(services, rule)  # refuses a ticker without data before anything is stored
    alert = services.store.add_alert(caller.owner, {
        "rule": str(rule), "note": note, "author": caller.user, "channel": caller.channel, "created_at": time.time(),
        "set_as_of": evaluation.as_of.isoformat(), "status": "active", "announced": False}, per_person=PER_PERSON)
    holds = (f" It already holds on the close of {evaluation.as_of}, so it fires after the next close if it "
             "still holds then." if evaluation.now else "")
    return Reply(
        text=f"Alert #{alert['id']} set: `{rule}`.",
        takeaway=f"I'll post here, mentioning you, on the first close after {evaluation.as_of} on which "
                 f"{rule.words()}; then the alert retires.{holds}",
        notes=(f"Now: {distance(evaluation)}.", *((f"Note: {note}",) if note else ())),
        footer=f"as of {evaluation.as_of} · source: {services.source_label()} · cancel with `/alert cancel {alert['id']}`",
        ephemeral=True,
    )


def list_alerts(services: Services, caller: Caller) -> Reply:
    active = [a for a in services.store.alerts(caller.owner) if a["status"] == "active"]
    if not active:
        return Reply(text="No active alerts here. Set one with `/alert SMH below 250`.", usage=USAGE, ephemeral=True)
    rules = {a["id"]: parse_rule(a["rule"]) for a in active}
    found = readings(services, list(rules.values()))
    rows = []
    for alert in active:
        now = found[rules[alert["id"]]]
        rows.append((f"#{alert['id']}", f"`{alert['rule']}`", mention(alert["author"]), alert["set_as_of"],
                     now if isinstance(now, str) else state_word(now.now)))
    mine = sum(1 for a in active if a["author"] == caller.user)
    return Reply(text=f"*Alerts* active here: {len(active)} ({mine} yours, at most {PER_PERSON} each)",
                 table=Table.of(("#", "Rule", "By", "Set on the close of", "Holds now"), rows),
                 notes=("An alert fires once, on the first close after it was set on which its rule holds.",),
                 ephemeral=True)


def cancel(services: Services, caller: Caller, words: list[str]) -> Reply:
    number = words[0].lstrip("#") if len(words) == 1 else ""
    if not number.isdigit():
        raise BadRequest("Say which alert to cancel by its number, e.g. `/alert cancel 3` (`/alert list` shows them).")
    alert = next((a for a in services.store.alerts(caller.owner) if a["id"] == str(int(number))), None)
    if alert is None:
        raise BadRequest(f"There is no alert #{int(number)} here.")
    if alert["author"] != caller.user:
        raise BadRequest(f"Alert #{alert['id']} is {mention(alert['author'])}'s; only they may cancel it.")
    if not services.store.replace_active_alert(caller.owner, {**alert, "status": "cancelled"}):
        raise BadRequest(f"Alert #{alert['id']} has already fired or been cancelled.")
    return Reply(text=f"Alert #{alert['id']} (`{alert['rule']}`) cancelled.", ephemeral=True)


def fired_reply(alert: dict[str, Any], source: str) -> Reply:
    """What the watcher posts when ``alert`` has fired (``fired_on``: the close; ``now``: where it stands)."""
    rule = parse_rule(alert["rule"])
    return Reply(text=f"{mention(alert['author'])} *Alert #{alert['id']}*: `{rule}` held on the close of "
                      f"{alert['fired_on']}: {rule.words()}.",
                 takeaway=f"On the close of {alert['as_of']}, {alert['now']}.",
                 notes=(*((f"Note: {alert['note']}",) if alert.get("note") else ()),
                        f"Set on the close of {alert['set_as_of']}; it has now retired."),
                 footer=f"as of {alert['as_of']} · source: {source}", notify=(alert["author"],))


COMMAND = Command(
    name="alert",
    summary="A one-shot alert: Tilt mentions you here when a rule first holds",
    usage=USAGE,
    examples=("/alert SMH below 250", "/alert IWM/SPY above sma200", "/alert list", "/alert cancel 1"),
    guide=(f"An alert takes any rule `/signal define` takes. It fires once, on the first close after it was set "
           f"on which the rule holds: Tilt posts in the channel, mentioning you, and the alert retires. Each person "
           f"holds up to {PER_PERSON}. Words after the rule are a note, posted with it. " + GRAMMAR[0].upper() + GRAMMAR[1:] + "."),
    handle=handle,
    options=(Option("rule", Kind.TEXT, "A rule (e.g. SMH below 250), list, or cancel N", required=True),),
)
