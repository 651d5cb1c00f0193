"""The Workflow SDK version gate on the local world, one fast test per spec version (1–7 and an unknown 99).

Each data directory is generated in the layout the world of that line writes: ULID event ids up to spec 5
(world-local 4.x), slot-numbered ids, the hook index and run terminal markers from spec 6 (world-local 5.0),
compressed payloads from spec 5. wfctl must read every one of them (a newer one with one warning), write only
into the versions it was proven against (3, 6, 7), and refuse the others before touching anything (exit 6).
The real-app proof of the writes is in test_local_world_live.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from wfctl.errors import ExitCode

RUN = "wrun_01M80QNBJQ0H1SETZXYVHZB6ZY"
HOOK = "hook_01M80QTRCN1PY71JS211D9KQ5K"
WAIT = "wait_01M80QNBNMA2QC4CBMJ35EB8CC"
WF = "workflow//./workflows/demo//demoWorkflow"
T0 = "2026-11-22T04:19:07.060Z"
WRITES = (3, 6, 7)
SPECS = (1, 2, 3, 4, 5, 6, 7, 99)


def u8(data: bytes) -> dict[str, str]:
    return {"__type": "Uint8Array", "data": base64.b64encode(data).decode()}


def payload(spec: int, devl: bytes, plain: Any) -> Any:
    if spec == 1:
        return plain  # legacy runs stored plain JSON
    if spec >= 5:
        return u8(b"gzip" + gzip.compress(devl))
    return u8(devl)


def event_id(spec: int, n: int) -> str:
    return f"evnt_{n:026d}" if spec >= 6 else f"evnt_01M80QNBJQ{n:016d}"


def generate(root: Path, spec: int, run_id: str = RUN) -> Path:
    """One running run of ``spec``, suspended in a sleep and holding a hook, as its world writes it."""

    def write(rel: str, data: Any) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data)

    v5 = spec >= 6
    run: dict[str, Any] = {
        "runId": run_id,
        "deploymentId": "dpl_local@bundled",
        "workflowName": WF,
        "executionContext": {"traceCarrier": {}, "workflowCoreVersion": "5.0.0-beta.55" if v5 else "4.8.9"},
        "input": payload(spec, b'devl[[1,2],"Ada","1h"]', ["Ada", "1h"]),
        "createdAt": T0,
        "status": "running",
        "startedAt": T0,
        "updatedAt": T0,
    }
    if spec > 1:
        run["specVersion"] = spec
    if spec >= 4:
        run["attributes"] = {"team": "payments"}
    write(f"runs/{run_id}.json", run)
    events = [
        ("run_created", None, {"deploymentId": "dpl_local@bundled", "workflowName": WF}),
        ("run_started", None, None),
        ("hook_created", HOOK, {"token": "approval:doc1"}),
        ("wait_created", WAIT, {"resumeAt": "2026-11-22T05:19:07.222Z"}),
    ]
    if spec >= 4:  # run attributes are set through the log
        events.append(
            ("attr_set", None, {"changes": [{"key": "team", "value": "payments"}], "writer": {"type": "workflow"}})
        )
    if spec >= 7:  # a sealed log fills a position whose writer died with a noop
        events.append(("noop", None, None))
    for n, (kind, corr, data) in enumerate(events, start=1):
        event: dict[str, Any] = {"eventType": kind, "specVersion": spec}
        if corr:
            event["correlationId"] = corr
        if data is not None:
            event["eventData"] = data
        event.update(runId=run_id, eventId=event_id(spec, n), createdAt=T0)
        write(f"events/{run_id}-{event['eventId']}.json", event)
    write(
        f"waits/{run_id}-{WAIT}.json",
        {
            "waitId": f"{run_id}-{WAIT}",
            "runId": run_id,
            "status": "waiting",
            "resumeAt": "2026-11-22T05:19:07.222Z",
            "createdAt": T0,
            "updatedAt": T0,
            "specVersion": spec,
        },
    )
    write(
        f"hooks/{HOOK}.json",
        {"runId": run_id, "hookId": HOOK, "token": "approval:doc1", "createdAt": T0, "specVersion": spec},
    )
    digest = hashlib.sha256(b"approval:doc1").hexdigest()
    write(
        f"hooks/tokens/{digest}.json",
        {"token": "approval:doc1", "hookId": HOOK, "runId": run_id, "eventId": event_id(spec, 3)},
    )
    if v5:
        write("hooks/.hook-index-complete", "")
        write(f"hooks/by-run/{run_id}-{HOOK}.json", {"hookId": HOOK})
        write(f"hooks/token-index/{digest}/{event_id(spec, 3)}.json", {"runId": run_id})
    return root


def event_count(spec: int) -> int:
    return 4 + (spec >= 4) + (spec >= 7)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def app_url():
    """The app's flow endpoint for wake, answering {"ok": true}."""
    from tests.backends.workflow_sdk.test_local import FakeApp

    with FakeApp() as app:
        yield app


@pytest.mark.parametrize("spec", SPECS)
def test_reads_every_spec_version(cli, tmp_path, spec):
    root = generate(tmp_path / ".workflow-data", spec)
    result = cli("get", RUN, "-o", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    got = result.json()
    assert got["input"] == ["Ada", "1h"]  # gzip-compressed from spec 5 on
    assert got["attributes"] == ({"team": "payments"} if spec >= 4 else None)
    assert got["extra"]["specVersion"] == (spec if spec > 1 else None)
    warnings = [line for line in result.stderr.splitlines() if "specVersion" in line]
    assert warnings == (
        [
            "warning: run wrun_01M80QNBJQ0H1SETZXYVHZB6ZY has specVersion 99, newer than this wfctl "
            "reads (up to 7): showing what it can; upgrade wfctl"
        ]
        if spec == 99
        else []
    )
    tail = cli("tail", RUN, "-o", "jsonl", cwd=tmp_path)
    events = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [e.get("type") for e in events[:-1]] == ["run_created", "run_started", "hook_created", "wait_created"] + [
        "attr_set"
    ] * (spec >= 4) + ["noop"] * (spec >= 7)
    # slot ids are positions: no 1970 times made up from them
    assert all(e["time"] == T0 for e in events[:-1])
    assert (root / "runs" / f"{RUN}.json").exists()


@pytest.mark.parametrize("spec", SPECS)
def test_cancel_is_gated_by_spec_version(cli, tmp_path, spec):
    root = generate(tmp_path / ".workflow-data", spec)
    before = snapshot(root)
    result = cli("cancel", RUN, "-o", "json", cwd=tmp_path)
    if spec not in WRITES:
        assert result.exit_code == ExitCode.UNSUPPORTED
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("error: ") and f"specVersion {spec}" in lines[0]
        assert "spec versions 3, 6 and 7 only" in lines[0]
        assert lines[1].startswith("hint: upgrade wfctl, or use the app's own 'npx workflow cancel'")
        assert len(lines) == 2 and result.stdout == ""
        assert snapshot(root) == before  # refused before anything was touched
        return
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["outcome"] == "cancelled"
    after = snapshot(root)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    digest = hashlib.sha256(b"approval:doc1").hexdigest()
    assert f"waits/{RUN}-{WAIT}.json" in removed and f"hooks/{HOOK}.json" in removed
    assert f"hooks/tokens/{digest}.json" in removed
    [event_file] = [a for a in added if a.startswith("events/")]
    event = json.loads(after[event_file])
    if spec >= 6:  # 5.0: next log position, terminal marker, hook index entry gone, the reason recorded
        assert event_file == f"events/{RUN}-{event_id(spec, event_count(spec) + 1)}.json"
        assert f".locks/runs/{RUN}.terminal" in added
        assert f"hooks/by-run/{RUN}-{HOOK}.json" in removed
        assert list(event) == ["eventType", "specVersion", "eventData", "runId", "eventId", "createdAt"]
        assert event["eventData"] == {"cancelReason": "Cancelled via wfctl"}
        record = json.loads(after[f"runs/{RUN}.json"])
        assert record["attributes"] == {"team": "payments"} and record["status"] == "cancelled"
    else:  # 4.x: a ULID event id, no 5.0 bookkeeping
        assert event["eventId"] > event_id(spec, event_count(spec)) and not event["eventId"].startswith("evnt_000")
        assert not any(a.startswith(".locks/") for a in added)
        assert list(event) == ["eventType", "specVersion", "runId", "eventId", "createdAt"]
    assert event["specVersion"] == spec


@pytest.mark.parametrize("spec", SPECS)
def test_wake_is_gated_by_spec_version(cli, tmp_path, spec, app_url):
    root = generate(tmp_path / ".workflow-data", spec)
    before = snapshot(root)
    result = cli("wake", RUN, "-o", "json", cwd=tmp_path, env={"WFCTL_APP_URL": app_url.url})
    if spec not in WRITES:
        assert result.exit_code == ExitCode.UNSUPPORTED
        assert result.stderr.startswith(f"error: run {RUN} has specVersion {spec}")
        assert "wfctl wakes Workflow SDK local-world runs of spec versions 3, 6 and 7 only" in result.stderr
        assert "\nhint: " in result.stderr
        assert snapshot(root) == before and app_url.requests == []
        return
    assert result.exit_code == 0, result.stderr
    assert result.json()["stoppedCount"] == 1 and len(app_url.requests) == 1
    added = sorted(set(snapshot(root)) - set(before))
    expected_event = f"events/{RUN}-{event_id(spec, event_count(spec) + 1)}.json" if spec >= 6 else None
    events = [a for a in added if a.startswith("events/")]
    assert len(events) == 1 and (expected_event is None or events == [expected_event])
    assert f".locks/waits/{RUN}-{WAIT}.completed" in added


def test_bulk_cancel_reports_refused_runs_and_never_exits_0(cli, tmp_path):
    root = tmp_path / ".workflow-data"
    ids = {spec: f"wrun_01M80QNBJQ0H1SETZXYVHZB{spec:03d}"[:30] for spec in (3, 7, 99)}
    for spec, run_id in ids.items():
        generate(root, spec, run_id)
    result = cli("cancel", "--status", "running", "-y", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    outcomes = {o["runId"]: o for o in result.json()}
    assert outcomes[ids[3]]["outcome"] == outcomes[ids[7]]["outcome"] == "cancelled"
    refused = outcomes[ids[99]]
    assert refused["outcome"] == "refused" and "specVersion 99" in refused["message"]
    assert set(refused) == {"runId", "outcome", "message", "status"}
    assert "hint: upgrade wfctl" in result.stderr
    assert json.loads((root / "runs" / f"{ids[99]}.json").read_text())["status"] == "running"

    only_refused = cli("cancel", ids[99], ids[99], "-o", "json", cwd=tmp_path)
    assert only_refused.exit_code == ExitCode.UNSUPPORTED
    assert [o["outcome"] for o in only_refused.json()] == ["refused", "refused"]


def test_doctor_reports_spec_versions(cli, tmp_path):
    root = tmp_path / ".workflow-data"
    generate(root, 7, "wrun_01M80QNBJQ0H1SETZXYVHZB007")
    generate(root, 99, "wrun_01M80QNBJQ0H1SETZXYVHZB099")
    result = cli("config", "doctor", "-o", "json", cwd=tmp_path)
    checks = {c["name"]: c for c in result.json()}
    assert "world-local 5.0" in checks["data layout"]["detail"]
    assert checks["spec versions"]["ok"] is False
    assert "7 ×1 (read+write)" in checks["spec versions"]["detail"]
    assert "99 ×1 (newer: partly read)" in checks["spec versions"]["detail"]
    assert result.exit_code == 5, result.stderr  # a version newer than wfctl reads: a failed check
