"""The console: what a chat would show, in a terminal.

One-shot (``bot.py console "/compare SMH SPY 10y"``) prints the reply and the
path of the saved chart; with no command it opens a prompt with history.
Commands that take more than a moment print a progress line on stderr.
"""

from __future__ import annotations

import concurrent.futures
import sys
from pathlib import Path
from typing import Callable, TextIO

from handlers.common.reply import Reply

PROGRESS_AFTER_SECONDS = 0.3
EXIT_WORDS = {"quit", "exit", ":q"}

Answer = Callable[[str], Reply]


def render(reply: Reply, charts_dir: Path) -> str:
    """The reply as terminal text; the chart (and an attached file) is written to ``charts_dir`` and its path shown."""
    text = reply.plain_text()
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
    out.write(render(reply, charts_dir) + "\n")
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
        print(render(answer_with_progress(answer, command, sys.stderr), charts_dir))
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
