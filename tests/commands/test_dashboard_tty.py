"""The interactive dashboard in a real pseudo-terminal: it starts, shows counts change, quits on `q` with exit 0,
and leaves the terminal as it found it. Once on the local world and once on a network backend (the
workflow-runs v1 contract fake over real HTTP)."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-B]|\x1b[=>]")


class Terminal:
    """wfctl running on the slave side of a pty we hold; ``screen`` is everything it printed, ANSI removed."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        self.before = termios.tcgetattr(self.slave)
        full_env = {
            **os.environ,
            **env,
            "TERM": "xterm-256color",
            "COLUMNS": "100",
            "LINES": "40",
            "PYTHONPATH": str(ROOT),
        }
        full_env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wfctl.cli", *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env=full_env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.raw = b""

    def read(self) -> None:
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.raw += chunk

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def wait_for(self, *patterns: str, timeout: float = 30.0) -> None:
        """Read until every pattern is on the screen: a frame arrives in pieces, so what a test checks together
        is waited for together."""
        deadline = time.monotonic() + timeout
        regexes = [re.compile(p) for p in patterns]
        while not all(r.search(self.screen) for r in regexes):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no {patterns!r} on the screen (exit {self.proc.poll()}):\n{self.screen[-3000:]}")
            select.select([self.master], [], [], 0.05)
            self.read()

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"still running after q:\n{self.screen[-2000:]}")
            select.select([self.master], [], [], 0.05)
            self.read()
        self.read()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def count_line(status: str, count: int) -> str:
    return rf"{status}\s+[█▏▎▍▌▋▊▉ ]*\s*{count}\b"


def check_quits_cleanly(term: Terminal) -> None:
    term.press("q")
    assert term.wait_exit() == 0
    raw = term.raw.decode("utf-8", "replace")
    assert "\x1b[?1049h" in raw and raw.rfind("\x1b[?1049l") > raw.rfind("\x1b[?1049h")  # alternate screen left
    assert raw.rfind("\x1b[?25h") > raw.rfind("\x1b[?25l")  # cursor shown again
    assert termios.tcgetattr(term.slave) == term.before  # echo and line mode restored
    assert "Traceback" not in term.screen


def test_dashboard_on_the_local_world(tmp_path, isolated_env):
    from tests.backends.workflow_sdk.test_local import RUN, reference_world

    data = tmp_path / ".workflow-data"
    reference_world(data)
    term = Terminal(
        ["dashboard", "--interval", "0.2s"],
        {"WORKFLOW_LOCAL_DATA_DIR": str(data), "WFCTL_CONFIG": str(isolated_env / "config.toml")},
    )
    try:
        # suspended in its sleep (docs/architecture.md, "Waiting runs"): the counts and the recent-runs row
        term.wait_for(count_line("waiting", 1), count_line("running", 0), re.escape("◑ waiting (sleep)"))
        assert not re.search(count_line("completed", 1), term.screen)
        run_file = data / "runs" / f"{RUN}.json"
        record = json.loads(run_file.read_text())
        record.update(status="completed", completedAt="2026-11-22T05:00:00.000Z")
        tmp = run_file.with_suffix(".tmp.x")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, run_file)
        term.wait_for(count_line("completed", 1))
        check_quits_cleanly(term)
    finally:
        term.close()


def test_dashboard_on_workflow_runs_v1(isolated_env):
    from tests.doubles.workflow_runs import FakeWorkflowRuns

    fake = FakeWorkflowRuns(envelope="data")
    try:
        run_id = fake.add_run(status="running")
        term = Terminal(
            ["--backend", "workflow-runs-v1", "--url", fake.url, "dashboard", "--interval", "0.2s"],
            {"WFCTL_TOKEN": fake.token, "WFCTL_CONFIG": str(isolated_env / "config.toml")},
        )
        try:
            term.wait_for(count_line("running", 1))
            assert not re.search(count_line("failed", 1), term.screen)
            fake.set_status(run_id, "failed")
            term.wait_for(count_line("failed", 1))
            check_quits_cleanly(term)
        finally:
            term.close()
    finally:
        fake.stop()


@pytest.fixture(autouse=True)
def _no_color_for_children(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
