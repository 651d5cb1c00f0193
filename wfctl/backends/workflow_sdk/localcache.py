"""The dashboard's summary of a local world's run files, kept between commands (docs/architecture.md,
"Start-up").

Counting runs by status means knowing every run file's ``status`` and ``workflowName``: reading 100,000 files
each time. The summary of each file is kept in wfctl's user cache directory, one file per data directory, keyed
by what it summarises: the run file's name, size and modification time (nanoseconds). It is never trusted over
the files: an entry whose size or time differs from the file's is read again, and a file changed within the
last ``RACY_SECONDS`` is never kept (a rewrite of the same size in the same clock tick would look unchanged).
Deleting the cache file, or a cache file that does not parse, only makes the next count read every file
again. Several wfctl processes may count at once: each writes the whole file to a temporary name in the same
directory and renames it into place (``os.replace``), so a reader sees one complete version or another, never
a mixture, and every entry it sees is checked against the run file anyway.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

VERSION = 1
RACY_SECONDS = 2.0


def cache_file(cache_dir: Path, data_root: Path) -> Path:
    import hashlib

    key = hashlib.sha256(os.fsencode(os.path.realpath(data_root))).hexdigest()[:24]
    return cache_dir / "local-world" / f"runs-{key}.json"


def _valid(entry: Any) -> bool:
    return (
        type(entry) is list
        and len(entry) == 4
        and type(entry[0]) is int
        and type(entry[1]) is int
        and type(entry[2]) is str
        and (entry[3] is None or type(entry[3]) is str)
    )


class RunSummaries:
    """``{file name: [size, mtime_ns, status, workflowName]}`` of a data directory's run files."""

    def __init__(self, path: Path | None, root: Path) -> None:
        self.path = path
        self.root = str(root)
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        if path is not None:
            self.entries = self._load(path)

    def _load(self, path: Path) -> dict[str, list[Any]]:
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
        except (OSError, ValueError, RecursionError):
            return {}  # none yet, deleted or unreadable: rebuilt from the files
        if not isinstance(data, dict) or data.get("version") != VERSION or data.get("root") != self.root:
            return {}
        entries = data.get("runs")
        if not isinstance(entries, dict):
            return {}
        return {name: entry for name, entry in entries.items() if _valid(entry)}

    def get(self, name: str, size: int, mtime_ns: int) -> tuple[str, str | None] | None:
        entry = self.entries.get(name)  # valid (checked when loaded)
        if entry is not None and entry[0] == size and entry[1] == mtime_ns:
            return entry[2], entry[3]
        return None

    def put(self, name: str, size: int, mtime_ns: int, status: str, machine: str | None) -> None:
        if time.time_ns() - mtime_ns < RACY_SECONDS * 1e9:
            if name in self.entries:
                del self.entries[name]
                self.changed = True
            return
        self.entries[name] = [size, mtime_ns, status, machine]
        self.changed = True

    def keep_only(self, names: set[str]) -> None:
        gone = [name for name in self.entries if name not in names]
        for name in gone:
            del self.entries[name]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        """Write the summaries if they changed: a temporary file renamed into place; any failure is ignored
        (the cache is an optimisation)."""
        if self.path is None or not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump({"version": VERSION, "root": self.root, "runs": self.entries}, f, separators=(",", ":"))
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
