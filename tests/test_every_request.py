"""Every command answers every request: an answer or a typed user error, never the generic apology, never an
exception.  Requests come from each command's own grammar mixed with garbage (tests/requests.py); they run end
to end through ``handlers.common.router.run`` on the shared CSV prices and a real Redis.

The commands are enumerated from ``handlers.catalog.COMMANDS`` (what the router routes, buttons' commands
included), so a new command without a request grammar fails here.
Fixed seed (``derandomize``) and a bounded number of examples; bench/fuzz.py runs the long campaign.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handlers import catalog
from handlers.common import router
from handlers.common.caller import LOCAL, Caller
from handlers.common.reply import Reply
from handlers.common.services import Services
from tests.requests import REQUESTS

ROUTED = sorted(command.name for command in catalog.COMMANDS)
# A Slack channel as well as the console: scheduling, votes and calls take different paths on each.
CALLERS = (Caller(platform="slack", team="T1", channel="C1", user="U1"), LOCAL)
# Commands that draw charts or read years of prices cost more per request.
EXAMPLES = {"compare": 14, "backtest": 14, "rotation": 10, "signal": 8, "digest": 10, "watchlist": 12}
GENERIC = "something went wrong"
# Requests that crashed before (issue 26), always tried besides the generated ones.
CRASHED_BEFORE = {
    "compare": ("QQQ SPY since 2027", "QQQ SPY since 2026-08-01", "QQQ SPY 2030-01-01..2031-01-01"),
    "backtest": ("SPY 70 IJR 30 since 2026-08-01", "SPY 100 10y", "QQQ 100 vs QQQ 10y"),
}


def test_every_routed_command_has_a_request_grammar() -> None:
    assert set(ROUTED) == set(REQUESTS)


def answered(reply: Reply) -> bool:
    """An answer, or a typed error the person can act on: never the apology for a crash."""
    return isinstance(reply, Reply) and GENERIC not in reply.text.lower()


@pytest.mark.parametrize("name", ROUTED)
def test_every_request_gets_an_answer_or_a_typed_error(name: str, services: Services,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    @settings(max_examples=EXAMPLES.get(name, 20), derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(arguments=REQUESTS[name], caller=st.sampled_from(CALLERS))
    def check(arguments: str, caller: Caller) -> None:
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="handlers.common.router"):
            reply = router.run(f"/{name} {arguments}", services, caller)
        crashes = [r.getMessage() for r in caplog.records if r.exc_info]
        assert answered(reply) and not crashes, (f"/{name} {arguments!r}", reply.text, crashes)

    for arguments in CRASHED_BEFORE.get(name, ()):
        check = example(arguments=arguments, caller=LOCAL)(check)
    check()
