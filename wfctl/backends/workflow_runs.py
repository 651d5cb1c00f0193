"""The workflow-runs REST backends: v1 (``/api/v1/workflow-runs``) and v2 (``/api/v2/workflow-runs/{id}``).

How wfctl reads these APIs: docs/architecture.md, "workflow-runs v1 / v2". The profile's ``url`` is the API's
origin (a trailing ``/api``, ``/api/v1`` or ``/api/v1/workflow-runs`` is accepted and stripped); the token is
sent as ``Authorization: Bearer``.

**Envelopes.** The v1 documentation lists fields but not the JSON around them, so every
response is unwrapped leniently: a bare array or object, or an object carrying the payload
under ``data``, ``workflowRuns`` / ``workflowRun``, ``runs`` / ``run``, ``results`` or
``counts`` (nested up to three levels), with or without ``success`` and ``pagination``. A
200 answer with ``"success": false`` is reported as an engine failure.

**v1 decisions** (where the API documentation is silent):

* ``waiting`` (v1) and ``AWAITING_USER_INPUT`` (v2) are waiting for user input: ``Run.waitingFor`` is
  ``{"kind": "input"}`` with ``name`` the activity run that waits (v1, when the answer lists activity runs:
  ``get``, ``status``) or the current state (v2); no ``until`` and no hint (the input is given in the
  product, not through this API).
* ``get``: activity runs become steps (``startedAt`` = ``createdAt``, ``completedAt`` =
  ``updatedAt`` once terminal, ``outputs`` decoded whether it is a JSON-encoded string or a
  JSON value). ``inputs`` (``[{"name", "value"}]``) becomes an object ``{name: value}``;
  any other shape is kept as is. The run has no documented output: ``Run.output`` is the
  run's own ``output``/``outputs``/``result`` when the server sends one, else the output of
  the last completed activity run of a completed run. ``Run.error`` is the failed
  activity's error. Undocumented run fields land in ``extra``.
* ``list``: one request per server page. ``--status`` takes normalized or v1 words; several
  statuses (and a workflow name matching several workflow ids) become several server queries
  merged newest-first, so no page of unrelated runs is scanned. ``--workflow`` is used as
  ``workflowId`` when it is a UUID; otherwise it is a workflow *name*: wfctl finds the
  matching workflow ids with the ``search`` parameter (exact, case-insensitive name match)
  and lists by id. ``--since``/``--until`` filter on ``createdAt`` client-side, stopping as
  soon as the newest-first order passes ``--since``. ``--limit`` above 100 (the server's
  maximum) is fetched as several pages transparently. ``--sort asc`` reads pages from the
  end (using ``pagination.total`` when the server sends it). ``--query`` is not supported.
* Cursor: the page number (``"3"``) for a plain listing, so ``--cursor N`` means page N of
  ``--limit``; a listing that merges queries or filters client-side uses
  ``"o:<offset>[,<offset>...]"`` (positions in each server query). Both are opaque to the
  commands; ``hasMore`` is exact (from ``pagination.total``, or by looking at the next page).
* ``cancel``: one ``POST /cancel`` for all ids; outcomes come back in the order asked, an id
  the server did not answer for gets ``error``. ``--reason`` longer than 500 characters is a
  usage error before anything is sent. ``POST /cancel`` is retried on 429/502/503/504 and
  connection errors (cancelling twice is harmless; a retried request may report
  ``already_completed`` for a run the first attempt cancelled). ``--terminate`` is not
  supported. :meth:`WorkflowRunsV1Backend.cancel_workflow` sends ``{"workflowId"}`` in one
  request (the fast path for ``cancel --workflow``).
* ``dashboard``: ``GET /dashboard/:workflowId`` with ``--workflow`` (a name is resolved to its
  id); without ``--workflow`` the counts of all runs come from six ``limit=1`` list requests
  reading ``pagination.total`` (a server without totals gets a usage error asking for
  ``--workflow``).
* ``start``: ``POST /execute`` (multipart/form-data) blocks until the run finishes, so it is
  sent with a long read timeout (:attr:`WorkflowRunsV1Backend.execute_timeout`, 24 h) and is
  never retried (a retry would start a second run). The workflow must be a UUID, or a name
  that runs in the list carry. ``--input`` must be a JSON object; ``--id`` and
  ``--task-queue`` are not supported.
* ``start --follow``: ``POST /execute/stream`` (SSE). The first ``workflow-run`` event gives
  the run id (yielded as a :class:`Run`); then events ``run_*`` (workflow-run
  changes), ``step_*`` (activity-run changes; the step is named from the event or,
  when the event carries only the status, from a best-effort ``GET /:runId``), ``thinking``
  (data: the text), ``result`` (data: status and output) and ``error``. ``ping`` events are
  ignored, but no bytes for :attr:`WorkflowRunsV1Backend.stream_idle_timeout` seconds (30;
  pings come every 9) means a dead connection: the follow ends with exit 5 and a hint to
  continue with ``wfctl tail RUN --live`` (the execute stream cannot be resumed).
* ``rerun``: ``GET /:runId``, then ``POST /execute`` of the run's ``workflowId`` with its recorded ``inputs``
  (``[{"name", "value"}]`` handed back as the object ``/execute`` takes, values untouched). Like ``start`` it
  blocks until each new run finishes and is never retried; several runs are re-run one after the other. A run
  whose answer carries no ``inputs`` (absent or null), inputs in another shape (names repeated, items without
  ``name``, a scalar) or no ``workflowId`` is ``refused``: starting it with other input would not be a re-run.
  The API records no ``envs`` for a run, so the new run gets none (a warning says so once). The API has no
  place to say where a run came from. A 404 of ``/execute`` (the workflow is gone) is ``not_found``; another
  failure of one run is that run's ``error``; a refused token (401/403) or an engine that does not answer
  stops the command while nothing has started, and is the run's ``error`` once some run has (so the runs
  already started are still reported).
* ``tail``: there is no event log, so events are status changes. Without ``--live`` the
  current state (one event per activity run and one for the run); with ``--live`` the same,
  then ``GET /:runId`` every ``--interval`` seconds, printing each status change of an
  activity run or of the run once, until the run is terminal. Events have an ``index`` but
  no ``offset`` (``--offset`` and ``--stream`` are not supported: there is nothing to
  resume from). ``--last`` applies to the initial state, ``--type`` to every event.

**Answers that lie.** A field wfctl maps that comes with another JSON type than the API documents (a list
for ``status``, an object for ``createdAt``, ...) exits 5 naming the answer and the field, as does anything
else in an answer wfctl cannot read; bodies that do not match their headers are refused by :mod:`wfctl.http`.
``tail --live`` and ``status --wait`` poll with ordinary requests, each bounded by the profile's ``timeout``
with its retries: a restart shorter than that is ridden out, a longer outage or a silent server exits 5.

**Event types** follow the Workflow SDK's words: a run or step entering pending (v1
``scheduled``, v2 ``PENDING``) is ``run_created`` / ``step_created``, running is ``*_started``
(``*_resumed`` after waiting), then ``*_waiting``, ``*_completed``, ``*_failed``,
``*_cancelled``; ``data.status`` keeps the engine's word. A status wfctl does not know
becomes ``run_<word>``.

**v2** has one endpoint, so only ``get``, ``status`` (``--wait`` by polling) and ``tail`` (by
polling: ``run_*`` on a status change, ``state_entered`` when ``currentStateName``
changes to a new state, each printed once) work; the rest exits 6 with the reason. Ids are
checked against the documented pattern (UUID versions 1–8 with the RFC variant, or the nil
UUID) before anything is sent, and a bad id is a usage error that says what is wrong.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import quote

from ..errors import AuthError, NotFoundError, UnavailableError, UnsupportedError, UsageError, WfctlError
from ..model import (
    COMPLETED,
    FAILED,
    STATUSES,
    TERMINAL,
    UNKNOWN,
    WAITING,
    CancelOutcome,
    Check,
    Counts,
    Event,
    ListQuery,
    RerunOutcome,
    Run,
    RunError,
    RunPage,
    Step,
    WaitingFor,
    parse_time,
)
from ._http import HttpBackend, reads_answers
from .base import (
    CANCEL,
    DASHBOARD,
    GET,
    LIST,
    RERUN,
    RESUME,
    START,
    STATUS,
    TAIL,
    WAKE,
    BackendContext,
    StartRequest,
    TailRequest,
)

if TYPE_CHECKING:
    from ..config import Profile

V1_BASE = "/api/v1/workflow-runs"
V2_BASE = "/api/v2/workflow-runs"
#: The backends' names (their keys in the registry, ``wfctl.backends``).
V1_NAME = "workflow-runs-v1"
V2_NAME = "workflow-runs-v2"
REASON_MAX = 500
SERVER_MAX_LIMIT = 100

V1_STATUS = {
    "scheduled": "pending",
    "running": "running",
    "waiting": "waiting",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
V1_RAW = {
    "pending": "scheduled",
    "running": "running",
    "waiting": "waiting",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
V2_STATUS = {
    "PENDING": "pending",
    "IN_PROGRESS": "running",
    "AWAITING_USER_INPUT": "waiting",
    "COMPLETED": "completed",
    "COMPLETED_WITH_NO_ACTION_TAKEN": "completed",
    "FAILED": "failed",
}

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: The documented v2 id pattern: UUID versions 1-8 with the RFC variant, or the nil UUID.
V2_ID_RE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"|00000000-0000-0000-0000-000000000000)$",
    re.IGNORECASE,
)

AUTH_HINT = (
    "check the token: WFCTL_TOKEN, the profile's token_env or token (a Bearer JWT; 401 means "
    "missing, invalid or expired, 403 means it may not access workflow runs)"
)

_API_SUFFIX = re.compile(r"(?:/api(?:/v[12](?:/workflow-runs)?)?)/*$")


# ----------------------------------------------------------------------------- helpers


def is_uuid(value: str | None) -> bool:
    return bool(value) and bool(UUID_RE.match(value.strip()))  # type: ignore[union-attr]


def v2_id_problem(run_id: str) -> str | None:
    """What is wrong with a v2 run id, or None when it matches the documented pattern."""
    if V2_ID_RE.match(run_id):
        return None
    text = run_id.strip()
    if text != run_id:
        return "has leading or trailing whitespace"
    if re.fullmatch(r"[0-9a-fA-F]{32}", text):
        return "lacks the dashes of the 8-4-4-4-12 form"
    if re.fullmatch(r"\{[0-9a-fA-F-]{36}\}", text):
        return "is wrapped in braces"
    if not UUID_RE.match(text):
        return "is not a UUID (expected 8-4-4-4-12 hexadecimal digits, e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6)"
    version, variant = text[14], text[19]
    if version not in "12345678":
        return f"has version digit {version!r} (the 15th character); only UUID versions 1-8 are accepted"
    return f"has variant digit {variant!r} (the 20th character); only the RFC variant (8, 9, a or b) is accepted"


def api_origin(url: str | None) -> str | None:
    """The profile URL without a trailing API path (``/api``, ``/api/v1``, ``/api/v1/workflow-runs``)."""
    if not url:
        return url
    return _API_SUFFIX.sub("", url.rstrip("/")) or url


def decode_value(value: Any) -> Any:
    """``outputs`` may be a JSON-encoded string or a JSON value: give the JSON value."""
    if isinstance(value, str):
        text = value.strip()
        if (
            text[:1] in ("{", "[", '"')
            or text in ("true", "false", "null")
            or re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", text)
        ):
            try:
                return json.loads(text)
            except ValueError:
                return value
    return value


def _error_message(value: Any) -> str | None:
    """A failure message from a decoded output or error field."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        for key in ("error", "message", "reason", "detail"):
            inner = value.get(key)
            if isinstance(inner, str) and inner:
                return inner
            if isinstance(inner, dict):
                found = _error_message(inner)
                if found:
                    return found
        return None
    return None


def _check_success(engine: str, body: dict[str, Any]) -> None:
    if body.get("success") is False:
        message = body.get("message") or body.get("error") or "the request failed"
        if isinstance(message, dict):
            message = message.get("message") or json.dumps(message)
        raise UnavailableError(f"{engine}: {message}")


def _shape(body: Any) -> str:
    if body is None:
        return "an empty body"
    if isinstance(body, dict):
        return "an object with keys " + ", ".join(sorted(map(str, body))[:8])
    return f"a JSON {type(body).__name__}"


LIST_KEYS = ("data", "workflowRuns", "runs", "results", "items")
ONE_KEYS = ("data", "workflowRun", "run", "result", "results")


def _pagination(body: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("pagination", "meta", "pageInfo"):
        value = body.get(key)
        if isinstance(value, dict):
            return value
    if any(k in body for k in ("total", "totalPages", "totalCount")):
        return body
    return None


def unwrap_list(engine: str, body: Any) -> tuple[list[Any], dict[str, Any] | None]:
    """Items and pagination from a list answer in any of the accepted envelopes."""
    pagination: dict[str, Any] | None = None
    current = body
    for _ in range(4):
        if isinstance(current, list):
            return current, pagination
        if not isinstance(current, dict):
            break
        _check_success(engine, current)
        pagination = pagination or _pagination(current)
        for key in LIST_KEYS:
            if isinstance(current.get(key), (list, dict)):
                current = current[key]
                break
        else:
            break
    raise UnavailableError(f"{engine} answered a list in a shape wfctl does not know ({_shape(body)})")


def unwrap_one(engine: str, body: Any, looks_like: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The single object of an answer in any of the accepted envelopes."""
    current = body
    for _ in range(4):
        if not isinstance(current, dict):
            break
        _check_success(engine, current)
        if looks_like(current):
            return current
        for key in ONE_KEYS:
            if isinstance(current.get(key), dict):
                current = current[key]
                break
        else:
            break
    raise UnavailableError(f"{engine} answered in a shape wfctl does not know ({_shape(body)})")


def _looks_like_run(d: dict[str, Any]) -> bool:
    return ("id" in d or "runId" in d or "workflowRunId" in d) and "status" in d


def _total(pagination: dict[str, Any] | None) -> int | None:
    if not pagination:
        return None
    for key in ("total", "totalCount", "totalItems", "count"):
        value = pagination.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _time_key(d: dict[str, Any]) -> datetime:
    return parse_time(d.get("createdAt")) or datetime.min.replace(tzinfo=timezone.utc)


def _run_id_of(d: dict[str, Any]) -> str:
    return str(d.get("id") or d.get("runId") or d.get("workflowRunId") or "")


# ----------------------------------------------------------------------------- v1 mapping


def v1_status(raw: Any) -> str:
    if not isinstance(raw, str):
        return UNKNOWN
    word = raw.strip().lower()
    if word == "canceled":
        word = "cancelled"
    return V1_STATUS.get(word, UNKNOWN)


def v2_status(raw: Any) -> str:
    if not isinstance(raw, str):
        return UNKNOWN
    return V2_STATUS.get(raw.strip().upper(), UNKNOWN)


def _inputs(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        names = [i["name"] for i in value]
        if len(set(map(str, names))) == len(names):
            return {str(i["name"]): i.get("value") for i in value}
    if isinstance(value, list) and not value:
        return {}
    return value


def _activities(d: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("activityRuns", "activities", "activity_runs", "steps"):
        value = d.get(key)
        if isinstance(value, list):
            # Oldest first; the sort is stable, so the server's order breaks ties.
            return sorted((a for a in value if isinstance(a, dict)), key=_time_key)
    return []


def v1_step(a: dict[str, Any]) -> Step:
    raw = a.get("status")
    status = v1_status(raw)
    output = decode_value(a.get("outputs", a.get("output")))
    error = None
    if status == FAILED:
        error = RunError(message=_error_message(a.get("error")) or _error_message(output) or "activity failed")
    attempt = a.get("attempt")
    return Step(
        stepId=a.get("stepId") or a.get("id"),
        stepName=a.get("stepName") or a.get("name"),
        status=status,
        rawStatus=raw,
        attempt=attempt if isinstance(attempt, int) else None,
        startedAt=parse_time(a.get("createdAt") or a.get("startedAt")),
        completedAt=(parse_time(a.get("completedAt") or a.get("updatedAt")) if status in TERMINAL else None),
        input=decode_value(a.get("inputs")) if a.get("inputs") is not None else None,
        output=output,
        error=error,
    )


_TIME = (str, int, float)
#: The fields wfctl maps and the JSON types the APIs document for them (absent or null is always fine).
V1_RUN_FIELDS = {
    "id": str,
    "runId": str,
    "workflowRunId": str,
    "status": str,
    "workflowId": str,
    "workflowName": str,
    "workflow": dict,
    "createdAt": _TIME,
    "updatedAt": _TIME,
    "completedAt": _TIME,
    "startedAt": _TIME,
    "activityRuns": list,
    "activities": list,
    "activity_runs": list,
    "steps": list,
}
V1_STEP_FIELDS = {
    "id": str,
    "stepId": str,
    "stepName": str,
    "name": str,
    "status": str,
    "attempt": int,
    "createdAt": _TIME,
    "updatedAt": _TIME,
    "completedAt": _TIME,
    "startedAt": _TIME,
}
V2_RUN_FIELDS = {
    "id": str,
    "runId": str,
    "workflowRunId": str,
    "workflowId": str,
    "workflowName": str,
    "status": str,
    "currentStateName": str,
    "jobRunId": str,
    "createdByUserId": str,
    "createdAt": _TIME,
    "updatedAt": _TIME,
    "completedAt": _TIME,
}


def _checked(engine: str, d: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from ..http import check_fields

    rid = d.get("id") or d.get("runId") if isinstance(d, dict) else None
    return check_fields(engine, f"run {rid}" if isinstance(rid, str) else "a run", d, spec)


V1_RUN_KEYS = {
    "id",
    "runId",
    "workflowId",
    "workflowName",
    "workflow",
    "status",
    "inputs",
    "createdAt",
    "updatedAt",
    "completedAt",
    "startedAt",
    "activityRuns",
    "activities",
    "activity_runs",
    "steps",
    "output",
    "outputs",
    "result",
    "error",
}


def v1_run(d: dict[str, Any], backend: str = V1_NAME) -> Run:
    engine = "workflow-runs v1"
    _checked(engine, d, V1_RUN_FIELDS)
    for key in ("activityRuns", "activities", "activity_runs", "steps"):
        for a in d.get(key) or []:
            if isinstance(a, dict):
                from ..http import check_fields

                check_fields(engine, f"an activity run of run {_run_id_of(d)}", a, V1_STEP_FIELDS)
    raw = d.get("status")
    status = v1_status(raw)
    acts = _activities(d)
    steps = [v1_step(a) for a in acts]
    workflow = d.get("workflow")
    if not isinstance(workflow, dict):
        workflow = {}
    output: Any = None
    for key in ("output", "outputs", "result"):
        if d.get(key) is not None:
            output = decode_value(d[key])
            break
    else:
        if status == COMPLETED:
            done = [s for s in steps if s.status == COMPLETED]
            output = done[-1].output if done else None
    error = None
    if status == FAILED:
        message = _error_message(decode_value(d.get("error")))
        if message is None:
            failed = [s for s in steps if s.status == FAILED]
            message = failed[-1].error.message if failed and failed[-1].error else None
        error = RunError(message=message or "workflow run failed")
    elif d.get("error"):
        error = RunError(message=_error_message(decode_value(d.get("error"))))
    updated = parse_time(d.get("updatedAt"))
    started = parse_time(d.get("startedAt")) or (min((s.startedAt for s in steps if s.startedAt), default=None))
    waiting = None
    if status == WAITING:  # waiting for user input, in the activity run that waits (when the answer lists them)
        asking = [s for s in steps if s.status == WAITING]
        waiting = WaitingFor("input", name=asking[-1].stepName if asking else None)
    return Run(
        runId=_run_id_of(d),
        backend=backend,
        workflowName=d.get("workflowName") or workflow.get("name"),
        workflowId=d.get("workflowId") or workflow.get("id"),
        status=status,
        rawStatus=raw,
        waitingFor=waiting,
        createdAt=parse_time(d.get("createdAt")),
        startedAt=started,
        completedAt=(parse_time(d.get("completedAt")) or updated) if status in TERMINAL else None,
        updatedAt=updated,
        input=_inputs(d.get("inputs")),
        output=output,
        error=error,
        steps=steps,
        extra={k: v for k, v in d.items() if k not in V1_RUN_KEYS},
    )


V2_RUN_KEYS = {"id", "workflowId", "workflowName", "status", "completedAt", "createdAt", "updatedAt"}


def v2_run(d: dict[str, Any]) -> Run:
    _checked("workflow-runs v2", d, V2_RUN_FIELDS)
    raw = d.get("status")
    status = v2_status(raw)
    extra = {
        "currentStateName": d.get("currentStateName"),
        "jobRunId": d.get("jobRunId"),
        "createdByUserId": d.get("createdByUserId"),
    }
    extra.update({k: v for k, v in d.items() if k not in V2_RUN_KEYS and k not in extra})
    updated = parse_time(d.get("updatedAt"))
    state = d.get("currentStateName")
    return Run(
        runId=_run_id_of(d),
        backend=V2_NAME,
        workflowName=d.get("workflowName"),
        workflowId=d.get("workflowId"),
        status=status,
        rawStatus=raw,
        # AWAITING_USER_INPUT: input, in the current state
        waitingFor=WaitingFor("input", name=state if isinstance(state, str) else None) if status == WAITING else None,
        createdAt=parse_time(d.get("createdAt")),
        completedAt=parse_time(d.get("completedAt")) or (updated if status in TERMINAL else None),
        updatedAt=updated,
        extra=extra,
    )


def _outcome(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    word = re.sub(r"[\s-]+", "_", value.strip().lower())
    word = {
        "canceled": "cancelled",
        "not_eligible_for_cancellation": "not_eligible",
        "ineligible": "not_eligible",
        "notfound": "not_found",
        "already_cancelled": "already_completed",
        "already_finished": "already_completed",
        "already_terminal": "already_completed",
    }.get(word, word)
    return word if word in ("cancelled", "already_completed", "not_eligible", "not_found", "error") else None


def parse_outcomes(engine: str, body: Any) -> list[CancelOutcome]:
    current = body
    for _ in range(4):
        if isinstance(current, dict):
            _check_success(engine, current)
            if isinstance(current.get("results"), list):
                current = current["results"]
                break
            for key in ("data", "outcomes", "items"):
                if isinstance(current.get(key), (list, dict)):
                    current = current[key]
                    break
            else:
                break
        else:
            break
    if not isinstance(current, list):
        raise UnavailableError(f"{engine} answered the cancel request in a shape wfctl does not know ({_shape(body)})")
    out = []
    for item in current:
        if not isinstance(item, dict):
            continue
        rid = str(item.get("runId") or item.get("workflowRunId") or item.get("id") or "")
        raw = item.get("outcome", item.get("status", item.get("result")))
        message = item.get("message") or item.get("reason") or item.get("error")
        message = message if isinstance(message, str) else (json.dumps(message) if message else None)
        outcome = _outcome(raw)
        if outcome is None:
            outcome, message = "error", f"unknown outcome {raw!r}" + (f": {message}" if message else "")
        out.append(CancelOutcome(rid, outcome, message, "cancelled" if outcome == "cancelled" else None))
    return out


def parse_counts(engine: str, body: Any) -> tuple[dict[str, int], int | None]:
    """Counts by normalized status (all six present) and the server's total if any."""
    known = set(V1_STATUS) | set(STATUSES) | {"canceled"}
    raw: dict[str, Any] | None = None
    total: Any = None
    current = body
    for _ in range(4):
        if not isinstance(current, dict):
            break
        _check_success(engine, current)
        if isinstance(current.get("counts"), dict):
            raw, total = current["counts"], current.get("total")
            break
        if {k.strip().lower() for k in current if isinstance(k, str)} & known:
            raw, total = current, current.get("total")
            break
        if not isinstance(current.get("data"), dict):
            break
        current = current["data"]
    if raw is None:
        raise UnavailableError(f"{engine} answered the dashboard in a shape wfctl does not know ({_shape(body)})")
    counts = {s: 0 for s in STATUSES}
    for key, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or not isinstance(key, str):
            continue
        word = key.strip().lower()
        word = "cancelled" if word == "canceled" else word
        status = V1_STATUS.get(word) or (word if word in STATUSES else None)
        if status:
            counts[status] += value
    return counts, total if isinstance(total, int) and not isinstance(total, bool) else None


# ----------------------------------------------------------------------------- events

_RUN_RANK_FIRST, _STEP_RANK, _RUN_RANK_LAST = 0, 1, 2
_PROGRESS = {"scheduled": 0, "running": 1, "waiting": 1, "completed": 2, "failed": 2, "cancelled": 2}


#: Event names follow the Workflow SDK's vocabulary (run_created, step_started, ...).
_EVENT_WORD = {
    "pending": "created",
    "running": "started",
    "waiting": "waiting",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _event_type(prefix: str, status: str | None, raw: Any, previous: str | None = None) -> str:
    """``run_started``, ``step_completed``...; ``*_resumed`` when running again after waiting."""
    if status == "running" and previous == "waiting":
        return f"{prefix}_resumed"
    if status in _EVENT_WORD:
        return f"{prefix}_{_EVENT_WORD[status]}"
    word = re.sub(r"[^a-z0-9]+", "_", str(raw or "unknown").lower()).strip("_") or "unknown"
    return f"{prefix}_{word}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Emitter:
    """Numbers events, applies ``--type``, and remembers what was printed per entity."""

    def __init__(self, run_id: str, types: list[str]):
        self.run_id = run_id
        self.types = set(types)
        self.index = 0
        self.last: dict[str, Any] = {}
        self.previous: dict[str, Any] = {}

    def changed(self, key: str, value: Any) -> bool:
        if key in self.last and self.last[key] == value:
            return False
        self.previous[key] = self.last.get(key)
        self.last[key] = value
        return True

    def wanted(self, event: Event) -> bool:
        return not self.types or event.type in self.types

    def number(self, event: Event) -> Event:
        event.index = self.index
        self.index += 1
        return event


def _v1_state_events(run_id: str, body: dict[str, Any], emitter: _Emitter) -> list[Event]:
    """Events for every entity whose status differs from what the emitter printed last."""
    run = v1_run(body)
    acts = _activities(body)
    first: list[Event] = []
    steps: list[tuple[datetime, int, Event]] = []
    last: list[Event] = []
    for position, (a, step) in enumerate(zip(acts, run.steps, strict=False)):
        key = "activity:" + str(a.get("id") or f"{step.stepId}#{step.attempt}#{position}")
        if not emitter.changed(key, step.rawStatus):
            continue
        data: dict[str, Any] = {"status": step.rawStatus, "attempt": step.attempt}
        if step.error is not None:
            data["error"] = step.error.message
        if step.output is not None:
            data["output"] = step.output
        data["activityRunId"] = a.get("id")
        when = parse_time(a.get("updatedAt")) or step.startedAt
        kind = _event_type("step", step.status, step.rawStatus, v1_status(emitter.previous.get(key)))
        event = Event(runId=run_id, type=kind, time=when, stepId=step.stepId, data=data, stepName=step.stepName)
        steps.append((when or _now(), position, event))
    if emitter.changed("run", run.rawStatus):
        data = {"status": run.rawStatus}
        if run.error is not None:
            data["error"] = run.error.message
        if run.terminal and run.output is not None:
            data["output"] = run.output
        if run.status == "pending":
            when = run.createdAt
        elif run.status == "running" and run.steps and emitter.previous.get("run") in (None, "scheduled"):
            when = run.startedAt  # when its first activity run began
        else:
            when = run.updatedAt
        kind = _event_type("run", run.status, run.rawStatus, v1_status(emitter.previous.get("run")))
        event = Event(runId=run_id, type=kind, time=when, data=data)
        (last if run.terminal else first).append(event)
    steps.sort(key=lambda t: (t[0], t[1]))
    return first + [e for _, _, e in steps] + last


def _v2_state_events(run_id: str, body: dict[str, Any], emitter: _Emitter) -> list[Event]:
    run = v2_run(body)
    out = []
    state = run.extra.get("currentStateName")
    if emitter.changed("status", run.rawStatus):
        data = {"status": run.rawStatus, "currentStateName": state}
        kind = _event_type("run", run.status, run.rawStatus, v2_status(emitter.previous.get("status")))
        out.append(Event(runId=run_id, type=kind, time=run.updatedAt, data=data))
    if emitter.changed("state", state) and state is not None:
        out.append(
            Event(
                runId=run_id,
                type="state_entered",
                time=run.updatedAt,
                stepName=str(state),
                data={"currentStateName": state, "status": run.rawStatus},
            )
        )
    return out


# ----------------------------------------------------------------------------- list paging


class _Reader:
    """Items of one server query by position, newest first (or oldest first), page by page."""

    def __init__(self, backend: "WorkflowRunsV1Backend", params: dict[str, Any], page_size: int, asc: bool):
        self.backend = backend
        self.params = params
        self.size = page_size
        self.asc = asc
        self.known_total: int | None = None

    def page(self, number: int) -> list[dict[str, Any]]:
        key = (tuple(sorted(self.params.items())), self.size, number)
        cache = self.backend._pages
        if key not in cache:
            items, pagination = self.backend._list_request({**self.params, "page": number, "limit": self.size})
            total = _total(pagination)
            cache[key] = ([i for i in items if isinstance(i, dict)], total)
        items, total = cache[key]
        if total is not None:
            self.known_total = total
        return items

    def total(self) -> int:
        if self.known_total is None:
            self.page(1)
        if self.known_total is None:  # no totals: walk to the first short page
            number = 1
            while len(self.page(number)) >= self.size:
                number += 1
            self.known_total = (number - 1) * self.size + len(self.page(number))
        return self.known_total

    def item(self, position: int) -> dict[str, Any] | None:
        if self.asc:
            index = self.total() - 1 - position
            if index < 0:
                return None
        else:
            index = position
            if self.known_total is not None and index >= self.known_total:
                return None
        items = self.page(index // self.size + 1)
        offset = index % self.size
        return items[offset] if offset < len(items) else None


def parse_cursor(cursor: str | None, streams: int, limit: int) -> list[int]:
    if cursor is None or cursor == "":
        return [0] * streams
    text = cursor.strip()
    if text.isdigit():
        page = int(text)
        if page < 1:
            raise UsageError(f"invalid cursor {cursor!r}: pages start at 1")
        if streams != 1:
            raise UsageError(
                f"cursor {cursor!r} does not belong to this listing",
                hint="use the cursor printed by the same command (same --status/--workflow/--limit)",
            )
        return [(page - 1) * limit]
    if text.startswith("o:"):
        parts = text[2:].split(",")
        if len(parts) == streams and all(p.isdigit() for p in parts):
            return [int(p) for p in parts]
        raise UsageError(
            f"cursor {cursor!r} does not belong to this listing",
            hint="use the cursor printed by the same command (same --status/--workflow/--since)",
        )
    raise UsageError(f"invalid cursor {cursor!r}", hint="use the cursor printed by the previous page")


def format_cursor(positions: list[int], limit: int, exact_pages: bool) -> str:
    if exact_pages and len(positions) == 1 and positions[0] % limit == 0:
        return str(positions[0] // limit + 1)
    return "o:" + ",".join(str(p) for p in positions)


# ----------------------------------------------------------------------------- backends


class _WorkflowRunsBackend(HttpBackend):
    base_path = V1_BASE
    auth_hint = AUTH_HINT

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        super().__init__(profile, ctx)
        self._sleep: Callable[[float], None] = time.sleep

    def client_options(self) -> dict[str, Any]:
        return {"base_url": api_origin(self.profile.get("url"))}

    @property
    def origin(self) -> str:
        return str(api_origin(self.profile.get("url")) or "")

    def _check_tail(self, request: TailRequest) -> None:
        if request.stream is not None:
            raise UnsupportedError(
                f"{self.label} runs have no output streams; tail prints status changes (drop --stream)"
            )
        if request.offset is not None:
            raise UnsupportedError(
                f"{self.label} has no event log to resume from; tail prints the current state "
                "and then each change (drop --offset)"
            )

    def _poll_tail(
        self,
        run_id: str,
        request: TailRequest,
        fetch: Callable[[], dict[str, Any]],
        diff: Callable[[str, dict[str, Any], _Emitter], list[Event]],
        terminal: Callable[[dict[str, Any]], bool],
    ) -> Iterator[Event]:
        emitter = _Emitter(run_id, request.types)
        body = fetch()
        initial = [e for e in diff(run_id, body, emitter) if emitter.wanted(e)]
        if request.last is not None:
            initial = initial[-request.last :] if request.last else []
        for event in initial:
            yield emitter.number(event)
        if not request.live:
            return
        interval = request.interval if request.interval and request.interval > 0 else 1.0
        while not terminal(body):
            self._sleep(interval)
            body = fetch()
            for event in diff(run_id, body, emitter):
                if emitter.wanted(event):
                    yield emitter.number(event)


class WorkflowRunsV1Backend(_WorkflowRunsBackend):
    """``/api/v1/workflow-runs``: get, list, status, cancel, tail, dashboard, start, rerun (see the module
    docstring)."""

    name = V1_NAME
    label = "workflow-runs v1"
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, TAIL, DASHBOARD, START, RERUN})
    unsupported_reasons = {
        WAKE: "workflow-runs v1 has no endpoint to wake a run (runs have no sleeps wfctl can interrupt)",
        RESUME: "workflow-runs v1 has no endpoint to deliver input to a waiting run (answer it where the engine "
        "asks for it)",
    }

    #: Read timeout of the blocking ``POST /execute`` (seconds).
    execute_timeout: float = 24 * 3600.0
    #: Seconds without any byte (event or ping) after which the execute stream counts as dead.
    stream_idle_timeout: float = 30.0

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        super().__init__(profile, ctx)
        self._pages: dict[Any, tuple[list[dict[str, Any]], int | None]] = {}
        self._names: dict[str, list[str]] = {}
        self._failed: dict[str, Run] = {}  # recent_failures: failed runs read on their own

    # -- requests ----------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return V1_BASE + "".join("/" + quote(p, safe="") for p in parts)

    def _list_request(self, params: dict[str, Any]) -> tuple[list[Any], dict[str, Any] | None]:
        body = self.http.get_json(self._path(), params=params)
        return unwrap_list(self.label, body)

    def _get_json(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        body = self.http.get_json(self._path(run_id), **kwargs)
        return unwrap_one(self.label, body, _looks_like_run)

    # -- get / status --------------------------------------------------------------
    @reads_answers("run {0}")
    def get_run(self, run_id: str) -> Run:
        self.require(GET)
        return v1_run(self._get_json(run_id))

    @reads_answers("run {0}")
    def get_status(self, run_id: str) -> Run:
        self.require(STATUS)
        return v1_run(self._get_json(run_id))

    # -- workflows by name ---------------------------------------------------------
    def _workflow_ids_for_name(self, name: str) -> list[str]:
        """Workflow ids whose runs carry this exact (case-insensitive) workflow name."""
        key = name.casefold()
        if key in self._names:
            return self._names[key]
        found: list[str] = []
        for page in range(1, 11):
            items, pagination = self._list_request({"search": name, "page": page, "limit": SERVER_MAX_LIMIT})
            for item in items:
                if isinstance(item, dict) and str(item.get("workflowName") or "").casefold() == key:
                    wid = item.get("workflowId")
                    if wid and wid not in found:
                        found.append(str(wid))
            total = _total(pagination)
            if found or len(items) < SERVER_MAX_LIMIT or (total is not None and page * SERVER_MAX_LIMIT >= total):
                break
        self._names[key] = found
        return found

    def _workflow_id(self, workflow: str, what: str) -> str:
        if is_uuid(workflow):
            return workflow.strip()
        ids = self._workflow_ids_for_name(workflow)
        if not ids:
            raise NotFoundError(
                f"no workflow named {workflow!r}: no {self.label} run carries that name",
                hint=f"{what} needs the workflow's id (a UUID) when it has no runs yet",
            )
        if len(ids) > 1:
            raise UsageError(
                f"workflow name {workflow!r} is ambiguous: {len(ids)} workflows carry it",
                hint="pass one of these ids: " + ", ".join(ids),
            )
        return ids[0]

    # -- list ----------------------------------------------------------------------
    def _raw_statuses(self, statuses: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for status in statuses:
            word = status.strip().lower()
            raw = V1_RAW.get(word) or (word if word in V1_STATUS else None)
            if word == "canceled":
                raw = "cancelled"
            if raw is None:
                raise UsageError(
                    f"unknown status {status!r} for {self.label}",
                    hint="use one of: pending (scheduled), running, waiting, completed, failed, cancelled",
                )
            if raw not in out:
                out.append(raw)
        return out or [None]

    @reads_answers("the run list")
    def list_runs(self, query: ListQuery) -> RunPage:
        self.require(LIST)
        if query.query:
            raise UnsupportedError(
                f"{self.label} has no query language; use --status, --workflow, --search, --since and --until"
            )
        if query.limit < 1:
            raise UsageError("--limit must be at least 1")
        if query.cursor is None:
            self._pages.clear()
        statuses = self._raw_statuses(query.statuses)
        workflow_ids: list[str | None] = [None]
        if query.workflow:
            if is_uuid(query.workflow):
                workflow_ids = [query.workflow.strip()]
            else:
                named = self._workflow_ids_for_name(query.workflow)
                if not named:
                    parse_cursor(query.cursor, 1, query.limit)
                    return RunPage([], None, False)
                workflow_ids = list(named)
        streams = []
        for wid in workflow_ids:
            for status in statuses:
                params = {k: v for k, v in (("workflowId", wid), ("status", status), ("search", query.search)) if v}
                streams.append(params)
        asc = query.sort == "asc"
        filtered = query.since is not None or query.until is not None
        exact = len(streams) == 1 and not filtered
        limit = query.limit
        if exact and limit <= SERVER_MAX_LIMIT:
            size = limit
        elif filtered:
            size = SERVER_MAX_LIMIT
        else:
            size = min(limit, SERVER_MAX_LIMIT)
        readers = [_Reader(self, params, size, asc) for params in streams]
        positions = parse_cursor(query.cursor, len(readers), limit)
        done = [False] * len(readers)
        seen: set[str] = set()
        since, until = query.since, query.until

        def head(i: int) -> dict[str, Any] | None:
            while not done[i]:
                item = readers[i].item(positions[i])
                if item is None:
                    done[i] = True
                    return None
                created = parse_time(item.get("createdAt"))
                if created is not None:
                    too_old = since is not None and created < since
                    too_new = until is not None and created > until
                    if (too_old and not asc) or (too_new and asc):
                        done[i] = True
                        return None
                    if too_old or too_new:
                        positions[i] += 1
                        continue
                if _run_id_of(item) in seen:
                    positions[i] += 1
                    continue
                return item
            return None

        runs: list[Run] = []
        while len(runs) < limit:
            candidates = [(i, item) for i in range(len(readers)) if (item := head(i)) is not None]
            if not candidates:
                break
            if asc:
                i, item = min(candidates, key=lambda c: (_time_key(c[1]), c[0]))
            else:
                i, item = max(candidates, key=lambda c: (_time_key(c[1]), -c[0]))
            positions[i] += 1
            seen.add(_run_id_of(item))
            runs.append(v1_run(item, self.name))

        def has_more(i: int) -> bool:
            reader = readers[i]
            if not filtered and not done[i] and reader.known_total is not None:
                return positions[i] < reader.known_total  # no need to fetch the next page to know
            return head(i) is not None

        more = any(has_more(i) for i in range(len(readers)))
        return RunPage(runs, format_cursor(positions, limit, exact) if more else None, more)

    # -- cancel --------------------------------------------------------------------
    def _check_reason(self, reason: str | None) -> None:
        if reason is not None and len(reason) > REASON_MAX:
            raise UsageError(f"--reason is {len(reason)} characters; {self.label} accepts at most {REASON_MAX}")

    @reads_answers("the cancel request")
    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        self.require(CANCEL)
        if options.get("terminate"):
            raise UnsupportedError(
                f"{self.label} cannot terminate a run; its /cancel endpoint requests cancellation (drop --terminate)"
            )
        self._check_reason(reason)
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        body: dict[str, Any] = {"runIds": ids}
        if reason is not None:
            body["reason"] = reason
        answer = self.http.json("POST", self._path("cancel"), json=body, retry=True)
        by_id: dict[str, CancelOutcome] = {}
        for outcome in parse_outcomes(self.label, answer):
            by_id.setdefault(outcome.runId, outcome)
        if len(ids) == 1 and len(by_id) == 1 and ids[0] not in by_id:
            only = next(iter(by_id.values()))
            by_id = {ids[0]: CancelOutcome(ids[0], only.outcome, only.message, only.status)}
        return [
            by_id.get(rid) or CancelOutcome(rid, "error", f"{self.label} reported no outcome for this run")
            for rid in run_ids
        ]

    @reads_answers("the cancel request")
    def cancel_workflow(self, workflow: str, reason: str | None = None) -> list[CancelOutcome]:
        """Cancel every non-terminal run of a workflow in one request (``{"workflowId"}``).

        ``workflow`` is the workflow's UUID or a name (resolved from the runs that carry it).
        Outcomes come in the server's order.
        """
        self.require(CANCEL)
        self._check_reason(reason)
        wid = self._workflow_id(workflow, "cancel --workflow")
        body: dict[str, Any] = {"workflowId": wid}
        if reason is not None:
            body["reason"] = reason
        answer = self.http.json("POST", self._path("cancel"), json=body, retry=True)
        return parse_outcomes(self.label, answer)

    # -- dashboard -----------------------------------------------------------------
    @reads_answers("the counts")
    def counts(self, workflow: str | None = None) -> Counts:
        self.require(DASHBOARD)
        if workflow:
            wid = self._workflow_id(workflow, "dashboard --workflow")
            body = self.http.get_json(self._path("dashboard", wid))
            counts, total = parse_counts(self.label, body)
            return Counts(counts, total if total is not None else sum(counts.values()), workflow)
        counts = {s: 0 for s in STATUSES}
        for raw, status in V1_STATUS.items():
            _, pagination = self._list_request({"status": raw, "page": 1, "limit": 1})
            total = _total(pagination)
            if total is None:
                raise UsageError(
                    f"{self.label} counts runs per workflow: pass --workflow ID",
                    hint="this server's list answers carry no totals, so wfctl cannot count all runs cheaply",
                )
            counts[status] += total
        return Counts(counts, sum(counts.values()), None)

    @reads_answers("the latest failures")
    def recent_failures(self, limit: int = 5, workflow: str | None = None) -> list[Run]:
        """The last ``limit`` failed runs, newest first, each with its error (wfctl/backends/dashboard.py). A run
        of the list carries no activity runs, and the message is in the failed one's outputs: a listed run
        without them is read on its own, as ``get`` reads it, once per backend (a failed run is final, so a live
        dashboard's refresh reads only the new failures)."""
        found = []
        for run in self.list_runs(ListQuery(statuses=[FAILED], limit=limit, workflow=workflow)).data:
            if not run.steps:
                if run.runId not in self._failed:
                    try:
                        self._failed[run.runId] = v1_run(self._get_json(run.runId), self.name)
                    except NotFoundError:
                        self._failed[run.runId] = run  # deleted meanwhile: shown as listed
                run = self._failed[run.runId]
            found.append(run)
        return found

    # -- start ---------------------------------------------------------------------
    def _execute_form(self, request: StartRequest) -> dict[str, Any]:
        if request.run_id:
            raise UnsupportedError(f"{self.label} chooses run ids itself (drop --id)")
        if request.task_queue:
            raise UnsupportedError(f"{self.label} has no task queues (drop --task-queue)")
        inputs = {} if request.input is None else request.input
        if not isinstance(inputs, dict):
            raise UsageError(
                f"{self.label} takes the input as a JSON object of named inputs, not a {type(inputs).__name__}",
                hint="use --input KEY=VALUE or --input-json '{...}'",
            )
        envs = {str(k): str(v) for k, v in (request.env or {}).items()}
        wid = self._workflow_id(request.workflow, "start")
        return {
            "workflowId": (None, wid),
            "inputs": (None, json.dumps(inputs, ensure_ascii=False)),
            "envs": (None, json.dumps(envs, ensure_ascii=False)),
        }

    @reads_answers("the execute request")
    def start(self, request: StartRequest) -> Run:
        self.require(START)
        files = self._execute_form(request)
        body = self.http.json("POST", self._path("execute"), files=files, timeout=self.execute_timeout)
        return v1_run(unwrap_one(self.label, body, _looks_like_run), self.name)

    # -- rerun ---------------------------------------------------------------------------
    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        """A new run of each run's workflow with its recorded ``inputs`` (module docstring, ``rerun``)."""
        self.require(RERUN)
        outcomes: list[RerunOutcome] = []
        warned = False
        for run_id in run_ids:
            started = any(o.outcome == "started" for o in outcomes)
            try:
                source = self._rerun_source(run_id)
            except NotFoundError as exc:
                outcomes.append(RerunOutcome(run_id, None, "not_found", exc.message))
                continue
            except (AuthError, UnavailableError) as exc:
                if not started:
                    raise
                outcomes.append(RerunOutcome(run_id, None, "error", exc.message + "; nothing was started"))
                continue
            except WfctlError as exc:
                outcomes.append(RerunOutcome(run_id, None, "error", exc.message))
                continue
            if isinstance(source, RerunOutcome):
                outcomes.append(source)
                continue
            workflow_id, name, inputs = source
            if not warned:
                warned = True
                self.ctx.warn(
                    f"{self.label} does not record the envs a run was executed with: "
                    + ("the new runs would get none" if dry_run else "the new runs get none")
                )
            if dry_run:
                outcomes.append(
                    RerunOutcome(run_id, None, "would_start", f"would execute workflow {workflow_id}", None, name)
                )
                continue
            outcomes.append(self._rerun_execute(run_id, workflow_id, name, inputs, started))
        return outcomes

    def _rerun_source(self, run_id: str) -> "tuple[str, str | None, dict[str, Any]] | RerunOutcome":
        """The run's workflow id, name and recorded inputs, or the ``refused`` outcome saying why they cannot
        be handed back to ``/execute``."""
        body = self._get_json(run_id)
        run = v1_run(body)
        name = run.workflowName
        hint = "start the workflow yourself with the input it needs: wfctl start WORKFLOW --input-json '{...}'"

        def refused(why: str) -> RerunOutcome:
            return RerunOutcome(
                run_id,
                None,
                "refused",
                f"run {run_id} was not re-run: {why}; a new run with other input would not be a re-run",
                workflowName=name,
                hint=hint,
            )

        if not run.workflowId:
            return refused(f"{self.label} answered it without its workflowId, so there is nothing to execute")
        if body.get("inputs") is None:
            return refused(f"{self.label} answered it without its recorded inputs")
        inputs = _inputs(body["inputs"])
        if not isinstance(inputs, dict):
            from ..http import json_type

            return refused(
                f"its recorded inputs are {json_type(body['inputs'])}, not a list of {{name, value}} pairs with "
                "distinct names"
            )
        return str(run.workflowId), name, inputs

    def _rerun_execute(
        self, run_id: str, workflow_id: str, name: str | None, inputs: dict[str, Any], started: bool
    ) -> RerunOutcome:
        files = {
            "workflowId": (None, workflow_id),
            "inputs": (None, json.dumps(inputs, ensure_ascii=False)),
            "envs": (None, "{}"),
        }
        try:
            body = self.http.json("POST", self._path("execute"), files=files, timeout=self.execute_timeout)
            new = v1_run(unwrap_one(self.label, body, _looks_like_run), self.name)
        except NotFoundError as exc:
            return RerunOutcome(
                run_id, None, "not_found", f"its workflow {workflow_id} was not found ({exc.message})", None, name
            )
        except (AuthError, UnavailableError) as exc:
            if not started:
                raise
            return RerunOutcome(run_id, None, "error", exc.message, None, name)
        except WfctlError as exc:
            return RerunOutcome(run_id, None, "error", exc.message, None, name)
        return RerunOutcome(run_id, new.runId, "started", f"rerun of {run_id}", new.status, new.workflowName or name)

    @reads_answers("the execute stream")
    def start_follow(self, request: StartRequest) -> Iterator[Event | Run]:
        self.require(START)
        files = self._execute_form(request)
        return self._follow(request, files)

    def _follow(self, request: StartRequest, files: dict[str, Any]) -> Iterator[Event | Run]:
        from ..http import StreamDropped, StreamSilent, body_chunks
        from ..sse import SSEParser

        workflow_id = files["workflowId"][1]
        state = _FollowState(self)
        idle = self.stream_idle_timeout
        with self.http.stream(
            "POST",
            self._path("execute", "stream"),
            files=files,
            timeout=idle,
            headers={"accept": "text/event-stream", "cache-control": "no-store"},
        ) as response:
            if "text/event-stream" not in response.headers.get("content-type", "").partition(";")[0]:
                ctype = response.headers.get("content-type", "no content type").split(";")[0]
                raise UnavailableError(
                    f"{self.label} answered the execute stream with HTTP "
                    f"{response.status_code} and {ctype}, not an event stream"
                )
            parser = SSEParser()
            charset = response.encoding or "utf-8"
            try:
                for chunk in body_chunks(response):
                    for name, data in parser.feed(chunk):
                        for item in state.handle(name, data.decode(charset, "replace"), workflow_id, request):
                            yield item
                        if state.finished:
                            return
            except StreamSilent:
                raise UnavailableError(
                    f"the execute stream of {state.describe()} was silent for {idle:g}s (no event or ping); "
                    "the connection looks dead",
                    hint=state.resume_hint(workflow_id),
                ) from None
            except StreamDropped as exc:
                raise UnavailableError(
                    f"the execute stream of {state.describe()} dropped ({exc})",
                    hint=state.resume_hint(workflow_id),
                ) from None
        raise UnavailableError(
            f"the execute stream of {state.describe()} ended before the run finished",
            hint=state.resume_hint(workflow_id),
        )

    # -- tail ----------------------------------------------------------------------
    @reads_answers("run {0}")
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        self.require(TAIL)
        self._check_tail(request)
        return self._poll_tail(
            run_id,
            request,
            lambda: self._get_json(run_id),
            _v1_state_events,
            lambda body: v1_status(body.get("status")) in TERMINAL,
        )

    # -- doctor --------------------------------------------------------------------
    @reads_answers("the run list")
    def doctor(self) -> list[Check]:
        try:
            items, pagination = self._list_request({"page": 1, "limit": 1})
        except NotFoundError as exc:
            raise NotFoundError(
                f"no {self.label} API at {self.origin}: {exc.message}",
                hint="the url should be the API's origin, e.g. https://api.example.com",
            ) from None
        total = _total(pagination)
        detail = f"GET {V1_BASE} answered" + (f" ({total} runs)" if total is not None else "")
        return [
            Check("reachable", True, self.origin),
            Check("authorised", True, "the token was accepted"),
            Check("api", True, detail),
        ]


class _FollowState:
    """Turns execute-stream events into Run/Event items (see the module docstring)."""

    def __init__(self, backend: WorkflowRunsV1Backend):
        self.backend = backend
        self.run_id: str | None = None
        self.finished = False
        self.index = 0
        self.run_status: str | None = None
        self.attributed: dict[str, set[str]] = {}
        self.snapshot: list[dict[str, Any]] | None = None
        self.step_names: dict[str, str] = {}

    def describe(self) -> str:
        return f"run {self.run_id}" if self.run_id else "the new run"

    def resume_hint(self, workflow_id: str) -> str:
        if self.run_id:
            return f"the run goes on; follow it with: wfctl tail {self.run_id} --live"
        return f"a run may have started; look for it with: wfctl list --workflow {workflow_id}"

    def _event(self, **kw: Any) -> Event:
        event = Event(runId=self.run_id, index=self.index, time=_now(), **kw)
        self.index += 1
        return event

    def _refresh(self) -> list[dict[str, Any]] | None:
        if not self.run_id:
            return None
        try:
            body = self.backend._get_json(self.run_id, retry=False, timeout=5.0)
        except WfctlError as exc:
            self.backend.ctx.debug_log(f"could not name the step of an activity-run event: {exc.message}")
            return self.snapshot
        self.snapshot = _activities(body)
        for a in self.snapshot:
            if a.get("stepId") and a.get("stepName"):
                self.step_names[str(a["stepId"])] = str(a["stepName"])
        return self.snapshot

    def _attribute(self, raw: str) -> dict[str, Any] | None:
        """The activity run an id-less ``activity-run`` event is about (the oldest that reached it)."""
        want = _PROGRESS.get(raw)
        for attempt in range(2):
            acts = self.snapshot if attempt == 0 and self.snapshot is not None else self._refresh()
            for a in acts or []:
                seen = self.attributed.setdefault(str(a.get("id")), set())
                if raw in seen:
                    continue
                current = str(a.get("status") or "").lower()
                reached = current == raw or (want is not None and want < 2 and _PROGRESS.get(current, -1) >= want)
                if reached:
                    seen.add(raw)
                    return a
        return None

    def handle(self, name: str, text: str, workflow_id: str, request: StartRequest) -> Iterator[Event | Run]:
        try:
            data: Any = json.loads(text) if text else None
        except ValueError:
            data = text
        content = data.get("content") if isinstance(data, dict) and "content" in data else data
        if name == "ping":
            return
        if self.run_id is None:
            rid = content.get("workflowRunId") if isinstance(content, dict) else None
            if rid is None and isinstance(data, dict) and isinstance(data.get("workflowRun"), dict):
                rid = _run_id_of(data["workflowRun"])
            if rid:
                self.run_id = str(rid)
                yield Run(
                    runId=self.run_id,
                    backend=self.backend.name,
                    workflowId=workflow_id,
                    status="pending",
                    rawStatus="scheduled",
                    createdAt=_now(),
                    input=request.input if isinstance(request.input, dict) else {},
                )
        if name == "workflow-run" and isinstance(content, dict):
            raw = content.get("status")
            if raw != self.run_status:
                previous, self.run_status = self.run_status, raw
                yield self._event(
                    type=_event_type("run", v1_status(raw), raw, v1_status(previous)), data={"status": raw}
                )
        elif name == "activity-run" and isinstance(content, dict):
            raw = str(content.get("status") or "")
            act: dict[str, Any] | None = None
            if content.get("stepName") or content.get("stepId") or content.get("activityRunId"):
                act = {
                    "id": content.get("activityRunId"),
                    "stepId": content.get("stepId"),
                    "stepName": content.get("stepName") or self.step_names.get(str(content.get("stepId"))),
                }
                self.attributed.setdefault(str(act["id"]), set()).add(raw)
            else:
                act = self._attribute(raw.lower())
            eventdata: dict[str, Any] = {"status": raw}
            if act is not None:
                if act.get("attempt") is not None:
                    eventdata["attempt"] = act.get("attempt")
                eventdata["activityRunId"] = act.get("id")
            yield self._event(
                type=_event_type("step", v1_status(raw), raw),
                stepId=act.get("stepId") if act else None,
                stepName=act.get("stepName") if act else None,
                data=eventdata,
            )
        elif name == "thinking":
            step_id = data.get("stepId") if isinstance(data, dict) else None
            if step_id and str(step_id) not in self.step_names:
                self._refresh()
            text_value = content if isinstance(content, str) else json.dumps(content)
            yield self._event(
                type="thinking", stepId=step_id, stepName=self.step_names.get(str(step_id)), data=text_value
            )
        elif name == "result":
            payload = data.get("workflowRun") if isinstance(data, dict) else None
            run = v1_run(payload, self.backend.name) if isinstance(payload, dict) else None
            if run is not None and run.rawStatus != self.run_status:
                previous, self.run_status = self.run_status, run.rawStatus
                yield self._event(
                    type=_event_type("run", run.status, run.rawStatus, v1_status(previous)),
                    data={"status": run.rawStatus},
                )
            yield self._event(
                type="result", data={"status": run.rawStatus if run else None, "output": run.output if run else None}
            )
            self.finished = True
        elif name == "error":
            message = _error_message(data) or (text or "the run failed")
            details = data.get("details") if isinstance(data, dict) else None
            if self.run_id is None:
                raise UnavailableError(f"{self.backend.label} could not start the run: {message}")
            yield self._event(type="error", data={"error": message, "details": details})
            self.finished = True
        elif name not in ("workflow-run", "activity-run"):
            yield self._event(type=name or "message", data=content)


class WorkflowRunsV2Backend(_WorkflowRunsBackend):
    """``GET /api/v2/workflow-runs/{id}``: get, status and tail by polling."""

    name = V2_NAME
    label = "workflow-runs v2"
    capabilities = frozenset({GET, STATUS, TAIL})
    _ONLY = "workflow-runs v2 has only GET /api/v2/workflow-runs/{id}"
    unsupported_reasons = {
        LIST: f"{_ONLY}: it cannot list runs (the {V1_NAME} backend can)",
        CANCEL: f"{_ONLY}: it cannot cancel runs (the {V1_NAME} backend can)",
        WAKE: f"{_ONLY}: it cannot wake runs",
        DASHBOARD: f"{_ONLY}: it has no counts for a dashboard (the {V1_NAME} backend has)",
        START: f"{_ONLY}: it cannot start runs (the {V1_NAME} backend can)",
        RERUN: f"{_ONLY}: it cannot start runs, so it cannot re-run one (the {V1_NAME} backend can)",
        RESUME: f"{_ONLY}: it cannot deliver input to a waiting run",
    }

    def _check_id(self, run_id: str) -> str:
        problem = v2_id_problem(run_id)
        if problem:
            shown = run_id if len(run_id) <= 60 else run_id[:57] + "..."
            raise UsageError(
                f"invalid {self.label} run id {shown!r}: it {problem}",
                hint="v2 run ids are UUIDs of versions 1-8 (RFC variant) or the nil UUID",
            )
        return run_id

    def _get_json(self, run_id: str) -> dict[str, Any]:
        self._check_id(run_id)
        body = self.http.get_json(V2_BASE + "/" + quote(run_id, safe=""))
        return unwrap_one(self.label, body, _looks_like_run)

    @reads_answers("run {0}")
    def get_run(self, run_id: str) -> Run:
        self.require(GET)
        return v2_run(self._get_json(run_id))

    @reads_answers("run {0}")
    def get_status(self, run_id: str) -> Run:
        self.require(STATUS)
        return v2_run(self._get_json(run_id))

    @reads_answers("run {0}")
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        self.require(TAIL)
        self._check_tail(request)
        self._check_id(run_id)
        return self._poll_tail(
            run_id,
            request,
            lambda: self._get_json(run_id),
            _v2_state_events,
            lambda body: v2_status(body.get("status")) in TERMINAL,
        )

    def doctor(self) -> list[Check]:
        nil = "00000000-0000-0000-0000-000000000000"
        response = self.http.request("GET", f"{V2_BASE}/{nil}", expect=(404,))
        if response.status_code == 404 and "json" not in response.headers.get("content-type", ""):
            raise NotFoundError(
                f"no {self.label} API at {self.origin}: GET {V2_BASE}/{{id}} answered "
                f"HTTP 404 with {response.headers.get('content-type', 'no content type')}",
                hint="the url should be the API's origin, e.g. https://api.example.com",
            )
        return [
            Check("reachable", True, self.origin),
            Check("authorised", True, "the token was accepted"),
            Check("api", True, f"GET {V2_BASE}/{{id}} answered HTTP {response.status_code}"),
        ]
