"""The run model every backend maps its records onto (docs/architecture.md, "The layers").

Backends build these objects and never print. ``to_json()`` gives the stable
JSON shape: camelCase keys, every key always present (``None`` where
unknown), RFC 3339 UTC timestamps with milliseconds.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from .times import iso, parse_time  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field, fields
else:
    from ._record import dataclass, field, fields

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
    """Shared JSON conversion: field order is the declared order. Fields named in ``display_only`` (for the
    terminal or stderr) are not part of the JSON contract: neither in ``to_json`` nor in ``field_names``."""

    display_only: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        skip = self.display_only
        return {f.name: _jsonify(getattr(self, f.name)) for f in fields(self) if f.name not in skip}  # type: ignore[arg-type]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in cls.display_only]  # type: ignore[arg-type]


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
    #: The attempts the engine allows the step in all (null: unknown or unlimited).
    maxAttempts: int | None = None
    #: When a step that failed an attempt is tried again (null when it is not waiting to retry).
    nextAttemptAt: datetime | None = None


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


#: What a waiting run waits for (:attr:`WaitingFor.kind`): a sleep (Workflow SDK ``sleep()``), a hook
#: (Workflow SDK ``createHook()``/``createWebhook()``; with a sleep too when it races one), input from a person
#: (workflow-runs v1 ``waiting``, v2 ``AWAITING_USER_INPUT``).
WAIT_KINDS = ("sleep", "hook", "input")


@dataclass
class WaitingFor(_Model):
    """What a run whose ``status`` is ``waiting`` waits for, and until when (README, "Output";
    docs/architecture.md, "Waiting runs"). A run has one exactly when its status is ``waiting``."""

    #: One of :data:`WAIT_KINDS`.
    kind: str
    #: When the run goes on by itself: the end of its earliest pending sleep (also for a hook raced against a
    #: sleep); null when nothing but an outside event moves it on.
    until: datetime | None = None
    #: The correlation id of what it waits on: the sleep's (what ``wfctl wake --correlation-id`` takes) or the
    #: hook's id.
    correlationId: str | None = None
    #: The hook's token (what the app's ``resumeHook(token, payload)`` takes).
    token: str | None = None
    #: What waits for input, by name: the waiting activity (workflow-runs v1), the current state (v2).
    name: str | None = None
    #: What moves the run on, for people (``wfctl wake RUN``); null when wfctl knows nothing to suggest.
    hint: str | None = None


#: Step statuses that mean a run is still doing work (a step in flight or due to retry), not waiting.
BUSY_STEP_STATUSES = frozenset({PENDING, RUNNING})


def suspension(run_id: str, waits: Iterable[Wait], hooks: Iterable[Hook], *, wake: bool = True) -> WaitingFor | None:
    """What a Workflow SDK run is suspended on, from its pending sleeps (``Wait.status == "waiting"``) and its
    live hooks (the engine's own ``isSystem`` hooks aside); None when it has neither. The caller has checked
    that no step of the run is in flight (:data:`BUSY_STEP_STATUSES`). ``wake``: the world can end a sleep
    with ``wfctl wake`` (the hint says so)."""
    far = datetime.max.replace(tzinfo=timezone.utc)
    sleeps = sorted(
        (w for w in waits if w.status == WAITING),
        key=lambda w: (w.resumeAt or far, w.correlationId or ""),
    )
    live = sorted(
        (h for h in hooks if h.isSystem is not True),
        key=lambda h: (h.createdAt or far, h.hookId or ""),
    )
    wake_hint = f"wfctl wake {run_id}" if wake and sleeps else None
    if live:
        hook = live[0]
        resume = f"resumeHook({json.dumps(hook.token, ensure_ascii=False)}, payload) in the app"
        return WaitingFor(
            kind="hook",
            until=sleeps[0].resumeAt if sleeps else None,
            correlationId=hook.hookId,
            token=hook.token,
            hint=f"{resume}, or {wake_hint} to end the sleep" if wake_hint else resume,
        )
    if sleeps:
        return WaitingFor(kind="sleep", until=sleeps[0].resumeAt, correlationId=sleeps[0].correlationId, hint=wake_hint)
    return None


@dataclass
class Run(_Model):
    runId: str
    backend: str
    workflowName: str | None = None
    workflowId: str | None = None
    status: str = UNKNOWN
    rawStatus: str | None = None
    #: What the run waits for when ``status`` is ``waiting`` (else null): see :class:`WaitingFor`.
    waitingFor: WaitingFor | None = None
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
    #: What is wrong with the run that its status does not say, one sentence each (Temporal: a workflow task
    #: that keeps failing while the run shows ``running``); empty when nothing is known to be wrong.
    warnings: list[str] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def suspend(self, waiting: WaitingFor | None) -> None:
        """A running run found suspended on ``waiting`` becomes ``waiting`` (``rawStatus`` keeps the engine's
        word); anything else is left as it is."""
        if waiting is not None and self.status == RUNNING:
            self.status, self.waitingFor = WAITING, waiting

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
    #: The engine format the renderer writes this event in (its own one-line summaries and ``-o jsonl`` lines in
    #: bulk, :mod:`wfctl.render.formats`), e.g. ``"flue"``; None: the generic ones.
    render_as: ClassVar[str | None] = None
    #: A text delta that a terminal renderer may merge with its neighbours into whole lines.
    fragment: ClassVar[str | None] = None
    #: False on all but the last event of a batch: renderers flush output at batch ends only.
    batch_end: ClassVar[bool] = True

    display_only = frozenset({"stepName"})


class EventBatch:
    """A block of consecutive events of one tail, yielded instead of the events one by one when the caller
    asked for blocks (``TailRequest.batches``): a catch-up of millions of events then costs no Python code
    per event on the way to ``-o jsonl``.

    ``events()`` gives the same :class:`Event` objects the backend would have yielded one at a time (the
    last one with ``batch_end``); ``last_offset`` the offset of the last event (a resume point). ``render_as``
    names the engine format whose writer gives the batch's ``tail -o jsonl`` lines at once
    (:mod:`wfctl.render.formats`)."""

    render_as: ClassVar[str]

    def __len__(self) -> int:
        raise NotImplementedError

    def events(self) -> Iterable["Event"]:
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

    display_only = frozenset({"hint"})


@dataclass
class WakeResult(_Model):
    runId: str
    stoppedCount: int
    correlationIds: list[str] = field(default_factory=list)
    delivered: bool | None = None  # re-enqueue reached the engine
    message: str | None = None


#: Per-run outcomes of ``rerun`` (README, "Exit codes"): ``started`` (``runId`` is the new run),
#: ``would_start`` (``--dry-run``), ``refused`` (wfctl will not start it: its input is encrypted or undecodable,
#: or a format version it was not proven against; exit 6), ``not_found``, ``error``.
RERUN_OUTCOMES = ("started", "would_start", "refused", "not_found", "error")


@dataclass
class RerunOutcome(_Model):
    """One source run of ``wfctl rerun``: the new run started from it, or why none was."""

    sourceRunId: str
    #: The new run's id; null when none was started.
    runId: str | None
    outcome: str  # one of RERUN_OUTCOMES
    message: str | None = None
    #: The new run's status when it was started (``pending`` until the engine picks it up).
    status: str | None = None
    workflowName: str | None = None
    #: What the user can do instead (stderr only; not part of the JSON contract).
    hint: str | None = field(default=None, repr=False, compare=False)

    display_only = frozenset({"hint"})


#: Outcomes of ``resume``: ``resumed`` (the payload or signal was delivered), ``would_resume`` (``--dry-run``).
#: Anything else is an error with its exit code (not found 3, a terminal run or disposed hook 2, refused 6).
RESUME_OUTCOMES = ("resumed", "would_resume")


@dataclass
class ResumeOutcome(_Model):
    """What ``wfctl resume`` did: ``{"runId", "hook", "outcome"}`` and the details."""

    runId: str
    #: The hook's token (or, for a signal, the signal's name).
    hook: str | None
    outcome: str  # one of RESUME_OUTCOMES
    #: ``hook`` or ``signal``.
    kind: str = "hook"
    #: The engine's id of the hook (Workflow SDK ``hook_...``); null for a signal.
    hookId: str | None = None
    #: Whether the engine was told to continue the run (local world: the app took the POST); null when
    #: nothing was to be delivered (``--dry-run``).
    delivered: bool | None = None
    message: str | None = None


@dataclass
class Counts(_Model):
    """Run counts by normalized status (dashboard)."""

    counts: dict[str, int]
    total: int
    workflow: str | None = None
    #: Statuses whose count stopped at the engine's counting cap: the number is a lower bound.
    capped: list[str] = field(default_factory=list)
    #: Runs counted apart from the normalized statuses and the total, by the engine's own word (Temporal:
    #: ``ContinuedAsNew``, a link of a chain whose last run carries the chain's state).
    apart: dict[str, int] = field(default_factory=dict)


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
