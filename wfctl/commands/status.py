"""wfctl status RUN... — one status per run; the exit code tells the state."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from . import check_run_id, complete_run_id, runtime

if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..model import Run
    from ..runtime import Runtime


def wait_runs(rt: "Runtime", backend: "Backend", run_ids: list[str], timeout: Optional[str],
              interval: float) -> list["Run"]:
    from ..errors import UsageError
    from ..waiting import parse_duration, wait_for_runs

    seconds = parse_duration(timeout) if timeout else None
    if interval <= 0:
        raise UsageError("--interval must be positive")
    spinner = None
    if not rt.g.quiet:
        from ..output import stream_is_tty
        import sys

        if stream_is_tty(sys.stderr):
            from ..render.progress import Spinner

            spinner = Spinner(rt.out)
    try:
        return wait_for_runs(backend, run_ids, timeout=seconds, interval=interval,
                             on_update=spinner.update if spinner else None)
    finally:
        if spinner:
            spinner.stop()


def status(
    ctx: typer.Context,
    run_ids: List[str] = typer.Argument(..., help="Run ids.", autocompletion=complete_run_id, show_default=False),
    wait: bool = typer.Option(False, "--wait", help="Block until every run is terminal."),
    timeout: Optional[str] = typer.Option(None, "--timeout", help="Give up waiting after this long (exit 124)."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between checks while waiting."),
) -> None:
    """Print one status per run. Exit 0 completed, 10 failed, 11 cancelled, 12 not finished."""
    from ..backends.base import STATUS
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    backend = rt.backend(STATUS)
    for run_id in run_ids:
        check_run_id(run_id)
    if wait:
        runs = wait_runs(rt, backend, run_ids, timeout, interval)
    else:
        runs = [backend.get_status(r) for r in run_ids]
    rt.remember([r.runId for r in runs])
    rt.render.statuses(runs)
    raise typer.Exit(int(exit_code_for(runs)))


def register(app: typer.Typer) -> None:
    app.command("status")(status)
