"""The console: what a chat would show, in a terminal.

One-shot (``bot.py console "/compare SMH SPY 10y"``) prints the reply and the
path of the saved chart; with no command it opens a prompt with history.
Commands that take more than a moment print a progress line on stderr.

Replies carry Slack markup (``*bold*``, ``:warning:``, `` `code` ``); the terminal shows it as plain text, in
bold and colour only when the output is a terminal (and ``NO_COLOR`` is not set).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import sys
from pathlib import Path
from typing import Callable, TextIO

from handlers.common.reply import Reply

PROGRESS_AFTER_SECONDS = 0.3
EXIT_WORDS = {"quit", "exit", ":q"}

Answer = Callable[[str], Reply]


# Slack's emoji codes that replies use, as the characters a terminal shows.
EMOJI = {":warning:": "\u26a0"}
# *bold* as Slack reads it: not inside a word, so "2016*" in a table or "a*b" stays as it is.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD_ON, _CYAN_ON, _OFF = "\033[1m", "\033[36m", "\033[0m"


def wants_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and not when ``NO_COLOR`` asks for none (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_markup(text: str, colour: bool) -> str:
    """Slack markup as terminal text: emoji codes as characters, ``*bold*`` and `` `code` `` without their marks,
    in bold and cyan when ``colour``."""
    for code, symbol in EMOJI.items():
        text = text.replace(code, symbol)
    text = _BOLD.sub(f"{_BOLD_ON}\\1{_OFF}" if colour else r"\1", text)
    return _CODE.sub(f"{_CYAN_ON}\\1{_OFF}" if colour else r"\1", text)


def render(reply: Reply, charts_dir: Path, colour: bool = False) -> str:
    """The reply as terminal text (``terminal_markup``); the chart (and an attached file) is written to
    ``charts_dir`` and its path shown."""
    text = reply.plain_text(lambda prose: terminal_markup(prose, colour))
    if reply.chart is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        path = charts_dir / reply.chart.filename
        path.write_bytes(reply.chart.png)
        text += f"\nChart: {path}"
    if reply.attachment is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        path = charts_dir / reply.attachment.filename
        path.write_text(reply.attachment.text)
        text += f"\n{reply.attachment.title}: {path}"
    return text


def answer_with_progress(answer: Answer, command: str, progress: TextIO) -> Reply:
    """Run ``answer(command)``; if it is still busy after a moment, say so on ``progress``."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(answer, command)
        try:
            return future.result(timeout=PROGRESS_AFTER_SECONDS)
        except concurrent.futures.TimeoutError:
            progress.write("… fetching market data and computing\n")
            progress.flush()
            return future.result()


def run_once(answer: Answer, command: str, charts_dir: Path, out: TextIO = sys.stdout, progress: TextIO = sys.stderr) -> int:
    """Answer one command; the exit status is 1 when the reply is an error."""
    reply = answer_with_progress(answer, command, progress)
    out.write(render(reply, charts_dir, wants_colour(out)) + "\n")
    return 1 if reply.is_error else 0


def interactive(answer: Answer, charts_dir: Path, history_file: Path) -> int:
    """A prompt: type commands with or without the slash; ``help`` for help, ``quit`` or Ctrl-D to leave."""
    _load_history(history_file)
    print("Tilt console. Try: /compare SMH SPY 10y · /valuation IJR SPY · help · quit")
    while True:
        try:
            line = input("tilt> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not line:
            continue
        if line.lower() in EXIT_WORDS:
            break
        command = line if line.startswith("/") else f"/{line}"
        print(render(answer_with_progress(answer, command, sys.stderr), charts_dir, wants_colour(sys.stdout)))
    _save_history(history_file)
    return 0


def _load_history(path: Path) -> None:
    try:
        import readline
    except ImportError:  # not on every platform; the prompt works without it
        return
    if path.exists():
        readline.read_history_file(path)


def _save_history(path: Path) -> None:
    try:
        import readline
    except ImportError:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    readline.write_history_file(path)
