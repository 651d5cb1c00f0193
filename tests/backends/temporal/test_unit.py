"""Unit tests of the Temporal backend: pure helpers, and the paths a dev server cannot produce on demand
(auth refusals, a server without GROUP BY, dropped long-polls, retried starts, races), served by an
``httpx.MockTransport`` injected through ``TemporalBackend(..., transport=...)``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from wfctl.backends import temporal
from wfctl.backends.base import StartRequest, TailRequest
from wfctl.backends.temporal import (
    NOTHING,
    TemporalBackend,
    build_query,
    close_outcome,
    cursor_for,
    decode_payload,
    decode_tree,
    failure_error,
    failure_info,
    short_event_type,
    split_address,
    statuses_for,
    type_matches,
)
from wfctl.config import resolve
from wfctl.errors import AuthError, NotFoundError, UnsupportedError, UsageError
from wfctl.model import ListQuery, Run

ROOT = Path(__file__).resolve().parents[3]
NS = "/api/v1/namespaces/default"
RUN_A = "01a201e1-794f-74fb-bd91-4001009710ba"
RUN_B = "01a201e1-7a2c-7c11-9d6e-3f0b8a6c2d11"


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def payload(value, encoding: str = "json/plain") -> dict:
    return {"metadata": {"encoding": b64(encoding)}, "data": b64(json.dumps(value))}


def payloads(*values) -> dict:
    return {"payloads": [payload(v) for v in values]}


def event(eid: int, kind: str, attrs: dict | None = None, when: str = "2026-11-22T06:11:23.581991184Z") -> dict:
    camel = "".join(p.capitalize() for p in kind.lower().split("_"))
    key = camel[0].lower() + camel[1:] + "EventAttributes"
    return {"eventId": str(eid), "eventTime": when, "eventType": f"EVENT_TYPE_{kind}", key: attrs or {}}


class Fake:
    """Routes requests to handlers; records every request."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, object]] = []
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, handler) -> "Fake":
        self.routes.insert(0, (method, path, handler))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, path, handler in self.routes:
            if request.method == method and request.url.path == path:
                answer = handler(request) if callable(handler) else handler
                if isinstance(answer, httpx.Response):
                    return answer
                return httpx.Response(200, json=answer, headers={"content-type": "*"})
        return httpx.Response(404, json={"code": 5, "message": "Not Found"})

    def params(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(urlsplit(str(self.requests[index].url)).query)


def make(fake: Fake, **flags) -> TemporalBackend:
    profile = resolve(flags={"backend": "temporal", "url": "http://temporal.test:7243", **flags}, env={})
    backend = TemporalBackend(profile, transport=httpx.MockTransport(fake))
    backend.http._sleep = lambda seconds: None  # no real backoff in unit tests
    return backend


def describe(status: str = "RUNNING", wid: str = "wf", run_id: str = RUN_A, **info) -> dict:
    base = {
        "execution": {"workflowId": wid, "runId": run_id},
        "type": {"name": "demo"},
        "startTime": "2026-11-22T06:11:23.599327Z",
        "status": f"WORKFLOW_EXECUTION_STATUS_{status}",
        "historyLength": "5",
        "taskQueue": "q",
    }
    base.update(info)
    return {"workflowExecutionInfo": base}


# --------------------------------------------------------------------------------------------------
# pure helpers


def test_module_import_stays_light():
    code = "import sys, wfctl.backends.temporal; assert 'httpx' not in sys.modules, 'httpx imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_payload_decoding():
    assert decode_payload(payload({"a": 1})) == {"a": 1}
    assert decode_payload({"metadata": {"encoding": b64("binary/null")}}) is None
    assert decode_payload({"metadata": {"encoding": b64("binary/plain")}, "data": b64(b"raw\x00")}) == {
        "$bytes": b64(b"raw\x00")
    }
    assert decode_payload({"metadata": {"encoding": b64("binary/encrypted")}, "data": "xx"}) == {"$encrypted": True}
    assert decode_payload({"metadata": {"encoding": b64("binary/zstd")}, "data": "AA=="}) == {
        "$bytes": "AA==",
        "$encoding": "binary/zstd",
    }
    assert decode_payload(
        {"metadata": {"encoding": b64("json/protobuf"), "messageType": b64("x")}, "data": b64('{"k": 2}')}
    ) == {"k": 2}
    assert decode_payload("shorthand") == "shorthand"  # a server that ignored noPayloadShorthand
    tree = {
        "input": payloads(1, "two"),
        "memo": {"fields": {"k": payload("v")}},
        "failure": {"applicationFailureInfo": {"details": payloads({"attempt": 3})}},
        "n": "5",
    }
    assert decode_tree(tree) == {
        "input": [1, "two"],
        "memo": {"fields": {"k": "v"}},
        "failure": {"applicationFailureInfo": {"details": [{"attempt": 3}]}},
        "n": "5",
    }
    # mixed items (shorthand beside full payloads) as the server writes them
    assert decode_tree({"input": {"payloads": ["s", payload([1])]}}) == {"input": ["s", [1]]}


def test_status_words_and_query_building():
    assert statuses_for(["completed"]) == ["Completed", "ContinuedAsNew"]
    assert statuses_for(["Completed"]) == ["Completed"]
    assert statuses_for(["failed", "TIMED_OUT", "timed-out"]) == ["Failed", "TimedOut"]
    assert statuses_for(["cancelled"]) == ["Canceled", "Terminated"]
    assert statuses_for(["canceled", "WORKFLOW_EXECUTION_STATUS_TERMINATED"]) == ["Canceled", "Terminated"]
    assert statuses_for(["pending", "waiting"]) == []
    with pytest.raises(UsageError, match="unknown status"):
        statuses_for(["sleepy"])

    since = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)
    q = ListQuery(
        statuses=["running", "failed"],
        workflow="it's",
        search="ord\\er",
        since=since,
        until=since,
        query="TaskQueue = 'q' OR TaskQueue = 'r'",
    )
    assert build_query(q) == (
        "ExecutionStatus IN ('Running', 'Failed', 'TimedOut') AND WorkflowType = 'it\\'s' AND "
        "(WorkflowId STARTS_WITH 'ord\\\\er' OR WorkflowType STARTS_WITH 'ord\\\\er') AND "
        "StartTime >= '2026-11-22T06:00:00.000000Z' AND StartTime < '2026-11-22T06:00:00.000000Z' AND "
        "(TaskQueue = 'q' OR TaskQueue = 'r')"
    )
    assert build_query(ListQuery(query="WorkflowId = 'x'")) == "WorkflowId = 'x'"
    assert build_query(ListQuery()) == ""
    assert build_query(ListQuery(statuses=["waiting"])) is NOTHING


def test_addresses_event_types_and_failures():
    assert split_address("order-42") == ("order-42", None)
    assert split_address(f"order:42:{RUN_A}") == ("order:42", RUN_A)
    assert split_address("order:42") == ("order:42", None)
    assert short_event_type("EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW") == "WorkflowExecutionContinuedAsNew"
    assert type_matches("ActivityTaskCompleted", ["activity"])
    assert type_matches("ActivityTaskCompleted", ["activity_task_completed"])
    assert type_matches("ActivityTaskCompleted", ["EVENT_TYPE_ACTIVITY_TASK_COMPLETED"])
    assert type_matches("WorkflowExecutionFailed", ["FAILED"])
    assert not type_matches("TimerStarted", ["activity", "signaled"])
    err = failure_error(
        {
            "message": "Activity task failed",
            "stackTrace": "st",
            "activityFailureInfo": {},
            "cause": {"message": "boom", "applicationFailureInfo": {"type": "Boom"}},
        }
    )
    assert (err.message, err.code, err.stack) == ("Activity task failed: boom", "Boom", "st")
    assert (
        failure_error({"message": "t", "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_START_TO_CLOSE"}}).code
        == "TimeoutStartToClose"
    )


# --------------------------------------------------------------------------------------------------
# HTTP behaviour


def test_api_key_is_sent_as_bearer_and_refusals_are_exit_4():
    fake = Fake().on("GET", f"{NS}/workflows/wf", httpx.Response(401, json={"code": 16, "message": "bad key"}))
    fake.on("GET", "/api/v1/system-info", {"serverVersion": "1.32.0"})
    fake.on("GET", NS, httpx.Response(403, json={"code": 7, "message": "Request unauthorized."}))
    backend = make(fake, token="secret-key-1")
    with pytest.raises(AuthError) as caught:
        backend.get_status("wf")
    assert caught.value.code == 4 and "bad key" in caught.value.message
    assert fake.requests[-1].headers["authorization"] == "Bearer secret-key-1"
    with pytest.raises(AuthError, match="reachable, but"):
        backend.doctor()


def test_error_bodies_become_typed_errors():
    fake = Fake().on(
        "GET",
        f"{NS}/workflows/gone",
        httpx.Response(404, json={"code": 5, "message": "workflow not found for ID: gone"}),
    )
    fake.on(
        "GET", f"{NS}/workflows", httpx.Response(404, json={"code": 5, "message": "Namespace default is not found."})
    )
    backend = make(fake)
    with pytest.raises(NotFoundError, match="unknown workflow 'gone' in namespace 'default'"):
        backend.get_run("gone")
    with pytest.raises(NotFoundError, match="unknown Temporal namespace"):
        backend.list_runs(ListQuery())
    with pytest.raises(UsageError, match="cannot address"):
        backend.get_run("a/b")
    # not the HTTP API at all: the route is unknown
    with pytest.raises(NotFoundError, match="no HTTP route"):
        make(Fake()).counts()
    checks = make(Fake()).doctor()
    assert [c.ok for c in checks] == [False] and "HTTP API" in checks[0].detail


def test_list_paging_and_sort():
    newer: list[dict] = []  # what the query for newer executions of the listed ids answers

    def answer(request: httpx.Request):
        query = parse_qs(urlsplit(str(request.url)).query)["query"][0]
        if "RunId !=" in query:
            return {"executions": newer}
        return {
            "executions": [describe("COMPLETED", closeTime="2026-11-22T06:11:25Z")["workflowExecutionInfo"]],
            "nextPageToken": "dG9rZW4=",
        }

    fake = Fake().on("GET", f"{NS}/workflows", answer)
    backend = make(fake)
    visibility = "ExecutionStatus IN ('Completed', 'ContinuedAsNew')"
    cursor = cursor_for(visibility, "cHJldg==")
    page = backend.list_runs(ListQuery(limit=7, cursor=cursor, statuses=["completed"]))
    # the latest execution of its id keeps the bare id; the cursor carries the next token for this query
    assert page.hasMore and page.cursor == cursor_for(visibility, "dG9rZW4=") and page.data[0].runId == "wf"
    params = fake.params(-2)
    assert params["pageSize"] == ["7"] and params["nextPageToken"] == ["cHJldg=="]
    assert params["query"] == [visibility]
    assert "noPayloadShorthand" in params
    assert fake.params()["query"] == [
        "(WorkflowId = 'wf' AND RunId != '" + RUN_A + "' AND StartTime >= '2026-11-22T06:11:23.599327Z')"
    ]
    # an execution of the same id started since: this one is an older execution, addressed exactly
    newer.append(describe("RUNNING", run_id=RUN_B)["workflowExecutionInfo"])
    page = backend.list_runs(ListQuery(limit=7, cursor=cursor, statuses=["completed"]))
    assert page.data[0].runId == f"wf:{RUN_A}"
    # a cursor of other filters, or one wfctl did not print, is refused before any request
    before = len(fake.requests)
    with pytest.raises(UsageError, match="made for other filters"):
        backend.list_runs(ListQuery(limit=7, cursor=cursor, statuses=["failed"]))
    with pytest.raises(UsageError, match="not a cursor wfctl printed"):
        backend.list_runs(ListQuery(limit=7, cursor="cHJldg==", statuses=["completed"]))
    assert len(fake.requests) == before
    with pytest.raises(UnsupportedError, match="fixed order"):
        backend.list_runs(ListQuery(sort="asc"))
    before = len(fake.requests)
    assert backend.list_runs(ListQuery(statuses=["waiting"])).data == []
    assert len(fake.requests) == before  # nothing can match: no request


def test_counts_group_by_and_fallback():
    def group(word: str, n: int) -> dict:
        return {
            "groupValues": [
                {"metadata": {"encoding": b64("json/plain"), "type": b64("Keyword")}, "data": b64(json.dumps(word))}
            ],
            "count": str(n),
        }

    fake = Fake().on(
        "GET",
        f"{NS}/workflow-count",
        {
            "count": "9",
            "groups": [
                group("Running", 2),
                group("Completed", 3),
                group("ContinuedAsNew", 1),
                group("TimedOut", 1),
                group("Terminated", 2),
            ],
        },
    )
    counts = make(fake).counts("demo")
    # ContinuedAsNew is counted apart: neither completed nor in the total
    assert counts.counts == {"pending": 0, "running": 2, "waiting": 0, "completed": 3, "failed": 1, "cancelled": 2}
    assert counts.total == 8 and counts.workflow == "demo" and counts.apart == {"ContinuedAsNew": 1}
    assert fake.params()["query"] == ["WorkflowType = 'demo' GROUP BY ExecutionStatus"]

    def answer(request: httpx.Request):
        query = parse_qs(urlsplit(str(request.url)).query)["query"][0]
        if "GROUP BY" in query:
            return httpx.Response(400, json={"code": 3, "message": "'GROUP BY' clause is not supported"})
        return (
            {"count": {"'Running'": "4", "'Failed'": "1"}.get(query.split("IN (")[1].split(",")[0].rstrip(")"), "0")}
            if "Running" in query or "Failed" in query
            else {}
        )

    fake = Fake().on("GET", f"{NS}/workflow-count", answer)
    counts = make(fake).counts()
    assert counts.counts["running"] == 4 and counts.counts["failed"] == 1 and counts.total == 5
    assert counts.apart == {"ContinuedAsNew": 0}
    assert len(fake.requests) == 6  # the refused GROUP BY, one per normalized status, one for ContinuedAsNew


def test_get_run_with_children_failures_and_a_racing_close():
    history = [
        event(1, "WORKFLOW_EXECUTION_STARTED", {"input": payloads({"n": 1}, 2)}),
        event(
            5,
            "ACTIVITY_TASK_SCHEDULED",
            {"activityId": "a1", "activityType": {"name": "charge"}, "input": payloads(10)},
        ),
        event(6, "ACTIVITY_TASK_STARTED", {"scheduledEventId": "5", "attempt": 3}),
        event(
            7,
            "ACTIVITY_TASK_FAILED",
            {
                "scheduledEventId": "5",
                "failure": {"message": "declined", "applicationFailureInfo": {"type": "CardError"}},
            },
        ),
        event(
            8, "START_CHILD_WORKFLOW_EXECUTION_INITIATED", {"workflowId": "child-1", "workflowType": {"name": "ship"}}
        ),
        event(9, "CHILD_WORKFLOW_EXECUTION_STARTED", {"initiatedEventId": "8"}),
        event(10, "CHILD_WORKFLOW_EXECUTION_COMPLETED", {"initiatedEventId": "8", "result": payloads("shipped")}),
        event(11, "TIMER_STARTED", {"timerId": "t1", "startToFireTimeout": "60s"}),
        event(12, "TIMER_FIRED", {"timerId": "t1"}, when="2026-11-22T06:12:23Z"),
        event(13, "WORKFLOW_EXECUTION_COMPLETED", {"result": payloads({"ok": True})}, when="2026-11-22T06:12:24Z"),
    ]
    fake = Fake().on("GET", f"{NS}/workflows/wf", describe("RUNNING", memo={"fields": {"k": payload("v")}}))
    fake.on("GET", f"{NS}/workflows/wf/history", {"history": {"events": history}})
    run = make(fake).get_run("wf")
    # describe said Running, the history already has the close event: the close event wins
    assert (run.status, run.rawStatus) == ("completed", "Completed")
    assert run.completedAt == datetime(2026, 11, 22, 6, 12, 24, tzinfo=timezone.utc)
    assert run.input == [{"n": 1}, 2] and run.output == {"ok": True}
    charge, ship = run.steps
    assert (charge.stepId, charge.stepName, charge.status, charge.attempt, charge.input) == (
        "a1",
        "charge",
        "failed",
        3,
        10,
    )
    assert charge.error.message == "declined" and charge.error.code == "CardError"
    assert (ship.stepId, ship.stepName, ship.status, ship.output) == ("child-1", "ship", "completed", "shipped")
    (timer,) = run.waits
    assert timer.status == "completed" and timer.resumeAt == datetime(
        2026, 11, 22, 6, 12, 23, 581991, tzinfo=timezone.utc
    )
    assert run.extra["memo"] == {"k": "v"} and run.extra["runId"] == RUN_A
    # the history was read pinned to the described execution, without payload shorthand
    params = fake.params()
    assert params["execution.runId"] == [RUN_A] and "noPayloadShorthand" in params


def test_wait_for_change_is_bounded_and_survives_a_read_timeout():
    seen: list[httpx.Request] = []

    def hold(request: httpx.Request):
        seen.append(request)
        raise httpx.ReadTimeout("silent", request=request)

    fake = Fake().on("GET", f"{NS}/workflows/wf/history", hold)
    backend = make(fake)
    run = Run(runId="wf", backend="temporal", workflowId="wf", status="running", extra={"runId": RUN_A})
    backend.wait_for_change(run, 2.0)  # returns, does not raise: the next status check reports outages
    assert len(seen) == 1  # not retried
    request = seen[0]
    header = request.headers["grpc-timeout"]  # the remaining interval + 1 s, in milliseconds
    assert header.endswith("m") and 2900 <= int(header[:-1]) <= 3000
    params = parse_qs(urlsplit(str(request.url)).query)
    assert params["waitNewEvent"] == ["true"] and params["execution.runId"] == [RUN_A]
    assert params["historyEventFilterType"] == ["HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT"]

    closed = Fake().on(
        "GET", f"{NS}/workflows/wf/history", {"history": {"events": [event(9, "WORKFLOW_EXECUTION_COMPLETED")]}}
    )
    make(closed).wait_for_change(run, 30.0)  # the close event: back at once
    assert len(closed.requests) == 1


def test_live_tail_resumes_after_drops_without_duplicates(monkeypatch):
    monkeypatch.setattr(temporal.time, "sleep", lambda seconds: None)
    pages = {
        None: ([event(1, "WORKFLOW_EXECUTION_STARTED"), event(2, "WORKFLOW_TASK_SCHEDULED")], "p1"),
        # the server re-sends event 2 on a resumed page: wfctl must not print it twice
        "p1": ([event(2, "WORKFLOW_TASK_SCHEDULED"), event(3, "WORKFLOW_TASK_STARTED")], "p2"),
        "p2": ([], "p3"),  # an idle long-poll window
        "p3": ([event(4, "WORKFLOW_EXECUTION_COMPLETED")], None),
    }
    drops = {"p1": 7}  # more consecutive failures than the HTTP client retries by itself
    tokens: list[str | None] = []

    def history(request: httpx.Request):
        token = parse_qs(urlsplit(str(request.url)).query).get("nextPageToken", [None])[0]
        if drops.get(token):
            drops[token] -= 1
            raise httpx.ConnectError("dropped", request=request)
        tokens.append(token)
        events, nxt = pages[token]
        return {"history": {"events": events}, **({"nextPageToken": nxt} if nxt else {})}

    fake = Fake().on("GET", f"{NS}/workflows/wf", describe()).on("GET", f"{NS}/workflows/wf/history", history)
    events = list(make(fake).tail("wf", TailRequest(live=True)))
    assert [e.index for e in events] == [1, 2, 3, 4]
    assert tokens == [None, "p1", "p2", "p3"]
    assert all(fake.params(i).get("execution.runId") == [RUN_A] for i in range(1, len(fake.requests)))

    # more drops than it tolerates: exit 5, not a hang
    drops["p1"] = 100
    tokens.clear()
    from wfctl.errors import UnavailableError

    with pytest.raises(UnavailableError):
        list(make(fake).tail("wf", TailRequest(live=True)))


def test_tail_last_reads_backwards_and_names_activities():
    reverse_pages = {
        None: (
            [
                event(9, "WORKFLOW_EXECUTION_COMPLETED"),
                event(8, "ACTIVITY_TASK_COMPLETED", {"scheduledEventId": "5", "result": payloads(1)}),
            ],
            "older",
        ),
        "older": (
            [
                event(7, "WORKFLOW_TASK_STARTED"),
                event(6, "ACTIVITY_TASK_STARTED", {"scheduledEventId": "5"}),
                event(5, "ACTIVITY_TASK_SCHEDULED", {"activityId": "a", "activityType": {"name": "pay"}}),
            ],
            "oldest",
        ),
    }

    def reverse(request: httpx.Request):
        token = parse_qs(urlsplit(str(request.url)).query).get("nextPageToken", [None])[0]
        events, nxt = reverse_pages[token]
        return {"history": {"events": events}, **({"nextPageToken": nxt} if nxt else {})}

    fake = Fake().on("GET", f"{NS}/workflows/wf/history-reverse", reverse)
    events = list(make(fake).tail("wf", TailRequest(last=2)))
    assert [(e.index, e.type, e.stepName, e.stepId) for e in events] == [
        (8, "ActivityTaskCompleted", "pay", "a"),
        (9, "WorkflowExecutionCompleted", None, None),
    ]
    assert len(fake.requests) == 2  # read back only until the activity's name was known


def test_start_is_idempotent_and_retried():
    bodies: list[dict] = []

    def start(request: httpx.Request):
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(503, json={"code": 14, "message": "unavailable"})
        return {"runId": RUN_A, "started": True, "status": "WORKFLOW_EXECUTION_STATUS_RUNNING"}

    fake = Fake().on("POST", f"{NS}/workflows/my-id", start)
    backend = make(fake, task_queue="profile-q")
    run = backend.start(StartRequest(workflow="demo", input=[1, {"a": "b"}], run_id="my-id"))
    assert run.runId == "my-id" and run.status == "running" and run.extra["runId"] == RUN_A
    assert len(bodies) == 2 and bodies[0]["requestId"] == bodies[1]["requestId"]  # one request id: idempotent
    body = bodies[0]
    assert body["taskQueue"] == {"name": "profile-q"} and body["workflowType"] == {"name": "demo"}
    (arg,) = body["input"]["payloads"]  # a list input is ONE argument
    assert decode_payload(arg) == [1, {"a": "b"}]

    conflict = Fake().on(
        "POST",
        f"{NS}/workflows/dup",
        httpx.Response(
            409, json={"code": 6, "message": "Workflow execution is already running. WorkflowId: dup, RunId: x."}
        ),
    )
    with pytest.raises(UsageError, match="already running"):
        make(conflict).start(StartRequest(workflow="demo", run_id="dup", task_queue="q"))
    with pytest.raises(UsageError, match="task queue"):
        make(Fake()).start(StartRequest(workflow="demo"))
    # generated ids: <type>-<12 hex>, path-safe even when the type is not
    recorder = Fake()
    with pytest.raises(NotFoundError):  # no route in this fake: only the path matters here
        make(recorder, task_queue="q").start(StartRequest(workflow="a/b c"))
    path = recorder.requests[-1].url.path
    assert path.startswith(f"{NS}/workflows/a-b-c-") and len(path.rsplit("-", 1)[-1]) == 12
    with pytest.raises(UnsupportedError, match="environment"):
        make(Fake(), task_queue="q").start(StartRequest(workflow="demo", env={"A": "1"}))


def test_cancel_outcomes_for_races_and_errors():
    state = {"terminate": 0}

    def terminate(request: httpx.Request):
        state["terminate"] += 1
        return httpx.Response(404, json={"code": 5, "message": "workflow execution already completed"})

    fake = Fake().on("GET", f"{NS}/workflows/wf", describe())
    fake.on("POST", f"{NS}/workflows/wf/terminate", terminate)
    fake.on("POST", f"{NS}/workflows/wf/cancel", httpx.Response(500, json={"code": 13, "message": "internal"}))
    backend = make(fake)
    (outcome,) = backend.cancel(["wf"], "why", terminate=True)
    assert outcome.outcome == "already_completed"  # it closed between describe and terminate
    (outcome,) = backend.cancel(["wf"], "why")
    assert outcome.outcome == "error" and "internal" in outcome.message
    body = json.loads(fake.requests[-1].content)
    assert body["reason"] == "why" and body["workflowExecution"] == {"runId": RUN_A} and body["requestId"]


def test_unreachable_server_is_exit_5_and_a_failed_doctor_check():
    def refuse(request: httpx.Request):
        raise httpx.ConnectError("connection refused", request=request)

    fake = Fake().on("GET", f"{NS}/workflows/wf", refuse).on("GET", "/api/v1/system-info", refuse)
    backend = make(fake)
    from wfctl.errors import UnavailableError

    with pytest.raises(UnavailableError) as caught:
        backend.get_status("wf")
    assert caught.value.code == 5 and "unreachable" in caught.value.message
    assert len(fake.requests) == 5  # GETs are retried (4 retries) before giving up
    (check,) = make(fake).doctor()
    assert check.name == "reachable" and not check.ok and "unreachable" in check.detail
    # status --wait survives a dropped long-poll: wait_for_change returns, the next status check decides
    run = Run(runId="wf", backend="temporal", workflowId="wf", status="running", extra={"runId": RUN_A})
    make(Fake().on("GET", f"{NS}/workflows/wf/history", refuse)).wait_for_change(run, 5.0)


def test_answers_of_the_wrong_shape_exit_5_naming_the_field():
    from wfctl.errors import UnavailableError

    cases = [
        (
            describe(status=None, type="demo"),
            "the describe of 'wf' with 'type' as a string where its API has an object",
        ),
        (
            {"workflowExecutionInfo": {**describe()["workflowExecutionInfo"], "startTime": {"seconds": 1}}},
            "'startTime' as an object where its API has a string",
        ),
        ({**describe(), "pendingActivities": {"a": 1}}, "'pendingActivities' as an object where its API has an array"),
        ({"workflowExecutionInfo": []}, "without a workflowExecutionInfo.execution object"),
        (
            httpx.Response(200, json=[describe()]),
            "answered GET /api/v1/namespaces/default/workflows/wf with an array where its API has an object",
        ),
    ]
    for answer, message in cases:
        backend = make(Fake().on("GET", f"{NS}/workflows/wf", answer))
        with pytest.raises(UnavailableError) as info:
            backend.get_status("wf")
        assert message in info.value.message, info.value.message

    history = (
        Fake()
        .on("GET", f"{NS}/workflows/wf", describe())
        .on("GET", f"{NS}/workflows/wf/history", {"history": {"events": [{"eventId": "1", "eventType": ["STARTED"]}]}})
    )
    with pytest.raises(UnavailableError) as info:
        list(make(history).tail("wf", TailRequest()))
    assert info.value.message == (
        "Temporal answered the history of wf with 'eventType' as an array where its API has a string"
    )
    listing = Fake().on("GET", f"{NS}/workflows", {"executions": {"wf": describe()["workflowExecutionInfo"]}})
    with pytest.raises(UnavailableError) as info:
        make(listing).list_runs(ListQuery())
    assert "without a list of execution objects" in info.value.message
    # a value deeper in an answer that is not what the API says: one line too, never an internal error
    broken = {**describe(), "pendingActivities": ["not an activity"]}
    deep = Fake().on("GET", f"{NS}/workflows/wf", broken).on("GET", f"{NS}/workflows/wf/history", {"history": {}})
    with pytest.raises(UnavailableError) as info:
        make(deep).get_run("wf")
    assert info.value.message.startswith(
        "Temporal answered the describe and history of wf in a shape wfctl does not read (AttributeError:"
    )


def test_long_poll_window_follows_a_short_timeout():
    backend = make(Fake(), timeout=2)
    assert backend._long_poll() == (2.0, 1.0)
    assert make(Fake())._long_poll() == (30.0, 15.0)


def test_failure_info_keeps_details_non_retryable_and_causes():
    failure = {
        "message": "Activity task failed",
        "activityFailureInfo": {"activityId": "1", "retryState": "RETRY_STATE_NON_RETRYABLE_FAILURE"},
        "cause": {
            "message": "order rejected",
            "source": "PythonSDK",
            "applicationFailureInfo": {
                "type": "Rejected",
                "nonRetryable": True,
                "details": payloads({"order": 17}, "second-detail"),
            },
        },
    }
    info = failure_info(failure)
    assert info is not None
    assert (info["type"], info["retryState"], info["nonRetryable"]) == ("ActivityFailure", "NonRetryableFailure", None)
    assert info["cause"] == {
        "message": "order rejected",
        "type": "Rejected",
        "nonRetryable": True,
        "details": [{"order": 17}, "second-detail"],
        "timeoutType": None,
        "retryState": None,
        "source": "PythonSDK",
        "cause": None,
    }


def test_which_timeout_fired_is_read_from_the_started_event():
    from datetime import datetime, timezone

    timed_out = event(9, "WORKFLOW_EXECUTION_TIMED_OUT", {"retryState": "RETRY_STATE_TIMEOUT"})
    start = datetime(2026, 11, 22, 6, 0, 0, tzinfo=timezone.utc)
    # the run's deadline (start + 1s) before the execution's: the run timeout
    run_first = {
        "workflowRunTimeout": "1s",
        "workflowExecutionTimeout": "600s",
        "workflowExecutionExpirationTime": "2026-11-22T06:10:00Z",
    }
    _raw, _out, error, extra = close_outcome(timed_out, None, run_first, start)
    assert error is not None and error.message == "the workflow run timeout of 1s fired"
    assert extra["failure"]["timeoutType"] == "WorkflowRun" and extra["timeoutSeconds"] == 1
    # both the same (a run timeout defaults to the execution timeout): the execution timeout
    same = {
        "workflowRunTimeout": "5s",
        "workflowExecutionTimeout": "5s",
        "workflowExecutionExpirationTime": "2026-11-22T06:00:05Z",
    }
    _raw, _out, error, extra = close_outcome(timed_out, None, same, start)
    assert error is not None and error.message == "the workflow execution timeout of 5s fired"
    assert extra["failure"]["timeoutType"] == "WorkflowExecution"
    # a later run of a chain whose execution deadline comes first
    late = {
        "workflowRunTimeout": "60s",
        "workflowExecutionTimeout": "90s",
        "workflowExecutionExpirationTime": "2026-11-22T06:00:20Z",
    }
    assert close_outcome(timed_out, None, late, start)[3]["failure"]["timeoutType"] == "WorkflowExecution"


def test_visibility_query_times_are_rfc3339_with_four_digit_years():
    from datetime import timedelta

    from wfctl.backends.temporal import query_time

    assert query_time(datetime(2026, 11, 22, 6, 45, 21, 123456, tzinfo=timezone.utc)) == "2026-11-22T06:45:21.123456Z"
    assert query_time(datetime(2026, 11, 22, 7, 45, 21, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-11-22T06:45:21.000000Z"
    )
    assert query_time(datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "0999-01-02T03:04:05.000000Z"
    # the UTC instant is before the year 1: kept in its own offset rather than failing
    before_year_one = datetime(1, 1, 1, 0, 10, tzinfo=timezone(timedelta(hours=1)))
    assert query_time(before_year_one) == "0001-01-01T00:10:00.000000+01:00"
