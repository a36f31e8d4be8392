"""What every command returns: a platform-neutral reply that chat adapters render.

A ``Reply`` says *what* to show (a headline, a table, a takeaway, a chart, a
footer) and *to whom* (``ephemeral``: only the person who asked); Slack,
Discord and the console each decide *how*.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable

# Tilt's own mention of a person (``@`` and their id) or a channel (``#`` and its id) travels in Reply text
# between two private-use characters; each renderer turns it into its platform's mention.  Everything else in a Reply is shown as text, never as
# markup that notifies or links: ``router.run`` strips these two characters from what people type, so text
# people typed (a note, a name, a word echoed in an error) cannot mention anyone, whatever it contains.
_MENTION_OPEN, _MENTION_CLOSE = "\ue000", "\ue001"
_MENTION = re.compile(f"{_MENTION_OPEN}([^{_MENTION_OPEN}{_MENTION_CLOSE}]*){_MENTION_CLOSE}")
_MARKERS = re.compile(f"[{_MENTION_OPEN}{_MENTION_CLOSE}]")


def mention(user: str) -> str:
    """Tilt naming ``user`` (a platform id) in a reply: a mention on Slack and Discord, ``@id`` elsewhere."""
    return f"{_MENTION_OPEN}@{_MARKERS.sub('', user)}{_MENTION_CLOSE}"


def channel_mention(channel: str) -> str:
    """Tilt naming ``channel`` (a platform id) in a reply: a channel link on Slack and Discord, ``#id`` elsewhere."""
    return f"{_MENTION_OPEN}#{_MARKERS.sub('', channel)}{_MENTION_CLOSE}"


def render_mentions(text: str, as_mention: Callable[[str], str]) -> str:
    """``text`` with each of Tilt's mentions written as ``as_mention(reference)``, the reference being
    ``@`` and a person's id or ``#`` and a channel's (``<@U1>`` and ``<#C1>`` on Slack and Discord alike)."""
    return _MENTION.sub(lambda found: as_mention(found.group(1)), text)


def unmarked(text: str) -> str:
    """What a person typed, unable to pass for Tilt's own mentions."""
    return _MARKERS.sub("", text)

# A cell given to ``Table.of``: its text alone, or its text and the number it shows (``None``: not a number).
Cell = str | tuple[str, float | None]


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells; ``columns`` are the headers, the first column names the row.

    ``values``, when not empty, holds the number behind each cell, row for row (``None`` where a cell is
    text or its figure is missing), so a platform can sort a column by its numbers rather than its
    text ("9.8%" after "12.3%").  Build it with ``Table.of``.  ``title`` names a table that is not the
    reply's main one (e.g. "Calendar-year returns").
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    values: tuple[tuple[float | None, ...], ...] = ()
    title: str = ""

    @classmethod
    def of(cls, columns: Iterable[str], rows: Iterable[Iterable[Cell]], title: str = "") -> "Table":
        """A table from cells that are text, or ``(text, number)``; NaN and infinities count as no number."""
        cells = [[(c, None) if isinstance(c, str) else c for c in row] for row in rows]
        values = tuple(tuple(_finite(v) for _, v in row) for row in cells)
        return cls(columns=tuple(columns), rows=tuple(tuple(t for t, _ in row) for row in cells),
                   values=values if any(v is not None for row in values for v in row) else (), title=title)

    def numbers(self, row: int) -> tuple[float | None, ...]:
        """The numbers behind row ``row`` (all ``None`` when the table carries none)."""
        return self.values[row] if self.values else (None,) * len(self.columns)

    def aligned(self) -> str:
        """Monospace rendering: first column left-aligned, figures right-aligned."""
        cells = (self.columns, *self.rows)
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]

        def line(row: tuple[str, ...]) -> str:
            first, *rest = row
            return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:]))]).rstrip()

        return "\n".join(line(row) for row in cells)


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Series:
    """One named line (or set of bars) of a ``Plot``: a value for each of the plot's categories."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Plot:
    """A small chart a platform may draw natively (Slack's charts); others ignore it and show ``Chart``.

    ``kind`` is ``"line"``, ``"bar"`` or ``"area"``; ``categories`` are the x-axis labels (dates, tickers),
    each series has one finite value per category.  Keep it small: a handful of series, tens of points.
    """

    title: str
    kind: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    y_label: str = ""

    def to_dict(self) -> dict:
        return {"title": self.title, "kind": self.kind, "categories": list(self.categories),
                "series": [[s.name, list(s.values)] for s in self.series], "y_label": self.y_label}

    @classmethod
    def from_dict(cls, data: dict) -> "Plot":
        return cls(title=data["title"], kind=data["kind"], categories=tuple(data["categories"]),
                   series=tuple(Series(name, tuple(values)) for name, values in data["series"]),
                   y_label=data["y_label"])


@dataclass(frozen=True)
class Chart:
    """A PNG image and the words that describe it for screen readers and notifications."""

    png: bytes
    filename: str
    title: str
    alt_text: str


@dataclass(frozen=True)
class Attachment:
    """A text file sent with the reply (the ``csv`` word's export): a file on Slack, an attachment on Discord,
    a path in the console."""

    filename: str
    text: str
    title: str


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
    # Tables after the main one (and after the takeaway), each with its title: calendar years, contributions.
    more_tables: tuple[Table, ...] = ()
    # Set on a reply that starts something Tilt follows up on later (a signal card, a call): an id such as
    # "card:3f9a0c" or "call:7".  Adapters post such a reply as a new message (never in place of another)
    # and report where it landed (``router.posted``), so later notices can go in its thread.
    track: str | None = None
    # Native charts of the figures (``Plot``), beside the PNG ``chart``, for platforms that draw them.
    plots: tuple[Plot, ...] = ()
    # People the reply is addressed to (platform user ids), whom the platform should notify: a fired alert's
    # author.  Their mention belongs in ``text`` too; Discord pings only these, and only from the message content.
    notify: tuple[str, ...] = ()
    attachment: Attachment | None = None

    def plain_text(self, prose: Callable[[str], str] = str) -> str:
        """The whole reply as plain text (the fallback every platform can show); ``prose`` rewrites the sentences
        (headline, takeaway, notes, usage, footer), never the tables (a terminal turns Slack markup into its own)."""
        parts = [prose(self.text)]
        if self.table is not None:
            parts.append(self.table.aligned())
        if self.takeaway:
            parts.append(prose(self.takeaway))
        parts.extend(f"{table.title}\n{table.aligned()}" for table in self.more_tables)
        parts.extend(prose(p) for p in (*self.notes, self.usage and f"Usage: {self.usage}", self.footer) if p)
        return render_mentions("\n".join(parts), str)

    def to_bytes(self) -> tuple[bytes, bytes | None]:
        """Serialise for the reply cache: a JSON document and the chart's PNG (kept apart, unencoded)."""
        document = {
            "text": self.text, "takeaway": self.takeaway, "footer": self.footer, "notes": list(self.notes),
            "table": _table_document(self.table) if self.table else None,
            "more_tables": [_table_document(table) for table in self.more_tables],
            "chart": {"filename": self.chart.filename, "title": self.chart.title, "alt_text": self.chart.alt_text}
            if self.chart else None,
            "actions": [[a.label, a.command] for a in self.actions],
            "plots": [p.to_dict() for p in self.plots],
            "attachment": vars(self.attachment) if self.attachment else None,
        }
        return json.dumps(document).encode(), self.chart.png if self.chart else None

    @classmethod
    def from_bytes(cls, document: bytes, png: bytes | None) -> "Reply":
        data = json.loads(document)
        table = data["table"]
        chart = data["chart"]
        return cls(
            text=data["text"], takeaway=data["takeaway"], footer=data["footer"], notes=tuple(data["notes"]),
            table=_table_from(table) if table else None,
            more_tables=tuple(_table_from(t) for t in data.get("more_tables", ())),
            chart=Chart(png=png, **chart) if chart and png is not None else None,
            actions=tuple(Action(label, command) for label, command in data["actions"]),
            plots=tuple(Plot.from_dict(p) for p in data.get("plots", ())),
            attachment=Attachment(**data["attachment"]) if data.get("attachment") else None,
        )


def _table_document(table: Table) -> dict:
    return {"columns": table.columns, "rows": table.rows, "values": table.values, "title": table.title}


def _table_from(document: dict) -> Table:
    # .get: replies cached by an older Tilt carry neither numbers nor a title.
    return Table(columns=tuple(document["columns"]), rows=tuple(tuple(r) for r in document["rows"]),
                 values=tuple(tuple(r) for r in document.get("values", ())), title=document.get("title", ""))


def error_reply(message: str, usage: str = "") -> Reply:
    """A reply for a problem: only the person who typed the command sees it."""
    return Reply(text=f":warning: {message}", ephemeral=True, is_error=True, usage=usage)
