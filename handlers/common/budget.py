"""Command budgets: how many commands a person, and a whole workspace, may run a minute.

Counted in Redis so every Tilt process shares them.  When Redis is down the
budget is not enforced: being unable to count is no reason to refuse to answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.cache import Cache

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Budget:
    cache: Cache
    per_user: int = 10
    per_team: int = 200

    def refusal(self, team: str, user: str) -> str | None:
        """Count one command for ``user`` in ``team``: ``None`` when it may run, else what to tell the person
        (which budget of this minute is spent, theirs or the workspace's).

        The person's budget is counted first, and a command it refuses is not counted against the
        workspace: one person over their own budget costs their colleagues nothing.
        """
        counts = self.cache.count_until_over(((f"budget:user:{team}:{user}", self.per_user),
                                              (f"budget:team:{team}", self.per_team)), WINDOW_SECONDS)
        if counts is None:
            return None
        if len(counts) < 2:
            return (f"Slow down a little: I answer up to {self.per_user} commands a minute per person. "
                    "Try again in a minute.")
        if counts[1] > self.per_team:
            return (f"Slow down a little: this workspace has asked for more than {self.per_team} commands this "
                    "minute. Try again in a minute.")
        return None
