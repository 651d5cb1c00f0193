"""``wfctl rerun`` on workflow-runs v1 against the contract fake over HTTP (docs/architecture.md, "workflow-runs v1 /
v2"): ``GET /:runId`` for the recorded ``inputs``, then ``POST /execute`` of the run's workflow with them.

Every test asserts the exit code, the ``-o json``/``-o jsonl`` fields ``{sourceRunId, runId, outcome}`` and what
reached the fake (the multipart form ``/execute`` received, or that nothing was executed).
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest

V1 = "/api/v1/workflow-runs"
ENVS_WARNING = "warning: workflow-runs v1 does not record the envs a run was executed with: the new runs get none"


@pytest.fixture
def fake(make_fake):
    return make_fake(envelope="data")


@pytest.fixture
def wfr(cli):
    def run(fake, *args, token=None, env=None):
        environment = {"WFCTL_TOKEN": token or fake.token, **(env or {})}
        return cli("--backend", "workflow-runs-v1", "--url", fake.url, *args, env=environment)

    return run


def executes(fake):
    return fake.requests_for("POST", f"{V1}/execute")


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def greet(fake, final="completed"):
    """A workflow whose one step answers with its inputs' name, so a new run shows which inputs it got."""
    wf = fake.add_workflow("greet", steps=["hello"], final=final)
    fake.set_execution(wf, fake.script(["hello"], outputs={"hello": {"text": "hi"}}, final=final), step_delay=0.0)
    return wf


@pytest.mark.parametrize("envelope", ["bare", "data", "workflowRuns", "runs", "results"])
def test_rerun_executes_the_workflow_with_the_recorded_inputs(make_fake, wfr, envelope):
    fake = make_fake(envelope=envelope)
    wf = greet(fake)
    inputs = {"name": "Ada", "opts": {"loud": True, "n": [1, 2.5, None]}, "note": "ünïcode"}
    source = fake.add_run(wf, status="failed", inputs=inputs)

    r = wfr(fake, "rerun", source, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    (line,) = jsonl(r.stdout)
    new_id = line["runId"]
    assert (line["sourceRunId"], line["outcome"], line["status"], line["workflowName"]) == (
        source,
        "started",
        "completed",  # /execute blocks until the run ends
        "greet",
    )
    assert new_id != source and new_id in fake.run_ids
    assert r.stderr.splitlines() == [ENVS_WARNING]
    (post,) = executes(fake)
    form = post.form()
    assert form["workflowId"] == wf
    assert json.loads(form["inputs"]) == inputs
    assert json.loads(form["envs"]) == {}
    assert fake.run(new_id)["inputs"] == fake.run(source)["inputs"]  # the very name/value pairs
    assert fake.run_envs(new_id) == {}

    got = wfr(fake, "get", new_id, "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert (got.json()["input"], got.json()["status"]) == (inputs, "completed")


def test_rerun_without_inputs_and_with_an_empty_list_sends_an_empty_object(fake, wfr):
    wf = greet(fake)
    source = fake.add_run(wf, status="completed", inputs=[])
    r = wfr(fake, "rerun", source, "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert [(o["sourceRunId"], o["outcome"]) for o in r.json()] == [(source, "started")]
    assert json.loads(executes(fake)[0].form()["inputs"]) == {}


def test_rerun_wait_exits_by_the_new_runs_states(fake, wfr):
    good = greet(fake)
    bad = fake.add_workflow("fragile", steps=["x"], final="failed")
    fake.set_execution(bad, step_delay=0.0)
    ok_run = fake.add_run(good, status="completed", inputs={"name": "Bo"})
    failing = fake.add_run(bad, status="failed", inputs={"name": "Cy"})

    r = wfr(fake, "rerun", ok_run, failing, "--wait", "--timeout", "30", "-o", "jsonl")
    assert r.exit_code == 10, r.stderr  # the failed one failed again
    lines = jsonl(r.stdout)
    assert [(o["sourceRunId"], o["outcome"], o["status"]) for o in lines] == [
        (ok_run, "started", "completed"),
        (failing, "started", "failed"),
    ]
    assert [fake.status(o["runId"]) for o in lines] == ["completed", "failed"]
    assert [json.loads(p.form()["inputs"]) for p in executes(fake)] == [{"name": "Bo"}, {"name": "Cy"}]


def test_dry_run_checks_every_run_and_executes_nothing(fake, wfr):
    wf = greet(fake)
    readable = fake.add_run(wf, status="failed", inputs={"name": "Di"})
    unreadable = fake.add_run(wf, status="failed", extra={"inputs": None})
    missing = str(uuid.uuid4())

    r = wfr(fake, "rerun", readable, unreadable, missing, "--dry-run", "-o", "json")
    assert r.exit_code == 7, r.stderr
    assert [(o["sourceRunId"], o["runId"], o["outcome"]) for o in r.json()] == [
        (readable, None, "would_start"),
        (unreadable, None, "refused"),
        (missing, None, "not_found"),
    ]
    assert "dry run: 1 of 3 run(s) would be re-run; nothing was started" in r.stderr
    assert executes(fake) == []


def test_a_run_answered_without_its_inputs_is_refused_and_nothing_is_executed(make_fake, wfr):
    fake = make_fake(envelope="data", with_inputs=False)
    wf = greet(fake)
    source = fake.add_run(wf, status="failed", inputs={"name": "Ed"})
    assert "inputs" not in fake.run(source)

    r = wfr(fake, "rerun", source)
    assert r.exit_code == 6 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: run {source} was not re-run: workflow-runs v1 answered it without its recorded inputs; a new run "
        "with other input would not be a re-run",
        "hint: start the workflow yourself with the input it needs: wfctl start WORKFLOW --input-json '{...}'",
    ]
    assert executes(fake) == []


@pytest.mark.parametrize(
    ("inputs", "why"),
    [
        (None, "workflow-runs v1 answered it without its recorded inputs"),
        (
            [{"name": "a", "value": 1}, {"name": "a", "value": 2}],
            "its recorded inputs are an array, not a list of {name, value} pairs with distinct names",
        ),
        ([{"value": 1}], "its recorded inputs are an array, not a list of {name, value} pairs with distinct names"),
        ("name=Ada", "its recorded inputs are a string, not a list of {name, value} pairs with distinct names"),
    ],
    ids=["null", "repeated-names", "no-name", "string"],
)
def test_inputs_wfctl_cannot_hand_back_are_refused_per_run(fake, wfr, inputs, why):
    wf = greet(fake)
    bad = fake.add_run(wf, status="failed", extra={"inputs": inputs})
    good = fake.add_run(wf, status="failed", inputs={"name": "Flo"})

    r = wfr(fake, "rerun", bad, good, "-o", "jsonl")
    assert r.exit_code == 7, r.stderr
    lines = jsonl(r.stdout)
    assert [(o["sourceRunId"], o["outcome"]) for o in lines] == [(bad, "refused"), (good, "started")]
    assert lines[0]["runId"] is None and lines[1]["runId"] in fake.run_ids
    assert lines[0]["message"] == f"run {bad} was not re-run: {why}; a new run with other input would not be a re-run"
    (post,) = executes(fake)
    assert json.loads(post.form()["inputs"]) == {"name": "Flo"}


def test_an_unknown_run_is_exit_3_and_a_vanished_workflow_not_found(fake, wfr):
    missing = str(uuid.uuid4())
    r = wfr(fake, "rerun", missing, "-o", "json")
    assert r.exit_code == 3, r.stderr
    assert [(o["sourceRunId"], o["runId"], o["outcome"]) for o in r.json()] == [(missing, None, "not_found")]
    assert r.json()[0]["message"] == f"workflow-runs v1: HTTP 404: Workflow run {missing} not found"
    assert executes(fake) == []

    wf = greet(fake)
    source = fake.add_run(wf, status="completed", inputs={"name": "Gus"}, extra={"workflowId": str(uuid.uuid4())})
    gone = wfr(fake, "rerun", source, "-o", "json")
    assert gone.exit_code == 3, gone.stderr
    (outcome,) = gone.json()
    assert (outcome["sourceRunId"], outcome["runId"], outcome["outcome"]) == (source, None, "not_found")
    assert outcome["message"].startswith(f"its workflow {fake.run(source)['workflowId']} was not found")
    assert [p.status for p in executes(fake)] == [404]


def test_a_refused_token_stops_before_anything_is_executed(fake, wfr):
    wf = greet(fake)
    source = fake.add_run(wf, status="completed", inputs={"name": "Hal"})
    r = wfr(fake, "rerun", source, token="not-the-token")
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr.startswith("error: workflow-runs v1: HTTP 401")
    assert executes(fake) == []


def test_an_execute_that_fails_after_a_run_started_is_that_runs_error(fake, wfr):
    """/execute is never retried (a retry could start the run twice): a 503 on the second run is its error,
    and the first run, already started, is still reported. The first execution holds (its workflow never
    ends by itself) until the 503 for the next request is in place."""
    wf = fake.add_workflow("held", steps=["x"])
    fake.set_execution(wf, [{"status": "running"}], step_delay=0.0)
    first = fake.add_run(wf, status="completed", inputs={"name": "Ivy"})
    second = fake.add_run(wf, status="completed", inputs={"name": "Jo"})
    problems: list[BaseException] = []

    def release() -> None:
        try:
            fake.wait_for_requests(1, "POST", f"{V1}/execute", timeout=30)
            fake.inject_503(1, retry_after=None, method="POST", path_prefix=f"{V1}/execute")
            new = fake.wait_for(lambda f: [r for r in f.run_ids if r not in (first, second)], timeout=30)
            fake.set_status(new[0], "completed")
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            problems.append(exc)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    r = wfr(fake, "rerun", first, second, "-o", "jsonl")
    thread.join(30)
    assert problems == []
    assert r.exit_code == 7, r.stderr
    lines = jsonl(r.stdout)
    assert [(o["sourceRunId"], o["outcome"]) for o in lines] == [(first, "started"), (second, "error")]
    assert lines[0]["status"] == "completed" and lines[1]["runId"] is None
    assert lines[1]["message"].startswith("workflow-runs v1: HTTP 503")
    assert [p.status for p in executes(fake)] == [200, 503]


def test_bulk_rerun_by_filter_previews_confirms_and_reruns_the_matches(fake, wfr):
    wf = greet(fake)
    failed = fake.add_run(wf, status="failed", inputs={"name": "Kim"})
    fake.add_run(wf, status="completed", inputs={"name": "Lu"})

    refused = wfr(fake, "rerun", "--status", "failed")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert executes(fake) == []

    r = wfr(fake, "rerun", "--status", "failed", "-y", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert [(o["sourceRunId"], o["outcome"]) for o in jsonl(r.stdout)] == [(failed, "started")]
    assert [json.loads(p.form()["inputs"]) for p in executes(fake)] == [{"name": "Kim"}]
