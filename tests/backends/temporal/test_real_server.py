"""Smoke test of the Temporal test peer: a real dev server, a worker in this process, every workflow kind,
and the HTTP API's list/count/describe showing them with the right statuses.

These tests never skip under CI=true: a missing `temporal` binary or temporalio fails them.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid

import httpx
import pytest

from tests.doubles.temporal_peer import (
    HTTP_STATUS,
    TemporalDevServer,
    find_temporal_binary,
    require_temporal,
    wait_until,
)

try:
    from temporalio.client import WorkflowFailureError
except ImportError:  # pragma: no cover
    require_temporal()  # raises under CI=true, skips the module elsewhere


def _short(status: str) -> str:
    return {v: k for k, v in HTTP_STATUS.items()}[status]


def _decode_payload(payload: dict) -> object:
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    return json.loads(base64.b64decode(payload["data"]))


def test_every_workflow_kind_shows_in_the_http_api(temporal_peer):  # noqa: F811
    peer = temporal_peer
    prefix = f"smoke-{uuid.uuid4().hex[:8]}-"

    def wid(name: str) -> str:
        return prefix + name

    started = {
        "complete": peer.start_workflow("wfctl-complete", {"name": "ada", "steps": 2}, workflow_id=wid("complete")),
        "fail": peer.start_workflow("wfctl-fail", {"message": "kaboom"}, workflow_id=wid("fail")),
        "sleep": peer.start_workflow("wfctl-sleep", {"seconds": 3600}, workflow_id=wid("sleep")),
        "signal": peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid("signal")),
        "signal-done": peer.start_workflow("wfctl-wait-signal", {}, workflow_id=wid("signal-done")),
        "flaky": peer.start_workflow("wfctl-flaky", {"failures": 2, "interval": 0.1}, workflow_id=wid("flaky")),
        "flaky-forever": peer.start_workflow(
            "wfctl-flaky", {"failures": -1, "interval": 0.2}, workflow_id=wid("flaky-forever")
        ),
        "cancel": peer.start_workflow("wfctl-cancellable", {}, workflow_id=wid("cancel")),
        "cancel-swallow": peer.start_workflow(
            "wfctl-cancellable", {"swallow": True}, workflow_id=wid("cancel-swallow")
        ),
        "terminate": peer.start_workflow("wfctl-sleep", {}, workflow_id=wid("terminate")),
        "timeout": peer.start_workflow("wfctl-sleep", {}, workflow_id=wid("timeout"), execution_timeout=1),
        "continue": peer.start_workflow("wfctl-continue", {"remaining": 2}, workflow_id=wid("continue")),
    }
    assert all(s.run_id for s in started.values())

    # results through the SDK
    assert peer.result(wid("complete")) == {"greeting": "hello ada", "steps": ["hello ada", "hello ada #1"]}
    with pytest.raises(WorkflowFailureError) as failed:
        peer.result(wid("fail"))
    assert "kaboom" in str(failed.value.cause)
    assert peer.result(wid("flaky")) == {"attempts": 3}
    assert peer.result(wid("continue")) == {"done": True}

    peer.wait_status(wid("signal-done"), "Running")
    peer.signal(wid("signal-done"), "approve", "bob")
    assert peer.result(wid("signal-done")) == {"approvedBy": "bob"}
    assert peer.query(wid("signal"), "state") == {"approved": False, "approvedBy": None}

    # a retrying activity: pending with attempts and the last failure
    pending = peer.wait_pending_activity(wid("flaky-forever"), min_attempt=2)
    assert pending.last_failure.message.startswith("attempt ")

    peer.cancel(wid("cancel"))
    peer.cancel(wid("cancel-swallow"))
    peer.terminate(wid("terminate"), reason="smoke test")
    assert peer.wait_status(wid("cancel"), "Canceled") == "Canceled"
    assert peer.wait_status(wid("cancel-swallow"), "Completed") == "Completed"
    assert peer.result(wid("cancel-swallow")) == {"cancelled": True}
    assert peer.wait_status(wid("terminate"), "Terminated") == "Terminated"
    assert peer.wait_status(wid("timeout"), "TimedOut", timeout=30) == "TimedOut"

    expected = {
        wid("complete"): {"Completed"},
        wid("fail"): {"Failed"},
        wid("sleep"): {"Running"},
        wid("signal"): {"Running"},
        wid("signal-done"): {"Completed"},
        wid("flaky"): {"Completed"},
        wid("flaky-forever"): {"Running"},
        wid("cancel"): {"Canceled"},
        wid("cancel-swallow"): {"Completed"},
        wid("terminate"): {"Terminated"},
        wid("timeout"): {"TimedOut"},
        wid("continue"): {"Completed", "ContinuedAsNew"},  # three runs: 2 x ContinuedAsNew, 1 x Completed
    }
    query = f"WorkflowId STARTS_WITH '{prefix}'"

    def listed() -> dict[str, set[str]] | None:
        seen: dict[str, set[str]] = {}
        for execution in peer.list_http(query=query, page_size=5):  # small pages: exercises nextPageToken
            seen.setdefault(execution["execution"]["workflowId"], set()).add(_short(execution["status"]))
        return seen if seen == expected else None

    wait_until(listed, timeout=30, interval=0.2, message="visibility to show every smoke workflow")

    with peer.http() as http:
        ns = f"/api/v1/namespaces/{peer.namespace}"

        # count grouped by status (the dev server supports GROUP BY ExecutionStatus)
        count = http.get(f"{ns}/workflow-count", params={"query": f"{query} GROUP BY ExecutionStatus"}).json()
        groups = {_decode_payload(g["groupValues"][0]): int(g["count"]) for g in count["groups"]}
        assert int(count["count"]) == 14
        assert groups == {
            "Completed": 5,
            "ContinuedAsNew": 2,
            "Running": 3,
            "Failed": 1,
            "Canceled": 1,
            "Terminated": 1,
            "TimedOut": 1,
        }

        # describe: pending activity with attempts and last failure
        desc = http.get(f"{ns}/workflows/{wid('flaky-forever')}").json()
        assert desc["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
        (activity,) = desc["pendingActivities"]
        assert activity["activityType"]["name"] == "wfctl_flaky_step"
        assert activity["attempt"] >= 2
        assert activity["lastFailure"]["applicationFailureInfo"]["type"] == "FlakyError"

        # result of a completed run from its close event (shorthand payloads by default)
        close = http.get(
            f"{ns}/workflows/{wid('complete')}/history",
            params={"historyEventFilterType": "HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT"},
        ).json()["history"]["events"]
        assert close[0]["workflowExecutionCompletedEventAttributes"]["result"] == [
            {"greeting": "hello ada", "steps": ["hello ada", "hello ada #1"]}
        ]

        # an unknown workflow is a 404 with a gRPC-status body
        missing = http.get(f"{ns}/workflows/{prefix}no-such-workflow")
        assert missing.status_code == 404
        assert missing.json()["code"] == 5

    peer.terminate(wid("flaky-forever"), reason="smoke test done")
    peer.terminate(wid("sleep"), reason="smoke test done")
    peer.terminate(wid("signal"), reason="smoke test done")


def test_http_api_can_start_signal_and_cancel(temporal_peer):  # noqa: F811
    """The write routes wfctl uses, driven through the HTTP API only."""
    peer = temporal_peer
    ns = f"/api/v1/namespaces/{peer.namespace}"
    workflow_id = f"http-{uuid.uuid4().hex[:8]}"
    with peer.http() as http:
        started = http.post(
            f"{ns}/workflows/{workflow_id}",
            json={
                "workflowType": {"name": "wfctl-wait-signal"},
                "taskQueue": {"name": peer.worker.task_queue},
                "input": [{}],
                "requestId": str(uuid.uuid4()),
                "identity": "wfctl-test",
            },
        )
        assert started.status_code == 200, started.text
        run_id = started.json()["runId"]
        assert started.json()["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"

        signalled = http.post(
            f"{ns}/workflows/{workflow_id}/signal/approve", json={"input": ["carol"], "identity": "wfctl-test"}
        )
        assert signalled.status_code == 200, signalled.text
        assert peer.result(workflow_id) == {"approvedBy": "carol"}

        sleeper = f"http-sleep-{uuid.uuid4().hex[:8]}"
        assert http.post(
            f"{ns}/workflows/{sleeper}",
            json={"workflowType": {"name": "wfctl-sleep"}, "taskQueue": {"name": peer.worker.task_queue}},
        ).is_success
        cancelled = http.post(
            f"{ns}/workflows/{sleeper}/cancel", json={"reason": "wfctl test", "identity": "wfctl-test"}
        )
        assert cancelled.status_code == 200 and cancelled.json() == {}
        assert peer.wait_status(sleeper, "Canceled") == "Canceled"

        # terminating a closed run is a 404 "workflow execution already completed"
        again = http.post(f"{ns}/workflows/{sleeper}/terminate", json={"reason": "again"})
        assert again.status_code == 404
        assert again.json()["message"] == "workflow execution already completed"

        # describe by run id
        described = http.get(f"{ns}/workflows/{workflow_id}", params={"execution.runId": run_id}).json()
        assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"


def test_server_is_stopped_by_pid():
    require_temporal()
    server = TemporalDevServer().start()
    pid, port = server.pid, server.http_port
    assert pid is not None
    assert server.startup_seconds is not None and server.startup_seconds < 60
    info = httpx.get(f"{server.http_url}/api/v1/system-info", timeout=5).json()
    assert info["serverVersion"]
    server.stop()
    assert server.process is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_missing_binary_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv("WFCTL_TEMPORAL_BIN", str(tmp_path / "no-such-temporal"))
    assert find_temporal_binary() is None
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="CI=true"):
        require_temporal()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_temporal()
