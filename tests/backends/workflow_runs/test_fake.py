"""The workflow-runs contract fake keeps the documented contract (the endpoints in tests/doubles/workflow_runs.py).

These talk to the fake with httpx over real loopback HTTP, so the backend tests
can trust what the fake serves.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from tests.doubles.workflow_runs import FakeWorkflowRuns, parse_sse


@pytest.fixture
def fake():
    with FakeWorkflowRuns(envelope="data", ping_interval=0.05) as f:
        yield f
    assert f.errors == []


@pytest.fixture
def client(fake):
    with httpx.Client(base_url=fake.v1_url, headers=fake.headers, timeout=5) as c:
        yield c


def execute_form(workflow_id, inputs=None, envs=None):
    files = {"workflowId": (None, workflow_id)}
    if inputs is not None:
        files["inputs"] = (None, json.dumps(inputs))
    if envs is not None:
        files["envs"] = (None, json.dumps(envs))
    return files


def read_stream(client, workflow_id, **kw):
    with client.stream("POST", "/execute/stream", files=execute_form(workflow_id, **kw)) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        return parse_sse(resp.read().decode())


# --------------------------------------------------------------------------- auth


def test_auth_missing_wrong_forbidden_expired(fake, client):
    rid = fake.add_run(status="running")
    v2 = fake.add_v2_run()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = httpx.get(f"{fake.v1_url}/{rid}", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["message"]
    assert httpx.get(f"{fake.v2_url}/{v2}").status_code == 401

    r = httpx.get(f"{fake.v1_url}/{rid}", headers={"Authorization": f"Bearer {fake.forbidden_token}"})
    assert r.status_code == 403 and r.json()["statusCode"] == 403

    assert client.get(f"/{rid}").status_code == 200
    fake.expire_token(after_requests=1)
    assert client.get(f"/{rid}").status_code == 200
    r = client.get(f"/{rid}")
    assert r.status_code == 401 and r.json()["message"] == "jwt expired"
    assert httpx.get(f"{fake.v2_url}/{v2}", headers=fake.headers).status_code == 401

    assert fake.token.count(".") == 2  # JWT-shaped
    assert fake.requests_for("GET", f"{fake.v1_url[len(fake.url) :]}/{rid}")[0].authorization is None


# --------------------------------------------------------------------------- list


def test_list_paging_bounds_and_filters(fake, client):
    wf_a = fake.add_workflow("Nightly Report")
    wf_b = fake.add_workflow("billing-sync")
    ids = fake.add_runs(25, wf_a, status="completed")
    waiting = fake.add_run(wf_b, status="waiting")

    body = client.get("/").json()
    assert body["success"] is True
    assert [r["id"] for r in body["data"]] == [waiting] + ids[::-1][:9]  # newest first, default 10
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 26, "totalPages": 3}
    assert set(body["data"][0]) == {"id", "workflowId", "workflowName", "status", "inputs", "createdAt", "updatedAt"}

    page3 = client.get("/", params={"page": 3}).json()
    assert len(page3["data"]) == 6 and page3["pagination"]["page"] == 3
    assert client.get("/", params={"page": 9}).json()["data"] == []
    assert len(client.get("/", params={"limit": 100}).json()["data"]) == 26
    assert len(client.get("/", params={"limit": 1}).json()["data"]) == 1

    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"page": 0},
        {"status": "done"},
        {"status": "COMPLETED"},
        {"workflowId": "not-a-uuid"},
        [("status", "running"), ("status", "failed")],
    ):
        r = client.get("/", params=params)
        assert r.status_code == 400, params
        assert r.json()["success"] is False and r.json()["message"]

    assert [r["id"] for r in client.get("/", params={"status": "waiting"}).json()["data"]] == [waiting]
    assert client.get("/", params={"workflowId": wf_b}).json()["pagination"]["total"] == 1
    found = client.get("/", params={"search": "nightly", "limit": 100}).json()
    assert found["pagination"]["total"] == 25
    assert {r["workflowName"] for r in found["data"]} == {"Nightly Report"}


@pytest.mark.parametrize(
    "envelope, list_of, one_of",
    [
        ("bare", lambda b: b, lambda b: b),
        ("workflowRuns", lambda b: b["workflowRuns"], lambda b: b["workflowRun"]),
        ("runs", lambda b: b["runs"], lambda b: b["run"]),
        ("results", lambda b: b["results"], lambda b: b),
    ],
)
def test_envelopes(envelope, list_of, one_of):
    with FakeWorkflowRuns(envelope=envelope) as fake:
        wf = fake.add_workflow("wf")
        rid = fake.add_run(wf, status="running", activities=[{"stepName": "a", "outputs": {"x": 1}}])
        c = httpx.Client(base_url=fake.v1_url, headers=fake.headers)
        listed = c.get("/").json()
        assert list_of(listed)[0]["id"] == rid
        if envelope == "bare":
            assert isinstance(listed, list)
        else:
            assert listed["pagination"]["total"] == 1 and "success" not in listed
        run = one_of(c.get(f"/{rid}").json())
        assert run["id"] == rid
        assert json.loads(run["activityRuns"][0]["outputs"]) == {"x": 1}
        assert run["activityRuns"][0]["attempt"] == 1
        dash = c.get(f"/dashboard/{wf}").json()
        counts = dash if envelope == "bare" else dash["counts"]
        assert counts == {"scheduled": 0, "running": 1, "completed": 0, "failed": 0, "cancelled": 0, "waiting": 0}
        c.close()


def test_dashboard_and_get_errors(fake, client):
    wf = fake.add_workflow("wf")
    fake.add_run(wf, status="failed")
    fake.add_run(wf, status="running")
    fake.add_run(status="running")  # another workflow
    body = client.get(f"/dashboard/{wf}").json()["data"]
    assert body["counts"]["failed"] == 1 and body["counts"]["running"] == 1 and body["total"] == 2
    assert client.get(f"/dashboard/{uuid.uuid4()}").status_code == 404
    assert client.get("/dashboard/xyz").status_code == 400
    r = client.get(f"/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["error"] == "Not Found"
    assert client.get("/not-a-uuid").status_code == 400
    assert client.delete("/cancel").status_code == 405
    assert client.get(fake.url + "/api/v3/nothing").status_code == 404


# --------------------------------------------------------------------------- cancel


def test_cancel_validations(fake, client):
    rid = fake.add_run(status="running")
    wf = fake.add_workflow("wf")
    bad = [
        {"runIds": [rid], "workflowId": wf},
        {},
        {"reason": "x"},
        {"runIds": []},
        {"runIds": "abc"},
        {"workflowId": "nope"},
        {"runIds": [rid], "reason": "r" * 501},
    ]
    for payload in bad:
        r = client.post("/cancel", json=payload)
        assert r.status_code == 400, payload
        assert r.json()["message"]
    assert client.post("/cancel", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post("/cancel", json={"workflowId": str(uuid.uuid4())}).status_code == 404
    assert fake.status(rid) == "running"  # nothing was cancelled by a rejected request
    r = client.post("/cancel", json={"runIds": [rid], "reason": "r" * 500})
    assert r.status_code == 200 and fake.cancel_reason(rid) == "r" * 500


def test_cancel_outcomes(fake, client):
    wf = fake.add_workflow("wf", steps=["a"])
    running = fake.add_run(
        wf, status="running", activities=[{"stepName": "a", "status": "running"}], script=[{"status": "completed"}]
    )
    done = fake.add_run(wf, status="completed")
    waiting = fake.add_run(wf, status="waiting")
    broken = fake.add_run(wf, status="scheduled")
    fake.inject_cancel_error(broken, "lock timeout")
    missing = str(uuid.uuid4())

    r = client.post("/cancel", json={"runIds": [running, done, waiting, broken, missing], "reason": "deploy"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert [(x["runId"], x["outcome"]) for x in data["results"]] == [
        (running, "cancelled"),
        (done, "already_completed"),
        (waiting, "not_eligible"),
        (broken, "error"),
        (missing, "not_found"),
    ]
    assert data["summary"] == {"cancelled": 1, "already_completed": 1, "not_eligible": 1, "error": 1, "not_found": 1}
    run = client.get(f"/{running}").json()["data"]
    assert run["status"] == "cancelled" and run["activityRuns"][0]["status"] == "cancelled"
    assert client.get(f"/{running}").json()["data"]["status"] == "cancelled"  # script stopped
    assert fake.status(broken) == "scheduled"

    # by workflow: every non-terminal run of it, nothing else
    other = fake.add_run(status="running")
    fresh = fake.add_run(wf, status="running")
    fake.clear_cancel_errors()
    data = client.post("/cancel", json={"workflowId": wf}).json()["data"]
    assert {x["runId"]: x["outcome"] for x in data["results"]} == {
        waiting: "not_eligible",
        broken: "cancelled",
        fresh: "cancelled",
    }
    assert fake.status(other) == "running"
    assert fake.requests_for("POST", prefix="/api/v1/workflow-runs/cancel")[-1].json() == {"workflowId": wf}


# --------------------------------------------------------------------------- progression


def test_progression_on_each_get(fake, client):
    wf = fake.add_workflow("wf")
    rid = fake.add_run(wf, status="scheduled", script=fake.script(["fetch", "summarize"]))
    seen = []
    while not seen or seen[-1][0] not in ("completed", "failed", "cancelled"):
        run = client.get(f"/{rid}").json()["data"]
        seen.append((run["status"], [(a["stepName"], a["status"]) for a in run["activityRuns"]]))
        assert len(seen) < 20
    assert seen[0] == ("scheduled", [])
    assert seen[1] == ("running", [])
    assert ("running", [("fetch", "completed"), ("summarize", "running")]) in seen
    assert seen[-1] == ("completed", [("fetch", "completed"), ("summarize", "completed")])
    assert len(seen) == 1 + len(fake.script(["fetch", "summarize"]))


def test_progression_by_virtual_time_retry_and_fail():
    with FakeWorkflowRuns(envelope="bare", clock="virtual", outputs_encoding="object") as fake:
        rid = fake.add_run(
            status="running",
            script=[
                {"step": "a", "status": "running"},
                {"step": "a", "status": "failed", "outputs": {"error": "flaky"}},
                {"step": "a", "status": "running", "retry": True},
            ],
            advance_on=10,
        )
        c = httpx.Client(base_url=fake.v1_url, headers=fake.headers)
        assert c.get(f"/{rid}").json()["activityRuns"] == []
        fake.advance_time(10)
        assert c.get(f"/{rid}").json()["activityRuns"][0]["status"] == "running"
        fake.advance_time(25)
        acts = c.get(f"/{rid}").json()["activityRuns"]
        assert [(a["status"], a["attempt"]) for a in acts] == [("failed", 1), ("running", 2)]
        assert acts[0]["outputs"] == {"error": "flaky"} and acts[0]["stepId"] == acts[1]["stepId"]
        assert acts[1]["createdAt"] == "2026-01-01T00:00:30.000Z"
        fake.fail_run(rid, "boom")
        run = c.get(f"/{rid}").json()
        assert run["status"] == "failed" and run["activityRuns"][1]["outputs"] == {"error": "boom"}
        c.close()


def test_v2_get_progression_and_id_validation():
    with FakeWorkflowRuns(envelope="workflowRuns", v2_envelope="bare") as fake:
        rid = fake.add_v2_run(
            script=fake.v2_script(("IN_PROGRESS", "Intake"), ("AWAITING_USER_INPUT", "Review"), ("COMPLETED", None))
        )
        c = httpx.Client(base_url=fake.v2_url, headers=fake.headers)
        states = []
        while not states or states[-1][0] != "COMPLETED":
            body = c.get(f"/{rid}").json()
            states.append((body["status"], body["currentStateName"], body["completedAt"]))
            assert len(states) < 10
        assert [s[:2] for s in states] == [
            ("PENDING", None),
            ("IN_PROGRESS", "Intake"),
            ("AWAITING_USER_INPUT", "Review"),
            ("COMPLETED", None),
        ]
        assert states[-1][2] is not None and all(s[2] is None for s in states[:-1])
        assert set(body) == {
            "id",
            "workflowId",
            "status",
            "completedAt",
            "createdAt",
            "updatedAt",
            "createdByUserId",
            "jobRunId",
            "currentStateName",
        }
        assert c.get(f"/{uuid.uuid4()}").status_code == 404
        assert c.get("/00000000-0000-0000-0000-000000000000").status_code == 404
        for bad in (
            "abc",
            "123e4567-e89b-02d3-a456-426614174000",
            "123e4567-e89b-12d3-c456-426614174000",
            "123e4567e89b12d3a456426614174000",
        ):
            r = c.get(f"/{bad}")
            assert r.status_code == 400, bad
            assert "UUID" in r.json()["message"]
        c.close()


# --------------------------------------------------------------------------- execute and stream


def test_execute_blocks_until_the_run_finishes(fake, client):
    wf = fake.add_workflow("wf", steps=["a", "b"], step_delay=0.01)
    r = client.post("/execute", files=execute_form(wf, {"city": "Oslo", "n": 2}, {"API_KEY": "s3cret"}))
    assert r.status_code == 200
    run = r.json()["data"]
    assert run["status"] == "completed" and run["workflowId"] == wf
    assert run["inputs"] == [{"name": "city", "value": "Oslo"}, {"name": "n", "value": 2}]
    assert [a["status"] for a in run["activityRuns"]] == ["completed", "completed"]
    assert fake.run_envs(run["id"]) == {"API_KEY": "s3cret"}
    assert "s3cret" not in r.text
    form = fake.requests_for("POST", prefix="/api/v1/workflow-runs/execute")[0].form()
    assert json.loads(form["inputs"]) == {"city": "Oslo", "n": 2}

    assert client.post("/execute", data={"workflowId": wf}).status_code == 415  # urlencoded is not the contract
    assert client.post("/execute", files=execute_form("nope")).status_code == 400
    assert client.post("/execute", files={"workflowId": (None, wf), "inputs": (None, "[1]")}).status_code == 400
    assert client.post("/execute", files=execute_form(wf, envs={"N": 1})).status_code == 400
    assert client.post("/execute", files=execute_form(str(uuid.uuid4()))).status_code == 404


def test_stream_event_order_with_pings_and_thinking(fake, client):
    wf = fake.add_workflow("wf", script=FakeWorkflowRuns.script(["plan"], thinking=True), step_delay=0.12)
    events = read_stream(client, wf, inputs={"q": "x"})
    names = [e.event for e in events]
    assert names[-1] == "result"
    assert "ping" in names
    assert all(e.data == {"content": "ping"} for e in events if e.event == "ping")
    meaningful = [
        (e.event, e.data.get("content", {}).get("status") if isinstance(e.data.get("content"), dict) else None)
        for e in events
        if e.event != "ping"
    ]
    assert meaningful == [
        ("workflow-run", "scheduled"),
        ("workflow-run", "running"),
        ("activity-run", "running"),
        ("thinking", None),
        ("activity-run", "completed"),
        ("workflow-run", "completed"),
        ("result", None),
    ]
    run_id = events[0].data["content"]["workflowRunId"]
    assert all(
        e.data["content"]["workflowRunId"] == run_id for e in events if e.event in ("workflow-run", "activity-run")
    )
    thinking = next(e for e in events if e.event == "thinking")
    assert thinking.data["content"] == "Working on plan"
    final = events[-1].data
    assert final["success"] is True and final["workflowRun"]["id"] == run_id
    assert thinking.data["activityRunId"] == final["workflowRun"]["activityRuns"][0]["id"]
    assert thinking.data["stepId"] == final["workflowRun"]["activityRuns"][0]["stepId"]
    assert client.get(f"/{run_id}").json()["data"]["status"] == "completed"


def test_stream_error_event_and_failed_run(fake, client):
    wf = fake.add_workflow(
        "wf",
        script=[
            {"status": "running"},
            {"step": "a", "status": "running"},
            {"error": "Model quota exceeded", "details": {"code": "QUOTA"}},
        ],
    )
    events = [e for e in read_stream(client, wf) if e.event != "ping"]
    assert events[-1].event == "error"
    assert events[-1].data == {"error": "Model quota exceeded", "details": {"code": "QUOTA"}}
    assert ("workflow-run", "failed") in [(e.event, e.data["content"]["status"]) for e in events[:-1]]

    fake.set_execution(wf, FakeWorkflowRuns.script(["a"], final="failed"))
    events = [e for e in read_stream(client, wf) if e.event != "ping"]
    assert events[-1].event == "error" and events[-1].data["details"]["status"] == "failed"


def test_stream_follows_external_cancel(fake, client):
    wf = fake.add_workflow("wf", script=[{"status": "running"}, {"status": "waiting"}])
    events = []
    with client.stream("POST", "/execute/stream", files=execute_form(wf)) as resp:
        lines = resp.iter_lines()
        buf = []
        for line in lines:
            buf.append(line)
            if line == "" and "data: " in "\n".join(buf):
                events += parse_sse("\n".join(buf) + "\n\n")
                buf = []
                statuses = [e.data["content"]["status"] for e in events if e.event == "workflow-run"]
                if statuses[-1:] == ["waiting"] and len(statuses) == 3:
                    run_id = events[0].data["content"]["workflowRunId"]
                    # waiting runs are not eligible; the engine moves it on, then it is cancelled
                    fake.set_status(run_id, "running")
                    assert (
                        client.post("/cancel", json={"runIds": [run_id]}).json()["data"]["results"][0]["outcome"]
                        == "cancelled"
                    )
            if events and events[-1].event == "result":
                break
    assert events[-1].data["workflowRun"]["status"] == "cancelled"


def test_silent_stream_and_stop_does_not_hang():
    fake = FakeWorkflowRuns(ping_interval=0.02)
    try:
        wf = fake.add_workflow("wf", steps=["a"], step_delay=0.01)
        fake.stream_silent(after_events=1)
        client = httpx.Client(base_url=fake.v1_url, headers=fake.headers, timeout=httpx.Timeout(5, read=0.5))
        with client.stream("POST", "/execute/stream", files=execute_form(wf)) as resp:
            lines = resp.iter_lines()
            assert next(lines) == "event: workflow-run"
            next(lines), next(lines)
            # the run still completes server-side while the connection says nothing at all
            fake.wait_for(lambda f: f.run_ids and f.status(f.run_ids[-1]) == "completed")
            with pytest.raises(httpx.ReadTimeout):
                next(lines)
        fake.wait_for(lambda f: f.open_streams == 0)

        # an open silent stream does not keep stop() waiting
        fake.stream_silent(after_events=0)
        got_headers = threading.Event()
        outcome = {}

        def reader():
            try:
                with httpx.stream(
                    "POST",
                    f"{fake.v1_url}/execute/stream",
                    headers=fake.headers,
                    files=execute_form(wf),
                    timeout=httpx.Timeout(5, read=30),
                ) as resp:
                    got_headers.set()
                    outcome["body"] = resp.read()
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        assert got_headers.wait(5)
        fake.wait_for(lambda f: f.open_streams == 1)
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 3
        t.join(5)
        assert not t.is_alive() and outcome  # the client saw the connection end
    finally:
        fake.stop()
    assert fake.errors == []


def test_stream_drop_cuts_the_connection(fake, client):
    wf = fake.add_workflow("wf", steps=["a", "b"])
    fake.stream_drop(after_events=2)
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("POST", "/execute/stream", files=execute_form(wf)) as resp:
            resp.read()
    fake.stream_normal()
    assert read_stream(client, wf)[-1].event == "result"


# --------------------------------------------------------------------------- faults and recording


def test_faults_503_html_slow_disconnect_and_recording(fake, client):
    rid = fake.add_run(status="running")
    fake.inject_503(2, retry_after=3)
    for _ in range(2):
        r = client.get(f"/{rid}")
        assert r.status_code == 503 and r.headers["retry-after"] == "3" and r.json()["statusCode"] == 503
    assert client.get(f"/{rid}").status_code == 200

    fake.inject_html_error()
    r = client.get("/")
    assert r.status_code == 502 and r.headers["content-type"] == "text/html" and "<html>" in r.text
    assert client.get("/").status_code == 200

    fake.inject_disconnect(path_prefix="/api/v1")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/")

    fake.set_delay(1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/", timeout=0.1)
    fake.clear_faults()
    assert client.get("/", params={"search": "a b"}).status_code == 200

    last = fake.requests[-1]
    assert (last.method, last.path, last.param("search"), last.status) == ("GET", "/api/v1/workflow-runs/", "a b", 200)
    assert last.headers["authorization"] == f"Bearer {fake.token}"
    assert [r.status for r in fake.requests_for("GET", f"/api/v1/workflow-runs/{rid}")] == [503, 503, 200]
