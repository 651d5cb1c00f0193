"""The dashboard on the Workflow SDK Vercel world (issue 20 point 3, on every backend that has a dashboard), against
the contract fake (held to the official ``@workflow/world-vercel`` client in test_vercel_official_client.py):
"Latest failures" is its own query (``GET /v2/runs?status=failed``), so failures older than every recent run are
there, with their messages; recent runs are newest ``createdAt`` first; the counts page through the run list.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from tests.backends.dashboard_doc import assert_recent_all_running, counts
from tests.doubles.vercel_world import DEMO_WORKFLOW, FakeVercelWorld
from wfctl.backends.workflow_sdk import vercel as vercel_mod

TOKEN = "tok-vercel-dashboard-5678"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RUNNING = 12
RECENT = 5
OTHER = "workflow//./workflows/other//otherWorkflow"
#: A 5.0 run's error: the FatalError serialized with devalue, as the 5.0 runtime writes it.
FATAL_5 = (
    b'devl[["FatalError",1],{"name":2,"message":3,"stack":4},"FatalError","quota exceeded for team payments",'
    b'"FatalError: quota exceeded for team payments\\n    at charge"]'
)


@pytest.fixture
def fake():
    with FakeVercelWorld(token=TOKEN, project="prj_1", team="team_1") as world:
        yield world


@pytest.fixture
def run_cli(cli, fake, tmp_path):
    env = {
        "WFCTL_WORLD": "vercel",
        "WFCTL_URL": fake.url,
        "WORKFLOW_VERCEL_AUTH_TOKEN": TOKEN,
        "WORKFLOW_VERCEL_PROJECT": "prj_1",
        "WORKFLOW_VERCEL_TEAM": "team_1",
    }

    def run(*args: str):
        return cli(*args, env=env, cwd=tmp_path)

    return run


@pytest.fixture
def world(fake):
    """A 4.x failed run, a 5.0 failed run and a cancelled run, all older than ``RUNNING`` running runs added in
    shuffled order; another workflow's completed run, older still. Returns (4.x failed, 5.0 failed, cancelled,
    running ids oldest first)."""
    failed = fake.add_run(
        status="failed", error="card declined: expired", error_code="USER_ERROR", created=T0, input=["Ada"]
    )
    failed_5 = fake.add_run(
        status="failed",
        error=FATAL_5,
        error_code="USER_ERROR",
        spec_version=7,
        core_version="5.0.0-beta.55",
        created=T0 + timedelta(seconds=30),
    )
    cancelled = fake.add_run(status="cancelled", created=T0 + timedelta(minutes=1))
    order = list(range(RUNNING))
    random.Random(20).shuffle(order)
    ids = {n: fake.add_run(status="running", created=T0 + timedelta(minutes=10 + n)) for n in order}
    fake.add_run(status="completed", workflow=OTHER, output=1, created=T0 - timedelta(hours=1))
    return failed, failed_5, cancelled, [ids[n] for n in range(RUNNING)]


def test_failures_beyond_the_recent_window_with_their_messages(fake, run_cli, world, monkeypatch):
    failed, failed_5, cancelled, running = world
    monkeypatch.setattr(vercel_mod, "PAGE_MAX", 4)  # the counts and the lists cross pages
    res = run_cli("dashboard", "--once", "--recent", str(RECENT), "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    doc = res.json()
    assert_recent_all_running(doc, running, RECENT)
    # failures: both, newest first, each with its message and code (4.x structured error, 5.0 serialized one)
    assert [(f["runId"], f["status"], f["rawStatus"]) for f in doc["failures"]] == [
        (failed_5, "failed", "failed"),
        (failed, "failed", "failed"),
    ]
    assert doc["failures"][0]["error"] == {
        "message": "quota exceeded for team payments",
        "code": "USER_ERROR",
        "stack": "FatalError: quota exceeded for team payments\n    at charge",
    }
    assert doc["failures"][1]["error"] == {
        "message": "card declined: expired",
        "code": "USER_ERROR",
        "stack": "Error: boom",
    }
    assert {f["workflowName"] for f in doc["failures"]} == {"demoWorkflow"}
    assert doc["failures"][1]["createdAt"] == "2026-03-01T12:00:00.000Z"
    # the counts
    assert doc["counts"] == counts(RUNNING, completed=1, failed=2, cancelled=1)
    assert (doc["total"], doc["workflow"], doc["capped"], doc["apart"]) == (RUNNING + 4, None, [], {})
    # the failures are a query of their own: the run list asked for failed runs only
    asked = [c.query for c in fake.calls("GET", r"^/v2/runs$")]
    assert any(q.get("status") == ["failed"] for q in asked)


def test_the_same_for_one_workflow(fake, run_cli, world):
    failed, failed_5, cancelled, running = world
    for workflow in ("demoWorkflow", DEMO_WORKFLOW):
        res = run_cli("dashboard", "--once", "--workflow", workflow, "--recent", str(RECENT), "-o", "json")
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert [r["runId"] for r in doc["recent"]] == running[::-1][:RECENT]
        assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [
            (failed_5, "quota exceeded for team payments"),
            (failed, "card declined: expired"),
        ]
        assert doc["counts"] == counts(RUNNING, failed=2, cancelled=1)
        assert (doc["total"], doc["workflow"]) == (RUNNING + 3, workflow)
    other = run_cli("dashboard", "--once", "--workflow", "otherWorkflow", "-o", "json").json()
    assert (other["total"], other["failures"], [r["status"] for r in other["recent"]]) == (1, [], ["completed"])


def test_the_table_shows_the_messages(run_cli, world):
    res = run_cli("dashboard", "--once", "--recent", str(RECENT), "-o", "table")
    assert res.exit_code == 0, res.stderr
    failures_part = res.stdout.split("Latest failures", 1)[1]
    assert "card declined: expired" in failures_part and "quota exceeded for team payments" in failures_part
    assert "(no message)" not in failures_part
