"""The Workflow SDK Vercel world backend against the contract fake, over real HTTP on loopback."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cbor2
import pytest

from tests.doubles.vercel_world import DEMO_WORKFLOW, FakeVercelWorld, Recorded, decode_v4_frames, frame_value
from wfctl.backends.workflow_sdk import vercel as vercel_mod

TOKEN = "tok-vercel-secret-1234"


@pytest.fixture
def fake():
    with FakeVercelWorld(token=TOKEN, project="prj_1", team="team_1") as world:
        yield world


@pytest.fixture
def env(fake: FakeVercelWorld) -> dict[str, str]:
    return {
        "WFCTL_WORLD": "vercel",
        "WFCTL_URL": fake.url,
        "WORKFLOW_VERCEL_AUTH_TOKEN": TOKEN,
        "WORKFLOW_VERCEL_PROJECT": "prj_1",
        "WORKFLOW_VERCEL_TEAM": "team_1",
    }


@pytest.fixture
def run_cli(cli, env, tmp_path):
    """``cli`` in an empty directory (no .vercel/project.json above it) with the Vercel world's variables."""

    def run(*args: str, extra: dict[str, str] | None = None, cwd: Path | None = None):
        return cli(*args, env={**env, **(extra or {})}, cwd=cwd or tmp_path)

    return run


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# -- headers, credentials, configuration ---------------------------------------------------------------------


def test_every_request_carries_the_documented_headers(fake, run_cli):
    run_id = fake.add_run(status="completed", output="ok")
    result = run_cli("status", run_id, "--debug")
    assert result.exit_code == 0, result.stderr
    assert fake.requests, "no request reached the fake"
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["x-vercel-project-id"] == "prj_1"
        assert request.headers["x-vercel-team-id"] == "team_1"
        assert request.headers["x-vercel-environment"] == "production"
        assert "application/cbor" in request.headers["accept"]
    # status is cheap: one request, payloads not resolved
    assert [(r.method, r.path, r.param("remoteRefBehavior")) for r in fake.requests] == [
        ("GET", f"/v2/runs/{run_id}", "lazy")
    ]
    assert TOKEN not in result.stdout + result.stderr  # --debug redacts the token


def test_missing_token_is_an_auth_error_with_a_hint(fake, cli, env, tmp_path):
    env = {k: v for k, v in env.items() if k != "WORKFLOW_VERCEL_AUTH_TOKEN"}
    result = cli("list", env=env, cwd=tmp_path)
    assert result.exit_code == 4
    assert "no Vercel token" in result.stderr
    assert "WORKFLOW_VERCEL_AUTH_TOKEN" in result.stderr and "VERCEL_TOKEN" in result.stderr
    assert fake.requests == []


def test_vercel_token_and_wfctl_token_are_accepted(fake, cli, env, tmp_path):
    fake.add_run(status="running")
    base = {k: v for k, v in env.items() if k != "WORKFLOW_VERCEL_AUTH_TOKEN"}
    assert cli("list", env={**base, "VERCEL_TOKEN": TOKEN}, cwd=tmp_path).exit_code == 0
    # WFCTL_TOKEN (wfctl's own setting) wins over the engine's variables
    result = cli("list", env={**base, "WFCTL_TOKEN": TOKEN, "VERCEL_TOKEN": "wrong"}, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr


def test_missing_project_is_a_usage_error_naming_every_source(fake, cli, env, tmp_path):
    env = {k: v for k, v in env.items() if k != "WORKFLOW_VERCEL_PROJECT"}
    result = cli("list", env=env, cwd=tmp_path)
    assert result.exit_code == 2
    assert "no Vercel project id" in result.stderr
    for source in (".vercel/project.json", "WORKFLOW_VERCEL_PROJECT", "project"):
        assert source in result.stderr
    assert fake.requests == []


def test_project_and_team_come_from_vercel_project_json_upwards(fake, cli, env, tmp_path):
    run_id = fake.add_run(status="running")
    (tmp_path / ".vercel").mkdir()
    (tmp_path / ".vercel" / "project.json").write_text(json.dumps({"projectId": "prj_1", "orgId": "team_1"}))
    deep = tmp_path / "apps" / "web"
    deep.mkdir(parents=True)
    env = {k: v for k, v in env.items() if k not in ("WORKFLOW_VERCEL_PROJECT", "WORKFLOW_VERCEL_TEAM")}
    result = cli("status", run_id, env=env, cwd=deep)
    assert result.exit_code == 12, result.stderr  # running
    assert fake.requests[-1].headers["x-vercel-team-id"] == "team_1"


def test_environment_selects_which_runs_are_visible(fake, run_cli):
    prod = fake.add_run(status="completed", output=1)
    preview = fake.add_run(status="completed", output=2, environment="preview")
    assert run_cli("status", preview).exit_code == 3
    result = run_cli("get", preview, "-o", "json", extra={"WORKFLOW_VERCEL_ENV": "preview"})
    assert result.exit_code == 0, result.stderr
    assert result.json()["output"] == 2
    assert fake.requests[-1].headers["x-vercel-environment"] == "preview"
    # the profile's environment (here WFCTL_ENVIRONMENT) wins over WORKFLOW_VERCEL_ENV
    result = run_cli("status", prod, extra={"WORKFLOW_VERCEL_ENV": "preview", "WFCTL_ENVIRONMENT": "production"})
    assert result.exit_code == 0


def test_backend_url_from_workflow_vercel_backend_url(fake, cli, env, tmp_path):
    run_id = fake.add_run(status="completed", output=1)
    env = {k: v for k, v in env.items() if k != "WFCTL_URL"}
    result = cli("status", run_id, env={**env, "WORKFLOW_VERCEL_BACKEND_URL": fake.url}, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr


def test_default_base_url_is_the_vercel_proxy(tmp_path):
    from wfctl.config import resolve

    profile = resolve(env={"WFCTL_WORLD": "vercel", "WFCTL_CONFIG": str(tmp_path / "c.toml")})
    settings = vercel_mod.resolve_settings(profile, cwd=tmp_path)
    assert settings.base_url == "https://api.vercel.com/v1/workflow"
    assert settings.environment == "production"


# -- auth and failures ---------------------------------------------------------------------------------------


def test_401_exits_4_with_the_token_hint(fake, run_cli):
    result = run_cli("list", extra={"WORKFLOW_VERCEL_AUTH_TOKEN": "wrong-token"})
    assert result.exit_code == 4
    assert "HTTP 401" in result.stderr
    assert "hint:" in result.stderr and "WORKFLOW_VERCEL_AUTH_TOKEN" in result.stderr
    assert "regular Vercel token" in result.stderr
    assert "wrong-token" not in result.stderr


def test_403_exits_4_with_the_token_hint(fake, run_cli):
    result = run_cli("list", extra={"WORKFLOW_VERCEL_TEAM": "team_other"})
    assert result.exit_code == 4
    assert "HTTP 403" in result.stderr and "access to this project" in result.stderr
    assert "WORKFLOW_VERCEL_AUTH_TOKEN" in result.stderr


def test_unknown_run_exits_3(fake, run_cli):
    result = run_cli("get", "wrun_01M80PJCF8C52GM4N70SQZA3D7")
    assert result.exit_code == 3
    assert "not found" in result.stderr and "environment production" in result.stderr


def test_5xx_is_retried_then_succeeds(fake, run_cli):
    run_id = fake.add_run(status="completed", output={"n": 1})
    fake.fail(503, times=2, path=rf"^/v2/runs/{run_id}$")
    fake.fail(502, times=1, path=r"^/v2/runs$")
    result = run_cli("status", run_id)
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in fake.calls("GET", rf"^/v2/runs/{run_id}$")] == [503, 503, 200]
    result = run_cli("list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in fake.calls("GET", r"^/v2/runs$")] == [502, 200]


def test_persistent_5xx_exits_5(fake, run_cli):
    run_id = fake.add_run(status="completed")
    fake.fail(503, times=100, path=rf"^/v2/runs/{run_id}$")
    result = run_cli("status", run_id)
    assert result.exit_code == 5
    assert "503" in result.stderr
    assert len(fake.calls("GET")) == 5  # the first try and 4 retries


# -- list ------------------------------------------------------------------------------------------------------


def test_list_pages_with_the_api_cursor(fake, run_cli):
    ids = [fake.add_run(status="completed", output=i) for i in range(5)]
    newest_first = list(reversed(ids))
    first = run_cli("list", "-o", "json", "--limit", "2")
    assert first.exit_code == 0, first.stderr
    page = first.json()
    assert [r["runId"] for r in page["data"]] == newest_first[:2]
    assert page["hasMore"] is True and page["cursor"] and page["cursor"] in first.stderr
    assert page["data"][0]["output"] == 4  # CBOR payloads decoded in the list too
    request = fake.calls("GET", r"^/v2/runs$")[-1]
    assert (request.param("limit"), request.param("sortOrder"), request.param("cursor")) == ("2", "desc", None)

    second = run_cli("list", "-o", "json", "--limit", "2", "--cursor", page["cursor"]).json()
    assert [r["runId"] for r in second["data"]] == newest_first[2:4]
    assert fake.calls("GET", r"^/v2/runs$")[-1].param("cursor") == page["cursor"]  # passed through
    third = run_cli("list", "-o", "json", "--limit", "2", "--cursor", second["cursor"]).json()
    assert [r["runId"] for r in third["data"]] == newest_first[4:]
    assert third["hasMore"] is False and third["cursor"] is None

    everything = run_cli("list", "-o", "json", "--limit", "2", "--all").json()
    assert [r["runId"] for r in everything["data"]] == newest_first
    ascending = run_cli("list", "-o", "id", "--sort", "asc", "--limit", "10")
    assert ascending.stdout.split() == ids


def test_list_sends_one_status_and_a_machine_workflow_name_to_the_api(fake, run_cli):
    other = "workflow//./workflows/other//otherWorkflow"
    a = fake.add_run(status="running")
    fake.add_run(status="completed")
    b = fake.add_run(status="running", workflow=other)
    result = run_cli("list", "-o", "id", "--status", "running")
    assert result.stdout.split() == [b, a]
    assert fake.calls("GET", r"^/v2/runs$")[-1].param("status") == "running"
    result = run_cli("list", "-o", "id", "--workflow", other)
    assert result.stdout.split() == [b]
    assert fake.calls("GET", r"^/v2/runs$")[-1].param("workflowName") == other
    # a short name is matched here (the API needs the machine name)
    result = run_cli("list", "-o", "id", "--workflow", "demoWorkflow", "--status", "RUNNING")
    assert result.stdout.split() == [a]
    assert fake.calls("GET", r"^/v2/runs$")[-1].param("workflowName") is None
    # a status the Workflow SDK never has matches nothing, without a request
    before = len(fake.requests)
    assert run_cli("list", "-o", "json", "--status", "waiting").json()["data"] == []
    assert len(fake.requests) == before
    assert run_cli("list", "--status", "bogus").exit_code == 2


def test_list_client_side_filters_resume_exactly_with_a_composite_cursor(fake, run_cli, monkeypatch):
    monkeypatch.setattr(vercel_mod, "PAGE_MAX", 3)  # small API pages to cross page boundaries
    made = []
    for i in range(9):
        made.append((fake.add_run(status=("running", "failed", "completed")[i % 3]), i % 3))
    wanted = [run_id for run_id, kind in reversed(made) if kind in (0, 1)]  # running or failed, newest first
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        args = ["list", "-o", "json", "--limit", "2", "--status", "running", "--status", "failed"]
        page = run_cli(*args, *(["--cursor", cursor] if cursor else [])).json()
        seen += [r["runId"] for r in page["data"]]
        for call in fake.calls("GET", r"^/v2/runs$"):
            assert call.param("status") is None and int(call.param("limit")) <= 3
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    assert seen == wanted  # nothing skipped, nothing repeated


def test_list_since_until_and_search(fake, run_cli):
    now = datetime.now(timezone.utc)
    old = fake.add_run(status="completed", created=now - timedelta(days=3))
    mid = fake.add_run(status="failed", created=now - timedelta(hours=5), error="disk quota exceeded")
    new = fake.add_run(status="running", created=now - timedelta(minutes=10))
    assert run_cli("list", "-o", "id", "--since", "1d").stdout.split() == [new, mid]
    assert run_cli("list", "-o", "id", "--until", "1h").stdout.split() == [mid, old]
    assert run_cli("list", "-o", "id", "--search", "QUOTA").stdout.split() == [mid]


# -- get, status, encryption ----------------------------------------------------------------------------------


def test_get_maps_run_steps_waits_hooks_and_streams(fake, run_cli):
    run_id = fake.add_run(status="running", input=["Ada", "1h"])
    fake.add_step(run_id, "greet", input=["Ada"], output={"greeting": "Hello, Ada!"})
    fake.add_step(run_id, "flaky", status="running", attempt=2, error="timeout")
    fake.add_step(run_id, "recovered", status="completed", attempt=2, error="earlier failure", output=1)
    corr = fake.add_sleep(run_id, timedelta(hours=1))
    hook = fake.add_hook(run_id, token="approval:doc1", metadata={"doc": "doc1"})
    fake.add_stream(run_id, ["hello Ada"])
    fake.add_stream(run_id, ["log line"], namespace="logs", done=True)
    result = run_cli("get", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert run["runId"] == run_id and run["backend"] == "workflow-sdk"
    assert (run["workflowName"], run["workflowId"]) == ("demoWorkflow", DEMO_WORKFLOW)
    assert (run["status"], run["rawStatus"]) == ("running", "running")
    assert run["input"] == ["Ada", "1h"] and run["output"] is None and run["error"] is None
    assert run["createdAt"].endswith("Z") and len(run["createdAt"]) == 24
    assert run["extra"]["deploymentId"] == "dpl_fake1" and run["extra"]["specVersion"] == 3
    steps = run["steps"]
    assert [s["stepName"] for s in steps] == ["greet", "flaky", "recovered"]
    assert steps[0]["input"] == {"args": ["Ada"]} and steps[0]["output"] == {"greeting": "Hello, Ada!"}
    assert steps[1]["attempt"] == 2 and steps[1]["error"]["message"] == "timeout"
    assert steps[2]["error"] is None  # an earlier attempt's error is not shown on a completed step
    assert run["waits"] == [
        {"correlationId": corr, "resumeAt": run["waits"][0]["resumeAt"], "status": "waiting", "completedAt": None}
    ]
    assert run["hooks"][0]["hookId"] == hook and run["hooks"][0]["metadata"] == {"doc": "doc1"}
    streams = {s["namespace"]: s for s in run["streams"]}
    assert streams[None]["chunks"] == 1 and streams[None]["done"] is False
    assert streams["logs"]["tailIndex"] == 0 and streams["logs"]["done"] is True


def test_terminal_runs_show_no_sleeps_or_hooks_and_errors_are_mapped(fake, run_cli):
    run_id = fake.add_run(status="failed", error="kaput", error_code="USER_ERROR", error_as_json_string=True)
    result = run_cli("get", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    run = result.json()
    assert run["error"] == {"message": "kaput", "code": "USER_ERROR", "stack": "Error: boom"}
    assert run["waits"] == [] and run["hooks"] == []
    assert not fake.calls("GET", r"^/v4/") and not fake.calls("GET", r"^/v2/hooks")
    assert run_cli("status", run_id).exit_code == 10


def test_encrypted_values_are_shown_as_encrypted(fake, run_cli):
    run_id = fake.add_run(status="completed", input=["secret"], output={"s": 1}, encrypted=True)
    fake.add_step(run_id, "greet", output="x", encrypted=True)
    fake.add_stream(run_id, ["secret chunk"], encrypted=True)
    run = run_cli("get", run_id, "-o", "json").json()
    assert run["input"] == {"$encrypted": True} and run["output"] == {"$encrypted": True}
    assert run["steps"][0]["input"] == {"$encrypted": True} and run["steps"][0]["output"] == {"$encrypted": True}
    events = lines(run_cli("tail", run_id, "-o", "jsonl").stdout)
    created = next(e for e in events if e.get("type") == "run_created")
    assert created["data"]["input"] == {"$encrypted": True}
    chunks = lines(run_cli("tail", run_id, "--stream", "-o", "jsonl").stdout)
    assert chunks[0] == {"kind": "chunk", "index": 0, "data": {"$encrypted": True}, "offset": "0"}


def test_plain_cbor_byte_strings_decode_too():
    with FakeVercelWorld(tag_uint8=False) as world:
        run_id = world.add_run(status="completed", input=["Ada"], output={"ok": True})
        from wfctl.backends.base import BackendContext
        from wfctl.config import resolve

        profile = resolve(
            env={
                "WFCTL_WORLD": "vercel",
                "WFCTL_URL": world.url,
                "WORKFLOW_VERCEL_AUTH_TOKEN": "t",
                "WORKFLOW_VERCEL_PROJECT": "prj_1",
                "WORKFLOW_VERCEL_TEAM": "team_1",
                "WFCTL_CONFIG": "/nonexistent/config.toml",
            }
        )
        with vercel_mod.VercelWorldBackend(profile, BackendContext()) as backend:
            run = backend.get_run(run_id)
        assert run.input == ["Ada"] and run.output == {"ok": True}


def test_bare_ulid_is_a_run_id(fake, run_cli):
    run_id = fake.add_run(status="completed", output=1)
    assert run_cli("status", run_id.removeprefix("wrun_").lower()).exit_code == 0


# -- cancel ----------------------------------------------------------------------------------------------------


def test_cancel_posts_one_v4_run_cancelled_frame(fake, run_cli):
    run_id = fake.add_run(status="running")
    result = run_cli("cancel", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled"
    (post,) = fake.calls("POST")
    assert post.path == f"/v4/runs/{run_id}/events/run_cancelled"
    assert post.headers["content-type"] == "application/octet-stream"
    ((meta, body),) = decode_v4_frames(post.body)
    assert meta == {"eventType": "run_cancelled", "specVersion": 3} and body == b""
    assert fake.runs[run_id]["status"] == "cancelled"
    assert run_cli("status", run_id).exit_code == 11


def test_cancel_outcomes_check_first_and_never_write_to_finished_runs(fake, run_cli):
    running = fake.add_run(status="running")
    done = fake.add_run(status="completed", output=1)
    cancelled = fake.add_run(status="cancelled")
    missing = "wrun_01M80PJCF8C52GM4N70SQZA3D7"
    result = run_cli("cancel", running, done, cancelled, missing, "-o", "json")
    assert result.exit_code == 7  # partly failed: one not found
    outcomes = {o["runId"]: o["outcome"] for o in result.json()}
    assert outcomes == {
        running: "cancelled",
        done: "already_completed",
        cancelled: "already_completed",
        missing: "not_found",
    }
    assert [p.path for p in fake.calls("POST")] == [f"/v4/runs/{running}/events/run_cancelled"]
    assert run_cli("cancel", missing).exit_code == 3


def test_cancel_race_409_reports_already_completed(fake, run_cli):
    run_id = fake.add_run(status="running")

    def finish_first(world: FakeVercelWorld, request: Recorded) -> None:
        if (
            request.method == "GET"
            and request.path == f"/v2/runs/{run_id}"
            and world.runs[run_id]["status"] == "running"
        ):
            world.set_status(run_id, "completed", output=1)  # the run completes between check and write

    fake.on_request(finish_first)
    result = run_cli("cancel", run_id, "-o", "json")
    assert result.json()[0]["outcome"] == "already_completed"
    assert [r.status for r in fake.calls("POST")] == [409]


def test_cancel_reason_rides_in_the_meta_and_falls_back_on_older_servers(fake, run_cli):
    run_id = fake.add_run(status="running")
    assert run_cli("cancel", run_id, "--reason", "stuck").exit_code == 0
    ((meta, _),) = decode_v4_frames(fake.calls("POST")[-1].body)
    assert meta["cancelReason"] == "stuck"
    fake.accept_cancel_reason = False
    other = fake.add_run(status="running")
    result = run_cli("cancel", other, "--reason", "stuck", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled" and "not recorded" in result.json()[0]["message"]
    assert [r.status for r in fake.calls("POST", other)] == [400, 200]


def test_cancel_legacy_spec_version_1_uses_the_v1_route(fake, run_cli):
    run_id = fake.add_run(status="running", spec_version=1)
    assert run_cli("cancel", run_id).exit_code == 0
    assert [(r.method, r.path) for r in fake.calls(path=r"cancel")] == [("PUT", f"/v1/runs/{run_id}/cancel")]


def test_cancel_retries_a_5xx_write(fake, run_cli):
    run_id = fake.add_run(status="running")
    fake.fail(503, times=1, method="POST")
    result = run_cli("cancel", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in fake.calls("POST")] == [503, 200]


# -- tail ------------------------------------------------------------------------------------------------------


def test_tail_reads_v4_frames_across_pages(fake, run_cli, monkeypatch):
    monkeypatch.setattr(vercel_mod, "PAGE_MAX", 2)
    run_id = fake.add_run(status="running", input=["Ada", "1h"])
    step = fake.add_step(run_id, "greet", input=["Ada"], output={"greeting": "Hello, Ada!"})
    fake.set_status(run_id, "completed", output={"done": True})
    result = run_cli("tail", run_id, "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    items = lines(result.stdout)
    events, end = items[:-1], items[-1]
    assert [e["type"] for e in events] == [
        "run_created",
        "run_started",
        "step_created",
        "step_started",
        "step_completed",
        "run_completed",
    ]
    assert [e["index"] for e in events] == list(range(6))
    assert events[0]["data"]["input"] == ["Ada", "1h"]
    assert events[4]["stepId"] == step and events[4]["data"]["result"] == {"greeting": "Hello, Ada!"}
    assert events[5]["data"] == {"output": {"done": True}}
    assert all(e["offset"].startswith("wevt_") for e in events)
    assert end == {"kind": "end", "runId": run_id, "status": "completed", "offset": events[-1]["offset"]}
    reads = fake.calls("GET", r"/events$")
    assert len(reads) == 3 and all(r.param("sortOrder") == "asc" for r in reads)
    assert reads[1].param("cursor") and reads[0].param("cursor") is None
    # resume after a printed offset, last N, type filters
    after = lines(run_cli("tail", run_id, "-o", "jsonl", "--offset", events[3]["offset"]).stdout)[:-1]
    assert [e["type"] for e in after] == ["step_completed", "run_completed"]
    last = lines(run_cli("tail", run_id, "-o", "jsonl", "--last", "1").stdout)[:-1]
    assert [e["type"] for e in last] == ["run_completed"]
    steps_only = lines(run_cli("tail", run_id, "-o", "jsonl", "--type", "step_*").stdout)[:-1]
    assert [e["index"] for e in steps_only] == [2, 3, 4]


def test_tail_refuses_a_truncated_frame_list(fake, run_cli):
    run_id = fake.add_run(status="completed", output=1)
    fake.truncate_events(times=1)
    result = run_cli("tail", run_id)
    assert result.exit_code == 5
    assert "end frame" in result.stderr


def test_tail_live_follows_until_the_run_ends(fake, run_cli):
    run_id = fake.add_run(status="running", input=["Ada"])
    reads = fake.progress_as_read(run_id)
    result = run_cli("tail", run_id, "--live", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    items = lines(result.stdout)
    types = [e["type"] for e in items[:-1]]
    assert types == ["run_created", "run_started", "step_created", "step_started", "step_completed", "run_completed"]
    assert [e["index"] for e in items[:-1]] == list(range(6))  # nothing twice, nothing skipped
    assert items[-1]["status"] == "completed"
    # each poll resumed from the previous answer's cursor
    assert all(r.param("cursor") for r in reads[1:])


def test_tail_live_ends_with_the_run_state_exit_code(fake, run_cli):
    run_id = fake.add_run(status="running")
    polls = []

    def fail_run(world: FakeVercelWorld, request: Recorded) -> None:
        if request.method == "GET" and request.path.endswith("/events"):
            polls.append(request)
            if len(polls) == 2:
                world.set_status(run_id, "failed")

    fake.on_request(fail_run)
    result = run_cli("tail", run_id, "-f", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 10
    assert lines(result.stdout)[-2]["type"] == "run_failed"


def test_tail_stream_reads_chunks_with_cursor_paging(fake, run_cli, monkeypatch):
    monkeypatch.setattr(vercel_mod, "PAGE_MAX", 2)
    run_id = fake.add_run(status="completed", output=1)
    fake.add_stream(run_id, ["a", "b", "c", {"d": 4}, "e"])
    name = fake.add_stream(run_id, ["log 1", "log 2"], namespace="logs")
    result = run_cli("tail", run_id, "--stream", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    items = lines(result.stdout)
    assert [(c["index"], c["data"], c["offset"]) for c in items[:-1]] == [
        (0, "a", "0"),
        (1, "b", "1"),
        (2, "c", "2"),
        (3, {"d": 4}, "3"),
        (4, "e", "4"),
    ]
    assert items[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": "4"}
    chunk_reads = fake.calls("GET", r"/chunks$")
    assert [r.param("cursor") is None for r in chunk_reads] == [True, False, False]
    assert [c["data"] for c in lines(run_cli("tail", run_id, "--stream=logs", "-o", "jsonl").stdout)[:-1]] == [
        "log 1",
        "log 2",
    ]
    assert fake.calls("GET", r"/chunks$")[-1].path == f"/v2/runs/{run_id}/streams/{name}/chunks"
    tail2 = lines(run_cli("tail", run_id, "--stream", "--start-index", "-2", "-o", "jsonl").stdout)[:-1]
    assert [c["index"] for c in tail2] == [3, 4]
    resumed = lines(run_cli("tail", run_id, "--stream", "--offset", "2", "-o", "jsonl").stdout)[:-1]
    assert [c["index"] for c in resumed] == [3, 4]


def test_tail_stream_live_follows_until_the_stream_is_done(fake, run_cli):
    run_id = fake.add_run(status="running")
    name = fake.add_stream(run_id, ["first"])
    polls = []

    def write(world: FakeVercelWorld, request: Recorded) -> None:
        if request.method == "GET" and request.path.endswith("/chunks"):
            polls.append(request)
            if len(polls) == 2:
                world.append_chunk(run_id, name, frame_value("second"))
            elif len(polls) == 3:
                world.append_chunk(run_id, name, frame_value("third"))
                world.close_stream(run_id, name)

    fake.on_request(write)
    result = run_cli("tail", run_id, "--stream", "--live", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 12, result.stderr  # stream done; the run is still running (12, like status)
    items = lines(result.stdout)
    assert [c["data"] for c in items[:-1]] == ["first", "second", "third"]
    assert items[-1]["status"] == "running"


def test_tail_stream_live_stops_on_a_terminal_run(fake, run_cli):
    # the SDK never closes run streams (vercel/workflow#964): a terminal run ends the tail
    fake.chunk_cursor_on_last_page = True
    run_id = fake.add_run(status="running")
    name = fake.add_stream(run_id, ["first"])
    polls = []

    def finish(world: FakeVercelWorld, request: Recorded) -> None:
        if request.method == "GET" and request.path.endswith("/chunks"):
            polls.append(request)
            if len(polls) == 2:
                world.append_chunk(run_id, name, frame_value("last words"))
                world.set_status(run_id, "completed", output=1)

    fake.on_request(finish)
    result = run_cli("tail", run_id, "--stream", "-f", "--interval", "0.01", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert [c["data"] for c in lines(result.stdout)[:-1]] == ["first", "last words"]


# -- wake (experimental) -----------------------------------------------------------------------------------


def test_wake_writes_wait_completed_frames_and_says_it_is_experimental(fake, run_cli):
    run_id = fake.add_run(status="running")
    corr = fake.add_sleep(run_id, timedelta(hours=1))
    other = fake.add_sleep(run_id, timedelta(hours=2))
    dry = run_cli("wake", run_id, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert dry.json()["stoppedCount"] == 2 and not fake.calls("POST")
    result = run_cli("wake", run_id, "--correlation-id", corr, "-o", "json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["stoppedCount"] == 1 and body["correlationIds"] == [corr] and body["delivered"] is False
    assert "experimental" in result.stderr and "re-enqueue" in result.stderr
    (post,) = fake.calls("POST")
    assert post.path == f"/v4/runs/{run_id}/events/wait_completed"
    ((meta, _),) = decode_v4_frames(post.body)
    assert meta["eventType"] == "wait_completed" and meta["correlationId"] == corr and meta["specVersion"] == 3
    assert isinstance(meta["resumeAt"], datetime)  # a CBOR date, as the SDK sends it
    run = run_cli("get", run_id, "-o", "json").json()
    assert {w["correlationId"]: w["status"] for w in run["waits"]} == {corr: "completed", other: "waiting"}
    assert vercel_mod.VercelWorldBackend.experimental == frozenset({"wake"})


def test_wake_of_a_finished_run_does_nothing(fake, run_cli):
    run_id = fake.add_run(status="completed", output=1)
    result = run_cli("wake", run_id)
    assert result.exit_code == 0 and "nothing to wake" in result.stderr
    assert not fake.calls("POST")


# -- the version gate and 5.0 fields ---------------------------------------------------------------------------

SPECS = (None, 1, 2, 3, 4, 5, 6, 7, 99)
VERCEL_HINT = (
    "hint: upgrade wfctl, or use the app's own 'npx workflow cancel --backend vercel', or the Vercel dashboard"
)
FATAL = (
    b'devl[["FatalError",1],{"name":2,"message":3,"stack":4},"FatalError","boom: bad input",'
    b'"FatalError: boom: bad input\\n    at validate"]'
)


def newer_warning(run_id: str, spec: int) -> str:
    return (
        f"warning: run {run_id} has specVersion {spec}, newer than this wfctl reads (up to 7): showing what it "
        "can; upgrade wfctl"
    )


def test_reads_of_5_0_and_newer_runs(fake, run_cli):
    """Runs the API serves with specVersion 7 (the 5.0 line: attributes, an error serialized as devalue bytes with
    errorCode beside it, the runtime's own abort hook) and 99 (newer than wfctl): read, one warning per version
    newer than 7."""
    current = fake.add_run(status="running", spec_version=3)
    v5 = fake.add_run(
        status="failed",
        spec_version=7,
        error=FATAL,
        error_code="USER_ERROR",
        attributes={"team": "payments", "tier": 2},
        core_version="5.0.0-beta.55",
    )
    newer = fake.add_run(status="running", spec_version=99, input=["Ada"], attributes={})
    newer2 = fake.add_run(status="completed", spec_version=99, output=1)
    newest = fake.add_run(status="completed", spec_version=100, output=2)
    listed = run_cli("list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    # newest first: one warning for 100, one for 99 (naming the first run of that version met), none for 7
    assert listed.stderr.splitlines() == [newer_warning(newest, 100), newer_warning(newer2, 99)]
    by_id = {r["runId"]: r for r in listed.json()["data"]}
    assert by_id[v5]["error"] == {
        "message": "boom: bad input",
        "code": "USER_ERROR",
        "stack": "FatalError: boom: bad input\n    at validate",
    }
    assert by_id[v5]["attributes"] == {"team": "payments", "tier": 2} and by_id[v5]["extra"]["specVersion"] == 7
    assert by_id[newer]["attributes"] == {} and by_id[current]["attributes"] is None
    assert by_id[newer]["input"] == ["Ada"]
    for args, code in ((["get", newer, "-o", "json"], 0), (["status", newer, "-o", "json"], 12)):  # still running
        result = run_cli(*args)
        assert result.exit_code == code, result.stderr
        assert result.stderr.splitlines() == [newer_warning(newer, 99)], args
    got = run_cli("get", v5, "-o", "json")
    assert got.exit_code == 0 and got.stderr == ""
    assert got.json()["error"]["code"] == "USER_ERROR" and got.json()["attributes"]["team"] == "payments"
    assert run_cli("status", v5).exit_code == 10
    hooked = fake.add_run(status="running", spec_version=7)
    system = fake.add_hook(hooked, token="abrt_" + hooked, is_system=True)
    user = fake.add_hook(hooked, token="approval:doc1", metadata={"doc": "doc1"})
    hooks = run_cli("get", hooked, "-o", "json").json()["hooks"]
    assert [h["hookId"] for h in hooks] == [system, user]


@pytest.mark.parametrize("spec", SPECS)
def test_cancel_is_gated_by_spec_version(fake, run_cli, spec):
    from wfctl.backends.workflow_sdk.versions import VERCEL, write_refusal

    run_id = fake.add_run(status="running", spec_version=spec)
    fake.add_sleep(run_id)
    result = run_cli("cancel", run_id, "-o", "json")
    writes = fake.calls("POST") + fake.calls("PUT")
    if spec is None or spec in VERCEL.writes:
        assert result.exit_code == 0, result.stderr
        assert result.json()[0]["outcome"] == "cancelled"
        assert [(r.method, r.path) for r in writes] == (
            [("PUT", f"/v1/runs/{run_id}/cancel")]
            if spec in (None, 1)
            else [("POST", f"/v4/runs/{run_id}/events/run_cancelled")]
        )
        return
    assert result.exit_code == 6 and result.stdout == ""
    error, hint = result.stderr.strip().splitlines()
    assert error == "error: " + write_refusal(VERCEL, run_id, spec, "cancel")
    if spec == 7:
        assert error == (
            f"error: run {run_id} has specVersion 7 (sealed log), wfctl cancels Workflow SDK "
            "vercel-world runs of spec versions 1, 2 and 3 only; nothing was changed"
        )
    assert hint == VERCEL_HINT
    assert writes == [] and fake.runs[run_id]["status"] == "running"  # nothing was sent


@pytest.mark.parametrize("spec", SPECS)
def test_wake_is_gated_by_spec_version(fake, run_cli, spec):
    from wfctl.backends.workflow_sdk.versions import VERCEL, write_refusal

    run_id = fake.add_run(status="running", spec_version=spec)
    corr = fake.add_sleep(run_id)
    result = run_cli("wake", run_id, "-o", "json")
    if spec in (2, 3):
        assert result.exit_code == 0, result.stderr
        assert result.json()["correlationIds"] == [corr]
        assert [r.path for r in fake.calls("POST")] == [f"/v4/runs/{run_id}/events/wait_completed"]
        return
    assert result.exit_code == 6 and result.stdout == ""
    if spec in (None, 1):  # written by the gate, but a legacy run has no event log to wake through
        assert "legacy" in result.stderr
    else:
        for extra in ([], ["--dry-run"]):  # a dry run predicts the refusal
            again = run_cli("wake", run_id, "-o", "json", *extra)
            assert again.exit_code == 6
            lines = [line for line in again.stderr.strip().splitlines() if not line.startswith("note: ")]
            assert lines == ["error: " + write_refusal(VERCEL, run_id, spec, "wake"), VERCEL_HINT]
            assert "note: wake is experimental" in again.stderr  # wake on Vercel says so first
    assert not fake.calls("POST") and not fake.calls("PUT")


def test_bulk_cancel_refuses_5_0_runs_and_cancels_the_others(fake, run_cli):
    from wfctl.backends.workflow_sdk.versions import VERCEL, write_refusal

    current = fake.add_run(status="running", spec_version=3)
    v5 = fake.add_run(status="running", spec_version=7)
    newer = fake.add_run(status="running", spec_version=99)
    result = run_cli("cancel", "--status", "running", "-y", "-o", "json")
    assert result.exit_code == 7, result.stderr  # partly refused: never 0
    outcomes = {o["runId"]: o for o in result.json()}
    assert outcomes[current]["outcome"] == "cancelled"
    assert outcomes[v5] == {
        "runId": v5,
        "outcome": "refused",
        "status": "running",
        "message": write_refusal(VERCEL, v5, 7, "cancel"),
    }
    assert outcomes[newer]["outcome"] == "refused" and "specVersion 99" in outcomes[newer]["message"]
    assert VERCEL_HINT in result.stderr.splitlines()
    assert [r.path for r in fake.calls("POST")] == [f"/v4/runs/{current}/events/run_cancelled"]
    assert fake.runs[v5]["status"] == fake.runs[newer]["status"] == "running"
    every = run_cli("cancel", v5, newer, "-o", "json")
    assert every.exit_code == 6 and {o["outcome"] for o in every.json()} == {"refused"}
    assert len(fake.calls("POST")) == 1


def test_doctor_reports_the_spec_versions_of_the_newest_runs(fake, run_cli):
    fake.add_run(status="completed", spec_version=3, output=1)
    fake.add_run(status="running", spec_version=7, core_version="5.0.0-beta.55")
    result = run_cli("config", "doctor", "-o", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in result.json()}
    assert checks["spec versions"] == {
        "name": "spec versions",
        "ok": True,
        "detail": "spec versions seen: 3 ×1 (read+write), 7 ×1 (read only); wfctl writes 1, 2 and 3 (newest 2 "
        "runs); workflowCoreVersion 4.8.9 ×1, 5.0.0-beta.55 ×1",
    }
    fake.add_run(status="running", spec_version=99)
    result = run_cli("config", "doctor", "-o", "json")
    checks = {c["name"]: c for c in result.json()}
    assert result.exit_code == 5 and not checks["spec versions"]["ok"]
    assert "99 ×1 (newer: partly read)" in checks["spec versions"]["detail"]
    assert result.stderr == ""


# -- dashboard, doctor -------------------------------------------------------------------------------------


def test_dashboard_counts_page_through_the_run_list(fake, run_cli, monkeypatch):
    monkeypatch.setattr(vercel_mod, "PAGE_MAX", 2)
    for status in ("running", "running", "completed", "failed", "cancelled"):
        fake.add_run(status=status)
    fake.add_run(status="completed", workflow="workflow//./workflows/other//other")
    result = run_cli("dashboard", "--once", "-o", "json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["total"] == 6
    assert body["counts"] == {"pending": 0, "running": 2, "waiting": 0, "completed": 2, "failed": 1, "cancelled": 1}
    assert run_cli("dashboard", "--once", "-o", "json", "--workflow", "other").json()["total"] == 1
    monkeypatch.setattr(vercel_mod, "COUNTS_CAP", 3)
    capped = run_cli("dashboard", "--once", "-o", "json")
    assert capped.json()["total"] == 3 and "newest 3 runs only" in capped.stderr


def test_doctor_checks_credentials_and_the_api(fake, run_cli):
    result = run_cli("config", "doctor")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    doc = run_cli("config", "doctor", "-o", "json")
    assert doc.exit_code == 0 and doc.stderr == ""
    checks = {c["name"]: c for c in doc.json()}
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["token"]["detail"] == "from env WORKFLOW_VERCEL_AUTH_TOKEN"
    assert checks["project"]["detail"] == "prj_1 (env WORKFLOW_VERCEL_PROJECT)"
    assert checks["team"]["detail"] == "team_1 (env WORKFLOW_VERCEL_TEAM)"
    assert checks["API"]["detail"].endswith("/v1/workflow answers and authorises (no runs yet)")
    assert TOKEN not in doc.stdout
    assert any(r.path == "/v2/runs" for r in fake.requests)


# -- wire units ------------------------------------------------------------------------------------------------


def test_v4_frames_round_trip_and_truncation():
    frame = vercel_mod.encode_frame({"eventType": "run_cancelled", "specVersion": 3})
    end = vercel_mod.encode_frame({"_end": 1, "next": "c1", "hasMore": False})
    body = b"devl" + b'["x"]'
    event = vercel_mod.encode_frame({"eventType": "run_created", "eventData": {"input": {"_ref": "r"}}}, body)
    frames, sentinel = vercel_mod.decode_frames(frame + event + end)
    assert sentinel == {"_end": 1, "next": "c1", "hasMore": False}
    assert frames[0] == ({"eventType": "run_cancelled", "specVersion": 3}, b"")
    assert vercel_mod.event_from_frame(*frames[1])["eventData"]["input"] == body
    assert vercel_mod.decode_frames(frame + event) == (frames, None)  # no sentinel: the caller refuses it
    with pytest.raises(ValueError):
        vercel_mod.decode_frames((frame + event)[:-2])
    lazy = vercel_mod.event_from_frame({"eventType": "run_created", "eventData": {"input": {"_ref": "r"}}}, b"")
    assert lazy["eventData"] == {}


def test_composite_cursor_round_trip():
    cursor = vercel_mod._encode_list_cursor("api-cursor", 2, 100)
    assert cursor.startswith("wfctl:")
    assert vercel_mod._decode_list_cursor(cursor) == ("api-cursor", 2, 100)
    assert vercel_mod._decode_list_cursor("opaque") == ("opaque", 0, None)
    from wfctl.errors import UsageError

    with pytest.raises(UsageError):
        vercel_mod._decode_list_cursor("wfctl:!!!")


def test_the_fake_serves_concurrent_clients(fake):
    import httpx

    run_id = fake.add_run(status="completed", output=1)
    errors: list[BaseException] = []

    def get() -> None:
        try:
            response = httpx.get(f"{fake.url}/v2/runs/{run_id}", headers=fake.auth_headers(), timeout=5)
            assert cbor2.loads(response.content)["runId"] == run_id
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors and len(fake.requests) == 8


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (("start", "demoWorkflow"), "error: wfctl does not start Workflow SDK runs on Vercel: "),
        (
            ("rerun", "wrun_01M80QNBJQ0H1SETZXYVHZB001", "-y"),
            "error: wfctl does not re-run Workflow SDK runs on Vercel: ",
        ),
        (
            ("resume", "wrun_01M80QNBJQ0H1SETZXYVHZB001", "--data", "1"),
            "error: wfctl does not resume hooks on Vercel: ",
        ),
    ],
)
def test_start_rerun_and_resume_exit_6_and_touch_nothing(fake, run_cli, argv, sentence):
    """The Vercel world cannot move a run (README, "Engines"): exit 6 with the sentence, no request sent."""
    before = len(fake.requests)
    r = run_cli(*argv)
    assert (r.exit_code, r.stdout) == (6, "")
    assert r.stderr.splitlines()[0].startswith(sentence), r.stderr
    assert len(fake.requests) == before
