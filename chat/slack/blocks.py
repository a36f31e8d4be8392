"""A ``Reply`` as a Slack message: Block Kit blocks plus the plain-text fallback.

Limits (docs.slack.dev, Block Kit reference): section text 3,000 characters,
context at most 10 elements, button value 2,000, at most 50 blocks; ``text``
beyond 40,000 characters is cut by Slack.  Figures go in Slack's native
``table`` block, which renders them aligned on every client; the fallback
``text`` carries the same table in a code block for notifications and old clients.

Every string that Slack reads as mrkdwn (``text``, section and context text) goes
through ``mrkdwn``, which escapes ``&``, ``<`` and ``>`` as Slack documents: a
``Reply`` is text, so whatever a person typed into it (``<!channel>``,
``<@U…>``, ``<https://evil|slack.com>``) shows as typed and never pings anyone
or becomes a masked link.  Escaping the whole rendering, rather than marking
which parts people typed, means a new command cannot forget it.  Tilt's own
mentions (``handlers.reply.mention``) are the one markup added back.  Tilt's
bold, italics and code use no ``&``, ``<`` or ``>``, so they are untouched.
``table`` cells are ``raw_text``, which Slack never parses.
"""

from __future__ import annotations

from typing import Any

from chat.text import code_block, cut
from handlers.reply import Reply, Table, render_mentions

SECTION_LIMIT = 3000
CONTEXT_ELEMENT_LIMIT = 10
BUTTON_VALUE_LIMIT = 2000
TEXT_LIMIT = 40_000

RERUN_ACTION = "tilt_rerun"
SHARE_ACTION = "tilt_share"


def fallback_text(reply: Reply) -> str:
    parts = [reply.text]
    if reply.table is not None:
        parts.append(code_block(reply.table.aligned()))
    parts.extend(p for p in (reply.takeaway, *reply.notes, reply.usage and f"Usage: `{reply.usage}`", reply.footer) if p)
    return cut(mrkdwn("\n".join(parts)), TEXT_LIMIT)


def mrkdwn(text: str) -> str:
    """``text`` for a mrkdwn field: shown as written (``&``, ``<``, ``>`` escaped), with Tilt's mentions as ``<@U…>``."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return render_mentions(escaped, lambda user: f"<@{user}>")


def reply_blocks(reply: Reply, *, share_command: str | None = None) -> list[dict[str, Any]]:
    """Blocks for ``reply``; ``share_command`` adds a "Share in channel" button that re-posts it publicly."""
    blocks: list[dict[str, Any]] = [_section(reply.text)]
    if reply.table is not None:
        blocks.append(table_block(reply.table))
    if reply.takeaway:
        blocks.append(_section(reply.takeaway))
    if reply.notes:
        blocks.append(_context(reply.notes))
    if reply.usage:
        blocks.append(_context((f"Usage: `{reply.usage}`",)))
    buttons = [_button(action.label, f"{RERUN_ACTION}:{i}", action.command) for i, action in enumerate(reply.actions)]
    if share_command is not None:
        buttons.append(_button("Share in channel", SHARE_ACTION, share_command, style="primary"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:25]})
    if reply.footer:
        blocks.append(_context((reply.footer,)))
    return blocks


def table_block(table: Table) -> dict[str, Any]:
    """Slack's ``table`` block: header row then data rows, names left-aligned and figures right-aligned."""
    rows = [[{"type": "raw_text", "text": cell} for cell in row] for row in (table.columns, *table.rows)]
    settings = [{"align": "left"}] + [{"align": "right"} for _ in table.columns[1:]]
    return {"type": "table", "rows": rows, "column_settings": settings}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(mrkdwn(text), SECTION_LIMIT)}}


def _context(texts: tuple[str, ...]) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": cut(mrkdwn(t), SECTION_LIMIT)} for t in texts[:CONTEXT_ELEMENT_LIMIT]]
    return {"type": "context", "elements": elements}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": label[:75]},
              "action_id": action_id, "value": value[:BUTTON_VALUE_LIMIT]}
    return {**button, "style": style} if style else button
