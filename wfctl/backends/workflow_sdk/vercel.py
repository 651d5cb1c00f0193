"""The Workflow SDK on Vercel: the world-vercel HTTP API (below, and docs/architecture.md, "Workflow SDK Vercel
world"), reached with a Vercel token.

Same commands and the same output as the local world (``local.py``): records are mapped onto the model the
way the local world maps its files (short ``workflowName``, machine name in ``workflowId``, step errors only
for failed or retrying steps, sleeps and hooks only for active runs, payloads decoded by ``values``).

Wire protocol
-------------
* Base URL ``https://api.vercel.com/v1/workflow`` (the proxy the SDK uses when it knows the project and
  team); overridden by the profile's ``url`` (``--url``, ``WFCTL_URL``) or ``WORKFLOW_VERCEL_BACKEND_URL``.
* Every request carries ``Authorization: Bearer``, ``x-vercel-project-id``, ``x-vercel-team-id``,
  ``x-vercel-environment`` and ``Accept: application/cbor``; bodies are CBOR (JSON is accepted too).
* Runs, steps, hooks and stream chunks: the v2 routes, ``{data, cursor, hasMore}`` pages.
* Events: ``GET /v4/runs/{runId}/events`` answers v4 frames ``u32be metaLen | CBOR meta | u32be bodyLen |
  body``; the meta is the event entity and the body the event's payload (``run_created.input``,
  ``step_completed.result``, ...), spliced back into ``eventData``; the list ends with ``{_end: 1, next?,
  hasMore?}``. A list without that sentinel is truncated and is refused, not shown short.

Decisions (also in the README)
------------------------------
* Credentials: token = ``WFCTL_TOKEN`` / the profile's ``token_env`` / ``token`` > ``WORKFLOW_VERCEL_AUTH_TOKEN``
  > ``VERCEL_TOKEN``; project = the profile's ``project`` (``WFCTL_PROJECT``) > ``WORKFLOW_VERCEL_PROJECT`` >
  ``projectId`` of ``.vercel/project.json`` (searched from the current directory upwards); team likewise with
  ``team`` / ``WORKFLOW_VERCEL_TEAM`` / ``orgId``; environment = the profile's ``environment`` when set, else
  ``WORKFLOW_VERCEL_ENV``, else ``production``. Engine variables come from the environment wfctl was given,
  like every other setting.
* ``cancel`` posts one v4 frame to ``POST /v4/runs/{runId}/events/run_cancelled`` (meta ``{eventType,
  specVersion}``), the route the SDK's own world-vercel client writes every event through, rather than the
  JSON ``POST /v2/runs/{id}/events`` form (a workaround from vercel/workflow#1076): one write path for cancel
  and wake, and the ``x-wf-event-id`` answer header confirms the write. Legacy specVersion-1 runs use
  ``PUT /v1/runs/{id}/cancel``. The run is read first: a terminal run is ``already_completed`` and nothing is
  written. A ``--reason`` rides as ``cancelReason`` in the frame meta (newer servers record it); a server that
  refuses it with 400 gets the cancel again without it, and the outcome says the reason was not recorded.
* ``wake`` is **experimental**: it writes the ``wait_completed`` events (``POST
  /v4/runs/{runId}/events/wait_completed``) exactly as ``Run.wakeUp()`` does, but does **not** send the
  Vercel Queues message that re-enqueues the run: that API is not documented and could not be tested. The
  result says so: the run continues when its queue next delivers it (at the latest its original sleep timer,
  which is how ``sleep()`` works on Vercel), or when re-enqueued from the Workflow web UI.
* Version gate (``versions.VERCEL``): cancel and wake write only into runs of spec versions 1-3 (the 4.x API
  contract). A 5.0 run (spec 4-7) or a newer one is refused before anything is sent: a single run exits 6 with
  the reason and a hint, a bulk cancel gives it the outcome ``refused``. Reads show every run; one newer than
  wfctl reads (spec > 7) is shown as far as it can be, with one warning per spec version. 5.0 fields are read:
  run ``attributes``, ``error`` as a serialized value with ``errorCode`` beside it. ``config doctor`` reports
  the spec versions and ``workflowCoreVersion`` of the newest runs.
* ``list``: ``--status`` (one SDK status) and ``--workflow`` (a machine name ``workflow//...``) are sent to the
  API; several statuses, a short workflow name, ``--search``, ``--since`` and ``--until`` are applied here
  while paging. The API's cursor is passed through as is; when a page stops inside an API page, the cursor is
  ``wfctl:<base64>`` (API cursor + position) and resumes exactly there.
* ``dashboard`` counts by paging the run list (there is no count route), newest first, up to
  ``COUNTS_CAP`` runs; beyond that a warning says the counts are partial.
* ``tail --live`` polls every ``--interval`` seconds, resuming from the list's cursor and de-duplicating by
  event id (stream chunks by index); it stops after one last read once the run is terminal (the SDK never
  closes run streams, vercel/workflow#964) or when the stream is done.
* Values the run encrypted (``encr``) are shown as ``{"$encrypted": true}``; wfctl never fetches run keys.
* Answers are checked: a run or step field of another type than the API gives it (a list for ``status``, ...)
  exits 5 naming the answer and the field, as does anything else in an answer wfctl cannot read. Every request
  is bounded by the profile's ``timeout``, retries included (:mod:`wfctl.http`).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote

from ...errors import AuthError, NotFoundError, UnavailableError, UnsupportedError, UsageError, WfctlError
from ...model import (
    CANCELLED,
    STATUSES,
    TERMINAL,
    UNKNOWN,
    CancelOutcome,
    Check,
    Chunk,
    Counts,
    Event,
    Hook,
    ListQuery,
    Run,
    RunPage,
    Step,
    StreamInfo,
    Wait,
    WakeResult,
    iso,
    parse_time,
)
from .. import WORKFLOW_SDK
from .._http import HttpBackend, reads_answers
from ..base import (
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
    TailRequest,
)
from .ids import normalize_run_id
from .records import (
    SDK_STATUSES,
    event_filter,
    event_from_record,
    first_shown,
    parse_statuses,
    plan_wake,
    record_time,
    run_from_record,
    search_hit,
    step_from_record,
    workflow_short_name,
)
from .streams import StreamDecoder, b64url, b64url_decode, stream_base, stream_name, stream_namespace
from .values import cbor_uint8array, decode_cbor, decode_payload
from .versions import READ_MAX, VERCEL, ReadWarner, check_write, doctor_line, refusal_hint, write_refusal

if TYPE_CHECKING:
    from ...config import Profile
    from ...http import Response

DEFAULT_BASE_URL = "https://api.vercel.com/v1/workflow"
CBOR_TYPE = "application/cbor"
V4_FRAMES_TYPE = "application/vnd.workflow.v4-frames"
ENVIRONMENTS = ("production", "preview", "development")
PAGE_MAX = 1000  # the API's largest page
COUNTS_CAP = 10_000  # runs read for dashboard counts
DOCTOR_SAMPLE = 100  # newest runs whose spec versions config doctor reports
ID_TIME_MARGIN_S = 5 * 60  # run ids may be minted up to 5 minutes before createdAt
MAX_FRAME_PART = 256 * 1024 * 1024
CURSOR_PREFIX = "wfctl:"
#: The failure statuses the API answers for a request it refuses (anything else is retried or exits 5); the
#: ones not mapped otherwise (401, 403, 404, 409) are usage errors.
_EXPECTED = (400, 401, 403, 404, 409, 410, 412, 422)

#: The eventData field whose bytes ride in a v4 frame's body (@workflow/world ``getEventDataPayloadField``).
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

AUTH_HINT = (
    "set WORKFLOW_VERCEL_AUTH_TOKEN or VERCEL_TOKEN (or WFCTL_TOKEN / the profile's token_env) to a Vercel "
    "access token (vercel.com/account/tokens) that can see the project; the api.vercel.com workflow proxy "
    "needs a regular Vercel token and does not accept OIDC tokens. A 403 can also mean the project or team "
    "id is wrong"
)
PROJECT_HINT = (
    "set the profile's project key (wfctl config set project prj_...) or WORKFLOW_VERCEL_PROJECT, or run wfctl "
    "inside a directory linked with 'vercel link' (.vercel/project.json)"
)
TEAM_HINT = (
    "set the profile's team key (wfctl config set team team_...) or WORKFLOW_VERCEL_TEAM, or run wfctl "
    "inside a directory linked with 'vercel link' (.vercel/project.json, orgId)"
)
WAKE_NOTE = (
    "wake on Vercel is experimental: the wait_completed events are written, but wfctl does not send the Vercel "
    "Queues message that re-enqueues the run (not a documented API; untested). The run continues when its "
    "queue next delivers it (at the latest its original sleep timer) or when you re-enqueue it from the "
    "Workflow web UI"
)


class _Conflict(UsageError):
    """HTTP 409: the world refused a transition (e.g. the run or wait is already finished)."""


# -- settings --------------------------------------------------------------------------------------------


@dataclass
class VercelSettings:
    base_url: str
    base_url_source: str
    token: str | None
    token_source: str | None
    project: str | None
    project_source: str | None
    team: str | None
    team_source: str | None
    environment: str
    environment_source: str


def find_project_json(start: Path | None = None) -> Path | None:
    """``.vercel/project.json`` in ``start`` (default: the current directory) or the nearest parent."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:
        return None
    for directory in (here, *here.parents):
        candidate = directory / ".vercel" / "project.json"
        if candidate.is_file():
            return candidate
    return None


def _read_project_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def resolve_settings(profile: "Profile", cwd: Path | None = None) -> VercelSettings:
    """Where every Vercel setting comes from; never raises (missing values are None)."""
    env = profile.env

    def from_profile(key: str) -> tuple[str | None, str | None]:
        source = profile.source(key)
        value = profile.get(key)
        if value and source != "default":
            return str(value), source
        return None, None

    url, url_source = from_profile("url")
    if not url and env.get("WORKFLOW_VERCEL_BACKEND_URL"):
        url, url_source = env["WORKFLOW_VERCEL_BACKEND_URL"], "env WORKFLOW_VERCEL_BACKEND_URL"
    if not url:
        url, url_source = DEFAULT_BASE_URL, "default"

    token, token_source = profile.token(), None
    if token:
        token_source = (
            profile.source("token") if profile.values.get("token") == token else (f"env {profile.get('token_env')}")
        )
    else:
        for var in ("WORKFLOW_VERCEL_AUTH_TOKEN", "VERCEL_TOKEN"):
            if env.get(var):
                token, token_source = env[var], f"env {var}"
                break

    linked: dict[str, Any] | None = None
    linked_path: Path | None = None

    def link() -> dict[str, Any]:
        nonlocal linked, linked_path
        if linked is None:
            linked_path = find_project_json(cwd)
            linked = _read_project_json(linked_path)
        return linked

    project, project_source = from_profile("project")
    if not project and env.get("WORKFLOW_VERCEL_PROJECT"):
        project, project_source = env["WORKFLOW_VERCEL_PROJECT"], "env WORKFLOW_VERCEL_PROJECT"
    if not project and isinstance(link().get("projectId"), str) and link()["projectId"]:
        project, project_source = link()["projectId"], f"projectId in {linked_path}"

    team, team_source = from_profile("team")
    if not team and env.get("WORKFLOW_VERCEL_TEAM"):
        team, team_source = env["WORKFLOW_VERCEL_TEAM"], "env WORKFLOW_VERCEL_TEAM"
    if not team and isinstance(link().get("orgId"), str) and link()["orgId"]:
        team, team_source = link()["orgId"], f"orgId in {linked_path}"

    environment, environment_source = from_profile("environment")
    if not environment and env.get("WORKFLOW_VERCEL_ENV"):
        environment, environment_source = env["WORKFLOW_VERCEL_ENV"], "env WORKFLOW_VERCEL_ENV"
    if not environment:
        environment, environment_source = "production", "default"

    return VercelSettings(
        url.rstrip("/"),
        url_source or "default",
        token,
        token_source,
        project,
        project_source,
        team,
        team_source,
        environment,
        environment_source or "default",
    )


# -- wire helpers ----------------------------------------------------------------------------------------


def _is_bytes(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview)) or cbor_uint8array(value) is not None


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    inner = getattr(value, "value", None)
    if isinstance(inner, (bytes, bytearray)):
        return bytes(inner)
    if isinstance(value, dict) and value.get("__type") == "Uint8Array" and isinstance(value.get("data"), str):
        return base64.b64decode(value["data"])
    if isinstance(value, str):  # a JSON answer carrying bytes as base64
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value.encode("utf-8")
    raise ValueError(f"expected bytes, got {type(value).__name__}")


def encode_frame(meta: dict[str, Any], body: bytes = b"") -> bytes:
    """One v4 frame: ``u32be metaLen | CBOR meta | u32be bodyLen | body``."""
    import cbor2

    meta_bytes = cbor2.dumps(meta, datetime_as_timestamp=True, timezone=timezone.utc)
    return struct.pack(">I", len(meta_bytes)) + meta_bytes + struct.pack(">I", len(body)) + body


def decode_frames(data: bytes) -> tuple[list[tuple[dict[str, Any], bytes]], dict[str, Any] | None]:
    """A v4 frame stream → (frames before the sentinel, the sentinel meta or None if it never came)."""
    import cbor2

    frames: list[tuple[dict[str, Any], bytes]] = []
    pos = 0
    while pos < len(data):
        meta_bytes, pos = _frame_part(data, pos, "meta length", "meta block")
        try:
            meta = cbor2.loads(meta_bytes)
        except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
            raise ValueError(f"undecodable frame meta ({exc})") from None
        if not isinstance(meta, dict):
            raise ValueError("frame meta is not a map")
        body, pos = _frame_part(data, pos, "body length", "body")
        if meta.get("_end") == 1:
            return frames, meta
        frames.append((meta, body))
    return frames, None


def _frame_part(data: bytes, pos: int, length_name: str, part_name: str) -> tuple[bytes, int]:
    """The ``u32be`` length-prefixed part of a frame at ``pos``, and the position after it."""
    if len(data) - pos < 4:
        raise ValueError(f"truncated {length_name}")
    (length,) = struct.unpack_from(">I", data, pos)
    pos += 4
    if length > MAX_FRAME_PART or len(data) - pos < length:
        raise ValueError(f"truncated {part_name}")
    return data[pos : pos + length], pos + length


#: Event types whose frame body is a CBOR ``StructuredError`` ``{message, stack, ...}`` rather than a serialized
#: value (the official client writes these errors un-dehydrated and CBOR-decodes the body it reads back).
STRUCTURED_ERROR_EVENTS = frozenset({"run_failed", "step_failed", "step_retrying"})
_PAYLOAD_PREFIXES = (b"devl", b"encr", b"encp", b"gzip", b"zstd")


def event_from_frame(meta: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A listed frame → the event entity with its payload bytes back in ``eventData`` (an error event's
    CBOR ``StructuredError`` body as the object it holds)."""
    event = dict(meta)
    event_type = str(event.get("eventType"))
    field = PAYLOAD_FIELD.get(event_type)
    data = event.get("eventData")
    if field:
        if body:
            data = dict(data) if isinstance(data, dict) else {}
            value: Any = bytes(body)
            if event_type in STRUCTURED_ERROR_EVENTS and value[:4] not in _PAYLOAD_PREFIXES:
                structured = decode_cbor(value)
                if isinstance(structured, dict) and "$undecodable" not in structured:
                    value = structured
            data[field] = value
            event["eventData"] = data
        elif isinstance(data, dict) and field in data and not _is_bytes(data[field]):
            # a lazy reference descriptor (payload not resolved): there is no value to show
            event["eventData"] = {k: v for k, v in data.items() if k != field}
    return event


def _encode_list_cursor(cursor: str | None, skip: int, limit: int) -> str:
    raw = json.dumps({"c": cursor, "s": skip, "l": limit}, separators=(",", ":")).encode()
    return CURSOR_PREFIX + b64url(raw)


def _decode_list_cursor(cursor: str | None) -> tuple[str | None, int, int | None]:
    """wfctl's composite cursor → (API cursor, items to skip in that page, its page size); else the API's own."""
    if not cursor:
        return None, 0, None
    if not cursor.startswith(CURSOR_PREFIX):
        return cursor, 0, None
    text = cursor[len(CURSOR_PREFIX) :]
    try:
        data = json.loads(b64url_decode(text))
        api_cursor, skip, limit = data.get("c"), int(data.get("s", 0)), int(data.get("l"))
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError, binascii.Error):
        raise UsageError(f"invalid cursor {cursor[:80]!r}", hint="pass the cursor a previous list printed") from None
    if (api_cursor is not None and not isinstance(api_cursor, str)) or skip < 0 or not 0 < limit <= PAGE_MAX:
        raise UsageError(f"invalid cursor {cursor[:80]!r}", hint="pass the cursor a previous list printed")
    return api_cursor, skip, limit


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _q(segment: str) -> str:
    return quote(segment, safe="")


_WHEN = (str, int, float, datetime)
#: The fields wfctl maps and the types the API gives them (CBOR dates decode as datetimes; absent or null is
#: always fine). Payload fields are decoded by ``values``, which shows what it cannot read as such.
RUN_FIELDS = {
    "runId": str,
    "status": str,
    "workflowName": str,
    "deploymentId": str,
    "specVersion": (int, str),
    "executionContext": dict,
    "attributes": dict,
    "createdAt": _WHEN,
    "startedAt": _WHEN,
    "completedAt": _WHEN,
    "updatedAt": _WHEN,
    "expiredAt": _WHEN,
}
STEP_FIELDS = {
    "stepId": str,
    "stepName": str,
    "status": str,
    "attempt": (int, str),
    "createdAt": _WHEN,
    "startedAt": _WHEN,
    "completedAt": _WHEN,
    "updatedAt": _WHEN,
}


def _check(what: str, value: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from ...http import check_fields

    return check_fields("Vercel workflow API", what, value, spec)


# -- the backend -----------------------------------------------------------------------------------------


class VercelWorldBackend(HttpBackend):
    name = WORKFLOW_SDK
    label = "Workflow SDK (Vercel world)"
    engine = "Vercel workflow API"
    auth_hint = AUTH_HINT
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, WAKE, TAIL, DASHBOARD})
    experimental = frozenset({WAKE})
    _QUEUE = (
        "a run on Vercel moves only when a Vercel Queues message reaches its deployment, and the world's API "
        "gives wfctl no way to send one (the SDK sends it from inside the deployment)"
    )
    unsupported_reasons = {
        START: f"wfctl does not start Workflow SDK runs on Vercel: {_QUEUE}; start runs with start() from "
        "workflow/api in the app",
        RERUN: f"wfctl does not re-run Workflow SDK runs on Vercel: {_QUEUE}, and their inputs are encrypted; "
        "use the Re-run button of 'npx workflow web --backend vercel' or the Vercel dashboard",
        RESUME: f"wfctl does not resume hooks on Vercel: {_QUEUE}; call resumeHook(token, payload) in the app "
        "(or its webhook URL)",
    }

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        super().__init__(profile, ctx)
        self._settings: VercelSettings | None = None
        self._warned: set[str] = set()
        self._newer = ReadWarner(self.ctx.warn)

    # -- plumbing -----------------------------------------------------------------------------------------
    @property
    def settings(self) -> VercelSettings:
        if self._settings is None:
            self._settings = resolve_settings(self.profile)
        return self._settings

    def client_options(self) -> dict[str, Any]:
        s = self.settings
        if not s.token:
            raise AuthError("no Vercel token: the Vercel world needs one for every request", hint=AUTH_HINT)
        if not s.project:
            raise UsageError("no Vercel project id for the Vercel world", hint=PROJECT_HINT)
        if not s.team:
            raise UsageError("no Vercel team id for the Vercel world", hint=TEAM_HINT)
        headers = self.profile.headers()
        headers.update(
            {
                "accept": CBOR_TYPE,
                "x-vercel-project-id": s.project,
                "x-vercel-team-id": s.team,
                "x-vercel-environment": s.environment,
            }
        )
        return {"base_url": s.base_url, "token": s.token, "headers": headers}

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.ctx.warn(message)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        retry: bool | None = None,
        not_found: str | None = None,
    ) -> "Response":
        clean = {k: v for k, v in (params or {}).items() if v is not None} or None
        response = self.http.request(
            method,
            path,
            params=clean,
            headers=headers,
            content=content,
            retry=retry,
            expect=_EXPECTED,
        )
        if response.status_code >= 400:
            raise self._error_for(response, not_found)
        return response

    def _error_for(self, response: "Response", not_found: str | None) -> WfctlError:
        status = response.status_code
        message = _server_message(response)
        what = f"Vercel workflow API: HTTP {status}" + (f": {message}" if message else "")
        if status == 409:
            return _Conflict(what)
        hint = None
        if status == 404 and not_found:
            s = self.settings
            what = f"{not_found} (project {s.project}, environment {s.environment})"
            hint = (
                "runs belong to one environment: set the profile's environment or WORKFLOW_VERCEL_ENV "
                "(production, preview or development)"
            )
        return self.status_error(status, what, usage=_EXPECTED, hint=hint)

    def _decode(self, response: "Response") -> Any:
        if "json" in response.headers.get("content-type", "").lower():
            return self.http.decode_json(response)  # charset, truncation: one line naming what was wrong
        return _decode_body(response)

    def _get(self, path: str, params: dict[str, Any] | None = None, *, not_found: str | None = None) -> Any:
        return self._decode(self._request("GET", path, params=params, not_found=not_found))

    def _run_id(self, run_id: str) -> str:
        return normalize_run_id(run_id)  # a bare ULID gets its wrun_ prefix, as the local world accepts

    def _pages(self, path: str, params: dict[str, Any], *, not_found: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a ``{data, cursor, hasMore}`` listing, following the cursor."""
        limit = PAGE_MAX
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            body = self._get(path, {**params, "limit": limit, "cursor": cursor}, not_found=not_found)
            data, next_cursor, more = _page(body, path)
            for item in data:
                if isinstance(item, dict):
                    yield item
            if not (more and next_cursor) or next_cursor in seen:
                return
            seen.add(next_cursor)
            cursor = next_cursor

    # -- runs -------------------------------------------------------------------------------------------------
    def _fetch_run(self, run_id: str, *, resolve: bool) -> dict[str, Any]:
        body = self._get(
            f"/v2/runs/{_q(run_id)}",
            {"remoteRefBehavior": "resolve" if resolve else "lazy"},
            not_found=f"run {run_id} not found",
        )
        if isinstance(body, dict) and "runId" not in body and isinstance(body.get("run"), dict):
            body = body["run"]
        if not isinstance(body, dict) or not isinstance(body.get("runId"), str):
            raise UnavailableError(f"Vercel workflow API: unexpected answer for run {run_id} (no runId)")
        return _check(f"run {run_id}", body, RUN_FIELDS)

    def _to_run(self, raw: dict[str, Any]) -> Run:
        """The world's mapping (``records.run_from_record``: errors may be legacy JSON text or 5.0 serialized values,
        with ``errorCode`` beside them; 5.0 ``attributes``), plus the storage sizes the Vercel API reports. A run
        of a spec version newer than wfctl reads is shown as far as it can be, with one warning per version."""
        self._newer.check(raw.get("specVersion"), raw.get("runId"))
        run = run_from_record(raw, self.name, legacy_errors=True)
        for key in ("blobStorageBytes", "streamStorageBytes"):
            if isinstance(raw.get(key), (int, float)) and not isinstance(raw.get(key), bool):
                run.extra[key] = raw[key]
        return run

    @reads_answers("run {0}")
    def get_status(self, run_id: str) -> Run:
        """One request, payloads not resolved (``remoteRefBehavior=lazy``)."""
        return self._to_run(self._fetch_run(self._run_id(run_id), resolve=False))

    def _is_terminal(self, run_id: str) -> bool:
        return self._fetch_run(run_id, resolve=False).get("status") in TERMINAL

    @reads_answers("run {0}")
    def get_run(self, run_id: str) -> Run:
        run_id = self._run_id(run_id)
        run = self._to_run(self._fetch_run(run_id, resolve=True))
        run.steps = self._steps(run_id)
        if not run.terminal:
            run.waits = self._waits(self._all_events(run_id, resolve=False))
            run.hooks = self._hooks(run_id)
        run.streams = self._streams(run_id)
        return run

    def _steps(self, run_id: str) -> list[Step]:
        raws = list(self._pages(f"/v2/runs/{_q(run_id)}/steps", {"remoteRefBehavior": "resolve", "sortOrder": "asc"}))
        for raw in raws:
            _check(f"a step of run {run_id}", raw, STEP_FIELDS)
        ordered = sorted(
            (r for r in raws if isinstance(r.get("stepId"), str)),
            key=lambda s: (iso(record_time(s.get("createdAt"), s["stepId"])) or "", s["stepId"]),
        )
        # attempt may come as a digit string (JSON answers)
        return [step_from_record({**raw, "attempt": _int(raw.get("attempt"))}, legacy_errors=True) for raw in ordered]

    @staticmethod
    def _waits(events: list[dict[str, Any]]) -> list[Wait]:
        waits: dict[str, Wait] = {}
        for event in events:
            corr = event.get("correlationId")
            data = event.get("eventData")
            if not isinstance(data, dict):
                data = {}
            if not isinstance(corr, str):
                continue
            if event.get("eventType") == "wait_created":
                waits.setdefault(corr, Wait(corr, record_time(data.get("resumeAt")), "waiting"))
            elif event.get("eventType") == "wait_completed":
                wait = waits.setdefault(corr, Wait(corr, record_time(data.get("resumeAt"))))
                wait.status = "completed"
                wait.completedAt = wait.completedAt or record_time(event.get("createdAt"), event.get("eventId"))
        return sorted(
            waits.values(), key=lambda w: (w.resumeAt or datetime.max.replace(tzinfo=timezone.utc), w.correlationId)
        )

    def _hooks(self, run_id: str) -> list[Hook]:
        hooks = []
        for raw in self._pages("/v2/hooks", {"runId": run_id, "remoteRefBehavior": "resolve", "sortOrder": "asc"}):
            if not isinstance(raw.get("hookId"), str):
                continue
            hook = Hook(
                raw["hookId"],
                raw.get("token") if isinstance(raw.get("token"), str) else None,
                record_time(raw.get("createdAt"), raw["hookId"]),
                decode_payload(raw.get("metadata")),
            )
            if isinstance(raw.get("isSystem"), bool):  # 5.0: the runtime's own hooks
                hook.isSystem = raw["isSystem"]
            hooks.append(hook)
        return hooks

    def _stream_names(self, run_id: str) -> list[str]:
        body = self._get(f"/v2/runs/{_q(run_id)}/streams")
        if isinstance(body, dict):
            body = body.get("data", body.get("streams"))
        names = []
        for item in body if isinstance(body, list) else []:
            name = item if isinstance(item, str) else (item.get("name") if isinstance(item, dict) else None)
            if isinstance(name, str):
                names.append(name)
        return names

    def _stream_info(self, run_id: str, name: str) -> tuple[int, bool]:
        body = self._get(f"/v2/runs/{_q(run_id)}/streams/{_q(name)}/info")
        body = body if isinstance(body, dict) else {}
        tail = _int(body.get("tailIndex"))
        if tail is None and isinstance(body.get("tailIndex"), int):
            tail = body["tailIndex"]
        return (tail if tail is not None else -1), bool(body.get("done"))

    def _streams(self, run_id: str) -> list[StreamInfo]:
        base = stream_base(run_id)
        out = []
        for name in sorted(set(self._stream_names(run_id)), key=lambda s: (s != base, s)):
            tail, done = self._stream_info(run_id, name)
            out.append(StreamInfo(name, stream_namespace(run_id, name), tail + 1, tail, done))
        return out

    # -- list -------------------------------------------------------------------------------------------------
    @reads_answers("the run list")
    def list_runs(self, query: ListQuery) -> RunPage:
        if query.sort not in ("asc", "desc"):
            raise UsageError(f"invalid sort order {query.sort!r}: use asc or desc")
        descending = query.sort == "desc"
        limit = max(1, int(query.limit or 20))
        params: dict[str, Any] = {"sortOrder": query.sort, "remoteRefBehavior": "resolve"}

        statuses = parse_statuses(query.statuses)
        local_statuses: set[str] | None = None
        if statuses is not None:
            wanted = set(statuses) & SDK_STATUSES
            if not wanted:  # e.g. only "waiting": the Workflow SDK has no such status
                return RunPage([], None, False)
            if len(wanted) == 1:
                params["status"] = next(iter(wanted))
            else:
                local_statuses = wanted
        local_workflow = None
        if query.workflow:
            if query.workflow.startswith("workflow//"):
                params["workflowName"] = query.workflow
            else:
                local_workflow = query.workflow
        search = query.search.lower() if query.search else None
        since, until = query.since, query.until
        filtering = bool(local_statuses or local_workflow or search or since or until)

        def wanted_run(raw: dict[str, Any]) -> bool:
            if local_statuses is not None and raw.get("status") not in local_statuses:
                return False
            machine = raw.get("workflowName")
            if local_workflow and local_workflow not in (machine, workflow_short_name(machine)):
                return False
            created = record_time(raw.get("createdAt"), raw.get("runId"))
            if since is not None and (created is None or created < since):
                return False
            if until is not None and (created is None or created > until):
                return False
            return not search or search_hit(raw, search, json_text=True)

        def past_window(raw: dict[str, Any]) -> bool:
            """True when every later run of this order falls outside --since/--until."""
            created = record_time(raw.get("createdAt"), raw.get("runId"))
            if created is None:
                return False
            if descending and since is not None:
                return created.timestamp() < since.timestamp() - ID_TIME_MARGIN_S
            if not descending and until is not None:
                return created.timestamp() > until.timestamp() + ID_TIME_MARGIN_S
            return False

        page_limit = min(PAGE_MAX, max(limit, 100) if filtering else limit)
        api_cursor, skip, fetch_limit = _decode_list_cursor(query.cursor)
        fetch_limit = fetch_limit or page_limit
        found: list[Run] = []
        seen_cursors: set[str] = set()
        while True:
            body = self._get("/v2/runs", {**params, "limit": fetch_limit, "cursor": api_cursor})
            data, next_cursor, more = _page(body, "/v2/runs")
            more = bool(more and next_cursor and next_cursor not in seen_cursors)
            for i in range(skip, len(data)):
                raw = data[i]
                if not isinstance(raw, dict) or not isinstance(raw.get("runId"), str):
                    continue
                _check("the run list", raw, RUN_FIELDS)
                if past_window(raw):
                    return RunPage(found, None, False)
                if not wanted_run(raw):
                    continue
                found.append(self._to_run(raw))
                if len(found) >= limit:
                    if i + 1 < len(data):
                        cursor: str | None = _encode_list_cursor(api_cursor, i + 1, fetch_limit)
                    elif more:
                        cursor = next_cursor
                    else:
                        cursor = None
                    return RunPage(found, cursor, cursor is not None)
            if not more:
                return RunPage(found, None, False)
            seen_cursors.add(next_cursor)  # type: ignore[arg-type]
            api_cursor, skip, fetch_limit = next_cursor, 0, page_limit

    # -- dashboard ----------------------------------------------------------------------------------------
    @reads_answers("the run list")
    def counts(self, workflow: str | None = None) -> Counts:
        """Counts by paging the run list newest first (no count route), up to ``COUNTS_CAP`` runs."""
        params: dict[str, Any] = {"sortOrder": "desc", "remoteRefBehavior": "lazy"}
        if workflow and workflow.startswith("workflow//"):
            params["workflowName"] = workflow
        counts = {s: 0 for s in STATUSES}
        total = scanned = 0
        for raw in self._pages("/v2/runs", params):
            scanned += 1
            if scanned > COUNTS_CAP:
                self._warn_once(
                    "counts",
                    f"counts cover the newest {COUNTS_CAP:,} runs only: the Vercel workflow "
                    "API has no count route, so wfctl pages through the run list",
                )
                break
            machine = raw.get("workflowName")
            if workflow and workflow not in (machine, workflow_short_name(machine)):
                continue
            status = raw.get("status")
            key = status if status in SDK_STATUSES else UNKNOWN
            counts[key] = counts.get(key, 0) + 1
            total += 1
        return Counts(counts, total, workflow)

    # -- events -----------------------------------------------------------------------------------------------
    def _event_page(
        self, run_id: str, cursor: str | None, *, resolve: bool
    ) -> tuple[list[dict[str, Any]], str | None, bool]:
        """One page of ``GET /v4/runs/{runId}/events`` (ascending) → (events, next cursor, has more)."""
        response = self._request(
            "GET",
            f"/v4/runs/{_q(run_id)}/events",
            params={
                "cursor": cursor,
                "limit": PAGE_MAX,
                "sortOrder": "asc",
                "remoteRefBehavior": "resolve" if resolve else "lazy",
            },
            headers={"accept": f"{V4_FRAMES_TYPE}, {CBOR_TYPE}"},
            not_found=f"run {run_id} not found",
        )
        ctype = response.headers.get("content-type", "")
        if not ctype.startswith(V4_FRAMES_TYPE):
            raise UnavailableError(
                f"Vercel workflow API: events answered {ctype or 'no content type'}, "
                f"not {V4_FRAMES_TYPE} (GET /v4/runs/{run_id}/events)"
            )
        try:
            frames, end = decode_frames(response.content)
        except ValueError as exc:
            raise UnavailableError(f"Vercel workflow API: unreadable event frames for {run_id}: {exc}") from None
        if end is None:
            raise UnavailableError(
                f"Vercel workflow API: the event list of {run_id} ended without its end frame "
                f"after {len(frames)} events (truncated answer)",
                hint="try again; the read changes nothing",
            )
        events = [event_from_frame(meta, body) for meta, body in frames]
        next_cursor = end.get("next") if isinstance(end.get("next"), str) and end.get("next") else None
        has_more = end.get("hasMore") if isinstance(end.get("hasMore"), bool) else bool(next_cursor)
        return events, next_cursor, bool(has_more and next_cursor)

    def _read_events(
        self, run_id: str, cursor: str | None, *, resolve: bool
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every event from ``cursor`` on; returns them and the cursor to resume from later."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            events, next_cursor, more = self._event_page(run_id, cursor, resolve=resolve)
            out.extend(e for e in events if isinstance(e.get("eventType"), str))
            resume = next_cursor or cursor
            if not more or next_cursor in seen:
                return out, resume
            seen.add(next_cursor)  # type: ignore[arg-type]
            cursor = next_cursor

    def _all_events(self, run_id: str, *, resolve: bool) -> list[dict[str, Any]]:
        return self._read_events(run_id, None, resolve=resolve)[0]

    # -- tail -------------------------------------------------------------------------------------------------
    @reads_answers("the events of run {0}")
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event | Chunk]:
        run_id = self._run_id(run_id)
        self._fetch_run(run_id, resolve=False)  # not found → raise now, not at the first next()
        if request.stream is not None:
            return self._tail_stream(run_id, request)
        return self._tail_events(run_id, request)

    def _tail_events(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        wanted = event_filter(request.types)
        step_names: dict[str, str] = {}

        def convert(raw: dict[str, Any], index: int) -> Event:
            return event_from_record(raw, run_id, index, step_names)

        terminal = request.live and self._is_terminal(run_id)
        events, resume = self._read_events(run_id, None, resolve=True)
        shown = first_shown(events, request.offset, request.last, wanted)
        seen: set[str] = set()
        for i, raw in enumerate(events):
            seen.add(str(raw.get("eventId", "")))
            event = convert(raw, i)  # also learns step names from events not shown
            if i in shown:
                yield event
        if not request.live:
            return
        while not terminal:
            time.sleep(request.interval)
            terminal = self._is_terminal(run_id)  # checked before the read: that read is the final drain
            fresh, resume = self._read_events(run_id, resume, resolve=True)
            for raw in fresh:
                event_id = str(raw.get("eventId", ""))
                if event_id in seen:
                    continue
                index = len(seen)
                seen.add(event_id)
                event = convert(raw, index)
                if wanted(raw["eventType"]):
                    yield event

    def _chunk_page(
        self, run_id: str, name: str, cursor: str | None
    ) -> tuple[list[tuple[int, bytes]], str | None, bool, bool]:
        try:
            body = self._get(
                f"/v2/runs/{_q(run_id)}/streams/{_q(name)}/chunks",
                {"limit": PAGE_MAX, "cursor": cursor},
                not_found=f"stream {name} of run {run_id} not found",
            )
        except NotFoundError:
            return [], None, False, False  # not written yet (warned about once): a live tail keeps waiting
        data, next_cursor, more = _page(body, "stream chunks")
        chunks = []
        for item in data:
            if not isinstance(item, dict):
                continue
            index = _int(item.get("index"))
            if index is None:
                continue
            try:
                chunks.append((index, _raw_bytes(item.get("data"))))
            except ValueError:
                continue
        done = bool(body.get("done")) if isinstance(body, dict) else False
        return chunks, next_cursor, bool(more and next_cursor), done

    def _tail_stream(self, run_id: str, request: TailRequest) -> Iterator[Chunk]:
        name = stream_name(run_id, request.stream or "")
        names = self._stream_names(run_id)
        if name not in names:
            known = (
                ", ".join(
                    # a namespace that does not decode is shown by its stream name
                    ((stream_namespace(run_id, n) or n) if n.startswith(stream_base(run_id) + "_") else "(default)")
                    if n.startswith(stream_base(run_id))
                    else n
                    for n in names
                )
                or "none"
            )
            self.ctx.warn(f"run {run_id} has no stream {name} yet (streams: {known})")
        start = request.start_index or 0
        if start < 0:
            tail_index, _ = self._stream_info(run_id, name) if name in names else (-1, False)
            start = max(0, tail_index + 1 + start)
        after: int | None = None
        skip_frames = -1
        if request.offset:
            head, _, frames = request.offset.partition("#")
            after = _int(head)
            if after is None:
                raise UsageError(
                    f"invalid stream offset {request.offset!r}",
                    hint="pass an offset a previous 'tail --stream' printed (N or N#K)",
                )
            skip_frames = int(frames) if frames.isdigit() else -1
        decoder = StreamDecoder()
        next_index = 0
        last_index = -1

        def emit(chunks: list[tuple[int, bytes]]) -> Iterator[Chunk]:
            nonlocal next_index, last_index
            for index, payload in chunks:
                if index < next_index:
                    continue  # already read (a re-read page)
                next_index = index + 1
                last_index = index
                if index < start or (after is not None and index < after):
                    continue
                for k, value in enumerate(decoder.feed(payload)):
                    if after is not None and index == after and (skip_frames < 0 or k <= skip_frames):
                        continue
                    yield Chunk(index, value, str(index) if k == 0 else f"{index}#{k}")

        def flush() -> Iterator[Chunk]:
            for value in decoder.flush():
                yield Chunk(max(last_index, 0), value, None)

        terminal = request.live and self._is_terminal(run_id)
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            chunks, next_cursor, more, done = self._chunk_page(run_id, name, cursor)
            yield from emit(chunks)
            if more and next_cursor not in seen:
                seen.add(next_cursor)  # type: ignore[arg-type]
                cursor = next_cursor
                continue
            cursor = next_cursor or cursor  # resume point: the answer's cursor, else this page again
            if done or not request.live or terminal:
                yield from flush()
                return
            time.sleep(request.interval)
            terminal = self._is_terminal(run_id)  # checked before the read: that read is the final drain
            seen.clear()

    # -- cancel -----------------------------------------------------------------------------------------------
    @reads_answers("a cancel")
    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        """Post a ``run_cancelled`` event for each run that is not already finished and whose spec version wfctl
        writes (``versions.VERCEL``; the others are ``refused`` and nothing is sent)."""
        dry_run = bool(options.get("dry_run"))
        outcomes: list[CancelOutcome] = []
        for given in run_ids:
            run_id = self._run_id(given)
            try:
                raw = self._fetch_run(run_id, resolve=False)
            except NotFoundError as exc:
                outcomes.append(CancelOutcome(run_id, "not_found", exc.message))
                continue
            except (UnavailableError, UsageError) as exc:
                outcomes.append(CancelOutcome(run_id, "error", exc.message))
                continue
            status = raw.get("status")
            if status in TERMINAL:
                outcomes.append(CancelOutcome(run_id, "already_completed", f"run already {status}", status))
                continue
            refusal = write_refusal(VERCEL, run_id, raw.get("specVersion"), "cancel")
            if refusal is not None:  # the version gate: nothing is sent
                outcomes.append(CancelOutcome(run_id, "refused", refusal, status, hint=refusal_hint(VERCEL)))
                continue
            if dry_run:
                outcomes.append(CancelOutcome(run_id, "cancelled", "dry run: would be cancelled", status))
                continue
            try:
                outcomes.append(self._cancel_one(run_id, raw, reason))
            except NotFoundError as exc:
                outcomes.append(CancelOutcome(run_id, "not_found", exc.message, status))
            except _Conflict as exc:
                outcomes.append(self._after_conflict(run_id, exc, status))
            except (UnavailableError, UsageError) as exc:
                outcomes.append(CancelOutcome(run_id, "error", exc.message, status))
        return outcomes

    def _after_conflict(self, run_id: str, exc: WfctlError, status: Any) -> CancelOutcome:
        """A 409 on cancel: the run finished meanwhile (or the world refused); re-read to tell which."""
        try:
            now = self._fetch_run(run_id, resolve=False).get("status")
        except WfctlError:
            now = None
        if now in TERMINAL:
            return CancelOutcome(run_id, "already_completed", f"run already {now}", now)
        return CancelOutcome(run_id, "not_eligible", f"the world refused to cancel it ({exc.message})", now or status)

    def _cancel_one(self, run_id: str, raw: dict[str, Any], reason: str | None) -> CancelOutcome:
        spec = _int(raw.get("specVersion"))
        message = "cancelled; a step already running is not interrupted"
        if spec is None or spec < 2:
            # legacy specVersion-1 runs have no event log to append to
            self._request(
                "PUT",
                f"/v1/runs/{_q(run_id)}/cancel",
                params={"remoteRefBehavior": "lazy"},
                not_found=f"run {run_id} not found",
            )
            if reason:
                message += " (legacy run: the reason was not recorded)"
            return CancelOutcome(run_id, "cancelled", message, CANCELLED)
        meta: dict[str, Any] = {"eventType": "run_cancelled", "specVersion": spec}
        if reason:
            meta["cancelReason"] = reason
        try:
            self._post_event(run_id, meta)
        except _Conflict:
            raise
        except UsageError:
            if not reason:
                raise
            del meta["cancelReason"]  # an older server that does not know cancelReason
            self._post_event(run_id, meta)
            message += " (the server did not accept a reason; it was not recorded)"
        return CancelOutcome(run_id, "cancelled", message, CANCELLED)

    def _post_event(self, run_id: str, meta: dict[str, Any], payload: bytes = b"") -> dict[str, Any]:
        """``POST /v4/runs/{runId}/events/{eventType}`` with one frame; returns the decoded entity bag."""
        event_type = str(meta["eventType"])
        response = self._request(
            "POST",
            f"/v4/runs/{_q(run_id)}/events/{_q(event_type)}",
            content=encode_frame(meta, payload),
            headers={"content-type": "application/octet-stream", "accept": CBOR_TYPE},
            retry=True,  # a repeated run_cancelled / wait_completed is refused with 409, never applied twice
            not_found=f"run {run_id} not found",
        )
        body: Any = None
        if response.content:
            try:
                body = self._decode(response)
            except UnavailableError:
                body = None
        out = dict(body) if isinstance(body, dict) else {}
        if response.headers.get("x-wf-event-id"):
            out.setdefault("eventId", response.headers["x-wf-event-id"])
        return out

    # -- wake (experimental) ----------------------------------------------------------------------------------
    @reads_answers("run {0}")
    def wake(
        self, run_id: str, correlation_ids: list[str] | None = None, *, dry_run: bool = False, **options: Any
    ) -> WakeResult:
        """``Run.wakeUp()``'s events (``wait_completed``); the Vercel Queues re-enqueue is not sent."""
        run_id = self._run_id(run_id)
        raw = self._fetch_run(run_id, resolve=False)
        status = raw.get("status")
        if status in TERMINAL:
            return WakeResult(run_id, 0, [], None, f"run is {status}: nothing to wake")
        check_write(VERCEL, run_id, raw.get("specVersion"), "wake")  # the version gate: exit 6, nothing sent
        created, pending, early = plan_wake(run_id, self._all_events(run_id, resolve=False), correlation_ids, dry_run)
        if early is not None:
            return early
        spec = _int(raw.get("specVersion"))
        if spec is None or spec < 2:
            raise UnsupportedError(
                f"run {run_id} is a legacy (specVersion {raw.get('specVersion')}) run: "
                "wfctl wakes only event-sourced runs (specVersion 2 or later) on Vercel"
            )
        stopped: list[str] = []
        errors: list[str] = []
        for corr in pending:
            meta: dict[str, Any] = {"eventType": "wait_completed", "specVersion": spec, "correlationId": corr}
            data = created[corr].get("eventData")
            resume_at = parse_time(data.get("resumeAt")) if isinstance(data, dict) else None
            if resume_at is not None:
                meta["resumeAt"] = resume_at
            try:
                self._post_event(run_id, meta)
                stopped.append(corr)
            except _Conflict:
                stopped.append(corr)  # already completed (its own timer won the race): the SDK counts it stopped
            except (NotFoundError, UnavailableError, UsageError) as exc:
                errors.append(f"{corr}: {exc.message}")
        if not stopped:
            raise UnavailableError(f"could not wake run {run_id}: " + "; ".join(errors))
        notes = [f"stopped {len(stopped)} sleep(s)", WAKE_NOTE]
        if errors:
            notes.append("not stopped: " + "; ".join(errors))
        return WakeResult(run_id, len(stopped), stopped, False, "; ".join(notes))

    # -- doctor -----------------------------------------------------------------------------------------------
    @reads_answers("a doctor check")
    def doctor(self) -> list[Check]:
        s = self.settings
        checks = [
            Check(
                "token",
                bool(s.token),
                f"from {s.token_source}" if s.token else "none: set WORKFLOW_VERCEL_AUTH_TOKEN or VERCEL_TOKEN",
            ),
            Check(
                "project",
                bool(s.project),
                f"{s.project} ({s.project_source})" if s.project else "none: " + PROJECT_HINT,
            ),
            Check("team", bool(s.team), f"{s.team} ({s.team_source})" if s.team else "none: " + TEAM_HINT),
            Check(
                "environment",
                s.environment in ENVIRONMENTS,
                f"{s.environment} ({s.environment_source})"
                + ("" if s.environment in ENVIRONMENTS else " (expected production, preview or development)"),
            ),
        ]
        if not (s.token and s.project and s.team):
            return checks
        try:
            body = self._get("/v2/runs", {"limit": DOCTOR_SAMPLE, "sortOrder": "desc", "remoteRefBehavior": "lazy"})
            data, _, more = _page(body, "/v2/runs")
            checks.append(
                Check(
                    "API",
                    True,
                    f"{s.base_url} answers and authorises ({'runs found' if data or more else 'no runs yet'})",
                )
            )
        except WfctlError as exc:
            checks.append(Check("API", False, exc.message + (f" ({exc.hint})" if exc.hint else "")))
            return checks
        checks.append(self._version_check([r for r in data if isinstance(r, dict)]))
        return checks

    @staticmethod
    def _version_check(runs: list[dict[str, Any]]) -> Check:
        """The spec versions and ``workflowCoreVersion`` of the newest runs (one page), and whether wfctl reads
        and writes them."""
        ok, detail = doctor_line(VERCEL, (r.get("specVersion") for r in runs))
        cores: dict[str, int] = {}
        for raw in runs:
            context = raw.get("executionContext")
            core = context.get("workflowCoreVersion") if isinstance(context, dict) else None
            if isinstance(core, str):
                cores[core] = cores.get(core, 0) + 1
        if runs:
            detail += f" (newest {len(runs)} runs)"
        if cores:
            detail += "; workflowCoreVersion " + ", ".join(f"{v} ×{n}" for v, n in sorted(cores.items()))
        return Check("spec versions", ok, detail if ok else detail + f" (wfctl reads up to {READ_MAX})")


# -- module helpers --------------------------------------------------------------------------------------


def _decode_body(response: "Response") -> Any:
    """A CBOR or JSON answer → Python values."""
    if not response.content:
        return None
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    import cbor2

    if "cbor" in ctype:
        try:
            return cbor2.loads(response.content)
        except Exception as exc:  # cbor2 raises several error types for malformed input
            raise UnavailableError(
                f"Vercel workflow API answered malformed CBOR ({exc}) "
                f"({response.request.method} {response.request.url.path})"
            ) from None
    if "json" in ctype:
        try:
            return response.json()
        except ValueError:
            raise UnavailableError(
                f"Vercel workflow API answered malformed JSON ({response.request.method} {response.request.url.path})"
            ) from None
    for attempt in (lambda: response.json(), lambda: cbor2.loads(response.content)):
        try:
            return attempt()
        except Exception:  # noqa: BLE001 - trying the next format
            continue
    raise UnavailableError(
        f"Vercel workflow API answered HTTP {response.status_code} with "
        f"{ctype or 'no content type'} that is neither CBOR nor JSON "
        f"({response.request.method} {response.request.url.path})",
        hint="is the URL pointing at the workflow API (https://api.vercel.com/v1/workflow)?",
    )


def _server_message(response: "Response") -> str | None:
    try:
        body = _decode_body(response)
    except WfctlError:
        return None
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    if not isinstance(body, dict):
        return None
    for key in ("message", "error", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:300]
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return value["message"][:300]
    return None


def _page(body: Any, what: str) -> tuple[list[Any], str | None, bool]:
    if isinstance(body, list):
        return body, None, False
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UnavailableError(f"Vercel workflow API: unexpected answer for {what} (no data list)")
    cursor = body.get("cursor") if isinstance(body.get("cursor"), str) and body.get("cursor") else None
    more = body.get("hasMore")
    return body["data"], cursor, bool(more) if isinstance(more, bool) else cursor is not None
