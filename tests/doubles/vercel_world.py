"""Contract fake of the Workflow SDK's Vercel world HTTP API, served over real HTTP on loopback.

Written from the Vercel world's API as the Workflow SDK uses it (the routes below; what wfctl reads of it:
docs/architecture.md, "Workflow SDK Vercel world"); stdlib + cbor2. The server binds 127.0.0.1 on a free port,
serves under the proxy's path ``/v1/workflow`` and runs in daemon threads::

    with FakeVercelWorld(token="t", project="prj_1", team="team_1") as fake:
        run = fake.add_run(status="running", input=["Ada", "1h"])
        httpx.get(f"{fake.url}/v2/runs/{run}", headers=fake.auth_headers())

Every request must carry ``Authorization: Bearer <token>`` (else 401), ``x-vercel-project-id`` and
``x-vercel-team-id`` matching the fake's (else 403) and ``x-vercel-environment`` = production | preview |
development (else 400). Runs belong to one environment and are invisible (404 / absent) from the others.
Errors answer JSON ``{"code", "message"}`` (what @workflow/world-vercel reads from an error answer).

Bodies are CBOR when the request's ``Accept`` names ``application/cbor`` (JSON otherwise, bytes as base64).
Dates are CBOR tag 1 (epoch seconds, as cbor-x encodes ``Date``); byte strings are wrapped in tag 64 (cbor-x's
``Uint8Array`` tag) unless ``tag_uint8=False``.

Routes (relative to ``/v1/workflow``):

* ``GET /v2/runs?workflowName=&status=&limit=&cursor=&sortOrder=&remoteRefBehavior=`` → ``{data, cursor,
  hasMore}``; sorted by ``createdAt`` then ``runId`` (``sortOrder`` default ``desc``); ``limit`` 1..1000
  (default 100, else 400); ``status`` one SDK status (else 400); ``cursor`` opaque (null on the last page);
  ``remoteRefBehavior=lazy`` replaces ``input``/``output`` by ``inputRef``/``outputRef`` descriptors.
* ``GET /v2/runs/{id}?remoteRefBehavior=`` → the run; 404 unknown.
* ``GET /v2/runs/{runId}/steps?limit=&cursor=&sortOrder=&remoteRefBehavior=`` → paged steps (asc default).
* ``GET /v2/hooks?runId=&limit=&cursor=&sortOrder=`` → paged hooks.
* ``GET /v4/runs/{runId}/events?cursor=&limit=&sortOrder=&remoteRefBehavior=`` → ``application/vnd.workflow.
  v4-frames``: one frame per event (meta = the event entity, its payload field a ``{"_ref": ...}`` descriptor;
  body = the payload bytes when resolved, empty when ``lazy``), then ``{_end: 1, next?, hasMore}``. The API
  gives ``next`` only when more pages remain (@workflow/world-vercel takes its presence as ``hasMore``);
  ``event_cursor_on_last_page=True`` (the default, kept for older tests) also gives it on a last page that has
  events (a resume point), never on an empty one.
  ``truncate_events()`` drops the end frame of the next answers.
* ``GET /v4/runs/{runId}/events/{eventId}`` → one frame (no end frame); ``GET /v4/events?correlationId=&runId=``
  → the same frame list, selected by correlation id.
* ``POST /v4/runs/{runId}/events/{eventType}`` — one v4 frame, as @workflow/world-vercel 4.x builds it: meta
  ``{eventType, specVersion, correlationId?, occurredAt, remoteRefBehavior, deploymentId?, workflowName?,
  stepName?, attempt?, resumeAt?, retryAfter?, hookToken?, hookIsWebhook?, errorCode?, error?, stack?,
  executionContext?}``, body = the event's payload bytes (``run_created.input``, ``step_completed.result``, ...).
  ``eventType`` and ``specVersion`` are required (else 400, as in vercel/workflow#1076). Every event type of the
  world's create schema is applied to the entities as @workflow/world-local applies it:
  ``run_created`` (client-minted run id; 409 if it exists), ``run_started`` (pending → running; creates a missed
  run from the queue's run input; 410 on a finished run), ``run_completed`` / ``run_failed`` (409 on a finished
  run; ``errorCode`` kept beside the error), ``run_cancelled`` (409 for completed/failed runs, a cancelled run
  takes another event; ``cancelReason`` stored unless ``accept_cancel_reason=False``, then 400), the step events
  (409 on a finished step; ``step_started`` counts the attempt; ``step_retrying`` keeps ``retryAfter``),
  ``wait_created`` / ``wait_completed`` (404 unknown wait, 409 completed or on a finished run), ``hook_created``
  (a token another active hook holds gives a ``hook_conflict`` event instead), ``hook_received`` /
  ``hook_disposed`` (404 unknown hook). A finished run loses its hooks. Run and step errors the runtime sends in
  the meta (a message + ``stack``, or ``{message, stack}``) are kept as a CBOR StructuredError and served as
  the event's body, as the client decodes them. Answers headers ``x-wf-event-id``, ``x-wf-run-id``,
  ``x-wf-created-at`` and a CBOR ``{event, run, step?, hook?, wait?}`` (resolved when the meta asks
  ``remoteRefBehavior: resolve``).
* ``POST /v2/runs/{runId}/events`` — the same with a JSON body ``{"eventType", "specVersion", ...}``.
* ``POST /v1/runs/create`` (CBOR ``{deploymentId, workflowName, input}``) and ``PUT /v1/runs/{id}/cancel`` — legacy
  (specVersion 1) runs, the client's ``v1Compat``.
* ``GET /v2/runs/{runId}/steps/{stepId}``, ``GET /v2/steps/{stepId}``, ``GET /v2/hooks/{hookId}``,
  ``GET /v2/hooks/by-token?token=`` → one entity.
* ``GET /v2/runs/{runId}/streams`` → JSON list of stream names.
* ``GET /v2/runs/{runId}/streams/{name}/chunks?limit=&cursor=`` → ``{data: [{index, data}], cursor, hasMore,
  done}``; ``cursor`` is null on the last page unless ``chunk_cursor_on_last_page=True``; 404 unknown stream.
* ``GET /v2/runs/{runId}/streams/{name}/info`` → ``{tailIndex, done}``.
* ``PUT /v2/runs/{runId}/stream/{name}`` — a chunk (``X-Stream-Multi: true``: several, each ``u32be length |
  bytes``; ``X-Stream-Done: true``: close). ``GET /v2/stream/{name}?startIndex=`` (or under ``/v2/runs/{runId}``)
  — the live read: the chunks' bytes from ``startIndex`` (negative: from the end), held open until the stream is
  done or ``live_read_seconds`` passed.

Runs carry any ``specVersion`` they are given (the fake does not gate; 7 = the 5.0 line's sealed log) and the
5.0 fields (README, "Workflow SDK versions"): run ``attributes``, ``error`` as serialized bytes with ``errorCode``
beside it, hook ``isSystem``.

Fault injection: :meth:`fail` (status, times, method, path regex; 5xx/429 answers carry ``Retry-After: 0``).
Recording: :attr:`requests` (method, path, query, headers, body, status); :attr:`unrouted` the requests no route
answered (404). :meth:`on_request` registers a
callback run (under the fake's lock) after each request, to script changes ("after the 2nd event read, the
run completes").
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import cbor2

BASE_PATH = "/v1/workflow"
V4_FRAMES = "application/vnd.workflow.v4-frames"
SDK_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
TERMINAL = ("completed", "failed", "cancelled")
ENVIRONMENTS = ("production", "preview", "development")
PAYLOAD_FIELD = {
    "run_created": "input",
    "run_started": "input",
    "run_completed": "output",
    "run_failed": "error",
    "step_created": "input",
    "step_started": "input",
    "step_completed": "result",
    "step_failed": "error",
    "step_retrying": "error",
    "hook_created": "metadata",
    "hook_received": "payload",
}
#: The fake's own bookkeeping in its records, never answered (a reference descriptor's ``_ref`` is answered).
PRIVATE_KEYS = ("_env", "_payload")
#: The event types a client may write (@workflow/world ``CreateEventSchema``; hook_conflict is the world's own).
CREATE_EVENT_TYPES = (
    "run_created",
    "run_started",
    "run_completed",
    "run_failed",
    "run_cancelled",
    "step_created",
    "step_started",
    "step_completed",
    "step_failed",
    "step_retrying",
    "hook_created",
    "hook_received",
    "hook_disposed",
    "wait_created",
    "wait_completed",
)
#: Events whose error the 4.x runtime sends as a structured value in the frame meta, not dehydrated bytes: the
#: API keeps it as a CBOR StructuredError ``{message, stack?}`` and serves it as the event body.
STRUCTURED_ERROR_EVENTS = ("run_failed", "step_failed", "step_retrying")
#: v4 POST frame meta → eventData (world-vercel ``splitEventDataForV4``: the hook token and webhook flag are
#: renamed on the wire; stack is folded into the structured error).
META_EVENT_DATA = {
    "deploymentId": "deploymentId",
    "workflowName": "workflowName",
    "stepName": "stepName",
    "attempt": "attempt",
    "resumeAt": "resumeAt",
    "retryAfter": "retryAfter",
    "hookToken": "token",
    "hookIsWebhook": "isWebhook",
    "errorCode": "errorCode",
    "executionContext": "executionContext",
}
T0 = datetime(2026, 11, 22, 4, 0, 0, tzinfo=timezone.utc)
DEMO_WORKFLOW = "workflow//./workflows/demo//demoWorkflow"

# -- ids ---------------------------------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ulid_lock = threading.Lock()
_ulid_last = [0, 0]


def ulid(at: datetime | None = None) -> str:
    """A monotonic ULID (ids minted in one millisecond sort in call order)."""
    with _ulid_lock:
        ms = int((at or datetime.now(timezone.utc)).timestamp() * 1000)
        if ms <= _ulid_last[0]:
            ms, rand = _ulid_last[0], _ulid_last[1] + 1
        else:
            rand = random.getrandbits(79)
        _ulid_last[:] = [ms, rand]
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


# -- payloads (as the Workflow SDK stores them) ----------------------------------------------------------


def devalue(value: Any) -> str:
    """``devalue.stringify`` for JSON-like values (+ ``datetime`` as ``["Date", iso]``)."""
    out: list[Any] = []

    def add(v: Any) -> int:
        index = len(out)
        out.append(None)
        if isinstance(v, dict):
            out[index] = {str(k): add(x) for k, x in v.items()}
        elif isinstance(v, (list, tuple)):
            out[index] = [add(x) for x in v]
        elif isinstance(v, datetime):
            out[index] = ["Date", v.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")]
        else:
            out[index] = v
        return index

    add(value)
    return json.dumps(out, separators=(",", ":"))


def devl(value: Any) -> bytes:
    """A ``devl`` payload: the 4-byte format prefix + devalue text."""
    return b"devl" + devalue(value).encode("utf-8")


def encr(size: int = 32) -> bytes:
    """An ``encr`` payload (opaque ciphertext: the fake never has a key)."""
    return b"encr" + bytes(random.getrandbits(8) for _ in range(size))


def frame_value(value: Any, *, encrypted: bool = False) -> bytes:
    """One stream frame: ``[u32 big-endian length][devl...]`` (or ``encr...``)."""
    payload = encr() if encrypted else devl(value)
    return struct.pack(">I", len(payload)) + payload


def encode_v4_frame(meta: dict[str, Any], body: bytes = b"") -> bytes:
    meta_bytes = cbor2.dumps(meta, datetime_as_timestamp=True, timezone=timezone.utc)
    return struct.pack(">I", len(meta_bytes)) + meta_bytes + struct.pack(">I", len(body)) + body


def decode_v4_frames(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    frames, pos = [], 0
    while pos < len(data):
        (meta_len,) = struct.unpack_from(">I", data, pos)
        meta = cbor2.loads(data[pos + 4 : pos + 4 + meta_len])
        pos += 4 + meta_len
        (body_len,) = struct.unpack_from(">I", data, pos)
        body = data[pos + 4 : pos + 4 + body_len]
        pos += 4 + body_len
        if len(body) != body_len:
            raise ValueError("truncated frame")
        frames.append((meta, body))
    return frames


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def stream_name(run_id: str, namespace: str | None = None) -> str:
    base = run_id.replace("wrun_", "strm_", 1) + "_user"
    return f"{base}_{_b64url(namespace)}" if namespace else base


def _cursor(key: Any) -> str:
    return "c." + base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _uncursor(text: str) -> Any:
    if not text.startswith("c."):
        raise ValueError("bad cursor")
    raw = text[2:]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def _structured_error(error: Any, stack: Any = None) -> dict[str, Any] | None:
    """A run/step error as the 4.x runtime sends it (a message string, or ``{message, stack?}``) →
    ``{message, stack?}``."""
    if isinstance(error, str):
        out: dict[str, Any] = {"message": error}
    elif isinstance(error, dict) and isinstance(error.get("message"), str):
        out = {k: error[k] for k in ("message", "stack", "code") if isinstance(error.get(k), str)}
    else:
        return None
    if isinstance(stack, str) and "stack" not in out:
        out["stack"] = stack
    return out


# -- recording and faults ----------------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str  # relative to /v1/workflow, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int = 0

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    status: int
    times: int
    method: str | None
    path: re.Pattern[str] | None
    body: Any
    headers: dict[str, str]


@dataclass
class _Write:
    """One event write being applied."""

    run_id: str
    env: str
    event_type: str
    correlation_id: str | None
    spec: int
    data: dict[str, Any]
    payload: bytes | None
    error: dict[str, Any] | None
    occurred_at: datetime | None
    reason: Any = None


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # a live body, sent chunked (outside the fake's lock)


# -- the fake ----------------------------------------------------------------------------------------------


class FakeVercelWorld:
    def __init__(
        self,
        *,
        token: str = "t",
        project: str = "prj_1",
        team: str = "team_1",
        environment: str = "production",
        tag_uint8: bool = True,
        accept_cancel_reason: bool = True,
        chunk_cursor_on_last_page: bool = False,
        event_cursor_on_last_page: bool = True,
        live_read_seconds: float = 30.0,
    ):
        self.token, self.project, self.team, self.environment = token, project, team, environment
        self.tag_uint8 = tag_uint8
        self.accept_cancel_reason = accept_cancel_reason
        self.chunk_cursor_on_last_page = chunk_cursor_on_last_page
        self.event_cursor_on_last_page = event_cursor_on_last_page
        self.live_read_seconds = live_read_seconds
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified when a stream grows or closes, and on stop()
        self._stopping = False
        self.runs: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.streams: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[Recorded] = []
        self.unrouted: list[Recorded] = []  # requests no route answered (404): a client using an unknown route
        self.faults: list[Fault] = []
        self.callbacks: list[Callable[["FakeVercelWorld", Recorded], None]] = []
        self.truncated_event_answers = 0
        self._clock = T0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> "FakeVercelWorld":
        handler = type("Handler", (_Handler,), {"fake": self})
        self._stopping = False
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-vercel-world", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self._stopping = True  # ends live stream reads
            self.changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeVercelWorld":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    def auth_headers(self, environment: str | None = None) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.token}",
            "x-vercel-project-id": self.project,
            "x-vercel-team-id": self.team,
            "x-vercel-environment": environment or self.environment,
            "accept": "application/cbor",
        }

    # -- scripting ----------------------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` (before the auth check)."""
        extra = dict(headers or {})
        if status >= 500 or status == 429:
            extra.setdefault("retry-after", "0")
        with self.lock:
            self.faults.append(
                Fault(
                    status, times, method.upper() if method else None, re.compile(path) if path else None, body, extra
                )
            )

    def on_request(self, callback: Callable[["FakeVercelWorld", Recorded], None]) -> None:
        self.callbacks.append(callback)

    def progress_as_read(self, run_id: str) -> list[Recorded]:
        """Move ``run_id`` on as a live tail reads its events: a step (``greet``, output "hi") after the second
        read of the events, the run completed (output "done") after the third. Returns the list of those reads,
        filled as they come."""
        reads: list[Recorded] = []

        def progress(world: "FakeVercelWorld", request: Recorded) -> None:
            if request.method == "GET" and request.path.endswith("/events"):
                reads.append(request)
                if len(reads) == 2:
                    world.add_step(run_id, "greet", output="hi")
                elif len(reads) == 3:
                    world.set_status(run_id, "completed", output="done")

        self.on_request(progress)
        return reads

    def truncate_events(self, times: int = 1) -> None:
        with self.lock:
            self.truncated_event_answers += times

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        pattern = re.compile(path) if path else None
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and (pattern is None or pattern.search(r.path))
            ]

    def tick(self, seconds: float = 1.0) -> datetime:
        """The fake's clock: every record gets a distinct, increasing time."""
        with self.lock:
            self._clock += timedelta(seconds=seconds)
            return self._clock

    # -- data builders ------------------------------------------------------------------------------------
    def add_run(
        self,
        *,
        run_id: str | None = None,
        workflow: str = DEMO_WORKFLOW,
        status: str = "running",
        input: Any = None,
        output: Any = None,
        error: Any = None,
        error_code: str | None = None,
        encrypted: bool = False,
        created: datetime | None = None,
        spec_version: int = 3,
        environment: str | None = None,
        deployment_id: str = "dpl_fake1",
        events: bool = True,
        error_as_json_string: bool = False,
        attributes: dict[str, Any] | None = None,
        core_version: str = "4.8.9",
    ) -> str:
        """A run with its lifecycle events (run_created, run_started, and the terminal event).

        5.0 runs (spec 4 and later): ``attributes`` is the run's attribute map, and an ``error`` given as bytes
        is a serialized value (devalue with a ``FatalError``/``Error`` reducer tag), ``errorCode`` beside it."""
        with self.lock:
            created = created or self.tick()
            run_id = run_id or f"wrun_{ulid(created)}"
            payload_in = None if input is None else (encr() if encrypted else devl(input))
            run: dict[str, Any] = {
                "runId": run_id,
                "status": status,
                "deploymentId": deployment_id,
                "workflowName": workflow,
                "specVersion": spec_version,
                "executionContext": {
                    "traceCarrier": {},
                    "workflowCoreVersion": core_version,
                    "features": {"encryption": encrypted},
                },
                "input": payload_in,
                "createdAt": created,
                "updatedAt": created,
                "_env": environment or self.environment,
            }
            if status != "pending":
                run["startedAt"] = created + timedelta(milliseconds=20)
            if status in TERMINAL:
                run["completedAt"] = created + timedelta(seconds=5)
                run["updatedAt"] = run["completedAt"]
            if status == "completed":
                run["output"] = encr() if encrypted else devl(output)
            if status == "failed":
                if isinstance(error, (bytes, bytearray)):
                    run["error"] = bytes(error)
                else:
                    err = error if isinstance(error, dict) else {"message": error or "boom", "stack": "Error: boom"}
                    run["error"] = json.dumps(err) if error_as_json_string else err
                if error_code:
                    run["errorCode"] = error_code
            if attributes is not None:
                run["attributes"] = dict(attributes)
            self.runs[run_id] = run
            self.steps.setdefault(run_id, [])
            self.events.setdefault(run_id, [])
            self.hooks.setdefault(run_id, [])
            self.streams.setdefault(run_id, {})
            if events:
                self.add_event(
                    run_id,
                    "run_created",
                    payload=payload_in,
                    at=created,
                    deploymentId=deployment_id,
                    workflowName=workflow,
                )
                if status != "pending":
                    self.add_event(run_id, "run_started", at=created + timedelta(milliseconds=20))
            if events and status in TERMINAL:
                self._terminal_event(run_id)
            return run_id

    def _terminal_event(self, run_id: str) -> None:
        run = self.runs[run_id]
        status = run["status"]
        if status == "completed":
            self.add_event(run_id, "run_completed", payload=run.get("output"), at=run["completedAt"])
        elif status == "failed":
            if isinstance(run["error"], bytes):
                payload = run["error"]  # 5.0: the serialized error, kept as the runtime wrote it
            else:  # 4.x: the StructuredError the runtime sent in the meta, kept as CBOR (STRUCTURED_ERROR_EVENTS)
                error = run["error"] if isinstance(run["error"], dict) else json.loads(run["error"])
                payload = cbor2.dumps({k: v for k, v in error.items() if k in ("message", "stack")})
            self.add_event(
                run_id,
                "run_failed",
                payload=payload,
                at=run["completedAt"],
                **({"errorCode": run["errorCode"]} if run.get("errorCode") else {}),
            )
        elif status == "cancelled":
            self.add_event(run_id, "run_cancelled", at=run["completedAt"])

    def add_event(
        self,
        run_id: str,
        event_type: str,
        *,
        correlation_id: str | None = None,
        payload: bytes | None = None,
        at: datetime | None = None,
        spec_version: int | None = None,
        occurred_at: datetime | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """Append an event (its specVersion: ``spec_version``, else the run's)."""
        with self.lock:
            at = at or self.tick()
            spec = spec_version if spec_version is not None else self.runs[run_id].get("specVersion", 3)
            event: dict[str, Any] = {
                "eventId": f"wevt_{ulid(at)}",
                "runId": run_id,
                "eventType": event_type,
                "createdAt": at,
                "specVersion": spec,
            }
            if occurred_at is not None:
                event["occurredAt"] = occurred_at
            if correlation_id:
                event["correlationId"] = correlation_id
            if data:
                event["eventData"] = dict(data)
            if payload is not None:
                event["_payload"] = payload
            self.events.setdefault(run_id, []).append(event)
            return event

    def add_step(
        self,
        run_id: str,
        name: str = "greet",
        *,
        status: str = "completed",
        input: Any = None,
        output: Any = None,
        error: str | None = None,
        attempt: int = 1,
        encrypted: bool = False,
        events: bool = True,
    ) -> str:
        with self.lock:
            at = self.tick()
            step_id = f"step_{ulid(at)}"
            machine = f"step//./workflows/demo//{name}"
            payload_in = encr() if encrypted else devl({"args": input if input is not None else []})
            step: dict[str, Any] = {
                "runId": run_id,
                "stepId": step_id,
                "stepName": machine,
                "status": status,
                "attempt": attempt,
                "input": payload_in,
                "createdAt": at,
                "updatedAt": at,
                "specVersion": self.runs[run_id].get("specVersion", 3),
            }
            if status != "pending":
                step["startedAt"] = at + timedelta(milliseconds=5)
            if status == "completed":
                step["output"] = encr() if encrypted else devl(output)
                step["completedAt"] = at + timedelta(milliseconds=50)
            if error:
                step["error"] = {"message": error, "stack": f"Error: {error}"}
            if status == "failed":
                step["completedAt"] = at + timedelta(milliseconds=50)
            self.steps.setdefault(run_id, []).append(step)
            if events:
                self.add_event(
                    run_id, "step_created", correlation_id=step_id, payload=payload_in, at=at, stepName=machine
                )
                if status != "pending":
                    self.add_event(
                        run_id, "step_started", correlation_id=step_id, at=step["startedAt"], attempt=attempt
                    )
                if status == "completed":
                    self.add_event(
                        run_id,
                        "step_completed",
                        correlation_id=step_id,
                        payload=step["output"],
                        at=step["completedAt"],
                        stepName=machine,
                    )
                if status == "failed":
                    self.add_event(
                        run_id,
                        "step_failed",
                        correlation_id=step_id,
                        payload=cbor2.dumps(step.get("error") or {"message": "boom"}),  # STRUCTURED_ERROR_EVENTS
                        at=step["completedAt"],
                        stepName=machine,
                    )
            return step_id

    def add_sleep(self, run_id: str, resume_in: timedelta = timedelta(hours=1)) -> str:
        """A pending ``sleep()``: a ``wait_created`` event (the Vercel world keeps waits in its event log)."""
        with self.lock:
            at = self.tick()
            corr = f"wait_{ulid(at)}"
            self.add_event(run_id, "wait_created", correlation_id=corr, at=at, resumeAt=at + resume_in)
            return corr

    def add_hook(
        self, run_id: str, token: str = "approval:doc1", metadata: Any = None, is_system: bool | None = None
    ) -> str:
        """A hook; ``is_system`` (5.0): the runtime's own abort hook (token ``abrt_...``)."""
        with self.lock:
            at = self.tick()
            hook_id = f"hook_{ulid(at)}"
            meta_bytes = devl(metadata) if metadata is not None else None
            hook = {
                "runId": run_id,
                "hookId": hook_id,
                "token": token,
                "ownerId": "team_1",
                "projectId": self.project,
                "environment": self.runs[run_id]["_env"],
                "createdAt": at,
                "specVersion": self.runs[run_id].get("specVersion", 3),
            }
            if meta_bytes is not None:
                hook["metadata"] = meta_bytes
            if is_system is not None:
                hook["isSystem"] = is_system
            self.hooks.setdefault(run_id, []).append(hook)
            self.add_event(run_id, "hook_created", correlation_id=hook_id, payload=meta_bytes, at=at, token=token)
            return hook_id

    def add_stream(
        self,
        run_id: str,
        values: list[Any] = (),
        *,
        namespace: str | None = None,
        done: bool = False,
        encrypted: bool = False,
    ) -> str:
        with self.lock:
            name = stream_name(run_id, namespace)
            self.streams.setdefault(run_id, {})[name] = {"chunks": [], "done": done}
            for value in values:
                self.append_chunk(run_id, name, frame_value(value, encrypted=encrypted))
            return name

    def append_chunk(self, run_id: str, name: str, data: bytes) -> int:
        with self.lock:
            chunks = self.streams[run_id][name]["chunks"]
            chunks.append(data)
            self.changed.notify_all()
            return len(chunks) - 1

    def close_stream(self, run_id: str, name: str) -> None:
        with self.lock:
            self.streams[run_id][name]["done"] = True
            self.changed.notify_all()

    def set_status(self, run_id: str, status: str, *, output: Any = None, event: bool = True) -> None:
        """Move a run to a new status (a terminal one writes its terminal event)."""
        with self.lock:
            run = self.runs[run_id]
            now = self.tick()
            run["status"] = status
            run["updatedAt"] = now
            if status in TERMINAL:
                run["completedAt"] = now
                if status == "completed":
                    run["output"] = devl(output)
                if status == "failed":
                    run.setdefault("error", {"message": "boom"})
                self.hooks[run_id] = []
                if event:
                    self._terminal_event(run_id)

    # -- request handling ---------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path
        record = Recorded(method, path[len(BASE_PATH) :] if path.startswith(BASE_PATH) else path, query, headers, body)
        with self.lock:
            self.requests.append(record)
            reply = self._fault(record)
            if reply is None:
                try:
                    reply = self._dispatch(record, path)
                except HttpError as exc:
                    reply = self._json(exc.status, {"code": exc.code, "message": exc.message})
            record.status = reply.status
            for callback in list(self.callbacks):
                callback(self, record)
        return reply

    def _fault(self, record: Recorded) -> Reply | None:
        for fault in self.faults:
            if fault.times <= 0:
                continue
            if fault.method and fault.method != record.method:
                continue
            if fault.path and not fault.path.search(record.path):
                continue
            fault.times -= 1
            body = fault.body if fault.body is not None else {"code": "injected", "message": f"injected {fault.status}"}
            reply = self._json(fault.status, body)
            reply.headers.update(fault.headers)
            return reply
        return None

    def _auth(self, record: Recorded) -> str:
        if record.headers.get("authorization") != f"Bearer {self.token}":
            raise HttpError(401, "forbidden", "Not authorized: missing or invalid token")
        if (
            record.headers.get("x-vercel-project-id") != self.project
            or record.headers.get("x-vercel-team-id") != self.team
        ):
            raise HttpError(403, "forbidden", "You don't have access to this project")
        environment = record.headers.get("x-vercel-environment")
        if environment not in ENVIRONMENTS:
            raise HttpError(400, "bad_request", "x-vercel-environment must be production, preview or development")
        return environment

    def _dispatch(self, record: Recorded, full_path: str) -> Reply:
        if not full_path.startswith(BASE_PATH + "/"):
            self.unrouted.append(record)
            raise HttpError(404, "not_found", "no such route")
        env = self._auth(record)
        segments = [unquote(s) for s in record.path.strip("/").split("/")]
        method = record.method
        cbor = "application/cbor" in record.headers.get("accept", "")
        match segments:
            case ["v2", "runs"] if method == "GET":
                return self._encode(self._list_runs(record, env), cbor)
            case ["v2", "runs", run_id] if method == "GET":
                run = self._run(run_id, env)
                return self._encode(self._run_view(run, lazy=record.param("remoteRefBehavior") == "lazy"), cbor)
            case ["v2", "runs", run_id, "steps"] if method == "GET":
                self._run(run_id, env)
                lazy = record.param("remoteRefBehavior") == "lazy"
                steps = [self._strip(s, ("input", "output"), lazy) for s in self.steps[run_id]]
                return self._encode(
                    self._paginate(steps, record, key=lambda s: [s["stepId"]], default_order="asc"), cbor
                )
            case ["v2", "hooks"] if method == "GET":
                run_id = record.param("runId")
                if run_id:
                    self._run(run_id, env)
                    hooks = list(self.hooks.get(run_id, []))
                else:
                    hooks = [h for rid, hs in self.hooks.items() if self.runs[rid]["_env"] == env for h in hs]
                return self._encode(
                    self._paginate(hooks, record, key=lambda h: [h["hookId"]], default_order="asc"), cbor
                )
            case ["v4", "runs", run_id, "events"] if method == "GET":
                self._run(run_id, env)
                return self._list_events(self.events.get(run_id, []), record)
            case ["v4", "runs", run_id, "events", event_id] if method == "GET":
                return self._get_event(run_id, event_id, env)
            case ["v4", "events"] if method == "GET":
                return self._events_by_correlation(record, env)
            case ["v2", "runs", run_id, "steps", step_id] if method == "GET":
                self._run(run_id, env)
                return self._encode(self._find_step(step_id, env, run_id, record), cbor)
            case ["v2", "steps", step_id] if method == "GET":
                return self._encode(self._find_step(step_id, env, None, record), cbor)
            case ["v2", "hooks", "by-token"] if method == "GET":
                token = record.param("token")
                return self._encode(self._find_hook(lambda h: h["token"] == token, env, f"token {token}"), cbor)
            case ["v2", "hooks", hook_id] if method == "GET":
                return self._encode(self._find_hook(lambda h: h["hookId"] == hook_id, env, hook_id), cbor)
            case ["v1", "runs", "create"] if method == "POST":
                return self._create_legacy_run(record, env, cbor)
            case ["v4", "runs", run_id, "events", _event_type] if method == "POST":
                try:
                    frames = decode_v4_frames(record.body)
                except (ValueError, struct.error, cbor2.CBORDecodeError) as exc:
                    raise HttpError(400, "bad_request", f"invalid v4 frame: {exc}") from None
                if len(frames) != 1:
                    raise HttpError(400, "bad_request", f"expected one frame, got {len(frames)}")
                return self._create_event(run_id, env, frames[0][0], frames[0][1], cbor=True)
            case ["v2", "runs", run_id, "events"] if method == "POST":
                try:
                    meta = json.loads(record.body or b"{}")
                except ValueError:
                    raise HttpError(400, "bad_request", "body is not JSON") from None
                return self._create_event(run_id, env, meta, b"", cbor=cbor)
            case ["v1", "runs", run_id, "cancel"] if method == "PUT":
                run = self._run(run_id, env)
                if run["status"] in ("completed", "failed"):
                    raise HttpError(409, "conflict", f"run is {run['status']}")
                self.set_status(run_id, "cancelled")
                return self._encode(self._run_view(run, lazy=True), cbor)
            case ["v2", "runs", run_id, "stream", name] if method == "PUT":
                return self._write_stream(run_id, name, env, record)
            case ["v2", "runs", run_id, "stream", name] if method == "GET":
                return self._live_read(self._stream(run_id, name, env), record)
            case ["v2", "stream", name] if method == "GET":
                return self._live_read(self._stream_by_name(name, env), record)
            case ["v2", "runs", run_id, "streams"] if method == "GET":
                self._run(run_id, env)
                return self._json(200, sorted(self.streams.get(run_id, {})))
            case ["v2", "runs", run_id, "streams", name, "chunks"] if method == "GET":
                return self._encode(self._chunks(self._stream(run_id, name, env), record), cbor)
            case ["v2", "runs", run_id, "streams", name, "info"] if method == "GET":
                stream = self._stream(run_id, name, env)
                return self._encode({"tailIndex": len(stream["chunks"]) - 1, "done": stream["done"]}, cbor)
        self.unrouted.append(record)
        raise HttpError(404, "not_found", f"no route {method} {record.path}")

    # -- entities -----------------------------------------------------------------------------------------
    def _run(self, run_id: str, env: str) -> dict[str, Any]:
        run = self.runs.get(run_id)
        if run is None or run["_env"] != env:
            raise HttpError(404, "not_found", f"Workflow run {run_id} not found")
        return run

    def _stream(self, run_id: str, name: str, env: str) -> dict[str, Any]:
        self._run(run_id, env)
        stream = self.streams.get(run_id, {}).get(name)
        if stream is None:
            raise HttpError(404, "not_found", f"stream {name} not found")
        return stream

    def _find_step(self, step_id: str, env: str, run_id: str | None, record: Recorded) -> dict[str, Any]:
        lazy = record.param("remoteRefBehavior") == "lazy"
        for rid, steps in self.steps.items():
            if self.runs[rid]["_env"] != env or (run_id is not None and rid != run_id):
                continue
            for step in steps:
                if step["stepId"] == step_id:
                    return self._strip(step, ("input", "output"), lazy)
        raise HttpError(404, "not_found", f"Step {step_id} not found")

    def _find_hook(self, match: Callable[[dict[str, Any]], bool], env: str, what: str) -> dict[str, Any]:
        for rid, hooks in self.hooks.items():
            for hook in hooks:
                if self.runs[rid]["_env"] == env and match(hook):
                    return hook
        raise HttpError(404, "not_found", f"Hook {what} not found")

    def _create_legacy_run(self, record: Recorded, env: str, cbor: bool) -> Reply:
        """``POST /v1/runs/create`` (legacy specVersion-1 runs, the client's v1Compat): a CBOR body
        ``{deploymentId, workflowName, input, executionContext?}``; the run id is the server's; no event log."""
        try:
            data = cbor2.loads(record.body) if record.body else {}
        except (cbor2.CBORDecodeError, ValueError):
            raise HttpError(400, "bad_request", "body is not CBOR") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("deploymentId", "workflowName")
        ):
            raise HttpError(400, "bad_request", "deploymentId and workflowName are required")
        now = self.tick()
        run_id = f"wrun_{ulid(now)}"
        run: dict[str, Any] = {
            "runId": run_id,
            "status": "pending",
            "deploymentId": data["deploymentId"],
            "workflowName": data["workflowName"],
            "input": data.get("input"),
            "createdAt": now,
            "updatedAt": now,
            "_env": env,
        }
        if isinstance(data.get("executionContext"), dict):
            run["executionContext"] = data["executionContext"]
        self.runs[run_id] = run
        for store in (self.steps, self.events, self.hooks):
            store.setdefault(run_id, [])
        self.streams.setdefault(run_id, {})
        return self._encode(self._run_view(run, lazy=False), cbor)

    def _stream_by_name(self, name: str, env: str) -> dict[str, Any]:
        """``GET /v2/stream/{name}`` names no run: the stream is found by its name."""
        for run_id, streams in self.streams.items():
            if name in streams and (run_id not in self.runs or self.runs[run_id]["_env"] == env):
                return streams[name]
        raise HttpError(404, "not_found", f"stream {name} not found")

    def _write_stream(self, run_id: str, name: str, env: str, record: Recorded) -> Reply:
        """``PUT /v2/runs/{runId}/stream/{name}`` (world-vercel ``createStreamer``): the body is one chunk; with
        ``X-Stream-Multi: true`` several, each ``u32be length | bytes``; ``X-Stream-Done: true`` closes the stream.
        A run id the world does not know is accepted (the SDK's health check writes under a made-up run id)."""
        if run_id in self.runs:
            self._run(run_id, env)
        stream = self.streams.setdefault(run_id, {}).setdefault(name, {"chunks": [], "done": False})
        if record.headers.get("x-stream-done") == "true":
            stream["done"] = True
        elif record.headers.get("x-stream-multi") == "true":
            pos, body = 0, record.body
            while pos < len(body):
                if len(body) - pos < 4:
                    raise HttpError(400, "bad_request", "truncated multi-chunk body")
                (size,) = struct.unpack_from(">I", body, pos)
                if len(body) - pos - 4 < size:
                    raise HttpError(400, "bad_request", "truncated multi-chunk body")
                stream["chunks"].append(body[pos + 4 : pos + 4 + size])
                pos += 4 + size
        else:
            stream["chunks"].append(record.body)
        self.changed.notify_all()
        return Reply(204)

    def _live_read(self, stream: dict[str, Any], record: Recorded) -> Reply:
        """The live read: the chunks from ``startIndex`` (negative: from the end) as one byte stream, held open
        until the stream is done (or ``live_read_seconds`` passed, as a function's time limit would)."""
        raw = record.param("startIndex") or "0"
        try:
            start = int(raw)
        except ValueError:
            raise HttpError(400, "bad_request", f"invalid startIndex {raw!r}") from None
        if start < 0:
            start = max(0, len(stream["chunks"]) + start)
        deadline = time.monotonic() + self.live_read_seconds

        def body() -> Iterator[bytes]:
            index = start
            while True:
                with self.changed:
                    while index >= len(stream["chunks"]) and not stream["done"] and not self._stopping:
                        left = deadline - time.monotonic()
                        if left <= 0 or not self.changed.wait(left):
                            break
                    fresh = stream["chunks"][index:]
                    finished = stream["done"] or self._stopping or time.monotonic() >= deadline
                index += len(fresh)
                yield from fresh
                if finished:
                    return

        return Reply(200, content_type="application/octet-stream", stream=body())

    @staticmethod
    def _strip(entity: dict[str, Any], fields: tuple[str, ...], lazy: bool) -> dict[str, Any]:
        out = {k: v for k, v in entity.items() if not k.startswith("_")}
        if lazy:
            for name in fields:
                if out.get(name) is not None:
                    out[f"{name}Ref"] = {
                        "_ref": f"blob_{abs(hash((entity.get('runId'), name))) % 10**8}",
                        "size": len(out[name]),
                    }
                out.pop(name, None)
        return out

    def _run_view(self, run: dict[str, Any], *, lazy: bool) -> dict[str, Any]:
        return self._strip(run, ("input", "output"), lazy)

    def _list_runs(self, record: Recorded, env: str) -> dict[str, Any]:
        status = record.param("status")
        if status is not None and status not in SDK_STATUSES:
            raise HttpError(400, "bad_request", f"invalid status {status!r}")
        workflow = record.param("workflowName")
        runs = [
            r
            for r in self.runs.values()
            if r["_env"] == env
            and (status is None or r["status"] == status)
            and (workflow is None or r["workflowName"] == workflow)
        ]
        lazy = record.param("remoteRefBehavior") == "lazy"
        page = self._paginate(
            runs, record, key=lambda r: [r["createdAt"].timestamp(), r["runId"]], default_order="desc"
        )
        page["data"] = [self._run_view(r, lazy=lazy) for r in page["data"]]
        return page

    @staticmethod
    def _limit(record: Recorded, default: int = 100) -> int:
        raw = record.param("limit")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise HttpError(400, "bad_request", f"invalid limit {raw!r} (1..1000)")
        return int(raw)

    def _paginate(
        self,
        items: list[dict[str, Any]],
        record: Recorded,
        *,
        key: Callable[[dict[str, Any]], list[Any]],
        default_order: str,
    ) -> dict[str, Any]:
        order = record.param("sortOrder") or default_order
        if order not in ("asc", "desc"):
            raise HttpError(400, "bad_request", f"invalid sortOrder {order!r}")
        limit = self._limit(record)
        ordered = sorted(items, key=key, reverse=order == "desc")
        cursor = record.param("cursor")
        if cursor:
            try:
                after = _uncursor(cursor)
            except (ValueError, TypeError):
                raise HttpError(400, "bad_request", "invalid cursor") from None
            ordered = [i for i in ordered if (key(i) > after if order == "asc" else key(i) < after)]
        page = ordered[:limit]
        more = len(ordered) > limit
        return {"data": page, "cursor": _cursor(key(page[-1])) if more and page else None, "hasMore": more}

    @staticmethod
    def _frame(event: dict[str, Any], lazy: bool) -> bytes:
        """One event as a v4 frame: meta = the entity, its payload field a reference descriptor; body = the
        payload bytes (empty when ``lazy``)."""
        meta = {k: v for k, v in event.items() if not k.startswith("_")}
        payload = event.get("_payload")
        field_name = PAYLOAD_FIELD.get(event["eventType"])
        if payload is not None and field_name:
            data = dict(meta.get("eventData") or {})
            data[field_name] = {"_ref": f"blob_{event['eventId']}", "size": len(payload)}
            meta["eventData"] = data
        return encode_v4_frame(meta, b"" if lazy or payload is None else payload)

    def _get_event(self, run_id: str, event_id: str, env: str) -> Reply:
        """``GET /v4/runs/{runId}/events/{eventId}``: one frame, no end frame."""
        self._run(run_id, env)
        for event in self.events.get(run_id, []):
            if event["eventId"] == event_id:
                return Reply(200, self._frame(event, lazy=False), V4_FRAMES)
        raise HttpError(404, "not_found", f"Event {event_id} not found")

    def _events_by_correlation(self, record: Recorded, env: str) -> Reply:
        """``GET /v4/events?correlationId=&runId=``: the same frame list, selected by correlation id."""
        corr = record.param("correlationId")
        if not corr:
            raise HttpError(400, "bad_request", "correlationId is required")
        run_id = record.param("runId")
        events = [
            e
            for rid, es in self.events.items()
            if self.runs[rid]["_env"] == env and (run_id is None or rid == run_id)
            for e in es
            if e.get("correlationId") == corr
        ]
        return self._list_events(events, record)

    def _list_events(self, events: list[dict[str, Any]], record: Recorded) -> Reply:
        order = record.param("sortOrder") or "asc"
        if order not in ("asc", "desc"):
            raise HttpError(400, "bad_request", f"invalid sortOrder {order!r}")
        limit = self._limit(record)
        lazy = record.param("remoteRefBehavior") == "lazy"
        events = sorted(events, key=lambda e: e["eventId"], reverse=order == "desc")
        cursor = record.param("cursor")
        if cursor:
            try:
                after = _uncursor(cursor)
            except (ValueError, TypeError):
                raise HttpError(400, "bad_request", "invalid cursor") from None
            events = [e for e in events if (e["eventId"] > after if order == "asc" else e["eventId"] < after)]
        page, more = events[:limit], len(events) > limit
        out = bytearray()
        for event in page:
            out += self._frame(event, lazy)
        end: dict[str, Any] = {"_end": 1, "hasMore": more}
        # @workflow/world-vercel reads a `next` as "more pages remain" (hasMore = Boolean(next)): the API gives
        # one only then. event_cursor_on_last_page (the default, which older tests rely on) also gives one on a
        # last page that has events; never on an empty page, so the SDK's pagers (wakeUpRun, replay) still end.
        if more or (page and self.event_cursor_on_last_page):
            end["next"] = _cursor(page[-1]["eventId"])
        if self.truncated_event_answers > 0:
            self.truncated_event_answers -= 1
        else:
            out += encode_v4_frame(end)
        return Reply(200, bytes(out), V4_FRAMES)

    def _chunks(self, stream: dict[str, Any], record: Recorded) -> dict[str, Any]:
        limit = self._limit(record)
        cursor = record.param("cursor")
        start = 0
        if cursor:
            try:
                start = int(_uncursor(cursor))
            except (ValueError, TypeError):
                raise HttpError(400, "bad_request", "invalid cursor") from None
        chunks = stream["chunks"]
        page = [{"index": i, "data": self._bytes(chunks[i])} for i in range(start, min(len(chunks), start + limit))]
        end = start + len(page)
        more = end < len(chunks)
        next_cursor = _cursor(end) if more or self.chunk_cursor_on_last_page else None
        return {"data": page, "cursor": next_cursor, "hasMore": more, "done": stream["done"] and not more}

    def _create_event(self, run_id: str, env: str, meta: dict[str, Any], payload: bytes, *, cbor: bool) -> Reply:
        """One event written (the v4 frame meta as @workflow/world-vercel builds it): the entities it changes are
        materialized, and the answer is the ``x-wf-*`` headers and the entity bag."""
        event_type = meta.get("eventType")
        if not isinstance(event_type, str):
            raise HttpError(400, "bad_request", "eventType is required")
        if not isinstance(meta.get("specVersion"), int):
            raise HttpError(400, "bad_request", "specVersion is required")
        if event_type not in CREATE_EVENT_TYPES:
            raise HttpError(400, "bad_request", f"unknown eventType {event_type!r}")
        corr = meta.get("correlationId")
        if event_type.startswith(("step_", "hook_", "wait_")) and not isinstance(corr, str):
            raise HttpError(400, "bad_request", f"{event_type} needs a correlationId")
        data = {name: meta[wire] for wire, name in META_EVENT_DATA.items() if meta.get(wire) is not None}
        error = _structured_error(meta.get("error"), meta.get("stack"))
        if event_type in STRUCTURED_ERROR_EVENTS and not payload and error is not None:
            # the 4.x runtime sends run/step errors un-dehydrated in the meta; the API keeps them as a CBOR
            # StructuredError, served as the event's body (the client CBOR-decodes it)
            payload = cbor2.dumps(error)
        write = _Write(
            run_id=run_id,
            env=env,
            event_type=event_type,
            correlation_id=corr if isinstance(corr, str) else None,
            spec=meta["specVersion"],
            data=data,
            payload=payload or None,
            error=error,
            occurred_at=meta.get("occurredAt") if isinstance(meta.get("occurredAt"), datetime) else None,
            reason=meta.get("cancelReason"),
        )
        bag = getattr(self, f"_on_{event_type}")(write)
        lazy = meta.get("remoteRefBehavior") != "resolve"
        event = bag["event"]
        answer: dict[str, Any] = {"event": self._event_view(event, lazy)}
        run = self.runs.get(run_id)
        if run is not None:
            answer["run"] = self._run_view(run, lazy=lazy)
        if bag.get("step") is not None:
            answer["step"] = self._strip(bag["step"], ("input", "output"), lazy)
        if bag.get("hook") is not None:
            answer["hook"] = self._strip(bag["hook"], ("metadata",), lazy)
        if bag.get("wait") is not None:
            answer["wait"] = bag["wait"]
        reply = self._encode(answer, cbor)
        reply.headers.update(
            {
                "x-wf-event-id": event["eventId"],
                "x-wf-run-id": run_id,
                "x-wf-created-at": event["createdAt"].isoformat(),
            }
        )
        return reply

    def _event(self, w: "_Write", run_id: str | None = None, **data: Any) -> dict[str, Any]:
        return self.add_event(
            run_id or w.run_id,
            w.event_type,
            correlation_id=w.correlation_id,
            payload=w.payload,
            spec_version=w.spec,
            occurred_at=w.occurred_at,
            **data,
        )

    def _live_run(self, w: "_Write") -> dict[str, Any]:
        """The run of a write that needs it active: 404 unknown, 409 finished."""
        run = self._run(w.run_id, w.env)
        if run["status"] in TERMINAL:
            raise HttpError(409, "conflict", f"Workflow run {w.run_id} is {run['status']}")
        return run

    def _new_run(self, w: "_Write") -> dict[str, Any]:
        if not w.run_id.startswith("wrun_"):
            raise HttpError(400, "bad_request", f"invalid run id {w.run_id!r}")
        if not isinstance(w.data.get("deploymentId"), str) or not isinstance(w.data.get("workflowName"), str):
            raise HttpError(400, "bad_request", "run_created needs deploymentId and workflowName")
        now = self.tick()
        run: dict[str, Any] = {
            "runId": w.run_id,
            "status": "pending",
            "deploymentId": w.data["deploymentId"],
            "workflowName": w.data["workflowName"],
            "specVersion": w.spec,
            "input": w.payload,
            "createdAt": now,
            "updatedAt": now,
            "_env": w.env,
        }
        if isinstance(w.data.get("executionContext"), dict):
            run["executionContext"] = w.data["executionContext"]
        self.runs[w.run_id] = run
        for store in (self.steps, self.events, self.hooks):
            store.setdefault(w.run_id, [])
        self.streams.setdefault(w.run_id, {})
        keep = ("deploymentId", "workflowName", "executionContext")
        event = self.add_event(
            w.run_id,
            "run_created",
            payload=w.payload,
            at=now,
            spec_version=w.spec,
            occurred_at=w.occurred_at,
            **{k: w.data[k] for k in keep if k in w.data},
        )
        return {"event": event}

    def _on_run_created(self, w: "_Write") -> dict[str, Any]:
        if w.run_id in self.runs:
            raise HttpError(409, "conflict", f"Workflow run {w.run_id} already exists")
        return self._new_run(w)

    def _on_run_started(self, w: "_Write") -> dict[str, Any]:
        if w.run_id not in self.runs and "deploymentId" in w.data:
            self._new_run(w)  # resilient start: the queue's run input stands in for a missed run_created
        run = self._run(w.run_id, w.env)
        if run["status"] in TERMINAL:
            raise HttpError(410, "gone", f"Workflow run {w.run_id} is {run['status']}")
        now = self.tick()
        if run["status"] == "pending":
            run["status"], run["startedAt"] = "running", now
        run["updatedAt"] = now
        w.payload = None  # the run input rides along only to create the run
        return {
            "event": self.add_event(w.run_id, "run_started", at=now, spec_version=w.spec, occurred_at=w.occurred_at)
        }

    def _finish_run(self, w: "_Write", status: str) -> dict[str, Any]:
        run = self._live_run(w)
        now = self.tick()
        run.update(status=status, completedAt=now, updatedAt=now)
        self.hooks[w.run_id] = []
        return run

    def _on_run_completed(self, w: "_Write") -> dict[str, Any]:
        run = self._finish_run(w, "completed")
        run["output"] = w.payload
        return {"event": self._event(w)}

    def _on_run_failed(self, w: "_Write") -> dict[str, Any]:
        run = self._finish_run(w, "failed")
        run["error"] = w.error if w.error is not None else w.payload  # bytes: a 5.0 serialized error
        if isinstance(w.data.get("errorCode"), str):
            run["errorCode"] = w.data["errorCode"]
        return {"event": self._event(w, **({"errorCode": run["errorCode"]} if "errorCode" in run else {}))}

    def _on_run_cancelled(self, w: "_Write") -> dict[str, Any]:
        run = self._run(w.run_id, w.env)
        if w.reason is not None and not self.accept_cancel_reason:
            raise HttpError(400, "bad_request", "unknown field cancelReason")
        if run["status"] in ("completed", "failed"):
            raise HttpError(409, "conflict", f"Cannot cancel a {run['status']} run")
        self.set_status(w.run_id, "cancelled", event=False)  # a cancelled run takes another event (idempotent)
        event = self.add_event(
            w.run_id,
            "run_cancelled",
            at=run["completedAt"],
            spec_version=w.spec,
            occurred_at=w.occurred_at,
            **({"cancelReason": w.reason} if w.reason else {}),
        )
        return {"event": event}

    def _step(self, w: "_Write") -> dict[str, Any]:
        self._run(w.run_id, w.env)
        for step in self.steps.get(w.run_id, []):
            if step["stepId"] == w.correlation_id:
                return step
        raise HttpError(404, "not_found", f"Step {w.correlation_id} not found")

    def _on_step_created(self, w: "_Write") -> dict[str, Any]:
        self._live_run(w)
        if any(s["stepId"] == w.correlation_id for s in self.steps[w.run_id]):
            raise HttpError(409, "conflict", f"Step {w.correlation_id} already exists")
        if not isinstance(w.data.get("stepName"), str):
            raise HttpError(400, "bad_request", "step_created needs stepName")
        now = self.tick()
        step = {
            "runId": w.run_id,
            "stepId": w.correlation_id,
            "stepName": w.data["stepName"],
            "status": "pending",
            "attempt": 0,
            "input": w.payload,
            "createdAt": now,
            "updatedAt": now,
            "specVersion": w.spec,
        }
        self.steps[w.run_id].append(step)
        keep = {k: w.data[k] for k in ("stepName", "workflowName") if k in w.data}
        return {
            "event": self.add_event(
                w.run_id,
                "step_created",
                correlation_id=w.correlation_id,
                payload=w.payload,
                at=now,
                spec_version=w.spec,
                occurred_at=w.occurred_at,
                **keep,
            ),
            "step": step,
        }

    def _open_step(self, w: "_Write") -> dict[str, Any]:
        step = self._step(w)
        if step["status"] in TERMINAL:
            raise HttpError(409, "conflict", f"Step {w.correlation_id} is {step['status']}")
        return step

    def _on_step_started(self, w: "_Write") -> dict[str, Any]:
        self._live_run(w)
        step = self._open_step(w)
        now = self.tick()
        step.update(status="running", attempt=int(step.get("attempt") or 0) + 1, updatedAt=now)
        step.setdefault("startedAt", now)
        keep = {k: w.data[k] for k in ("stepName", "workflowName") if k in w.data}
        return {"event": self._event(w, attempt=step["attempt"], **keep), "step": step}

    def _on_step_completed(self, w: "_Write") -> dict[str, Any]:
        step = self._open_step(w)  # a step may complete after its run ended
        now = self.tick()
        step.update(status="completed", output=w.payload, completedAt=now, updatedAt=now)
        keep = {k: w.data[k] for k in ("stepName", "workflowName") if k in w.data}
        return {"event": self._event(w, **keep), "step": step}

    def _on_step_failed(self, w: "_Write") -> dict[str, Any]:
        step = self._open_step(w)
        now = self.tick()
        step.update(status="failed", error=w.error or {"message": "step failed"}, completedAt=now, updatedAt=now)
        keep = {k: w.data[k] for k in ("stepName",) if k in w.data}
        return {"event": self._event(w, **keep), "step": step}

    def _on_step_retrying(self, w: "_Write") -> dict[str, Any]:
        step = self._open_step(w)
        now = self.tick()
        step.update(status="pending", error=w.error or {"message": "step failed"}, updatedAt=now)
        if isinstance(w.data.get("retryAfter"), datetime):
            step["retryAfter"] = w.data["retryAfter"]
        keep = {k: w.data[k] for k in ("stepName", "retryAfter") if k in w.data}
        return {"event": self._event(w, **keep), "step": step}

    def _wait_entity(self, run_id: str, corr: str) -> dict[str, Any] | None:
        """The wait of a ``sleep()``, from its events."""
        created = completed = None
        for event in self.events.get(run_id, []):
            if event.get("correlationId") == corr and event["eventType"] == "wait_created":
                created = event
            elif event.get("correlationId") == corr and event["eventType"] == "wait_completed":
                completed = event
        if created is None:
            return None
        wait: dict[str, Any] = {
            "waitId": f"{run_id}-{corr}",
            "runId": run_id,
            "status": "completed" if completed else "waiting",
            "createdAt": created["createdAt"],
            "updatedAt": (completed or created)["createdAt"],
            "specVersion": created.get("specVersion"),
        }
        resume_at = (created.get("eventData") or {}).get("resumeAt")
        if resume_at is not None:
            wait["resumeAt"] = resume_at
        if completed:
            wait["completedAt"] = completed["createdAt"]
        return wait

    def _on_wait_created(self, w: "_Write") -> dict[str, Any]:
        self._live_run(w)
        if self._wait_entity(w.run_id, w.correlation_id) is not None:  # type: ignore[arg-type]
            raise HttpError(409, "conflict", f"wait {w.correlation_id} already exists")
        if not isinstance(w.data.get("resumeAt"), datetime):
            raise HttpError(400, "bad_request", "wait_created needs resumeAt")
        event = self._event(w, resumeAt=w.data["resumeAt"])
        return {"event": event, "wait": self._wait_entity(w.run_id, w.correlation_id)}  # type: ignore[arg-type]

    def _on_wait_completed(self, w: "_Write") -> dict[str, Any]:
        run = self._run(w.run_id, w.env)
        wait = self._wait_entity(w.run_id, w.correlation_id)  # type: ignore[arg-type]
        if wait is None:
            raise HttpError(404, "not_found", f"wait {w.correlation_id} not found")
        if wait["status"] == "completed":
            raise HttpError(409, "conflict", f"wait {w.correlation_id} already completed")
        if run["status"] in TERMINAL:
            raise HttpError(409, "conflict", f"run is {run['status']}")
        event = self._event(w, **({"resumeAt": w.data["resumeAt"]} if "resumeAt" in w.data else {}))
        return {"event": event, "wait": self._wait_entity(w.run_id, w.correlation_id)}  # type: ignore[arg-type]

    def _hook(self, w: "_Write") -> dict[str, Any]:
        self._run(w.run_id, w.env)
        for hook in self.hooks.get(w.run_id, []):
            if hook["hookId"] == w.correlation_id:
                return hook
        raise HttpError(404, "not_found", f"Hook {w.correlation_id} not found")

    def _on_hook_created(self, w: "_Write") -> dict[str, Any]:
        run = self._live_run(w)
        token = w.data.get("token")
        if not isinstance(token, str):
            raise HttpError(400, "bad_request", "hook_created needs hookToken")
        holder = next(
            (h for hs in self.hooks.values() for h in hs if h["token"] == token and h["environment"] == run["_env"]),
            None,
        )
        if holder is not None:  # the token is taken: the world records a conflict instead
            w.event_type, w.payload = "hook_conflict", None
            return {"event": self._event(w, token=token, conflictingRunId=holder["runId"])}
        now = self.tick()
        hook: dict[str, Any] = {
            "runId": w.run_id,
            "hookId": w.correlation_id,
            "token": token,
            "ownerId": self.team,
            "projectId": self.project,
            "environment": run["_env"],
            "createdAt": now,
            "specVersion": w.spec,
        }
        if w.payload is not None:
            hook["metadata"] = w.payload
        if isinstance(w.data.get("isWebhook"), bool):
            hook["isWebhook"] = w.data["isWebhook"]
        self.hooks[w.run_id].append(hook)
        keep = {k: w.data[k] for k in ("token", "isWebhook") if k in w.data}
        event = self.add_event(
            w.run_id,
            "hook_created",
            correlation_id=w.correlation_id,
            payload=w.payload,
            at=now,
            spec_version=w.spec,
            occurred_at=w.occurred_at,
            **keep,
        )
        return {"event": event, "hook": hook}

    def _on_hook_received(self, w: "_Write") -> dict[str, Any]:
        hook = self._hook(w)
        return {"event": self._event(w, token=hook["token"]), "hook": hook}

    def _on_hook_disposed(self, w: "_Write") -> dict[str, Any]:
        hook = self._hook(w)
        self.hooks[w.run_id].remove(hook)
        return {"event": self._event(w, token=hook["token"]), "hook": hook}

    def _event_view(self, event: dict[str, Any], lazy: bool) -> dict[str, Any]:
        """An event as an answer carries it: its payload field resolved (a structured error decoded), or a
        reference descriptor when ``lazy``."""
        view = {k: v for k, v in event.items() if not k.startswith("_")}
        payload = event.get("_payload")
        field_name = PAYLOAD_FIELD.get(event["eventType"])
        if payload is not None and field_name:
            data = dict(view.get("eventData") or {})
            if lazy:
                data[field_name] = {"_ref": f"blob_{event['eventId']}", "size": len(payload)}
            elif event["eventType"] in STRUCTURED_ERROR_EVENTS and not payload.startswith((b"devl", b"encr")):
                data[field_name] = cbor2.loads(payload)
            else:
                data[field_name] = payload
            view["eventData"] = data
        return view

    # -- encoding -----------------------------------------------------------------------------------------
    def _bytes(self, data: bytes) -> Any:
        return cbor2.CBORTag(64, data) if self.tag_uint8 else data

    def _prepare(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._prepare(v) for k, v in value.items() if k not in PRIVATE_KEYS}
        if isinstance(value, list):
            return [self._prepare(v) for v in value]
        if isinstance(value, (bytes, bytearray)):
            return self._bytes(bytes(value))
        return value

    def _encode(self, value: Any, cbor: bool) -> Reply:
        if cbor:
            body = cbor2.dumps(self._prepare(value), datetime_as_timestamp=True, timezone=timezone.utc)
            return Reply(200, body, "application/cbor")
        return self._json(200, value)

    @staticmethod
    def _json(status: int, value: Any) -> Reply:
        def default(obj: Any) -> Any:
            if isinstance(obj, datetime):
                return obj.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if isinstance(obj, (bytes, bytearray)):
                return base64.b64encode(bytes(obj)).decode("ascii")
            raise TypeError(type(obj).__name__)

        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items() if k not in PRIVATE_KEYS}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        return Reply(status, json.dumps(clean(value), default=default).encode("utf-8"), "application/json")

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until ``predicate()`` holds (checked under the lock), or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if predicate():
                    return
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached before the deadline")
            time.sleep(0.01)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a cancelled live read, a process exiting with pooled connections) is no error."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVercelWorld
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.fake.handle(self.command, self.path, headers, body)
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        if reply.stream is None:
            self.send_header("content-length", str(len(reply.body)))
        else:
            self.send_header("transfer-encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.stream is None:
            self.wfile.write(reply.body)
            return
        try:
            for part in reply.stream:
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the reader hung up (a cancelled live read)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
