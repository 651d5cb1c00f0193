"""The Workflow SDK Postgres world (``@workflow/world-postgres``): schema ``workflow`` read and written with SQL.

Everything a command needs is one or a few indexed queries: no Node, no app. The output is the local world's
(``local.py``) for the same logical run — same Run/Step/Wait/Hook/StreamInfo/Event mapping, same decoded
values (``values.py``) — so a script works against either world.

Reading: payload columns ``*_cbor`` are CBOR (cbor-x) with ``Uint8Array`` values as CBOR tag 64
and dates as tag 1; rows written by older worlds use the deprecated jsonb columns (``input``, ``output``,
``execution_context``, event ``payload``, hook ``metadata``) and a JSON text ``error``. Timestamps are
``timestamp without time zone`` holding UTC. ``workflow_runs.spec_version`` is varchar (int elsewhere).
Columns a schema does not have yet (an old bootstrap) read as NULL.

Decisions (also in the README):

* ``list`` pages like the world: ``ORDER BY id DESC`` (run ids are ULIDs: creation order), cursor = the last
  run id of the page (``id < cursor``; ``asc`` uses ``id > cursor``), ``limit + 1`` rows to know ``hasMore``.
  The cursor is printed only when there is a next page (as the local world does); a local-world cursor
  ``<createdAt>|<runId>`` is accepted too. Every filter is SQL: status, workflow (the machine name, or the
  short name resolved to machine names with one skip scan of the ``name`` index), ``--since``/``--until`` on
  ``created_at`` (plus an id range derived from the ULID time, with the margins the world allows between a
  run id's time and its creation, 24 h back and 5 min ahead, so the primary key bounds the scan),
  ``--search`` (ASCII-insensitive substring of run id, workflow, status, deployment id and error).
* ``dashboard`` counts are one ``GROUP BY status`` query.
* Version gate (``versions.py``): ``cancel`` and ``wake`` write only into runs of the spec versions in
  ``POSTGRES.writes`` and only into the schema of :data:`PROVEN_WORLD`: drizzle's
  ``workflow_drizzle.workflow_migrations`` must hold exactly the 12 migrations of that package (hash and
  ``created_at``). Anything else (legacy spec 1 or missing, 5.0 specs, a newer or older or unreadable schema) is
  refused before the row is locked: a single run exits 6 with the reason and a hint, a bulk cancel gives that
  run the outcome ``refused``. Reads of a newer schema go on with one warning; ``config doctor`` reports the
  migrations, the spec versions of the runs and the newest runs' ``workflowCoreVersion``.
* 5.0 columns are read when the schema has them: run ``error_code`` (the error's code) and ``attributes``,
  hook ``is_system``; ``encryption_public_key`` is not read. No 5.0 world-postgres ran with the 5.0 runtime
  when this was written (README, "Workflow SDK versions"), so they are tested on an ALTERed 4.3.7 database.
* ``cancel`` and ``wake`` each run in one transaction that locks the run row first, and write what the world
  writes: cancel = run update + hooks and waits deleted + a ``run_cancelled`` event; wake = waits
  completed + ``wait_completed`` events (CBOR ``{resumeAt}``) + ``graphile_worker.add_job('<prefix>flows',
  ...)``. If any statement fails, nothing is written. Timestamps written are naive UTC from wfctl's clock (the
  world writes its own clock's UTC too).
* ``tail`` reads events by id and stream chunks by chunk id. ``--live`` follows stream chunks with ``LISTEN
  workflow_event_chunk`` (the world's NOTIFY channel) and events by adaptive polling (events have no NOTIFY):
  50 ms after activity, the wait doubling to ``--interval`` while nothing happens, one query per poll (the
  run's status and the window's ids); a job the world queues (graphile-worker's ``jobs:insert`` NOTIFY, which
  follows most of a run's events) ends a wait early, at most every 100 ms (docs/architecture.md, "Start-up").
  Both re-read a short window behind the last id so a row committed late with a smaller id is not skipped, and
  remember what was printed so nothing is printed twice. When the connection drops (the database restarts),
  it reconnects with backoff for up to :attr:`PostgresWorldBackend.reconnect_budget` seconds (the profile's
  ``timeout``, default 30) and continues after the last printed id; then it gives up with exit 5.
* A database that accepts and then never answers cannot hold wfctl: connecting gives up after ``timeout``
  seconds (at most 5, at least libpq's 2), and a watchdog shuts down the socket of a query (or of the few
  queries of one read) still unanswered after ``timeout`` seconds; that counts as a dropped connection.
* ``get`` shows, like the local world, the sleeps (``workflow_waits``; the event log for schemas older than
  that table) and hooks (``workflow_hooks``) of runs that are still active. Streams of a run are found by
  ``workflow_stream_chunks.run_id`` (and the default stream's name, for chunks written before that column
  existed). ``get_status`` is one row without the payload columns (and, for a running run, whether it waits).
* A running run with a pending sleep or a live hook of its own and no step pending or running is ``waiting``,
  as in the local world (docs/architecture.md, "Waiting runs"): for a page, at most three indexed queries by
  ``run_id``; ``--status waiting`` and the dashboard's counts use the same rule as SQL (``_waiting_sql``), the
  counts on the capped ``running`` branch. ``status --wait`` / ``get --wait`` ride out
  a database restart like a live tail; one-shot reads retry a dropped connection for a few seconds.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import re
import socket
import struct
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from ...errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    UnavailableError,
    UnsupportedError,
    UsageError,
    WfctlError,
)
from ...model import (
    BUSY_STEP_STATUSES,
    CANCELLED,
    RUNNING,
    STATUSES,
    TERMINAL,
    UNKNOWN,
    WAITING,
    CancelOutcome,
    Check,
    Chunk,
    Counts,
    Event,
    Hook,
    ListQuery,
    RerunOutcome,
    ResumeOutcome,
    Run,
    RunPage,
    Step,
    StreamInfo,
    Wait,
    WaitingFor,
    WakeResult,
    iso,
    parse_time,
    suspension,
)
from .. import WORKFLOW_SDK
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
    Backend,
    BackendContext,
    ResumeRequest,
    StartRequest,
    TailRequest,
)
from .ids import (
    ID_FUTURE_MARGIN_MS,
    ID_PAST_MARGIN_MS,
    epoch_ms,
    new_ulid,
    normalize_run_id,
    ulid_time_ms,
    ulid_time_prefix,
)
from .records import (
    SDK_STATUSES,
    TERMINAL_EVENTS,
    event_filter,
    event_from_record,
    first_shown,
    parse_statuses,
    plan_wake,
    record_time,
    run_from_record,
    step_from_record,
    workflow_short_name,
)
from .streams import StreamDecoder, chunk_offset, stream_base, stream_name, stream_namespace, stream_start
from .values import decode_cbor, decode_payload
from .versions import POSTGRES, READ_MAX, ReadWarner, doctor_line, refusal_hint, spec_of, write_refusal

if TYPE_CHECKING:
    from ...config import Profile

T = TypeVar("T")

DEFAULT_DSN = "postgres://world:world@localhost:5432/world"  # the world's own default
DEFAULT_JOB_PREFIX = "workflow_"
LOOKBACK_MS = 30_000  # live tails re-read this far behind the newest id (late commits with smaller ids)
TERMINAL_GRACE = 2.0  # after the run turns terminal, how long to wait for its terminal event
#: A live tail of events polls this soon after it saw activity (new events, or a job queued in the world) and
#: doubles the wait after each poll that found nothing, up to ``--interval``.
LIVE_MIN_POLL = 0.05
#: A job queued anywhere in the world (graphile-worker's NOTIFY) wakes a live tail of events at most this often.
JOB_WAKE_GAP = 0.1
CHUNK_CHANNEL = "workflow_event_chunk"  # world-postgres's NOTIFY for stream chunks
JOB_CHANNEL = "jobs:insert"  # graphile-worker's NOTIFY for a job queued (the world queues one per step or replay)
PAGE = 1000
INSTALL_HINT = "pip install 'wfctl[postgres]'"
BOOTSTRAP_HINT = (
    "create it with 'npx --package=@workflow/world-postgres bootstrap' (with WORKFLOW_POSTGRES_URL "
    "set), or check that the DSN names the app's database"
)

#: The world wfctl's writes were proven against, and its drizzle migrations (``src/drizzle/migrations/meta/
#: _journal.json``; 0011-0014 do not exist in 4.3.7): tag, the journal's ``when`` (drizzle's ``created_at``) and
#: the SHA-256 of the migration's SQL file (drizzle's ``hash``), as ``bootstrap`` records them in
#: ``workflow_drizzle.workflow_migrations``. wfctl writes only into a schema that has exactly these.
PROVEN_WORLD = "@workflow/world-postgres 4.3.7"
PROVEN_MIGRATIONS: tuple[tuple[str, int, str], ...] = (
    ("0000_cultured_the_anarchist", 1762873019948, "e92421745b2346049a277afbce781da3f260e68067eb1bdbd7d10bbf2ad2e743"),
    ("0001_tricky_sersi", 1763903867386, "5bb606a2a55a2095101907d62d28917091316d9cddcdff5e8fc9a43e2e6f7a30"),
    ("0002_add_expired_at", 1764815363008, "ac88e448e940f38bf18f076dde2abe63b53659a4c9936325e4e44cf95434e311"),
    ("0003_add_stream_run_id", 1765900000000, "ad911e947a121b1def77b7ad37bd95ae7de2b453a05645e9b40f979a166e79b9"),
    ("0004_remove_run_pause_status", 1765900000001, "673b7222d0df6c2fd2d335072a9d85b695b5dae4a2c52b287d2aaa5d31d462f9"),
    ("0005_add_spec_version", 1767723210726, "7c3f3b73a707af2386f5c20b953e4c54631be616bf0b9bfa8ced1b97018ad384"),
    ("0006_add_error_cbor", 1768500000000, "928760bfbdd23576f119f3f14c3e6db78fb765cfd24f8595c70536cb975c7178"),
    ("0007_add_waits_table", 1769500000000, "f904ecb9232a269f599b393fa4ce5e3762a8267d111ad103d56fdcd11837fdcd"),
    (
        "0008_migrate_pgboss_to_graphile",
        1770000000000,
        "e424a48df5a1ddd752e4d09f05696e76da94e366b3d617ca10c3d3fbcdb74c77",
    ),
    ("0009_add_is_webhook", 1770500000000, "eafc36b3c9b1aaff44cd33cff9126bd7fdd796d2672b104125c32d91e0ce5597"),
    (
        "0010_add_events_entity_creation_unique_index",
        1771000000000,
        "5584c9be57e2c0d82fa1e972d5ee5da711b31368fbf8efee16cd2857e071af41",
    ),
    (
        "0015_move_enums_to_workflow_schema",
        1782691200000,
        "adc88e08a9a0bba0bd13962db0c317b4e4aab4c6ae6ec281f2453dee9e4199c7",
    ),
)
MIGRATIONS_TABLE = "workflow_drizzle.workflow_migrations"
CORE_SAMPLE = 100  # newest runs whose workflowCoreVersion config doctor reports

# Columns wfctl reads, per table. A column the database lacks (an old schema) is selected as NULL.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "workflow_runs": (
        "id",
        "name",
        "status",
        "deployment_id",
        "spec_version",
        "input_cbor",
        "input",
        "output_cbor",
        "output",
        "execution_context_cbor",
        "execution_context",
        "error_cbor",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "expired_at",
        "error_code",
        "attributes",
    ),  # the last two: world-postgres 5.0
    "workflow_events": (
        "id",
        "type",
        "correlation_id",
        "run_id",
        "payload_cbor",
        "payload",
        "created_at",
        "spec_version",
    ),
    "workflow_steps": (
        "step_id",
        "run_id",
        "step_name",
        "status",
        "attempt",
        "input_cbor",
        "input",
        "output_cbor",
        "output",
        "error_cbor",
        "error",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
        "retry_after",
        "spec_version",
        "error_code",
    ),
    "workflow_waits": (
        "wait_id",
        "run_id",
        "status",
        "resume_at",
        "completed_at",
        "created_at",
        "updated_at",
        "spec_version",
    ),
    "workflow_hooks": ("hook_id", "run_id", "token", "created_at", "metadata_cbor", "metadata", "is_system"),
    "workflow_stream_chunks": ("id", "stream_id", "run_id", "data", "eof", "created_at"),
}
_CAST_TEXT = {"status", "spec_version"}  # enums and the varchar/int spec_version read as text
_STATUS_COLUMNS = (
    "id",
    "name",
    "status",
    "deployment_id",
    "spec_version",
    "execution_context_cbor",
    "execution_context",
    "error_cbor",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "expired_at",
    "error_code",
    "attributes",
)


# -- small helpers -----------------------------------------------------------------------------------------


def _utc(value: Any) -> datetime | None:
    """A naive UTC timestamp from PostgreSQL → aware UTC (other values through ``parse_time``)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return parse_time(value)


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def db_now() -> datetime:
    """Now as naive UTC with millisecond precision (what the world's ``new Date()`` writes)."""
    now = datetime.now(timezone.utc)
    return now.replace(tzinfo=None, microsecond=now.microsecond // 1000 * 1000)


def _spec_version(value: Any) -> int | None:
    """``spec_version`` is varchar in ``workflow_runs`` and int elsewhere."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- CBOR and legacy JSON: rows → world-local's record shapes ------------------------------------------------


def row_column(row: dict[str, Any], name: str) -> Any:
    """The world's ``value.x ||= value.xJson``: the CBOR column (``values.decode_cbor``: world-local's JSON
    shape), else the deprecated jsonb one."""
    current = row.get(f"{name}_cbor")
    if current is not None:
        return decode_cbor(current)
    return row.get(name)


def _legacy_error(text: Any) -> Any:
    """The world's ``parseErrorJson`` for the deprecated ``error`` text column."""
    if not text:
        return None
    if not isinstance(text, str):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"message": text}
    if isinstance(parsed, dict) and "message" in parsed:
        return {k: parsed.get(k) for k in ("message", "stack", "code") if parsed.get(k) is not None}
    return {"message": str(parsed)}


def _error_value(row: dict[str, Any]) -> Any:
    if row.get("error_cbor") is not None:
        return decode_cbor(row["error_cbor"])
    return _legacy_error(row.get("error"))


def _attributes(value: Any) -> dict[str, Any] | None:
    """``workflow_runs.attributes`` (world-postgres 5.0: jsonb, default ``{}``; CBOR if stored as bytes)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = decode_cbor(value)
    elif isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _run_record(row: dict[str, Any], with_data: bool = True) -> dict[str, Any]:
    """A ``workflow_runs`` row → world-local's run record (for ``records.run_from_record``). The 5.0 columns
    ``error_code`` and ``attributes`` are read when the schema has them (NULL otherwise);
    ``encryption_public_key`` is not read."""
    return {
        "runId": row["id"],
        "status": row.get("status"),
        "workflowName": row.get("name"),
        "deploymentId": row.get("deployment_id"),
        "specVersion": _spec_version(row.get("spec_version")),
        "executionContext": row_column(row, "execution_context"),
        "expiredAt": _utc(row.get("expired_at")),
        "createdAt": _utc(row.get("created_at")),
        "startedAt": _utc(row.get("started_at")),
        "completedAt": _utc(row.get("completed_at")),
        "updatedAt": _utc(row.get("updated_at")),
        "input": row_column(row, "input") if with_data else None,
        "output": row_column(row, "output") if with_data else None,
        "error": _error_value(row),
        "errorCode": row.get("error_code"),
        "attributes": _attributes(row.get("attributes")),
    }


def _step_record(row: dict[str, Any]) -> dict[str, Any]:
    """A ``workflow_steps`` row → world-local's step record (for ``records.step_from_record``)."""
    return {
        "stepId": row["step_id"],
        "stepName": row.get("step_name"),
        "status": row.get("status"),
        "attempt": row.get("attempt"),
        "startedAt": _utc(row.get("started_at")),
        "completedAt": _utc(row.get("completed_at")),
        "input": row_column(row, "input"),
        "output": row_column(row, "output"),
        "error": _error_value(row),
        "errorCode": row.get("error_code"),
    }


def hook_from_row(row: dict[str, Any]) -> Hook:
    """A ``workflow_hooks`` row → :class:`Hook`. A 5.0 world's ``is_system`` (the runtime's own abort hooks,
    token ``abrt_...``) is kept."""
    hook = Hook(
        row["hook_id"],
        row.get("token"),
        record_time(_utc(row.get("created_at")), row["hook_id"]),
        decode_payload(row_column(row, "metadata")),
    )
    if row.get("is_system") is not None:
        hook.isSystem = bool(row["is_system"])
    return hook


def _cbor_resume_at(value: Any) -> bytes:
    """``{resumeAt: Date}`` encoded as cbor-x does (map16 header, tag 1 with uint32 or float64 seconds)."""
    import cbor2

    out = b"\xb9\x00\x01" + cbor2.dumps("resumeAt")
    when = parse_time(value) if value is not None else None
    if when is None:
        return out + b"\xf7"  # undefined
    ms = epoch_ms(when) or 0
    if ms % 1000 == 0 and 0 <= ms // 1000 < 1 << 32:
        return out + b"\xc1\x1a" + struct.pack(">I", ms // 1000)
    return out + b"\xc1\xfb" + struct.pack(">d", ms / 1000)


# -- the schema's version: drizzle's migrations table --------------------------------------------------------

_PROVEN_BY_HASH = {digest: tag for tag, _, digest in PROVEN_MIGRATIONS}
BOOTSTRAP_CMD = "npx --package=@workflow/world-postgres bootstrap"


class SchemaVersion:
    """What ``workflow_drizzle.workflow_migrations`` says about the schema, against :data:`PROVEN_MIGRATIONS`.

    ``rows`` = ``(hash, created_at)`` in the order applied, or None when the table could not be read
    (``problem`` says why). Writes need exactly the proven migrations; reads go on whatever it says.
    """

    def __init__(self, rows: list[tuple[Any, Any]] | None, problem: str | None = None):
        self.rows = rows or []
        self.readable = rows is not None
        self.problem = problem
        self.known = [_PROVEN_BY_HASH[str(h)] for h, _ in self.rows if str(h) in _PROVEN_BY_HASH]
        self.unknown = [(str(h), c) for h, c in self.rows if str(h) not in _PROVEN_BY_HASH]
        self.missing = [tag for tag, _, _ in PROVEN_MIGRATIONS if tag not in set(self.known)]

    @property
    def proven(self) -> bool:
        return self.readable and not self.unknown and not self.missing

    def newest(self) -> str:
        """The last migration applied: its tag (known) or hash prefix (unknown), and when it was created."""
        if not self.rows:
            return "none"
        _, (digest, created) = max(enumerate(self.rows), key=lambda item: (_int_or_zero(item[1][1]), item[0]))
        name = _PROVEN_BY_HASH.get(str(digest)) or f"unknown, sha256 {str(digest)[:12]}"
        when = _ms_time(created)
        return f"{name}" + (f", created {when}" if when else "")

    def summary(self) -> str:
        """For ``config doctor``: the count, what it is, the newest migration."""
        total = len(PROVEN_MIGRATIONS)
        if not self.readable:
            return f"unknown: {MIGRATIONS_TABLE} unreadable ({self.problem})"
        if self.proven:
            return (
                f"{len(self.rows)} migrations = the {total} of {PROVEN_WORLD} (newest {self.newest()}, "
                f"sha256 {PROVEN_MIGRATIONS[-1][2][:12]})"
            )
        if self.unknown:
            return (
                f"{len(self.rows)} migrations, {len(self.unknown)} of them unknown to wfctl (newer than "
                f"{PROVEN_WORLD}; newest {self.newest()})"
            )
        return (
            f"{len(self.known)} of the {total} migrations of {PROVEN_WORLD} (an older world-postgres; "
            f"missing {', '.join(self.missing)}; newest {self.newest()})"
        )

    def refusal(self, run_id: str, operation: str) -> tuple[str, str] | None:
        """Why wfctl will not write into this schema, and a hint; None when it may."""
        if self.proven:
            return None
        total = len(PROVEN_MIGRATIONS)
        done = {"cancel": "cancelled", "wake": "woken"}.get(operation, operation)
        tail = f"wfctl writes into the {total} of {PROVEN_WORLD} only; nothing was changed"
        if not self.readable:
            return (
                f"run {run_id} was not {done}: wfctl cannot tell the database schema's version "
                f"({MIGRATIONS_TABLE}: {self.problem}); {tail}",
                f"give the DSN's role SELECT on {MIGRATIONS_TABLE}, or use {POSTGRES.fallback}",
            )
        if self.unknown:
            return (
                f"run {run_id} was not {done}: the database schema has {len(self.rows)} migrations "
                f"({len(self.unknown)} unknown to wfctl, newest {self.newest()}), {tail}",
                refusal_hint(POSTGRES),
            )
        return (
            f"run {run_id} was not {done}: the database schema has {len(self.known)} of the {total} "
            f"migrations of {PROVEN_WORLD} (an older world-postgres, missing {', '.join(self.missing)}); "
            f"{tail}",
            f"upgrade the app to {PROVEN_WORLD} and run its bootstrap ('{BOOTSTRAP_CMD}'), or use {POSTGRES.fallback}",
        )

    def read_warning(self) -> str | None:
        if not self.unknown:
            return None
        return (
            f"the database schema has {len(self.rows)} migrations, {len(self.unknown)} of them unknown to "
            f"wfctl (newer than {PROVEN_WORLD}; newest {self.newest()}): showing what wfctl can read; "
            "cancel and wake are refused; upgrade wfctl"
        )


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ms_time(value: Any) -> str | None:
    """drizzle's ``created_at`` (epoch milliseconds, bigint) as RFC 3339."""
    ms = _int_or_zero(value)
    if ms <= 0:
        return None
    try:
        return iso(datetime.fromtimestamp(ms / 1000, tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


# -- DSN handling --------------------------------------------------------------------------------------------

_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@\s]*)@", re.I)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact_dsn(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide passwords in a DSN or in a message that may quote one."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class _Target:
    """Where the DSN points, for messages: never the password."""

    def __init__(self, dsn: str, source: str, params: dict[str, Any]):
        self.dsn = dsn
        self.source = source
        self.params = params
        self.password = str(params.get("password") or "")

    @property
    def where(self) -> str:
        host = str(self.params.get("host") or self.params.get("hostaddr") or "localhost")
        port = str(self.params.get("port") or "5432")
        if host.startswith("/"):
            where = f"{host} (socket, port {port})"
        else:
            where = f"{host.split(',')[0]}:{port.split(',')[0]}"
        db = self.params.get("dbname")
        return f"{where}/{db}" if db else where

    @property
    def display(self) -> str:
        """``postgresql://user:***@host:port/db`` built from the parsed DSN."""
        user = self.params.get("user")
        auth = (f"{user}:***@" if self.password else f"{user}@") if user else ("***@" if self.password else "")
        return f"postgresql://{auth}{self.where}"

    def clean(self, text: str) -> str:
        visible = {str(self.params.get(k) or "") for k in ("user", "dbname", "host", "port")}
        return redact_dsn(text, [self.password] if self.password not in visible else [])


# -- the backend ----------------------------------------------------------------------------------------------


class PostgresWorldBackend(Backend):
    name = WORKFLOW_SDK
    label = "Workflow SDK (Postgres world)"
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, WAKE, TAIL, DASHBOARD, START, RERUN, RESUME})
    unsupported_reasons: dict[str, str] = {}

    #: Seconds a live tail keeps reconnecting after the database went away (then exit 5); the profile's
    #: ``timeout`` when it sets one.
    reconnect_budget: float = 30.0
    #: Seconds a one-shot read keeps retrying a dropped connection (never more than the ``timeout``).
    read_retry_budget: float = 3.0
    #: libpq's connect timeout (whole seconds, at least 2).
    connect_timeout: int = 5
    #: Seconds one query (or the queries of one read) may go unanswered before its socket is shut down.
    query_timeout: float = 30.0

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        super().__init__(profile, ctx)
        try:
            timeout = float(profile.get("timeout") or 30.0)
        except (TypeError, ValueError):
            timeout = 30.0
        timeout = max(0.1, timeout)
        self.reconnect_budget = timeout
        self.read_retry_budget = min(self.read_retry_budget, timeout)
        self.connect_timeout = int(max(2, min(5, math.ceil(timeout))))
        self.query_timeout = timeout
        self._until: float | None = None  # Backend.bound
        self._conn: Any = None
        self._listen: Any = None
        self._listening: set[str] = set()  # the channels the LISTEN connection listens on
        self._target: _Target | None = None
        self._columns: dict[str, set[str]] | None = None
        self._version: SchemaVersion | None = None
        self._version_noted = False  # the newer-schema warning is given once, on reads only
        self._newer = ReadWarner(self.ctx.warn)

    # -- configuration -----------------------------------------------------------------------------------
    def _dsn(self) -> tuple[str, str]:
        """``--dsn`` / ``WFCTL_DSN`` / profile ``dsn`` > ``WORKFLOW_POSTGRES_URL`` > ``DATABASE_URL`` > the world's
        default URL."""
        value = self.profile.get("dsn")
        if value:
            return str(value), self.profile.source("dsn")
        env = self.profile.env
        for var in ("WORKFLOW_POSTGRES_URL", "DATABASE_URL"):
            if env.get(var):
                return env[var], f"env {var}"
        return DEFAULT_DSN, "the world's default URL"

    @property
    def job_prefix(self) -> str:
        """``--`` profile/``WFCTL_JOB_PREFIX`` > ``WORKFLOW_POSTGRES_JOB_PREFIX`` > ``workflow_``."""
        if self.profile.source("job_prefix") != "default" and self.profile.get("job_prefix"):
            return str(self.profile.get("job_prefix"))
        return self.profile.env.get("WORKFLOW_POSTGRES_JOB_PREFIX") or DEFAULT_JOB_PREFIX

    @property
    def target(self) -> _Target:
        if self._target is None:
            psycopg = require_psycopg()
            dsn, source = self._dsn()
            try:
                params = psycopg.conninfo.conninfo_to_dict(dsn)
            except psycopg.ProgrammingError as exc:
                raise UsageError(
                    f"invalid PostgreSQL DSN from {source}: {redact_dsn(str(exc).strip())}",
                    hint="use postgres://USER:PASSWORD@HOST:PORT/DATABASE or key=value pairs",
                ) from None
            for port in str(params.get("port") or "").split(","):
                if port.strip() and not (port.strip().isdigit() and 0 < int(port) < 65536):
                    raise UsageError(f"invalid PostgreSQL DSN from {source}: port {port.strip()!r} is not a TCP port")
            self._target = _Target(dsn, source, params)
        return self._target

    # -- connections -------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        psycopg = require_psycopg()
        target = self.target
        options: dict[str, Any] = {"connect_timeout": self.connect_timeout, "application_name": "wfctl"}
        if "keepalives" not in target.params:  # notice a silent peer (a live tail holds its connection for long)
            options.update(keepalives=1, keepalives_idle=15, keepalives_interval=5, keepalives_count=3)
        try:
            conn = psycopg.connect(target.dsn, autocommit=True, **options)
        except psycopg.OperationalError as exc:
            raise self._connect_error(exc) from None
        except psycopg.Error as exc:
            raise UnavailableError(
                f"cannot connect to PostgreSQL at {target.where}: {target.clean(error_message(exc))}"
            ) from None
        if self.ctx.debug:
            self.ctx.debug_log(f"postgres: connected to {target.display} ({target.source})")
        return conn

    def _connect_error(self, exc: Exception) -> WfctlError:
        target = self.target
        text = target.clean(error_message(exc))
        state = getattr(exc, "sqlstate", None) or ""
        lowered = text.lower()
        where = f"{target.where} ({target.source})"
        if (
            state.startswith("28")
            or "password authentication failed" in lowered
            or "no pg_hba.conf entry" in lowered
            or ("role" in lowered and "does not exist" in lowered)
            or "authentication failed" in lowered
            or "password is required" in lowered
            or "no password supplied" in lowered
        ):
            return AuthError(
                f"PostgreSQL at {where} refused the login: {text}",
                hint="check the user and password of the DSN (--dsn, profile dsn, "
                "WORKFLOW_POSTGRES_URL or DATABASE_URL)",
            )
        if state == "3D000" or ("database" in lowered and "does not exist" in lowered):
            return ConfigError(f"PostgreSQL at {where}: {text}", hint="check the database name in the DSN")
        return UnavailableError(
            f"cannot connect to PostgreSQL at {where}: {text}",
            hint="is the database running and reachable? check the DSN's host and port",
        )

    @property
    def conn(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop_connections(self) -> None:
        for attr in ("_conn", "_listen"):
            conn = getattr(self, attr)
            setattr(self, attr, None)
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - a broken connection may fail to close
                    pass

    def close(self) -> None:
        self._drop_connections()

    # -- running queries ---------------------------------------------------------------------------------
    def _call(self, fn: Callable[[Any], T], *, retry_budget: float = 0.0, what: str = "query") -> T:
        """Run ``fn(conn)``; map errors; reconnect and retry a dropped connection for ``retry_budget`` s."""
        psycopg = require_psycopg()
        deadline = time.monotonic() + retry_budget
        query_timeout = self.query_timeout
        if self._until is not None:  # a wait's --timeout: neither the query nor the reconnecting goes past it
            deadline = min(deadline, self._until)
            query_timeout = max(0.05, min(query_timeout, self._until - time.monotonic()))
        delay = 0.1
        while True:
            silent = threading.Event()
            try:
                conn = self.conn
                with _watchdog(conn, query_timeout, silent):
                    return fn(conn)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if isinstance(exc, psycopg.errors.QueryCanceled) and not silent.is_set():
                    raise UnavailableError(
                        f"PostgreSQL cancelled the {what}: {self.target.clean(error_message(exc))}"
                    ) from None
                if isinstance(exc, psycopg.errors.LockNotAvailable):
                    raise UnavailableError(
                        f"the run is locked by another transaction; try again ({self.target.clean(error_message(exc))})"
                    ) from None
                self._drop_connections()
                remaining = deadline - time.monotonic()
                if remaining <= 0 and silent.is_set():
                    raise UnavailableError(
                        f"PostgreSQL at {self.target.where} did not answer the {what} within {self.query_timeout:g}s",
                        hint="is the database overloaded, or the network to it broken? "
                        "the profile's timeout (WFCTL_TIMEOUT) sets how long wfctl waits",
                    ) from None
                if remaining <= 0:
                    raise UnavailableError(
                        f"lost the connection to PostgreSQL at {self.target.where} during a {what}: "
                        f"{self.target.clean(error_message(exc))}",
                        hint="is the database running? wfctl retried and gave up",
                    ) from None
                if self.ctx.debug:
                    self.ctx.debug_log(f"postgres: connection lost ({error_message(exc)}); reconnecting")
                time.sleep(min(delay, remaining) * (0.5 + random.random() / 2))
                delay = min(delay * 2, 2.0)
            except WfctlError as exc:
                if retry_budget > 0 and isinstance(exc, UnavailableError) and time.monotonic() < deadline:
                    self._drop_connections()
                    time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, 2.0)
                    continue
                raise
            except psycopg.errors.UndefinedTable as exc:
                raise ConfigError(
                    f"no Workflow SDK schema in the database at {self.target.where}: "
                    f"{self.target.clean(error_message(exc))}",
                    hint=BOOTSTRAP_HINT,
                ) from None
            except psycopg.errors.InsufficientPrivilege as exc:
                raise AuthError(
                    f"PostgreSQL at {self.target.where} refused the {what}: {self.target.clean(error_message(exc))}",
                    hint="the DSN's role needs the privileges the app's role has on schema workflow",
                ) from None
            except psycopg.Error as exc:
                raise UnavailableError(f"PostgreSQL {what} failed: {self.target.clean(error_message(exc))}") from None

    def _read(self, fn: Callable[[Any], T], what: str = "query") -> T:
        result = self._call(fn, retry_budget=self.read_retry_budget, what=what)
        self._note_version()
        return result

    def _note_version(self) -> None:
        """After a read: warn once when the schema is newer than wfctl knows (reads go on)."""
        if self._version is not None and not self._version_noted:
            self._version_noted = True
            warning = self._version.read_warning()
            if warning:
                self.ctx.warn(warning)

    def _rows(self, conn: Any, sql: str, params: Any = None) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    # -- schema ------------------------------------------------------------------------------------------
    def _schema(self, conn: Any) -> dict[str, set[str]]:
        if self._columns is None:
            rows = self._rows(
                conn, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'workflow'"
            )
            columns: dict[str, set[str]] = {}
            for row in rows:
                columns.setdefault(row["table_name"], set()).add(row["column_name"])
            if "workflow_runs" not in columns:
                raise ConfigError(
                    f"no Workflow SDK schema in the database at {self.target.where} "
                    "(table workflow.workflow_runs is missing)",
                    hint=BOOTSTRAP_HINT,
                )
            self._migrations(conn)
            self._columns = columns
        return self._columns

    def _migrations(self, conn: Any) -> SchemaVersion:
        """The schema's version from drizzle's migrations table (read once). The query runs in a savepoint, so
        a missing table or privilege cannot abort a write's transaction."""
        if self._version is None:
            psycopg = require_psycopg()
            try:
                with conn.transaction():
                    rows = conn.execute(f"SELECT hash, created_at FROM {MIGRATIONS_TABLE} ORDER BY id").fetchall()
            except (
                psycopg.errors.UndefinedTable,
                psycopg.errors.InvalidSchemaName,
                psycopg.errors.UndefinedColumn,
                psycopg.errors.InsufficientPrivilege,
            ) as exc:
                self._version = SchemaVersion(None, self.target.clean(error_message(exc)))
            else:
                self._version = SchemaVersion([(r[0], r[1]) for r in rows])
        return self._version

    def _select(self, conn: Any, table: str, columns: Iterable[str] | None = None, alias: str = "") -> str:
        have = self._schema(conn).get(table, set())
        prefix = f"{alias}." if alias else ""
        parts = []
        for column in columns or _COLUMNS[table]:
            if column not in have:
                parts.append(f"NULL AS {column}")
            elif column in _CAST_TEXT:
                parts.append(f"{prefix}{column}::text AS {column}")
            else:
                parts.append(f"{prefix}{column}")
        return ", ".join(parts)

    def _has(self, conn: Any, table: str, column: str | None = None) -> bool:
        have = self._schema(conn).get(table)
        return have is not None and (column is None or column in have)

    # -- mapping -----------------------------------------------------------------------------------------
    def _run_id(self, run_id: str) -> str:
        return normalize_run_id(run_id)

    def _to_run(self, row: dict[str, Any], with_data: bool = True) -> Run:
        record = _run_record(row, with_data)
        self._newer.check(record["specVersion"], record["runId"])
        return run_from_record(record, self.name)

    def _event_dict(self, row: dict[str, Any]) -> dict[str, Any]:
        """An event row → world-local's event JSON shape (``eventData`` only when stored)."""
        out: dict[str, Any] = {
            "eventType": row["type"],
            "eventId": row["id"],
            "runId": row.get("run_id"),
            "correlationId": row.get("correlation_id"),
            "createdAt": _utc(row.get("created_at")),
            "specVersion": row.get("spec_version"),
        }
        if row.get("payload_cbor") is not None:
            out["eventData"] = decode_cbor(row["payload_cbor"])
        elif row.get("payload") is not None:
            out["eventData"] = row["payload"]
        return out

    # -- get / status --------------------------------------------------------------------------------------
    def _fetch_run(
        self, conn: Any, run_id: str, columns: Iterable[str] | None = None, lock: bool = False
    ) -> dict[str, Any] | None:
        sql = f"SELECT {self._select(conn, 'workflow_runs', columns)} FROM workflow.workflow_runs WHERE id = %s"
        rows = self._rows(conn, sql + (" FOR UPDATE" if lock else ""), [run_id])
        return rows[0] if rows else None

    def _not_found(self, run_id: str) -> NotFoundError:
        return NotFoundError(f"run {run_id} not found in the Postgres world at {self.target.where}")

    def get_status(self, run_id: str) -> Run:
        """One row, without the input/output payloads."""
        run_id = self._run_id(run_id)

        def load(conn: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
            row = self._fetch_run(conn, run_id, _STATUS_COLUMNS)
            if row is None or row.get("status") != RUNNING:
                return row, {}
            return row, self._suspensions(conn, [row])

        row, waiting = self._read(load, "status query")
        if row is None:
            raise self._not_found(run_id)
        run = self._to_run(row, with_data=False)
        run.suspend(waiting.get(run.runId))
        return run

    def bound(self, until: float | None) -> None:
        self._until = until

    def wait_for_change(self, run: Run, interval: float) -> None:
        """Sleep, then make sure the database answers again before the next check, so ``status --wait`` and
        ``get --wait`` ride out a database restart (bounded by ``reconnect_budget``) like a live tail."""
        time.sleep(interval)
        self._follow(lambda conn: conn.execute("SELECT 1").fetchall(), "status query")

    def get_run(self, run_id: str) -> Run:
        run_id = self._run_id(run_id)

        def load(conn: Any) -> tuple[Any, ...]:
            row = self._fetch_run(conn, run_id)
            if row is None:
                return None, [], [], [], [], [], False
            steps = self._rows(
                conn,
                f"SELECT {self._select(conn, 'workflow_steps')} FROM workflow.workflow_steps WHERE run_id = %s",
                [run_id],
            )
            waits: list[dict[str, Any]] = []
            hooks: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            if row.get("status") not in TERMINAL:  # the world deletes a run's waits and hooks when it ends
                hooks = self._rows(
                    conn,
                    f"SELECT {self._select(conn, 'workflow_hooks')} FROM workflow.workflow_hooks WHERE run_id = %s",
                    [run_id],
                )
                if self._has(conn, "workflow_waits"):
                    waits = self._rows(
                        conn,
                        f"SELECT {self._select(conn, 'workflow_waits')} FROM workflow.workflow_waits WHERE run_id = %s",
                        [run_id],
                    )
                else:  # a schema from before the waits table: the sleeps are in the event log only
                    events = self._rows(
                        conn,
                        f"SELECT {self._select(conn, 'workflow_events')} "
                        "FROM workflow.workflow_events WHERE run_id = %s AND type IN "
                        "('wait_created', 'wait_completed') ORDER BY id",
                        [run_id],
                    )
            streams = self._stream_rows(conn, run_id)
            wake = row.get("status") == RUNNING and self._write_refusal(conn, run_id, row, "wake") is None
            return row, steps, waits, hooks, events, streams, wake

        row, steps, waits, hooks, events, streams, wake = self._read(load, "run query")
        if row is None:
            raise self._not_found(run_id)
        run = self._to_run(row)
        run.steps = self._steps(steps)
        if not run.terminal:
            run.waits = self._waits(run_id, waits, [self._event_dict(e) for e in events])
            run.hooks = self._hooks(hooks)
            if not any(step.status in BUSY_STEP_STATUSES for step in run.steps):
                run.suspend(suspension(run_id, run.waits, run.hooks, wake=wake))
        run.streams = self._streams(run_id, streams)
        return run

    def _steps(self, rows: list[dict[str, Any]]) -> list[Step]:
        return [
            step_from_record(_step_record(row))
            for row in sorted(rows, key=lambda r: (iso(_utc(r.get("created_at"))) or "", r["step_id"]))
        ]

    @staticmethod
    def _waits(run_id: str, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[Wait]:
        waits: dict[str, Wait] = {}
        prefix = f"{run_id}-"
        for row in rows:
            wait_id = row["wait_id"]
            corr = wait_id[len(prefix) :] if wait_id.startswith(prefix) else wait_id
            waits[corr] = Wait(corr, _utc(row.get("resume_at")), row.get("status"), _utc(row.get("completed_at")))
        for event in events:
            corr = event.get("correlationId")
            data = event.get("eventData")
            if not isinstance(data, dict):
                data = {}
            if event["eventType"] == "wait_created" and corr:
                waits.setdefault(corr, Wait(corr, parse_time(data.get("resumeAt")), "waiting"))
            elif event["eventType"] == "wait_completed" and corr:
                wait = waits.setdefault(corr, Wait(corr, parse_time(data.get("resumeAt"))))
                wait.status = "completed"
                wait.completedAt = wait.completedAt or record_time(event.get("createdAt"), event.get("eventId"))
        return sorted(
            waits.values(), key=lambda w: (w.resumeAt or datetime.max.replace(tzinfo=timezone.utc), w.correlationId)
        )

    @staticmethod
    def _hooks(rows: list[dict[str, Any]]) -> list[Hook]:
        """The run's live hooks (rows of ``workflow_hooks``), oldest first."""
        hooks = [hook_from_row(row) for row in rows]
        return sorted(hooks, key=lambda h: (iso(h.createdAt) or "", h.hookId))

    def _stream_rows(self, conn: Any, run_id: str) -> list[dict[str, Any]]:
        """Per stream of the run: its first EOF chunk id and the number of data chunks before it."""
        base = stream_base(run_id)
        where = (
            "run_id = %(run)s OR stream_id = %(base)s"
            if self._has(conn, "workflow_stream_chunks", "run_id")
            else "stream_id = %(base)s"
        )
        sql = f"""
            WITH s AS (
              SELECT stream_id, min(id) FILTER (WHERE eof) AS first_eof
                FROM workflow.workflow_stream_chunks WHERE {where} GROUP BY stream_id)
            SELECT s.stream_id, s.first_eof,
                   (SELECT count(*) FROM workflow.workflow_stream_chunks c
                     WHERE c.stream_id = s.stream_id AND NOT c.eof
                       AND (s.first_eof IS NULL OR c.id < s.first_eof)) AS chunks
              FROM s"""
        return self._rows(conn, sql, {"run": run_id, "base": base})

    @staticmethod
    def _streams(run_id: str, rows: list[dict[str, Any]]) -> list[StreamInfo]:
        base = stream_base(run_id)
        out = []
        for row in sorted(rows, key=lambda r: (r["stream_id"] != base, r["stream_id"])):
            stream = row["stream_id"]
            count = int(row.get("chunks") or 0)
            done = row.get("first_eof") is not None
            out.append(StreamInfo(stream, stream_namespace(run_id, stream), count, count - 1, done))
        return out

    # -- waiting -------------------------------------------------------------------------------------------
    def _suspensions(self, conn: Any, rows: list[dict[str, Any]]) -> dict[str, WaitingFor]:
        """What the given run rows (running ones) are suspended on (docs/architecture.md, "Waiting runs"):
        pending sleeps (``workflow_waits``, or the event log for schemas older than that table) or live hooks of
        their own, and no step pending or running. Indexed lookups by ``run_id``: at most three queries for a
        page, the steps only for the runs that have something pending."""
        by_id = {row["id"]: row for row in rows if row.get("status") == RUNNING}
        if not by_id:
            return {}
        ids = list(by_id)
        hook_rows = self._rows(
            conn,
            f"SELECT {self._select(conn, 'workflow_hooks')} FROM workflow.workflow_hooks WHERE run_id = ANY(%s)",
            [ids],
        )
        wait_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        if self._has(conn, "workflow_waits"):
            wait_rows = self._rows(
                conn,
                f"SELECT {self._select(conn, 'workflow_waits')} FROM workflow.workflow_waits "
                "WHERE run_id = ANY(%s) AND status = 'waiting'",
                [ids],
            )
        else:
            event_rows = self._rows(
                conn,
                f"SELECT {self._select(conn, 'workflow_events')} FROM workflow.workflow_events "
                "WHERE run_id = ANY(%s) AND type IN ('wait_created', 'wait_completed') ORDER BY id",
                [ids],
            )
        pending: dict[str, tuple[list[Wait], list[Hook]]] = {}
        for run_id in ids:
            waits = self._waits(
                run_id,
                [r for r in wait_rows if r["run_id"] == run_id],
                [self._event_dict(e) for e in event_rows if e.get("run_id") == run_id],
            )
            hooks = self._hooks([r for r in hook_rows if r["run_id"] == run_id])
            if suspension(run_id, waits, hooks) is not None:
                pending[run_id] = (waits, hooks)
        if pending:
            busy = self._rows(
                conn,
                "SELECT DISTINCT run_id FROM workflow.workflow_steps WHERE run_id = ANY(%s) "
                "AND status IN ('pending', 'running')",
                [list(pending)],
            )
            for row in busy:
                pending.pop(row["run_id"], None)
        out: dict[str, WaitingFor] = {}
        for run_id, (waits, hooks) in pending.items():
            wake = self._write_refusal(conn, run_id, by_id[run_id], "wake") is None
            found = suspension(run_id, waits, hooks, wake=wake)
            if found is not None:
                out[run_id] = found
        return out

    def _waiting_sql(self, conn: Any, run: str) -> str:
        """SQL true for a run (``run``: the expression of its id) suspended on a pending sleep or a live hook of
        its own with no step pending or running: the rule of :meth:`_suspensions`, for filters and counts."""
        if self._has(conn, "workflow_waits"):
            sleeps = f"EXISTS (SELECT 1 FROM workflow.workflow_waits w WHERE w.run_id = {run} AND w.status = 'waiting')"
        else:
            sleeps = (
                f"EXISTS (SELECT 1 FROM workflow.workflow_events e WHERE e.run_id = {run} AND e.type = 'wait_created' "
                f"AND NOT EXISTS (SELECT 1 FROM workflow.workflow_events c WHERE c.run_id = {run} "
                "AND c.type = 'wait_completed' AND c.correlation_id = e.correlation_id))"
            )
        system = " AND h.is_system IS NOT TRUE" if self._has(conn, "workflow_hooks", "is_system") else ""
        hooks = f"EXISTS (SELECT 1 FROM workflow.workflow_hooks h WHERE h.run_id = {run}{system})"
        busy = (
            f"EXISTS (SELECT 1 FROM workflow.workflow_steps s WHERE s.run_id = {run} "
            "AND s.status IN ('pending', 'running'))"
        )
        return f"(({sleeps} OR {hooks}) AND NOT {busy})"

    # -- list ----------------------------------------------------------------------------------------------
    @staticmethod
    def _cursor_id(cursor: str | None) -> str | None:
        if not cursor:
            return None
        text = cursor.strip()
        if "|" in text:  # a local-world cursor "<createdAt>|<runId>"
            text = text.rsplit("|", 1)[1]
        if not text.startswith("wrun_") or any(c.isspace() for c in text):
            raise UsageError(f"invalid cursor {cursor!r}", hint="pass the cursor a previous list printed")
        return text

    def _workflow_names(self, conn: Any, workflow: str) -> list[str]:
        """Machine names matching ``workflow`` (itself, or names whose short name it is): a skip scan of the
        ``name`` index reads one entry per distinct workflow, however many runs there are."""
        if workflow.startswith("workflow//"):
            return [workflow]
        rows = self._rows(
            conn,
            """
            WITH RECURSIVE names AS (
              (SELECT name FROM workflow.workflow_runs ORDER BY name LIMIT 1)
              UNION ALL
              SELECT (SELECT r.name FROM workflow.workflow_runs r WHERE r.name > names.name ORDER BY r.name LIMIT 1)
                FROM names WHERE names.name IS NOT NULL)
            SELECT name FROM names WHERE name IS NOT NULL""",
        )
        names = [r["name"] for r in rows if r["name"] == workflow or workflow_short_name(r["name"]) == workflow]
        return names or [workflow]

    def list_runs(self, query: ListQuery) -> RunPage:
        if query.sort not in ("asc", "desc"):
            raise UsageError(f"invalid sort order {query.sort!r}: use asc or desc")
        statuses = parse_statuses(query.statuses)
        descending = query.sort == "desc"
        limit = max(1, int(query.limit or 20))
        after = self._cursor_id(query.cursor)

        # "waiting" is a running run suspended on sleeps or hooks (the row says "running", and `--status
        # running`, the SDK's word, still matches it): `--status waiting` without running adds the rule of
        # _waiting_sql to the running rows.
        only_waiting = False
        if statuses is not None:
            only_waiting = WAITING in statuses and RUNNING not in statuses
            statuses = list(dict.fromkeys(RUNNING if s == WAITING else s for s in statuses))
            statuses = [s for s in statuses if s in SDK_STATUSES]
            if not statuses:
                return RunPage([], None, False)

        def load(conn: Any) -> tuple[list[dict[str, Any]], dict[str, WaitingFor]]:
            where: list[str] = []
            params: list[Any] = []
            if after is not None:
                where.append("id < %s" if descending else "id > %s")
                params.append(after)
            if statuses is not None:
                others = [s for s in statuses if s != RUNNING or not only_waiting]
                either = []
                if others:
                    either.append("status IN (" + ", ".join(["%s"] * len(others)) + ")")
                    params.extend(others)
                if only_waiting:
                    either.append(f"(status = 'running' AND {self._waiting_sql(conn, 'workflow.workflow_runs.id')})")
                where.append("(" + " OR ".join(either) + ")")
            if query.workflow:
                names = self._workflow_names(conn, query.workflow)
                where.append("name IN (" + ", ".join(["%s"] * len(names)) + ")")
                params.extend(names)
            if query.since is not None:
                where.append("created_at >= %s")
                params.append(_naive(query.since))
                where.append("id >= %s")
                params.append("wrun_" + ulid_time_prefix((epoch_ms(query.since) or 0) - ID_PAST_MARGIN_MS))
            if query.until is not None:
                where.append("created_at <= %s")
                params.append(_naive(query.until))
                where.append("id < %s")
                params.append("wrun_" + ulid_time_prefix((epoch_ms(query.until) or 0) + ID_FUTURE_MARGIN_MS + 1))
            if query.search:
                needle = f"%{_like_escape(query.search)}%"
                have = self._schema(conn)["workflow_runs"]
                fields = ["id", "name", "status::text", "deployment_id"]
                if "error" in have:
                    fields.append("error")
                if "error_cbor" in have:
                    fields.append("encode(error_cbor, 'escape')")
                if "error_code" in have:  # world-postgres 5.0
                    fields.append("error_code")
                where.append("(" + " OR ".join(f"{f} ILIKE %s" for f in fields) + ")")
                params.extend([needle] * len(fields))
            sql = f"SELECT {self._select(conn, 'workflow_runs')} FROM workflow.workflow_runs"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY id {'DESC' if descending else 'ASC'} LIMIT %s"
            params.append(limit + 1)
            found = self._rows(conn, sql, params)
            return found, self._suspensions(conn, found[:limit])

        rows, waiting = self._read(load, "list query")
        has_more = len(rows) > limit
        page = [self._to_run(row) for row in rows[:limit]]
        for run in page:
            run.suspend(waiting.get(run.runId))
        cursor = page[-1].runId if has_more and page else None
        return RunPage(page, cursor, has_more)

    # -- dashboard -----------------------------------------------------------------------------------------
    #: Counting stops here per status, so the dashboard's query costs the same at 10^4 or 10^7 runs
    #: (each branch reads at most this many entries of the world's ``status`` index).
    COUNT_CAP = 10_000

    def counts(self, workflow: str | None = None) -> Counts:
        """One ``GROUP BY status`` query over per-status branches capped at ``COUNT_CAP``."""

        def load(conn: Any) -> list[dict[str, Any]]:
            where = ""
            params: list[Any] = []
            if workflow:
                names = self._workflow_names(conn, workflow)
                where = " AND name IN (" + ", ".join(["%s"] * len(names)) + ")"
            branches = []
            for status in SDK_STATUSES:  # fixed enum words, never user input
                rows = (
                    f"SELECT id FROM workflow.workflow_runs WHERE status = '{status}'{where} LIMIT {self.COUNT_CAP + 1}"
                )
                if status == RUNNING:  # running or waiting: the rule of _waiting_sql on at most COUNT_CAP + 1 rows
                    rule = self._waiting_sql(conn, "r.id")
                    branches.append(
                        f"(SELECT CASE WHEN {rule} THEN '{WAITING}' ELSE '{RUNNING}' END AS status FROM ({rows}) AS r)"
                    )
                else:
                    branches.append(f"(SELECT '{status}' AS status FROM ({rows}) AS r)")
                if workflow:
                    params.extend(names)
            sql = (
                "SELECT status::text AS status, count(*) AS n FROM ("
                + " UNION ALL ".join(branches)
                + ") AS capped GROUP BY status"
            )
            return self._rows(conn, sql, params)

        counts = {s: 0 for s in STATUSES}
        capped = []
        for row in self._read(load, "count query"):
            key = row["status"] if row["status"] in SDK_STATUSES | {WAITING} else UNKNOWN
            counts[key] = counts.get(key, 0) + int(row["n"])
        for key in SDK_STATUSES:
            if key == RUNNING and counts[RUNNING] + counts[WAITING] > self.COUNT_CAP:
                # the running rows were cut at the cap, so both counts are lower bounds (summing to the cap)
                counts[RUNNING if counts[RUNNING] else WAITING] -= counts[RUNNING] + counts[WAITING] - self.COUNT_CAP
                capped.extend([RUNNING, WAITING])
            elif key != RUNNING and counts[key] > self.COUNT_CAP:
                counts[key] = self.COUNT_CAP
                capped.append(key)
        return Counts(counts, sum(counts.values()), workflow, capped)

    # -- cancel --------------------------------------------------------------------------------------------
    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        """The world's ``run_cancelled``, one transaction per run. The version gate first: a run
        of a spec version wfctl does not write, or any run in a schema other than the proven one, is
        ``refused`` before its row is locked or written."""
        dry_run = bool(options.get("dry_run"))
        outcomes = []
        for given in run_ids:
            run_id = self._run_id(given)
            try:
                outcomes.append(self._call(lambda conn: self._cancel_one(conn, run_id, reason, dry_run), what="cancel"))  # noqa: B023 (called at once)
            except (UnavailableError, AuthError) as exc:
                outcomes.append(
                    CancelOutcome(
                        run_id,
                        "error",
                        exc.message
                        + (
                            "; nothing was changed"
                            if "lost the connection" not in exc.message
                            else "; the transaction was rolled back unless it had already committed: "
                            "check with wfctl status"
                        ),
                    )
                )
        return outcomes

    def _write_refusal(self, conn: Any, run_id: str, row: dict[str, Any], operation: str) -> tuple[str, str] | None:
        """The version gate for one run: (why wfctl will not write, hint), or None. The schema (drizzle's
        migrations) must be the proven one and the run's spec version one wfctl writes."""
        refusal = self._migrations(conn).refusal(run_id, operation)
        if refusal is not None:
            return refusal
        reason = write_refusal(POSTGRES, run_id, row.get("spec_version"), operation)
        return (reason, refusal_hint(POSTGRES)) if reason is not None else None

    def _cancel_check(self, conn: Any, run_id: str, row: dict[str, Any] | None) -> CancelOutcome | None:
        """The outcome when the run is not to be written (not found, finished, refused), else None."""
        if row is None:
            return CancelOutcome(run_id, "not_found", "no such run")
        status = row.get("status")
        if status in TERMINAL:
            return CancelOutcome(run_id, "already_completed", f"run already {status}", status)
        refusal = self._write_refusal(conn, run_id, row, "cancel")
        if refusal is not None:
            return CancelOutcome(run_id, "refused", refusal[0], status, hint=refusal[1])
        return None

    def _cancel_one(self, conn: Any, run_id: str, reason: str | None, dry_run: bool) -> CancelOutcome:
        columns = ("id", "status", "spec_version")
        row = self._fetch_run(conn, run_id, columns)  # no lock yet: a refused run is not even locked
        early = self._cancel_check(conn, run_id, row)
        if early is not None:
            return early
        assert row is not None  # a missing run was answered above
        if dry_run:
            return CancelOutcome(run_id, "cancelled", "dry run: would be cancelled", row.get("status"))
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '10s'")
            row = self._fetch_run(conn, run_id, columns, lock=True)
            early = self._cancel_check(conn, run_id, row)  # again under the lock: it may have ended meanwhile
            if early is not None:
                return early
            assert row is not None
            spec = spec_of(row.get("spec_version"))
            now = db_now()
            conn.execute(
                "UPDATE workflow.workflow_runs SET status = 'cancelled', completed_at = %s, updated_at = %s "
                "WHERE id = %s AND status NOT IN ('completed', 'failed', 'cancelled')",
                [now, now, run_id],
            )
            conn.execute("DELETE FROM workflow.workflow_hooks WHERE run_id = %s", [run_id])
            if self._has(conn, "workflow_waits"):
                conn.execute("DELETE FROM workflow.workflow_waits WHERE run_id = %s", [run_id])
            self._insert_event(conn, run_id, "run_cancelled", None, None, spec, now)
        message = "cancelled; a step already running is not interrupted"
        if reason:
            message += " (the Postgres world has no field for a reason; it was not recorded)"
        return CancelOutcome(run_id, "cancelled", message, CANCELLED)

    def _insert_event(
        self,
        conn: Any,
        run_id: str,
        event_type: str,
        correlation_id: str | None,
        payload_cbor: bytes | None,
        spec: int | None,
        now: datetime,
    ) -> str:
        event_id = f"wevt_{new_ulid()}"
        have = self._schema(conn)["workflow_events"]
        columns = ["id", "type", "correlation_id", "run_id", "created_at"]
        values: list[Any] = [event_id, event_type, correlation_id, run_id, now]
        if "payload_cbor" in have:
            columns.append("payload_cbor")
            values.append(payload_cbor)
        if "spec_version" in have:
            columns.append("spec_version")
            values.append(spec)
        conn.execute(
            f"INSERT INTO workflow.workflow_events ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))})",
            values,
        )
        return event_id

    # -- wake ----------------------------------------------------------------------------------------------
    def wake(
        self, run_id: str, correlation_ids: list[str] | None = None, *, dry_run: bool = False, **options: Any
    ) -> WakeResult:
        """``Run.wakeUp()``: complete the pending sleeps and add the graphile-worker job, in one transaction."""
        run_id = self._run_id(run_id)
        return self._call(lambda conn: self._wake(conn, run_id, correlation_ids, dry_run), what="wake")

    def _wake(self, conn: Any, run_id: str, correlation_ids: list[str] | None, dry_run: bool) -> WakeResult:
        psycopg = require_psycopg()
        # The version gate, before the row is locked: a run wfctl does not write into is refused (exit 6)
        # whether or not it sleeps, and a dry run says so too.
        row = self._fetch_run(conn, run_id, ("id", "status", "spec_version"))
        if row is None:
            raise self._not_found(run_id)
        if row.get("status") not in TERMINAL:
            refusal = self._write_refusal(conn, run_id, row, "wake")
            if refusal is not None:
                raise UnsupportedError(refusal[0], hint=refusal[1])
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '10s'")
                row = self._fetch_run(conn, run_id, ("id", "name", "status", "spec_version"), lock=not dry_run)
                if row is None:
                    raise self._not_found(run_id)
                status = row.get("status")
                if status in TERMINAL:
                    return WakeResult(run_id, 0, [], None, f"run is {status}: nothing to wake")
                events = [
                    self._event_dict(e)
                    for e in self._rows(
                        conn,
                        f"SELECT {self._select(conn, 'workflow_events')} FROM workflow.workflow_events "
                        "WHERE run_id = %s AND type IN ('wait_created', 'wait_completed') ORDER BY id",
                        [run_id],
                    )
                ]
                created, pending, early = plan_wake(run_id, events, correlation_ids, dry_run)
                if early is not None:
                    return early
                machine = row.get("name")
                if not isinstance(machine, str) or not machine:
                    raise UnavailableError(
                        f"run {run_id} has no workflow name: cannot re-enqueue it; nothing was changed"
                    )
                spec = spec_of(row.get("spec_version"))
                now = db_now()
                stopped: list[str] = []
                errors: list[str] = []
                for corr in pending:
                    updated = conn.execute(
                        "UPDATE workflow.workflow_waits SET status = 'completed', completed_at = %s, updated_at = %s "
                        "WHERE wait_id = %s AND status = 'waiting' RETURNING wait_id",
                        [now, now, f"{run_id}-{corr}"],
                    ).fetchall()
                    if updated:
                        resume_at = (
                            (created[corr].get("eventData") or {}).get("resumeAt")
                            if isinstance(created[corr].get("eventData"), dict)
                            else None
                        )
                        self._insert_event(conn, run_id, "wait_completed", corr, _cbor_resume_at(resume_at), spec, now)
                        stopped.append(corr)
                        continue
                    exists = conn.execute(
                        "SELECT status::text FROM workflow.workflow_waits WHERE wait_id = %s", [f"{run_id}-{corr}"]
                    ).fetchall()
                    if exists:  # completed meanwhile (the app's own timer): the SDK counts it as stopped
                        stopped.append(corr)
                    else:
                        errors.append(f"{corr}: wait not found")
                if not stopped:
                    raise UnavailableError(f"could not wake run {run_id}: " + "; ".join(errors))
                message_id = f"msg_{new_ulid()}"
                task = f"{self.job_prefix}flows"
                body = json.dumps({"runId": run_id}, separators=(",", ":")).encode("utf-8")
                payload = json.dumps(
                    {
                        "attempt": 1,
                        "messageId": message_id,
                        "id": machine,
                        "data": base64.b64encode(body).decode("ascii"),
                    },
                    separators=(",", ":"),
                )
                conn.execute(
                    "SELECT graphile_worker.add_job(%s, %s::json, max_attempts => 3, job_key => %s)",
                    [task, payload, message_id],
                )
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
            raise UnavailableError(
                f"could not re-enqueue run {run_id}: graphile-worker is not installed in the database at "
                f"{self.target.where} ({self.target.clean(error_message(exc))}); nothing was changed",
                hint="bootstrap the world ('npx --package=@workflow/world-postgres bootstrap') or start the app "
                "once; it installs graphile-worker",
            ) from None
        notes = [f"stopped {len(stopped)} sleep(s); re-enqueued as graphile-worker job {message_id} on task {task}"]
        if errors:
            notes.append("not stopped: " + "; ".join(errors))
        return WakeResult(run_id, len(stopped), stopped, True, "; ".join(notes))

    # -- start / rerun / resume (postgrescontrol.py) --------------------------------------------------------
    def start(self, request: StartRequest) -> Run:
        from .postgrescontrol import start

        return start(self, request)

    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        from .postgrescontrol import rerun

        return rerun(self, run_ids, dry_run=dry_run)

    def resume(self, run_id: str, request: ResumeRequest) -> ResumeOutcome:
        from .postgrescontrol import resume

        return resume(self, run_id, request)

    # -- tail ----------------------------------------------------------------------------------------------
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event | Chunk]:
        run_id = self._run_id(run_id)
        row = self._read(lambda conn: self._fetch_run(conn, run_id, ("id", "status")), "run query")
        if row is None:
            raise self._not_found(run_id)  # now, not at the first next()
        if request.stream is not None:
            return self._tail_stream(run_id, request)
        return self._tail_events(run_id, request)

    def _follow(self, fn: Callable[[Any], T], what: str) -> T:
        """A query of a live tail: reconnects for up to ``reconnect_budget`` seconds."""
        result = self._call(fn, retry_budget=self.reconnect_budget, what=what)
        self._note_version()
        return result

    def _run_status(self, run_id: str) -> str | None:
        return self._follow(
            lambda conn: _one(conn, "SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id]),
            "status query",
        )

    def _event_rows(self, conn: Any, run_id: str, after: str | None) -> list[dict[str, Any]]:
        """The run's events after ``after`` in id order (a live tail's polls use :meth:`_poll_events`)."""
        return self._pages_after(
            conn,
            f"SELECT {self._select(conn, 'workflow_events')} FROM workflow.workflow_events WHERE run_id = %s",
            [run_id],
            after,
        )

    def _pages_after(self, conn: Any, sql: str, params: list[Any], after: str | None) -> list[dict[str, Any]]:
        """Every row of ``sql`` (a query ending in its WHERE clause) with ``id > after``, read in id order
        with keyset paging, ``PAGE`` rows at a time."""
        out: list[dict[str, Any]] = []
        while True:
            page_sql, page_params = sql, list(params)
            if after is not None:
                page_sql += " AND id > %s"
                page_params.append(after)
            rows = self._rows(conn, page_sql + " ORDER BY id LIMIT %s", page_params + [PAGE])
            out.extend(rows)
            if len(rows) < PAGE:
                return out
            after = rows[-1]["id"]

    def _tail_events(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        wanted = event_filter(request.types)
        step_names: dict[str, str] = {}
        seen: set[str] = set()

        def convert(raw: dict[str, Any], index: int) -> Event:
            return event_from_record(raw, run_id, index, step_names)

        terminal_seen_at = time.monotonic() if request.live and self._run_status(run_id) in TERMINAL else None
        events = [
            self._event_dict(r) for r in self._follow(lambda conn: self._event_rows(conn, run_id, None), "event query")
        ]
        shown = first_shown(events, request.offset, request.last, wanted)
        newest = ""
        for i, raw in enumerate(events):
            seen.add(raw["eventId"])
            newest = max(newest, raw["eventId"])
            event = convert(raw, i)  # also learns step names from events not shown
            if i in shown:
                yield event
        if not request.live:
            return

        # Follow by polling (events have no NOTIFY), adaptively: LIVE_MIN_POLL after activity, doubling while
        # nothing happens up to `interval`; a job queued in the world (graphile-worker's NOTIFY, which follows
        # most of a run's events) wakes the wait early. Each poll is one query (the run's status and the ids of
        # the window); rows are read in full only when new. Re-read a window behind the newest id: ids are
        # minted by the writers before they commit, so a row can become visible after one with a larger id.
        terminal_logged = any(e["eventType"] in TERMINAL_EVENTS for e in events)
        interval = max(0.05, float(request.interval or 1.0))
        delay = min(LIVE_MIN_POLL, interval)
        while True:
            lower = _lookback(newest, "wevt_")
            status, rows = self._follow(
                lambda conn: self._poll_events(conn, run_id, lower, seen),  # noqa: B023
                "event query",
            )
            if terminal_seen_at is None and status in TERMINAL:
                terminal_seen_at = time.monotonic()
            found = False
            for row in rows:
                if row["id"] in seen:
                    continue
                raw = self._event_dict(row)
                index = len(seen)
                seen.add(raw["eventId"])
                newest = max(newest, raw["eventId"])
                found = True
                event = convert(raw, index)
                terminal_logged = terminal_logged or raw["eventType"] in TERMINAL_EVENTS
                if wanted(raw["eventType"]):
                    yield event
            if terminal_seen_at is not None and (
                terminal_logged or time.monotonic() - terminal_seen_at > TERMINAL_GRACE
            ):
                return
            delay = min(LIVE_MIN_POLL, interval) if found else min(delay * 2, interval)
            self._wait_for_job(delay)

    def _poll_events(
        self, conn: Any, run_id: str, after: str | None, skip: set[str]
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """One poll of a live tail: the run's status and its event ids after ``after`` in one query (one
        snapshot), then, only if some id is not in ``skip``, those rows in full."""
        where = "" if after is None else " AND e.id > %s"
        params: list[Any] = [run_id, run_id] + ([] if after is None else [after])
        row = self._rows(
            conn,
            "SELECT (SELECT r.status::text FROM workflow.workflow_runs r WHERE r.id = %s) AS status, "
            f"ARRAY(SELECT e.id FROM workflow.workflow_events e WHERE e.run_id = %s{where} ORDER BY e.id) AS ids",
            params,
        )[0]
        fresh = [event_id for event_id in row["ids"] or [] if event_id not in skip]
        if not fresh:
            return row["status"], []
        rows = self._rows(
            conn,
            f"SELECT {self._select(conn, 'workflow_events')} FROM workflow.workflow_events "
            "WHERE id = ANY(%s) ORDER BY id",
            [fresh],
        )
        return row["status"], rows

    def _chunk_rows(
        self, conn: Any, stream: str, after: str | None, with_data: bool = True, skip: set[str] | None = None
    ) -> list[dict[str, Any]]:
        """The stream's chunks after ``after`` in id order; with ``skip``, ids are listed first and only the
        chunks not in ``skip`` are read with their data (a live tail re-reads a window it has mostly printed)."""
        if skip is not None:
            sql = "SELECT id, eof FROM workflow.workflow_stream_chunks WHERE stream_id = %s"
            params: list[Any] = [stream]
            if after is not None:
                sql += " AND id > %s"
                params.append(after)
            listed = self._rows(conn, sql + " ORDER BY id", params)
            fresh = [r["id"] for r in listed if r["id"] not in skip]
            if not fresh:
                return []
            return self._rows(
                conn,
                "SELECT id, eof, data FROM workflow.workflow_stream_chunks "
                "WHERE stream_id = %s AND id = ANY(%s) ORDER BY id",
                [stream, fresh],
            )
        columns = "id, eof, data" if with_data else "id, eof"
        return self._pages_after(
            conn, f"SELECT {columns} FROM workflow.workflow_stream_chunks WHERE stream_id = %s", [stream], after
        )

    def _tail_stream(self, run_id: str, request: TailRequest) -> Iterator[Chunk]:
        name = stream_name(run_id, request.stream or "")
        decoder = StreamDecoder()
        delivered: set[str] = set()
        newest = ""
        first = self._follow(lambda conn: self._chunk_rows(conn, name, None, with_data=False), "stream query")
        if not first:
            known = self._read(lambda conn: self._stream_rows(conn, run_id), "stream query")
            names = ", ".join((s.namespace or "(default)") for s in self._streams(run_id, known)) or "none"
            self.ctx.warn(f"run {run_id} has no stream {name} yet (streams: {names})")
        start = stream_start(request.start_index, (row["eof"] for row in first))
        after = chunk_offset(request.offset)
        index = 0  # data-chunk index of the next new chunk

        def emit(rows: list[dict[str, Any]]) -> Iterator[Chunk | None]:
            """Values of the chunks not yet delivered, in order; None once the EOF chunk is reached."""
            nonlocal index, newest
            for row in rows:
                chunk_id = row["id"]
                if chunk_id in delivered:
                    continue
                delivered.add(chunk_id)
                newest = max(newest, chunk_id)
                if row["eof"]:
                    for value in decoder.flush():
                        yield Chunk(max(index - 1, 0), value, None)
                    yield None
                    return
                position = index
                index += 1
                if position < start or (after is not None and chunk_id < after[0]):
                    continue
                for k, value in enumerate(decoder.feed(bytes(row["data"] or b""))):
                    if after is not None and (chunk_id, k) <= after:
                        continue
                    yield Chunk(position, value, chunk_id if k == 0 else f"{chunk_id}#{k}")

        def fetch() -> list[dict[str, Any]]:
            if not newest:
                return self._follow(lambda conn: self._chunk_rows(conn, name, None), "stream query")
            lower = _lookback(newest, "chnk_")
            return self._follow(lambda conn: self._chunk_rows(conn, name, lower, skip=delivered), "stream query")

        terminal_seen = request.live and self._run_status(run_id) in TERMINAL
        if request.live and not terminal_seen:
            self._ensure_listen()  # before reading, so a chunk written meanwhile also wakes us
        for item in emit(fetch()):
            if item is None:
                return
            yield item
        if not request.live:
            for value in decoder.flush():
                yield Chunk(max(index - 1, 0), value, None)
            return

        # Follow: LISTEN workflow_event_chunk wakes us when the world writes a chunk; every `interval` seconds we
        # also poll (the fallback when notifications cannot be received) and check whether the run has ended.
        interval = max(0.05, float(request.interval or 1.0))
        drained_after_terminal = 0
        while True:
            if not terminal_seen and self._run_status(run_id) in TERMINAL:
                terminal_seen = True
            for item in emit(fetch()):
                if item is None:
                    return
                yield item
            if terminal_seen:
                # The SDK never closes run streams (#964): once the run is terminal, drain twice and stop.
                drained_after_terminal += 1
                if drained_after_terminal >= 2:
                    for value in decoder.flush():
                        yield Chunk(max(index - 1, 0), value, None)
                    return
                continue
            self._wait_for_chunk(name, interval)

    def _ensure_listen(self, channel: str = CHUNK_CHANNEL) -> bool:
        """A second connection that LISTENs on ``channel``; False (polling) if it cannot."""
        psycopg = require_psycopg()
        if self._listen is not None and not self._listen.closed and channel in self._listening:
            return True
        try:
            if self._listen is None or self._listen.closed:
                self._listen, self._listening = None, set()
                self._listen = self._connect()
            self._listen.execute(f'LISTEN "{channel}"')
        except (psycopg.Error, WfctlError) as exc:
            if self.ctx.debug:
                self.ctx.debug_log(f"postgres: LISTEN unavailable ({getattr(exc, 'message', None) or exc}); polling")
            self._drop_listen()
            return False
        self._listening.add(channel)
        return True

    def _drop_listen(self) -> None:
        listen, self._listen, self._listening = self._listen, None, set()
        if listen is not None:
            try:
                listen.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass

    def _listen_lost(self, exc: Exception) -> None:
        """The LISTEN connection broke while waiting: drop it (the next wait opens another) and sleep out the wait."""
        if self.ctx.debug:
            self.ctx.debug_log(f"postgres: LISTEN connection lost ({error_message(exc)})")
        self._drop_listen()

    def _wait_for_job(self, timeout: float) -> None:
        """Wait ``timeout`` seconds, or less when the world queues a job (``jobs:insert``), but at least
        ``JOB_WAKE_GAP`` (a busy world queues jobs for other runs all the time). Polling alone when LISTEN fails."""
        psycopg = require_psycopg()
        started = time.monotonic()
        deadline = started + timeout
        if self._ensure_listen(JOB_CHANNEL):
            try:
                woke = False
                while not woke:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    for notify in self._listen.notifies(timeout=remaining, stop_after=1):
                        woke = woke or notify.channel == JOB_CHANNEL
                for _ in self._listen.notifies(timeout=0):  # drain: one wake for the jobs queued until now
                    pass
                deadline = min(deadline, started + JOB_WAKE_GAP)
            except psycopg.Error as exc:  # the database went away; the next poll reconnects (with backoff)
                self._listen_lost(exc)
        _sleep_until(deadline)

    def _wait_for_chunk(self, stream: str, timeout: float) -> None:
        """Block until a NOTIFY for ``stream`` arrives or ``timeout`` passes (polling when LISTEN fails)."""
        psycopg = require_psycopg()
        deadline = time.monotonic() + timeout
        if self._ensure_listen():
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    for notify in self._listen.notifies(timeout=remaining, stop_after=1):
                        if notify.channel != CHUNK_CHANNEL:
                            continue
                        try:
                            message = json.loads(notify.payload)
                        except ValueError:
                            return
                        if not isinstance(message, dict) or message.get("streamId") in (stream, None):
                            return
            except psycopg.Error as exc:  # the database went away; the next read reconnects (with backoff)
                self._listen_lost(exc)
        _sleep_until(deadline)

    # -- doctor --------------------------------------------------------------------------------------------
    def doctor(self) -> list[Check]:
        self._version_noted = True  # the schema's version is a check of its own here, not a warning
        try:
            target = self.target
        except WfctlError as exc:
            return [Check("database", False, exc.message)]
        try:
            version = self._call(lambda c: _one(c, "SHOW server_version"), what="version query")
        except WfctlError as exc:
            return [Check("database", False, exc.message + (f" ({exc.hint})" if exc.hint else ""))]
        checks = [Check("database", True, f"{target.display} ({target.source}); PostgreSQL {version}")]
        digits = re.match(r"\d+", str(version) or "")
        major = int(digits.group(0)) if digits else 0
        if major and major < 12:
            checks.append(Check("server version", False, f"PostgreSQL {version}: the world needs 12 or newer"))
        try:
            columns = self._call(self._schema, what="schema query")
        except WfctlError as exc:
            checks.append(Check("schema", False, exc.message + (f" ({exc.hint})" if exc.hint else "")))
            return checks
        missing = [
            t
            for t in (
                "workflow_runs",
                "workflow_events",
                "workflow_steps",
                "workflow_hooks",
                "workflow_stream_chunks",
                "workflow_waits",
            )
            if t not in columns
        ]
        runs = self._read(lambda c: _one(c, "SELECT count(*) FROM workflow.workflow_runs"), "count query")
        if missing:
            checks.append(
                Check(
                    "schema",
                    False,
                    f"schema workflow lacks {', '.join(missing)}: an old world; "
                    "run the world's bootstrap to migrate it",
                )
            )
        else:
            checks.append(Check("schema", True, f"schema workflow ({runs} runs)"))
        checks.extend(self._version_checks())
        queue = self._read(
            lambda c: _one(
                c,
                "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE n.nspname = 'graphile_worker' "
                "AND p.proname = 'add_job')",
            ),
            "queue query",
        )
        checks.append(
            Check(
                "queue",
                bool(queue),
                f"graphile_worker.add_job present (wake re-enqueues on task {self.job_prefix}flows)"
                if queue
                else "graphile-worker is not installed: wake cannot re-enqueue runs; " + BOOTSTRAP_HINT,
            )
        )
        privileges = self._read(
            lambda c: self._rows(
                c,
                """
            SELECT has_table_privilege('workflow.workflow_runs', 'UPDATE') AS runs,
                   has_table_privilege('workflow.workflow_events', 'INSERT') AS events""",
            ),
            "privilege query",
        )[0]
        writable = bool(privileges["runs"] and privileges["events"])
        checks.append(
            Check(
                "permissions",
                writable,
                "can cancel and wake (UPDATE runs, INSERT events)"
                if writable
                else "read-only role: cancel and wake need UPDATE on workflow_runs and INSERT on workflow_events",
            )
        )
        return checks

    def _version_checks(self) -> list[Check]:
        """The schema's version (drizzle's migrations against those of the proven world), the spec versions of
        the runs (one ``GROUP BY``) and the ``workflowCoreVersion`` of the newest runs, and whether wfctl reads
        and writes them."""
        version = self._call(self._migrations, what="migrations query")
        if not version.readable:
            migrations = Check(
                "migrations", False, f"{version.summary()}; cancel and wake are refused; {BOOTSTRAP_HINT}"
            )
        else:
            writes = "cancel and wake write" if version.proven else "cancel and wake are refused (reads go on)"
            migrations = Check("migrations", version.proven, f"{version.summary()} in {MIGRATIONS_TABLE}; {writes}")
        rows = self._read(
            lambda c: self._rows(
                c,
                "SELECT spec_version::text AS spec, count(*) AS n FROM workflow.workflow_runs GROUP BY 1"
                if self._has(c, "workflow_runs", "spec_version")
                else "SELECT NULL AS spec, count(*) AS n FROM workflow.workflow_runs HAVING count(*) > 0",
            ),
            "spec query",
        )
        ok, detail = doctor_line(POSTGRES, (row["spec"] for row in rows for _ in range(int(row["n"]))))
        newest = self._read(
            lambda c: self._rows(
                c,
                f"SELECT {self._select(c, 'workflow_runs', ('execution_context_cbor', 'execution_context'))} "
                "FROM workflow.workflow_runs ORDER BY id DESC LIMIT %s",
                [CORE_SAMPLE],
            ),
            "run query",
        )
        cores: dict[str, int] = {}
        for row in newest:
            context = row_column(row, "execution_context")
            core = context.get("workflowCoreVersion") if isinstance(context, dict) else None
            if isinstance(core, str):
                cores[core] = cores.get(core, 0) + 1
        if cores:
            detail += f"; workflowCoreVersion (newest {len(newest)} runs) " + ", ".join(
                f"{v} ×{n}" for v, n in sorted(cores.items())
            )
        specs = Check("spec versions", ok, detail if ok else detail + f" (wfctl reads up to {READ_MAX})")
        return [migrations, specs]


# -- module helpers ------------------------------------------------------------------------------------------


def require_psycopg() -> Any:
    """The psycopg module, imported on first use (the postgres world's only dependency); a usage error naming
    the install command when it is missing. Shared with ``postgrescontrol``."""
    try:
        import psycopg
    except ImportError:
        raise UsageError(f"the postgres world needs psycopg: {INSTALL_HINT}") from None
    return psycopg


@contextmanager
def _watchdog(conn: Any, seconds: float, fired: threading.Event) -> Iterator[None]:
    """Shut the connection's socket down if the block is still running after ``seconds``: a blocked libpq read
    then fails at once (an OperationalError, like a dropped connection) instead of waiting forever."""

    def cut() -> None:
        fired.set()
        try:
            with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001 - already closed, or no socket: nothing to wake
            pass

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def error_message(exc: BaseException) -> str:
    """A database error as one line (psycopg's messages span several). Shared with ``postgrescontrol``."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _one(conn: Any, sql: str, params: Any = None) -> Any:
    rows = conn.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def _lookback(newest: str, prefix: str) -> str | None:
    """The id to re-read from: ``LOOKBACK_MS`` before the newest id's ULID time (or the id itself)."""
    if not newest:
        return None
    ms = ulid_time_ms(newest)
    if ms is None or not newest.startswith(prefix):
        return newest
    return prefix + ulid_time_prefix(ms - LOOKBACK_MS)


__all__ = ["PostgresWorldBackend", "redact_dsn", "stream_base", "stream_name"]


def _sleep_until(deadline: float) -> None:
    """Sleep until ``deadline`` (a ``time.monotonic()`` value), if it is still ahead."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
