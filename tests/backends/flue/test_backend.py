"""The Flue backend: get, status, tail, start and the raw Durable Streams mode.

Everything goes over real HTTP: against ``tests/doubles/flue_server.py`` (a fake Flue 1.0.0-beta server with
Flue's own routes and quirks) through the ``cli`` fixture, and against the Durable Streams reference server
for the raw-stream mode. No fixed sleeps: background drivers wait on conditions with deadlines.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.doubles.ds_server import require_server
from tests.doubles.flue_server import FakeFlue, format_offset
from wfctl.backends.base import BackendContext, TailRequest
from wfctl.backends.flue import EVENT_TYPES, FlueBackend, FlueEvent
from wfctl.config import resolve
from wfctl.model import Event
from wfctl.render.flue import describe
from wfctl.render.primitives import summarize

TOKEN = "s3cret-token"
ENV = {"WFCTL_TOKEN": TOKEN}


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeFlue(token=TOKEN, long_poll_timeout=0.5, heartbeat=0.2) as server:
        yield server


def flue(cli, fake: FakeFlue, *args: str, env: dict[str, str] | None = None):
    return cli("--backend", "flue", "--url", fake.url, *args, env=ENV if env is None else env)


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def events_of(stdout: str) -> list[dict]:
    return [d for d in jsonl(stdout) if d["kind"] == "event"]


def finished_run(fake: FakeFlue, n: int = 5, *, error: str | None = None, workflow: str = "manual") -> str:
    run_id = fake.create_run(workflow, {"n": n})
    for i in range(n):
        fake.emit(run_id, "log", level="info", message=f"line {i}")
    fake.finish(run_id, result=None if error else {"lines": n}, error=error)
    return run_id


def live_reads(fake: FakeFlue, run_id: str, mode: str = "long-poll") -> list:
    return [r for r in fake.requests_to(f"/runs/{run_id}") if ("live", mode) in r.query]


class Driver:
    """Runs ``then`` in a thread once ``when`` holds (checked under the fake's condition, with a deadline)."""

    def __init__(self, fake: FakeFlue, when: Callable[[], Any], then: Callable[[], None], timeout: float = 20):
        self.error: BaseException | None = None

        def body() -> None:
            try:
                fake.wait_until(when, timeout=timeout, message="the client to reach the expected point")
                then()
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "driver thread did not finish"
        if self.error:
            raise self.error


def backend_for(url: str, **stream_options: Any) -> FlueBackend:
    profile = resolve(flags={"backend": "flue", "url": url}, env={"WFCTL_TOKEN": TOKEN, "WFCTL_CONFIG": "/nonexistent"})
    return FlueBackend(profile, BackendContext(), stream_options=stream_options)


# ----------------------------------------------------------------------------------------------------------
# get / status
# ----------------------------------------------------------------------------------------------------------


def test_get_maps_the_run_record(cli, fake):
    run_id = finished_run(fake, 3)
    result = flue(cli, fake, "get", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["runId"] == run_id and doc["backend"] == "flue"
    assert doc["workflowName"] == "manual"
    assert (doc["status"], doc["rawStatus"]) == ("completed", "completed")
    assert doc["input"] == {"n": 3} and doc["output"] == {"lines": 3} and doc["error"] is None
    assert doc["startedAt"].endswith("Z") and doc["completedAt"].endswith("Z")
    assert doc["extra"]["isError"] is False and isinstance(doc["extra"]["durationMs"], int)
    meta = fake.requests_to(f"/runs/{run_id}")
    assert meta and all(("meta", "") in r.query for r in meta)


def test_status_exit_codes_follow_the_flue_status(cli, fake):
    active = fake.create_run("manual")
    done = finished_run(fake)
    failed = finished_run(fake, error="requested failure")
    r = flue(cli, fake, "status", active)
    assert (r.exit_code, r.stdout.split()) == (12, [active, "running"])
    r = flue(cli, fake, "status", done)
    assert (r.exit_code, r.stdout.split()) == (0, [done, "completed"])
    r = flue(cli, fake, "status", failed, "-o", "json")
    assert r.exit_code == 10
    doc = r.json()
    assert (doc["status"], doc["rawStatus"]) == ("failed", "errored")
    assert doc["error"]["message"] == "requested failure"
    r = flue(cli, fake, "get", failed, "-o", "json")
    assert r.json()["error"] == {"message": "requested failure", "code": "Error", "stack": None}


def test_unknown_run_and_runs_without_middleware_say_both(cli, fake):
    fake.add_workflow("private", lambda ctx, inp: None, runs=False)
    hidden = fake.create_run("private")
    for run_id in ("run_01NOPE00000000000000000000", hidden):
        for command in ("get", "status", "tail"):
            r = flue(cli, fake, command, run_id)
            assert r.exit_code == 3, (command, r.stderr)
            assert "unknown run, or its workflow does not export `runs` middleware" in r.stderr
            assert "Traceback" not in r.stderr


def test_401_from_the_runs_middleware_is_shown_verbatim_with_a_token_hint(cli, fake):
    run_id = finished_run(fake)
    for command in ("get", "tail"):
        r = flue(cli, fake, command, run_id, env={})
        assert r.exit_code == 4, r.stderr
        assert 'HTTP 401: {"error":{"type":"unauthorized","message":"missing or bad token"}}' in r.stderr
        assert "hint:" in r.stderr and "WFCTL_TOKEN" in r.stderr
    r = flue(cli, fake, "get", run_id, env={"WFCTL_TOKEN": "wrong"})
    assert r.exit_code == 4 and "wrong" not in r.stderr


def test_token_and_profile_headers_go_on_every_request(cli, fake, config_file: Path):
    fake.required_headers = {"X-Tenant": "acme"}
    config_file.write_text(
        'current_profile = "f"\n[profiles.f]\nbackend = "flue"\n'
        f'url = "{fake.url}"\ntoken_env = "FLUE_TOKEN"\nheaders = {{ "X-Tenant" = "acme" }}\n'
    )
    run_id = fake.create_run("manual")
    driver = Driver(
        fake,
        lambda: live_reads(fake, run_id),
        lambda: (fake.emit(run_id, "log", level="info", message="late"), fake.finish(run_id, result=1)),
    )
    r = cli("tail", run_id, "--live", "-o", "jsonl", env={"FLUE_TOKEN": TOKEN})
    driver.join()
    assert r.exit_code == 0, r.stderr
    assert [e["type"] for e in events_of(r.stdout)] == ["run_start", "log", "run_end"]
    sent = fake.requests_to("/runs/")
    assert len(sent) >= 3
    assert all(q.header("authorization") == f"Bearer {TOKEN}" and q.header("x-tenant") == "acme" for q in sent)
    # without the header the middleware answers 403: shown as an authorization failure
    config_file.write_text(config_file.read_text().replace('headers = { "X-Tenant" = "acme" }\n', ""))
    r = cli("get", run_id, env={"FLUE_TOKEN": TOKEN})
    assert r.exit_code == 4 and "HTTP 403" in r.stderr and "header X-Tenant is required" in r.stderr


def test_debug_shows_the_exchanges_without_credentials(cli, fake):
    run_id = finished_run(fake, 2)
    r = flue(cli, fake, "--debug", "tail", run_id, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert f"> GET {fake.url}/runs/{run_id}?meta" in r.stderr
    assert f"/runs/{run_id}?offset=-1" in r.stderr and "Stream-Closed=true" in r.stderr
    assert TOKEN not in r.stderr and TOKEN not in r.stdout


def test_accept_header_in_the_profile_is_refused(cli, fake, config_file: Path):
    config_file.write_text(
        f'current_profile = "f"\n[profiles.f]\nbackend = "flue"\nurl = "{fake.url}"\n'
        'headers = { "Accept" = "text/plain" }\n'
    )
    r = cli("get", "run_x")
    assert r.exit_code == 2 and "Accept header is managed by wfctl" in r.stderr


def test_mount_prefix(cli):
    with FakeFlue(token=TOKEN, prefix="/api/flue") as fake:
        run_id = finished_run(fake)
        r = cli("--backend", "flue", "--url", fake.url + "/", "tail", run_id, "-o", "jsonl", env=ENV)
        assert r.exit_code == 0, r.stderr
        assert len(events_of(r.stdout)) == 7


# ----------------------------------------------------------------------------------------------------------
# tail: catch-up, pages, offsets, filters
# ----------------------------------------------------------------------------------------------------------


def test_catch_up_loops_over_100_event_pages_without_up_to_date(cli, fake):
    run_id = finished_run(fake, 248)  # 250 events: pages of 100, 100, 50
    r = flue(cli, fake, "tail", run_id, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    lines = jsonl(r.stdout)
    events = lines[:-1]
    assert [e["index"] for e in events] == list(range(250))
    assert [e["offset"] for e in events] == [format_offset(i) for i in range(250)]
    assert events[0]["type"] == "run_start" and events[-1]["type"] == "run_end"
    assert events[1]["data"]["message"] == "line 0" and events[1]["data"]["v"] == 3
    assert lines[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(249)}
    reads = [r for r in fake.requests_to(f"/runs/{run_id}") if ("meta", "") not in r.query]
    assert [dict(q.query).get("offset") for q in reads] == ["-1", format_offset(99), format_offset(199)]
    assert not any("live" in dict(q.query) for q in reads)  # a finished run is replayed, not followed


def test_last_event_of_each_batch_is_marked(fake):
    run_id = finished_run(fake, 248)
    with backend_for(fake.url) as backend:
        events = list(backend.tail(run_id, TailRequest()))
    assert [e.index for e in events if e.batch_end] == [99, 199, 249]
    with backend_for(fake.url) as backend:
        logs = list(backend.tail(run_id, TailRequest(types=["run_start"])))
    assert [(e.index, e.batch_end) for e in logs] == [(0, True)]


def test_resume_with_a_printed_offset_gives_exactly_the_rest(cli, fake):
    run_id = finished_run(fake, 150)
    first = events_of(flue(cli, fake, "tail", run_id, "-o", "jsonl").stdout)
    cut = first[57]
    rest = events_of(flue(cli, fake, "tail", run_id, "--offset", cut["offset"], "-o", "jsonl").stdout)
    assert [e["index"] for e in rest] == [e["index"] for e in first[58:]]
    assert rest[-1]["type"] == "run_end"


def test_event_index_is_identity_not_offset(cli, fake):
    run_id = fake.create_run("manual")
    # text deltas buffered by Flue reach the store after later events: indexes out of stream order
    fake.emit(run_id, "tool_start", toolName="bash", toolCallId="c1", eventIndex=5)
    fake.emit(run_id, "text_delta", text="Hi", eventIndex=2)
    fake.emit(run_id, "text_delta", text="!", eventIndex=3)
    fake.emit(run_id, "log", level="info", message="dup", eventIndex=5)  # a repeated identity
    fake.emit(run_id, "tool", toolName="bash", toolCallId="c1", isError=False, durationMs=1, eventIndex=6)
    fake.finish(run_id, result="ok")
    events = events_of(flue(cli, fake, "tail", run_id, "-o", "jsonl").stdout)
    assert [(e["type"], e["index"]) for e in events] == [
        ("run_start", 0),
        ("tool_start", 5),
        ("text_delta", 2),
        ("text_delta", 3),
        ("tool", 6),
        ("run_end", 7),
    ]
    assert [e["offset"] for e in events] == [format_offset(i) for i in (0, 1, 2, 3, 5, 6)]
    assert events[1]["stepId"] == "c1"


def test_last_uses_flues_tail_parameter(cli, fake):
    run_id = finished_run(fake, 300)
    r = flue(cli, fake, "tail", run_id, "--last", "3", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    events = events_of(r.stdout)
    assert [e["index"] for e in events] == [299, 300, 301]
    assert [e["offset"] for e in events] == [format_offset(i) for i in (299, 300, 301)]
    reads = [q for q in fake.requests_to(f"/runs/{run_id}") if ("meta", "") not in q.query]
    assert ("tail", "3") in reads[0].query
    r = flue(cli, fake, "tail", run_id, "--last", "3", "--offset", format_offset(4))
    assert r.exit_code == 2 and "not both" in r.stderr


def test_type_filter_and_unknown_type_warning(cli, fake):
    run_id = fake.start_run("chatty")
    fake.wait_until(lambda: fake.run(run_id).status != "active")
    r = flue(cli, fake, "tail", run_id, "-t", "tool", "--type", "log", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert [(e["type"], e["data"].get("toolName") or e["data"].get("level")) for e in events_of(r.stdout)] == [
        ("tool", "bash"),
        ("tool", "read"),
        ("log", "warn"),
        ("log", "error"),
    ]
    r = flue(cli, fake, "tail", run_id, "--type", "tool_call", "-o", "jsonl")
    assert r.exit_code == 0 and events_of(r.stdout) == []
    assert "unknown Flue event type tool_call" in r.stderr


def test_invalid_offsets(cli, fake):
    run_id = finished_run(fake, 3)
    r = flue(cli, fake, "tail", run_id, "--offset", "abc")
    assert r.exit_code == 2 and "Invalid offset format." in r.stderr
    r = flue(cli, fake, "tail", run_id, "--offset", format_offset(9999))
    assert r.exit_code == 2 and "is beyond the" in r.stderr
    # an active run (an in-memory Flue restarted under a resumed tail): reported, not waited on forever
    active = fake.create_run("manual")
    r = flue(cli, fake, "tail", active, "--live", "--offset", format_offset(9999))
    assert r.exit_code == 2 and "is beyond the" in r.stderr


def test_malformed_event_stream_exits_5(cli, fake):
    """Every answer malformed: read again from -1 three times (one warning each), then exit 5, one error."""
    run_id = finished_run(fake, 3)
    fake.corrupt.add(run_id)
    r = flue(cli, fake, "tail", run_id)
    assert r.exit_code == 5 and r.stdout == "" and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert [line.split(" (", 1)[0] for line in lines if line.startswith("warning:")] == [
        f"warning: malformed event stream for run {run_id} after offset -1"
    ] * 3
    assert len([line for line in lines if line.startswith("error:")]) == 1
    assert f"error: Flue sent a malformed event stream for run {run_id} after offset -1: invalid JSON body" in r.stderr


def test_dropped_connections_during_catch_up(cli):
    with FakeFlue(token=TOKEN, drop_every=120) as fake:
        run_id = finished_run(fake, 998)
        r = flue(cli, fake, "tail", run_id, "-o", "jsonl")
        assert r.exit_code == 0, r.stderr
        assert [e["index"] for e in events_of(r.stdout)] == list(range(1000))
        assert fake.drops >= 4


def test_unreachable_server_exits_5(cli):
    fake = FakeFlue(token=TOKEN)
    run_id = finished_run(fake)
    fake.close()
    r = flue(cli, fake, "tail", run_id)
    assert r.exit_code == 5 and "unreachable" in r.stderr


# ----------------------------------------------------------------------------------------------------------
# tail: following live
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode,flags", [("long-poll", ()), ("sse", ("--sse",))])
@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_live_follow_until_closure_and_exit_by_final_state(cli, fake, mode, flags, outcome):
    fake.record_lag = 0.3  # Flue closes the stream before it finalizes the RunRecord
    run_id = fake.create_run("manual")

    def progress() -> None:
        for i in range(5):
            fake.emit(run_id, "log", level="info", message=f"live {i}")
        fake.finish(run_id, result={"ok": 1}, error="boom" if outcome == "failed" else None)

    driver = Driver(fake, lambda: live_reads(fake, run_id, mode), progress)
    r = flue(cli, fake, "tail", run_id, "--live", *flags, "-o", "jsonl")
    driver.join()
    assert r.exit_code == (10 if outcome == "failed" else 0), r.stderr
    lines = jsonl(r.stdout)
    assert [e["index"] for e in lines[:-1]] == list(range(7))
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] == outcome
    assert lines[-1]["offset"] == format_offset(6)


def test_active_run_is_followed_without_live_flag_even_from_an_empty_stream(cli, fake):
    run_id = fake.create_run("manual", emit_start=False)  # Stream-Next-Offset: -1

    def progress() -> None:
        fake.emit(run_id, "run_start", workflowName="manual", startedAt="2026-01-01T00:00:00.000Z", input=None)
        fake.finish(run_id, result=None)

    driver = Driver(fake, lambda: live_reads(fake, run_id), progress)
    r = flue(cli, fake, "tail", run_id, "-o", "jsonl")
    driver.join()
    assert r.exit_code == 0, r.stderr
    assert [e["type"] for e in events_of(r.stdout)] == ["run_start", "run_end"]
    assert dict(live_reads(fake, run_id)[0].query)["offset"] == "-1"


def test_stops_on_run_end_when_the_stream_stays_open():
    """A crash between appending run_end and closing the stream: the tail stops at run_end, and the status
    comes from the run_end when the RunRecord still says active."""
    with FakeFlue(token=TOKEN, long_poll_timeout=0.3) as fake:
        run_id = fake.create_run("manual")
        fake.emit(run_id, "log", level="info", message="x")
        fake.emit(
            run_id, "run_end", isError=True, error={"name": "Error", "message": "crashed"}, durationMs=5, result=None
        )
        backend = backend_for(fake.url, reconcile_seconds=0.2)
        with backend:
            events = list(backend.tail(run_id, TailRequest(live=True)))
            assert [e.type for e in events] == ["run_start", "log", "run_end"]
            status = backend.get_status(run_id)
        assert status.status == "failed" and status.rawStatus == "active"
        assert status.error.message == "Error: crashed"
        assert "run_end" in status.extra["statusFrom"]


def test_sse_batches_replayed_after_cuts_arrive_exactly_once():
    """SSE cuts between a data event and its control replay the batch: every event still arrives once."""
    with FakeFlue(token=TOKEN, drop_every=30, page_size=25, long_poll_timeout=0.3) as fake:
        run_id = fake.start_run("burst", {"count": 600, "batch": 7, "pauseMs": 1})
        backend = backend_for(fake.url)
        with backend:
            events = list(backend.tail(run_id, TailRequest(live=True, sse=True)))
        assert [e.index for e in events] == list(range(602))
        assert fake.drops >= 3


# ----------------------------------------------------------------------------------------------------------
# start
# ----------------------------------------------------------------------------------------------------------


def test_start_posts_the_raw_input_and_prints_the_run(cli, fake):
    r = flue(cli, fake, "start", "ticker", "--input-json", '{"n": 2, "delayMs": 1}', "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["runId"].startswith("run_") and len(doc["runId"]) == 30
    post = fake.requests_to("/workflows/ticker")[0]
    assert post.method == "POST" and post.header("authorization") == f"Bearer {TOKEN}"
    assert post.header("content-type") == "application/json"
    assert fake.run(doc["runId"]).input == {"n": 2, "delayMs": 1}


def test_start_without_input_sends_no_body(cli, fake):
    r = flue(cli, fake, "start", "ticker", "--wait", "--interval", "0.05", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["status"] == "completed" and r.json()["input"] is None
    post = fake.requests_to("/workflows/ticker")[0]
    assert post.header("content-length") in (None, "0") and post.header("content-type") is None


def test_start_wait_exits_by_final_state(cli, fake):
    r = flue(
        cli,
        fake,
        "start",
        "ticker",
        "-i",
        "n=2",
        "-i",
        "delayMs=1",
        "-i",
        "fail=true",
        "--wait",
        "--interval",
        "0.05",
        "-o",
        "json",
    )
    assert r.exit_code == 10, r.stderr
    assert r.json()["error"]["message"] == "requested failure"


def test_start_follow_streams_the_new_run(cli, fake):
    r = flue(cli, fake, "start", "ticker", "--input-json", '{"n": 3, "delayMs": 20}', "--follow", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    lines = jsonl(r.stdout)
    assert [e.get("type") for e in lines[:-1]] == ["run_start", "log", "log", "log", "run_end"]
    assert lines[-1]["status"] == "completed"
    assert "started run_" in r.stderr


def test_start_errors(cli, fake):
    r = flue(cli, fake, "start", "nope", "--input-json", "{}")
    assert r.exit_code == 3 and "unknown workflow 'nope'" in r.stderr
    r = flue(cli, fake, "start", "ticker", "--input-json", '{"n": "x"}')
    assert r.exit_code == 2 and 'n: Invalid type: Expected number but received "x"' in r.stderr
    r = flue(cli, fake, "start", "ticker", env={})
    assert r.exit_code == 4 and "missing or bad token" in r.stderr
    r = flue(cli, fake, "start", "ticker", "--env", "A=1")
    assert r.exit_code == 2 and "--env" in r.stderr
    assert not any(run.workflow_name == "ticker" for run in fake.runs.values())


def test_start_of_a_workflow_without_runs_middleware_warns(cli, fake):
    fake.add_workflow("private", lambda ctx, inp: None, runs=False)
    r = flue(cli, fake, "start", "private", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["status"] == "running"
    assert "does not export `runs` middleware" in r.stderr


def test_pre_beta3_receipts_are_refused(cli):
    with FakeFlue(token=TOKEN, version="beta.2") as fake:
        r = flue(cli, fake, "start", "ticker")
        assert r.exit_code == 6 and "older than 1.0.0-beta.3" in r.stderr


# ----------------------------------------------------------------------------------------------------------
# unsupported operations, Flue 2.x, doctor
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,reason",
    [
        (("list",), "Flue 1.0 has no endpoint to list runs"),
        (("cancel", "run_x", "-y"), "no endpoint to cancel a workflow run"),
        (("wake", "run_x"), "no sleeps that can be interrupted"),
        (("dashboard", "--once"), "no endpoint to list or count runs"),
    ],
)
def test_unsupported_operations_exit_6_with_the_reason(cli, fake, args, reason):
    r = flue(cli, fake, *args)
    assert r.exit_code == 6, r.stderr
    assert reason in r.stderr and "Traceback" not in r.stderr
    assert fake.requests == []


def test_flue_2_is_detected_and_refused(cli):
    with FakeFlue(token=TOKEN, version="2.0.3") as fake:
        for args in (
            ("get", "run_01M80QRREDC995ZW7SB6QN3197"),
            ("tail", "run_01M80QRREDC995ZW7SB6QN3197"),
            ("start", "ticker"),
        ):
            r = flue(cli, fake, *args)
            assert r.exit_code == 6, (args, r.stderr)
            assert "Flue 2.x is not supported (wfctl speaks Flue 1.0 beta.3–beta.9)" in r.stderr
        r = flue(cli, fake, "config", "doctor")
        assert r.exit_code == 5
        assert "FAIL  version" in r.stdout and "Flue 2.x is not supported" in r.stdout


def test_doctor_checks_reachability_and_version(cli, fake):
    r = flue(cli, fake, "config", "doctor")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "ok    reachable" in r.stdout
    assert "ok    version" in r.stdout and "1.0 beta.3–beta.9" in r.stdout
    assert "ok    auth" in r.stdout and "token is configured" in r.stdout
    fake.close()
    r = flue(cli, fake, "config", "doctor")
    assert r.exit_code == 5 and "FAIL  reachable" in r.stdout


def test_doctor_on_something_that_is_not_flue(cli):
    with FakeFlue(prefix="/api/flue") as fake:
        r = cli("--backend", "flue", "--url", f"http://127.0.0.1:{fake.port}/elsewhere", "config", "doctor")
        assert r.exit_code == 5 and "FAIL  version" in r.stdout and "mount prefix" in r.stdout


# ----------------------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------------------


def test_flue_event_json_has_the_event_model_shape():
    from wfctl.backends.flue import _flue_event

    raw = {
        "type": "log",
        "level": "info",
        "message": "m",
        "runId": "run_a",
        "v": 3,
        "eventIndex": 4,
        "timestamp": "2026-11-22T04:20:58.479Z",
    }
    fast = _flue_event("run_a", "0_1", 4, "log", raw["timestamp"], None, None, raw)
    assert fast.time is not None and fast.time.microsecond == 479000 and fast.time.utcoffset().total_seconds() == 0
    generic = Event(runId="run_a", offset="0_1", index=4, type="log", time=fast.time, data=raw)
    assert fast.to_json() == generic.to_json()
    assert list(fast.to_json()) == Event.field_names()
    assert "summary" not in fast.to_json() and summarize(fast) == "[info] m"
    # timestamps in another form are normalized; the dataclass constructor works too
    odd = _flue_event("run_a", "0_1", 4, "log", "2026-11-22T05:20:58.4791+01:00", None, None, raw)
    assert odd.to_json()["time"] == "2026-11-22T04:20:58.479Z"
    built = FlueEvent(runId="run_a", offset="0_1", index=4, type="log", time=fast.time, data=raw)
    assert built.to_json() == generic.to_json()


@pytest.mark.parametrize(
    "raw,expected",
    [
        ({"type": "log", "level": "warn", "message": "disk", "attributes": {"free": 1}}, '[warn] disk  {"free":1}'),
        ({"type": "text_delta", "text": "Hel"}, "Hel"),
        ({"type": "tool_start", "toolName": "bash", "toolCallId": "c", "args": {"command": "ls"}}, '{"command":"ls"}'),
        ({"type": "tool", "toolName": "bash", "isError": False, "result": "a\nb", "durationMs": 12}, "ok in 12ms: a b"),
        (
            {"type": "tool", "toolName": "read", "isError": True, "result": "ENOENT", "durationMs": 1500},
            "failed in 1.5s: ENOENT",
        ),
        ({"type": "run_start", "workflowName": "ticker", "input": {"n": 5}}, 'ticker started with {"n":5}'),
        (
            {"type": "run_end", "isError": False, "result": {"ticks": 5}, "durationMs": 2038},
            'completed in 2.0s → {"ticks":5}',
        ),
        (
            {
                "type": "run_end",
                "isError": True,
                "error": {"name": "Error", "message": "requested failure"},
                "durationMs": 15,
            },
            "failed after 15ms: Error: requested failure",
        ),
        (
            {
                "type": "turn",
                "durationMs": 850,
                "request": {"requestedModel": "m1"},
                "response": {"responseModel": "m2", "usage": {"input": 10, "output": 2}, "finishReason": "stop"},
            },
            "m2 in 850ms, 10 in / 2 out tokens, stop",
        ),
        (
            {
                "type": "message_end",
                "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi there"}]},
            },
            "assistant: Hi there",
        ),
        ({"type": "task_start", "taskId": "t", "prompt": "Summarize", "agent": "helper"}, "Summarize"),
        (
            {
                "type": "operation",
                "operationKind": "shell",
                "isError": True,
                "error": {"message": "exit 1"},
                "durationMs": 5,
            },
            "failed in 5ms: exit 1",
        ),
        ({"type": "future_type", "foo": 1, "v": 3, "eventIndex": 1}, '{"foo":1}'),
    ],
)
def test_describe(raw, expected):
    assert describe(raw) == expected


def test_every_known_type_has_a_readable_summary():
    for kind in EVENT_TYPES:
        text = describe({"type": kind})
        assert isinstance(text, str) and "{" not in text, kind


def test_table_output_is_readable(cli, fake):
    run_id = fake.start_run("chatty")
    fake.wait_until(lambda: fake.run(run_id).status != "active")
    r = flue(cli, fake, "tail", run_id, "-o", "table")
    assert r.exit_code == 0, r.stderr
    assert "disk almost full" in r.stdout and "tool_start" in r.stdout and "bash" in r.stdout


# ----------------------------------------------------------------------------------------------------------
# raw Durable Streams mode, against the reference server
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ds():
    yield from require_server(long_poll_timeout_ms=300)


def _flue_events(run_id: str, start: int, count: int) -> list[dict]:
    return [
        {
            "type": "log",
            "level": "info",
            "message": f"m{i}",
            "runId": run_id,
            "v": 3,
            "eventIndex": i,
            "timestamp": "2026-11-22T04:20:58.479Z",
        }
        for i in range(start, start + count)
    ]


def test_raw_mode_reads_a_reference_server_stream(cli, ds):
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    ds.create(path)
    ds.append_json(path, _flue_events(run_id, 0, 50))
    ds.append_json(path, _flue_events(run_id, 50, 50))
    url = f"{ds.url}/v1/stream/runs/{{runId}}"
    r = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl")
    assert r.exit_code == 12, r.stderr  # the stream is open: the run has not finished
    lines = jsonl(r.stdout)
    assert [e["index"] for e in lines[:-1]] == list(range(100))
    # byte offsets prove nothing about per-event positions: only batch boundaries are given
    tails = {e["offset"] for e in lines[:-1]}
    assert len(tails) <= 3 and lines[-1]["status"] == "running"
    r = cli("--backend", "flue", "--url", url, "tail", run_id, "--last", "2", "-o", "jsonl")
    assert [e["index"] for e in events_of(r.stdout)] == [98, 99]
    r = cli("--backend", "flue", "--url", url, "start", "x")
    assert r.exit_code == 6 and "raw Durable Streams URL template" in r.stderr


@pytest.mark.parametrize("sse", [False, True])
def test_raw_mode_live_with_faults_is_complete_and_in_order(ds, sse):
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    ds.create(path)
    ds.append_json(path, _flue_events(run_id, 0, 10))
    ds.inject_fault(path, status=503, retryAfter=0, count=2, method="GET")
    caught_up = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            assert caught_up.wait(20), "the reader never caught up"
            ds.inject_fault(path, dropConnection=True, count=1, method="GET")
            for start in range(10, 200, 19):
                ds.append_json(path, _flue_events(run_id, start, min(19, 200 - start)))
            end = {
                "type": "run_end",
                "runId": run_id,
                "isError": True,
                "error": {"message": "x"},
                "v": 3,
                "eventIndex": 200,
                "timestamp": "2026-11-22T04:20:58.479Z",
            }
            ds.append_json(path, end, close=True)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    backend = backend_for(f"{ds.url}/v1/stream/runs/{{runId}}")
    indexes = []
    with backend:
        for event in backend.tail(run_id, TailRequest(live=True, sse=sse)):
            indexes.append(event.index)
            if len(indexes) == 10:
                caught_up.set()
        status = backend.get_status(run_id)
    thread.join(timeout=20)
    assert not errors, errors
    assert indexes == list(range(201))
    assert status.status == "failed" and status.rawStatus == "closed"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["list"], "no endpoint to list"),
        (["cancel", "run_1", "-y"], "no endpoint to cancel"),
        (["wake", "run_1"], "no sleeps that can be interrupted"),
        (["dashboard", "--once"], "no endpoint to list or count runs"),
        (["start", "ticker"], "raw Durable Streams URL template"),
        (["rerun", "run_1", "-y"], "raw Durable Streams URL template"),
        (["resume", "run_1", "--data", "{}"], "no endpoint to deliver data"),
    ],
)
def test_raw_mode_refuses_what_a_stream_cannot_do_before_any_request(cli, argv, says):
    """A raw Durable Streams profile (a URL template with {runId}) reads runs; everything else exits 6 with one
    sentence, before anything is sent (nothing listens on the port)."""
    from tests.doubles.net import closed_port

    url = f"http://127.0.0.1:{closed_port()}/v1/stream/runs/{{runId}}"
    r = cli("--backend", "flue", "--url", url, *argv)
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line]
    assert lines[0].startswith("error: ") and says in lines[0], r.stderr
    assert len([line for line in lines if line.startswith("error:")]) == 1
