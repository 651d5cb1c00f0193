"""Workflow SDK records → the run model (:mod:`wfctl.model`), the same shapes in every world (world-local's
JSON files, the Postgres world's rows once read as such, the Vercel API's answers), and what ``list``, ``tail``
and ``wake`` decide the same way in every world.

* Names: :func:`workflow_short_name` / :func:`step_short_name` — ``workflow//./workflows/demo//demoWorkflow`` →
  ``demoWorkflow`` (the SDK's ``parseWorkflowName``, shortened only at its ``//`` separator).
* Records: :func:`run_from_record`, :func:`step_from_record`, :func:`event_from_record`, :func:`run_error`,
  :func:`record_time`.
* Decisions: :func:`parse_statuses`, :func:`search_hit`, :func:`event_filter`, :func:`first_shown`,
  :func:`plan_wake`.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import datetime
from typing import Any, Iterable

from ...errors import NotFoundError, UsageError
from ...model import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    STATUSES,
    UNKNOWN,
    Event,
    Run,
    RunError,
    Step,
    WakeResult,
    iso,
    parse_time,
)
from .ids import ulid_time_ms
from .values import as_bytes, decode_event_data, decode_payload

__all__ = [
    "SDK_STATUSES",
    "TERMINAL_EVENTS",
    "event_filter",
    "event_from_record",
    "event_resume_at",
    "first_shown",
    "learn_step_name",
    "parse_machine_name",
    "parse_statuses",
    "plan_wake",
    "record_time",
    "run_error",
    "run_from_record",
    "search_hit",
    "step_from_record",
    "step_short_name",
    "workflow_short_name",
]

# -- names ---------------------------------------------------------------------------------------------


def parse_machine_name(kind: str, name: Any) -> dict[str, str] | None:
    """``{kind}//{module}//{function}`` → ``{shortName, moduleSpecifier, functionName}`` (None if not one)."""
    if not isinstance(name, str):
        return None
    parts = name.split("//")
    if len(parts) < 3 or parts[0] != kind or not parts[1]:
        return None
    module, function = parts[1], "//".join(parts[2:])
    # Shortened only at the SDK's own separator "//": a nested function keeps its "outer/inner" path (the SDK's
    # parseWorkflowName would show "inner"), so a name holding "/" is never cut into fragments.
    short = parts[-1]
    if module.startswith("./"):
        module_short = module.split("/")[-1]
    else:
        without_version = "@".join(module.split("@")[:-1]) or module.split("@")[0]
        module_short = without_version.split("/")[-1]
    if short in ("default", "__default") and module_short:
        short = module_short
    return {"shortName": short, "moduleSpecifier": module, "functionName": function}


def workflow_short_name(name: Any) -> Any:
    """``workflow//./workflows/demo//demoWorkflow`` → ``demoWorkflow``; other values unchanged."""
    parsed = parse_machine_name("workflow", name)
    return parsed["shortName"] if parsed else name


def step_short_name(name: Any) -> Any:
    """``step//./workflows/demo//greet`` → ``greet``; other values unchanged."""
    parsed = parse_machine_name("step", name)
    return parsed["shortName"] if parsed else name


# -- SDK records → the run model (the same shapes in every world) ----------------------------------------

SDK_STATUSES = frozenset({PENDING, RUNNING, COMPLETED, FAILED, CANCELLED})
TERMINAL_EVENTS = frozenset({"run_completed", "run_failed", "run_cancelled"})


def record_time(value: Any, fallback_id: str | None = None) -> datetime | None:
    """A record's timestamp; when it is missing, the time in ``fallback_id`` (a ULID-based id)."""
    parsed = parse_time(value)
    if parsed is None and fallback_id:
        ms = ulid_time_ms(fallback_id)
        if ms is not None:
            parsed = parse_time(ms)  # None past year 9999 (a ULID's 48-bit time reaches 10889)
    return parsed


def _json_object(value: Any) -> Any:
    """A string holding a JSON object (a legacy error) → that object; anything else unchanged."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict):
            return parsed
    return value


def run_error(value: Any, code: Any = None, *, json_text: bool = False) -> RunError | None:
    """A run's or step's ``error`` (``{message, stack?, code?}``, a string, or a serialized value).

    ``code`` (a record's ``errorCode``) is the code when the error has none of its own; an error that is only
    a code is kept. With ``json_text``, a string holding a JSON object (a legacy error) is read as that object.
    """
    code = code if isinstance(code, str) else None
    if value is None:
        return RunError(code=code) if code else None
    if not isinstance(value, (dict, str)) or as_bytes(value) is not None:  # a serialized (5.0) error
        value = decode_payload(value)
    if json_text:
        value = _json_object(value)
    if isinstance(value, str):
        return RunError(message=value, code=code)
    if isinstance(value, dict):
        message = value.get("message")
        return RunError(
            message=message if isinstance(message, str) or message is None else json.dumps(message),
            code=value.get("code") if isinstance(value.get("code"), str) else code,
            stack=value.get("stack") if isinstance(value.get("stack"), str) else None,
        )
    return RunError(message=str(value), code=code)


def _record_error(raw: dict[str, Any], legacy_errors: bool) -> RunError | None:
    """A record's error: ``{message, stack, code}`` (4.x), or a serialized Error with ``errorCode`` beside it
    (5.0); with ``legacy_errors`` also JSON text (the Vercel API)."""
    return run_error(raw.get("error"), raw.get("errorCode"), json_text=legacy_errors)


def run_from_record(raw: dict[str, Any], backend: str, *, legacy_errors: bool = False) -> Run:
    """A ``WorkflowRun`` record (world-local's run file, the Vercel API's JSON) → :class:`Run`, without steps.

    ``workflowName`` is the short name and ``workflowId`` the SDK's machine name; ``extra`` holds
    ``deploymentId``, ``specVersion``, ``workflowCoreVersion``, ``replayedFromRunId`` (the run a 5.0 re-run was
    made from, where there is one) and the rest of ``executionContext``.
    With ``legacy_errors`` (the Vercel API's records), ``error`` may be JSON text and ``errorCode`` is read.
    """
    run_id = raw["runId"]
    raw_status = raw.get("status")
    machine = raw.get("workflowName")
    context = raw.get("executionContext")
    if not isinstance(context, dict):
        context = {}
    extra: dict[str, Any] = {
        "deploymentId": raw.get("deploymentId"),
        "specVersion": raw.get("specVersion"),
        "workflowCoreVersion": context.get("workflowCoreVersion"),
    }
    if isinstance(context.get("replayedFromRunId"), str):
        extra["replayedFromRunId"] = context["replayedFromRunId"]
    if isinstance(context.get("features"), dict):
        extra["features"] = context["features"]
    shown = ("traceCarrier", "workflowCoreVersion", "features", "replayedFromRunId")
    rest = {k: v for k, v in context.items() if k not in shown}
    if rest:
        extra["executionContext"] = decode_event_data(rest)
    if raw.get("expiredAt"):
        extra["expiredAt"] = iso(parse_time(raw["expiredAt"]))
    attributes = raw.get("attributes")
    return Run(
        runId=run_id,
        backend=backend,
        workflowName=workflow_short_name(machine),
        workflowId=machine,
        status=raw_status if raw_status in SDK_STATUSES else UNKNOWN,
        rawStatus=raw_status,
        createdAt=record_time(raw.get("createdAt"), run_id),
        startedAt=record_time(raw.get("startedAt")),
        completedAt=record_time(raw.get("completedAt")),
        updatedAt=record_time(raw.get("updatedAt")),
        input=decode_payload(raw.get("input")),
        output=decode_payload(raw.get("output")),
        error=_record_error(raw, legacy_errors),
        attributes=decode_event_data(attributes) if isinstance(attributes, dict) else None,
        extra=extra,
    )


def step_from_record(raw: dict[str, Any], *, legacy_errors: bool = False) -> Step:
    """A ``Step`` record → :class:`Step`. Its ``error`` is kept for failed steps and steps waiting to retry;
    a completed step's record still holds an earlier failed attempt's error, which is not shown."""
    raw_status = raw.get("status")
    return Step(
        stepId=raw.get("stepId"),
        stepName=step_short_name(raw.get("stepName")),
        status=raw_status if raw_status in SDK_STATUSES else UNKNOWN,
        rawStatus=raw_status,
        attempt=raw.get("attempt") if isinstance(raw.get("attempt"), int) else None,
        startedAt=record_time(raw.get("startedAt")),
        completedAt=record_time(raw.get("completedAt")),
        input=decode_payload(raw.get("input")),
        output=decode_payload(raw.get("output")),
        error=_record_error(raw, legacy_errors) if raw_status in (FAILED, PENDING, RUNNING) else None,
    )


def learn_step_name(raw: dict[str, Any], step_names: dict[str, str]) -> None:
    """Remember the step name a ``step_*`` event carries (only step_created/completed carry it; the step's
    other events are named from ``step_names``)."""
    corr, event_data = raw.get("correlationId"), raw.get("eventData")
    if (
        str(raw.get("eventType")).startswith("step_")
        and isinstance(corr, str)
        and corr
        and isinstance(event_data, dict)
        and isinstance(event_data.get("stepName"), str)
    ):
        step_names.setdefault(corr, step_short_name(event_data["stepName"]))


def event_from_record(raw: dict[str, Any], run_id: str, index: int, step_names: dict[str, str]) -> Event:
    """An ``Event`` record (``eventType``, ``eventId``, ``correlationId``, ``createdAt``, ``eventData``) →
    :class:`Event`; its step name is learnt into and read from ``step_names`` (:func:`learn_step_name`)."""
    learn_step_name(raw, step_names)
    event_type = raw["eventType"]
    corr = raw.get("correlationId") if isinstance(raw.get("correlationId"), str) else None
    is_step = event_type.startswith("step_")
    event_id = str(raw.get("eventId") or "")
    return Event(
        runId=run_id,
        offset=event_id or None,
        index=index,
        type=event_type,
        time=record_time(raw.get("createdAt"), event_id),
        stepId=corr if is_step else None,
        correlationId=corr,
        data=decode_event_data(raw["eventData"]) if "eventData" in raw else None,
        stepName=step_names.get(corr) if is_step and corr else None,
    )


def event_resume_at(event: dict[str, Any]) -> str | None:
    """A ``wait_created`` event's ``resumeAt`` as RFC 3339 (None when it has none)."""
    data = event.get("eventData")
    return iso(parse_time(data.get("resumeAt"))) if isinstance(data, dict) else None


# -- what list, tail and wake decide the same way in every world ------------------------------------------


def parse_statuses(words: list[str]) -> list[str] | None:
    """``list --status`` words → lower-case statuses in the order given, without repeats (None: no filter).
    Raises :class:`UsageError` for a word that is neither an SDK status nor a wfctl one."""
    if not words:
        return None
    out: list[str] = []
    for word in words:
        lowered = word.strip().lower()
        if lowered not in SDK_STATUSES and lowered not in STATUSES:
            raise UsageError(f"unknown status {word!r}", hint="use one of: " + ", ".join(STATUSES))
        if lowered not in out:
            out.append(lowered)
    return out


def search_hit(raw: dict[str, Any], needle: str, *, json_text: bool = False) -> bool:
    """``list --search``: ``needle`` (lower case) in the run id, workflow, status, deployment id, error message
    or error code of a run record (a 5.0 error is a serialized payload: decoded only when the cheap fields
    do not match). With ``json_text``, an error stored as JSON text is searched by its message."""
    hay = [raw.get("runId"), raw.get("workflowName"), raw.get("status"), raw.get("deploymentId"), raw.get("errorCode")]
    if any(isinstance(h, str) and needle in h.lower() for h in hay):
        return True
    error = raw.get("error")
    if error is None:
        return False
    found = run_error(error, json_text=json_text)
    return found is not None and any(isinstance(h, str) and needle in h.lower() for h in (found.message, found.code))


def event_filter(types: Iterable[str]) -> Any:
    """``tail --type`` patterns (globs) → a predicate on event types (every type when there are none)."""
    patterns = [t.strip() for t in types if t and t.strip()]

    def wanted(event_type: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)

    return wanted


def first_shown(events: list[dict[str, Any]], offset: str | None, last: int | None, wanted: Any) -> set[int]:
    """Which of a run's events (in log order) ``tail`` prints before following: those after ``offset`` (an
    event id; one not in the log resumes after the ids that sort before it, ids being ULIDs) whose type is
    ``wanted``, only the last ``last`` of them when given."""
    start = 0
    if offset:
        ids = [str(e.get("eventId", "")) for e in events]
        if offset in ids:
            start = ids.index(offset) + 1
        else:
            start = next((i for i, e in enumerate(ids) if e > offset), len(events))
    batch = [i for i, e in enumerate(events) if i >= start and wanted(e["eventType"])]
    if last is not None:
        batch = batch[-last:] if last > 0 else []
    return set(batch)


def plan_wake(
    run_id: str, events: Iterable[dict[str, Any]], correlation_ids: list[str] | None, dry_run: bool
) -> tuple[dict[str, dict[str, Any]], list[str], WakeResult | None]:
    """``Run.wakeUp()``'s choice from a run's events: its sleeps (``wait_created``) not yet completed, only
    ``correlation_ids`` when given (an unknown one raises :class:`NotFoundError`).

    Returns (the ``wait_created`` events by correlation id, the pending ids, the result to return at once
    for a dry run or when nothing is pending, else None).
    """
    events = list(events)
    created = {
        e["correlationId"]: e
        for e in events
        if e.get("eventType") == "wait_created" and isinstance(e.get("correlationId"), str)
    }
    completed = {e.get("correlationId") for e in events if e.get("eventType") == "wait_completed"}
    pending = [corr for corr in created if corr not in completed]
    if correlation_ids:
        unknown = [c for c in correlation_ids if c not in created]
        if unknown:
            raise NotFoundError(
                f"run {run_id} has no sleep with correlation id {', '.join(unknown)}",
                hint=f"see its sleeps with 'wfctl get {run_id}'",
            )
        wanted_ids = set(correlation_ids)
        pending = [c for c in pending if c in wanted_ids]
    if dry_run:
        when = ", ".join(f"{c} (resumes at {event_resume_at(created[c])})" for c in pending)
        return (
            created,
            pending,
            WakeResult(
                run_id,
                len(pending),
                pending,
                None,
                f"dry run: would stop {len(pending)} sleep(s)" + (f": {when}" if when else ""),
            ),
        )
    if not pending:
        return created, pending, WakeResult(run_id, 0, [], None, "no pending sleep to wake")
    return created, pending, None
