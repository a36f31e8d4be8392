"""Tilt's Discord app as a real ``bot.py serve`` process, talked to as Discord talks to it (Ed25519-signed
interactions), alone or beside the Slack app on one process, and what the tests read from the Discord stand-in."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from tests.discord_standin import DiscordStandIn
from tests.servers import Answer, ServeProcess, send
from tests.slack_app import Tilt
from tests.slack_standin import SlackStandIn

APPLICATION_ID = "424242424242424242"
BOT_TOKEN = "test-bot-token"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EPHEMERAL = 64


def discord_env(standin: DiscordStandIn, **settings: str) -> dict[str, str]:
    """The environment of a bot.py run with only the given settings (no Slack, no stray Discord or data settings)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "MARKET_", "REDIS_"))}
    return {**inherited, "DISCORD_API_URL": standin.api_url, "DISCORD_APPLICATION_ID": APPLICATION_ID,
            "DISCORD_BOT_TOKEN": BOT_TOKEN, **settings}


class DiscordSide:
    """Sending a running Tilt what Discord sends: interactions signed with ``key``, the public key it was given."""

    url: str
    key: SigningKey

    def discord_post(self, body: bytes, headers: dict[str, str] | None = None, *,
                     path: str = "/discord/interactions") -> Answer:
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        return send(request)

    def signed(self, body: bytes, key: SigningKey | None = None, at: int | None = None) -> dict[str, str]:
        """Discord's Ed25519 signature headers for ``body``, signed with ``key`` (else the key Tilt knows) at ``at``
        (Unix seconds; now unless given)."""
        timestamp = str(int(time.time()) if at is None else at)
        signature = (key or self.key).sign(timestamp.encode() + body).signature.hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}

    def interact(self, interaction: dict[str, Any]) -> Answer:
        body = json.dumps(interaction).encode()
        return self.discord_post(body, self.signed(body))


class DiscordTilt(DiscordSide, ServeProcess):
    """A running ``bot.py serve`` process with only Discord configured."""

    def __init__(self, discord: DiscordStandIn, redis_url: str, prices_dir: Path, state: Path) -> None:
        self.key = SigningKey.generate()
        env = discord_env(discord, DISCORD_PUBLIC_KEY=self.key.verify_key.encode().hex(),
                          MARKET_DATA_DIR=str(prices_dir), REDIS_URL=redis_url, TILT_STATE_DIR=str(state))
        super().__init__(env, state)


class SlackAndDiscordTilt(DiscordSide, Tilt):
    """One ``bot.py serve`` (and worker) answering Slack and Discord, so both are tested on one process pair."""

    def __init__(self, slack: SlackStandIn, discord: DiscordStandIn, redis_url: str, prices_dir: Path,
                 state: Path) -> None:
        self.discord = discord
        self.key = SigningKey.generate()
        super().__init__(slack, redis_url, prices_dir, state)

    def environment(self, slack: SlackStandIn, redis_url: str, prices_dir: Path, state: Path) -> dict[str, str]:
        return {**super().environment(slack, redis_url, prices_dir, state), "DISCORD_API_URL": self.discord.api_url,
                "DISCORD_APPLICATION_ID": APPLICATION_ID, "DISCORD_BOT_TOKEN": BOT_TOKEN,
                "DISCORD_PUBLIC_KEY": self.key.verify_key.encode().hex()}


def snowflake() -> str:
    return str(uuid.uuid4().int)[:18]


def interaction(kind: int, data: dict[str, Any], *, user: str | None = None, channel: str = "888") -> dict[str, Any]:
    """An interaction as Discord sends it from a server channel, with a token of its own."""
    return {"type": kind, "id": snowflake(), "application_id": APPLICATION_ID, "token": f"itok-{uuid.uuid4().hex}",
            "guild_id": "777", "channel_id": channel, "version": 1,
            "member": {"user": {"id": user or snowflake(), "username": "ana"}}, "data": data}


def slash(name: str, *, user: str | None = None, channel: str = "888", **options: str) -> dict[str, Any]:
    data = {"id": "1", "name": name, "type": 1, "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()]}
    return interaction(2, data, user=user, channel=channel)


def reply_to(discord: DiscordStandIn, command: dict[str, Any]) -> dict[str, Any]:
    """The (last) follow-up Tilt sent for ``command``."""
    return discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/{command['token']}")[-1].payload


def table_rows(description: str) -> dict[str, dict[str, str]]:
    """The aligned table in an embed's code block, by ticker and column (columns are 2+ spaces apart)."""
    lines = [re.split(r"\s{2,}", line) for line in description.split("```")[1].strip("\n").splitlines()]
    return {cells[0]: dict(zip(lines[0], cells)) for cells in lines[1:]}
