"""A newcomer's first ``./tilt console --demo "/compare SMH SPY 10y"``: seconds until it answers, size of ``.venv``.

Each run clones this repository's last commit into a new temp folder and runs the Quick start's command there,
as on a machine that has never seen Tilt: every cache the first run reads or fills is a new empty folder
(``XDG_CACHE_HOME``: Tilt's copy of uv, uv's wheels, matplotlib's font list; ``PIP_NO_CACHE_DIR``: pip's
wheels), and ``PYTHONDONTWRITEBYTECODE`` is unset, so Python writes the bytecode of what it imports into
``.venv`` as it does on a newcomer's machine.  The size is taken after the answer, bytecode included
(``du -sm .venv``).  Then, with the same clone, the second run (everything installed) and, with ``--test``,
the first ``./tilt test`` (the test extra; one small test file collected).

    python3 bench/first_run.py                      three runs with uv, the installer ./tilt fetches
    python3 bench/first_run.py --installer pip      the same with pip, ./tilt's fallback
    python3 bench/first_run.py --runs 1 --test      one run, then the first ./tilt test

Needs only python3 and git (no .venv).  Prints the machine's load beside each run, and the CPU seconds the run
used, which other work on the same CPUs does not change (its wall time it does).  Targets: first run < 30 s, ``.venv`` < 300 MB.  Prints figures; asserts only that the demo answered.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ["console", "--demo", "/compare SMH SPY 10y"]
TARGET_SECONDS, TARGET_MB = 30, 300


def megabytes(path: Path, beside: Path | None = None) -> int:
    """``du -sm PATH``; with BESIDE, only what PATH holds beyond BESIDE (uv's cache shares its files with .venv)."""
    paths = [str(beside), str(path)] if beside else [str(path)]
    lines = subprocess.run(["du", "-sm", *paths], capture_output=True, text=True, check=True).stdout.splitlines()
    return int(lines[-1].split()[0])


def largest(site_packages: Path, count: int = 6) -> str:
    sizes = [(megabytes(p), p.name) for p in site_packages.iterdir() if p.is_dir() and not p.name.endswith("-info")]
    return ", ".join(f"{name} {mb}" for mb, name in sorted(sizes, reverse=True)[:count])


def cpu_seconds() -> float:
    """CPU (user + system) of the finished children so far, their own children included: what the load can't change."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, subprocess.CompletedProcess]:
    """Wall and CPU seconds of ARGS, e.g. "17.0 s (CPU 11.2 s)", and how it ended."""
    started, cpu = time.perf_counter(), cpu_seconds()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    return f"{time.perf_counter() - started:.1f} s (CPU {cpu_seconds() - cpu:.1f} s)", result


def said(stderr: str, what: str) -> str:
    """The seconds ./tilt said WHAT took ("run dependencies ready", "uv fetched"), or "-" when it did not say."""
    found = re.search(rf"{what} in (\d+) s", stderr)
    return f"{found.group(1)} s" if found else "-"


def one_run(installer: str, test: bool) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="tilt-first-run-") as scratch:
        clone, caches = Path(scratch) / "tilt", Path(scratch) / "cache"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items()
               if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("TILT_", "UV_", "MPL"))}
        env |= {"XDG_CACHE_HOME": str(caches), "PIP_NO_CACHE_DIR": "1", "TILT_INSTALLER": installer,
                "TILT_STATE_DIR": str(Path(scratch) / "state")}
        load = os.getloadavg()[0]
        took, first = timed(["./tilt", *COMMAND], clone, env)
        if first.returncode != 0 or "SMH vs SPY" not in first.stdout:
            sys.exit(f"the first run did not answer (exit {first.returncode}):\n{first.stderr[-3000:]}")
        figures = {"load": f"{load:.1f}", "first run": took,
                   "installing": said(first.stderr, "run dependencies ready"),
                   "of which fetching uv": said(first.stderr, "uv fetched"),
                   ".venv": f"{megabytes(clone / '.venv')} MB",
                   "largest (MB)": largest(next((clone / ".venv" / "lib").glob("python3*/site-packages"))),
                   "caches beyond .venv": f"{megabytes(caches, clone / '.venv')} MB"}
        took, _ = timed(["./tilt", *COMMAND], clone, env)
        figures["second run"] = took
        if test:
            took, tested = timed(["./tilt", "test", "-q", "--co", "tests/test_parse.py"], clone, env)
            if tested.returncode != 0:
                sys.exit(f"the first ./tilt test failed (exit {tested.returncode}):\n{tested.stderr[-3000:]}")
            extra = said(tested.stderr, "test dependencies ready")
            figures |= {"first ./tilt test": f"{took}, test extra {extra}",
                        ".venv with tests": f"{megabytes(clone / '.venv')} MB"}
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--installer", choices=("uv", "pip"), default="uv")
    parser.add_argument("--test", action="store_true", help="also time the first ./tilt test")
    options = parser.parse_args()
    if shutil.which("git") is None:
        sys.exit("needs git")
    print(f"first ./tilt {' '.join(COMMAND[:2])} {COMMAND[2]!r} in a fresh clone, empty caches, "
          f"installer {options.installer}; {os.cpu_count()} CPUs; targets < {TARGET_SECONDS} s, < {TARGET_MB} MB")
    for run in range(1, options.runs + 1):
        figures = one_run(options.installer, options.test)
        print(f"run {run}: " + "; ".join(f"{name} {value}" for name, value in figures.items()), flush=True)


if __name__ == "__main__":
    main()
