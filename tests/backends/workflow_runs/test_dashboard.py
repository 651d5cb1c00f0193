"""The dashboard on workflow-runs v1 (issue 20 point 3, on every backend that has a dashboard), against the
contract fake: "Latest failures" is its own query, so a failure older than every recent run is still there, with
its message; recent runs are newest ``createdAt`` first; the counts. workflow-runs v2 has no dashboard (exit 6).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from tests.backends.dashboard_doc import assert_recent_all_running, counts

V1 = "/api/v1/workflow-runs"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RUNNING = 12
RECENT = 5
MESSAGE = "upstream answered 503: giving up after 3 attempts"


@pytest.fixture
def wfr(cli):
    def run(fake, *args, v2=False):
        backend = "workflow-runs-v2" if v2 else "workflow-runs-v1"
        return cli("--backend", backend, "--url", fake.url, *args, env={"WFCTL_TOKEN": fake.token})

    return run


@pytest.fixture
def world(make_fake):
    """One failed run (its message in the failed activity run's outputs, as the API keeps it) and one cancelled
    run, both older than ``RUNNING`` running runs, which are added in shuffled order; another workflow's completed
    run. Returns (fake, workflow id, failed id, cancelled id, running ids oldest first)."""
    fake = make_fake(envelope="data")
    wf = fake.add_workflow("nightly-report", steps=["fetch", "summarize"])
    failed = fake.add_run(
        wf,
        status="running",
        created_at=T0,
        activities=[{"stepName": "fetch", "status": "running"}],
        advance_on="manual",
    )
    fake.fail_run(failed, MESSAGE, step="fetch")
    cancelled = fake.add_run(wf, status="cancelled", created_at=T0 + timedelta(minutes=1))
    times = [T0 + timedelta(minutes=10 + n) for n in range(RUNNING)]
    order = list(range(RUNNING))
    random.Random(20).shuffle(order)
    ids: dict[int, str] = {}
    for n in order:
        ids[n] = fake.add_run(wf, status="running", created_at=times[n])
    fake.add_run(fake.add_workflow("other"), status="completed", created_at=T0 - timedelta(hours=1))
    return fake, wf, failed, cancelled, [ids[n] for n in range(RUNNING)]


def test_failures_beyond_the_recent_window_with_their_message(world, wfr):
    fake, wf, failed, cancelled, running = world
    assert fake.status(failed) == "failed"
    res = wfr(fake, "dashboard", "--once", "--recent", str(RECENT), "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    doc = res.json()
    assert_recent_all_running(doc, running, RECENT)
    # failures: the failed run found on its own, with the message of its failed activity run; not the cancelled
    [failure] = doc["failures"]
    assert (failure["runId"], failure["status"], failure["rawStatus"]) == (failed, "failed", "failed")
    assert failure["error"]["message"] == MESSAGE
    assert (failure["workflowId"], failure["workflowName"]) == (wf, "nightly-report")
    assert failure["createdAt"] == "2026-03-01T12:00:00.000Z"
    # the counts, from the list's totals (one request per status)
    assert doc["counts"] == counts(RUNNING, completed=1, failed=1, cancelled=1)
    assert (doc["total"], doc["workflow"], doc["capped"], doc["apart"]) == (RUNNING + 3, None, [], {})


def test_the_same_for_one_workflow(world, wfr):
    """With --workflow the counts come from the dashboard route; recent runs and failures are of that workflow."""
    fake, wf, failed, cancelled, running = world
    for workflow in (wf, "nightly-report"):
        res = wfr(fake, "dashboard", "--once", "--workflow", workflow, "--recent", str(RECENT), "-o", "json")
        assert res.exit_code == 0, res.stderr
        doc = res.json()
        assert [r["runId"] for r in doc["recent"]] == running[::-1][:RECENT]
        assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [(failed, MESSAGE)]
        assert doc["counts"] == counts(RUNNING, failed=1, cancelled=1)
        assert (doc["total"], doc["workflow"]) == (RUNNING + 2, workflow)
    assert fake.requests_for("GET", f"{V1}/dashboard/{wf}")


def test_the_table_shows_the_message(world, wfr):
    fake, wf, failed, cancelled, running = world
    res = wfr(fake, "dashboard", "--once", "--recent", str(RECENT), "-o", "table")
    assert res.exit_code == 0, res.stderr
    failures_part = res.stdout.split("Latest failures", 1)[1]
    assert MESSAGE in failures_part and "(no message)" not in failures_part


def test_several_failures_newest_first_each_with_its_message(make_fake, wfr):
    fake = make_fake(envelope="data")
    wf = fake.add_workflow("nightly-report")
    failed = []
    for n in range(7):
        rid = fake.add_run(
            wf,
            status="running",
            created_at=T0 + timedelta(minutes=n),
            activities=[{"stepName": "fetch", "status": "running"}],
            advance_on="manual",
        )
        fake.fail_run(rid, f"failure number {n}", step="fetch")
        failed.append(rid)
    for n in range(3):
        fake.add_run(wf, status="running", created_at=T0 + timedelta(hours=1, minutes=n))
    res = wfr(fake, "dashboard", "--once", "--recent", "2", "-o", "json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    # the dashboard shows the last five failures, newest first
    assert [(f["runId"], f["error"]["message"]) for f in doc["failures"]] == [
        (failed[n], f"failure number {n}") for n in range(6, 1, -1)
    ]
    assert doc["counts"]["failed"] == 7 and doc["counts"]["running"] == 3 and doc["total"] == 10


def test_v2_has_no_dashboard(make_fake, wfr):
    fake = make_fake(envelope="data")
    res = wfr(fake, "dashboard", "--once", "-o", "json", v2=True)
    assert res.exit_code == 6
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and "no counts for a dashboard" in res.stderr


def test_each_failure_is_read_once_and_one_deleted_meanwhile_is_shown_as_listed(make_fake, wfr):
    fake = make_fake(envelope="data")
    wf = fake.add_workflow("nightly-report")
    kept, gone = (
        fake.add_run(
            wf,
            status="running",
            created_at=T0 + timedelta(minutes=n),
            activities=[{"stepName": "fetch", "status": "running"}],
            advance_on="manual",
        )
        for n in range(2)
    )
    fake.fail_run(kept, "kept failure", step="fetch")
    fake.fail_run(gone, "gone failure", step="fetch")
    fake.inject(404, method="GET", path_prefix=f"{V1}/{gone}")
    res = wfr(fake, "dashboard", "--once", "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert [(f["runId"], f["status"], f["error"]["message"]) for f in res.json()["failures"]] == [
        (gone, "failed", "workflow run failed"),  # the list's word: its activity runs could not be read
        (kept, "failed", "kept failure"),
    ]
    assert len(fake.requests_for("GET", f"{V1}/{kept}")) == 1
    assert len(fake.requests_for("GET", f"{V1}/{gone}")) == 1


def test_a_live_dashboards_refresh_reads_only_new_failures(make_fake, tmp_path):
    """A failed run is final: one backend (a live dashboard's) reads each failure's run once, however often it
    refreshes."""
    from wfctl.backends.base import BackendContext
    from wfctl.backends.workflow_runs import WorkflowRunsV1Backend
    from wfctl.config import resolve

    fake = make_fake(envelope="data")
    wf = fake.add_workflow("nightly-report")

    def fail(n):
        rid = fake.add_run(
            wf,
            status="running",
            created_at=T0 + timedelta(minutes=n),
            activities=[{"stepName": "fetch", "status": "running"}],
            advance_on="manual",
        )
        fake.fail_run(rid, f"failure number {n}", step="fetch")
        return rid

    first = fail(0)
    profile = resolve(
        flags={"backend": WorkflowRunsV1Backend.name, "url": fake.url},
        env={"WFCTL_TOKEN": fake.token, "WFCTL_CONFIG": str(tmp_path / "none.toml")},
    )
    backend = WorkflowRunsV1Backend(profile, BackendContext())
    try:
        assert [(r.runId, r.error.message) for r in backend.recent_failures()] == [(first, "failure number 0")]
        second = fail(1)
        for _ in range(3):
            assert [(r.runId, r.error.message) for r in backend.recent_failures()] == [
                (second, "failure number 1"),
                (first, "failure number 0"),
            ]
    finally:
        backend.close()
    assert len(fake.requests_for("GET", f"{V1}/{first}")) == 1
    assert len(fake.requests_for("GET", f"{V1}/{second}")) == 1
    assert len(fake.requests_for("GET", V1)) == 4  # the list, at each refresh
