"""Contract fake of the workflow-runs REST APIs v1 and v2, served over real HTTP.

Written from the documented contract only (the endpoints below; how wfctl reads them: docs/architecture.md,
"workflow-runs v1 / v2"); stdlib only.
The server binds 127.0.0.1 on a free port and runs in daemon threads::

    with FakeWorkflowRuns(envelope="data", token="t0k") as fake:
        wf = fake.add_workflow("nightly-report", steps=["fetch", "summarize"])
        run = fake.add_run(wf, status="running",
                           script=fake.script(["fetch"]), advance_on="get")
        httpx.get(f"{fake.url}/api/v1/workflow-runs/{run}",
                  headers={"Authorization": f"Bearer {fake.token}"})

Endpoints (v1 base ``/api/v1/workflow-runs``, Bearer token required):

* ``POST /execute`` - multipart/form-data fields ``workflowId`` (UUID), ``inputs``
  (JSON object), ``envs`` (JSON object of string -> string).  Blocks until the run
  is terminal and answers the final run (with ``activityRuns``) in the single
  object envelope.  A body that is not multipart answers 415; a bad field 400;
  an unknown workflow 404.
* ``POST /execute/stream`` - same fields; ``text/event-stream`` (chunked, one
  flush per event).  Events, in order: ``workflow-run`` {content:{workflowRunId,
  status:"scheduled"}} first (so the client learns the id), then one event per
  change while the run progresses (``workflow-run``, ``activity-run``
  {content:{workflowRunId,status}}, ``thinking`` {content, stepId,
  activityRunId}), ``ping`` {content:"ping"} every ``ping_interval`` seconds
  (measured from the start of the stream), and last ``result`` {success:true,
  workflowRun:{...}} when the run ends completed or cancelled, or ``error``
  {error, details:{workflowRunId,status}} when it ends failed (a script frame
  ``{"error": ...}`` sends its own ``error`` event and nothing follows it).
  See :meth:`FakeWorkflowRuns.stream_silent` / :meth:`stream_drop` for the
  dead-connection modes.  The run keeps progressing server-side when the client
  goes away, as a real server would.
* ``POST /cancel`` - JSON ``{"runIds": [...]} | {"workflowId": ...}`` (exactly one,
  else 400) and optional ``reason`` (string, at most 500 characters, else 400).
  Answers 200 with ``{"results": [{"runId", "outcome", "message"}], "summary":
  {outcome: count}}`` (wrapped under ``data`` in the ``data`` envelope).
  Outcome rules, the documented-looking policy this fake implements:

  - unknown id (or not a UUID) -> ``not_found``
  - ``completed`` / ``failed`` / ``cancelled`` -> ``already_completed``
  - ``waiting`` -> ``not_eligible`` ("runs waiting for user input cannot be
    cancelled; resolve the pending input first"); also any run added with
    ``cancellable=False``
  - an id given to :meth:`FakeWorkflowRuns.inject_cancel_error` -> ``error``
  - ``scheduled`` / ``running`` -> ``cancelled`` (the run and its unfinished
    activity runs become ``cancelled``; its script stops).

  With ``workflowId`` the request covers every non-terminal run (scheduled,
  running, waiting) of that workflow; an unknown workflow answers 404.
* ``GET /`` - list, newest ``createdAt`` first.  Query ``workflowId`` (UUID, else
  400), ``status`` (one of the six v1 words; repeated or unknown -> 400), ``page``
  (integer >= 1, default 1), ``limit`` (integer 1..100, default 10; else 400),
  ``search`` (case-insensitive substring of ``workflowName``).  Pagination object:
  ``{"page", "limit", "total", "totalPages"}``.
* ``GET /dashboard/:workflowId`` - counts of the workflow's runs for all six
  statuses (zeros included).  ``dashboard="counts"``: ``{"workflowId", "counts":
  {...}, "total"}``; ``dashboard="bare"``: the counts object alone.  404 unknown
  workflow, 400 not a UUID.
* ``GET /:runId`` - the run with ``activityRuns``; 400 when the id is not a UUID,
  404 when unknown.

v2: ``GET /api/v2/workflow-runs/{id}`` - ``id, workflowId, status, completedAt,
createdAt, updatedAt, createdByUserId, jobRunId, currentStateName``; 400 when the id
does not match the documented UUID pattern (versions 1-8, RFC variant, or nil), 404
when unknown.  Bearer token required too (``v2_auth=False`` turns that off).

Errors are JSON: ``{"error": "<reason phrase>", "message": "<text>", "statusCode":
N}`` (plus ``"success": false`` when the envelope carries ``success``); 401 also
sends ``WWW-Authenticate: Bearer``.  Unknown path -> 404, known path with another
method -> 405.

Field shapes (v1): a run is ``{id, workflowId, workflowName, status, inputs,
createdAt, updatedAt}`` where ``inputs`` is an array ``[{"name": k, "value": v}]``
(``/execute`` converts its ``inputs`` object to that); an activity run is ``{id,
stepId, stepName, status, outputs, attempt, createdAt, updatedAt}`` where
``outputs`` is a JSON-encoded *string* by default (``outputs_encoding="object"``
serves it as a JSON value) and null before the step produced any.  Timestamps are
RFC 3339 UTC with milliseconds.

Progression: a run may carry a *script*, a list of frames applied one at a time,
either after each GET of that run (``advance_on="get"``: the n-th GET observes the
state after n-1 frames), every N seconds of the fake's clock (``advance_on=0.5``;
``clock="virtual"`` makes that :meth:`advance_time`-driven), or only by
:meth:`step` (``advance_on="manual"``).  Frames (a list of frames is applied
together as one step)::

    {"status": "running"}                                  # run status (v1 word)
    {"step": "fetch", "status": "running"}                 # activity run; created on first mention
    {"step": "fetch", "status": "completed", "outputs": {...}}
    {"step": "fetch", "status": "running", "retry": True}  # a new activity run, attempt + 1
    {"thinking": "reading the page", "step": "fetch"}      # SSE-only ``thinking`` event
    {"error": "boom", "details": {...}}                    # run failed (+ SSE ``error`` event)
    # v2 runs:
    {"status": "IN_PROGRESS", "currentStateName": "Review", "jobRunId": "..."}
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import math
import re
import secrets
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeWorkflowRuns",
    "RecordedRequest",
    "SSEEvent",
    "parse_sse",
    "make_jwt",
    "V1_STATUSES",
    "V2_STATUSES",
    "V2_UUID_RE",
]

V1_STATUSES = ("scheduled", "running", "completed", "failed", "cancelled", "waiting")
V1_TERMINAL = frozenset({"completed", "failed", "cancelled"})
V2_STATUSES = (
    "PENDING",
    "IN_PROGRESS",
    "COMPLETED",
    "FAILED",
    "AWAITING_USER_INPUT",
    "COMPLETED_WITH_NO_ACTION_TAKEN",
)
V2_TERMINAL = frozenset({"COMPLETED", "FAILED", "COMPLETED_WITH_NO_ACTION_TAKEN"})

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: The documented v2 id pattern: versions 1-8 with the RFC 4122 variant, or the nil UUID.
V2_UUID_RE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"|00000000-0000-0000-0000-000000000000)$",
    re.IGNORECASE,
)

V1_BASE = "/api/v1/workflow-runs"
V2_BASE = "/api/v2/workflow-runs"
REASON_MAX = 500
ENVELOPES = ("bare", "data", "workflowRuns", "runs", "results")
_VIRTUAL_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)

PROXY_HTML = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------- helpers


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_jwt(sub: str = "wfctl-test", exp: int | None = None) -> str:
    """A JWT-shaped token (HS256 header, ``sub``/``iat``/``exp`` claims, random signature)."""
    now = int(time.time())
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": sub, "iat": now, "exp": exp if exp is not None else now + 3600}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"


def _iso(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_dt(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass
class SSEEvent:
    """One parsed server-sent event (``data`` is the decoded JSON, or the raw text)."""

    event: str
    data: Any
    raw: str = ""


def parse_sse(text: str) -> list[SSEEvent]:
    """Parse a complete ``text/event-stream`` body (test helper)."""
    events: list[SSEEvent] = []
    for block in re.split(r"\r?\n\r?\n", text):
        if not block.strip():
            continue
        name, data_lines = "message", []
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data_lines.append(value)
        raw = "\n".join(data_lines)
        try:
            data = json.loads(raw)
        except ValueError:
            data = raw
        events.append(SSEEvent(name, data, raw))
    return events


@dataclass
class RecordedRequest:
    """A request as the fake received it (recorded before faults, delays and auth)."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    target: str  # the raw request target (path + query)
    status: int | None = None  # the status the fake answered (None: dropped / still running)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """Multipart (or urlencoded) fields as text; raises ValueError when not a form."""
        ctype = self.headers.get("content-type", "")
        if ctype.lower().startswith("application/x-www-form-urlencoded"):
            return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}
        return {k: v[-1]["text"] for k, v in _parse_multipart(ctype, self.body).items()}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, list[dict[str, Any]]]:
    """Parse a multipart/form-data body with :mod:`email` (``cgi`` is gone in 3.13).

    Returns ``{name: [{"text": str, "bytes": bytes, "filename": str|None,
    "content_type": str}]}``.  Raises ValueError on anything malformed.
    """
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("Content-Type must be multipart/form-data")
    if "boundary=" not in content_type.lower():
        raise ValueError("multipart/form-data without a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser().parsebytes(head + body)
    if not msg.is_multipart():
        raise ValueError("malformed multipart body")
    fields: dict[str, list[dict[str, Any]]] = {}
    parts = msg.get_payload()
    if not isinstance(parts, list) or not parts:
        raise ValueError("malformed multipart body (no parts)")
    for part in parts:
        disposition = part.get("Content-Disposition", "")
        if not disposition.lower().startswith("form-data"):
            raise ValueError("multipart part without Content-Disposition: form-data")
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("multipart part without a name")
        raw = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = raw.decode("utf-8", "replace")
        fields.setdefault(str(name), []).append(
            {
                "text": text,
                "bytes": raw,
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
            }
        )
    return fields


class _ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- state


@dataclass
class _Workflow:
    id: str
    name: str
    plan: "_Plan"


@dataclass
class _Plan:
    """How ``/execute`` and ``/execute/stream`` run a workflow."""

    frames: list[Any]
    step_delay: float = 0.0


@dataclass
class _Activity:
    id: str
    step_id: str
    step_name: str
    status: str
    outputs: Any
    attempt: int
    created_at: datetime
    updated_at: datetime


@dataclass
class _Script:
    frames: list[Any]
    advance_on: Any  # "get" | "manual" | float seconds
    next_at: float = math.inf


@dataclass
class _Run:
    id: str
    workflow_id: str
    status: str
    inputs: list[Any]
    created_at: datetime
    updated_at: datetime
    seq: int
    activities: list[_Activity] = field(default_factory=list)
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (sse event, data)
    script: _Script | None = None
    envs: dict[str, str] = field(default_factory=dict)
    cancellable: bool = True
    cancel_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _V2Run:
    id: str
    workflow_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    created_by_user_id: str
    job_run_id: str | None
    current_state_name: str | None
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    script: _Script | None = None


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: "FakeWorkflowRuns"):
        self.fake = fake
        self.conns: set[socket.socket] = set()
        self.threads: set[threading.Thread] = set()
        self.track_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self.track_lock:
            self.conns.add(request)
        if self.fake._stop_event.is_set():
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):  # type: ignore[override]
        me = threading.current_thread()
        with self.track_lock:
            self.threads.add(me)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.track_lock:
                self.threads.discard(me)

    def shutdown_request(self, request):  # type: ignore[override]
        with self.track_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):  # type: ignore[override]
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, OSError)) or self.fake._stop_event.is_set():
            return
        self.fake._record_error(exc)

    def abort_connections(self) -> None:
        with self.track_lock:
            conns = list(self.conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    # -- I/O helpers used by the fake

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


# --------------------------------------------------------------------------- the fake


class FakeWorkflowRuns:
    """Contract fake of workflow-runs v1 + v2 on 127.0.0.1 (see the module docstring).

    :param envelope: ``bare`` | ``data`` | ``workflowRuns`` | ``runs`` | ``results``
        (lists: ``[..]`` / ``{"data": [..]}`` / ``{"workflowRuns": [..]}`` / ``{"runs": [..]}``
        / ``{"results": [..]}``; single objects: bare / ``{"data": {}}`` /
        ``{"workflowRun": {}}`` / ``{"run": {}}`` / bare).
    :param with_success: add ``"success": true`` (default: only for ``data``).
    :param with_pagination: add ``"pagination"`` to enveloped lists (never for ``bare``).
    :param dashboard: ``counts`` | ``bare`` (default ``bare`` with the bare envelope).
    :param v2_envelope: envelope for v2 (default: the same as ``envelope``).
    :param token: the valid bearer token (default: a fresh JWT-shaped one).
    :param forbidden_token: a token that answers 403 (default: a fresh one).
    :param ping_interval: seconds between SSE pings (the documented 9 s by default).
    :param outputs_encoding: ``json-string`` (activity outputs as a JSON-encoded string) or ``object``.
    :param clock: ``real`` or ``virtual`` (time-based scripts and timestamps follow
        :meth:`advance_time`; the virtual wall clock starts at 2026-01-01T00:00:00Z).
    :param sse_activity_details: add ``activityRunId, stepId, stepName`` to
        ``activity-run`` event content (off: only the documented fields).
    :param with_inputs: off: runs are answered without their ``inputs`` field (a
        server that does not expose what a run was executed with; ``/execute`` still
        records them).
    """

    def __init__(
        self,
        envelope: str = "data",
        token: str | None = None,
        *,
        with_success: bool | None = None,
        with_pagination: bool = True,
        dashboard: str | None = None,
        v2_envelope: str | None = None,
        v2_auth: bool = True,
        forbidden_token: str | None = None,
        ping_interval: float = 9.0,
        outputs_encoding: str = "json-string",
        clock: str = "real",
        sse_activity_details: bool = False,
        with_inputs: bool = True,
    ):
        if envelope not in ENVELOPES:
            raise ValueError(f"envelope must be one of {ENVELOPES}")
        if v2_envelope is not None and v2_envelope not in ENVELOPES:
            raise ValueError(f"v2_envelope must be one of {ENVELOPES}")
        if dashboard not in (None, "counts", "bare"):
            raise ValueError("dashboard must be 'counts' or 'bare'")
        if outputs_encoding not in ("json-string", "object"):
            raise ValueError("outputs_encoding must be 'json-string' or 'object'")
        if clock not in ("real", "virtual"):
            raise ValueError("clock must be 'real' or 'virtual'")
        self.envelope = envelope
        self.with_success = (envelope == "data") if with_success is None else with_success
        self.with_pagination = with_pagination
        self.dashboard = dashboard or ("bare" if envelope == "bare" else "counts")
        self.v2_envelope = v2_envelope or envelope
        self.v2_auth = v2_auth
        self.token = token or make_jwt()
        self.forbidden_token = forbidden_token or make_jwt(sub="wfctl-readonly")
        self.ping_interval = ping_interval
        self.outputs_encoding = outputs_encoding
        self.sse_activity_details = sse_activity_details
        self.with_inputs = with_inputs
        self._virtual = clock == "virtual"
        self._vnow = 0.0

        self._cond = threading.Condition(threading.RLock())
        self._stop_event = threading.Event()
        self._seq = itertools.count(1)
        self._workflows: dict[str, _Workflow] = {}
        self._runs: dict[str, _Run] = {}
        self._v2_runs: dict[str, _V2Run] = {}
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._valid_tokens = {self.token}
        self._forbidden_tokens = {self.forbidden_token}
        self._expired_tokens: set[str] = set()
        self._expire_after: int | None = None
        self._delay = 0.0
        self._delay_prefix: str | None = None
        self._injections: list[dict[str, Any]] = []
        self._cancel_errors: dict[str, str] = {}
        self._silent_after: int | None = None
        self._drop_after: int | None = None
        self._streams_open = 0

        self._server = _Server(self)
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self.v1_url = self.url + V1_BASE
        self.v2_url = self.url + V2_BASE
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-wfr-{self.port}", daemon=True
        )
        self._thread.start()
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "FakeWorkflowRuns":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeWorkflowRuns {self.url} envelope={self.envelope!r}>"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: wakes streams and delays, aborts open connections, joins threads."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_event.set()
        with self._cond:
            self._cond.notify_all()
        self._server.abort_connections()
        self._server.shutdown()
        self._server.server_close()
        self._server.abort_connections()
        deadline = time.monotonic() + timeout
        with self._server.track_lock:
            threads = list(self._server.threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` header with the valid token."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised inside the fake (tests may assert it is empty)."""
        with self._cond:
            return list(self._errors)

    def _record_error(self, exc: BaseException | None) -> None:
        if exc is not None:
            with self._cond:
                self._errors.append(exc)

    # ------------------------------------------------------------------ clock

    def _mono(self) -> float:
        return self._vnow if self._virtual else time.monotonic()

    def _wall(self) -> datetime:
        if self._virtual:
            return _VIRTUAL_EPOCH + timedelta(seconds=self._vnow)
        return datetime.now(timezone.utc)

    def advance_time(self, seconds: float) -> None:
        """Virtual clock only: move time forward and apply the frames that became due."""
        if not self._virtual:
            raise RuntimeError("advance_time needs FakeWorkflowRuns(clock='virtual')")
        with self._cond:
            self._vnow += seconds
            self._tick_locked()
            self._cond.notify_all()

    # ------------------------------------------------------------------ state: workflows and runs

    @staticmethod
    def script(
        steps: Iterable[str] = ("main",),
        final: str = "completed",
        *,
        outputs: dict[str, Any] | None = None,
        thinking: bool = False,
        start: bool = True,
    ) -> list[Any]:
        """A typical v1 script: run running, each step running then completed, run ``final``.

        ``final="failed"`` makes the last step fail (outputs ``{"error": ...}``) before
        the run fails; ``thinking=True`` adds a thinking frame per step;
        ``outputs`` maps step names to their outputs (default ``{"step": name, "ok": True}``).
        """
        steps = list(steps)
        frames: list[Any] = [{"status": "running"}] if start else []
        for i, name in enumerate(steps):
            frames.append({"step": name, "status": "running"})
            if thinking:
                frames.append({"thinking": f"Working on {name}", "step": name})
            if final == "failed" and i == len(steps) - 1:
                frames.append({"step": name, "status": "failed", "outputs": {"error": f"{name} failed"}})
            else:
                out = (outputs or {}).get(name, {"step": name, "ok": True})
                frames.append({"step": name, "status": "completed", "outputs": out})
        frames.append({"status": final})
        return frames

    @staticmethod
    def v2_script(*states: tuple[str, str | None] | str) -> list[dict[str, Any]]:
        """v2 frames from ``("IN_PROGRESS", "Intake"), ("COMPLETED", None)`` or bare statuses."""
        frames = []
        for state in states:
            if isinstance(state, str):
                frames.append({"status": state})
            else:
                frames.append({"status": state[0], "currentStateName": state[1]})
        return frames

    def add_workflow(
        self,
        name: str = "example-workflow",
        *,
        workflow_id: str | None = None,
        steps: Iterable[str] = ("main",),
        script: list[Any] | None = None,
        step_delay: float = 0.0,
        final: str = "completed",
    ) -> str:
        """Register a workflow; ``/execute`` runs ``script`` (default :meth:`script` of ``steps``)
        with ``step_delay`` real seconds between frames.  Returns the workflow id."""
        wid = workflow_id or str(uuid.uuid4())
        plan = _Plan(list(script) if script is not None else self.script(steps, final), step_delay)
        with self._cond:
            self._workflows[wid] = _Workflow(wid, name, plan)
        return wid

    def set_execution(
        self, workflow_id: str, script: list[Any] | None = None, *, step_delay: float | None = None
    ) -> None:
        """Change how ``/execute`` and ``/execute/stream`` run this workflow."""
        with self._cond:
            plan = self._workflows[workflow_id].plan
            if script is not None:
                plan.frames = list(script)
            if step_delay is not None:
                plan.step_delay = step_delay

    def _ensure_workflow(self, workflow_id: str | None, workflow_name: str | None) -> str:
        if workflow_id is None:
            for wf in self._workflows.values():
                if wf.name == (workflow_name or "example-workflow"):
                    return wf.id
            return self.add_workflow(workflow_name or "example-workflow")
        if workflow_id not in self._workflows:
            self.add_workflow(workflow_name or f"workflow-{workflow_id[:8]}", workflow_id=workflow_id)
        return workflow_id

    def add_run(
        self,
        workflow_id: str | None = None,
        *,
        workflow_name: str | None = None,
        status: str = "scheduled",
        inputs: dict[str, Any] | list[Any] | None = None,
        activities: Iterable[dict[str, Any]] = (),
        script: list[Any] | None = None,
        advance_on: Any = "get",
        created_at: datetime | str | None = None,
        run_id: str | None = None,
        cancellable: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Add a v1 run (creating its workflow when needed); returns the run id.

        ``activities``: dicts with ``stepName`` and optional ``status`` (default
        ``completed``), ``outputs``, ``attempt``, ``stepId``.  ``extra`` is merged into
        the run's JSON as is.  ``script``/``advance_on``: see :meth:`set_script`.
        """
        if status not in V1_STATUSES:
            raise ValueError(f"v1 status must be one of {V1_STATUSES}")
        with self._cond:
            wid = self._ensure_workflow(workflow_id, workflow_name)
            now = self._wall()
            created = _parse_dt(created_at) if created_at is not None else now
            rid = run_id or str(uuid.uuid4())
            run = _Run(
                id=rid,
                workflow_id=wid,
                status=status,
                inputs=self._inputs_array(inputs),
                created_at=created,
                updated_at=created,
                seq=next(self._seq),
                cancellable=cancellable,
                extra=dict(extra or {}),
            )
            for spec in activities:
                self._new_activity(
                    run,
                    spec["stepName"],
                    spec.get("status", "completed"),
                    spec.get("outputs"),
                    spec.get("attempt", 1),
                    spec.get("stepId"),
                    when=created,
                )
            self._runs[rid] = run
            if script is not None:
                self._set_script_locked(run, script, advance_on)
            self._cond.notify_all()
        return rid

    def add_runs(self, count: int, workflow_id: str | None = None, **kwargs: Any) -> list[str]:
        """Add ``count`` runs with strictly increasing ``createdAt`` (oldest first)."""
        base = _parse_dt(kwargs.pop("created_at", None) or self._wall()) - timedelta(seconds=count)
        return [self.add_run(workflow_id, created_at=base + timedelta(seconds=i), **kwargs) for i in range(count)]

    def add_activity(
        self,
        run_id: str,
        step_name: str,
        status: str = "scheduled",
        *,
        outputs: Any = None,
        attempt: int = 1,
        step_id: str | None = None,
    ) -> str:
        """Append an activity run to a v1 run; returns its id."""
        with self._cond:
            run = self._runs[run_id]
            act = self._new_activity(run, step_name, status, outputs, attempt, step_id)
            self._cond.notify_all()
            return act.id

    def add_v2_run(
        self,
        status: str = "PENDING",
        *,
        workflow_id: str | None = None,
        current_state_name: str | None = None,
        created_by_user_id: str | None = None,
        job_run_id: str | None = None,
        script: list[Any] | None = None,
        advance_on: Any = "get",
        created_at: datetime | str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Add a v2 run; returns its id (a v4 UUID unless ``run_id`` is given)."""
        if status not in V2_STATUSES:
            raise ValueError(f"v2 status must be one of {V2_STATUSES}")
        with self._cond:
            now = self._wall()
            created = _parse_dt(created_at) if created_at is not None else now
            rid = run_id or str(uuid.uuid4())
            run = _V2Run(
                id=rid,
                workflow_id=workflow_id or str(uuid.uuid4()),
                status=status,
                created_at=created,
                updated_at=created,
                completed_at=created if status in V2_TERMINAL else None,
                created_by_user_id=created_by_user_id or str(uuid.uuid4()),
                job_run_id=job_run_id,
                current_state_name=current_state_name,
            )
            self._v2_runs[rid] = run
            if script is not None:
                self._set_script_locked(run, script, advance_on)
            self._cond.notify_all()
        return rid

    def set_script(self, run_id: str, frames: list[Any], advance_on: Any = "get") -> None:
        """Give a v1 or v2 run a progression: ``advance_on`` is ``"get"`` (one frame after
        each GET of the run), ``"manual"`` (only :meth:`step`), or a number of seconds per
        frame on the fake's clock (first frame ``advance_on`` seconds from now)."""
        with self._cond:
            self._set_script_locked(self._any_run(run_id), frames, advance_on)

    def _set_script_locked(self, run: _Run | _V2Run, frames: list[Any], advance_on: Any) -> None:
        if advance_on not in ("get", "manual") and not isinstance(advance_on, (int, float)):
            raise ValueError("advance_on must be 'get', 'manual' or seconds")
        script = _Script(list(frames), advance_on)
        if isinstance(advance_on, (int, float)):
            script.next_at = self._mono() + float(advance_on)
        run.script = script

    def step(self, run_id: str, n: int = 1) -> None:
        """Apply the next ``n`` frames of a run's script now."""
        with self._cond:
            run = self._any_run(run_id)
            for _ in range(n):
                self._advance_locked(run)
            self._cond.notify_all()

    def pending_frames(self, run_id: str) -> int:
        with self._cond:
            run = self._any_run(run_id)
            return len(run.script.frames) if run.script else 0

    def set_status(self, run_id: str, status: str, *, current_state_name: Any = ...) -> None:
        """Set a v1 run's status (v1 word) or a v2 run's status (v2 word, and optionally
        ``current_state_name``), as if the engine had moved it."""
        with self._cond:
            run = self._any_run(run_id)
            frame: dict[str, Any] = {"status": status}
            if current_state_name is not ...:
                frame["currentStateName"] = current_state_name
            self._apply_locked(run, frame)
            self._cond.notify_all()

    def fail_run(self, run_id: str, message: str = "Activity failed", *, step: str | None = None) -> None:
        """Make a run fail now: its running/scheduled activity runs (or ``step``) fail with
        outputs ``{"error": message}``, then the run (v1 ``failed`` / v2 ``FAILED``)."""
        with self._cond:
            run = self._any_run(run_id)
            run.script = None
            if isinstance(run, _V2Run):
                self._apply_locked(run, {"status": "FAILED"})
            else:
                targets = [
                    a for a in run.activities if (a.step_name == step if step else a.status in ("running", "scheduled"))
                ]
                for act in targets:
                    self._apply_locked(run, {"step": act.step_name, "status": "failed", "outputs": {"error": message}})
                self._apply_locked(run, {"status": "failed"})
            self._cond.notify_all()

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's current JSON (v1 with ``activityRuns``, or v2), without side effects."""
        with self._cond:
            self._tick_locked()
            if run_id in self._runs:
                return self._v1_json(self._runs[run_id], with_activities=True)
            return self._v2_json(self._v2_runs[run_id])

    def status(self, run_id: str) -> str:
        return self.run(run_id)["status"]

    def run_envs(self, run_id: str) -> dict[str, str]:
        """The ``envs`` a run was executed with (never served back by the API)."""
        with self._cond:
            return dict(self._runs[run_id].envs)

    def cancel_reason(self, run_id: str) -> str | None:
        with self._cond:
            return self._runs[run_id].cancel_reason

    def changes(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Every change applied to the run, as (SSE event name, event data)."""
        with self._cond:
            return copy.deepcopy(self._any_run(run_id).changes)

    @property
    def run_ids(self) -> list[str]:
        """v1 run ids, oldest first."""
        with self._cond:
            return [r.id for r in sorted(self._runs.values(), key=lambda r: (r.created_at, r.seq))]

    def _any_run(self, run_id: str) -> _Run | _V2Run:
        if run_id in self._runs:
            return self._runs[run_id]
        if run_id in self._v2_runs:
            return self._v2_runs[run_id]
        raise KeyError(run_id)

    def _inputs_array(self, inputs: dict[str, Any] | list[Any] | None) -> list[Any]:
        if inputs is None:
            return []
        if isinstance(inputs, dict):
            return [{"name": k, "value": v} for k, v in inputs.items()]
        return list(inputs)

    def _new_activity(self, run, step_name, status, outputs, attempt, step_id, when=None) -> _Activity:
        if status not in V1_STATUSES:
            raise ValueError(f"activity status must be one of {V1_STATUSES}")
        if step_id is None:
            step_id = next((a.step_id for a in run.activities if a.step_name == step_name), None) or str(uuid.uuid4())
        now = when or self._wall()
        act = _Activity(str(uuid.uuid4()), step_id, step_name, status, outputs, attempt, now, now)
        run.activities.append(act)
        return act

    # ------------------------------------------------------------------ progression

    def _tick_locked(self) -> None:
        now = self._mono()
        for run in itertools.chain(self._runs.values(), self._v2_runs.values()):
            script = run.script
            if script is None or not isinstance(script.advance_on, (int, float)):
                continue
            while run.script is script and script.frames and now >= script.next_at:
                # stamp the change with the moment it became due, not the moment it is observed
                self._advance_locked(run, when=self._wall() - timedelta(seconds=now - script.next_at))
                script.next_at += float(script.advance_on)

    def _advance_locked(self, run: _Run | _V2Run, when: datetime | None = None) -> None:
        script = run.script
        if script is None or not script.frames:
            return
        frame = script.frames.pop(0)
        self._apply_locked(run, frame, when)
        if run.script is script and not script.frames:
            run.script = None

    def _apply_locked(self, run: _Run | _V2Run, frame: Any, when: datetime | None = None) -> None:
        now = when or self._wall()
        for f in frame if isinstance(frame, list) else [frame]:
            if isinstance(run, _V2Run):
                self._apply_v2(run, f, now)
            else:
                self._apply_v1(run, f, now)
        self._cond.notify_all()

    def _apply_v2(self, run: _V2Run, f: dict[str, Any], now: datetime) -> None:
        changed = False
        if "status" in f and f["status"] != run.status:
            if f["status"] not in V2_STATUSES:
                raise ValueError(f"v2 status must be one of {V2_STATUSES}")
            run.status = f["status"]
            changed = True
            if run.status in V2_TERMINAL:
                run.completed_at = run.completed_at or now
            else:
                run.completed_at = None
        if "currentStateName" in f and f["currentStateName"] != run.current_state_name:
            run.current_state_name = f["currentStateName"]
            changed = True
        if "jobRunId" in f and f["jobRunId"] != run.job_run_id:
            run.job_run_id = f["jobRunId"]
            changed = True
        if changed:
            run.updated_at = now
            run.changes.append(
                (
                    "workflow-run",
                    {
                        "content": {
                            "workflowRunId": run.id,
                            "status": run.status,
                            "currentStateName": run.current_state_name,
                        }
                    },
                )
            )

    def _activity_event(self, run: _Run, act: _Activity) -> tuple[str, dict[str, Any]]:
        content: dict[str, Any] = {"workflowRunId": run.id, "status": act.status}
        if self.sse_activity_details:
            content.update(activityRunId=act.id, stepId=act.step_id, stepName=act.step_name)
        return ("activity-run", {"content": content})

    def _apply_v1(self, run: _Run, f: dict[str, Any], now: datetime) -> None:
        if "thinking" in f:
            act = self._find_activity(run, f.get("step"))
            run.changes.append(
                (
                    "thinking",
                    {
                        "content": f["thinking"],
                        "stepId": act.step_id if act else None,
                        "activityRunId": act.id if act else None,
                    },
                )
            )
            return
        if "error" in f:
            for act in run.activities:
                if act.status in ("running", "scheduled"):
                    act.status, act.updated_at = "failed", now
                    run.changes.append(self._activity_event(run, act))
            self._set_v1_status(run, "failed", now)
            run.changes.append(("error", {"error": f["error"], "details": f.get("details", {"workflowRunId": run.id})}))
            return
        if "step" in f:
            status = f.get("status", "running")
            act = self._find_activity(run, f["step"])
            if act is None or f.get("retry"):
                attempt = f.get("attempt") or ((act.attempt + 1) if act else 1)
                act = self._new_activity(run, f["step"], status, f.get("outputs"), attempt, f.get("stepId"), when=now)
                run.changes.append(self._activity_event(run, act))
            else:
                changed = False
                if status != act.status:
                    if status not in V1_STATUSES:
                        raise ValueError(f"activity status must be one of {V1_STATUSES}")
                    act.status, changed = status, True
                if "outputs" in f:
                    act.outputs = f["outputs"]
                if "attempt" in f:
                    act.attempt = f["attempt"]
                act.updated_at = now
                if changed:
                    run.changes.append(self._activity_event(run, act))
            run.updated_at = now
            return
        if "status" in f:
            self._set_v1_status(run, f["status"], now)
        if "extra" in f:
            run.extra.update(f["extra"])
            run.updated_at = now

    def _set_v1_status(self, run: _Run, status: str, now: datetime) -> None:
        if status not in V1_STATUSES:
            raise ValueError(f"v1 status must be one of {V1_STATUSES}")
        if status == run.status:
            return
        run.status = status
        run.updated_at = now
        run.changes.append(("workflow-run", {"content": {"workflowRunId": run.id, "status": status}}))

    @staticmethod
    def _find_activity(run: _Run, step: str | None) -> _Activity | None:
        for act in reversed(run.activities):
            if step is None or act.step_name == step or act.step_id == step:
                return act
        return None

    # ------------------------------------------------------------------ auth and faults

    def expire_token(self, after_requests: int = 0) -> None:
        """The valid token expires now (or after ``after_requests`` more authorised
        requests): later requests with it answer 401 ``jwt expired``."""
        with self._cond:
            if after_requests <= 0:
                self._expired_tokens |= self._valid_tokens
                self._valid_tokens = set()
                self._expire_after = None
            else:
                self._expire_after = after_requests

    def set_token(self, token: str) -> None:
        """Make ``token`` the (only) valid token, e.g. after a refresh."""
        with self._cond:
            self.token = token
            self._valid_tokens = {token}
            self._expired_tokens.discard(token)

    def forbid_token(self, token: str) -> None:
        """Requests with ``token`` answer 403."""
        with self._cond:
            self._forbidden_tokens.add(token)

    def set_delay(self, seconds: float, *, path_prefix: str | None = None) -> None:
        """Answer every request (or those under ``path_prefix``) ``seconds`` late."""
        with self._cond:
            self._delay = seconds
            self._delay_prefix = path_prefix

    def inject(
        self,
        status: int,
        count: int = 1,
        *,
        body: str | bytes | None = None,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """The next ``count`` matching requests get this response instead (before auth)."""
        if body is None:
            body = json.dumps(self._error_body(status, _phrase(status)))
        with self._cond:
            self._injections.append(
                {
                    "kind": "response",
                    "status": status,
                    "count": count,
                    "body": body.encode("utf-8") if isinstance(body, str) else body,
                    "content_type": content_type,
                    "headers": dict(headers or {}),
                    "method": method,
                    "path_prefix": path_prefix,
                }
            )

    def inject_503(self, count: int = 1, *, retry_after: str | int | None = 1, **match: Any) -> None:
        """The next ``count`` requests answer 503 JSON with ``Retry-After``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.inject(503, count, headers=headers, **match)

    def inject_html_error(self, count: int = 1, *, status: int = 502, **match: Any) -> None:
        """The next ``count`` requests answer a proxy's ``text/html`` error page."""
        html = PROXY_HTML.format(status=status, phrase=_phrase(status))
        self.inject(status, count, body=html, content_type="text/html", **match)

    def inject_disconnect(self, count: int = 1, *, method: str | None = None, path_prefix: str | None = None) -> None:
        """The next ``count`` requests get the connection closed without any response."""
        with self._cond:
            self._injections.append(
                {"kind": "disconnect", "count": count, "method": method, "path_prefix": path_prefix}
            )

    def inject_cancel_error(self, run_id: str, message: str = "Internal error while cancelling") -> None:
        """``/cancel`` answers outcome ``error`` for this run (until :meth:`clear_cancel_errors`)."""
        with self._cond:
            self._cancel_errors[run_id] = message

    def clear_cancel_errors(self) -> None:
        with self._cond:
            self._cancel_errors.clear()

    def clear_faults(self) -> None:
        """Remove pending injections and the delay."""
        with self._cond:
            self._injections.clear()
            self._delay = 0.0
            self._delay_prefix = None

    def stream_silent(self, after_events: int = 0) -> None:
        """Streams started from now on go silent (no events, no pings; the connection stays
        open) after ``after_events`` non-ping events.  ``None`` restores normal streams."""
        with self._cond:
            self._silent_after = after_events

    def stream_drop(self, after_events: int | None) -> None:
        """Streams started from now on are cut (connection reset, no final chunk) after
        ``after_events`` non-ping events.  ``None`` restores normal streams."""
        with self._cond:
            self._drop_after = after_events

    def stream_normal(self) -> None:
        with self._cond:
            self._silent_after = None
            self._drop_after = None

    @property
    def open_streams(self) -> int:
        with self._cond:
            return self._streams_open

    # ------------------------------------------------------------------ recorded requests

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def requests_for(
        self, method: str | None = None, path: str | None = None, *, prefix: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method, exact path and/or path prefix."""
        with self._cond:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path is None or r.path.rstrip("/") == path.rstrip("/"))
                and (prefix is None or r.path.startswith(prefix))
            ]

    def clear_requests(self) -> None:
        with self._cond:
            self._requests.clear()

    def wait_for(self, predicate: Callable[["FakeWorkflowRuns"], Any], timeout: float = 5.0, message: str = "") -> Any:
        """Wait until ``predicate(fake)`` is truthy (re-checked on every change and at least
        every 20 ms); returns its value or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                self._tick_locked()
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(message or "condition not reached within %.1fs" % timeout)
                self._cond.wait(min(remaining, 0.02))

    def wait_for_requests(
        self,
        count: int,
        method: str | None = None,
        path: str | None = None,
        *,
        prefix: str | None = None,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` matching requests were received; returns them."""
        return self.wait_for(
            lambda f: (lambda rs: rs if len(rs) >= count else None)(f.requests_for(method, path, prefix=prefix)),
            timeout,
            f"fewer than {count} requests {method or ''} {path or prefix or ''}",
        )

    # ------------------------------------------------------------------ JSON shapes

    def _encode_outputs(self, outputs: Any) -> Any:
        if outputs is None or self.outputs_encoding == "object":
            return copy.deepcopy(outputs)
        return json.dumps(outputs)

    def _v1_json(self, run: _Run, with_activities: bool = False) -> dict[str, Any]:
        wf = self._workflows.get(run.workflow_id)
        out: dict[str, Any] = {
            "id": run.id,
            "workflowId": run.workflow_id,
            "workflowName": wf.name if wf else None,
            "status": run.status,
            "inputs": copy.deepcopy(run.inputs),
            "createdAt": _iso(run.created_at),
            "updatedAt": _iso(run.updated_at),
        }
        if not self.with_inputs:
            del out["inputs"]
        out.update(copy.deepcopy(run.extra))
        if with_activities:
            out["activityRuns"] = [
                {
                    "id": a.id,
                    "stepId": a.step_id,
                    "stepName": a.step_name,
                    "status": a.status,
                    "outputs": self._encode_outputs(a.outputs),
                    "attempt": a.attempt,
                    "createdAt": _iso(a.created_at),
                    "updatedAt": _iso(a.updated_at),
                }
                for a in run.activities
            ]
        return out

    @staticmethod
    def _v2_json(run: _V2Run) -> dict[str, Any]:
        return {
            "id": run.id,
            "workflowId": run.workflow_id,
            "status": run.status,
            "completedAt": _iso(run.completed_at) if run.completed_at else None,
            "createdAt": _iso(run.created_at),
            "updatedAt": _iso(run.updated_at),
            "createdByUserId": run.created_by_user_id,
            "jobRunId": run.job_run_id,
            "currentStateName": run.current_state_name,
        }

    def _success(self, out: dict[str, Any]) -> dict[str, Any]:
        return {"success": True, **out} if self.with_success else out

    def _wrap_list(self, items: list[Any], pagination: dict[str, Any]) -> Any:
        if self.envelope == "bare":
            return items
        out: dict[str, Any] = {self.envelope: items}
        if self.with_pagination:
            out["pagination"] = pagination
        return self._success(out)

    def _wrap_one(self, obj: Any, envelope: str | None = None) -> Any:
        env = envelope or self.envelope
        key = {"data": "data", "workflowRuns": "workflowRun", "runs": "run"}.get(env)
        if key is None:  # bare, results
            return obj
        return self._success({key: obj})

    def _wrap_other(self, obj: dict[str, Any]) -> Any:
        if self.envelope == "data":
            return self._success({"data": obj})
        return self._success(dict(obj)) if self.envelope != "bare" else obj

    def _error_body(self, status: int, message: str) -> dict[str, Any]:
        body: dict[str, Any] = {"error": _phrase(status), "message": message, "statusCode": status}
        return {"success": False, **body} if self.with_success else body

    # ------------------------------------------------------------------ request handling

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        try:
            body = h.read_body()
        except (OSError, ValueError):
            h.close_connection = True
            return
        rec = RecordedRequest(
            method=h.command,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self._lower_headers(h),
            body=body,
            target=h.path,
        )
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()
            delay = self._delay if (self._delay_prefix is None or path.startswith(self._delay_prefix)) else 0.0
        if delay > 0 and self._stop_event.wait(delay):
            h.close_connection = True
            return
        injection = self._take_injection(h.command, path)
        if injection is not None:
            if injection["kind"] == "disconnect":
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            rec.status = injection["status"]
            h.send_bytes(injection["status"], injection["body"], injection["content_type"], injection["headers"])
            return
        try:
            self._route(h, rec, path)
        except _ApiError as err:
            self._send_json(
                h,
                rec,
                err.status,
                self._error_body(err.status, err.message),
                {"WWW-Authenticate": 'Bearer error="invalid_token"'} if err.status == 401 else None,
            )
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for assertions
            self._record_error(exc)
            if rec.status is None:
                try:
                    self._send_json(h, rec, 500, self._error_body(500, f"fake error: {exc!r}"))
                except OSError:
                    h.close_connection = True

    @staticmethod
    def _lower_headers(h: _Handler) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in h.headers.items():
            k = key.lower()
            out[k] = f"{out[k]}, {value}" if k in out else value
        return out

    def _take_injection(self, method: str, path: str) -> dict[str, Any] | None:
        with self._cond:
            for inj in self._injections:
                if inj["method"] and inj["method"].upper() != method:
                    continue
                if inj["path_prefix"] and not path.startswith(inj["path_prefix"]):
                    continue
                inj["count"] -= 1
                if inj["count"] <= 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _send_json(
        self, h: _Handler, rec: RecordedRequest, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        rec.status = status
        h.send_bytes(status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8", headers)

    def _check_auth(self, h: _Handler) -> None:
        header = h.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _ApiError(401, "Missing bearer token")
        with self._cond:
            if token in self._forbidden_tokens:
                raise _ApiError(403, "Forbidden: this token may not access workflow runs")
            if token in self._expired_tokens:
                raise _ApiError(401, "jwt expired")
            if token not in self._valid_tokens:
                raise _ApiError(401, "Invalid token")
            if self._expire_after is not None:
                self._expire_after -= 1
                if self._expire_after <= 0:
                    self._expire_after = None
                    self._expired_tokens |= self._valid_tokens
                    self._valid_tokens = set()

    def _route(self, h: _Handler, rec: RecordedRequest, path: str) -> None:
        method = h.command
        norm = path.rstrip("/") or "/"
        if norm == V1_BASE or norm.startswith(V1_BASE + "/"):
            self._check_auth(h)
            rest = norm[len(V1_BASE) :]
            parts = [p for p in rest.split("/") if p]
            if not parts:
                return self._allow(method, "GET") or self._list(h, rec)
            if parts == ["execute"]:
                return self._allow(method, "POST") or self._execute(h, rec, stream=False)
            if parts == ["execute", "stream"]:
                return self._allow(method, "POST") or self._execute(h, rec, stream=True)
            if parts == ["cancel"]:
                return self._allow(method, "POST") or self._cancel(h, rec)
            if len(parts) == 2 and parts[0] == "dashboard":
                return self._allow(method, "GET") or self._dashboard(h, rec, parts[1])
            if len(parts) == 1:
                return self._allow(method, "GET") or self._get_v1(h, rec, parts[0])
        elif norm.startswith(V2_BASE + "/"):
            if self.v2_auth:
                self._check_auth(h)
            parts = [p for p in norm[len(V2_BASE) :].split("/") if p]
            if len(parts) == 1:
                return self._allow(method, "GET") or self._get_v2(h, rec, parts[0])
        raise _ApiError(404, f"Cannot {method} {path}")

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise _ApiError(405, f"Method {method} not allowed; use {allowed}")

    # -- v1 list

    def _list(self, h: _Handler, rec: RecordedRequest) -> None:
        q = rec.query

        def one(name: str) -> str | None:
            values = q.get(name)
            if values is None:
                return None
            if len(values) > 1:
                raise _ApiError(400, f"{name} must be a single value")
            return values[0]

        def integer(name: str, default: int, lo: int, hi: int | None) -> int:
            raw = one(name)
            if raw is None:
                return default
            if not re.fullmatch(r"[0-9]+", raw.strip()):
                raise _ApiError(400, f"{name} must be an integer")
            value = int(raw)
            if value < lo or (hi is not None and value > hi):
                raise _ApiError(400, f"{name} must be between {lo} and {hi}" if hi else f"{name} must be at least {lo}")
            return value

        page = integer("page", 1, 1, None)
        limit = integer("limit", 10, 1, 100)
        workflow_id = one("workflowId")
        if workflow_id is not None and not UUID_RE.match(workflow_id):
            raise _ApiError(400, "workflowId must be a UUID")
        status = one("status")
        if status is not None and status not in V1_STATUSES:
            raise _ApiError(400, f"status must be one of: {', '.join(V1_STATUSES)}")
        search = (one("search") or "").lower()
        with self._cond:
            self._tick_locked()
            runs = sorted(self._runs.values(), key=lambda r: (r.created_at, r.seq), reverse=True)
            selected = []
            for run in runs:
                if workflow_id and run.workflow_id.lower() != workflow_id.lower():
                    continue
                if status and run.status != status:
                    continue
                name = self._workflows[run.workflow_id].name if run.workflow_id in self._workflows else ""
                if search and search not in name.lower():
                    continue
                selected.append(run)
            total = len(selected)
            items = [self._v1_json(r) for r in selected[(page - 1) * limit : page * limit]]
        pagination = {"page": page, "limit": limit, "total": total, "totalPages": math.ceil(total / limit)}
        self._send_json(h, rec, 200, self._wrap_list(items, pagination))

    # -- v1 get

    def _get_v1(self, h: _Handler, rec: RecordedRequest, run_id: str) -> None:
        if not UUID_RE.match(run_id):
            raise _ApiError(400, "Validation failed (uuid is expected)")
        with self._cond:
            self._tick_locked()
            run = self._runs.get(run_id.lower()) or self._runs.get(run_id)
            if run is None:
                raise _ApiError(404, f"Workflow run {run_id} not found")
            payload = self._wrap_one(self._v1_json(run, with_activities=True))
            if run.script is not None and run.script.advance_on == "get":
                self._advance_locked(run)
        self._send_json(h, rec, 200, payload)

    # -- v1 dashboard

    def _dashboard(self, h: _Handler, rec: RecordedRequest, workflow_id: str) -> None:
        if not UUID_RE.match(workflow_id):
            raise _ApiError(400, "workflowId must be a UUID")
        with self._cond:
            self._tick_locked()
            if workflow_id not in self._workflows:
                raise _ApiError(404, f"Workflow {workflow_id} not found")
            counts = {s: 0 for s in V1_STATUSES}
            for run in self._runs.values():
                if run.workflow_id == workflow_id:
                    counts[run.status] += 1
        if self.dashboard == "bare":
            payload = self._wrap_other(counts)
        else:
            payload = self._wrap_other({"workflowId": workflow_id, "counts": counts, "total": sum(counts.values())})
        self._send_json(h, rec, 200, payload)

    # -- v1 cancel

    def _cancel(self, h: _Handler, rec: RecordedRequest) -> None:
        if not rec.headers.get("content-type", "").lower().startswith("application/json"):
            raise _ApiError(415, "Content-Type must be application/json")
        try:
            body = rec.json()
        except (ValueError, UnicodeDecodeError):
            raise _ApiError(400, "Body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "Body must be a JSON object")
        has_ids, has_wf = "runIds" in body, "workflowId" in body
        if has_ids and has_wf:
            raise _ApiError(400, "Provide either runIds or workflowId, not both")
        if not has_ids and not has_wf:
            raise _ApiError(400, "Provide runIds or workflowId")
        reason = body.get("reason")
        if reason is not None:
            if not isinstance(reason, str):
                raise _ApiError(400, "reason must be a string")
            if len(reason) > REASON_MAX:
                raise _ApiError(400, f"reason must be at most {REASON_MAX} characters")
        with self._cond:
            self._tick_locked()
            if has_ids:
                ids = body["runIds"]
                if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
                    raise _ApiError(400, "runIds must be a non-empty array of strings")
            else:
                wid = body["workflowId"]
                if not isinstance(wid, str) or not UUID_RE.match(wid):
                    raise _ApiError(400, "workflowId must be a UUID")
                if wid not in self._workflows:
                    raise _ApiError(404, f"Workflow {wid} not found")
                ids = [
                    r.id
                    for r in sorted(self._runs.values(), key=lambda r: (r.created_at, r.seq))
                    if r.workflow_id == wid and r.status not in V1_TERMINAL
                ]
            results = []
            for rid in ids:
                run = self._runs.get(rid)
                if run is None:
                    results.append({"runId": rid, "outcome": "not_found", "message": "Workflow run not found"})
                elif rid in self._cancel_errors:
                    results.append({"runId": rid, "outcome": "error", "message": self._cancel_errors[rid]})
                elif run.status in V1_TERMINAL:
                    results.append(
                        {
                            "runId": rid,
                            "outcome": "already_completed",
                            "message": f"Workflow run is already {run.status}",
                        }
                    )
                elif run.status == "waiting" or not run.cancellable:
                    results.append(
                        {
                            "runId": rid,
                            "outcome": "not_eligible",
                            "message": "Runs waiting for user input cannot be cancelled; "
                            "resolve the pending input first"
                            if run.status == "waiting"
                            else "Workflow run is not eligible for cancellation",
                        }
                    )
                else:
                    now = self._wall()
                    run.script = None
                    for act in run.activities:
                        if act.status in ("scheduled", "running", "waiting"):
                            act.status, act.updated_at = "cancelled", now
                            run.changes.append(self._activity_event(run, act))
                    run.cancel_reason = reason
                    self._set_v1_status(run, "cancelled", now)
                    results.append({"runId": rid, "outcome": "cancelled", "message": "Workflow run cancelled"})
            self._cond.notify_all()
        summary: dict[str, int] = {}
        for r in results:
            summary[r["outcome"]] = summary.get(r["outcome"], 0) + 1
        self._send_json(h, rec, 200, self._wrap_other({"results": results, "summary": summary}))

    # -- v1 execute

    def _parse_execute(self, rec: RecordedRequest) -> tuple[_Workflow, dict[str, Any], dict[str, str]]:
        ctype = rec.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise _ApiError(415, "Content-Type must be multipart/form-data")
        try:
            fields = _parse_multipart(ctype, rec.body)
        except ValueError as exc:
            raise _ApiError(400, str(exc)) from None

        def text(name: str) -> str | None:
            values = fields.get(name)
            return values[-1]["text"] if values else None

        wid = text("workflowId")
        if not wid:
            raise _ApiError(400, "workflowId is required")
        if not UUID_RE.match(wid.strip()):
            raise _ApiError(400, "workflowId must be a UUID")
        inputs: Any = {}
        if text("inputs") not in (None, ""):
            try:
                inputs = json.loads(text("inputs") or "")
            except ValueError:
                raise _ApiError(400, "inputs must be a JSON object") from None
            if not isinstance(inputs, dict):
                raise _ApiError(400, "inputs must be a JSON object")
        envs: Any = {}
        if text("envs") not in (None, ""):
            try:
                envs = json.loads(text("envs") or "")
            except ValueError:
                raise _ApiError(400, "envs must be a JSON object of strings") from None
            if not isinstance(envs, dict) or not all(isinstance(v, str) for v in envs.values()):
                raise _ApiError(400, "envs must be a JSON object of strings")
        with self._cond:
            wf = self._workflows.get(wid.strip())
            if wf is None:
                raise _ApiError(404, f"Workflow {wid} not found")
        return wf, inputs, envs

    def _execute(self, h: _Handler, rec: RecordedRequest, stream: bool) -> None:
        wf, inputs, envs = self._parse_execute(rec)
        with self._cond:
            plan = _Plan(copy.deepcopy(wf.plan.frames), wf.plan.step_delay)
            now = self._wall()
            run = _Run(
                id=str(uuid.uuid4()),
                workflow_id=wf.id,
                status="scheduled",
                inputs=self._inputs_array(inputs),
                created_at=now,
                updated_at=now,
                seq=next(self._seq),
                envs=envs,
            )
            run.changes.append(("workflow-run", {"content": {"workflowRunId": run.id, "status": "scheduled"}}))
            self._runs[run.id] = run
            self._cond.notify_all()
        if not stream:
            final = self._drive(run.id, plan, None)
            if final is None:  # stopping
                h.close_connection = True
                return
            self._send_json(h, rec, 200, self._wrap_one(final))
            return
        self._stream(h, rec, run.id, plan)

    def _drive(self, run_id: str, plan: _Plan, sink: "_SSESink | None") -> dict[str, Any] | None:
        """Apply the plan's frames every ``step_delay`` seconds, then wait for a terminal
        state (external changes count).  Emits changes and pings into ``sink``.  Returns
        the final run JSON, or None when the fake is stopping."""
        frames = list(plan.frames)
        idx = 0
        start = time.monotonic()
        next_frame = start + plan.step_delay
        next_ping = start + self.ping_interval
        while not self._stop_event.is_set():
            with self._cond:
                self._tick_locked()
                run = self._runs[run_id]
                now = time.monotonic()
                while frames and now >= next_frame and run.status not in V1_TERMINAL:
                    self._apply_locked(run, frames.pop(0))
                    next_frame = now + plan.step_delay
                new = run.changes[idx:]
                idx = len(run.changes)
                terminal = run.status in V1_TERMINAL
                final = self._v1_json(run, with_activities=True) if terminal else None
            if sink is not None:
                for name, data in new:
                    sink.emit(name, data)
            if terminal:
                return final
            now = time.monotonic()
            if sink is not None and now >= next_ping:
                sink.emit("ping", {"content": "ping"}, ping=True)
                next_ping = now + self.ping_interval
            wake = min(next_ping if sink is not None else math.inf, next_frame if frames else math.inf)
            with self._cond:
                if len(self._runs[run_id].changes) == idx and not self._stop_event.is_set():
                    self._cond.wait(max(0.0, min(wake - time.monotonic(), 0.25)))
        return None

    def _stream(self, h: _Handler, rec: RecordedRequest, run_id: str, plan: _Plan) -> None:
        with self._cond:
            silent_after, drop_after = self._silent_after, self._drop_after
            self._streams_open += 1
        rec.status = 200
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream; charset=utf-8")
            h.send_header("Cache-Control", "no-cache")
            h.send_header("X-Accel-Buffering", "no")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.flush()
            sink = _SSESink(h, silent_after, drop_after)
            final = self._drive(run_id, plan, sink)
            if final is not None and not sink.quiet:
                with self._cond:
                    errored = any(name == "error" for name, _ in self._runs[run_id].changes)
                if final["status"] == "failed":
                    if not errored:
                        sink.emit(
                            "error",
                            {"error": "Workflow run failed", "details": {"workflowRunId": run_id, "status": "failed"}},
                        )
                else:
                    sink.emit("result", {"success": True, "workflowRun": final})
            if sink.silent and not sink.gone:
                self._hold_open(h)  # a dead-but-open connection until the client or stop() ends it
            elif not sink.gone:
                try:
                    h.wfile.write(b"0\r\n\r\n")
                    # a stream that ended cleanly leaves a reusable keep-alive connection
                    h.close_connection = self._stop_event.is_set()
                except OSError:
                    pass
        finally:
            with self._cond:
                self._streams_open -= 1
                self._cond.notify_all()

    def _hold_open(self, h: _Handler) -> None:
        conn = h.connection
        while not self._stop_event.wait(0.02):
            try:
                readable, _, _ = select.select([conn], [], [], 0)
                if readable and not conn.recv(1, socket.MSG_PEEK):
                    return  # client closed
            except (OSError, ValueError):
                return

    # -- v2

    def _get_v2(self, h: _Handler, rec: RecordedRequest, run_id: str) -> None:
        if not V2_UUID_RE.match(run_id):
            raise _ApiError(400, "id must be a UUID (versions 1-8, RFC 4122 variant) or the nil UUID")
        with self._cond:
            self._tick_locked()
            run = self._v2_runs.get(run_id) or self._v2_runs.get(run_id.lower())
            if run is None:
                raise _ApiError(404, f"Workflow run {run_id} not found")
            payload = self._wrap_one(self._v2_json(run), self.v2_envelope)
            if run.script is not None and run.script.advance_on == "get":
                self._advance_locked(run)
        self._send_json(h, rec, 200, payload)


class _SSESink:
    """Writes SSE events as HTTP chunks, one flush each, honouring silent/drop modes."""

    def __init__(self, h: _Handler, silent_after: int | None, drop_after: int | None):
        self.h = h
        self.silent_after = silent_after
        self.drop_after = drop_after
        self.sent = 0  # non-ping events written
        self.silent = silent_after is not None and silent_after <= 0
        self.gone = False

    @property
    def quiet(self) -> bool:
        return self.silent or self.gone

    def emit(self, name: str, data: Any, ping: bool = False) -> None:
        if self.quiet:
            return
        if not ping:
            if self.drop_after is not None and self.sent >= self.drop_after:
                self.gone = True
                try:
                    self.h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if self.silent_after is not None and self.sent >= self.silent_after:
                self.silent = True
                return
        payload = f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode("utf-8")
        try:
            self.h.write_chunk(payload)
        except OSError:
            self.gone = True
            return
        if not ping:
            self.sent += 1
