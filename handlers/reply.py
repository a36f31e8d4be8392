"""What every command returns: a platform-neutral reply that chat adapters render.

A ``Reply`` says *what* to show (a headline, a table, a takeaway, a chart, a
footer) and *to whom* (``ephemeral``: only the person who asked); Slack,
Discord and the console each decide *how*.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

# Tilt's own mention of a person travels in Reply text as the person's id between two private-use characters;
# each renderer turns it into its platform's mention.  Everything else in a Reply is shown as text, never as
# markup that notifies or links: ``router.run`` strips these two characters from what people type, so text
# people typed (a note, a name, a word echoed in an error) cannot mention anyone, whatever it contains.
_MENTION_OPEN, _MENTION_CLOSE = "\ue000", "\ue001"
_MENTION = re.compile(f"{_MENTION_OPEN}([^{_MENTION_OPEN}{_MENTION_CLOSE}]*){_MENTION_CLOSE}")
_MARKERS = re.compile(f"[{_MENTION_OPEN}{_MENTION_CLOSE}]")


def mention(user: str) -> str:
    """Tilt naming ``user`` (a platform id) in a reply: a mention on Slack and Discord, the bare id elsewhere."""
    return f"{_MENTION_OPEN}{_MARKERS.sub('', user)}{_MENTION_CLOSE}"


def render_mentions(text: str, as_mention: Callable[[str], str]) -> str:
    """``text`` with each of Tilt's mentions written as ``as_mention(user id)``."""
    return _MENTION.sub(lambda found: as_mention(found.group(1)), text)


def unmarked(text: str) -> str:
    """What a person typed, unable to pass for Tilt's own mentions."""
    return _MARKERS.sub("", text)


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells; ``columns`` are the headers, the first column names the row."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def aligned(self) -> str:
        """Monospace rendering: first column left-aligned, figures right-aligned."""
        cells = (self.columns, *self.rows)
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]

        def line(row: tuple[str, ...]) -> str:
            first, *rest = row
            return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:]))]).rstrip()

        return "\n".join(line(row) for row in cells)


@dataclass(frozen=True)
class Chart:
    """A PNG image and the words that describe it for screen readers and notifications."""

    png: bytes
    filename: str
    title: str
    alt_text: str


@dataclass(frozen=True)
class Action:
    """A follow-up the reader can run with one click: ``command`` is the full command text."""

    label: str
    command: str


@dataclass(frozen=True)
class Reply:
    """A command's answer.  ``text`` is the headline; it alone must make sense as a notification."""

    text: str
    table: Table | None = None
    takeaway: str = ""
    footer: str = ""
    notes: tuple[str, ...] = ()
    chart: Chart | None = None
    ephemeral: bool = False
    is_error: bool = False
    usage: str = ""
    actions: tuple[Action, ...] = ()
    # Set on a reply that starts something Tilt follows up on later (a signal card, a call): an id such as
    # "card:3f9a0c" or "call:7".  Adapters post such a reply as a new message (never in place of another)
    # and report where it landed (``router.posted``), so later notices can go in its thread.
    track: str | None = None

    def plain_text(self) -> str:
        """The whole reply as plain text (the fallback every platform can show)."""
        parts = [self.text]
        if self.table is not None:
            parts.append(self.table.aligned())
        parts.extend(p for p in (self.takeaway, *self.notes, self.usage and f"Usage: {self.usage}", self.footer) if p)
        return render_mentions("\n".join(parts), str)

    def to_bytes(self) -> tuple[bytes, bytes | None]:
        """Serialise for the reply cache: a JSON document and the chart's PNG (kept apart, unencoded)."""
        document = {
            "text": self.text, "takeaway": self.takeaway, "footer": self.footer, "notes": list(self.notes),
            "table": {"columns": self.table.columns, "rows": self.table.rows} if self.table else None,
            "chart": {"filename": self.chart.filename, "title": self.chart.title, "alt_text": self.chart.alt_text}
            if self.chart else None,
            "actions": [[a.label, a.command] for a in self.actions],
        }
        return json.dumps(document).encode(), self.chart.png if self.chart else None

    @classmethod
    def from_bytes(cls, document: bytes, png: bytes | None) -> "Reply":
        data = json.loads(document)
        table = data["table"]
        chart = data["chart"]
        return cls(
            text=data["text"], takeaway=data["takeaway"], footer=data["footer"], notes=tuple(data["notes"]),
            table=Table(tuple(table["columns"]), tuple(tuple(r) for r in table["rows"])) if table else None,
            chart=Chart(png=png, **chart) if chart and png is not None else None,
            actions=tuple(Action(label, command) for label, command in data["actions"]),
        )


def error_reply(message: str, usage: str = "") -> Reply:
    """A reply for a problem: only the person who typed the command sees it."""
    return Reply(text=f":warning: {message}", ephemeral=True, is_error=True, usage=usage)
