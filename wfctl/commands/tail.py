"""wfctl tail RUN — the run's events (or output stream), optionally following it live."""

from __future__ import annotations

import time
from typing import List, Optional

import typer

from . import check_run_id, run_argument, runtime


def tail(
    ctx: typer.Context,
    run_id: str = run_argument(),
    live: bool = typer.Option(False, "--live", "-f", "--follow", help="Follow until the run ends."),
    stream: Optional[str] = typer.Option(None, "--stream", metavar="[=NAMESPACE]",
                                         help="Read the run's output stream instead of its events "
                                              "(--stream=NS for a namespaced stream)."),
    start_index: Optional[int] = typer.Option(None, "--start-index", help="First stream chunk; negative counts "
                                              "from the end."),
    offset: Optional[str] = typer.Option(None, "--offset", help="Resume exactly after this printed offset."),
    last: Optional[int] = typer.Option(None, "--last", help="Only the last N events."),
    types: List[str] = typer.Option([], "--type", "-t", help="Only events of this type; repeatable."),
    interval: float = typer.Option(1.0, "--interval", help="Polling interval where the engine has no push."),
    sse: bool = typer.Option(False, "--sse", help="Follow over SSE where the engine offers it."),
) -> None:
    """Print a run's events and exit; with --live follow until the run ends (exit code by its state)."""
    from ..backends.base import TAIL, TailRequest
    from ..errors import ExitCode, UsageError
    from ..model import TERMINAL
    from ..output import human_duration
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    check_run_id(run_id)
    if last is not None and last < 0:
        raise UsageError("--last must be positive")
    if interval <= 0:
        raise UsageError("--interval must be positive")
    backend = rt.backend(TAIL)
    printer = rt.render.tail_printer(run_id, stream=stream is not None)
    request = TailRequest(live=live, stream=stream, start_index=start_index, offset=offset, last=last,
                          types=list(types), interval=interval, sse=sse, batches=printer.batches)
    started = time.monotonic()
    footer = live and rt.out.format == "table" and rt.out.tty
    status, checked = "…", 0.0
    try:
        for item in backend.tail(run_id, request):
            printer.item(item)
            if footer:
                now = time.monotonic()
                if now - checked >= 2.0:  # the run's status, at most every 2 s (terminals only)
                    checked = now
                    try:
                        status = backend.get_status(run_id).status
                    except Exception:  # the footer is decoration: never let it end the tail
                        pass
                printer.status_footer(f"{run_id} · {status} · {human_duration(now - started)} · "
                                      f"{printer.count} {'chunks' if stream is not None else 'events'}")
    except KeyboardInterrupt:
        printer.status_footer(None)
        if printer.offset is not None:
            rt.note(f"interrupted; resume with: wfctl tail {run_id} --offset '{printer.offset}'")
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    # Reconcile the final state with the engine before choosing the exit code.
    final = backend.get_status(run_id) if backend.supports("status") else None
    printer.end(final.status if final else None)
    if final is not None and final.status in TERMINAL:
        raise typer.Exit(int(exit_code_for([final])))


def register(app: typer.Typer) -> None:
    app.command("tail")(tail)
