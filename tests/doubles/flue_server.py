"""A fake Flue 1.0.0-beta server (beta.3 … beta.9 run API) over real HTTP, for wfctl's Flue backend tests.

Written from Flue 1.0.0-beta.9's sources (``flue-app.ts``, ``handle-stream-routes.ts``,
``event-stream-store.ts``, ``handle-agent.ts``; the published packages are installed in ``tests/peers/flue``)
and held to the real server by ``tests/backends/flue/test_real_flue.py``; what wfctl reads of it: docs/architecture.md
("Flue 1.0"). Standard library only.
It binds 127.0.0.1 on a free port (or a given one) and serves from daemon threads::

    with FakeFlue(token="t") as fake:
        run_id = fake.start_run("ticker", {"n": 3, "delayMs": 10})     # what POST /workflows/ticker does
        fake.wait_until(lambda: fake.run(run_id).closed)
        httpx.get(f"{fake.url}/runs/{run_id}?meta", headers={"Authorization": "Bearer t"})

Routes (relative to ``prefix``, the ``flue()`` mount point; default ``""``):

* ``POST /workflows/:name`` — the raw JSON body is the input (no body → no input: the ``RunRecord`` and the
  ``run_start`` event then carry no ``input`` key, as ``JSON.stringify`` drops ``undefined``; a body ``null``
  is the input ``null``; a body that is not ``application/json`` → ``415``; bad JSON → ``400 invalid_json``).
  ``202 {"runId": "run_<ULID>"}``; ``?wait=result`` → ``200 {"result": …, "runId": …}`` once the run ended.
  Unknown workflow → ``404 workflow_not_found`` (checked before the ``route`` middleware, as Flue does). A
  workflow's ``validate`` hook returning issues → ``500 action_input_validation`` and no run (Flue's quirk).
  Other methods → ``405`` with ``Allow: POST``.
* ``GET /runs/:runId?meta`` — the ``RunRecord`` (``runId, workflowName, status: active|completed|errored,
  startedAt, input`` and, once ended, ``endedAt, isError, durationMs, result | error``).
* ``GET /runs/:runId`` — the run's event stream over Durable Streams with Flue's quirks: **one offset per
  event** (``0000000000000000_<seq>``), ``Stream-Next-Offset`` = the offset of the *last delivered* event
  (the request's offset echoed when nothing is new, ``-1`` for an empty stream), **pages of 100 events**
  (``page_size``) with ``Stream-Up-To-Date`` only on the page that reaches the tail, ``Stream-Closed`` when the
  stream is closed and the page reaches the tail, ``tail=N`` (only applied with ``offset=-1``),
  ``live=long-poll`` (``long_poll_timeout``; ``204`` on timeout) and ``live=sse`` (every ``data`` event
  followed by its own ``control``, ``: heartbeat`` comments every ``heartbeat`` seconds, keep-alive controls
  every ``long_poll_timeout``, the response ends after the closing control). Validation errors as Flue
  words them (``Invalid offset format.``, ``Tail must be …``, ``Offset is required for live mode.``,
  duplicate parameters).
* ``HEAD /runs/:runId`` — ``Stream-Next-Offset`` (the tail), ``Stream-Up-To-Date``, ``Stream-Closed``.
* other methods on a run — ``405`` with ``Allow: GET, HEAD``, only after the run resolved and its ``runs``
  middleware passed.

Run resolution, as in Flue: an unknown run **or** a run whose workflow exports no ``runs`` middleware
(``runs=False``) → ``404 run_not_found``, identical on purpose. Then the middleware: with ``token`` set,
a missing or wrong ``Authorization: Bearer`` → ``401 {"error": {"type": "unauthorized", …}}``; with
``required_headers`` a missing or wrong header → ``403 {"error": {"type": "forbidden", …}}``. Errors use
Flue's envelope ``{"error": {"type", "message", "details"}}``.

Variants: ``version="2"`` answers like a Flue 2.x server, whose ``flue()`` app has no ``/runs`` nor
``/workflows`` routes (``404 route_not_found`` for both); ``version="beta.2"`` answers ``POST /workflows``
with the pre-beta.3 receipt ``{"streamUrl", "offset", "runId"}``.

Run lifecycle (the order of ``emitRunEnd`` in ``handle-agent.ts``): ``run_start`` at admission; the
workflow's events; then ``run_end`` is appended, the stream is closed, and only then (after
``record_lag`` seconds) the ``RunRecord`` becomes ``completed``/``errored``, so a client that sees the
closure can still read ``active`` for a moment. Workflows are Python callables ``fn(ctx, input)`` run in a
thread (see :class:`RunContext`); they return the result or raise to fail. Built in: ``ticker`` (the
reference's ``{n, delayMs, fail}``), ``burst`` (``{count, batch, pauseMs, fail}``: many small log events,
appended in batches), ``chatty`` (an agent-like sequence: turns, text deltas, thinking, tool calls, a
task, logs) and ``manual`` (waits until the test calls :meth:`FakeFlue.finish`). Tests can also build runs
directly: :meth:`create_run`, :meth:`emit`, :meth:`finish`.

Faults: :attr:`corrupt` (a set of run ids) serves their catch-up and long-poll bodies cut short but
correctly framed, i.e. not JSON; :meth:`damage` does the same for a given number of answers that deliver
events after a given one (``kind="body"``), or replaces the ``control`` event that follows an SSE ``data``
event by one that is not JSON and ends the response (``kind="control"``); ``drop_every=N`` cuts a response
once at least ``N`` events were served since the last cut (rotating between a body cut short, a response cut
right after its headers, and — in SSE — a ``data`` event whose ``control`` never comes), so every cut is
survivable and progress is guaranteed.
:meth:`restart` stops the server (aborting every open connection) and starts it again **on the same port**
with the same runs (a persistent store). Every request is recorded in :attr:`requests`.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FakeFlue", "RunContext", "RecordedRequest", "format_offset", "new_run_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_OFFSET_RE = re.compile(r"^\d+_(\d+)$")
_CURSOR_EPOCH_MS = 1728432000000
_CURSOR_INTERVAL_MS = 20_000
_SECURITY = {"X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "cross-origin"}


#: A run started without a body (Flue's ``input`` is ``undefined``): no ``input`` key anywhere, ``None`` for the
#: workflow function. Distinct from a body ``null``.
NO_INPUT: Any = type("NoInput", (), {"__repr__": lambda self: "NO_INPUT"})()


def format_offset(seq: int) -> str:
    """Flue's ``formatOffset``: ``-1`` stays ``-1``, else ``0000000000000000_<seq, 16 digits>``."""
    return "-1" if seq == -1 else f"0000000000000000_{seq:016d}"


def parse_offset(offset: str) -> int:
    if offset == "-1":
        return -1
    m = _OFFSET_RE.match(offset)
    if not m:
        raise ValueError(offset)
    return int(m.group(1))


def new_run_id() -> str:
    """``run_`` + a ULID (48-bit millisecond time + 80 random bits, Crockford base32)."""
    value = (int(time.time() * 1000) << 80) | random.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "run_" + "".join(reversed(chars))


def _now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _cursor(client: str | None = None) -> str:
    current = int((time.time() * 1000 - _CURSOR_EPOCH_MS) // _CURSOR_INTERVAL_MS)
    if not client:
        return str(current)
    try:
        value = int(client)
    except ValueError:
        return str(current)
    if value < current:
        return str(current)
    return str(value + random.randint(1, 180))


class _Abort(Exception):
    """Raised inside a handler to drop the connection (fault injection or server stop)."""


# ----------------------------------------------------------------------------------------------------------
# State
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Workflow:
    name: str
    fn: Callable[["RunContext", Any], Any] | None
    route_auth: bool = True  # the `route` middleware checks the token
    runs: bool = True  # exports `runs` middleware (else its runs are unreadable: 404)
    validate: Callable[[Any], list[dict] | None] | None = None


@dataclass
class _Run:
    run_id: str
    workflow_name: str
    input: Any
    started_at: str
    started_mono: float
    status: str = "active"
    ended_at: str | None = None
    is_error: bool | None = None
    duration_ms: int | None = None
    result: Any = None
    error: Any = None
    events: list[dict] = field(default_factory=list)
    closed: bool = False
    next_index: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    finish_args: dict | None = None

    def record(self) -> dict:
        doc: dict[str, Any] = {
            "runId": self.run_id,
            "workflowName": self.workflow_name,
            "status": self.status,
            "startedAt": self.started_at,
        }
        if self.input is not NO_INPUT:
            doc["input"] = self.input
        if self.status != "active":
            doc["endedAt"] = self.ended_at
            doc["isError"] = self.is_error
            doc["durationMs"] = self.duration_ms
            if self.is_error:
                doc["error"] = self.error
            else:
                doc["result"] = self.result
        return doc


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class RunContext:
    """What a scripted workflow gets: ``emit``, ``log``, ``emit_many``, ``sleep``, ``wait_release``."""

    def __init__(self, fake: "FakeFlue", run: _Run):
        self.fake = fake
        self.run = run
        self.run_id = run.run_id

    def emit(self, type: str, **fields: Any) -> dict:  # noqa: A002 - FlueEvent's own word
        return self.fake.emit(self.run_id, type, **fields)

    def emit_many(self, events: list[dict]) -> None:
        """Append several events atomically (one store write, like a buffered flush)."""
        self.fake.emit_many(self.run_id, events)

    def log(self, message: str, level: str = "info", **attributes: Any) -> dict:
        fields: dict[str, Any] = {"level": level, "message": message}
        if attributes:
            fields["attributes"] = attributes
        return self.emit("log", **fields)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait_release(self, timeout: float = 60.0) -> None:
        if not self.run.release.wait(timeout):
            raise TimeoutError("the test never released this run")


class WorkflowFailure(Exception):
    """Raise from a workflow to fail the run with this error name/message."""

    def __init__(self, message: str, name: str = "Error"):
        super().__init__(message)
        self.name = name


# -- built-in workflows -------------------------------------------------------------------------------------


def _ticker(ctx: RunContext, input: Any) -> Any:
    input = input or {}
    n = int(input.get("n", 3))
    delay = float(input.get("delayMs", 200)) / 1000
    for i in range(n):
        ctx.log(f"tick {i}", i=i)
        ctx.sleep(delay)
    if input.get("fail"):
        raise WorkflowFailure("requested failure")
    return {"ticks": n}


def _validate_ticker(input: Any) -> list[dict] | None:
    if input is None:
        return None
    if not isinstance(input, dict):
        return [{"message": f"Invalid type: Expected Object but received {json.dumps(input)}", "path": []}]
    issues = []
    for key in ("n", "delayMs"):
        if key in input and not isinstance(input[key], (int, float)):
            issues.append(
                {"message": f"Invalid type: Expected number but received {json.dumps(input[key])}", "path": [key]}
            )
    return issues or None


def _burst(ctx: RunContext, input: Any) -> Any:
    input = input or {}
    count = int(input.get("count", 1000))
    batch = max(1, int(input.get("batch", 50)))
    pause = float(input.get("pauseMs", 1)) / 1000
    made = 0
    while made < count:
        k = min(batch, count - made)
        ctx.emit_many(
            [
                {"type": "log", "level": "info", "message": f"event {made + i}", "attributes": {"n": made + i}}
                for i in range(k)
            ]
        )
        made += k
        ctx.sleep(pause)
    if input.get("fail"):
        raise WorkflowFailure(f"failed after {count} events")
    return {"events": count}


def _chatty(ctx: RunContext, input: Any) -> Any:
    ctx.emit("agent_start")
    ctx.emit("turn_start", turnId="turn_1", purpose="agent")
    ctx.emit("thinking_start", contentIndex=0)
    ctx.emit("thinking_delta", contentIndex=0, delta="Let me look")
    ctx.emit("thinking_end", contentIndex=0, content="Let me look at the files.")
    for piece in ["Hel", "lo wor", "ld.\nI will ", "run a tool."]:
        ctx.emit("text_delta", text=piece, turnId="turn_1")
    ctx.emit("tool_start", toolName="bash", toolCallId="call_1", args={"command": "ls -la"})
    ctx.emit("tool", toolName="bash", toolCallId="call_1", isError=False, result="README.md\nsrc", durationMs=12)
    ctx.emit("tool_start", toolName="read", toolCallId="call_2", args={"path": "missing.txt"})
    ctx.emit("tool", toolName="read", toolCallId="call_2", isError=True, result="ENOENT: no such file", durationMs=3)
    ctx.emit(
        "turn",
        turnId="turn_1",
        purpose="agent",
        durationMs=850,
        isError=False,
        request={
            "providerId": "anthropic",
            "providerName": "Anthropic",
            "requestedModel": "claude-haiku-4-5",
            "api": "messages",
        },
        response={"responseModel": "claude-haiku-4-5", "finishReason": "stop", "usage": {"input": 1200, "output": 85}},
    )
    ctx.emit("task_start", taskId="task_1", prompt="Summarize the README", agent="helper")
    ctx.emit("task", taskId="task_1", agent="helper", isError=False, result="A short summary.", durationMs=40)
    ctx.emit("operation_start", operationId="op_1", operationKind="shell")
    ctx.emit("operation", operationId="op_1", operationKind="shell", durationMs=5, isError=False)
    ctx.log("disk almost full", level="warn", freeMb=12)
    ctx.log("could not reach cache", level="error")
    ctx.emit("idle")
    ctx.emit("agent_end", messages=[])
    return {"ok": True}


def _manual(ctx: RunContext, input: Any) -> Any:
    ctx.wait_release()
    args = ctx.run.finish_args or {}
    if args.get("error") is not None:
        raise WorkflowFailure(str(args["error"]))
    return args.get("result")


# ----------------------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, fake: "FakeFlue", port: int):
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        self.stopping = False
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self.conn_lock:
            if self.stopping:
                self.shutdown_request(request)
                return
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[override]
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):  # type: ignore[override]
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, _Abort, TimeoutError, OSError)):
            return
        self.fake.errors.append(exc)
        super().handle_error(request, client_address)

    def abort_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self.server.fake._handle(self)
        except _Abort:
            self._drop()
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- writers ----------------------------------------------------------------------------------------
    def read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return None

    def send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/json",
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        all_headers = dict(_SECURITY)
        if content_type and (body or status not in (204, 304)):
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        for key, value in all_headers.items():
            self.send_header(key, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or status in (204, 304):
            self.wfile.flush()
            return
        if cut:
            # a dropped connection in the middle of the body: fewer bytes than Content-Length
            self.wfile.write(body[: max(0, len(body) // 2)])
            raise _Abort()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(value, separators=(",", ":")).encode(), headers)

    def chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _error(type_: str, message: str, details: str = "") -> dict:
    return {"error": {"type": type_, "message": message, "details": details}}


class FakeFlue:
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        token: str | None = None,
        required_headers: dict[str, str] | None = None,
        version: str = "1.0.0-beta.9",
        prefix: str = "",
        page_size: int = 100,
        long_poll_timeout: float = 1.0,
        heartbeat: float = 15.0,
        record_lag: float = 0.0,
        drop_every: int | None = None,
        port: int = 0,
        start: bool = True,
    ):
        self.token = token
        self.required_headers = dict(required_headers or {})
        self.version = version
        self.prefix = prefix.rstrip("/")
        self.page_size = page_size
        self.long_poll_timeout = long_poll_timeout
        self.heartbeat = heartbeat
        self.record_lag = record_lag
        self.drop_every = drop_every
        self.port = port
        self.cond = threading.Condition()
        self.runs: dict[str, _Run] = {}
        self.workflows: dict[str, _Workflow] = {}
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.drops = 0
        self.corrupt: set[str] = set()  # run ids whose catch-up/long-poll bodies are malformed JSON
        self.damaged: list[dict] = []  # faults armed by damage(), consumed as they strike
        self.damage_served = 0  # malformed answers served by damage() faults
        self.events_served = 0  # total events written in successful responses / SSE frames
        self._since_drop = 0
        self._cut_style = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self.add_workflow("ticker", _ticker, validate=_validate_ticker)
        self.add_workflow("burst", _burst)
        self.add_workflow("chatty", _chatty)
        self.add_workflow("manual", _manual)
        if start:
            self.start()

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "FakeFlue":
        if self._server is not None:
            return self
        deadline = time.monotonic() + 10
        while True:
            try:
                server = _Server(self, self.port)
                break
            except OSError:
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)  # the old socket of a restart may linger for a moment
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-flue-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket and abort every open connection. Runs keep going."""
        server = self._server
        if server is None:
            return
        self._server = None
        with server.conn_lock:
            server.stopping = True
        with self.cond:
            self.cond.notify_all()  # wake long-polls and SSE waits so they notice
        server.shutdown()
        server.abort_connections()
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same runs (a persistent store)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        with self.cond:
            for run in self.runs.values():
                run.release.set()

    def __enter__(self) -> "FakeFlue":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FakeFlue({self.url!r}, version={self.version!r})"

    # -- workflows and runs ---------------------------------------------------------------------------------
    def add_workflow(
        self,
        name: str,
        fn: Callable[[RunContext, Any], Any] | None = None,
        *,
        route_auth: bool = True,
        runs: bool = True,
        validate: Callable[[Any], list[dict] | None] | None = None,
    ) -> None:
        self.workflows[name] = _Workflow(name, fn, route_auth=route_auth, runs=runs, validate=validate)

    def run(self, run_id: str) -> _Run:
        with self.cond:
            return self.runs[run_id]

    def create_run(
        self, workflow: str = "manual", input: Any = NO_INPUT, *, run_id: str | None = None, emit_start: bool = True
    ) -> str:
        """A new active run (no thread): the test drives it with :meth:`emit` and :meth:`finish`. ``input``
        left out is a run started without a body (:data:`NO_INPUT`)."""
        if workflow not in self.workflows:
            self.add_workflow(workflow, None)
        run = _Run(run_id or new_run_id(), workflow, input, _now_iso(), time.monotonic())
        with self.cond:
            self.runs[run.run_id] = run
        if emit_start:
            fields: dict[str, Any] = {"runId": run.run_id, "workflowName": workflow, "startedAt": run.started_at}
            if input is not NO_INPUT:
                fields["input"] = input
            self.emit(run.run_id, "run_start", **fields)
        return run.run_id

    def start_run(self, workflow: str, input: Any = NO_INPUT) -> str:
        """What ``POST /workflows/:name`` does: create the run and execute its workflow in a thread."""
        wf = self.workflows[workflow]
        run_id = self.create_run(workflow, input)
        if wf.fn is not None:
            thread = threading.Thread(target=self._execute, args=(wf, run_id), daemon=True, name=f"flue-run-{run_id}")
            self._threads.append(thread)
            thread.start()
        return run_id

    def _execute(self, wf: _Workflow, run_id: str) -> None:
        run = self.run(run_id)
        ctx = RunContext(self, run)
        try:
            result = wf.fn(ctx, None if run.input is NO_INPUT else run.input)  # type: ignore[misc]
        except WorkflowFailure as exc:
            self._end(run_id, error={"name": exc.name, "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - a failing workflow is a failed run
            self._end(run_id, error={"name": type(exc).__name__, "message": str(exc)})
        else:
            self._end(run_id, result=result)

    def _decorate(self, run: _Run, type_: str, fields: dict) -> dict:
        index = fields.pop("eventIndex", None)
        version = fields.pop("v", 3)
        if index is None:
            index = run.next_index
        run.next_index = max(run.next_index, index + 1)
        event = {"type": type_, **fields}
        event.setdefault("runId", run.run_id)
        event["v"] = version
        event["eventIndex"] = index
        event["timestamp"] = _now_iso()
        return event

    def emit(self, run_id: str, type: str, **fields: Any) -> dict:  # noqa: A002
        """Append one FlueEvent (``v: 3``, ``eventIndex``, ``timestamp`` added; ``eventIndex=`` overrides)."""
        with self.cond:
            run = self.runs[run_id]
            if run.closed:
                raise RuntimeError(f"run {run_id} is closed")
            event = self._decorate(run, type, dict(fields))
            run.events.append(event)
            self.cond.notify_all()
            return event

    def emit_many(self, run_id: str, events: list[dict]) -> None:
        with self.cond:
            run = self.runs[run_id]
            for raw in events:
                raw = dict(raw)
                type_ = raw.pop("type")
                run.events.append(self._decorate(run, type_, raw))
            self.cond.notify_all()

    def finish(self, run_id: str, result: Any = None, error: str | dict | None = None) -> None:
        """End a run: a ``manual`` run's workflow returns (or fails); a run made by :meth:`create_run` gets its
        ``run_end``, its stream closed and its record finalized."""
        run = self.run(run_id)
        wf = self.workflows.get(run.workflow_name)
        if wf is not None and wf.fn is _manual and any(t.name == f"flue-run-{run_id}" for t in self._threads):
            run.finish_args = {"result": result, "error": error}
            run.release.set()
            return
        if isinstance(error, str):
            error = {"name": "Error", "message": error}
        self._end(run_id, result=result, error=error)

    def _end(self, run_id: str, result: Any = None, error: dict | None = None) -> None:
        with self.cond:
            run = self.runs[run_id]
            ended = _now_iso()
            duration = int((time.monotonic() - run.started_mono) * 1000)
            fields: dict[str, Any] = {
                "runId": run_id,
                "result": None if error else result,
                "isError": error is not None,
            }
            if error is not None:
                fields["error"] = error
            fields["durationMs"] = duration
            run.events.append(self._decorate(run, "run_end", fields))
            run.closed = True  # Flue closes the stream right after appending run_end ...
            self.cond.notify_all()
        if self.record_lag:
            time.sleep(self.record_lag)  # ... and finalizes the record only afterwards
        with self.cond:
            run.status = "errored" if error is not None else "completed"
            run.ended_at = ended
            run.is_error = error is not None
            run.duration_ms = duration
            run.result = None if error else result
            run.error = error
            self.cond.notify_all()

    def close_stream(self, run_id: str) -> None:
        """Close a run's stream without a run_end (a crash recovered later)."""
        with self.cond:
            self.runs[run_id].closed = True
            self.cond.notify_all()

    def damage(self, run_id: str, *, count: int = 1, after: int = -1, kind: str = "body") -> None:
        """Serve the next ``count`` answers for ``run_id`` that deliver events after event ``after`` (its
        sequence number, ``-1``: any) malformed: ``kind="body"``, a catch-up or long-poll body cut short but
        correctly framed (not JSON); ``kind="control"``, an SSE ``data`` event followed by a ``control``
        event that is not JSON, after which the response ends."""
        if kind not in ("body", "control"):
            raise ValueError(kind)
        with self.cond:
            self.damaged.append({"run": run_id, "count": count, "after": after, "kind": kind})

    def _take_damage(self, run_id: str, first_seq: int, kind: str) -> bool:
        """Whether an answer for ``run_id`` whose first event is ``first_seq`` is served malformed."""
        if not self.damaged:  # no fault armed: no lock on every page
            return False
        with self.cond:
            for fault in self.damaged:
                if fault["run"] == run_id and fault["kind"] == kind and first_seq > fault["after"]:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.damaged.remove(fault)
                    self.damage_served += 1
                    return True
        return False

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0, message: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
                self.cond.wait(min(left, 0.05))

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.path.startswith(self.prefix + path_prefix)]

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        self.requests.append(
            RecordedRequest(h.command, parts.path, query, {k.lower(): v for k, v in h.headers.items()})
        )
        path = parts.path
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return h.send(404, b"Not Found", content_type="text/plain")
            path = path[len(self.prefix) :]
        segments = [unquote(s) for s in path.split("/")[1:]]
        if self.version.startswith("2"):
            if segments and segments[0] == "agents":
                return h.send_json(404, _error("agent_not_found", "Agent was not found."))
            h.read_body()
            return h.send_json(
                404,
                _error(
                    "route_not_found",
                    f"No route matches {h.command} {parts.path}.",
                    "Verify the request method and path are correct.",
                ),
            )
        if len(segments) == 2 and segments[0] == "workflows":
            return self._workflow_route(h, segments[1], query)
        if len(segments) == 2 and segments[0] == "runs":
            return self._run_route(h, segments[1], query)
        h.read_body()
        return h.send_json(
            404,
            _error(
                "route_not_found",
                f"No route matches {h.command} {parts.path}.",
                "Verify the request method and path are correct.",
            ),
        )

    def _middleware(self, h: _Handler) -> bool:
        """The workflow's Hono middleware: True when it let the request through (else it answered)."""
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            h.read_body()
            h.send_json(401, {"error": {"type": "unauthorized", "message": "missing or bad token"}})
            return False
        for name, value in self.required_headers.items():
            if h.headers.get(name) != value:
                h.read_body()
                h.send_json(403, {"error": {"type": "forbidden", "message": f"header {name} is required"}})
                return False
        return True

    def _workflow_route(self, h: _Handler, name: str, query: list[tuple[str, str]]) -> None:
        wf = self.workflows.get(name)
        if wf is None or wf.fn is None:
            h.read_body()
            return h.send_json(
                404,
                _error(
                    "workflow_not_found",
                    f'Workflow "{name}" is not registered.',
                    "Verify the workflow name is correct.",
                ),
            )
        if h.command != "POST":
            h.read_body()
            return h.send_json(
                405,
                _error("method_not_allowed", f"Method {h.command} is not allowed.", "Allowed methods: POST."),
                {"Allow": "POST"},
            )
        if wf.route_auth and not self._middleware(h):
            return None
        body = h.read_body()
        ctype = h.headers.get("Content-Type")
        input_: Any = NO_INPUT
        if body and body.strip():
            if not ctype or "application/json" not in ctype.lower():
                return h.send_json(
                    415,
                    _error("unsupported_media_type", "Content-Type must be application/json.", f"Received: {ctype}"),
                )
            try:
                input_ = json.loads(body)
            except ValueError as exc:
                return h.send_json(
                    400, _error("invalid_json", "Request body is not valid JSON.", f"The JSON parser reported: {exc}")
                )
        if wf.validate is not None:
            issues = wf.validate(None if input_ is NO_INPUT else input_)
            if issues:
                env = _error(
                    "action_input_validation",
                    "Workflow input failed validation.",
                    "Verify the input matches the workflow's input schema.",
                )
                env["error"]["meta"] = {"action": "workflow", "issues": issues}
                return h.send_json(500, env)
        run_id = self.start_run(name, input_)
        if self.version == "beta.2":
            return h.send_json(202, {"streamUrl": f"{self.prefix}/runs/{run_id}", "offset": "-1", "runId": run_id})
        if dict(query).get("wait") == "result":
            self.wait_until(lambda: self.runs[run_id].status != "active", timeout=60)
            run = self.run(run_id)
            if run.is_error:
                return h.send_json(500, _error("workflow_failed", run.error.get("message", "failed")))
            return h.send_json(200, {"result": run.result, "runId": run_id})
        return h.send_json(202, {"runId": run_id})

    def _run_route(self, h: _Handler, run_id: str, query: list[tuple[str, str]]) -> None:
        with self.cond:
            run = self.runs.get(run_id)
            wf = self.workflows.get(run.workflow_name) if run else None
        if run is None or wf is None or not wf.runs:
            h.read_body()
            return h.send_json(
                404,
                _error(
                    "run_not_found",
                    f'Run "{run_id}" was not found.',
                    "Verify the run id is correct and its history is still available.",
                ),
            )
        if not self._middleware(h):
            return None
        if h.command not in ("GET", "HEAD"):
            h.read_body()
            return h.send_json(
                405,
                _error("method_not_allowed", f"Method {h.command} is not allowed.", "Allowed methods: GET, HEAD."),
                {"Allow": "GET, HEAD"},
            )
        if h.command == "GET" and any(k == "meta" for k, _ in query):
            with self.cond:
                record = run.record()
            return h.send_json(200, record)
        if h.command == "HEAD":
            with self.cond:
                tail, closed = len(run.events) - 1, run.closed
            headers = {
                "Stream-Next-Offset": format_offset(tail),
                "Stream-Up-To-Date": "true",
                "Cache-Control": "no-store",
            }
            if closed:
                headers["Stream-Closed"] = "true"
            return h.send(200, b"", headers)
        return self._read(h, run, query)

    # -- the Durable Streams read -----------------------------------------------------------------------------
    def _invalid(self, h: _Handler, reason: str) -> None:
        h.send_json(400, _error("invalid_request", "Request is malformed.", reason))

    def _read(self, h: _Handler, run: _Run, query: list[tuple[str, str]]) -> None:
        offsets = [v for k, v in query if k == "offset"]
        tails = [v for k, v in query if k == "tail"]
        lives = [v for k, v in query if k == "live"]
        cursor = next((v for k, v in query if k == "cursor"), None)
        if len(offsets) > 1:
            return self._invalid(h, "Duplicate offset parameters are not allowed.")
        if len(tails) > 1:
            return self._invalid(h, "Duplicate tail parameters are not allowed.")
        if tails and not re.fullmatch(r"[1-9]\d*", tails[0]):
            return self._invalid(h, "Tail must be an integer greater than or equal to 1.")
        live = lives[0] if lives else None
        if live is not None and not offsets:
            return self._invalid(h, "Offset is required for live mode.")
        if live is not None and live not in ("long-poll", "sse"):
            return self._invalid(h, 'Invalid live mode. Use "long-poll" or "sse".')
        offset = offsets[0] if offsets else "-1"
        if offset not in ("-1", "now") and not _OFFSET_RE.match(offset):
            return self._invalid(h, "Invalid offset format.")
        with self.cond:
            tail_seq = len(run.events) - 1
        if offset == "now" and live is not None:
            start = tail_seq
        elif offset == "now":
            start = None
        elif offset == "-1" and tails:
            start = max(-1, tail_seq - int(tails[0]))
        else:
            start = parse_offset(offset)
        if live == "sse":
            return self._sse(h, run, start if start is not None else tail_seq)
        if start is None:  # catch-up at "now"
            with self.cond:
                tail_seq, closed = len(run.events) - 1, run.closed
            headers = {
                "Stream-Next-Offset": format_offset(tail_seq),
                "Stream-Up-To-Date": "true",
                "Cache-Control": "no-store",
            }
            if closed:
                headers["Stream-Closed"] = "true"
            return h.send(200, b"[]", headers)
        events, next_offset, up_to_date, closed = self._page(run, start)
        if live == "long-poll":
            if not events and not (closed and up_to_date):
                events, next_offset, up_to_date, closed = self._wait(run, start, h)
            if not events:
                headers = {
                    "Stream-Next-Offset": next_offset,
                    "Stream-Up-To-Date": "true",
                    "Stream-Cursor": _cursor(cursor),
                }
                if closed:
                    headers["Stream-Closed"] = "true"
                return h.send(204, b"", headers, content_type=None)
            headers = {"Stream-Cursor": _cursor(cursor)}
        else:
            headers = {}
        headers.update(
            {
                "Stream-Next-Offset": next_offset,
                "Cache-Control": "no-store",
                "ETag": f'"{run.run_id}:{offset}:{next_offset}{":c" if closed and up_to_date else ""}"',
            }
        )
        if up_to_date:
            headers["Stream-Up-To-Date"] = "true"
        if closed and up_to_date:
            headers["Stream-Closed"] = "true"
        body = json.dumps(events, separators=(",", ":")).encode()
        if run.run_id in self.corrupt or (events and self._take_damage(run.run_id, start + 1, "body")):
            body = body[: max(1, len(body) // 3)]  # well framed (Content-Length matches), not JSON
        cut = self._should_cut(len(events))
        if cut and self._next_cut_style() == "headers":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            raise _Abort()
        h.send(200, body, headers, cut=cut)
        self._served(len(events))

    def _page(self, run: _Run, start: int) -> tuple[list[dict], str, bool, bool]:
        with self.cond:
            events = run.events[start + 1 : start + 1 + self.page_size]
            up_to_date = start + 1 + self.page_size >= len(run.events)
            next_offset = format_offset(start + len(events)) if events else format_offset(start)
            return events, next_offset, up_to_date, run.closed

    def _wait(self, run: _Run, start: int, h: _Handler) -> tuple[list[dict], str, bool, bool]:
        server = h.server
        deadline = time.monotonic() + self.long_poll_timeout
        with self.cond:
            while len(run.events) - 1 <= start and not run.closed:
                if server.stopping:
                    raise _Abort()
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.1))
        if server.stopping:
            raise _Abort()
        return self._page(run, start)

    def _should_cut(self, count: int) -> bool:
        if not self.drop_every or count == 0:
            return False
        with self.cond:
            if self._since_drop >= self.drop_every:
                self._since_drop = 0
                self.drops += 1
                return True
        return False

    def _next_cut_style(self) -> str:
        with self.cond:
            self._cut_style += 1
            return ("body", "headers", "body")[self._cut_style % 3]

    def _served(self, count: int) -> None:
        with self.cond:
            self.events_served += count
            self._since_drop += count

    def _sse(self, h: _Handler, run: _Run, start: int) -> None:
        server = h.server
        h.send_response(200)
        for key, value in {
            **_SECURITY,
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
        }.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.flush()
        current = start
        last_beat = time.monotonic()
        while True:
            if server.stopping:
                raise _Abort()
            events, next_offset, up_to_date, closed = self._page(run, current)
            if events:
                data = json.dumps(events, separators=(",", ":"))
                frame = "event: data\n" + "".join(f"data:{line}\n" for line in data.split("\n")) + "\n"
                if self._should_cut(len(events)):
                    style = self._next_cut_style()
                    if style == "body":  # the data event arrives, its control never does
                        h.chunk(frame.encode())
                    else:  # cut in the middle of the data event
                        h.chunk(frame.encode()[: len(frame) // 2])
                    raise _Abort()
                h.chunk(frame.encode())
                if self._take_damage(run.run_id, current + 1, "control"):
                    h.chunk(b'event: control\ndata:{"streamNextOffset":\n\n')  # not JSON
                    h.chunk(b"")  # the last chunk: the response ends
                    h.close_connection = True
                    return
            control: dict[str, Any] = {"streamNextOffset": next_offset}
            at_end = closed and up_to_date
            if at_end:
                control["streamClosed"] = True
            else:
                control["streamCursor"] = _cursor()
                if up_to_date:
                    control["upToDate"] = True
            h.chunk(f"event: control\ndata:{json.dumps(control, separators=(',', ':'))}\n\n".encode())
            if events:
                self._served(len(events))
            current = parse_offset(next_offset) if next_offset != "-1" else -1
            if at_end:
                h.chunk(b"")  # the last chunk: the response ends
                h.close_connection = True
                return
            if not up_to_date:
                continue
            # at the tail of an open stream: wait for data, with heartbeats and keep-alive controls
            deadline = time.monotonic() + self.long_poll_timeout
            while True:
                with self.cond:
                    has_more = len(run.events) - 1 > current or run.closed
                    if not has_more and not server.stopping:
                        self.cond.wait(0.05)
                        has_more = len(run.events) - 1 > current or run.closed
                if server.stopping:
                    raise _Abort()
                if has_more:
                    break
                now = time.monotonic()
                if now - last_beat >= self.heartbeat:
                    h.chunk(b": heartbeat\n\n")
                    last_beat = now
                if now >= deadline:
                    keep = {"streamNextOffset": format_offset(current), "streamCursor": _cursor(), "upToDate": True}
                    h.chunk(f"event: control\ndata:{json.dumps(keep, separators=(',', ':'))}\n\n".encode())
                    deadline = now + self.long_poll_timeout


if __name__ == "__main__":  # a manual playground: python tests/doubles/flue_server.py
    fake = FakeFlue(token=os.environ.get("FAKE_FLUE_TOKEN"), port=int(os.environ.get("PORT", "0")))
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.close()
