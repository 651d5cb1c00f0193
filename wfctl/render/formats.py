"""Engines' own event formats: the writer of the events and event batches whose class names one in
``render_as`` (:class:`wfctl.model.Event`). A writer is a module with ``describe(data)`` (the one-line summary of
a ``tail`` line), ``event_lines(events)`` and ``batch_lines(batch)`` (``tail -o jsonl`` lines in bulk). The
renderer dispatches here, so no backend imports the render layer. No Rich.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def writer(item: Any) -> ModuleType | None:
    """The writer of ``item``'s engine format (an event, an event batch or their class), or None."""
    kind = getattr(item, "render_as", None)
    if kind == "flue":
        from . import flue

        return flue
    return None


def batch_lines(batch: Any) -> str:
    """The ``tail -o jsonl`` lines of an :class:`~wfctl.model.EventBatch` (every batch class names its format)."""
    engine_format = writer(batch)
    if engine_format is None:
        raise TypeError(f"{type(batch).__name__} names no engine format (render_as)")
    return engine_format.batch_lines(batch)
