"""wfctl get RUN — everything about one run."""

from __future__ import annotations

from typing import Optional

import typer

from . import check_run_id, run_argument, runtime


def get(
    ctx: typer.Context,
    run_id: str = run_argument(),
    wait: bool = typer.Option(False, "--wait", help="First wait until the run is terminal (like returnValue)."),
    timeout: Optional[str] = typer.Option(None, "--timeout", help="Give up waiting after this long (exit 124)."),
    interval: float = typer.Option(1.0, "--interval", help="Seconds between checks while waiting."),
) -> None:
    """Show one run: status, times, input, output or error, steps, sleeps, hooks, streams."""
    from ..backends.base import GET
    from .status import wait_runs

    rt = runtime(ctx)
    backend = rt.backend(GET)
    check_run_id(run_id)
    if wait:
        wait_runs(rt, backend, [run_id], timeout, interval)
    run = backend.get_run(run_id)
    rt.remember([run.runId])
    rt.render.run_detail(run)
    if wait:
        from ..waiting import exit_code_for

        raise typer.Exit(int(exit_code_for([run])))


def register(app: typer.Typer) -> None:
    app.command("get")(get)
