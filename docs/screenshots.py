#!/usr/bin/env python3
"""Text screenshots of wfctl in a real terminal (tmux) against the live example app.

    python docs/screenshots.py            # writes docs/screenshots/*.txt

Starts examples/workflow-sdk-app on 127.0.0.1 (free port, temp data dir), starts a few runs, then runs
`wfctl dashboard`, `wfctl tail --live` and `wfctl get` inside a detached tmux session of 100x32 and saves
`tmux capture-pane` text. Needs node/npm (the app) and tmux. Everything is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.wfapp import WorkflowApp, wait_until  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SESSION = f"wfctl-shots-{os.getpid()}"
WIDTH, HEIGHT = 100, 40


def tmux(*args: str, check: bool = True) -> str:
    return subprocess.run(["tmux", *args], check=check, capture_output=True, text=True).stdout


def capture() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def run_in_pane(command: str, env: dict[str, str]) -> None:
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    tmux("send-keys", "-t", SESSION, f"clear; env {exports} {command}", "Enter")


def prompt_back() -> bool:
    lines = [line for line in capture().splitlines() if line.strip()]
    return bool(lines) and lines[-1].strip() == "$"


def save(name: str, text: str) -> None:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    (OUT / f"{name}.txt").write_text("\n".join(lines) + "\n")
    print(f"saved docs/screenshots/{name}.txt ({len(lines)} lines)")


def main() -> None:
    if not shutil.which("tmux"):
        raise SystemExit("tmux is required (apt-get install tmux)")
    OUT.mkdir(parents=True, exist_ok=True)
    wfctl = shutil.which("wfctl") or f"{sys.executable} -m wfctl.cli"
    data = Path(tempfile.mkdtemp(prefix="wfctl-shots-")) / ".workflow-data"
    app = WorkflowApp()
    with app.start(data_dir=data) as server:
        env = {
            "WFCTL_CONFIG": "/nonexistent.toml",
            "WORKFLOW_LOCAL_DATA_DIR": str(data),
            "TERM": "xterm-256color",
            "WFCTL_APP_URL": server.url,
        }
        ids = [
            server.start_run("demoWorkflow", ["Ada", "1h"]),
            server.start_run("failingWorkflow", ["oops"]),
            server.start_run("approvalWorkflow", ["doc1"]),
        ]
        for rid in ids:
            server.wait_for_status(rid, ("running", "failed", "completed"), timeout=30)
        tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), "bash --norc --noprofile")
        try:
            tmux("send-keys", "-t", SESSION, "export PS1='$ '", "Enter")
            # Dashboard: start it, then start runs so status changes are highlighted.
            run_in_pane(f"{wfctl} dashboard --interval 0.5", env)
            wait_until(lambda: "Recent runs" in capture(), timeout=20)
            ticker = server.start_run("tickerWorkflow", [6, 400])
            wait_until(lambda: "tickerWorkflow" in capture(), timeout=20)
            save("dashboard", capture())
            tmux("send-keys", "-t", SESSION, "q")
            wait_until(lambda: "Recent runs" not in capture(), timeout=10)
            # Live tail of a run that writes as it goes.
            run_in_pane(f"{wfctl} tail {ticker} --live", env)
            wait_until(lambda: "run_completed" in capture() and prompt_back(), timeout=30)
            save("tail-live", capture())
            run_in_pane(f"{wfctl} tail {ticker} --stream", env)
            wait_until(lambda: "[5]" in capture() and prompt_back(), timeout=20)
            save("tail-stream", capture())
            run_in_pane(f"{wfctl} get {ids[0]}", env)
            wait_until(lambda: "Sleeps" in capture() and prompt_back(), timeout=20)
            save("get", capture())
            run_in_pane(f"{wfctl} list", env)
            wait_until(lambda: "RUN ID" in capture() and prompt_back(), timeout=20)
            save("list", capture())
        finally:
            tmux("kill-session", "-t", SESSION, check=False)


if __name__ == "__main__":
    main()
