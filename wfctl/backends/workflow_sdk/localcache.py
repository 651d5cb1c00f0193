"""The dashboard's summary of a local world's run files, kept between commands (docs/architecture.md,
"Start-up").

Counting runs by status means knowing every run file's ``status`` and ``workflowName``: reading 100,000 files
each time. The summary of each file is kept in wfctl's user cache directory, one file per data directory, keyed
by what it summarises, and never trusted over the files:

* each run file's summary is keyed by its name, size and modification time (nanoseconds); in a full check every
  file is stat'ed and one whose size or time differs is read again; a file changed within the last
  ``RACY_SECONDS`` is never kept (a rewrite of the same size in the same clock tick would look unchanged);
* the whole summary is also keyed by ``runs/`` itself (device, inode, modification time): world-local and wfctl
  replace a run file only by a rename or a link into place, which changes the directory, so while it is
  unchanged (and was not changed within ``RACY_SECONDS`` of the check) no file can have been added, removed or
  replaced and the summaries are the answer without 100,000 ``stat`` calls. A file rewritten in place (by hand)
  is seen at the next change of ``runs/`` or, at the latest, at the full check every ``FULL_CHECK_SECONDS``.

Deleting the cache file, or a cache file that does not parse or does not hold together, only makes the next
count read every file again. Several wfctl processes may count at once: each writes the whole file to a
temporary name in the same directory and renames it into place (``os.replace``), so a reader sees one complete
version or another, never a mixture.

The format is one JSON object of parallel arrays (one element per run; statuses and workflow names as indexes
into small tables): 100,000 runs load in about 30 ms, where one object per run took ten times that.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .localfs import RACY_SECONDS

VERSION = 2
#: The longest the summaries are trusted on the directory's word alone: then every file is stat'ed again.
FULL_CHECK_SECONDS = 600
__all__ = ["FULL_CHECK_SECONDS", "RACY_SECONDS", "RunSummaries", "cache_file"]

Row = tuple[int, int, "str | None", "str | None"]  # size, mtime_ns (-1: not to be trusted), status, workflowName


def cache_file(cache_dir: Path, data_root: Path) -> Path:
    """The cache file of a data directory: named by a checksum of its real path (zlib's, not hashlib's: loading
    OpenSSL costs a read command more than the whole count). Two directories that share a name only share a
    file: the file records its directory's path, and a cache of another directory is rebuilt, never used."""
    import zlib

    path = os.fsencode(os.path.realpath(data_root))
    return cache_dir / "local-world" / f"runs-{zlib.crc32(path):08x}{zlib.adler32(path):08x}.json"


def _strings(values: Any) -> bool:
    return type(values) is list and all(v is None or type(v) is str for v in values)


def _indexes(values: Any, n: int, table: list[Any]) -> bool:
    if type(values) is not list or len(values) != n:
        return False
    try:
        return not values or (min(values) >= 0 and max(values) < len(table) and all(type(v) is int for v in values))
    except TypeError:
        return False


class RunSummaries:
    """The summaries of one data directory's run files, as parallel lists (``ids[i]``'s file has size
    ``sizes[i]``, mtime ``mtimes[i]``, status ``statuses[s[i]]``, workflow ``workflows[w[i]]``; a status of
    None is a file that could not be read). ``key`` is ``runs/``'s :func:`~.localfs.dir_key` at the last full
    check that saw every file settled, ``checked`` when that check ran (epoch seconds)."""

    def __init__(self, path: Path | None, root: Path) -> None:
        self.path = path
        self.root = str(root)
        self.key: tuple[int, int, int] | None = None
        self.checked = 0.0
        self.ids: list[str] = []
        self.odd: dict[str, str] = {}
        self.sizes: list[int] = []
        self.mtimes: list[int] = []
        self.s: list[int] = []
        self.w: list[int] = []
        self.statuses: list[str | None] = []
        self.workflows: list[str | None] = []
        #: ``(key, ids)``: the runs found suspended (sleeps, hooks, no busy step) while the directories that
        #: decide it had ``key`` (``LocalWorldBackend._suspension_key``)
        self.waiting: tuple[list[Any], list[str]] | None = None
        self.changed = False
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
        except (OSError, ValueError, RecursionError):
            return  # none yet, deleted or unreadable: rebuilt from the files
        if not isinstance(data, dict) or data.get("version") != VERSION or data.get("root") != self.root:
            return
        ids, odd, sizes, mtimes = data.get("ids"), data.get("odd"), data.get("sizes"), data.get("mtimes")
        statuses: Any = data.get("statuses")
        workflows: Any = data.get("workflows")
        key: Any = data.get("key")
        checked: Any = data.get("checked")
        if type(ids) is not list or not _strings(statuses) or not _strings(workflows):
            return
        n = len(ids)
        try:
            "".join(ids)  # every id a string (at C speed)
        except TypeError:
            return
        if not (
            isinstance(odd, dict)
            and all(type(k) is str and type(v) is str for k, v in odd.items())
            and type(sizes) is list
            and type(mtimes) is list
            and len(sizes) == n
            and len(mtimes) == n
            and _indexes(data.get("s"), n, statuses)
            and _indexes(data.get("w"), n, workflows)
            and type(checked) in (int, float)
        ):
            return
        if not (key is None or (type(key) is list and len(key) == 3 and all(type(k) is int for k in key))):
            return
        self.ids, self.odd, self.sizes, self.mtimes = ids, odd, sizes, mtimes
        self.statuses, self.workflows, self.s, self.w = statuses, workflows, data["s"], data["w"]
        self.key = (key[0], key[1], key[2]) if key is not None else None
        self.checked = float(checked)
        waiting = data.get("waiting")
        if (
            isinstance(waiting, dict)
            and type(waiting.get("key")) is list
            and type(waiting.get("ids")) is list
            and all(type(i) is str for i in waiting["ids"])
        ):
            self.waiting = waiting["key"], waiting["ids"]

    def waiting_for(self, key: list[Any]) -> set[str] | None:
        """The suspended runs found while the directories had ``key``, if that is how they are now."""
        return set(self.waiting[1]) if self.waiting is not None and self.waiting[0] == key else None

    def keep_waiting(self, key: list[Any], ids: Any) -> None:
        if self.waiting is None or self.waiting[0] != key or set(self.waiting[1]) != set(ids):
            self.waiting = key, sorted(ids)
            self.changed = True

    def current(self, key: tuple[int, int, int] | None, now: float | None = None) -> bool:
        """Whether the summaries answer for ``runs/`` as it is (its ``dir_key``) without a full check."""
        now = time.time() if now is None else now
        return key is not None and key == self.key and 0 <= now - self.checked < FULL_CHECK_SECONDS

    def rows(self) -> dict[str, Row]:
        """``{run id: (size, mtime_ns, status, workflowName)}``, for a full check."""
        statuses, workflows = self.statuses, self.workflows
        return {
            run_id: (size, mtime, statuses[s], workflows[w])
            for run_id, size, mtime, s, w in zip(self.ids, self.sizes, self.mtimes, self.s, self.w, strict=True)
        }

    def replace(
        self,
        key: tuple[int, int, int] | None,
        ids: list[str],
        odd: dict[str, str],
        rows: list[Row],
        changed: bool,
        now: float | None = None,
    ) -> None:
        """The outcome of a full check: ``rows[i]`` is ``ids[i]``'s; ``key`` None when some file or ``runs/``
        itself was too recent to vouch for (the next count checks every file again)."""
        now = time.time() if now is None else now
        status_index: dict[str | None, int] = {}
        workflow_index: dict[str | None, int] = {}
        self.ids = ids
        self.odd = {run_id: name for run_id, name in odd.items()}
        self.sizes = [row[0] for row in rows]
        self.mtimes = [row[1] for row in rows]
        self.s = [status_index.setdefault(row[2], len(status_index)) for row in rows]
        self.w = [workflow_index.setdefault(row[3], len(workflow_index)) for row in rows]
        self.statuses = list(status_index)
        self.workflows = list(workflow_index)
        self.changed = self.changed or changed or key != self.key or now - self.checked > FULL_CHECK_SECONDS / 2
        self.key = key
        self.checked = now

    def save(self) -> None:
        """Write the summaries if they changed: a temporary file renamed into place; any failure is ignored
        (the cache is an optimisation)."""
        if self.path is None or not self.changed:
            return

        data = {
            "version": VERSION,
            "root": self.root,
            "key": list(self.key) if self.key is not None else None,
            "checked": self.checked,
            "statuses": self.statuses,
            "workflows": self.workflows,
            "odd": self.odd,
            "ids": self.ids,
            "sizes": self.sizes,
            "mtimes": self.mtimes,
            "s": self.s,
            "w": self.w,
            "waiting": {"key": self.waiting[0], "ids": self.waiting[1]} if self.waiting is not None else None,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # a name no other writer uses (exclusive create: a clash is an OSError, and the cache is skipped)
            temp = f"{self.path}.{os.getpid()}.{id(self):x}.{time.monotonic_ns()}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f, separators=(",", ":"))
                os.replace(temp, self.path)
            except BaseException:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
                raise
        except OSError:
            return
        self.changed = False
