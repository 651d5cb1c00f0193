"""The Workflow SDK Postgres world backend against a real PostgreSQL (docs/architecture.md, "Postgres world").

Rows come from the world itself: the session records a database with the real fixture app running on
``@workflow/world-postgres`` (``pg_peer.record_world``) and every test works on a fresh copy of it. Cases the
current world no longer writes (legacy jsonb columns, a text ``error``, specVersion 1 runs, an old schema) are
inserted the way older worlds wrote them. The live-tail reconnect tests run their own server, which they
restart mid-tail.

Run with: ``pytest tests/backends/workflow_sdk/test_postgres.py`` (PostgreSQL from Debian packages, Node for the app).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.pg_peer import PostgresServer, require_postgres

psycopg = pytest.importorskip("psycopg")
cbor2 = pytest.importorskip("cbor2")

from psycopg.rows import dict_row  # noqa: E402

from wfctl.backends.base import TailRequest  # noqa: E402
from wfctl.backends.workflow_sdk.postgres import PROVEN_MIGRATIONS, PostgresWorldBackend  # noqa: E402
from wfctl.backends.workflow_sdk.versions import POSTGRES, refusal_hint, write_refusal  # noqa: E402
from wfctl.config import resolve  # noqa: E402
from wfctl.errors import UnavailableError  # noqa: E402
from wfctl.model import Event, iso  # noqa: E402

PG_ENV = {"WFCTL_WORLD": "postgres"}
MACHINE_DEMO = "workflow//./workflows/demo//demoWorkflow"


# -- helpers -----------------------------------------------------------------------------------------------


def pg(cli, dsn: str, *args: str, env: dict[str, str] | None = None):
    return cli("--dsn", dsn, *args, env={**PG_ENV, **(env or {})})


def rows(dsn: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def execute(dsn: str, sql: str, params: Any = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql, params)


def snapshot(dsn: str, run_id: str) -> dict[str, Any]:
    """Everything the world keeps about one run, plus the job queue: to prove a write changed nothing."""
    return {
        "run": rows(dsn, "SELECT * FROM workflow.workflow_runs WHERE id = %s", [run_id]),
        "events": rows(dsn, "SELECT * FROM workflow.workflow_events WHERE run_id = %s ORDER BY id", [run_id]),
        "waits": rows(dsn, "SELECT * FROM workflow.workflow_waits WHERE run_id = %s ORDER BY wait_id", [run_id]),
        "hooks": rows(dsn, "SELECT * FROM workflow.workflow_hooks WHERE run_id = %s ORDER BY hook_id", [run_id]),
        "jobs": rows(dsn, "SELECT id, key FROM graphile_worker.jobs ORDER BY id"),
    }


def backend(dsn: str, **profile: Any) -> PostgresWorldBackend:
    env = {"WFCTL_WORLD": "postgres", **{k: v for k, v in profile.pop("env", {}).items()}}
    prof = resolve(flags={"dsn": dsn, **profile}, env=env)
    return PostgresWorldBackend(prof)


def backend_env(env: dict[str, str], **flags: Any) -> PostgresWorldBackend:
    return PostgresWorldBackend(resolve(flags=flags, env={"WFCTL_WORLD": "postgres", **env}))


def u8(data: bytes) -> dict[str, str]:
    return {"__type": "Uint8Array", "data": base64.b64encode(data).decode("ascii")}


def ulid(ms: int, rand: int = 0) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (ms << 80) | rand
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def now_ms() -> int:
    return int(time.time() * 1000)


# -- reading what the real app wrote -------------------------------------------------------------------


def test_list_shows_every_run_newest_first_with_decoded_values(cli, recorded_db):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["hasMore"] is False and doc["cursor"] is None
    got = [r["runId"] for r in doc["data"]]
    assert got == sorted(ids.values(), reverse=True)  # ORDER BY id DESC, as the world pages
    by_id = {r["runId"]: r for r in doc["data"]}
    sleeping = by_id[ids["sleeping"]]
    # suspended in sleep('1h'): waiting, the world's word kept (docs/architecture.md, "Waiting runs")
    assert sleeping["status"] == "waiting" and sleeping["rawStatus"] == "running"
    [wait] = rows(dsn, "SELECT wait_id, resume_at FROM workflow.workflow_waits WHERE run_id = %s", [ids["sleeping"]])
    assert sleeping["waitingFor"] == {
        "kind": "sleep",
        "until": iso(wait["resume_at"].replace(tzinfo=timezone.utc)),
        "correlationId": wait["wait_id"].split("-", 1)[1],
        "token": None,
        "name": None,
        "hint": f"wfctl wake {ids['sleeping']}",
    }
    [hook] = rows(dsn, "SELECT hook_id FROM workflow.workflow_hooks WHERE run_id = %s", [ids["hook"]])
    assert (by_id[ids["hook"]]["status"], by_id[ids["hook"]]["waitingFor"]) == (
        "waiting",
        {
            "kind": "hook",
            "until": None,
            "correlationId": hook["hook_id"],
            "token": "approval:doc1",
            "name": None,
            "hint": 'resumeHook("approval:doc1", payload) in the app',
        },
    )
    assert {r["waitingFor"] is None for r in doc["data"] if r["runId"] not in (ids["sleeping"], ids["hook"])} == {True}
    assert sleeping["workflowName"] == "demoWorkflow" and sleeping["workflowId"] == MACHINE_DEMO
    assert sleeping["input"] == ["Ada", "1h"]
    assert sleeping["extra"]["specVersion"] == 3  # varchar '3' in workflow_runs
    assert sleeping["attributes"] is None  # 4.3.7 has no attributes column
    assert sleeping["extra"]["deploymentId"] and sleeping["extra"]["workflowCoreVersion"]
    assert sleeping["createdAt"].endswith("Z") and len(sleeping["createdAt"]) == 24
    failed = by_id[ids["failed"]]
    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "boom: bad input" and failed["error"]["code"] == "USER_ERROR"
    assert "FatalError" in failed["error"]["stack"]
    assert by_id[ids["completed"]]["output"] == {"greeting": "Hello, Cy!", "length": 10}
    assert by_id[ids["approved"]]["output"] == "doc2: approved by Dee"
    assert by_id[ids["cancelled"]]["status"] == "cancelled"
    # plain output (not a terminal): tab-separated
    plain = pg(cli, dsn, "list")
    assert plain.exit_code == 0 and f"{ids['sleeping']}\tdemoWorkflow\twaiting" in plain.stdout
    [line] = [line for line in plain.stdout.splitlines() if line.startswith(ids["sleeping"])]
    assert json.loads(line.split("\t")[6]) == sleeping["waitingFor"]  # a waiting run's row: one more cell


def test_list_pages_with_the_worlds_cursor(cli, recorded_db):
    dsn, ids = recorded_db
    everything = sorted(ids.values(), reverse=True)
    first = pg(cli, dsn, "list", "--limit", "3", "-o", "json")
    doc = first.json()
    assert [r["runId"] for r in doc["data"]] == everything[:3]
    assert doc["hasMore"] is True and doc["cursor"] == everything[2]  # the last run id of the page
    assert f"--cursor '{everything[2]}'" in first.stderr
    seen = [r["runId"] for r in doc["data"]]
    cursor = doc["cursor"]
    while cursor:
        page = pg(cli, dsn, "list", "--limit", "3", "--cursor", cursor, "-o", "json").json()
        seen += [r["runId"] for r in page["data"]]
        cursor = page["cursor"]
    assert seen == everything
    all_pages = pg(cli, dsn, "list", "--limit", "2", "--all", "-o", "id")
    assert all_pages.stdout.split() == everything
    asc = pg(cli, dsn, "list", "--sort", "asc", "--limit", "3", "-o", "json").json()
    assert [r["runId"] for r in asc["data"]] == sorted(ids.values())[:3]
    nxt = pg(cli, dsn, "list", "--sort", "asc", "--limit", "3", "--cursor", asc["cursor"], "-o", "json").json()
    assert [r["runId"] for r in nxt["data"]] == sorted(ids.values())[3:6]
    # a local-world cursor "<createdAt>|<runId>" works too; nonsense is a usage error
    local_style = pg(
        cli, dsn, "list", "--limit", "3", "--cursor", f"2026-01-01T00:00:00.000Z|{everything[2]}", "-o", "json"
    ).json()
    assert [r["runId"] for r in local_style["data"]] == everything[3:6]
    bad = pg(cli, dsn, "list", "--cursor", "nope")
    assert bad.exit_code == 2 and "invalid cursor" in bad.stderr


def test_list_filters(cli, recorded_db):
    dsn, ids = recorded_db

    def listed(*args: str) -> list[str]:
        result = pg(cli, dsn, "list", "-o", "id", *args)
        assert result.exit_code == 0, result.stderr
        return result.stdout.split()

    # running is the world's word for both: it still matches the waiting runs; waiting only those
    assert set(listed("--status", "running")) == {ids["sleeping"], ids["hook"]}
    assert set(listed("--status", "waiting")) == {ids["sleeping"], ids["hook"]}
    assert set(listed("--status", "failed", "--status", "cancelled")) == {ids["failed"], ids["cancelled"]}
    assert set(listed("--status", "waiting", "--status", "failed")) == {ids["sleeping"], ids["hook"], ids["failed"]}
    assert listed("--status", "waiting", "--workflow", "demoWorkflow") == [ids["sleeping"]]
    assert pg(cli, dsn, "list", "--status", "bogus").exit_code == 2
    demo = {ids["sleeping"], ids["completed"], ids["cancelled"]}
    assert set(listed("--workflow", "demoWorkflow")) == demo
    assert set(listed("--workflow", MACHINE_DEMO)) == demo
    assert listed("--workflow", "demo") == []
    assert set(listed("--workflow", "approvalWorkflow", "--status", "completed")) == {ids["approved"]}
    assert len(listed("--since", "1h")) == len(ids)
    assert listed("--until", "1h") == []
    assert listed("--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z") == []
    assert listed("--search", "BOOM") == [ids["failed"]]  # the error message (CBOR), case-insensitively
    assert set(listed("--search", "approval")) == {ids["hook"], ids["approved"]}
    assert listed("--search", "50%_off") == []  # LIKE metacharacters are literal


def test_list_filters_and_pages_in_sql(recorded_db, monkeypatch):
    dsn, ids = recorded_db
    statements: list[tuple[str, int]] = []
    original = PostgresWorldBackend._rows

    def spy(self, conn, sql, params=None):
        result = original(self, conn, sql, params)
        statements.append((sql, len(result)))
        return result

    monkeypatch.setattr(PostgresWorldBackend, "_rows", spy)
    from wfctl.model import ListQuery

    b = backend(dsn)
    page = b.list_runs(ListQuery(statuses=["completed"], workflow="demoWorkflow", limit=1))
    b.close()
    assert [r.runId for r in page.data] == [ids["completed"]] and page.hasMore is False
    listing = [
        (sql, n)
        for sql, n in statements
        if "FROM workflow.workflow_runs WHERE" in sql and "LIMIT" in sql and "ORDER BY id" in sql
    ]
    assert len(listing) == 1
    sql, returned = listing[0]
    assert "status IN" in sql and "name IN" in sql and returned <= 2  # limit + 1 rows, filtered by the server

    statements.clear()
    b = backend(dsn)
    counts = b.counts()
    b.close()
    assert [s for s, _ in statements if "GROUP BY" in s] and len(
        [s for s, _ in statements if "workflow_runs" in s]
    ) == 1
    assert counts.total == len(ids)
    assert counts.counts == {"pending": 0, "running": 0, "waiting": 2, "completed": 4, "failed": 1, "cancelled": 1}


def test_get_a_sleeping_run(cli, recorded_db):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "get", ids["sleeping"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert (run["status"], run["rawStatus"], run["input"]) == ("waiting", "running", ["Ada", "1h"])
    [step] = run["steps"]
    assert step["stepName"] == "greet" and step["status"] == "completed" and step["attempt"] == 1
    assert step["input"] == {"args": ["Ada"]} and step["output"]["greeting"] == "Hello, Ada!"
    assert step["error"] is None
    [wait] = run["waits"]
    assert wait["status"] == "waiting" and wait["correlationId"].startswith("wait_")
    resume = datetime.fromisoformat(wait["resumeAt"].replace("Z", "+00:00"))
    created = datetime.fromisoformat(run["createdAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < resume - created < timedelta(minutes=61)
    assert run["hooks"] == []
    [stream] = run["streams"]
    assert stream == {
        "name": ids["sleeping"].replace("wrun_", "strm_") + "_user",
        "namespace": None,
        "chunks": 2,
        "tailIndex": 1,
        "done": False,
    }
    # a bare ULID is accepted as a run id; the table view renders
    assert pg(cli, dsn, "get", ids["sleeping"][5:], "-o", "json").json()["runId"] == ids["sleeping"]
    table = pg(cli, dsn, "get", ids["sleeping"], "-o", "table")
    assert table.exit_code == 0 and "greet" in table.stdout


def test_get_hooks_failures_retries_and_streams(cli, recorded_db):
    dsn, ids = recorded_db
    hook = pg(cli, dsn, "get", ids["hook"], "-o", "json").json()
    [h] = hook["hooks"]
    assert h["token"] == "approval:doc1" and h["hookId"].startswith("hook_") and h["createdAt"]
    failed = pg(cli, dsn, "get", ids["failed"], "-o", "json").json()
    [step] = failed["steps"]
    assert step["status"] == "failed" and step["error"]["message"] == "boom: bad input"
    assert failed["waits"] == [] and failed["hooks"] == []  # terminal runs: none, as in the local world
    flaky = pg(cli, dsn, "get", ids["flaky"], "-o", "json").json()
    [step] = flaky["steps"]
    assert step["attempt"] == 2 and step["output"] == {"attempt": 2}
    assert step["error"] is None  # the earlier attempt's error is not shown for a completed step
    logs = pg(cli, dsn, "get", ids["logs"], "-o", "json").json()
    streams = {s["namespace"]: s for s in logs["streams"]}
    assert streams[None]["chunks"] == 1 and streams[None]["done"] is False
    assert streams["logs"]["chunks"] == 3 and streams["logs"]["done"] is True
    missing = pg(cli, dsn, "get", "wrun_01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.exit_code == 3 and "not found" in missing.stderr


def test_status_exit_codes_and_a_cheap_query(cli, recorded_db, monkeypatch):
    dsn, ids = recorded_db
    for role, code in (("completed", 0), ("failed", 10), ("cancelled", 11), ("sleeping", 12)):
        result = pg(cli, dsn, "status", ids[role])
        assert result.exit_code == code, (role, result.stdout, result.stderr)
    both = pg(cli, dsn, "status", ids["completed"], ids["failed"], "-o", "json")
    assert both.exit_code == 10 and [d["status"] for d in both.json()] == ["completed", "failed"]

    statements: list[str] = []
    original = PostgresWorldBackend._rows

    def spy(self, conn, sql, params=None):
        statements.append(sql)
        return original(self, conn, sql, params)

    monkeypatch.setattr(PostgresWorldBackend, "_rows", spy)
    b = backend(dsn)
    b._schema(b.conn)  # the one-off column introspection
    statements.clear()
    run = b.get_status(ids["failed"])
    assert run.status == "failed" and run.error.code == "USER_ERROR"
    assert len(statements) == 1 and "input_cbor" not in statements[0]  # one row, no payloads
    statements.clear()
    run = b.get_status(ids["sleeping"])  # a running run: its hooks and waits, then its busy steps (indexed)
    b.close()
    assert (run.status, run.rawStatus, run.waitingFor.kind) == ("waiting", "running", "sleep")
    assert len(statements) == 4 and "input_cbor" not in statements[0]
    assert all("run_id = ANY(%s)" in sql for sql in statements[1:])


def test_status_wait_follows_the_run(cli, recorded_db):
    dsn, ids = recorded_db
    run_id = ids["sleeping"]

    def complete() -> None:
        execute(
            dsn,
            "UPDATE workflow.workflow_runs SET status = 'completed', completed_at = now() AT TIME ZONE 'UTC' "
            "WHERE id = %s",
            [run_id],
        )

    timer = threading.Timer(0.5, complete)
    timer.start()
    try:
        result = pg(cli, dsn, "status", run_id, "--wait", "--interval", "0.1", "--timeout", "20s")
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.stderr
    timeout = pg(cli, dsn, "status", ids["hook"], "--wait", "--interval", "0.1", "--timeout", "0.3s")
    assert timeout.exit_code == 124 and "timed out" in timeout.stderr


def test_dashboard_once(cli, recorded_db):
    dsn, ids = recorded_db
    doc = pg(cli, dsn, "dashboard", "--once", "-o", "json").json()
    assert doc["total"] == len(ids) and doc["counts"]["waiting"] == 2 and doc["counts"]["completed"] == 4
    assert doc["counts"]["running"] == 0
    assert [r["runId"] for r in doc["recent"]] == sorted(ids.values(), reverse=True)[: len(doc["recent"])]
    only = pg(cli, dsn, "dashboard", "--once", "-o", "json", "--workflow", "demoWorkflow").json()
    assert only["total"] == 3 and only["counts"]["cancelled"] == 1 and only["workflow"] == "demoWorkflow"
    assert {r["workflowName"] for r in only["recent"]} == {"demoWorkflow"}


def test_dashboard_counts_stop_at_the_cap(cli, recorded_db, monkeypatch):
    """Counting is capped per status, so the query costs the same however large the table grows."""
    dsn, ids = recorded_db
    monkeypatch.setattr(PostgresWorldBackend, "COUNT_CAP", 2)
    doc = pg(cli, dsn, "dashboard", "--once", "-o", "json").json()
    assert doc["counts"]["completed"] == 2 and doc["capped"] == ["completed"]
    assert doc["counts"]["waiting"] == 2 and doc["counts"]["failed"] == 1
    plain = pg(cli, dsn, "dashboard", "--once").stdout
    assert "completed\t2+" in plain and "waiting\t2\n" in plain


# -- waiting runs (docs/architecture.md, "Waiting runs") ---------------------------------------------------


def test_waiting_runs_say_on_what_in_every_view(cli, recorded_db):
    dsn, ids = recorded_db
    sleeping, hook = ids["sleeping"], ids["hook"]
    status = pg(cli, dsn, "status", sleeping, hook, "-o", "json")
    assert status.exit_code == 12, status.stderr  # not finished: unchanged
    docs = status.json()
    assert [(d["status"], d["rawStatus"], d["waitingFor"]["kind"]) for d in docs] == [
        ("waiting", "running", "sleep"),
        ("waiting", "running", "hook"),
    ]
    assert docs[1]["waitingFor"]["token"] == "approval:doc1" and docs[1]["waitingFor"]["until"] is None
    compact = json.dumps(docs[1]["waitingFor"], separators=(",", ":"))
    plain = pg(cli, dsn, "status", hook, ids["completed"])
    assert (plain.exit_code, plain.stdout) == (12, f"{hook}\twaiting\t{compact}\n{ids['completed']}\tcompleted\n")
    fields = pg(cli, dsn, "status", hook, "--fields", "runId,status")
    assert fields.stdout == f"{hook}\twaiting\n"  # --fields chooses the columns
    get = pg(cli, dsn, "get", sleeping, "-o", "table")
    assert get.exit_code == 0, get.stderr
    lines = {line.strip("│ ").split("  ")[0]: line for line in get.stdout.splitlines()}
    until = docs[0]["waitingFor"]["until"]
    assert f"Waiting      sleep until {until}  (" in lines["Waiting"]
    assert f"Resume       wfctl wake {sleeping}" in lines["Resume"]
    assert "◑ waiting (running)" in lines["Status"]
    get = pg(cli, dsn, "get", hook, "-o", "table").stdout
    assert "Waiting      hook token approval:doc1 " in get
    assert 'Resume       resumeHook("approval:doc1", payload) in the app' in get
    table = pg(cli, dsn, "list", "-o", "table").stdout
    cells = {
        line.split()[0]: [cell.strip() for cell in line.split("   ")]
        for line in table.splitlines()
        if line.startswith("wrun_")
    }
    assert "◑ waiting (sleep)" in cells[sleeping] and "◑ waiting (hook)" in cells[hook]
    assert "UNTIL" in table.splitlines()[0]
    dashboard = pg(cli, dsn, "dashboard", "--once", "-o", "json").json()
    assert (dashboard["counts"]["running"], dashboard["counts"]["waiting"]) == (0, 2)
    recent = {r["runId"]: r["waitingFor"] for r in dashboard["recent"]}
    assert recent[sleeping] == docs[0]["waitingFor"] and recent[hook] == docs[1]["waitingFor"]


def test_a_run_with_a_step_in_flight_is_running_not_waiting(cli, recorded_db):
    """A pending sleep or a live hook makes a run waiting only when no step is pending or running: a step
    in flight (or due to retry) is work going on."""
    dsn, ids = recorded_db
    sleeping, hook = ids["sleeping"], ids["hook"]
    execute(
        dsn,
        "INSERT INTO workflow.workflow_steps (run_id, step_id, step_name, status, input, attempt, started_at) "
        "VALUES (%s, %s, 'step//./workflows/demo//greet', 'running', '[]'::jsonb, 1, now() AT TIME ZONE 'UTC')",
        [sleeping, "step_" + ulid(now_ms(), 7)],
    )
    status = pg(cli, dsn, "status", sleeping, "-o", "json")
    assert status.exit_code == 12 and (status.json()["status"], status.json()["waitingFor"]) == ("running", None)
    got = pg(cli, dsn, "get", sleeping, "-o", "json").json()
    assert (got["status"], got["waitingFor"]) == ("running", None) and got["waits"][0]["status"] == "waiting"

    def listed(*args: str) -> list[str]:
        return pg(cli, dsn, "list", "-o", "id", *args).stdout.split()

    assert listed("--status", "waiting") == [hook]
    assert set(listed("--status", "running")) == {sleeping, hook}
    counts = pg(cli, dsn, "dashboard", "--once", "-o", "json").json()["counts"]
    assert (counts["running"], counts["waiting"]) == (1, 1)


def test_wake_ends_the_wait_and_the_hint_follows_the_version_gate(cli, recorded_db):
    dsn, ids = recorded_db
    sleeping, hook = ids["sleeping"], ids["hook"]
    set_spec(dsn, sleeping, 7)  # a 5.0 run: wfctl does not wake it, so the hint does not say to
    set_spec(dsn, hook, 7)
    docs = pg(cli, dsn, "status", sleeping, hook, "-o", "json").json()
    assert [d["waitingFor"]["hint"] for d in docs] == [None, 'resumeHook("approval:doc1", payload) in the app']
    assert pg(cli, dsn, "get", sleeping, "-o", "json").json()["waitingFor"]["hint"] is None
    set_spec(dsn, sleeping, 3)
    assert pg(cli, dsn, "wake", sleeping, "-o", "json").exit_code == 0
    after = pg(cli, dsn, "status", sleeping, "-o", "json")
    assert after.exit_code == 12 and (after.json()["status"], after.json()["waitingFor"]) == ("running", None)
    assert pg(cli, dsn, "list", "-o", "id", "--status", "waiting").stdout.split() == [hook]


def test_waiting_on_a_schema_without_the_waits_table(cli, recorded_db, pg_server):
    """Before ``workflow_waits`` the sleeps are in the event log only: a wait_created without its
    wait_completed is pending, in get, status, list --status waiting and the counts alike."""
    dsn, ids = recorded_db
    [wait] = rows(dsn, "SELECT wait_id, resume_at FROM workflow.workflow_waits WHERE run_id = %s", [ids["sleeping"]])
    pg_server.execute("DROP TABLE workflow.workflow_waits;", dbname=dsn.rsplit("/", 1)[1])
    expected = {
        "kind": "sleep",
        "until": iso(wait["resume_at"].replace(tzinfo=timezone.utc)),
        "correlationId": wait["wait_id"].split("-", 1)[1],
        "token": None,
        "name": None,
        "hint": f"wfctl wake {ids['sleeping']}",
    }
    for args in (("get", ids["sleeping"], "-o", "json"), ("status", ids["sleeping"], "-o", "json")):
        assert pg(cli, dsn, *args).json()["waitingFor"] == expected, args
    assert set(pg(cli, dsn, "list", "-o", "id", "--status", "waiting").stdout.split()) == {
        ids["sleeping"],
        ids["hook"],
    }
    assert pg(cli, dsn, "dashboard", "--once", "-o", "json").json()["counts"]["waiting"] == 2


def test_waiting_counts_stop_at_the_cap_with_the_running_rows(cli, recorded_db, monkeypatch):
    """Running and waiting rows are counted from the same capped branch: past the cap both are lower bounds."""
    dsn, ids = recorded_db
    monkeypatch.setattr(PostgresWorldBackend, "COUNT_CAP", 1)
    doc = pg(cli, dsn, "dashboard", "--once", "-o", "json").json()
    assert doc["counts"]["running"] + doc["counts"]["waiting"] == 1
    assert {"running", "waiting"} <= set(doc["capped"])


# -- tail ------------------------------------------------------------------------------------------------


def tail_lines(result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_tail_events(cli, recorded_db):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "tail", ids["completed"], "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = tail_lines(result)
    events, end = lines[:-1], lines[-1]
    assert end == {"kind": "end", "runId": ids["completed"], "status": "completed", "offset": events[-1]["offset"]}
    offsets = [e["offset"] for e in events]
    assert offsets == sorted(offsets) and all(o.startswith("wevt_") for o in offsets)  # the world's order: by id
    assert [e["index"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert {
        "run_created",
        "run_started",
        "step_created",
        "step_completed",
        "wait_created",
        "wait_completed",
        "run_completed",
    } <= set(types)
    created = next(e for e in events if e["type"] == "run_created")
    assert created["data"]["input"] == ["Cy", "1s"] and created["data"]["workflowName"] == MACHINE_DEMO
    started = next(e for e in events if e["type"] == "run_started")
    assert started["data"] is None
    wait_created = next(e for e in events if e["type"] == "wait_created")
    assert wait_created["correlationId"].startswith("wait_") and wait_created["data"]["resumeAt"].endswith("Z")
    step_done = next(e for e in events if e["type"] == "step_completed")
    assert step_done["stepId"] == step_done["correlationId"] and step_done["data"]["result"]["greeting"]
    assert events[-1]["type"] == "run_completed" and events[-1]["data"]["output"] == {
        "greeting": "Hello, Cy!",
        "length": 10,
    }
    # filters: --type (globs), --last, --offset
    steps = tail_lines(pg(cli, dsn, "tail", ids["completed"], "-o", "jsonl", "--type", "step_*"))[:-1]
    assert steps and all(e["type"].startswith("step_") for e in steps)
    last = tail_lines(pg(cli, dsn, "tail", ids["completed"], "-o", "jsonl", "--last", "2"))[:-1]
    assert [e["offset"] for e in last] == offsets[-2:]
    resumed = tail_lines(pg(cli, dsn, "tail", ids["completed"], "-o", "jsonl", "--offset", offsets[2]))[:-1]
    assert [e["offset"] for e in resumed] == offsets[3:] and resumed[0]["index"] == 3
    failed = pg(cli, dsn, "tail", ids["failed"], "-o", "jsonl")
    assert failed.exit_code == 10
    assert tail_lines(failed)[-2]["data"]["errorCode"] == "USER_ERROR"
    plain = pg(cli, dsn, "tail", ids["completed"])
    assert "\tstep_completed\tgreet\t" in plain.stdout


def test_tail_stream(cli, recorded_db):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "tail", ids["sleeping"], "--stream", "-o", "jsonl")
    assert result.exit_code == 12, result.stderr  # the run has not finished: 12, like status
    lines = tail_lines(result)
    assert [(c["index"], c["data"]) for c in lines[:-1]] == [(0, "hello Ada"), (1, "second chunk for Ada")]
    assert all(c["offset"].startswith("chnk_") for c in lines[:-1])
    logs = tail_lines(pg(cli, dsn, "tail", ids["logs"], "--stream=logs", "-o", "jsonl"))
    assert [c["data"]["message"] for c in logs[:-1]] == ["job1 started", "job1 is slow", "job1 finished"]
    last = tail_lines(pg(cli, dsn, "tail", ids["logs"], "--stream=logs", "--start-index", "-1", "-o", "jsonl"))
    assert [c["index"] for c in last[:-1]] == [2]
    resumed = tail_lines(
        pg(cli, dsn, "tail", ids["logs"], "--stream=logs", "--offset", logs[0]["offset"], "-o", "jsonl")
    )
    assert [c["data"]["message"] for c in resumed[:-1]] == ["job1 is slow", "job1 finished"]
    plain = pg(cli, dsn, "tail", ids["sleeping"], "--stream")
    assert plain.stdout.splitlines() == ["hello Ada", "second chunk for Ada"]
    nothing = pg(cli, dsn, "tail", ids["failed"], "--stream=nope", "-o", "jsonl")
    assert "has no stream" in nothing.stderr and tail_lines(nothing)[-1]["kind"] == "end"
    # a live tail of a terminal run's closed stream ends at its EOF
    live = pg(cli, dsn, "tail", ids["logs"], "--stream=logs", "--live", "-o", "jsonl", "--interval", "0.1")
    assert live.exit_code == 0 and len(tail_lines(live)) == 4


# -- the same output as the local world ------------------------------------------------------------------


def export_local_world(dsn: str, root: Path) -> None:
    """Write the database's runs as world-local's data directory (as in examples/workflow-sdk-demo), not with wfctl."""

    def plain(value: Any) -> Any:
        if value is cbor2.undefined:
            return None
        if isinstance(value, cbor2.CBORTag) and value.tag == 64:
            return u8(bytes(value.value))
        if isinstance(value, datetime):
            v = value.astimezone(timezone.utc)
            return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not cbor2.undefined}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def stamp(value: datetime | None) -> str | None:
        return plain(value.replace(tzinfo=timezone.utc)) if value else None

    def cb(data: Any) -> Any:
        return None if data is None else plain(cbor2.loads(bytes(data)))

    def write(path: Path, doc: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: v for k, v in doc.items() if v is not None}, indent=2))

    for r in rows(dsn, "SELECT * FROM workflow.workflow_runs"):
        write(
            root / "runs" / f"{r['id']}.json",
            {
                "runId": r["id"],
                "deploymentId": r["deployment_id"],
                "workflowName": r["name"],
                "specVersion": int(r["spec_version"]),
                "executionContext": cb(r["execution_context_cbor"]),
                "input": cb(r["input_cbor"]),
                "output": cb(r["output_cbor"]),
                "error": cb(r["error_cbor"]),
                "createdAt": stamp(r["created_at"]),
                "status": r["status"],
                "startedAt": stamp(r["started_at"]),
                "updatedAt": stamp(r["updated_at"]),
                "completedAt": stamp(r["completed_at"]),
            },
        )
    for e in rows(dsn, "SELECT * FROM workflow.workflow_events"):
        write(
            root / "events" / f"{e['run_id']}-{e['id']}.json",
            {
                "eventType": e["type"],
                "correlationId": e["correlation_id"],
                "specVersion": e["spec_version"],
                "eventData": cb(e["payload_cbor"]),
                "runId": e["run_id"],
                "eventId": e["id"],
                "createdAt": stamp(e["created_at"]),
            },
        )
    for s in rows(dsn, "SELECT * FROM workflow.workflow_steps"):
        write(
            root / "steps" / f"{s['run_id']}-{s['step_id']}.json",
            {
                "runId": s["run_id"],
                "stepId": s["step_id"],
                "stepName": s["step_name"],
                "status": s["status"],
                "input": cb(s["input_cbor"]),
                "output": cb(s["output_cbor"]),
                "error": cb(s["error_cbor"]),
                "attempt": s["attempt"],
                "startedAt": stamp(s["started_at"]),
                "completedAt": stamp(s["completed_at"]),
                "createdAt": stamp(s["created_at"]),
                "updatedAt": stamp(s["updated_at"]),
                "specVersion": s["spec_version"],
            },
        )
    for w in rows(dsn, "SELECT * FROM workflow.workflow_waits"):
        write(
            root / "waits" / f"{w['wait_id']}.json",
            {
                "waitId": w["wait_id"],
                "runId": w["run_id"],
                "status": w["status"],
                "resumeAt": stamp(w["resume_at"]),
                "completedAt": stamp(w["completed_at"]),
                "createdAt": stamp(w["created_at"]),
                "updatedAt": stamp(w["updated_at"]),
                "specVersion": w["spec_version"],
            },
        )
    for h in rows(dsn, "SELECT * FROM workflow.workflow_hooks"):
        write(
            root / "hooks" / f"{h['hook_id']}.json",
            {
                "runId": h["run_id"],
                "hookId": h["hook_id"],
                "token": h["token"],
                "ownerId": h["owner_id"],
                "projectId": h["project_id"],
                "environment": h["environment"],
                "createdAt": stamp(h["created_at"]),
                "specVersion": h["spec_version"],
                "isWebhook": h["is_webhook"],
            },
        )
    streams: dict[str, set[str]] = {}
    for c in rows(dsn, "SELECT * FROM workflow.workflow_stream_chunks"):
        path = root / "streams" / "chunks" / f"{c['stream_id']}-{c['id']}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([1 if c["eof"] else 0]) + bytes(c["data"]))
        streams.setdefault(c["run_id"], set()).add(c["stream_id"])
    for run_id, names in streams.items():
        write(root / "streams" / "runs" / f"{run_id}.json", {"streams": sorted(names)})


def test_same_output_as_the_local_world(cli, recorded_db, tmp_path):
    """Scripts see the same JSON from either world for the same logical runs."""
    dsn, ids = recorded_db
    data_dir = tmp_path / ".workflow-data"
    export_local_world(dsn, data_dir)

    def both(*args: str) -> tuple[Any, Any]:
        local = cli("--data-dir", str(data_dir), *args)
        postgres = pg(cli, dsn, *args)
        assert local.exit_code == postgres.exit_code, (args, local.stderr, postgres.stderr)
        return local.stdout, postgres.stdout

    local, postgres = both("list", "-o", "json", "--limit", "100")
    assert json.loads(postgres) == json.loads(local)
    for role, run_id in ids.items():
        local, postgres = both("get", run_id, "-o", "json")
        assert json.loads(postgres) == json.loads(local), role
        local, postgres = both("tail", run_id, "-o", "jsonl")
        assert postgres == local, role
        local, postgres = both("tail", run_id, "--stream", "-o", "jsonl")
        assert postgres == local, role
    local, postgres = both("tail", ids["logs"], "--stream=logs", "-o", "jsonl")
    assert postgres == local
    local, postgres = both("status", *ids.values(), "-o", "json")
    assert json.loads(postgres) == json.loads(local)
    for args in (
        ("--status", "running"),
        ("--status", "waiting"),
        ("--workflow", "demoWorkflow"),
        ("--search", "approval"),
    ):
        local, postgres = both("list", "-o", "json", *args)
        assert json.loads(postgres) == json.loads(local), args
    local, postgres = both("dashboard", "--once", "-o", "json")
    assert json.loads(postgres) == json.loads(local)


# -- cancel ----------------------------------------------------------------------------------------------


def test_cancel_writes_what_the_world_writes(cli, recorded_db):
    dsn, ids = recorded_db
    run_id = ids["sleeping"]
    before = snapshot(dsn, run_id)
    assert before["waits"]
    result = pg(cli, dsn, "cancel", run_id, "-y", "-o", "json", "--reason", "stuck")
    assert result.exit_code == 0, result.stderr
    [outcome] = result.json()
    assert outcome["outcome"] == "cancelled" and outcome["status"] == "cancelled"
    assert "not recorded" in outcome["message"]  # the world has no field for a reason
    after = snapshot(dsn, run_id)
    [run] = after["run"]
    assert run["status"] == "cancelled" and run["completed_at"] == run["updated_at"] and run["completed_at"]
    assert abs(run["completed_at"] - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)
    assert after["waits"] == [] and after["hooks"] == []
    new = after["events"][len(before["events"]) :]
    assert [e["type"] for e in new] == ["run_cancelled"]
    event = new[0]
    assert event["id"].startswith("wevt_") and event["correlation_id"] is None and event["payload_cbor"] is None
    assert event["payload"] is None and event["spec_version"] == 3 and event["created_at"] == run["completed_at"]
    assert after["jobs"] == before["jobs"]  # nothing is sent to the app
    # the world's own (the official CLI's) run_cancelled row for the recorded cancelled run has the same shape
    official = [e for e in snapshot(dsn, ids["cancelled"])["events"] if e["type"] == "run_cancelled"]
    assert [(e["correlation_id"], e["payload_cbor"], e["payload"], e["spec_version"]) for e in official] == [
        (None, None, None, 3)
    ]
    assert pg(cli, dsn, "status", run_id).exit_code == 11


def test_cancel_outcomes_and_already_finished_runs_untouched(cli, recorded_db):
    dsn, ids = recorded_db
    untouched = {r: snapshot(dsn, ids[r]) for r in ("completed", "failed", "cancelled")}
    result = pg(
        cli,
        dsn,
        "cancel",
        ids["hook"],
        ids["completed"],
        ids["failed"],
        ids["cancelled"],
        "wrun_01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "-y",
        "-o",
        "json",
    )
    assert result.exit_code == 7  # one not_found
    outcomes = {o["runId"]: o["outcome"] for o in result.json()}
    assert outcomes == {
        ids["hook"]: "cancelled",
        ids["completed"]: "already_completed",
        ids["failed"]: "already_completed",
        ids["cancelled"]: "already_completed",
        "wrun_01ZZZZZZZZZZZZZZZZZZZZZZZZ": "not_found",
    }
    for role, snap in untouched.items():
        assert snapshot(dsn, ids[role]) == snap, role  # already_completed writes nothing
    hook = snapshot(dsn, ids["hook"])
    assert hook["hooks"] == [] and hook["run"][0]["status"] == "cancelled"  # the hook token is free again


def test_cancel_by_filter_and_dry_run(cli, recorded_db):
    dsn, ids = recorded_db
    before = {r: snapshot(dsn, ids[r]) for r in ("sleeping", "hook")}
    dry = pg(cli, dsn, "cancel", "--status", "running", "--dry-run", "-o", "json")
    assert dry.exit_code == 0 and {r["runId"] for r in dry.json()} == {ids["sleeping"], ids["hook"]}
    assert {r["outcome"] for r in dry.json()} == {"would_cancel"}
    assert {r: snapshot(dsn, ids[r]) for r in before} == before
    refused = pg(cli, dsn, "cancel", "--workflow", "demoWorkflow")  # not a terminal, no -y
    assert refused.exit_code == 2
    done = pg(cli, dsn, "cancel", "--workflow", "demoWorkflow", "-y", "-o", "json")
    assert done.exit_code == 0 and [o["runId"] for o in done.json()] == [ids["sleeping"]]
    assert snapshot(dsn, ids["hook"]) == before["hook"]


def test_cancel_is_one_transaction(cli, recorded_db, pg_server):
    """If the event insert fails, the run update and the deletions roll back with it."""
    dsn, ids = recorded_db
    dbname = dsn.rsplit("/", 1)[1]
    pg_server.execute(
        """
        CREATE FUNCTION workflow.refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON workflow.workflow_events FOR EACH ROW EXECUTE FUNCTION workflow.refuse();
    """,
        dbname=dbname,
    )
    before = snapshot(dsn, ids["sleeping"])
    result = pg(cli, dsn, "cancel", ids["sleeping"], "-y", "-o", "json")
    assert result.exit_code == 5
    [outcome] = result.json()
    assert outcome["outcome"] == "error" and "refused by test trigger" in outcome["message"]
    assert snapshot(dsn, ids["sleeping"]) == before


# -- wake ------------------------------------------------------------------------------------------------


def test_wake_writes_what_the_world_writes(cli, recorded_db):
    dsn, ids = recorded_db
    run_id = ids["sleeping"]
    before = snapshot(dsn, run_id)
    [wait] = before["waits"]
    corr = wait["wait_id"].split("-", 1)[1]
    dry = pg(cli, dsn, "wake", run_id, "--dry-run", "-o", "json")
    assert dry.exit_code == 0 and dry.json()["correlationIds"] == [corr]
    assert snapshot(dsn, run_id) == before  # --dry-run writes nothing

    result = pg(cli, dsn, "wake", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["stoppedCount"] == 1 and doc["correlationIds"] == [corr] and doc["delivered"] is True
    after = snapshot(dsn, run_id)
    [done] = after["waits"]
    assert done["status"] == "completed" and done["completed_at"] and done["updated_at"] == done["completed_at"]
    assert done["resume_at"] == wait["resume_at"]
    new = after["events"][len(before["events"]) :]
    assert [(e["type"], e["correlation_id"], e["spec_version"]) for e in new] == [("wait_completed", corr, 3)]
    created = next(e for e in before["events"] if e["type"] == "wait_created")
    # byte for byte the encoding cbor-x gives {resumeAt: Date} (the wait_created payload is the same map)
    assert bytes(new[0]["payload_cbor"]) == bytes(created["payload_cbor"])
    assert cbor2.loads(bytes(new[0]["payload_cbor"])) == {"resumeAt": wait["resume_at"].replace(tzinfo=timezone.utc)}
    assert new[0]["created_at"] == done["completed_at"]
    [job] = rows(
        dsn,
        "SELECT j.id, j.task_identifier, j.key, j.max_attempts, j.run_at, p.payload "
        "FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p USING (id) WHERE j.key = %s",
        [doc["message"].split("job ")[1].split(" ")[0]],
    )
    assert job["task_identifier"] == "workflow_flows" and job["max_attempts"] == 3
    payload = job["payload"]
    assert list(payload) == ["attempt", "messageId", "id", "data"]
    assert payload["attempt"] == 1 and payload["messageId"] == job["key"] and payload["messageId"].startswith("msg_")
    assert payload["id"] == MACHINE_DEMO
    assert base64.b64decode(payload["data"]) == json.dumps({"runId": run_id}, separators=(",", ":")).encode()
    assert job["run_at"] <= datetime.now(timezone.utc) + timedelta(seconds=5)  # runs now, not at resumeAt
    # the world's own sleep job for this run is left alone (it no-ops later)
    assert len(after["jobs"]) == len(before["jobs"]) + 1
    again = pg(cli, dsn, "wake", run_id, "-o", "json")
    assert again.json()["stoppedCount"] == 0 and snapshot(dsn, run_id) == after


def test_wake_outcomes(cli, recorded_db):
    dsn, ids = recorded_db
    unknown = pg(cli, dsn, "wake", ids["sleeping"], "--correlation-id", "wait_01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert unknown.exit_code == 3 and "no sleep" in unknown.stderr
    finished = pg(cli, dsn, "wake", ids["completed"], "-o", "json")
    assert finished.exit_code == 0 and finished.json()["stoppedCount"] == 0
    nothing = pg(cli, dsn, "wake", ids["hook"], "-o", "json")
    assert nothing.exit_code == 0 and nothing.json()["stoppedCount"] == 0
    missing = pg(cli, dsn, "wake", "wrun_01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.exit_code == 3


def test_wake_job_prefix(cli, recorded_db, config_file):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "wake", ids["sleeping"], "-o", "json", env={"WORKFLOW_POSTGRES_JOB_PREFIX": "acme_"})
    assert result.exit_code == 0, result.stderr
    assert rows(dsn, "SELECT task_identifier FROM graphile_worker.jobs ORDER BY id DESC LIMIT 1") == [
        {"task_identifier": "acme_flows"}
    ]
    # a profile's job_prefix wins over the environment variable
    config_file.write_text(
        f'[profiles.pg]\nbackend = "workflow-sdk"\nworld = "postgres"\ndsn = "{dsn}"\njob_prefix = "team_"\n'
    )
    b = PostgresWorldBackend(
        resolve(profile="pg", env={"WFCTL_CONFIG": str(config_file), "WORKFLOW_POSTGRES_JOB_PREFIX": "acme_"})
    )
    assert b.job_prefix == "team_"
    assert backend_env({"WORKFLOW_POSTGRES_JOB_PREFIX": "acme_"}, dsn=dsn).job_prefix == "acme_"
    assert backend_env({}, dsn=dsn).job_prefix == "workflow_"


def test_wake_is_one_transaction(cli, recorded_db, pg_server):
    """Without graphile-worker the job cannot be added: the waits and events roll back too."""
    dsn, ids = recorded_db
    pg_server.execute("DROP SCHEMA graphile_worker CASCADE", dbname=dsn.rsplit("/", 1)[1])
    before = snapshot_no_jobs(dsn, ids["sleeping"])
    result = pg(cli, dsn, "wake", ids["sleeping"])
    assert result.exit_code == 5
    assert "graphile-worker" in result.stderr and "nothing was changed" in result.stderr
    assert snapshot_no_jobs(dsn, ids["sleeping"]) == before


def snapshot_no_jobs(dsn: str, run_id: str) -> dict[str, Any]:
    return {k: v for k, v in snapshot_safe(dsn, run_id).items() if k != "jobs"}


def snapshot_safe(dsn: str, run_id: str) -> dict[str, Any]:
    return {
        "run": rows(dsn, "SELECT * FROM workflow.workflow_runs WHERE id = %s", [run_id]),
        "events": rows(dsn, "SELECT * FROM workflow.workflow_events WHERE run_id = %s ORDER BY id", [run_id]),
        "waits": rows(dsn, "SELECT * FROM workflow.workflow_waits WHERE run_id = %s ORDER BY wait_id", [run_id]),
    }


# -- legacy rows and old schemas ---------------------------------------------------------------------------


def insert_legacy_run(
    dsn: str, run_id: str, *, spec: str | None, status: str = "running", error: str | None = None
) -> None:
    """A run as world-postgres wrote it before CBOR columns: jsonb input/output, a text error."""
    execute(
        dsn,
        """
        INSERT INTO workflow.workflow_runs (id, name, status, deployment_id, spec_version, input, output,
                                            execution_context, error, created_at, updated_at, started_at)
        VALUES (%s, 'workflow//./workflows/legacy//oldWorkflow', %s, 'dpl_old', %s, %s, %s, %s, %s,
                now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')""",
        [
            run_id,
            status,
            spec,
            json.dumps(["x", 1]),
            json.dumps({"ok": True}) if status == "completed" else None,
            json.dumps({"workflowCoreVersion": "4.0.0"}),
            error,
        ],
    )


def test_legacy_columns(cli, world_db):
    dsn = world_db
    base = now_ms()
    plain_error = "wrun_" + ulid(base, 1)
    json_error = "wrun_" + ulid(base, 2)
    done = "wrun_" + ulid(base, 3)
    insert_legacy_run(dsn, plain_error, spec=None, status="failed", error="it broke")
    insert_legacy_run(
        dsn,
        json_error,
        spec="1",
        status="failed",
        error=json.dumps({"message": "bad", "stack": "Error: bad", "code": "USER_ERROR"}),
    )
    insert_legacy_run(dsn, done, spec="2", status="completed")
    execute(
        dsn,
        "INSERT INTO workflow.workflow_events (id, type, run_id, payload, created_at, spec_version) "
        "VALUES (%s, 'run_completed', %s, %s, now() AT TIME ZONE 'UTC', NULL)",
        ["wevt_" + ulid(base, 4), done, json.dumps({"output": {"ok": True}})],
    )
    listed = {r["runId"]: r for r in pg(cli, dsn, "list", "-o", "json").json()["data"]}
    assert listed[plain_error]["error"] == {"message": "it broke", "code": None, "stack": None}
    assert listed[plain_error]["extra"]["specVersion"] is None
    assert listed[json_error]["error"] == {"message": "bad", "code": "USER_ERROR", "stack": "Error: bad"}
    assert listed[json_error]["extra"]["specVersion"] == 1
    assert listed[done]["input"] == ["x", 1] and listed[done]["output"] == {"ok": True}
    assert listed[done]["extra"]["workflowCoreVersion"] == "4.0.0" and listed[done]["workflowName"] == "oldWorkflow"
    events = tail_lines(pg(cli, dsn, "tail", done, "-o", "jsonl"))
    assert events[0]["type"] == "run_completed" and events[0]["data"] == {"output": {"ok": True}}


def test_since_and_until_compare_created_at_even_for_client_minted_ids(cli, world_db):
    dsn = world_db
    early = "wrun_" + ulid(now_ms() - 2 * 3600 * 1000, 1)  # minted 2 h before creation (the world allows 24 h)
    insert_legacy_run(dsn, early, spec="3")  # created now
    assert pg(cli, dsn, "list", "-o", "id", "--since", "1h").stdout.split() == [early]
    assert pg(cli, dsn, "list", "-o", "id", "--since", "3h", "--until", "1h").stdout.split() == []


def test_legacy_runs_are_read_but_never_written(cli, world_db):
    """specVersion 1 (or none) and 2 runs: wfctl writes only into spec 3 on Postgres, so cancel and wake are
    refused (exit 6) before anything is touched; reads still show them."""
    dsn = world_db
    base = now_ms()
    for n, spec in enumerate((None, "1", "2"), start=1):
        run_id = "wrun_" + ulid(base, 10 * n)
        insert_legacy_run(dsn, run_id, spec=spec)
        execute(
            dsn,
            "INSERT INTO workflow.workflow_events (id, type, correlation_id, run_id, payload, created_at) "
            "VALUES (%s, 'wait_created', 'wait_A', %s, %s, now() AT TIME ZONE 'UTC')",
            ["wevt_" + ulid(base, 10 * n + 1), run_id, json.dumps({"resumeAt": "2030-01-01T00:00:00.000Z"})],
        )
        before = snapshot(dsn, run_id)
        shown = spec or "1"
        for command in ("cancel", "wake"):
            result = pg(cli, dsn, command, run_id, "-o", "json", *(["-y"] if command == "cancel" else []))
            assert result.exit_code == 6, (spec, command, result.stderr)
            error, hint = result.stderr.strip().splitlines()
            assert error.startswith(f"error: run {run_id} has specVersion {shown} (")
            assert error.endswith(
                f"wfctl {command}s Workflow SDK postgres-world runs of spec versions 3 only; nothing was changed"
            )
            assert hint == "hint: " + refusal_hint(POSTGRES)
            assert result.stdout == ""
            assert snapshot(dsn, run_id) == before, (spec, command)
        got = pg(cli, dsn, "get", run_id, "-o", "json")
        assert got.exit_code == 0 and got.json()["input"] == ["x", 1] and got.stderr == ""


def test_an_old_schema_without_newer_columns(cli, world_db, pg_server):
    dsn = world_db
    base = now_ms()
    run_id = "wrun_" + ulid(base, 1)
    insert_legacy_run(dsn, run_id, spec="2")
    pg_server.execute(
        """
        ALTER TABLE workflow.workflow_runs DROP COLUMN error_cbor, DROP COLUMN expired_at, DROP COLUMN spec_version;
        ALTER TABLE workflow.workflow_events DROP COLUMN spec_version;
        ALTER TABLE workflow.workflow_stream_chunks DROP COLUMN run_id;
        DROP TABLE workflow.workflow_waits;
    """,
        dbname=dsn.rsplit("/", 1)[1],
    )
    got = pg(cli, dsn, "get", run_id, "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert got.json()["input"] == ["x", 1] and got.json()["extra"]["specVersion"] is None
    assert pg(cli, dsn, "list", "-o", "id", "--search", "old").stdout.split() == [run_id]
    tail = pg(cli, dsn, "tail", run_id, "-o", "jsonl")
    assert tail.exit_code == 12 and [line["kind"] for line in tail_lines(tail)] == ["end"]  # still running


# -- the version gate: spec versions, the schema's migrations, 5.0 columns --------------------------------------
#
# No 5.0 world-postgres runs with workflow@5.0.0-beta.55 (README, "Workflow SDK versions"), so the runs and the schema
# here are the ones the real app wrote through @workflow/world-postgres 4.3.7, relabelled (a run's spec_version),
# extended (migrations rows the 4.3.7 package does not have) or ALTERed (the 5.0 columns) the way a newer world would
# leave them.

SPECS = (None, 1, 2, 3, 4, 5, 6, 7, 99)
PG_HINT = (
    "hint: upgrade wfctl, or use the app's own 'npx workflow cancel --backend @workflow/world-postgres', "
    "or the Wake up button of 'npx workflow web'"
)
UNKNOWN_MIGRATIONS = [("f" * 63 + str(n), 1790000000000 + n) for n in range(3)]


def set_spec(dsn: str, run_id: str, spec: int | None) -> None:
    """``workflow_runs.spec_version`` is varchar (NULL: a legacy run)."""
    execute(
        dsn,
        "UPDATE workflow.workflow_runs SET spec_version = %s WHERE id = %s",
        [None if spec is None else str(spec), run_id],
    )


def add_migrations(dsn: str, migrations: list[tuple[str, int]]) -> None:
    """Rows as drizzle's migrator records them (sha256 of the SQL file, the journal's ``when``)."""
    for digest, when in migrations:
        execute(
            dsn, "INSERT INTO workflow_drizzle.workflow_migrations (hash, created_at) VALUES (%s, %s)", [digest, when]
        )


def refusal_lines(result) -> tuple[str, str]:
    """A refused single write: exit 6, nothing on stdout, exactly an ``error:`` line and a ``hint:`` line."""
    assert result.exit_code == 6, result.stdout + result.stderr
    assert result.stdout == ""
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith("error: ") and hint.startswith("hint: ")
    return error, hint


def test_proven_migrations_are_what_the_worlds_bootstrap_records(world_db):
    """wfctl's list of the 4.3.7 migrations = the package's journal + SHA-256 of its SQL files = the rows its
    ``bootstrap`` wrote (12 migrations: 0000-0010 and 0015; 0011-0014 do not exist in 4.3.7)."""
    import hashlib

    from tests.doubles.pg_peer import APP_DIR

    recorded = rows(world_db, "SELECT hash, created_at FROM workflow_drizzle.workflow_migrations ORDER BY id")
    assert [(r["hash"], r["created_at"]) for r in recorded] == [(h, when) for _, when, h in PROVEN_MIGRATIONS]
    package = APP_DIR / "node_modules" / "@workflow" / "world-postgres"
    assert json.loads((package / "package.json").read_text())["version"] == "4.3.7"
    migrations = package / "src" / "drizzle" / "migrations"
    journal = json.loads((migrations / "meta" / "_journal.json").read_text())["entries"]
    assert [
        (e["tag"], e["when"], hashlib.sha256((migrations / f"{e['tag']}.sql").read_bytes()).hexdigest())
        for e in journal
    ] == list(PROVEN_MIGRATIONS)
    assert len(PROVEN_MIGRATIONS) == 12


@pytest.mark.parametrize("spec", SPECS)
def test_cancel_is_gated_by_spec_version(cli, recorded_db, spec):
    dsn, ids = recorded_db
    run_id = ids["sleeping"]
    set_spec(dsn, run_id, spec)
    before = snapshot(dsn, run_id)
    result = pg(cli, dsn, "cancel", run_id, "-y", "-o", "json")
    if spec in POSTGRES.writes:
        assert result.exit_code == 0, result.stderr
        assert result.json()[0]["outcome"] == "cancelled"
        after = snapshot(dsn, run_id)
        assert after["run"][0]["status"] == "cancelled" and after["waits"] == []
        assert [(e["type"], e["spec_version"]) for e in after["events"][len(before["events"]) :]] == [
            ("run_cancelled", spec)
        ]
        return
    error, hint = refusal_lines(result)
    assert error == "error: " + write_refusal(POSTGRES, run_id, spec, "cancel")
    if spec == 7:
        assert error == (
            f"error: run {run_id} has specVersion 7 (sealed log), wfctl cancels Workflow SDK "
            "postgres-world runs of spec versions 3 only; nothing was changed"
        )
    if spec == 99:
        assert "specVersion 99 (unknown to this wfctl), newer than wfctl knows;" in error
    assert hint == PG_HINT
    assert snapshot(dsn, run_id) == before  # row, events, waits, hooks and jobs untouched


@pytest.mark.parametrize("spec", SPECS)
def test_wake_is_gated_by_spec_version(cli, recorded_db, spec):
    dsn, ids = recorded_db
    run_id = ids["sleeping"]
    set_spec(dsn, run_id, spec)
    before = snapshot(dsn, run_id)
    if spec not in POSTGRES.writes:
        for extra in ([], ["--dry-run"]):  # a dry run predicts the refusal
            error, hint = refusal_lines(pg(cli, dsn, "wake", run_id, "-o", "json", *extra))
            assert error == "error: " + write_refusal(POSTGRES, run_id, spec, "wake")
            assert "wfctl wakes Workflow SDK postgres-world runs of spec versions 3 only" in error
            assert hint == PG_HINT
        assert snapshot(dsn, run_id) == before
        return
    result = pg(cli, dsn, "wake", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["stoppedCount"] == 1
    after = snapshot(dsn, run_id)
    assert len(after["jobs"]) == len(before["jobs"]) + 1
    assert [(e["type"], e["spec_version"]) for e in after["events"][len(before["events"]) :]] == [
        ("wait_completed", spec)
    ]


def test_bulk_cancel_refuses_some_runs_and_cancels_the_others(cli, recorded_db):
    dsn, ids = recorded_db
    set_spec(dsn, ids["hook"], 7)
    before = snapshot(dsn, ids["hook"])
    result = pg(cli, dsn, "cancel", "--status", "running", "-y", "-o", "json")
    assert result.exit_code == 7, result.stderr  # partly refused: never 0
    outcomes = {o["runId"]: o for o in result.json()}
    assert outcomes[ids["sleeping"]]["outcome"] == "cancelled"
    assert outcomes[ids["hook"]] == {
        "runId": ids["hook"],
        "outcome": "refused",
        "status": "running",
        "message": write_refusal(POSTGRES, ids["hook"], 7, "cancel"),
    }
    assert PG_HINT in result.stderr.splitlines()
    assert snapshot(dsn, ids["hook"]) == before
    assert snapshot(dsn, ids["sleeping"])["run"][0]["status"] == "cancelled"


def test_bulk_cancel_of_only_refused_runs_exits_6(cli, recorded_db):
    dsn, ids = recorded_db
    set_spec(dsn, ids["hook"], 6)
    set_spec(dsn, ids["sleeping"], None)
    before = {r: snapshot(dsn, ids[r]) for r in ("hook", "sleeping")}
    result = pg(cli, dsn, "cancel", ids["hook"], ids["sleeping"], ids["completed"], "-y", "-o", "json")
    outcomes = {o["runId"]: o["outcome"] for o in result.json()}
    assert outcomes == {ids["hook"]: "refused", ids["sleeping"]: "refused", ids["completed"]: "already_completed"}
    assert result.exit_code == 7  # a finished run is not refused: partly failed
    result = pg(cli, dsn, "cancel", ids["hook"], ids["sleeping"], "-y", "-o", "json")
    assert result.exit_code == 6 and {o["outcome"] for o in result.json()} == {"refused"}
    assert {r: snapshot(dsn, ids[r]) for r in before} == before


def test_a_newer_schema_refuses_writes_and_reads_with_one_warning(cli, recorded_db):
    """Migrations the 4.3.7 package does not have (a newer world-postgres migrated this database): every write
    is refused before anything is touched, naming what was found; reads go on with one warning."""
    from wfctl.model import iso

    dsn, ids = recorded_db
    add_migrations(dsn, UNKNOWN_MIGRATIONS)
    run_id = ids["sleeping"]
    before = snapshot(dsn, run_id)
    newest = (
        f"newest unknown, sha256 {'f' * 12}, created {iso(datetime.fromtimestamp(1790000000.002, tz=timezone.utc))}"
    )
    for command, done in (("cancel", "cancelled"), ("wake", "woken")):
        error, hint = refusal_lines(
            pg(cli, dsn, command, run_id, "-y", "-o", "json")
            if command == "cancel"
            else pg(cli, dsn, command, run_id, "-o", "json")
        )
        assert error == (
            f"error: run {run_id} was not {done}: the database schema has 15 migrations (3 unknown "
            f"to wfctl, {newest}), wfctl writes into the 12 of @workflow/world-postgres 4.3.7 only; "
            "nothing was changed"
        )
        assert hint == PG_HINT
    assert snapshot(dsn, run_id) == before
    # bulk: every run refused (the finished ones are already_completed), exit 6
    bulk = pg(cli, dsn, "cancel", "--status", "running", "-y", "-o", "json")
    assert bulk.exit_code == 6 and {o["outcome"] for o in bulk.json()} == {"refused"}
    assert snapshot(dsn, run_id) == before
    warning = (
        f"warning: the database schema has 15 migrations, 3 of them unknown to wfctl (newer than "
        f"@workflow/world-postgres 4.3.7; {newest}): showing what wfctl can read; cancel and wake are "
        "refused; upgrade wfctl"
    )
    assert [line for line in bulk.stderr.splitlines() if line.startswith("warning:")] == [warning]
    for args in (
        ["list", "-o", "json"],
        ["get", run_id, "-o", "json"],
        ["status", run_id],
        ["tail", run_id, "-o", "jsonl"],
        ["dashboard", "--once", "-o", "json"],
    ):
        result = pg(cli, dsn, *args)
        assert result.exit_code == (12 if args[0] in ("status", "tail") else 0), (args, result.stderr)
        assert result.stdout and result.stderr.splitlines() == [warning], args
    doctor = pg(cli, dsn, "config", "doctor", "-o", "json")
    checks = {c["name"]: c for c in doctor.json()}
    assert doctor.exit_code == 5 and not checks["migrations"]["ok"]
    assert checks["migrations"]["detail"].startswith(
        "15 migrations, 3 of them unknown to wfctl (newer than @workflow/world-postgres 4.3.7;"
    )
    assert "cancel and wake are refused (reads go on)" in checks["migrations"]["detail"]
    assert doctor.stderr == ""


def test_an_older_schema_refuses_writes_without_a_read_warning(cli, recorded_db):
    dsn, ids = recorded_db
    execute(dsn, "DELETE FROM workflow_drizzle.workflow_migrations WHERE hash = %s", [PROVEN_MIGRATIONS[-1][2]])
    run_id = ids["sleeping"]
    before = snapshot(dsn, run_id)
    error, hint = refusal_lines(pg(cli, dsn, "cancel", run_id, "-y"))
    assert error == (
        f"error: run {run_id} was not cancelled: the database schema has 11 of the 12 migrations of "
        "@workflow/world-postgres 4.3.7 (an older world-postgres, missing "
        "0015_move_enums_to_workflow_schema); wfctl writes into the 12 of @workflow/world-postgres "
        "4.3.7 only; nothing was changed"
    )
    assert hint.startswith("hint: upgrade the app to @workflow/world-postgres 4.3.7 and run its bootstrap")
    assert snapshot(dsn, run_id) == before
    listed = pg(cli, dsn, "list", "-o", "id")
    assert listed.exit_code == 0 and listed.stderr == ""


def test_no_migrations_table_refuses_writes(cli, recorded_db):
    """Without drizzle's table wfctl cannot tell the schema's version: refused (the query runs in a savepoint,
    so its failure cannot break anything else)."""
    dsn, ids = recorded_db
    execute(dsn, "DROP SCHEMA workflow_drizzle CASCADE")
    run_id = ids["sleeping"]
    before = snapshot(dsn, run_id)
    for args in (["cancel", run_id, "-y"], ["wake", run_id]):
        error, hint = refusal_lines(pg(cli, dsn, *args))
        assert "wfctl cannot tell the database schema's version (workflow_drizzle.workflow_migrations: " in error
        assert "does not exist" in error and error.endswith("nothing was changed")
        assert hint.startswith("hint: give the DSN's role SELECT on workflow_drizzle.workflow_migrations")
    assert snapshot(dsn, run_id) == before
    assert pg(cli, dsn, "get", run_id, "-o", "json").exit_code == 0
    doctor = pg(cli, dsn, "config", "doctor", "-o", "json")
    checks = {c["name"]: c for c in doctor.json()}
    assert doctor.exit_code == 5 and not checks["migrations"]["ok"] and "unreadable" in checks["migrations"]["detail"]


def test_5_0_columns_are_read_when_present(cli, recorded_db, pg_server):
    """world-postgres 5.0 adds ``error_code``, ``attributes``, ``encryption_public_key`` (runs) and ``is_system``
    (hooks) (README, "Workflow SDK versions"). No published 5.0 world-postgres runs with workflow@5.0.0-beta.55, so
    this is the database the real 4.3.7 app recorded, ALTERed to add those columns with the types the 5.0
    migrations declare, and filled with plausible 5.0 values: an error serialized as devalue bytes (FatalError
    reducer) with its errorCode beside it, run attributes (jsonb, default ``{}``), a public key (not shown), the
    runtime's own abort hook (``is_system``)."""
    dsn, ids = recorded_db
    pg_server.execute(
        """
        ALTER TABLE workflow.workflow_runs ADD COLUMN error_code varchar,
            ADD COLUMN attributes jsonb DEFAULT '{}'::jsonb NOT NULL, ADD COLUMN encryption_public_key varchar;
        ALTER TABLE workflow.workflow_hooks ADD COLUMN is_system boolean DEFAULT false;
    """,
        dbname=dsn.rsplit("/", 1)[1],
    )
    error = (
        b'devl[["FatalError",1],{"name":2,"message":3,"stack":4},"FatalError","boom: bad input",'
        b'"FatalError: boom: bad input\\n    at validate"]'
    )
    execute(
        dsn,
        "UPDATE workflow.workflow_runs SET error_cbor = %s, error = NULL, error_code = 'USER_ERROR', "
        "attributes = %s::jsonb, encryption_public_key = 'pk_secretish', spec_version = '7' WHERE id = %s",
        [cbor2.dumps(cbor2.CBORTag(64, error)), json.dumps({"team": "payments", "tier": 2}), ids["failed"]],
    )
    abort_hook = "hook_" + ulid(now_ms(), 99)
    execute(
        dsn,
        "INSERT INTO workflow.workflow_hooks (hook_id, run_id, token, owner_id, project_id, environment, "
        "created_at, spec_version, is_webhook, is_system) VALUES (%s, %s, %s, 'o', 'p', 'e', "
        "now() AT TIME ZONE 'UTC', 7, false, true)",
        [abort_hook, ids["hook"], "abrt_" + ulid(now_ms())],
    )
    set_spec(dsn, ids["completed"], 99)

    listed = pg(cli, dsn, "list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stderr.splitlines() == [
        f"warning: run {ids['completed']} has specVersion 99, newer than this "
        "wfctl reads (up to 7): showing what it can; upgrade wfctl"
    ]
    by_id = {r["runId"]: r for r in listed.json()["data"]}
    failed = by_id[ids["failed"]]
    assert failed["error"] == {
        "message": "boom: bad input",
        "code": "USER_ERROR",
        "stack": "FatalError: boom: bad input\n    at validate",
    }
    assert failed["attributes"] == {"team": "payments", "tier": 2} and failed["extra"]["specVersion"] == 7
    assert by_id[ids["sleeping"]]["attributes"] == {}  # the column's default
    assert "pk_secretish" not in listed.stdout
    status = pg(cli, dsn, "status", ids["failed"], "-o", "json")  # the cheap one-row read has them too
    assert status.exit_code == 10 and "USER_ERROR" in status.stdout
    assert pg(cli, dsn, "list", "-o", "id", "--search", "user_error").stdout.split() == [ids["failed"]]
    got = pg(cli, dsn, "get", ids["hook"], "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert {h["hookId"] for h in got.json()["hooks"]} >= {abort_hook}
    assert got.json()["waitingFor"]["token"] == "approval:doc1"  # the engine's own hook is not what it waits on
    execute(dsn, "DELETE FROM workflow.workflow_hooks WHERE run_id = %s AND NOT is_system", [ids["hook"]])
    alone = pg(cli, dsn, "get", ids["hook"], "-o", "json").json()
    assert (alone["status"], alone["waitingFor"], len(alone["hooks"])) == ("running", None, 1)
    assert pg(cli, dsn, "list", "-o", "id", "--status", "waiting").stdout.split() == [ids["sleeping"]]
    assert pg(cli, dsn, "get", ids["completed"], "-o", "json").stderr.count("warning:") == 1


# -- configuration, errors and secrets -------------------------------------------------------------------


def test_dsn_sources_and_precedence(cli, recorded_db, config_file):
    dsn, ids = recorded_db
    bad = dsn.rsplit("/", 1)[0] + "/nosuchdb"
    env_only = cli(
        "list",
        "-o",
        "id",
        env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn, "DATABASE_URL": bad},
    )
    assert env_only.exit_code == 0 and len(env_only.stdout.split()) == len(ids)
    database_url = cli("list", "-o", "id", env={"WORKFLOW_TARGET_WORLD": "postgres", "DATABASE_URL": dsn})
    assert database_url.exit_code == 0 and len(database_url.stdout.split()) == len(ids)
    flag_wins = cli("--dsn", dsn, "list", "-o", "id", env={"WFCTL_WORLD": "postgres", "WORKFLOW_POSTGRES_URL": bad})
    assert flag_wins.exit_code == 0
    wfctl_dsn = cli("list", "-o", "id", env={"WFCTL_WORLD": "postgres", "WFCTL_DSN": dsn, "WORKFLOW_POSTGRES_URL": bad})
    assert wfctl_dsn.exit_code == 0
    config_file.write_text(
        f'current_profile = "pg"\n[profiles.pg]\nbackend = "workflow-sdk"\nworld = "postgres"\ndsn = "{dsn}"\n'
    )
    config_file.chmod(0o600)
    profile = cli("--backend", "workflow-sdk", "list", "-o", "id", env={"WORKFLOW_POSTGRES_URL": bad})
    assert profile.exit_code == 0 and len(profile.stdout.split()) == len(ids)
    b = backend_env({"WORKFLOW_POSTGRES_URL": dsn, "DATABASE_URL": bad})
    assert b._dsn() == (dsn, "env WORKFLOW_POSTGRES_URL")
    assert backend_env({})._dsn()[0] == "postgres://world:world@localhost:5432/world"  # the world's default


def test_connection_errors_and_exit_codes(cli, pg_server, world_db):
    secret = "Sup3rS3cretPw"
    refused_port = pg_server.port
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        refused_port = s.getsockname()[1]
    cases = [
        (f"postgresql://world:{secret}@127.0.0.1:{refused_port}/world", 5, f"127.0.0.1:{refused_port}"),
        (pg_server.dsn(password=secret, dbname=world_db.rsplit("/", 1)[1]), 4, "refused the login"),
        (pg_server.dsn(user="nobody_here", password=secret), 4, "refused the login"),
        (pg_server.dsn(dbname="nosuchdb", password="world"), 2, "does not exist"),
        (f"host=127.0.0.1 password={secret} port=notaport", 2, "invalid PostgreSQL DSN"),
        (f"postgresql://world:{secret}@127.0.0.1:99999/world", 2, "not a TCP port"),
        (f"garbage {secret}", 2, "invalid PostgreSQL DSN"),
    ]
    for dsn, code, text in cases:
        for extra in ([], ["--debug"]):
            result = cli(*extra, "--dsn", dsn, "list", env=PG_ENV)
            assert result.exit_code == code, (dsn, result.stderr)
            assert text in result.stderr, (dsn, result.stderr)
            assert secret not in result.stdout + result.stderr  # --debug adds a traceback, never the password
            assert ("Traceback" in result.stderr) == bool(extra)
    doctor = cli("--dsn", cases[0][0], "config", "doctor", "-o", "json", env=PG_ENV)
    assert doctor.exit_code == 5 and secret not in doctor.stdout + doctor.stderr
    assert any(c["name"] == "database" and not c["ok"] for c in doctor.json())


def test_schema_missing_is_a_configuration_error(cli, pg_server):
    pg_server.drop_database("world_empty")
    pg_server.create_database("world_empty")
    dsn = pg_server.dsn(dbname="world_empty")
    try:
        result = pg(cli, dsn, "list")
        assert result.exit_code == 2 and "bootstrap" in result.stderr
        doctor = pg(cli, dsn, "config", "doctor", "-o", "json")
        checks = {c["name"]: c for c in doctor.json()}
        assert checks["database"]["ok"] and not checks["schema"]["ok"] and doctor.exit_code == 5
    finally:
        pg_server.drop_database("world_empty")


def test_doctor(cli, recorded_db):
    dsn, ids = recorded_db
    result = pg(cli, dsn, "config", "doctor", "-o", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in result.json()}
    assert checks["database"]["ok"] and "PostgreSQL 1" in checks["database"]["detail"]
    assert ":***@" in checks["database"]["detail"] and "world:world@" not in checks["database"]["detail"]
    assert checks["schema"]["ok"] and f"{len(ids)} runs" in checks["schema"]["detail"]
    assert checks["migrations"]["ok"] and checks["queue"]["ok"] and checks["permissions"]["ok"]
    assert checks["migrations"]["detail"] == (
        "12 migrations = the 12 of @workflow/world-postgres 4.3.7 (newest 0015_move_enums_to_workflow_schema, "
        "created 2026-06-29T00:00:00.000Z, sha256 adc88e08a9a0) in workflow_drizzle.workflow_migrations; "
        "cancel and wake write"
    )
    assert checks["spec versions"]["ok"]
    assert checks["spec versions"]["detail"] == (
        f"spec versions seen: 3 ×{len(ids)} (read+write); wfctl writes 3; "
        f"workflowCoreVersion (newest {len(ids)} runs) 4.8.9 ×{len(ids)}"
    )
    assert result.stderr == ""


def test_doctor_reports_every_spec_version_and_what_wfctl_does_with_it(cli, recorded_db):
    dsn, ids = recorded_db
    set_spec(dsn, ids["completed"], None)
    set_spec(dsn, ids["failed"], 7)
    set_spec(dsn, ids["flaky"], 99)
    result = pg(cli, dsn, "config", "doctor", "-o", "json")
    checks = {c["name"]: c for c in result.json()}
    assert result.exit_code == 5 and not checks["spec versions"]["ok"]  # a version newer than wfctl reads
    assert checks["spec versions"]["detail"].startswith(
        f"spec versions seen: 1 ×1 (read only), 3 ×{len(ids) - 3} (read+write), 7 ×1 (read only), "
        "99 ×1 (newer: partly read); wfctl writes 3"
    )
    assert checks["spec versions"]["detail"].endswith("(wfctl reads up to 7)")


def test_psycopg_missing(cli, recorded_db, monkeypatch):
    dsn, _ = recorded_db
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    result = pg(cli, dsn, "list")
    assert result.exit_code == 2
    assert "pip install 'wfctl[postgres]'" in result.stderr and "psycopg" in result.stderr


def test_module_import_stays_light():
    code = (
        "import sys, wfctl.backends.workflow_sdk.postgres; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'cbor2', 'httpx', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- live tails, LISTEN/NOTIFY and reconnecting after a database restart --------------------------------------


@pytest.fixture(scope="module")
def restartable_server(world_template):
    """A server of its own (the tests stop and restart it) with a bootstrapped template database."""
    from tests.doubles.pg_peer import bootstrap_world

    server = PostgresServer(require_postgres())
    try:
        server.start()
        server.create_role()
        server.create_database("template_world")
        bootstrap_world(server.dsn(dbname="template_world"))
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def own_server(restartable_server):
    """The restartable server, running, with a fresh bootstrapped database ``world``."""
    server = restartable_server
    server.start()
    server.drop_database("world")
    server.create_database("world", template="template_world")
    return server


class Writer:
    """Writes a run, its events and its stream chunks the way world-postgres does (ids are ULIDs)."""

    def __init__(self, dsn: str, run_id: str | None = None):
        self.dsn = dsn
        self.ms = now_ms()
        self.seq = 0
        self.run_id = run_id or "wrun_" + ulid(self.ms, 1)
        self.stream = self.run_id.replace("wrun_", "strm_") + "_user"

    def _id(self, prefix: str, ms: int | None = None) -> str:
        self.seq += 1
        return prefix + ulid(ms if ms is not None else max(self.ms, now_ms()), self.seq)

    def run(self) -> "Writer":
        input_cbor = cbor2.dumps(cbor2.CBORTag(64, b'devl[[1],"tail"]'))
        execute(
            self.dsn,
            """
            INSERT INTO workflow.workflow_runs (id, name, status, deployment_id, spec_version, input_cbor,
                                                created_at, updated_at, started_at)
            VALUES (%s, %s, 'running', 'postgres', '3', %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC',
                    now() AT TIME ZONE 'UTC')""",
            [self.run_id, MACHINE_DEMO, input_cbor],
        )
        return self

    def event(self, event_type: str, data: Any = None, ms: int | None = None) -> str:
        event_id = self._id("wevt_", ms)
        payload = cbor2.dumps(data) if data is not None else None
        execute(
            self.dsn,
            "INSERT INTO workflow.workflow_events (id, type, run_id, payload_cbor, created_at, "
            "spec_version) VALUES (%s, %s, %s, %s, now() AT TIME ZONE 'UTC', 3)",
            [event_id, event_type, self.run_id, payload],
        )
        return event_id

    def chunk(self, value: str, eof: bool = False, ms: int | None = None, notify: bool = True) -> str:
        chunk_id = self._id("chnk_", ms)
        text = b"devl" + json.dumps([value]).encode()
        data = b"" if eof else len(text).to_bytes(4, "big") + text
        execute(
            self.dsn,
            "INSERT INTO workflow.workflow_stream_chunks (id, stream_id, run_id, data, eof, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC')",
            [chunk_id, self.stream, self.run_id, data, eof],
        )
        if notify:
            execute(
                self.dsn,
                "SELECT pg_notify('workflow_event_chunk', %s)",
                [json.dumps({"streamId": self.stream, "chunkId": chunk_id})],
            )
        return chunk_id

    def finish(self, status: str = "completed") -> None:
        execute(
            self.dsn,
            "UPDATE workflow.workflow_runs SET status = %s, completed_at = now() AT TIME ZONE 'UTC' WHERE id = %s",
            [status, self.run_id],
        )


def test_live_stream_wakes_on_notify_and_ends_at_eof(own_server):
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.chunk("a")
    b = backend(dsn)
    b.reconnect_budget = 10
    gen = b.tail(w.run_id, TailRequest(live=True, stream="", interval=30.0))  # polling alone would take 30 s
    assert next(gen).data == "a"
    threading.Timer(0.3, lambda: w.chunk("b")).start()
    started = time.monotonic()
    item = next(gen)
    assert item.data == "b" and time.monotonic() - started < 10  # LISTEN woke the tail
    threading.Timer(0.3, lambda: w.chunk("", eof=True)).start()
    assert list(gen) == []  # the EOF chunk ends the tail
    b.close()


def test_live_stream_survives_a_database_restart(own_server):
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    for value in ("c0", "c1"):
        w.chunk(value)
    b = backend(dsn)
    b.reconnect_budget = 30
    gen = b.tail(w.run_id, TailRequest(live=True, stream="", interval=0.2))
    got = [next(gen).data, next(gen).data]

    def bounce() -> None:
        own_server.stop()  # fast shutdown: every connection of the tail is cut
        time.sleep(1.0)  # the tail retries against a closed port meanwhile
        own_server.start()
        w.chunk("c2")
        w.chunk("c3")
        w.finish()

    restarter = threading.Thread(target=bounce)
    restarter.start()
    got += [item.data for item in gen]
    restarter.join()
    b.close()
    assert got == ["c0", "c1", "c2", "c3"]  # nothing lost, nothing repeated


def test_live_events_survive_a_database_restart_and_late_commits(own_server):
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.event("run_created", {"workflowName": MACHINE_DEMO})
    first_ms = now_ms()
    w.event("run_started")
    b = backend(dsn)
    b.reconnect_budget = 30
    gen = b.tail(w.run_id, TailRequest(live=True, interval=0.1))
    got: list[Event] = [next(gen), next(gen)]

    def writes() -> None:
        own_server.restart()
        w.event("step_created", {"stepName": "step//./workflows/demo//greet"})
        # a row whose id is older than one already printed (minted earlier, committed later)
        w.event("step_started", {"stepName": "step//./workflows/demo//greet"}, ms=first_ms)
        w.event("run_completed", {"output": cbor2.CBORTag(64, b'devl["ok"]')})
        w.finish()

    thread = threading.Thread(target=writes)
    thread.start()
    got += list(gen)
    thread.join()
    b.close()
    types = [e.type for e in got]
    assert sorted(types) == sorted(["run_created", "run_started", "step_created", "step_started", "run_completed"])
    assert len({e.offset for e in got}) == len(got)  # no event twice
    assert [e.index for e in got] == list(range(len(got)))
    assert got[-1].type == "run_completed" and got[-1].data == {"output": "ok"}


def queue_job(dsn: str, queue: str = "workflow_flows") -> None:
    """What the world does after most events: queue a job (graphile-worker NOTIFYs ``jobs:insert``)."""
    execute(dsn, "SELECT graphile_worker.add_job(%s, '{}'::json)", [queue])


def test_live_events_wake_on_a_queued_job(own_server, monkeypatch):
    """Events have no NOTIFY; a job the world queues (graphile-worker's jobs:insert) wakes the tail."""
    from wfctl.backends.workflow_sdk import postgres

    monkeypatch.setattr(postgres, "LIVE_MIN_POLL", 30.0)  # every wait would be 30 s without the wake
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.event("run_created", {"workflowName": MACHINE_DEMO})
    b = backend(dsn)
    b.reconnect_budget = 10
    gen = b.tail(w.run_id, TailRequest(live=True, interval=30.0))
    assert next(gen).type == "run_created"

    def step() -> None:
        w.event("step_created", {"stepName": "step//./workflows/demo//greet"})
        queue_job(dsn, "workflow_steps")

    threading.Timer(0.3, step).start()
    started = time.monotonic()
    assert next(gen).type == "step_created"
    assert time.monotonic() - started < 20  # woken by the job, not the 30 s wait
    b.close()


@pytest.mark.parametrize("listen", [True, False], ids=["jobs-wake", "polling-only"])
def test_live_events_each_once_in_order_through_bursts_and_a_restart(own_server, monkeypatch, listen):
    """Adaptive polling (fast after activity, backing off while idle) prints every event exactly once and in
    the order written: bursts, idle gaps long enough to back off, jobs queued or not, late commits, a restart."""
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.event("run_created", {"workflowName": MACHINE_DEMO})
    b = backend(dsn)
    b.reconnect_budget = 30
    if not listen:
        monkeypatch.setattr(b, "_ensure_listen", lambda channel="": False)
    gen = b.tail(w.run_id, TailRequest(live=True, interval=0.4))
    got: list[Event] = [next(gen)]
    written: list[str] = []
    late: list[str] = []

    def writes() -> None:
        early_ms = now_ms()
        for burst in range(4):
            for i in range(15):
                written.append(w.event("step_started", {"stepName": f"step//./workflows/demo//s{burst}_{i}"}))
                if i % 4 == 0:
                    queue_job(dsn)
            time.sleep(0.6)  # idle: the tail backs off to its interval
            if burst == 1:
                own_server.restart()
                late.append(w.event("step_created", {"stepName": "step//./workflows/demo//late"}, ms=early_ms))
        written.append(w.event("run_completed", {"output": cbor2.CBORTag(64, b'devl["ok"]')}))
        w.finish()

    thread = threading.Thread(target=writes)
    thread.start()
    got += list(gen)
    thread.join()
    b.close()
    offsets = [e.offset for e in got]
    assert len(set(offsets)) == len(offsets)  # nothing twice
    assert [o for o in offsets if o not in late] == [got[0].offset] + written  # all, in the order written
    assert sorted(late) == sorted(set(offsets) & set(late))  # the late commit too
    assert [e.index for e in got] == list(range(len(got)))
    assert got[-1].type == "run_completed"


def test_live_tail_gives_up_after_its_reconnect_budget(own_server):
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.chunk("x")
    b = backend(dsn)
    b.reconnect_budget = 1.5
    gen = b.tail(w.run_id, TailRequest(live=True, stream="", interval=0.1))
    assert next(gen).data == "x"
    own_server.stop()
    started = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        next(gen)
    assert time.monotonic() - started < 15
    assert f"127.0.0.1:{own_server.port}" in info.value.message and "world:world" not in info.value.message
    b.close()


def test_status_wait_rides_out_a_database_restart(own_server):
    from wfctl.waiting import wait_for_runs

    dsn = own_server.dsn()
    w = Writer(dsn).run()
    b = backend(dsn)
    b.reconnect_budget = 30

    def bounce() -> None:
        own_server.stop()
        time.sleep(1.0)
        own_server.start()
        w.finish("failed")

    thread = threading.Timer(0.3, bounce)
    thread.start()
    [run] = wait_for_runs(b, [w.run_id], timeout=60, interval=0.2)
    thread.join()
    b.close()
    assert run.status == "failed"


def test_cli_live_tail_across_a_restart(own_server, tmp_path):
    """The real command in its own process: output complete and unique across a database restart."""
    dsn = own_server.dsn()
    w = Writer(dsn).run()
    w.chunk("first")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    env.update(WFCTL_WORLD="postgres", WFCTL_CONFIG=str(tmp_path / "none.toml"), WFCTL_CACHE_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from wfctl.cli import main; main()",
            "--dsn",
            dsn,
            "tail",
            w.run_id,
            "--live",
            "--stream",
            "-o",
            "jsonl",
            "--interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        assert json.loads(first)["data"] == "first"
        own_server.restart()
        w.chunk("second")
        w.chunk("third")
        w.finish()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [json.loads(first)] + [json.loads(line) for line in out.splitlines() if line.strip()]
    assert proc.returncode == 0, err
    assert [(line["kind"], line.get("data"), line.get("index")) for line in lines] == [
        ("chunk", "first", 0),
        ("chunk", "second", 1),
        ("chunk", "third", 2),
        ("end", None, None),
    ]
    assert lines[-1]["status"] == "completed"
