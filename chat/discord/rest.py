"""Discord's REST API over plain HTTP (``requests``): interaction webhooks, channel messages, commands.

- Interaction follow-ups and edits (``webhooks/{application_id}/{token}/...``)
  are authorised by the interaction token in the path, valid 15 minutes after
  the interaction; every other call sends ``Authorization: Bot <token>``.
- A message with files goes as ``multipart/form-data``: ``payload_json`` plus
  one ``files[n]`` part per file, ``n`` being the ``attachments[].id`` the
  payload gives it; a message without files goes as JSON.
- HTTP 429: wait the ``retry_after`` seconds of the JSON body (a float), else
  the ``Retry-After`` header, and try again; at most ``MAX_RETRIES`` times, and
  never for longer than ``MAX_WAIT_SECONDS`` at once (a longer ban fails now
  rather than delivering after the interaction token expired).
- Neither token is ever logged or put in an error: paths are shown with the
  webhook token masked, and network errors by their kind only (their text
  carries the URL).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from chat.discord.embeds import Message, message
from handlers.common.reply import Reply

log = logging.getLogger(__name__)

MAX_RETRIES = 3
THREAD_ARCHIVE_MINUTES = 10080  # a week without messages before Discord hides a thread
MAX_WAIT_SECONDS = 60.0
DEFAULT_WAIT_SECONDS = 1.0
TIMEOUT_SECONDS = 15.0
# Discord asks for "DiscordBot (url, version)"; its edge refuses some library defaults (urllib's, for one).
USER_AGENT = "DiscordBot (tilt, 0.1.0)"
_WEBHOOK_TOKEN = re.compile(r"(webhooks/\d+/)[^/?]+")
MASKED_TOKEN = r"\1<token>"


class DiscordError(Exception):
    """Discord refused a call or could not be reached; the message names the call and the reason, never a token."""


@dataclass(frozen=True)
class DiscordRest:
    api_url: str
    bot_token: str | None = field(default=None, repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False, compare=False)

    # --- interactions (authorised by the interaction token) ------------------------------------

    def follow_up(self, application_id: str, token: str, sent: Message) -> Any:
        """A follow-up message; the first one after a deferral replaces the "thinking…" placeholder."""
        return self.request("POST", f"webhooks/{application_id}/{token}", sent, bot=False)

    def edit_original(self, application_id: str, token: str, sent: Message) -> Any:
        return self.request("PATCH", f"webhooks/{application_id}/{token}/messages/@original", sent, bot=False)

    def delete_original(self, application_id: str, token: str) -> None:
        self.request("DELETE", f"webhooks/{application_id}/{token}/messages/@original", bot=False)

    # --- with the bot token --------------------------------------------------------------------

    def post_to_channel(self, channel_id: str, reply: Reply) -> Any:
        """Post ``reply`` (embed and chart) in a channel, as digests and signal flips do; returns Discord's message."""
        return self.request("POST", f"channels/{channel_id}/messages", message(reply))

    def start_thread(self, channel_id: str, message_id: str, name: str) -> Any:
        """A public thread on a message (Discord gives it the message's id); returns Discord's channel."""
        return self.request("POST", f"channels/{channel_id}/messages/{message_id}/threads",
                            {"name": name, "auto_archive_duration": THREAD_ARCHIVE_MINUTES})

    def request(self, method: str, path: str, sent: Message | list | dict | None = None, *, bot: bool = True) -> Any:
        """Call ``path`` (relative to the API base), waiting out 429s; Discord's JSON answer, ``None`` for 204."""
        shown = f"{method} /{_WEBHOOK_TOKEN.sub(MASKED_TOKEN, path)}"
        headers = {"User-Agent": USER_AGENT}
        if bot:
            if not self.bot_token:
                raise DiscordError(f"{shown} needs DISCORD_BOT_TOKEN, which is not set.")
            headers["Authorization"] = f"Bot {self.bot_token}"
        url = f"{self.api_url.rstrip('/')}/{path}"
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = self.session.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **_body(sent))
            except requests.RequestException as error:
                raise DiscordError(f"{shown}: could not reach Discord ({type(error).__name__})") from None
            if response.status_code != 429:
                break
            wait = retry_after(response)
            if attempt == MAX_RETRIES or wait > MAX_WAIT_SECONDS:
                raise DiscordError(f"{shown}: rate limited (retry after {wait:.1f}s)")
            log.warning("Discord rate limit on %s; waiting %.2fs as asked", shown, wait)
            time.sleep(wait)
        if response.status_code >= 400:
            raise DiscordError(f"{shown}: HTTP {response.status_code} {_reason(response)}")
        return response.json() if response.content else None


def retry_after(response: requests.Response) -> float:
    """Seconds Discord asks us to wait: the body's ``retry_after`` (precise), else ``Retry-After``, else 1."""
    try:
        return float(response.json()["retry_after"])
    except (ValueError, KeyError, TypeError):
        pass
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return DEFAULT_WAIT_SECONDS


def _body(sent: Message | list | dict | None) -> dict[str, Any]:
    if sent is None:
        return {}
    if not isinstance(sent, Message):
        return {"json": sent}
    if not sent.files:
        return {"json": sent.payload}
    parts = [("payload_json", (None, json.dumps(sent.payload), "application/json"))]
    parts += [(f"files[{n}]", (upload.filename, upload.data, upload.content_type)) for n, upload in enumerate(sent.files)]
    return {"files": parts}


def _reason(response: requests.Response) -> str:
    try:
        answer = response.json()
        return f"{answer.get('message', '')} (code {answer.get('code', '?')})"
    except ValueError:
        return response.reason or ""
