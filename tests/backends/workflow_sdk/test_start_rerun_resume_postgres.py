"""start, rerun and resume on the Workflow SDK Postgres world, against the real example app.

``examples/workflow-sdk-app`` (``workflow@4.8.9``, ``@workflow/world-postgres@4.3.7``, spec 3) runs on a database
bootstrapped by the world's own ``bootstrap`` on the test's PostgreSQL. wfctl writes the rows and the
graphile-worker job; the proof is the app's worker running what wfctl wrote to completion and the official
CLI (``npx workflow inspect --backend @workflow/world-postgres``) reading it back. The refusals at the end are
proven on the same database: a hook disposed by the official world itself (exit 2, nothing written), and a run
whose stored input is encrypted (``refused`` for that run, exit 6 alone, 7 beside a run that starts).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.ci_rule import peer_missing
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

    def wfctl(self, cli, *args: str):
        return cli("--dsn", self.dsn, *args, env=PG_ENV)

    def one(self, sql: str, params: Any = None) -> Any:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def wait_status(self, run_id: str, wanted: str, timeout: float = 60) -> None:
        def status() -> Any:
            return self.one("SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id])

        wait_until(lambda: status() == wanted, timeout, message=f"{run_id} to be {wanted}")

    def wait_hook(self, token: str, timeout: float = 60) -> None:
        def found() -> Any:
            return self.one("SELECT count(*) FROM workflow.workflow_hooks WHERE token = %s", [token])

        wait_until(found, timeout, message=f"the hook {token}")

    def inspect(self, *args: str) -> Any:
        return self.server.inspect_json(*args, *BACKEND)


@pytest.fixture(scope="module")
def live(pg_server: PostgresServer, world_template: str):
    require_node_world()
    if not node_available():
        peer_missing("node and npm (the Workflow SDK example app)")
    name = f"ctl_{uuid.uuid4().hex[:10]}"
    pg_server.create_database(name, owner="world", template=world_template)
    dsn = pg_server.dsn(dbname=name)
    server = WorkflowApp().start(
        env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn}
    )
    try:
        yield Live(server, dsn)
    finally:
        server.stop()
        try:
            pg_server.drop_database(name)
        except Exception:  # noqa: BLE001
            pass


def test_start_runs_the_workflow_to_completion_and_the_official_cli_agrees(cli, live):
    template = live.server.start_run("demoWorkflow", ["Ada", "1s"])
    live.wait_status(template, "completed")

    r = live.wfctl(
        cli, "start", "demoWorkflow", "--input-json", '["Zed", "1s"]', "--wait", "--timeout", "60", "-o", "json"
    )
    assert r.exit_code == 0, r.stderr
    run = r.json()
    assert (run["status"], run["input"], run["output"]) == (
        "completed",
        ["Zed", "1s"],
        {"greeting": "Hello, Zed!", "length": 11},
    )
    want = live.inspect("run", run["runId"])
    assert (want["status"], want["input"], want["output"]) == ("completed", ["Zed", "1s"], run["output"])
    assert want["deploymentId"] == live.inspect("run", template)["deploymentId"]

    missing = live.wfctl(cli, "start", "tickerWorkflow")
    assert missing.exit_code == 3 and missing.stdout == ""
    assert missing.stderr.startswith("error: no run of workflow 'tickerWorkflow'")


def test_rerun_of_a_completed_run_completes_the_same_and_a_failed_one_fails_the_same(cli, live):
    done = live.server.start_run("demoWorkflow", ["Bo", "1s"])
    failed = live.server.start_run("failingWorkflow", ["bad input"])
    live.wait_status(done, "completed")
    live.wait_status(failed, "failed")

    r = live.wfctl(cli, "rerun", done, failed, "-o", "jsonl", "--wait", "--timeout", "60")
    assert r.exit_code == 10, r.stderr  # the failed one failed again
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(line["sourceRunId"], line["outcome"]) for line in lines] == [(done, "started"), (failed, "started")]
    again_done, again_failed = (line["runId"] for line in lines)

    got = live.wfctl(cli, "get", again_done, "-o", "json").json()
    assert (got["status"], got["input"], got["output"]) == (
        "completed",
        ["Bo", "1s"],
        {"greeting": "Hello, Bo!", "length": 10},
    )
    got = live.wfctl(cli, "get", again_failed, "-o", "json").json()
    assert got["status"] == "failed" and got["error"]["message"] == "boom: bad input"
    assert live.inspect("run", again_done)["output"] == {"greeting": "Hello, Bo!", "length": 10}
    assert live.inspect("run", again_failed)["status"] == "failed"


def test_resume_delivers_the_decision_and_the_run_completes_with_it(cli, live):
    run_id = live.server.start_run("approvalWorkflow", ["doc-p"])
    live.wait_hook("approval:doc-p")

    unknown = live.wfctl(cli, "resume", run_id, "--hook", "approval:other", "--data", "{}")
    assert unknown.exit_code == 3 and unknown.stdout == ""

    r = live.wfctl(
        cli, "resume", run_id, "--data", '{"approved": true, "by": "Pat"}', "--wait", "--timeout", "60", "-o", "json"
    )
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["runId"], doc["hook"], doc["outcome"], doc["delivered"]) == (run_id, "approval:doc-p", "resumed", True)
    got = live.wfctl(cli, "get", run_id, "-o", "json").json()
    assert (got["status"], got["output"]) == ("completed", "doc-p: approved by Pat")
    want = live.inspect("run", run_id)
    assert (want["status"], want["output"]) == ("completed", "doc-p: approved by Pat")

    ended = live.wfctl(cli, "resume", run_id, "--data", "{}")
    assert ended.exit_code == 2 and ended.stderr.startswith(f"error: run {run_id} is completed")


# -- the refusals ---------------------------------------------------------------------------------------------

#: Disposes a hook through the official world (``@workflow/world-postgres``'s ``events.create`` of
#: ``hook_disposed``: the hook row deleted and the event appended in one transaction), run in the app's
#: directory so it resolves the app's own world package. The run goes on waiting: nothing re-enqueues it.
DISPOSE = """
import { createWorld } from '@workflow/world-postgres';
const [dsn, runId, hookId] = process.argv.slice(1);
const world = createWorld({ connectionString: dsn });
await world.events.create(runId, { eventType: 'hook_disposed', correlationId: hookId, specVersion: 3 });
process.exit(0);
"""


def _dispose_with_the_official_world(live: Live, run_id: str, hook_id: str) -> None:
    import subprocess

    from tests.doubles.wfapp import APP_DIR

    proc = subprocess.run(
        ["node", "--input-type=module", "-e", DISPOSE, live.dsn, run_id, hook_id],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr


def _jobs(live: Live) -> int:
    return live.one("SELECT count(*) FROM graphile_worker.jobs")


def test_resume_of_a_disposed_hook_is_exit_2_and_writes_nothing(cli, live):
    run_id = live.server.start_run("approvalWorkflow", ["doc-d"])
    token = "approval:doc-d"
    live.wait_hook(token)
    hook_id = live.one("SELECT hook_id FROM workflow.workflow_hooks WHERE token = %s", [token])
    _dispose_with_the_official_world(live, run_id, hook_id)
    assert live.one("SELECT count(*) FROM workflow.workflow_hooks WHERE run_id = %s", [run_id]) == 0
    assert live.one("SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id]) == "running"
    events = live.one("SELECT count(*) FROM workflow.workflow_events WHERE run_id = %s", [run_id])
    jobs = _jobs(live)

    r = live.wfctl(cli, "resume", run_id, "--hook", token, "--data", '{"approved": true}')
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: hook {hook_id} of run {run_id} (token {token!r}) was disposed"]
    dry = live.wfctl(cli, "resume", run_id, "--hook", token, "--data", "{}", "--dry-run")
    assert dry.exit_code == 2 and dry.stderr.splitlines()[0] == r.stderr.splitlines()[0]
    bare = live.wfctl(cli, "resume", run_id, "--data", "{}")  # no token: the run has no pending hook left
    assert bare.exit_code == 2 and bare.stdout == ""
    assert bare.stderr.splitlines()[0] == f"error: run {run_id} has no pending hook to resume"

    assert live.one("SELECT count(*) FROM workflow.workflow_events WHERE run_id = %s", [run_id]) == events
    assert _jobs(live) == jobs
    types = sorted(e["eventType"] for e in live.inspect("events", "--runId", run_id))
    assert (types.count("hook_created"), types.count("hook_disposed"), types.count("hook_received")) == (1, 1, 0)


def test_rerun_refuses_an_encrypted_input_per_run_and_starts_nothing_for_it(cli, live):
    """The 4.8.9 app does not encrypt, so the input of a run it completed is rewritten in place as an app with
    encryption would store it: the same CBOR shape, its payload bytes ``encr`` + ciphertext."""
    import cbor2

    encrypted = live.server.start_run("demoWorkflow", ["Cy", "1s"])
    other = live.server.start_run("demoWorkflow", ["Di", "1s"])
    live.wait_status(encrypted, "completed")
    live.wait_status(other, "completed")
    stored = cbor2.loads(live.one("SELECT input_cbor FROM workflow.workflow_runs WHERE id = %s", [encrypted]))
    ciphertext = b"encr" + bytes(range(40))
    if isinstance(stored, cbor2.CBORTag):
        assert isinstance(stored.value, bytes) and stored.value[:4] == b"devl"
        replaced: object = cbor2.CBORTag(stored.tag, ciphertext)
    else:
        assert isinstance(stored, bytes) and stored[:4] == b"devl"
        replaced = ciphertext
    with psycopg.connect(live.dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE workflow.workflow_runs SET input_cbor = %s WHERE id = %s", [cbor2.dumps(replaced), encrypted]
        )
    runs = live.one("SELECT count(*) FROM workflow.workflow_runs")
    jobs = _jobs(live)

    one = live.wfctl(cli, "rerun", encrypted)
    assert one.exit_code == 6 and one.stdout == ""
    assert one.stderr.splitlines()[0] == (
        f"error: run {encrypted} was not re-run: its input is encrypted and wfctl holds no key for it; a new run "
        "with other input would not be a re-run"
    )
    assert (live.one("SELECT count(*) FROM workflow.workflow_runs"), _jobs(live)) == (runs, jobs)

    both = live.wfctl(cli, "rerun", encrypted, other, "-o", "jsonl")
    assert both.exit_code == 7, both.stderr
    lines = [json.loads(line) for line in both.stdout.splitlines()]
    assert [(o["sourceRunId"], o["outcome"]) for o in lines] == [(encrypted, "refused"), (other, "started")]
    assert lines[0]["runId"] is None
    assert live.one("SELECT count(*) FROM workflow.workflow_runs") == runs + 1
    live.wait_status(lines[1]["runId"], "completed")
    got = live.wfctl(cli, "get", lines[1]["runId"], "-o", "json").json()
    assert (got["input"], got["output"]) == (["Di", "1s"], {"greeting": "Hello, Di!", "length": 10})


# -- the health check ---------------------------------------------------------------------------------------------


def test_start_writes_the_spec_version_the_apps_worker_reports_in_its_health_check(cli, live):
    """The newest run claims spec 2, which wfctl does not write: the app's worker answers the health check
    (a graphile-worker job, the answer in the stream table) with its own, 3, and the new run is written so."""
    template = live.server.start_run("demoWorkflow", ["Hal", "1s"])
    live.wait_status(template, "completed")
    with psycopg.connect(live.dsn, autocommit=True) as conn:
        conn.execute("UPDATE workflow.workflow_runs SET spec_version = '2' WHERE id = %s", [template])

    r = live.wfctl(
        cli,
        "--debug",
        "start",
        "demoWorkflow",
        "--input-json",
        '["Hux", "1s"]',
        "--wait",
        "--timeout",
        "60",
        "-o",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    run = r.json()
    assert (run["status"], run["output"]) == ("completed", {"greeting": "Hello, Hux!", "length": 11})
    assert run["extra"]["specVersion"] == 3
    debug = [line for line in r.stderr.splitlines() if "health check:" in line]
    assert len(debug) == 1 and "specVersion=3" in debug[0], r.stderr
    assert "warning:" not in r.stderr
    want = live.inspect("run", run["runId"])
    assert (want["status"], want["specVersion"]) == ("completed", 3)
    assert live.one("SELECT count(*) FROM workflow.workflow_stream_chunks WHERE stream_id LIKE '__health_check__%%'")
    assert live.one("SELECT count(*) FROM graphile_worker.jobs WHERE task_identifier = 'workflow_flows'") == 0


def test_start_without_a_worker_to_answer_falls_back_to_the_newest_runs_spec_with_a_warning(cli, live):
    """On a job prefix no worker serves, nobody answers: after the bounded wait (here the 1 s of --timeout's
    profile key ``timeout``) the new run takes the newest run's spec version, with a warning, and the health
    check's job is removed."""
    template = live.server.start_run("demoWorkflow", ["Ivo", "1s"])
    live.wait_status(template, "completed")
    r = cli(
        "--dsn", live.dsn, "start", "demoWorkflow", "-o", "json",
        env={**PG_ENV, "WFCTL_JOB_PREFIX": "nobody_", "WFCTL_TIMEOUT": "1"},
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert "did not answer the Workflow SDK health check (no answer in" in warnings[0]
    assert "is the app's worker running?" in warnings[0]
    assert warnings[0].endswith(f"the new run takes spec version 3 from the newest run of the workflow ({template})")
    new_id = r.json()["runId"]
    assert live.one("SELECT spec_version FROM workflow.workflow_runs WHERE id = %s", [new_id]) == "3"
    # the run's own job stays on that queue (nobody serves it); the health check's was removed
    assert live.one("SELECT count(*) FROM graphile_worker.jobs WHERE task_identifier = 'nobody_flows'") == 1
