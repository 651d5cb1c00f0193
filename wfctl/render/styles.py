"""The bottom of the render layer: how statuses and outcomes look on a terminal (Rich style names and
icons). Plain data: no Rich import, no other render module."""

from __future__ import annotations

STATUS_STYLE = {
    "pending": "yellow",
    "running": "cyan",
    "waiting": "magenta",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "dim",
    "unknown": "white",
}
STATUS_ICON = {
    "pending": "○",
    "running": "◐",
    "waiting": "◑",
    "completed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "unknown": "?",
}
OUTCOME_STYLE = {
    "cancelled": "green",
    "already_completed": "dim",
    "not_eligible": "yellow",
    "not_found": "red",
    "error": "bold red",
    "refused": "magenta",
}
