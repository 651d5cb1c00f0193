"""Shared fixtures: an isolated environment and an in-process CLI runner."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

ISOLATE_PREFIXES = ("WFCTL_", "WORKFLOW_", "VERCEL_", "TEMPORAL_")
ISOLATE_NAMES = ("DATABASE_URL", "PORT", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS")


# -- skips under CI ---------------------------------------------------------------------------------------------
#
# The one rule: with CI=true a skipped test (or a skipped module) FAILS unless its reason starts with one of
# these. Everything else that skips (a missing peer, pytest.importorskip, a missing recording) is a hole in CI.
CI_ALLOWED_SKIPS = (
    # Durable Streams conformance cases that exercise a producer: wfctl's Durable Streams support is a reader.
    "needs an idempotent producer",
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def peer_missing(what: str) -> None:
    """A test whose peer is missing: a skip here, a failure under CI=true (see :data:`CI_ALLOWED_SKIPS`)."""
    pytest.skip(f"peer missing: {what}")


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason


def _fail_unallowed_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not (under_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report.longrepr)
    if reason.startswith(CI_ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, and the reason is not in CI_ALLOWED_SKIPS (tests/conftest.py): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    _fail_unallowed_skip(outcome.get_result())


class _SkippedModule(pytest.Item):
    """Stands in for a module that skipped itself under CI=true, so that the module's tests fail and the rest of
    the suite still runs (a failed collection would stop the whole session)."""

    def __init__(self, *, reason: str, **kwargs: object):
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        pytest.fail(
            f"skipped under CI=true, and the reason is not in CI_ALLOWED_SKIPS (tests/conftest.py): {self.reason}",
            pytrace=False,
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if under_ci() and report.skipped and isinstance(collector, pytest.Module):
        reason = _skip_reason(report.longrepr)
        if not reason.startswith(CI_ALLOWED_SKIPS):
            report.outcome = "passed"
            report.longrepr = None
            report.result = [_SkippedModule.from_parent(collector, name="<module skipped>", reason=reason)]


# -- Hypothesis profiles (tests/test_fuzz_*.py; CONTRIBUTING.md, "Fuzzing") ------------------------------------
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


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: free when asked (never a well-known port assumed closed)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    from memory_backend import MemoryBackend, World

    from wfctl import backends

    world = World()
    MemoryBackend.world = world
    backends.register("memory", MemoryBackend)
    yield world
    backends.unregister("memory")
