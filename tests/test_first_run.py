"""``./tilt`` setting itself up: what it asks its installer for, in which order, what it shows, when it installs again.

The script runs in a copy of the project holding only ``tilt``, ``pyproject.toml`` and a ``bot.py`` that says
how it was called.  Its installer is a stand-in: an executable where ``./tilt`` keeps the uv it fetched
(``$XDG_CACHE_HOME/tilt/uv/bin/uv``), which writes down each call and talks as uv does; it installs nothing
but a package folder carrying a ``tests`` folder, as wheels do.  Nothing is fetched, so these tests need no
network; the real install is timed by ``bench/first_run.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

STAND_IN_UV = f"""#!{sys.executable}
import json, pathlib, sys
with open({{calls!r}}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
python = pathlib.Path(sys.argv[sys.argv.index("--python") + 1])
package = next(python.parent.parent.glob("lib/python3*")) / "site-packages" / "fakepkg"
(package / "tests").mkdir(parents=True, exist_ok=True)
(package / "__init__.py").write_text("")
(package / "tests" / "test_fakepkg.py").write_text("")
print("Resolved 3 packages in 12ms", file=sys.stderr)
print("Downloading pandas (11.8MiB)", file=sys.stderr)
print(" + fakepkg==1.0", file=sys.stderr)
print("Installed 3 packages in 5ms", file=sys.stderr)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "tilt"
    copy.mkdir()
    shutil.copy2(ROOT / "tilt", copy / "tilt")
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "bot.py").write_text("import sys\nprint('bot.py', *sys.argv[1:])\n")
    uv = tmp_path / "cache" / "tilt" / "uv" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(STAND_IN_UV.format(calls=str(tmp_path / "calls")))
    uv.chmod(0o755)
    return copy


def tilt(project: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TILT_", "UV_"))}
    return subprocess.run([str(project / "tilt"), *args], capture_output=True, text=True, timeout=120,
                          cwd=project.parent, env={**environment, "XDG_CACHE_HOME": str(project.parent / "cache")})


def calls(project: Path) -> list[list[str]]:
    written = project.parent / "calls"
    return [json.loads(line) for line in written.read_text().splitlines()] if written.exists() else []


def install(project: Path, target: str) -> list[str]:
    return ["pip", "install", "--python", str(project / ".venv" / "bin" / "python"), "-e", target]


def test_the_first_run_installs_what_running_needs_with_uv_and_shows_its_progress(project: Path) -> None:
    result = tilt(project, "console", "--demo", "/help")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "bot.py console --demo /help\n"
    assert calls(project) == [install(project, str(project))]
    said = result.stderr.splitlines()
    assert said[0] == f"tilt: creating {project / '.venv'} (first run)..."
    assert said[2:5] == ["tilt:   Resolved 3 packages in 12ms", "tilt:   Downloading pandas (11.8MiB)",
                         "tilt:   Installed 3 packages in 5ms"]
    assert said[-1].startswith("tilt: run dependencies ready in ")
    # uv's own virtualenv, without pip: uv installs, and pip would be 20 MB more.
    assert not list((project / ".venv").glob("lib/python3*/site-packages/pip"))


def test_the_wheels_test_suites_are_left_out_and_their_packages_kept(project: Path) -> None:
    assert tilt(project, "--help").returncode == 0
    package = next((project / ".venv").glob("lib/python3*/site-packages/fakepkg"))
    assert (package / "__init__.py").is_file()
    assert not (package / "tests").exists()


def test_the_tests_tools_come_with_the_same_installer_on_the_first_test_run_only(project: Path) -> None:
    tilt(project, "--help")
    tilt(project, "test", "--version")
    tilt(project, "test", "--version")
    assert tilt(project, "--help").stderr == ""
    assert calls(project) == [install(project, str(project)), install(project, f"{project}[test]")]


def test_a_changed_pyproject_installs_again(project: Path) -> None:
    tilt(project, "--help")
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# a dependency pulled\n")
    result = tilt(project, "--help")
    assert result.returncode == 0, result.stderr
    assert "tilt: installing the run dependencies" in result.stderr
    assert calls(project) == [install(project, str(project))] * 2


def test_bytecode_is_cached_inside_the_venv_even_where_the_environment_forbids_writing_it(project: Path) -> None:
    """Nothing is compiled at install: were Python not let to cache what it compiles (this machine and CI set
    PYTHONDONTWRITEBYTECODE), every process would compile pandas and matplotlib afresh."""
    (project / "bot.py").write_text("import json, os, sys\nprint(json.dumps([sys.dont_write_bytecode, "
                                    "sys.pycache_prefix]))\n")
    result = subprocess.run([str(project / "tilt"), "console"], capture_output=True, text=True, timeout=120,
                            cwd=project.parent, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                                                     "XDG_CACHE_HOME": str(project.parent / "cache")})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, str(project / ".venv" / "pycache")]
