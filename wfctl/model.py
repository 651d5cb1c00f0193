"""The run model every backend maps its records onto (docs/architecture.md, "The layers").

Backends build these objects and never print. ``to_json()`` gives the stable
JSON shape: camelCase keys, every key always present (``None`` where
unknown), RFC 3339 UTC timestamps with milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterable

from .times import iso, parse_time  # noqa: F401  (re-exported)

# Normalized statuses.
PENDING = "pending"
RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
UNKNOWN = "unknown"

STATUSES = (PENDING, RUNNING, WAITING, COMPLETED, FAILED, CANCELLED)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})

# Per-item outcomes of cancel (README, "Exit codes" and "Decisions").
OUTCOMES = ("cancelled", "already_completed", "not_eligible", "not_found", "error", "refused")
#: ``refused``: wfctl will not write into this run (a format version it was not proven against; exit 6).


def is_terminal(status: str | None) -> bool:
    return status in TERMINAL


def _jsonify(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonify(v) for v in value]
    return value


class _Model:
    """Shared JSON conversion: field order is the declared order."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: _jsonify(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]


@dataclass
class RunError(_Model):
    message: str | None = None
    code: str | None = None
    stack: str | None = None


@dataclass
class Step(_Model):
    stepId: str | None = None
    stepName: str | None = None
    status: str | None = None
    rawStatus: str | None = None
    attempt: int | None = None
    startedAt: datetime | None = None
    completedAt: datetime | None = None
    input: Any = None
    output: Any = None
    error: RunError | None = None


@dataclass
class Wait(_Model):
    correlationId: str | None = None
    resumeAt: datetime | None = None
    status: str | None = None
    completedAt: datetime | None = None


@dataclass
class Hook(_Model):
    hookId: str | None = None
    token: str | None = None
    createdAt: datetime | None = None
    metadata: Any = None
    #: The engine's own hook rather than the workflow's (Workflow SDK 5.0 ``isSystem``); null where unknown.
    isSystem: bool | None = None


@dataclass
class StreamInfo(_Model):
    name: str | None = None
    namespace: str | None = None
    chunks: int | None = None
    tailIndex: int | None = None
    done: bool | None = None


@dataclass
class Run(_Model):
    runId: str
    backend: str
    workflowName: str | None = None
    workflowId: str | None = None
    status: str = UNKNOWN
    rawStatus: str | None = None
    createdAt: datetime | None = None
    startedAt: datetime | None = None
    completedAt: datetime | None = None
    updatedAt: datetime | None = None
    input: Any = None
    output: Any = None
    error: RunError | None = None
    #: Engine-side key/value attributes of the run (Workflow SDK 5.0 ``attributes``); null where the engine
    #: has none.
    attributes: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    streams: list[StreamInfo] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def duration(self, now: datetime | None = None) -> float | None:
        """Seconds from start to completion (or to ``now`` while the run is going)."""
        start = self.startedAt or self.createdAt
        if start is None:
            return None
        end = self.completedAt or (None if self.terminal else (now or datetime.now(timezone.utc)))
        if end is None:
            return None
        return max(0.0, (end - start).total_seconds())


@dataclass
class Event(_Model):
    runId: str | None = None
    offset: str | None = None
    index: int | None = None
    type: str | None = None
    time: datetime | None = None
    stepId: str | None = None
    correlationId: str | None = None
    data: Any = None
    # Display-only helpers (not part of the JSON contract).
    stepName: str | None = field(default=None, repr=False, compare=False)
    #: A backend's own one-line rendering of the event (renderers prefer it to a generic summary).
    summary: ClassVar[str | None] = None
    #: A text delta that a terminal renderer may merge with its neighbours into whole lines.
    fragment: ClassVar[str | None] = None
    #: False on all but the last event of a batch: renderers flush output at batch ends only.
    batch_end: ClassVar[bool] = True

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.pop("stepName", None)
        return out

    @classmethod
    def field_names(cls) -> list[str]:
        return [n for n in super().field_names() if n != "stepName"]


class EventBatch:
    """A block of consecutive events of one tail, yielded instead of the events one by one when the caller
    asked for blocks (``TailRequest.batches``): a catch-up of millions of events then costs no Python code
    per event on the way to ``-o jsonl``.

    ``events()`` gives the same :class:`Event` objects the backend would have yielded one at a time (the
    last one with ``batch_end``); ``json_lines()`` their ``tail -o jsonl`` lines, each ending with a newline;
    ``last_offset`` the offset of the last event (a resume point)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def events(self) -> Iterable["Event"]:
        raise NotImplementedError

    def json_lines(self) -> str:
        raise NotImplementedError

    @property
    def last_offset(self) -> str | None:
        raise NotImplementedError


@dataclass
class Chunk(_Model):
    """One value read from a run's output stream (``tail --stream``)."""

    index: int
    data: Any = None
    offset: str | None = None


@dataclass
class RunPage(_Model):
    data: list[Run]
    cursor: str | None = None
    hasMore: bool = False


@dataclass
class ListQuery:
    statuses: list[str] = field(default_factory=list)  # normalized or raw words
    workflow: str | None = None
    search: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    cursor: str | None = None
    sort: str = "desc"  # "asc" | "desc" on createdAt
    query: str | None = None  # raw engine query (Temporal visibility)


@dataclass
class CancelOutcome(_Model):
    runId: str
    outcome: str  # one of OUTCOMES
    message: str | None = None
    status: str | None = None
    #: What the user can do instead (stderr only; not part of the JSON contract).
    hint: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.pop("hint", None)
        return out

    @classmethod
    def field_names(cls) -> list[str]:
        return [n for n in super().field_names() if n != "hint"]


@dataclass
class WakeResult(_Model):
    runId: str
    stoppedCount: int
    correlationIds: list[str] = field(default_factory=list)
    delivered: bool | None = None  # re-enqueue reached the engine
    message: str | None = None


@dataclass
class Counts(_Model):
    """Run counts by normalized status (dashboard)."""

    counts: dict[str, int]
    total: int
    workflow: str | None = None
    #: Statuses whose count stopped at the engine's counting cap: the number is a lower bound.
    capped: list[str] = field(default_factory=list)


@dataclass
class Check(_Model):
    """One line of ``config doctor``."""

    name: str
    ok: bool
    detail: str = ""


def count_by_status(runs: Iterable[Run]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for run in runs:
        out[run.status] = out.get(run.status, 0) + 1
    return out
