"""The console as a newcomer runs it: ``python bot.py console ...`` in a subprocess."""

from __future__ import annotations

import datetime as dt
import os
import pty
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_bot(args: list[str], state: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k not in ("MARKET_DATA_DIR", "REDIS_URL", "PORT")
                 and not k.startswith("TILT_")
                 and not k.startswith(("SLACK_", "DISCORD_"))}
    environment = {**inherited, "TILT_STATE_DIR": str(state), **env}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], input=stdin, capture_output=True,
                          text=True, timeout=120, env=environment, cwd=state.parent)


def chart_path(stdout: str) -> Path:
    line = next(l for l in stdout.splitlines() if l.startswith("Chart: "))
    return Path(line.removeprefix("Chart: "))


def test_the_readme_quick_start_runs_on_the_prices_the_project_ships(tmp_path: Path) -> None:
    quick_start = (ROOT / "README.md").read_text().split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    commands = [shlex.split(line)[1:] for line in quick_start.splitlines() if line.startswith("./tilt console --data-dir")]
    assert [args[:3] for args in commands] == [["console", "--data-dir", "tests/data/prices"]] * 2
    assert commands[0][3] == "/compare SMH SPY 10y"
    results = [run_bot([*args[:2], str(ROOT / args[2]), *args[3:]], tmp_path / f"state{i}") for i, args in enumerate(commands)]
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "as of 2026-07-14" in result.stdout
        assert chart_path(result.stdout).read_bytes().startswith(PNG_SIGNATURE)
    assert "SMH vs SPY" in results[0].stdout and "CAGR" in results[0].stdout and "Max DD" in results[0].stdout


def test_cycle_on_the_shared_prices(tmp_path: Path, prices_dir: Path) -> None:
    result = run_bot(["console", "--data-dir", str(prices_dir), "/cycle IWM vs SPY"], tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "IWM vs SPY through the cycle" in result.stdout and "Early recovery" in result.stdout
    assert "Every episode" in result.stdout and "2020-02-01  2020-04-30" in result.stdout
    assert chart_path(result.stdout).read_bytes().startswith(PNG_SIGNATURE)

def test_data_dir_from_the_environment(tmp_path: Path, prices_dir: Path) -> None:
    result = run_bot(["console", "/valuation IJR SPY"], tmp_path / "state", MARKET_DATA_DIR=str(prices_dir))
    assert result.returncode == 0, result.stderr
    assert "15.9x" in result.stdout


def test_demo_market_works_offline_and_says_so(tmp_path: Path) -> None:
    result = run_bot(["console", "--demo", "/compare", "SMH", "SPY", "10y"], tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "demo data, not real prices" in result.stdout
    assert chart_path(result.stdout).exists()


def test_bad_input_exits_1_with_a_message_and_no_traceback(tmp_path: Path, prices_dir: Path) -> None:
    result = run_bot(["console", "--data-dir", str(prices_dir), "/compare NOPE SPY"], tmp_path / "state")
    assert result.returncode == 1
    assert "can't find the ticker NOPE" in result.stdout and "Usage: /compare" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_wrong_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run_bot(["console", "/help"], tmp_path / "state", MARKET_DATA_DIR=str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"tilt: MARKET_DATA_DIR points to {tmp_path / 'missing'}, which is not a folder."]


def test_interactive_prompt(tmp_path: Path, prices_dir: Path) -> None:
    state = tmp_path / "state"
    result = run_bot(["console", "--data-dir", str(prices_dir)], state, stdin="help\ncompare IJR IWM vs SPY 1y\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Tilt console" in result.stdout and "/valuation" in result.stdout and "IJR IWM vs SPY" in result.stdout
    assert (state / "console_history").exists()


@pytest.mark.parametrize("redis_env", [{}, {"REDIS_URL": "redis://127.0.0.1:1"}])
def test_answers_whether_or_not_redis_is_there(tmp_path: Path, prices_dir: Path, redis_env: dict[str, str]) -> None:
    result = run_bot(["console", "--data-dir", str(prices_dir), "/compare QQQ SPY 1y"], tmp_path / "state", **redis_env)
    assert result.returncode == 0, result.stderr
    assert "QQQ vs SPY" in result.stdout
    assert ("unreachable" in result.stderr) == bool(redis_env)


def test_slow_answers_show_progress() -> None:
    import io
    import time as clock

    from chat.console import answer_with_progress
    from handlers.common.reply import Reply

    progress = io.StringIO()
    slow = answer_with_progress(lambda text: clock.sleep(0.6) or Reply(text=text), "/compare X", progress)
    assert slow.text == "/compare X" and "fetching market data" in progress.getvalue()
    quiet = io.StringIO()
    answer_with_progress(lambda text: Reply(text=text), "/help", quiet)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("env, line", [
    ({}, "tilt: Neither SLACK_BOT_TOKEN nor DISCORD_PUBLIC_KEY is set; serve needs one "
         "(see README, 'Add Tilt to Slack' and 'Add Tilt to Discord')."),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "tilt: SLACK_BOT_TOKEN must start with xoxb- (is it the right token?)."),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "tilt: SLACK_SIGNING_SECRET is not set; Tilt needs it for this mode (see README, 'Add Tilt to Slack')."),
    ({"PORT": "eighty"}, "tilt: PORT must be a TCP port number (got 'eighty')."),
    ({"TILT_YAHOO_RATE": "-1"}, "tilt: TILT_YAHOO_RATE must be a number of requests a second, e.g. 2 (got '-1')."),
    ({"TILT_SCHEDULER_INTERVAL": "soon"},
     "tilt: TILT_SCHEDULER_INTERVAL must be a number of seconds between 0 and 3600 (got 'soon')."),
    ({"TILT_JOBS": "celery"}, "tilt: TILT_JOBS must be 'queue', 'inprocess' or unset (got 'celery')."),
    ({"TILT_JOBS": "queue"}, "tilt: TILT_JOBS=queue needs REDIS_URL: workers and web processes share its queue."),
    ({"TILT_METRICS_PORT": "0"}, "tilt: TILT_METRICS_PORT must be a TCP port number (got '0')."),
])
def test_serve_names_the_missing_or_wrong_setting(tmp_path: Path, prices_dir: Path, env: dict[str, str], line: str) -> None:
    result = run_bot(["serve", "--data-dir", str(prices_dir)], tmp_path / "state", **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line]


def test_a_worker_needs_a_shared_redis(tmp_path: Path, prices_dir: Path) -> None:
    """Without REDIS_URL there is no queue to work on (the embedded Redis belongs to one process)."""
    result = run_bot(["worker", "--data-dir", str(prices_dir)], tmp_path / "state", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tilt: bot.py worker needs REDIS_URL: the Redis whose queue the web processes fill."]


def test_demo_and_real_data_keep_their_own_calls_and_charts(tmp_path: Path, prices_dir: Path) -> None:
    state = tmp_path / "state"  # one state folder, so one embedded Redis for both markets
    real = ["console", "--data-dir", str(prices_dir)]
    until = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    made = run_bot(["console", "--demo", f"/call IWM over SPY until {until} demo only"], state)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Call #1" in made.stdout

    listed = run_bot([*real, "/calls"], state)
    assert listed.returncode == 0, listed.stdout  # the demo's call is not a real one, so it can't break /calls
    assert "No calls yet" in listed.stdout
    assert "#1" in run_bot(["console", "--demo", "/calls"], state).stdout

    demo_chart = chart_path(run_bot(["console", "--demo", "/compare SMH SPY 10y"], state).stdout)
    real_chart = chart_path(run_bot([*real, "/compare SMH SPY 10y"], state).stdout)
    assert demo_chart != real_chart
    assert demo_chart.read_bytes() != real_chart.read_bytes()  # neither overwrote the other


def test_replies_read_as_plain_terminal_text_without_slack_markup(tmp_path: Path, prices_dir: Path) -> None:
    error = run_bot(["console", "--data-dir", str(prices_dir), "/compare NOPE SPY"], tmp_path / "state")
    answer = run_bot(["console", "--data-dir", str(prices_dir), "/compare SMH SPY 10y"], tmp_path / "state")
    assert error.stdout.startswith("\u26a0 I can't find the ticker NOPE")
    assert answer.stdout.startswith("SMH vs SPY, 10y, total return")
    for shown in (error.stdout, answer.stdout):  # piped, not a terminal: no colour codes
        assert ":warning:" not in shown and "*SMH" not in shown and "\033[" not in shown


def test_a_terminal_gets_bold_and_colour(tmp_path: Path, prices_dir: Path) -> None:
    reader, writer = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TILT_") and k != "NO_COLOR"}
    subprocess.run([sys.executable, str(ROOT / "bot.py"), "console", "--data-dir", str(prices_dir),
                    "/compare SMH SPY 1.5y"], stdout=writer, stderr=subprocess.PIPE, timeout=120,
                   env={**environment, "TILT_STATE_DIR": str(tmp_path / "state")})
    os.close(writer)
    shown = os.read(reader, 65536).decode()
    os.close(reader)
    assert shown.startswith("\u26a0 \033[36m1.5y\033[0m is not a period I know")


def test_tilt_reads_relative_paths_from_the_callers_directory(tmp_path: Path, prices_dir: Path) -> None:
    """``./tilt`` run from elsewhere: ``--data-dir`` relative to where it was typed, not to the project."""
    caller = tmp_path / "elsewhere"
    caller.mkdir()
    relative = os.path.relpath(prices_dir, caller)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TILT_") and k != "MARKET_DATA_DIR"}
    result = subprocess.run([str(ROOT / "tilt"), "console", "--data-dir", relative, "/valuation IJR SPY"],
                            capture_output=True, text=True, timeout=600, cwd=caller,
                            env={**environment, "TILT_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert "15.9x" in result.stdout
