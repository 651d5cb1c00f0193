"""The Vercel world's contract fake held to the OFFICIAL client, @workflow/world-vercel.

``tests/doubles/vercel_world.py`` was written from the same reading of the API as wfctl's Vercel backend, so a
misreading on both sides could not show. Here the official client, ``@workflow/world-vercel`` from the 4.x example
app's lock (``examples/workflow-sdk-app/node_modules``, installed by ``tests/run``), talks to the same fake over
HTTP through ``tests/peers/vercel-client/drive.mjs`` (run by the system ``node``):

* what the official client writes (runs through ``run_created`` as ``start()`` writes it, steps, retries, sleeps,
  hooks, errors with their ``errorCode``, streams) wfctl reads back exactly (``-o json``);
* what wfctl writes (``cancel``, ``wake``) the official client reads back: the run cancelled, the
  ``run_cancelled`` / ``wait_completed`` events with the run's specVersion;
* what the fake builds for the other tests (``add_run``, ``add_step``, ...) passes the official client's schemas.

Anything the official client sent that the fake did not answer as the API does was a fake bug, fixed in the fake.
Where wfctl reads the API differently from the official client, a strict expected failure names the difference.

The fake here gives an event list's ``next`` cursor only when more pages remain, as the official client reads it
(``event_cursor_on_last_page=False``). The client may open connections only to the fake: ``drive.mjs`` refuses
every other host or port and reports the attempt, and each call asserts there was none (no api.vercel.com).
Under ``CI=true`` a missing ``node`` or missing node_modules fails these tests (``peer_missing``).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.ci_rule import peer_missing
from tests.doubles.vercel_world import DEMO_WORKFLOW, FakeVercelWorld, decode_v4_frames, devl, frame_value, ulid

pytestmark = [pytest.mark.live]

ROOT = Path(__file__).resolve().parents[3]
APP_DIR = ROOT / "examples" / "workflow-sdk-app"
DRIVER = ROOT / "tests" / "peers" / "vercel-client" / "drive.mjs"
CLIENT_PACKAGE = APP_DIR / "node_modules" / "@workflow" / "world-vercel" / "package.json"
TOKEN = "tok-official-client-5f1d"
PROJECT, TEAM = "prj_official", "team_official"
GREET = "step//./workflows/demo//greet"
CONTEXT = {"traceCarrier": {}, "workflowCoreVersion": "4.8.9", "features": {"encryption": False}}
SPEC = 3  # SPEC_VERSION_CURRENT of @workflow/world 4.5.0: what the 4.x runtime writes


# -- the official client -----------------------------------------------------------------------------------------


def js(value: Any) -> Any:
    """A Python value → drive.mjs's JSON (bytes and dates tagged)."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"$date": value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if isinstance(value, dict):
        return {k: js(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [js(v) for v in value]
    return value


def py(value: Any) -> Any:
    """drive.mjs's JSON → Python values (bytes, aware datetimes; undefined → None)."""
    if isinstance(value, list):
        return [py(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        if set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        if set(value) == {"$undefined"}:
            return None
        return {k: py(v) for k, v in value.items()}
    return value


class OfficialClient:
    """``createVercelWorld({token, projectConfig})`` of @workflow/world-vercel, pointed at the fake."""

    def __init__(self, node: str, fake: FakeVercelWorld, environment: str = "production"):
        self.node, self.fake, self.environment = node, fake, environment
        self.version: str | None = None

    def batch(self, *ops: dict[str, Any]) -> list[dict[str, Any]]:
        """Run ``ops`` (``{"call", "args", "readLimit"?}``) in one node process; their results, in order."""
        job = {
            "url": self.fake.url,
            "token": TOKEN,
            "project": PROJECT,
            "team": TEAM,
            "environment": self.environment,
            "ops": [{**op, "args": js(op.get("args", []))} for op in ops],
        }
        done = subprocess.run(
            [self.node, str(DRIVER)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={"PATH": str(Path(self.node).parent), "WFCTL_WORKFLOW_APP": str(APP_DIR), "NO_COLOR": "1"},
        )
        assert done.returncode == 0, f"drive.mjs failed ({done.returncode}): {done.stderr[-2000:]}"
        answer = json.loads(done.stdout)
        assert answer["blocked"] == [], f"the official client tried to leave the fake: {answer['blocked']}"
        self.version = answer["package"]["version"]
        return answer["results"]

    def call(self, method: str, *args: Any, read_limit: int | None = None) -> Any:
        op: dict[str, Any] = {"call": method, "args": list(args)}
        if read_limit is not None:
            op["readLimit"] = read_limit
        (result,) = self.batch(op)
        assert result["ok"], f"{method} failed: {result['error']}"
        return py(result["value"])

    def calls(self, *ops: tuple[Any, ...]) -> list[Any]:
        """Several calls in one process; each must succeed."""
        results = self.batch(*({"call": op[0], "args": list(op[1:])} for op in ops))
        for op, result in zip(ops, results, strict=True):
            assert result["ok"], f"{op[0]} failed: {result['error']}"
        return [py(r["value"]) for r in results]

    def error(self, method: str, *args: Any) -> dict[str, Any]:
        (result,) = self.batch({"call": method, "args": list(args)})
        assert not result["ok"], f"{method} succeeded: {result['value']}"
        return result["error"]


def event(event_type: str, correlation_id: str | None = None, **data: Any) -> dict[str, Any]:
    """An ``AnyEventRequest`` as the 4.x runtime builds it (``specVersion: SPEC_VERSION_CURRENT``)."""
    out: dict[str, Any] = {"eventType": event_type, "specVersion": SPEC}
    if correlation_id:
        out["correlationId"] = correlation_id
    if data:
        out["eventData"] = data
    return out


def new_run_id() -> str:
    return f"wrun_{ulid()}"  # minted now: world-vercel refuses run ids far from the clock (validateUlidTimestamp)


def create(run_id: str, input: Any, workflow: str = DEMO_WORKFLOW) -> tuple[Any, ...]:
    """``start()``'s write: ``events.create(runId, run_created)`` with a client-minted run id."""
    data = {
        "deploymentId": "dpl_official1",
        "workflowName": workflow,
        "input": devl(input),
        "executionContext": CONTEXT,
    }
    return ("events.create", run_id, event("run_created", **data), {})


# -- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        peer_missing("node (runs the official @workflow/world-vercel client)")
    if not CLIENT_PACKAGE.is_file():
        peer_missing(
            "examples/workflow-sdk-app/node_modules/@workflow/world-vercel "
            "(cd examples/workflow-sdk-app && npm ci; tests/run installs it)"
        )
    return found  # type: ignore[return-value]


@pytest.fixture
def fake():
    with FakeVercelWorld(token=TOKEN, project=PROJECT, team=TEAM, event_cursor_on_last_page=False) as world:
        yield world
        # a route the official client (or wfctl) used that the fake does not know is a fake bug
        assert [(r.method, r.path) for r in world.unrouted] == []


@pytest.fixture
def official(node: str, fake: FakeVercelWorld) -> OfficialClient:
    return OfficialClient(node, fake)


def wfctl_env(fake: FakeVercelWorld, **extra: str) -> dict[str, str]:
    return {
        "WFCTL_WORLD": "vercel",
        "WFCTL_URL": fake.url,
        "WORKFLOW_VERCEL_AUTH_TOKEN": TOKEN,
        "WORKFLOW_VERCEL_PROJECT": PROJECT,
        "WORKFLOW_VERCEL_TEAM": TEAM,
        **extra,
    }


@pytest.fixture
def wfctl(cli, fake, tmp_path):
    """wfctl (in-process, the ``cli`` fixture) on the fake's Vercel world, in an empty directory."""

    def run(*args: str):
        return cli(*args, env=wfctl_env(fake), cwd=tmp_path)

    return run


def jsonl(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_names(run_id: str) -> tuple[str, str]:
    """The run's default stream and its ``logs`` namespace (``getWorkflowRunStreamId``)."""
    base = run_id.replace("wrun_", "strm_", 1) + "_user"
    return base, base + "_" + base64.urlsafe_b64encode(b"logs").decode().rstrip("=")


def step_name(short: str) -> str:
    return f"step//./workflows/demo//{short}"


def write_running_run(official: OfficialClient) -> dict[str, Any]:
    """A running run as the 4.x runtime writes it: a completed step, a step retried once, a sleep, a hook and two
    streams (the default one open, a namespaced one closed). Returns its ids."""
    ids = {"run": new_run_id(), **{k: f"{k}_{ulid()}" for k in ("step", "hook")}}
    ids["flaky"], ids["wait"] = f"step_{ulid()}", f"wait_{ulid()}"
    ids["stream"], ids["logs"] = stream_names(ids["run"])
    run_id, greet, flaky = ids["run"], ids["step"], ids["flaky"]
    official.calls(
        create(run_id, ["Ada", "1h"]),
        ("events.create", run_id, event("run_started")),
        ("events.create", run_id, event("step_created", greet, stepName=GREET, workflowName=DEMO_WORKFLOW,
                                        input=devl({"args": ["Ada"]}))),
        ("events.create", run_id, event("step_started", greet, stepName=GREET)),
        ("events.create", run_id, event("step_completed", greet, stepName=GREET, workflowName=DEMO_WORKFLOW,
                                        result=devl({"greeting": "Hello, Ada!"}))),
        ("events.create", run_id, event("step_created", flaky, stepName=step_name("flaky"),
                                        workflowName=DEMO_WORKFLOW, input=devl({"args": []}))),
        ("events.create", run_id, event("step_started", flaky, stepName=step_name("flaky"))),
        ("events.create", run_id, event("step_retrying", flaky, stepName=step_name("flaky"), error="timeout",
                                        stack="Error: timeout\n    at flaky", retryAfter=RETRY_AFTER)),
        ("events.create", run_id, event("step_started", flaky, stepName=step_name("flaky"))),
        ("events.create", run_id, event("wait_created", ids["wait"], resumeAt=RESUME_AT)),
        ("events.create", run_id, event("hook_created", ids["hook"], token="approval:doc1",
                                        metadata=devl({"doc": "doc1"}), isWebhook=False)),
        ("writeToStream", ids["stream"], run_id, frame_value("hello Ada")),
        ("writeToStreamMulti", ids["logs"], run_id, [frame_value("line 1"), frame_value("line 2")]),
        ("closeStream", ids["logs"], run_id),
    )  # fmt: skip
    return ids


RESUME_AT = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
RETRY_AFTER = datetime(2030, 1, 1, tzinfo=timezone.utc)
RUNNING_EVENTS = [
    "run_created",
    "run_started",
    "step_created",
    "step_started",
    "step_completed",
    "step_created",
    "step_started",
    "step_retrying",
    "step_started",
    "wait_created",
    "hook_created",
]


# -- (a) the official client writes, wfctl reads ------------------------------------------------------------------


def test_wfctl_get_reads_a_running_run_the_official_client_wrote(official, fake, wfctl):
    ids = write_running_run(official)
    result = wfctl("get", ids["run"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert (run["runId"], run["status"], run["rawStatus"]) == (ids["run"], "running", "running")
    assert (run["workflowName"], run["workflowId"]) == ("demoWorkflow", DEMO_WORKFLOW)
    assert (run["input"], run["output"], run["error"], run["completedAt"]) == (["Ada", "1h"], None, None, None)
    assert run["extra"] == {
        "deploymentId": "dpl_official1",
        "specVersion": SPEC,
        "workflowCoreVersion": "4.8.9",
        "features": {"encryption": False},
    }
    steps = [
        {k: s[k] for k in ("stepId", "stepName", "status", "attempt", "input", "output", "error")} for s in run["steps"]
    ]
    assert steps == [
        {"stepId": ids["step"], "stepName": "greet", "status": "completed", "attempt": 1,
         "input": {"args": ["Ada"]}, "output": {"greeting": "Hello, Ada!"}, "error": None},
        {"stepId": ids["flaky"], "stepName": "flaky", "status": "running", "attempt": 2, "input": {"args": []},
         "output": None, "error": {"message": "timeout", "code": None, "stack": "Error: timeout\n    at flaky"}},
    ]  # fmt: skip
    assert run["waits"] == [
        {"correlationId": ids["wait"], "resumeAt": iso(RESUME_AT), "status": "waiting", "completedAt": None}
    ]
    assert [(h["hookId"], h["token"], h["metadata"]) for h in run["hooks"]] == [
        (ids["hook"], "approval:doc1", {"doc": "doc1"})
    ]
    assert [(s["name"], s["namespace"], s["chunks"], s["tailIndex"], s["done"]) for s in run["streams"]] == [
        (ids["stream"], None, 1, 0, False),
        (ids["logs"], "logs", 2, 1, True),
    ]
    # the official client reads the same run, steps and hooks
    got, steps_page, hooks_page = official.calls(
        ("runs.get", ids["run"]),
        ("steps.list", {"runId": ids["run"]}),
        ("hooks.list", {"runId": ids["run"]}),
    )
    assert (got["status"], got["input"], got["specVersion"]) == ("running", devl(["Ada", "1h"]), SPEC)
    assert iso(got["createdAt"]) == run["createdAt"] and iso(got["startedAt"]) == run["startedAt"]
    assert [(s["stepId"], s["status"], s["attempt"]) for s in steps_page["data"]] == [
        (ids["step"], "completed", 1),
        (ids["flaky"], "running", 2),
    ]
    assert steps_page["data"][1]["error"] == {"message": "timeout", "stack": "Error: timeout\n    at flaky"}
    assert iso(steps_page["data"][1]["retryAfter"]) == iso(RETRY_AFTER)
    (hook,) = hooks_page["data"]
    assert (hook["hookId"], hook["token"], hook["metadata"], hook["isWebhook"]) == (
        ids["hook"], "approval:doc1", devl({"doc": "doc1"}), False
    )  # fmt: skip
    assert (hook["ownerId"], hook["projectId"], hook["environment"]) == (TEAM, PROJECT, "production")
    assert iso(hook["createdAt"]) == run["hooks"][0]["createdAt"]


def test_wfctl_tail_reads_the_events_the_official_client_wrote(official, fake, wfctl):
    ids = write_running_run(official)
    result = wfctl("tail", ids["run"], "-o", "jsonl")
    assert result.exit_code == 12, result.stderr  # still running
    *events, end = jsonl(result.stdout)
    assert [e["type"] for e in events] == RUNNING_EVENTS
    assert end == {"kind": "end", "runId": ids["run"], "status": "running", "offset": events[-1]["offset"]}
    data = [e["data"] for e in events]
    assert data[0] == {
        "deploymentId": "dpl_official1",
        "workflowName": DEMO_WORKFLOW,
        "executionContext": CONTEXT,
        "input": ["Ada", "1h"],
    }
    assert data[1] is None
    assert data[2] == {"stepName": GREET, "workflowName": DEMO_WORKFLOW, "input": {"args": ["Ada"]}}
    assert data[3] == {"stepName": GREET, "attempt": 1}
    assert data[4] == {"stepName": GREET, "workflowName": DEMO_WORKFLOW, "result": {"greeting": "Hello, Ada!"}}
    assert data[5] == {"stepName": step_name("flaky"), "workflowName": DEMO_WORKFLOW, "input": {"args": []}}
    assert {k: v for k, v in data[7].items() if k != "error"} == {  # the error: see the expected failure below
        "stepName": step_name("flaky"),
        "retryAfter": iso(RETRY_AFTER),
    }
    assert data[8] == {"stepName": step_name("flaky"), "attempt": 2}
    assert data[9] == {"resumeAt": iso(RESUME_AT)}
    assert data[10] == {"token": "approval:doc1", "isWebhook": False, "metadata": {"doc": "doc1"}}
    assert [e["stepId"] for e in events[2:9]] == [ids["step"]] * 3 + [ids["flaky"]] * 4
    assert {e["correlationId"] for e in events[9:]} == {ids["wait"], ids["hook"]}
    # the official client lists the same events, in the same order, with the same ids, times and spec version
    page = official.call("events.list", {"runId": ids["run"]})
    assert page["hasMore"] is False and page["cursor"] is None
    assert [(e["eventId"], e["eventType"], e.get("correlationId"), iso(e["createdAt"])) for e in page["data"]] == [
        (e["offset"], e["type"], e["correlationId"], e["time"]) for e in events
    ]
    assert {e["specVersion"] for e in page["data"]} == {SPEC}
    assert page["data"][7]["eventData"]["error"] == {"message": "timeout", "stack": "Error: timeout\n    at flaky"}
    assert page["data"][9]["eventData"] == {"resumeAt": RESUME_AT}


def test_wfctl_tail_stream_reads_the_chunks_the_official_client_wrote(official, fake, wfctl):
    ids = write_running_run(official)
    result = wfctl("tail", ids["run"], "--stream", "-o", "jsonl")
    assert [(c["index"], c["data"]) for c in jsonl(result.stdout)[:-1]] == [(0, "hello Ada")]
    result = wfctl("tail", ids["run"], "--stream", "logs", "-o", "jsonl")
    assert [(c["index"], c["data"]) for c in jsonl(result.stdout)[:-1]] == [(0, "line 1"), (1, "line 2")]
    # the official client reads them back: snapshot pages, info, the list, and the live read
    chunks, info, names, live, last = official.calls(
        ("getStreamChunks", ids["logs"], ids["run"], {"limit": 1}),
        ("getStreamInfo", ids["logs"], ids["run"]),
        ("listStreamsByRunId", ids["run"]),
        ("readFromStream", ids["logs"], 0),
        ("readFromStream", ids["logs"], -1),
    )
    assert chunks["data"] == [{"index": 0, "data": frame_value("line 1")}] and chunks["hasMore"] is True
    assert info == {"tailIndex": 1, "done": True}
    assert sorted(names) == sorted([ids["stream"], ids["logs"]])
    assert live["done"] is True and b"".join(live["$chunks"]) == frame_value("line 1") + frame_value("line 2")
    assert b"".join(last["$chunks"]) == frame_value("line 2")


FATAL_STACK = "FatalError: boom: bad input\n    at validate (workflows/demo.ts:12:11)"


def write_failed_run(official: OfficialClient) -> dict[str, Any]:
    """A run whose step was retried once, then failed fatally, then the run failed (``errorCode`` USER_ERROR), as
    the 4.x runtime writes them: the errors in the frame meta (a message and stack for the step, ``{message,
    stack}`` for the run)."""
    ids = {"run": new_run_id(), "step": f"step_{ulid()}"}
    run_id, step = ids["run"], ids["step"]
    official.calls(
        create(run_id, ["doc9"]),
        ("events.create", run_id, event("run_started")),
        ("events.create", run_id, event("step_created", step, stepName=step_name("validate"),
                                        workflowName=DEMO_WORKFLOW, input=devl({"args": ["doc9"]}))),
        ("events.create", run_id, event("step_started", step, stepName=step_name("validate"))),
        ("events.create", run_id, event("step_retrying", step, stepName=step_name("validate"),
                                        error="flaky: try again", stack="Error: flaky: try again")),
        ("events.create", run_id, event("step_started", step, stepName=step_name("validate"))),
        ("events.create", run_id, event("step_failed", step, stepName=step_name("validate"),
                                        error="boom: bad input", stack=FATAL_STACK)),
        ("events.create", run_id, event("run_failed", error={"message": "boom: bad input", "stack": FATAL_STACK},
                                        errorCode="USER_ERROR")),
    )  # fmt: skip
    return ids


def test_wfctl_reads_a_failed_run_and_its_error_code(official, fake, wfctl):
    ids = write_failed_run(official)
    result = wfctl("get", ids["run"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert (run["status"], run["output"], run["waits"], run["hooks"]) == ("failed", None, [], [])
    assert run["error"] == {"message": "boom: bad input", "code": "USER_ERROR", "stack": FATAL_STACK}
    (step,) = run["steps"]
    assert (step["stepName"], step["status"], step["attempt"], step["input"]) == (
        "validate", "failed", 2, {"args": ["doc9"]}
    )  # fmt: skip
    assert step["error"] == {"message": "boom: bad input", "code": None, "stack": FATAL_STACK}
    assert wfctl("status", ids["run"]).exit_code == 10
    found = wfctl("list", "-o", "json", "--status", "failed", "--search", "BAD INPUT").json()["data"]
    assert [(r["runId"], r["error"]["code"]) for r in found] == [(ids["run"], "USER_ERROR")]
    # the official client reads the same error: errorCode merged into the StructuredError
    got, steps, page = official.calls(
        ("runs.get", ids["run"]),
        ("steps.list", {"runId": ids["run"]}),
        ("events.list", {"runId": ids["run"]}),
    )
    assert got["error"] == {"message": "boom: bad input", "stack": FATAL_STACK, "code": "USER_ERROR"}
    assert steps["data"][0]["error"] == {"message": "boom: bad input", "stack": FATAL_STACK}
    failed = page["data"][-1]
    assert (failed["eventType"], failed["eventData"]) == (
        "run_failed", {"errorCode": "USER_ERROR", "error": {"message": "boom: bad input", "stack": FATAL_STACK}}
    )  # fmt: skip


def test_wfctl_tail_decodes_the_error_events_the_official_client_wrote(official, fake, wfctl):
    ids = write_failed_run(official)
    result = wfctl("tail", ids["run"], "-o", "jsonl")
    assert result.exit_code == 10, result.stderr
    events = {e["type"]: e["data"] for e in jsonl(result.stdout)[:-1]}
    assert events["step_retrying"] == {
        "stepName": step_name("validate"),
        "error": {"message": "flaky: try again", "stack": "Error: flaky: try again"},
    }
    assert events["step_failed"] == {
        "stepName": step_name("validate"),
        "error": {"message": "boom: bad input", "stack": FATAL_STACK},
    }
    assert events["run_failed"] == {
        "errorCode": "USER_ERROR",
        "error": {"message": "boom: bad input", "stack": FATAL_STACK},
    }


def test_wfctl_reads_completed_runs_the_official_client_wrote_and_lists_them_as_it_does(official, fake, wfctl):
    other = "workflow//./workflows/other//otherWorkflow"
    first, second, third = new_run_id(), new_run_id(), new_run_id()
    official.calls(
        create(first, ["Cy", "1h"]),
        ("events.create", first, event("run_started")),
        ("events.create", first, event("run_completed", output=devl({"greeting": "Hello, Cy!", "length": 10}))),
        create(second, ["doc2"], workflow=other),
        ("events.create", second, event("run_started")),
        create(third, ["Bo"]),
    )
    result = wfctl("get", first, "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert (run["status"], run["input"], run["output"]) == (
        "completed",
        ["Cy", "1h"],
        {"greeting": "Hello, Cy!", "length": 10},
    )
    assert run["completedAt"] is not None and run["steps"] == [] and run["streams"] == []
    assert wfctl("status", first).exit_code == 0
    tail = jsonl(wfctl("tail", first, "-o", "jsonl").stdout)
    assert [e["type"] for e in tail[:-1]] == ["run_created", "run_started", "run_completed"]
    assert tail[-2]["data"] == {"output": {"greeting": "Hello, Cy!", "length": 10}}
    # wfctl's list and the official client's list: the same runs, in the same order, with the same statuses
    listed = wfctl("list", "-o", "json").json()["data"]
    page = official.call("runs.list", {})
    assert [(r["runId"], r["status"]) for r in listed] == [(r["runId"], r["status"]) for r in page["data"]]
    assert [r["runId"] for r in listed] == [third, second, first]
    assert [r["status"] for r in listed] == ["pending", "running", "completed"]
    assert [r["workflowName"] for r in listed] == ["demoWorkflow", "otherWorkflow", "demoWorkflow"]
    by_workflow = official.call("runs.list", {"workflowName": other, "resolveData": "none"})
    assert (
        [r["runId"] for r in by_workflow["data"]]
        == [second]
        == wfctl("list", "-o", "id", "--workflow", other).stdout.split()
    )
    assert "input" not in by_workflow["data"][0]  # resolveData none: no payloads


def test_wfctl_reads_a_hook_the_official_client_resumed_and_disposed(official, fake, wfctl):
    run_id, hook, kept = new_run_id(), f"hook_{ulid()}", f"hook_{ulid()}"
    official.calls(
        create(run_id, ["doc3"]),
        ("events.create", run_id, event("run_started")),
        ("events.create", run_id, event("hook_created", hook, token="approval:doc3", metadata=devl({"doc": "doc3"}))),
        ("events.create", run_id, event("hook_created", kept, token="webhook:doc3", isWebhook=True)),
        ("events.create", run_id, event("hook_received", hook, token="approval:doc3",
                                        payload=devl({"approved": True}))),
        ("events.create", run_id, event("hook_disposed", hook, token="approval:doc3")),
    )  # fmt: skip
    run = wfctl("get", run_id, "-o", "json").json()
    assert [(h["hookId"], h["token"], h["metadata"]) for h in run["hooks"]] == [(kept, "webhook:doc3", None)]
    events = jsonl(wfctl("tail", run_id, "-o", "jsonl").stdout)[:-1]
    assert [(e["type"], e["correlationId"]) for e in events[2:]] == [
        ("hook_created", hook),
        ("hook_created", kept),
        ("hook_received", hook),
        ("hook_disposed", hook),
    ]
    assert events[4]["data"] == {"token": "approval:doc3", "payload": {"approved": True}}
    # a token held by an active hook: the world records a hook_conflict, as the official client expects
    other = new_run_id()
    official.calls(create(other, []), ("events.create", other, event("run_started")))
    conflict = official.call("events.create", other, event("hook_created", f"hook_{ulid()}", token="webhook:doc3"))
    assert conflict["event"]["eventType"] == "hook_conflict"
    assert conflict["event"]["eventData"] == {"token": "webhook:doc3", "conflictingRunId": run_id}
    assert official.call("hooks.getByToken", "webhook:doc3")["hookId"] == kept


def test_the_environment_the_official_client_writes_in_is_the_one_wfctl_reads(node, fake, wfctl, cli, tmp_path):
    preview = OfficialClient(node, fake, environment="preview")
    run_id = new_run_id()
    preview.calls(create(run_id, ["Ada"]))
    assert wfctl("status", run_id).exit_code == 3  # production: not there
    result = cli("get", run_id, "-o", "json", env=wfctl_env(fake, WORKFLOW_VERCEL_ENV="preview"), cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (result.json()["status"], result.json()["input"]) == ("pending", ["Ada"])
    assert OfficialClient(node, fake).error("runs.get", run_id)["name"] == "WorkflowRunNotFoundError"


# -- (b) wfctl writes, the official client reads -----------------------------------------------------------------


def test_the_official_client_reads_the_run_wfctl_cancelled(official, fake, wfctl):
    ids = write_running_run(official)
    result = wfctl("cancel", ids["run"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled"
    got, page, hooks, cancelled = official.calls(
        ("runs.get", ids["run"]),
        ("events.list", {"runId": ids["run"]}),
        ("hooks.list", {"runId": ids["run"]}),
        ("runs.list", {"status": "cancelled"}),
    )
    assert got["status"] == "cancelled" and got["completedAt"] is not None
    last = page["data"][-1]
    assert (last["eventType"], last["specVersion"], last["runId"]) == ("run_cancelled", SPEC, ids["run"])
    assert [e["eventType"] for e in page["data"]] == [*RUNNING_EVENTS, "run_cancelled"]
    assert hooks["data"] == []  # a finished run's hooks are gone
    assert [r["runId"] for r in cancelled["data"]] == [ids["run"]]
    # wfctl wrote what the official client's own cancel (cancelRun) writes: the same route and frame, less the
    # client's occurredAt and remoteRefBehavior; a second cancel of a cancelled run is accepted (idempotent)
    mine = official.call("events.create", ids["run"], event("run_cancelled"))
    assert mine["run"]["status"] == "cancelled" and mine["event"]["eventType"] == "run_cancelled"
    theirs, ours = fake.calls("POST", "/events/run_cancelled")
    assert theirs.path == ours.path == f"/v4/runs/{ids['run']}/events/run_cancelled"
    assert theirs.headers["content-type"] == ours.headers["content-type"] == "application/octet-stream"
    ((meta_wfctl, body_wfctl),) = decode_v4_frames(theirs.body)
    ((meta_official, body_official),) = decode_v4_frames(ours.body)
    assert body_wfctl == body_official == b""
    assert meta_wfctl == {"eventType": "run_cancelled", "specVersion": SPEC}
    assert {k: v for k, v in meta_official.items() if k not in ("occurredAt", "remoteRefBehavior")} == meta_wfctl
    assert wfctl("cancel", ids["run"], "-o", "json").json()[0]["outcome"] == "already_completed"


def test_wfctl_reads_the_run_the_official_client_cancelled(official, fake, wfctl):
    ids = write_running_run(official)
    official.calls(("events.create", ids["run"], event("run_cancelled")))
    run = wfctl("get", ids["run"], "-o", "json").json()
    assert (run["status"], run["waits"], run["hooks"]) == ("cancelled", [], [])
    assert wfctl("status", ids["run"]).exit_code == 11
    assert jsonl(wfctl("tail", ids["run"], "-o", "jsonl").stdout)[-2]["type"] == "run_cancelled"


def test_the_official_client_reads_the_sleep_wfctl_woke(official, fake, wfctl):
    ids = write_running_run(official)
    later = f"wait_{ulid()}"
    official.calls(("events.create", ids["run"], event("wait_created", later, resumeAt=RESUME_AT + timedelta(days=1))))
    result = wfctl("wake", ids["run"], "--correlation-id", ids["wait"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["correlationIds"] == [ids["wait"]]
    page = official.call("events.list", {"runId": ids["run"], "resolveData": "none"})
    woke = page["data"][-1]
    assert (woke["eventType"], woke["correlationId"], woke["specVersion"]) == ("wait_completed", ids["wait"], SPEC)
    assert woke["eventData"] == {"resumeAt": RESUME_AT}  # a Date again, as wakeUpRun reads it
    # the pending sleeps, computed as the official wakeUpRun does (paging with limit 1000 while hasMore)
    assert pending_waits(official, ids["run"]) == [later]
    # the official client's own wake of the other sleep: the same route and frame as wfctl's, less occurredAt and
    # remoteRefBehavior
    official.calls(
        ("events.create", ids["run"], event("wait_completed", later, resumeAt=RESUME_AT + timedelta(days=1)))
    )
    assert pending_waits(official, ids["run"]) == []
    theirs, ours = fake.calls("POST", "/events/wait_completed")
    ((meta_wfctl, _),) = decode_v4_frames(theirs.body)
    ((meta_official, _),) = decode_v4_frames(ours.body)
    assert set(meta_wfctl) == {"eventType", "specVersion", "correlationId", "resumeAt"}
    assert {k: v for k, v in meta_official.items() if k not in ("occurredAt", "remoteRefBehavior")}.keys() == (
        meta_wfctl.keys()
    )
    assert (meta_wfctl["specVersion"], meta_wfctl["resumeAt"]) == (SPEC, RESUME_AT)
    run = wfctl("get", ids["run"], "-o", "json").json()
    assert {w["correlationId"]: w["status"] for w in run["waits"]} == {ids["wait"]: "completed", later: "completed"}
    # both sleeps are stopped: wfctl has nothing left to wake, and the official client's write is refused (409)
    assert wfctl("wake", ids["run"], "-o", "json").json()["stoppedCount"] == 0
    error = official.error("events.create", ids["run"], event("wait_completed", later))
    assert error["name"] == "EntityConflictError" and "already completed" in error["message"]  # HTTP 409


def pending_waits(official: OfficialClient, run_id: str) -> list[str]:
    """``wakeUpRun``'s reading of the event log (@workflow/core 4.8.9 runtime/runs.js): every page, while hasMore."""
    events: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"runId": run_id, "pagination": {"limit": 1000}, "resolveData": "none"}
        if cursor:
            params["pagination"]["cursor"] = cursor
        page = official.call("events.list", params)
        events += page["data"]
        cursor = page["cursor"] if page["hasMore"] else None
        if not cursor:
            break
    else:
        raise AssertionError("the official client's event pager did not end")
    done = {e["correlationId"] for e in events if e["eventType"] == "wait_completed"}
    return [e["correlationId"] for e in events if e["eventType"] == "wait_created" and e["correlationId"] not in done]


def test_wfctl_cancels_a_legacy_run_the_official_client_created(official, fake, wfctl):
    created = official.call(
        "events.create",
        None,
        {
            "eventType": "run_created",
            "specVersion": 1,
            "eventData": {"deploymentId": "dpl_old", "workflowName": DEMO_WORKFLOW, "input": ["Ada"]},
        },
        {"v1Compat": True},
    )
    run_id = created["run"]["runId"]
    assert fake.calls("POST")[-1].path == "/v1/runs/create"
    run = wfctl("get", run_id, "-o", "json").json()
    assert (run["status"], run["input"], run["extra"]["specVersion"]) == ("pending", ["Ada"], None)
    assert wfctl("cancel", run_id, "-o", "json").json()[0]["outcome"] == "cancelled"
    assert official.call("runs.get", run_id)["status"] == "cancelled"
    # the official client's own legacy cancel takes the same route
    legacy = {"deploymentId": "dpl_old", "workflowName": DEMO_WORKFLOW, "input": []}
    other = official.call(
        "events.create", None, {"eventType": "run_created", "specVersion": 1, "eventData": legacy}, {"v1Compat": True}
    )["run"]["runId"]
    official.call("events.create", other, {"eventType": "run_cancelled", "specVersion": 1}, {"v1Compat": True})
    assert [r.path for r in fake.calls("PUT")] == [f"/v1/runs/{run_id}/cancel", f"/v1/runs/{other}/cancel"]
    assert wfctl("status", other).exit_code == 11


# -- the fake's own data, the event list's pages, the wire -----------------------------------------------------------


def test_the_official_client_reads_what_the_fake_builds(official, fake):
    """The runs the other Vercel tests build with the fake's builders pass the official client's schemas (a
    schema failure raises) and read back as built."""
    done = fake.add_run(status="running", input=["Cy"])
    step = fake.add_step(done, "greet", input=["Cy"], output="hi")
    fake.set_status(done, "completed", output={"greeting": "Hello, Cy!"})
    failed = fake.add_run(status="failed", error="kaput", error_code="USER_ERROR", error_as_json_string=True)
    broken = fake.add_step(failed, "validate", status="failed", error="bad input")
    running = fake.add_run(status="running", input=["Ada", "1h"])
    sleep = fake.add_sleep(running)
    hook = fake.add_hook(running, token="approval:doc1", metadata={"doc": "doc1"})
    stream = fake.add_stream(running, ["hello Ada"], done=True)
    results = official.calls(
        ("runs.get", done),
        ("runs.get", failed),
        ("runs.list", {"resolveData": "none"}),
        ("steps.list", {"runId": done}),
        ("steps.get", done, step),
        ("steps.get", None, broken),
        ("events.list", {"runId": done}),
        ("events.list", {"runId": failed}),
        ("events.list", {"runId": running, "resolveData": "none"}),
        ("events.listByCorrelationId", {"correlationId": sleep, "runId": running}),
        ("hooks.list", {"runId": running}),
        ("hooks.get", hook),
        ("getStreamChunks", stream, running, {}),
        ("getStreamInfo", stream, running),
        ("readFromStream", stream),
    )
    got_done, got_failed, listed, steps, one_step, failed_step, done_events, failed_events, lazy_events = results[:9]
    by_corr, hooks, hook_one, chunks, info, live = results[9:]
    assert (got_done["status"], got_done["output"]) == ("completed", devl({"greeting": "Hello, Cy!"}))
    assert got_failed["error"] == {"message": "kaput", "stack": "Error: boom", "code": "USER_ERROR"}
    assert {r["runId"] for r in listed["data"]} == {done, failed, running}
    assert [(s["stepId"], s["output"]) for s in steps["data"]] == [(step, devl("hi"))] and one_step["stepId"] == step
    assert failed_step["error"] == {"message": "bad input", "stack": "Error: bad input"}
    assert [e["eventType"] for e in done_events["data"]] == [
        "run_created", "run_started", "step_created", "step_started", "step_completed", "run_completed"
    ]  # fmt: skip
    assert done_events["data"][-1]["eventData"] == {"output": devl({"greeting": "Hello, Cy!"})}
    errors = {e["eventType"]: e["eventData"] for e in failed_events["data"] if "failed" in e["eventType"]}
    assert errors == {
        "step_failed": {
            "stepName": step_name("validate"),
            "error": {"message": "bad input", "stack": "Error: bad input"},
        },
        "run_failed": {"errorCode": "USER_ERROR", "error": {"message": "kaput", "stack": "Error: boom"}},
    }
    assert "input" not in lazy_events["data"][0]["eventData"]  # resolveData none: the payload is left out
    assert [(e["eventType"], e["correlationId"]) for e in by_corr["data"]] == [("wait_created", sleep)]
    assert isinstance(by_corr["data"][0]["eventData"]["resumeAt"], datetime)
    assert [(h["hookId"], h["metadata"]) for h in hooks["data"]] == [(hook, devl({"doc": "doc1"}))]
    assert hook_one["token"] == "approval:doc1"
    assert chunks == {
        "data": [{"index": 0, "data": frame_value("hello Ada")}],
        "cursor": None,
        "hasMore": False,
        "done": True,
    }
    assert info == {"tailIndex": 0, "done": True} and live["$chunks"] == [frame_value("hello Ada")]


def test_the_event_list_pages_end_where_the_official_client_expects(official, fake, wfctl):
    """The official client takes an end frame's ``next`` as "more pages remain": its pager must end with the last
    page, every event once; wfctl reads the same events."""
    ids = write_running_run(official)
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(10):
        pagination = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = official.call("events.list", {"runId": ids["run"], "pagination": pagination})
        seen += [e["eventId"] for e in page["data"]]
        sizes.append(len(page["data"]))
        cursor = page["cursor"] if page["hasMore"] else None
        if cursor is None:
            assert page["cursor"] is None and page["hasMore"] is False
            break
    assert sizes == [4, 4, 3]
    events = jsonl(wfctl("tail", ids["run"], "-o", "jsonl").stdout)[:-1]
    assert seen == [e["offset"] for e in events] and len(set(seen)) == len(RUNNING_EVENTS)


def test_wfctl_tail_live_follows_a_run_the_official_client_started(official, fake, wfctl):
    run_id = new_run_id()
    official.calls(create(run_id, ["Ada"]), ("events.create", run_id, event("run_started")))
    fake.progress_as_read(run_id)
    result = wfctl("tail", run_id, "--live", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    items = jsonl(result.stdout)
    assert [e["type"] for e in items[:-1]] == [
        "run_created", "run_started", "step_created", "step_started", "step_completed", "run_completed"
    ]  # fmt: skip
    assert [e["index"] for e in items[:-1]] == list(range(6)) and items[-1]["status"] == "completed"


def test_wfctl_tail_live_resumes_from_the_cursor_the_api_gives(official, fake, wfctl):
    """The API's cursor is opaque and comes only with a page that has more after it (events-v4: ``next``
    present when more pages remain): a poll resumes from the cursor of the last page read, so a log of one
    page is read again from its start (at most one page per poll), and nothing is printed twice."""
    run_id = new_run_id()
    official.calls(create(run_id, ["Ada"]), ("events.create", run_id, event("run_started")))
    reads = fake.progress_as_read(run_id)
    result = wfctl("tail", run_id, "--live", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(reads) >= 3
    assert not any(r.param("cursor") for r in reads)  # one page: the API never gave a cursor to resume from
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [line["offset"] for line in lines if line["kind"] == "event"]
    assert len(ids) == len(set(ids)) and lines[-1]["status"] == "completed"


def test_the_official_client_reads_an_open_stream_live(official, fake):
    ids = write_running_run(official)
    first, _, _, rest = official.batch(
        {"call": "readFromStream", "args": [ids["stream"], 0], "readLimit": 1},
        {"call": "writeToStream", "args": [ids["stream"], ids["run"], frame_value("bye")]},
        {"call": "closeStream", "args": [ids["stream"], ids["run"]]},
        {"call": "readFromStream", "args": [ids["stream"], 1]},
    )
    # open: the read holds on until the client stops reading; closed: it ends after the last chunk
    assert py(first["value"]) == {"$chunks": [frame_value("hello Ada")], "done": False}
    assert py(rest["value"]) == {"$chunks": [frame_value("bye")], "done": True}
    assert fake.streams[ids["run"]][ids["stream"]]["done"] is True


def test_both_clients_send_the_documented_headers_and_reach_only_the_fake(official, fake, wfctl):
    ids = write_running_run(official)
    official.calls(
        ("runs.get", ids["run"]), ("events.list", {"runId": ids["run"]}), ("getStreamInfo", ids["stream"], ids["run"])
    )
    official_count = len(fake.requests)
    assert wfctl("get", ids["run"], "-o", "json").exit_code == 0
    assert wfctl("cancel", ids["run"], "-o", "json").exit_code == 0
    assert len(fake.requests) > official_count
    for i, request in enumerate(fake.requests):
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert (request.headers["x-vercel-project-id"], request.headers["x-vercel-team-id"]) == (PROJECT, TEAM)
        assert request.headers["x-vercel-environment"] == "production"
        assert request.status < 400, (request.method, request.path, request.status)
        if i < official_count:
            assert request.headers["user-agent"].startswith(f"@workflow/world-vercel/{official.version} node-")
        if request.path.startswith("/v2/runs/") and request.method == "GET" and "/stream" not in request.path:
            assert "application/cbor" in request.headers.get("accept", ""), (request.path, request.headers)
        if request.method == "POST":
            assert request.headers["content-type"] == "application/octet-stream"
    assert official.version == json.loads(CLIENT_PACKAGE.read_text())["version"]
