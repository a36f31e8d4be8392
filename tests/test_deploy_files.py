"""The deployment files agree with the code: compose.yaml, Dockerfile, .dockerignore, Procfile, pyproject, README.

Docker is not needed (nor run): the files are read as text.  compose.yaml is read by
``parse_yaml``, a reader for the plain YAML subset it uses (no PyYAML dependency).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shlex
import tomllib
from urllib.parse import urlparse

import pytest

from bot import parse_args
from tests.conftest import ROOT

TILT_SERVICES = {"web": "serve", "worker": "worker", "scheduler": "scheduler"}


# --- a reader for the YAML that compose.yaml uses -----------------------------------------------

_KEY = re.compile(r"^([\w.-]+):(?:\s+(.*))?$")


def parse_yaml(text: str) -> object:
    """Block mappings and sequences, plain and quoted scalars, JSON-style flow sequences; no anchors."""
    lines = []
    for raw in text.splitlines():
        line = _uncomment(raw).rstrip()
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    value, end = _block(lines, 0, lines[0][0])
    assert end == len(lines), f"could not read compose.yaml from {lines[end][1]!r} on"
    return value


def _uncomment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[object, int]:
    if not lines[i][1].startswith("-"):
        return _mapping(lines, i, indent)
    items = []
    while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
        rest = lines[i][1][1:].strip()
        if _KEY.match(rest):  # "- key: value" opens a mapping two columns in
            lines[i] = (indent + 2, rest)
            item, i = _mapping(lines, i, indent + 2)
        else:
            item, i = _scalar(rest), i + 1
        items.append(item)
    return items, i


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict, int]:
    result: dict = {}
    while i < len(lines) and lines[i][0] == indent:
        match = _KEY.match(lines[i][1])
        assert match, f"not a key: {lines[i][1]!r}"
        key, rest = match.groups()
        i += 1
        if rest:
            result[key] = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("-"))):
            result[key], i = _block(lines, i, lines[i][0])
        else:
            result[key] = None
    return result, i


def _scalar(text: str) -> object:
    if text.startswith("["):
        return json.loads(text)
    if len(text) > 1 and text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    return {"true": True, "false": False}.get(text, text)


# --- helpers ------------------------------------------------------------------------------------


def subcommand(command: str | list[str]) -> str:
    """The ``bot.py`` subcommand that ``command`` runs; fails unless it is ``python bot.py <mode>`` bot.py accepts."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[:2] == ["python", "bot.py"], f"{argv} does not run bot.py"
    try:
        return parse_args(argv[2:]).mode
    except SystemExit:
        pytest.fail(f"bot.py has no subcommand {argv[2:]}")


def compose() -> dict:
    return parse_yaml((ROOT / "compose.yaml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    return dict(item.split("=", 1) for item in env) if isinstance(env, list) else {k: str(v) for k, v in env.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` (or a folder above it) out of the build context.

    Docker's rules as far as this file needs them: ``*`` stays within one path segment, a leading
    ``**/`` matches at any depth, ``!`` takes a path back in, and the last pattern that matches wins.
    """
    parts = path.split("/")
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        anywhere = pattern.startswith("**/")
        wanted = pattern.removeprefix("**/").split("/")
        starts = range(len(parts)) if anywhere else (0,)
        if any(_segments_match(parts[start:start + len(wanted)], wanted) for start in starts):
            result = not negate
    return result


def _segments_match(parts: list[str], wanted: list[str]) -> bool:
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted))


# --- compose.yaml -------------------------------------------------------------------------------


def test_compose_runs_each_tilt_process_as_a_bot_subcommand() -> None:
    services = compose()["services"]
    built = {name: subcommand(service["command"]) for name, service in services.items() if "build" in service}
    assert built == TILT_SERVICES


def test_compose_points_every_tilt_process_at_the_redis_service() -> None:
    services = compose()["services"]
    for name in TILT_SERVICES:
        url = urlparse(environment(services[name]).get("REDIS_URL", ""))
        assert url.scheme == "redis", f"{name}: REDIS_URL is not a redis:// URL"
        assert url.hostname in services and services[url.hostname]["image"].startswith("redis:"), \
            f"{name}: REDIS_URL does not point at the compose Redis"
        assert url.port in (None, 6379), f"{name}: REDIS_URL's port is not Redis's"
        assert services[name]["depends_on"][url.hostname]["condition"] == "service_healthy", \
            f"{name} may start before Redis answers"


def test_compose_redis_keeps_team_data_in_a_named_volume() -> None:
    spec = compose()
    redis = spec["services"]["redis"]
    command = redis["command"] if isinstance(redis["command"], list) else shlex.split(redis["command"])
    assert command[command.index("--appendonly") + 1] == "yes"
    volumes = [volume.split(":") for volume in redis["volumes"]]
    assert any(target == "/data" and source in (spec.get("volumes") or {}) for source, target, *_ in volumes), \
        "Redis's /data is not a named volume, so team data would not survive the container"
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]


def test_compose_web_publishes_its_port_and_checks_healthz_there() -> None:
    web = compose()["services"]["web"]
    port = environment(web).get("PORT", "3000")
    assert f"{port}:{port}" in web["ports"]
    assert f"http://localhost:{port}/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["env_file"] == [{"path": ".env", "required": False}]


def test_compose_worker_serves_metrics_without_publishing_a_host_port() -> None:
    worker = compose()["services"]["worker"]
    assert environment(worker).get("TILT_METRICS_PORT", "").isdigit()
    assert "ports" not in worker, "a published host port would stop `--scale worker=3`"


# --- Procfile -----------------------------------------------------------------------------------


def test_procfile_process_types_run_bot_subcommands() -> None:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = subcommand(command)
    assert processes == TILT_SERVICES


# --- Dockerfile and .dockerignore ---------------------------------------------------------------


def test_dockerfile_installs_tilt_from_pyproject_and_serves() -> None:
    instructions = dockerfile_instructions()
    final_stage = instructions[max(i for i, (word, _) in enumerate(instructions) if word == "FROM"):]
    assert final_stage[0][1].split()[0] == "python:3.11-slim"
    cmd = [args for word, args in final_stage if word == "CMD"][-1]
    assert subcommand(json.loads(cmd)) == "serve"
    assert ("EXPOSE", "3000") in final_stage
    assert any(word == "ENV" and "TILT_STATE_DIR=/data" in args.split() for word, args in final_stage)
    users = [args for word, args in final_stage if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "Tilt would run as root"

    copied_pyproject = False
    for word, args in instructions:
        if word == "COPY" and not args.startswith("--from") and ("pyproject.toml" in args or args.split()[0] == "."):
            copied_pyproject = True
        if word == "RUN" and copied_pyproject:
            words = list(shlex.shlex(args, posix=True, punctuation_chars=True))
            commands = " ".join(words).replace(";", "&&").replace("||", "&&").split("&&")
            if any({"pip", "install", "."} <= set(command.split()) for command in commands):
                return
    pytest.fail("no RUN ... pip install . after pyproject.toml is copied")


def test_dockerignore_keeps_build_inputs_and_leaves_out_secrets_and_caches() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = project["tool"]["setuptools"]
    needed = ["pyproject.toml", project["project"]["readme"], "bot.py"]
    needed += [f"{module}.py" for module in setuptools["py-modules"]]
    needed += [f"{package.replace('.', '/')}/__init__.py" for package in setuptools["packages"]]
    assert [path for path in needed if ignored(path, patterns)] == []
    kept_out = [".env", ".venv/bin/python", ".git/HEAD", "market/__pycache__/cache.cpython-311.pyc", ".pytest_cache/v"]
    assert [path for path in kept_out if not ignored(path, patterns)] == []


def test_pyproject_installs_every_package_and_module() -> None:
    """``pip install .`` (the image, any install) includes only what pyproject lists: every package must be there."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tops = [path for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith((".", "tests", "bench", "build"))]
    packages = {str(init.parent.relative_to(ROOT)).replace("/", ".") for top in tops for init in top.glob("**/__init__.py")}
    assert "jobs" in packages
    assert packages - set(setuptools["packages"]) == set()
    modules = {path.stem for path in ROOT.glob("*.py")}
    assert modules == set(setuptools["py-modules"])


# --- README -------------------------------------------------------------------------------------


def settings_read_from_env() -> set[str]:
    """Every environment variable named in ``config.Settings.from_env``."""
    tree = ast.parse((ROOT / "config.py").read_text())
    settings = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings")
    from_env = next(node for node in settings.body if isinstance(node, ast.FunctionDef) and node.name == "from_env")
    return {node.value for node in ast.walk(from_env) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", node.value)
            and len(node.value) > 2}


def test_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for row in section.splitlines():
        if row.startswith("|"):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    names = settings_read_from_env()
    assert {"REDIS_URL", "TILT_JOBS", "TILT_METRICS_PORT", "PORT"} <= names
    assert sorted(names - documented) == []
