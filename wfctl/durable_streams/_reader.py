"""The Durable Streams reader: :class:`StreamReader` and the data types it answers with (:class:`Batch`,
:class:`StreamInfo`, :class:`Backoff`). Public through ``wfctl.durable_streams``; its behaviour and the reasons
for it are in docs/durable-streams.md."""

from __future__ import annotations

import base64
import json
import logging
import random
import time
import zlib
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, Mapping, NoReturn, Sequence, Union

import httpx

from .. import __version__
from ..sse import SSEParser
from ..times import retry_after_seconds
from ._columns import ColumnHelper
from ._errors import (
    BadRequestError,
    GoneError,
    InvalidOffsetError,
    NetworkError,
    NotFoundError,
    ParseError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnexpectedStatusError,
    _Retry,
)
from ._split import _encode_compact, _join_json_arrays, _LazyItems, _proven_part, _split_json_array

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
      has arrived (see "Large responses" in docs/durable-streams.md). Its ``offset`` is then the offset the
      response was requested from (the last committed one), **not** an offset after its items: resuming
      from it re-delivers them (at-least-once). ``up_to_date`` and ``closed`` are false. Only the last
      batch of the response (``partial`` false) carries the response's ``Stream-Next-Offset``.
    * ``index``: how many messages of the response precede ``items[0]`` (``0`` unless the response was
      delivered in several batches, or re-read after a cut); with the response's start offset and the
      final batch's offset it lets a caller number the messages of a response exactly.
    * ``columns``: when ``read(columns=KEYS)`` asked for them and the batch is a part of a large response
      decoded by the helper process (see "Large responses"), the values of those top-level keys of every
      message (:func:`wfctl.durable_streams.columns`); ``items`` are then decoded only when first used. None
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
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "application/json"


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
    """Reads one Durable Stream. Its behaviour, and the reasons for it: docs/durable-streams.md.

    :param url: the stream URL (any query parameters already in it are kept).
    :param headers: extra request headers (e.g. ``Authorization``), or a callable returning them, called
        for every request so that tokens can be refreshed between reconnects.
    :param params: extra query parameters sent on every read (e.g. Flue's ``tail``), or a callable returning
        them, called for every request (e.g. a signed URL's expiring signature); ``offset``, ``live`` and
        ``cursor`` are managed by the reader. Query parameters are sorted (for CDN hits, as section 10.1 of the
        Durable Streams protocol asks).
    :param client: an ``httpx.Client`` to use (not closed by the reader); by default the reader owns one,
        which does not follow redirects (credentials never leave the origin).
    :param timeout: seconds (or an ``httpx.Timeout``) for non-live requests; connect timeout at most 5 s.
    :param max_retries: consecutive retryable failures tolerated before the error is raised.
    :param idle_timeout: seconds a live connection may stay silent before it is reopened.
    :param backoff: the :class:`Backoff` policy.
    :param verify_offsets: detect resume offsets beyond the tail (see "Offsets beyond the tail" in
        docs/durable-streams.md).
    :param sleep: the function used to wait between retries (tests inject a recorder).
    :param batch_bytes: a JSON response body larger than this is delivered in ``partial`` batches (of
        ``PART_BYTES``, or ``batch_bytes`` if smaller) as it arrives (see "Large responses" in
        docs/durable-streams.md).
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
        "Columns: large answers on two cores" in docs/durable-streams.md, and :attr:`Batch.columns`).

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

    def _catch_up(self, s: _Session, reset: bool = True, verify: bool = True) -> Generator[Batch, None, bool]:
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

    def _sse(self, s: _Session) -> Generator[Batch, None, str]:
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
            head = b""
            try:
                for chunk in raw_chunks(resp.iter_raw()):
                    if not started and encoding == "deflate":
                        head += chunk
                        if len(head) < 2:  # the zlib header is two bytes: decide once both have arrived
                            continue
                        started, chunk = True, head
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
                # UTF-8, as SSE is: the arrays are joined as they were sent (json.loads would also take a
                # byte-order mark or UTF-16, which the joined text cannot hold)
                decoded = json.loads(data.decode("utf-8"))
                if not isinstance(decoded, list):
                    raise ValueError(f"expected a JSON array, got {type(decoded).__name__}")
            except (ValueError, RecursionError) as e:
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
        except (ValueError, RecursionError) as e:
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
        query = tuple(sorted(self._base_params + params))
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
        kw: dict[str, Any] = dict(status=status, url=self._display_url, body=body or None, retry_after=retry_after)
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
                except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError; too deep
                    self.reader._corrupt(s, body, f"invalid JSON body ({e})", status)
            else:
                items, body = [], b""  # nothing was new (a body of whitespace included)
        else:
            rest = bytes(buf[self.begin :])
            try:
                items = json.loads(b"[" + rest)
                if not items:
                    raise ValueError("no message after the last comma")
            except (ValueError, RecursionError) as e:
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
        except (ValueError, RecursionError) as e:
            self.reader._corrupt(self.s, seg, f"invalid JSON body ({e})", self.status)


def _query_items(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """Extra query parameters as pairs; the reader's own ones are refused."""
    bad = _RESERVED_PARAMS.intersection(params)
    if bad:
        raise ValueError(f"query parameter(s) {sorted(bad)} are managed by the reader")
    return [(str(k), str(v)) for k, v in params.items()]
