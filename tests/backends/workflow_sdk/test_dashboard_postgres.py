"""The dashboard on the Workflow SDK Postgres world (issue 20 point 3, on every backend that has a dashboard),
against a real PostgreSQL bootstrapped by the world itself (``world_db``): "Latest failures" is its own query, so a
failure older than every recent run is there, with its message; recent runs are newest first; the counts.

Rows are written as ``@workflow/world-postgres`` 4.x writes them (the recorded world's rows, see test_postgres.py):
CBOR columns (``input_cbor`` a tag-64 devalue payload, ``execution_context_cbor``, ``error_cbor`` the run's
``{message, stack}``), naive UTC timestamps, ``spec_version`` '3', run ids ULIDs of their creation time, and the
run's lifecycle events.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

psycopg = pytest.importorskip("psycopg")
cbor2 = pytest.importorskip("cbor2")

from tests.backends.dashboard_doc import counts  # noqa: E402
from wfctl.model import iso  # noqa: E402

PG_ENV = {"WFCTL_WORLD": "postgres"}
DEMO = "workflow//./workflows/demo//demoWorkflow"
FAILING = "workflow//./workflows/demo//failingWorkflow"
RUNNING = 12
RECENT = 5
STACK = "FatalError: {}\n    at validate (file:///app/.output/server/index.mjs:102:8)"


def ulid(ms: int, rand: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (ms << 80) | rand
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class World:
    """Writes runs into a bootstrapped Postgres world as the world writes them."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.rand = random.Random(20)

    def run(self, created: datetime, status: str, *, name: str = DEMO, message: str | None = None) -> str:
        ms = int(created.timestamp() * 1000)
        run_id = "wrun_" + ulid(ms, self.rand.getrandbits(79))
        naive = created.astimezone(timezone.utc).replace(tzinfo=None)
        started = naive + timedelta(milliseconds=40)
        done = naive + timedelta(seconds=2) if status in ("completed", "failed", "cancelled") else None
        context = cbor2.dumps({"traceCarrier": {}, "workflowCoreVersion": "4.8.9", "features": {"encryption": False}})
        payload_in = cbor2.dumps(cbor2.CBORTag(64, b'devl[[1],"Ada"]'))
        error = cbor2.dumps({"message": message, "stack": STACK.format(message)}) if status == "failed" else None
        output = cbor2.dumps(cbor2.CBORTag(64, b"devl[1]")) if status == "completed" else None
        events: list[tuple[str, bytes | None, datetime]] = [
            ("run_created", cbor2.dumps({"deploymentId": "postgres", "workflowName": name}), naive),
            ("run_started", None, started),
        ]
        if done is not None:
            end = {"completed": "run_completed", "failed": "run_failed", "cancelled": "run_cancelled"}[status]
            body = {"error": {"message": message, "stack": STACK.format(message)}} if status == "failed" else None
            events.append((end, cbor2.dumps(body) if body else None, done))
        with psycopg.connect(self.dsn, autocommit=True) as conn, conn.transaction():
            conn.execute(
                """
                INSERT INTO workflow.workflow_runs (id, name, status, deployment_id, spec_version, input_cbor,
                    output_cbor, execution_context_cbor, error_cbor, created_at, updated_at, started_at, completed_at)
                VALUES (%s, %s, %s, 'postgres', '3', %s, %s, %s, %s, %s, %s, %s, %s)""",
                [run_id, name, status, payload_in, output, context, error, naive, done or started, started, done],
            )
            for n, (kind, data, at) in enumerate(events):
                conn.execute(
                    "INSERT INTO workflow.workflow_events (id, type, run_id, payload_cbor, created_at, spec_version) "
                    "VALUES (%s, %s, %s, %s, %s, 3)",
                    [
                        "wevt_" + ulid(int(at.replace(tzinfo=timezone.utc).timestamp() * 1000), n),
                        kind,
                        run_id,
                        data,
                        at,
                    ],
                )
        return run_id


def pg(cli, dsn: str, *args: str):
    return cli("--dsn", dsn, *args, env=PG_ENV)


@pytest.fixture
def world(world_db):
    """Two failed runs (with their messages) and a cancelled run, all older than ``RUNNING`` running runs written
    in shuffled order; a completed run of failingWorkflow, older still. Returns (dsn, the older failure's creation
    time, the failed ids oldest first, the cancelled id, the running ids oldest first)."""
    w = World(world_db)
    t0 = datetime.fromtimestamp(int(time.time()) - 3600, timezone.utc)
    w.run(t0 - timedelta(minutes=30), "completed", name=FAILING)
    failed = [
        w.run(t0, "failed", message="boom: bad input"),
        w.run(t0 + timedelta(seconds=30), "failed", name=FAILING, message="payment declined: card expired"),
    ]
    cancelled = w.run(t0 + timedelta(minutes=1), "cancelled")
    order = list(range(RUNNING))
    random.Random(20).shuffle(order)
    ids = {n: w.run(t0 + timedelta(minutes=10 + n), "running") for n in order}
    return world_db, t0, failed, cancelled, [ids[n] for n in range(RUNNING)]


def test_failures_beyond_the_recent_window_with_their_messages(cli, world):
    dsn, t0, failed, cancelled, running = world
    res = pg(cli, dsn, "dashboard", "--once", "--recent", str(RECENT), "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    doc = res.json()
    # recent runs: the newest first (createdAt, which is also the run ids' order), every one running
    assert [r["runId"] for r in doc["recent"]] == running[::-1][:RECENT]
    starts = [r["createdAt"] for r in doc["recent"]]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == RECENT
    assert {(r["status"], r["rawStatus"], r["waitingFor"]) for r in doc["recent"]} == {("running", "running", None)}
    # failures: both, found on their own, newest first, each with its message; not the cancelled run
    assert [(f["runId"], f["status"], f["workflowName"], f["error"]["message"]) for f in doc["failures"]] == [
        (failed[1], "failed", "failingWorkflow", "payment declined: card expired"),
        (failed[0], "failed", "demoWorkflow", "boom: bad input"),
    ]
    assert doc["failures"][1]["error"]["stack"] == STACK.format("boom: bad input")
    assert doc["failures"][1]["createdAt"] == iso(t0)
    # the counts
    assert doc["counts"] == counts(RUNNING, completed=1, failed=2, cancelled=1)
    assert (doc["total"], doc["workflow"], doc["capped"], doc["apart"]) == (RUNNING + 4, None, [], {})


def test_the_same_for_one_workflow(cli, world):
    dsn, t0, failed, cancelled, running = world
    for workflow in ("demoWorkflow", DEMO):
        res = pg(cli, dsn, "dashboard", "--once", "--workflow", workflow, "--recent", str(RECENT), "-o", "json")
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert [r["runId"] for r in doc["recent"]] == running[::-1][:RECENT]
        assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [(failed[0], "boom: bad input")]
        assert doc["counts"] == counts(RUNNING, failed=1, cancelled=1)
        assert (doc["total"], doc["workflow"]) == (RUNNING + 2, workflow)
    other = pg(cli, dsn, "dashboard", "--once", "--workflow", "failingWorkflow", "-o", "json")
    assert other.exit_code == 0, other.stderr
    doc = other.json()
    assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [
        (failed[1], "payment declined: card expired")
    ]
    assert [r["status"] for r in doc["recent"]] == ["failed", "completed"] and doc["total"] == 2


def test_the_table_shows_the_messages(cli, world):
    dsn, *_ = world
    res = pg(cli, dsn, "dashboard", "--once", "--recent", str(RECENT), "-o", "table")
    assert res.exit_code == 0, res.stderr
    failures_part = res.stdout.split("Latest failures", 1)[1]
    assert "payment declined: card expired" in failures_part and "boom: bad input" in failures_part
    assert "(no message)" not in failures_part


@pytest.mark.live
def test_the_official_cli_reads_the_same_runs_and_failures(cli, world):
    """The oracle: ``npx workflow inspect runs --backend @workflow/world-postgres`` on the same database lists the
    same newest runs in the same order, and the same failed runs with the same messages (so the rows above are
    the world's own format, and wfctl's recent runs and failures are what the world's own list says)."""
    from tests.doubles.wfapp import WorkflowApp

    dsn, t0, failed, cancelled, running = world
    app = WorkflowApp()
    env = {"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn}
    backend = ("--backend", "@workflow/world-postgres")
    doc = pg(cli, dsn, "dashboard", "--once", "--recent", str(RECENT), "-o", "json").json()
    theirs = app.inspect_json("runs", "--limit", str(RECENT), *backend, env=env)["data"]
    assert [r["runId"] for r in doc["recent"]] == [r["runId"] for r in theirs]
    assert [r["createdAt"] for r in doc["recent"]] == [r["createdAt"] for r in theirs]
    official = app.inspect_json("runs", "--status", "failed", *backend, env=env)["data"]
    assert [(f["runId"], f["error"]["message"], f["error"]["stack"]) for f in doc["failures"]] == [
        (r["runId"], r["error"]["message"], r["error"]["stack"]) for r in official
    ]
    assert [r["runId"] for r in official] == failed[::-1]
