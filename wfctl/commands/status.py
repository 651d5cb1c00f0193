"""wfctl status RUN... — one status per run; the exit code tells the state."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from . import check_run_id, run_ids_argument, runtime
from .options import examples, interval_option, only_with, timeout_option

if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..model import Run
    from ..runtime import Runtime

EXAMPLES = examples(
    "wfctl status RUN                                  # exit 0 completed, 10 failed, 11 cancelled, 12 running",
    "wfctl status RUN --wait --timeout 30m && deploy   # 124 when the time runs out",
    "wfctl status RUN1 RUN2 --wait --interval 5s -o json",
)


def wait_runs(
    rt: "Runtime",
    backend: "Backend",
    run_ids: list[str],
    timeout: Optional[float],
    interval: float,
    first: Optional[list["Run"]] = None,
) -> list["Run"]:
    """Wait until every run is terminal (``--timeout`` in seconds, None: no limit), with a spinner on a
    terminal."""
    from ..waiting import wait_for_runs

    spinner = None
    if not rt.g.quiet:
        import sys

        from ..output import stream_is_tty

        if stream_is_tty(sys.stderr):
            from ..render.progress import Spinner

            spinner = Spinner(rt.out)
    try:
        return wait_for_runs(
            backend,
            run_ids,
            timeout=timeout,
            interval=interval,
            on_update=spinner.update if spinner else None,
            first=first,
        )
    finally:
        if spinner:
            spinner.stop()


def status(
    ctx: typer.Context,
    run_ids: List[str] = run_ids_argument(),
    wait: bool = typer.Option(False, "--wait", help="Block until every run is terminal."),
    timeout: Optional[float] = timeout_option(),
    interval: float = interval_option("2s"),
) -> None:
    """Print one status per run; the exit code tells the state.

    For several runs the code is the worst state: failed (10) before cancelled (11) before not finished (12);
    a run that is not found is reported on stderr after the others are printed, and its code (3) comes first.
    """
    from ..backends.base import STATUS
    from ..errors import ExitCode, NotFoundError
    from ..output import error_line
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    for run_id in run_ids:
        check_run_id(run_id)
    backend = rt.backend(STATUS)
    found: list["Run"] = []
    found_ids: list[str] = []
    missing: list[NotFoundError] = []
    for run_id in run_ids:
        try:
            found.append(backend.get_status(run_id))
            found_ids.append(run_id)
        except NotFoundError as exc:
            if len(run_ids) == 1:
                raise
            missing.append(exc)
    if wait and found:
        found = wait_runs(rt, backend, found_ids, timeout, interval, first=found)
    rt.remember([r.runId for r in found])
    if rt.out.format == "json" and len(run_ids) > 1:
        _json_array(rt, found)
    elif found:
        rt.render.statuses(found)
    for exc in missing:
        error_line(exc.message, exc.hint)
    raise typer.Exit(int(ExitCode.NOT_FOUND if missing else exit_code_for(found)))


def _json_array(rt: "Runtime", runs: list["Run"]) -> None:
    """``-o json`` for several requested runs is always an array, also when only one of them was found."""
    from ..output import check_fields, select, write_json
    from ..render import STATUS_FIELDS

    fields = rt.out.fields
    check_fields(fields, STATUS_FIELDS)
    write_json([select({k: r.to_json()[k] for k in STATUS_FIELDS}, fields) for r in runs])


def register(app: typer.Typer) -> None:
    app.command("status", epilog=EXAMPLES)(status)
