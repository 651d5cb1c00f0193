"""Temporal backend: workflow executions through Temporal's HTTP API (docs/architecture.md, "Temporal").

wfctl talks to the JSON gateway a Temporal server serves on its HTTP port (``temporal server start-dev
--http-port``; Temporal Cloud's HTTP endpoint) with :mod:`wfctl.http` — no gRPC stack at run time. Profile
keys: ``url`` (the HTTP API's base URL; a trailing ``/api/v1`` is accepted), ``namespace`` (default
``default``), ``task_queue`` (for ``start``), and the token (``WFCTL_TOKEN`` / ``token_env`` / ``token``)
sent as ``Authorization: Bearer <API key>``. Facts about the API this module relies on are in
``tests/doubles/TEMPORAL_HTTP_API.md``.

Decisions
---------

* **Addressing.** A wfctl run id is a Temporal **workflow id**; it addresses the *latest* execution of that
  id, whose run id is reported in ``extra["runId"]``. ``WORKFLOW_ID:RUN_ID`` (a colon and a UUID-shaped run
  id at the end) addresses one exact execution; if no such execution exists, the whole string is tried as a
  workflow id (ids may contain colons). ``Run.runId`` always echoes the id it was addressed by, so waiting
  and caching keep working. ``list`` (and the dashboard) print a bare workflow id only for the latest
  execution of that id; every older one — ended ``ContinuedAsNew``, or an earlier execution of a reused id —
  is printed as ``WORKFLOW_ID:RUN_ID``, so that each printed id resolves to the row it came from. A running
  execution is the latest of its id; for a closed one, one visibility query per page asks which ids have an
  execution started at or after it (``RunId !=`` itself); when that answer is not complete the exact form is
  used (it always resolves). Ids with a ``/`` cannot be addressed through the HTTP API's path routes (they
  still appear in ``list``).
* **Mapping.** ``workflowName`` = workflow type; ``rawStatus`` = the short status word (``Running``,
  ``ContinuedAsNew``, ...); ``createdAt`` = start time, ``startedAt`` = execution time (later than the start
  with a start delay or cron backoff), ``completedAt`` = close time. ``input``/``output`` are the decoded
  payloads: one payload gives its value, several give a list. Payloads decode as: ``json/plain`` and
  ``json/protobuf`` → JSON, ``binary/null`` → null, ``binary/plain`` → ``{"$bytes": b64}``, ``binary/
  encrypted`` → ``{"$encrypted": true}``, anything else → ``{"$bytes": b64, "$encoding": name}``. Every GET
  asks for the full payload form (``noPayloadShorthand``) so the shapes are unambiguous.
* **get** = describe + the history (paged, at most :data:`HISTORY_SCAN_LIMIT` events; beyond that
  ``extra["historyTruncated"]`` is true and the close event is read on its own): input from the started
  event, output or error from the close event (failure message + root cause, failure type as ``code``, the
  stack; terminated/cancelled runs carry the reason as their error with code ``Terminated``/``Canceled``),
  activities and child workflows as steps (``stepId`` = activity id / child workflow id, ``startedAt`` =
  when it was scheduled, so retries count in its duration), overlaid with describe's pending activities
  (attempt, last failure as ``error``; ``Scheduled`` on attempt 1 or ``Paused`` → pending, ``Scheduled`` while
  retrying, ``Started``, ``CancelRequested`` → running; ``rawStatus`` keeps the state),
  and every timer as a wait (``correlationId`` = timer id, ``resumeAt`` = start + ``startToFireTimeout``;
  ``waiting`` until fired → ``completed`` or cancelled → ``cancelled``). If the history already holds the
  close event while describe still said Running, the close event wins. ``get_status`` is describe only
  (and, for a failing workflow task, the newest events read backwards).
* **The whole failure.** ``error`` keeps message (+ root cause), type as ``code`` and stack; ``extra.failure``
  has the rest of it, cause by cause: ``type``, ``nonRetryable``, ``details`` (decoded), ``timeoutType``,
  ``retryState``, ``source``. A timed-out workflow says which timeout fired: the close event does not, so the
  started event's ``workflowRunTimeout`` and ``workflowExecutionExpirationTime`` decide (the run's deadline
  before the execution's → the run timeout; equal → the execution timeout), in ``error.message`` ("the workflow
  run timeout of 1s fired"), ``extra.failure.timeoutType`` (``WorkflowExecution``/``WorkflowRun``) and
  ``extra.timeoutSeconds``. Activity timeouts are ``TimeoutStartToClose`` etc. as code.
* **Stuck runs.** A workflow task that keeps failing leaves the run ``Running``: when describe's
  ``pendingWorkflowTask.attempt`` is 2 or more, the failure (the history keeps only the streak's first
  ``WorkflowTaskFailed``; later attempts are not written) is ``extra.workflowTaskFailure`` (attempt, message,
  type, cause, since, stack) and a sentence in ``Run.warnings``; ``status`` writes it as a warning on stderr,
  once per process. A retrying activity's step has ``maxAttempts`` (null: unlimited) and ``nextAttemptAt``
  (describe's ``nextAttemptScheduleTime``) besides its attempt and last failure.
* **Continue-as-new chains.** ``get`` of a run links both ways: ``extra.continuedExecutionRunId`` (the run it
  continued from, from its started event) and ``extra.newExecutionRunId`` (the run it continued as).
* **list.** ``--status`` (normalized words map onto Temporal's: ``completed`` = Completed + ContinuedAsNew,
  ``failed`` = Failed + TimedOut, ``cancelled`` = Canceled + Terminated; a raw word — ``Completed``,
  ``canceled``, ``timed_out``, ``WORKFLOW_EXECUTION_STATUS_FAILED`` — means that one status; ``pending`` and
  ``waiting`` have no Temporal equivalent and match nothing), ``--workflow`` (``WorkflowType``),
  ``--search`` (a *prefix* of the workflow id or type: visibility has no substring operator on keywords),
  ``--since``/``--until`` (``StartTime``) become a visibility query, AND-ed with the raw ``--query``. The
  cursor is the server's ``nextPageToken``. Temporal lists in a fixed order (running first, then by close
  time, newest first) and rejects ``ORDER BY``, so ``--sort asc`` ends with exit 6 (unsupported) rather than
  sorting one page and pretending the whole listing is ordered.
  The cursor is the page token behind a fingerprint of the visibility query (filters, not ``--limit``): a
  cursor given with other filters is a usage error (exit 2) rather than a page of another listing. List rows
  carry their decoded search attributes (``extra.searchAttributes``) as ``get`` does.
* **Waiting.** A Temporal run is never ``waiting`` and its ``waitingFor`` is null (docs/architecture.md,
  "Waiting runs"): visibility (``list``, the dashboard's counts) and describe (``status``) do not show timers,
  only ``get``'s history does (its Sleeps), and a pending timer may be a ``wait_condition`` timeout while the
  workflow really awaits a signal, which no API shows. A status that only ``get`` could give would differ
  between the views of the same run.
* **status --wait** overrides :meth:`TemporalBackend.wait_for_change` with a history long-poll for the close
  event (``waitNewEvent`` + ``HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT``), bounded by the interval it is given:
  a ``Grpc-Timeout`` header makes the server answer (empty) in time, and the read timeout sits a little
  above it in case a proxy drops the header. It returns as soon as the execution closes.
* **cancel** describes first (the API answers 200 to a cancel of a closed run): unknown → ``not_found``,
  closed → ``already_completed``, else a cancellation request (``--terminate``: a termination) with the
  ``--reason``, pinned to the execution's run id. Cancellation is a *request*: the outcome is ``cancelled``
  with status ``running`` until the workflow reacts; a termination ends the run at once (status
  ``cancelled``).
* **tail** prints the history events in order, one :class:`~wfctl.model.Event` each: ``offset`` = the event
  id as a string, ``index`` = the event id, ``type`` = the short event type (``ActivityTaskCompleted``),
  ``data`` = the decoded attributes, ``stepId``/``stepName`` = activity id/type (child workflow id/type),
  ``correlationId`` = the timer id. ``--offset N`` resumes after event N, ``--type`` matches short names
  case-insensitively, ignoring ``_``/``-`` and the ``EVENT_TYPE_`` prefix, and also by substring
  (``activity``, ``timer_fired``, ``failed``); ``--last N`` keeps the last N matching events (read
  backwards when not live); ``--start-index N`` keeps events from id N (negative = the last -N).
  ``--live`` long-polls with ``waitNewEvent`` until the close event, resuming with the last page token
  after a dropped connection and never yielding an event twice. A live tail follows the chain of
  continue-as-new runs to its end (as ``status --wait`` of a bare id does): after
  ``WorkflowExecutionContinuedAsNew`` it goes on with ``newExecutionRunId``; the events of every run reached so
  have that run's exact ``WORKFLOW_ID:RUN_ID`` as ``runId`` and ``RUN_ID:EVENT_ID`` as offset (event ids start
  again at 1 in each run), ``--offset RUN_ID:N`` resumes there, and the tail's exit code is the last run's
  state (:meth:`TemporalBackend.final_run_id`); ``start --follow`` the same. A signal's line is named by the
  signal. ``--stream`` is unsupported (Temporal runs have no output stream).
* **dashboard** counts with one ``workflow-count`` query ``GROUP BY ExecutionStatus`` (falling back to one
  count query per normalized status where the server refuses it). ``ContinuedAsNew`` executions are counted
  apart (``Counts.apart``, not in ``completed`` nor the total): each is a link of a chain whose last run
  carries the chain's state. Recent runs are the newest by start time (visibility cannot sort by it: the
  newest running ones, the most recently closed ones, then every closed one started since the N-th newest
  start among those), and the latest failures are a query of their own (``Failed``/``TimedOut``), each
  message read from its close event.
* **start WORKFLOW_TYPE**: task queue from ``--task-queue`` or the profile's ``task_queue`` (else a usage
  error); the input is passed as **one** argument — the whole JSON value, a list included (a JSON list is
  as likely to be one list parameter as several arguments, and one rule is predictable); no input → no
  arguments. ``--id`` chooses the workflow id (default ``<type>-<12 hex>``). A fresh ``requestId`` makes the
  POST idempotent, so it is retried like a GET. ``--env`` is refused: Temporal workflows have no
  environment.
* **wake** is unsupported: Temporal has no API to interrupt a workflow's timers.
* **Timeouts and answers.** Every request is bounded by the profile's ``timeout`` (retries included, see
  :mod:`wfctl.http`); a history long-poll's window is 30 s or that ``timeout`` if shorter, its read timeout the
  window plus half the ``timeout`` (at most 15 s). A live tail retries a failed long-poll with its page token
  (nothing printed twice) and ends with exit 5 once the server has not answered for ``timeout`` seconds (or
  after :data:`MAX_RECONNECTS` failures in a row). An answer whose JSON has another shape than the API's
  (an array for an object, a list for a status, ...) exits 5 naming the answer and the field.
* **config doctor**: ``GET /api/v1/system-info`` (reachable, server version ≥ :data:`MIN_SERVER_VERSION`)
  and a describe of the namespace (authorised, namespace exists).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator
from urllib.parse import quote

from ..errors import AuthError, NotFoundError, UnavailableError, UnsupportedError, UsageError, WfctlError
from ..model import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    STATUSES,
    WAITING,
    CancelOutcome,
    Check,
    Counts,
    Event,
    ListQuery,
    RerunOutcome,
    ResumeOutcome,
    Run,
    RunError,
    RunPage,
    Step,
    Wait,
)
from ..times import parse_time
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
    ResumeRequest,
    StartRequest,
    TailRequest,
)

if TYPE_CHECKING:
    from ..config import Profile

API = "/api/v1"
#: get reads at most this many history events (steps and timers come from them).
HISTORY_SCAN_LIMIT = 10_000
HISTORY_PAGE_SIZE = 1000
#: Server-side window of one tail long-poll (sent as Grpc-Timeout) and the read timeout above it; a profile
#: ``timeout`` below the window shortens both (window = timeout, slack = half of it).
LONG_POLL_SECONDS = 30.0
LONG_POLL_SLACK = 15.0
#: The HTTP API, noPayloadShorthand and GROUP BY ExecutionStatus are all there from this version on.
MIN_SERVER_VERSION = (1, 22, 0)
#: Consecutive failed reconnects a live tail tolerates (each already retried by the HTTP client); it also gives
#: up once the server has not answered for the profile's ``timeout``.
MAX_RECONNECTS = 3

# Short status words, keyed by the enum suffix.
_RAW = {
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "CANCELED": "Canceled",
    "TERMINATED": "Terminated",
    "CONTINUED_AS_NEW": "ContinuedAsNew",
    "TIMED_OUT": "TimedOut",
}
RAW_STATUSES = tuple(_RAW.values())
NORMALIZED = {
    "Running": RUNNING,
    "Completed": COMPLETED,
    "ContinuedAsNew": COMPLETED,
    "Failed": FAILED,
    "TimedOut": FAILED,
    "Canceled": CANCELLED,
    "Terminated": CANCELLED,
}
#: Counted apart by the dashboard, not as their normalized status nor in the total: a run that continued as
#: new is a link of a chain whose last run carries the chain's state.
APART = ("ContinuedAsNew",)
# Normalized word -> the Temporal statuses it covers (pending/waiting: none).
_BY_NORMALIZED: dict[str, tuple[str, ...]] = {
    PENDING: (),
    RUNNING: ("Running",),
    WAITING: (),
    COMPLETED: ("Completed", "ContinuedAsNew"),
    FAILED: ("Failed", "TimedOut"),
    CANCELLED: ("Canceled", "Terminated"),
}
# The close event type (short) -> the status it gives the execution.
_CLOSE_EVENTS = {
    "WorkflowExecutionCompleted": "Completed",
    "WorkflowExecutionFailed": "Failed",
    "WorkflowExecutionTimedOut": "TimedOut",
    "WorkflowExecutionCanceled": "Canceled",
    "WorkflowExecutionTerminated": "Terminated",
    "WorkflowExecutionContinuedAsNew": "ContinuedAsNew",
}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UNSET_TIME = "0001-01-01T00:00:00Z"


# ----------------------------------------------------------------------------------------------------------
# pure helpers (tested without a server)


def split_address(run_id: str) -> tuple[str, str | None]:
    """``WORKFLOW_ID`` → (id, None); ``WORKFLOW_ID:RUN_ID`` with a UUID-shaped run id → (id, run id)."""
    head, sep, tail = run_id.rpartition(":")
    if sep and head and _UUID.match(tail):
        return head, tail
    return run_id, None


def raw_status(value: Any) -> str | None:
    """``WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW`` (or ``ContinuedAsNew``) → ``ContinuedAsNew``."""
    if not value:
        return None
    text = str(value)
    if text in NORMALIZED:
        return text
    suffix = text.removeprefix("WORKFLOW_EXECUTION_STATUS_")
    if suffix == "UNSPECIFIED":
        return None
    return _RAW.get(suffix) or "".join(part.capitalize() for part in suffix.lower().split("_"))


def normalized_status(raw: str | None) -> str:
    return NORMALIZED.get(raw or "", "unknown")


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


def statuses_for(words: Iterable[str]) -> list[str]:
    """Temporal statuses for ``--status`` words (normalized or raw); raises UsageError for unknown words."""
    out: list[str] = []
    by_squashed = {_squash(raw): raw for raw in RAW_STATUSES}
    for word in words:
        text = word.strip()
        if text in RAW_STATUSES:  # the engine's own word, exactly: that status only
            found: tuple[str, ...] = (text,)
        elif text in _BY_NORMALIZED:  # a normalized word
            found = _BY_NORMALIZED[text]
        elif text.lower() in _BY_NORMALIZED:
            found = _BY_NORMALIZED[text.lower()]
        elif text.upper().startswith("WORKFLOW_EXECUTION_STATUS_") and raw_status(text.upper()) in RAW_STATUSES:
            found = (raw_status(text.upper()) or "",)
        elif _squash(text) in by_squashed:
            found = (by_squashed[_squash(text)],)
        else:
            raise UsageError(
                f"unknown status {word!r} for Temporal",
                hint="use " + ", ".join(STATUSES) + " or Temporal's own: " + ", ".join(RAW_STATUSES),
            )
        for raw in found:
            if raw not in out:
                out.append(raw)
    return out


def quote_value(value: str) -> str:
    """A visibility-query string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query_time(value: datetime) -> str:
    """RFC 3339 UTC for a visibility query, microseconds and four-digit years (``strftime("%Y")`` gives ``999``
    for the year 999 on Linux, which the server refuses)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:  # within hours of the year 1 or 9999: Python cannot hold the UTC instant; keep the offset
        return value.isoformat(timespec="microseconds")
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class _Nothing:
    """The query matches nothing (e.g. ``--status waiting``): no request is needed."""


NOTHING = _Nothing()


def build_query(q: ListQuery) -> "str | _Nothing":
    """The visibility query for a ListQuery ('' for none)."""
    clauses: list[str] = []
    if q.statuses:
        raws = statuses_for(q.statuses)
        if not raws:
            return NOTHING
        if len(raws) == 1:
            clauses.append(f"ExecutionStatus = {quote_value(raws[0])}")
        else:
            clauses.append("ExecutionStatus IN (" + ", ".join(quote_value(r) for r in raws) + ")")
    if q.workflow:
        clauses.append(f"WorkflowType = {quote_value(q.workflow)}")
    if q.search:
        needle = quote_value(q.search)
        clauses.append(f"(WorkflowId STARTS_WITH {needle} OR WorkflowType STARTS_WITH {needle})")
    if q.since:
        clauses.append(f"StartTime >= {quote_value(query_time(q.since))}")
    if q.until:
        clauses.append(f"StartTime < {quote_value(query_time(q.until))}")
    raw = (q.query or "").strip()
    if raw:
        clauses.append(f"({raw})" if clauses else raw)
    return " AND ".join(clauses)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fingerprint(visibility: str) -> str:
    import hashlib

    return hashlib.sha256(visibility.encode()).hexdigest()[:10]


def cursor_for(visibility: str, token: str) -> str:
    """The ``list`` cursor: the server's page token behind a fingerprint of the query it belongs to (the
    filters, not the page size), so that a cursor given with other filters is refused instead of paging
    through another listing from a position that means nothing there."""
    return f"{_fingerprint(visibility)}.{token}"


def page_token(cursor: str, visibility: str) -> str:
    """The page token inside a cursor made by :func:`cursor_for` for the same query; else a UsageError."""
    fingerprint, sep, token = cursor.partition(".")
    if not sep or not token or not re.fullmatch(r"[0-9a-f]{10}", fingerprint):
        raise UsageError(
            f"invalid --cursor for Temporal: {cursor[:40]!r} is not a cursor wfctl printed",
            hint="use the cursor wfctl printed for the same filters",
        )
    if fingerprint != _fingerprint(visibility):
        raise UsageError(
            "this --cursor was made for other filters (--status, --workflow, --search, --since, --until, --query)",
            hint="give the filters the cursor was printed with, or start again without --cursor",
        )
    return token


def _json_payload(value: Any) -> dict[str, Any]:
    """A ``json/plain`` payload in the full form."""
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(data).decode()}


def short_event_type(value: Any) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_COMPLETED`` → ``ActivityTaskCompleted``."""
    text = str(value or "")
    if not text.isupper() and "_" not in text:
        return text or "Unknown"
    text = text.removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in text.lower().split("_")) or "Unknown"


def type_matches(event_type: str, filters: list[str]) -> bool:
    """``--type``: short names, case-insensitive, ``_``/``-``/``EVENT_TYPE_`` ignored, or a substring."""
    if not filters:
        return True
    name = _squash(event_type)
    for wanted in filters:
        key = _squash(wanted)
        if key.startswith("eventtype"):
            key = key[len("eventtype") :]
        if key and key in name:
            return True
    return False


def parse_duration_s(value: Any) -> float | None:
    """Protobuf JSON duration (``"3600s"``, ``"0.200s"``) → seconds."""
    if value is None:
        return None
    text = str(value).strip()
    if text.endswith("s"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    if not value or value == _UNSET_TIME:
        return None
    parsed = parse_time(value)
    if parsed is not None and parsed.year <= 1:
        return None
    return parsed


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _b64(text: Any) -> bytes:
    if not text:
        return b""
    try:
        return base64.b64decode(str(text), validate=False)
    except (ValueError, TypeError):
        return b""


def is_payload(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("metadata"), dict)
        and "encoding" in value["metadata"]
        and set(value) <= {"metadata", "data", "externalPayloads"}
    )


def decode_payload(payload: Any) -> Any:
    """One payload (full form, or a shorthand JSON value) → a plain JSON value (the conventions of README, "Output")."""
    if not is_payload(payload):
        return payload  # shorthand: already the JSON value
    encoding = _b64(payload["metadata"].get("encoding")).decode("utf-8", "replace")
    data = payload.get("data") or ""
    if encoding in ("json/plain", "json/protobuf"):
        try:
            return json.loads(_b64(data) or b"null")
        except ValueError:
            return {"$bytes": data, "$encoding": encoding}
    if encoding == "binary/null":
        return None
    if encoding == "binary/plain":
        return {"$bytes": data}
    if encoding == "binary/encrypted":
        return {"$encrypted": True}
    return {"$bytes": data, "$encoding": encoding}


def decode_payloads(value: Any) -> list[Any]:
    """A ``Payloads`` message (``{"payloads": [...]}`` or a shorthand array) → list of values."""
    if value is None:
        return []
    if isinstance(value, dict) and "payloads" in value:
        return [decode_payload(p) for p in value.get("payloads") or []]
    if isinstance(value, list):
        return [decode_payload(p) for p in value]
    if isinstance(value, dict) and not value:
        return []
    return [decode_payload(value)]


def unwrap(values: list[Any]) -> Any:
    """Arguments/results: none → null, one → its value, several → the list."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def decode_tree(value: Any) -> Any:
    """Decode every payload inside a protobuf-JSON structure (event attributes, failures, memo)."""
    if isinstance(value, dict):
        if is_payload(value):
            return decode_payload(value)
        if set(value) == {"payloads"} and isinstance(value["payloads"], list):
            return [decode_payload(p) for p in value["payloads"]]
        return {k: decode_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_tree(v) for v in value]
    return value


def decode_fields(value: Any) -> dict[str, Any]:
    """Memo (``{"fields": {...}}``) or search attributes (``{"indexedFields": {...}}``) → a plain dict."""
    if not isinstance(value, dict):
        return {}
    inner = value.get("fields", value.get("indexedFields", value))
    if not isinstance(inner, dict):
        return {}
    return {k: decode_payload(v) for k, v in inner.items()}


def failure_error(failure: Any) -> RunError | None:
    """A Temporal Failure → RunError: message (+ root cause), failure type as code, stack trace."""
    if not isinstance(failure, dict):
        return None
    message = failure.get("message") or ""
    cause = failure.get("cause")
    root = None
    while isinstance(cause, dict):
        root = cause
        cause = cause.get("cause")
    if root is not None and root.get("message") and root.get("message") != message:
        message = f"{message}: {root['message']}" if message else root["message"]
    return RunError(
        message=message or None,
        code=_failure_type(root or failure) or _failure_type(failure),
        stack=failure.get("stackTrace") or (root or {}).get("stackTrace") or None,
    )


def _failure_type(failure: dict) -> str | None:
    app = failure.get("applicationFailureInfo")
    if isinstance(app, dict):
        return app.get("type") or "ApplicationFailure"
    timeout = failure.get("timeoutFailureInfo")
    if isinstance(timeout, dict):
        kind = str(timeout.get("timeoutType") or "").removeprefix("TIMEOUT_TYPE_")
        return "Timeout" + ("".join(p.capitalize() for p in kind.lower().split("_")) if kind else "")
    for key, name in (
        ("canceledFailureInfo", "Canceled"),
        ("terminatedFailureInfo", "Terminated"),
        ("serverFailureInfo", "ServerFailure"),
        ("activityFailureInfo", "ActivityFailure"),
        ("childWorkflowExecutionFailureInfo", "ChildWorkflowFailure"),
        ("resetWorkflowFailureInfo", "ResetWorkflow"),
        ("nexusOperationExecutionFailureInfo", "NexusOperationFailure"),
    ):
        if key in failure:
            return name
    return None


def _enum_word(value: Any, prefix: str) -> str | None:
    """``TIMEOUT_TYPE_START_TO_CLOSE`` → ``StartToClose`` (None for unset values)."""
    text = str(value or "").removeprefix(prefix)
    if not text or text == "UNSPECIFIED":
        return None
    return "".join(p.capitalize() for p in text.lower().split("_"))


def failure_info(failure: Any, depth: int = 0) -> dict[str, Any] | None:
    """A Temporal Failure → the whole of it, as ``extra.failure``: ``message``, ``type`` (the application
    error type, else the failure's kind), ``nonRetryable``, ``details`` (decoded, a list), ``timeoutType``
    (``StartToClose``, ``ScheduleToClose``, ``ScheduleToStart``, ``Heartbeat``), ``retryState``, ``source``,
    and its ``cause`` in the same shape (null at the root). The stack trace stays in ``error.stack``."""
    if not isinstance(failure, dict) or depth > 20:
        return None

    def part(key: str) -> dict:
        value = failure.get(key)
        return value if isinstance(value, dict) else {}

    app, timeout = part("applicationFailureInfo"), part("timeoutFailureInfo")
    activity, child = part("activityFailureInfo"), part("childWorkflowExecutionFailureInfo")
    details = app.get("details", timeout.get("lastHeartbeatDetails"))
    if details is None:
        details = part("canceledFailureInfo").get("details")
    retry = activity.get("retryState") or child.get("retryState")
    return {
        "message": failure.get("message") or None,
        "type": (app.get("type") or None) if app else _failure_type(failure),
        "nonRetryable": bool(app.get("nonRetryable")) if app else None,
        "details": decode_payloads(details) if details is not None else None,
        "timeoutType": _enum_word(timeout.get("timeoutType"), "TIMEOUT_TYPE_") if timeout else None,
        "retryState": _enum_word(retry, "RETRY_STATE_"),
        "source": failure.get("source") or None,
        "cause": failure_info(failure.get("cause"), depth + 1),
    }


def _attributes(event: dict) -> dict:
    for key, value in event.items():
        if key.endswith("EventAttributes") and isinstance(value, dict):
            return value
    return {}


def _short_pending_state(value: Any) -> str:
    text = str(value or "").removeprefix("PENDING_ACTIVITY_STATE_")
    return "".join(p.capitalize() for p in text.lower().split("_")) or "Scheduled"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


#: The fields wfctl reads, and the types Temporal's HTTP API (protojson: 64-bit integers as strings) gives them.
EXECUTION_FIELDS = {
    "execution": dict,
    "type": dict,
    "status": str,
    "startTime": str,
    "closeTime": str,
    "executionTime": str,
    "historyLength": (str, int),
    "taskQueue": str,
    "memo": dict,
    "searchAttributes": dict,
    "parentExecution": dict,
    "firstRunId": str,
    "historySizeBytes": (str, int),
    "stateTransitionCount": (str, int),
    "executionDuration": str,
}
EVENT_FIELDS = {"eventId": (str, int), "eventType": str, "eventTime": str}


def history_events(body: dict, what: str) -> list[dict]:
    """The ``history.events`` of a history answer; an answer of another shape is an UnavailableError."""
    history = body.get("history")
    if history is None:
        return []
    events = history.get("events") if isinstance(history, dict) else None
    if events is None and isinstance(history, dict):
        return []
    if not isinstance(events, list):
        raise UnavailableError(f"Temporal answered the history of {what} without a list of events in history.events")
    from ..http import check_fields

    for event in events:
        check_fields("Temporal", f"the history of {what}", event, EVENT_FIELDS)
    return events


# ----------------------------------------------------------------------------------------------------------
# history analysis (get)


class _History:
    """What ``get`` reads from the events: input, close event, steps, timers."""

    def __init__(self) -> None:
        self.input: Any = None
        self.close: dict | None = None
        self.cancel_cause: str | None = None
        self.last_time: datetime | None = None
        self.steps: dict[str, Step] = {}  # keyed by scheduled/initiated event id
        self.activity_keys: dict[str, str] = {}  # activityId -> latest scheduled event id
        self.timers: dict[str, Wait] = {}
        self.count = 0
        self.started: dict = {}  # the WorkflowExecutionStarted attributes
        self.started_time: datetime | None = None
        self.task_failure: dict | None = None  # the last WorkflowTaskFailed since a task completed

    def add(self, event: dict) -> None:
        self.count += 1
        kind = short_event_type(event.get("eventType"))
        attrs = _attributes(event)
        when = _time(event.get("eventTime"))
        eid = str(event.get("eventId") or "")
        self.last_time = when or self.last_time
        if kind == "WorkflowExecutionStarted":
            self.input = unwrap(decode_payloads(attrs.get("input")))
            self.started, self.started_time = attrs, when
        elif kind in ("WorkflowTaskFailed", "WorkflowTaskTimedOut"):
            self.task_failure = event
        elif kind == "WorkflowTaskCompleted":
            self.task_failure = None
        elif kind in _CLOSE_EVENTS:
            self.close = event
        elif kind == "WorkflowExecutionCancelRequested":
            self.cancel_cause = attrs.get("cause") or self.cancel_cause
        elif kind == "ActivityTaskScheduled":
            activity_id = str(attrs.get("activityId") or eid)
            self.steps[eid] = Step(
                stepId=activity_id,
                stepName=(attrs.get("activityType") or {}).get("name"),
                status=PENDING,
                rawStatus="Scheduled",
                startedAt=when,
                input=unwrap(decode_payloads(attrs.get("input"))),
                maxAttempts=_int((attrs.get("retryPolicy") or {}).get("maximumAttempts")) or None,
            )
            self.activity_keys[activity_id] = eid
        elif kind.startswith("ActivityTask"):
            step = self.steps.get(str(attrs.get("scheduledEventId") or ""))
            if step is not None:
                self._activity_update(step, kind, attrs, when)
        elif kind == "StartChildWorkflowExecutionInitiated":
            self.steps[eid] = Step(
                stepId=attrs.get("workflowId"),
                stepName=(attrs.get("workflowType") or {}).get("name"),
                status=PENDING,
                rawStatus="Initiated",
                startedAt=when,
                input=unwrap(decode_payloads(attrs.get("input"))),
            )
        elif kind == "StartChildWorkflowExecutionFailed" or kind.startswith("ChildWorkflowExecution"):
            step = self.steps.get(str(attrs.get("initiatedEventId") or ""))
            if step is not None:
                self._child_update(step, kind, attrs, when)
        elif kind == "TimerStarted":
            timer_id = str(attrs.get("timerId") or eid)
            seconds = parse_duration_s(attrs.get("startToFireTimeout"))
            resume = when + timedelta(seconds=seconds) if (when and seconds is not None) else None
            self.timers[timer_id] = Wait(correlationId=timer_id, resumeAt=resume, status=WAITING)
        elif kind in ("TimerFired", "TimerCanceled"):
            wait = self.timers.get(str(attrs.get("timerId") or ""))
            if wait is not None:
                wait.status = COMPLETED if kind == "TimerFired" else CANCELLED
                wait.completedAt = when

    @staticmethod
    def _activity_update(step: Step, kind: str, attrs: dict, when: datetime | None) -> None:
        if kind == "ActivityTaskStarted":
            step.status, step.rawStatus = RUNNING, "Started"
            step.attempt = _int(attrs.get("attempt")) or step.attempt
            if attrs.get("lastFailure"):
                step.error = failure_error(attrs.get("lastFailure"))
        elif kind == "ActivityTaskCompleted":
            step.status, step.rawStatus, step.completedAt = COMPLETED, "Completed", when
            step.output = unwrap(decode_payloads(attrs.get("result")))
            step.error = None
        elif kind in ("ActivityTaskFailed", "ActivityTaskTimedOut"):
            step.status, step.completedAt = FAILED, when
            step.rawStatus = "Failed" if kind == "ActivityTaskFailed" else "TimedOut"
            step.error = failure_error(attrs.get("failure")) or RunError(message=step.rawStatus)
        elif kind == "ActivityTaskCancelRequested":
            step.rawStatus = "CancelRequested"
        elif kind == "ActivityTaskCanceled":
            step.status, step.rawStatus, step.completedAt = CANCELLED, "Canceled", when

    @staticmethod
    def _child_update(step: Step, kind: str, attrs: dict, when: datetime | None) -> None:
        if kind == "StartChildWorkflowExecutionFailed":
            step.status, step.rawStatus, step.completedAt = FAILED, "StartFailed", when
            step.error = RunError(message=str(attrs.get("cause") or "start failed"), code="StartFailed")
        elif kind == "ChildWorkflowExecutionStarted":
            step.status, step.rawStatus = RUNNING, "Running"
        elif kind == "ChildWorkflowExecutionCompleted":
            step.status, step.rawStatus, step.completedAt = COMPLETED, "Completed", when
            step.output = unwrap(decode_payloads(attrs.get("result")))
        elif kind == "ChildWorkflowExecutionFailed":
            step.status, step.rawStatus, step.completedAt = FAILED, "Failed", when
            step.error = failure_error(attrs.get("failure"))
        elif kind == "ChildWorkflowExecutionTimedOut":
            step.status, step.rawStatus, step.completedAt = FAILED, "TimedOut", when
            step.error = RunError(message="child workflow timed out", code="TimedOut")
        elif kind in ("ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTerminated"):
            raw = "Canceled" if kind.endswith("Canceled") else "Terminated"
            step.status, step.rawStatus, step.completedAt = CANCELLED, raw, when


def _timeout_fired(run_start: datetime | None, started: dict) -> tuple[str, float | None]:
    """Which of a timed-out workflow's timeouts fired — ``execution`` or ``run`` — and its length in seconds.

    The close event does not say; the started event holds both timeouts and the execution's expiration
    time: the run timeout fired when the run's own deadline (its start + ``workflowRunTimeout``) came before
    the execution's (``workflowExecutionExpirationTime``); when they coincide (a run timeout defaults to the
    execution timeout) the execution's is the one named."""
    run_s = parse_duration_s(started.get("workflowRunTimeout")) or None
    exec_s = parse_duration_s(started.get("workflowExecutionTimeout")) or None
    if run_s is None:
        return "execution", exec_s
    if exec_s is None:
        return "run", run_s
    expires = _time(started.get("workflowExecutionExpirationTime"))
    if run_start is not None and expires is not None:
        run_deadline = run_start + timedelta(seconds=run_s)
        if run_deadline < expires - timedelta(milliseconds=500):
            return "run", run_s
        return "execution", exec_s
    return ("run", run_s) if run_s < exec_s else ("execution", exec_s)


def _seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:g}s"


def close_outcome(
    event: dict, cancel_cause: str | None = None, started: dict | None = None, run_start: datetime | None = None
) -> tuple[str, Any, RunError | None, dict]:
    """(rawStatus, output, error, extra) from a close event; ``started``: the WorkflowExecutionStarted
    attributes (they say which timeout a timed-out run had), ``run_start``: that event's time."""
    kind = short_event_type(event.get("eventType"))
    attrs = _attributes(event)
    raw = _CLOSE_EVENTS.get(kind, "Completed")
    extra: dict[str, Any] = {}
    output: Any = None
    error: RunError | None = None
    if raw == "Completed":
        output = unwrap(decode_payloads(attrs.get("result")))
    elif raw == "Failed":
        error = failure_error(attrs.get("failure")) or RunError(message="workflow failed")
        info = failure_info(attrs.get("failure"))
        if info is not None:
            extra["failure"] = info
    elif raw == "TimedOut":
        kind, seconds = _timeout_fired(run_start, started or {})
        length = f" of {_seconds_text(seconds)}" if seconds is not None else ""
        error = RunError(message=f"the workflow {kind} timeout{length} fired", code="TimedOut")
        extra["failure"] = {
            "message": error.message,
            "type": "Timeout",
            "nonRetryable": None,
            "details": None,
            "timeoutType": "WorkflowExecution" if kind == "execution" else "WorkflowRun",
            "retryState": _enum_word(attrs.get("retryState"), "RETRY_STATE_"),
            "source": "Server",
            "cause": None,
        }
        extra["timeoutSeconds"] = seconds
    elif raw == "Terminated":
        reason = attrs.get("reason")
        error = RunError(message=f"terminated: {reason}" if reason else "terminated", code="Terminated")
    elif raw == "Canceled":
        error = RunError(message=f"cancelled: {cancel_cause}" if cancel_cause else "cancelled", code="Canceled")
        details = decode_payloads(attrs.get("details"))
        if details:
            output = unwrap(details)
    elif raw == "ContinuedAsNew":
        if attrs.get("newExecutionRunId"):
            extra["newExecutionRunId"] = attrs["newExecutionRunId"]
    return raw, output, error, extra


def task_failure(desc: dict, failed_event: dict | None) -> dict[str, Any] | None:
    """A workflow task that keeps failing (a bug in workflow code, a non-determinism error): the run stays
    ``Running`` while the server retries the task. Describe's ``pendingWorkflowTask.attempt`` counts the
    attempts (above 1 only after a failure); the history keeps the first failure of the streak as a
    ``WorkflowTaskFailed`` (or ``WorkflowTaskTimedOut``) event — later attempts are not written. None when
    the current task is not a retry."""
    pending = desc.get("pendingWorkflowTask")
    attempt = _int(pending.get("attempt")) if isinstance(pending, dict) else None
    if attempt is None or attempt < 2:
        return None
    attrs = _attributes(failed_event) if failed_event else {}
    failure = attrs.get("failure") if isinstance(attrs.get("failure"), dict) else None
    kind = short_event_type(failed_event.get("eventType")) if failed_event else None
    message = (failure or {}).get("message") or (
        "the workflow task timed out" if kind == "WorkflowTaskTimedOut" else None
    )
    info = failure_info(failure) if failure else None
    return {
        "attempt": attempt,
        "message": message,
        "type": (info or {}).get("type"),
        "cause": _enum_word(attrs.get("cause"), "WORKFLOW_TASK_FAILED_CAUSE_")
        or _enum_word(attrs.get("timeoutType"), "TIMEOUT_TYPE_"),
        "since": _time(failed_event.get("eventTime")) if failed_event else None,
        "stack": (failure or {}).get("stackTrace") or None,
    }


def task_failure_warning(problem: dict[str, Any]) -> str:
    message = (problem.get("message") or "no message").splitlines()[0]
    return f"the workflow task keeps failing (attempt {problem['attempt']}): {message}"


# ----------------------------------------------------------------------------------------------------------
# the backend


class TemporalBackend(HttpBackend):
    name = "temporal"
    label = "Temporal"
    auth_hint = "check the Temporal API key (WFCTL_TOKEN, the profile's token_env or token)"
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, TAIL, DASHBOARD, START, RERUN, RESUME})
    unsupported_reasons = {
        WAKE: "Temporal has no API to interrupt a workflow's timers; signal the workflow instead "
        "(wfctl resume RUN --signal NAME)",
    }

    def query_language(self) -> str | None:
        return "a Temporal visibility query"

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None, *, transport: Any = None):
        super().__init__(profile, ctx, transport=transport)  # an httpx transport, for unit tests
        self.namespace = str(profile.get("namespace") or "default")
        self._identity: str | None = None
        self._warned: set[str] = set()
        #: Where each live tail ended when it followed a chain of continue-as-new runs: the exact address of
        #: the last run, whose state is the chain's (see :meth:`final_run_id`).
        self._tail_ends: dict[str, str] = {}

    # -- plumbing ------------------------------------------------------------------------------------
    def client_options(self) -> dict[str, Any]:
        url = str(self.profile.get("url") or "").rstrip("/")
        if url.endswith(API):
            url = url[: -len(API)]
        return {"base_url": url or None}

    @property
    def identity(self) -> str:
        if self._identity is None:
            try:
                host = socket.gethostname()
            except OSError:  # pragma: no cover
                host = "unknown"
            self._identity = f"wfctl@{host}"
        return self._identity

    def _ns(self) -> str:
        return f"{API}/namespaces/{quote(self.namespace, safe='')}"

    def _wf(self, workflow_id: str) -> str:
        if "/" in workflow_id:
            raise UsageError(
                f"workflow id {workflow_id!r} contains '/', which Temporal's HTTP API cannot address",
                hint="use the temporal CLI (gRPC) for this workflow",
            )
        return f"{self._ns()}/workflows/{quote(workflow_id, safe='')}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        subject: str | None = None,
        params: dict | None = None,
        body: Any = None,
        expect: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> Any:
        """One request; Temporal's ``{code, message}`` errors become typed errors naming ``subject``."""
        if method == "GET":
            params = {**(params or {}), "noPayloadShorthand": "true"}
        if params is not None:
            params = {k: v for k, v in params.items() if v is not None and v != ""}
        response = self.http.request(method, path, params=params, json=body, expect=(400, 404, 409) + expect, **kwargs)
        if response.status_code in expect:
            return response
        if response.status_code >= 400:
            raise self._error(response, subject)
        body = self.http.decode_json(response)
        if body is None:
            return {}
        if not isinstance(body, dict):
            from ..http import json_type

            raise UnavailableError(
                f"Temporal answered {method} {response.request.url.path} with "
                f"{json_type(body)} where its API has an object"
            )
        return body

    def _error(self, response: Any, subject: str | None) -> WfctlError:
        status = response.status_code
        message = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or "")
        if status == 404:
            if "namespace" in message.lower() and "not found" in message.lower():
                return NotFoundError(
                    f"unknown Temporal namespace {self.namespace!r}",
                    hint="set the profile's namespace (wfctl config set namespace NAME) or pass --namespace",
                )
            if message == "Not Found" and not subject:
                return NotFoundError(
                    f"Temporal has no HTTP route {response.request.url.path}",
                    hint="is the URL Temporal's HTTP API (the --http-port of temporal server "
                    "start-dev), not its gRPC port or the web UI?",
                )
            if subject:
                return NotFoundError(
                    f"unknown workflow {subject!r} in namespace {self.namespace!r}",
                    hint=None
                    if message in ("", "Not Found") or "not found" in message.lower()
                    else f"Temporal said: {message}",
                )
            return NotFoundError(f"Temporal: {message or 'not found'}")
        if status == 409:
            return UsageError(f"Temporal: {message or 'conflict'}")
        return UsageError(f"Temporal rejected the request: {message or f'HTTP {status}'}")

    # -- describe / mapping ----------------------------------------------------------------------------
    def _describe(self, run_id: str) -> tuple[dict, str]:
        """describe for a wfctl run id; returns (response, the workflow id used)."""
        workflow_id, execution = split_address(run_id)
        try:
            return self._send(
                "GET", self._wf(workflow_id), subject=run_id, params={"execution.runId": execution}
            ), workflow_id
        except NotFoundError:
            if execution is None:
                raise
        # "a:<uuid>" may be a workflow id with a colon in it.
        return self._send("GET", self._wf(run_id), subject=run_id), run_id

    def _run(self, info: dict, run_id: str | None = None, what: str = "the list of workflows") -> Run:
        from ..http import check_fields

        check_fields("Temporal", what, info, EXECUTION_FIELDS)
        check_fields("Temporal", what, info.get("execution") or {}, {"workflowId": str, "runId": str})
        check_fields("Temporal", what, info.get("type") or {}, {"name": str})
        execution = info.get("execution") or {}
        workflow_id = execution.get("workflowId")
        execution_run = execution.get("runId")
        raw = raw_status(info.get("status"))
        if run_id is None:
            run_id = f"{workflow_id}:{execution_run}" if raw == "ContinuedAsNew" and execution_run else workflow_id
        created = _time(info.get("startTime"))
        closed = _time(info.get("closeTime"))
        extra: dict[str, Any] = {"runId": execution_run}
        if info.get("taskQueue"):
            extra["taskQueue"] = info["taskQueue"]
        if _int(info.get("historyLength")) is not None:
            extra["historyLength"] = _int(info.get("historyLength"))
        parent = info.get("parentExecution")
        if isinstance(parent, dict) and parent.get("workflowId"):
            extra["parentWorkflowId"] = parent.get("workflowId")
            extra["parentRunId"] = parent.get("runId")
        memo = decode_fields(info.get("memo"))
        if memo:
            extra["memo"] = memo
        search = decode_fields(info.get("searchAttributes"))
        if search:
            extra["searchAttributes"] = search
        return Run(
            runId=str(run_id or ""),
            backend=self.name,
            workflowName=(info.get("type") or {}).get("name"),
            workflowId=workflow_id,
            status=normalized_status(raw),
            rawStatus=raw,
            createdAt=created,
            startedAt=_time(info.get("executionTime")) or created,
            completedAt=closed,
            updatedAt=closed,
            extra=extra,
        )

    def _describe_run(self, run_id: str) -> tuple[Run, dict, str]:
        desc, workflow_id = self._describe(run_id)
        info = desc.get("workflowExecutionInfo")
        if not isinstance(info, dict) or not isinstance(info.get("execution"), dict):
            raise UnavailableError(
                f"Temporal answered the describe of {run_id!r} without a workflowExecutionInfo.execution object"
            )
        from ..http import check_fields

        check_fields(
            "Temporal", f"the describe of {run_id!r}", desc, {"pendingActivities": list, "pendingChildren": list}
        )
        run = self._run(info, run_id, f"the describe of {run_id!r}")
        run.extra["namespace"] = self.namespace
        return run, desc, workflow_id

    # -- get / status ----------------------------------------------------------------------------------
    @reads_answers("the describe of {0}")
    def get_status(self, run_id: str) -> Run:
        run, desc, workflow_id = self._describe_run(run_id)
        pending = desc.get("pendingWorkflowTask")
        if not run.terminal and isinstance(pending, dict) and (_int(pending.get("attempt")) or 0) >= 2:
            problem = task_failure(desc, self._last_task_failure(workflow_id, run.extra.get("runId"), run_id))
            if problem is not None:
                run.extra["workflowTaskFailure"] = problem
                run.warnings.append(task_failure_warning(problem))
                self._warn_once(f"{run_id}: {run.warnings[-1]}")
        return run

    def _warn_once(self, message: str) -> None:
        """A warning on stderr, once per message (``status --wait`` asks for the status again and again)."""
        if message not in self._warned:
            self._warned.add(message)
            self.ctx.warn(message)

    def _last_task_failure(self, workflow_id: str, execution_run: str | None, subject: str) -> dict | None:
        """The newest WorkflowTaskFailed/TimedOut event, read backwards until a completed task (then None)."""
        token: str | None = None
        seen = 0
        while seen < 1000:
            body = self._send(
                "GET",
                f"{self._wf(workflow_id)}/history-reverse",
                subject=subject,
                params={"execution.runId": execution_run, "maximumPageSize": 50, "nextPageToken": token},
            )
            for event in history_events(body, subject):
                seen += 1
                kind = short_event_type(event.get("eventType"))
                if kind in ("WorkflowTaskFailed", "WorkflowTaskTimedOut"):
                    return event
                if kind == "WorkflowTaskCompleted":
                    return None
            token = body.get("nextPageToken")
            if not token:
                return None
        return None

    @reads_answers("the describe and history of {0}")
    def get_run(self, run_id: str) -> Run:
        run, desc, workflow_id = self._describe_run(run_id)
        info = desc.get("workflowExecutionInfo") or {}
        execution_run = run.extra.get("runId")
        history = _History()
        truncated = False
        for page in self._history_pages(workflow_id, execution_run, page_size=HISTORY_PAGE_SIZE):
            for event in page:
                history.add(event)
            if history.count >= HISTORY_SCAN_LIMIT:
                truncated = True
                break
        if truncated and history.close is None and run.status != RUNNING:
            history.close = self._close_event(workflow_id, execution_run, run_id)
        run.input = history.input
        if history.close is not None:
            raw, run.output, run.error, extra = close_outcome(
                history.close, history.cancel_cause, history.started, history.started_time
            )
            run.extra.update(extra)
            if run.rawStatus != raw:  # describe raced the close: the close event wins
                run.rawStatus, run.status = raw, normalized_status(raw)
                run.completedAt = _time(history.close.get("eventTime")) or run.completedAt
        run.updatedAt = run.completedAt or history.last_time
        # steps: history, overlaid with describe's pending activities
        for pending in desc.get("pendingActivities") or []:
            activity_id = str(pending.get("activityId") or "")
            key = history.activity_keys.get(activity_id)
            step = history.steps.get(key) if key else None
            if step is None:
                step = Step(
                    stepId=activity_id,
                    stepName=(pending.get("activityType") or {}).get("name"),
                    startedAt=_time(pending.get("scheduledTime")),
                )
                history.steps[f"pending:{activity_id}"] = step
            state = _short_pending_state(pending.get("state"))
            step.rawStatus = state
            step.attempt = _int(pending.get("attempt")) or step.attempt
            # waiting for a worker on its first attempt: pending; retrying, started, cancelling: running
            step.status = (
                PENDING if state == "Paused" or (state == "Scheduled" and (step.attempt or 1) <= 1) else RUNNING
            )
            if pending.get("lastFailure"):
                step.error = failure_error(pending.get("lastFailure"))
            step.maxAttempts = (
                _int(pending.get("maximumAttempts"))
                or step.maxAttempts
                or _int(((pending.get("activityOptions") or {}).get("retryPolicy") or {}).get("maximumAttempts"))
            )
            step.maxAttempts = step.maxAttempts or None  # 0: unlimited
            step.nextAttemptAt = _time(pending.get("nextAttemptScheduleTime"))
        run.steps = list(history.steps.values())
        problem = task_failure(desc, history.task_failure) if not run.terminal else None
        if problem is not None:
            run.extra["workflowTaskFailure"] = problem
            run.warnings.append(task_failure_warning(problem))
        continued_from = history.started.get("continuedExecutionRunId")
        if continued_from:
            run.extra["continuedExecutionRunId"] = continued_from
        for wait in history.timers.values():
            if wait.status == WAITING and run.terminal:
                wait.status, wait.completedAt = CANCELLED, run.completedAt
        run.waits = list(history.timers.values())
        extra = run.extra
        if info.get("firstRunId") and info.get("firstRunId") != extra.get("runId"):
            extra["firstRunId"] = info.get("firstRunId")
        for key in ("historySizeBytes", "stateTransitionCount"):
            if _int(info.get(key)) is not None:
                extra[key] = _int(info.get(key))
        if info.get("executionDuration"):
            extra["executionDuration"] = parse_duration_s(info.get("executionDuration"))
        search = decode_fields(info.get("searchAttributes"))
        if search:
            extra["searchAttributes"] = search
        if desc.get("pendingChildren"):
            extra["pendingChildren"] = len(desc["pendingChildren"])
        if truncated:
            extra["historyTruncated"] = True
        return run

    def _history_pages(
        self, workflow_id: str, execution_run: str | None, *, page_size: int, subject: str | None = None
    ) -> Iterator[list[dict]]:
        token: str | None = None
        while True:
            body = self._send(
                "GET",
                f"{self._wf(workflow_id)}/history",
                subject=subject or workflow_id,
                params={"execution.runId": execution_run, "maximumPageSize": page_size, "nextPageToken": token},
            )
            yield history_events(body, subject or workflow_id)
            token = body.get("nextPageToken")
            if not token:
                return

    def _long_poll(self) -> tuple[float, float]:
        """(server-side window, read slack above it) of one history long-poll: at most the profile's timeout."""
        timeout = self.http.read_timeout
        return min(LONG_POLL_SECONDS, timeout), min(LONG_POLL_SLACK, max(0.5, timeout / 2))

    # -- waiting ---------------------------------------------------------------------------------------
    @reads_answers("a history long-poll")
    def wait_for_change(self, run: Run, interval: float) -> None:
        """Long-poll the history for the execution's close event, for at most ``interval`` seconds."""
        workflow_id = run.workflowId or split_address(run.runId)[0]
        execution_run = run.extra.get("runId") or split_address(run.runId)[1]
        deadline = time.monotonic() + max(0.0, interval)
        token: str | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # The server answers (empty) about a second before its deadline: ask for remaining + 1 s
            # (at most a minute per poll; Grpc-Timeout takes 8 digits).
            window = min(remaining, 60.0) + 1.0
            began = time.monotonic()
            try:
                body = self._send(
                    "GET",
                    f"{self._wf(workflow_id)}/history",
                    subject=run.runId,
                    params={
                        "execution.runId": execution_run,
                        "waitNewEvent": "true",
                        "nextPageToken": token,
                        "historyEventFilterType": "HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT",
                    },
                    headers={"Grpc-Timeout": f"{max(1, int(window * 1000))}m"},
                    timeout=window + min(2.0, max(0.5, self.http.read_timeout / 2)),
                    retry=False,
                )
            except UnavailableError:
                return  # a timeout or a drop: the caller's next status check reports a real outage
            if history_events(body, run.runId) or not body.get("nextPageToken"):
                return  # closed (or nothing more to wait for)
            token = body.get("nextPageToken")
            if time.monotonic() - began < 0.05:  # a server that does not hold the poll: do not spin
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    # -- list ------------------------------------------------------------------------------------------
    @reads_answers("the list of workflows")
    def list_runs(self, query: ListQuery) -> RunPage:
        if query.sort == "asc":
            raise UnsupportedError(
                "Temporal lists runs in a fixed order (running first, then the most recently "
                "closed) and cannot sort them oldest first",
                hint="drop --sort asc; use --since/--until to narrow the window",
            )
        visibility = build_query(query)
        if isinstance(visibility, _Nothing):
            return RunPage([], None, False)
        token = page_token(query.cursor, visibility) if query.cursor else None
        try:
            body = self._send(
                "GET",
                f"{self._ns()}/workflows",
                params={"query": visibility, "pageSize": query.limit, "nextPageToken": token},
            )
        except UsageError as exc:
            if query.cursor and "page_token" in exc.message:
                raise UsageError(
                    f"invalid --cursor for Temporal ({exc.message})",
                    hint="use the cursor wfctl printed for the same filters",
                ) from None
            raise UsageError(
                exc.message.replace(
                    "Temporal rejected the request", f"Temporal rejected the visibility query {visibility!r}"
                ),
                hint="see Temporal's list filter syntax: https://docs.temporal.io/list-filter",
            ) from None
        executions = body.get("executions") or []
        if not isinstance(executions, list) or not all(isinstance(info, dict) for info in executions):
            raise UnavailableError("Temporal answered the list of workflows without a list of execution objects")
        runs = [self._run(info) for info in executions]
        self._address_older(runs)
        token = body.get("nextPageToken") or None
        return RunPage(runs, cursor_for(visibility, token) if token else None, bool(token))

    def _page(self, visibility: str, size: int, token: str | None = None) -> tuple[list[Run], str | None]:
        """One page of a visibility query as runs (ids not yet addressed), and the next page token."""
        body = self._send(
            "GET", f"{self._ns()}/workflows", params={"query": visibility, "pageSize": size, "nextPageToken": token}
        )
        executions = body.get("executions") or []
        if not isinstance(executions, list) or not all(isinstance(info, dict) for info in executions):
            raise UnavailableError("Temporal answered the list of workflows without a list of execution objects")
        return [self._run(info) for info in executions], body.get("nextPageToken") or None

    def _address_older(self, runs: list[Run]) -> None:
        """Give every execution that is not the latest of its workflow id the ``WORKFLOW_ID:RUN_ID`` form, so
        that each printed id resolves to the row it came from (a bare id means the latest execution).

        A running execution is the latest of its id (an id has at most one open execution). For a closed
        one, one visibility query asks which ids have an execution started at or after it other than itself;
        an id whose answer does not come back in full keeps the exact form (it always resolves)."""
        candidates: dict[str, Run] = {}
        running = {r.workflowId for r in runs if r.rawStatus == "Running"}
        for run in runs:
            workflow_id, execution = run.workflowId, run.extra.get("runId")
            if not workflow_id or not execution or run.rawStatus in ("Running", "ContinuedAsNew"):
                continue
            if workflow_id in candidates or workflow_id in running:
                run.runId = f"{workflow_id}:{execution}"  # a newer row of the same id is on this page
                continue
            candidates[workflow_id] = run
        newer: set[str] = set()
        unresolved = False
        for chunk in _chunks(list(candidates.values()), 50):
            clauses = []
            for run in chunk:
                clause = (
                    f"WorkflowId = {quote_value(run.workflowId or '')} AND RunId != {quote_value(run.extra['runId'])}"
                )
                if run.createdAt is not None:
                    clause += f" AND StartTime >= {quote_value(query_time(run.createdAt))}"
                clauses.append(f"({clause})")
            token: str | None = None
            for _page in range(10):
                found, token = self._page(" OR ".join(clauses), 1000, token)
                newer.update(r.workflowId for r in found if r.workflowId)
                if not token:
                    break
            else:
                unresolved = unresolved or bool(token)
        for workflow_id, run in candidates.items():
            if workflow_id in newer or unresolved:
                run.runId = f"{workflow_id}:{run.extra['runId']}"

    # -- counts ----------------------------------------------------------------------------------------
    @reads_answers("the workflow counts")
    def counts(self, workflow: str | None = None) -> Counts:
        base = f"WorkflowType = {quote_value(workflow)}" if workflow else ""
        counts = {s: 0 for s in STATUSES}
        try:
            body = self._send(
                "GET",
                f"{self._ns()}/workflow-count",
                params={"query": (base + " " if base else "") + "GROUP BY ExecutionStatus"},
            )
            groups = body.get("groups")
            if groups is None and _int(body.get("count")):
                raise UsageError("no groups in the answer")  # a server that ignored GROUP BY
        except UsageError:
            total = 0
            apart = {}
            groups_by_key = [
                (status, tuple(r for r in raws if r not in APART)) for status, raws in _BY_NORMALIZED.items()
            ]
            for key, raws in groups_by_key + [(raw, (raw,)) for raw in APART]:
                if not raws:
                    continue
                clause = "ExecutionStatus IN (" + ", ".join(quote_value(r) for r in raws) + ")"
                answer = self._send(
                    "GET", f"{self._ns()}/workflow-count", params={"query": f"{base} AND {clause}" if base else clause}
                )
                number = _int(answer.get("count")) or 0
                if key in APART:
                    apart[key] = number
                else:
                    counts[key] = number
                    total += number
            return Counts(counts, total, workflow, apart=apart)
        apart = {raw: 0 for raw in APART}
        for group in groups or []:
            values = group.get("groupValues") or []
            raw = raw_status(decode_payload(values[0])) if values else None
            if raw in APART:
                apart[raw] += _int(group.get("count")) or 0
                continue
            status = normalized_status(raw)
            counts[status] = counts.get(status, 0) + (_int(group.get("count")) or 0)
        answered = _int(body.get("count"))
        total = answered - sum(apart.values()) if answered is not None else sum(counts.values())
        return Counts(counts, total, workflow, apart=apart)

    # -- the dashboard's runs --------------------------------------------------------------------------
    @reads_answers("the list of workflows")
    def recent_runs(self, limit: int = 10, workflow: str | None = None) -> list[Run]:
        """The ``limit`` runs started last, newest first. Temporal lists running executions first (newest
        first) and then closed ones by close time, and refuses ``ORDER BY``; so: the newest running ones, the
        most recently closed ones, and then every closed one started since the ``limit``-th newest start
        among those (a run started later closed later still, or is running), merged by start time."""
        base = f"WorkflowType = {quote_value(workflow)} AND " if workflow else ""
        running, _ = self._page(base + "ExecutionStatus = 'Running'", limit)
        closed, _ = self._page(base + "ExecutionStatus != 'Running'", limit)
        far = datetime.min.replace(tzinfo=timezone.utc)
        merged = sorted(running + closed, key=lambda r: r.createdAt or far, reverse=True)
        oldest = merged[limit - 1].createdAt if len(merged) >= limit else None
        if oldest is not None:
            since = quote_value(query_time(oldest))
            closed, token = [], None
            for _page in range(10):
                found, token = self._page(base + f"ExecutionStatus != 'Running' AND StartTime >= {since}", 1000, token)
                closed.extend(found)
                if not token:
                    break
            merged = sorted(running + closed, key=lambda r: r.createdAt or far, reverse=True)
        recent = merged[:limit]
        self._address_older(recent)
        return recent

    @reads_answers("the latest failures")
    def recent_failures(self, limit: int = 5, workflow: str | None = None) -> list[Run]:
        """The last failed and timed-out runs (newest close first), each with its error read from its close
        event — visibility rows carry no failure."""
        base = f"WorkflowType = {quote_value(workflow)} AND " if workflow else ""
        failed, _ = self._page(base + "ExecutionStatus IN ('Failed', 'TimedOut')", limit)
        self._address_older(failed)
        for run in failed:
            workflow_id, execution = run.workflowId or run.runId, run.extra.get("runId")
            try:
                close = self._close_event(workflow_id, execution, run.runId)
            except (NotFoundError, UsageError):
                continue  # deleted meanwhile, or an id the HTTP API cannot address: shown without a message
            if close is not None:
                started = {}
                if short_event_type(close.get("eventType")) == "WorkflowExecutionTimedOut":
                    started = self._started_attributes(workflow_id, execution, run.runId)
                _raw, _output, run.error, extra = close_outcome(close, None, started, run.createdAt)
                run.extra.update(extra)
        return failed

    def _close_event(self, workflow_id: str, execution: str | None, subject: str) -> dict | None:
        """The execution's close event (the history filtered to it), or None while it is open."""
        body = self._send(
            "GET",
            f"{self._wf(workflow_id)}/history",
            subject=subject,
            params={"execution.runId": execution, "historyEventFilterType": "HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT"},
        )
        events = history_events(body, subject)
        return events[-1] if events else None

    def _started_attributes(self, workflow_id: str, execution: str | None, subject: str) -> dict:
        body = self._send(
            "GET",
            f"{self._wf(workflow_id)}/history",
            subject=subject,
            params={"execution.runId": execution, "maximumPageSize": 1},
        )
        events = history_events(body, subject)
        return _attributes(events[0]) if events else {}

    # -- cancel ----------------------------------------------------------------------------------------
    @reads_answers("a cancel")
    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        terminate = bool(options.get("terminate"))
        return [self._cancel_one(run_id, reason, terminate) for run_id in run_ids]

    def _cancel_one(self, run_id: str, reason: str | None, terminate: bool) -> CancelOutcome:
        try:
            run, _desc, workflow_id = self._describe_run(run_id)
        except NotFoundError as exc:
            return CancelOutcome(run_id, "not_found", exc.message)
        except WfctlError as exc:
            return CancelOutcome(run_id, "error", exc.message)
        if run.terminal:
            return CancelOutcome(run_id, "already_completed", f"already {run.rawStatus}", run.status)
        body: dict[str, Any] = {"identity": self.identity, "workflowExecution": {"runId": run.extra.get("runId")}}
        if reason:
            body["reason"] = reason
        action = "terminate" if terminate else "cancel"
        if not terminate:
            body["requestId"] = str(uuid.uuid4())
        try:
            response = self._send(
                "POST", f"{self._wf(workflow_id)}/{action}", subject=run_id, body=body, expect=(404,), retry=True
            )
        except WfctlError as exc:
            return CancelOutcome(run_id, "error", exc.message, run.status)
        if not isinstance(response, dict):  # 404
            message = ""
            try:
                message = str(response.json().get("message") or "")
            except (ValueError, AttributeError):
                pass
            if "already completed" in message:
                return CancelOutcome(run_id, "already_completed", "already finished", None)
            return CancelOutcome(run_id, "not_found", f"unknown workflow {run_id!r} in namespace {self.namespace!r}")
        if terminate:
            return CancelOutcome(run_id, "cancelled", "terminated" + (f": {reason}" if reason else ""), CANCELLED)
        return CancelOutcome(run_id, "cancelled", "cancellation requested" + (f": {reason}" if reason else ""), RUNNING)

    # -- tail ------------------------------------------------------------------------------------------
    @reads_answers("the history of {0}")
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        if request.stream is not None:
            raise UnsupportedError(
                "Temporal runs have no output stream; tail reads the event history", hint="drop --stream"
            )
        after = 0
        execution: str | None = None
        if request.offset not in (None, ""):
            head, _sep, text = str(request.offset).rpartition(":")
            if not text.isdigit() or (head and not _UUID.match(head)):
                raise UsageError(
                    f"invalid --offset {request.offset!r} for Temporal",
                    hint="use an offset printed by wfctl tail: an event id, or RUN_ID:EVENT_ID for a later run "
                    "of a continue-as-new chain",
                )
            after, execution = int(text), head or None
        last = request.last
        first_index = None
        if request.start_index is not None:
            if request.start_index < 0:
                last = -request.start_index if last is None else min(last, -request.start_index)
            else:
                first_index = request.start_index
        return self._tail(run_id, after, first_index, last, list(request.types), request.live, execution)

    def final_run_id(self, run_id: str) -> str:
        """The id whose state ends a tail of ``run_id``: after a live tail that followed a chain of
        continue-as-new runs, the exact address of the chain's last run (else ``run_id`` itself)."""
        return self._tail_ends.get(run_id, run_id)

    def _tail(
        self,
        run_id: str,
        after: int,
        first_index: int | None,
        last: int | None,
        types: list[str],
        live: bool,
        execution: str | None = None,
    ) -> Iterator[Event]:
        """The events of one execution; live, those of every run it continues as, to the end of the chain.

        Events of a run reached through the chain (or named by an ``--offset RUN_ID:N``) carry that run's
        exact address as ``runId`` and ``RUN_ID:EVENT_ID`` as offset (event ids start again at 1 in each
        run), so a resumed tail starts in the right run."""
        workflow_id, execution_run = split_address(run_id)
        history_length = None
        if live or execution_run is not None or execution is not None:
            # Pin the execution so a reconnect (or a continue-as-new) never switches runs under us.
            run, _desc, workflow_id = self._describe_run(run_id)
            execution_run = run.extra.get("runId")
            history_length = run.extra.get("historyLength")
        qualified = False
        if execution is not None and execution != execution_run:
            execution_run, history_length, qualified = execution, None, True
        names: dict[str, tuple[str | None, str | None]] = {}  # scheduledEventId -> (activityId, type)

        def wanted(event: Event) -> bool:
            index = event.index or 0
            return (
                index > after
                and (first_index is None or index >= first_index)
                and type_matches(event.type or "", types)
            )

        if last is not None and not live:
            subject = f"{workflow_id}:{execution_run}" if qualified else run_id
            for event in self._tail_last(subject, workflow_id, execution_run, last, wanted):
                if qualified:
                    event.offset = f"{execution_run}:{event.index}"
                yield event
            return
        # Live with --last N: keep the last N of the events that existed when the tail began (the
        # execution's historyLength), then print everything new. deque(maxlen=0) makes --last 0 "new only".
        buffer: deque[Event] | None = deque(maxlen=last) if last is not None else None
        while True:
            subject = f"{workflow_id}:{execution_run}" if qualified else run_id
            next_run: str | None = None
            for raw in self._history_stream(subject, workflow_id, execution_run, live):
                event = self._event(subject, raw, names)
                if qualified:
                    event.offset = f"{execution_run}:{event.index}"
                if event.type == "WorkflowExecutionContinuedAsNew":
                    next_run = _attributes(raw).get("newExecutionRunId") or None
                if wanted(event):
                    if buffer is None:
                        yield event
                    else:
                        buffer.append(event)
                if buffer is not None and history_length is not None and (event.index or 0) >= history_length:
                    yield from buffer
                    buffer = None
            if buffer is not None:
                yield from buffer
                buffer = None
            if not (live and next_run):
                break
            # Follow the chain: every event of the next run (filters by position applied to the first only).
            execution_run, qualified, after, first_index, names = next_run, True, 0, None, {}
            self._tail_ends[run_id] = f"{workflow_id}:{execution_run}"

    def _history_stream(self, run_id: str, workflow_id: str, execution_run: str | None, live: bool) -> Iterator[dict]:
        """History events in order, each once; live: long-poll until the close event."""
        token: str | None = None
        last_id = 0
        failures = 0
        window, slack = self._long_poll()
        outage = self.http.read_timeout  # a live tail gives up once the server has been gone this long
        answered = time.monotonic()
        while True:
            params: dict[str, Any] = {
                "execution.runId": execution_run,
                "maximumPageSize": HISTORY_PAGE_SIZE,
                "nextPageToken": token,
            }
            kwargs: dict[str, Any] = {}
            if live:
                params["waitNewEvent"] = "true"
                kwargs = {"headers": {"Grpc-Timeout": f"{max(1, int(window * 1000))}m"}, "timeout": window + slack}
            try:
                body = self._send("GET", f"{self._wf(workflow_id)}/history", subject=run_id, params=params, **kwargs)
            except UnavailableError:
                failures += 1
                gone = time.monotonic() - answered
                if not live or failures > MAX_RECONNECTS or gone >= outage:
                    raise
                from ..http import backoff_delay

                time.sleep(min(backoff_delay(failures, base=0.5), outage - gone))
                continue  # resume with the same page token
            failures = 0
            answered = time.monotonic()
            for event in history_events(body, run_id):
                event_id = _int(event.get("eventId")) or 0
                if event_id <= last_id:
                    continue  # never twice
                last_id = event_id
                yield event
            token = body.get("nextPageToken")
            if not token:
                return

    def _tail_last(
        self, run_id: str, workflow_id: str, execution_run: str | None, last: int, wanted: Any
    ) -> Iterator[Event]:
        """The last N matching events, read newest first (history-reverse); activity names resolved."""
        if last <= 0:
            return
        picked: list[dict] = []
        scheduled: dict[str, dict] = {}
        unresolved: set[str] = set()
        token: str | None = None
        names: dict[str, tuple[str | None, str | None]] = {}
        done = False
        while not done:
            body = self._send(
                "GET",
                f"{self._wf(workflow_id)}/history-reverse",
                subject=run_id,
                params={
                    "execution.runId": execution_run,
                    "maximumPageSize": min(HISTORY_PAGE_SIZE, max(last, 10)),
                    "nextPageToken": token,
                },
            )
            for raw in history_events(body, run_id):
                kind = short_event_type(raw.get("eventType"))
                eid = str(raw.get("eventId") or "")
                if kind == "ActivityTaskScheduled":
                    scheduled[eid] = raw
                    unresolved.discard(eid)
                if len(picked) < last:
                    probe = Event(index=_int(eid), type=kind)
                    if wanted(probe):
                        picked.append(raw)
                        ref = str(_attributes(raw).get("scheduledEventId") or "")
                        if kind.startswith("ActivityTask") and ref and ref not in scheduled:
                            unresolved.add(ref)
                if len(picked) >= last and not unresolved:
                    done = True
                    break
            token = body.get("nextPageToken")
            if not token:
                break
        for raw in scheduled.values():
            self._remember_activity(raw, names)
        for raw in reversed(picked):
            yield self._event(run_id, raw, names)

    @staticmethod
    def _remember_activity(raw: dict, names: dict[str, tuple[str | None, str | None]]) -> None:
        attrs = _attributes(raw)
        names[str(raw.get("eventId") or "")] = (attrs.get("activityId"), (attrs.get("activityType") or {}).get("name"))

    def _event(self, run_id: str, raw: dict, names: dict[str, tuple[str | None, str | None]]) -> Event:
        kind = short_event_type(raw.get("eventType"))
        attrs = _attributes(raw)
        event_id = _int(raw.get("eventId"))
        step_id = step_name = correlation = None
        if kind == "ActivityTaskScheduled":
            self._remember_activity(raw, names)
            step_id, step_name = names[str(raw.get("eventId") or "")]
        elif kind.startswith("ActivityTask"):
            step_id, step_name = names.get(str(attrs.get("scheduledEventId") or ""), (None, None))
        elif "ChildWorkflow" in kind:
            step_id = attrs.get("workflowId") or (attrs.get("workflowExecution") or {}).get("workflowId")
            step_name = (attrs.get("workflowType") or {}).get("name")
        elif kind.startswith("Timer"):
            correlation = attrs.get("timerId")
        elif kind in ("WorkflowExecutionSignaled", "SignalExternalWorkflowExecutionInitiated"):
            step_name = attrs.get("signalName")  # the line names the signal (display only, like a step's name)
        return Event(
            runId=run_id,
            offset=str(event_id) if event_id is not None else None,
            index=event_id,
            type=kind,
            time=_time(raw.get("eventTime")),
            stepId=step_id,
            correlationId=correlation,
            data=decode_tree(attrs),
            stepName=step_name,
        )

    # -- start -----------------------------------------------------------------------------------------
    @reads_answers("the start of a workflow")
    def start(self, request: StartRequest) -> Run:
        if request.env:
            raise UnsupportedError(
                "Temporal workflows have no environment variables; pass values in the input",
                hint="drop --env; use --input KEY=VALUE",
            )
        task_queue = request.task_queue or self.profile.get("task_queue")
        if not task_queue:
            raise UsageError(
                "Temporal needs a task queue to start a workflow",
                hint="pass --task-queue QUEUE or set it in the profile (wfctl config set task_queue QUEUE)",
            )
        workflow_type = request.workflow
        workflow_id = request.run_id or f"{re.sub(r'[^A-Za-z0-9._-]+', '-', workflow_type)}-{uuid.uuid4().hex[:12]}"
        body: dict[str, Any] = {
            "workflowType": {"name": workflow_type},
            "taskQueue": {"name": task_queue},
            "requestId": str(uuid.uuid4()),
            "identity": self.identity,
        }
        if request.input is not None:
            data = json.dumps(request.input, separators=(",", ":"), ensure_ascii=False).encode()
            body["input"] = {
                "payloads": [
                    {
                        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                        "data": base64.b64encode(data).decode(),
                    }
                ]
            }
        try:
            answer = self._send("POST", self._wf(workflow_id), body=body, retry=True)
        except UsageError as exc:
            if "already running" in exc.message or "already started" in exc.message.lower():
                raise UsageError(
                    f"workflow id {workflow_id!r} is already running in namespace {self.namespace!r}",
                    hint="choose another --id, or cancel the running one first",
                ) from None
            raise
        now = datetime.now(timezone.utc)
        raw = raw_status(answer.get("status")) or "Running"
        return Run(
            runId=workflow_id,
            backend=self.name,
            workflowName=workflow_type,
            workflowId=workflow_id,
            status=normalized_status(raw),
            rawStatus=raw,
            createdAt=now,
            startedAt=now,
            input=request.input,
            extra={"runId": answer.get("runId"), "taskQueue": task_queue, "namespace": self.namespace},
        )

    # -- rerun -----------------------------------------------------------------------------------------
    @reads_answers("a rerun")
    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        return [self._rerun_one(run_id, dry_run) for run_id in run_ids]

    def _rerun_one(self, run_id: str, dry_run: bool) -> RerunOutcome:
        """A new execution of the run's workflow type on its task queue, with the very input payloads its
        started event recorded (any encoding, passed on as they are), under a new workflow id; the memo's
        ``rerunOf`` names the source run."""
        try:
            run, _desc, workflow_id = self._describe_run(run_id)
            started = self._started_attributes(workflow_id, run.extra.get("runId"), run_id)
        except NotFoundError as exc:
            return RerunOutcome(run_id, None, "not_found", exc.message)
        except WfctlError as exc:
            return RerunOutcome(run_id, None, "error", exc.message)
        workflow_type = (started.get("workflowType") or {}).get("name") or run.workflowName
        task_queue = (started.get("taskQueue") or {}).get("name") or run.extra.get("taskQueue")
        if not workflow_type or not task_queue:
            return RerunOutcome(
                run_id, None, "error", "the run's started event has no workflow type or task queue", None
            )
        if dry_run:
            return RerunOutcome(
                run_id, None, "would_start", f"would start {workflow_type} on {task_queue}", None, workflow_type
            )
        new_id = f"{re.sub(r'[^A-Za-z0-9._-]+', '-', workflow_type)}-{uuid.uuid4().hex[:12]}"
        source = f"{workflow_id}:{run.extra.get('runId')}"
        body: dict[str, Any] = {
            "workflowType": {"name": workflow_type},
            "taskQueue": {"name": task_queue},
            "requestId": str(uuid.uuid4()),
            "identity": self.identity,
            "memo": {"fields": {"rerunOf": _json_payload(source)}},
        }
        if started.get("input"):
            body["input"] = started["input"]  # the full payload form (noPayloadShorthand): passed on as it is
        try:
            answer = self._send("POST", self._wf(new_id), body=body, retry=True)
        except WfctlError as exc:
            return RerunOutcome(run_id, None, "error", exc.message, None, workflow_type)
        status = normalized_status(raw_status(answer.get("status")) or "Running")
        return RerunOutcome(run_id, new_id, "started", f"rerun of {source}", status, workflow_type)

    # -- resume (a signal) -------------------------------------------------------------------------------
    @reads_answers("a signal")
    def resume(self, run_id: str, request: ResumeRequest) -> ResumeOutcome:
        """``resume --signal NAME [--data JSON]``: the signal, with the data as its one argument (no
        ``--data``: no argument), to the execution the id names (the latest one for a bare id)."""
        if request.signal is None:
            raise UsageError(
                "Temporal workflows have no hooks; send the workflow a signal", hint="wfctl resume RUN --signal NAME"
            )
        run, _desc, workflow_id = self._describe_run(run_id)
        if run.terminal:
            raise UsageError(
                f"{run_id} is already {run.rawStatus or run.status}; a signal needs a running workflow",
                hint="re-run it with wfctl rerun",
            )
        if request.dry_run:
            return ResumeOutcome(run_id, request.signal, "would_resume", kind="signal")
        body: dict[str, Any] = {
            "identity": self.identity,
            "requestId": str(uuid.uuid4()),
            "workflowExecution": {"runId": run.extra.get("runId")},
        }
        if request.has_data:
            body["input"] = {"payloads": [_json_payload(request.data)]}
        try:
            self._send(
                "POST",
                f"{self._wf(workflow_id)}/signal/{quote(request.signal, safe='')}",
                subject=run_id,
                body=body,
                retry=True,
            )
        except NotFoundError:
            if self.get_status(run_id).terminal:
                raise UsageError(f"{run_id} ended before the signal reached it") from None
            raise
        return ResumeOutcome(run_id, request.signal, "resumed", kind="signal", delivered=True)

    # -- doctor ----------------------------------------------------------------------------------------
    @reads_answers("a doctor check")
    def doctor(self) -> list[Check]:
        checks: list[Check] = []
        try:
            info = self._send("GET", f"{API}/system-info")
        except (UnavailableError, NotFoundError, UsageError) as exc:
            return [Check("reachable", False, exc.message + (f" ({exc.hint})" if exc.hint else ""))]
        version = str(info.get("serverVersion") or "")
        checks.append(Check("reachable", True, f"{self.http.client.base_url}"))
        if version:
            ok = _version_tuple(version) >= MIN_SERVER_VERSION
            wanted = ".".join(map(str, MIN_SERVER_VERSION))
            checks.append(
                Check("version", ok, f"Temporal server {version}" + ("" if ok else f" (wfctl needs >= {wanted})"))
            )
        else:
            checks.append(Check("version", False, "the server did not report its version"))
        try:
            ns = self._send("GET", self._ns())
        except AuthError as exc:
            raise AuthError(
                f"Temporal {version or ''} is reachable, but {exc.message}".replace("  ", " "), hint=exc.hint
            ) from None
        except WfctlError as exc:
            checks.append(Check("namespace", False, exc.message + (f" ({exc.hint})" if exc.hint else "")))
            return checks
        state = str((ns.get("namespaceInfo") or {}).get("state") or "").removeprefix("NAMESPACE_STATE_").lower()
        checks.append(Check("namespace", state in ("registered", ""), f"{self.namespace} ({state or 'state unknown'})"))
        capabilities = info.get("capabilities") or {}
        if not capabilities.get("countGroupByExecutionStatus"):
            checks.append(
                Check("counts", True, "no GROUP BY ExecutionStatus: the dashboard counts with one query per status")
            )
        return checks
