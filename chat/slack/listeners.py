"""What Tilt does with each thing Slack sends: slash commands, mentions, direct messages, buttons and the
App Home tab.

Every listener is split in two (Bolt's lazy listeners, wired in ``chat.slack.app``): a quick ``ack_*``
that runs in the request thread and becomes the HTTP answer (slash commands: an ephemeral "working on
it" line, well inside Slack's 3 seconds), and the work, ``on_*``, which runs as a job: the command goes
through ``handlers.common.router`` (platform-neutral) and its ``Reply`` is delivered
(``chat.slack.delivery``): results in the channel (blocks, then the chart as a file), problems only to
the person who asked.

A reply with ``Reply.track`` (a signal card, a call) is always a new message, even from a button, and
``posted`` is told its channel and ``ts`` so that ``schedule.watch`` can reply in its thread later.  Any
other button answer replaces its message in place (``chat.update``): a period switch, or a vote that
redraws its card with the new tally.  If Tilt is not in the channel (or cannot see it), the result goes
back through ``response_url`` with a hint to invite the bot and a "Share in channel" button, which posts
it publicly through the same URL.  ``app_home_opened`` publishes the App Home tab (``handlers.home``); its
buttons answer in the person's direct messages with Tilt; its watchlist is that of the channels the person
is in (``chat.slack.membership``) and their own.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat.slack.block_kinds import BlockKinds
from chat.slack.blocks import fallback_text, home_view, reply_blocks
from chat.slack.delivery import (
    INVITE_HINT,
    Where,
    post_private,
    post_public,
    respond_once,
    respond_reply,
    send_blocks,
    upload_files,
)
from chat.slack.manifest import UMBRELLA_COMMAND
from chat.slack.membership import channels_of
from chat.slack.settings import SlackSettings
from handlers.common import router
from handlers.common.caller import Caller
from handlers.common.reply import Reply, error_reply
from jobs.steps import once
from metrics import COMMAND_SECONDS
from metrics import COMMANDS as COMMAND_COUNT

log = logging.getLogger(__name__)

PLATFORM = "slack"
WORKING = "Working on it…"
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# How long an answered event id is remembered, so that Slack's retries of it (over an hour at most) are ignored.
EVENT_MEMORY_SECONDS = 3600


class Listeners:
    def __init__(self, settings: SlackSettings) -> None:
        self.answer = settings.answer
        self.budget = settings.budget
        self.posted = settings.posted
        self.home = settings.home
        self.cache = settings.cache
        self.kinds = BlockKinds(settings.cache)

    def _first_time(self, event_id: str) -> bool:
        """Whether this event is new, rather than Slack's retry of one already being answered."""
        return self.cache.first(f"slack:event:{event_id}", EVENT_MEMORY_SECONDS)

    def _track(self, who: Caller, reply: Reply, where: Where, ts: str | None) -> None:
        """Report where a tracked reply landed: its thread's root (the message itself, or the thread it went into)."""
        if reply.track and ts and self.posted is not None:
            self.posted(who, reply.track, where.channel, where.thread_ts or ts)

    def _respond(self, respond: Respond, reply: Reply, team: str, step: str = "respond", **options: Any) -> None:
        respond_reply(respond, reply, team, self.kinds, step, **options)

    # --- slash commands ---------------------------------------------------------------------

    def ack_command(self, ack: Ack, command: dict[str, Any], context: dict[str, Any]) -> None:
        """The HTTP answer to a slash command: "working on it", or "slow down" when the budget is spent."""
        context["tilt_started"] = time.time()
        refusal = self._charge(context, command["team_id"], command["user_id"])
        if refusal is None:
            ack(response_type="ephemeral", text=WORKING)
        else:
            COMMAND_COUNT.labels(router.label(command_text(command["command"], command.get("text", ""))), "throttled").inc()
            ack(response_type="ephemeral", text=refusal)

    def on_slash_command(self, command: dict[str, Any], client: WebClient, respond: Respond,
                         context: dict[str, Any]) -> None:
        if not context.get("tilt_allowed"):
            return
        text = command_text(command["command"], command.get("text", ""))
        who = caller(command["team_id"], command["channel_id"], command["user_id"])
        reply = self.answer(text, who)
        where = Where(channel=command["channel_id"], user=command["user_id"], team=command["team_id"])
        try:
            self._deliver(reply, text, where, who, client, respond)
        except SlackApiError as error:
            log.error("could not deliver %r: Slack said %s", text, error.response.get("error"))
            respond_once(respond, "apology", text=f":warning: I worked out the answer but Slack would not take it ({error.response.get('error')}). "
                         "Please try again in a minute.", response_type="ephemeral", replace_original=True)
        COMMAND_SECONDS.labels(router.label(text)).observe(time.time() - context["tilt_started"])

    def _deliver(self, reply: Reply, text: str, where: Where, who: Caller, client: WebClient, respond: Respond) -> None:
        # The ephemeral "working on it" line is left alone: deleting it races its own ack, and Slack drops it anyway.
        if reply.ephemeral:
            self._respond(respond, reply, where.team, response_type="ephemeral", replace_original=True)
        elif ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            self._respond(respond, reply, where.team, share_command=text, hint=True, response_type="ephemeral",
                          replace_original=True)

    # --- mentions and direct messages -------------------------------------------------------

    def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        self._conversation(body, event, client, context)

    def on_message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        # Only people's direct messages; channel chatter reaches us as app_mention when it is for us.
        if event.get("channel_type") == "im" and not event.get("bot_id") and not event.get("subtype"):
            self._conversation(body, event, client, context)

    def _conversation(self, body: dict[str, Any], event: dict[str, Any], client: WebClient,
                      context: dict[str, Any]) -> None:
        if not self._first_time(body.get("event_id") or event.get("ts")):
            return  # Slack's retry of an event already being answered
        started = time.monotonic()
        team = context.get("team_id") or event.get("team", "")
        where = Where(channel=event["channel"], user=event.get("user", ""), thread_ts=event.get("thread_ts") or event["ts"],
                      team=team)
        refusal = self.budget.refusal(team, where.user)
        if refusal is not None:
            post_private(client, where, error_reply(refusal), self.kinds)
            return
        text = mention_text(event.get("text", ""))
        who = caller(team, where.channel, where.user)
        reply = self.answer(text, who)
        if reply.ephemeral:
            post_private(client, where, reply, self.kinds)
        elif ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            log.warning("cannot post in %s, where a mention reached us", where.channel)
        COMMAND_SECONDS.labels(router.label(text)).observe(time.monotonic() - started)

    # --- buttons ----------------------------------------------------------------------------

    def ack_click(self, ack: Ack, body: dict[str, Any], context: dict[str, Any]) -> None:
        """A click runs a command, so it is charged to the clicker's budget like a typed one (a click on the
        Home tab too, whose payload names no channel)."""
        self._charge(context, body.get("team", {}).get("id", ""), body["user"]["id"])
        ack()

    def _charge(self, context: dict[str, Any], team: str, user: str) -> str | None:
        """Charge a command to its budgets, noting in ``context`` whether it may run and, if not, why (the
        listener that runs it reads both)."""
        refusal = self.budget.refusal(team, user)
        context["tilt_allowed"], context["tilt_refusal"] = refusal is None, refusal or ""
        return refusal

    def _click_allowed(self, context: dict[str, Any], respond: Respond) -> bool:
        """Whether the click's budget allowed it; if not, the clicker is told to slow down (only them)."""
        if not context.get("tilt_allowed"):
            respond_once(respond, text=context.get("tilt_refusal", ""), response_type="ephemeral", replace_original=False)
        return bool(context.get("tilt_allowed"))

    def on_rerun(self, body: dict[str, Any], client: WebClient, respond: Respond, context: dict[str, Any]) -> None:
        """A button under a result: answer its command in place of the old result (a period switch, a vote
        updating its card); a tracked reply (a new signal card) is a message of its own instead."""
        if not self._click_allowed(context, respond):
            return
        who = clicker(body)
        reply = self.answer(body["actions"][0]["value"], who)
        if reply.track and not reply.ephemeral and not body.get("container", {}).get("is_ephemeral"):
            where = Where(channel=who.channel, user=who.user, team=who.team)
            ts = post_public(client, where, reply, self.kinds)
            if ts:
                self._track(who, reply, where, ts)
            else:
                respond_once(respond, text=f"{fallback_text(reply)}\n{INVITE_HINT}", response_type="ephemeral",
                             replace_original=False)
            return
        if reply.ephemeral or body.get("container", {}).get("is_ephemeral"):
            self._respond(respond, reply, who.team, response_type="ephemeral", replace_original=not reply.is_error)
            return
        channel, ts = body["channel"]["id"], body["message"]["ts"]
        once("update", lambda: send_blocks(self.kinds, "message", who.team, lambda kinds: reply_blocks(reply, kinds=kinds),
                                           lambda blocks: client.chat_update(channel=channel, ts=ts, text=fallback_text(reply),
                                                                             blocks=blocks).status_code))
        upload_files(client, Where(channel=channel, user=body["user"]["id"], thread_ts=ts), reply)

    def on_share(self, body: dict[str, Any], client: WebClient, respond: Respond, context: dict[str, Any]) -> None:
        """"Share in channel" under an ephemeral result: post it for everyone."""
        if not self._click_allowed(context, respond):
            return
        who = clicker(body)
        reply = self.answer(body["actions"][0]["value"], who)
        if reply.ephemeral:  # a problem: show it to the clicker, keep their private result
            self._respond(respond, reply, who.team, response_type="ephemeral", replace_original=False)
            return
        where = Where(channel=who.channel, user=who.user, team=who.team)
        if ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            # Still not invited: response_url can post in the channel anyway, without the chart.
            self._respond(respond, reply, who.team, response_type="in_channel", replace_original=False)
        respond_once(respond, "delete", delete_original=True)

    # --- the App Home tab -------------------------------------------------------------------

    def on_home_opened(self, body: dict[str, Any], event: dict[str, Any], client: WebClient,
                       context: dict[str, Any]) -> None:
        """Someone opened Tilt's Home tab: publish their team's page (``views.publish``)."""
        if event.get("tab") != "home" or self.home is None:
            return
        if not self._first_time(body.get("event_id") or event.get("event_ts")):
            return
        team, user = context.get("team_id") or body.get("team_id", ""), event["user"]
        page = self.home(Caller(platform=PLATFORM, team=team, channel="", user=user, is_dm=True),
                         channels_of(client, self.cache, team, user))
        once("home", lambda: send_blocks(self.kinds, "home", team, lambda kinds: home_view(page, kinds)["blocks"],
                                         lambda blocks: client.views_publish(
                                             user_id=user, view={"type": "home", "blocks": blocks}).status_code))

    def on_home_action(self, body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        """A button on the Home tab: its answer goes to the person's direct messages with Tilt (so does
        "slow down" when the click is over the person's budget: a view has no response_url)."""
        team, user = body.get("team", {}).get("id", ""), body["user"]["id"]
        channel = once("dm", lambda: str(client.conversations_open(users=user)["channel"]["id"]))
        if not context.get("tilt_allowed"):
            once("slow down", lambda: client.chat_postMessage(channel=channel, text=context.get("tilt_refusal", "")))
            return
        reply = self.answer(body["actions"][0]["value"], caller(team, channel, user))
        where = Where(channel=channel, user=user, team=team)
        if post_public(client, where, reply, self.kinds) is None:
            log.warning("cannot post in the direct messages of %s", user)


def command_text(command: str, text: str) -> str:
    """The router's command text: ``/tilt compare SMH`` and ``/compare SMH`` both become ``/compare SMH``;
    ``/tilt SPY IJR 0-40`` (a first word that is no command's name) is the /tilt sweep."""
    if command == UMBRELLA_COMMAND:
        return router.umbrella(typed(text))
    return f"{command} {typed(text)}".strip()


def typed(text: str) -> str:
    """What the person typed: Slack escapes ``&``, ``<`` and ``>`` in the text it sends (``chat.slack.blocks``
    escapes them again on the way out, so a note is shown as it was typed, not as ``&amp;lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def caller(team: str, channel: str, user: str) -> Caller:
    """Slack's ids as a ``Caller``; direct-message channel ids start with ``D``."""
    return Caller(platform=PLATFORM, team=team, channel=channel, user=user, is_dm=channel.startswith("D"))


def clicker(body: dict[str, Any]) -> Caller:
    """The ``Caller`` behind a button click (an interactivity payload)."""
    return caller(body.get("team", {}).get("id", ""), body["channel"]["id"], body["user"]["id"])


def mention_text(text: str) -> str:
    """``<@U123> compare SMH SPY`` -> ``/compare SMH SPY``; ``<@U123> SPY IJR 0-40`` -> ``/tilt SPY IJR 0-40``."""
    return router.umbrella(typed(MENTION.sub(" ", text)))
