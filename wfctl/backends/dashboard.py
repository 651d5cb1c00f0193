"""What the dashboard reads besides the counts, the same way on every backend that has one.

"Latest failures" is its own query — the last failed runs, with their error messages — never the failed runs
that happen to be among the recent ones (with many running runs there are none among them). A backend that
must read each failure apart from its list (Temporal: the close event) defines ``recent_failures``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import FAILED, ListQuery, Run
from .base import LIST

if TYPE_CHECKING:
    from .base import Backend

#: How many failures the dashboard shows.
FAILURES = 5


def latest_failures(backend: "Backend", limit: int = FAILURES, workflow: str | None = None) -> list[Run]:
    """The last ``limit`` failed runs (of ``workflow``), newest first, with their errors."""
    own = getattr(backend, "recent_failures", None)
    if callable(own):
        return list(own(limit, workflow))
    if not backend.supports(LIST):
        return []
    return backend.list_runs(ListQuery(statuses=[FAILED], limit=limit, workflow=workflow)).data
