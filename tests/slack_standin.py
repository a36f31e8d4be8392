"""A local stand-in for the Slack Web API and for ``response_url``, recording what the bot sends.

Serves the methods Tilt calls, with Slack's answers in Slack's shapes:
``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``,
``files.getUploadURLExternal`` (whose ``upload_url`` points back here),
the upload itself, ``files.completeUploadExternal``, ``apps.connections.open``
(Socket Mode, handing out ``socket_url``), ``oauth.v2.access`` (turning a
code from ``grants`` into a bot token of that team); and ``POST
/response/<id>`` for response URLs; ``conversations.open`` (a direct message's channel),
``views.publish`` (the App Home tab) and ``users.conversations`` (the channels a person is in, from
``members``).  Like Slack, it enforces the limits Tilt
must respect (a bot token; every block checked by ``block_problems`` against Block Kit's documented
limits) and answers ``not_in_channel`` for channels the bot was not invited to.  A block Slack would
refuse is answered ``invalid_blocks`` *and* kept in ``problems``: the stand-in fails the test that
caused it when it stops (and ``check()`` fails it at once), so a fallback cannot hide it.

Knobs: ``not_member`` (channel ids), ``members`` (channel id -> people),
``fail_next(method, status, retry_after, error)``,
``hold_next(method)``, ``refuse(kinds, team)``: answer ``invalid_blocks`` to any message or view
using those block types (as a Slack that does not know them would), for one workspace or all.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.servers import PATIENCE, LocalServer

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID = 255
MAX_TABLE_ROWS = 100
MAX_TABLE_COLUMNS = 20
MAX_DATA_TABLE_ROWS = 101  # the header and 100 rows
MAX_DATA_TABLE_CHARACTERS = 10_000  # per table and per message
MAX_PAGE_SIZE = 100
MAX_CHARTS = 2
MAX_CHART_TITLE = 50
MAX_SERIES = 6
MAX_CHART_LABEL = 20
# Points per series, i.e. categories (the data series "Min 1, max 20"; found in two independent renderings of
# Slack's reference, the official page being cut short where it is stored here).
MAX_CHART_POINTS = 20
MAX_AXIS_LABEL = 50
CHART_TYPES = ("pie", "bar", "area", "line")
CELL_TYPES = ("raw_text", "raw_number", "rich_text")
KNOWN_BLOCKS = ("section", "context", "actions", "header", "divider", "image", "table", "data_table",
                "data_visualization", "rich_text", "markdown")


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
        self.members: dict[str, set[str]] = {}  # channel id -> the people in it (users.conversations)
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self.grants: dict[str, str] = {}  # OAuth code -> the workspace (team id) approving the install
        self.tokens: dict[str, str] = {}  # bot token handed out by oauth.v2.access -> its team
        self.rotate_tokens = False  # hand out expiring tokens with refresh tokens (Slack's token rotation)
        self.refresh_tokens: dict[str, str] = {}
        self._failures: dict[str, list[tuple[int, int, str]]] = {}
        self.refused: dict[str | None, set[str]] = {}  # team (None: every workspace) -> block types answered invalid_blocks
        self.problems: list[str] = []  # blocks Slack would refuse, as "method: problem"
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

    def refuse(self, kinds: set[str], team: str | None = None) -> None:
        """Answer ``invalid_blocks`` to messages and views using any of ``kinds`` (for ``team``, else everywhere)."""
        with self._lock:
            self.refused.setdefault(team, set()).update(kinds)

    def check(self) -> None:
        """Fail if the bot sent a block Slack would refuse (and forget those problems)."""
        with self._lock:
            problems, self.problems = self.problems, []
        assert not problems, "blocks Slack would refuse:\n" + "\n".join(problems)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if exc[0] is None:
            self.check()

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
            self.refused.clear()

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
        team = self.tokens.get(authorization.removeprefix("Bearer "), "T0TEST") if method != "response" else None
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "response", "views.publish"):
            problem = self._check_blocks(method, body, team)
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
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(body.get("users", "")).lstrip("U")}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0HOME", "type": "home", "team_id": team}}
        if method == "users.conversations":
            return self._conversations_of(body)
        return {"ok": False, "error": "unknown_method"}

    def _conversations_of(self, body: dict[str, Any]) -> dict[str, Any]:
        """``users.conversations``: the channels ``user`` is in, a page of ``limit`` (at most 1,000) at a time,
        the rest behind ``response_metadata.next_cursor``, as Slack pages."""
        limit, start = int(body.get("limit") or 100), int(body.get("cursor") or 0)
        if not 1 <= limit <= 1000:
            return {"ok": False, "error": "invalid_limit"}
        with self._lock:
            ids = sorted(channel for channel, people in self.members.items() if body.get("user") in people)
        page = ids[start:start + limit]
        cursor = str(start + limit) if start + limit < len(ids) else ""
        return {"ok": True, "channels": [{"id": channel, "is_member": True} for channel in page],
                "response_metadata": {"next_cursor": cursor}}

    def _check_blocks(self, method: str, body: dict[str, Any], team: str | None) -> str | None:
        """``invalid_blocks`` for blocks Slack would refuse (recorded in ``problems``) or types it is told to
        refuse (``refuse``); ``no_text`` for a message with nothing in it."""
        if method == "views.publish":
            view = json.loads(body["view"]) if isinstance(body.get("view"), str) else body.get("view") or {}
            blocks, limit = view.get("blocks") or [], MAX_VIEW_BLOCKS
            problems = [] if view.get("type") == "home" else [f"a view of type {view.get('type')!r}, not home"]
        else:
            blocks = body.get("blocks") or []
            blocks, limit, problems = json.loads(blocks) if isinstance(blocks, str) else blocks, MAX_BLOCKS, []
            if not body.get("text") and not blocks and not body.get("delete_original"):
                return "no_text"
        problems += block_problems(blocks, limit)
        if problems:
            with self._lock:
                self.problems.extend(f"{method}: {p}" for p in problems)
            return "invalid_blocks"
        with self._lock:
            refused = self.refused.get(None, set()) | self.refused.get(team, set())
        return "invalid_blocks" if {b.get("type") for b in blocks} & refused else None

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


def block_problems(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS) -> list[str]:
    """What Slack would refuse in ``blocks`` (a message's, or a view's with ``limit`` 100), per Block Kit's
    documented limits (docs.slack.dev/reference/block-kit; data_table and data_visualization as of 2026-05-20)."""
    problems = [f"{len(blocks)} blocks, over {limit}"] if len(blocks) > limit else []
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind not in KNOWN_BLOCKS:
            problems.append(f"block {i}: unknown type {kind!r}")
        elif kind in _BLOCK_CHECKS:
            problems.extend(f"block {i} ({kind}): {p}" for p in _BLOCK_CHECKS[kind](block))
        if len(block.get("block_id") or "") > MAX_ID:
            problems.append(f"block {i}: block_id over {MAX_ID} characters")
    kinds = [b.get("type") for b in blocks]
    if kinds.count("table") > 1:
        problems.append("more than one table block")
    if kinds.count("data_visualization") > MAX_CHARTS:
        problems.append(f"more than {MAX_CHARTS} data_visualization blocks")
    characters = sum(_cells_characters(b) for b in blocks if b.get("type") == "data_table")
    if characters > MAX_DATA_TABLE_CHARACTERS:
        problems.append(f"{characters} characters in data_table cells, over {MAX_DATA_TABLE_CHARACTERS}")
    action_ids = [e.get("action_id") for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])]
    if len(action_ids) != len(set(action_ids)):
        problems.append("repeated action_id")
    return problems


def _text_problems(text: Any, limit: int, what: str, plain: bool = False) -> list[str]:
    if not isinstance(text, dict) or not isinstance(text.get("text"), str) or not text["text"]:
        return [f"{what}: no text object"]
    if text.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        return [f"{what}: text type {text.get('type')!r}"]
    return [f"{what}: {len(text['text'])} characters, over {limit}"] if len(text["text"]) > limit else []


def _section(block: dict[str, Any]) -> list[str]:
    fields = block.get("fields") or []
    problems = [] if "text" in block or fields else ["neither text nor fields"]
    if "text" in block:
        problems += _text_problems(block["text"], MAX_SECTION_TEXT, "text")
    if len(fields) > MAX_FIELDS:
        problems.append(f"{len(fields)} fields, over {MAX_FIELDS}")
    return problems + [p for f in fields for p in _text_problems(f, MAX_FIELD_TEXT, "field")]


def _header(block: dict[str, Any]) -> list[str]:
    return _text_problems(block.get("text"), MAX_HEADER_TEXT, "text", plain=True)


def _context(block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") or []
    problems = [] if 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS else [f"{len(elements)} elements"]
    return problems + [p for e in elements for p in _text_problems(e, MAX_SECTION_TEXT, "element")]


def _actions(block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") or []
    problems = [] if 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS else [f"{len(elements)} elements"]
    for e in elements:
        problems += _text_problems(e.get("text"), MAX_BUTTON_TEXT, "button", plain=True)
        if len(e.get("value") or "") > MAX_BUTTON_VALUE or not 1 <= len(e.get("action_id") or "") <= MAX_ID:
            problems.append(f"button {e.get('action_id')!r}: value or action_id too long")
    return problems


def _table(block: dict[str, Any]) -> list[str]:
    return _rows_problems(block.get("rows") or [], 1, MAX_TABLE_ROWS + 1, CELL_TYPES)


def _data_table(block: dict[str, Any]) -> list[str]:
    rows = block.get("rows") or []
    problems = [] if isinstance(block.get("caption"), str) and block["caption"] else ["no caption"]
    problems += _rows_problems(rows, 2, MAX_DATA_TABLE_ROWS, CELL_TYPES)
    if rows and any(c.get("type") == "rich_text" for c in rows[0]):
        problems.append("rich_text in the header row")
    page = block.get("page_size", 1)
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= MAX_PAGE_SIZE:
        problems.append(f"page_size {page!r}")
    index = block.get("row_header_column_index", 0)
    if rows and not (isinstance(index, int) and 0 <= index < len(rows[0])):
        problems.append(f"row_header_column_index {index!r}")
    if _cells_characters(block) > MAX_DATA_TABLE_CHARACTERS:
        problems.append(f"over {MAX_DATA_TABLE_CHARACTERS} characters of cells")
    return problems


def _rows_problems(rows: list, least: int, most: int, cell_types: tuple[str, ...]) -> list[str]:
    if not least <= len(rows) <= most:
        return [f"{len(rows)} rows, not {least}-{most}"]
    problems = [] if len({len(r) for r in rows}) == 1 else ["rows of different lengths"]
    if not 1 <= len(rows[0]) <= MAX_TABLE_COLUMNS:
        problems.append(f"{len(rows[0])} columns, not 1-{MAX_TABLE_COLUMNS}")
    for cell in (c for row in rows for c in row):
        kind = cell.get("type")
        if kind not in cell_types:
            problems.append(f"cell of type {kind!r}")
        elif kind in ("raw_text", "raw_number") and not (isinstance(cell.get("text"), str) and cell["text"]):
            problems.append(f"{kind} cell without text")
        elif kind == "raw_number" and not _is_number(cell.get("value")):
            problems.append(f"raw_number cell {cell.get('text')!r} with value {cell.get('value')!r}")
    return problems


def _cells_characters(block: dict[str, Any]) -> int:
    return sum(len(c.get("text") or "") for row in block.get("rows") or [] for c in row)


def _data_visualization(block: dict[str, Any]) -> list[str]:
    title, chart = block.get("title"), block.get("chart") or {}
    problems = [] if isinstance(title, str) and 1 <= len(title) <= MAX_CHART_TITLE else [f"title {title!r}"]
    if chart.get("type") not in CHART_TYPES:
        return problems + [f"chart type {chart.get('type')!r}"]
    if chart["type"] == "pie":
        segments = chart.get("segments") or []
        problems += [] if 1 <= len(segments) <= MAX_SERIES else [f"{len(segments)} segments"]
        return problems + [f"segment {s!r}" for s in segments if not (
            isinstance(s.get("label"), str) and 1 <= len(s["label"]) <= MAX_CHART_LABEL
            and _is_number(s.get("value")) and s["value"] > 0)]
    series, axis = chart.get("series") or [], chart.get("axis_config") or {}
    categories = axis.get("categories") or []
    if not categories or any(not isinstance(c, str) or not 1 <= len(c) <= MAX_CHART_LABEL for c in categories):
        problems.append("axis_config.categories missing, or a category over 20 characters")
    if len(categories) > MAX_CHART_POINTS:
        problems.append(f"{len(categories)} categories, over {MAX_CHART_POINTS}")
    problems += [f"axis label {k}" for k in ("x_label", "y_label") if len(axis.get(k) or "") > MAX_AXIS_LABEL]
    if not 1 <= len(series) <= MAX_SERIES:
        problems.append(f"{len(series)} series, not 1-{MAX_SERIES}")
    names = [s.get("name") for s in series]
    if len(set(names)) != len(names) or any(not isinstance(n, str) or not 1 <= len(n) <= MAX_CHART_LABEL for n in names):
        problems.append(f"series names {names!r}")
    for s in series:
        points = s.get("data") or []
        if [p.get("label") for p in points] != categories:
            problems.append(f"series {s.get('name')!r}: points do not match axis_config.categories")
        if not all(_is_number(p.get("value")) for p in points):
            problems.append(f"series {s.get('name')!r}: a value that is not a number")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_BLOCK_CHECKS = {"section": _section, "header": _header, "context": _context, "actions": _actions,
                 "table": _table, "data_table": _data_table, "data_visualization": _data_visualization}
