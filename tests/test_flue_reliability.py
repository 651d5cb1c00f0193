"""Issue 5, point 4: ``wfctl tail --live -o jsonl`` on a Flue run whose server drops the connection every few
hundred events and restarts once: all 20,000 events arrive exactly once, in order, and the exit code matches
the run's final status.

wfctl runs as a real subprocess against the fake Flue server (tests/fakes/flue_server.py) over real HTTP. The
run emits its events over time (the ``burst`` workflow: batches of 40 log events every 20 ms), so the tail catches up
and then follows live; the server cuts a response once at least 250 events were served since the last cut
(bodies cut short, responses cut after their headers, SSE data events whose control never comes) and is
restarted once (stop, which aborts every open connection, then start on the same port) when 10,000 events
have been served. Synchronisation is by conditions with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fakes.flue_server import FakeFlue, format_offset

TOKEN = "reliability-token"
TOTAL = 20_000  # run_start + 19,998 logs + run_end
WFCTL = str(Path(sys.executable).with_name("wfctl"))


@pytest.mark.parametrize("mode,fail", [("long-poll", False), ("sse", True)], ids=["long-poll-completed",
                                                                                  "sse-failed"])
def test_live_tail_survives_drops_and_a_restart(tmp_path: Path, mode: str, fail: bool):
    assert os.path.exists(WFCTL), f"wfctl is not installed next to {sys.executable}"
    fake = FakeFlue(token=TOKEN, drop_every=250, long_poll_timeout=1.0, heartbeat=0.5)
    restarted = threading.Event()
    marks: dict[str, int] = {}
    restart_error: list[BaseException] = []
    proc = None
    try:
        run_id = fake.start_run("burst", {"count": TOTAL - 2, "batch": 40, "pauseMs": 20, "fail": fail})
        # the tail starts once the run is under way, so it catches up first and then follows
        fake.wait_until(lambda: len(fake.run(run_id).events) >= 500, timeout=30, message="500 events")
        out = (tmp_path / "out.jsonl").open("wb")
        err = (tmp_path / "err.txt").open("wb")
        args = [WFCTL, "--backend", "flue", "--url", fake.url, "tail", run_id, "--live", "-o", "jsonl"]
        if mode == "sse":
            args.append("--sse")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WFCTL_")}
        env.update(WFCTL_TOKEN=TOKEN, WFCTL_CONFIG=str(tmp_path / "config.toml"),
                   WFCTL_CACHE_DIR=str(tmp_path / "cache"))
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)

        def restart_midway() -> None:
            try:
                fake.wait_until(lambda: fake.events_served >= TOTAL // 2, timeout=60, message="half the events")
                marks["before"] = len(fake.requests)
                fake.restart()
                marks["after"] = len(fake.requests)
                restarted.set()
            except BaseException as exc:  # noqa: BLE001 - reported below
                restart_error.append(exc)

        restarter = threading.Thread(target=restart_midway, daemon=True)
        restarter.start()
        code = proc.wait(timeout=180)
        restarter.join(timeout=10)
        out.close()
        err.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        fake.close()

    stderr = (tmp_path / "err.txt").read_text(errors="replace")
    assert not restart_error, restart_error
    assert restarted.is_set(), "the server was never restarted"
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    events = [line for line in lines if line["kind"] == "event"]
    indexes = [e["index"] for e in events]
    assert len(indexes) == len(set(indexes)), "an event was printed twice"
    assert indexes == list(range(TOTAL)), "events missing or out of order"
    assert [e["offset"] for e in events[:3]] == [format_offset(i) for i in range(3)]
    assert events[-1]["type"] == "run_end" and events[-1]["data"]["isError"] is fail
    end = lines[-1]
    assert end["kind"] == "end" and end["status"] == ("failed" if fail else "completed")
    assert end["offset"] == format_offset(TOTAL - 1)
    assert code == (10 if fail else 0), stderr
    # the faults really happened while wfctl was following
    assert fake.drops >= 20, fake.drops
    live = [r for r in fake.requests_to(f"/runs/{run_id}") if ("live", mode) in r.query]
    assert live, "wfctl never followed the run live"
    assert len(fake.requests) > marks["after"], "wfctl never came back after the restart"
    assert "Traceback" not in stderr
