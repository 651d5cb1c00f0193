"""Writes into a Workflow SDK local world: ``cancel``, ``wake``, ``start``/``rerun`` (``run_created``) and
``resume`` (``hook_received``) exactly as world-local writes them.

Two on-disk lines are written, each as its own world-local writes it (README, "Workflow SDK versions"):

* **4.x** (``@workflow/world-local`` 4.4.1, spec 3): the run file rewritten, the run's waits, hooks and token
  claims deleted, then the event published as ``evnt_<ULID>``.
* **5.0** (``@workflow/world-local`` 5.0.0-beta.46, specs 6 and 7), recognised by its bookkeeping
  (``.locks/runs/``, ``hooks/by-run/``, ``hooks/.hook-index-complete``, per-stream chunk directories) or by the
  run's own slot-numbered events: a terminal transition first creates the terminal marker
  ``.locks/runs/<runId>.terminal`` and reaps the run's staged hook events (``.locks/runs/<runId>.pending/``),
  then rewrites the run (keeping ``attributes``), deletes the run's hooks through the ``hooks/by-run/`` index
  (each token claim released under the claim's lock, only while it still names that hook), deletes its
  waits, and appends the event at the next position of the run's log (``evnt_`` + 26 digits), moving up a
  position when a live app took it first. A run whose log is ULID-numbered keeps ULIDs for life, as the
  world does, with an id that sorts after every event of the run.

``run_created`` publishes the run file exclusively (status ``pending``; 5.0 adds ``attributes: {}``), then the
event: ``evnt_<ULID>`` on 4.x, the log's first position on 5.0. ``hook_received`` checks that the hook lives
(its file, and on 5.0 no disposal lock ``.locks/hooks/<hookId>.disposed`` and no terminal marker), then on 4.x
publishes the event with a ULID; on 5.0 it does what ``resumeHook`` does through world-local 5.0: a resume
claim ``hooks/resumes/<sha256(runId NUL resumeId)>.json`` naming the position it means to take (exclusive), the
event (with ``resumeId``) staged under ``.locks/runs/<runId>.pending/`` and promoted into ``events/`` with a
hard link after the terminal marker is checked again, moving up a position when the app took it first, and
the claim rewritten with the position actually taken.

Every file is written the world's way: temp file + rename for overwrites, temp file + ``link`` for exclusive
publishes, ``open(..., "x")`` for lock files, so the running app and wfctl never see each other's partial
files. Which runs may be written at all is decided before this module is called (``versions``).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from ...errors import NotFoundError, UnavailableError
from ...model import CANCELLED, TERMINAL, CancelOutcome, parse_time
from .ids import new_ulid, slot_event_id, slot_of, ulid_time_ms
from .localfs import DataDir, entity_files, iso_now, safe_id
from .values import b64encode as b64

#: A claim lock (``proper-lockfile``'s ``<file>.lock`` directory) older than this is stale, as the SDK says.
CLAIM_LOCK_STALE_S = 30.0
CLAIM_LOCK_TIMEOUT_S = 10.0
#: Publishing the next event position: how many times to move up when the app took the position first.
MAX_SLOT_BUMPS = 10_000
DEFAULT_CANCEL_REASON = "Cancelled via wfctl"


class LocalWriter:
    def __init__(self, data: DataDir):
        self.data = data

    # -- what is on disk ------------------------------------------------------------------------------------
    def v5_layout(self) -> bool:
        """Whether the data directory carries world-local 5.0's bookkeeping."""
        root = self.data.root
        if (
            (root / ".locks" / "runs").is_dir()
            or (root / "hooks" / "by-run").is_dir()
            or (root / "hooks" / ".hook-index-complete").exists()
        ):
            return True
        chunks = self.data.chunks_dir
        try:
            return any(entry.is_dir() for entry in os.scandir(chunks))
        except OSError:
            return False

    def per_run_layout(self, run_id: str) -> bool:
        """Events or steps of this run in ``events/<runId>/`` (a layout no released TypeScript world writes)."""
        return (self.data.events_dir / run_id).is_dir() or (self.data.root / "steps" / run_id).is_dir()

    def event_ids(self, run_id: str) -> list[str]:
        prefix = f"{run_id}-"
        return [entity[len(prefix) :] for entity in entity_files(self.data.events_dir, prefix=prefix)]

    # -- events ---------------------------------------------------------------------------------------------
    def _event_path(self, run_id: str, event_id: str) -> Path:
        return self.data.events_dir / f"{run_id}-{event_id}.json"

    def append_event(
        self, run_id: str, event: dict[str, Any], *, dominant: bool = False, created: str | None = None
    ) -> str:
        """Publish ``event`` (without ``eventId``/``createdAt``, added here in the world's key order) at the run's
        next log position, or with a new ULID for a ULID-numbered run; returns the event id.

        ``dominant`` (5.0 terminal events): a ULID id that sorts after every event already in the run, with
        ``createdAt`` at that id's time (world-local's ``mintRunDominantEventKey``). ``created``: the
        ``createdAt`` of a plain ULID event (4.x stamps the event with the time its transition started).
        """
        ids = self.event_ids(run_id)
        slots = [s for s in (slot_of(i) for i in ids) if s is not None]
        if ids and not slots:  # a ULID-numbered log stays on ULIDs
            if dominant:
                newest = max((ulid_time_ms(i) or 0) for i in ids)
                now_ms = max(int(time.time() * 1000), newest + 1)
                event_id = f"evnt_{new_ulid(now_ms)}"
                created = _iso_ms(now_ms)
            else:
                event_id, created = f"evnt_{new_ulid()}", created or iso_now()
            if not self.data.publish(self._event_path(run_id, event_id), _stamped(event, run_id, event_id, created)):
                raise UnavailableError(f"event {event_id} of {run_id} already exists")
            return event_id
        slot = max(slots, default=0) + 1
        for _ in range(MAX_SLOT_BUMPS):
            event_id = slot_event_id(slot)
            path = self._event_path(run_id, event_id)
            if not path.exists() and self.data.publish(path, _stamped(event, run_id, event_id, iso_now())):
                return event_id
            slot += 1  # the app wrote this position first: take the next one
        raise UnavailableError(f"could not append to the event log of {run_id}: every position was taken")

    # -- cancel ---------------------------------------------------------------------------------------------
    def cancel(
        self,
        run_id: str,
        raw: dict[str, Any],
        reason: str | None,
        waits: list[str],
        hooks: list[tuple[str, dict[str, Any]]],
    ) -> CancelOutcome:
        """``run_cancelled``: ``waits`` and ``hooks`` are the run's wait files and (file name, hook) pairs found
        by a directory scan (used where the data dir has no hook index)."""
        data = self.data
        v5 = self.v5_layout() or any(slot_of(i) is not None for i in self.event_ids(run_id))
        if v5:
            data.claim(data.sub(".locks", "runs", f"{run_id}.terminal"))
            self._reap_staged_hook_events(run_id)
        fresh = data.read_run(run_id) or raw  # narrow the window against the app's own transitions
        if fresh.get("status") in TERMINAL:
            return CancelOutcome(run_id, "already_completed", f"run already {fresh['status']}", fresh["status"])
        now = iso_now()
        keep = (
            "runId",
            "deploymentId",
            "workflowName",
            "specVersion",
            "executionContext",
            "input",
            "createdAt",
            "expiredAt",
            "startedAt",
        )
        record = {k: fresh[k] for k in keep if fresh.get(k) is not None}
        record.update(status=CANCELLED, completedAt=now, updatedAt=now)
        for key in ("attributes", "encryptionPublicKey"):  # 5.0 fields, kept as the world keeps them
            if fresh.get(key) is not None:
                record[key] = fresh[key]
        data.write_json(data.run_path(run_id), record)
        if v5:
            self._delete_hooks_v5(run_id, hooks)
        else:
            self._delete_hooks_v4(run_id, hooks)
        for name in waits:
            data.delete(data.sub("waits", name))
        spec = fresh.get("specVersion")
        event: dict[str, Any] = {"eventType": "run_cancelled", "specVersion": spec}
        if v5:  # 5.0's cancelRun records the reason; 4.x has no field for it
            event["eventData"] = {"cancelReason": reason or DEFAULT_CANCEL_REASON}
        self.append_event(run_id, event, dominant=v5, created=now)
        message = "cancelled; a step already running is not interrupted"
        if reason and not v5:
            message += " (this world has no field for a reason; it was not recorded)"
        return CancelOutcome(run_id, "cancelled", message, CANCELLED)

    def _reap_staged_hook_events(self, run_id: str) -> None:
        staged = self.data.sub(".locks", "runs", f"{run_id}.pending")
        try:
            names = os.listdir(staged)
        except FileNotFoundError:
            return
        for name in names:
            self.data.delete(staged / name)
        try:
            os.rmdir(staged)
        except OSError:
            pass  # a resume staging concurrently recreates it; an empty leftover is harmless

    def _delete_hooks_v4(self, run_id: str, hooks: list[tuple[str, dict[str, Any]]]) -> None:
        data = self.data
        for name, hook in hooks:
            token = hook.get("token")
            if isinstance(token, str):
                data.delete(self._claim_path(token))
                data.delete(self._recovery_path(token, run_id, hook["hookId"]))
            data.delete(data.sub("hooks", name))

    def _delete_hooks_v5(self, run_id: str, scanned: list[tuple[str, dict[str, Any]]]) -> None:
        """world-local 5.0's ``deleteAllHooksForRun``: through the by-run markers when the hook index is
        complete, else from the scanned hook files (the app backfills its index itself when it next needs it)."""
        data = self.data
        by_run = data.sub("hooks", "by-run")
        indexed = data.sub("hooks", ".hook-index-complete").exists()
        markers = {entity: name for entity, name in entity_files(by_run, prefix=f"{run_id}-").items()}
        hooks: list[tuple[str | None, dict[str, Any] | None, str | None]] = []
        if indexed:
            for _entity, name in markers.items():
                marker = data.read_json(by_run / name)
                hook_id = marker.get("hookId") if marker else None
                hook = data.read_json(data.sub("hooks", f"{hook_id}.json")) if isinstance(hook_id, str) else None
                hooks.append((f"{hook_id}.json" if hook else None, hook, name))
        else:
            for name, hook in scanned:
                marker_entity = f"{run_id}-{hook.get('hookId')}"
                hooks.append((name, hook, markers.pop(marker_entity, None)))
            hooks.extend((None, None, name) for name in markers.values())
        now_ms = time.time() * 1000
        for hook_file, hook, marker_name in hooks:
            if hook is not None and hook_file is not None and hook.get("runId") == run_id:
                until = parse_time(hook.get("tokenRetentionUntil"))
                if until is not None and until.timestamp() * 1000 > now_ms:
                    continue  # the world keeps a hook whose token is retained (and its marker)
                token = hook.get("token")
                if isinstance(token, str):
                    self._release_claim(token, run_id, str(hook.get("hookId")))
                    data.delete(self._recovery_path(token, run_id, str(hook.get("hookId"))))
                data.delete(data.sub("hooks", hook_file))
            if marker_name is not None:
                data.delete(by_run / marker_name)

    def _claim_path(self, token: str) -> Path:
        return self.data.sub("hooks", "tokens", hashlib.sha256(token.encode("utf-8")).hexdigest() + ".json")

    def _recovery_path(self, token: str, run_id: str, hook_id: str) -> Path:
        key = hashlib.sha256(f"{token}\0{run_id}\0{hook_id}".encode("utf-8")).hexdigest()
        return self.data.sub("hooks", "tokens", f"{key}.recovery.json")

    def _release_claim(self, token: str, run_id: str, hook_id: str) -> None:
        """Delete the token claim only while it still belongs to this hook, under the claim's lock (the
        ``<claim>.lock`` directory the SDK's lock library creates), so a new owner's claim is never lost."""
        claim = self._claim_path(token)
        with _DirLock(Path(f"{claim}.lock")):
            current = self.data.read_json(claim)
            if current is not None and current.get("runId") == run_id and current.get("hookId") == hook_id:
                self.data.delete(claim)

    # -- wake -----------------------------------------------------------------------------------------------
    def complete_wait(self, run_id: str, corr: str, created: dict[str, Any], spec: Any) -> bool:
        """``wait_completed``: lock, wait record, event. False when someone else completed it first (the app's
        own timer), which the SDK still counts as stopped."""
        data = self.data
        now = iso_now()
        created_data = created.get("eventData")
        resume_at = created_data.get("resumeAt") if isinstance(created_data, dict) else None
        key = f"{run_id}-{safe_id('correlation id', corr)}"
        lock = data.sub(".locks", "waits", f"{key}.completed")
        if not data.claim(lock):
            return False
        name = entity_files(data.sub("waits"), prefix=key).get(key)
        wait = data.read_json(data.sub("waits", name)) if name else None
        if wait is None or name is None:
            data.delete(lock)
            raise NotFoundError(f"wait {key} not found")
        wait.update(status="completed", completedAt=now, updatedAt=now)
        data.write_json(data.sub("waits", name), wait)
        event = {
            "eventType": "wait_completed",
            "correlationId": corr,
            "specVersion": spec,
            "eventData": {"resumeAt": resume_at} if resume_at else {},
        }
        self.append_event(run_id, event, created=now)
        return True


class HookGone(Exception):
    """The hook can no longer be received: disposed, deleted, or its run ended (``reason`` says which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def create_run(
    writer: "LocalWriter", run_id: str, record: dict[str, Any], event_data: dict[str, Any], *, slots: bool
) -> str:
    """``run_created``: the run file (exclusive), then the event (the log's first position with ``slots``,
    else ``evnt_<ULID>``), both stamped with one time; returns the event id."""
    data = writer.data
    now = iso_now()
    record = {**record, "createdAt": now, "updatedAt": now}
    if not data.publish(data.run_path(run_id), record):
        raise UnavailableError(f"run {run_id} already exists")
    event = {"eventType": "run_created", "specVersion": record.get("specVersion"), "eventData": event_data}
    if slots:
        return writer.append_event(run_id, event)
    event_id = f"evnt_{new_ulid()}"
    if not data.publish(writer._event_path(run_id, event_id), _stamped(event, run_id, event_id, now)):
        raise UnavailableError(f"event {event_id} of {run_id} already exists")
    return event_id


def hook_gone(writer: "LocalWriter", run_id: str, hook_id: str, *, v5: bool) -> str | None:
    """Why the hook cannot take a payload now (one phrase), or None."""
    data = writer.data
    if v5 and data.sub(".locks", "hooks", f"{hook_id}.disposed").exists():
        return f"hook {hook_id} was disposed"
    if not data.sub("hooks", f"{hook_id}.json").exists():
        return f"hook {hook_id} no longer exists (disposed, or its run ended)"
    if v5 and data.sub(".locks", "runs", f"{run_id}.terminal").exists():
        return f"run {run_id} has ended"
    run = data.read_run(run_id)
    if run is not None and run.get("status") in TERMINAL:
        return f"run {run_id} is {run.get('status')}"
    return None


def receive_hook(
    writer: "LocalWriter", run_id: str, hook_id: str, token: str, payload: bytes, *, spec: int, v5: bool
) -> str:
    """``hook_received`` for a live hook; returns the event id. Raises :class:`HookGone` when the hook or its run
    ended first (nothing was published then)."""
    data = writer.data
    reason = hook_gone(writer, run_id, hook_id, v5=v5)
    if reason is not None:
        raise HookGone(reason)
    event: dict[str, Any] = {
        "eventType": "hook_received",
        "specVersion": spec,
        "correlationId": hook_id,
        "eventData": {"token": token, "payload": {"__type": "Uint8Array", "data": b64(payload)}},
    }
    if not v5:
        event_id = f"evnt_{new_ulid()}"
        if not data.publish(writer._event_path(run_id, event_id), _stamped(event, run_id, event_id, iso_now())):
            raise UnavailableError(f"event {event_id} of {run_id} already exists")
        return event_id
    resume_id = new_ulid()
    digest = hashlib.sha256(payload).hexdigest()
    ids = writer.event_ids(run_id)
    slots = [s for s in (slot_of(i) for i in ids) if s is not None]
    ulids = bool(ids) and not slots
    event_id = f"evnt_{new_ulid()}" if ulids else slot_event_id(max(slots, default=0) + 1)
    key = hashlib.sha256(f"{run_id}\0{resume_id}".encode("utf-8")).hexdigest()
    claim_path = data.sub("hooks", "resumes", f"{key}.json")

    def claim(eid: str) -> dict[str, Any]:
        return {"runId": run_id, "resumeId": resume_id, "hookId": hook_id, "eventId": eid, "payloadDigest": digest}

    if not data.publish(claim_path, claim(event_id)):
        raise UnavailableError(f"resume claim {claim_path.name} already exists")
    claimed = event_id
    staging = data.sub(".locks", "runs", f"{run_id}.pending")
    for _ in range(MAX_SLOT_BUMPS):
        stamped = {**_stamped(event, run_id, event_id, iso_now()), "resumeId": resume_id}
        staged = staging / f"{event_id}.{new_ulid()}.json"
        if not data.publish(staged, stamped):
            raise UnavailableError(f"could not stage the event of {run_id}: {staged.name} exists")
        try:
            if data.sub(".locks", "runs", f"{run_id}.terminal").exists():
                raise HookGone(f"run {run_id} has ended")
            try:
                os.link(staged, writer._event_path(run_id, event_id))
                linked = True
            except FileExistsError:
                linked = False
            except FileNotFoundError:  # a terminal transition reaped the staged event first
                raise HookGone(f"run {run_id} has ended") from None
        finally:
            data.delete(staged)
        if linked:
            if event_id != claimed:
                data.write_json(claim_path, claim(event_id))
            return event_id
        if ulids:
            event_id = f"evnt_{new_ulid()}"
        else:
            event_id = slot_event_id((slot_of(event_id) or 0) + 1)  # the app took it: the next position
    raise UnavailableError(f"could not append to the event log of {run_id}: every position was taken")


def _stamped(event: dict[str, Any], run_id: str, event_id: str, created: str) -> dict[str, Any]:
    """The event as the world stores it: its own keys, then ``runId``, ``eventId``, ``createdAt``."""
    out = {k: v for k, v in event.items() if v is not None}
    return {**out, "runId": run_id, "eventId": event_id, "createdAt": created}


def _iso_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class _DirLock:
    """A lock compatible with the SDK's (``proper-lockfile``): a ``mkdir``-created directory, stale after
    :data:`CLAIM_LOCK_STALE_S` without an mtime update. Held only for a read and a delete."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "_DirLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + CLAIM_LOCK_TIMEOUT_S
        while True:
            try:
                os.mkdir(self.path)
                return self
            except FileExistsError:
                try:
                    age = time.time() - os.stat(self.path).st_mtime
                except FileNotFoundError:
                    continue
                if age > CLAIM_LOCK_STALE_S:
                    try:
                        os.rmdir(self.path)
                    except OSError:
                        pass
                    continue
            if time.monotonic() > deadline:
                raise OSError(f"{self.path} is held by another process (the app)")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        try:
            os.rmdir(self.path)
        except OSError:
            pass
