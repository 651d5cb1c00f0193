"""workflow-runs v1 and v2 backends (docs/architecture.md, "workflow-runs") against the contract fake over HTTP.

Most tests go through the CLI (the ``cli`` fixture); a few unit tests at the end use the
backend directly or ``httpx.MockTransport`` for response shapes the fake does not serve.
Nothing sleeps for a fixed time to make something happen: progressions advance on each GET,
on explicit ``fake.step`` calls made once the CLI has polled, or on events the CLI printed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.doubles.workflow_runs import FakeWorkflowRuns
from wfctl.backends import workflow_runs as wr
from wfctl.backends.base import StartRequest, TailRequest
from wfctl.errors import UnavailableError, UnsupportedError, UsageError
from wfctl.model import ListQuery

V1 = "/api/v1/workflow-runs"
V2 = "/api/v2/workflow-runs"
ENVELOPES = ["bare", "data", "workflowRuns", "runs", "results"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake(make_fake):
    return make_fake(envelope="data", ping_interval=0.05)


@pytest.fixture
def wfr(cli):
    """``wfr(fake, "list", "-o", "json")`` runs wfctl against the fake (v1 unless ``v2=True``)."""

    def run(fake, *args, v2=False, token="valid", env=None):
        environment = dict(env or {})
        if token == "valid":
            environment["WFCTL_TOKEN"] = fake.token
        elif token is not None:
            environment["WFCTL_TOKEN"] = token
        backend = "workflow-runs-v2" if v2 else "workflow-runs-v1"
        return cli("--backend", backend, "--url", fake.url, *args, env=environment)

    return run


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def events_of(result):
    return [d for d in jsonl(result.stdout) if d["kind"] == "event"]


def lists(fake):
    return [r for r in fake.requests_for("GET", V1)]


class Stepper:
    """Applies a run's next frame each time the CLI has fetched the run ``polls`` more times,
    so every state is observed (``polls`` times) and nothing depends on timing. A frame never applied (the CLI
    stopped polling, or the stepper hung) fails the test when the block ends, unless the block already failed."""

    def __init__(self, fake, run_id, path, polls=2, timeout=30.0):
        self.fake, self.run_id, self.path, self.polls, self.timeout = fake, run_id, path, polls, timeout
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            while self.fake.pending_frames(self.run_id):
                target = len(self.fake.requests_for("GET", self.path)) + self.polls
                self.fake.wait_for_requests(target, "GET", self.path, timeout=self.timeout)
                self.fake.step(self.run_id)
        except BaseException as exc:  # noqa: BLE001 - handed to the test in __exit__
            self.error = exc

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, exc_type, *exc):
        self.thread.join(self.timeout + 10)
        if exc_type is not None:
            return
        if self.thread.is_alive():
            raise AssertionError(f"the stepper of {self.run_id} did not finish")
        if self.error is not None:
            raise AssertionError(f"frames of {self.run_id} left unapplied: {self.error!r}") from self.error


# --------------------------------------------------------------------------- envelopes


@pytest.mark.parametrize(
    "envelope,success,pagination",
    [
        ("bare", None, True),
        ("data", None, True),
        ("data", False, False),
        ("workflowRuns", True, True),
        ("workflowRuns", None, False),
        ("runs", None, True),
        ("runs", True, False),
        ("results", None, True),
        ("results", True, False),
    ],
)
def test_every_envelope_style(make_fake, wfr, envelope, success, pagination):
    fake = make_fake(envelope=envelope, with_success=success, with_pagination=pagination)
    wf = fake.add_workflow("nightly")
    ids = fake.add_runs(5, wf, status="completed", activities=[{"stepName": "fetch", "outputs": {"rows": 3}}])
    waiting = fake.add_run(wf, status="waiting")

    first = wfr(fake, "list", "-o", "json", "--limit", "4")
    assert first.exit_code == 0, first.stderr
    doc = first.json()
    assert [r["runId"] for r in doc["data"]] == [waiting] + ids[::-1][:3]
    assert doc["hasMore"] is True and doc["cursor"] == "2"
    assert "--cursor '2'" in first.stderr
    second = wfr(fake, "list", "-o", "json", "--limit", "4", "--cursor", "2").json()
    assert [r["runId"] for r in second["data"]] == ids[::-1][3:]
    assert second["hasMore"] is False and second["cursor"] is None

    got = wfr(fake, "get", ids[0], "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert got.json()["steps"][0]["output"] == {"rows": 3}
    assert got.json()["output"] == {"rows": 3}

    dash = wfr(fake, "dashboard", "--workflow", wf, "--once", "-o", "json")
    assert dash.exit_code == 0, dash.stderr
    assert dash.json()["counts"] == {
        "pending": 0,
        "running": 0,
        "waiting": 1,
        "completed": 5,
        "failed": 0,
        "cancelled": 0,
    }
    assert dash.json()["total"] == 6

    cancel = wfr(fake, "cancel", ids[0], waiting, "-o", "json")
    assert cancel.exit_code == 0, cancel.stderr
    assert [(o["runId"], o["outcome"]) for o in cancel.json()] == [
        (ids[0], "already_completed"),
        (waiting, "not_eligible"),
    ]


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_v2_envelopes(make_fake, wfr, envelope):
    fake = make_fake(envelope=envelope)
    rid = fake.add_v2_run("IN_PROGRESS", current_state_name="Review", job_run_id="job-1")
    r = wfr(fake, "get", rid, "-o", "json", v2=True)
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["status"] == "running" and doc["rawStatus"] == "IN_PROGRESS"
    assert doc["extra"]["currentStateName"] == "Review" and doc["extra"]["jobRunId"] == "job-1"


# --------------------------------------------------------------------------- list


def test_limit_above_100_is_split_into_pages(make_fake, wfr):
    fake = make_fake(envelope="bare")  # no pagination: hasMore comes from looking ahead
    wf = fake.add_workflow("bulk")
    ids = fake.add_runs(260, wf, status="completed")
    fake.clear_requests()
    r = wfr(fake, "list", "-o", "json", "--limit", "250")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert [d["runId"] for d in doc["data"]] == ids[::-1][:250]
    assert doc["hasMore"] is True and doc["cursor"] == "2"
    assert [(q.param("page"), q.param("limit")) for q in lists(fake)] == [("1", "100"), ("2", "100"), ("3", "100")]

    rest = wfr(fake, "list", "-o", "json", "--limit", "250", "--cursor", doc["cursor"]).json()
    assert [d["runId"] for d in rest["data"]] == ids[::-1][250:]
    assert rest["hasMore"] is False


@pytest.mark.parametrize("envelope", ["data", "bare"])
def test_all_walks_every_page(make_fake, wfr, envelope):
    fake = make_fake(envelope=envelope)
    wf = fake.add_workflow("many")
    ids = fake.add_runs(45, wf, status="completed")
    fake.clear_requests()
    r = wfr(fake, "list", "--all", "--limit", "20", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert [d["runId"] for d in jsonl(r.stdout)] == ids[::-1]
    pages = [q.param("page") for q in lists(fake)]
    assert pages == ["1", "2", "3"]  # a page is fetched once even when it was looked ahead at
    whole = wfr(fake, "list", "--all", "--limit", "20", "-o", "json").json()
    assert len(whole["data"]) == 45 and whole["hasMore"] is False


def test_filters_status_workflow_search(fake, wfr):
    wf_a = fake.add_workflow("nightly-report")
    wf_b = fake.add_workflow("report")
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    a_run = fake.add_run(wf_a, status="running", created_at=t0)
    a_sched = fake.add_run(wf_a, status="scheduled", created_at=t0 + timedelta(minutes=1))
    a_done = fake.add_run(wf_a, status="completed", created_at=t0 + timedelta(minutes=2))
    b_run = fake.add_run(wf_b, status="running", created_at=t0 + timedelta(minutes=3))

    # Several statuses: one query each, merged newest first; normalized and raw words both work.
    fake.clear_requests()
    r = wfr(fake, "list", "-o", "json", "--status", "pending", "--status", "running")
    assert r.exit_code == 0, r.stderr
    assert [d["runId"] for d in r.json()["data"]] == [b_run, a_sched, a_run]
    assert sorted(q.param("status") for q in lists(fake)) == ["running", "scheduled"]
    raw = wfr(fake, "list", "-o", "json", "--status", "scheduled").json()
    assert [d["runId"] for d in raw["data"]] == [a_sched]
    assert raw["data"][0]["status"] == "pending" and raw["data"][0]["rawStatus"] == "scheduled"

    # --workflow UUID -> workflowId; --workflow NAME -> exact name (not the substring search).
    by_id = wfr(fake, "list", "-o", "json", "--workflow", wf_b).json()
    assert [d["runId"] for d in by_id["data"]] == [b_run]
    fake.clear_requests()
    by_name = wfr(fake, "list", "-o", "json", "--workflow", "report").json()
    assert [d["runId"] for d in by_name["data"]] == [b_run]
    assert lists(fake)[0].param("search") == "report"
    assert lists(fake)[-1].param("workflowId") == wf_b
    none = wfr(fake, "list", "-o", "json", "--workflow", "no-such-workflow")
    assert none.exit_code == 0 and none.json()["data"] == []

    # --search goes to the server.
    fake.clear_requests()
    s = wfr(fake, "list", "-o", "json", "--search", "nightly").json()
    assert {d["runId"] for d in s["data"]} == {a_run, a_sched, a_done}
    assert lists(fake)[0].param("search") == "nightly"

    bad = wfr(fake, "list", "--status", "sleeping")
    assert bad.exit_code == 2 and "unknown status 'sleeping'" in bad.stderr


def test_since_until_and_sort_asc(fake, wfr):
    wf = fake.add_workflow("timed")
    base = datetime.now(timezone.utc) - timedelta(hours=10)
    ids = [fake.add_run(wf, status="completed", created_at=base + timedelta(hours=h)) for h in range(10)]
    fake.clear_requests()
    r = wfr(fake, "list", "-o", "json", "--since", "5h30m", "--until", "2h30m")
    assert r.exit_code == 0, r.stderr
    assert [d["runId"] for d in r.json()["data"]] == [ids[7], ids[6], ids[5]]
    assert len(lists(fake)) == 1  # newest first: the scan stops once it passes --since

    page = wfr(fake, "list", "-o", "json", "--since", "9h30m", "--limit", "2").json()
    assert [d["runId"] for d in page["data"]] == [ids[9], ids[8]]
    assert page["hasMore"] is True and page["cursor"].startswith("o:")
    more = wfr(fake, "list", "-o", "json", "--since", "9h30m", "--limit", "8", "--cursor", page["cursor"]).json()
    assert [d["runId"] for d in more["data"]] == ids[1:8][::-1]
    assert more["hasMore"] is False

    asc = wfr(fake, "list", "-o", "json", "--sort", "asc", "--limit", "4").json()
    assert [d["runId"] for d in asc["data"]] == ids[:4]
    asc2 = wfr(fake, "list", "-o", "json", "--sort", "asc", "--limit", "4", "--cursor", asc["cursor"]).json()
    assert [d["runId"] for d in asc2["data"]] == ids[4:8]

    q = wfr(fake, "list", "--query", "WorkflowType='x'")
    assert q.exit_code == 6


# --------------------------------------------------------------------------- get


@pytest.mark.parametrize("encoding", ["json-string", "object"])
def test_get_decodes_outputs_and_maps_steps(make_fake, wfr, encoding):
    fake = make_fake(envelope="runs", outputs_encoding=encoding)
    wf = fake.add_workflow("etl")
    rid = fake.add_run(wf, status="running", inputs={"date": "2026-03-01", "n": 3}, extra={"jobRunId": "j-9"})
    fake.add_activity(rid, "extract", "completed", outputs={"rows": [1, 2]})
    fake.add_activity(rid, "load", "failed", outputs={"error": "disk full"})
    fake.add_activity(rid, "load", "running", attempt=2)
    r = wfr(fake, "get", rid, "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["runId"] == rid and doc["workflowName"] == "etl" and doc["workflowId"] == wf
    assert doc["status"] == "running" and doc["completedAt"] is None
    assert doc["input"] == {"date": "2026-03-01", "n": 3}
    assert doc["extra"] == {"jobRunId": "j-9"}
    steps = doc["steps"]
    assert [(s["stepName"], s["status"], s["attempt"]) for s in steps] == [
        ("extract", "completed", 1),
        ("load", "failed", 1),
        ("load", "running", 2),
    ]
    assert steps[0]["output"] == {"rows": [1, 2]} and steps[0]["completedAt"] is not None
    assert steps[1]["error"]["message"] == "disk full"
    assert steps[2]["completedAt"] is None and steps[2]["output"] is None
    assert steps[0]["startedAt"] == fake.run(rid)["activityRuns"][0]["createdAt"]

    table = wfr(fake, "get", rid, "-o", "table")
    assert table.exit_code == 0 and "extract" in table.stdout and "load" in table.stdout


def test_get_wait_prints_the_return_value(fake, wfr):
    wf = fake.add_workflow("calc")
    rid = fake.add_run(wf, script=fake.script(["add"], outputs={"add": {"sum": 42}}), advance_on="get")
    r = wfr(fake, "get", rid, "--wait", "--interval", "0.01", "-o", "json", "--fields", "output")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"output": {"sum": 42}}


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize("final,code", [("completed", 0), ("failed", 10), ("cancelled", 11)])
def test_status_wait_exit_codes(fake, wfr, final, code):
    wf = fake.add_workflow("w")
    rid = fake.add_run(wf, script=fake.script(["a", "b"], final=final), advance_on="get")
    r = wfr(fake, "status", rid, "--wait", "--interval", "0.01", "-o", "json")
    assert r.exit_code == code, r.stderr
    assert r.json()["status"] == final and fake.pending_frames(rid) == 0


def test_status_without_wait_and_timeout(fake, wfr):
    wf = fake.add_workflow("w")
    running = fake.add_run(wf, status="running")
    done = fake.add_run(wf, status="completed")
    r = wfr(fake, "status", running, done, "-o", "plain")
    assert r.exit_code == 12
    assert r.stdout.splitlines() == [f"{running}\trunning", f"{done}\tcompleted"]
    t = wfr(fake, "status", running, "--wait", "--timeout", "0.2", "--interval", "0.05")
    assert t.exit_code == 124 and "timed out" in t.stderr
    assert fake.status(running) == "running"


# --------------------------------------------------------------------------- cancel


def test_cancel_ids_in_one_request_with_outcomes(fake, wfr):
    wf = fake.add_workflow("w")
    running = fake.add_run(wf, status="running")
    scheduled = fake.add_run(wf, status="scheduled")
    done = fake.add_run(wf, status="completed")
    waiting = fake.add_run(wf, status="waiting")
    broken = fake.add_run(wf, status="running")
    fake.inject_cancel_error(broken, "database unavailable")
    unknown = str(uuid.uuid4())
    fake.clear_requests()
    r = wfr(
        fake, "cancel", running, scheduled, done, waiting, unknown, broken, "--reason", "deploy freeze", "-o", "json"
    )
    assert r.exit_code == 7, r.stderr
    assert [(o["runId"], o["outcome"]) for o in r.json()] == [
        (running, "cancelled"),
        (scheduled, "cancelled"),
        (done, "already_completed"),
        (waiting, "not_eligible"),
        (unknown, "not_found"),
        (broken, "error"),
    ]
    posts = fake.requests_for("POST", f"{V1}/cancel")
    assert len(posts) == 1
    assert posts[0].json() == {
        "runIds": [running, scheduled, done, waiting, unknown, broken],
        "reason": "deploy freeze",
    }
    assert fake.cancel_reason(running) == "deploy freeze" and fake.status(scheduled) == "cancelled"

    ok = wfr(fake, "cancel", fake.add_run(wf, status="running"), "-o", "plain")
    assert ok.exit_code == 0 and "\tcancelled\t" in ok.stdout


def test_cancel_reason_limit_checked_before_sending(fake, wfr, isolated_env):
    rid = fake.add_run(status="running")
    fake.clear_requests()
    r = wfr(fake, "cancel", rid, "--reason", "x" * 501)
    assert r.exit_code == 2 and "500" in r.stderr
    assert fake.requests == []
    backend = _backend(fake, isolated_env)
    with pytest.raises(UsageError, match="at most 500"):
        backend.cancel([rid], "y" * 501)
    with pytest.raises(UsageError, match="at most 500"):
        backend.cancel_workflow(str(uuid.uuid4()), "y" * 501)
    assert fake.requests == []
    assert wfr(fake, "cancel", rid, "--reason", "x" * 500).exit_code == 0
    assert fake.cancel_reason(rid) == "x" * 500


def test_cancel_by_workflow_previews_confirms_and_cancels(fake, wfr):
    wf = fake.add_workflow("nightly")
    other = fake.add_workflow("other")
    live = [fake.add_run(wf, status=s) for s in ("scheduled", "running", "running")]
    done = fake.add_run(wf, status="completed")
    elsewhere = fake.add_run(other, status="running")

    refused = wfr(fake, "cancel", "--workflow", wf)
    assert refused.exit_code == 2 and "without" in refused.stderr
    assert all(fake.status(r) != "cancelled" for r in live)

    dry = wfr(fake, "cancel", "--workflow", wf, "--dry-run", "-o", "json")
    assert dry.exit_code == 0 and {d["runId"] for d in dry.json()} == set(live)
    assert {d["outcome"] for d in dry.json()} == {"would_cancel"}

    fake.clear_requests()
    r = wfr(fake, "cancel", "--workflow", "nightly", "-y", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert {o["runId"] for o in r.json()} == set(live)
    assert all(o["outcome"] == "cancelled" for o in r.json())
    assert set(fake.requests_for("POST", f"{V1}/cancel")[0].json()["runIds"]) == set(live)
    assert fake.status(done) == "completed" and fake.status(elsewhere) == "running"
    assert "3 run(s) match" in r.stderr


def test_cancel_workflow_fast_path_is_one_request(fake, isolated_env):
    wf = fake.add_workflow("nightly")
    live = [fake.add_run(wf, status="running") for _ in range(3)]
    waiting = fake.add_run(wf, status="waiting")
    backend = _backend(fake, isolated_env)
    fake.clear_requests()
    outcomes = backend.cancel_workflow(wf, "stop")
    assert [(o.runId, o.outcome) for o in outcomes] == [(r, "cancelled") for r in live] + [(waiting, "not_eligible")]
    assert [q.json() for q in fake.requests] == [{"workflowId": wf, "reason": "stop"}]
    backend.close()


def test_cancel_terminate_is_unsupported(fake, wfr):
    r = wfr(fake, "cancel", fake.add_run(status="running"), "--terminate")
    assert r.exit_code == 6 and "terminate" in r.stderr


# --------------------------------------------------------------------------- dashboard


@pytest.mark.parametrize("dashboard", ["counts", "bare"])
def test_dashboard_counts(make_fake, wfr, dashboard):
    fake = make_fake(envelope="data", dashboard=dashboard)
    wf = fake.add_workflow("nightly")
    for status, n in (("scheduled", 1), ("running", 2), ("failed", 3)):
        fake.add_runs(n, wf, status=status)
    fake.add_runs(4, fake.add_workflow("other"), status="completed")
    r = wfr(fake, "dashboard", "--workflow", wf, "--once", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["counts"] == {"pending": 1, "running": 2, "waiting": 0, "completed": 0, "failed": 3, "cancelled": 0}
    assert doc["total"] == 6 and doc["workflow"] == wf
    assert len(doc["recent"]) == 6 and all(d["workflowId"] == wf for d in doc["recent"])
    assert fake.requests_for("GET", f"{V1}/dashboard/{wf}")

    by_name = wfr(fake, "dashboard", "--workflow", "nightly", "--once", "-o", "json")
    assert by_name.exit_code == 0 and by_name.json()["total"] == 6

    everything = wfr(fake, "dashboard", "--once", "-o", "json")
    assert everything.exit_code == 0, everything.stderr
    assert everything.json()["counts"]["completed"] == 4 and everything.json()["total"] == 10

    table = wfr(fake, "dashboard", "--workflow", wf, "--once", "-o", "table")
    assert table.exit_code == 0 and "failed" in table.stdout

    missing = wfr(fake, "dashboard", "--workflow", "nope", "--once")
    assert missing.exit_code == 3


def test_dashboard_without_workflow_needs_totals(make_fake, wfr):
    fake = make_fake(envelope="bare")
    fake.add_run(status="running")
    r = wfr(fake, "dashboard", "--once", "-o", "json")
    assert r.exit_code == 2
    assert "pass --workflow ID" in r.stderr


# --------------------------------------------------------------------------- start


def test_start_wait_sends_multipart_and_blocks(fake, wfr):
    wf = fake.add_workflow("greet", steps=["hello"])
    fake.set_execution(wf, fake.script(["hello"], outputs={"hello": {"text": "hi Ada"}}), step_delay=0.01)
    r = wfr(
        fake,
        "start",
        wf,
        "--input",
        "name=Ada",
        "--input",
        'opts={"loud": true}',
        "--env",
        "REGION=eu",
        "--wait",
        "-o",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["status"] == "completed" and doc["output"] == {"text": "hi Ada"}
    assert doc["input"] == {"name": "Ada", "opts": {"loud": True}}
    post = fake.requests_for("POST", f"{V1}/execute")[0]
    assert post.headers["content-type"].startswith("multipart/form-data")
    form = post.form()
    assert form["workflowId"] == wf
    assert json.loads(form["inputs"]) == {"name": "Ada", "opts": {"loud": True}}
    assert json.loads(form["envs"]) == {"REGION": "eu"}
    assert fake.run_envs(doc["runId"]) == {"REGION": "eu"}


def test_start_failures(fake, wfr):
    wf = fake.add_workflow("fragile", steps=["x"], final="failed")
    failed = wfr(fake, "start", wf, "--wait", "-o", "json")
    assert failed.exit_code == 10 and failed.json()["error"]["message"] == "x failed"

    not_object = wfr(fake, "start", wf, "--input-json", "[1, 2]")
    assert not_object.exit_code == 2 and "JSON object" in not_object.stderr
    unknown = wfr(fake, "start", str(uuid.uuid4()))
    assert unknown.exit_code == 3
    no_runs = wfr(fake, "start", "never-ran")
    assert no_runs.exit_code == 3 and "UUID" in no_runs.stderr
    chosen = wfr(fake, "start", wf, "--id", "mine")
    assert chosen.exit_code == 6
    # the failed run and the unknown workflow; nothing retried, nothing sent for bad input
    assert [q.status for q in fake.requests_for("POST", f"{V1}/execute")] == [200, 404]


def test_start_by_name_resolves_the_workflow(fake, wfr):
    wf = fake.add_workflow("greet")
    fake.add_run(wf, status="completed")
    r = wfr(fake, "start", "greet", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert fake.requests_for("POST", f"{V1}/execute")[0].form()["workflowId"] == wf


def test_start_follow_renders_the_stream_live(fake, wfr, monkeypatch):
    """The run only finishes because the CLI printed its first step's completion: proof that
    events are rendered as they arrive, not after the stream ends."""
    from wfctl.render import TailPrinter

    wf = fake.add_workflow("agent", steps=["plan", "act"])
    frames = FakeWorkflowRuns.script(["plan"], thinking=True)[:-1]  # no final status: the run waits
    fake.set_execution(wf, frames, step_delay=0.01)
    printed = []
    original = TailPrinter.item

    def item(self, event):
        printed.append((event.type, event.stepName, event.data))
        if event.type == "step_completed" and event.stepName == "plan":
            fake.set_status(event.runId, "completed")
        return original(self, event)

    monkeypatch.setattr(TailPrinter, "item", item)
    r = wfr(fake, "start", wf, "--input", "goal=ship", "--follow", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert [(t, n) for t, n, _ in printed] == [
        ("run_created", None),
        ("run_started", None),
        ("step_started", "plan"),
        ("thinking", "plan"),
        ("step_completed", "plan"),
        ("run_completed", None),
        ("result", None),
    ]
    assert printed[3][2] == "Working on plan"
    lines = jsonl(r.stdout)
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] == "completed"
    run_id = lines[0]["runId"]
    assert f"started {run_id}" in r.stderr
    assert fake.requests_for("POST", f"{V1}/execute/stream")[0].form()["inputs"] == '{"goal": "ship"}'


def test_start_follow_table_output_and_failure(fake, wfr):
    wf = fake.add_workflow("agent", steps=["plan", "act"], final="failed")
    fake.set_execution(wf, FakeWorkflowRuns.script(["plan", "act"], final="failed", thinking=True), step_delay=0.01)
    r = wfr(fake, "start", wf, "--follow", "-o", "table")
    assert r.exit_code == 10, r.stderr
    out = r.stdout
    for text in (
        "run_started",
        "step_started",
        "plan",
        "act",
        "thinking",
        "Working on act",
        "step_failed",
        "run_failed",
        "error",
    ):
        assert text in out
    assert out.count("Working on plan") == 1


def test_start_follow_uses_event_step_details(make_fake, wfr):
    fake = make_fake(envelope="bare", sse_activity_details=True)
    wf = fake.add_workflow("agent", steps=["one"])
    fake.set_execution(wf, step_delay=0.0)
    r = wfr(fake, "start", wf, "--follow", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    steps = [e for e in events_of(r) if e["type"].startswith("step_")]
    assert [e["type"] for e in steps] == ["step_started", "step_completed"]
    assert all(e["stepId"] for e in steps)
    # the event named the step itself: no GET of the run while streaming
    run_id = steps[0]["runId"]
    assert len(fake.requests_for("GET", f"{V1}/{run_id}")) == 1  # only the final reconciliation


def test_start_follow_pings_keep_a_quiet_stream_alive(make_fake, wfr, monkeypatch):
    monkeypatch.setattr(wr.WorkflowRunsV1Backend, "stream_idle_timeout", 0.3)
    fake = make_fake(envelope="data", ping_interval=0.05)
    wf = fake.add_workflow("slow", steps=["think"])
    fake.set_execution(wf, FakeWorkflowRuns.script(["think"])[:-1], step_delay=0.01)

    def finish_later():
        run_id = fake.wait_for(lambda f: next(iter(f.run_ids), None), timeout=5)
        fake.wait_for(lambda f: f.status(run_id) == "running" and f.pending_frames(run_id) == 0, timeout=5)
        # three idle windows without any event: only the pings keep the connection alive
        threading.Timer(1.0, fake.set_status, (run_id, "completed")).start()

    helper = threading.Thread(target=finish_later, daemon=True)
    helper.start()
    started = time.monotonic()
    r = wfr(fake, "start", wf, "--follow", "-o", "jsonl")
    helper.join(5)
    assert r.exit_code == 0, r.stderr
    assert time.monotonic() - started >= 0.9
    assert [e["type"] for e in events_of(r)][-2:] == ["run_completed", "result"]


def test_start_follow_silent_stream_trips_the_watchdog(make_fake, wfr, monkeypatch):
    monkeypatch.setattr(wr.WorkflowRunsV1Backend, "stream_idle_timeout", 0.3)
    fake = make_fake(envelope="data", ping_interval=0.05)
    wf = fake.add_workflow("agent", steps=["a", "b"])
    fake.set_execution(wf, step_delay=0.01)
    fake.stream_silent(after_events=3)
    r = wfr(fake, "start", wf, "--follow", "-o", "jsonl")
    assert r.exit_code == 5
    events = events_of(r)
    assert [e["type"] for e in events] == ["run_created", "run_started", "step_started"]
    run_id = events[0]["runId"]
    err = r.stderr.splitlines()
    assert any(line.startswith("error:") and "silent for 0.3s" in line for line in err)
    assert f"hint: the run goes on; follow it with: wfctl tail {run_id} --live" in err
    # and the hint works: tail --live picks the run up by polling
    fake.wait_for(lambda f: f.status(run_id) == "completed", timeout=5)
    t = wfr(fake, "tail", run_id, "--live", "--interval", "0.01", "-o", "jsonl")
    assert t.exit_code == 0 and jsonl(t.stdout)[-1]["status"] == "completed"


def test_start_follow_dropped_stream(make_fake, wfr):
    fake = make_fake(envelope="data")
    wf = fake.add_workflow("agent", steps=["a"])
    fake.stream_drop(after_events=2)
    r = wfr(fake, "start", wf, "--follow", "-o", "jsonl")
    assert r.exit_code == 5
    assert "dropped" in r.stderr and "wfctl tail" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 3  # started ..., error: ..., hint: ...


def test_start_follow_with_the_token_expiring_mid_stream(fake, wfr):
    wf = fake.add_workflow("agent", steps=["a", "b"])
    fake.set_execution(wf, step_delay=0.01)
    fake.expire_token(after_requests=1)  # the stream itself is authorised, nothing after it
    r = wfr(fake, "start", wf, "--follow", "-o", "jsonl")
    assert r.exit_code == 4
    types = [e["type"] for e in events_of(r)]
    assert types[0] == "run_created" and types[-2:] == ["run_completed", "result"]
    assert "jwt expired" in r.stderr and "hint: check the token" in r.stderr
    assert fake.token not in r.stderr + r.stdout


# --------------------------------------------------------------------------- tail


def test_tail_live_by_polling_prints_each_change_once(fake, wfr):
    wf = fake.add_workflow("pipeline")
    rid = fake.add_run(wf, status="scheduled", script=FakeWorkflowRuns.script(["fetch", "store"]), advance_on="manual")
    with Stepper(fake, rid, f"{V1}/{rid}", polls=3):
        r = wfr(fake, "tail", rid, "--live", "--interval", "0.01", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    events = events_of(r)
    assert [(e["type"], e["data"]["status"]) for e in events] == [
        ("run_created", "scheduled"),
        ("run_started", "running"),
        ("step_started", "running"),
        ("step_completed", "completed"),
        ("step_started", "running"),
        ("step_completed", "completed"),
        ("run_completed", "completed"),
    ]
    assert [e["index"] for e in events] == list(range(7))
    assert events[3]["data"]["output"] == {"step": "fetch", "ok": True}
    assert len(fake.requests_for("GET", f"{V1}/{rid}")) >= 3 * 6  # every state was polled 3 times
    assert jsonl(r.stdout)[-1] == {"kind": "end", "runId": rid, "status": "completed", "offset": None}


def test_tail_live_retry_and_failure_exit_code(fake, wfr):
    wf = fake.add_workflow("flaky")
    frames = [
        {"status": "running"},
        {"step": "call", "status": "running"},
        {"step": "call", "status": "failed", "outputs": {"error": "timeout"}},
        {"step": "call", "status": "running", "retry": True},
        {"step": "call", "status": "failed", "outputs": {"error": "timeout again"}},
        {"status": "failed"},
    ]
    rid = fake.add_run(wf, status="scheduled", script=frames, advance_on="get")
    r = wfr(fake, "tail", rid, "--live", "--interval", "0.01", "-o", "jsonl")
    assert r.exit_code == 10, r.stderr
    steps = [(e["type"], e["data"]["attempt"]) for e in events_of(r) if e["type"].startswith("step_")]
    assert steps == [("step_started", 1), ("step_failed", 1), ("step_started", 2), ("step_failed", 2)]
    assert events_of(r)[-1]["data"]["error"] == "timeout again"


def test_tail_live_waiting_then_resumed(fake, wfr):
    frames = [{"status": "running"}, {"status": "waiting"}, {"status": "running"}, {"status": "cancelled"}]
    rid = fake.add_run(status="scheduled", script=frames, advance_on="get")
    r = wfr(fake, "tail", rid, "--live", "--interval", "0.01", "-o", "jsonl")
    assert r.exit_code == 11, r.stderr
    assert [e["type"] for e in events_of(r)] == [
        "run_created",
        "run_started",
        "run_waiting",
        "run_resumed",
        "run_cancelled",
    ]


def test_tail_snapshot_last_type_and_unsupported_options(fake, wfr):
    wf = fake.add_workflow("w")
    rid = fake.add_run(
        wf,
        status="completed",
        activities=[{"stepName": "a"}, {"stepName": "b"}, {"stepName": "c", "outputs": "plain text"}],
    )
    r = wfr(fake, "tail", rid, "-o", "jsonl")
    assert r.exit_code == 0
    assert [(e["type"]) for e in events_of(r)] == ["step_completed"] * 3 + ["run_completed"]
    assert events_of(r)[2]["data"]["output"] == "plain text"
    last = wfr(fake, "tail", rid, "--last", "2", "-o", "jsonl")
    assert [e["type"] for e in events_of(last)] == ["step_completed", "run_completed"]
    only = wfr(fake, "tail", rid, "--type", "run_completed", "-o", "jsonl")
    assert [e["type"] for e in events_of(only)] == ["run_completed"]
    running = fake.add_run(wf, status="running")
    assert wfr(fake, "tail", running).exit_code == 12  # not live: prints the state, exits like status

    assert wfr(fake, "tail", rid, "--offset", "3").exit_code == 6
    assert wfr(fake, "tail", rid, "--stream").exit_code == 6
    assert wfr(fake, "tail", str(uuid.uuid4())).exit_code == 3


# --------------------------------------------------------------------------- v2


@pytest.mark.parametrize(
    "raw,status",
    [
        ("PENDING", "pending"),
        ("IN_PROGRESS", "running"),
        ("AWAITING_USER_INPUT", "waiting"),
        ("COMPLETED", "completed"),
        ("COMPLETED_WITH_NO_ACTION_TAKEN", "completed"),
        ("FAILED", "failed"),
    ],
)
def test_v2_status_mapping(fake, wfr, raw, status):
    rid = fake.add_v2_run(raw)
    r = wfr(fake, "get", rid, "-o", "json", v2=True)
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["status"], doc["rawStatus"], doc["backend"]) == (status, raw, "workflow-runs-v2")
    assert set(doc["extra"]) >= {"currentStateName", "jobRunId", "createdByUserId"}
    assert (doc["completedAt"] is not None) == (status in ("completed", "failed"))
    assert (doc["waitingFor"] is not None) == (status == "waiting")


def test_waiting_for_input_in_every_view(fake, wfr):
    """v1 ``waiting`` and v2 ``AWAITING_USER_INPUT`` wait for user input (docs/architecture.md, "Waiting runs"):
    the activity run that waits (v1, where the answer lists them) or the state (v2); no time, no hint."""
    wf = fake.add_workflow("expenses", steps=["submit", "approve"])
    waiting = fake.add_run(
        wf,
        status="waiting",
        activities=[{"stepName": "submit", "status": "completed"}, {"stepName": "approve", "status": "waiting"}],
    )
    running = fake.add_run(wf, status="running")
    got = wfr(fake, "get", waiting, "-o", "json")
    assert got.exit_code == 0, got.stderr
    approve = {"kind": "input", "until": None, "correlationId": None, "token": None, "name": "approve", "hint": None}
    assert (got.json()["status"], got.json()["rawStatus"], got.json()["waitingFor"]) == ("waiting", "waiting", approve)
    status = wfr(fake, "status", waiting, running, "-o", "json")
    assert status.exit_code == 12  # not finished, as before
    assert [(d["status"], d["waitingFor"]) for d in status.json()] == [("waiting", approve), ("running", None)]
    listed = wfr(fake, "list", "--status", "waiting", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    [row] = listed.json()["data"]
    assert (row["runId"], row["status"], row["waitingFor"]["kind"]) == (waiting, "waiting", "input")
    plain = wfr(fake, "status", waiting)
    assert plain.stdout == f"{waiting}\twaiting\t" + json.dumps(approve, separators=(",", ":")) + "\n"
    table = wfr(fake, "get", waiting, "-o", "table").stdout
    assert "│ Status       ◑ waiting " in table and "│ Waiting      input at approve" in table
    assert "Resume" not in table
    dash = wfr(fake, "dashboard", "--workflow", wf, "--once", "-o", "json").json()
    assert (dash["counts"]["waiting"], dash["counts"]["running"]) == (1, 1)

    rid = fake.add_v2_run("AWAITING_USER_INPUT", current_state_name="Manager review")
    v2 = wfr(fake, "status", rid, "-o", "json", v2=True)
    assert v2.exit_code == 12
    assert (v2.json()["status"], v2.json()["waitingFor"]) == (
        "waiting",
        {"kind": "input", "until": None, "correlationId": None, "token": None, "name": "Manager review", "hint": None},
    )


@pytest.mark.parametrize("final,code", [("COMPLETED", 0), ("COMPLETED_WITH_NO_ACTION_TAKEN", 0), ("FAILED", 10)])
def test_v2_status_wait(fake, wfr, final, code):
    rid = fake.add_v2_run("PENDING", script=FakeWorkflowRuns.v2_script(("IN_PROGRESS", "Intake"), final))
    r = wfr(fake, "status", rid, "--wait", "--interval", "0.01", "-o", "json", v2=True)
    assert r.exit_code == code, r.stderr
    assert r.json()["rawStatus"] == final


def test_v2_tail_live_prints_status_and_state_changes_once(fake, wfr):
    rid = fake.add_v2_run(
        "PENDING",
        script=FakeWorkflowRuns.v2_script(
            ("IN_PROGRESS", "Intake"),
            ("IN_PROGRESS", "Review"),
            ("AWAITING_USER_INPUT", "Review"),
            ("IN_PROGRESS", "Publish"),
            ("COMPLETED", None),
        ),
        advance_on="manual",
    )
    with Stepper(fake, rid, f"{V2}/{rid}", polls=3):
        r = wfr(fake, "tail", rid, "--live", "--interval", "0.01", "-o", "jsonl", v2=True)
    assert r.exit_code == 0, r.stderr
    seen = [(e["type"], e["data"].get("currentStateName")) for e in events_of(r)]
    assert seen == [
        ("run_created", None),
        ("run_started", "Intake"),
        ("state_entered", "Intake"),
        ("state_entered", "Review"),
        ("run_waiting", "Review"),
        ("run_resumed", "Publish"),
        ("state_entered", "Publish"),
        ("run_completed", None),
    ]
    table = wfr(fake, "tail", rid, "-o", "plain", v2=True)
    assert table.exit_code == 0 and "run_completed" in table.stdout


@pytest.mark.parametrize(
    "bad,why",
    [
        ("not-a-uuid", "is not a UUID"),
        ("3fa85f6457174562b3fc2c963f66afa6", "lacks the dashes"),
        ("3fa85f64-5717-0562-b3fc-2c963f66afa6", "version digit '0'"),
        ("3fa85f64-5717-9562-b3fc-2c963f66afa6", "version digit '9'"),
        ("3fa85f64-5717-4562-c3fc-2c963f66afa6", "variant digit 'c'"),
        ("3fa85f64-5717-4562-73fc-2c963f66afa6", "variant digit '7'"),
        ("ffffffff-ffff-ffff-ffff-ffffffffffff", "version digit 'f'"),
        ("{3fa85f64-5717-4562-b3fc-2c963f66afa6}", "braces"),
    ],
)
def test_v2_id_validation_before_sending(fake, wfr, bad, why):
    for command in (["get", bad], ["status", bad], ["tail", bad, "--live"]):
        r = wfr(fake, *command, v2=True)
        assert r.exit_code == 2, (command, r.stderr)
        assert why in r.stderr and "invalid workflow-runs v2 run id" in r.stderr
    assert fake.requests == []


@pytest.mark.parametrize(
    "good",
    [
        "00000000-0000-0000-0000-000000000000",
        "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "3fa85f64-5717-8562-a3fc-2c963f66afa6",
    ],
)
def test_v2_valid_ids_are_sent(fake, wfr, good):
    r = wfr(fake, "get", good, v2=True)
    assert r.exit_code == 3  # well-formed, unknown to the server
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "args,word",
    [
        (["list"], "list"),
        (["cancel", str(uuid.uuid4()), "-y"], "cancel"),
        (["wake", str(uuid.uuid4())], "wake"),
        (["dashboard", "--once"], "dashboard"),
        (["start", str(uuid.uuid4())], "start"),
    ],
)
def test_v2_unsupported_commands_exit_6(fake, wfr, args, word):
    r = wfr(fake, *args, v2=True)
    assert r.exit_code == 6, r.stderr
    assert "workflow-runs v2 has only GET /api/v2/workflow-runs/{id}" in r.stderr
    assert fake.requests == []


def test_v1_wake_is_unsupported(fake, wfr):
    r = wfr(fake, "wake", str(uuid.uuid4()))
    assert r.exit_code == 6 and "no endpoint to wake" in r.stderr


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("token", [None, "wrong-token", "forbidden"])
def test_auth_errors_exit_4_with_a_token_hint(fake, wfr, token):
    rid = fake.add_run(status="running")
    v2 = fake.add_v2_run()
    token = fake.forbidden_token if token == "forbidden" else token
    for args, is_v2 in ((["get", rid], False), (["list"], False), (["get", v2], True)):
        r = wfr(fake, *args, token=token, v2=is_v2)
        assert r.exit_code == 4, r.stderr
        lines = r.stderr.splitlines()
        assert lines[0].startswith("error: workflow-runs v")
        assert lines[1].startswith("hint: check the token")
        assert ("403" in lines[0]) == (token == fake.forbidden_token)
    wf = fake.add_workflow("w")
    follow = wfr(fake, "start", wf, "--follow", token=token)
    assert follow.exit_code == 4 and "hint: check the token" in follow.stderr
    assert fake.requests_for("POST", f"{V1}/execute/stream")[0].status in (401, 403)


def test_not_found_bad_request_and_server_message(fake, wfr):
    assert wfr(fake, "get", str(uuid.uuid4())).exit_code == 3
    bad = wfr(fake, "get", "not-a-uuid")
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[0] == "error: workflow-runs v1: HTTP 400: Validation failed (uuid is expected)"
    missing_wf = wfr(fake, "dashboard", "--workflow", str(uuid.uuid4()), "--once")
    assert missing_wf.exit_code == 3 and "not found" in missing_wf.stderr


def test_503_with_retry_after_is_retried(fake, wfr):
    rid = fake.add_run(status="running")
    fake.inject_503(count=1, retry_after=1)
    started = time.monotonic()
    r = wfr(fake, "get", rid, "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert time.monotonic() - started >= 0.9  # Retry-After honoured
    assert [q.status for q in fake.requests_for("GET", f"{V1}/{rid}")] == [503, 200]


def test_persistent_5xx_and_network_errors_exit_5(fake, wfr):
    rid = fake.add_run(status="running")
    fake.inject_503(count=50, retry_after=0)
    r = wfr(fake, "get", rid)
    assert r.exit_code == 5
    assert len(fake.requests_for("GET", f"{V1}/{rid}")) == 5  # 1 + 4 retries
    assert len(r.stderr.splitlines()) == 1 and "503" in r.stderr
    fake.clear_faults()

    fake.inject(500, count=1)
    assert wfr(fake, "get", rid).exit_code == 5  # 500 is not retried
    fake.inject_disconnect(count=2)
    assert wfr(fake, "get", rid).exit_code == 0  # dropped connections are retried

    fake.clear_requests()
    fake.inject_503(count=1, retry_after=0, method="POST")
    ok = wfr(fake, "cancel", rid)  # cancel is retried too: cancelling twice is harmless
    assert ok.exit_code == 0 and len(fake.requests_for("POST", f"{V1}/cancel")) == 2

    gone = FakeWorkflowRuns()
    url = gone.url
    gone.stop()
    down = wfr(fake, "get", rid, env={"WFCTL_URL": url})
    assert down.exit_code == 0  # --url (the fake) wins over WFCTL_URL
    from typer.testing import CliRunner

    from wfctl.app import app

    result = CliRunner().invoke(
        app, ["--backend", "workflow-runs-v1", "--url", url, "get", rid], env={"WFCTL_TOKEN": "x"}
    )
    assert result.exit_code == 5 and "unreachable" in result.stderr


def test_html_proxy_page_is_one_line(fake, wfr):
    rid = fake.add_run(status="running")
    fake.inject_html_error(count=50, status=502)
    r = wfr(fake, "get", rid)
    assert r.exit_code == 5
    assert len(r.stderr.splitlines()) == 1
    assert "HTTP 502 with text/html" in r.stderr and "<" not in r.stderr
    fake.clear_faults()
    fake.inject(200, body="<html><body>Sign in</body></html>", content_type="text/html")
    ok_status = wfr(fake, "get", rid)
    assert ok_status.exit_code == 5
    assert "HTTP 200 with text/html" in ok_status.stderr.splitlines()[0] and "<" not in ok_status.stderr
    fake.inject_html_error(count=1, status=404)
    nf = wfr(fake, "get", rid)
    assert nf.exit_code == 3 and "text/html" in nf.stderr and "<" not in nf.stderr


def test_slow_server(fake, wfr):
    rid = fake.add_run(status="running")
    fake.set_delay(0.3)
    assert wfr(fake, "get", rid, env={"WFCTL_TIMEOUT": "5"}).exit_code == 0
    fake.set_delay(2.0)
    r = wfr(fake, "get", rid, env={"WFCTL_TIMEOUT": "0.1"})
    assert r.exit_code == 5 and "timed out" in r.stderr
    fake.clear_faults()


def test_token_never_printed_with_debug(fake, wfr):
    rid = fake.add_run(status="running")
    r = wfr(fake, "get", rid, "--debug", "-o", "json")
    assert r.exit_code == 0
    assert fake.token not in r.stdout + r.stderr
    assert "Bearer" not in r.stdout and "authorization: ***" in r.stderr.lower()


def test_url_with_the_api_path_is_accepted(fake, cli):
    rid = fake.add_run(status="completed")
    for url in (fake.v1_url, fake.url + "/api", fake.url + "/"):
        r = cli("--backend", "workflow-runs-v1", "--url", url, "status", rid, env={"WFCTL_TOKEN": fake.token})
        assert r.exit_code == 0, (url, r.stderr)


def test_doctor(fake, wfr):
    ok = wfr(fake, "config", "doctor", "-o", "json")
    assert ok.exit_code == 0, ok.stdout
    assert {c["name"] for c in ok.json()} >= {"reachable", "authorised", "api"}
    assert wfr(fake, "config", "doctor", token="bad").exit_code == 4
    ok2 = wfr(fake, "config", "doctor", v2=True)
    assert ok2.exit_code == 0, ok2.stdout
    assert wfr(fake, "config", "doctor", v2=True, token="bad").exit_code == 4


# --------------------------------------------------------------------------- unit level


def _backend(fake, home, cls=wr.WorkflowRunsV1Backend, transport=None):
    from wfctl.backends.base import BackendContext
    from wfctl.config import resolve
    from wfctl.http import HttpClient

    profile = resolve(
        flags={"backend": cls.name, "url": fake.url if fake else "http://api.test"},
        env={"WFCTL_TOKEN": fake.token if fake else "t0k", "WFCTL_CONFIG": str(home / "none.toml")},
    )
    backend = cls(profile, BackendContext())
    if transport is not None:
        backend._http = HttpClient("http://api.test", token="t0k", transport=transport, engine=cls.label, max_retries=0)
    return backend


def _mock(routes):
    def handler(request: httpx.Request) -> httpx.Response:
        body = routes[request.url.path]
        return httpx.Response(200, json=body(request) if callable(body) else body)

    return httpx.MockTransport(handler)


RUN = {
    "id": "11111111-1111-4111-8111-111111111111",
    "workflowId": "22222222-2222-4222-8222-222222222222",
    "workflowName": "w",
    "status": "completed",
    "inputs": [],
    "createdAt": "2026-01-01T00:00:00.000Z",
    "updatedAt": "2026-01-01T00:00:05.000Z",
}


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"runs": [RUN], "pagination": {"total": 1}}},
        {"success": True, "data": {"workflowRuns": [RUN]}, "pagination": {"total": 1}},
        {"items": [RUN], "total": 1},
        {"results": [RUN], "meta": {"total": 1}},
    ],
)
def test_nested_list_envelopes(isolated_env, body):
    backend = _backend(None, isolated_env, transport=_mock({V1: body}))
    page = backend.list_runs(ListQuery(limit=5))
    assert [r.runId for r in page.data] == [RUN["id"]] and page.hasMore is False


def test_success_false_and_unknown_shapes(isolated_env):
    backend = _backend(
        None,
        isolated_env,
        transport=_mock(
            {
                f"{V1}/{RUN['id']}": {"success": False, "message": "engine overloaded"},
                V1: {"weird": 1},
            }
        ),
    )
    with pytest.raises(UnavailableError, match="engine overloaded"):
        backend.get_run(RUN["id"])
    with pytest.raises(UnavailableError, match="shape wfctl does not know"):
        backend.list_runs(ListQuery())


def test_cancel_outcome_shapes(isolated_env):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    answer = {
        "success": True,
        "data": [{"workflowRunId": a, "status": "CANCELED"}, {"id": b, "outcome": "exploded", "message": "??"}],
    }
    backend = _backend(None, isolated_env, transport=_mock({f"{V1}/cancel": answer}))
    outcomes = backend.cancel([a, b, c, a])
    assert [(o.runId, o.outcome) for o in outcomes] == [(a, "cancelled"), (b, "error"), (c, "error"), (a, "cancelled")]
    assert "exploded" in outcomes[1].message and "no outcome" in outcomes[2].message


def test_dashboard_count_shapes():
    assert wr.parse_counts("x", {"success": True, "data": {"counts": {"SCHEDULED": 2, "canceled": 1}, "total": 3}}) == (
        {"pending": 2, "running": 0, "waiting": 0, "completed": 0, "failed": 0, "cancelled": 1},
        3,
    )
    assert wr.parse_counts("x", {"running": 4, "total": 4})[0]["running"] == 4
    with pytest.raises(UnavailableError):
        wr.parse_counts("x", {"nothing": "here"})


def test_helpers():
    assert wr.decode_value('{"a": 1}') == {"a": 1}
    assert wr.decode_value("plain") == "plain"
    assert wr.decode_value('"quoted"') == "quoted"
    assert wr.decode_value("{broken") == "{broken"
    assert wr.decode_value([1]) == [1]
    assert wr.api_origin("https://h/api/v1/workflow-runs/") == "https://h"
    assert wr.api_origin("https://h/svc/api/v2") == "https://h/svc"
    assert wr.parse_cursor(None, 2, 10) == [0, 0]
    assert wr.parse_cursor("3", 1, 10) == [20]
    assert wr.parse_cursor("o:5,7", 2, 10) == [5, 7]
    for bad, streams in (("3", 2), ("o:1", 2), ("zzz", 1), ("0", 1)):
        with pytest.raises(UsageError):
            wr.parse_cursor(bad, streams, 10)
    assert wr.format_cursor([20], 10, True) == "3"
    assert wr.format_cursor([25], 10, True) == "o:25"
    assert wr.v2_id_problem("00000000-0000-0000-0000-000000000000") is None
    assert "whitespace" in wr.v2_id_problem(" 3fa85f64-5717-4562-b3fc-2c963f66afa6")
    run = wr.v1_run({**RUN, "inputs": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]})
    assert run.input == [{"name": "a", "value": 1}, {"name": "a", "value": 2}]  # not a mapping: kept


def test_backend_level_unsupported_and_usage(isolated_env):
    backend = _backend(None, isolated_env, transport=_mock({}))
    with pytest.raises(UnsupportedError):
        list(backend.tail(RUN["id"], TailRequest(offset="1")))
    with pytest.raises(UsageError, match="JSON object"):
        backend.start(StartRequest(workflow=RUN["workflowId"], input=[1]))
    v2 = _backend(None, isolated_env, cls=wr.WorkflowRunsV2Backend, transport=_mock({}))
    with pytest.raises(UsageError, match="not a UUID"):
        v2.get_run("x")
    for op in ("list", "cancel", "wake", "dashboard", "start"):
        assert not v2.supports(op) and "only GET" in v2.unsupported_reasons[op]


def test_stream_endpoint_answering_html(isolated_env):
    def handler(request):
        return httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"})

    backend = _backend(None, isolated_env, transport=httpx.MockTransport(handler))
    with pytest.raises(UnavailableError, match="HTTP 200 and text/html, not an event stream"):
        list(backend.start_follow(StartRequest(workflow=RUN["workflowId"])))


@pytest.mark.parametrize(
    "body,message",
    [
        (
            {"id": "r1", "status": ["running"]},
            "workflow-runs v1 answered run r1 with 'status' as an array where its API has a string",
        ),
        (
            {"id": "r1", "status": "running", "createdAt": {"at": 1}},
            "'createdAt' as an object where its API has a string or a number",
        ),
        (
            {"id": "r1", "status": "running", "activityRuns": [{"id": "a1", "attempt": "2"}]},
            "answered an activity run of run r1 with 'attempt' as a string where its API has a number",
        ),
        (
            {"id": "r1", "status": "running", "activityRuns": {"a1": {}}},
            "'activityRuns' as an object where its API has an array",
        ),
        ({"id": 7, "status": "running"}, "answered a run with 'id' as a number where its API has a string"),
    ],
)
def test_v1_fields_of_another_type_are_exit_5_naming_the_field(body, message):
    with pytest.raises(UnavailableError) as info:
        wr.v1_run(body)
    assert message in info.value.message


def test_v2_fields_of_another_type_are_exit_5_naming_the_field():
    with pytest.raises(UnavailableError) as info:
        wr.v2_run({"id": "r2", "status": "IN_PROGRESS", "currentStateName": {"name": "Review"}})
    assert info.value.message == (
        "workflow-runs v2 answered run r2 with 'currentStateName' as an object where its API has a string"
    )
    assert wr.v2_run({"id": "r2", "status": "COMPLETED", "completedAt": None}).status == "completed"  # null is fine


def test_an_empty_body_is_named_as_such():
    with pytest.raises(UnavailableError) as info:
        wr.unwrap_one("workflow-runs v1", None, wr._looks_like_run)
    assert info.value.message == "workflow-runs v1 answered in a shape wfctl does not know (an empty body)"
