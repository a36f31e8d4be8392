"""Text helpers every chat adapter needs: cutting to a platform's limit, code blocks for aligned tables."""

from __future__ import annotations

from handlers.common.reply import Table

ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its first ``limit - 1`` and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def code_block(text: str) -> str:
    """A fenced code block (Slack mrkdwn and Discord markdown agree): monospace, so tables stay aligned."""
    return f"```\n{text}\n```"


def titled_table(table: Table) -> str:
    """A table in a code block, under its title in bold (mrkdwn ``*...*``) when it has one."""
    block = code_block(table.aligned())
    return f"*{table.title}*\n{block}" if table.title else block
