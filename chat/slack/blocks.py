"""A ``Reply`` as a Slack message: Block Kit blocks plus the plain-text fallback.

Limits (docs.slack.dev, Block Kit reference): section text 3,000 characters,
context at most 10 elements, button value 2,000, at most 50 blocks; ``text``
beyond 40,000 characters is cut by Slack.

Figures go in a ``data_table`` (sortable, paginated; numbers as ``raw_number``
so a column sorts by value; 1-100 rows, 1-20 columns, 10,000 characters of
cells), and a reply's ``plots`` in up to two ``data_visualization`` charts
(title <= 50 characters, 1-6 series of one point per category).  Both became
generally available on 2026-05-20; a workspace whose Slack refuses them
(``invalid_blocks``) gets the older one-per-message ``table`` block, or the
table in a code block: ``kinds`` says which of those optional blocks may be
used (``chat.slack.delivery`` learns it per workspace).  The fallback ``text``
always carries the table in a code block for notifications and old clients.

Every string that Slack reads as mrkdwn (``text``, section and context text) goes
through ``mrkdwn``, which escapes ``&``, ``<`` and ``>`` as Slack documents: a
``Reply`` is text, so whatever a person typed into it (``<!channel>``,
``<@U…>``, ``<https://evil|slack.com>``) shows as typed and never pings anyone
or becomes a masked link.  Escaping the whole rendering, rather than marking
which parts people typed, means a new command cannot forget it.  Tilt's own
mentions (``handlers.common.reply.mention``) are the one markup added back.  Tilt's
bold, italics and code use no ``&``, ``<`` or ``>``, so they are untouched.
Table cells are ``raw_text`` or ``raw_number``, which Slack never parses.  Section and context text
is ``verbatim``: Slack otherwise turns a bare URL or ``#channel`` in it into a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from chat.text import code_block, cut, titled_table
from handlers.common.reply import Plot, Reply, Table, render_mentions
from handlers.home import Home

SECTION_LIMIT = 3000
CONTEXT_ELEMENT_LIMIT = 10
BUTTON_VALUE_LIMIT = 2000
TEXT_LIMIT = 40_000

RERUN_ACTION = "tilt_rerun"
SHARE_ACTION = "tilt_share"
HOME_ACTION = "tilt_home"
HEADER_LIMIT = 150
VIEW_BLOCK_LIMIT = 100

DATA_TABLE = "data_table"
DATA_VISUALIZATION = "data_visualization"
TABLE = "table"
# The block types a message can do without, the newest first: when Slack refuses a message that uses some,
# the first of them it used is dropped and the message sent again (``chat.slack.delivery.send_blocks``).
OPTIONAL_KINDS = (DATA_VISUALIZATION, DATA_TABLE, TABLE)
ALL_KINDS = frozenset(OPTIONAL_KINDS)

DATA_TABLE_ROWS = 100
DATA_TABLE_COLUMNS = 20
DATA_TABLE_CHARACTERS = 10_000
PAGE_SIZE = 15
CAPTION_LIMIT = 200
PLOTS_PER_MESSAGE = 2
PLOT_TITLE_LIMIT = 50
PLOT_LABEL_LIMIT = 20
AXIS_LABEL_LIMIT = 50
# What a missing figure sorts as in a numeric column (Slack's raw_number needs a number): below every real one.
MISSING_SORTS_AS = -1e15
_MRKDWN = re.compile(r"[*_`~]")


def fallback_text(reply: Reply) -> str:
    parts = [reply.text]
    if reply.table is not None:
        parts.append(code_block(reply.table.aligned()))
    if reply.takeaway:
        parts.append(reply.takeaway)
    parts.extend(titled_table(table) for table in reply.more_tables)
    parts.extend(p for p in (*reply.notes, reply.usage and f"Usage: `{reply.usage}`", reply.footer) if p)
    return cut(mrkdwn("\n".join(parts)), TEXT_LIMIT)


def mrkdwn(text: str) -> str:
    """``text`` for a mrkdwn field: shown as written (``&``, ``<``, ``>`` escaped), with Tilt's mentions as ``<@U…>``."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return render_mentions(escaped, lambda reference: f"<{reference}>")


def reply_blocks(reply: Reply, *, share_command: str | None = None, kinds: frozenset[str] = ALL_KINDS,
                 action_id: str = RERUN_ACTION) -> list[dict[str, Any]]:
    """Blocks for ``reply`` using the optional block types in ``kinds``; ``share_command`` adds a "Share in
    channel" button that re-posts it publicly; the reply's buttons are ``{action_id}:{index}``."""
    blocks: list[dict[str, Any]] = [_section(reply.text)]
    if reply.table is not None:
        blocks.append(figures_block(reply.table, caption=reply.text, kinds=kinds))
    if reply.takeaway:
        blocks.append(_section(reply.takeaway))
    if DATA_VISUALIZATION in kinds:
        blocks.extend(plot_block(plot) for plot in reply.plots[:PLOTS_PER_MESSAGE])
    # Slack allows one table block a message: further tables are data tables, or titled code blocks.
    blocks.extend(figures_block(table, caption=table.title, kinds=kinds - {TABLE}) for table in reply.more_tables)
    if reply.notes:
        blocks.append(_context(reply.notes))
    if reply.usage:
        blocks.append(_context((f"Usage: `{reply.usage}`",)))
    buttons = [_button(action.label, f"{action_id}:{i}", action.command) for i, action in enumerate(reply.actions)]
    if share_command is not None:
        buttons.append(_button("Share in channel", SHARE_ACTION, share_command, style="primary"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:25]})
    if reply.footer:
        blocks.append(_context((reply.footer,)))
    return blocks


def home_view(home: Home, kinds: frozenset[str] = ALL_KINDS) -> dict[str, Any]:
    """The App Home tab: a header, then each section as a message would show it, between dividers.

    Buttons are ``tilt_home:{section}:{index}`` (action ids must be unique in a view).  No charts, and no
    ``table`` block (one per message, and for messages only): a table is a ``data_table`` or a code block.
    """
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": cut(home.title, HEADER_LIMIT)}}]
    for i, section in enumerate(home.sections):
        blocks.append({"type": "divider"})
        blocks.extend(reply_blocks(section, kinds=kinds - {DATA_VISUALIZATION, TABLE}, action_id=f"{HOME_ACTION}:{i}"))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCK_LIMIT]}


def figures_block(table: Table, *, caption: str, kinds: frozenset[str]) -> dict[str, Any]:
    """The table as the richest block ``kinds`` allows: a sortable ``data_table`` when it fits one, else the
    ``table`` block, else a code block in a section."""
    if DATA_TABLE in kinds and _fits_data_table(table):
        return data_table_block(table, caption)
    # The table block holds 100 rows and 20 columns too.
    if TABLE in kinds and len(table.rows) <= DATA_TABLE_ROWS and len(table.columns) <= DATA_TABLE_COLUMNS:
        return table_block(table)
    return _section(titled_table(table))


def data_table_block(table: Table, caption: str) -> dict[str, Any]:
    """Slack's ``data_table``: a text header row, then rows whose figures are ``raw_number`` cells wherever the
    column holds numbers (so sorting is numeric; a missing figure sorts below all others)."""
    numeric = [any(table.numbers(r)[c] is not None for r in range(len(table.rows))) for c in range(len(table.columns))]
    header = [_raw_text(name) for name in table.columns]
    rows = [[_raw_number(text, value) if numeric[c] else _raw_text(text)
             for c, (text, value) in enumerate(zip(row, table.numbers(r)))] for r, row in enumerate(table.rows)]
    return {"type": DATA_TABLE, "caption": cut(_MRKDWN.sub("", caption), CAPTION_LIMIT) or "Figures",
            "page_size": min(len(table.rows), PAGE_SIZE), "row_header_column_index": numeric.index(False) if False in numeric else 0,
            "rows": [header, *rows]}


def plot_block(plot: Plot) -> dict[str, Any]:
    """Slack's ``data_visualization``: a line, bar or area chart of the plot's series over its categories."""
    labels = [cut(c, PLOT_LABEL_LIMIT) for c in plot.categories]
    series = [{"name": name, "data": [{"label": label, "value": value} for label, value in zip(labels, s.values)]}
              for name, s in zip(_distinct_labels([s.name for s in plot.series]), plot.series)]
    axis = {"categories": labels, **({"y_label": cut(plot.y_label, AXIS_LABEL_LIMIT)} if plot.y_label else {})}
    return {"type": DATA_VISUALIZATION, "title": cut(plot.title, PLOT_TITLE_LIMIT),
            "chart": {"type": plot.kind, "series": series, "axis_config": axis}}


def _distinct_labels(names: list[str]) -> list[str]:
    """``names`` cut to Slack's 20 characters, numbered where cutting made two the same (series names must differ)."""
    cuts = [cut(name, PLOT_LABEL_LIMIT) for name in names]
    return [c if cuts.count(c) == 1 else cut(name, PLOT_LABEL_LIMIT - len(f" {i + 1}")) + f" {i + 1}"
            for i, (c, name) in enumerate(zip(cuts, names))]


def kinds_used(blocks: Iterable[dict[str, Any]]) -> set[str]:
    """Which of the optional block types ``blocks`` use."""
    return {block["type"] for block in blocks} & ALL_KINDS


def _fits_data_table(table: Table) -> bool:
    characters = sum(len(c) for row in (table.columns, *table.rows) for c in row)
    return (1 <= len(table.rows) <= DATA_TABLE_ROWS and 1 <= len(table.columns) <= DATA_TABLE_COLUMNS
            and characters <= DATA_TABLE_CHARACTERS)


def _raw_text(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": text or "—"}


def _raw_number(text: str, value: float | None) -> dict[str, Any]:
    return {"type": "raw_number", "value": MISSING_SORTS_AS if value is None else value, "text": text or "—"}


def table_block(table: Table) -> dict[str, Any]:
    """Slack's ``table`` block: header row then data rows, names left-aligned and figures right-aligned."""
    rows = [[_raw_text(cell) for cell in row] for row in (table.columns, *table.rows)]  # Slack refuses empty text
    settings = [{"align": "left"}] + [{"align": "right"} for _ in table.columns[1:]]
    return {"type": "table", "rows": rows, "column_settings": settings}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn_object(text)}


def _mrkdwn_object(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack shows as written: ``verbatim``, so a URL or ``#channel`` someone typed
    is not made a link (Tilt's own mentions are explicit ``<@U…>`` markup, which verbatim text keeps)."""
    return {"type": "mrkdwn", "text": cut(mrkdwn(text), SECTION_LIMIT), "verbatim": True}


def _context(texts: tuple[str, ...]) -> dict[str, Any]:
    # A context holds 10 elements: any further texts share the last one rather than vanish.
    kept = (*texts[:CONTEXT_ELEMENT_LIMIT - 1], "\n".join(texts[CONTEXT_ELEMENT_LIMIT - 1:]))
    elements = [_mrkdwn_object(t) for t in kept if t]
    return {"type": "context", "elements": elements}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": label[:75]},
              "action_id": action_id, "value": value[:BUTTON_VALUE_LIMIT]}
    return {**button, "style": style} if style else button
