"""start, rerun and resume on the Workflow SDK local world, against the real example apps on both lines.

Every live test runs twice: ``examples/workflow-sdk-app`` (``workflow@4.8.9``, spec 3) and
``examples/workflow-sdk-app-v5`` (``workflow@5.0.0-beta.55``, spec 7). wfctl writes into the app's data
directory and queues the run on the app; the proof is the app running what wfctl wrote to completion and the
official CLI of the same line (``npx workflow inspect run``) reading it back. The tests at the end need no
app: refusals (encrypted input, the version gate, an app that does not answer) on copies of the recorded
worlds.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from tests.ci_rule import peer_missing
from tests.doubles.net import closed_port

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "workflow-sdk-demo" / ".workflow-data"
DEMO_V5 = ROOT / "examples" / "workflow-sdk-demo-v5" / ".workflow-data"
LINES = ("4.x", "5.0")


def build_app(line: str):
    from tests.doubles.wfapp import APP_DIR, APP_V5_DIR, WorkflowApp, node_available

    if not node_available():
        peer_missing("node and npm (the Workflow SDK example apps)")
    workflow_app = WorkflowApp(APP_DIR if line == "4.x" else APP_V5_DIR)
    workflow_app.build()
    workflow_app.line = line
    return workflow_app


@pytest.fixture(scope="module", params=LINES)
def app(request):
    return build_app(request.param)


@pytest.fixture
def server(app, tmp_path):
    with app.start(data_dir=tmp_path / ".workflow-data") as running:
        running.line = app.line
        yield running


def env_of(server) -> dict[str, str]:
    return {"WORKFLOW_LOCAL_DATA_DIR": str(server.data_dir), "WFCTL_APP_URL": server.url}


def hook_ready(server, token: str) -> None:
    from tests.doubles.wfapp import wait_until

    def found() -> bool:
        for path in (server.data_dir / "hooks").glob("hook_*.json"):
            try:
                if json.loads(path.read_text()).get("token") == token:
                    return True
            except (OSError, ValueError):
                continue
        return False

    wait_until(found, timeout=30, interval=0.1, message=f"the hook {token}")


def official(server, run_id: str) -> dict:
    return server.inspect_json("run", run_id)


# -- start -----------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.slow
def test_start_runs_the_workflow_to_completion_and_the_official_cli_agrees(server, cli):
    template = server.start_run("demoWorkflow", ["Ada", "1s"])
    server.wait_for_status(template, "completed", timeout=30)

    r = cli(
        "start",
        "demoWorkflow",
        "--input-json",
        '["Zed", "1s"]',
        "--wait",
        "--timeout",
        "60",
        "-o",
        "json",
        env=env_of(server),
    )
    assert r.exit_code == 0, r.stderr
    run = r.json()
    new_id = run["runId"]
    assert new_id != template and new_id.startswith("wrun_")
    assert (run["status"], run["workflowName"], run["input"]) == ("completed", "demoWorkflow", ["Zed", "1s"])
    assert run["output"] == {"greeting": "Hello, Zed!", "length": 11}
    want = official(server, new_id)
    assert (want["status"], want["workflowName"]) == ("completed", run["workflowId"])
    assert want["input"] == ["Zed", "1s"] and want["output"] == run["output"]
    assert want["deploymentId"] == official(server, template)["deploymentId"]
    assert want["specVersion"] == (3 if server.line == "4.x" else 7)


@pytest.mark.live
@pytest.mark.slow
def test_start_follow_prints_the_new_runs_events_until_it_ends(server, cli):
    server.wait_for_status(server.start_run("failingWorkflow", ["x"]), "failed", timeout=30)
    r = cli("start", "failingWorkflow", "--input-json", '["followed"]', "--follow", "-o", "jsonl", env=env_of(server))
    assert r.exit_code == 10, r.stderr  # it failed, as the workflow does
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    types = [line["type"] for line in lines if line["kind"] == "event"]
    assert types[0] == "run_created" and types[-1] == "run_failed"
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] == "failed"
    assert official(server, lines[-1]["runId"])["input"] == ["followed"]


@pytest.mark.live
@pytest.mark.slow
def test_start_by_full_id_with_a_single_argument_prints_the_new_run(server, cli):
    template = server.start_run("approvalWorkflow", ["doc-t"])
    hook_ready(server, "approval:doc-t")
    machine = official(server, template)["workflowName"]

    r = cli("start", machine, "--input-json", '"doc-s"', "-o", "json", env=env_of(server))
    assert r.exit_code == 0, r.stderr
    new_id = r.json()["runId"]
    assert r.json()["status"] in ("pending", "running", "waiting")
    hook_ready(server, "approval:doc-s")  # the app ran it up to its hook: the argument arrived as one string
    assert official(server, new_id)["input"] == ["doc-s"]


@pytest.mark.live
@pytest.mark.slow
def test_start_of_a_workflow_that_never_ran_here_is_not_found(server, cli):
    server.wait_for_status(server.start_run("demoWorkflow", ["Ada", "1s"]), "completed", timeout=30)
    r = cli("start", "tickerWorkflow", "--input-json", "[1]", env=env_of(server))
    assert r.exit_code == 3
    assert r.stdout == ""
    assert r.stderr.startswith("error: no run of workflow 'tickerWorkflow'")
    assert "hint: start it once from the app" in r.stderr


# -- rerun -----------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.slow
def test_rerun_of_a_completed_run_completes_with_the_same_output(server, cli):
    source = server.start_run("demoWorkflow", ["Bo", "1s"])
    server.wait_for_status(source, "completed", timeout=30)

    r = cli("rerun", source, "-o", "jsonl", "--wait", "--timeout", "60", env=env_of(server))
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert (line["sourceRunId"], line["outcome"]) == (source, "started")
    new_id = line["runId"]
    assert new_id.startswith("wrun_") and new_id != source

    got = cli("get", new_id, "-o", "json", env=env_of(server)).json()
    was = cli("get", source, "-o", "json", env=env_of(server)).json()
    assert (got["status"], got["input"], got["output"]) == ("completed", was["input"], was["output"])
    want = official(server, new_id)
    assert (want["status"], want["input"], want["output"]) == ("completed", ["Bo", "1s"], was["output"])
    assert want["deploymentId"] == official(server, source)["deploymentId"]
    if server.line == "5.0":  # the 5.0 line records where a re-run came from
        assert got["extra"]["replayedFromRunId"] == source
        stored = json.loads((server.data_dir / "runs" / f"{new_id}.json").read_text())
        assert stored["executionContext"]["replayedFromRunId"] == source
        assert want.get("executionContext", stored["executionContext"])["replayedFromRunId"] == source
    else:
        assert "replayedFromRunId" not in got["extra"]


@pytest.mark.live
@pytest.mark.slow
def test_rerun_of_a_failed_run_fails_again_the_same_way(server, cli):
    source = server.start_run("failingWorkflow", ["bad input"])
    server.wait_for_status(source, "failed", timeout=30)

    r = cli("rerun", source, "-o", "json", "--wait", "--timeout", "60", env=env_of(server))
    assert r.exit_code == 10, r.stderr
    [outcome] = r.json()
    assert (outcome["sourceRunId"], outcome["outcome"], outcome["workflowName"]) == (
        source,
        "started",
        "failingWorkflow",
    )
    got = cli("get", outcome["runId"], "-o", "json", env=env_of(server)).json()
    was = cli("get", source, "-o", "json", env=env_of(server)).json()
    assert got["status"] == "failed" and got["error"]["message"] == was["error"]["message"] == "boom: bad input"
    assert official(server, outcome["runId"])["status"] == "failed"


@pytest.mark.live
@pytest.mark.slow
def test_bulk_rerun_by_filter_needs_yes_off_a_terminal_and_reruns_each_match(server, cli):
    failed = [server.start_run("failingWorkflow", [f"in {i}"]) for i in range(2)]
    done = server.start_run("demoWorkflow", ["Cy", "1s"])
    for run_id in failed:
        server.wait_for_status(run_id, "failed", timeout=30)
    server.wait_for_status(done, "completed", timeout=30)
    env = env_of(server)

    refused = cli("rerun", "--status", "failed", "--workflow", "failingWorkflow", env=env)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "refusing to act on 2 run(s) without confirmation" in refused.stderr

    dry = cli("rerun", "--status", "failed", "--dry-run", "-o", "json", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert sorted((o["sourceRunId"], o["outcome"], o["runId"]) for o in dry.json()) == sorted(
        (r, "would_start", None) for r in failed
    )

    r = cli("rerun", "--status", "failed", "--workflow", "failingWorkflow", "-y", "-o", "jsonl", env=env)
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(line["sourceRunId"] for line in lines) == sorted(failed)
    assert all(line["outcome"] == "started" for line in lines)
    for line in lines:
        server.wait_for_status(line["runId"], "failed", timeout=30)
        assert official(server, line["runId"])["input"] == official(server, line["sourceRunId"])["input"]


# -- resume ----------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.slow
def test_resume_delivers_the_decision_and_the_run_completes_with_it(server, cli):
    run_id = server.start_run("approvalWorkflow", ["doc-r"])
    hook_ready(server, "approval:doc-r")
    env = env_of(server)

    dry = cli("resume", run_id, "--data", '{"approved": true}', "--dry-run", "-o", "json", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert (dry.json()["outcome"], dry.json()["hook"]) == ("would_resume", "approval:doc-r")

    r = cli(
        "resume",
        run_id,
        "--data",
        '{"approved": true, "by": "Ann"}',
        "--wait",
        "--timeout",
        "60",
        "-o",
        "json",
        env=env,
    )
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["runId"], doc["hook"], doc["outcome"], doc["kind"], doc["delivered"]) == (
        run_id,
        "approval:doc-r",
        "resumed",
        "hook",
        True,
    )
    assert doc["hookId"].startswith("hook_")
    got = cli("get", run_id, "-o", "json", env=env).json()
    assert (got["status"], got["output"]) == ("completed", "doc-r: approved by Ann")
    want = official(server, run_id)
    assert (want["status"], want["output"]) == ("completed", "doc-r: approved by Ann")
    events = server.inspect_json("events", "--run", run_id, "--limit", "100")
    events = events["data"] if isinstance(events, dict) else events
    received = [e for e in events if e["eventType"] == "hook_received"]
    assert len(received) == 1 and received[0]["correlationId"] == doc["hookId"]
    if server.line == "5.0":  # resumeHook's claim names the event it took; nothing is left staged
        claims = [json.loads(p.read_text()) for p in (server.data_dir / "hooks" / "resumes").glob("*.json")]
        mine = [c for c in claims if c["runId"] == run_id]
        assert len(mine) == 1 and (mine[0]["hookId"], mine[0]["eventId"]) == (doc["hookId"], received[0]["eventId"])
        staged = server.data_dir / ".locks" / "runs" / f"{run_id}.pending"
        assert not staged.exists() or not any(staged.iterdir())

    # the run is over: its hook went with it
    again = cli("resume", run_id, "--hook", "approval:doc-r", "--data", "{}", env=env)
    assert again.exit_code == 2 and again.stdout == ""
    assert again.stderr.startswith(f"error: run {run_id} is completed")


@pytest.mark.live
@pytest.mark.slow
def test_resume_with_a_token_picks_that_hook_and_an_unknown_token_is_not_found(server, cli):
    run_id = server.start_run("approvalWorkflow", ["doc-k"])
    hook_ready(server, "approval:doc-k")
    env = env_of(server)

    unknown = cli("resume", run_id, "--hook", "approval:nope", "--data", "{}", env=env)
    assert unknown.exit_code == 3 and unknown.stdout == ""
    assert unknown.stderr.splitlines()[0] == f"error: run {run_id} has no pending hook with token 'approval:nope'"

    r = cli("resume", run_id, "--hook", "approval:doc-k", "--data", '{"approved": false}', "-o", "json", env=env)
    assert r.exit_code == 0, r.stderr
    assert r.json()["outcome"] == "resumed"
    server.wait_for_status(run_id, "completed", timeout=30)
    assert official(server, run_id)["output"] == "doc-k: rejected"


# -- refusals, no app needed -------------------------------------------------------------------------------------


def _world(tmp_path: Path, source: Path) -> Path:
    data = tmp_path / ".workflow-data"
    shutil.copytree(source, data)
    return data


def _run_file(data: Path, status: str, workflow: str | None = None) -> tuple[str, dict]:
    for path in sorted((data / "runs").glob("wrun_*.json")):
        raw = json.loads(path.read_text())
        if raw["status"] == status and (workflow is None or raw["workflowName"].endswith("//" + workflow)):
            return raw["runId"], raw
    raise AssertionError(f"no {status} run in {data}")


@pytest.mark.parametrize("source", [DEMO, DEMO_V5], ids=LINES)
def test_rerun_refuses_an_encrypted_input_per_run(cli, tmp_path, source):
    data = _world(tmp_path, source)
    run_id, raw = _run_file(data, "completed")
    other, _ = _run_file(data, "failed")
    raw["input"] = {"__type": "Uint8Array", "data": base64.b64encode(b"encr" + bytes(40)).decode()}
    (data / "runs" / f"{run_id}.json").write_text(json.dumps(raw, indent=2))
    before = sorted(p.name for p in (data / "runs").iterdir())
    env = {"WORKFLOW_LOCAL_DATA_DIR": str(data), "WFCTL_APP_URL": f"http://127.0.0.1:{closed_port()}"}

    one = cli("rerun", run_id, env=env)
    assert one.exit_code == 6 and one.stdout == ""
    assert one.stderr.splitlines()[0] == (
        f"error: run {run_id} was not re-run: its input is encrypted and wfctl holds no key for it; a new run with "
        "other input would not be a re-run"
    )
    both = cli("rerun", run_id, other, "--dry-run", "-o", "json", env=env)
    assert both.exit_code == 7, both.stderr
    assert [(o["sourceRunId"], o["outcome"]) for o in both.json()] == [(run_id, "refused"), (other, "would_start")]
    assert sorted(p.name for p in (data / "runs").iterdir()) == before


@pytest.mark.parametrize("source", [DEMO, DEMO_V5], ids=LINES)
def test_an_app_that_does_not_answer_leaves_nothing_written(cli, tmp_path, source):
    data = _world(tmp_path, source)
    run_id, _ = _run_file(data, "completed")
    before = sorted(p.name for p in (data / "runs").iterdir())
    events = sorted(p.name for p in (data / "events").iterdir())
    env = {"WORKFLOW_LOCAL_DATA_DIR": str(data), "WFCTL_APP_URL": f"http://127.0.0.1:{closed_port()}"}

    for argv in (("start", "demoWorkflow", "--input-json", '["x"]'), ("rerun", run_id)):
        r = cli(*argv, env=env)
        assert r.exit_code == 5, (argv, r.stderr)
        assert "does not answer" in r.stderr and "nothing was written" in r.stderr
    hooked = [p for p in (data / "hooks").glob("hook_*.json")]
    if hooked:
        hook = json.loads(hooked[0].read_text())
        r = cli("resume", hook["runId"], "--data", "{}", env=env)
        assert r.exit_code in (2, 5), r.stderr  # 2 when that run has several hooks
    assert sorted(p.name for p in (data / "runs").iterdir()) == before
    assert sorted(p.name for p in (data / "events").iterdir()) == events


def test_the_version_gate_refuses_start_rerun_and_resume_of_a_spec_it_was_not_proven_on(cli, tmp_path):
    data = _world(tmp_path, DEMO_V5)
    run_id, raw = _run_file(data, "completed", "demoWorkflow")
    raw["specVersion"] = 5
    (data / "runs" / f"{run_id}.json").write_text(json.dumps(raw, indent=2))
    env = {"WORKFLOW_LOCAL_DATA_DIR": str(data), "WFCTL_APP_URL": f"http://127.0.0.1:{closed_port()}"}
    want = "specVersion 5 (compressed payloads), wfctl reruns Workflow SDK local-world runs of spec versions 3, 6 and 7"

    r = cli("rerun", run_id, env=env)
    assert r.exit_code == 6 and r.stdout == ""
    assert want in r.stderr

    newest = max((json.loads(p.read_text()) for p in (data / "runs").glob("wrun_*.json")), key=lambda raw: raw["runId"])
    newest["specVersion"] = 9
    (data / "runs" / f"{newest['runId']}.json").write_text(json.dumps(newest, indent=2))
    workflow = newest["workflowName"].rsplit("//", 1)[-1]
    r = cli("start", workflow, env=env)
    assert r.exit_code == 6, r.stderr
    assert "specVersion 9 (unknown to this wfctl), newer than wfctl knows" in r.stderr


# -- 5.0 spec 6 (slot ids without the sealed log) ----------------------------------------------------------------


@pytest.mark.live
@pytest.mark.slow
def test_spec_6_runs_start_rerun_and_resume(cli, tmp_path):
    """``WORKFLOW_SEALED_LOG=0`` makes the 5.0 world stamp spec 6: the three operations on such runs."""
    app_v5 = build_app("5.0")
    with app_v5.start(data_dir=tmp_path / ".workflow-data", env={"WORKFLOW_SEALED_LOG": "0"}) as server:
        env = env_of(server)
        source = server.start_run("demoWorkflow", ["Ida", "1s"])
        waiting = server.start_run("approvalWorkflow", ["doc-6"])
        server.wait_for_status(source, "completed", timeout=30)
        hook_ready(server, "approval:doc-6")
        assert json.loads((server.data_dir / "runs" / f"{source}.json").read_text())["specVersion"] == 6

        r = cli(
            "start", "demoWorkflow", "--input-json", '["Kai", "1s"]', "--wait", "--timeout", "60", "-o", "json", env=env
        )
        assert r.exit_code == 0, r.stderr
        assert r.json()["output"] == {"greeting": "Hello, Kai!", "length": 11}
        assert r.json()["extra"]["specVersion"] == 6

        r = cli("rerun", source, "--wait", "--timeout", "60", "-o", "json", env=env)
        assert r.exit_code == 0, r.stderr
        again = r.json()[0]["runId"]
        want = official(server, again)
        assert (want["status"], want["output"]) == ("completed", {"greeting": "Hello, Ida!", "length": 11})

        r = cli("resume", waiting, "--data", '{"approved": true}', "--wait", "--timeout", "60", "-o", "json", env=env)
        assert r.exit_code == 0, r.stderr
        assert official(server, waiting)["output"] == "doc-6: approved"
        for run_id in (again, waiting):  # the logs stay dense: every position 1..n, no ULID among them
            events = server.inspect_json("events", f"--runId={run_id}")
            assert sorted(e["eventId"] for e in events) == [f"evnt_{i:026d}" for i in range(1, len(events) + 1)]
