"""A local stand-in for Discord's REST API (v10), recording what the bot sends and refusing what Discord refuses.

Routes (under ``/api/v10``):

* ``POST /webhooks/{app}/{token}``, ``PATCH|DELETE /webhooks/{app}/{token}/messages/@original``:
  interaction follow-ups and the original response, no authorisation (the token is in the path);
* ``POST /channels/{id}/messages``: channel messages, ``Authorization: Bot <bot_token>``;
* ``POST /channels/{id}/messages/{message}/threads``: a thread started on a message (its id is the
  message's, as on Discord), ``Authorization: Bot <bot_token>``; ``threads`` records them;
* ``PUT /applications/{app}/commands``, ``PUT /applications/{app}/guilds/{guild}/commands``:
  bulk overwrite of slash commands, ``Authorization: Bot <bot_token>``.

Messages arrive as JSON or as ``multipart/form-data`` with ``payload_json`` and
``files[n]``; like Discord, it answers 400 when ``attachments[].id`` and the
``files[n]`` parts disagree, when an embed's ``attachment://`` image names no
attachment, or when a limit is exceeded (content 2000; 10 embeds; title 256,
description 4096, 25 fields of name 256 and value 1024, footer 2048, author
256, 6000 in all; components), and checks command definitions against
Discord's rules.

Who sees what (``visible``): every interaction token is taken to come from a
*public* deferral ("thinking…", which is what Tilt sends), so, as on Discord,
the first follow-up or edit replaces that placeholder and is public whatever
its flags; once the placeholder is deleted, follow-ups are new messages and
``flags: 64`` makes them ephemeral.

Knob: ``fail_next(method, path_prefix, status, retry_after)``.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers import PATIENCE, LocalServer, QuietHandler

API_PREFIX = "/api/v10"
EPHEMERAL = 64
WEBHOOK_FLAGS = EPHEMERAL | 4 | 4096  # ephemeral, suppress embeds, suppress notifications
CHANNEL_FLAGS = 4 | 4096
NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
LIMITS = {"content": 2000, "embeds": 10, "title": 256, "description": 4096, "fields": 25, "field_name": 256,
          "field_value": 1024, "footer": 2048, "author": 256, "embed_total": 6000}


@dataclass
class Call:
    method: str
    path: str  # after /api/v10
    authorization: str
    payload: Any  # the JSON body, or payload_json
    files: dict[str, tuple[str, bytes]]  # "files[n]" -> (filename, content)
    status: int = 0  # what the stand-in answered
    at: float = field(default_factory=time.monotonic)


@dataclass
class Seen:
    """A message as Discord's users would see it."""

    token: str
    payload: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    ephemeral: bool
    deleted: bool = False


class DiscordStandIn(LocalServer):
    def __init__(self, bot_token: str = "test-bot-token") -> None:
        self.bot_token = bot_token
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self.threads: list[dict[str, Any]] = []
        self._seen: list[Seen] = []
        self._originals: dict[str, Seen] = {}  # token -> what fills the deferral's placeholder
        self._failures: list[tuple[str, str, int, float]] = []
        self._ids = 1000
        self._lock = threading.Condition()
        super().__init__(self._handler())
        self.api_url = self.base + API_PREFIX

    # --- for tests ---------------------------------------------------------------------------

    def fail_next(self, method: str, path_prefix: str, status: int = 429, retry_after: float = 0.5) -> None:
        """The next ``method`` call to a path starting with ``path_prefix`` gets ``status`` (429: with retry_after)."""
        with self._lock:
            self._failures.append((method, path_prefix, status, retry_after))

    def wait_for(self, method: str, path_prefix: str, count: int = 1, timeout: float = PATIENCE) -> list[Call]:
        """Block until ``count`` calls of ``method`` to ``path_prefix...`` were answered; return them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := self._matching(method, path_prefix)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.path, c.status) for c in self.calls]
                    raise AssertionError(f"fewer than {count} {method} {path_prefix}... within {timeout}s; saw {seen}")
                self._lock.wait(remaining)
            return found

    def calls_to(self, path_prefix: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.startswith(path_prefix)]

    def visible(self, token: str) -> list[Seen]:
        """The messages of interaction ``token`` that still exist, as users see them."""
        with self._lock:
            return [m for m in self._seen if m.token == token and not m.deleted]

    def _matching(self, method: str, path_prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix) and c.status]

    # --- Discord's behaviour -----------------------------------------------------------------

    def _answer(self, call: Call) -> tuple[int, Any]:
        parts = call.path.strip("/").split("/")
        if parts[0] == "webhooks" and len(parts) >= 3:
            return self._webhook(call, parts[2], parts[3:])
        if call.authorization != f"Bot {self.bot_token}":
            return 401, {"message": "401: Unauthorized", "code": 0}
        if parts[0] == "channels" and parts[2:] == ["messages"] and call.method == "POST":
            problem = check_message(call.payload, call.files, allowed_flags=CHANNEL_FLAGS)
            return (400, _invalid(problem)) if problem else (200, self._message(call.payload, call.files, parts[1]))
        if parts[0] == "channels" and len(parts) == 5 and parts[2] == "messages" and parts[4] == "threads":
            name = (call.payload or {}).get("name", "")
            if call.method != "POST" or not 1 <= len(name) <= 100:
                return 400, _invalid("a thread needs a name of 1 to 100 characters")
            thread = {"id": parts[3], "type": 11, "parent_id": parts[1], "name": name}
            with self._lock:
                self.threads.append(thread)
            return 201, thread
        if parts[0] == "applications" and parts[-1] == "commands" and call.method == "PUT":
            guild = parts[3] if len(parts) == 5 and parts[2] == "guilds" else None
            problem = check_commands(call.payload)
            if problem:
                return 400, _invalid(problem)
            registered = [{**c, "id": str(self._next_id()), "application_id": parts[1], "version": "1"} for c in call.payload]
            with self._lock:
                self.commands[(parts[1], guild)] = registered
            return 200, registered
        return 404, {"message": "404: Not Found", "code": 0}

    def _webhook(self, call: Call, token: str, rest: list[str]) -> tuple[int, Any]:
        original = rest == ["messages", "@original"]
        if call.method == "DELETE" and original:
            with self._lock:
                seen = self._originals.setdefault(token, Seen(token, {}, {}, ephemeral=False))
                if seen.deleted:
                    return 404, {"message": "Unknown Message", "code": 10008}
                seen.deleted = True
            return 204, None
        if (call.method, rest) not in (("POST", []), ("PATCH", ["messages", "@original"])):
            return 404, {"message": "404: Not Found", "code": 0}
        problem = check_message(call.payload, call.files, allowed_flags=WEBHOOK_FLAGS)
        if problem:
            return 400, _invalid(problem)
        with self._lock:
            placeholder = self._originals.get(token)
            if placeholder is None or (original and not placeholder.deleted):
                # The deferral's placeholder takes this message, and keeps its (public) visibility.
                seen = placeholder or Seen(token, {}, {}, ephemeral=False)
                seen.payload, seen.files = call.payload, call.files
                if placeholder is None:
                    self._originals[token] = seen
                    self._seen.append(seen)
            elif original:
                return 404, {"message": "Unknown Message", "code": 10008}
            else:
                seen = Seen(token, call.payload, call.files, ephemeral=bool(call.payload.get("flags", 0) & EPHEMERAL))
                self._seen.append(seen)
        return 200, self._message(call.payload, call.files, "interaction", ephemeral=seen.ephemeral)

    def _message(self, payload: dict[str, Any], files: dict[str, tuple[str, bytes]], channel: str,
                 ephemeral: bool = False) -> dict[str, Any]:
        attachments = [{"id": str(self._next_id()), "filename": name, "size": len(data)} for name, data in files.values()]
        return {"id": str(self._next_id()), "channel_id": channel, "content": payload.get("content", ""),
                "embeds": payload.get("embeds", []), "attachments": attachments, "flags": EPHEMERAL if ephemeral else 0}

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _failure(self, call: Call) -> tuple[int, float] | None:
        with self._lock:
            for i, (method, prefix, status, retry_after) in enumerate(self._failures):
                if method == call.method and call.path.startswith(prefix):
                    del self._failures[i]
                    return status, retry_after
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self._handle()

            def do_PATCH(self) -> None:
                self._handle()

            def do_PUT(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.startswith(API_PREFIX + "/"):
                    return self._send(404, {"message": "404: Not Found", "code": 0})
                try:
                    payload, files = decode(raw, self.headers.get("Content-Type", ""))
                except ValueError as error:
                    return self._send(400, {"message": f"Cannot parse body: {error}", "code": 50109})
                call = Call(self.command, self.path[len(API_PREFIX):].split("?")[0], self.headers.get("Authorization", ""),
                            payload, files)
                failure = standin._failure(call)
                if failure is not None:
                    status, retry_after = failure
                    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
                    answer: tuple[int, Any] = (status, body if status == 429 else {"message": "Injected failure", "code": 0})
                    headers = {"Retry-After": str(math.ceil(retry_after))} if status == 429 else {}
                else:
                    answer, headers = standin._answer(call), {}
                call.status = answer[0]
                with standin._lock:
                    standin.calls.append(call)
                    standin._lock.notify_all()
                self._send(*answer, headers=headers)

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.respond(status, data, "application/json" if data else None, headers)

        return Handler


def decode(raw: bytes, content_type: str) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """The JSON payload and the ``files[n]`` parts of a request body (JSON or multipart/form-data)."""
    if not raw:
        return None, {}
    if content_type.startswith("application/json"):
        return json.loads(raw), {}
    if not content_type.startswith("multipart/form-data"):
        raise ValueError(f"unexpected Content-Type {content_type!r}")
    form = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    payload, files = None, {}
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if name == "payload_json":
            payload = json.loads(data)
        elif name and re.fullmatch(r"files\[\d+\]", name):
            files[name] = (part.get_filename(), data)
        else:
            raise ValueError(f"unexpected form part {name!r}")
    if payload is None:
        raise ValueError("no payload_json")
    return payload, files


def check_message(payload: Any, files: dict[str, tuple[str, bytes]], *, allowed_flags: int) -> str | None:
    """Discord's refusals for a message body, as a sentence; ``None`` when Discord would take it."""
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if len(payload.get("content") or "") > LIMITS["content"]:
        return "content is longer than 2000"
    embeds = payload.get("embeds") or []
    if len(embeds) > LIMITS["embeds"]:
        return "more than 10 embeds"
    total = 0
    for embed in embeds:
        sizes = {"title": len(embed.get("title", "")), "description": len(embed.get("description", "")),
                 "footer": len((embed.get("footer") or {}).get("text", "")),
                 "author": len((embed.get("author") or {}).get("name", ""))}
        for name, size in sizes.items():
            if size > LIMITS[name]:
                return f"embed {name} is longer than {LIMITS[name]}"
        fields = embed.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            return "more than 25 embed fields"
        for f in fields:
            if not f.get("name") or not f.get("value"):
                return "embed fields need a name and a value"
            if len(f["name"]) > LIMITS["field_name"] or len(f["value"]) > LIMITS["field_value"]:
                return "embed field too long"
        total += sum(sizes.values()) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > LIMITS["embed_total"]:
        return f"embeds total {total} characters, more than 6000"
    attachments = payload.get("attachments") or []
    ids = {str(a.get("id")) for a in attachments}
    if ids != {name[len("files["):-1] for name in files}:
        return f"attachments ids {sorted(ids)} do not match the parts {sorted(files)}"
    names = {a.get("filename") for a in attachments}
    for embed in embeds:
        url = (embed.get("image") or {}).get("url", "")
        if url.startswith("attachment://") and url[len("attachment://"):] not in names:
            return f"embed image {url} names no attachment"
    problem = _check_components(payload.get("components") or [])
    if problem:
        return problem
    if payload.get("flags", 0) & ~allowed_flags:
        return f"flags {payload['flags']} not allowed here"
    if not (payload.get("content") or embeds or files):
        return "Cannot send an empty message"
    return None


def _check_components(rows: list[dict[str, Any]]) -> str | None:
    if len(rows) > 5:
        return "more than 5 action rows"
    ids = [b.get("custom_id") for row in rows for b in row.get("components", [])]
    for row in rows:
        buttons = row.get("components", [])
        if row.get("type") != 1 or not 1 <= len(buttons) <= 5:
            return "an action row holds 1 to 5 components"
        for b in buttons:
            if b.get("type") != 2 or len(b.get("label", "")) > 80 or not 1 <= len(b.get("custom_id", "")) <= 100:
                return "bad button"
    return "duplicate custom_id" if len(ids) != len(set(ids)) else None


def check_commands(commands: Any) -> str | None:
    """Discord's refusals for a bulk overwrite of application commands."""
    if not isinstance(commands, list) or len(commands) > 100:
        return "expected a list of at most 100 commands"
    for command in commands:
        if not NAME.match(command.get("name", "")) or not 1 <= len(command.get("description", "")) <= 100:
            return f"bad name or description in {command.get('name')!r}"
        options = command.get("options", [])
        if len(options) > 25:
            return "more than 25 options"
        required = [o.get("required", False) for o in options]
        if required != sorted(required, reverse=True):
            return f"required options must come first in {command['name']!r}"
        for option in options:
            if not NAME.match(option.get("name", "")) or not 1 <= len(option.get("description", "")) <= 100:
                return f"bad option name or description in {command['name']!r}"
            if option.get("autocomplete") and option.get("choices"):
                return "autocomplete and choices are exclusive"
            if len(option.get("choices", [])) > 25:
                return "more than 25 choices"
    return None


def _invalid(problem: str) -> dict[str, Any]:
    return {"message": f"Invalid Form Body: {problem}", "code": 50035}
