"""The errors of the Durable Streams reader: one :class:`StreamError` subclass per kind of failure, each with
a stable ``code`` (see "Retries" and "Malformed bodies" in docs/durable-streams.md for which are retried).
Public through ``wfctl.durable_streams``."""

from __future__ import annotations

from typing import Any


class StreamError(Exception):
    """Base class of every error raised by the reader.

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
