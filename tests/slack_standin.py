"""A local stand-in for the Slack Web API and for ``response_url``, recording what the bot sends.

Serves the methods Tilt calls, with Slack's answers in Slack's shapes:
``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``,
``files.getUploadURLExternal`` (whose ``upload_url`` points back here),
the upload itself, ``files.completeUploadExternal``, ``apps.connections.open``
(Socket Mode, handing out ``socket_url``), ``oauth.v2.access`` (turning a
code from ``grants`` into a bot token of that team); and ``POST
/response/<id>`` for response URLs.  Like Slack, it enforces the limits Tilt
must respect (blocks per message, text lengths, a bot token) and answers
``not_in_channel`` for channels the bot was not invited to.

Knobs: ``not_member`` (channel ids), ``fail_next(method, status, retry_after, error)``,
``hold_next(method)``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.servers import PATIENCE, LocalServer

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000


@dataclass
class Call:
    method: str
    authorization: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] | None = None  # what the stand-in answered (set just after the call is recorded)


class SlackStandIn(LocalServer):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.not_member: set[str] = set()
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self.grants: dict[str, str] = {}  # OAuth code -> the workspace (team id) approving the install
        self.tokens: dict[str, str] = {}  # bot token handed out by oauth.v2.access -> its team
        self.rotate_tokens = False  # hand out expiring tokens with refresh tokens (Slack's token rotation)
        self.refresh_tokens: dict[str, str] = {}
        self._failures: dict[str, list[tuple[int, int, str]]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._lock = threading.Condition()
        self._file_counter = 0
        super().__init__(self._handler())
        self.api_url = f"{self.base}/api/"

    # --- for tests ---------------------------------------------------------------------------

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def fail_next(self, method: str, status: int, retry_after: int = 1, error: str = "ratelimited") -> None:
        """The next call to ``method`` (not yet failed) gets HTTP ``status`` with ``{"ok": false, "error": error}``
        (429 carries ``Retry-After``); called N times, the next N calls fail."""
        with self._lock:
            self._failures.setdefault(method, []).append((status, retry_after, error))

    def hold_next(self, method: str) -> threading.Event:
        """The next call to ``method`` is recorded, then left unanswered until the returned event is set."""
        release = threading.Event()
        with self._lock:
            self._holds[method] = release
        return release

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = PATIENCE) -> list[Call]:
        """Block until ``method`` was called ``count`` times; return those calls."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([c for c in self.calls if c.method == method]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"{method} called fewer than {count} times within {timeout}s; saw {seen}")
                self._lock.wait(remaining)
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.uploads.clear()

    # --- server ------------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def _failure(self, method: str) -> tuple[int, int, str] | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _answer(self, method: str, body: dict[str, Any], authorization: str) -> dict[str, Any]:
        if method == "oauth.v2.access":
            if body.get("grant_type") == "refresh_token":
                team = self.refresh_tokens.pop(body.get("refresh_token", ""), None)
            else:
                team = self.grants.pop(body.get("code", ""), None)
            if team is None:
                return {"ok": False, "error": "invalid_grant" if body.get("grant_type") else "invalid_code"}
            token = f"xoxb-{team}-{len(self.tokens) + 1}"
            self.tokens[token] = team
            answer = {"ok": True, "access_token": token, "token_type": "bot", "scope": "commands,chat:write",
                      "bot_user_id": f"U{team}BOT", "app_id": "A0TILT", "team": {"id": team, "name": f"Team {team}"},
                      "enterprise": None, "is_enterprise_install": False, "authed_user": {"id": f"U{team}ADMIN"}}
            if self.rotate_tokens:  # token rotation: a short-lived token and a refresh token for the next one
                refresh = f"xoxe-{team}-{len(self.tokens)}"
                self.refresh_tokens[refresh] = team
                answer.update(refresh_token=refresh, expires_in=600)
            return answer
        if method == "apps.connections.open":
            if not authorization.startswith("Bearer xapp-") or self.socket_url is None:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.socket_url}
        if method != "response" and not authorization.startswith("Bearer xoxb-"):
            return {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            team = self.tokens.get(authorization.removeprefix("Bearer "), "T0TEST")
            return {"ok": True, "url": f"https://{team.lower()}.slack.com/", "team": f"Team {team}", "user": "tilt",
                    "team_id": team, "user_id": f"U{team}BOT", "bot_id": f"B{team}"}
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "response"):
            problem = _check_message(body)
            if problem:
                return {"ok": False, "error": problem}
        if method in ("chat.postMessage", "chat.postEphemeral") and body.get("channel") in self.not_member:
            return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": body["channel"], "ts": f"{time.time():.6f}", "message": {"text": body.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "chat.update":
            return {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body.get("text")}
        if method == "files.getUploadURLExternal":
            with self._lock:
                self._file_counter += 1
                file_id = f"F{self._file_counter:04d}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(body["files"]) if isinstance(body.get("files"), str) else body.get("files", [])
            missing = [f["id"] for f in files if f["id"] not in self.uploads]
            if missing:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "response":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                authorization = self.headers.get("Authorization", "")
                if self.path.startswith("/upload/"):
                    file_id = self.path.rsplit("/", 1)[1]
                    # Uploaded bytes arrive raw, whatever the Content-Type says: never form-decode them.
                    with standin._lock:
                        standin.uploads[file_id] = raw
                    standin._record(Call("upload", authorization, {"file_id": file_id, "size": len(raw)}))
                    return self._send(200, b"OK", "text/plain")
                if self.path.startswith("/response/"):
                    method, body = "response", json.loads(raw or b"{}")
                    body["_response_url"] = self.path.rsplit("/", 1)[1]
                elif self.path.startswith("/api/"):
                    method = self.path[len("/api/"):].split("?")[0]
                    body = _decode(raw, self.headers.get("Content-Type", ""))
                else:
                    return self._send(404, b"not found", "text/plain")
                call = Call(method, authorization, body)
                standin._record(call)
                with standin._lock:
                    held = standin._holds.pop(method, None)
                if held is not None:
                    held.wait(timeout=PATIENCE)
                failure = standin._failure(method)
                if failure is not None:
                    status, retry_after, error = failure
                    return self._send(status, json.dumps({"ok": False, "error": error}).encode(),
                                      "application/json", {"Retry-After": str(retry_after)})
                answer = standin._answer(method, body, authorization)
                call.answer = answer
                self._send(200, json.dumps(answer).encode(), "application/json")

            def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return json.loads(raw or b"{}")
    fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    if "blocks" in fields:
        fields["blocks"] = json.loads(fields["blocks"])
    return fields


def _check_message(body: dict[str, Any]) -> str | None:
    """Slack's own refusals for a malformed message."""
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if len(text) > MAX_SECTION_TEXT:
            return "invalid_blocks"
    if not body.get("text") and not blocks and not body.get("delete_original"):
        return "no_text"
    return None
