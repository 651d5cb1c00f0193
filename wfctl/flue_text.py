"""Flue's values as one line of text: what the Flue backend puts in a run's error and what the renderer shows
on a ``tail`` line (below both; no I/O, no Rich)."""

from __future__ import annotations

import json
from typing import Any


def compact(value: Any, limit: int = 80) -> str:
    """A value as one line of text (JSON when it is not a string), cut to ``limit`` characters with ``…``."""
    if value is None:
        return ""
    text = (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(error: Any) -> str:
    """A Flue error (``{name, message, ...}`` or any value) as one line: ``name: message`` when it has both."""
    if isinstance(error, dict):
        name, message = error.get("name"), error.get("message")
        if name and message:
            return f"{name}: {message}"
        return str(message or name or compact(error))
    return compact(error) if error is not None else "error"
