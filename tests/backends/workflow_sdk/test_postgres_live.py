"""wfctl against the real fixture app running on the Workflow SDK Postgres world (examples/workflow-sdk-app).

The app (``examples/workflow-sdk-app``) runs with ``WORKFLOW_TARGET_WORLD=@workflow/world-postgres`` against a
database bootstrapped by ``npx --package=@workflow/world-postgres bootstrap`` on the test's own PostgreSQL.
wfctl then wakes a one-hour sleep (the app's graphile-worker picks the job up and the run completes), cancels a
sleeping run (its sleep timer later fires and does nothing), follows live output, and agrees with the official
CLI (``npx workflow inspect --backend @workflow/world-postgres --json``).

Run with: ``pytest tests/backends/workflow_sdk/test_postgres_live.py`` (needs PostgreSQL, node, the app).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from tests.doubles.pg_peer import PostgresServer, require_node_world
from tests.doubles.wfapp import WorkflowApp, node_available, wait_until

psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.live, pytest.mark.slow]

PG_ENV = {"WFCTL_WORLD": "postgres"}
BACKEND = ("--backend", "@workflow/world-postgres")


class Live:
    def __init__(self, server: Any, dsn: str):
        self.server = server
        self.dsn = dsn

    def wfctl(self, cli, *args: str, env: dict[str, str] | None = None):
        return cli("--dsn", self.dsn, *args, env={**PG_ENV, **(env or {})})

    def one(self, sql: str, params: Any = None) -> Any:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def status(self, run_id: str) -> str | None:
        return self.one("SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id])

    def wait_status(self, run_id: str, wanted: str, timeout: float = 60) -> None:
        wait_until(lambda: self.status(run_id) == wanted, timeout, message=f"{run_id} to be {wanted}")

    def wait_sleeping(self, run_id: str, timeout: float = 60) -> None:
        wait_until(
            lambda: self.one(
                "SELECT count(*) FROM workflow.workflow_waits WHERE run_id = %s AND status = 'waiting'", [run_id]
            ),
            timeout,
            message=f"{run_id} to sleep",
        )

    def inspect(self, *args: str) -> Any:
        """The official CLI against the same world."""
        return self.server.inspect_json(*args, *BACKEND)


@pytest.fixture(scope="module")
def live(pg_server: PostgresServer, world_template: str):
    require_node_world()
    if not node_available():
        pytest.skip("node and npm are needed to run the fixture app")
    name = f"live_{uuid.uuid4().hex[:10]}"
    pg_server.create_database(name, owner="world", template=world_template)
    dsn = pg_server.dsn(dbname=name)
    app = WorkflowApp()
    server = app.start(env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn})
    try:
        yield Live(server, dsn)
    finally:
        server.stop()
        try:
            pg_server.drop_database(name)
        except Exception:  # noqa: BLE001
            pass


def jsonl(result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_wake_a_one_hour_sleep_and_the_run_completes(cli, live):
    run_id = live.server.start_run("demoWorkflow", ["Ada", "1h"])
    live.wait_sleeping(run_id)
    before = live.wfctl(cli, "get", run_id, "-o", "json").json()
    assert (before["status"], before["rawStatus"]) == ("waiting", "running")  # suspended in its sleep
    assert [w["status"] for w in before["waits"]] == ["waiting"]
    assert before["waitingFor"]["kind"] == "sleep" and before["waitingFor"]["hint"] == f"wfctl wake {run_id}"

    woke = live.wfctl(cli, "wake", run_id, "-o", "json")
    assert woke.exit_code == 0, woke.stderr
    assert woke.json()["stoppedCount"] == 1 and woke.json()["delivered"] is True

    # the app's graphile worker takes the job and finishes the run well before the hour
    done = live.wfctl(cli, "status", run_id, "--wait", "--timeout", "60s", "--interval", "0.2")
    assert done.exit_code == 0, done.stdout + done.stderr
    run = live.wfctl(cli, "get", run_id, "-o", "json").json()
    assert run["status"] == "completed" and run["output"] == {"greeting": "Hello, Ada!", "length": 11}
    assert [s["stepName"] for s in run["steps"]] == ["greet", "finish"]
    events = jsonl(live.wfctl(cli, "tail", run_id, "-o", "jsonl"))
    types = [e["type"] for e in events if e["kind"] == "event"]
    assert types.index("wait_completed") < types.index("run_completed")
    assert types.count("wait_completed") == 1  # the app did not complete the sleep a second time
    chunks = jsonl(live.wfctl(cli, "tail", run_id, "--stream", "-o", "jsonl"))
    assert [c["data"] for c in chunks if c["kind"] == "chunk"] == [
        "hello Ada",
        "second chunk for Ada",
        "done: Hello, Ada!",
    ]
    official = live.inspect("run", run_id)
    assert official["status"] == "completed" and official["output"] == run["output"]


def test_cancel_a_sleeping_run(cli, live):
    run_id = live.server.start_run("demoWorkflow", ["Bo", "1h"])
    live.wait_sleeping(run_id)
    result = live.wfctl(cli, "cancel", run_id, "-y", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled"
    assert live.inspect("run", run_id)["status"] == "cancelled"  # the official CLI sees it too
    assert live.wfctl(cli, "status", run_id).exit_code == 11
    again = live.wfctl(cli, "cancel", run_id, "-y", "-o", "json")
    assert again.json()[0]["outcome"] == "already_completed"
    nothing = live.wfctl(cli, "wake", run_id, "-o", "json")
    assert nothing.json()["stoppedCount"] == 0


def test_a_cancelled_runs_sleep_timer_does_nothing(cli, live):
    """Cancel during a short sleep; when the world's delayed job for that sleep fires, the run stays cancelled."""
    run_id = live.server.start_run("demoWorkflow", ["Cy", "3s"])
    live.wait_sleeping(run_id)
    assert live.wfctl(cli, "cancel", run_id, "-y").exit_code == 0
    cancelled_at = live.one(
        "SELECT max(id) FROM workflow.workflow_events WHERE run_id = %s AND type = 'run_cancelled'", [run_id]
    )
    pending_job = (
        "SELECT count(*) FROM graphile_worker._private_jobs WHERE "
        "convert_from(decode(payload->>'data', 'base64'), 'UTF8') LIKE %s"
    )
    wait_until(lambda: live.one(pending_job, [f"%{run_id}%"]) == 0, 60, message="the sleep's job to run")
    assert live.status(run_id) == "cancelled"
    after = live.one(
        "SELECT array_agg(type ORDER BY id) FROM workflow.workflow_events WHERE run_id = %s AND id > %s",
        [run_id, cancelled_at],
    )
    assert not after  # no wait_completed, no step, no run_completed after the cancel
    # the app is unharmed: a new run still completes
    other = live.server.start_run("demoWorkflow", ["Di", "1s"])
    live.wait_status(other, "completed")


def test_list_and_get_agree_with_the_official_cli(cli, live):
    ids = {
        "sleeping": live.server.start_run("demoWorkflow", ["Ed", "1h"]),
        "failed": live.server.start_run("failingWorkflow", ["nope"]),
        "done": live.server.start_run("demoWorkflow", ["Flo", "1s"]),
    }
    live.wait_sleeping(ids["sleeping"])
    live.wait_status(ids["failed"], "failed")
    live.wait_status(ids["done"], "completed")

    ours = live.wfctl(cli, "list", "-o", "json", "--limit", "100").json()
    theirs = live.inspect("runs", "--limit", "100")
    assert [r["runId"] for r in ours["data"]] == [r["runId"] for r in theirs["data"]]  # same order (id desc)
    for mine, official in zip(ours["data"], theirs["data"], strict=False):
        assert mine["rawStatus"] == official["status"]  # the world's word (a sleeping run is waiting in status)
        assert mine["status"] == ("waiting" if mine["runId"] == ids["sleeping"] else official["status"])
        assert mine["workflowId"] == official["workflowName"]
        for key in ("createdAt", "startedAt", "completedAt", "updatedAt"):
            assert mine[key] == official.get(key), (mine["runId"], key)
        assert mine["extra"]["specVersion"] == official["specVersion"]
        assert mine["extra"]["deploymentId"] == official["deploymentId"]
        assert mine["extra"]["workflowCoreVersion"] == official.get("workflowCoreVersion")
    # the same page boundaries and cursor
    page = live.wfctl(cli, "list", "-o", "json", "--limit", "2").json()
    official_page = live.inspect("runs", "--limit", "2")
    assert [r["runId"] for r in page["data"]] == [r["runId"] for r in official_page["data"]]
    assert page["hasMore"] == official_page["hasMore"] and page["cursor"] == official_page["cursor"]

    for role in ("done", "failed"):
        mine = live.wfctl(cli, "get", ids[role], "-o", "json").json()
        official = live.inspect("run", ids[role])
        assert mine["status"] == official["status"] and mine["input"] == official["input"]
        assert mine["output"] == official.get("output")
        if role == "failed":
            assert mine["error"]["message"] == official["error"]["message"]
            assert mine["error"]["code"] == official["error"].get("code")
    run_id = ids["sleeping"]
    mine = live.wfctl(cli, "get", run_id, "-o", "json").json()
    steps = live.inspect("steps", "--runId", run_id)
    assert [(s["stepId"], s["status"], s["attempt"]) for s in mine["steps"]] == [
        (s["stepId"], s["status"], s["attempt"]) for s in steps
    ]
    sleeps = live.inspect("sleeps", "--runId", run_id)
    assert [(w["correlationId"], w["resumeAt"]) for w in mine["waits"]] == [
        (s["correlationId"], s["resumeAt"]) for s in sleeps
    ]
    events = live.inspect("events", "--runId", run_id, "--sort", "asc")
    tail = [e for e in jsonl(live.wfctl(cli, "tail", run_id, "-o", "jsonl")) if e["kind"] == "event"]
    assert [(e["offset"], e["type"], e["correlationId"], e["time"]) for e in tail] == [
        (e["eventId"], e["eventType"], e.get("correlationId"), e["createdAt"]) for e in events
    ]


def test_live_tail_follows_a_running_workflow(cli, live):
    closed = live.server.start_run("tickerWorkflow", [4, 300, True])
    result = live.wfctl(cli, "tail", closed, "--live", "--stream", "-o", "jsonl", "--interval", "0.2")
    lines = jsonl(result)
    assert [(c["index"], c["data"]["tick"]) for c in lines[:-1]] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] in ("running", "waiting", "completed")
    # the stream closed: the tail ends by the run's state then (12 while it still runs, like status)
    assert result.exit_code == (0 if lines[-1]["status"] == "completed" else 12), result.stderr

    open_stream = live.server.start_run("tickerWorkflow", [3, 300, False])  # never closed: ends with the run
    result = live.wfctl(cli, "tail", open_stream, "--live", "--stream", "-o", "jsonl", "--interval", "0.2")
    assert result.exit_code == 0, result.stderr
    lines = jsonl(result)
    assert [c["data"]["tick"] for c in lines[:-1]] == [0, 1, 2] and lines[-1]["status"] == "completed"

    events = live.wfctl(cli, "tail", closed, "--live", "-o", "jsonl", "--interval", "0.2")
    assert events.exit_code == 0
    kinds = [e.get("type") for e in jsonl(events)[:-1]]
    assert kinds[-1] == "run_completed" and kinds.count("step_completed") == 5


def test_live_tail_of_a_hook_waiting_run(cli, live):
    doc = f"doc-{uuid.uuid4().hex[:6]}"
    run_id = live.server.start_run("approvalWorkflow", [doc])
    wait_until(
        lambda: live.one("SELECT count(*) FROM workflow.workflow_hooks WHERE run_id = %s", [run_id]),
        60,
        message="the hook",
    )
    assert [h["token"] for h in live.wfctl(cli, "get", run_id, "-o", "json").json()["hooks"]] == [f"approval:{doc}"]
    timer = threading.Timer(1.0, lambda: live.server.resume_hook(f"approval:{doc}", {"approved": False}))
    timer.start()
    started = time.monotonic()
    try:
        result = live.wfctl(cli, "tail", run_id, "--live", "-o", "jsonl", "--interval", "0.2")
    finally:
        timer.join()
    assert result.exit_code == 0, result.stderr
    events = jsonl(result)
    types = [e.get("type") for e in events[:-1]]
    assert "hook_received" in types and types[-1] == "run_completed"
    assert events[-2]["data"]["output"] == f"{doc}: rejected"
    assert len({e["offset"] for e in events[:-1]}) == len(events) - 1
    assert time.monotonic() - started < 60
