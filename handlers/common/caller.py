"""Who asked, and where: what team data a command reads and writes, and where its answers go."""

from __future__ import annotations

from dataclasses import dataclass

from store.teamdata import Owner


@dataclass(frozen=True)
class Caller:
    """The person and conversation behind a command.

    ``platform`` and ``team`` (Slack workspace, Discord server) namespace all
    team data; ``channel`` is where replies and digests go.  In a direct
    message the data belongs to the person, not the conversation.
    """

    platform: str
    team: str
    channel: str
    user: str
    is_dm: bool = False

    @property
    def owner(self) -> Owner:
        """Whose watchlist and digest this conversation uses: the channel's, or the person's own in a DM."""
        scope = f"user:{self.user}" if self.is_dm else f"channel:{self.channel}"
        return Owner(platform=self.platform, team=self.team, scope=scope)


LOCAL = Caller(platform="console", team="local", channel="console", user="you", is_dm=True)
