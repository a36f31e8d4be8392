"""Discord's HTTP interactions: the route Discord posts to, answered as Discord requires.

``POST /discord/interactions`` (the application's Interactions Endpoint URL):

1. ``X-Signature-Ed25519`` must verify ``X-Signature-Timestamp + raw body``
   with the application's public key, else 401 (Discord sends bad signatures on
   purpose to check this, and drops an endpoint that accepts them);
2. PING (type 1) is answered PONG; autocomplete (type 4) at once with up to 25
   ticker choices (type 8) from ``handlers.suggest``;
3. a slash command (type 2) or a button (type 3, its ``custom_id`` is the
   command) becomes command text for ``handlers.router``.  The answer is a
   deferral at once, well inside Discord's 3 seconds, and the command runs on a
   small thread pool; its reply goes through the interaction webhook (valid 15
   minutes).  A button under an earlier result (a period) replaces that result
   (type 6, then an edit); a button under a channel post, such as a digest,
   leaves the post alone and answers below it like a command (type 5).

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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey

from chat.discord.embeds import message
from chat.discord.register import TICKERS, command_text
from chat.discord.rest import DiscordError, DiscordRest
from chat.text import cut
from chat.web import StartResponse, WsgiApp, plain
from handlers import router
from handlers.budget import Budget
from handlers.caller import Caller
from handlers.reply import Reply, error_reply
from handlers.suggest import suggest
from metrics import COMMAND_SECONDS

log = logging.getLogger(__name__)

INTERACTIONS_PATH = "/discord/interactions"
PLATFORM = "discord"
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4  # interaction types
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 6, 8
MAX_CHOICES = 25
CHOICE_LIMIT = 100  # characters in a choice's name and in its value
WORKERS = 8
UNDELIVERED = "I worked out the answer but Discord would not take it. Please try again in a minute."

Answer = Callable[[str, Caller], Reply]


def interactions_route(public_key: str, answer: Answer, budget: Budget, rest: DiscordRest) -> WsgiApp:
    """The WSGI handler for ``POST /discord/interactions``; ``answer`` runs one command text from a ``Caller`` to a ``Reply``."""
    key = VerifyKey(bytes.fromhex(public_key))
    interactions = _Interactions(answer, budget, rest)

    def route(environ: dict, start_response: StartResponse) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if not signed(key, body, environ.get("HTTP_X_SIGNATURE_ED25519", ""), environ.get("HTTP_X_SIGNATURE_TIMESTAMP", "")):
            return plain(start_response, "401 Unauthorized", b"invalid request signature\n")
        try:
            interaction = json.loads(body)
        except ValueError:
            return plain(start_response, "400 Bad Request", b"not JSON\n")
        response = interactions.respond(interaction)
        if response is None:
            return plain(start_response, "400 Bad Request", b"unsupported interaction type\n")
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


def choices(data: dict[str, Any]) -> list[dict[str, str]]:
    """Autocomplete choices for the option being typed; in ``tickers`` (several, space-separated) for its last word."""
    focused = next((o for o in data.get("options", []) if o.get("focused")), None)
    if focused is None:
        return []
    typed = str(focused.get("value", ""))
    earlier, _, last = typed.rpartition(" ") if focused["name"] == TICKERS else ("", "", typed)
    prefix = f"{earlier.strip()} " if earlier.strip() else ""
    found = [(prefix + s.ticker, s.name) for s in suggest(last.strip(), MAX_CHOICES)]
    return [{"name": cut(f"{value} · {name}", CHOICE_LIMIT), "value": value} for value, name in found
            if len(value) <= CHOICE_LIMIT]


class _Interactions:
    def __init__(self, answer: Answer, budget: Budget, rest: DiscordRest) -> None:
        self.answer = answer
        self.budget = budget
        self.rest = rest
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="discord")

    def respond(self, interaction: dict[str, Any]) -> dict[str, Any] | None:
        """The HTTP answer to ``interaction``; command work is handed to the pool first.  ``None``: not ours."""
        kind, data = interaction.get("type"), interaction.get("data") or {}
        if kind == PING:
            return {"type": PONG}
        if kind == AUTOCOMPLETE:
            return {"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices(data)}}
        if kind not in (APPLICATION_COMMAND, MESSAGE_COMPONENT):
            return None
        who = caller(interaction)
        if not self.budget.allows(_budget_team(who), who.user):
            return {"type": CHANNEL_MESSAGE, "data": message(error_reply(self.budget.message()), ephemeral=True).payload}
        text = command_text(data) if kind == APPLICATION_COMMAND else data["custom_id"]
        in_place = kind == MESSAGE_COMPONENT and _is_a_result(interaction.get("message") or {})
        self.pool.submit(self._complete, interaction, text, who, in_place)
        return {"type": DEFERRED_UPDATE_MESSAGE if in_place else DEFERRED_CHANNEL_MESSAGE}

    def _complete(self, interaction: dict[str, Any], text: str, who: Caller, in_place: bool) -> None:
        """Run the command and deliver its reply (on the pool, where an exception would vanish unlogged)."""
        started = time.monotonic()
        application_id, token = interaction["application_id"], interaction["token"]
        try:
            self._deliver(self.answer(text, who), application_id, token, in_place=in_place)
        except DiscordError as error:
            log.error("could not deliver %r to Discord: %s", text, error)
            self._apologise(application_id, token)
        except Exception:
            log.exception("Discord interaction %r failed", text)
        COMMAND_SECONDS.labels(router.split_command(text)[0]).observe(time.monotonic() - started)

    def _deliver(self, reply: Reply, application_id: str, token: str, *, in_place: bool) -> None:
        if reply.ephemeral:
            if not in_place:  # a type-6 deferral shows no placeholder
                self.rest.delete_original(application_id, token)
            self.rest.follow_up(application_id, token, message(reply, ephemeral=True))
        elif in_place:
            self.rest.edit_original(application_id, token, message(reply))  # the new period in place of the old
        else:
            self.rest.follow_up(application_id, token, message(reply))

    def _apologise(self, application_id: str, token: str) -> None:
        # If the placeholder is still there this replaces it for all to see, which beats a "thinking…" forever.
        try:
            self.rest.follow_up(application_id, token, message(error_reply(UNDELIVERED), ephemeral=True))
        except DiscordError as error:
            log.error("could not tell the user either: %s", error)


def caller(interaction: dict[str, Any]) -> Caller:
    """Discord's ids as a ``Caller``: the server (``dm`` outside one), the channel, and the person,
    whom a server interaction names in ``member.user`` and a direct message in ``user``."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    guild = interaction.get("guild_id")
    channel = interaction.get("channel_id") or (interaction.get("channel") or {}).get("id", "")
    return Caller(platform=PLATFORM, team=guild or "dm", channel=channel, user=user.get("id", ""), is_dm=guild is None)


def _is_a_result(clicked: dict[str, Any]) -> bool:
    """Whether the message whose button was clicked answered an interaction (rather than being a channel post)."""
    return bool(clicked.get("interaction_metadata") or clicked.get("interaction"))


def _budget_team(who: Caller) -> str:
    # Direct messages have no server: each person there is a "team" of their own, not one shared by all DMs.
    return f"{PLATFORM}:{who.team}:{who.user}" if who.is_dm else f"{PLATFORM}:{who.team}"
