"""The README's table of commands, derived from the commands' declarations (as Slack and Discord show them).

``python bot.py readme-commands`` rewrites the table between its two markers in README.md; a test holds the
committed README equal to ``updated(README)``, so the table cannot drift from the code.
"""

from __future__ import annotations

from chat.discord.register import option_schema
from chat.slack.manifest import UMBRELLA_COMMAND
from handlers import catalog
from handlers.common.command import Command, Option

START = "<!-- commands: written by `./tilt readme-commands` from the declarations in handlers/; do not edit -->"
END = "<!-- end of commands -->"


def table() -> str:
    """One row per command: its grammar, what it gives, a Slack example and the options Discord asks for."""
    rows = ["| command | what you get | on Slack, e.g. | Discord options |", "|---|---|---|---|",
            *(_row(command) for command in catalog.listed())]
    umbrella = (f"Slack also has `{UMBRELLA_COMMAND} <command ...>`, the umbrella for a workspace where a name is "
                "taken. `/help NAME` gives each command's guide and examples.")
    return "\n".join([START, "", *rows, "", umbrella, END])


def _row(command: Command) -> str:
    options = ", ".join(_option(option) for option in command.options) or "none"
    example = f"`{command.examples[0]}`" if command.examples else ""
    return "| " + " | ".join(_cell(cell) for cell in (f"`{command.usage}`", command.summary, example, options)) + " |"


def _option(option: Option) -> str:
    schema = option_schema(option)
    if "choices" in schema:
        return f"{option.name} ({'/'.join(choice['value'] for choice in schema['choices'])})"
    return f"{option.name} (suggests as you type)" if schema.get("autocomplete") else option.name


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def updated(readme: str) -> str:
    """``readme`` with the text between the markers replaced by today's ``table()``."""
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        raise ValueError(f"README.md has no {START!r} ... {END!r} markers")
    return before + table() + after
