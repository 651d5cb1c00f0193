"""The Workflow SDK local world: the app's data directory on disk, wfctl's embedded default (docs/architecture.md,
"Workflow SDK local world"; recorded worlds in examples/).

Reads go straight to the JSON files (no Node needed). ``cancel`` and ``wake`` write exactly what
world-local writes, with its atomic-write and exclusive-create discipline, so they are safe while the app
runs; ``wake`` then re-enqueues the run with one HTTP POST to the app (the only network call, imported
lazily so ``list``/``get`` never load httpx).

Decisions where the SDK leaves a choice (also in the README):

* ``workflowName`` is the short name (``demoWorkflow``) and ``workflowId`` the SDK's machine name
  (``workflow//./workflows/demo//demoWorkflow``: what the SDK itself passes as ``workflowId`` to ``start``).
* Listing orders runs by run id. Run ids are ULIDs, so this is creation order at millisecond precision,
  and it lets an unfiltered page read only the run files it prints; ``createdAt`` (which the world sets a
  few milliseconds after the id is minted) breaks no tie the id does not. The cursor keeps the SDK's
  ``<createdAt>|<runId>`` format and resumes after that run id; it is null on the last page.
* ``--since``/``--until`` compare ``createdAt``; files are pre-filtered by the id's time with the margins the
  world allows between a run id's time and its creation (ids up to 24 h older and 5 min newer than
  ``createdAt``: ``ids.ID_PAST_MARGIN_MS`` / ``ID_FUTURE_MARGIN_MS``).
* A step's ``error`` is shown for failed steps and for steps waiting to retry; a completed step keeps the
  error of an earlier failed attempt in its record, and that one is not shown.
* ``get`` lists pending and completed sleeps and the hooks of runs that are still active (the world deletes
  both when a run ends).
* A running run with a pending sleep or a live hook of its own and no step pending or running is ``waiting``
  (``rawStatus`` stays ``running``), with ``waitingFor`` saying on what and until when, in every view
  (docs/architecture.md, "Waiting runs"): :class:`_Suspensions` reads ``waits/`` and the hooks once per command
  and ``steps/`` only for the runs with something pending; ``list`` does so for the printed page only, and
  ``--status waiting`` reads the run files of the runs with wait or hook files only.
* ``wake``: a ``{"timeoutSeconds": N}`` reply means the resumed run reached another ``sleep()`` and the
  POSTer owns that timer. wfctl is a short-lived process and cannot hold it, so the reply is reported in the
  result's message: the app's own timer for the original sleep continues the run.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import time
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ...errors import NotFoundError, UnavailableError, UnsupportedError, UsageError, WfctlError
from ...model import (
    BUSY_STEP_STATUSES,
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
from .ids import ID_FUTURE_MARGIN_MS, ID_PAST_MARGIN_MS, epoch_ms, new_ulid, normalize_run_id, slot_of, ulid_time_ms
from .localfs import DATA_DIR_NAMES, ENV_DATA_DIR, RACY_SECONDS, DataDir, dir_key, find_data_dir, safe_id
from .records import (
    SDK_STATUSES,
    TERMINAL_EVENTS,
    event_filter,
    event_from_record,
    first_shown,
    learn_step_name,
    parse_statuses,
    plan_wake,
    record_time,
    run_from_record,
    search_hit,
    step_from_record,
    workflow_short_name,
)
from .streams import StreamDecoder, chunk_offset, stream_base, stream_name, stream_namespace, stream_start
from .values import decode_payload
from .versions import LOCAL, READ_MAX, ReadWarner, doctor_line, refusal_hint, write_refusal

if TYPE_CHECKING:
    from ...config import Profile
    from . import localcache
    from .localwrite import LocalWriter

MEMO_SECONDS = 10  # a live dashboard recounts at least this often, changes or not
TERMINAL_GRACE = 2.0  # after a run turns terminal, how long to wait for its terminal event file
FLOW_PATH = "/.well-known/workflow/v1/flow"
#: The Workflow SDK's event types (4.x and 5.0, which added attr_set and noop): what ``tail --type`` can select.
EVENT_TYPES = frozenset(
    {
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
        "hook_conflict",
        "wait_created",
        "wait_completed",
        "attr_set",
        "noop",
    }
)
#: What a data directory of a world holds (world-local creates them as it writes); one without any is not one.
WORLD_ENTRIES = ("runs", "events", "steps", "streams", "hooks", "waits", "version.txt", ".locks")
_EVENT_OFFSET = re.compile(r"evnt_[0-9A-Za-z]{26}")
_CHUNK_OFFSET = re.compile(r"chnk_[0-9A-Za-z]{26}(#\d{1,9})?")


def _check_world(root: Any, source: str) -> None:
    """A data directory named explicitly must hold a world (or be empty: a world not written to yet); pointing
    at the project instead of its data directory is a usage error, not an empty list."""
    try:
        entries = set(os.listdir(root))
    except OSError as exc:
        raise UsageError(f"cannot read the data directory {root} ({source}): {exc.strerror or exc}") from None
    if not entries or entries & set(WORLD_ENTRIES):
        return
    inside = [name for name in DATA_DIR_NAMES if (root / name).is_dir()]
    raise UsageError(
        f"{root} ({source}) holds no Workflow SDK local world: it has none of " + ", ".join(WORLD_ENTRIES),
        hint=f"did you mean {root / inside[0]}?"
        if inside
        else "point --data-dir at the app's data directory (.workflow-data, .next/workflow-data)",
    )


def _event_key(raw: dict[str, Any]) -> tuple[str, str]:
    """Log order: a slot-numbered (5.0) log is in position order; a ULID-numbered one in (createdAt, id)
    order, as world-local lists them."""
    event_id = str(raw.get("eventId", ""))
    if slot_of(event_id) is not None:
        return ("", event_id)
    return (iso(record_time(raw.get("createdAt"), event_id)) or "", event_id)


class LocalWorldBackend(Backend):
    name = WORKFLOW_SDK
    label = "Workflow SDK (local world)"
    capabilities = frozenset({GET, LIST, STATUS, CANCEL, WAKE, TAIL, DASHBOARD, START, RERUN, RESUME})
    event_types = EVENT_TYPES
    unsupported_reasons: dict[str, str] = {}

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None):
        super().__init__(profile, ctx)
        self._data: DataDir | None = None
        self.data_source: str | None = None
        self._run_summaries: "localcache.RunSummaries | None" = None
        self._last_counts: tuple[Any, Counts] | None = None
        self._newer = ReadWarner(self.ctx.warn)

    # -- plumbing -----------------------------------------------------------------------------------------
    @property
    def data(self) -> DataDir:
        if self._data is None:
            root, source = find_data_dir(self.profile.get("data_dir"), self.profile.env)
            if source in ("data_dir", ENV_DATA_DIR):
                _check_world(root, self.profile.source("data_dir") if source == "data_dir" else f"env {source}")
            self._data = DataDir(root, warn=self.ctx.warn)
            self.data_source = source
        return self._data

    def preflight(self) -> None:
        self.data  # noqa: B018 - finds the data directory, or raises

    def check_offset(self, offset: str, *, stream: bool) -> str | None:
        if stream:
            return None if _CHUNK_OFFSET.fullmatch(offset) else "stream offsets look like chnk_<26 characters>[#N]"
        return None if _EVENT_OFFSET.fullmatch(offset) else "event offsets look like evnt_<26 characters>"

    def _run_id(self, run_id: str) -> str:
        run_id = normalize_run_id(run_id)
        if "." in run_id or len(run_id.encode("utf-8", "replace")) > 200:  # no file name of the world is that
            raise NotFoundError(f"run {run_id[:80]} not found")
        safe_id("run id", run_id)
        return run_id

    def _load(self, run_id: str) -> dict[str, Any]:
        raw = self.data.read_run(run_id)
        if raw is None:
            raise NotFoundError(f"run {run_id} not found in {self.data.root}")
        return raw

    def _to_run(self, raw: dict[str, Any]) -> Run:
        self._newer.check(raw.get("specVersion"), raw.get("runId"))
        return run_from_record(raw, self.name)

    @property
    def writer(self) -> "LocalWriter":
        from .localwrite import LocalWriter  # writes only: reads never import it (hashlib)

        return LocalWriter(self.data)

    def _write_refusal(self, run_id: str, raw: dict[str, Any], operation: str) -> str | None:
        """Why wfctl will not write into this run (the version gate), or None."""
        reason = write_refusal(LOCAL, run_id, raw.get("specVersion"), operation)
        if reason is None and self.data.per_run_layout(run_id):
            reason = (
                f"run {run_id} is stored in the per-run layout (events/{run_id}/), which no released "
                f"Workflow SDK world writes; wfctl {operation}s only the layouts of world-local 4.x and "
                "5.0; nothing was changed"
            )
        attributes = raw.get("attributes")
        if reason is None and operation == "cancel" and isinstance(attributes, dict) and "$retention" in attributes:
            reason = (
                f"run {run_id} sets $retention, and ending it makes the world purge its data, which wfctl "
                "does not do; nothing was changed"
            )
        return reason

    # -- get / status ---------------------------------------------------------------------------------------
    def get_status(self, run_id: str) -> Run:
        """Reads the run file; for a running run also its waits and hooks, and its steps when it has a pending
        sleep or a live hook (whether it is waiting)."""
        raw = self._load(self._run_id(run_id))
        run = self._to_run(raw)
        if run.status == RUNNING:
            self._suspend(run, raw, _Suspensions(self.data).find([run.runId]).get(run.runId))
        return run

    def _suspend(self, run: Run, raw: dict[str, Any], pending: tuple[list[Wait], list[Hook]] | None) -> None:
        """A running run with pending sleeps or live hooks (and no step in flight) is waiting; the hint names
        ``wfctl wake`` only where wfctl writes into the run's version."""
        if pending is not None and run.status == RUNNING:
            wake = self._write_refusal(run.runId, raw, "wake") is None
            run.suspend(suspension(run.runId, *pending, wake=wake))

    def get_run(self, run_id: str) -> Run:
        run_id = self._run_id(run_id)
        raw = self._load(run_id)
        run = self._to_run(raw)
        run.steps = self._steps(run_id)
        if not run.terminal:  # the world deletes a run's waits and hooks when it ends
            run.waits = self._waits(run_id)
            run.hooks = self._hooks(run_id)
            if not any(step.status in BUSY_STEP_STATUSES for step in run.steps):
                self._suspend(run, raw, (run.waits, run.hooks))
        run.streams = self._streams(run_id)
        return run

    def _steps(self, run_id: str) -> list[Step]:
        records = sorted(self.data.read_steps(run_id), key=lambda s: (s.get("createdAt") or "", s["stepId"]))
        return [step_from_record(raw) for raw in records]

    def _waits(self, run_id: str) -> list[Wait]:
        """The run's sleeps from its wait records (pending and completed; the event log is not needed)."""
        return _waits_of(self.data.read_waits(run_id))

    def _hooks(self, run_id: str) -> list[Hook]:
        """The run's live hooks. Hook ids are ULIDs minted by the world after the run was created, so at most
        ID_FUTURE_MARGIN_MS before the run id's time: older hooks are skipped without being read."""
        hooks = self.data.read_hooks(run_id, _hooks_not_before([run_id]))
        return _hooks_of(raw for _, raw in hooks)

    def _streams(self, run_id: str) -> list[StreamInfo]:
        """The run's streams: the registered ones (``streams/runs/<runId>.json`` can miss some) and every
        stream with chunk files, flat (4.x) or in a per-stream directory (5.0)."""
        base = stream_base(run_id)
        names = self.data.chunk_names()
        streams = set(self.data.registered_streams(run_id))
        for name in names:
            if name.startswith(base):
                cut = name.rfind("-chnk_")
                if cut > 0:
                    streams.add(name[:cut])
                elif "." not in name and (self.data.chunks_dir / name).is_dir():
                    streams.add(name)
        out = []
        for stream in sorted(streams, key=lambda s: (s != base, s)):
            count, done = 0, False
            for chunk in self.data.chunk_files(stream, names):
                eof = self.data.chunk_is_eof(chunk)
                if eof:
                    done = True
                    break
                if eof is not None:
                    count += 1
            out.append(StreamInfo(stream, stream_namespace(run_id, stream), count, count - 1, done))
        return out

    # -- list -------------------------------------------------------------------------------------------------
    def list_runs(self, query: ListQuery) -> RunPage:
        if query.sort not in ("asc", "desc"):
            raise UsageError(f"invalid sort order {query.sort!r}: use asc or desc")
        statuses = parse_statuses(query.statuses)
        descending = query.sort == "desc"
        limit = max(1, int(query.limit or 20))
        all_ids, odd_names = self.data.run_ids()
        after_id, after_ms = self._parse_cursor(query.cursor)
        candidates = (
            all_ids if after_id is None else [i for i in all_ids if ((i < after_id) if descending else (i > after_id))]
        )
        # "waiting" is a running run suspended on sleeps or hooks (the SDK's files say "running", and `--status
        # running`, the SDK's word, still matches it): `--status waiting` without running needs to know which
        # running runs wait. Only runs with wait or hook files can (the world deletes them when a run ends), so
        # that is read once, and `--status waiting` alone reads the run files of those runs only.
        suspensions = _Suspensions(self.data)
        raw_wanted = None if statuses is None else {RUNNING if s == WAITING else s for s in statuses}
        only_waiting = statuses is not None and WAITING in statuses and RUNNING not in statuses
        waiting = suspensions.find(suspensions.candidates()) if only_waiting else None
        if waiting is not None and raw_wanted == {RUNNING}:
            candidates = [i for i in candidates if i in waiting]
        filtered = bool(statuses or query.workflow or query.search or query.since or query.until or after_ms)
        if filtered:
            ids = sorted(candidates, reverse=descending)
        else:  # the page and one more: only these files are read
            ids = (heapq.nlargest if descending else heapq.nsmallest)(limit + 1, candidates)

        since_ms = epoch_ms(query.since)
        until_ms = epoch_ms(query.until)
        workflow = query.workflow
        search = query.search.lower() if query.search else None

        # A run's id time is at most ID_PAST_MARGIN_MS before its createdAt and ID_FUTURE_MARGIN_MS after it,
        # so an id outside these bounds cannot be in the window: its file is not read.
        found: list[Run] = []
        raws: dict[str, dict[str, Any]] = {}
        for run_id in ids:
            id_ms = ulid_time_ms(run_id)
            if id_ms is not None:
                if after_ms is not None and (
                    (id_ms > after_ms + ID_FUTURE_MARGIN_MS) if descending else (id_ms < after_ms - ID_PAST_MARGIN_MS)
                ):
                    continue
                if since_ms is not None and id_ms < since_ms - ID_PAST_MARGIN_MS:
                    if descending:
                        break
                    continue
                if until_ms is not None and id_ms > until_ms + ID_FUTURE_MARGIN_MS:
                    if not descending:
                        break
                    continue
            raw = self.data.read_json(self.data.run_file(run_id, odd_names), required=("runId", "status"))
            if raw is None:
                continue
            if raw_wanted is not None and raw.get("status") not in raw_wanted:
                continue
            if only_waiting and raw.get("status") == RUNNING and raw["runId"] not in (waiting or {}):
                continue
            machine = raw.get("workflowName")
            if workflow and workflow not in (machine, workflow_short_name(machine)):
                continue
            created_ms = epoch_ms(record_time(raw.get("createdAt"), run_id))
            if since_ms is not None and (created_ms is None or created_ms < since_ms):
                continue
            if until_ms is not None and (created_ms is None or created_ms > until_ms):
                continue
            if after_ms is not None and (
                created_ms is None or ((created_ms >= after_ms) if descending else (created_ms <= after_ms))
            ):
                continue
            if search and not search_hit(raw, search):
                continue
            found.append(self._to_run(raw))
            raws[raw["runId"]] = raw
            if len(found) > limit:
                break
        has_more = len(found) > limit
        page = found[:limit]
        running = [r.runId for r in page if r.status == RUNNING]
        if running:  # the page's running runs: which of them wait (their waits and hooks, steps if need be)
            if waiting is None:
                waiting = suspensions.find(running)
            for run in page:
                self._suspend(run, raws[run.runId], waiting.get(run.runId))
        cursor = f"{iso(page[-1].createdAt)}|{page[-1].runId}" if has_more and page else None
        return RunPage(page, cursor, has_more)

    @staticmethod
    def _parse_cursor(cursor: str | None) -> tuple[str | None, int | None]:
        if not cursor:
            return None, None
        stamp, _, run_id = cursor.partition("|")
        if run_id:
            if not run_id.startswith("wrun_"):
                raise UsageError(f"invalid cursor {cursor!r}", hint="pass the cursor a previous list printed")
            return run_id, None
        parsed = parse_time(stamp)
        if parsed is None:
            raise UsageError(f"invalid cursor {cursor!r}", hint="pass the cursor a previous list printed")
        return None, int(parsed.timestamp() * 1000)

    # -- dashboard ------------------------------------------------------------------------------------------
    #: Called as ``count_progress(done, total)`` while a count reads run files (the first count of a large
    #: world, before its summaries are cached): the dashboard shows it.
    count_progress: Callable[[int, int], None] | None = None

    def counts(self, workflow: str | None = None) -> Counts:
        """Counts by status from the run files, each summarised (status, workflow) once per change of the file:
        the summaries are kept in the user cache directory (``localcache``) keyed by each file's name, size and
        modification time and by ``runs/`` itself, so while ``runs/`` is unchanged they are the answer without a
        ``stat`` per file; and while no directory that decides a status has changed (a live dashboard with
        nothing happening) the previous counts are the answer."""
        unchanged = self._counts_key(workflow)
        if unchanged is not None and self._last_counts is not None and self._last_counts[0] == unchanged:
            return self._last_counts[1]
        summaries = self._summaries()
        key = dir_key(self.data.runs_dir)
        if summaries.current(key):
            self.data.seed_run_ids(key, summaries.ids, summaries.odd)  # type: ignore[arg-type]
        else:
            self._check_runs(summaries)
        counts = {s: 0 for s in STATUSES}
        total = 0
        statuses, workflows = summaries.statuses, summaries.workflows
        wanted = [not workflow or workflow in (m, workflow_short_name(m)) for m in workflows]
        running: set[int] = set()
        for (si, wi), n in Counter(zip(summaries.s, summaries.w, strict=True)).items():
            status = statuses[si]
            if status is None or not wanted[wi]:
                continue  # an unreadable file, or another workflow
            if status == RUNNING:
                running.add(si)
                continue
            key_ = status if status in SDK_STATUSES else UNKNOWN
            counts[key_] = counts.get(key_, 0) + n
            total += n
        if running:  # which running runs wait (their waits and hooks, steps if need be): read once
            waiting = self._waiting(summaries)
            for run_id, si, wi in zip(summaries.ids, summaries.s, summaries.w, strict=True):
                if si in running and wanted[wi]:
                    key_ = WAITING if run_id in waiting else RUNNING
                    counts[key_] += 1
                    total += 1
        summaries.save()  # if anything changed
        result = Counts(counts, total, workflow)
        self._last_counts = (unchanged, result) if unchanged is not None else None
        return result

    def _waiting(self, summaries: "localcache.RunSummaries") -> Any:
        """The runs suspended on sleeps or hooks (whatever their status), kept with the summaries while none of
        the directories that decide it changed (world-local writes, replaces and deletes their files by renames,
        links and unlinks, which change the directory)."""
        key = self._suspension_key()
        known = summaries.waiting_for(key) if key is not None else None
        if known is not None:
            return known
        suspensions = _Suspensions(self.data)
        waiting = suspensions.find(suspensions.candidates())
        if key is not None:
            summaries.keep_waiting(key, waiting)
        return waiting

    def _suspension_key(self) -> list[Any] | None:
        """``runs/`` and the directories whose entries decide a suspension, as (device, inode, mtime_ns), or None
        while one of them changed within the racy window."""
        key: list[Any] = []
        limit = time.time_ns() - RACY_SECONDS * 1e9
        for sub in ("runs", "waits", "hooks", "steps", os.path.join("hooks", "by-run")):
            try:
                st = os.stat(os.path.join(self.data.root, sub))
            except OSError:
                key.append(None)
                continue
            if st.st_mtime_ns > limit:
                return None
            key.append([st.st_dev, st.st_ino, st.st_mtime_ns])
        return key

    def _check_runs(self, summaries: "localcache.RunSummaries") -> None:
        """The full check: every run file stat'ed, the changed ones read again (``summaries`` updated)."""
        before = dir_key(self.data.runs_dir)
        ids, odd_names = self.data.run_ids()
        known = summaries.rows()
        rows: list[Any] = []
        kept: list[str] = []
        settled = True
        read = 0
        racy = time.time_ns() - RACY_SECONDS * 1e9
        progress = self.count_progress
        started = time.monotonic()
        shown = started
        try:
            runs_fd: int | None = os.open(self.data.runs_dir, os.O_RDONLY)  # stat by name, not by path
        except OSError:
            runs_fd = None
        try:
            for done, run_id in enumerate(ids):
                name = odd_names.get(run_id, run_id + ".json")
                try:
                    st = os.stat(name, dir_fd=runs_fd) if runs_fd is not None else os.stat(self.data.runs_dir / name)
                except OSError:
                    settled = False  # gone since the listing: runs/ changed
                    continue
                size, mtime = st.st_size, st.st_mtime_ns
                row = known.get(run_id)
                if row is None or row[0] != size or row[1] != mtime:
                    summary = self.data.read_status(name) or (None, None)
                    read += 1
                    if mtime > racy:  # changed too recently to vouch for: read again next time
                        mtime = -1
                        settled = False
                    row = (size, mtime, summary[0], summary[1])
                    if progress is not None and not read % 500:
                        now = time.monotonic()
                        if now - shown > 0.1:
                            progress(done, len(ids))
                            shown = now
                rows.append(row)
                kept.append(run_id)
        finally:
            if runs_fd is not None:
                os.close(runs_fd)
        after = dir_key(self.data.runs_dir)
        key = before if settled and before is not None and before == after else None
        odd = {run_id: odd_names[run_id] for run_id in kept if run_id in odd_names} if odd_names else {}
        summaries.replace(key, kept, odd, rows, changed=bool(read) or len(kept) != len(known))

    def _summaries(self) -> "localcache.RunSummaries":
        from . import localcache

        if self._run_summaries is None:
            from ...config import cache_dir

            try:
                path: Any = localcache.cache_file(cache_dir(), self.data.root)
            except (OSError, RuntimeError, KeyError):
                path = None  # no cache directory: summarise in memory only
            self._run_summaries = localcache.RunSummaries(path, self.data.root)
        return self._run_summaries

    def _counts_key(self, workflow: str | None) -> tuple[Any, ...] | None:
        """What the counts depend on beyond the files already summarised: the modification times of the
        directories whose entries decide a status (world-local renames every file into place, so a run file
        written changes ``runs/``); None while one of them changed too recently to tell."""
        now = time.time_ns()
        key: list[Any] = [workflow, now // (MEMO_SECONDS * 10**9)]  # and recount at least every MEMO_SECONDS
        for sub in ("runs", "waits", "hooks", "steps", os.path.join("hooks", "by-run")):
            try:
                mtime = os.stat(os.path.join(self.data.root, sub)).st_mtime_ns
            except OSError:
                mtime = 0
            if now - mtime < RACY_SECONDS * 1e9:
                return None
            key.append(mtime)
        return tuple(key)

    # -- cancel ---------------------------------------------------------------------------------------------
    def cancel(self, run_ids: list[str], reason: str | None = None, **options: Any) -> list[CancelOutcome]:
        """world-local's ``run_cancelled``: rewrite the run, drop its waits and hooks, publish the event."""
        dry_run = bool(options.get("dry_run"))
        outcomes: list[CancelOutcome] = []
        index: dict[str, Any] | None = None
        for given in run_ids:
            try:
                run_id = self._run_id(given)
            except (NotFoundError, UsageError) as exc:
                outcomes.append(CancelOutcome(given, "not_found", exc.message))
                continue
            raw = self.data.read_run(run_id)
            if raw is None:
                outcomes.append(CancelOutcome(run_id, "not_found", "no such run"))
                continue
            status = raw.get("status")
            if status in TERMINAL:
                outcomes.append(CancelOutcome(run_id, "already_completed", f"run already {status}", status))
                continue
            refusal = self._write_refusal(run_id, raw, "cancel")
            if refusal is not None:
                outcomes.append(CancelOutcome(run_id, "refused", refusal, status, hint=refusal_hint(LOCAL)))
                continue
            if dry_run:
                outcomes.append(CancelOutcome(run_id, "cancelled", "dry run: would be cancelled", status))
                continue
            if index is None:
                index = self._cleanup_index()
            try:
                outcomes.append(
                    self.writer.cancel(
                        run_id, raw, reason, index["waits"].get(run_id, []), index["hooks"].get(run_id, [])
                    )
                )
            except WfctlError as exc:
                outcomes.append(CancelOutcome(run_id, "error", exc.message, status))
            except OSError as exc:
                outcomes.append(CancelOutcome(run_id, "error", f"{exc.strerror or exc} ({exc.filename or ''})", status))
        return outcomes

    def _cleanup_index(self) -> dict[str, Any]:
        """Waits and hooks by run id, listed once per cancel call."""
        waits: dict[str, list[str]] = {}
        for entity, name in self.data.wait_files().items():
            if entity.startswith("wrun_") and "-" in entity:
                waits.setdefault(entity.split("-", 1)[0], []).append(name)
        hooks: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for name, data in self.data.read_hooks():
            if isinstance(data.get("runId"), str):
                hooks.setdefault(data["runId"], []).append((name, data))
        return {"waits": waits, "hooks": hooks}

    # -- wake -----------------------------------------------------------------------------------------------
    def app_url(self) -> str:
        """``app_url`` (profile or ``--app-url``) > ``WORKFLOW_LOCAL_BASE_URL`` > ``PORT`` > localhost:3000."""
        env = self.profile.env
        if self.profile.get("app_url"):
            return str(self.profile.get("app_url")).rstrip("/")
        if env.get("WORKFLOW_LOCAL_BASE_URL"):
            return env["WORKFLOW_LOCAL_BASE_URL"].rstrip("/")
        if env.get("PORT"):
            return f"http://localhost:{env['PORT']}"
        return "http://localhost:3000"

    def _queue_name(self, machine: str) -> str:
        namespace = self.profile.env.get("WORKFLOW_QUEUE_NAMESPACE")
        return f"__{namespace}_wkf_workflow_{machine}" if namespace else f"__wkf_workflow_{machine}"

    def wake(
        self, run_id: str, correlation_ids: list[str] | None = None, *, dry_run: bool = False, **options: Any
    ) -> WakeResult:
        """``Run.wakeUp()``: complete the pending sleeps, then re-enqueue the run with a POST to the app."""
        run_id = self._run_id(run_id)
        raw = self._load(run_id)
        status = raw.get("status")
        if status in TERMINAL:
            return WakeResult(run_id, 0, [], None, f"run is {status}: nothing to wake")
        events = sorted(self.data.read_events(run_id), key=_event_key)
        created, pending, early = plan_wake(run_id, events, correlation_ids, dry_run)
        if early is not None:
            return early
        refusal = self._write_refusal(run_id, raw, "wake")
        if refusal is not None:
            raise UnsupportedError(refusal, hint=refusal_hint(LOCAL))

        writer = self.writer
        stopped: list[str] = []
        errors: list[str] = []
        for corr in pending:
            try:
                writer.complete_wait(run_id, corr, created[corr], raw.get("specVersion"))
                stopped.append(corr)
            except (OSError, WfctlError) as exc:
                errors.append(f"{corr}: {getattr(exc, 'message', None) or exc}")
        if not stopped:
            raise UnavailableError(f"could not wake run {run_id}: " + "; ".join(errors))
        result = WakeResult(run_id, len(stopped), stopped, False)
        machine = raw.get("workflowName")
        if not isinstance(machine, str):
            raise UnavailableError(
                f"run {run_id} has no workflowName: cannot re-enqueue it ({len(stopped)} sleep(s) stopped)"
            )
        url = self.app_url()
        try:
            reply = self.deliver(url, machine, {"runId": run_id})
        except WfctlError as exc:
            raise UnavailableError(
                f"stopped {len(stopped)} sleep(s) of {run_id}, but the app at {url} did not take the run: "
                f"{exc.message}. The wait_completed events are written: the run continues when the app next "
                "delivers it (its own timer for the sleep, or recovery when it starts)",
                hint="start the app or pass --app-url (or set app_url / WORKFLOW_LOCAL_BASE_URL / PORT)",
            ) from exc
        result.delivered = True
        notes = [f"stopped {len(stopped)} sleep(s); re-enqueued at {url}"]
        timeout = reply.get("timeoutSeconds") if isinstance(reply, dict) else None
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            notes.append(
                f"the run reached another sleep() and asked to be delivered again in {timeout:g}s; wfctl does not "
                "keep that timer, so the app's own timer for the original sleep continues the run "
                "(or run 'wfctl wake' again)"
            )
        if errors:
            notes.append("not stopped: " + "; ".join(errors))
        result.message = "; ".join(notes)
        return result

    # -- the app: the local queue's delivery (wake, and localcontrol.py: start, rerun, resume, health) ----------
    def app_client(self, url: str, *, timeout: float | None = None) -> Any:
        """An HTTP client for the app at ``url`` (the profile's timeout unless ``timeout``)."""
        from ...http import HttpClient  # lazy: list/get never import httpx

        return HttpClient(
            url,
            read_timeout=timeout or float(self.profile.get("timeout", 30.0)),
            insecure=bool(self.profile.get("insecure")) or self.ctx.insecure,
            max_retries=2,
            debug_log=self.ctx.debug_log if self.ctx.debug else None,
            engine="the Workflow SDK app",
        )

    def queue_headers(self, machine: str) -> dict[str, str]:
        """The headers of one local-queue message to the workflow ``machine`` (``x-vqs-*``)."""
        return {
            "content-type": "application/json",
            "x-vqs-queue-name": self._queue_name(machine),
            "x-vqs-message-id": f"msg_{new_ulid()}",
            "x-vqs-message-attempt": "1",
        }

    def deliver(self, url: str, machine: str, body: dict[str, Any]) -> Any:
        """The local queue's POST of one message to the app's flow route; the app's JSON answer (or None)."""
        client = self.app_client(url)
        try:
            response = client.request(
                "POST",
                FLOW_PATH,
                retry=True,
                headers=self.queue_headers(machine),
                content=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
            )
            try:
                return response.json() if response.content else None
            except ValueError:
                return None
        finally:
            client.close()

    # -- start / rerun / resume (localcontrol.py) ------------------------------------------------------------
    def start(self, request: StartRequest) -> Run:
        from .localcontrol import start

        return start(self, request)

    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        from .localcontrol import rerun

        return rerun(self, run_ids, dry_run=dry_run)

    def resume(self, run_id: str, request: ResumeRequest) -> ResumeOutcome:
        from .localcontrol import resume

        return resume(self, run_id, request)

    # -- tail -----------------------------------------------------------------------------------------------
    def tail(self, run_id: str, request: TailRequest) -> Iterator[Event | Chunk]:
        """Events (or stream chunks); ``live`` follows until the run is terminal, never yielding anything twice:
        events on file-system notifications where they work, else (and stream chunks) by polling the directory
        every 150 ms (``localwatch``; ``request.interval`` is for engines without a cheap local poll)."""
        run_id = self._run_id(run_id)
        self._load(run_id)  # not found → raise now, not at the first next()
        if request.stream is not None:
            return self._tail_stream(run_id, request)
        return self._tail_events(run_id, request)

    def _is_terminal(self, run_id: str) -> bool:
        raw = self.data.read_run(run_id)
        return raw is not None and raw.get("status") in TERMINAL

    def _tail_events(self, run_id: str, request: TailRequest) -> Iterator[Event]:
        data = self.data
        wanted = event_filter(request.types)
        step_names: dict[str, str] = {}
        seen: set[str] = set()

        def learn(raw: dict[str, Any]) -> None:
            """Remember the event and its step name (only step_created/completed carry it; later events need
            it too) without decoding its payloads."""
            seen.add(raw["eventId"])
            learn_step_name(raw, step_names)

        def convert(raw: dict[str, Any], index: int) -> Event:
            return event_from_record(raw, run_id, index, step_names)

        terminal_seen_at = time.monotonic() if request.live and self._is_terminal(run_id) else None
        events = sorted(data.read_events(run_id), key=_event_key)
        shown = first_shown(events, request.offset, request.last, wanted)
        for i, raw in enumerate(events):
            learn(raw)
            if i in shown:
                yield convert(raw, i)
        if not request.live:
            return

        # Follow: poll until the run is terminal and its terminal event is in the log (world-local writes the
        # run record first and the event right after; a legacy cancel writes no event, hence the grace period).
        # File-system notifications where they work, else polling (localwatch.py): wake on this run's event files
        # and its run file only, and look anyway now and then.
        terminal_logged = any(e["eventType"] in TERMINAL_EVENTS for e in events)
        dirs = [data.events_dir, data.events_dir / run_id, data.runs_dir]
        prefix = f"{run_id}-"
        per_run_dir = str(data.events_dir / run_id)

        def ours(path: str) -> bool:
            return os.path.basename(path).startswith(prefix) or os.path.dirname(path) == per_run_dir

        from . import localwatch  # only a live tail watches (it imports threads and queues)

        waiter = localwatch.waiter(dirs, ours, f"{run_id}.json", self.ctx.warn, dirs[:2])
        look = localwatch.Look(True, True)
        try:
            while True:
                if terminal_seen_at is None and look.run and self._is_terminal(run_id):
                    terminal_seen_at = time.monotonic()
                    waiter.force()
                if look.entries:
                    for raw in sorted(data.read_events(run_id, skip=seen), key=_event_key):
                        index = len(seen)
                        learn(raw)
                        terminal_logged = terminal_logged or raw["eventType"] in TERMINAL_EVENTS
                        if wanted(raw["eventType"]):
                            yield convert(raw, index)
                if terminal_seen_at is not None and (
                    terminal_logged or time.monotonic() - terminal_seen_at > TERMINAL_GRACE
                ):
                    return
                if terminal_seen_at is not None and waiter.notifying:  # the grace period is timed: poll it
                    waiter.close()
                    waiter = localwatch.DirPoller(dirs[:2])
                try:
                    look = waiter.wait()
                except OSError as exc:  # the watcher died: poll from now on
                    self.ctx.warn(f"{exc}; polling every {localwatch.POLL_INTERVAL:g}s")
                    waiter = localwatch.DirPoller(dirs[:2])
                    look = localwatch.Look(True, True)
        finally:
            waiter.close()

    def _tail_stream(self, run_id: str, request: TailRequest) -> Iterator[Chunk]:
        from . import localwatch  # only a live tail watches (and imports threads and queues)

        data = self.data
        name = stream_name(run_id, request.stream or "")
        decoder = StreamDecoder()
        delivered: set[str] = set()
        files = data.chunk_files(name)
        if not files and not request.live and name not in data.registered_streams(run_id):
            known = ", ".join(s.namespace or "(default)" for s in self._streams(run_id)) or "none"
            self.ctx.warn(f"run {run_id} has no stream {name} yet (streams: {known})")
        start = stream_start(request.start_index, (data.chunk_is_eof(chunk) for chunk in files))
        after = chunk_offset(request.offset)
        index = 0  # data-chunk index of the next new chunk file

        def leftovers() -> list[Chunk]:
            """An unfinished frame at the end of what was read, as bytes."""
            return [Chunk(max(index - 1, 0), value, None) for value in decoder.flush()]

        def emit(chunk_files: list[Any]) -> Iterator[Chunk | None]:
            """Values of the chunk files not yet delivered, in order; None once the EOF chunk is reached."""
            nonlocal index
            for chunk in chunk_files:
                if chunk.chunk_id in delivered:
                    continue
                read = data.read_chunk(chunk)
                if read is None:
                    continue  # vanished or unreadable (warned)
                delivered.add(chunk.chunk_id)
                eof, payload = read
                if eof:
                    yield from leftovers()
                    yield None
                    return
                position = index
                index += 1
                if position < start or (after is not None and chunk.chunk_id < after[0]):
                    continue
                for k, value in enumerate(decoder.feed(payload)):
                    if after is None or (chunk.chunk_id, k) > after:
                        yield Chunk(position, value, chunk.chunk_id if k == 0 else f"{chunk.chunk_id}#{k}")

        # Follow until the EOF chunk or, since the SDK never closes run streams (#964), until the run is
        # terminal: then list twice more, a poll interval apart (a last write may land just after the status),
        # and stop. File-system notifications where they work, else polling (localwatch.py), as for events: wake
        # on this stream's chunk files (4.x flat, 5.0 in the stream's own directory) and the run file only.
        terminal = request.live and self._is_terminal(run_id)
        drains = 0
        own = data.chunks_dir / name
        dirs = [data.chunks_dir, own, data.runs_dir]
        prefix = f"{name}-"

        def ours(path: str) -> bool:
            return os.path.basename(path).startswith(prefix) or os.path.dirname(path) == str(own)

        waiter: Any = None
        watching_own = False
        listing = files
        try:
            while True:
                for item in emit(listing):
                    if item is None:
                        return
                    yield item
                if not request.live or drains >= 2:
                    yield from leftovers()
                    return
                if terminal:  # the drains are timed: poll them
                    time.sleep(localwatch.POLL_INTERVAL)
                    look = localwatch.Look(True, False)
                else:
                    if waiter is None or (not watching_own and own.is_dir()):
                        # A 5.0 stream's directory appears with its first chunk: watch it from then on.
                        if waiter is not None:
                            waiter.close()
                        watching_own = own.is_dir()
                        waiter = localwatch.waiter(dirs, ours, f"{run_id}.json", self.ctx.warn, dirs[:2])
                    try:
                        look = waiter.wait()
                    except OSError as exc:  # the watcher died: poll from now on
                        self.ctx.warn(f"{exc}; polling every {localwatch.POLL_INTERVAL:g}s")
                        waiter = localwatch.DirPoller(dirs[:2])
                        watching_own = True
                        look = localwatch.Look(True, True)
                    if look.run and self._is_terminal(run_id):
                        terminal = True
                if terminal:
                    drains += 1
                listing = data.chunk_files(name) if look.entries or terminal else []
        finally:
            if waiter is not None:
                waiter.close()

    # -- doctor ---------------------------------------------------------------------------------------------
    def doctor(self) -> list[Check]:
        checks: list[Check] = []
        try:
            data = self.data
        except (NotFoundError, UsageError) as exc:
            return [Check("data directory", False, exc.message)]
        runs = len(data.run_ids()[0])
        checks.append(Check("data directory", True, f"{data.root} ({self.data_source}; {runs} runs)"))
        if not os.access(data.root, os.W_OK):
            checks.append(Check("writable", False, f"{data.root} is not writable: cancel and wake need to write"))
        checks.extend(self._version_checks(data))
        url = self.app_url()
        explicit = bool(self.profile.get("app_url") or self.profile.env.get("WORKFLOW_LOCAL_BASE_URL"))
        checks.append(self._check_app(url, explicit))
        return checks

    def _version_checks(self, data: DataDir) -> list[Check]:
        """The world's versions: ``version.txt`` (4.x only writes it), the data layout, the spec versions and
        ``workflowCoreVersion`` of its runs, and whether wfctl reads and writes them."""
        checks = []
        try:
            version = (data.root / "version.txt").read_text(encoding="utf-8").strip()
        except OSError:
            version = None
        writer = self.writer
        layout = (
            "world-local 5.0 (per-stream chunk directories, run terminal markers, hook indexes)"
            if writer.v5_layout()
            else "world-local 4.x (flat)"
        )
        per_run = data.events_dir.is_dir() and any(entry.is_dir() for entry in os.scandir(data.events_dir))
        if per_run:
            layout += "; some runs in the per-run layout (read only)"
        detail = layout + (f"; version.txt: {version}" if version else "; no version.txt")
        checks.append(Check("data layout", True, detail))
        specs: list[Any] = []
        cores: dict[str, int] = {}
        ids, names = data.run_ids()
        for run_id in ids:
            raw = data.read_json(data.run_file(run_id, names), required=("runId", "status"))
            if raw is None:
                continue
            specs.append(raw.get("specVersion"))
            context = raw.get("executionContext")
            core = context.get("workflowCoreVersion") if isinstance(context, dict) else None
            if isinstance(core, str):
                cores[core] = cores.get(core, 0) + 1
        ok, detail = doctor_line(LOCAL, specs)
        if cores:
            detail += "; workflowCoreVersion " + ", ".join(f"{v} ×{n}" for v, n in sorted(cores.items()))
        checks.append(Check("spec versions", ok, detail if ok else detail + f" (wfctl reads up to {READ_MAX})"))
        return checks

    def _check_app(self, url: str, explicit: bool) -> Check:
        from ...http import HttpClient

        try:
            client = HttpClient(
                url,
                read_timeout=5.0,
                max_retries=0,
                engine="the Workflow SDK app",
                insecure=bool(self.profile.get("insecure")) or self.ctx.insecure,
            )
        except WfctlError as exc:
            return Check("app (for wake)", False, exc.message)
        try:
            client.request("GET", FLOW_PATH, retry=False, expect=tuple(range(400, 600)))
            return Check("app (for wake)", True, f"{url} answers")
        except WfctlError as exc:
            detail = f"{url} not reachable ({exc.message}); wake writes its events but cannot re-enqueue the run"
            return Check("app (for wake)", not explicit, detail)
        finally:
            client.close()


def _waits_of(records: Iterable[dict[str, Any]]) -> list[Wait]:
    """Wait records → sleeps, the soonest first."""
    waits = [
        Wait(
            raw["correlationId"],
            record_time(raw.get("resumeAt")),
            raw.get("status"),
            record_time(raw.get("completedAt")),
        )
        for raw in records
    ]
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(waits, key=lambda w: (w.resumeAt or far, w.correlationId))


def _hooks_of(records: Iterable[dict[str, Any]]) -> list[Hook]:
    """Hook records → hooks, the oldest first."""
    out = [
        Hook(
            raw["hookId"],
            raw.get("token"),
            record_time(raw.get("createdAt"), raw["hookId"]),
            decode_payload(raw.get("metadata")),
            raw["isSystem"] if isinstance(raw.get("isSystem"), bool) else None,
        )
        for raw in records
    ]
    return sorted(out, key=lambda h: (iso(h.createdAt) or "", h.hookId))


def _hooks_not_before(run_ids: Iterable[str]) -> int | None:
    """The oldest hook id time the runs' hooks can have (hook ids are minted after their run was created, at
    most ID_FUTURE_MARGIN_MS before the run id's time); None when some run id carries no time."""
    times = [ulid_time_ms(run_id) for run_id in run_ids]
    if not times or any(ms is None for ms in times):
        return None
    return min(ms for ms in times if ms is not None) - ID_FUTURE_MARGIN_MS


class _Suspensions:
    """Which runs of a local world wait, and on what, for one command (docs/architecture.md, "Waiting runs").

    A running run is waiting when it has a pending sleep (a wait record with status ``waiting``) or a live hook
    of its own (not the engine's ``isSystem`` hooks) and no step pending or running. Only live runs have wait
    and hook files — the world deletes them when a run ends — so ``waits/`` is listed once and ``hooks/`` read
    through 5.0's by-run index, or (4.x, no index) the hook files newer than the oldest run asked about; the
    flat ``steps/`` directory, which holds every run's steps, is listed once and only for the runs that have
    something pending."""

    def __init__(self, data: DataDir):
        self.data = data
        self._waits: dict[str, dict[str, str]] | None = None
        self._markers: dict[str, list[str]] | None = None
        self._indexed: bool | None = None
        self._scanned: tuple[int | None, dict[str, list[dict[str, Any]]]] | None = None

    def _wait_files(self) -> dict[str, dict[str, str]]:
        """``waits/`` by run: ``{runId: {entity: file name}}``."""
        if self._waits is None:
            self._waits = {}
            for entity, name in self.data.wait_files().items():
                self._waits.setdefault(entity.split("-", 1)[0], {})[entity] = name
        return self._waits

    def _hook_markers(self) -> dict[str, list[str]] | None:
        """5.0's complete hook index by run, ``{runId: [hookId]}``; None without one."""
        if self._indexed is None:
            markers = self.data.hook_markers()
            self._indexed = markers is not None
            self._markers = {}
            for entity in markers or {}:
                run_id, _, hook_id = entity.partition("-")
                if hook_id:
                    self._markers.setdefault(run_id, []).append(hook_id)
        return self._markers if self._indexed else None

    def _scan_hooks(self, not_before: int | None) -> dict[str, list[dict[str, Any]]]:
        """4.x: the live hook files (those not older than ``not_before``) by run; read again only when an
        older bound is asked for."""
        if self._scanned is not None:
            bound, by_run = self._scanned
            if bound is None or (not_before is not None and bound <= not_before):
                return by_run
        by_run = {}
        for _, raw in self.data.read_hooks(None, not_before):
            if isinstance(raw.get("runId"), str):
                by_run.setdefault(raw["runId"], []).append(raw)
        self._scanned = (not_before, by_run)
        return by_run

    def _hooks(self, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        markers = self._hook_markers()
        if markers is None:
            return self._scan_hooks(_hooks_not_before(run_ids))
        out: dict[str, list[dict[str, Any]]] = {}
        for run_id in run_ids:
            for hook_id in markers.get(run_id, []):
                raw = self.data.read_hook(hook_id)
                if raw is not None and raw.get("runId") == run_id:
                    out.setdefault(run_id, []).append(raw)
        return out

    def candidates(self) -> list[str]:
        """The runs with a wait file or a live hook: the only ones that can be waiting."""
        found = set(self._wait_files())
        markers = self._hook_markers()
        found.update(markers if markers is not None else self._scan_hooks(None))
        return sorted(found)

    def find(self, run_ids: Iterable[str]) -> dict[str, tuple[list[Wait], list[Hook]]]:
        """The runs among ``run_ids`` that are suspended, with their sleeps and hooks (whatever their status:
        the caller checks that the run is running)."""
        run_ids = list(dict.fromkeys(run_ids))
        if not run_ids:
            return {}
        waits = self._wait_files()
        hooks = self._hooks(run_ids)
        pending: dict[str, tuple[list[Wait], list[Hook]]] = {}
        for run_id in run_ids:
            found = (
                _waits_of(self.data.read_waits(run_id, waits[run_id])) if run_id in waits else [],
                _hooks_of(hooks.get(run_id, [])),
            )
            if suspension(run_id, *found) is not None:
                pending[run_id] = found
        if pending:
            for run_id, steps in self.data.steps_of(pending).items():
                if any(step.get("status") in BUSY_STEP_STATUSES for step in steps):
                    del pending[run_id]
        return pending
