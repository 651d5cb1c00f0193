"""Every view rendered at 60, 80 and 160 columns, colour off, compared in full.

Snapshots live in tests/render/snapshots/ and are reviewed like code. Regenerate with
``UPDATE_SNAPSHOTS=1 pytest tests/render/test_snapshots.py`` and read the diff. A missing snapshot fails;
rewriting is refused under CI=true.
What gives way on a narrow terminal (ids and times never) is in README, "Output".
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.ci_rule import under_ci
from wfctl.model import (
    CancelOutcome,
    Chunk,
    Counts,
    Event,
    Hook,
    Run,
    RunError,
    RunPage,
    Step,
    StreamInfo,
    Wait,
    WaitingFor,
    WakeResult,
    suspension,
)
from wfctl.output import OutputOptions
from wfctl.render import Renderer

SNAP = Path(__file__).parent / "snapshots"
NOW = "2026-11-22T05:00:00.000Z"
T = datetime(2026, 11, 22, 4, 19, 7, 60000, tzinfo=timezone.utc)
HOSTILE = "\x1b]0;pwned\x07[red]x[/red] \x1b[2J"


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def sample_run() -> Run:
    return Run(
        runId="wrun_01M80QNBJQ0H1SETZXYVHZB6ZY",
        backend="workflow-sdk",
        workflowName="workflow//./workflows/demo//demoWorkflow",
        status="running",
        rawStatus="running",
        createdAt=T,
        startedAt=T,
        updatedAt=at(0.2),
        input=["Ada", "1h"],
        steps=[
            Step(
                "step_01A",
                "step//./workflows/demo//greet",
                "completed",
                "completed",
                1,
                at(0.12),
                at(0.15),
                {"args": ["Ada"]},
                {"greeting": "Hello, Ada!"},
            ),
            Step(
                "step_01B",
                "step//./workflows/demo//" + "veryLongStepNameThatGoesOnAndOn" * 3,
                "failed",
                "failed",
                3,
                at(0.2),
                at(1.4),
                None,
                None,
                RunError("boom: bad input\nat line 2", "USER_ERROR"),
            ),
            Step("step_01C", "step//./workflows/demo//写入数据🚀", "running", "running", 1, at(1.5), None),
        ],
        waits=[Wait("wait_01M80QNBNMA2QC4CBMJ35EB8CC", at(3600), "waiting", None)],
        hooks=[Hook("hook_01M80QTRCN1PY71JS211D9KQ5K", "approval:" + HOSTILE, at(0.3))],
        streams=[StreamInfo("strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user", None, 2, 1, False)],
        extra={"deploymentId": "dpl_local@bundled", "specVersion": 3},
    )


def runs() -> list[Run]:
    return [
        sample_run(),
        Run(
            "wrun_01M80YGF4KPBBB5E097H74XFKX",
            "workflow-sdk",
            "workflow//./workflows/extra//failingWorkflow",
            status="failed",
            createdAt=at(-600),
            startedAt=at(-600),
            completedAt=at(-598),
            error=RunError("boom: bad input", "USER_ERROR"),
        ),
        Run(
            "evil-" + "x" * 70,
            "memory",
            HOSTILE + "🚀 名前",
            status="cancelled",
            createdAt=at(-7200),
            completedAt=at(-7100),
        ),
        Run("r-pending", "memory", "plain", status="pending", createdAt=at(-30)),
        sleeping_run(),
        hook_run(),
    ]


def sleeping_run() -> Run:
    """Suspended in sleep() until 53 minutes after NOW: waiting, the SDK's "running" kept as rawStatus."""
    run = Run(
        "wrun_01M80QNBJQ0H1SETZXYVHZB6S1",
        "workflow-sdk",
        "workflow//./workflows/demo//demoWorkflow",
        status="running",
        rawStatus="running",
        createdAt=at(-900),
        startedAt=at(-900),
        waits=[Wait("wait_01M80QNBNMA2QC4CBMJ35EB8S1", at(2460 + 53 * 60), "waiting", None)],
    )
    run.suspend(suspension(run.runId, run.waits, []))
    return run


def hook_run(token: str = "approval:doc1") -> Run:
    """Waiting on a hook raced against a sleep of a day."""
    run = Run(
        "wrun_01M80QNBJQ0H1SETZXYVHZB6H1",
        "workflow-sdk",
        "workflow//./workflows/demo//approvalWorkflow",
        status="running",
        rawStatus="running",
        createdAt=at(-1800),
        startedAt=at(-1800),
        waits=[Wait("wait_01M80QNBNMA2QC4CBMJ35EB8H1", at(86400), "waiting", None)],
        hooks=[Hook("hook_01M80QTRCN1PY71JS211D9KQH1", token, at(-1790))],
    )
    run.suspend(suspension(run.runId, run.waits, run.hooks))
    return run


def input_run() -> Run:
    """workflow-runs v2 waiting for input in a state."""
    return Run(
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "workflow-runs-v2",
        "Expense approval",
        status="waiting",
        rawStatus="AWAITING_USER_INPUT",
        createdAt=at(-3600),
        waitingFor=WaitingFor("input", name="Manager review"),
    )


def cancelled_run() -> Run:
    run = sample_run()
    run.status = run.rawStatus = "cancelled"
    run.completedAt = at(30)
    run.waits = []
    run.error = RunError("cancelled by ops\nsecond line", None, "Error: cancelled\n    at cancel (" + "x" * 150 + ")")
    run.streams = [
        StreamInfo("strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user", None, 2, 1, False),
        StreamInfo("strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user_bG9ncw", "logs", 3, 2, True),
    ]
    return run


def events() -> list[Event]:
    rid = "wrun_01M80QNBJQ0H1SETZXYVHZB6ZY"
    return [
        Event(rid, "evnt_1", 0, "run_started", T),
        Event(rid, "evnt_2", 1, "run_created", T, data={"input": ["Ada", "1h"]}),
        Event(rid, "evnt_3", 2, "step_started", at(0.12), "step_01A", "step_01A", stepName="step//x//greet"),
        Event(
            rid,
            "evnt_4",
            3,
            "step_completed",
            at(0.15),
            "step_01A",
            "step_01A",
            {"result": {"greeting": "Hi"}},
            stepName="step//x//greet",
        ),
        Event(
            rid,
            "evnt_5",
            4,
            "step_failed",
            at(1.4),
            "step_01B",
            "step_01B",
            {"error": {"message": "boom: " + HOSTILE + "\nsecond line"}},
            stepName="step//x//validate",
        ),
        Event(
            rid,
            "evnt_6",
            5,
            "wait_created",
            at(1.5),
            None,
            "wait_01M80QNBNMA2QC4CBMJ35EB8CC",
            {"resumeAt": "2026-11-22T05:19:07.222Z"},
        ),
        Event(rid, "evnt_7", 6, "thinking", at(2), data={"text": "a very long thought " * 20}),
    ]


def yesterday(items: list[Event]) -> list[Event]:
    for item in items:
        item.time = item.time - timedelta(days=1) if item.time else None
    return items


#: Views rendered with other options than the default (``--time relative``, no ``-v``).
OPTIONS = {
    "list-iso": {"time": "iso"},
    "list-local": {"time": "local"},
    "dashboard-iso": {"time": "iso"},
    "tail-iso": {"time": "iso"},
    "tail-local": {"time": "local"},
    "get-cancelled-verbose": {"verbose": True},
    "get-waiting-iso": {"time": "iso"},
    "status-iso": {"time": "iso"},
}

VIEWS = {
    "list": lambda r: r.run_list(RunPage(runs(), "c", True)),
    "list-empty": lambda r: r.run_list(RunPage([], None, False)),
    "list-iso": lambda r: r.run_list(RunPage(runs(), "c", True)),
    "list-local": lambda r: r.run_list(RunPage(runs(), "c", True)),
    "get-cancelled": lambda r: r.run_detail(cancelled_run()),
    "get-cancelled-verbose": lambda r: r.run_detail(cancelled_run()),
    "tail-iso": lambda r: _tail(r, events()),
    "tail-local": lambda r: _tail(r, events()),
    "tail-yesterday": lambda r: _tail(r, yesterday(events())),
    "get": lambda r: r.run_detail(sample_run()),
    "get-waiting": lambda r: r.run_detail(sleeping_run()),
    "get-waiting-iso": lambda r: r.run_detail(sleeping_run()),
    "get-waiting-hook": lambda r: r.run_detail(hook_run("approval:" + HOSTILE)),
    "get-waiting-input": lambda r: r.run_detail(input_run()),
    "get-failed": lambda r: r.run_detail(runs()[1]),
    "get-hostile": lambda r: r.run_detail(runs()[2]),
    "status": lambda r: r.statuses(runs()),
    "status-iso": lambda r: r.statuses(runs()),
    "outcomes": lambda r: r.outcomes(
        [
            CancelOutcome("r1", "cancelled"),
            CancelOutcome("r2", "already_completed", "run is completed"),
            CancelOutcome("r3", "not_found", "no such run " + HOSTILE),
        ]
    ),
    "wake": lambda r: r.wake(WakeResult("wrun_1", 1, ["wait_01"]), dry_run=False),
    "tail": lambda r: _tail(r, events()),
    "tail-stream": lambda r: _tail(r, [Chunk(0, "hello Ada"), Chunk(1, {"n": 1}), Chunk(2, HOSTILE)], True),
    "dashboard": lambda r: r.counts(
        Counts({"pending": 1, "running": 1, "waiting": 2, "completed": 40, "failed": 2, "cancelled": 1}, 47), runs()
    ),
    "dashboard-iso": lambda r: r.counts(
        Counts({"pending": 1, "running": 1, "waiting": 2, "completed": 40, "failed": 2, "cancelled": 1}, 47), runs()
    ),
    "dashboard-empty": lambda r: r.counts(
        Counts({"pending": 0, "running": 0, "waiting": 0, "completed": 0, "failed": 0, "cancelled": 0}, 0), []
    ),
}


def _tail(renderer: Renderer, items, stream: bool = False) -> None:
    printer = renderer.tail_printer("wrun_01M80QNBJQ0H1SETZXYVHZB6ZY", stream=stream)
    for item in items:
        printer.item(item)
    printer.end("running")


@pytest.mark.parametrize("width", [60, 80, 160])
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_snapshot(view, width, capsys, monkeypatch):
    monkeypatch.setenv("WFCTL_NOW", NOW)
    options = {"time": "relative", **OPTIONS.get(view, {})}
    renderer = Renderer(OutputOptions(format="table", color=False, tty=False, width=width, **options))
    VIEWS[view](renderer)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    if not (view.startswith("tail") or view.endswith("verbose")):
        # Tables fit the terminal; a tail line or a -v line that is wider is printed whole (the terminal wraps).
        assert all(cell_len(line) <= width for line in out.splitlines()), "a line is wider than the terminal"
    path = SNAP / f"{view}-{width}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        # Rewriting is explicit, and never under CI: a snapshot must come from a person who read the diff.
        assert not under_ci(), "UPDATE_SNAPSHOTS is refused under CI=true"
        path.write_text(out)
    assert path.exists(), f"no snapshot {path.name}: write it with UPDATE_SNAPSHOTS=1 and read the diff"
    assert out == path.read_text()
