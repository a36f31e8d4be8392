"""Mutation testing with mutmut, one module at a time, against only the test files that import it.

    ./tilt mutate                          every target below, one after the other
    ./tilt mutate analysis/returns.py      one module (or several; a folder means its modules)
    ./tilt mutate --scores                 the scores measured so far, per module and per package
    ./tilt mutate --at e73f7fb PATH        the same against the code and tests of an earlier commit (a baseline)

Each module gets a work folder ``.mutmut/<module>/``: a copy of the sources (refreshed on every run,
and every run starts afresh) and a ``pyproject.toml`` whose ``[tool.mutmut]``
mutates only that module and collects mutmut's test statistics from only the test files that import it
(directly, or failing that through the nearest project module that does).  mutmut then runs, per mutant,
only the tests that reached the mutated function.  One worker process: the machine is shared.

Mutants in code that runs in a ``bot.py serve`` subprocess are out of reach (mutmut switches mutants in
its own process), so the chat targets are the modules tested in-process.  Not for CI: it takes minutes a
module.  The survivors that mean the same as the original are listed, with why, in tests/mutants-equivalent.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutmut"
MUTMUT = Path(sys.executable).with_name("mutmut")
# The code whose tests should catch bugs: the metrics, the parsers, the data-source guards, and the chat
# adapters' escaping (the signature checks run inside the server subprocess, see the module docstring).
TARGETS = (
    "analysis",
    "handlers/common/parse.py",
    "handlers/common/backtest_request.py",
    "market/protection.py",
    "market/cached.py",
    "chat/text.py",
    "chat/slack/blocks.py",
    "chat/discord/embeds.py",
)
# Modules whose importing test files mostly use them as plumbing: every test there reaches the module (every
# command asks the cache for bars), so each mutant would rerun them all (an hour a module on this machine).
# These are run against their own tests only, which makes their score a lower bound.
FOCUSED_TESTS = {
    "market.cached": ("tests/test_cache.py", "tests/test_coordination.py", "tests/test_protection.py"),
    # Every chart module, /backtest and /cycle draw on analysis.charts: its own tests are test_charts.py's, and the
    # house style every chart shares (test_chart_style.py).
    "analysis.charts": ("tests/test_charts.py", "tests/test_chart_style.py"),
    "analysis.monthly_chart": ("tests/test_charts.py", "tests/test_chart_style.py"),
}
# mutmut counts these as caught; "no tests" and "survived" are not; "skipped" (not run) is left out.
CAUGHT = ("killed", "timeout", "segfault", "suspicious")


def main() -> None:
    parser = argparse.ArgumentParser(prog="./tilt mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="modules or folders (default: every target)")
    parser.add_argument("--scores", action="store_true", help="only print the scores measured so far")
    parser.add_argument("--at", metavar="COMMIT", help="mutate the code and run the tests of COMMIT instead")
    args = parser.parse_args()
    work = WORK / args.at if args.at else WORK
    if not args.scores:
        modules = [m for path in (args.paths or TARGETS) for m in modules_in(ROOT / path)]
        graph = import_graph(args.at)
        for module in modules:
            mutate(module, graph, work, args.at)
    print_scores(work)


def modules_in(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.py") if p.name != "__init__.py")
    if path.suffix == ".py" and path.is_file():
        return [path]
    sys.exit(f"tilt mutate: {path} is neither a module nor a folder of modules")


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def import_graph(commit: str | None) -> dict[str, set[str]]:
    """Who imports whom among the project's Python files (module name -> the modules it imports)."""
    graph: dict[str, set[str]] = {}
    for path in tracked_files(commit):
        if path.suffix != ".py":
            continue
        imported = set()
        for node in ast.walk(ast.parse(read(path, commit), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[".".join(path.with_suffix("").parts)] = imported
    return graph


def test_files_for(module: str, graph: dict[str, set[str]]) -> list[str]:
    """The test files that import ``module``; if none does, those importing the nearest module that does."""
    wanted, seen = {module}, {module}
    while wanted:
        tests = sorted(f"{m.replace('.', '/')}.py" for m, imports in graph.items()
                       if m.startswith("tests.test_") and imports & wanted)
        if tests:
            return tests
        wanted = {m for m, imports in graph.items() if imports & wanted and not m.startswith("tests.")} - seen
        seen |= wanted
    return []


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def tracked_files(commit: str | None = None) -> list[Path]:
    """The project's files: those of ``commit``, or the work tree's (tracked and new, less what git ignores)."""
    if commit:
        return [Path(line) for line in git("ls-tree", "-r", "--name-only", commit).splitlines()]
    listed = git("ls-files", "-co", "--exclude-standard").splitlines()
    return [Path(line) for line in listed if line and (ROOT / line).is_file()]


def read(path: Path, commit: str | None) -> str:
    return git("show", f"{commit}:{path}") if commit else (ROOT / path).read_text()


def sync_sources(folder: Path, commit: str | None) -> None:
    """Copy the project's files into ``folder``, touching only those that changed (mutmut reads mtimes)."""
    if commit:
        if not (folder / "pyproject.toml").exists():
            archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        return
    for path in tracked_files():
        source, target = ROOT / path, folder / path
        if target.exists() and target.stat().st_mtime == source.stat().st_mtime:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def mutate(path: Path, graph: dict[str, set[str]], work: Path, commit: str | None) -> None:
    module = dotted(path)
    tests = list(FOCUSED_TESTS.get(module, ())) or test_files_for(module, graph)
    if not tests:
        print(f"tilt mutate: no test file imports {module}; skipped")
        return
    folder = work / module
    folder.mkdir(parents=True, exist_ok=True)
    sync_sources(folder, commit)
    # mutmut keeps a mutant's verdict while its function is unchanged, even when new tests now reach it:
    # start afresh, so the score is that of today's tests.
    shutil.rmtree(folder / "mutants", ignore_errors=True)
    # The project's pyproject.toml (a baseline's, plus today's [tool.mutmut]): that table is last, so the
    # module's own keys appended here land in it.
    project = (ROOT / "pyproject.toml").read_text()
    pyproject = read(Path("pyproject.toml"), commit) + project[project.index("\n# Mutation testing"):] if commit \
        else project
    settings = (f"\nonly_mutate = [{json.dumps(str(path.relative_to(ROOT)))}]\n"
                f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n")
    (folder / "pyproject.toml").write_text(pyproject + settings)
    print(f"tilt mutate: {module}{' at ' + commit if commit else ''}, against {' '.join(tests)}", flush=True)
    env = {**os.environ, "TILT_SHARED_DIR": str(ROOT.parent / "shared")}
    with open(folder / "run.log", "w") as log:
        subprocess.run(["nice", "-n", "10", str(MUTMUT), "run", "--max-children", "1"], cwd=folder, env=env,
                       stdout=log, stderr=subprocess.STDOUT)
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=folder, env=env, capture_output=True)
    survivors = subprocess.run([str(MUTMUT), "results"], cwd=folder, env=env, capture_output=True, text=True)
    (folder / "survivors.txt").write_text(survivors.stdout)
    print(survivors.stdout or "    no survivors", end="", flush=True)


def print_scores(work: Path) -> None:
    """Caught / total per module and per package, from each work folder's last run."""
    per_package: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    listed = equivalent_names()
    rows = []
    for stats_file in sorted(work.glob("*/mutants/mutmut-cicd-stats.json")):
        module = stats_file.parents[1].name
        stats = json.loads(stats_file.read_text())
        caught = sum(stats[k] for k in CAUGHT)
        total = caught + stats["survived"] + stats["no_tests"]
        if not total:
            continue
        equivalent = len(listed & surviving(stats_file.parents[1]))
        # A run stopped part way leaves the rest unchecked: say so, or the score would pass for the module's.
        unchecked = stats["total"] - total
        rows.append(f"{module:<40} {caught:>5} / {total:<5} {100 * caught / total:5.1f}%   "
                    f"survived {stats['survived']} ({equivalent} equivalent), no tests {stats['no_tests']}"
                    + (f", NOT RUN {unchecked} of {stats['total']}" if unchecked else ""))
        package = module.split(".")[0]
        per_package[package][0] += caught
        per_package[package][1] += total
        per_package[package][2] += equivalent
    print("\n".join(rows))
    # The textbook mutation score leaves the equivalent mutants out: no test can tell them from the original.
    for package, (caught, total, equivalent) in sorted(per_package.items()):
        print(f"{package + '/':<40} {caught:>5} / {total:<5} {100 * caught / total:5.1f}%   "
              f"{100 * caught / (total - equivalent):5.1f}% of the {total - equivalent} not listed as equivalent")


def equivalent_names() -> set[str]:
    """Every mutant named in the table of tests/mutants-equivalent.md: a full name, then ``_N`` for a sibling in the
    same function or ``x_function__mutmut_N`` for one in another function of the same module."""
    table = (ROOT / "tests" / "mutants-equivalent.md").read_text().partition("## Cosmetic survivors")[0]
    names: set[str] = set()
    for row in (line for line in table.splitlines() if line.startswith("| `")):
        module = stem = ""
        for token in row.split("|")[1].replace("`", "").split(","):
            token = token.strip()
            if "__mutmut_" in token:
                if not token.startswith("x"):
                    module = token[:token.index(".x") + 1]
                names.add(module + token if token.startswith("x") else token)
                stem = (module + token if token.startswith("x") else token).rsplit("_", 1)[0] + "_"
            elif stem and token.startswith("_") and token[1:].isdigit():
                names.add(stem + token[1:])
    return names


def surviving(folder: Path) -> set[str]:
    """The survivors a module's last run (or re-check) wrote to its survivors.txt."""
    path = folder / "survivors.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return {line.split(":")[0].strip() for line in lines if line.strip().endswith("survived")}


if __name__ == "__main__":
    main()
