"""``python bot.py socket``: Slack's Socket Mode, end to end.

Slack hands a Socket Mode app a websocket URL (``apps.connections.open``) and
pushes envelopes down it; the app answers each with an ack frame carrying
the envelope id.  Here the Web API stand-in hands out the URL of a local
websocket server that plays Slack's side.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from websockets.sync.server import ServerConnection, serve

from tests.conftest import ROOT
from tests.servers import PATIENCE, stop_processes
from tests.slack_app import calls_in, channel, table_rows
from tests.slack_standin import SlackStandIn


class SocketModeSlack:
    """Slack's end of the websocket: say hello, push envelopes, collect the app's acks."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.acks: "queue.Queue[dict]" = queue.Queue()
        self._connection: ServerConnection | None = None
        self._server = serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "test"}}))
        self._connection = connection
        self.connected.set()
        for message in connection:
            self.acks.put(json.loads(message))

    def push(self, envelope_type: str, payload: dict) -> str:
        envelope_id = uuid.uuid4().hex
        self._connection.send(json.dumps({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                                          "accepts_response_payload": envelope_type == "slash_commands"}))
        return envelope_id

    def ack_for(self, envelope_id: str, timeout: float = PATIENCE) -> dict:
        while True:
            ack = self.acks.get(timeout=timeout)
            if ack.get("envelope_id") == envelope_id:
                return ack

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(params=["inprocess", "queue"])
def socket_tilt(request: pytest.FixtureRequest, redis_url: str, prices_dir: Path,
                tmp_path: Path) -> Iterator[tuple[SlackStandIn, SocketModeSlack]]:
    """``bot.py socket`` alone (the work in its own pool, as a team without a public URL runs it), or
    beside a ``bot.py worker`` that takes the work from the queue."""
    with SlackStandIn() as slack:
        link = SocketModeSlack()
        slack.socket_url = link.url
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MARKET_", "REDIS_"))}
        env.update(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_APP_TOKEN="xapp-test-token", SLACK_API_URL=slack.api_url,
                   MARKET_DATA_DIR=str(prices_dir), REDIS_URL=redis_url, TILT_STATE_DIR=str(tmp_path),
                   TILT_JOBS=request.param)
        modes = ["socket", "worker"] if request.param == "queue" else ["socket"]
        processes = [subprocess.Popen([sys.executable, str(ROOT / "bot.py"), mode], env=env, cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=(tmp_path / f"{mode}.log").open("w"))
                     for mode in modes]
        try:
            assert link.connected.wait(PATIENCE), (tmp_path / "socket.log").read_text()
            yield slack, link
        finally:
            stop_processes(processes)
            link.close()


def test_slash_command_over_socket_mode(socket_tilt) -> None:
    slack, link = socket_tilt
    where = channel()
    envelope = link.push("slash_commands", {
        "team_id": "T0SOCKET", "channel_id": where, "user_id": "USOCKET", "command": "/compare", "text": "IJR IWM SPY 5y",
        "response_url": slack.response_url("socket"), "trigger_id": "1.2.3", "api_app_id": "A0TILT"})
    ack = link.ack_for(envelope)
    assert ack["payload"] == {"response_type": "ephemeral", "text": "Working on it…"}
    rows = table_rows(calls_in(slack, "chat.postMessage", where)[0].body["blocks"])
    assert set(rows) == {"IJR", "IWM", "SPY"}
    calls_in(slack, "files.completeUploadExternal", where)


def test_mention_over_socket_mode(socket_tilt) -> None:
    slack, link = socket_tilt
    where = channel()
    envelope = link.push("events_api", {
        "type": "event_callback", "team_id": "T0SOCKET", "api_app_id": "A0TILT", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event": {"type": "app_mention", "user": "USOCKET", "text": "<@U0TILT> valuation IJR SPY", "ts": "1.5",
                  "channel": where, "event_ts": "1.5"}})
    assert link.ack_for(envelope)["envelope_id"] == envelope
    post = calls_in(slack, "chat.postMessage", where)[0]
    assert post.body["thread_ts"] == "1.5" and "IJR" in post.body["text"]
