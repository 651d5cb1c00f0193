"""The Flue backend: runs of Flue 1.0.0-beta.3 … beta.9 (``client.runs``) over HTTP and Durable Streams.

Routes (relative to the profile's ``url``, the mount prefix of Flue's ``flue()`` sub-app):

* ``GET /runs/:runId?meta`` → the ``RunRecord`` (``get``, ``status``); ``active`` → running,
  ``completed`` → completed, ``errored`` → failed.
* ``GET /runs/:runId`` → the run's FlueEvent stream, read with :mod:`wfctl.durable_streams` (``tail``):
  catch-up, then (for an active run, or with ``--live``) long-poll or, with ``--sse``, SSE. ``--last N`` is
  Flue's ``tail=N``; ``--offset`` resumes strictly after an offset wfctl printed; ``--type`` filters on the
  FlueEvent type. Events are de-duplicated on ``(runId, eventIndex)`` (their identity; ``eventIndex`` is not
  an offset), and the tail stops on stream closure or on this run's ``run_end`` (a stream left open by a
  crash).
* ``POST /workflows/:name`` (body = the raw JSON input) → ``202 {"runId"}`` (``start``); never retried, since
  a retried POST could start the run twice.
* ``rerun``: the ``RunRecord``'s ``input`` is the run's JSON body as Flue parsed it, stored as is (the SQL run
  store keeps ``JSON.stringify(input)``), so a re-run posts it again to ``/workflows/<workflowName>``: the same
  JSON, or no body at all when the record has no ``input`` (the run was started without one; a body of
  ``null`` is recorded as ``"input": null`` and sent again as ``null``). The new run goes through the
  workflow's ``route`` middleware and input schema like any start. Flue has no place to record where a run
  came from. A run whose ``?meta`` answer has no ``workflowName`` is ``refused``.

Flue has no route to list, cancel, wake or resume runs; those operations end with exit code 6 and the reason.

Offsets. Flue gives every event its own stream offset (``0000000000000000_<seq>``) and pages are contiguous,
so each event of a batch gets its **exact** offset: ``wfctl tail --offset O`` resumes right after that event.
When the offsets do not prove this (a raw Durable Streams stream, or an unexpected format) the events of a
batch carry the offset the batch started from and the last one the batch's end offset: resuming may then
re-deliver the rest of a batch (at-least-once; ``(runId, index)`` identifies repeats), never skip one. The
same holds for the parts of a large response that the reader delivers before its end (``Batch.partial``:
their events carry the response's start offset); its last part is numbered exactly again (``Batch.index``).

Output. For ``-o jsonl`` (``TailRequest.batches``) each stream batch is checked column by column in C
(:func:`_event_block`: identities, run, version, ``run_end``, ``--type``) and yielded as one
:class:`FlueEventBatch`, whose lines carry each event's own JSON text, as the server sent it, as ``data``
(when the array text splits provably into its messages; otherwise it is encoded again). A batch that needs
more (repeats, events of other runs, a version warning) goes through the event-by-event loop, whose events
the same writer turns into the same lines. A catch-up of a million events thus runs no Python code per event.
The lines, and the one-line summaries of ``tail`` in a terminal, are written by the render layer
(:mod:`wfctl.render.flue`, found by the classes' ``render_as``); this module only reads and checks events.

Malformed answers. The reader raises :class:`~wfctl.durable_streams.ParseError` at once on a body or SSE
event that does not parse (as the official Durable Streams client does). ``tail`` reads again from the error's
``offset`` (the last one delivered in full) with ``skip=delivered`` (the events of the damaged answer already
yielded), so nothing is lost or shown twice; it warns once per re-read, naming the offset, and after
:data:`PARSE_REREADS` re-reads of the same offset it gives up with exit code 5.

Errors. A ``404 run_not_found`` means "unknown run, **or** its workflow does not export ``runs``
middleware" (Flue makes the two indistinguishable on purpose). ``401``/``403`` come from the workflow's own
middleware and are shown verbatim. A ``route_not_found`` answer on ``/runs`` or ``/workflows`` means a
Flue 2.x server (2.0 removed workflows and runs): wfctl says it is not supported.

Raw Durable Streams mode. When the profile's ``url`` contains ``{runId}`` (e.g.
``http://127.0.0.1:4437/v1/stream/runs/{runId}``), the URL is a stream URL template and ``tail`` reads that
stream directly (any JSON stream; FlueEvents are rendered as such). ``get``/``status`` then come from the
stream's ``HEAD`` (open → running, closed → completed, unless a failing ``run_end`` was read); ``start``
is not available. Used to read Flue event streams re-published on a plain DS server or CDN, and by
``benchmarks/tail_throughput.py`` against the reference server.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from contextlib import closing
from datetime import datetime, timezone
from itertools import compress, repeat
from typing import TYPE_CHECKING, Any, Iterator, cast
from urllib.parse import quote

from ..durable_streams import columns
from ..errors import (
    AuthError,
    NotFoundError,
    UnavailableError,
    UnsupportedError,
    UsageError,
    WfctlError,
)
from ..flue_text import compact, error_text
from ..model import COMPLETED, FAILED, RUNNING, UNKNOWN, Check, Event, EventBatch, RerunOutcome, Run, RunError
from ..output import clean
from ..times import is_wfctl_time, iso, parse_time
from ._http import HttpBackend
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
    from ..durable_streams import Batch, ParseError, StreamError
    from ..http import HttpClient

SUPPORTED = "Flue 1.0 beta.3–beta.9"
FLUE2_MESSAGE = f"Flue 2.x is not supported (wfctl speaks {SUPPORTED})"
FLUE2_HINT = (
    "this server has no /runs or /workflows routes (route_not_found): Flue 2.0 removed workflows and "
    "their runs; check that the URL is the flue() mount prefix of a 1.0 beta server"
)
NOT_FOUND_TAIL = "unknown run, or its workflow does not export `runs` middleware"

#: RunRecord.status → normalized status.
STATUS_MAP = {"active": RUNNING, "completed": COMPLETED, "errored": FAILED}

#: FlueEvent v3 types that appear on run streams (``turn_request`` is in-process only).
EVENT_TYPES = (
    "run_start",
    "run_resume",
    "run_end",
    "agent_start",
    "agent_end",
    "turn_start",
    "turn_messages",
    "turn",
    "message_start",
    "message_end",
    "text_delta",
    "thinking_start",
    "thinking_delta",
    "thinking_end",
    "tool_start",
    "tool",
    "task_start",
    "task",
    "compaction_start",
    "compaction",
    "operation_start",
    "operation",
    "log",
    "idle",
    "submission_settled",
)

#: How many times ``tail`` reads again from the same offset after a malformed answer (invalid JSON, a bad SSE
#: control event, a damaged compressed body) before it gives up with exit code 5.
PARSE_REREADS = 3

#: How many recent ``(runId, eventIndex)`` identities are remembered for de-duplication. Repeats only come
#: from a replayed batch (at-least-once delivery across reconnects), so a window keeps memory flat on an
#: unbounded stream.
DEDUP_WINDOW = 8192

#: Failure statuses of Flue's answers that mean the request was wrong (exit 2).
USAGE_STATUSES = frozenset({400, 405, 409, 415, 422})

_FLUE_OFFSET = re.compile(r"^(\d+)_(\d+)$")
_PROBE_RUN = "run_00000000000000000000000000"


# ----------------------------------------------------------------------------------------------------------
# Events
# ----------------------------------------------------------------------------------------------------------


class FlueEvent(Event):
    """An :class:`~wfctl.model.Event` whose ``data`` is the FlueEvent exactly as Flue sent it.

    ``render_as = "flue"``: the renderer writes its one-line summary and its ``-o jsonl`` lines in Flue's own way
    (:mod:`wfctl.render.flue`). ``fragment`` is the text of a
    ``text_delta`` / ``thinking_delta``, which a terminal renderer may merge into lines. ``time`` is parsed
    from the event's ``timestamp`` on first use only: JSON output passes Flue's own RFC 3339 string through
    when it is already in wfctl's form (``2026-11-22T04:20:58.449Z``).
    """

    render_as = "flue"

    @property
    def time(self) -> datetime | None:
        d = self.__dict__
        if "_time" not in d:
            d["_time"] = parse_time(d.get("_raw_ts"))
        return d["_time"]

    @time.setter
    def time(self, value: datetime | None) -> None:
        self.__dict__["_time"] = value
        self.__dict__["_raw_ts"] = None

    def to_json(self) -> dict[str, Any]:
        # Event.to_json, without the generic walk: ``data`` came from JSON and is plain JSON already.
        d = self.__dict__
        ts = d.get("_raw_ts")
        if ts is None:
            ts = iso(d.get("_time"))
        elif not is_wfctl_time(ts):
            ts = iso(self.time)
        return {
            "runId": self.runId,
            "offset": self.offset,
            "index": self.index,
            "type": self.type,
            "time": ts,
            "stepId": self.stepId,
            "correlationId": self.correlationId,
            "data": self.data,
        }

    # Event declares fragment as a class attribute (a hook); a FlueEvent computes it.
    @property
    def fragment(self) -> str | None:  # type: ignore[override]
        data = self.data
        if isinstance(data, dict):
            if data.get("type") == "text_delta" and isinstance(data.get("text"), str):
                return data["text"]
            if data.get("type") == "thinking_delta" and isinstance(data.get("delta"), str):
                return data["delta"]
        return None


class FlueEventBatch(EventBatch):
    """Consecutive events of one run's stream, kept as the columns they were checked in
    (:func:`_event_block`): the FlueEvents themselves are only made if a renderer asks for them.

    ``raw`` holds the JSON text of each event as the server sent it (without its outer braces) when the
    batch's array text splits provably into its objects; ``-o jsonl`` then writes it as ``data`` unchanged
    instead of decoding and re-encoding it."""

    render_as = "flue"

    __slots__ = ("run_id", "items", "indexes", "kinds", "stamps", "steps", "names", "offsets", "start", "end", "raw")

    def __init__(
        self,
        run_id: str,
        items: list[Any],
        indexes: list[Any],
        kinds: list[Any],
        stamps: list[Any] | None,
        steps: list[Any] | None,
        names: list[Any] | None,
        offsets: list[str] | None,
        start: str,
        end: str,
        raw: list[str] | None,
    ):
        self.run_id, self.items, self.indexes, self.kinds = run_id, items, indexes, kinds
        self.stamps, self.steps, self.names = stamps, steps, names
        #: each event's offset, or None: all ``start`` but the last one, ``end``
        self.offsets, self.start, self.end, self.raw = offsets, start, end, raw

    def __len__(self) -> int:
        return len(self.items)

    @property
    def last_offset(self) -> str | None:
        return self.offsets[-1] if self.offsets is not None else self.end

    def event_offsets(self) -> list[str]:
        if self.offsets is not None:
            return self.offsets
        return [self.start] * (len(self.items) - 1) + [self.end] if self.items else []

    def events(self) -> list[FlueEvent]:
        none = repeat(None)
        events = list(
            map(
                _flue_event,
                repeat(self.run_id),
                self.event_offsets(),
                self.indexes,
                self.kinds,
                self.stamps or none,
                self.steps or none,
                self.names or none,
                self.items,
            )
        )
        if events:
            events[-1].__dict__["batch_end"] = True
        return events


def _flue_event(
    run_id: str | None, offset: str | None, index: Any, kind: Any, raw_ts: Any, step_id: Any, step_name: Any, data: Any
) -> FlueEvent:
    """A FlueEvent without the dataclass ``__init__`` (the tail's hot path: one dict instead of ten setattrs)."""
    event = _new(FlueEvent)
    event.__dict__ = {
        "runId": run_id,
        "offset": offset,
        "index": index,
        "type": kind,
        "stepId": step_id,
        "correlationId": None,
        "data": data,
        "stepName": step_name,
        "_raw_ts": raw_ts,
        "batch_end": False,
    }
    return event


_new = object.__new__


_STEP_KEYS = (("toolCallId", "toolName"), ("taskId", "agent"), ("operationId", "operationKind"), ("turnId", None))
_PLAIN_KINDS = frozenset({"log", "run_start", "run_end", "run_resume", "idle", "agent_start"})


def _step(raw: dict, kind: Any) -> tuple[Any, Any]:
    """The step a FlueEvent belongs to, ``(id, name)``: its tool call, task, operation or turn (the first
    of these ids it has, not null); ``(None, None)`` for run-level kinds."""
    if kind not in _PLAIN_KINDS:
        for id_key, name_key in _STEP_KEYS:
            step_id = raw.get(id_key)
            if step_id is not None:
                return step_id, raw.get(name_key) if name_key else None
    return None, None


def _mark_last(events: Any) -> Iterator[FlueEvent]:
    events = list(events)
    if events:
        events[-1].__dict__["batch_end"] = True
    return iter(events)


class _Seen:
    """Recently seen identities: two generations of at most ``size`` keys each (constant memory, O(1))."""

    def __init__(self, size: int = DEDUP_WINDOW):
        self.size = size
        self.current: set[Any] = set()
        self.previous: set[Any] = set()

    def add(self, key: Any) -> bool:
        """Remember ``key``; False when it was seen recently."""
        if key in self.current or key in self.previous:
            return False
        self.current.add(key)
        self._rotate()
        return True

    def add_all(self, keys: set[Any]) -> None:
        """Remember ``keys`` (none of them seen recently: the caller checked)."""
        self.current |= keys
        self._rotate()

    def _rotate(self) -> None:
        if len(self.current) >= self.size:
            self.previous, self.current = self.current, set()


_OBJECT_SEP = re.compile(r"\}\s*,\s*\{")


def _raw_objects(data: bytes, n: int) -> list[str] | None:
    """The texts of the ``n`` objects of the JSON array text ``data``, without their outer braces, or None
    when they cannot be told apart for sure. Of the ``}``-``,``-``{`` sequences in the text, ``n - 1`` are the
    boundaries between the objects; when there are exactly ``n - 1``, each one is a boundary (none lies
    inside a string or a nested array). Texts with a line break (a pretty-printed array) are refused: each
    event's line must stay one line."""
    if not data:
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if text[:2] != "[{" or text[-2:] != "}]" or "\n" in text or "\r" in text:
        return None
    inner = text[2:-2]
    if inner.count("}") == n - 1:
        # every "}" closes one of the objects (none is nested or quoted): a plain split is exact as soon as
        # it finds all n - 1 boundaries
        pieces = inner.split("},{")
        if len(pieces) == n:
            return pieces
    pieces = _OBJECT_SEP.split(inner)
    return pieces if len(pieces) == n else None


#: the top-level keys of a FlueEvent that :func:`_event_block` looks at (the stream reader's ``columns``)
_BLOCK_KEYS = ("runId", "eventIndex", "v", "type", "timestamp") + tuple(
    key for pair in _STEP_KEYS for key in pair if key
)


def _event_block(
    run_id: str,
    items: list[Any],
    data: bytes,
    offsets: list[str] | None,
    start: str,
    end: str,
    types: frozenset[str] | None,
    seen: _Seen,
    check_version: bool,
    cols: dict[str, list[Any]] | None = None,
) -> tuple[FlueEventBatch, dict | None] | None:
    """The events of one stream batch as a :class:`FlueEventBatch`, and the run's ``run_end`` event if the
    batch holds it (the tail stops there). The same checks as the event-by-event loop of
    :meth:`FlueBackend._tail`, column by column in C, on the batch's ``cols`` (the reader's
    :attr:`~wfctl.durable_streams.Batch.columns`, else taken from ``items`` here): the messages themselves
    are not looked at, unless a ``run_end`` or ``--type`` cuts the batch or no raw texts can be split off.
    None, with nothing remembered, when the batch needs that loop: anything but objects of this run with
    distinct, unseen ``eventIndex`` values, or a FlueEvent version to warn about."""
    n = len(items)
    if cols is None:
        cols = columns(items, _BLOCK_KEYS)
        if cols is None:
            return None  # a message that is not an object
    rids = cols.get("runId")
    if rids is not None and rids.count(run_id) + rids.count(None) + rids.count("") != n:
        return None  # events of other runs: their identity is (runId, eventIndex)
    indexes = cols.get("eventIndex")
    if indexes is None:
        return None
    try:
        keys = set(indexes)
        kinds = cols.get("type") or [None] * n
        kind_set = set(kinds)
    except TypeError:  # an unhashable index or type
        return None
    if None in keys or len(keys) != n or not keys.isdisjoint(seen.current) or not keys.isdisjoint(seen.previous):
        return None  # repeats (or events without an index) to drop one by one
    if check_version and "v" in cols and cols["v"].count(3) != n:
        return None  # a version to warn about (or events without one: the loop tells them apart)
    stamps = cols.get("timestamp")
    steps = names = None
    if not kind_set <= _PLAIN_KINDS:
        steps, names = _steps(cols, kinds)
    raw = _raw_objects(data, n)
    run_end = None
    if "run_end" in kind_set:
        cut = kinds.index("run_end") + 1
        run_end = items[cut - 1]
        if cut < n:  # what follows this run's end is not shown (nor remembered)
            items, kinds, indexes = items[:cut], kinds[:cut], indexes[:cut]
            keys = set(indexes)
            stamps, steps, names, raw = (c[:cut] if c is not None else None for c in (stamps, steps, names, raw))
            if offsets is None:
                offsets = [start] * cut  # the run_end is not the batch's last event
            else:
                offsets = offsets[:cut]
    if types is not None and not kind_set <= types:
        keep = list(map(types.__contains__, kinds))
        if offsets is None:
            offsets = [start] * (len(items) - 1) + [end]
        items, kinds, indexes, offsets = (list(compress(c, keep)) for c in (items, kinds, indexes, offsets))
        stamps, steps, names, raw = (
            list(compress(c, keep)) if c is not None else None for c in (stamps, steps, names, raw)
        )
    seen.add_all(keys)
    return FlueEventBatch(run_id, items, indexes, kinds, stamps, steps, names, offsets, start, end, raw), run_end


def _steps(cols: dict[str, list[Any]], kinds: list[Any]) -> tuple[list[Any], list[Any]]:
    """:func:`_step` of every event, from the columns of the step keys."""
    pairs = [
        (cols[id_key], cols.get(name_key) if name_key else None) for id_key, name_key in _STEP_KEYS if id_key in cols
    ]
    n = len(kinds)
    steps: list[Any] = [None] * n
    names: list[Any] = [None] * n
    for i, kind in enumerate(kinds):
        if kind not in _PLAIN_KINDS:
            for ids, labels in pairs:
                if ids[i] is not None:
                    steps[i] = ids[i]
                    names[i] = labels[i] if labels is not None else None
                    break
    return steps, names


def _event_offsets(start: str, end: str, count: int, exact: bool) -> list[str] | None:
    """Exact per-event offsets for a Flue batch of ``count`` events ending at ``end`` (None: not provable)."""
    if not exact or count == 0:
        return None
    m = _FLUE_OFFSET.match(end)
    if not m:
        return None
    head, digits = m.group(1), m.group(2)
    last = int(digits)
    first = last - count + 1
    if first < 0:
        return None
    if start != "-1":
        s = _FLUE_OFFSET.match(start)
        if not s or s.group(1) != head or int(s.group(2)) != first - 1:
            return None
    width = len(digits)
    return [f"{head}_{seq:0{width}d}" for seq in range(first, last + 1)]


# ----------------------------------------------------------------------------------------------------------
# The backend
# ----------------------------------------------------------------------------------------------------------


class FlueBackend(HttpBackend):
    name = "flue"
    label = "Flue"
    auth_hint = (
        "check the token (WFCTL_TOKEN, the profile's token_env or token): Flue sends it as "
        "'Authorization: Bearer' to the workflow's runs/route middleware"
    )
    capabilities = frozenset({GET, STATUS, TAIL, START, RERUN})
    unsupported_reasons = {
        LIST: "Flue 1.0 has no endpoint to list runs (listRuns() is a server-side function only)",
        CANCEL: "Flue 1.0 has no endpoint to cancel a workflow run (only agents can be aborted)",
        WAKE: "Flue runs have no sleeps that can be interrupted over HTTP",
        DASHBOARD: "Flue 1.0 has no endpoint to list or count runs, so there is nothing to summarize",
        RESUME: "Flue 1.0 has no endpoint to deliver data or a signal to a run that is going",
    }

    def __init__(
        self,
        profile: "Profile",
        ctx: BackendContext | None = None,
        *,
        transport: Any = None,
        stream_options: dict[str, Any] | None = None,
    ):
        super().__init__(profile, ctx, transport=transport)
        self._stream_options = dict(stream_options or {})
        self._run_ends: dict[str, dict] = {}
        self.base_url = str(profile.get("url") or "").rstrip("/")
        self.raw = "{runId}" in self.base_url
        if self.raw:
            self.capabilities = frozenset({GET, STATUS, TAIL})
            self.unsupported_reasons = {
                **self.unsupported_reasons,
                START: "the profile's url is a raw Durable Streams URL template ({runId}): it can be read, not started",
                RERUN: "the profile's url is a raw Durable Streams URL template ({runId}): its runs can be read, "
                "not started again",
            }
        for key in profile.headers():
            if key.lower() == "accept":
                raise UsageError(
                    "the Accept header is managed by wfctl (JSON or SSE); remove it from the profile's headers"
                )

    # -- plumbing ------------------------------------------------------------------------------------------
    def client_options(self) -> dict[str, Any]:
        base = self.base_url
        if self.raw:
            from urllib.parse import urlsplit

            parts = urlsplit(base.replace("{runId}", "x"))
            base = f"{parts.scheme}://{parts.netloc}" if parts.scheme else base
        return {"base_url": base or None}

    def new_client(self) -> "HttpClient":
        http = super().new_client()
        if self.ctx.debug:
            # HttpClient logs its own requests (?meta, POST); log the stream reads made through its
            # httpx client by the Durable Streams reader (no headers: they may hold credentials)
            client = http.client
            log = self.ctx.debug_log

            def is_stream(request: Any) -> bool:
                return "offset" in request.url.params or (request.method == "HEAD" and self.raw)

            client.event_hooks["request"].append(lambda r: log(f"> {r.method} {r.url}") if is_stream(r) else None)
            client.event_hooks["response"].append(
                lambda r: (
                    log(
                        f"< {r.status_code} {r.request.method} {r.request.url.path} "
                        f"Stream-Next-Offset={r.headers.get('stream-next-offset')} "
                        f"Stream-Up-To-Date={r.headers.get('stream-up-to-date')} "
                        f"Stream-Closed={r.headers.get('stream-closed')}"
                    )
                    if is_stream(r.request)
                    else None
                )
            )
        return http

    def _run_path(self, run_id: str) -> str:
        return f"/runs/{quote(run_id, safe='')}"

    def stream_url(self, run_id: str) -> str:
        if self.raw:
            return self.base_url.replace("{runId}", quote(run_id, safe=""))
        return f"{self.base_url}{self._run_path(run_id)}"

    def _redact(self, text: str) -> str:
        """A middleware's answer, shown verbatim, minus any credential it might echo."""
        from ..http import redact

        secrets = [self.profile.token() or ""] + list(self.profile.headers().values())
        return redact(text, secrets)

    @staticmethod
    def _envelope(body: Any) -> tuple[str | None, str | None]:
        """(type, message) of Flue's ``{"error": {"type", "message", "details"}}`` envelope."""
        if isinstance(body, (str, bytes)):
            try:
                body = json.loads(body)
            except (ValueError, TypeError):
                return None, None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = body["error"]
            return (str(err["type"]) if err.get("type") else None, str(err["message"]) if err.get("message") else None)
        return None, None

    def _http_error(self, response: Any, *, run_id: str | None = None, workflow: str | None = None) -> WfctlError:
        status = response.status_code
        text = response.text.strip()
        kind, message = self._envelope(text)
        detail = f"Flue API error {status}" + (f" [{kind}]" if kind else "") + (f": {message}" if message else "")
        if kind == "route_not_found":
            return UnsupportedError(FLUE2_MESSAGE, hint=FLUE2_HINT)
        if status in (401, 403):
            verbatim = self._redact(text[:500]) if text else f"HTTP {status}"
            what = f"run {run_id}" if run_id else f"workflow {workflow}" if workflow else "the request"
            return self.status_error(status, f"Flue refused access to {what}: HTTP {status}: {verbatim}")
        if status == 404:
            if run_id is not None and kind in ("run_not_found", None):
                if kind is None and text and not text.startswith("{"):
                    return NotFoundError(
                        f"Flue: HTTP 404 for run {run_id}, and the answer is not Flue's",
                        hint="is the URL the mount prefix of Flue's flue() app (where /runs/:runId lives)?",
                    )
                return NotFoundError(
                    f"run {run_id}: {NOT_FOUND_TAIL}",
                    hint="Flue answers 404 alike for unknown runs and for workflows that do not "
                    "export `runs`; check the id and the workflow module",
                )
            if workflow is not None and kind == "workflow_not_found":
                return NotFoundError(
                    f"unknown workflow {workflow!r}, or it is not exposed over HTTP",
                    hint="a workflow is started over HTTP only when its module exports `route` middleware",
                )
        if status == 500 and kind == "action_input_validation":
            return UsageError(f"Flue rejected the input of workflow {workflow!r}: {_issues(text) or message}")
        if status in USAGE_STATUSES:
            detail += self._details(text)
        return self.status_error(
            status, detail, usage=USAGE_STATUSES, hint="check the Flue server's log" if status >= 500 else None
        )

    @staticmethod
    def _details(text: str) -> str:
        try:
            details = json.loads(text)["error"].get("details")
        except (ValueError, KeyError, TypeError, AttributeError):
            return ""
        return f" ({details})" if isinstance(details, str) and details else ""

    def _stream_error(self, exc: "StreamError", run_id: str, offset: str | None) -> WfctlError:
        from ..durable_streams import (
            BadRequestError,
            GoneError,
            InvalidOffsetError,
            ParseError,
            UnauthorizedError,
        )
        from ..durable_streams import (
            NotFoundError as StreamNotFound,
        )

        kind, message = self._envelope(exc.body or "")
        if kind == "route_not_found":
            return UnsupportedError(FLUE2_MESSAGE, hint=FLUE2_HINT)
        if isinstance(exc, StreamNotFound):
            if self.raw:
                return NotFoundError(f"no stream at {exc.url or self.stream_url(run_id)}")
            return NotFoundError(f"run {run_id}: {NOT_FOUND_TAIL}")
        if isinstance(exc, UnauthorizedError):
            verbatim = self._redact((exc.body or "")[:500]) or f"HTTP {exc.status}"
            return AuthError(f"Flue refused access to run {run_id}: HTTP {exc.status}: {verbatim}", hint=self.auth_hint)
        if isinstance(exc, InvalidOffsetError):
            if exc.status == 400:
                return UsageError(
                    f"Flue rejected offset {offset!r}: {message or exc.body or exc.message}"
                    + self._details(exc.body or ""),
                    hint="give an offset printed by 'wfctl tail -o jsonl' (or -1 for the start)",
                )
            return UsageError(
                exc.message,
                hint="the server may have restarted with an in-memory store; read again without "
                "--offset (or with --last N)",
            )
        if isinstance(exc, BadRequestError):
            return UsageError(
                f"Flue rejected the read of run {run_id}: {message or exc.body or exc.message}"
                + self._details(exc.body or "")
            )
        if isinstance(exc, GoneError):
            return NotFoundError(exc.message)
        if isinstance(exc, ParseError):
            return UnavailableError(
                f"Flue sent a malformed event stream for run {run_id}: {exc.message}",
                hint="a proxy may be rewriting responses; retry with --debug to see them",
            )
        status = f"HTTP {exc.status}: " if exc.status and str(exc.status) not in exc.message else ""
        return UnavailableError(
            f"reading the events of run {run_id} from Flue failed: {status}{exc.message}",
            hint="check that the Flue server is running (wfctl config doctor)",
        )

    # -- get / status --------------------------------------------------------------------------------------
    def _meta(self, run_id: str) -> dict:
        response = self.http.request("GET", f"{self._run_path(run_id)}?meta", expect=(400, 401, 403, 404, 405))
        if response.status_code >= 400:
            raise self._http_error(response, run_id=run_id)
        record = self.http.decode_json(response)
        if not isinstance(record, dict) or "status" not in record:
            raise UnavailableError(
                f"Flue answered ?meta for run {run_id} with something that is not a RunRecord",
                hint="is the URL the mount prefix of Flue's flue() app?",
            )
        for key in ("runId", "workflowName", "status", "startedAt", "endedAt"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                raise UnavailableError(
                    f"Flue answered ?meta for run {run_id} with a RunRecord whose {key} is "
                    f"{type(value).__name__}, not a string",
                    hint="is the URL the mount prefix of Flue's flue() app?",
                )
        for key in ("startedAt", "endedAt"):
            if record.get(key) is not None and parse_time(record[key]) is None:
                raise UnavailableError(
                    f"Flue answered ?meta for run {run_id} with a RunRecord whose {key} is not "
                    f"a time: {str(record[key])[:40]!r}"
                )
        return record

    def _run(self, record: dict, run_id: str) -> Run:
        raw = record.get("status")
        status = STATUS_MAP.get(str(raw), UNKNOWN)
        started = parse_time(record.get("startedAt"))
        ended = parse_time(record.get("endedAt"))
        error = record.get("error")
        run_error = None
        if error is not None:
            if isinstance(error, dict):
                run_error = RunError(
                    message=str(error.get("message") or error.get("name") or compact(error)),
                    code=error.get("name"),
                    stack=error.get("stack"),
                )
            else:
                run_error = RunError(message=str(error))
        extra: dict[str, Any] = {}
        for key in ("isError", "durationMs", "traceCarrier"):
            if record.get(key) is not None:
                extra[key] = record[key]
        known = {
            "runId",
            "workflowName",
            "status",
            "startedAt",
            "endedAt",
            "isError",
            "durationMs",
            "input",
            "result",
            "error",
            "traceCarrier",
        }
        for key, value in record.items():
            if key not in known:
                extra[key] = value
        return Run(
            runId=str(record.get("runId") or run_id),
            backend=self.name,
            workflowName=record.get("workflowName"),
            status=status,
            rawStatus=raw,
            createdAt=started,
            startedAt=started,
            completedAt=ended,
            updatedAt=ended or started,
            input=record.get("input"),
            output=record.get("result"),
            error=run_error,
            extra=extra,
        )

    def get_run(self, run_id: str) -> Run:
        if self.raw:
            return self._raw_status(run_id)
        run = self._run(self._meta(run_id), run_id)
        return self._reconcile(run)

    def get_status(self, run_id: str) -> Run:
        return self.get_run(run_id)

    def _reconcile(self, run: Run) -> Run:
        """Flue closes a run's stream *before* it finalizes the RunRecord: after this process read the run's
        ``run_end``, give ``?meta`` a moment to agree, then fall back on the ``run_end`` itself."""
        end = self._run_ends.get(run.runId)
        if end is None or run.terminal:
            return run
        deadline = time.monotonic() + float(self._stream_options.get("reconcile_seconds", 3.0))
        while time.monotonic() < deadline:
            time.sleep(0.05)
            run = self._run(self._meta(run.runId), run.runId)
            if run.terminal:
                return run
        run.status = FAILED if end.get("isError") else COMPLETED
        run.completedAt = parse_time(end.get("timestamp"))
        run.output = end.get("result")
        if end.get("isError"):
            err = end.get("error")
            run.error = RunError(message=error_text(err), code=err.get("name") if isinstance(err, dict) else None)
        run.extra["statusFrom"] = "run_end event (the RunRecord still said active)"
        return run

    def _raw_status(self, run_id: str) -> Run:
        from ..durable_streams import StreamError

        try:
            with closing(self._reader(run_id, {})) as reader:
                info = reader.head()
        except StreamError as exc:
            raise self._stream_error(exc, run_id, None) from None
        end = self._run_ends.get(run_id)
        if end is not None:
            status = FAILED if end.get("isError") else COMPLETED
        else:
            status = COMPLETED if info.closed else RUNNING
        return Run(
            runId=run_id,
            backend=self.name,
            status=status,
            rawStatus="closed" if info.closed else "open",
            extra={"streamUrl": self.stream_url(run_id), "nextOffset": info.offset},
        )

    # -- tail ----------------------------------------------------------------------------------------------
    def _reader(self, run_id: str, params: dict[str, str]) -> Any:
        from ..durable_streams import StreamReader

        options = {
            k: v for k, v in self._stream_options.items() if k in ("max_retries", "idle_timeout", "backoff", "timeout")
        }
        if not self.raw:  # Flue answers in pages of at most 1,000 events: one must end within the timeout
            options.setdefault("answer_timeout", float(self.profile.get("timeout", 30.0)))
        return StreamReader(self.stream_url(run_id), params=params, client=self.http.client, **options)

    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event | EventBatch]:
        if request.stream is not None:
            raise UsageError("Flue runs have no output streams; 'tail' reads the run's events (drop --stream)")
        if request.start_index is not None:
            raise UsageError("--start-index applies to --stream; with Flue use --offset or --last")
        if request.last is not None and request.last < 1:
            raise UsageError("--last must be at least 1")
        if request.last is not None and request.offset not in (None, "-1"):
            raise UsageError("give --offset or --last, not both (Flue applies tail only from the start)")
        unknown = [t for t in request.types if t not in EVENT_TYPES]
        if unknown:
            self.ctx.warn(
                f"unknown Flue event type{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)} (known: {', '.join(EVENT_TYPES)})"
            )
        live = request.live
        if not live and not self.raw:
            # the `flue logs` policy: follow an active run, replay a finished one
            live = self._run(self._meta(run_id), run_id).status == RUNNING
        elif live and not self.raw:
            self._meta(run_id)  # fast, clear failures (unknown run, auth, Flue 2.x) before streaming
        return self._tail(run_id, request, "sse" if (live and request.sse) else "long-poll" if live else None)

    def _tail(self, run_id: str, request: TailRequest, mode: str | None) -> Iterator[Event | EventBatch]:
        from ..durable_streams import ParseError, StreamError

        offset = request.offset or "-1"
        params: dict[str, str] = {}
        client_last: deque | None = None
        if request.last is not None:
            if self.raw:
                client_last = deque(maxlen=request.last)
            else:
                params["tail"] = str(request.last)
        types = frozenset(request.types) if request.types else None
        exact = not self.raw
        bulk = request.batches
        seen = _Seen()
        warned_version = False
        start = offset
        run_ends = self._run_ends
        step = _step
        plain_kinds = _PLAIN_KINDS
        make = _flue_event
        reader = self._reader(run_id, params)
        # -o jsonl: large catch-up answers are decoded on a second core, which sends back the columns
        # _event_block checks (the reader's helper process)
        keys = _BLOCK_KEYS if bulk and client_last is None else None
        batches = reader.read(offset=offset, live=mode, columns=keys)
        first = True
        rereads = 0  # re-reads after malformed answers since the stream last moved past the damage
        damaged_at: str | None = None
        try:
            while True:
                try:
                    batch: Batch = next(batches)
                except StopIteration:
                    break
                except ParseError as exc:
                    # a malformed answer: read again from the last offset delivered in full, dropping the
                    # events of the damaged answer already shown (``delivered``), a bounded number of times
                    batches.close()
                    rereads = rereads + 1 if exc.offset == damaged_at else 1
                    damaged_at = exc.offset
                    self._reread_or_fail(exc, run_id, rereads)
                    start = exc.offset or start
                    batches = reader.read(offset=start, live=mode, columns=keys, skip=exc.delivered)
                    continue
                except StreamError as exc:
                    raise self._stream_error(exc, run_id, offset) from None
                items = batch.items
                end = batch.offset
                if first:
                    first = False
                    if not items and batch.closed and end == offset and offset not in ("-1", "now"):
                        self._check_beyond_tail(reader, run_id, offset)
                if not items:
                    start = end
                    if client_last is not None and (batch.up_to_date or batch.closed):
                        yield from _mark_last(client_last)
                        client_last = None
                    continue
                if items is None:
                    raise UnavailableError(
                        f"the stream of run {run_id} is not a JSON stream "
                        f"({len(batch.data)} bytes of another content type)"
                    )
                if batch.partial:
                    # a part of a large response: no offset after these events is known yet; resuming from
                    # the response's start re-delivers them (at-least-once)
                    offsets = None
                elif batch.index:
                    # the rest of a response delivered in parts: number it as a whole, keep its tail
                    offsets = _event_offsets(start, end, batch.index + len(items), exact)
                    if offsets is not None:
                        offsets = offsets[batch.index :]
                else:
                    offsets = _event_offsets(start, end, len(items), exact)
                if bulk and client_last is None:
                    block = _event_block(
                        run_id,
                        cast("list[Any]", items),  # the reader's JSON batches are lists
                        batch.data,
                        offsets,
                        start,
                        end,
                        types,
                        seen,
                        not warned_version,
                        batch.columns,
                    )
                    if block is not None:  # the whole batch checked in C: one EventBatch
                        events, run_end = block
                        if run_end is not None:
                            run_ends[run_id] = run_end
                        if len(events):
                            yield events
                        start = end
                        if run_end is not None:
                            break
                        continue
                last_i = len(items) - 1
                stop = False
                # Repeats are recognised by (runId, eventIndex); own-run events use the bare index as key.
                # Two generations of DEDUP_WINDOW keys each keep memory constant (inlined _Seen.add).
                current, previous = seen.current, seen.previous
                pending = None  # each event is yielded once the next one is known, so the last one of the
                #                 batch can say so (``batch_end``: a renderer may flush its output there)
                for i, raw in enumerate(items):
                    ev_offset = offsets[i] if offsets is not None else (end if i == last_i else start)
                    if raw.__class__ is dict:
                        rid = raw.get("runId") or run_id
                        index = raw.get("eventIndex")
                        if index is not None:
                            key = index if rid == run_id else (rid, index)
                            if key in current or key in previous:
                                continue
                            current.add(key)
                            if len(current) >= seen.size:
                                seen.previous, seen.current = current, set()
                                current, previous = seen.current, seen.previous
                        kind = raw.get("type")
                        if raw.get("v") != 3 and not warned_version and "v" in raw:
                            warned_version = True
                            self.ctx.warn(
                                f"run {run_id} sends FlueEvent v{raw.get('v')}; wfctl understands v3 "
                                "(events are passed through as they are)"
                            )
                        if kind == "run_end" and rid == run_id:
                            run_ends[run_id] = raw
                            stop = True
                        if types is not None and kind not in types:
                            if stop:
                                break
                            continue
                        step_id, step_name = step(raw, kind) if kind not in plain_kinds else (None, None)
                        event = make(rid, ev_offset, index, kind, raw.get("timestamp"), step_id, step_name, raw)
                    else:
                        event = make(run_id, ev_offset, None, None, None, None, None, raw)
                    if client_last is not None:
                        client_last.append(event)
                    else:
                        if pending is not None:
                            yield pending
                        pending = event
                    if stop:
                        break
                if pending is not None:
                    pending.__dict__["batch_end"] = True
                    yield pending
                start = end
                if stop:
                    break
                if client_last is not None and (batch.up_to_date or batch.closed):
                    yield from _mark_last(client_last)
                    client_last = None
            if client_last is not None:
                yield from _mark_last(client_last)
        finally:
            batches.close()
            reader.close()

    def _reread_or_fail(self, exc: "ParseError", run_id: str, attempt: int) -> None:
        """After a malformed answer: warn and return (the caller reads again from ``exc.offset``), or, when
        the same offset came back malformed more than :data:`PARSE_REREADS` times, raise the exit-5 error."""
        where = clean(exc.offset or "-1")
        reason = clean(exc.reason)
        if attempt > PARSE_REREADS:
            raise UnavailableError(
                f"Flue sent a malformed event stream for run {run_id} after offset {where}: {reason} "
                f"(still malformed after {PARSE_REREADS} re-reads)",
                hint="a proxy may be rewriting responses; retry with --debug to see them",
            ) from None
        self.ctx.warn(
            f"malformed event stream for run {run_id} after offset {where} ({reason}); reading again "
            f"from offset {where} ({attempt}/{PARSE_REREADS})"
        )
        if attempt > 1:
            self._sleep_before_reread(attempt)

    def _sleep_before_reread(self, attempt: int) -> None:
        from ..durable_streams import Backoff

        backoff = self._stream_options.get("backoff") or Backoff()
        time.sleep(backoff.delay(attempt - 2))

    def _check_beyond_tail(self, reader: Any, run_id: str, offset: str) -> None:
        """Flue echoes a resume offset that lies beyond the tail, and the reader only checks open streams:
        on a closed stream compare with ``HEAD`` (offsets sort lexicographically within a stream)."""
        from ..durable_streams import StreamError

        try:
            info = reader.head()
        except StreamError as exc:
            raise self._stream_error(exc, run_id, offset) from None
        if info.offset == "-1" or offset > info.offset:
            raise UsageError(
                f"offset {offset} is beyond the end of run {run_id}'s events (the stream ends at {info.offset})",
                hint="give an offset printed by 'wfctl tail -o jsonl' for this run",
            )

    # -- start ---------------------------------------------------------------------------------------------
    def start(self, request: StartRequest) -> Run:
        self.require(START)
        if request.env:
            raise UsageError("Flue runs take no environment (--env); put the values in the input")
        if request.task_queue:
            raise UsageError("--task-queue is a Temporal option; Flue has no task queues")
        if request.run_id:
            raise UsageError("Flue chooses run ids itself (run_<ULID>); drop --id")
        name = request.workflow
        if not name or "/" in name:
            raise UsageError(f"invalid Flue workflow name {name!r}")
        body = None
        if request.input is not None:
            body = json.dumps(request.input, separators=(",", ":"), ensure_ascii=False).encode()
        run_id = self._admit(name, body)
        try:
            run = self._run(self._meta(run_id), run_id)
        except NotFoundError:
            self.ctx.warn(
                f"run {run_id} started, but workflow {name!r} does not export `runs` middleware, so its "
                "runs cannot be read over HTTP"
            )
            now = datetime.now(timezone.utc)
            run = Run(
                runId=run_id,
                backend=self.name,
                workflowName=name,
                status=RUNNING,
                rawStatus="active",
                createdAt=now,
                startedAt=now,
                input=request.input,
            )
        return run

    def _admit(self, name: str, body: bytes | None) -> str:
        """``POST /workflows/<name>`` with ``body`` (JSON) or no body at all; the new run's id."""
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["content"] = body
            kwargs["headers"] = {"content-type": "application/json"}
        response = self.http.request(
            "POST",
            f"/workflows/{quote(name, safe='')}",
            retry=False,
            expect=(400, 401, 403, 404, 405, 409, 415, 422, 500),
            **kwargs,
        )
        if response.status_code >= 400:
            raise self._http_error(response, workflow=name)
        body = self.http.decode_json(response)
        if isinstance(body, dict) and "streamUrl" in body:
            raise UnsupportedError(
                f"this Flue server is older than 1.0.0-beta.3 (its receipts carry streamUrl); wfctl speaks {SUPPORTED}"
            )
        if not isinstance(body, dict) or not isinstance(body.get("runId"), str):
            raise UnavailableError(
                f"Flue answered POST /workflows/{name} with HTTP {response.status_code} but no runId",
                hint="is the URL the mount prefix of Flue's flue() app?",
            )
        return str(body["runId"])

    # -- rerun ---------------------------------------------------------------------------------------------
    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        """A new run of each run's workflow with the input its ``RunRecord`` kept (module docstring)."""
        self.require(RERUN)
        outcomes: list[RerunOutcome] = []
        for run_id in run_ids:
            started = any(o.outcome == "started" for o in outcomes)
            try:
                outcomes.append(self._rerun_one(run_id, dry_run))
            except NotFoundError as exc:
                outcomes.append(RerunOutcome(run_id, None, "not_found", exc.message))
            except (AuthError, UnavailableError, UnsupportedError) as exc:  # what stops every run
                if not started:
                    raise
                outcomes.append(RerunOutcome(run_id, None, "error", exc.message))
            except WfctlError as exc:
                outcomes.append(RerunOutcome(run_id, None, "error", exc.message))
        return outcomes

    def _rerun_one(self, run_id: str, dry_run: bool) -> RerunOutcome:
        record = self._meta(run_id)
        name = record.get("workflowName")
        if not name or "/" in name:
            return RerunOutcome(
                run_id,
                None,
                "refused",
                f"run {run_id} was not re-run: Flue's RunRecord names no workflow to start",
                workflowName=name or None,
            )
        body = None
        if "input" in record:  # absent: the run was started without a body
            body = json.dumps(record["input"], separators=(",", ":"), ensure_ascii=False).encode()
        if dry_run:
            what = "its recorded input" if body is not None else "no input, as it was"
            return RerunOutcome(run_id, None, "would_start", f"would start {name} with {what}", None, name)
        try:
            new_id = self._admit(name, body)
        except NotFoundError as exc:  # the workflow is gone, or no longer exposed (workflow_not_found)
            return RerunOutcome(run_id, None, "not_found", exc.message, None, name)
        try:
            status: str | None = self._run(self._meta(new_id), new_id).status
        except NotFoundError:
            status = RUNNING
        return RerunOutcome(run_id, new_id, "started", f"rerun of {run_id}", status, name)

    # -- doctor --------------------------------------------------------------------------------------------
    def doctor(self) -> list[Check]:
        checks: list[Check] = []
        if self.raw:
            checks.append(Check("mode", True, f"raw Durable Streams URL template {self.base_url}"))
            try:
                self.http.request(
                    "HEAD", self.base_url.replace("{runId}", "wfctl-doctor-probe"), expect=(400, 401, 403, 404, 405)
                )
            except WfctlError as exc:
                return checks + [Check("reachable", False, exc.message)]
            return checks + [Check("reachable", True, str(self.http.client.base_url))]
        try:
            response = self.http.request("GET", f"{self._run_path(_PROBE_RUN)}?meta", expect=(400, 401, 403, 404, 405))
        except WfctlError as exc:
            return [Check("reachable", False, exc.message + (f" ({exc.hint})" if exc.hint else ""))]
        checks.append(Check("reachable", True, self.base_url))
        kind, _ = self._envelope(response.text)
        if response.status_code == 404 and kind == "run_not_found":
            checks.append(
                Check(
                    "version",
                    True,
                    f"run API of {SUPPORTED} (GET /runs/:runId?meta answers run_not_found for an unknown run)",
                )
            )
        elif response.status_code == 404 and kind == "route_not_found":
            checks.append(Check("version", False, f"{FLUE2_MESSAGE}: {FLUE2_HINT}"))
        else:
            what = f"HTTP {response.status_code}" + (f" [{kind}]" if kind else "")
            checks.append(
                Check(
                    "version",
                    False,
                    f"GET /runs/:runId?meta answered {what}, not Flue 1.0's "
                    "run_not_found: is the URL the mount prefix of flue()?",
                )
            )
        token = self.profile.token()
        checks.append(
            Check(
                "auth",
                True,
                ("a bearer token is configured" if token else "no token configured")
                + "; Flue checks it per workflow (its `runs` and `route` middleware)",
            )
        )
        return checks


def _issues(text: str) -> str:
    """``action_input_validation`` issues as ``path: message; ...``."""
    try:
        issues = json.loads(text)["error"]["meta"]["issues"]
    except (ValueError, KeyError, TypeError):
        return ""
    parts = []
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        path = ".".join(str(p) for p in issue.get("path") or [])
        parts.append(f"{path}: {issue.get('message')}" if path else str(issue.get("message")))
    return "; ".join(parts)
