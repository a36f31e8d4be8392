"""A ``Reply`` as a Discord message: one embed, the chart as an attached PNG, period buttons.

Layout: the headline is the embed's title (its plain text; when it is longer
than a title may be, it opens the description instead); the description holds
the table in a code block (monospace, so figures line up), the takeaway and the
notes; the usage line is a field, the footer the embed's footer, and the chart
the embed's image, uploaded with the message as ``files[0]`` and referenced as
``attachment://<filename>``.  Tilt sends no ``content``: the embed is the message.

Limits (discord-api-docs, resources/message "Embed Limits"; over them Discord
answers 400): per embed title 256 characters, description 4,096, 25 fields with
names 256 and values 1,024, footer 2,048; all embeds of a message together
6,000.  Longer parts are cut with an ellipsis (a code block the cut leaves open
is closed again), and the description gives way first so the total fits.
Buttons: 5 per row, labels 80 characters, ``custom_id`` 100.

``Reply`` text follows Slack's mrkdwn (``*bold*``, ``:warning:``); it becomes
Discord markdown here (``**bold**``, the emoji itself), since Discord shows
shortcodes sent by a bot literally.  Tilt's own mentions become ``<@id>``;
every message says ``allowed_mentions: {"parse": []}``, so nothing in it
pings anyone, except the people a reply is addressed to (``Reply.notify``, a
fired alert's author): their mentions go in the message content, the one place
Discord pings from, and only their ids are allowed.  A masked link (``[text](https://…)``) anywhere in the text is
broken with a zero-width space between ``]`` and ``(``: a person's note or a
word echoed in an error must not become a link whose text hides where it goes
(a code span does not protect it: the text may close the span itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chat.text import code_block, cut, titled_table
from handlers.common.reply import Action, Reply, render_mentions

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
ATTACHMENT_DESCRIPTION_LIMIT = 1024  # an attachment's alt text
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
BUTTONS_PER_ROW = 5
MAX_BUTTONS = 25

EPHEMERAL = 64  # message flag: only the person who used the interaction sees it
ACTION_ROW, BUTTON, SECONDARY = 1, 2, 2  # component types and the grey button style
RESULT_COLOUR, ERROR_COLOUR = 0x2B6CB0, 0xD97706
USAGE_FIELD = "Usage"

_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_EMOJI = {":warning:": "⚠️"}
_MASKED_LINK, _BROKEN_LINK = "](", "]\u200b("
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")
_MARKERLESS = re.compile(r"\D")  # a Discord user id is a snowflake: digits only
_FENCE, _CLOSING_FENCE = "```", "\n```"


@dataclass(frozen=True)
class Upload:
    """A file sent with a message, as multipart part ``files[n]`` where ``n`` is its ``attachments[].id``."""

    filename: str
    data: bytes
    content_type: str = "image/png"


@dataclass(frozen=True)
class Message:
    """A message body (sent as JSON, or as ``payload_json`` beside the files) and the files it references."""

    payload: dict[str, Any]
    files: tuple[Upload, ...] = ()


def message(reply: Reply, *, ephemeral: bool = False) -> Message:
    """``reply`` as a message.  ``attachments`` and ``components`` are always present, so the same
    message can also replace an earlier one (an edit keeps only the attachments and buttons it lists)."""
    embed = reply_embed(reply)
    payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}, "attachments": [],
                               "components": action_rows(reply.actions)}
    files: tuple[Upload, ...] = ()
    if reply.chart is not None:
        # Discord rewrites unusual file names, which would break the attachment:// reference.
        filename = _UNSAFE_FILENAME.sub("_", reply.chart.filename)
        embed["image"] = {"url": f"attachment://{filename}"}
        payload["attachments"] = [{"id": 0, "filename": filename,
                                   "description": cut(reply.chart.alt_text, ATTACHMENT_DESCRIPTION_LIMIT)}]
        files = (Upload(filename, reply.chart.png),)
    if reply.notify:
        payload["content"] = " ".join(f"<@{_MARKERLESS.sub('', user)}>" for user in reply.notify)
        payload["allowed_mentions"] = {"parse": [], "users": [_MARKERLESS.sub("", user) for user in reply.notify]}
    if reply.attachment is not None:
        name = _UNSAFE_FILENAME.sub("_", reply.attachment.filename)
        payload["attachments"].append({"id": len(files), "filename": name,
                                       "description": cut(reply.attachment.title, ATTACHMENT_DESCRIPTION_LIMIT)})
        files = (*files, Upload(name, reply.attachment.text.encode(), "text/csv"))
    if ephemeral:
        payload["flags"] = EPHEMERAL
    return Message(payload, files)


def reply_embed(reply: Reply) -> dict[str, Any]:
    headline = plain(reply.text)
    title = headline if len(headline) <= TITLE_LIMIT else ""
    parts = [] if title else [markdown(reply.text)]
    if reply.table is not None:
        parts.append(code_block(reply.table.aligned()))
    parts.extend(markdown(part) for part in (reply.takeaway, *(titled_table(t) for t in reply.more_tables), *reply.notes)
                 if part)
    fields = [{"name": USAGE_FIELD, "value": f"`{cut(reply.usage, FIELD_VALUE_LIMIT - 2)}`"}] if reply.usage else []
    footer = cut(plain(reply.footer), FOOTER_LIMIT)
    others = len(title) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    embed: dict[str, Any] = {"color": ERROR_COLOUR if reply.is_error else RESULT_COLOUR}
    if title:
        embed["title"] = title
    if parts:
        embed["description"] = fit("\n\n".join(parts), min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - others))
    if fields:
        embed["fields"] = fields
    if footer:
        embed["footer"] = {"text": footer}
    return embed


def action_rows(actions: tuple[Action, ...]) -> list[dict[str, Any]]:
    """Buttons that run each action's command; its command text is the button's ``custom_id``."""
    # A command too long to be a custom_id cannot round-trip, so it gets no button rather than a wrong one;
    # Discord refuses a message whose custom_ids repeat, so a repeated command gets one button.
    by_command: dict[str, Action] = {}
    for action in actions:
        if len(action.command) <= CUSTOM_ID_LIMIT:
            by_command.setdefault(action.command, action)
    usable = list(by_command.values())[:MAX_BUTTONS]
    buttons = [{"type": BUTTON, "style": SECONDARY, "label": cut(a.label, BUTTON_LABEL_LIMIT), "custom_id": a.command}
               for a in usable]
    return [{"type": ACTION_ROW, "components": buttons[i:i + BUTTONS_PER_ROW]}
            for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def markdown(text: str) -> str:
    """Slack mrkdwn -> Discord markdown: ``*bold*`` -> ``**bold**``, ``:warning:`` -> the emoji, Tilt's mentions
    ``<@id>``, and no masked links."""
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    text = render_mentions(text.replace(_MASKED_LINK, _BROKEN_LINK), lambda reference: f"<{reference}>")
    return _BOLD.sub(r"**\1**", text)


def plain(text: str) -> str:
    """For places Discord shows without markdown (title, footer): emoji kept, ``*`` and backticks dropped."""
    return markdown(text).replace("*", "").replace("`", "")


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, closing a code block that the cut left open."""
    if len(text) <= limit:
        return text
    text = cut(text, limit - len(_CLOSING_FENCE))
    return text + _CLOSING_FENCE if text.count(_FENCE) % 2 else text
