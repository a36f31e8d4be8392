"""Commands are declared once: everything that lists them is derived, and a new one is cheap.

The committed Slack manifest and README table must equal what the code derives from the declarations;
a command declared in one place (here, in the test) appears in the router, ``/help``, Discord's
schema, the Slack manifest, the README table and the metric labels with no other edit.
"""

from __future__ import annotations

import re

import pytest

from chat.commands_table import updated
from chat.discord.register import command_schema, command_text, schemas
from chat.slack.manifest import manifest, slash_commands
from handlers import catalog
from handlers.common import router
from handlers.common.caller import LOCAL, Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.reply import Reply
from handlers.common.services import Services
from market.cache import Cache
from market.cached import CachedMarket
from market.demo import DemoProvider
from tests.conftest import ROOT
from tests.discord_standin import check_commands


@pytest.fixture
def offline() -> Services:
    """Demo prices and no Redis: enough for commands that read no market data."""
    return Services(market=CachedMarket(DemoProvider(), Cache(None)), cache=Cache(None))


def echo(text: str, services: Services, caller: Caller) -> Reply:
    return Reply(text=f"echo: {text}")


THROWAWAY = Command(
    name="echo",
    summary="Says back what it was given",
    usage="/echo TICKER [PERIOD] [vs BENCH]",
    examples=("/echo SMH 1y", "/echo QQQ vs SPY"),
    guide="A command that exists only in this test.",
    handle=echo,
    options=(Option("ticker", Kind.TICKER, "A ticker", required=True),
             Option("period", Kind.PERIOD, "How far back"),
             Option("benchmark", Kind.BENCHMARK, "Against", prefix="vs")),
)


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> Command:
    """``THROWAWAY`` added to the catalog: the one place a new command is listed."""
    monkeypatch.setattr(catalog, "COMMANDS", (*catalog.COMMANDS, THROWAWAY))
    return THROWAWAY


def test_the_committed_manifest_is_the_one_the_declarations_give() -> None:
    assert (ROOT / "slack" / "manifest.yml").read_text() == manifest(), "run ./tilt slack-manifest"


def test_the_readme_command_table_is_the_one_the_declarations_give() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == updated(readme), "run ./tilt readme-commands"


def test_a_command_declared_in_one_place_is_everywhere(declared: Command, offline: Services) -> None:
    assert router.run("/echo SMH since 2021", offline, LOCAL).text == "echo: SMH since 2021"

    listed = router.run("/help", offline, LOCAL)
    assert f"`{declared.usage}`" in listed.notes
    guide = router.run("/help echo", offline, LOCAL)
    assert guide.text == f"`{declared.usage}`"
    assert guide.notes == ("A command that exists only in this test.\nExamples: `/echo SMH 1y` · `/echo QQQ vs SPY`",)

    schema = next(s for s in schemas() if s["name"] == "echo")
    assert schema["description"] == declared.summary and check_commands(schemas()) is None
    assert [o["name"] for o in schema["options"]] == ["ticker", "period", "benchmark"]
    assert all(o["autocomplete"] for o in schema["options"])
    help_choices = next(s for s in schemas() if s["name"] == "help")["options"][0]["choices"]
    assert "echo" in [choice["value"] for choice in help_choices]
    typed = [{"name": "benchmark", "value": "SPY"}, {"name": "ticker", "value": "QQQ"}, {"name": "period", "value": "5y"}]
    assert command_text({"name": "echo", "options": typed}) == "/echo QQQ 5y vs SPY"

    assert "/echo" in slash_commands()
    entry = re.search(r"- command: /echo\n(?:      .*\n)+", manifest())
    assert entry and 'description: "Says back what it was given"' in entry[0] and 'usage_hint: "SMH 1y"' in entry[0]

    readme = (ROOT / "README.md").read_text()
    assert "| `/echo TICKER [PERIOD] [vs BENCH]` | Says back what it was given | `/echo SMH 1y` |" in updated(readme)

    assert router.label("/echo SMH") == "echo" and router.label("/nope SMH") == "unknown"


def test_an_undeclared_command_is_unknown_everywhere(offline: Services) -> None:
    reply = router.run("/echo SMH", offline, LOCAL)
    assert reply.is_error and "I don't know the command `/echo`" in reply.text
    assert router.label("/echo SMH") == "unknown" and "/echo" not in slash_commands()


def test_every_option_of_every_command_reaches_the_router_text() -> None:
    for command in catalog.listed():
        values = {o.name: "1" if o.kind is Kind.INTEGER else f"v{i}" for i, o in enumerate(command.options)}
        text = command_text({"name": command.name, "options": [{"name": k, "value": v} for k, v in values.items()]})
        assert text.split()[0] == f"/{command.name}"
        assert all(value in text.split() for value in values.values()), text


def test_every_declaration_is_one_discord_and_slack_take() -> None:
    assert check_commands(schemas()) is None
    for command in catalog.listed():
        assert 1 <= len(command.summary) <= 100 and command.examples and command.guide, command.name
        assert all(example.startswith(f"/{command.name}") for example in command.examples), command.name
        assert command_schema(command)["options"] == sorted(command_schema(command)["options"],
                                                            key=lambda option: not option["required"])
    assert [c.name for c in catalog.COMMANDS if not c.listed] == ["vote"]  # routed, but offered nowhere


def test_errors_show_the_grammar_and_an_example(offline: Services) -> None:
    reply = router.run("/compare SMH 7x", offline, LOCAL)
    assert reply.is_error and reply.usage == "/compare TICKER [TICKER ...] [vs BENCH] [PERIOD]   e.g. /compare SMH SPY 10y"
