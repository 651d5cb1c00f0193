"""One module per command. Each exposes ``register(app)``; bodies stay thin:
resolve the runtime, call the backend, hand the result to the renderer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import UsageError

if TYPE_CHECKING:
    from ..runtime import Runtime


def runtime(ctx: typer.Context) -> "Runtime":
    obj = ctx.find_root().obj
    assert obj is not None
    return obj


def complete_run_id(incomplete: str) -> list[str]:
    from ..cache import complete

    return complete(incomplete)


RUN_HELP = "Run id."


def run_argument(help: str = RUN_HELP) -> typer.models.ArgumentInfo:
    return typer.Argument(..., help=help, autocompletion=complete_run_id, show_default=False)


def parse_when(text: Optional[str], flag: str) -> Optional[datetime]:
    """``30m``, ``2h``, ``7d`` (ago) or an RFC 3339 timestamp."""
    if not text:
        return None
    from ..model import parse_time
    from ..waiting import parse_duration

    stripped = text.strip()
    if stripped and stripped[0].isdigit() and not any(c in stripped for c in "-:T"):
        return datetime.now(timezone.utc) - timedelta(seconds=parse_duration(stripped))
    when = parse_time(stripped)
    if when is None:
        raise UsageError(f"invalid {flag} {text!r}", hint="use a duration such as 30m, 2h, 7d or an RFC 3339 time")
    return when


def check_run_id(run_id: str) -> str:
    """Reject ids that cannot be run ids on any engine (empty, control characters, slashes)."""
    from ..output import clean

    if not run_id or not run_id.strip():
        raise UsageError("run id is empty")
    if clean(run_id) != run_id or "/" in run_id or len(run_id) > 512:
        raise UsageError(f"invalid run id {clean(run_id)[:80]!r}", hint="run ids have no slashes or control characters")
    return run_id
