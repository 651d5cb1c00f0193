"""Shared fixtures: an isolated environment and an in-process CLI runner. The CI rule for skips is the plugin
:mod:`tests.ci_rule`; peers, fakes and the memory backend are in :mod:`tests.doubles`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The CI rule for skips, and the fixtures of the peers that several test directories share (a session's one
#: PostgreSQL server, one Temporal dev server).
pytest_plugins = ("tests.ci_rule", "tests.doubles.pg_peer", "tests.doubles.temporal_peer")

ISOLATE_PREFIXES = ("WFCTL_", "WORKFLOW_", "VERCEL_", "TEMPORAL_")
ISOLATE_NAMES = ("DATABASE_URL", "PORT", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS")


# -- Hypothesis profiles (tests/**/test_*_fuzz.py; CONTRIBUTING.md, "Fuzzing") -------------------------------
#
# HYPOTHESIS_PROFILE picks one: "ci" (the default: a bounded, deterministic budget), "long" (a search of
# minutes). No example database: a failure prints its minimal example, which becomes an @example(...).
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the test extra is not installed: the fuzz modules fail to import and say so
    pass
else:
    _hypothesis_settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None)
    _hypothesis_settings.register_profile("long", max_examples=20_000, deadline=None, database=None)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        import json

        return json.loads(self.stdout)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("wfctl-home")
    for name in list(os.environ):
        if name.startswith(ISOLATE_PREFIXES) or name in ISOLATE_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WFCTL_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("WFCTL_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    return home


@pytest.fixture
def config_file(isolated_env: Path) -> Path:
    return isolated_env / "config.toml"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Run wfctl in-process: ``cli("list", "-o", "json", cwd=..., env={...}, input=...)``."""
    from typer.testing import CliRunner

    from wfctl.app import app as command

    def run(
        *args: str, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        runner = CliRunner()
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            result = runner.invoke(command, list(args), env=env, input=input, catch_exceptions=False)
        finally:
            os.chdir(old)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def memory_world() -> Iterator["object"]:
    from tests.doubles.memory_backend import MemoryBackend, World
    from wfctl import backends

    world = World()
    MemoryBackend.world = world
    backends.register("memory", MemoryBackend)
    yield world
    backends.unregister("memory")
