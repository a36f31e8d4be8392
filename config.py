"""Settings, read once from the environment (and a ``.env`` file beside the project).

A setting that is present but wrong stops start-up with one line naming it
(``ConfigError``); nothing here logs values, since some are secrets.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

SLACK_API_URL = "https://slack.com/api/"
DISCORD_API_URL = "https://discord.com/api/v10"


# The packages whose code shapes a reply's figures and words.
REPLY_CODE = ("analysis", "handlers", "market")


def code_release(root: Path = Path(__file__).resolve().parent) -> str:
    """A digest of the code that shapes replies, so cached replies never outlive the code that built them.

    After a deploy that corrects a figure, replies cached by the old code (kept until the next close) would
    still be served; keyed by this digest, the new code builds its own.
    """
    digest = hashlib.sha256()
    for path in sorted(p for package in REPLY_CODE for p in (root / package).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    market_data_dir: Path | None
    yahoo_api_url: str | None
    redis_url: str | None
    state_dir: Path
    risk_free: float | None
    port: int = 3000
    web_processes: int = 1  # WEB_CONCURRENCY: copies of the web server, one per CPU to use (see chat/web.py)
    # GET /metrics of a web or worker process, on a port of its own (never on PORT, which faces the internet),
    # bound to ``metrics_host``: this machine only unless set (to 0.0.0.0 inside a private network).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    source_rate: float = 2.0  # requests a second to Yahoo, shared by every process
    scheduler_inprocess: bool = False
    # Commands on RQ workers (``bot.py worker``) rather than in the web process; the default with ``REDIS_URL``.
    jobs_queued: bool = False
    scheduler_interval: float = 15.0
    slack_api_url: str = SLACK_API_URL
    # Secrets: kept out of repr() so a logged Settings never shows them.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None  # with the secret: OAuth, many workspaces ("Add to Slack")
    slack_client_secret: str | None = field(default=None, repr=False)
    discord_api_url: str = DISCORD_API_URL
    discord_public_key: str | None = None  # public: it only verifies Discord's signatures
    discord_application_id: str | None = None
    discord_bot_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        if env is None:
            # The caller's .env first (./tilt runs in the caller's directory), then the project's; neither overrides
            # what the environment already says.
            load_dotenv(Path.cwd() / ".env")
            load_dotenv(Path(__file__).resolve().parent / ".env")
            env = dict(os.environ)
        data_dir = env.get("MARKET_DATA_DIR") or None
        return cls(
            market_data_dir=_existing_dir("MARKET_DATA_DIR", data_dir) if data_dir else None,
            yahoo_api_url=env.get("YAHOO_API_URL") or None,
            redis_url=_redis_url(env.get("REDIS_URL") or None),
            state_dir=Path(env.get("TILT_STATE_DIR") or Path.home() / ".local" / "state" / "tilt"),
            # Unset: Sharpe and Sortino measured against T-bill data over each window (handlers/common/risk_free.py).
            risk_free=_rate("TILT_RISK_FREE", env["TILT_RISK_FREE"]) if env.get("TILT_RISK_FREE") else None,
            port=_port(env.get("PORT", "3000")),
            web_processes=_count("WEB_CONCURRENCY", env.get("WEB_CONCURRENCY") or "1", 64),
            metrics_port=_port(env["TILT_METRICS_PORT"], "TILT_METRICS_PORT") if env.get("TILT_METRICS_PORT") else None,
            metrics_host=env.get("TILT_METRICS_HOST") or "127.0.0.1",
            source_rate=_positive("TILT_YAHOO_RATE", env.get("TILT_YAHOO_RATE", "2"), 1000,
                                  "a number of requests a second, e.g. 2"),
            scheduler_inprocess=_scheduler_mode(env.get("TILT_SCHEDULER", "")),
            jobs_queued=_jobs_mode(env.get("TILT_JOBS", ""), has_redis=bool(env.get("REDIS_URL"))),
            scheduler_interval=_positive("TILT_SCHEDULER_INTERVAL", env.get("TILT_SCHEDULER_INTERVAL", "15"), 3600,
                                         "a number of seconds between 0 and 3600"),
            slack_api_url=_url("SLACK_API_URL", env.get("SLACK_API_URL") or SLACK_API_URL),
            slack_bot_token=_token("SLACK_BOT_TOKEN", env.get("SLACK_BOT_TOKEN"), "xoxb-"),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=_token("SLACK_APP_TOKEN", env.get("SLACK_APP_TOKEN"), "xapp-"),
            slack_client_id=env.get("SLACK_CLIENT_ID") or None,
            slack_client_secret=env.get("SLACK_CLIENT_SECRET") or None,
            discord_api_url=_url("DISCORD_API_URL", env.get("DISCORD_API_URL") or DISCORD_API_URL),
            discord_public_key=_public_key("DISCORD_PUBLIC_KEY", env.get("DISCORD_PUBLIC_KEY") or None),
            discord_application_id=_snowflake("DISCORD_APPLICATION_ID", env.get("DISCORD_APPLICATION_ID") or None),
            discord_bot_token=env.get("DISCORD_BOT_TOKEN") or None,
        )

    def require(self, *names: str, guide: str = "Add Tilt to Slack") -> None:
        """Stop with one line naming the first of the environment variables ``names`` that is not set."""
        for name in names:
            if not getattr(self, name.lower()):
                raise ConfigError(f"{name} is not set; Tilt needs it for this mode (see README, '{guide}').")


def _existing_dir(name: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{name} points to {path}, which is not a folder.")
    return path


def _redis_url(value: str | None) -> str | None:
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://.")
    return value


def _token(name: str, value: str | None, prefix: str) -> str | None:
    if value and not value.startswith(prefix):
        raise ConfigError(f"{name} must start with {prefix} (is it the right token?).")
    return value or None


def _public_key(name: str, value: str | None) -> str | None:
    """An Ed25519 public key as the Developer Portal shows it: 64 hex digits."""
    if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ConfigError(f"{name} must be the 64 hex digits of the application's public key (General Information).")
    return value


def _snowflake(name: str, value: str | None) -> str | None:
    if value and not value.isdigit():
        raise ConfigError(f"{name} must be the application's numeric ID (General Information).")
    return value


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL.")
    return value if value.endswith("/") else value + "/"


def _port(value: str, name: str = "PORT") -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{name} must be a TCP port number (got {value!r}).")
    return int(value)


def _count(name: str, value: str, most: int) -> int:
    """A whole number from 1 to ``most``, or one line saying what ``name`` should be."""
    if not value.isdigit() or not 0 < int(value) <= most:
        raise ConfigError(f"{name} must be a whole number from 1 to {most} (got {value!r}).")
    return int(value)


def _positive(name: str, value: str, most: float, meaning: str) -> float:
    """A number above 0 and at most ``most``, or one line saying what ``name`` should be."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number <= most:
        raise ConfigError(f"{name} must be {meaning} (got {value!r}).")
    return number


def _scheduler_mode(value: str) -> bool:
    if value not in ("", "inprocess"):
        raise ConfigError(f"TILT_SCHEDULER must be 'inprocess' or unset (got {value!r}).")
    return value == "inprocess"


def _jobs_mode(value: str, *, has_redis: bool) -> bool:
    """``queue`` (RQ workers), ``inprocess``, or unset: the queue when there is a shared Redis."""
    if value not in ("", "queue", "inprocess"):
        raise ConfigError(f"TILT_JOBS must be 'queue', 'inprocess' or unset (got {value!r}).")
    if value == "queue" and not has_redis:
        raise ConfigError("TILT_JOBS=queue needs REDIS_URL: workers and web processes share its queue.")
    return value == "queue" or (value == "" and has_redis)




def _rate(name: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be an annual rate such as 0.04 (got {value!r}).") from None
    if not -0.5 < rate < 1.0:
        raise ConfigError(f"{name} must be an annual rate such as 0.04 (got {value!r}).")
    return rate
