"""wfctl wake RUN — interrupt pending sleep() calls (Run.wakeUp) and re-enqueue the run."""

from __future__ import annotations

from typing import List

import typer

from .common import runtime
from .options import check_run_id, check_texts, dry_run_option, examples, run_argument

EXAMPLES = examples(
    "wfctl wake RUN                                   # stop every pending sleep of the run",
    "wfctl wake RUN --dry-run                         # list the pending sleeps",
    "wfctl wake RUN --correlation-id wait_01M81013ZK8P3JVFR2N3BBXRRD",
)


def wake(
    ctx: typer.Context,
    run_id: str = run_argument(),
    correlation_id: List[str] = typer.Option(
        [], "--correlation-id", metavar="ID", help="Only this sleep (a wait_... id from 'get'); repeatable."
    ),
    dry_run: bool = dry_run_option("List the pending sleeps; change nothing."),
) -> None:
    """Wake a sleeping run: complete its pending sleeps and re-enqueue it. Prints the stopped count.

    Experimental on the Workflow SDK Vercel world (the re-enqueue is not done there).
    """
    from ..backends.base import WAKE

    rt = runtime(ctx)
    check_run_id(run_id)
    correlation_id = check_texts(correlation_id, "--correlation-id")
    backend = rt.backend(WAKE)
    if WAKE in backend.experimental:
        rt.note(f"note: wake is experimental on the {backend.label} backend")
    result = backend.wake(run_id, list(correlation_id) or None, dry_run=dry_run)
    rt.render.wake(result, dry_run=dry_run)
    if result.message:
        rt.note(result.message)


def register(app: typer.Typer) -> None:
    app.command("wake", epilog=EXAMPLES)(wake)
