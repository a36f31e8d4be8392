"""/help: what each command does, with examples, read from the commands' own declarations."""

from __future__ import annotations

from typing import Callable

from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.reply import Reply
from handlers.common.services import Services

USAGE = "/help [command]"


def declare(commands: Callable[[], tuple[Command, ...]]) -> Command:
    """``/help`` over the listed commands of ``commands()``: the catalog, which lists /help itself, hands it
    the list it holds (read at each request, so whatever the catalog holds is what /help shows)."""

    def handle(text: str, services: Services, caller: Caller) -> Reply:
        return answer(text, tuple(command for command in commands() if command.listed))

    return Command(
        name="help",
        summary="What Tilt's commands do, with examples",
        usage=USAGE,
        examples=("/help backtest", "/help"),
        guide="This message. `/help compare` shows one command in detail.",
        handle=handle,
        options=(Option("command", Kind.COMMAND, "One command in detail"),),
    )


def answer(text: str, commands: tuple[Command, ...]) -> Reply:
    """Every command's usage, or one command's guide and examples when ``text`` names it."""
    topic = text.strip().lstrip("/").lower()
    if not topic:
        return Reply(text="*Tilt* compares ETFs and stocks against the market.",
                     notes=tuple(f"`{command.usage}`" for command in commands),
                     footer="`/help compare` for periods, benchmarks and examples.", ephemeral=True)
    command = next((c for c in commands if c.name == topic), None)
    if command is None:
        raise BadRequest(f"There is no command `{topic}`; try {', '.join(f'`{c.name}`' for c in commands)}.")
    return Reply(text=f"`{command.usage}`", notes=(detail(command),), ephemeral=True)


def detail(command: Command) -> str:
    """The guide of ``/help NAME``: what the command does, then its examples."""
    examples = f"Examples: {' · '.join(f'`{e}`' for e in command.examples)}" if command.examples else ""
    return "\n".join(part for part in (command.guide, examples) if part)
