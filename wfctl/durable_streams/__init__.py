"""A reader for Durable Streams, the HTTP streaming protocol behind Flue runs: wfctl's public library API for it.

``StreamReader(url).read(offset, live=None | "long-poll" | "sse")`` yields :class:`Batch`\\ es; every error is a
:class:`StreamError` subclass. The protocol in short, how to use the reader and the reasons for its behaviour
(modes, retries, malformed bodies, large answers, memory) are in docs/durable-streams.md.

This package only re-exports the public names, from private modules: ``_reader`` (the reader and its data
types), ``_errors``, ``_split`` (cutting a JSON array that is still arriving) and ``_columns`` (the helper
process that decodes large answers on a second core); the SSE parser is ``wfctl.sse``. Each name is imported
on first use, so importing the package (e.g. for :func:`columns`) does not import httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Backoff",
    "Batch",
    "SSEParser",
    "StreamInfo",
    "StreamReader",
    "columns",
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

if TYPE_CHECKING:
    from ..sse import SSEParser
    from ._columns import columns
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
        StreamError,
        UnauthorizedError,
        UnexpectedStatusError,
    )
    from ._reader import Backoff, Batch, StreamInfo, StreamReader
else:
    _READER = "wfctl.durable_streams._reader"
    _ERRORS = "wfctl.durable_streams._errors"
    #: where each public name is defined (imported from there on first use)
    _HOMES = {
        "Backoff": _READER,
        "Batch": _READER,
        "SSEParser": "wfctl.sse",
        "StreamInfo": _READER,
        "StreamReader": _READER,
        "columns": "wfctl.durable_streams._columns",
        "StreamError": _ERRORS,
        "NotFoundError": _ERRORS,
        "GoneError": _ERRORS,
        "InvalidOffsetError": _ERRORS,
        "BadRequestError": _ERRORS,
        "UnauthorizedError": _ERRORS,
        "RateLimitedError": _ERRORS,
        "ServerError": _ERRORS,
        "NetworkError": _ERRORS,
        "ParseError": _ERRORS,
        "ProtocolError": _ERRORS,
        "UnexpectedStatusError": _ERRORS,
    }

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
