"""Workflow SDK run streams: stream names (a run's default stream and its namespaced ones), the chunk frames
their payloads are written in, and where ``tail --stream`` starts. Shared by the local, Postgres and Vercel
worlds.

* :func:`stream_base` / :func:`stream_name` / :func:`stream_namespace` — ``strm_<ULID>_user[_<base64url
  namespace>]``.
* :class:`StreamDecoder` — stream chunk payloads: length-prefixed frames ``[u32 big-endian length][payload]``
  (a frame may span chunks), or the legacy newline-delimited devalue text.
* :func:`stream_start`, :func:`chunk_offset` — ``--start-index`` and ``--offset`` of ``tail --stream``.
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Iterable

from .values import DecodeError, bytes_value, decode_devalue, decode_payload

__all__ = [
    "StreamDecoder",
    "b64url",
    "b64url_decode",
    "chunk_offset",
    "decode_stream_chunk",
    "stream_base",
    "stream_name",
    "stream_namespace",
    "stream_start",
]

FRAME_HEADER_SIZE = 4
MAX_FRAME_SIZE = 100_000_000  # the SDK's own sanity bound for a frame length
_MAX_FIRST_BYTE = MAX_FRAME_SIZE >> 24  # the first byte of a frame's big-endian length
_MAX_FRAME_INDEX = 10**18  # "#k" beyond this: after every value of the chunk


def b64url(data: bytes) -> str:
    """base64url without padding (stream namespaces, cursors)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """:func:`b64url`'s inverse (padding optional); raises ``ValueError`` (``binascii.Error``) when invalid."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stream_base(run_id: str) -> str:
    """``wrun_<ULID>`` → ``strm_<ULID>_user``: a run's default output stream (``getWorkflowRunStreamId``)."""
    return run_id.replace("wrun_", "strm_", 1) + "_user"


def stream_name(run_id: str, stream: str) -> str:
    """The stream for ``tail --stream [NAMESPACE]``: ``strm_<ULID>_user_<base64url(namespace)>``, the default
    stream for ``""``; a full ``strm_...`` name is kept as it is."""
    if stream.startswith("strm_"):
        return stream
    base = stream_base(run_id)
    if not stream:
        return base
    return f"{base}_" + b64url(stream.encode("utf-8"))


def stream_namespace(run_id: str, name: str) -> str | None:
    """The namespace of one of the run's streams (None for the default stream and for other streams)."""
    base = stream_base(run_id) + "_"
    if not name.startswith(base):
        return None
    try:
        return b64url_decode(name[len(base) :]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


# -- chunk frames ----------------------------------------------------------------------------------------


class StreamDecoder:
    """Decode a run stream's chunk payloads in order.

    Frames are ``[u32 big-endian length][format-prefixed payload]`` and may span chunks (the length itself
    too), so the decoder keeps the unfinished tail. A chunk that does not start like a frame (a length below
    :data:`MAX_FRAME_SIZE` starts with a byte of at most 5; devalue text never does) is the legacy format
    (newline-delimited devalue text). :meth:`flush` returns what is left at the end as bytes.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        if not self.buffer:
            if not data:
                return []
            if data[0] > _MAX_FIRST_BYTE:
                return _legacy_lines(bytes(data))
            if len(data) >= FRAME_HEADER_SIZE and not 0 < struct.unpack_from(">I", data)[0] < MAX_FRAME_SIZE:
                return _legacy_lines(bytes(data))
        buffer = self.buffer
        buffer += data
        values: list[Any] = []
        pos = 0  # frames are read in place; the buffer is cut once, after the last whole frame
        while len(buffer) - pos >= FRAME_HEADER_SIZE:
            (length,) = struct.unpack_from(">I", buffer, pos)
            if not 0 < length < MAX_FRAME_SIZE:
                values.append(bytes_value(bytes(buffer[pos:])))
                pos = len(buffer)
                break
            end = pos + FRAME_HEADER_SIZE + length
            if len(buffer) < end:
                break
            values.append(decode_payload(bytes(buffer[pos + FRAME_HEADER_SIZE : end])))
            pos = end
        del buffer[:pos]
        return values

    def flush(self) -> list[Any]:
        rest, self.buffer = bytes(self.buffer), bytearray()
        return [bytes_value(rest)] if rest else []


def _legacy_lines(data: bytes) -> list[Any]:
    values = []
    for line in data.split(b"\n"):
        if line.strip():
            try:
                values.append(decode_devalue(line))
            except DecodeError:
                values.append(bytes_value(line))
    return values


def decode_stream_chunk(data: bytes) -> list[Any]:
    """Every value in one self-contained chunk payload."""
    decoder = StreamDecoder()
    return decoder.feed(data) + decoder.flush()


# -- tail --stream ----------------------------------------------------------------------------------------


def stream_start(start_index: int | None, eofs: Iterable[Any]) -> int:
    """``tail --stream --start N``: the index of the first data chunk to print. A negative ``N`` counts back
    from the end: from the number of data chunks before the first EOF chunk (``eofs``: each chunk's EOF flag
    in order; only read for a negative ``N``)."""
    start = start_index or 0
    if start < 0:
        count = 0
        for eof in eofs:
            if eof:
                break
            count += 1
        start = max(0, count + start)
    return start


def chunk_offset(offset: str | None) -> tuple[str, int] | None:
    """A stream offset ``tail`` printed, ``chnk_<ULID>`` (a chunk's first value) or ``chnk_<ULID>#k`` (its k-th
    value) → (chunk id, k); None without one."""
    if not offset:
        return None
    chunk_id, _, frame = offset.partition("#")
    if not frame.isdecimal():  # what int() reads ("#²" is a digit to str.isdigit, not a decimal)
        return chunk_id, 0
    return chunk_id, int(frame) if len(frame) <= 18 else _MAX_FRAME_INDEX
