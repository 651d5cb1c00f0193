"""The Workflow SDK local world's data directory on disk (the layouts: docs/architecture.md, "Workflow SDK local
world"; recorded worlds in examples/).

Reading: the flat layout (``events/<runId>-<eventId>.json``) and the per-run layout
(``events/<runId>/<runId>-<eventId>.json``; steps likewise), tagged file names (``<id>.<tag>.json``), legacy
``.json`` stream chunks, and in-flight temp files (``*.tmp.*``) skipped. A file that is corrupt or
half-written is skipped with a warning (through the ``warn`` callback), never a crash; a file that vanished
between the listing and the read is skipped silently (the app deletes waits and hooks as runs end).

Writing follows world-local exactly, so the running app and wfctl never see each other's partial files:
overwrites are a temp file (``<path>.tmp.<ULID>``) + ``os.replace``; exclusive publishes write the temp file
and ``os.link`` it into place (failing if the target exists); lock files are created with ``open(path, "x")``.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ...errors import NotFoundError, UsageError
from .ids import new_ulid, ulid_time_ms

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field
else:
    from ..._record import dataclass, field

DATA_DIR_NAMES = (".next/workflow-data", ".workflow-data", "workflow-data")
ENV_DATA_DIR = "WORKFLOW_LOCAL_DATA_DIR"
#: A directory or file changed within this many seconds may change again within the same clock tick of its
#: modification time: what is known about it is not kept (the "racy" rule; docs/architecture.md, "Start-up").
RACY_SECONDS = 2.0


def dir_key(directory: Path | str) -> tuple[int, int, int] | None:
    """``(device, inode, mtime_ns)`` of a directory: it changes whenever an entry is added, removed or renamed
    (every write of world-local and of wfctl is a rename or a link into place). None when the directory is
    missing or changed within ``RACY_SECONDS`` (a later change in the same tick could keep the same time)."""
    try:
        st = os.stat(directory)
    except OSError:
        return None
    if time.time_ns() - st.st_mtime_ns < RACY_SECONDS * 1e9:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


# -- file names ----------------------------------------------------------------------------------------

_TAG_RE = re.compile(r"\.[a-zA-Z][a-zA-Z0-9-]*$")


def strip_tag(file_id: str) -> str:
    """``wrun_ABC.vitest-0`` → ``wrun_ABC`` (world-local's test-isolation tags)."""
    return _TAG_RE.sub("", file_id)


def is_temp(name: str) -> bool:
    return ".tmp." in name


def safe_id(kind: str, value: str) -> str:
    """Reject ids that could leave the data directory (world-local's ``assertSafeEntityId``)."""
    if not value or value.startswith(".") or any(c in value for c in "/\\\0"):
        raise UsageError(f"invalid {kind} {value!r}")
    return value


def safe_stream(name: str) -> bool:
    """A stream name that names a directory inside ``streams/chunks`` (never a path out of it)."""
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0")


def list_names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []


def entity_files(directory: Path, ext: str = ".json", prefix: str = "") -> dict[str, str]:
    """``{entity id (tag stripped): file name}`` of the finished entity files in ``directory``.

    An untagged file wins over a tagged file of the same id. (Hot path: 100,000 names in tens of ms.)
    """
    return _entities(list_names(directory), ext, prefix)


def _entities(names: Iterable[str], ext: str = ".json", prefix: str = "") -> dict[str, str]:
    """:func:`entity_files` of names already listed."""
    cut = len(ext)
    out: dict[str, str] = {}
    dotted: list[str] = []
    for name in names:
        if name.endswith(ext) and name.startswith(prefix):
            stem = name[:-cut]
            if "." in stem:
                dotted.append(name)
            else:
                out[stem] = name
    for name in dotted:  # tagged files (rare); temp files never end in the extension but are excluded anyway
        if not is_temp(name):
            out.setdefault(strip_tag(name[:-cut]), name)
    return out


def iso_now() -> str:
    """The current time as JavaScript's ``toISOString()`` writes it."""
    ms = int(time.time() * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def dumps(data: Any) -> str:
    """``JSON.stringify(data, replacer, 2)``: two-space indent, non-ASCII kept."""
    return json.dumps(data, indent=2, ensure_ascii=False)


# -- discovery -----------------------------------------------------------------------------------------


def find_data_dir(explicit: str | None, env: Mapping[str, str], cwd: str | None = None) -> tuple[Path, str]:
    """The data directory and where it came from.

    ``explicit`` (``--data-dir`` / the profile's ``data_dir``) > ``WORKFLOW_LOCAL_DATA_DIR`` > the first of
    ``.next/workflow-data``, ``.workflow-data``, ``workflow-data`` found in ``cwd`` or one of its parents
    (``cwd`` itself counts when it is such a directory).
    """
    cwd_path = Path(cwd or os.getcwd())
    for value, source in ((explicit, "data_dir"), (env.get(ENV_DATA_DIR), ENV_DATA_DIR)):
        if value:
            path = (cwd_path / Path(value).expanduser()).resolve()
            if not path.is_dir():
                raise NotFoundError(
                    f"Workflow SDK data directory {path} (from {source}) does not exist",
                    hint="start the app once so it creates it, or fix the path",
                )
            return path, source
    resolved = cwd_path.resolve()
    for suffix in DATA_DIR_NAMES:
        parts = suffix.split("/")
        if resolved.parts[-len(parts) :] == tuple(parts):
            return resolved, "current directory"
    tried: list[Path] = []
    for directory in (resolved, *resolved.parents):
        for name in DATA_DIR_NAMES:
            candidate = directory / name
            if candidate.is_dir():
                return candidate, f"found from {resolved}"
        tried.append(directory)
    shown = ", ".join(str(d) for d in tried[:6]) + (", ..." if len(tried) > 6 else "")
    raise NotFoundError(
        "no Workflow SDK local world data directory found: tried " + ", ".join(DATA_DIR_NAMES) + f" in {shown}",
        hint=f"run wfctl inside the app's project, or pass --data-dir / set {ENV_DATA_DIR}",
    )


# -- the directory -------------------------------------------------------------------------------------

Warn = Callable[[str], None]


@dataclass
class ChunkFile:
    chunk_id: str  # chnk_<ULID>
    path: Path


@dataclass
class DataDir:
    """Typed access to one data directory. Reads never raise for bad files; writes raise OSError."""

    root: Path
    warn: Warn = lambda message: None
    _warned: set[str] = field(default_factory=set, repr=False)
    #: ``(dir_key(runs/), ids, odd names)`` of the last listing of ``runs/``: reused while the key is unchanged
    _listing: Any = field(default=None, repr=False, compare=False)

    # paths
    def sub(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def events_dir(self) -> Path:
        return self.root / "events"

    @property
    def chunks_dir(self) -> Path:
        return self.root / "streams" / "chunks"

    def run_path(self, run_id: str) -> Path:
        safe_id("run id", run_id)
        plain = self.runs_dir / f"{run_id}.json"
        if plain.exists():
            return plain
        tagged = [n for n in entity_files(self.runs_dir, prefix=f"{run_id}.").values() if strip_tag(n[:-5]) == run_id]
        return self.runs_dir / tagged[0] if tagged else plain

    # reading
    def _warn_once(self, path: Path, reason: str) -> None:
        key = str(path)
        if key not in self._warned:
            self._warned.add(key)
            self.warn(f"skipping {path}: {reason}")

    def read_bytes(self, path: Path) -> bytes | None:
        """A file's bytes; None when it is missing (silently: the app deletes files) or unreadable (warned)."""
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            self._warn_once(path, exc.strerror or str(exc))
            return None

    def read_json(self, path: Path, *, required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """A JSON object, or None when missing (silently) or corrupt (with a warning)."""
        raw = self.read_bytes(path)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._warn_once(path, f"not valid JSON (corrupt or half-written: {exc})")
            return None
        if not isinstance(data, dict):
            self._warn_once(path, "not a JSON object")
            return None
        missing = [key for key in required if not isinstance(data.get(key), str)]
        if missing:
            self._warn_once(path, "missing " + ", ".join(missing))
            return None
        return data

    def run_ids(self) -> tuple[list[str], dict[str, str]]:
        """Every run id, and the file names of the runs whose file is not ``<runId>.json`` (tagged files).

        The hot path of ``list`` on large directories: one ``listdir`` and two comprehensions, once per change
        of ``runs/`` in a process (the dashboard asks for counts, recent runs and failures). The lists returned
        are shared: callers do not modify them.
        """
        key = dir_key(self.runs_dir)
        if key is not None and self._listing is not None and self._listing[0] == key:
            return self._listing[1], self._listing[2]
        ids, names = self._list_run_ids()
        self._listing = (key, ids, names) if key is not None else None
        return ids, names

    def seed_run_ids(self, key: tuple[int, int, int], ids: list[str], names: dict[str, str]) -> None:
        """What ``run_ids`` answers while ``runs/`` keeps ``key`` (a listing kept in the dashboard's cache)."""
        self._listing = (key, ids, names)

    def _list_run_ids(self) -> tuple[list[str], dict[str, str]]:
        stems = [n[:-5] for n in list_names(self.runs_dir) if n.endswith(".json")]
        odd = [s for s in stems if "." in s]
        if not odd:
            return stems, {}
        odd_set = set(odd)
        ids = [s for s in stems if s not in odd_set]
        known = set(ids)
        names: dict[str, str] = {}
        for stem in odd:
            entity = strip_tag(stem)
            if entity not in known and not is_temp(stem):
                known.add(entity)
                ids.append(entity)
                names[entity] = stem + ".json"
        return ids, names

    def run_file(self, run_id: str, names: dict[str, str]) -> Path:
        """The file of a run listed by :meth:`run_ids`."""
        return self.runs_dir / names.get(run_id, run_id + ".json")

    def read_run(self, run_id: str) -> dict[str, Any] | None:
        return self.read_json(self.run_path(run_id), required=("runId", "status"))

    def _run_scoped(self, kind: str, run_id: str) -> dict[str, Path]:
        """``{entity id: path}`` for a run's events or steps, in both layouts (flat wins on duplicates)."""
        prefix = f"{run_id}-"
        found: dict[str, Path] = {}
        for directory in (self.root / kind / run_id, self.root / kind):
            for entity, name in entity_files(directory, prefix=prefix).items():
                found[entity[len(prefix) :]] = directory / name
        return found

    def read_events(self, run_id: str, skip: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The run's events (those not in ``skip``), unsorted."""
        skipped = set(skip)
        out = []
        for event_id, path in self._run_scoped("events", run_id).items():
            if event_id in skipped:
                continue
            data = self.read_json(path, required=("eventType",))
            if data is not None:
                data.setdefault("eventId", event_id)
                out.append(data)
        return out

    def read_steps(self, run_id: str) -> list[dict[str, Any]]:
        out = []
        for path in self._run_scoped("steps", run_id).values():
            data = self.read_json(path, required=("stepId",))
            if data is not None:
                out.append(data)
        return out

    def read_waits(self, run_id: str, files: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """The run's wait records; ``files``: the ``{entity: file name}`` of ``waits/`` if already listed."""
        prefix = f"{run_id}-"
        out = []
        if files is None:
            files = entity_files(self.root / "waits", prefix=prefix)
        for entity, name in files.items():
            if not entity.startswith(prefix):
                continue
            data = self.read_json(self.root / "waits" / name)
            if data is not None:
                data.setdefault("waitId", entity)
                data.setdefault("correlationId", entity[len(prefix) :])
                out.append(data)
        return out

    def wait_files(self) -> dict[str, str]:
        return entity_files(self.root / "waits")

    def hook_markers(self) -> dict[str, str] | None:
        """world-local 5.0's hook index by run, ``{"<runId>-<hookId>": file name}`` of ``hooks/by-run/``, when the
        world marked it complete (``hooks/.hook-index-complete``); None otherwise (4.x: the hook files must be
        read to learn their runs)."""
        if not (self.root / "hooks" / ".hook-index-complete").exists():
            return None
        return entity_files(self.root / "hooks" / "by-run")

    def read_hook(self, hook_id: str, files: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """One live hook's record (None once the world has deleted it)."""
        name = (files if files is not None else {}).get(hook_id, f"{hook_id}.json")
        return self.read_json(self.root / "hooks" / name, required=("hookId",))

    def steps_of(self, run_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The step records of several runs with one listing of ``steps/`` (the flat layout's directory holds
        every run's steps, so it is listed once, not once per run), and each run's own directory if it has one."""
        wanted = list(dict.fromkeys(run_ids))
        out: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in wanted}
        if not wanted:
            return out
        steps = self.root / "steps"
        flat: dict[str, list[str]] = {}
        own_dirs: set[str] = set()
        for name in list_names(steps):  # "<runId>-<stepId>.json", or a run's own directory "<runId>"
            run_id = name.partition("-")[0]
            if run_id in out:
                if name == run_id:
                    own_dirs.add(run_id)
                else:
                    flat.setdefault(run_id, []).append(name)
        paths: dict[str, dict[str, Path]] = {run_id: {} for run_id in wanted}
        for run_id in wanted:
            prefix = f"{run_id}-"
            own = steps / run_id
            own_names = list_names(own) if run_id in own_dirs else []
            for directory, names in ((own, own_names), (steps, flat.get(run_id, []))):
                for entity, name in _entities(names).items():
                    if entity.startswith(prefix):
                        paths[run_id][entity[len(prefix) :]] = directory / name
        for run_id, found in paths.items():
            for path in found.values():
                data = self.read_json(path, required=("stepId",))
                if data is not None:
                    out[run_id].append(data)
        return out

    def hook_files(self) -> dict[str, str]:
        return entity_files(self.root / "hooks")

    def read_hooks(
        self, run_id: str | None = None, not_before_ms: int | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """``(file name, hook)`` of the live hooks (the world deletes a hook when it is disposed or its run
        ends), optionally only ``run_id``'s. ``not_before_ms`` skips hooks whose id (a ULID) is older."""
        out = []
        for hook_id, name in self.hook_files().items():
            if not_before_ms is not None:
                ms = ulid_time_ms(hook_id)
                if ms is not None and ms < not_before_ms:
                    continue
            data = self.read_json(self.root / "hooks" / name, required=("hookId",))
            if data is not None and (run_id is None or data.get("runId") == run_id):
                out.append((name, data))
        return out

    def read_status(self, name: str) -> tuple[str, str | None] | None:
        """(status, workflowName) of a run file without parsing the whole record (counts on 100,000 runs).

        ``status`` and ``workflowName`` are top-level keys that nothing nested in a run record uses; a file
        where the quick scan finds nothing is parsed in full.
        """
        path = self.runs_dir / name
        raw = self.read_bytes(path)
        if raw is None:
            return None
        status = _quick_string(raw, b'"status":')
        if status is not None and raw.count(b'"status":') == 1 and raw.rstrip().endswith(b"}"):
            return status, _quick_string(raw, b'"workflowName":')
        data = self.read_json(path, required=("runId", "status"))
        return (data["status"], data.get("workflowName")) if data else None

    # streams
    def registered_streams(self, run_id: str) -> list[str]:
        data = self.read_json(self.root / "streams" / "runs" / f"{run_id}.json")
        streams = data.get("streams") if data else None
        return [s for s in streams if isinstance(s, str)] if isinstance(streams, list) else []

    def chunk_names(self) -> list[str]:
        return list_names(self.chunks_dir)

    def chunk_files(self, stream: str, names: list[str] | None = None) -> list[ChunkFile]:
        """A stream's chunk files in write order (``chnk_`` ULID order): ``.bin`` and legacy ``.json`` files
        (world-local reads both as ``[eof byte][payload]``), flat (4.x: ``<stream>-chnk_<ULID>.bin``) and in
        the stream's own directory (5.0: ``<stream>/chnk_<ULID>.bin``; a purged stream holds only the EOF
        tombstone ``chnk_00000000000000000000000000.bin``). ``names``: the flat listing, if already read."""
        chunks: dict[str, ChunkFile] = {}

        def add(name: str, prefix: str, directory: Path) -> None:
            if not name.startswith(prefix) or is_temp(name):
                return
            if name.endswith(".bin"):
                stem = name[:-4]
            elif name.endswith(".json"):
                stem = name[:-5]
            else:
                return
            chunk_id = strip_tag(stem[len(prefix) :])
            if not chunk_id.startswith("chnk_"):
                return
            if chunk_id not in chunks or stem[len(prefix) :] == chunk_id:
                chunks[chunk_id] = ChunkFile(chunk_id, directory / name)

        for name in self.chunk_names() if names is None else names:
            add(name, f"{stream}-", self.chunks_dir)
        if safe_stream(stream):
            own = self.chunks_dir / stream
            for name in list_names(own):
                add(name, "", own)
        return [chunks[k] for k in sorted(chunks)]

    def read_chunk(self, chunk: ChunkFile) -> tuple[bool, bytes] | None:
        """(eof, payload) of a chunk file; None if it vanished or is unreadable."""
        raw = self.read_bytes(chunk.path)
        if raw is None:
            return None
        if not raw:
            self._warn_once(chunk.path, "empty chunk file (half-written?)")
            return None
        return raw[0] == 1, raw[1:]

    def chunk_is_eof(self, chunk: ChunkFile) -> bool | None:
        """Whether a chunk is the EOF marker, from its first byte; None if it vanished or is empty."""
        try:
            with open(chunk.path, "rb") as fh:
                first = fh.read(1)
        except FileNotFoundError:
            return None
        return first == b"\x01" if first else None

    # -- writing -----------------------------------------------------------------------------------------
    def _temp(self, path: Path) -> Path:
        return path.with_name(f"{path.name}.tmp.{new_ulid()}")

    def _write_temp(self, path: Path, data: Any) -> Path:
        """``data`` as JSON in a new temp file beside ``path`` (removed again if writing fails)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temp(path)
        try:
            with open(tmp, "x", encoding="utf-8") as fh:
                fh.write(dumps(data))
        except BaseException:
            _unlink(tmp)
            raise
        return tmp

    def write_json(self, path: Path, data: Any) -> None:
        """Overwrite atomically: temp file + rename."""
        tmp = self._write_temp(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise

    def publish(self, path: Path, data: Any) -> bool:
        """Create ``path`` only if absent (temp file + ``link``); False if it already exists."""
        tmp = self._write_temp(path, data)
        try:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        finally:
            _unlink(tmp)

    def claim(self, path: Path) -> bool:
        """Create an empty lock file exclusively; False if another writer holds it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x"):
                pass
        except FileExistsError:
            return False
        return True

    def delete(self, path: Path) -> None:
        _unlink(path)

    def per_run_layout(self, run_id: str) -> bool:
        """Events or steps of this run in ``events/<runId>/`` (a layout no released TypeScript world writes).
        Here, not only on the writer, so that a read (the hint of a waiting run) does not import the writer."""
        return (self.events_dir / run_id).is_dir() or (self.root / "steps" / run_id).is_dir()

    def event_dir_for(self, run_id: str) -> Path:
        """Where a new event of the run goes: its per-run directory when the data dir uses that layout."""
        per_run = self.events_dir / run_id
        return per_run if per_run.is_dir() else self.events_dir


def _quick_string(raw: bytes, key: bytes) -> str | None:
    """The plain string value after ``key`` in JSON text (None if absent or escaped)."""
    at = raw.find(key)
    if at < 0:
        return None
    start = raw.find(b'"', at + len(key))
    end = raw.find(b'"', start + 1)
    if start < 0 or end < 0 or b"\\" in raw[start:end] or raw[at + len(key) : start].strip():
        return None
    try:
        return raw[start + 1 : end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
