"""A ``Reply`` rendered as Slack blocks, in-process: the exact Block Kit structure people see and Slack's
documented limits (../shared/docs/platform-contracts.md and Block Kit's reference: section text 3,000
characters, header 150, context 10 elements, button text 75 and value 2,000, 25 buttons, 100 blocks in a
view, 40,000 characters of ``text``; data tables 1-100 rows, 1-20 columns, 10,000 characters of cells;
charts titled in 50 characters, labels in 20).  The expected blocks are written out by hand here."""

from __future__ import annotations

from typing import Any

from chat.slack.blocks import (
    ALL_KINDS,
    DATA_TABLE,
    DATA_VISUALIZATION,
    TABLE,
    fallback_text,
    figures_block,
    home_view,
    kinds_used,
    plot_block,
    reply_blocks,
)
from handlers.common.reply import Action, Plot, Reply, Series, Table
from handlers.home import Home
from tests.slack_standin import block_problems

ELLIPSIS = "…"


def mrkdwn_text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn_text(text)}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn_text(t) for t in texts]}


def raw_text(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": text}


def raw_number(text: str, value: float) -> dict[str, Any]:
    return {"type": "raw_number", "value": value, "text": text}


def button(label: str, action_id: str, value: str, **style: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, "value": value,
            **style}


FIGURES = Table.of(("Ticker", "CAGR", "Note"), [("SMH", ("12.3%", 0.123), ""), ("SPY", ("9.8%", 0.098), "core")])
YEARS = Table.of(("Year", "SMH"), [("2025", ("5%", 0.05))], title="Calendar-year returns")
GROWTH = Plot("Growth of $1", "line", ("2025-01", "2025-02"), (Series("SMH", (1.0, 1.1)), Series("SPY", (1.0, 1.05))),
              y_label="$")
BARS = Plot("CAGR", "bar", ("SMH", "SPY"), (Series("CAGR", (12.3, 9.8)),))
FULL = Reply(text="*SMH vs SPY* 1y", table=FIGURES, takeaway="SMH led", plots=(GROWTH, BARS, GROWTH),
             more_tables=(YEARS,), notes=("Total return, dividends in",), usage="/compare A B",
             actions=(Action("3y", "/compare SMH SPY 3y"),), footer="as of 2026-07-14")

FIGURES_DATA_TABLE = {
    "type": "data_table", "caption": "SMH vs SPY 1y", "page_size": 2, "row_header_column_index": 0,
    "rows": [[raw_text("Ticker"), raw_text("CAGR"), raw_text("Note")],
             [raw_text("SMH"), raw_number("12.3%", 0.123), raw_text("—")],
             [raw_text("SPY"), raw_number("9.8%", 0.098), raw_text("core")]]}
YEARS_DATA_TABLE = {
    "type": "data_table", "caption": "Calendar-year returns", "page_size": 1, "row_header_column_index": 0,
    "rows": [[raw_text("Year"), raw_text("SMH")], [raw_text("2025"), raw_number("5%", 0.05)]]}
GROWTH_CHART = {
    "type": "data_visualization", "title": "Growth of $1",
    "chart": {"type": "line",
              "series": [{"name": "SMH", "data": [{"label": "2025-01", "value": 1.0}, {"label": "2025-02", "value": 1.1}]},
                         {"name": "SPY", "data": [{"label": "2025-01", "value": 1.0}, {"label": "2025-02", "value": 1.05}]}],
              "axis_config": {"categories": ["2025-01", "2025-02"], "y_label": "$"}}}
BARS_CHART = {
    "type": "data_visualization", "title": "CAGR",
    "chart": {"type": "bar", "series": [{"name": "CAGR", "data": [{"label": "SMH", "value": 12.3},
                                                                  {"label": "SPY", "value": 9.8}]}],
              "axis_config": {"categories": ["SMH", "SPY"]}}}
# The tables as text, aligned by hand: names left, figures right, two spaces between columns.
FIGURES_TEXT = "```\nTicker   CAGR  Note\nSMH     12.3%\nSPY      9.8%  core\n```"
YEARS_TEXT = "*Calendar-year returns*\n```\nYear  SMH\n2025   5%\n```"
TAIL = [context("Total return, dividends in"), context("Usage: `/compare A B`"),
        {"type": "actions", "elements": [button("3y", "tilt_rerun:0", "/compare SMH SPY 3y"),
                                         button("Share in channel", "tilt_share", "/compare SMH SPY 1y",
                                                style="primary")]},
        context("as of 2026-07-14")]


def test_a_reply_with_every_part_renders_in_reading_order_with_the_richest_blocks() -> None:
    blocks = reply_blocks(FULL, share_command="/compare SMH SPY 1y")
    # Two charts at most a message: the third plot is left out.
    assert blocks == [section("*SMH vs SPY* 1y"), FIGURES_DATA_TABLE, section("SMH led"), GROWTH_CHART, BARS_CHART,
                      YEARS_DATA_TABLE, *TAIL]
    assert block_problems(blocks) == []
    assert kinds_used(blocks) == {DATA_TABLE, DATA_VISUALIZATION}


def test_a_slack_without_charts_or_data_tables_gets_one_table_block_then_code_blocks() -> None:
    blocks = reply_blocks(FULL, share_command="/compare SMH SPY 1y", kinds=frozenset({TABLE}))
    table = {"type": "table", "column_settings": [{"align": "left"}, {"align": "right"}, {"align": "right"}],
             "rows": [[raw_text("Ticker"), raw_text("CAGR"), raw_text("Note")],
                      [raw_text("SMH"), raw_text("12.3%"), raw_text("—")],
                      [raw_text("SPY"), raw_text("9.8%"), raw_text("core")]]}
    assert blocks == [section("*SMH vs SPY* 1y"), table, section("SMH led"), section(YEARS_TEXT), *TAIL]
    assert block_problems(blocks) == [] and kinds_used(blocks) == {TABLE}


def test_with_no_optional_block_every_table_is_a_code_block() -> None:
    blocks = reply_blocks(FULL, kinds=frozenset())
    assert blocks[:4] == [section("*SMH vs SPY* 1y"), section(FIGURES_TEXT), section("SMH led"), section(YEARS_TEXT)]
    assert kinds_used(blocks) == set()
    # Charts only where data_visualization is allowed, whatever else is.
    assert kinds_used(reply_blocks(FULL, kinds=frozenset({DATA_TABLE, TABLE}))) == {DATA_TABLE}


def test_a_bare_reply_is_its_headline_alone() -> None:
    assert reply_blocks(Reply(text="Nothing to show")) == [section("Nothing to show")]
    assert fallback_text(Reply(text="Nothing to show")) == "Nothing to show"
    assert reply_blocks(Reply(text="t", footer="f")) == [section("t"), context("f")]


def test_the_fallback_text_carries_every_part_in_order() -> None:
    expected = "\n".join(["*SMH vs SPY* 1y", FIGURES_TEXT, "SMH led", YEARS_TEXT, "Total return, dividends in",
                          "Usage: `/compare A B`", "as of 2026-07-14"])
    assert fallback_text(FULL) == expected


def test_text_is_cut_to_slacks_limits_after_escaping() -> None:
    assert fallback_text(Reply(text="y" * 40_000)) == "y" * 40_000
    assert fallback_text(Reply(text="y" * 40_001)) == "y" * 39_999 + ELLIPSIS
    assert reply_blocks(Reply(text="x" * 3000))[0] == section("x" * 3000)
    assert reply_blocks(Reply(text="x" * 3001))[0] == section("x" * 2999 + ELLIPSIS)
    # 1,000 ampersands are 5,000 characters once escaped: 599 whole escapes, four characters of the next.
    assert reply_blocks(Reply(text="&" * 1000))[0] == section("&amp;" * 599 + "&amp" + ELLIPSIS)


def test_buttons_keep_within_slacks_limits() -> None:
    actions = tuple(Action(f"period {i} " + "w" * 80, f"/compare SMH {i}y " + "v" * 2100) for i in range(30))
    [row] = [b for b in reply_blocks(Reply(text="t", actions=actions), share_command="/x") if b["type"] == "actions"]
    assert len(row["elements"]) == 25
    assert [e["action_id"] for e in row["elements"]] == [f"tilt_rerun:{i}" for i in range(25)]
    assert row["elements"][3] == button(("period 3 " + "w" * 80)[:75], "tilt_rerun:3", ("/compare SMH 3y " + "v" * 2100)[:2000])
    assert block_problems([row]) == []


def test_a_context_shows_ten_elements_and_the_rest_in_the_last() -> None:
    def elements(count: int) -> list[str]:
        [block] = [b for b in reply_blocks(Reply(text="t", notes=tuple(f"n{i}" for i in range(count))))
                   if b["type"] == "context"]
        return [e["text"] for e in block["elements"]]

    assert elements(1) == ["n0"]
    assert elements(10) == [f"n{i}" for i in range(10)]
    assert elements(11) == [*(f"n{i}" for i in range(9)), "n9\nn10"]
    assert elements(14) == [*(f"n{i}" for i in range(9)), "n9\nn10\nn11\nn12\nn13"]
    [block] = [b for b in reply_blocks(Reply(text="t", notes=("a", "", "b"))) if b["type"] == "context"]
    assert [e["text"] for e in block["elements"]] == ["a", "b"]  # an empty text is no element (Slack refuses it)


def table(rows: int, columns: int = 2, cell: str = "1") -> Table:
    return Table.of(tuple(f"c{j}" for j in range(columns)),
                    [(f"r{i}", *((cell, 1.0),) * (columns - 1)) for i in range(rows)])


def test_a_table_is_a_data_table_only_within_its_limits() -> None:
    def kind(t: Table, kinds: frozenset[str] = ALL_KINDS) -> str:
        block = figures_block(t, caption="c", kinds=kinds)
        assert block_problems([block]) == []
        return block["type"]

    assert [kind(table(n)) for n in (1, 100, 101)] == [DATA_TABLE, DATA_TABLE, "section"]
    assert kind(table(0)) != DATA_TABLE  # a data table needs a row
    assert [kind(table(2, columns=n)) for n in (1, 20)] == [DATA_TABLE, DATA_TABLE]
    assert kind(table(2, columns=21)) == "section"  # nor can the table block hold 21 columns
    # 10,000 characters of cells fit; one more does not.  Header "c0" "c1" is 4, each row "rN" + cell.
    assert kind(table(1, cell="x" * 9994)) == DATA_TABLE  # 4 + 2 + 9,994
    assert kind(table(1, cell="x" * 9995)) == TABLE
    # The table block holds 100 rows too; past that only a code block does.
    assert [kind(table(n), frozenset({TABLE})) for n in (100, 101)] == [TABLE, "section"]
    assert [kind(table(2, columns=n), frozenset({TABLE})) for n in (20, 21)] == [TABLE, "section"]


def test_a_data_tables_caption_page_size_and_row_header() -> None:
    def block(t: Table, caption: str = "c") -> dict[str, Any]:
        return figures_block(t, caption=caption, kinds=frozenset({DATA_TABLE}))

    assert [block(table(n))["page_size"] for n in (3, 15, 16, 100)] == [3, 15, 15, 15]
    assert block(table(1), "*Backtest* _vs_ `SPY` ~x~")["caption"] == "Backtest vs SPY x"  # no mrkdwn in a caption
    assert block(table(1), "k" * 200)["caption"] == "k" * 200
    assert block(table(1), "k" * 201)["caption"] == "k" * 199 + ELLIPSIS
    assert block(table(1), "")["caption"] == block(table(1), "**")["caption"] == "Figures"  # Slack needs one
    # The row header is the first column of names; a table of figures alone has its first column.
    named_second = Table.of(("CAGR", "Ticker"), [(("1%", 0.01), "SMH")])
    assert block(named_second)["row_header_column_index"] == 1
    assert block(Table.of(("A", "B"), [(("1", 1.0), ("2", 2.0))]))["row_header_column_index"] == 0
    assert block(table(1))["row_header_column_index"] == 0


def test_a_missing_figure_sorts_below_every_other_and_an_empty_cell_shows_a_dash() -> None:
    t = Table.of(("Ticker", "P/E"), [("AAA", ("n/a", None)), ("BBB", ("-5e14", -5e14)), ("CCC", ("", 3.0))])
    rows = figures_block(t, caption="c", kinds=ALL_KINDS)["rows"]
    missing, lowest = rows[1][1], rows[2][1]
    assert missing["type"] == "raw_number" and missing["text"] == "n/a" and missing["value"] < lowest["value"]
    assert rows[3][1] == raw_number("—", 3.0)
    # A column without a single number is text, so it sorts as text.
    assert figures_block(Table.of(("A", "B"), [("x", "y")]), caption="c", kinds=ALL_KINDS)["rows"][1] == \
        [raw_text("x"), raw_text("y")]


def test_a_chart_cuts_its_words_to_slacks_limits_and_keeps_series_names_apart() -> None:
    long = Plot("T" * 60, "area", ("category number 1234", "category number 12345"),
                (Series("series with a long name 1", (1.0, 2.0)), Series("series with a long name 2", (3.0, 4.0)),
                 Series("SPY", (5.0, 6.0))), y_label="Y" * 60)
    chart = plot_block(long)
    labels = ["category number 1234", "category number 123" + ELLIPSIS]
    assert chart["title"] == "T" * 49 + ELLIPSIS and chart["chart"]["type"] == "area"
    assert chart["chart"]["axis_config"] == {"categories": labels, "y_label": "Y" * 49 + ELLIPSIS}
    # Cut to 20 characters both long names read "series with a long…": numbered, still within 20.
    assert [s["name"] for s in chart["chart"]["series"]] == ["series with a lon… 1", "series with a lon… 2", "SPY"]
    assert chart["chart"]["series"][1]["data"] == [{"label": labels[0], "value": 3.0}, {"label": labels[1], "value": 4.0}]
    assert block_problems([chart]) == []
    same = plot_block(Plot("t", "line", ("a",), (Series("SPY", (1.0,)), Series("SPY", (2.0,)))))
    assert [s["name"] for s in same["chart"]["series"]] == ["SPY 1", "SPY 2"]
    exact = plot_block(Plot("t" * 50, "bar", ("a",), (Series("n" * 20, (1.0,)),), y_label="y" * 50))
    assert exact["title"] == "t" * 50 and exact["chart"]["series"][0]["name"] == "n" * 20
    assert exact["chart"]["axis_config"]["y_label"] == "y" * 50


def test_the_home_tab_is_a_header_then_each_section_between_dividers() -> None:
    first = Reply(text="*Watchlist*", actions=(Action("Open", "/watchlist"), Action("Add", "/watchlist add")))
    second = Reply(text="*Compare*", table=FIGURES, plots=(GROWTH,), actions=(Action("1y", "/compare SMH SPY 1y"),))
    view = home_view(Home(title="H" * 160, sections=(first, second)))
    figures = {**FIGURES_DATA_TABLE, "caption": "Compare"}
    assert view == {"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 149 + ELLIPSIS}},
        {"type": "divider"}, section("*Watchlist*"),
        {"type": "actions", "elements": [button("Open", "tilt_home:0:0", "/watchlist"),
                                         button("Add", "tilt_home:0:1", "/watchlist add")]},
        {"type": "divider"}, section("*Compare*"), figures,
        {"type": "actions", "elements": [button("1y", "tilt_home:1:0", "/compare SMH SPY 1y")]}]}
    assert block_problems(view["blocks"], limit=100) == []
    # No table block in a view: without data tables the figures are a code block.
    bare = home_view(Home(title="H", sections=(second,)), kinds=frozenset({TABLE, DATA_VISUALIZATION}))
    assert bare["blocks"][:4] == [{"type": "header", "text": {"type": "plain_text", "text": "H"}}, {"type": "divider"},
                                  section("*Compare*"), section(FIGURES_TEXT)]
    header = home_view(Home(title="H" * 150, sections=()))["blocks"][0]
    assert header["text"]["text"] == "H" * 150


def test_a_home_tab_keeps_to_a_views_hundred_blocks() -> None:
    view = home_view(Home(title="H", sections=tuple(Reply(text=f"s{i}") for i in range(60))))
    assert len(view["blocks"]) == 100 and view["blocks"][98] == section("s48")
