"""wfctl dashboard — counts by status, recent runs, failures; live on a terminal."""

from __future__ import annotations

from typing import Optional

import typer

from . import runtime


def dashboard(
    ctx: typer.Context,
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Only this workflow."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot and exit."),
    live: bool = typer.Option(False, "--live", help="Off a terminal: one line per status change."),
    recent: int = typer.Option(10, "--recent", help="How many recent runs to show."),
) -> None:
    """A live view of runs: counts as bars, recent runs with changes highlighted, latest failures."""
    from ..backends.base import DASHBOARD
    from ..errors import UsageError

    rt = runtime(ctx)
    if interval <= 0:
        raise UsageError("--interval must be positive")
    backend = rt.backend(DASHBOARD)
    out = rt.out
    if once or out.format == "json" or not (live or (out.tty and out.format == "table")):
        counts = backend.counts(workflow)
        rt.render.counts(counts, backend.recent_runs(recent, workflow))
        return
    from ..render.live import run_dashboard

    run_dashboard(backend, rt.profile, out, workflow=workflow, interval=interval, recent=recent,
                  lines=not (out.tty and out.format == "table"))


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
