"""wfctl get RUN — everything about one run."""

from __future__ import annotations

from typing import Optional

import typer

from .common import runtime, wait_runs
from .options import check_run_id, examples, interval_option, only_with, run_argument, timeout_option, wait_option

EXAMPLES = examples(
    "wfctl get wrun_01M81013R4XC1AH1NY0GMYME33",
    "wfctl get RUN -o json --fields status,output,error",
    "wfctl get RUN --wait --timeout 30m -o json --fields output   # the return value, in a script",
)


def get(
    ctx: typer.Context,
    run_id: str = run_argument(),
    wait: bool = wait_option(
        "First wait until the run is terminal (like returnValue); then exit by its state like 'status'."
    ),
    timeout: Optional[float] = timeout_option(),
    interval: float = interval_option("1s"),
) -> None:
    """Show one run: status, times, input, output or error, steps, sleeps, hooks, streams."""
    from ..backends.base import GET

    rt = runtime(ctx)
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    check_run_id(run_id)
    backend = rt.backend(GET)
    if wait:
        wait_runs(rt, backend, [run_id], timeout, interval)
    run = backend.get_run(run_id)
    rt.remember([run.runId])
    rt.render.run_detail(run)
    if wait:
        from ..waiting import exit_code_for

        raise typer.Exit(int(exit_code_for([run])))


def register(app: typer.Typer) -> None:
    app.command("get", epilog=EXAMPLES)(get)
