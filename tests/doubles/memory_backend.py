"""An in-memory backend used only by tests: every command path (formats,
fields, waits, timeouts, bulk outcomes, exit codes) runs against it before any
real engine is involved. Registered as backend "memory" by conftest.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from wfctl.backends.base import CANCEL, DASHBOARD, GET, LIST, START, STATUS, TAIL, Backend, StartRequest, TailRequest
from wfctl.errors import NotFoundError
from wfctl.model import (
    TERMINAL,
    CancelOutcome,
    Counts,
    Event,
    Hook,
    ListQuery,
    Run,
    RunError,
    RunPage,
    Step,
    StreamInfo,
    Wait,
    WakeResult,
    count_by_status,
)

T0 = datetime(2026, 11, 22, 4, 0, 0, tzinfo=timezone.utc)

#: Engine text at its worst: an OSC title change with BEL, Rich markup, a screen clear, a right-to-left
#: override and a C1 control sequence introducer (CSI).
HOSTILE = "\x1b]0;pwned\x07[red]x[/red] \x1b[2J\u202e\x9b31m"
#: The hostile run's workflow, as the Workflow SDK names it: the function part holds "/" and markup.
HOSTILE_WORKFLOW = "workflow//./workflows/evil//[bold red]alarm[/bold red]/" + HOSTILE


def strings(value: Any) -> list[str]:
    """Every string in a JSON document, keys included (where hostile text could hide)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


class World:
    """Shared state: runs, scripted status progressions, event logs, call log."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.scripts: dict[str, list[str]] = {}
        self.events: dict[str, list[Event]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.cancel_errors: set[str] = set()
        #: The message of an ``error`` outcome, per run (default "engine refused").
        self.error_messages: dict[str, str] = {}
        #: The message a wake reports, per run (default none).
        self.wake_messages: dict[str, str] = {}

    def add(
        self,
        run_id: str,
        status: str = "running",
        *,
        workflow: str = "demo",
        minutes: int = 0,
        script: list[str] | None = None,
        error: str | None = None,
        output: Any = None,
        **kw: Any,
    ) -> Run:
        created = T0 + timedelta(minutes=minutes)
        run = Run(
            runId=run_id,
            backend="memory",
            workflowName=workflow,
            status=status,
            rawStatus=status.upper(),
            createdAt=created,
            startedAt=created,
            updatedAt=created,
            completedAt=created + timedelta(seconds=5) if status in TERMINAL else None,
            error=RunError(message=error) if error else None,
            output=output,
            **kw,
        )
        self.runs[run_id] = run
        if script:
            self.scripts[run_id] = list(script)
        self.events[run_id] = [
            Event(runId=run_id, offset=str(i), index=i, type=t, time=created, data={"n": i})
            for i, t in enumerate(["run_created", "run_started"])
        ]
        return run

    def add_hostile(self, run_id: str = "wrun_hostile", status: str = "failed") -> Run:
        """One run whose every engine-supplied text is :data:`HOSTILE`: names, statuses, error, values,
        steps, sleeps, hooks, streams, attributes, extras, events, a wake's sleeps and message, and a cancel
        outcome's message (the run ids stay plain: the command line refuses such ids)."""
        run = self.add(
            run_id,
            status,
            workflow=HOSTILE_WORKFLOW,
            minutes=5,
            error="boom " + HOSTILE + "\nline 2",
            output={"text": HOSTILE, HOSTILE: [HOSTILE]},
            input=[HOSTILE],
        )
        run.workflowId = HOSTILE_WORKFLOW
        run.rawStatus = "FAILED " + HOSTILE
        assert run.error is not None
        run.error.code = "E" + HOSTILE
        run.error.stack = "Error: boom\n    at " + HOSTILE
        created = run.createdAt
        assert created is not None
        run.steps = [
            Step(
                "step_h1",
                "step//./workflows/evil//[red]s[/red]/" + HOSTILE,
                "failed",
                "failed " + HOSTILE,
                2,
                created,
                created + timedelta(seconds=1),
                {"x": HOSTILE},
                None,
                RunError("step " + HOSTILE, "S" + HOSTILE, "at " + HOSTILE),
            )
        ]
        run.waits = [Wait("wait_" + HOSTILE, created + timedelta(hours=1), "waiting", None)]
        run.hooks = [Hook("hook_" + HOSTILE, "token:" + HOSTILE, created, {"m": HOSTILE})]
        run.streams = [
            StreamInfo("strm_" + HOSTILE, None, 1, 0, False),
            StreamInfo("strm_" + HOSTILE + "_ns", "ns " + HOSTILE, 2, 1, True),
        ]
        run.attributes = {HOSTILE: HOSTILE}
        run.extra = {"engine" + HOSTILE: HOSTILE}
        self.events[run_id] = [
            Event(run_id, "0", 0, "run_started", created, data={"message": HOSTILE}),
            Event(
                run_id,
                "1",
                1,
                "step_failed " + HOSTILE,
                created,
                "step_h1",
                "corr_" + HOSTILE,
                {"error": {"message": HOSTILE}},
                stepName="step//./workflows/evil//[red]s[/red]/" + HOSTILE,
            ),
            Event(
                run_id,
                "2",
                2,
                "wait_created",
                created,
                None,
                "wait_" + HOSTILE,
                {"resumeAt": "2026-11-22T05:05:00.000Z", "note": HOSTILE},
            ),
            Event(run_id, "3", 3, "run_failed", created, data={HOSTILE: HOSTILE}),
        ]
        self.error_messages[run_id] = "refused: " + HOSTILE
        self.wake_messages[run_id] = "woke: " + HOSTILE
        return run

    def advance(self, run_id: str) -> None:
        script = self.scripts.get(run_id)
        if script:
            status = script.pop(0)
            run = self.runs[run_id]
            run.status = status
            events = self.events[run_id]
            events.append(
                Event(
                    runId=run_id,
                    offset=str(len(events)),
                    index=len(events),
                    type=f"run_{status}",
                    time=T0,
                    data={"status": status},
                )
            )
            if status in TERMINAL:
                run.completedAt = T0 + timedelta(minutes=1)


class MemoryBackend(Backend):
    name = "memory"
    label = "Memory"
    # wake is implemented (below) but not declared: a test that wakes declares it (``World.add_hostile``'s
    # users); the others check what an undeclared operation does.
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, TAIL, DASHBOARD, START})
    unsupported_reasons = {"wake": "the memory backend has no sleeps to wake"}

    world: World = World()

    def _run(self, run_id: str) -> Run:
        if run_id not in self.world.runs:
            raise NotFoundError(f"run {run_id} not found")
        return self.world.runs[run_id]

    def get_run(self, run_id: str) -> Run:
        self.world.calls.append(("get", run_id))
        run = self._run(run_id)
        if not run.steps:
            run.steps = [
                Step(
                    stepId="s1",
                    stepName="step//greet",
                    status="completed",
                    attempt=1,
                    startedAt=run.createdAt,
                    completedAt=run.createdAt + timedelta(seconds=1),
                )
            ]
        return run

    def get_status(self, run_id: str) -> Run:
        self.world.calls.append(("status", run_id))
        self._run(run_id)
        self.world.advance(run_id)
        return self._run(run_id)

    def list_runs(self, query: ListQuery) -> RunPage:
        self.world.calls.append(("list", query))
        runs = sorted(self.world.runs.values(), key=lambda r: (r.createdAt, r.runId), reverse=query.sort == "desc")
        if query.statuses:
            wanted = {s.lower() for s in query.statuses}
            runs = [r for r in runs if r.status in wanted or (r.rawStatus or "").lower() in wanted]
        if query.workflow:
            runs = [r for r in runs if r.workflowName == query.workflow]
        start = 0
        if query.cursor:
            ids = [r.runId for r in runs]
            start = ids.index(query.cursor) + 1 if query.cursor in ids else len(ids)
        page = runs[start : start + query.limit]
        more = start + query.limit < len(runs)
        return RunPage(page, page[-1].runId if more and page else None, more)

    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        self.world.calls.append(("cancel", (tuple(run_ids), reason)))
        out = []
        for rid in run_ids:
            run = self.world.runs.get(rid)
            if run is None:
                out.append(CancelOutcome(rid, "not_found", "no such run"))
            elif rid in self.world.cancel_errors:
                out.append(CancelOutcome(rid, "error", self.world.error_messages.get(rid, "engine refused")))
            elif run.status in TERMINAL:
                out.append(CancelOutcome(rid, "already_completed", f"run is {run.status}", run.status))
            else:
                run.status = "cancelled"
                out.append(CancelOutcome(rid, "cancelled", None, "cancelled"))
        return out

    def wake(
        self, run_id: str, correlation_ids: list[str] | None = None, *, dry_run: bool = False, **options: Any
    ) -> WakeResult:
        """Completes the run's waiting sleeps (those named, or all). Only once a test adds ``WAKE`` to
        ``capabilities``."""
        self.world.calls.append(("wake", (run_id, correlation_ids, dry_run)))
        run = self._run(run_id)
        waits = [
            w
            for w in run.waits
            if w.status == "waiting" and (not correlation_ids or w.correlationId in correlation_ids)
        ]
        if not dry_run:
            for w in waits:
                w.status = "completed"
        return WakeResult(
            run_id, len(waits), [w.correlationId or "" for w in waits], True, self.world.wake_messages.get(run_id)
        )

    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        self._run(run_id)
        sent = 0
        after = int(request.offset) if request.offset is not None else -1
        while True:
            events = self.world.events[run_id]
            for event in events[sent:]:
                sent += 1
                if event.index is not None and event.index <= after:
                    continue
                if request.types and event.type not in request.types:
                    continue
                yield event
            if not request.live or self.world.runs[run_id].status in TERMINAL:
                return
            self.world.advance(run_id)

    def counts(self, workflow: str | None = None) -> Counts:
        runs = [r for r in self.world.runs.values() if workflow is None or r.workflowName == workflow]
        return Counts(count_by_status(runs), len(runs), workflow)

    def start(self, request: StartRequest) -> Run:
        self.world.calls.append(("start", request))
        run_id = request.run_id or f"run-{len(self.world.runs) + 1}"
        return self.world.add(
            run_id, "pending", workflow=request.workflow, input=request.input, script=["running", "completed"]
        )

    def wait_for_change(self, run: Run, interval: float) -> None:
        return None  # the scripted world advances on every status call
