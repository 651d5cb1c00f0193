"""Waiting for a local world's files to change, for ``tail --live`` (docs/architecture.md, "Start-up").

Where the platform has file-system notifications (inotify, FSEvents, kqueue, ReadDirectoryChangesW) they come
through ``watchfiles`` (imported only here, only by ``--live``), on a thread that hands each batch of changed
paths to the reader: an event written by the app is printed tens of milliseconds after it lands instead of up
to a poll interval later, and a busy world's changes to other runs do not make the reader list the directory.
Notifications are a hint, never the truth: the reader also looks every ``SAFETY_INTERVAL`` seconds whatever
it was told (a network file system may deliver nothing), and once right after the watcher has started (what
landed between the catch-up and the start).

Without ``watchfiles``, when it cannot watch (no inotify watches left, a file system it cannot watch), or with
``WFCTL_LOCAL_WATCH=poll``, the reader polls as before: the directories' modification times every
``POLL_INTERVAL`` seconds.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

POLL_INTERVAL = 0.15  # seconds between directory polls (world-local's own readers poll every 100 ms)
SAFETY_INTERVAL = 1.0  # with notifications: look anyway after this long without a relevant one
STEP_MS = 5  # a batch of changes is handed over once this long passes without another
DEBOUNCE_MS = 40  # ... or after this long, under a steady stream of writes
ENV = "WFCTL_LOCAL_WATCH"  # "poll": never use notifications


class Look:
    """What to look at after a wait: the run's events (or chunks) and/or its run file."""

    __slots__ = ("entries", "run")

    def __init__(self, entries: bool, run: bool) -> None:
        self.entries = entries
        self.run = run


class DirPoller:
    """Cheap change detection for polling: re-list a directory only when its mtime moved.

    Directory mtimes have coarse granularity, so a directory touched within the last second is always
    re-listed; ``force()`` makes the next check list regardless.
    """

    notifying = False

    def __init__(self, paths: list[Any]):
        self.paths = paths
        self.last: tuple[int, ...] | None = None
        self.forced = True

    def _signature(self) -> tuple[int, ...]:
        out = []
        for path in self.paths:
            try:
                out.append(os.stat(path).st_mtime_ns)
            except OSError:
                out.append(0)
        return tuple(out)

    def force(self) -> None:
        self.forced = True

    def changed(self) -> bool:
        signature = self._signature()
        recent = any(time.time_ns() - ns < 1_000_000_000 for ns in signature if ns)
        changed = self.forced or recent or signature != self.last
        self.last, self.forced = signature, False
        return changed

    def wait(self) -> Look:
        time.sleep(POLL_INTERVAL)
        return Look(self.changed(), True)

    def close(self) -> None:
        pass


class Notifier:
    """File-system notifications for ``dirs`` (not recursive), filtered to the paths ``entry`` or ``run_file``
    says matter. Raises ``OSError`` or ``ImportError`` from the constructor when it cannot watch."""

    notifying = True

    def __init__(self, dirs: list[Path], entry: Callable[[str], bool], run_file: str) -> None:
        import watchfiles

        self._entry = entry
        self._run_file = run_file
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._forced = True  # the first look, right after the watcher started
        self._last_look = time.monotonic()
        watched = [d for d in dirs if d.is_dir()]
        if not watched:
            raise OSError("nothing to watch")
        changes = watchfiles.watch(
            *watched,
            watch_filter=None,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=int(SAFETY_INTERVAL * 1000),
            yield_on_timeout=True,
            recursive=False,
            raise_interrupt=False,
        )
        self._thread = threading.Thread(target=self._pump, args=(changes,), name="wfctl-watch", daemon=True)
        self._thread.start()
        started = self._queue.get(timeout=10)  # the watcher's first answer: it is watching (or failed)
        if isinstance(started, BaseException):
            raise OSError(f"cannot watch {watched[0]}: {started}")
        if started:
            self._queue.put(started)

    def _pump(self, changes: Any) -> None:
        try:
            first = True
            for batch in changes:
                if first:  # the watcher is running: tell the constructor
                    self._queue.put(set())
                    first = False
                if batch:
                    self._queue.put(batch)
                if self._stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - any failure of the watcher makes the reader poll
            self._queue.put(exc)

    def force(self) -> None:
        self._forced = True

    def wait(self) -> Look:
        if self._forced:
            self._forced = False
            self._last_look = time.monotonic()
            return Look(True, True)
        deadline = self._last_look + SAFETY_INTERVAL
        entries = run = False
        while not (entries or run):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._last_look = time.monotonic()
                return Look(True, True)  # the safety look
            try:
                batch = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(batch, BaseException):  # the watcher died: poll from now on (the caller's fallback)
                raise OSError(f"file-system notifications stopped: {batch}")
            for _change, path in batch:
                name = os.path.basename(path)
                if name == self._run_file:
                    run = True
                elif self._entry(path):
                    entries = True
        return Look(entries, run)

    def close(self) -> None:
        self._stop.set()


def waiter(
    dirs: list[Path], entry: Callable[[str], bool], run_file: str, warn: Callable[[str], None], poll: list[Path]
) -> Any:
    """A :class:`Notifier` of ``dirs`` where notifications work, else a :class:`DirPoller` of ``poll``."""
    if os.environ.get(ENV, "").strip().lower() != "poll":
        try:
            return Notifier(dirs, entry, run_file)
        except ImportError:
            pass  # not installed: polling, silently (it is the documented fallback)
        except (OSError, RuntimeError, queue.Empty) as exc:
            warn(f"file-system notifications unavailable ({exc}); polling every {POLL_INTERVAL:g}s")
    return DirPoller(poll)
