"""Ports and waiting, for every peer and fake: free ports on 127.0.0.1 and conditions with deadlines (never a
fixed sleep, never a well-known port assumed closed)."""

from __future__ import annotations

import socket
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: free when asked."""
    return free_port()


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str | None = None,
) -> T:
    """Call ``predicate`` until it returns a truthy value and return that value; TimeoutError at the deadline.

    Exceptions raised by the predicate count as "not yet" (the last one is chained into the TimeoutError), so a
    predicate may race with files being written or a server starting.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_exc = exc
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", "condition")
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{detail}") from last_exc
        time.sleep(interval)
