"""Columns of JSON messages, and a helper process that decodes large JSON arrays on a second core: the
Durable Streams reader's ``read(columns=...)`` (see "Columns: large answers on two cores" in
docs/durable-streams.md). Private to ``wfctl.durable_streams``, which re-exports :func:`columns`.

A catch-up of a million small events spends most of its time in ``json.loads``, which holds the GIL: a
thread cannot share that work, a process can. :class:`ColumnHelper` starts one helper process (this
module's :func:`serve`, on the same interpreter with ``-S``: the standard library only) and sends it parts
of a JSON array; for each part the helper answers with the **columns** the caller asked for (the values of
a few top-level keys of every message, see :func:`columns`), never the messages themselves: shipping
decoded messages back costs as much as decoding them. The caller keeps the part's text and decodes it
itself only if it ever needs the whole messages. Parts are answered in order; while the helper is busy
with ``depth`` parts the caller decodes the next ones itself, so both cores stay busy.

Nothing here is required: without ``fork``/``select`` on pipes (Windows) or when the helper cannot start
or dies, :class:`ColumnHelper` reports it and the caller decodes everything itself.

Only the standard library is imported: the helper process imports this module (and the packages above it,
which import nothing heavy: ``wfctl.durable_streams`` imports its names on first use).
"""

from __future__ import annotations

import json
import marshal
import os
import struct
import sys
from collections import deque
from itertools import repeat
from typing import Any, Iterable

__all__ = ["columns", "nesting", "ColumnHelper", "serve"]

_get = dict.get
_keys = dict.keys
_LEN = struct.Struct("<I")
#: bytes that are not JSON structure outside strings: deleted before the bracket count of :func:`nesting`
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"{}[]')


def columns(items: list[Any], keys: Iterable[str]) -> dict[str, list[Any]] | None:
    """``{key: [message.get(key) for message in items]}`` for each of ``keys`` that at least one message
    has (a key that no message has is left out: its column would be all ``None``). ``None`` when a message
    is not an object. Absent keys and ``null`` values are both ``None`` in a column."""
    try:
        present = set().union(*map(_keys, items))
    except TypeError:  # dict.keys of something that is not a dict
        return None
    return {key: list(map(_get, items, repeat(key))) for key in keys if key in present}


def nesting(seg: bytes) -> int | None:
    """How many arrays and objects are open at the end of ``seg``, a piece of JSON text that starts
    between two messages of an array (0: ``seg`` ends between messages, at the top level), assuming the
    text is valid JSON (the caller's parse checks that); None when this cheap count cannot tell.

    After the escapes ``\\\\`` and ``\\"`` are removed, every ``"`` delimits a string. Of the bytes
    ``"{}[]`` (all others deleted), the quotes form adjacent pairs ``""`` exactly when no string holds a
    bracket; the brackets left are then the structure outside strings, and in a valid JSON prefix the
    number of open containers is the count of ``{`` and ``[`` less that of ``}`` and ``]``."""
    if b"\\" in seg:
        seg = seg.replace(b"\\\\", b"").replace(b'\\"', b"")
    rest = seg.translate(None, _NOT_STRUCTURE)
    if 2 * rest.count(b'""') != rest.count(b'"'):  # a quote run of odd length: a bracket inside a string
        return None
    return rest.count(b"{") - rest.count(b"}") + rest.count(b"[") - rest.count(b"]")


def _intern_strings(column: list[Any]) -> list[Any]:
    """Equal strings as one object, so that ``marshal`` sends each distinct string once."""
    try:
        return list(map(sys.intern, column))
    except TypeError:  # not all strings (sys.intern takes exact str only)
        return column


def _answer(seg: bytes, keys: tuple[str, ...]) -> tuple:
    try:
        items = json.loads(b"[" + seg + b"]")
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError; nested too deeply
        return ("error", str(e))
    cols = columns(items, keys)
    if cols is not None:
        cols = {k: _intern_strings(v) for k, v in cols.items()}
    return ("ok", len(items), cols)


def serve() -> None:
    """The helper process: read ``keys`` and then parts from stdin, write one answer per part to stdout
    (each frame a little-endian 32-bit length and a ``marshal`` payload). Ends at EOF."""
    import gc
    import signal

    gc.disable()  # decoded messages never form cycles; each part is freed as soon as it is answered
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle; EOF ends us
    try:
        keys = None
        while True:
            payload = _read_frame(0)
            if payload is None:  # the end: say how much memory this took
                out = marshal.dumps(("end", _peak_rss()))
                _write_all(1, _LEN.pack(len(out)) + out)
                return
            if keys is None:
                keys = tuple(marshal.loads(payload))
                continue
            out = marshal.dumps(_answer(payload, keys))
            _write_all(1, _LEN.pack(len(out)) + out)
    except OSError:  # BrokenPipeError: the caller is gone
        return


def _peak_rss() -> int:
    """This process's peak resident set size in bytes since it started running this program: Linux's
    ``VmHWM`` (``ru_maxrss`` would count the memory of the parent it was forked from, before ``exec``)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _read_frame(fd: int) -> bytes | None:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (size,) = _LEN.unpack(head)
    return _read_exact(fd, size) if size else b""


def _read_exact(fd: int, size: int) -> bytes | None:
    data = os.read(fd, size)
    if len(data) == size or not data:
        return data or None
    buf = bytearray(data)
    while len(buf) < size:
        more = os.read(fd, size - len(buf))
        if not more:
            return None
        buf += more
    return bytes(buf)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class ColumnHelper:
    """The caller's side of the helper process: :meth:`submit` parts, take their answers in order with
    :meth:`result`. At most ``depth`` parts are in flight; :meth:`submit` returns False (decode it
    yourself) when that many are, or when the helper is unavailable (fewer than ``min_cpus`` CPUs to run
    on, no POSIX pipes, no interpreter to start). Close it when done."""

    #: Linux: pipe buffers this large let a few parts be written without waiting for the helper
    PIPE_BYTES = 1 << 20

    def __init__(self, keys: Iterable[str], depth: int = 8, min_cpus: int = 2):
        self.keys = tuple(keys)
        self.depth = depth
        # needs a second CPU to run on (on one, the helper only adds work: ~30% slower), select() on pipes
        # (POSIX) and a Python interpreter to run (not a frozen executable)
        self.broken = (
            _cpus() < min_cpus or os.name != "posix" or not sys.executable or bool(getattr(sys, "frozen", False))
        )
        self._proc: Any = None
        #: after :meth:`close`: the helper's peak resident set size in bytes (Linux/macOS; else None)
        self.max_rss: int | None = None
        self._inflight: deque[bytes] = deque()  # parts sent, not yet answered (kept for a fallback)
        self._answers: deque[tuple] = deque()
        self._rbuf = bytearray()

    # -- lifecycle ----------------------------------------------------------------------------------------

    def _start(self) -> bool:
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-c", "from wfctl.durable_streams._columns import serve; serve()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=0,
                close_fds=True,
            )
        except (OSError, ValueError):
            self.broken = True
            return False
        self._w = self._proc.stdin.fileno()
        self._r = self._proc.stdout.fileno()
        try:
            import fcntl

            for fd in (self._w, self._r):
                if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, self.PIPE_BYTES)
        except (ImportError, OSError):  # a smaller limit (/proc/sys/fs/pipe-max-size): the default size
            pass
        os.set_blocking(self._w, False)
        os.set_blocking(self._r, False)
        keys = marshal.dumps(list(self.keys))
        return self._send(_LEN.pack(len(keys)) + keys)

    def close(self) -> None:
        """End the helper (it exits at the end of its input) and wait for it."""
        proc, self._proc = self._proc, None
        self.broken = True
        if proc is None:
            return
        try:
            proc.stdin.close()  # the helper's end of input: it answers what it holds, then its peak memory
            if not self._inflight:
                self._answers.clear()
                self._receive(wait=True, timeout=2.0)
                if self._answers and self._answers[-1][0] == "end":
                    self.max_rss = self._answers[-1][1]
            proc.stdout.close()
        except (OSError, ValueError):
            pass
        try:
            proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - a helper that does not end on EOF is killed
            proc.kill()
            proc.wait()

    def __enter__(self) -> "ColumnHelper":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parts --------------------------------------------------------------------------------------------

    def submit(self, seg: bytes) -> bool:
        """Send ``seg`` (whole messages of a JSON array, without the brackets) to the helper; False when
        the caller should decode it itself."""
        if self.broken or len(self._inflight) >= self.depth:
            return False
        if self._proc is None and not self._start():
            return False
        if not self._send(_LEN.pack(len(seg)) + seg):
            return False
        self._inflight.append(seg)
        return True

    @property
    def pending(self) -> int:
        """Parts submitted and not yet taken with :meth:`result`."""
        return len(self._inflight)

    def ready(self) -> bool:
        """True when the answer to the oldest part in flight has arrived (or the helper died: then
        :meth:`result` gives the part back)."""
        if not self._answers and self._inflight and not self.broken:
            self._receive(wait=False)
        return bool(self._answers) or (self.broken and bool(self._inflight))

    def result(self) -> tuple[bytes, tuple | None]:
        """The oldest part in flight and its answer: ``("ok", n, columns)`` or ``("error", message)``; the
        answer is None when the helper died before answering (decode the part yourself)."""
        while not self._answers and not self.broken:
            self._receive(wait=True)
        seg = self._inflight.popleft()
        return seg, (self._answers.popleft() if self._answers else None)

    # -- pipes --------------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> bool:
        """Write all of ``data``, taking answers meanwhile (the helper must never wait for us to read)."""
        import select

        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[os.write(self._w, view) :]
                    continue
                except BlockingIOError:
                    pass
                readable, _, _ = select.select([self._r], [self._w], [])
                if readable:
                    self._receive(wait=False)
                    if self.broken:
                        return False
        except OSError:  # BrokenPipeError: the helper is gone
            self._fail()
            return False
        return True

    def _receive(self, wait: bool, timeout: float | None = None) -> None:
        import select

        try:
            if wait:
                select.select([self._r], [], [], timeout)
            while True:
                try:
                    data = os.read(self._r, 1 << 20)
                except BlockingIOError:
                    break
                if not data:
                    self._fail()
                    break
                self._rbuf += data
        except OSError:
            self._fail()
        buf = self._rbuf
        start = 0
        while len(buf) - start >= 4:
            (size,) = _LEN.unpack_from(buf, start)
            if len(buf) - start - 4 < size:
                break
            self._answers.append(marshal.loads(buf[start + 4 : start + 4 + size]))
            start += 4 + size
        if start:
            del buf[:start]

    def _fail(self) -> None:
        """The helper is gone: parts in flight without an answer are given back by :meth:`result`."""
        self.broken = True
