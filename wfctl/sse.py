"""Server-sent events: an incremental ``text/event-stream`` parser over bytes, shared by every wfctl module
that reads SSE (the Durable Streams reader, the workflow-runs backend). Standard library only.

The parser follows the WHATWG event-stream format as far as wfctl needs it; see :class:`SSEParser`.
"""

import re

__all__ = ["SSEParser"]

_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class SSEParser:
    """Incremental ``text/event-stream`` parser over bytes.

    ``feed(chunk)`` returns the events completed by ``chunk`` as ``(event_type, data)`` pairs, ``data``
    being the ``data:`` lines joined with ``\\n`` (bytes, undecoded). Lines end only at CRLF, LF or CR
    (also when a CRLF is split across chunks); exactly one leading space of a field value is removed;
    comments, ``id`` and ``retry`` fields are ignored; an event without ``data`` lines is not dispatched.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip_lf = False
        self._started = False
        self._event = b""
        self._data: list[bytes] = []
        self._size = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes held for an incomplete line or event."""
        return len(self._buf) + self._size

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf
        buf += chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(bytes(buf)):
                return []
            if buf[:3] == _BOM:
                del buf[:3]
            self._started = True
        events: list[tuple[str, bytes]] = []
        start = 0
        if b"\r" not in buf:
            end = buf.rfind(b"\n")
            if end < 0:
                return events
            for line in bytes(buf[:end]).split(b"\n"):
                self._line(line, events)
            start = end + 1
        else:
            n = len(buf)
            while True:
                m = _EOL.search(buf, start)
                if m is None:
                    break
                self._line(bytes(buf[start : m.start()]), events)
                start = m.end()
                if m.end() == n and buf[n - 1 : n] == b"\r":
                    self._skip_lf = True  # a CR ending the chunk: a following LF belongs to it
        del buf[:start]
        return events

    def _line(self, line: bytes, events: list[tuple[str, bytes]]) -> None:
        if not line:
            if self._data:
                events.append((self._event.decode("utf-8", "replace") or "message", b"\n".join(self._data)))
            self._event = b""
            self._data = []
            self._size = 0
            return
        if line[:1] == b":":
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._size += len(value) + 1
        elif name == b"event":
            self._event = value
