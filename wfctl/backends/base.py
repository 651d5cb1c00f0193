"""The backend interface.

A backend adapts one engine to the run model (``wfctl.model``). It receives
the resolved :class:`~wfctl.config.Profile` and a :class:`BackendContext`
explicitly, returns model objects, raises :mod:`wfctl.errors` types, and never
prints: warnings go through ``ctx.warn`` so the CLI decides where they land.

Each backend declares ``capabilities``; the CLI refuses an operation that is
not declared with exit code 6 and the backend's ``unsupported_reason``.
Waiting (``status --wait``), confirmation and rendering live above the
backends and are written once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, cast

from ..errors import UnsupportedError
from ..model import (
    CancelOutcome,
    Check,
    Chunk,
    Counts,
    Event,
    EventBatch,
    ListQuery,
    RerunOutcome,
    ResumeOutcome,
    Run,
    RunPage,
    WakeResult,
)

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field
else:
    from .._record import dataclass, field

if TYPE_CHECKING:
    from ..config import Profile

# Operation names, used in capability declarations and messages.
GET = "get"
LIST = "list"
STATUS = "status"
CANCEL = "cancel"
WAKE = "wake"
TAIL = "tail"
DASHBOARD = "dashboard"
START = "start"
RERUN = "rerun"
RESUME = "resume"
OPERATIONS = (GET, LIST, STATUS, CANCEL, WAKE, TAIL, DASHBOARD, START, RERUN, RESUME)


@dataclass
class BackendContext:
    """Process-level settings a backend needs besides its profile."""

    debug: bool = False
    insecure: bool = False
    warn: Callable[[str], None] = lambda message: None
    debug_log: Callable[[str], None] = lambda message: None


@dataclass
class TailRequest:
    live: bool = False
    stream: str | None = None  # None: the event log; "" the default stream; else a namespace
    start_index: int | None = None  # stream chunks: negative counts from the end
    offset: str | None = None  # resume exactly after this printed offset
    last: int | None = None  # only the last N events
    types: list[str] = field(default_factory=list)
    interval: float = 1.0  # polling interval where the engine has no push
    sse: bool = False  # prefer SSE where the engine offers it
    #: The caller also accepts :class:`~wfctl.model.EventBatch` items (blocks of events written at once by
    #: ``-o jsonl``); a backend may yield them where it reads events in blocks, or ignore this.
    batches: bool = False


@dataclass
class StartRequest:
    workflow: str
    input: Any = None  # a JSON value (object from --input k=v / --input-json / --input-file)
    env: dict[str, str] = field(default_factory=dict)
    task_queue: str | None = None
    run_id: str | None = None  # a caller-chosen id where the engine accepts one
    follow: bool = False


@dataclass
class ResumeRequest:
    """What ``wfctl resume`` delivers to a waiting run: a payload for a hook (Workflow SDK ``resumeHook``), or a
    signal (Temporal). A backend takes the kind it has and refuses the other with exit 2 or 6."""

    #: The hook's token (Workflow SDK); None: the run's only pending hook.
    hook: str | None = None
    #: A signal's name (Temporal ``--signal``); None for a hook.
    signal: str | None = None
    #: The payload, a JSON value (``--data`` / ``--data-file``).
    data: Any = None
    #: Whether a payload was given at all (``--data null`` is a payload; no ``--data`` is none).
    has_data: bool = False
    #: Change nothing: check the run and the hook, and answer with the outcome ``would_resume``.
    dry_run: bool = False


class Backend:
    """Base class: every operation raises "not supported" until implemented."""

    name: ClassVar[str] = "base"
    label: ClassVar[str] = "backend"  # for messages: "Flue", "Temporal", ...
    #: The operations the backend implements; like ``unsupported_reasons``, declared by the class and narrowed per
    #: instance where a profile allows less (Flue's raw Durable Streams mode cannot start runs).
    capabilities: frozenset[str] = frozenset()
    #: Why an operation is missing, e.g. {"cancel": "Flue has no endpoint to cancel a run"}.
    unsupported_reasons: dict[str, str] = {}
    #: Operations that work but are experimental (help and README say so).
    experimental: ClassVar[frozenset[str]] = frozenset()
    #: The event types the engine writes, when it has a fixed set: ``tail --type`` patterns that match none of
    #: them are refused (exit 2) instead of silently printing nothing. None: the engine's types are open.
    event_types: ClassVar[frozenset[str] | None] = None

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        self.profile = profile
        self.ctx = ctx or BackendContext()

    # -- capability checks --------------------------------------------------
    def supports(self, operation: str) -> bool:
        return operation in self.capabilities

    def require(self, operation: str) -> None:
        if not self.supports(operation):
            reason = self.unsupported_reasons.get(operation) or (
                f"the {self.label} backend does not support '{operation}'"
            )
            raise UnsupportedError(reason)

    # -- checks before an operation (the CLI calls them before anything is read) ----------------------------
    def query_language(self) -> str | None:
        """What ``list --query`` takes on this engine, or None when it has no query language (the CLI then
        refuses ``--query`` with exit 6 instead of ignoring it)."""
        return None

    def check_offset(self, offset: str, *, stream: bool) -> str | None:
        """Why ``offset`` cannot be one this backend printed for ``tail`` (of the event log, or of a stream
        with ``stream``), or None. A mistyped offset is then a usage error (exit 2) instead of a tail that
        silently starts elsewhere. The default accepts every offset."""
        return None

    def preflight(self) -> None:
        """Raise the error every operation would meet first (a missing data directory, say), with its exit
        code; ``config doctor`` calls it so it exits with the code the commands exit with."""

    # -- operations ----------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        """Everything about one run. Raises NotFoundError for an unknown id."""
        self.require(GET)
        raise NotImplementedError

    def get_status(self, run_id: str) -> Run:
        """A cheap view of one run (status and times). Defaults to get_run."""
        return self.get_run(run_id)

    def list_runs(self, query: ListQuery) -> RunPage:
        self.require(LIST)
        raise NotImplementedError

    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        """Cancel runs by id; one outcome per id, in order."""
        self.require(CANCEL)
        raise NotImplementedError

    def wake(
        self, run_id: str, correlation_ids: list[str] | None = None, *, dry_run: bool = False, **options: Any
    ) -> WakeResult:
        self.require(WAKE)
        raise NotImplementedError

    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event | Chunk | EventBatch]:
        """Yield the run's events (or stream chunks; blocks of events when ``request.batches`` allows them),
        following while ``live``.

        A live tail ends when the run is terminal or its stream is closed;
        the caller reconciles the final status with ``get_status``.
        """
        self.require(TAIL)
        raise NotImplementedError

    def counts(self, workflow: str | None = None) -> Counts:
        """Run counts by normalized status (dashboard), the cheapest way the engine offers."""
        self.require(DASHBOARD)
        raise NotImplementedError

    def recent_runs(self, limit: int = 10, workflow: str | None = None) -> list[Run]:
        """The most recent runs, newest first (dashboard). Defaults to list_runs."""
        if not self.supports(LIST):
            return []
        return self.list_runs(ListQuery(limit=limit, workflow=workflow)).data

    def start(self, request: StartRequest) -> Run:
        self.require(START)
        raise NotImplementedError

    def start_follow(self, request: StartRequest) -> Iterator[Event | Run]:
        """Start a run and yield its progress; the default tails the new run live.

        Yields the started :class:`Run` first so the caller learns its id.
        """
        run = self.start(request)
        yield run
        # the event log (no stream), one event at a time (no batches): Events only
        yield from cast("Iterator[Event]", self.tail(run.runId, TailRequest(live=True)))

    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        """Start a new run of each run's workflow with its recorded input (where the engine records where it
        came from, it says so); one outcome per id, in order. ``dry_run``: check each run (found, input
        readable, writable version) and answer ``would_start`` instead of starting anything. A run that cannot
        be re-run is an outcome (``refused``, ``not_found``, ``error``), never an exception; an exception is
        for what stops every run (the engine unreachable, say)."""
        self.require(RERUN)
        raise NotImplementedError

    def resume(self, run_id: str, request: ResumeRequest) -> ResumeOutcome:
        """Deliver ``request`` to the waiting run (a hook payload, or a signal), then make the engine continue
        the run. Raises NotFoundError (exit 3) for an unknown run or hook token, UsageError (exit 2) for a
        run that cannot take it (terminal, the hook disposed, several hooks and no token),
        UnsupportedError (exit 6) for the version gate."""
        self.require(RESUME)
        raise NotImplementedError

    def wait_for_change(self, run: Run, interval: float) -> None:
        """Block until the run may have changed. Engines with long-polls override."""
        time.sleep(interval)

    def bound(self, until: float | None) -> None:
        """From now on, no call of this backend runs past ``until`` (a ``time.monotonic()`` value; None lifts
        the bound): a wait's ``--timeout`` holds even when the engine stops answering (``wfctl.waiting``).
        Engines reached over a network override; reading files needs no bound."""

    def doctor(self) -> list[Check]:
        """Real checks of the profile: reachable, authorised, engine version supported."""
        return [Check("backend", True, self.label)]

    def close(self) -> None:
        pass

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
