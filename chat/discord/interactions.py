"""Discord's HTTP interactions: the route Discord posts to, answered as Discord requires.

``POST /discord/interactions`` (the application's Interactions Endpoint URL):

1. ``X-Signature-Ed25519`` must verify ``X-Signature-Timestamp + raw body``
   with the application's public key, else 401 (Discord sends bad signatures on
   purpose to check this, and drops an endpoint that accepts them);
2. PING (type 1) is answered PONG; autocomplete (type 4) at once with up to 25
   ticker and period choices (type 8) from ``handlers.common.suggest``, by the option's declared kind;
3. a slash command (type 2) or a button (type 3, its ``custom_id`` is the
   command) becomes command text for ``handlers.common.router``.  The answer is a
   deferral at once, well inside Discord's 3 seconds, and the command runs on a
   small thread pool; its reply goes through the interaction webhook (valid 15
   minutes).  A button under an earlier result (a period) replaces that result
   (type 6, then an edit); a button under a channel post, such as a digest,
   leaves the post alone and answers below it like a command (type 5).

Signal cards and calls (a reply with ``Reply.track``) are always new messages, even from a button, and
get a thread started on them for discussion (its id is the message's); ``posted`` is told the thread, where
flips and results then go.  In a DM, where Discord has no threads, or if Discord refuses one (the bot lacks
Create Public Threads), they go to the channel itself.  A vote answers with the card without its chart, so
the edit keeps the chart the card has (no ``attachments`` list; the embed's image as it was).

Who sees what: after a type-5 deferral Discord makes the first follow-up
*replace* the "thinking…" placeholder, keeping the deferral's visibility
whatever the follow-up's flags say (discord-api-docs PR #3466).  Results are
for the channel, so the deferral is public; a reply meant only for the person
who asked (an error, /help) first deletes the placeholder and then goes as a
new follow-up flagged ephemeral (64).  Others see "thinking…" vanish, never
the reply.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey

from chat.discord.embeds import Message, message
from chat.discord.embeds import plain as unmarked
from chat.discord.register import command_text, option_kind
from chat.discord.rest import DiscordError, DiscordRest
from chat.text import cut
from chat.web import StartResponse, WsgiApp, plain, too_large, within_limit
from handlers.common import router
from handlers.common.budget import Budget
from handlers.common.caller import Caller
from handlers.common.reply import Reply, error_reply
from handlers.common.suggest import for_option
from jobs.queue import Jobs, Payload
from jobs.steps import once
from metrics import COMMAND_SECONDS

log = logging.getLogger(__name__)

INTERACTIONS_PATH = "/discord/interactions"
PLATFORM = "discord"
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4  # interaction types
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 6, 8
MAX_CHOICES = 25
CHOICE_LIMIT = 100  # characters in a choice's name and in its value
JOB_KIND = "discord"
# A signed timestamp further than this from now is refused, as Slack's check does: a captured interaction
# cannot be sent again days later.
SIGNATURE_WINDOW_SECONDS = 300
# Interaction ids are remembered this long to refuse replays: longer than the window either side of now in
# which a signature is accepted (and than an interaction token's 15 minutes).
REPLAY_MEMORY_SECONDS = 3600
UNDELIVERED = "I worked out the answer but Discord would not take it. Please try again in a minute."

THREAD_NAME_LIMIT = 100

Answer = Callable[[str, Caller], Reply]
# Told where follow-ups to a tracked reply go: (who asked, the track id, channel or thread, the message's id).
Posted = Callable[[Caller, str, str, str], None]


def interactions_route(public_key: str, budget: Budget, jobs: Jobs, first_time: Callable[[str], bool]) -> WsgiApp:
    """The WSGI handler for ``POST /discord/interactions``: commands become ``JOB_KIND`` jobs for ``jobs``;
    ``first_time(key)`` tells a new interaction from a replayed one."""
    key = VerifyKey(bytes.fromhex(public_key))
    interactions = _Interactions(budget, jobs, first_time)

    def route(environ: dict, start_response: StartResponse) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        timestamp = environ.get("HTTP_X_SIGNATURE_TIMESTAMP", "")
        if not signed(key, body, environ.get("HTTP_X_SIGNATURE_ED25519", ""), timestamp):
            return plain(start_response, "401 Unauthorized", b"invalid request signature\n")
        if not recent(timestamp):
            log.warning("refused a Discord interaction signed at %r, more than %d s from now", timestamp[:20],
                        SIGNATURE_WINDOW_SECONDS)
            return plain(start_response, "401 Unauthorized", b"stale request signature\n")
        try:
            interaction = json.loads(body)
        except ValueError:
            return plain(start_response, "400 Bad Request", b"not JSON\n")
        # A click (a component interaction) carries the message it was on.
        if not within_limit(body, click=isinstance(interaction, dict) and interaction.get("type") == MESSAGE_COMPONENT):
            return too_large(start_response)
        response = interactions.respond(interaction) if isinstance(interaction, dict) else None
        if response is None:
            return plain(start_response, "400 Bad Request", b"not an interaction Tilt answers\n")
        document = json.dumps(response).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(document)))])
        return [document]

    return route


def signed(key: VerifyKey, body: bytes, signature: str, timestamp: str) -> bool:
    """Whether ``signature`` (hex) is the application key's Ed25519 signature of ``timestamp + body``."""
    try:
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (CryptoError, ValueError):  # a wrong signature, or one that is not 64 bytes of hex
        return False
    return True


def recent(timestamp: str) -> bool:
    """Whether ``timestamp`` (Unix seconds, as Discord signs it) is within ``SIGNATURE_WINDOW_SECONDS`` of now."""
    return timestamp.isdigit() and abs(time.time() - int(timestamp)) <= SIGNATURE_WINDOW_SECONDS


def choices(data: dict[str, Any]) -> list[dict[str, str]]:
    """Autocomplete choices for the option being typed, by its declared kind (tickers, a period)."""
    focused = next((o for o in data.get("options", []) if o.get("focused")), None)
    kind = option_kind(data, focused["name"]) if focused else None
    if kind is None:
        return []
    found = for_option(kind, str(focused.get("value", "")), MAX_CHOICES)
    return [{"name": cut(f"{s.value} · {s.name}", CHOICE_LIMIT), "value": s.value} for s in found
            if len(s.value) <= CHOICE_LIMIT]


class _Interactions:
    def __init__(self, budget: Budget, jobs: Jobs, first_time: Callable[[str], bool]) -> None:
        self.budget = budget
        self.jobs = jobs
        self.first_time = first_time

    def respond(self, interaction: dict[str, Any]) -> dict[str, Any] | None:
        """The HTTP answer to ``interaction``; command work is handed to ``jobs`` first.  ``None``: not ours,
        or not shaped as Discord shapes it."""
        kind, data = interaction.get("type"), interaction.get("data") or {}
        if kind == PING:
            return {"type": PONG}
        if not isinstance(data, dict) or not _well_formed(kind, data):
            return None
        if kind == AUTOCOMPLETE:
            return {"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices(data)}}
        if kind not in (APPLICATION_COMMAND, MESSAGE_COMPONENT):
            return None
        in_place = kind == MESSAGE_COMPONENT and _is_a_result(interaction.get("message") or {})
        deferral = {"type": DEFERRED_UPDATE_MESSAGE if in_place else DEFERRED_CHANNEL_MESSAGE}
        if not self.first_time(f"discord:interaction:{interaction.get('id')}"):
            log.warning("refused a replayed Discord interaction")
            return deferral
        who = caller(interaction)
        refusal = self.budget.refusal(f"{PLATFORM}:{who.team}", who.user)  # in DMs, a team of one
        if refusal is not None:
            return {"type": CHANNEL_MESSAGE, "data": message(error_reply(refusal), ephemeral=True).payload}
        text = command_text(data) if kind == APPLICATION_COMMAND else data["custom_id"]
        self.jobs.submit(JOB_KIND, {"interaction": interaction, "text": text, "in_place": in_place,
                                    "started": time.time()})
        return deferral


def job_handler(answer: Answer, rest: DiscordRest, posted: Posted) -> Callable[[Payload], None]:
    """Runs a Discord job: the command, then its reply through the interaction's webhook."""
    def run(payload: Payload) -> None:
        interaction, text = payload["interaction"], payload["text"]
        application_id, token = interaction["application_id"], interaction["token"]
        who = caller(interaction)
        try:
            reply = answer(text, who)
            sent = _deliver(rest, reply, interaction, in_place=payload["in_place"])
            if reply.track and sent:
                discussion = once("thread", lambda: _discussion(rest, who, sent["id"], reply))
                posted(who, reply.track, discussion, sent["id"])
        except DiscordError as error:
            log.error("could not deliver %r to Discord: %s", text, error)
            _apologise(rest, application_id, token)
        COMMAND_SECONDS.labels(router.label(text)).observe(time.time() - payload["started"])

    return run


def _deliver(rest: DiscordRest, reply: Reply, interaction: dict[str, Any], *, in_place: bool) -> Any:
    """Send ``reply``; the new public message Discord made, if any.  Each webhook call is a ``once`` step:
    a job run again after its worker died does not post twice."""
    application_id, token = interaction["application_id"], interaction["token"]
    if reply.ephemeral:
        if not in_place:  # a type-6 deferral shows no placeholder
            once("delete", lambda: rest.delete_original(application_id, token))
        once("private", lambda: rest.follow_up(application_id, token, message(reply, ephemeral=True)))
        return None
    if in_place and not reply.track:  # the new period, or a card's new tally, in place
        edit = message(reply) if reply.chart else _keeping_chart(message(reply), interaction.get("message") or {})
        once("edit", lambda: rest.edit_original(application_id, token, edit))
        return None
    return once("follow-up", lambda: rest.follow_up(application_id, token, message(reply)))


def _keeping_chart(edit: Message, clicked: dict[str, Any]) -> Message:
    """``edit`` leaving the clicked message's chart in place: an edit that lists no attachments keeps them
    all, and the embed, replaced whole, shows the image the old one showed."""
    payload = {key: value for key, value in edit.payload.items() if key != "attachments"}
    image = next((e["image"] for e in clicked.get("embeds") or [] if (e.get("image") or {}).get("url")), None)
    if image is not None:
        payload["embeds"] = [{**payload["embeds"][0], "image": {"url": image["url"]}}]
    return Message(payload, edit.files)


def _discussion(rest: DiscordRest, who: Caller, message_id: str, reply: Reply) -> str:
    """Where follow-ups to the tracked message ``message_id`` go: a thread started on it (whose id is the
    message's), else, in a DM or when Discord refuses the thread, the channel it is in."""
    if who.is_dm:
        return who.channel
    try:
        return rest.start_thread(who.channel, message_id, cut(unmarked(reply.text), THREAD_NAME_LIMIT))["id"]
    except DiscordError as error:
        log.warning("no thread for %s, follow-ups go to its channel: %s", reply.track, error)
        return who.channel


def _apologise(rest: DiscordRest, application_id: str, token: str) -> None:
    # If the placeholder is still there this replaces it for all to see, which beats a "thinking…" forever.
    try:
        rest.follow_up(application_id, token, message(error_reply(UNDELIVERED), ephemeral=True))
    except DiscordError as error:
        log.error("could not tell the user either: %s", error)


def _well_formed(kind: object, data: dict[str, Any]) -> bool:
    """Whether ``data`` has what Tilt reads of an interaction of this ``kind``."""
    if kind in (APPLICATION_COMMAND, AUTOCOMPLETE):
        return isinstance(data.get("name"), str) and isinstance(data.get("options", []), list)
    if kind == MESSAGE_COMPONENT:
        return isinstance(data.get("custom_id"), str)
    return True


def caller(interaction: dict[str, Any]) -> Caller:
    """Discord's ids as a ``Caller``: the server, the channel, and the person, whom a server interaction
    names in ``member.user`` and a direct message in ``user``.

    Outside a server the team is the person alone (``dm:<user id>``): direct messages have no server to
    share, so calls, universes and cards made there are that person's, never every DM user's."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    user_id = user.get("id", "")
    guild = interaction.get("guild_id")
    channel = interaction.get("channel_id") or (interaction.get("channel") or {}).get("id", "")
    return Caller(platform=PLATFORM, team=guild or f"dm:{user_id}", channel=channel, user=user_id, is_dm=guild is None)


def _is_a_result(clicked: dict[str, Any]) -> bool:
    """Whether the message whose button was clicked answered an interaction (rather than being a channel post)."""
    return bool(clicked.get("interaction_metadata") or clicked.get("interaction"))

