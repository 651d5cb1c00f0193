"""One module per command. Each exposes ``register(app)``; bodies stay thin:
resolve the runtime, call the backend, hand the result to the renderer.

Options several commands share (durations, times, counts, text checks, the help layout) are declared once in
:mod:`wfctl.commands.options`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
MAX_RUN_ID = 512


def run_argument(help: str = RUN_HELP) -> typer.models.ArgumentInfo:
    return typer.Argument(..., help=help, metavar="RUN_ID", autocompletion=complete_run_id, show_default=False)


def run_ids_argument(help: str = "Run ids.", required: bool = True) -> typer.models.ArgumentInfo:
    return typer.Argument(
        ... if required else None, help=help, metavar="RUN_ID", autocompletion=complete_run_id, show_default=False
    )


def check_run_id(run_id: str) -> str:
    """Reject ids that cannot be run ids on any engine (empty, control characters, slashes, huge)."""
    from ..output import clean

    if not run_id or not run_id.strip():
        raise UsageError("run id is empty")
    if len(run_id) > MAX_RUN_ID:
        raise UsageError(f"invalid run id {clean(run_id)[:40]!r}…: {len(run_id)} characters; at most {MAX_RUN_ID}")
    if clean(run_id) != run_id or "/" in run_id:
        raise UsageError(f"invalid run id {clean(run_id)[:80]!r}", hint="run ids have no slashes or control characters")
    return run_id
