"""Ctrl-C at safe points.

A follow (``tail --live``) prints a resume offset when it is interrupted. That offset must name the last line
that was really printed: an interrupt that lands between writing a line and recording its offset would make
the hint repeat a line, and one that lands between recording and writing would make it skip one. While
:func:`deferred` is active, SIGINT does not interrupt a :data:`critical` section (a write and its bookkeeping);
it is raised as ``KeyboardInterrupt`` as soon as the section ends. Outside such sections, and without
:func:`deferred`, Ctrl-C behaves as Python's default.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Iterator


class _Critical:
    """``with critical:`` — SIGINT waits until the block ends (only while :func:`deferred` is active)."""

    __slots__ = ("depth", "pending")

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.depth -= 1
        if self.pending and not self.depth and exc_type is None:
            self.pending = False
            raise KeyboardInterrupt


critical = _Critical()


def _on_sigint(signum: int, frame: Any) -> None:
    if critical.depth:
        critical.pending = True
    else:
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Defer SIGINT out of :data:`critical` sections for the duration (main thread only; elsewhere a no-op)."""
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        critical.pending = False
