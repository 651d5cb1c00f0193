"""The Workflow SDK local world backend: fast tests on data directories.

Two kinds of data: the real directory recorded from the example app (``examples/workflow-sdk-demo``, used
through temporary copies whenever a test writes), and small worlds built here file by file in the exact
format of the recorded ones (for the cases a recording cannot hold: corrupt and half-written files, tags, the
per-run layout, legacy chunks, 300 runs). The layouts read are listed in docs/architecture.md ("Workflow SDK
local world") and the files of each run in benchmarks/gen_local_world.py.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.net import closed_port
from wfctl.backends.base import BackendContext, TailRequest
from wfctl.backends.workflow_sdk import localfs
from wfctl.backends.workflow_sdk.ids import UlidFactory, ulid_time_ms
from wfctl.backends.workflow_sdk.local import LocalWorldBackend, stream_name
from wfctl.backends.workflow_sdk.localfs import find_data_dir
from wfctl.config import resolve
from wfctl.errors import ExitCode, NotFoundError, UnavailableError, UsageError
from wfctl.model import Chunk, Event, ListQuery

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
DEMO_V5 = ROOT / "examples" / "workflow-sdk-demo-v5"  # the same scenarios recorded on workflow 5.0.0-beta.55
DEMOS = pytest.mark.parametrize("demo", [DEMO, DEMO_V5], ids=["4.x", "5.0"])

WF = "workflow//./workflows/demo//demoWorkflow"
RUN = "wrun_01M80QNBJQ0H1SETZXYVHZB6ZY"  # a sleeping demoWorkflow run, as in examples/workflow-sdk-demo
STEP = "step_01M80QNBNMA2QC4CBMJ35EB8CB"
WAIT = "wait_01M80QNBNMA2QC4CBMJ35EB8CC"


# -- building worlds in the SDK's format ------------------------------------------------------------------


def u8(payload: bytes) -> dict[str, str]:
    """The local world's JSON encoding of a Uint8Array."""
    return {"__type": "Uint8Array", "data": base64.b64encode(payload).decode()}


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


class World:
    """Writes a data directory file by file, as world-local 4.4.1 lays it out (2-space JSON)."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, data: Any) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) if not isinstance(data, (str, bytes)) else data) if not isinstance(
            data, bytes
        ) else path.write_bytes(data)
        return path

    def run(
        self,
        run_id: str,
        status: str,
        *,
        workflow: str = WF,
        created: str = "2026-11-22T04:19:07.060Z",
        input: bytes = b'devl[[1,2],"Ada","1h"]',
        spec: int = 3,
        tag: str | None = None,
        **extra: Any,
    ) -> Path:
        record = {
            "runId": run_id,
            "deploymentId": "dpl_local@bundled",
            "workflowName": workflow,
            "specVersion": spec,
            "executionContext": {"traceCarrier": {}, "workflowCoreVersion": "4.8.9", "features": {"encryption": False}},
            "input": u8(input),
            "createdAt": created,
            "status": status,
            "updatedAt": created,
        }
        if status != "pending":
            record["startedAt"] = created
        record.update(extra)
        name = f"{run_id}.{tag}.json" if tag else f"{run_id}.json"
        return self.write(f"runs/{name}", record)

    def event(
        self,
        run_id: str,
        event_id: str,
        event_type: str,
        created: str,
        *,
        corr: str | None = None,
        data: dict[str, Any] | None = None,
        per_run: bool = False,
    ) -> Path:
        event: dict[str, Any] = {"eventType": event_type, "specVersion": 3}
        if corr:
            event["correlationId"] = corr
        if data is not None:
            event["eventData"] = data
        event.update(runId=run_id, eventId=event_id, createdAt=created)
        where = f"events/{run_id}/" if per_run else "events/"
        return self.write(f"{where}{run_id}-{event_id}.json", event)

    def step(self, run_id: str, step_id: str, name: str, status: str, **fields: Any) -> Path:
        record = {
            "runId": run_id,
            "stepId": step_id,
            "stepName": f"step//./workflows/demo//{name}",
            "status": status,
            "attempt": 1,
            "createdAt": "2026-11-22T04:19:07.140Z",
            "updatedAt": "2026-11-22T04:19:07.207Z",
            "specVersion": 3,
        }
        record.update(fields)
        return self.write(f"steps/{run_id}-{step_id}.json", record)

    def wait(self, run_id: str, corr: str, resume_at: str, status: str = "waiting") -> Path:
        return self.write(
            f"waits/{run_id}-{corr}.json",
            {
                "waitId": f"{run_id}-{corr}",
                "runId": run_id,
                "status": status,
                "resumeAt": resume_at,
                "createdAt": "2026-11-22T04:19:07.222Z",
                "updatedAt": "2026-11-22T04:19:07.222Z",
                "specVersion": 3,
            },
        )

    def hook(self, run_id: str, hook_id: str, token: str, **fields: Any) -> None:
        self.write(
            f"hooks/{hook_id}.json",
            {
                "runId": run_id,
                "hookId": hook_id,
                "token": token,
                "ownerId": "local-owner",
                "projectId": "local-project",
                "environment": "local",
                "createdAt": "2026-11-22T04:22:03.925Z",
                "specVersion": 3,
                "isWebhook": False,
                **fields,
            },
        )
        digest = hashlib.sha256(token.encode()).hexdigest()
        self.write(
            f"hooks/tokens/{digest}.json",
            {"token": token, "hookId": hook_id, "runId": run_id, "eventId": "evnt_01M80QTRCP0000000000000000"},
        )

    def chunk(self, stream: str, chunk_id: str, payload: bytes, eof: bool = False, ext: str = ".bin") -> Path:
        return self.write(f"streams/chunks/{stream}-{chunk_id}{ext}", (b"\x01" if eof else b"\x00") + payload)

    def register_streams(self, run_id: str, *streams: str) -> None:
        self.write(f"streams/runs/{run_id}.json", {"streams": list(streams)})


def reference_world(root: Path) -> World:
    """A demoWorkflow run sleeping 1h after its greet step, with two stream chunks (the recorded "sleeping" run)."""
    w = World(root)
    w.run(RUN, "running")
    # run_started sorts before run_created (same createdAt, smaller event id): a quirk of world-local
    w.event(RUN, "evnt_01M80QNBJQ1H1SETZXYVHZN621", "run_started", "2026-11-22T04:19:07.060Z")
    w.event(
        RUN,
        "evnt_01M80QNBJQ2H1SETZXYVHZMJEP",
        "run_created",
        "2026-11-22T04:19:07.060Z",
        data={"deploymentId": "dpl_local@bundled", "workflowName": WF, "input": u8(b'devl[[1,2],"Ada","1h"]')},
    )
    w.event(
        RUN,
        "evnt_01M80QNBNMSVNG000000000000",
        "step_created",
        "2026-11-22T04:19:07.140Z",
        corr=STEP,
        data={
            "stepName": "step//./workflows/demo//greet",
            "workflowName": WF,
            "input": u8(b'devl[{"args":1,"closureVars":-1,"thisVal":-1},[2],"Ada"]'),
        },
    )
    w.event(
        RUN,
        "evnt_01M80QNBQB0EHZ000000000000",
        "step_started",
        "2026-11-22T04:19:07.179Z",
        corr=STEP,
        data={"stepName": "step//./workflows/demo//greet"},
    )
    w.event(
        RUN,
        "evnt_01M80QNBRZNVC7000000000000",
        "step_completed",
        "2026-11-22T04:19:07.207Z",
        corr=STEP,
        data={
            "stepName": "step//./workflows/demo//greet",
            "workflowName": WF,
            "result": u8(b'devl[{"greeting":1,"at":2},"Hello, Ada!","2026-11-22T04:19:07.206Z"]'),
        },
    )
    w.event(
        RUN,
        "evnt_01M80QNBTPSHNMC34S1895N4EG",
        "wait_created",
        "2026-11-22T04:19:07.222Z",
        corr=WAIT,
        data={"resumeAt": "2026-11-22T05:19:07.222Z"},
    )
    w.step(
        RUN,
        STEP,
        "greet",
        "completed",
        input=u8(b'devl[{"args":1,"closureVars":-1,"thisVal":-1},[2],"Ada"]'),
        output=u8(b'devl[{"greeting":1,"at":2},"Hello, Ada!","2026-11-22T04:19:07.206Z"]'),
        startedAt="2026-11-22T04:19:07.179Z",
        completedAt="2026-11-22T04:19:07.207Z",
    )
    w.wait(RUN, WAIT, "2026-11-22T05:19:07.222Z")
    stream = "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user"
    w.register_streams(RUN, stream)
    w.chunk(stream, "chnk_01M80QNBR00000000000000001", frame(b'devl["hello Ada"]'))
    w.chunk(stream, "chnk_01M80QNBR00000000000000002", frame(b'devl["second chunk for Ada"]'))
    return w


def backend_for(
    data_dir: Path | None = None, *, env: dict[str, str] | None = None, warnings: list | None = None, **flags: Any
) -> LocalWorldBackend:
    environment = {"WFCTL_CONFIG": "/nonexistent/wfctl-config.toml", **(env or {})}
    if data_dir is not None:
        flags["data_dir"] = str(data_dir)
    profile = resolve(flags=flags, env=environment)
    return LocalWorldBackend(profile, BackendContext(warn=(warnings if warnings is not None else []).append))


@pytest.fixture
def ref(tmp_path) -> tuple[World, LocalWorldBackend, list[str]]:
    world = reference_world(tmp_path / ".workflow-data")
    warnings: list[str] = []
    return world, backend_for(world.root, warnings=warnings), warnings


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- discovery --------------------------------------------------------------------------------------------


def test_discovery_searches_upwards(tmp_path, monkeypatch):
    project = tmp_path / "app"
    (project / ".workflow-data" / "runs").mkdir(parents=True)
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_data_dir(None, {})[0] == (project / ".workflow-data").resolve()
    # .next/workflow-data is looked for first in each directory
    (project / ".next" / "workflow-data").mkdir(parents=True)
    assert find_data_dir(None, {})[0] == (project / ".next" / "workflow-data").resolve()
    # the current directory may be the data directory itself
    monkeypatch.chdir(project / ".workflow-data")
    assert find_data_dir(None, {})[0] == (project / ".workflow-data").resolve()


def test_discovery_precedence(tmp_path, monkeypatch):
    (tmp_path / ".workflow-data").mkdir()
    (tmp_path / "env-dir").mkdir()
    (tmp_path / "flag-dir").mkdir()
    monkeypatch.chdir(tmp_path)
    env = {"WORKFLOW_LOCAL_DATA_DIR": "env-dir"}
    assert find_data_dir(None, env)[0] == tmp_path / "env-dir"
    assert find_data_dir("flag-dir", env)[0] == tmp_path / "flag-dir"
    with pytest.raises(NotFoundError, match="missing.*does not exist"):
        find_data_dir("missing", env)


@pytest.fixture
def rooted(tmp_path, monkeypatch):
    """Discovery rooted in the test's own tree: a data directory above ``tmp_path`` on this machine (another
    run's ``/tmp/.workflow-data``) is not there for it, so what it finds, or fails to find, is the test's."""
    from wfctl.backends.workflow_sdk import localfs

    root = tmp_path.resolve()

    class Rooted(type(Path())):  # type: ignore[misc]
        def is_dir(self, *args, **kwargs):
            return (self == root or root in self.parents) and super().is_dir(*args, **kwargs)

    monkeypatch.setattr(localfs, "Path", Rooted)
    return tmp_path


def test_discovery_failure_lists_what_it_tried(rooted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = backend_for()
    with pytest.raises(NotFoundError) as info:
        backend.list_runs(ListQuery())
    assert info.value.code == ExitCode.NOT_FOUND
    message = info.value.message
    assert ".next/workflow-data, .workflow-data, workflow-data" in message and str(tmp_path) in message
    assert "--data-dir" in info.value.hint


def test_discovery_uses_the_cwd_at_call_time(rooted, tmp_path, monkeypatch):
    reference_world(tmp_path / "a" / ".workflow-data")
    backend = backend_for()  # constructing the backend touches nothing
    monkeypatch.chdir(tmp_path / "a")
    assert [r.runId for r in backend.list_runs(ListQuery()).data] == [RUN]


# -- get / status ----------------------------------------------------------------------------------------


def test_get_reference_run(ref):
    _, backend, warnings = ref
    run = backend.get_run(RUN)
    # suspended in its sleep, no step in flight: waiting (docs/architecture.md, "Waiting runs")
    assert (run.status, run.rawStatus, run.workflowName, run.workflowId) == ("waiting", "running", "demoWorkflow", WF)
    assert run.to_json()["waitingFor"] == {
        "kind": "sleep",
        "until": "2026-11-22T05:19:07.222Z",
        "correlationId": WAIT,
        "token": None,
        "name": None,
        "hint": f"wfctl wake {RUN}",
    }
    assert run.input == ["Ada", "1h"] and run.output is None and run.error is None
    assert run.extra == {
        "deploymentId": "dpl_local@bundled",
        "specVersion": 3,
        "workflowCoreVersion": "4.8.9",
        "features": {"encryption": False},
    }
    [step] = run.steps
    assert (step.stepName, step.status, step.attempt) == ("greet", "completed", 1)
    assert step.input == {"args": ["Ada"]}
    assert step.output == {"greeting": "Hello, Ada!", "at": "2026-11-22T04:19:07.206Z"}
    [wait] = run.waits
    assert (wait.correlationId, wait.status) == (WAIT, "waiting")
    assert wait.resumeAt == datetime(2026, 11, 22, 5, 19, 7, 222000, tzinfo=timezone.utc)
    [stream] = run.streams
    assert stream.to_json() == {
        "name": "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user",
        "namespace": None,
        "chunks": 2,
        "tailIndex": 1,
        "done": False,
    }
    assert run.to_json()["createdAt"] == "2026-11-22T04:19:07.060Z"
    assert warnings == []


def test_get_does_not_read_the_event_log(ref, monkeypatch):
    _, backend, _ = ref
    real = localfs.list_names

    def guarded(directory):
        assert Path(directory).name != "events", "get listed the events directory"
        return real(directory)

    monkeypatch.setattr(localfs, "list_names", guarded)
    run = backend.get_run(RUN)
    assert run.waits and run.steps and run.streams


def test_get_accepts_a_bare_ulid_and_rejects_unknown_runs(ref):
    _, backend, _ = ref
    assert backend.get_run(RUN[5:].lower()).runId == RUN
    with pytest.raises(NotFoundError) as info:
        backend.get_run("wrun_01M80QNBJQ0H1SETZXYVHZB6ZZ")
    assert info.value.code == ExitCode.NOT_FOUND
    with pytest.raises(NotFoundError):
        backend.get_status("wrun_01M80QNBJQ0H1SETZXYVHZB6ZZ")
    with pytest.raises((NotFoundError, UsageError)):
        backend.get_run("../runs/x")


def test_get_status_reads_the_run_file_and_only_what_makes_it_wait(ref, monkeypatch):
    """A finished run: its run file only. A running one: also the wait and hook files (only live runs have
    them) and, as it has a pending sleep, its steps (one listing) — never the event log or the streams."""
    world, backend, _ = ref
    done = "wrun_01M80QNBJQ0H1SETZXYVHZB6ZA"
    world.run(done, "completed")
    opened: list[str] = []
    listed: list[str] = []
    read_json, list_names = localfs.DataDir.read_json, localfs.list_names

    def spy(self, path, **kw):
        opened.append(Path(path).parent.name)
        return read_json(self, path, **kw)

    def listing(directory):
        listed.append(Path(directory).name)
        return list_names(directory)

    monkeypatch.setattr(localfs.DataDir, "read_json", spy)
    monkeypatch.setattr(localfs, "list_names", listing)
    assert backend.get_status(done).status == "completed" and (opened, listed) == (["runs"], [])
    run = backend.get_status(RUN)
    assert (run.status, run.waitingFor.kind, run.waitingFor.correlationId) == ("waiting", "sleep", WAIT)
    assert sorted(set(opened)) == ["runs", "steps", "waits"]
    assert sorted(set(listed)) == ["hooks", "steps", "waits"]  # steps/RUN only when steps/ holds it


def test_failed_and_completed_runs(tmp_path):
    w = World(tmp_path)
    failed = "wrun_01M80QTRCN1PY71JS211D9KQ5A"
    w.run(
        failed,
        "failed",
        completedAt="2026-11-22T04:20:00.000Z",
        error={
            "message": "boom: bad input",
            "stack": "FatalError: boom: bad input\n    at validate",
            "code": "USER_ERROR",
        },
    )
    w.step(
        failed,
        "step_01M80QTRCN1PY71JS211D9KQ5B",
        "validate",
        "failed",
        error={"message": "boom: bad input", "stack": "FatalError: boom"},
    )
    # completed after a retry: the record keeps the failed attempt's error, which is not shown
    done = "wrun_01M80QTRCN1PY71JS211D9KQ5C"
    w.run(
        done,
        "completed",
        output=u8(b'devl[{"greeting":1,"length":2},"Hello, Cy!",10]'),
        completedAt="2026-11-22T04:20:05.000Z",
    )
    w.step(
        done,
        "step_01M80QTRCN1PY71JS211D9KQ5D",
        "flaky",
        "completed",
        attempt=2,
        error={"message": "first attempt failed"},
        output=u8(b"devl[1]"),
    )
    w.step(
        done,
        "step_01M80QTRCN1PY71JS211D9KQ5E",
        "retrying",
        "pending",
        attempt=1,
        error={"message": "try again"},
        retryAfter="2026-11-22T04:21:00.000Z",
    )
    backend = backend_for(tmp_path)
    run = backend.get_run(failed)
    assert run.status == "failed" and run.error.to_json() == {
        "message": "boom: bad input",
        "code": "USER_ERROR",
        "stack": "FatalError: boom: bad input\n    at validate",
    }
    assert run.steps[0].error.message == "boom: bad input"
    run = backend.get_run(done)
    assert run.output == {"greeting": "Hello, Cy!", "length": 10}
    flaky, retrying = run.steps
    assert flaky.error is None and flaky.attempt == 2
    assert retrying.error.message == "try again"
    assert run.waits == [] and run.hooks == []  # terminal: the world deleted both


def test_hooks_of_a_running_run(tmp_path):
    w = World(tmp_path)
    run_id = "wrun_01M80QTRC00000000000000001"
    w.run(run_id, "running", input=b'devl[[1],"doc1"]', workflow="workflow//./workflows/demo//approvalWorkflow")
    w.hook(run_id, "hook_01M80QTRCN1PY71JS211D9KQ5K", "approval:doc1", metadata=u8(b'devl[{"who":1},"me"]'))
    w.hook("wrun_01M80QTRC00000000000000009", "hook_01M80QTRCN1PY71JS211D9KQ5M", "someone else's")
    # a disposed hook has no file any more (hook_disposed deletes it); only its events remain
    w.event(
        run_id,
        "evnt_01M80QTRCP0000000000000001",
        "hook_created",
        "2026-11-22T04:22:03.926Z",
        corr="hook_01M80QTRCN1PY71JS211D9KQ5Z",
        data={"token": "gone"},
    )
    w.event(
        run_id,
        "evnt_01M80QTRCP0000000000000002",
        "hook_disposed",
        "2026-11-22T04:22:04.000Z",
        corr="hook_01M80QTRCN1PY71JS211D9KQ5Z",
    )
    run = backend_for(tmp_path).get_run(run_id)
    assert run.workflowName == "approvalWorkflow" and run.input == ["doc1"]
    assert [h.to_json() for h in run.hooks] == [
        {
            "hookId": "hook_01M80QTRCN1PY71JS211D9KQ5K",
            "token": "approval:doc1",
            "createdAt": "2026-11-22T04:22:03.925Z",
            "metadata": {"who": "me"},
            "isSystem": None,
        }
    ]


def test_streams_from_chunk_names_when_the_registry_lists_one(tmp_path):
    w = World(tmp_path)
    run_id = "wrun_01M80QTRC00000000000000002"
    base = "strm_01M80QTRC00000000000000002_user"
    logs = base + "_" + base64.urlsafe_b64encode(b"logs").decode().rstrip("=")
    w.run(run_id, "completed", completedAt="2026-11-22T04:20:00.000Z")
    w.register_streams(run_id, logs)  # the stream index can miss streams (docs/architecture.md)
    w.chunk(base, "chnk_01M80QTRC00000000000000001", frame(b'devl["output"]'))
    w.chunk(logs, "chnk_01M80QTRC00000000000000002", frame(b'devl[{"level":1},"info"]'))
    w.chunk(logs, "chnk_01M80QTRC00000000000000003", frame(b'devl[{"level":1},"warn"]'))
    w.chunk(logs, "chnk_01M80QTRC00000000000000004", b"", eof=True)
    streams = backend_for(tmp_path).get_run(run_id).streams
    assert [s.to_json() for s in streams] == [
        {"name": base, "namespace": None, "chunks": 1, "tailIndex": 0, "done": False},
        {"name": logs, "namespace": "logs", "chunks": 2, "tailIndex": 1, "done": True},
    ]
    assert stream_name(run_id, "logs") == logs and stream_name(run_id, "") == base


# -- reading robustness ------------------------------------------------------------------------------------


def test_corrupt_tmp_tagged_and_per_run_files(tmp_path):
    w = World(tmp_path)
    good = "wrun_01M80QTRC00000000000000010"
    tagged = "wrun_01M80QTRC00000000000000011"
    w.run(good, "running")
    w.run(tagged, "completed", tag="vitest-0", completedAt="2026-11-22T04:20:00.000Z")
    w.write("runs/wrun_01M80QTRC00000000000000012.json", '{"runId": "wrun_01M80QTRC00000000000000012", "sta')
    w.write("runs/wrun_01M80QTRC00000000000000013.json.tmp.01M80QTRC00000000000000000", "{}")
    w.write("runs/wrun_01M80QTRC00000000000000014.json", "[1, 2]")
    # per-run layout events and steps (newer world-local) next to a flat one
    w.event(
        good,
        "evnt_01M80QTRC00000000000000001",
        "run_created",
        "2026-11-22T04:19:07.060Z",
        per_run=True,
        data={"workflowName": WF, "input": u8(b'devl[[1],"x"]')},
    )
    w.event(good, "evnt_01M80QTRC00000000000000002", "run_started", "2026-11-22T04:19:07.061Z")
    w.write(f"events/{good}/{good}-evnt_01M80QTRC00000000000000003.json", '{"eventType": "step_cr')
    w.write(
        f"steps/{good}/{good}-step_01M80QTRC00000000000000001.json",
        json.dumps(
            {
                "runId": good,
                "stepId": "step_01M80QTRC00000000000000001",
                "stepName": "step//./x//one",
                "status": "running",
                "attempt": 1,
                "createdAt": "2026-11-22T04:19:07.100Z",
            }
        ),
    )
    warnings: list[str] = []
    backend = backend_for(tmp_path, warnings=warnings)
    page = backend.list_runs(ListQuery())
    assert [r.runId for r in page.data] == [tagged, good]
    assert len(warnings) == 2 and all("skipping" in m for m in warnings)
    assert any("half-written" in m for m in warnings)
    events = list(backend.tail(good, TailRequest()))
    assert [e.type for e in events] == ["run_created", "run_started"]
    assert any(f"{good}-evnt_01M80QTRC00000000000000003" in m for m in warnings)
    assert [s.stepName for s in backend.get_run(good).steps] == ["one"]
    assert backend.get_run(tagged).status == "completed"


def test_legacy_json_chunks(tmp_path):
    w = World(tmp_path)
    run_id = "wrun_01M80QTRC00000000000000020"
    base = stream_base = "strm_01M80QTRC00000000000000020_user"
    w.run(run_id, "completed", completedAt="2026-11-22T04:20:00.000Z")
    w.chunk(base, "chnk_01M80QTRC00000000000000001", b'["legacy line"]\n', ext=".json")
    w.chunk(stream_base, "chnk_01M80QTRC00000000000000002", frame(b'devl["framed"]'), ext=".vitest-0.bin")
    chunks = list(backend_for(tmp_path).tail(run_id, TailRequest(stream="")))
    assert [(c.index, c.data) for c in chunks] == [(0, "legacy line"), (1, "framed")]


def test_list_and_get_never_import_httpx(ref):
    world, _, _ = ref
    code = f"""
import sys
from wfctl.config import resolve
from wfctl.backends.workflow_sdk.local import LocalWorldBackend
from wfctl.model import ListQuery
b = LocalWorldBackend(resolve(flags={{"data_dir": {str(world.root)!r}}}, env={{"WFCTL_CONFIG": "/nonexistent"}}))
from wfctl.backends.base import TailRequest
b.list_runs(ListQuery()); b.get_run({RUN!r}); b.get_status({RUN!r}); list(b.tail({RUN!r}, TailRequest()))
bad = [m for m in ("httpx", "rich", "typer") if m in sys.modules]
assert not bad, bad
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


# -- list ---------------------------------------------------------------------------------------------------


def many_runs(root: Path, count: int = 300) -> tuple[World, list[str]]:
    """``count`` runs created 1 s apart; every 3rd failed, the others completed; two workflows."""
    w = World(root)
    factory = UlidFactory()
    base_ms = 1795000000000  # 2026-11-18
    ids = []
    for i in range(count):
        ms = base_ms + i * 1000
        run_id = "wrun_" + factory(ms)
        created = datetime.fromtimestamp((ms + 3) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        workflow = WF if i % 2 == 0 else "workflow//./workflows/other//otherWorkflow"
        status = "failed" if i % 3 == 0 else "completed"
        w.run(run_id, status, workflow=workflow, created=created, completedAt=created)
        ids.append(run_id)
    return w, ids


def test_list_pages_with_the_sdk_cursor(tmp_path):
    _, ids = many_runs(tmp_path, 45)
    backend = backend_for(tmp_path)
    page = backend.list_runs(ListQuery(limit=20))
    assert [r.runId for r in page.data] == ids[::-1][:20] and page.hasMore
    stamp, _, last = page.cursor.partition("|")
    assert last == ids[-20] and stamp == page.data[-1].to_json()["createdAt"]
    page2 = backend.list_runs(ListQuery(limit=20, cursor=page.cursor))
    assert [r.runId for r in page2.data] == ids[::-1][20:40]
    page3 = backend.list_runs(ListQuery(limit=20, cursor=page2.cursor))
    assert [r.runId for r in page3.data] == ids[::-1][40:] and not page3.hasMore and page3.cursor is None
    asc = backend.list_runs(ListQuery(limit=10, sort="asc"))
    assert [r.runId for r in asc.data] == ids[:10]
    asc2 = backend.list_runs(ListQuery(limit=10, sort="asc", cursor=asc.cursor))
    assert [r.runId for r in asc2.data] == ids[10:20]
    # a timestamp-only cursor (older SDK form) resumes by time
    only_time = backend.list_runs(ListQuery(limit=5, cursor=page.cursor.split("|")[0]))
    assert only_time.data[0].runId == ids[-21]
    with pytest.raises(UsageError):
        backend.list_runs(ListQuery(cursor="not a cursor"))
    with pytest.raises(UsageError):
        backend.list_runs(ListQuery(sort="sideways"))


def test_list_filters(tmp_path):
    _, ids = many_runs(tmp_path, 30)
    backend = backend_for(tmp_path)

    def run_ids(**kw):
        return [r.runId for r in backend.list_runs(ListQuery(limit=100, **kw)).data]

    failed = [r for i, r in enumerate(ids) if i % 3 == 0][::-1]
    assert run_ids(statuses=["failed"]) == failed
    assert run_ids(statuses=["FAILED", "completed"]) == ids[::-1]
    assert run_ids(workflow="otherWorkflow") == [r for i, r in enumerate(ids) if i % 2][::-1]
    assert run_ids(workflow="workflow//./workflows/other//otherWorkflow") == run_ids(workflow="otherWorkflow")
    assert run_ids(workflow="nope") == []
    assert run_ids(search=ids[7][-6:].lower()) == [ids[7]]
    assert run_ids(search="OTHERWORK") == run_ids(workflow="otherWorkflow")
    since = datetime.fromtimestamp((1795000000000 + 25 * 1000) / 1000, tz=timezone.utc)
    until = datetime.fromtimestamp((1795000000000 + 27 * 1000 + 500) / 1000, tz=timezone.utc)
    assert run_ids(since=since) == ids[25:][::-1]
    assert run_ids(since=since, until=until) == ids[25:28][::-1]
    assert run_ids(since=since.replace(tzinfo=None), sort="asc") == ids[25:]
    page = backend.list_runs(ListQuery(limit=3, statuses=["failed"]))
    assert [r.runId for r in page.data] == failed[:3] and page.hasMore
    page = backend.list_runs(ListQuery(limit=3, statuses=["failed"], cursor=page.cursor))
    assert [r.runId for r in page.data] == failed[3:6]
    with pytest.raises(UsageError, match="unknown status"):
        backend.list_runs(ListQuery(statuses=["sleeping"]))
    assert run_ids(statuses=["waiting"]) == []  # a normalized word the SDK never uses


def js_time(ms: int) -> str:
    """``ms`` as JavaScript's ``toISOString()`` writes it."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_since_and_until_compare_created_at_even_for_client_minted_ids(cli, tmp_path):
    w = World(tmp_path / ".workflow-data")
    now = int(datetime.now(timezone.utc).timestamp() * 1000)
    early = "wrun_" + UlidFactory()(now - 2 * 3600 * 1000)  # minted 2 h before creation (the world allows 24 h)
    w.run(early, "completed", created=js_time(now), completedAt=js_time(now))
    assert cli("list", "-o", "id", "--since", "1h", cwd=tmp_path).stdout.split() == [early]
    assert cli("list", "-o", "id", "--since", "1h", "--sort", "asc", cwd=tmp_path).stdout.split() == [early]
    assert cli("list", "-o", "id", "--since", "3h", "--until", "1h", cwd=tmp_path).stdout.split() == []


def test_id_time_prefilter_uses_the_worlds_margins(tmp_path):
    """createdAt - 24 h <= id time <= createdAt + 5 min: runs at both ends are found by --since/--until and
    by a timestamp-only cursor, in both orders."""
    w = World(tmp_path)
    factory = UlidFactory()
    t = 1795000000000
    early = "wrun_" + factory(t - 23 * 3600 * 1000)  # created at t, minted 23 h before
    ahead = "wrun_" + factory(t - 3600 * 1000 + 4 * 60 * 1000)  # created at t - 1 h, minted 4 min ahead of it
    w.run(early, "completed", created=js_time(t), completedAt=js_time(t))
    w.run(ahead, "completed", created=js_time(t - 3600 * 1000), completedAt=js_time(t - 3600 * 1000))
    backend = backend_for(tmp_path)

    def run_ids(**kw):
        return [r.runId for r in backend.list_runs(ListQuery(limit=100, **kw)).data]

    half_hour_before = datetime.fromtimestamp((t - 1800 * 1000) / 1000, tz=timezone.utc)
    hour_before = datetime.fromtimestamp((t - 3600 * 1000) / 1000, tz=timezone.utc)
    assert run_ids(since=half_hour_before) == [early]
    assert run_ids(since=half_hour_before, sort="asc") == [early]
    assert run_ids(until=hour_before) == [ahead]
    assert run_ids(until=hour_before, sort="asc") == [ahead]
    assert run_ids(cursor=js_time(t - 1800 * 1000), sort="asc") == [early]  # created after the cursor's time
    assert run_ids(cursor=js_time(t - 1800 * 1000)) == [ahead]  # created before it


def test_unfiltered_list_reads_only_the_page(tmp_path, monkeypatch):
    _, ids = many_runs(tmp_path, 300)
    backend = backend_for(tmp_path)
    read: list[Path] = []
    real = localfs.DataDir.read_json

    def spy(self, path, **kw):
        read.append(Path(path))
        return real(self, path, **kw)

    monkeypatch.setattr(localfs.DataDir, "read_json", spy)
    page = backend.list_runs(ListQuery(limit=20))
    assert len(read) == 21  # the page and one more to know hasMore
    read.clear()
    page = backend.list_runs(ListQuery(limit=20, cursor=page.cursor))
    assert len(read) == 21 and page.data[0].runId == ids[-21]


# -- cancel ---------------------------------------------------------------------------------------------------


def test_cancel_writes_what_world_local_writes(ref):
    world, backend, _ = ref
    world.hook(RUN, "hook_01M80QTRCN1PY71JS211D9KQ5K", "approval:doc1")
    other = "wrun_01M80QTRC00000000000000030"
    world.run(other, "running")
    world.hook(other, "hook_01M80QTRCN1PY71JS211D9KQ5Z", "keep-me")
    world.wait(other, "wait_01M80QTRC00000000000000001", "2026-11-22T05:00:00.000Z")
    before = snapshot(world.root)
    [outcome] = backend.cancel([RUN])
    assert (outcome.outcome, outcome.status) == ("cancelled", "cancelled")
    after = snapshot(world.root)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    [event_file] = added
    assert event_file.startswith(f"events/{RUN}-evnt_")
    event = json.loads(after[event_file])
    assert list(event) == ["eventType", "specVersion", "runId", "eventId", "createdAt"]
    assert event["eventType"] == "run_cancelled" and event["specVersion"] == 3
    assert event_file == f"events/{RUN}-{event['eventId']}.json"
    token = hashlib.sha256(b"approval:doc1").hexdigest()
    assert removed == sorted(
        [f"waits/{RUN}-{WAIT}.json", "hooks/hook_01M80QTRCN1PY71JS211D9KQ5K.json", f"hooks/tokens/{token}.json"]
    )
    run = json.loads(after[f"runs/{RUN}.json"])
    old = json.loads(before[f"runs/{RUN}.json"])
    assert run["status"] == "cancelled" and run["completedAt"] == run["updatedAt"] == event["createdAt"]
    assert {k: v for k, v in run.items() if k not in ("status", "completedAt", "updatedAt")} == {
        k: v for k, v in old.items() if k not in ("status", "updatedAt")
    }
    assert after[f"runs/{RUN}.json"].decode().startswith('{\n  "runId": ')  # JSON.stringify(x, null, 2)
    assert not any(".tmp." in name for name in after)
    # the other run is untouched
    assert all(
        after[k] == before[k]
        for k in before
        if other in k or "keep-me" in k or k.startswith("hooks/hook_01M80QTRCN1PY71JS211D9KQ5Z")
    )


def test_cancel_outcomes_and_idempotence(ref):
    world, backend, _ = ref
    world.run("wrun_01M80QTRC00000000000000040", "completed", completedAt="2026-11-22T04:20:00.000Z")
    assert backend.cancel([RUN])[0].outcome == "cancelled"
    before = snapshot(world.root)
    outcomes = backend.cancel([RUN, "wrun_01M80QTRC00000000000000040", "wrun_01M80QTRC00000000000000041"])
    assert [(o.outcome, o.status) for o in outcomes] == [
        ("already_completed", "cancelled"),
        ("already_completed", "completed"),
        ("not_found", None),
    ]
    assert snapshot(world.root) == before  # nothing written for terminal runs
    assert backend.get_status(RUN).status == "cancelled"


def test_writes_into_the_per_run_layout_and_legacy_runs_are_refused(tmp_path):
    """No real app was seen writing the per-run layout or legacy (spec 1) runs: the version gate refuses, and
    nothing in the data directory changes."""
    w = World(tmp_path)
    run_id = "wrun_01M80QTRC00000000000000050"
    w.run(run_id, "running")
    w.event(run_id, "evnt_01M80QTRC00000000000000001", "run_created", "2026-11-22T04:19:07.060Z", per_run=True)
    legacy = "wrun_01M80QTRC00000000000000051"
    w.run(legacy, "running", spec=1)
    before = snapshot(tmp_path)
    backend = backend_for(tmp_path)
    outcomes = backend.cancel([run_id, legacy], reason="stuck")
    assert [o.outcome for o in outcomes] == ["refused", "refused"]
    assert "per-run layout" in outcomes[0].message and "specVersion 1" in outcomes[1].message
    assert all(o.hint and "npx workflow" in o.hint for o in outcomes)
    assert snapshot(tmp_path) == before


# -- wake -------------------------------------------------------------------------------------------------------


class FakeApp:
    """A stand-in for the app's /.well-known/workflow/v1/flow endpoint that records deliveries."""

    def __init__(self, reply: Any = None, status: int = 200):
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.reply = {"ok": True} if reply is None else reply
        self.status = status
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                app.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                data = json.dumps(app.reply).encode()
                self.send_response(app.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeApp":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_wake_dry_run_writes_nothing(ref):
    world, backend, _ = ref
    before = snapshot(world.root)
    result = backend.wake(RUN, dry_run=True)
    assert (result.stoppedCount, result.correlationIds, result.delivered) == (1, [WAIT], None)
    assert "2026-11-22T05:19:07.222Z" in result.message
    assert snapshot(world.root) == before


def test_wake_writes_and_re_enqueues(ref):
    world, _, _ = ref
    with FakeApp() as app:
        backend = backend_for(world.root, app_url=app.url)
        before = snapshot(world.root)
        result = backend.wake(RUN)
    assert (result.stoppedCount, result.correlationIds, result.delivered) == (1, [WAIT], True)
    after = snapshot(world.root)
    added = sorted(set(after) - set(before))
    assert added[0] == f".locks/waits/{RUN}-{WAIT}.completed" and after[added[0]] == b""
    assert added[1].startswith(f"events/{RUN}-evnt_") and len(added) == 2
    event = json.loads(after[added[1]])
    assert list(event) == ["eventType", "correlationId", "specVersion", "eventData", "runId", "eventId", "createdAt"]
    assert event["eventData"] == {"resumeAt": "2026-11-22T05:19:07.222Z"} and event["correlationId"] == WAIT
    wait = json.loads(after[f"waits/{RUN}-{WAIT}.json"])
    assert wait["status"] == "completed" and wait["completedAt"] == wait["updatedAt"] == event["createdAt"]
    [(path, headers, body)] = app.requests
    assert path == "/.well-known/workflow/v1/flow"
    assert headers["x-vqs-queue-name"] == f"__wkf_workflow_{WF}"
    assert headers["x-vqs-message-id"].startswith("msg_") and len(headers["x-vqs-message-id"]) == 30
    assert headers["x-vqs-message-attempt"] == "1" and headers["content-type"] == "application/json"
    assert json.loads(body) == {"runId": RUN}
    # nothing left to wake
    backend2 = backend_for(world.root, app_url=f"http://127.0.0.1:{closed_port()}")
    assert backend2.wake(RUN).stoppedCount == 0


def test_wake_reports_a_timeout_seconds_reply(ref):
    world, _, _ = ref
    with FakeApp(reply={"timeoutSeconds": 30}) as app:
        result = backend_for(world.root, app_url=app.url).wake(RUN)
    assert result.delivered and "30s" in result.message and "original sleep" in result.message


def test_wake_with_the_app_down_keeps_the_events(ref):
    world, backend, _ = ref
    port = closed_port()
    backend = backend_for(world.root, env={"PORT": str(port)})  # nothing listens there
    assert backend.app_url() == f"http://localhost:{port}"
    with pytest.raises(UnavailableError) as info:
        backend.wake(RUN)
    assert info.value.code == ExitCode.UNAVAILABLE
    assert "stopped 1 sleep(s)" in info.value.message and "continues when the app" in info.value.message
    assert [e.type for e in backend.tail(RUN, TailRequest())][-1] == "wait_completed"


def test_wake_correlation_ids_and_terminal_runs(ref):
    world, backend, _ = ref
    with pytest.raises(NotFoundError, match="wait_nope"):
        backend.wake(RUN, ["wait_nope"], dry_run=True)
    assert backend.wake(RUN, [WAIT], dry_run=True).correlationIds == [WAIT]
    world.run("wrun_01M80QTRC00000000000000060", "completed", completedAt="2026-11-22T04:20:00.000Z")
    result = backend.wake("wrun_01M80QTRC00000000000000060")
    assert result.stoppedCount == 0 and "completed" in result.message


def test_app_url_precedence(tmp_path):
    env = {"WORKFLOW_LOCAL_BASE_URL": "http://base:1", "PORT": "4000"}
    assert backend_for(tmp_path, env=env, app_url="http://flag:2").app_url() == "http://flag:2"
    assert backend_for(tmp_path, env=env).app_url() == "http://base:1"
    assert backend_for(tmp_path, env={"PORT": "4000"}).app_url() == "http://localhost:4000"
    assert backend_for(tmp_path).app_url() == "http://localhost:3000"
    assert backend_for(tmp_path, env={"WFCTL_APP_URL": "http://envflag:3", **env}).app_url() == "http://envflag:3"


# -- tail -------------------------------------------------------------------------------------------------------


def test_tail_events(ref):
    _, backend, _ = ref
    events = list(backend.tail(RUN, TailRequest()))
    assert all(isinstance(e, Event) for e in events)
    assert [(e.index, e.type) for e in events] == [
        (0, "run_started"),
        (1, "run_created"),
        (2, "step_created"),
        (3, "step_started"),
        (4, "step_completed"),
        (5, "wait_created"),
    ]
    created = events[1]
    assert created.data["input"] == ["Ada", "1h"] and created.stepId is None
    completed = events[4]
    assert (completed.stepId, completed.correlationId, completed.stepName) == (STEP, STEP, "greet")
    assert completed.data["result"] == {"greeting": "Hello, Ada!", "at": "2026-11-22T04:19:07.206Z"}
    assert events[5].data == {"resumeAt": "2026-11-22T05:19:07.222Z"} and events[5].correlationId == WAIT
    assert events[0].to_json()["time"] == "2026-11-22T04:19:07.060Z"
    assert events[0].offset == "evnt_01M80QNBJQ1H1SETZXYVHZN621"

    def types(**kw):
        return [(e.index, e.type) for e in backend.tail(RUN, TailRequest(**kw))]

    assert types(offset=events[3].offset) == [(4, "step_completed"), (5, "wait_created")]
    assert types(last=2) == [(4, "step_completed"), (5, "wait_created")]
    assert types(types=["step_*"]) == [(2, "step_created"), (3, "step_started"), (4, "step_completed")]
    assert types(types=["run_created", "wait_created"], last=1) == [(5, "wait_created")]
    assert types(offset="evnt_01M80QNBQ00000000000000000") == [
        (3, "step_started"),
        (4, "step_completed"),
        (5, "wait_created"),
    ]
    assert [e.stepName for e in backend.tail(RUN, TailRequest(last=1, types=["step_completed"]))] == ["greet"]


def test_tail_live_follows_new_events_until_terminal(ref):
    world, backend, _ = ref
    script = [
        lambda: world.event(
            RUN,
            "evnt_01M80QNBV00000000000000001",
            "wait_completed",
            "2026-11-22T04:19:08.000Z",
            corr=WAIT,
            data={"resumeAt": "2026-11-22T05:19:07.222Z"},
        ),
        lambda: world.event(
            RUN,
            "evnt_01M80QNBV00000000000000002",
            "step_created",
            "2026-11-22T04:19:08.100Z",
            corr="step_01M80QNBV00000000000000001",
            data={"stepName": "step//./workflows/demo//finish", "input": u8(b'devl[[1],"x"]')},
        ),
        lambda: (
            world.run(RUN, "completed", completedAt="2026-11-22T04:19:08.300Z", output=u8(b'devl["done"]')),
            world.event(
                RUN,
                "evnt_01M80QNBV00000000000000003",
                "run_completed",
                "2026-11-22T04:19:08.300Z",
                data={"output": u8(b'devl["done"]')},
            ),
        ),
    ]
    seen = []
    for event in backend.tail(RUN, TailRequest(live=True, last=1)):
        seen.append((event.index, event.type, event.stepName))
        if script and event.index >= 5:
            script.pop(0)()
    assert seen == [
        (5, "wait_created", None),
        (6, "wait_completed", None),
        (7, "step_created", "finish"),
        (8, "run_completed", None),
    ]


def test_tail_live_on_a_terminal_run_ends_at_once(tmp_path):
    w = World(tmp_path)
    run_id = "wrun_01M80QTRC00000000000000070"
    w.run(run_id, "failed", completedAt="2026-11-22T04:20:00.000Z", error={"message": "x"})
    w.event(
        run_id,
        "evnt_01M80QTRC00000000000000001",
        "run_failed",
        "2026-11-22T04:20:00.000Z",
        data={"error": {"message": "x"}, "errorCode": "USER_ERROR"},
    )
    events = list(backend_for(tmp_path).tail(run_id, TailRequest(live=True)))
    assert [e.data for e in events] == [{"error": {"message": "x"}, "errorCode": "USER_ERROR"}]


def test_tail_stream(ref):
    world, backend, warnings = ref
    stream = "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user"
    chunks = list(backend.tail(RUN, TailRequest(stream="")))
    assert all(isinstance(c, Chunk) for c in chunks)
    assert [(c.index, c.data, c.offset) for c in chunks] == [
        (0, "hello Ada", "chnk_01M80QNBR00000000000000001"),
        (1, "second chunk for Ada", "chnk_01M80QNBR00000000000000002"),
    ]
    assert [c.data for c in backend.tail(RUN, TailRequest(stream="", start_index=-1))] == ["second chunk for Ada"]
    assert [c.data for c in backend.tail(RUN, TailRequest(stream="", start_index=1))] == ["second chunk for Ada"]
    assert [c.data for c in backend.tail(RUN, TailRequest(stream="", start_index=-5))] == [
        "hello Ada",
        "second chunk for Ada",
    ]
    assert [c.data for c in backend.tail(RUN, TailRequest(stream="", offset=chunks[0].offset))] == [
        "second chunk for Ada"
    ]
    # two values in one chunk get distinct offsets; a resume after the first gives the second
    world.chunk(stream, "chnk_01M80QNBR00000000000000003", frame(b'devl["x"]') + frame(b'devl["y"]'))
    world.chunk(stream, "chnk_01M80QNBR00000000000000004", b"", eof=True)
    world.chunk(stream, "chnk_01M80QNBR00000000000000005", frame(b'devl["after eof"]'))
    more = list(backend.tail(RUN, TailRequest(stream="", start_index=-1)))
    assert [(c.index, c.data, c.offset) for c in more] == [
        (2, "x", "chnk_01M80QNBR00000000000000003"),
        (2, "y", "chnk_01M80QNBR00000000000000003#1"),
    ]
    assert [c.data for c in backend.tail(RUN, TailRequest(stream="", offset=more[0].offset))] == ["y"]
    assert list(backend.tail(RUN, TailRequest(stream="nothing"))) == []
    assert any("no stream" in m for m in warnings)


def test_tail_stream_live_ends_at_eof_or_terminal(ref):
    world, backend, _ = ref
    stream = "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user"
    got = []
    for chunk in backend.tail(RUN, TailRequest(stream="", live=True)):
        got.append(chunk.data)
        if chunk.data == "second chunk for Ada":
            world.chunk(stream, "chnk_01M80QNBR00000000000000003", frame(b'devl["third"]'))
        elif chunk.data == "third":
            world.chunk(stream, "chnk_01M80QNBR00000000000000004", b"", eof=True)
    assert got == ["hello Ada", "second chunk for Ada", "third"]
    # no EOF chunk (the SDK never closes run streams): the run's end stops the tail
    other = "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user_" + base64.urlsafe_b64encode(b"ns").decode().rstrip("=")
    world.chunk(other, "chnk_01M80QNBR00000000000000010", frame(b'devl["one"]'))
    got = []
    for chunk in backend.tail(RUN, TailRequest(stream="ns", live=True)):
        got.append(chunk.data)
        if chunk.data == "one":
            world.chunk(other, "chnk_01M80QNBR00000000000000011", frame(b'devl["two"]'))
            world.run(RUN, "completed", completedAt="2026-11-22T04:20:00.000Z")
    assert got == ["one", "two"]


# -- dashboard / doctor -------------------------------------------------------------------------------------------


def test_counts(tmp_path):
    _, ids = many_runs(tmp_path, 30)
    w = World(tmp_path)
    w.run("wrun_01M80QTRC00000000000000080", "running")
    backend = backend_for(tmp_path)
    counts = backend.counts()
    assert counts.total == 31
    assert {k: v for k, v in counts.counts.items() if v} == {"failed": 10, "completed": 20, "running": 1}
    assert backend.counts(workflow="otherWorkflow").total == 15
    w.run("wrun_01M80QTRC00000000000000080", "completed", completedAt="2026-11-22T04:20:00.000Z")
    assert backend.counts().counts["running"] == 0


def test_doctor(ref, tmp_path):
    world, backend, _ = ref
    checks = {c.name: c for c in backend.doctor()}
    assert checks["data directory"].ok and str(world.root) in checks["data directory"].detail
    assert checks["data layout"].ok and "4.x (flat)" in checks["data layout"].detail
    assert "no version.txt" in checks["data layout"].detail
    assert checks["spec versions"].ok and "3 ×" in checks["spec versions"].detail
    assert checks["app (for wake)"].ok  # not configured explicitly: informational
    world.write("version.txt", "@workflow/world-local@4.4.1")
    assert "version.txt: @workflow/world-local@4.4.1" in {c.name: c for c in backend.doctor()}["data layout"].detail
    explicit = backend_for(world.root, app_url=f"http://127.0.0.1:{closed_port()}")
    assert not {c.name: c for c in explicit.doctor()}["app (for wake)"].ok
    with FakeApp() as app:
        assert {c.name: c for c in backend_for(world.root, app_url=app.url).doctor()}["app (for wake)"].ok
    missing = backend_for(tmp_path / "nowhere")
    assert not missing.doctor()[0].ok


def test_start_rerun_and_resume_are_declared(ref):
    """start, rerun and resume write into the world (tests/backends/workflow_sdk/test_start_rerun_resume_local.py
    proves them on the real apps); the backend declares them."""
    _, backend, _ = ref
    for operation in ("start", "rerun", "resume"):
        assert backend.supports(operation)
        backend.require(operation)


# -- the CLI on this backend ----------------------------------------------------------------------------------


@pytest.fixture
def ref_dir(tmp_path) -> Path:
    reference_world(tmp_path / "project" / ".workflow-data")
    return tmp_path / "project"


def test_cli_list_get_status(cli, ref_dir):
    result = cli("list", "-o", "json", cwd=ref_dir)
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["hasMore"] is False and doc["cursor"] is None
    assert [r["runId"] for r in doc["data"]] == [RUN] and doc["data"][0]["workflowName"] == "demoWorkflow"
    result = cli("get", RUN, "-o", "json", cwd=ref_dir / ".workflow-data")
    assert result.exit_code == 0 and result.json()["waits"][0]["correlationId"] == WAIT
    assert cli("status", RUN, cwd=ref_dir).exit_code == ExitCode.RUN_NOT_FINISHED
    missing = cli("status", "wrun_01M80QNBJQ0H1SETZXYVHZB6ZZ", cwd=ref_dir)
    assert missing.exit_code == ExitCode.NOT_FOUND and "not found" in missing.stderr


def test_cli_without_a_data_dir(cli, tmp_path):
    result = cli("list", cwd=tmp_path)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr.startswith("error: no Workflow SDK local world data directory found")
    assert "Traceback" not in result.stderr


def test_cli_status_exit_codes(cli, tmp_path):
    w = World(tmp_path / ".workflow-data")
    ids = {}
    for i, status in enumerate(["completed", "failed", "cancelled"]):
        ids[status] = f"wrun_01M80QTRC0000000000000009{i}"
        w.run(ids[status], status, completedAt="2026-11-22T04:20:00.000Z")
    assert cli("status", ids["completed"], "--wait", "--timeout", "5s", cwd=tmp_path).exit_code == 0
    assert cli("status", ids["failed"], "--wait", "--timeout", "5s", cwd=tmp_path).exit_code == ExitCode.RUN_FAILED
    assert (
        cli("status", ids["cancelled"], "--wait", "--timeout", "5s", cwd=tmp_path).exit_code == ExitCode.RUN_CANCELLED
    )


def test_cli_cancel_and_tail(cli, ref_dir):
    result = cli("cancel", RUN, "-o", "json", cwd=ref_dir)
    assert result.exit_code == 0, result.stderr
    again = cli("cancel", RUN, "-o", "json", cwd=ref_dir)
    assert again.exit_code == 0
    assert [o["outcome"] for o in again.json()] == ["already_completed"]
    tail = cli("tail", RUN, "-o", "jsonl", cwd=ref_dir)
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [line["kind"] for line in lines][-2:] == ["event", "end"]
    assert lines[-2]["type"] == "run_cancelled" and lines[-1]["status"] == "cancelled"
    assert tail.exit_code == ExitCode.RUN_CANCELLED
    stream = cli("tail", RUN, "--stream", "-o", "jsonl", cwd=ref_dir)
    chunks = [json.loads(line) for line in stream.stdout.splitlines()]
    assert [c.get("data") for c in chunks if c["kind"] == "chunk"] == ["hello Ada", "second chunk for Ada"]


def test_cli_bulk_cancel_by_filter(cli, ref_dir):
    w = World(ref_dir / ".workflow-data")
    other = "wrun_01M80QTRC000000000000000A0"
    done = "wrun_01M80QTRC000000000000000A1"
    w.run(other, "pending", workflow="workflow//./workflows/demo//approvalWorkflow")
    w.run(done, "completed", completedAt="2026-11-22T04:20:00.000Z")
    before = snapshot(ref_dir / ".workflow-data")
    dry = cli("cancel", "--status", "running", "--status", "pending", "--dry-run", cwd=ref_dir)
    assert dry.exit_code == 0 and RUN in dry.stdout and other in dry.stdout and done not in dry.stdout
    refused = cli("cancel", "--workflow", "demoWorkflow", cwd=ref_dir)
    assert refused.exit_code == ExitCode.USAGE  # not a terminal and no -y: never assume consent
    assert snapshot(ref_dir / ".workflow-data") == before
    result = cli("cancel", "--workflow", "demoWorkflow", "-y", "-o", "json", cwd=ref_dir)
    assert result.exit_code == 0, result.stderr
    assert {o["runId"]: o["outcome"] for o in result.json()} == {RUN: "cancelled"}
    backend = backend_for(ref_dir / ".workflow-data")
    assert [backend.get_status(r).status for r in (RUN, other, done)] == ["cancelled", "pending", "completed"]


def test_cli_wake(cli, ref_dir):
    with FakeApp() as app:
        result = cli("wake", RUN, "--app-url", app.url, "-o", "json", cwd=ref_dir)
    assert result.exit_code == 0, result.stderr
    assert (result.json()["stoppedCount"], result.json()["correlationIds"]) == (1, [WAIT])
    assert len(app.requests) == 1
    down = cli("wake", RUN, cwd=ref_dir, env={"PORT": str(closed_port())})
    assert down.exit_code == 0  # nothing pending any more: no POST needed


def test_cli_wake_app_down(cli, ref_dir):
    result = cli("wake", RUN, cwd=ref_dir, env={"WORKFLOW_LOCAL_BASE_URL": f"http://127.0.0.1:{closed_port()}"})
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "continues when the app" in result.stderr


def test_cli_dashboard_once(cli, ref_dir):
    result = cli("dashboard", "--once", "-o", "json", cwd=ref_dir)
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert (doc["counts"]["running"], doc["counts"]["waiting"], doc["total"]) == (0, 1, 1)
    assert [(r["runId"], r["status"], r["waitingFor"]["kind"]) for r in doc["recent"]] == [(RUN, "waiting", "sleep")]


# -- the recorded data directory ----------------------------------------------------------------------------------


def demo_dir(demo: Path = DEMO) -> Path:
    for name in localfs.DATA_DIR_NAMES:
        if (demo / name).is_dir():
            return demo / name
    pytest.skip(f"{demo} is not recorded yet")


@DEMOS
def test_recorded_demo_reads_cleanly(demo):
    data = demo_dir(demo)
    warnings: list[str] = []
    backend = backend_for(data, warnings=warnings)
    page = backend.list_runs(ListQuery(limit=1000))
    assert page.data and not page.hasMore
    for run in page.data:
        full = backend.get_run(run.runId)
        json.dumps(full.to_json())
        assert full.status in ("pending", "running", "waiting", "completed", "failed", "cancelled")
        assert (full.waitingFor is not None) == (full.status == "waiting")
        status = backend.get_status(run.runId)  # get, status and list agree on whether and on what it waits
        assert (status.status, status.waitingFor) == (run.status, run.waitingFor) == (full.status, full.waitingFor)
        for step in full.steps:
            assert step.error is None or step.status != "completed"
        events = list(backend.tail(run.runId, TailRequest()))
        assert [e.index for e in events] == list(range(len(events)))
        assert "run_created" in {e.type for e in events}
        for stream in full.streams:
            chunks = list(backend.tail(run.runId, TailRequest(stream=stream.namespace or "")))
            assert len({c.index for c in chunks}) == stream.chunks
            assert not any(isinstance(c.data, dict) and "$undecodable" in c.data for c in chunks)
    assert warnings == []
    counts = backend.counts()
    assert counts.total == len(page.data)


def oracle(demo: Path, *parts: str) -> Any:
    path = (demo / "oracle").joinpath(*parts)
    if not path.exists():
        pytest.skip(f"no oracle file {path}")
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


@DEMOS
def test_recorded_demo_list_agrees_with_the_official_cli(demo):
    backend = backend_for(demo_dir(demo))
    expected = oracle(demo, "runs.json")["data"]
    mine = backend.list_runs(ListQuery(limit=100)).data
    assert [r.runId for r in mine] == [r["runId"] for r in expected]
    for run, want in zip(mine, expected, strict=False):
        got = run.to_json()
        assert (
            got["rawStatus"],
            got["workflowId"],
            got["extra"]["deploymentId"],
            got["extra"]["specVersion"],
            got["extra"]["workflowCoreVersion"],
        ) == (
            want["status"],
            want["workflowName"],
            want["deploymentId"],
            want["specVersion"],
            want["workflowCoreVersion"],
        )
        for key in ("createdAt", "startedAt", "completedAt", "updatedAt"):
            assert got[key] == want.get(key), (run.runId, key)
        assert got["attributes"] == want.get("attributes")
    # the same pages, two at a time
    ids, cursor = [], None
    while True:
        page = backend.list_runs(ListQuery(limit=2, cursor=cursor))
        ids += [r.runId for r in page.data]
        if not page.hasMore:
            break
        cursor = page.cursor
    assert ids == [r["runId"] for r in expected]


@DEMOS
def test_recorded_demo_get_agrees_with_the_official_cli(demo):
    backend = backend_for(demo_dir(demo))
    for entry in oracle(demo, "manifest.json")["runs"]:
        run_id = entry["runId"]
        want = oracle(demo, "runs", run_id, "run.json")
        run = backend.get_run(run_id)
        waiting = entry["scenario"] in ("sleeping", "hook-waiting")  # the SDK's "running", suspended
        assert (run.rawStatus, run.status) == (want["status"], "waiting" if waiting else want["status"])
        assert run.workflowName == entry["workflow"]
        assert run.input == want.get("input") and run.output == want.get("output")
        if want.get("error"):  # 4.x: {message, stack, code}; 5.0: a serialized Error, errorCode beside it
            assert run.error.message == want["error"]["message"] and run.error.stack == want["error"]["stack"]
            assert run.error.code == (want.get("errorCode") or want["error"].get("code"))
        else:
            assert run.error is None
        assert run.attributes == want.get("attributes")
        steps = {s["stepId"]: s for s in oracle(demo, "runs", run_id, "steps.json")}
        assert [s.stepId for s in run.steps] == sorted(steps, key=lambda i: (steps[i]["createdAt"], i))
        for step in run.steps:
            expected = steps[step.stepId]
            got = step.to_json()
            assert (
                got["rawStatus"],
                got["attempt"],
                got["input"],
                got["output"],
                got["startedAt"],
                got["completedAt"],
            ) == (
                expected["status"],
                expected["attempt"],
                expected.get("input"),
                expected.get("output"),
                expected.get("startedAt"),
                expected.get("completedAt"),
            )
            assert step.stepName == workflow_short(expected["stepName"])
            if expected["status"] == "failed":
                assert got["error"]["message"] == expected["error"]["message"]
            elif expected["status"] == "completed":
                assert got["error"] is None  # an earlier attempt's error is not shown
        sleeps = oracle(demo, "runs", run_id, "sleeps.json")
        pending = [s for s in sleeps if not s.get("completedAt")]
        if run.status not in ("completed", "failed", "cancelled"):
            assert [(w.correlationId, w.to_json()["resumeAt"]) for w in run.waits if w.status == "waiting"] == [
                (s["correlationId"], s["resumeAt"]) for s in pending
            ]
        assert sorted(s.name for s in run.streams) == sorted(
            s["streamId"] for s in oracle(demo, "runs", run_id, "streams.json")
        )
    hooks = oracle(demo, "hooks.json")["data"]
    for hook in hooks:
        run = backend.get_run(hook["runId"])
        assert [(h.hookId, h.token) for h in run.hooks] == [(hook["hookId"], hook["token"])]


def workflow_short(name: str) -> str:
    return name.rsplit("//", 1)[-1]


@DEMOS
def test_recorded_demo_events_and_streams_agree_with_the_official_cli(demo):
    backend = backend_for(demo_dir(demo))
    manifest = oracle(demo, "manifest.json")
    for entry in manifest["runs"]:
        run_id = entry["runId"]
        # log order: (createdAt, eventId) on 4.x; a 5.0 log is numbered by position
        order = (lambda e: e["eventId"]) if demo == DEMO_V5 else (lambda e: (e["createdAt"], e["eventId"]))
        expected = sorted(oracle(demo, "runs", run_id, "events.json"), key=order)
        events = list(backend.tail(run_id, TailRequest()))
        assert [(e.offset, e.type, e.correlationId, e.to_json()["time"]) for e in events] == [
            (e["eventId"], e["eventType"], e.get("correlationId"), e["createdAt"]) for e in expected
        ]
        for event, want in zip(events, expected, strict=False):
            assert event.data == want.get("eventData"), (run_id, event.type)
        for path in sorted((demo / "oracle" / "runs" / run_id).glob("stream-*.ndjson")):
            stream = path.stem[len("stream-") :]
            values = [c.data for c in backend.tail(run_id, TailRequest(stream=stream))]
            assert values == oracle(demo, "runs", run_id, path.name), stream


@DEMOS
def test_recorded_demo_cancel_on_a_copy(tmp_path, demo):
    data = demo_dir(demo)
    copy = tmp_path / ".workflow-data"
    shutil.copytree(data, copy)
    backend = backend_for(copy)
    active = [r for r in backend.list_runs(ListQuery(limit=1000, statuses=["running", "pending"])).data]
    if not active:
        pytest.skip("the recording has no active run")
    run_id = active[0].runId
    assert backend.cancel([run_id])[0].outcome == "cancelled"
    run = backend.get_run(run_id)
    assert run.status == "cancelled" and run.waits == [] and run.hooks == []
    assert not list((copy / "waits").glob(f"{run_id}-*"))
    assert backend.cancel([run_id])[0].outcome == "already_completed"


def test_ulid_helpers():
    assert ulid_time_ms(RUN) == 1795321146967  # 2026-11-22T04:19:06.967Z
    assert ulid_time_ms("wrun_not-a-ulid") is None and ulid_time_ms(None) is None
    factory = UlidFactory()
    ids = [factory(1795321146967) for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert all(ulid_time_ms(i) == 1795321146967 for i in ids)


@pytest.mark.parametrize(("status", "posts"), [(400, 1), (404, 1), (500, 1), (503, 3)])
def test_cli_wake_when_the_app_answers_an_error(cli, ref_dir, status, posts):
    """The sleep is stopped either way; the app's refusal is exit 5 with what happened, and only the answers
    that mean "try again" (503) are retried."""
    with FakeApp(reply={"error": "boom"}, status=status) as app:
        result = cli("wake", RUN, "--app-url", app.url, cwd=ref_dir)
    assert result.exit_code == ExitCode.UNAVAILABLE
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(
        f"error: stopped 1 sleep(s) of {RUN}, but the app at {app.url} did not take the "
        f"run: the Workflow SDK app: HTTP {status}: boom."
    )
    assert lines[1].startswith("hint: start the app or pass --app-url")
    assert len(app.requests) == posts
    events = [json.loads(p.read_text()) for p in (ref_dir / ".workflow-data" / "events").glob(f"{RUN}-*.json")]
    assert [e["eventType"] for e in events].count("wait_completed") == 1


def test_ctrl_c_during_a_live_tail_prints_a_resume_command_that_keeps_live(tmp_path):
    """The hint names the last event printed (never one past it) and keeps --live."""
    import signal

    data = tmp_path / ".workflow-data"
    reference_world(data)
    env = {**os.environ, "WORKFLOW_LOCAL_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with open(tmp_path / "stderr", "w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wfctl.cli", "tail", RUN, "--live", "-o", "jsonl"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines = [json.loads(proc.stdout.readline())]  # output has begun: the tail is running
            proc.send_signal(signal.SIGINT)
            lines += [json.loads(line) for line in proc.stdout.read().splitlines() if line.strip()]
            assert proc.wait(timeout=30) == ExitCode.INTERRUPTED
        finally:
            if proc.poll() is None:
                proc.kill()
        err.seek(0)
        hint = err.read().strip().splitlines()[-1]
    last = [line for line in lines if line["kind"] == "event"][-1]["offset"]
    assert hint == f"interrupted; resume with: wfctl tail {RUN} --live --offset {last}"


# -- waiting runs (docs/architecture.md, "Waiting runs") -------------------------------------------------------

#: The recorded demos' suspended runs: (sleeping run, its wait, resumeAt; hook-waiting run, its hook), per demo.
WAITING_RUNS = {
    "4.x": (
        "wrun_01M81013R4XC1AH1NY0GMYME33",
        "wait_01M81013WBR6AQ01MVPAMHA8W6",
        "2026-11-22T07:45:21.823Z",
        "wrun_01M81013YYRZZA1WWQERGRNBPA",
        "hook_01M810141M45BQ8130EBZZFV7R",
    ),
    "5.0": (
        "wrun_01M96VEH3ZR3CSXHCKFG2PDA66",
        "wait_01M96VEH3ZHR2FNMBD7980VPHY",
        "2026-12-07T00:36:26.303Z",
        "wrun_01M96VEH6DCVFS7QQYE6R27HQB",
        "hook_01M96VEH6D3QYWY6F96QXH0G20",
    ),
}


def demo_copy(demo: Path, tmp_path: Path) -> Path:
    """The recorded demo's data directory in a project of its own (wake writes into it)."""
    shutil.copytree(demo_dir(demo), tmp_path / "app" / ".workflow-data")
    return tmp_path / "app"


@DEMOS
def test_recorded_suspended_runs_are_waiting_in_every_view(cli, demo, tmp_path):
    sleeping, wait, until, hook_run, hook = WAITING_RUNS["5.0" if demo == DEMO_V5 else "4.x"]
    project = demo_copy(demo, tmp_path)
    sleep = {
        "kind": "sleep",
        "until": until,
        "correlationId": wait,
        "token": None,
        "name": None,
        "hint": f"wfctl wake {sleeping}",
    }
    approval = {
        "kind": "hook",
        "until": None,
        "correlationId": hook,
        "token": "approval:doc1",
        "name": None,
        "hint": 'resumeHook("approval:doc1", payload) in the app',
    }
    status = cli("status", sleeping, hook_run, "-o", "json", cwd=project)
    assert status.exit_code == 12, status.stderr  # not finished: the exit code does not change
    assert [(d["status"], d["rawStatus"], d["waitingFor"]) for d in status.json()] == [
        ("waiting", "running", sleep),
        ("waiting", "running", approval),
    ]
    for run_id, expected in ((sleeping, sleep), (hook_run, approval)):
        got = cli("get", run_id, "-o", "json", cwd=project)
        assert got.exit_code == 0 and (got.json()["status"], got.json()["waitingFor"]) == ("waiting", expected)
    waiting = cli(
        "list", "--status", "waiting", "-o", "json", "--fields", "runId,status,rawStatus,waitingFor", cwd=project
    )
    assert waiting.exit_code == 0, waiting.stderr
    assert waiting.json()["data"] == [
        {"runId": hook_run, "status": "waiting", "rawStatus": "running", "waitingFor": approval},
        {"runId": sleeping, "status": "waiting", "rawStatus": "running", "waitingFor": sleep},
    ]
    # running is the SDK's own word for them: --status running still finds them
    assert cli("list", "--status", "running", "-o", "id", cwd=project).stdout.split() == [hook_run, sleeping]
    everything = cli("list", "-o", "json", "--limit", "100", cwd=project).json()["data"]
    assert {r["runId"]: r["waitingFor"] for r in everything if r["waitingFor"]} == {sleeping: sleep, hook_run: approval}
    assert {r["status"] for r in everything if r["runId"] not in (sleeping, hook_run)} <= {
        "completed",
        "failed",
        "cancelled",
    }
    plain = cli("list", "--status", "waiting", cwd=project).stdout.splitlines()
    assert [json.loads(line.split("\t")[6]) for line in plain] == [approval, sleep]
    assert [line.split("\t")[2] for line in plain] == ["waiting", "waiting"]
    counts = cli("dashboard", "--once", "-o", "json", cwd=project).json()["counts"]
    assert (counts["running"], counts["waiting"]) == (0, 2)
    tail_end = json.loads(cli("tail", sleeping, "-o", "jsonl", cwd=project).stdout.splitlines()[-1])
    assert tail_end["status"] == "waiting"


def test_get_says_what_moves_a_waiting_run_on(cli, tmp_path):
    project = demo_copy(DEMO, tmp_path)
    sleeping, _, until, hook_run, _ = WAITING_RUNS["4.x"]
    env = {"WFCTL_NOW": "2026-11-22T07:00:00.000Z"}
    out = cli("get", sleeping, "-o", "table", cwd=project, env=env).stdout
    assert f"│ Waiting      sleep until {until}  (in 45m)" in out
    assert f"│ Resume       wfctl wake {sleeping}" in out
    assert "│ Status       ◑ waiting (running)" in out
    late = cli("get", sleeping, "-o", "table", cwd=project, env={"WFCTL_NOW": "2026-11-25T07:45:21.823Z"}).stdout
    assert f"sleep until {until}  (was due 3d ago)" in late  # never woken: still waiting
    out = cli("get", hook_run, "-o", "table", cwd=project, env=env).stdout
    assert "│ Waiting      hook token approval:doc1 " in out
    assert '│ Resume       resumeHook("approval:doc1", payload) in the app' in out
    listing = cli("list", "-o", "table", cwd=project, env=env).stdout.splitlines()
    assert listing[0].split() == ["RUN", "ID", "WORKFLOW", "STATUS", "CREATED", "UNTIL", "DURATION"]
    row = next(line for line in listing if line.startswith(sleeping))
    assert "◑ waiting (sleep)" in row and "in 45m" in row
    assert "◑ waiting (hook)" in next(line for line in listing if line.startswith(hook_run))
    status = cli("status", sleeping, hook_run, "-o", "table", cwd=project, env=env).stdout.splitlines()
    assert [line.split("  ")[0] for line in status] == [sleeping, hook_run]
    assert "◑ waiting (sleep)" in status[0] and "until in 45m" in status[0]
    assert "◑ waiting (hook)" in status[1] and "token approval:doc1" in status[1]


def test_a_woken_run_is_running_again(cli, tmp_path):
    """wake completes the sleep (the app being down, the run is then running, not waiting, exit 12)."""
    project = demo_copy(DEMO, tmp_path)
    sleeping = WAITING_RUNS["4.x"][0]
    woken = cli("wake", sleeping, cwd=project, env={"WORKFLOW_LOCAL_BASE_URL": f"http://127.0.0.1:{closed_port()}"})
    assert woken.exit_code == ExitCode.UNAVAILABLE  # the events are written; the app did not take the run
    after = cli("status", sleeping, "-o", "json", cwd=project)
    assert after.exit_code == 12 and (after.json()["status"], after.json()["waitingFor"]) == ("running", None)
    assert cli("list", "--status", "waiting", "-o", "id", cwd=project).stdout.split() == [WAITING_RUNS["4.x"][3]]


def suspended_world(root: Path) -> tuple[World, dict[str, str]]:
    """Runs suspended in several ways (4.x layout, no hook index)."""
    w = World(root)
    runs = {
        "racing": "wrun_01M80QNBJQ0H1SETZXYVHZB6A1",  # a hook raced against a sleep
        "stepping": "wrun_01M80QNBJQ0H1SETZXYVHZB6A2",  # a pending sleep, a step running beside it
        "retrying": "wrun_01M80QNBJQ0H1SETZXYVHZB6A3",  # a live hook, a step due to retry (pending)
        "system": "wrun_01M80QNBJQ0H1SETZXYVHZB6A4",  # only the engine's own hook (5.0 isSystem)
        "woken": "wrun_01M80QNBJQ0H1SETZXYVHZB6A5",  # its sleep completed, nothing else pending
        "old": "wrun_01M80QNBJQ0H1SETZXYVHZB6A6",  # a 5.0 beta (spec 5) sleeping: wfctl does not wake it
    }
    for name, run_id in runs.items():
        w.run(run_id, "running", spec=5 if name == "old" else 3)
    w.wait(runs["racing"], "wait_01M80QNBJQ0H1SETZXYVHZB6B1", "2026-11-23T04:19:07.222Z")
    w.wait(runs["racing"], "wait_01M80QNBJQ0H1SETZXYVHZB6B0", "2026-11-22T04:20:00.000Z", status="completed")
    w.hook(runs["racing"], "hook_01M80QNBJQ0H1SETZXYVHZB6C1", "order:7")
    w.wait(runs["stepping"], "wait_01M80QNBJQ0H1SETZXYVHZB6B2", "2026-11-23T04:19:07.222Z")
    w.step(runs["stepping"], "step_01M80QNBJQ0H1SETZXYVHZB6D2", "greet", "running")
    w.hook(runs["retrying"], "hook_01M80QNBJQ0H1SETZXYVHZB6C3", "approval:x")
    w.step(runs["retrying"], "step_01M80QNBJQ0H1SETZXYVHZB6D3", "notify", "pending", attempt=2)
    w.step(runs["retrying"], "step_01M80QNBJQ0H1SETZXYVHZB6D4", "greet", "completed")
    w.hook(runs["system"], "hook_01M80QNBJQ0H1SETZXYVHZB6C4", "abrt_01M80QNBJQ0H1SETZXYVHZB6C4", isSystem=True)
    w.wait(runs["woken"], "wait_01M80QNBJQ0H1SETZXYVHZB6B5", "2026-11-22T04:20:00.000Z", status="completed")
    w.wait(runs["old"], "wait_01M80QNBJQ0H1SETZXYVHZB6B6", "2026-11-23T04:19:07.222Z")
    return w, runs


def test_what_makes_a_run_waiting(cli, tmp_path):
    """Waiting: a pending sleep or a live hook of its own, and no step pending or running."""
    world, runs = suspended_world(tmp_path / ".workflow-data")
    got = {name: cli("get", run_id, "-o", "json", cwd=tmp_path).json() for name, run_id in runs.items()}
    assert {name: (doc["status"], (doc["waitingFor"] or {}).get("kind")) for name, doc in got.items()} == {
        "racing": ("waiting", "hook"),
        "stepping": ("running", None),
        "retrying": ("running", None),
        "system": ("running", None),
        "woken": ("running", None),
        "old": ("waiting", "sleep"),
    }
    assert got["racing"]["waitingFor"] == {
        "kind": "hook",
        "until": "2026-11-23T04:19:07.222Z",  # it goes on by itself then, whether the hook came or not
        "correlationId": "hook_01M80QNBJQ0H1SETZXYVHZB6C1",
        "token": "order:7",
        "name": None,
        "hint": f'resumeHook("order:7", payload) in the app, or wfctl wake {runs["racing"]} to end the sleep',
    }
    assert got["old"]["waitingFor"]["hint"] is None  # spec 5: wfctl refuses to wake it, so it does not say to
    status = cli("status", *runs.values(), "-o", "json", cwd=tmp_path)
    assert status.exit_code == 12
    assert [(d["status"], d["waitingFor"]) for d in status.json()] == [
        (got[name]["status"], got[name]["waitingFor"]) for name in runs
    ]
    listed = cli("list", "--status", "waiting", "-o", "id", cwd=tmp_path).stdout.split()
    assert listed == [runs["old"], runs["racing"]]
    counts = cli("dashboard", "--once", "-o", "json", cwd=tmp_path).json()["counts"]
    assert (counts["running"], counts["waiting"]) == (4, 2)


def test_list_status_waiting_reads_only_the_runs_that_can_wait(tmp_path, monkeypatch):
    """``--status waiting`` reads the run files of the runs with wait or hook files only (the world deletes them
    when a run ends); an unfiltered page of finished runs looks at no wait, hook or step."""
    world, runs = suspended_world(tmp_path)
    factory = UlidFactory()
    finished = [f"wrun_{factory(1795321146967 + i * 1000)}" for i in range(300)]
    for run_id in finished:
        world.run(run_id, "completed")
    backend = backend_for(tmp_path)
    opened: list[Path] = []
    read_json = localfs.DataDir.read_json

    def spy(self, path, **kw):
        opened.append(Path(path))
        return read_json(self, path, **kw)

    monkeypatch.setattr(localfs.DataDir, "read_json", spy)
    page = backend.list_runs(ListQuery(statuses=["waiting"], limit=10))
    assert [r.runId for r in page.data] == [runs["old"], runs["racing"]]
    read_runs = {p.stem for p in opened if p.parent.name == "runs"}
    assert read_runs <= set(runs.values())  # never one of the 300 finished runs
    opened.clear()
    page = backend.list_runs(ListQuery(limit=5))
    assert [r.runId for r in page.data] == sorted(finished, reverse=True)[:5]
    assert {p.parent.name for p in opened} == {"runs"} and len(opened) == 6  # the page and one more


def test_a_step_in_the_per_run_layout_counts_too(tmp_path):
    """``steps/<runId>/<runId>-<stepId>.json``: a step in flight there keeps the run running."""
    world, runs = suspended_world(tmp_path)
    name = f"{runs['stepping']}-step_01M80QNBJQ0H1SETZXYVHZB6D2.json"
    (tmp_path / "steps" / runs["stepping"]).mkdir()
    (tmp_path / "steps" / name).rename(tmp_path / "steps" / runs["stepping"] / name)
    backend = backend_for(tmp_path)
    assert backend.get_status(runs["stepping"]).status == "running"
    assert backend.get_run(runs["stepping"]).status == "running"
    (tmp_path / "steps" / runs["stepping"] / name).unlink()
    assert backend.get_status(runs["stepping"]).status == "waiting"
