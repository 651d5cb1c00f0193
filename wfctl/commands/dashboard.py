"""wfctl dashboard — counts by status, recent runs, failures; live on a terminal."""

from __future__ import annotations

from typing import Optional

import typer

from .common import runtime
from .options import check_text, count_option, examples, interval_option, only_with, workflow_option

EXAMPLES = examples(
    "wfctl dashboard                          # live on a terminal; q quits",
    "wfctl dashboard --once -o json           # one snapshot, for scripts",
    "wfctl dashboard --live --interval 10s    # off a terminal: one line per status change",
)


def dashboard(
    ctx: typer.Context,
    workflow: Optional[str] = workflow_option("Only this workflow."),
    interval: float = interval_option("2s", "Time between refreshes."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot and exit."),
    live: bool = typer.Option(False, "--live", help="Off a terminal: one line per status change."),
    recent: int = count_option(10, ["--recent"], "How many recent runs to show.", minimum=1, maximum=100),
) -> None:
    """A live view of runs: counts as bars, recent runs with changes highlighted, latest failures."""
    from ..backends.base import DASHBOARD
    from ..errors import UsageError

    rt = runtime(ctx)
    check_text(workflow, "--workflow")
    if once and live:
        raise UsageError("give --once or --live, not both")
    only_with(ctx, not once, ("interval",), "a live dashboard", hint="--once prints one snapshot; drop --interval")
    backend = rt.backend(DASHBOARD)
    out = rt.out
    if once or out.format == "json" or not (live or (out.tty and out.format == "table")):
        from ..backends.dashboard import latest_failures

        counts = backend.counts(workflow)
        rt.render.counts(counts, backend.recent_runs(recent, workflow), latest_failures(backend, workflow=workflow))
        return
    rt.render.live_dashboard(
        backend,
        rt.profile,
        workflow=workflow,
        interval=interval,
        recent=recent,
        lines=not (out.tty and out.format == "table"),
    )


def register(app: typer.Typer) -> None:
    app.command("dashboard", epilog=EXAMPLES)(dashboard)
