"""What the Slack app is built from: one frozen value, handed to ``chat.slack.app.build_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from handlers.common.budget import Budget
from handlers.common.caller import Caller
from handlers.common.reply import Reply
from handlers.home import Home
from jobs.queue import Jobs
from market.cache import Cache

# Runs one command text (``"/compare SMH SPY"``) for a ``Caller``.
Answer = Callable[[str, Caller], Reply]
# Told where a reply with ``Reply.track`` was posted: (who asked, the track id, channel, thread root ts).
Posted = Callable[[Caller, str, str, str], None]


@dataclass(frozen=True)
class SlackSettings:
    """The Slack app's parts.

    ``answer`` runs commands; ``budget`` counts them per person and workspace; ``cache`` remembers what
    Slack sent already (replays, retried events) and which newer blocks each workspace accepts; ``client``
    calls the Web API.  ``jobs`` takes the work after each ack; ``None`` builds the worker copy that does
    that work (no signature check: that was done on arrival).  With ``oauth`` the app serves many
    workspaces, each with the bot token its installation saved.  ``posted`` hears where each tracked reply
    landed; ``forget_team`` deletes a workspace's data when Tilt is uninstalled; ``home(caller, channels)`` builds
    the App Home tab a person opens, ``channels`` being those they are in.
    """

    answer: Answer
    budget: Budget
    cache: Cache
    client: WebClient
    signing_secret: str
    jobs: Jobs | None
    oauth: OAuthSettings | None = None
    posted: Posted | None = None
    forget_team: Callable[[str], None] | None = None
    home: Callable[[Caller, frozenset[str]], Home] | None = None
