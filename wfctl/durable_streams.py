"""A reader for Durable Streams (DS), the HTTP streaming protocol behind Flue runs.

The protocol in one paragraph: a stream is a URL. ``GET url?offset=O`` returns the data after offset ``O``
together with ``Stream-Next-Offset`` (where to resume), ``Stream-Up-To-Date: true`` when the response reached
the tail and ``Stream-Closed: true`` when the stream is closed and the tail was reached (EOF). ``live=long-poll``
waits for new data (``204`` on timeout); ``live=sse`` keeps a ``text/event-stream`` open in which ``data``
events carry payloads and ``control`` events carry the offset, cursor and flags. ``-1`` means "from the
start", ``now`` means "from the current tail". The module is engine-agnostic: nothing in it knows Flue, apart
from tolerating two of Flue's quirks (``-1`` returned as a next offset; "resume strictly after" offsets that
echo the request when nothing is new).

Usage::

    from contextlib import closing
    from wfctl.durable_streams import StreamReader

    with StreamReader("http://127.0.0.1:4437/v1/stream/runs/r1", headers={"Authorization": "Bearer ..."}) as r:
        with closing(r.read(offset="-1", live="long-poll")) as batches:
            for batch in batches:
                for event in batch.items or []:
                    ...
                checkpoint = batch.offset        # resume strictly after this batch (partial: re-read it)

``read()`` yields one :class:`Batch` per HTTP response (catch-up, long-poll; a large JSON response as several,
see "Large responses") or per SSE ``control`` event.
Batches may be **empty**: they then report progress (caught up, a long-poll timeout, an SSE keep-alive,
closure) and give the caller a chance to stop iterating. Closing the generator closes the connection.

Design decisions
----------------

*Modes.* ``live=None`` loops catch-up ``GET``\\ s until ``Stream-Up-To-Date`` or ``Stream-Closed`` and stops.
``long-poll`` and ``sse`` first catch up with plain (cacheable) ``GET``\\ s and then go live, so a large
backlog never arrives as one huge SSE burst (the reference server sends every stored message as its own
``data`` event and a single ``control`` at the end, which would all have to be buffered). ``offset="now"``
with long-poll goes straight to ``live=long-poll&offset=now`` (the server waits at once); with SSE the
catch-up ``GET ?offset=now`` resolves the tail offset and the stream's content type first. Every reconnect
of an SSE stream goes through the catch-up phase again. A stream that reports closure is never read again.

*SSE parsing: our own parser, not httpx-sse.* ``text/event-stream`` lines end only at CRLF, LF or CR; U+0085,
U+2028 and U+2029 are data (three conformance cases check this). The parser below splits **bytes** on
CR/LF before anything is decoded, so no Unicode line-boundary rule can apply, a CRLF split across two
network chunks is handled, and payloads are never decoded and re-encoded (text streams are passed through
as bytes, base64 payloads are decoded straight from bytes). httpx-sse 0.4.3 does split correctly, but
releases before 0.4.2 split on ``str.splitlines()`` boundaries (florimondmanca/httpx-sse#34), its parser
works on decoded text, and we need raw bytes and per-batch buffering across events anyway; the parser is
~50 lines, so wfctl does not depend on a minimum httpx-sse version. As the EventSource rules require,
exactly one space after ``data:`` is stripped, comment lines (``: heartbeat``) and unknown event types are
ignored, and an event is dispatched only at its blank line (a connection cut mid-event dispatches
nothing).

*Exact resume in SSE.* ``data`` events are buffered until the next ``control`` event; only then is the
batch yielded and the offset advanced to the control's ``streamNextOffset``. A connection that drops
between data and control loses only uncommitted data, which is read again from the last committed offset:
nothing is skipped and nothing already yielded is yielded twice.

*Retries.* Connect/read errors, timeouts, dropped connections, bodies cut in a way that breaks HTTP framing
(httpx raises ``RemoteProtocolError`` when fewer bytes than ``Content-Length`` arrive or chunked framing is
cut), ``429`` and ``5xx`` except ``501`` are retried with exponential backoff and full jitter
(:class:`Backoff`); the wait is ``max(Retry-After, jitter)`` with ``Retry-After`` capped. ``max_retries``
bounds *consecutive* failures; the count resets after every healthy response or SSE control (but the
catch-up ``GET`` that precedes an SSE reconnect only resets it when it delivered something, so an SSE
endpoint that fails every time still exhausts the budget). Other statuses raise at once: ``400``
(:class:`InvalidOffsetError` when the body mentions the offset, else :class:`BadRequestError`), ``401``/``403``
(:class:`UnauthorizedError`), ``404`` (:class:`NotFoundError`), ``410`` (:class:`GoneError`: the offset was
removed by retention or the stream was deleted), ``501`` (:class:`ServerError`), anything else
(:class:`UnexpectedStatusError`).

*Idle watchdog.* Live requests use ``idle_timeout`` as httpx's *read* timeout, which applies to every socket
read: a long-poll or SSE connection that delivers no byte at all (no data, no keep-alive control, no
heartbeat comment) for ``idle_timeout`` seconds is abandoned and reopened from the last committed offset
(counted as a network failure). It must exceed the server's long-poll window and keep-alive interval (Flue
and the reference server default to 30 s; hence 45 s). If SSE connections end cleanly within a second three
times in a row (a buffering proxy), the reader falls back to long-poll, as the TypeScript client does.

*Malformed bodies: a parse error, at once.* A ``200`` JSON body that does not parse (or is not an array), an
SSE ``control`` event that is not a JSON object with a ``streamNextOffset``, an SSE ``data`` event that is not
a JSON array on a JSON stream, base64 SSE data that does not decode, and a gzip/deflate body that is damaged or
stops early raise :class:`ParseError` (``code`` ``PARSE_ERROR``) the moment they are found, and are **not
retried**: the official TypeScript client (``@durable-streams/client``) throws ``DurableStreamError`` with
code ``PARSE_ERROR`` in the same situations without retrying, and the client conformance suite expects exactly
that (``json-parsing-errors``, ``sse-parsing-errors``). Whether to read again is the caller's decision: history
is immutable, so re-reading is always safe, and the error says from where. Its ``offset`` is the last offset
the reader committed (everything before it was delivered in full) and its ``delivered`` the number of messages
after that offset already yielded in ``partial`` batches of the damaged response (see "Large responses"); a
new ``read(error.offset, skip=error.delivered)`` continues exactly where the damage struck, with nothing
skipped and nothing yielded twice (``wfctl tail`` does this a bounded number of times). The reference server's
fault injection (``truncateBodyBytes``, ``corruptBody``, ``injectSseEvent``) produces such bodies *with valid
HTTP framing*, which is why this is not a network error. A body whose HTTP framing itself breaks (fewer bytes
than ``Content-Length``, cut chunked encoding, a reset connection) is a network failure and is retried. In
JSON mode damage is always detectable, because every strict prefix of a JSON array is invalid JSON.
Compressed bodies are decoded by the reader itself (it sends ``Accept-Encoding: gzip, deflate``) and must end
with a complete gzip/zlib stream: httpx's own decoder accepts a compressed stream that just stops, which turned
a truncated compressed page into a silently *empty* page whose events were skipped (found with the reference
server, which gzips bodies over 1 KiB). In byte mode (``text/*``, ``application/octet-stream``) an
uncompressed body truncated with valid framing is indistinguishable from a shorter message and no DS client
can detect it (offsets are opaque); Flue run streams are JSON-only.

*Offsets beyond the tail.* Offsets are opaque except that, within a stream, they sort lexicographically
(protocol §8). A response whose ``Stream-Next-Offset`` sorts *before* the requested offset means the
offset is beyond the tail (the reference server silently answers with the tail); a ``-1`` tail means the
stream is empty. Servers that echo the requested offset instead (Flue) are checked once per ``read()``
with a ``HEAD`` the first time the caller's own offset reads as "caught up, nothing new". Either case
raises :class:`InvalidOffsetError` instead of waiting forever (a resumed tail after an in-memory server
restart would otherwise hang). ``verify_offsets=False`` disables this.

*Large responses.* A catch-up may answer with everything in one body (the reference server does: 70 MB for
a million small messages). A JSON body is therefore parsed **as it arrives**: once more than ``batch_bytes``
(1 MiB) of it are buffered, the complete messages at its start are split off in parts of ``PART_BYTES``
(64 KiB) (the text before the last
top-level comma is parsed with one ``json.loads``; a cut that is not a top-level boundary cannot parse, so
the parse itself proves the boundary, and a message-by-message scan takes over when it fails) and yielded
as a ``partial`` batch. A partial batch does **not** move the committed offset: its ``offset`` is the
offset the response was requested from, and only the response's last batch carries ``Stream-Next-Offset``
and is committed. The reader counts the messages it delivered from the committed offset (``skip``); when
the connection then drops, the offset is read again and the first ``skip`` messages of the new answer are
parsed and dropped: history is immutable, so they are the ones already delivered, and nothing is yielded
twice. A damaged body raises :class:`ParseError` instead, whose ``delivered`` is that count, so that the
caller can do the same with ``read(offset, skip=delivered)``. (A caller that resumes from a partial batch's
``offset`` in a *new* read without ``skip`` gets those messages again: at-least-once.) A body that never exceeds
``batch_bytes`` is one batch, validated as a whole, exactly as before. The one thing streaming gives up: a
damaged message that still parses *and* lies before the damage that makes the body invalid may already have
been delivered in a partial batch when the damage is found (the same damage in a small body is caught
before anything is delivered; damage that keeps the whole body valid JSON is undetectable either way).
Compressed bodies are decompressed incrementally, and their end is still verified.

*Columns: large answers on two cores.* ``json.loads`` holds the GIL, and a million-message catch-up spends
most of its time in it. A caller that only needs a few top-level fields of each message first (wfctl's
``tail -o jsonl`` checks ``eventIndex``, ``type``, ``runId`` … and prints each message's own text) passes
``read(columns=KEYS)``: the parts of a large response are then sent to one helper process
(:class:`wfctl.json_columns.ColumnHelper`, the same interpreter running the standard library only), which
decodes them and answers with those columns; the parts' messages are decoded here only if the caller uses
``items``. While the helper holds ``depth`` (8) parts, the next ones are decoded here, so both cores work.
A part sent away must be cut at a top-level boundary *before* it is parsed, which
:func:`wfctl.json_columns.nesting` shows cheaply (the brackets outside strings balance; inconclusive when a
string holds a bracket, and the cut is then found by parsing, as above); the helper's parse still validates
every part, and a damaged part is handled as a damaged body. There is no helper on a single CPU (it would
only add work) or without POSIX pipes, and one that cannot start or dies hands its parts back to be decoded
here; it ends with the read (or with this process: it exits at the end of its input and ignores Ctrl-C).

*Memory.* Responses are streamed; at most ``batch_bytes`` of a JSON body plus its largest message (byte
mode: one response body; SSE: the events since the last control) is held at a time, and nothing is kept
after a batch is yielded, so reading an unbounded stream runs in constant memory.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
import zlib
from collections import deque
from collections.abc import Sequence as _SequenceABC
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, NoReturn, Sequence, Union

import httpx

from . import __version__
from .json_columns import ColumnHelper, nesting
from .sse import SSEParser
from .times import retry_after_seconds

__all__ = [
    "Backoff",
    "Batch",
    "SSEParser",
    "StreamInfo",
    "StreamReader",
    "StreamError",
    "NotFoundError",
    "GoneError",
    "InvalidOffsetError",
    "BadRequestError",
    "UnauthorizedError",
    "RateLimitedError",
    "ServerError",
    "NetworkError",
    "ParseError",
    "ProtocolError",
    "UnexpectedStatusError",
]

log = logging.getLogger("wfctl.durable_streams")

#: Offsets with a special meaning; servers must not (but Flue does, for ``-1``) return them as real offsets.
SENTINEL_OFFSETS = frozenset({"-1", "now"})

_LIVE_MODES = (None, "long-poll", "sse")
_RESERVED_PARAMS = frozenset({"offset", "live", "cursor"})
_MAX_ERROR_BODY = 4096
_MAX_SSE_PENDING = 256 * 1024 * 1024  # bytes of uncommitted SSE data before we call the server broken
_SHORT_SSE_SECONDS = 1.0
#: A JSON response body larger than this is delivered in partial batches as it arrives …
BATCH_BYTES = 1 << 20
#: … of about this size each: small enough for the messages of a batch to stay in the CPU's caches while
#: a caller works through them (a million-message catch-up costs ~20% less CPU than with 1 MiB parts).
PART_BYTES = 64 << 10
_INFLATE_CHUNK = 1 << 20  # at most this many decompressed bytes per step
_SHORT_SSE_LIMIT = 3


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------


class StreamError(Exception):
    """Base class of every error raised by this module.

    ``status`` is the HTTP status when there was one (else ``None``); ``code`` is a stable string
    (``NOT_FOUND``, ``GONE``, ``INVALID_OFFSET``, ``BAD_REQUEST``, ``UNAUTHORIZED``, ``RATE_LIMITED``,
    ``SERVER``, ``NETWORK``, ``PARSE_ERROR``, ``PROTOCOL``, ``UNEXPECTED_STATUS``); ``body`` holds the start of the
    error response body (servers' own messages, e.g. Flue's JSON error envelope), ``url`` the stream URL
    without its query string. Messages never contain request headers.
    """

    code = "STREAM_ERROR"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.body = body
        self.retry_after = retry_after


class NotFoundError(StreamError):
    """``404``: the stream does not exist (or is hidden from this caller)."""

    code = "NOT_FOUND"


class GoneError(StreamError):
    """``410``: the offset was removed by retention, or the stream was deleted."""

    code = "GONE"


class InvalidOffsetError(StreamError):
    """The offset was rejected (``400``) or lies beyond the stream's tail."""

    code = "INVALID_OFFSET"


class BadRequestError(StreamError):
    """``400`` for a reason other than the offset (e.g. a bad extra query parameter)."""

    code = "BAD_REQUEST"


class UnauthorizedError(StreamError):
    """``401`` or ``403`` (``status`` tells which)."""

    code = "UNAUTHORIZED"


class RateLimitedError(StreamError):
    """``429`` still returned after the retry budget was spent."""

    code = "RATE_LIMITED"


class ServerError(StreamError):
    """``5xx`` after the retry budget was spent, or ``501`` (never retried)."""

    code = "SERVER"


class NetworkError(StreamError):
    """Connection failures, timeouts, dropped or cut responses, after the retry budget was spent."""

    code = "NETWORK"


class ParseError(StreamError):
    """A body or SSE event that is not what the protocol says (invalid JSON, bad base64, a bad control event,
    a damaged compressed body). Raised at once, never retried (as the official TypeScript client does).

    ``offset`` is the last offset the reader committed: everything before it was delivered in full, and
    reading again from it is safe. ``delivered`` counts the messages after ``offset`` that were already
    yielded (``partial`` batches of the damaged response); ``read(offset, skip=delivered)`` resumes without
    repeating them. ``reason`` is what was wrong, without the URL or the data (e.g. ``invalid JSON body
    (Expecting ',' delimiter: ...)``).
    """

    code = "PARSE_ERROR"

    def __init__(
        self, message: str, *, offset: str | None = None, delivered: int = 0, reason: str | None = None, **kw: Any
    ):
        super().__init__(message, **kw)
        self.offset = offset
        self.delivered = delivered
        self.reason = reason or message


class ProtocolError(StreamError):
    """The server broke the protocol in a way a retry cannot fix (e.g. no ``Stream-Next-Offset``)."""

    code = "PROTOCOL"


class UnexpectedStatusError(StreamError):
    """Any other status (``405``, ``409``, ``413``, a redirect, ...)."""

    code = "UNEXPECTED_STATUS"


class _Retry(Exception):
    """Internal: a failure worth retrying; ``error`` is what to raise once the budget is spent."""

    def __init__(self, error: StreamError, retry_after: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


# ----------------------------------------------------------------------------------------------------------
# Public data types
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: the n-th retry (from 0) waits
    ``uniform(0, min(max_delay, initial * multiplier**n))`` seconds, or ``Retry-After`` if that is longer
    (capped at ``max_retry_after``)."""

    initial: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
        ceiling = min(self.max_delay, self.initial * (self.multiplier ** min(attempt, 64)))
        wait = rand() * ceiling
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


@dataclass(frozen=True)
class Batch:
    """One unit of progress of :meth:`StreamReader.read`.

    * ``data``: the bytes delivered (``b""`` when nothing was new). In JSON mode, the JSON array text.
    * ``items``: in JSON mode (stream content type ``application/json``) the decoded messages, else ``None``.
    * ``offset``: the offset to resume from to get what follows this batch (``Stream-Next-Offset`` or the
      SSE control's ``streamNextOffset``). May be ``-1`` (Flue, empty stream).
    * ``up_to_date``: the batch reached the tail when it was produced. Not EOF.
    * ``closed``: the stream is closed and this batch reached its end: EOF. Nothing follows.
    * ``cursor``: the last ``Stream-Cursor`` seen (echoed on live requests).
    * ``status``: the HTTP status of the response (``200``, or ``204`` for a long-poll without data).
    * ``partial``: this batch is a *part* of a large JSON response, delivered before the rest of the body
      has arrived (see "Large responses" in the module docstring). Its ``offset`` is then the offset the
      response was requested from (the last committed one), **not** an offset after its items: resuming
      from it re-delivers them (at-least-once). ``up_to_date`` and ``closed`` are false. Only the last
      batch of the response (``partial`` false) carries the response's ``Stream-Next-Offset``.
    * ``index``: how many messages of the response precede ``items[0]`` (``0`` unless the response was
      delivered in several batches, or re-read after a cut); with the response's start offset and the
      final batch's offset it lets a caller number the messages of a response exactly.
    * ``columns``: when ``read(columns=KEYS)`` asked for them and the batch is a part of a large response
      decoded by the helper process (see "Large responses"), the values of those top-level keys of every
      message (:func:`wfctl.json_columns.columns`); ``items`` are then decoded only when first used. None
      otherwise (``columns(batch.items, KEYS)`` gives the same).
    """

    data: bytes
    items: Sequence[Any] | None
    offset: str
    up_to_date: bool
    closed: bool
    cursor: str | None
    status: int
    partial: bool = False
    index: int = 0
    columns: dict[str, list[Any]] | None = None

    @property
    def empty(self) -> bool:
        """True when the batch delivered nothing (a progress report)."""
        return not self.items if self.items is not None else not self.data


@dataclass(frozen=True)
class StreamInfo:
    """Result of :meth:`StreamReader.head`: ``offset`` is the stream's tail (``Stream-Next-Offset``)."""

    offset: str
    closed: bool
    content_type: str | None
    status: int = 200

    @property
    def next_offset(self) -> str:
        return self.offset


# ----------------------------------------------------------------------------------------------------------
# The reader
# ----------------------------------------------------------------------------------------------------------

HeadersLike = Union[Mapping[str, str], Callable[[], Mapping[str, str]], None]


def _offset_beyond(requested: str, tail: str | None) -> bool:
    """Whether ``requested`` lies beyond ``tail`` (offsets sort lexicographically within a stream)."""
    if tail is None or requested in SENTINEL_OFFSETS or tail == "now":
        return False
    if tail == "-1":  # an empty stream (Flue): every real offset is beyond it
        return True
    return requested > tail


def _is_json(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";", 1)[0].strip().lower() == "application/json"


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


@dataclass
class _Session:
    """Mutable state of one ``read()``."""

    offset: str
    initial: str
    cursor: str | None = None
    content_type: str | None = None
    failures: int = 0
    verified: bool = False
    short_sse: int = 0
    spins: int = 0
    #: messages after ``offset`` already delivered (partial batches of a response that was then cut, or the
    #: caller's ``read(skip=...)``)
    skip: int = 0
    #: top-level keys the caller wants as columns (``read(columns=...)``), and the helper decoding them
    columns: tuple[str, ...] | None = None
    helper: Any = None


class StreamReader:
    """Reads one Durable Stream. See the module docstring for the behaviour.

    :param url: the stream URL (any query parameters already in it are kept).
    :param headers: extra request headers (e.g. ``Authorization``), or a callable returning them, called
        for every request so that tokens can be refreshed between reconnects.
    :param params: extra query parameters sent on every read (e.g. Flue's ``tail``), or a callable returning
        them, called for every request (e.g. a signed URL's expiring signature); ``offset``, ``live`` and
        ``cursor`` are managed by the reader. Query parameters are sorted (protocol §10.1, for CDN hits).
    :param client: an ``httpx.Client`` to use (not closed by the reader); by default the reader owns one,
        which does not follow redirects (credentials never leave the origin).
    :param timeout: seconds (or an ``httpx.Timeout``) for non-live requests; connect timeout at most 5 s.
    :param max_retries: consecutive retryable failures tolerated before the error is raised.
    :param idle_timeout: seconds a live connection may stay silent before it is reopened.
    :param backoff: the :class:`Backoff` policy.
    :param verify_offsets: detect resume offsets beyond the tail (see the module docstring).
    :param sleep: the function used to wait between retries (tests inject a recorder).
    :param batch_bytes: a JSON response body larger than this is delivered in ``partial`` batches (of
        ``PART_BYTES``, or ``batch_bytes`` if smaller) as it arrives (see "Large responses" in the module
        docstring).
    :param answer_timeout: seconds a catch-up or long-poll answer may take from its headers to its end; one
        that keeps sending without ending (a server or proxy that lies) is a :class:`ProtocolError`. None (the
        default): no bound, for servers that send a whole stream in one answer. SSE answers are never bounded.
    """

    def __init__(
        self,
        url: str | httpx.URL,
        headers: HeadersLike = None,
        params: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        client: httpx.Client | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 10,
        idle_timeout: float = 45.0,
        backoff: Backoff | None = None,
        verify_offsets: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        batch_bytes: int = BATCH_BYTES,
        answer_timeout: float | None = None,
    ):
        self._url = httpx.URL(str(url))
        self._params_fn = params if callable(params) else None
        static = {} if callable(params) else (params or {})
        base = [(k, v) for k, v in self._url.params.multi_items() if k not in _RESERVED_PARAMS]
        self._base_params = base + _query_items(static)
        self._headers = headers
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be > 0")
        self.max_retries = max_retries
        self.idle_timeout = idle_timeout
        self.backoff = backoff or Backoff()
        self.verify_offsets = verify_offsets
        self._sleep = sleep
        if batch_bytes < 1:
            raise ValueError("batch_bytes must be >= 1")
        self.batch_bytes = batch_bytes
        self.part_bytes = min(batch_bytes, PART_BYTES)
        if answer_timeout is not None and answer_timeout <= 0:
            raise ValueError("answer_timeout must be > 0")
        self.answer_timeout = answer_timeout
        if isinstance(timeout, httpx.Timeout):
            self._timeout = timeout
        else:
            self._timeout = httpx.Timeout(timeout, connect=min(float(timeout), 5.0))
        self._live_timeout = httpx.Timeout(
            connect=self._timeout.connect, read=idle_timeout, write=self._timeout.write, pool=self._timeout.pool
        )
        self._owns_client = client is None
        self._client = (
            client
            if client is not None
            else httpx.Client(follow_redirects=False, headers={"User-Agent": f"wfctl/{__version__}"})
        )
        self._display_url = str(self._url.copy_with(query=None, fragment=None))

    # -- lifecycle ----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client if the reader created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StreamReader({self._display_url!r})"

    @property
    def url(self) -> str:
        """The stream URL without its query string."""
        return self._display_url

    # -- public API ---------------------------------------------------------------------------------------

    def head(self) -> StreamInfo:
        """``HEAD`` the stream: its tail offset, closure and content type (retried like reads)."""
        failures = 0
        while True:
            try:
                resp = self._send("HEAD", [], live=False)
                with closing(resp):
                    offset = resp.headers.get("stream-next-offset")
                    if not offset:
                        raise ProtocolError(
                            f"HEAD {self._display_url} answered {resp.status_code} without Stream-Next-Offset",
                            status=resp.status_code,
                            url=self._display_url,
                        )
                    return StreamInfo(
                        offset=offset,
                        closed=_truthy(resp.headers.get("stream-closed")),
                        content_type=resp.headers.get("content-type"),
                        status=resp.status_code,
                    )
            except _Retry as r:
                failures += 1
                self._wait(failures, r)

    def read(
        self, offset: str | None = "-1", live: str | None = None, columns: Sequence[str] | None = None, skip: int = 0
    ) -> Iterator[Batch]:
        """Read the stream from ``offset`` (an offset from a previous batch, ``"-1"`` or ``"now"``).

        ``live=None`` catches up and stops at the tail; ``"long-poll"`` and ``"sse"`` keep following until
        the stream is closed or the caller stops iterating. Returns a generator of :class:`Batch`; close it
        (or use ``contextlib.closing``) to release the connection early.

        ``columns``: top-level keys of the messages (JSON streams) the caller will look at first; the parts of
        a large response are then decoded by a helper process, which sends back only these columns (see
        "Large responses" in the module docstring and :attr:`Batch.columns`).

        ``skip``: the number of messages right after ``offset`` the caller already has (a
        :class:`ParseError`'s ``delivered``, for a read from its ``offset``); on a JSON stream they are read
        and dropped, so that nothing is yielded twice.
        """
        if live is False:
            live = None
        if live not in _LIVE_MODES:
            raise ValueError(f"live must be one of None, 'long-poll', 'sse' (got {live!r})")
        offset = "-1" if offset is None else str(offset)
        if not offset:
            raise ValueError("offset must not be empty")
        if skip < 0:
            raise ValueError("skip must be >= 0")
        keys = tuple(columns) if columns else None
        return self._read(_Session(offset=offset, initial=offset, columns=keys, skip=skip), live)

    # -- modes --------------------------------------------------------------------------------------------

    def _read(self, s: _Session, live: str | None) -> Iterator[Batch]:
        try:
            yield from self._read_modes(s, live)
        finally:
            if s.helper is not None:
                s.helper.close()

    def _read_modes(self, s: _Session, live: str | None) -> Iterator[Batch]:
        if live == "long-poll" and s.offset == "now":
            yield from self._long_poll(s)
            return
        first = True
        while True:
            # after an SSE reconnect, a catch-up without progress must not reset the failure count, or a
            # stream whose SSE connections keep failing would be retried forever
            closed = yield from self._catch_up(s, reset=first, verify=live != "sse")
            first = False
            if closed or live is None:
                return
            if live == "long-poll":
                yield from self._long_poll(s)
                return
            outcome = yield from self._sse(s)
            if outcome == "closed":
                return
            if outcome == "fallback":
                log.warning(
                    "SSE connections to %s keep closing immediately (a buffering proxy?); falling back to long-poll",
                    self._display_url,
                )
                yield from self._long_poll(s)
                return
            # "reconnect": catch up again from the last committed offset, then reopen SSE

    def _catch_up(self, s: _Session, reset: bool = True, verify: bool = True) -> Iterator[Batch]:
        """Catch-up GETs until up-to-date or closed; returns True when the stream is closed. ``verify``:
        check the caller's offset with HEAD here when it reads as caught up (SSE does it on its first
        control event instead, so that the requests are those of the official client until then)."""
        while True:
            requested = s.offset
            try:
                resp = self._send("GET", [("offset", requested)], live=False)
                with closing(resp):
                    for batch in self._response_batches(s, resp, requested):
                        if batch.partial:
                            yield batch
            except _Retry as r:
                s.failures += 1
                self._wait(s.failures, r)
                continue
            stalled = batch.offset == requested and not batch.closed
            self._healthy(s, batch, reset)
            if verify and batch.up_to_date and batch.empty and not batch.closed:
                self._verify_tail(s, requested)
            yield batch
            if batch.closed:
                return True
            if batch.up_to_date or stalled:
                # ``stalled``: the offset did not move (Flue pages end this way); re-reading would repeat it
                return False

    def _long_poll(self, s: _Session) -> Iterator[Batch]:
        while True:
            requested = s.offset
            params = [("live", "long-poll"), ("offset", requested)]
            if s.cursor:
                params.append(("cursor", s.cursor))
            try:
                resp = self._send("GET", params, live=True)
                with closing(resp):
                    for batch in self._response_batches(s, resp, requested):
                        if batch.partial:
                            yield batch
            except _Retry as r:
                s.failures += 1
                self._wait(s.failures, r)
                continue
            self._healthy(s, batch)
            if batch.status == 204 or not batch.empty or batch.offset != requested:
                s.spins = 0
            else:
                # an immediate empty 200 that did not move: don't hot-loop on a server that will not wait
                s.spins += 1
                if s.spins > 1:
                    self._sleep(min(1.0, self.backoff.delay(s.spins - 2)))
            if batch.up_to_date and batch.empty and not batch.closed:
                self._verify_tail(s, requested)
            yield batch
            if batch.closed:
                return

    def _sse(self, s: _Session) -> Iterator[Batch]:
        """One SSE connection. Returns ``"closed"``, ``"reconnect"`` or ``"fallback"``."""
        requested = s.offset
        params = [("live", "sse"), ("offset", requested)]
        if s.cursor:
            params.append(("cursor", s.cursor))
        opened = time.monotonic()
        json_mode = _is_json(s.content_type)
        try:
            resp = self._send("GET", params, live=True, accept="text/event-stream")
            with closing(resp):
                ctype = (resp.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
                if resp.status_code != 200 or ctype != "text/event-stream":
                    log.warning("%s answered live=sse with %s %s", self._display_url, resp.status_code, ctype)
                    return "fallback"
                b64 = (resp.headers.get("stream-sse-data-encoding") or "").strip().lower() == "base64"
                parser = SSEParser()
                payloads: list[bytes] = []
                items: list[Any] | None = [] if json_mode else None
                pending = 0
                for chunk in resp.iter_bytes():
                    for event, data in parser.feed(chunk):
                        if event == "data":
                            payload = self._decode_sse_data(s, data, b64, items)
                            payloads.append(payload)
                            pending += len(payload)
                        elif event == "control":
                            batch = self._batch_from_control(s, data, payloads, items, requested)
                            payloads, items, pending = [], ([] if json_mode else None), 0
                            requested = batch.offset
                            self._healthy(s, batch)
                            if batch.up_to_date and batch.empty and not batch.closed:
                                self._verify_tail(s, requested)
                            yield batch
                            if batch.closed:
                                return "closed"
                    if pending + parser.pending_bytes > _MAX_SSE_PENDING:
                        raise ProtocolError(
                            f"{self._display_url}: more than {_MAX_SSE_PENDING} bytes of SSE data without a "
                            "control event",
                            url=self._display_url,
                        )
        except _Retry as r:
            s.failures += 1
            self._wait(s.failures, r)
            return "reconnect"
        except (httpx.TransportError, httpx.DecodingError) as e:
            s.failures += 1
            self._wait(s.failures, _Retry(self._network_error(e)))
            return "reconnect"
        # the server ended the response without a closing control: reconnect (from the committed offset)
        if time.monotonic() - opened < _SHORT_SSE_SECONDS:
            s.short_sse += 1
            if s.short_sse >= _SHORT_SSE_LIMIT:
                return "fallback"
        else:
            s.short_sse = 0
        return "reconnect"

    # -- responses ----------------------------------------------------------------------------------------

    def _response_batches(self, s: _Session, resp: httpx.Response, requested: str) -> Iterator[Batch]:
        """Turn a 200/204 catch-up or long-poll response into batches (reads the body).

        The last batch yielded is the response's own (``partial`` false; the caller commits its offset).
        A large JSON body is delivered in ``partial`` batches first, as its messages arrive."""
        h = resp.headers
        closed = _truthy(h.get("stream-closed"))
        cursor = h.get("stream-cursor") or s.cursor
        if resp.status_code == 204:
            next_offset = h.get("stream-next-offset") or requested
            self._check_progress(requested, next_offset, resp.status_code)
            s.cursor = cursor
            yield Batch(
                data=b"",
                items=[] if _is_json(s.content_type) else None,
                offset=next_offset,
                up_to_date=True,
                closed=closed,
                cursor=cursor,
                status=204,
            )
            return
        next_offset = h.get("stream-next-offset")
        content_type = h.get("content-type")
        json_mode = _is_json(content_type or s.content_type)
        if json_mode and next_offset:
            # the JSON body is parsed as it arrives
            self._check_progress(requested, next_offset, resp.status_code)
            if content_type:
                s.content_type = content_type
            up_to_date = _truthy(h.get("stream-up-to-date")) or closed
            yield from self._json_batches(s, resp, requested, next_offset, up_to_date, closed, cursor)
            return
        body = self._read_body(s, resp)
        if not next_offset:
            raise ProtocolError(
                f"{self._display_url} answered {resp.status_code} without Stream-Next-Offset",
                status=resp.status_code,
                url=self._display_url,
            )
        if content_type:
            s.content_type = content_type
        self._check_progress(requested, next_offset, resp.status_code)
        s.cursor = cursor
        yield Batch(
            data=body,
            items=None,
            offset=next_offset,
            up_to_date=_truthy(h.get("stream-up-to-date")) or closed,
            closed=closed,
            cursor=cursor,
            status=resp.status_code,
        )

    def _json_batches(
        self,
        s: _Session,
        resp: httpx.Response,
        requested: str,
        next_offset: str,
        up_to_date: bool,
        closed: bool,
        cursor: str | None,
    ) -> Iterator[Batch]:
        """The messages of a JSON response: partial batches while a large body arrives, then the last one
        (see :class:`_JsonAnswer`)."""
        answer = _JsonAnswer(self, s, requested, resp.status_code)
        try:
            for chunk in self._body_chunks(s, resp):
                yield from answer.feed(chunk)
            yield from answer.drain()  # the whole body has arrived
        finally:
            answer.release()
        yield answer.last(next_offset, up_to_date, closed, cursor)

    def _read_body(self, s: _Session, resp: httpx.Response) -> bytes:
        """Read a whole (small, one page) body. gzip/deflate are decoded here rather than by httpx because
        httpx accepts a compressed stream that simply stops (it never checks for the end of the stream), so
        a body cut with valid HTTP framing would decode to a silently shortened (often empty) body."""
        encoding = (resp.headers.get("content-encoding") or "").strip().lower()
        try:
            if encoding not in ("gzip", "x-gzip", "deflate"):
                return b"".join(self._bounded(resp.iter_bytes()))
            raw = b"".join(self._bounded(resp.iter_raw()))
        except (httpx.TransportError, httpx.DecodingError) as e:
            raise _Retry(self._network_error(e)) from e
        try:
            if encoding == "deflate":
                try:
                    d = zlib.decompressobj()
                    body = d.decompress(raw)
                except zlib.error:  # some servers send raw deflate without the zlib wrapper
                    d = zlib.decompressobj(-zlib.MAX_WBITS)
                    body = d.decompress(raw)
            else:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = d.decompress(raw)
            body += d.flush()
            if not d.eof:
                raise zlib.error("the compressed stream ends early")
        except zlib.error as e:
            self._corrupt(s, b"", f"damaged {encoding} body ({e})", resp.status_code)
        return body

    def _bounded(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks``, ended with a :class:`ProtocolError` once the answer outlives ``answer_timeout``."""
        if self.answer_timeout is None:
            yield from chunks
            return
        deadline = time.monotonic() + self.answer_timeout
        for chunk in chunks:
            if time.monotonic() > deadline:
                raise ProtocolError(
                    f"{self._display_url} kept sending one answer for more than "
                    f"{self.answer_timeout:g}s without ending it",
                    url=self._display_url,
                )
            yield chunk

    def _body_chunks(self, s: _Session, resp: httpx.Response) -> Iterator[bytes]:
        """The decoded body of a response as it arrives. gzip/deflate are decoded here, as in
        :meth:`_read_body`, and a compressed stream that is damaged or does not end properly is a
        :class:`ParseError` (found at its end)."""
        encoding = (resp.headers.get("content-encoding") or "").strip().lower()

        def raw_chunks(source: Iterator[bytes]) -> Iterator[bytes]:
            try:
                yield from self._bounded(source)
            except (httpx.TransportError, httpx.DecodingError) as e:
                raise _Retry(self._network_error(e)) from e

        def inflate() -> Iterator[bytes]:
            wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
            d = zlib.decompressobj(wbits)
            started = False
            try:
                for chunk in raw_chunks(resp.iter_raw()):
                    if not started and encoding == "deflate":
                        started = True
                        try:
                            out = d.decompress(chunk, _INFLATE_CHUNK)
                        except zlib.error:  # some servers send raw deflate without the zlib wrapper
                            d = zlib.decompressobj(-zlib.MAX_WBITS)
                            out = d.decompress(chunk, _INFLATE_CHUNK)
                    else:
                        out = d.decompress(chunk, _INFLATE_CHUNK)
                    while True:
                        if out:
                            yield out
                        if not d.unconsumed_tail:
                            break
                        out = d.decompress(d.unconsumed_tail, _INFLATE_CHUNK)
                out = d.flush()
                if out:
                    yield out
                if not d.eof:
                    raise zlib.error("the compressed stream ends early")
            except zlib.error as e:
                self._corrupt(s, b"", f"damaged {encoding} body ({e})", resp.status_code)

        if encoding in ("gzip", "x-gzip", "deflate"):
            return inflate()
        return raw_chunks(resp.iter_bytes())

    def _decode_sse_data(self, s: _Session, data: bytes, b64: bool, items: list[Any] | None) -> bytes:
        if b64:
            try:
                data = base64.b64decode(data.replace(b"\r", b"").replace(b"\n", b""), validate=True)
            except ValueError as e:
                self._corrupt(s, data, f"invalid base64 in SSE data ({e})", 200)
        if items is not None:
            try:
                decoded = json.loads(data)
                if not isinstance(decoded, list):
                    raise ValueError(f"expected a JSON array, got {type(decoded).__name__}")
            except ValueError as e:
                self._corrupt(s, data, f"invalid JSON in SSE data event ({e})", 200)
            items.extend(decoded)
        return data

    def _batch_from_control(
        self, s: _Session, data: bytes, payloads: list[bytes], items: list[Any] | None, requested: str
    ) -> Batch:
        try:
            control = json.loads(data)
            if not isinstance(control, dict):
                raise ValueError("not a JSON object")
            next_offset = control.get("streamNextOffset")
            if not isinstance(next_offset, str) or not next_offset:
                raise ValueError("no streamNextOffset")
        except ValueError as e:
            self._corrupt(s, data, f"invalid SSE control event ({e})", 200)
        closed = control.get("streamClosed") is True
        cursor = control.get("streamCursor")
        if isinstance(cursor, (str, int)) and not isinstance(cursor, bool):
            s.cursor = str(cursor)
        self._check_progress(requested, next_offset, 200)
        if items is not None:
            body = _join_json_arrays(payloads)
        else:
            body = b"".join(payloads)
        return Batch(
            data=body,
            items=items,
            offset=next_offset,
            up_to_date=control.get("upToDate") is True or closed,
            closed=closed,
            cursor=s.cursor,
            status=200,
        )

    # -- checks -------------------------------------------------------------------------------------------

    def _check_progress(self, requested: str, next_offset: str, status: int) -> None:
        if self.verify_offsets and _offset_beyond(requested, next_offset):
            raise InvalidOffsetError(
                f"offset {requested} is beyond the tail of {self._display_url} (the stream ends at "
                f"{next_offset}); was the stream recreated?",
                status=status,
                url=self._display_url,
            )

    def _verify_tail(self, s: _Session, requested: str) -> None:
        """Once per read: a caller-supplied offset that reads as 'caught up' is checked against HEAD."""
        if s.verified or not self.verify_offsets or requested != s.initial or requested in SENTINEL_OFFSETS:
            s.verified = True
            return
        s.verified = True
        try:
            info = self.head()
        except (UnexpectedStatusError, ServerError) as e:  # e.g. 405/501: a server without HEAD
            log.debug("cannot verify offset %s with HEAD: %s", requested, e.message)
            return
        self._check_progress(requested, info.offset, info.status)

    def _healthy(self, s: _Session, batch: Batch, reset: bool = True) -> None:
        """Commit a batch's offset; a healthy response (or any progress) resets the failure count."""
        progressed = batch.offset != s.offset or not batch.empty
        s.offset = batch.offset
        if reset or progressed:
            s.failures = 0

    def _corrupt(self, s: _Session, blob: bytes, what: str, status: int) -> NoReturn:
        """A payload did not parse: raise :class:`ParseError` at once (never retried, as the official client
        does), saying where a caller may safely read again."""
        preview = ""
        if blob:
            preview = f"; data: {blob[:100]!r}" + ("..." if len(blob) > 100 else "")
        raise ParseError(
            f"{self._display_url}: {what} after offset {s.offset}{preview}",
            status=status,
            url=self._display_url,
            offset=s.offset,
            delivered=s.skip,
            reason=what,
        )

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _request_headers(self, accept: str | None) -> dict[str, str]:
        headers = self._headers() if callable(self._headers) else self._headers
        out = dict(headers or {})
        if accept:
            out["Accept"] = accept
        else:
            out["Accept-Encoding"] = "gzip, deflate"  # the encodings _read_body verifies
        return out

    def _send(
        self, method: str, params: list[tuple[str, str]], *, live: bool, accept: str | None = None
    ) -> httpx.Response:
        """Send one request; return the open response for 200/204, raise _Retry or a StreamError."""
        if self._params_fn is not None:
            params = params + _query_items(self._params_fn())
        query = sorted(self._base_params + params)
        url = self._url.copy_with(params=httpx.QueryParams(query))
        request = self._client.build_request(
            method,
            url,
            headers=self._request_headers(accept),
            timeout=self._live_timeout if live else self._timeout,
        )
        try:
            resp = self._client.send(request, stream=True)
        except httpx.TransportError as e:
            raise _Retry(self._network_error(e)) from e
        except httpx.TooManyRedirects:
            raise ProtocolError(f"{self._display_url} redirects in a loop", url=self._display_url) from None
        status = resp.status_code
        if status in (200, 204):
            return resp
        try:
            body = self._read_error_body(resp)
        finally:
            resp.close()
        raise self._status_error(resp, status, body)

    def _read_error_body(self, resp: httpx.Response) -> str:
        chunks = bytearray()
        try:
            for chunk in resp.iter_bytes():
                chunks += chunk
                if len(chunks) >= _MAX_ERROR_BODY:
                    break
        except (httpx.TransportError, httpx.DecodingError):
            pass
        return bytes(chunks[:_MAX_ERROR_BODY]).decode("utf-8", "replace").strip()

    def _status_error(self, resp: httpx.Response, status: int, body: str) -> Exception:
        retry_after = retry_after_seconds(resp.headers.get("retry-after"))
        where = f"{resp.request.method} {self._display_url}"
        message = f"{where}: HTTP {status}" + (f": {body}" if body else "")
        kw = dict(status=status, url=self._display_url, body=body or None, retry_after=retry_after)
        if status == 429:
            return _Retry(RateLimitedError(message, **kw), retry_after)
        if status >= 500 and status != 501:
            return _Retry(ServerError(message, **kw), retry_after)
        if status == 501:
            return ServerError(message, **kw)
        if status == 400:
            cls = InvalidOffsetError if "offset" in body.lower() else BadRequestError
            return cls(message, **kw)
        if status in (401, 403):
            return UnauthorizedError(message, **kw)
        if status == 404:
            return NotFoundError(message, **kw)
        if status == 410:
            return GoneError(message + " (the offset was removed by retention, or the stream was deleted)", **kw)
        return UnexpectedStatusError(message, **kw)

    def _network_error(self, e: Exception) -> NetworkError:
        kind = type(e).__name__
        text = str(e) or kind
        return NetworkError(f"{self._display_url}: {kind}: {text}", url=self._display_url)

    def _wait(self, failures: int, r: _Retry) -> None:
        if failures > self.max_retries:
            err = r.error
            if self.max_retries:
                err.message = f"{err.message} (after {self.max_retries} retries)"
                err.args = (err.message,)
            raise err from r.__cause__
        delay = self.backoff.delay(failures - 1, r.retry_after)
        log.debug("retry %d/%d in %.2fs: %s", failures, self.max_retries, delay, r.error.message)
        self._sleep(delay)


class _JsonAnswer:
    """One JSON response of a catch-up or long-poll, split into ``partial`` batches as its body arrives (see
    "Large responses" in docs/durable-streams.md): :meth:`feed` it the body's chunks, then :meth:`drain`
    the parts still pending, :meth:`release` the helper process, and take the response's own batch from
    :meth:`last`.

    ``s.skip`` messages after ``requested`` were already delivered by an earlier, cut read of the same
    offset; they are parsed and dropped (history is immutable, so they are the same messages).

    With ``s.columns``, the parts of a large body cut where :func:`_proven_part` shows a top-level boundary
    go to the helper process while it has room (the others are decoded here); ``pending`` holds the parts in
    order until their messages (or the helper's columns) are known."""

    def __init__(self, reader: StreamReader, s: _Session, requested: str, status: int) -> None:
        self.reader = reader
        self.s = s
        self.requested = requested
        self.status = status
        self.skip = s.skip
        self.seen = 0  # messages of this response parsed so far (delivered or skipped)
        self.buf = bytearray()
        self.begin = -1  # index in buf after the opening '[' (or after the last top-level comma split off)
        self.objects: bool | None = None  # the array's first message is an object: split at '},' first
        self.threshold = reader.batch_bytes
        self.split_any = False
        self.helper: ColumnHelper | None = None
        #: parts in order: [text without brackets, messages (None: with the helper), columns]
        self.pending: deque[list[Any]] = deque()

    def feed(self, chunk: bytes) -> Iterator[Batch]:
        """Take one chunk of the body; yield the partial batches that are complete."""
        s, buf, helper, pending = self.s, self.buf, self.helper, self.pending
        buf += chunk
        if self.begin < 0:
            first = buf.lstrip()[:1]
            if not first:
                return
            if first != b"[":
                self.threshold = -1  # not an array: read it all, the final parse reports it
                self.begin = 0
                return
            self.begin = buf.index(b"[") + 1
        if self.objects is None and self.threshold >= 0 and len(buf) - self.begin >= self.threshold:
            self.objects = buf[self.begin : self.begin + 64].lstrip()[:1] == b"{"
            if self.objects and s.columns:
                if s.helper is None:
                    s.helper = ColumnHelper(s.columns)
                helper = self.helper = s.helper
        part_bytes = self.reader.part_bytes
        while self.threshold >= 0 and len(buf) - self.begin >= self.threshold:
            # batches of about batch_bytes each, however large the chunk that just arrived
            part = _proven_part(buf, self.begin, part_bytes) if helper and not helper.broken else None
            if part is not None:
                seg, cut = part
                items = None if helper and helper.submit(seg) else self._decode(seg)
            else:
                split = _split_json_array(buf, self.begin, bool(self.objects), part_bytes)
                if split is None:
                    self.threshold = 2 * (len(buf) - self.begin)  # one huge message: wait for (much) more
                    break
                items, seg, cut = split
            pending.append([seg, items, None])
            self.threshold = part_bytes
            self.begin = cut
            self.split_any = True
            # deliver what is known between cuts: the helper's answers are taken (and it is given new parts)
            # while the caller works through the parts before them
            while pending and (pending[0][1] is not None or (helper is not None and helper.ready())):
                yield from self._deliver(pending.popleft())
        if self.begin > 0 and self.split_any:
            del buf[: self.begin]
            self.begin = 0

    def drain(self) -> Iterator[Batch]:
        """The partial batches of the parts still pending (the whole body has arrived)."""
        while self.pending:
            yield from self._deliver(self.pending.popleft())

    def release(self) -> None:
        """Close the helper if it still holds answers this response will not take."""
        if self.helper is not None and self.helper.pending:
            self.helper.close()
            self.s.helper = None

    def last(self, next_offset: str, up_to_date: bool, closed: bool, cursor: str | None) -> Batch:
        """The response's own batch: the messages after the last part (all of them for a small body),
        validated, with the response's offset (the one the caller commits)."""
        s, buf, status, skip = self.s, self.buf, self.status, self.skip
        items: list[Any]
        if not self.split_any:
            body = bytes(buf)
            if body.strip():
                try:
                    items = json.loads(body)
                    if not isinstance(items, list):
                        raise ValueError(f"expected a JSON array, got {type(items).__name__}")
                except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                    self.reader._corrupt(s, body, f"invalid JSON body ({e})", status)
            else:
                items = []
        else:
            rest = bytes(buf[self.begin :])
            try:
                items = json.loads(b"[" + rest)
                if not items:
                    raise ValueError("no message after the last comma")
            except ValueError as e:
                self.reader._corrupt(s, rest, f"invalid JSON body ({e})", status)
            body = b"[" + rest
        n = len(items)
        drop = min(n, max(0, skip - self.seen))
        self.seen += n
        if drop:
            items = items[drop:]
            body = _encode_compact(items)
        s.skip = max(0, s.skip + len(items) - self.seen)  # messages already delivered beyond this response
        s.cursor = cursor
        return Batch(
            data=body,
            items=items,
            offset=next_offset,
            up_to_date=up_to_date,
            closed=closed,
            cursor=cursor,
            status=status,
            index=self.seen - len(items),
        )

    def _deliver(self, part: list[Any]) -> Iterator[Batch]:
        """The partial batch of one part (none when all its messages are skipped)."""
        s = self.s
        seg, items, cols = part
        if items is None:  # the helper's part: wait for its answer
            assert self.helper is not None
            seg, answer = self.helper.result()
            if answer is None:  # the helper is gone: decode the part here
                items = self._decode(seg)
            elif answer[0] != "ok":
                self.reader._corrupt(s, seg, f"invalid JSON body ({answer[1]})", self.status)
            else:
                items, cols = _LazyItems(b"[" + seg + b"]", answer[1]), answer[2]
        n = len(items)
        drop = min(n, max(0, self.skip - self.seen))
        self.seen += n
        if drop:
            items, cols = list(items)[drop:], None
            seg = _encode_compact(items)[1:-1] if items else b""
        if items:
            s.skip += len(items)
            s.failures = 0  # progress
            data = items.data if items.__class__ is _LazyItems else b"[" + seg + b"]"
            yield Batch(
                data=data,
                items=items,
                offset=self.requested,
                up_to_date=False,
                closed=False,
                cursor=s.cursor,
                status=self.status,
                partial=True,
                index=self.seen - len(items),
                columns=cols,
            )

    def _decode(self, seg: bytes) -> list[Any]:
        """The messages of a part whose cut is proven (its text can only fail to parse if it is damaged)."""
        try:
            return json.loads(b"[" + seg + b"]")
        except ValueError as e:
            self.reader._corrupt(self.s, seg, f"invalid JSON body ({e})", self.status)


def _query_items(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """Extra query parameters as pairs; the reader's own ones are refused."""
    bad = _RESERVED_PARAMS.intersection(params)
    if bad:
        raise ValueError(f"query parameter(s) {sorted(bad)} are managed by the reader")
    return [(str(k), str(v)) for k, v in params.items()]


def _join_json_arrays(payloads: list[bytes]) -> bytes:
    """Merge JSON array texts (already validated) into one array text without re-encoding."""
    if len(payloads) == 1:
        return payloads[0]
    inner = [p.strip()[1:-1].strip() for p in payloads]
    return b"[" + b",".join(part for part in inner if part) + b"]"


class _LazyItems(_SequenceABC):
    """The messages of a part decoded by the helper process: decoded here only when first used."""

    __slots__ = ("data", "_n", "_items")

    def __init__(self, data: bytes, n: int):
        self.data, self._n, self._items = data, n, None

    def _decoded(self) -> list[Any]:
        if self._items is None:
            self._items = json.loads(self.data)
        return self._items

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        return self._decoded() == (list(other) if isinstance(other, _LazyItems) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._decoded())


def _encode_compact(items: list[Any]) -> bytes:
    """A JSON array text for messages whose original text is not at hand (rare: a re-read after a cut)."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


_scan_once = json.JSONDecoder().scan_once


def _proven_part(buf: bytearray, begin: int, size: int) -> tuple[bytes, int] | None:
    """The whole messages at the start of ``buf[begin:]`` (about ``size`` bytes of them, cut at a ``},``
    that :func:`~wfctl.json_columns.nesting` shows to be at the top level) and the index after the comma
    that follows them; None when no such cut is found cheaply."""
    end = begin + size
    for _ in range(4):  # a few candidates: the last "}," may close a nested object
        brace = buf.rfind(b"},", begin, end)
        if brace < begin:
            return None
        seg = bytes(buf[begin : brace + 1])
        depth = nesting(seg)
        if depth == 0:
            return seg, brace + 2
        if depth is None:
            return None
        end = brace
    return None


def _split_json_array(
    buf: bytearray, begin: int, objects: bool, size: int | None = None
) -> tuple[list[Any], bytes, int] | None:
    """Split the complete messages off the start of a JSON array that is still arriving.

    ``buf[begin:]`` holds the array's text after its ``[`` (or after a top-level comma). Returns the
    messages, their text (``seg``: the messages without the enclosing brackets) and the index in ``buf``
    just after the top-level comma that follows them; None when no complete message could be split off.

    The fast path cuts at the last ``},`` (``,`` for arrays of non-objects) in the first ``size`` bytes (or
    anywhere) and parses the part before it with ``json.loads`` in one call. That parse succeeds only if the
    cut is a top-level boundary: a comma inside a string leaves the string unterminated, one inside a nested
    container leaves it unclosed, and a cut before a comma never splits a number or literal. Otherwise the
    messages are scanned one by one.
    """
    pattern = b"}," if objects else b","
    ends = [len(buf)]
    if size is not None and begin + size < len(buf):
        ends.insert(0, begin + size)
    for end in ends:
        for _ in range(4):  # a few candidates: the last one may sit inside a string or a nested value
            comma = buf.rfind(pattern, begin, end)
            if comma < begin:
                break
            end = comma
            if objects:
                comma += 1
            seg = bytes(buf[begin:comma])
            try:
                items = json.loads(b"[" + seg + b"]")
            except ValueError:
                continue
            if items:
                return items, seg, comma + 1
    # the slow path: one message at a time
    raw = bytes(buf[begin:])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data":
            return None  # damaged: the final parse will say so
        text = raw[: e.start].decode("utf-8")
    items = []
    idx, end, size = 0, -1, len(text)
    while True:
        while idx < size and text[idx] in " \t\n\r":
            idx += 1
        try:
            item, stop = _scan_once(text, idx)
        except (StopIteration, ValueError):
            break
        while stop < size and text[stop] in " \t\n\r":
            stop += 1
        if stop >= size or text[stop] != ",":
            break
        items.append(item)
        end = stop
        idx = stop + 1
    if not items:
        return None
    seg = text[:end].encode("utf-8")
    return items, seg, begin + len(seg) + 1
