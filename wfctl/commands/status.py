"""wfctl status RUN... — one status per run; the exit code tells the state."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, List, Optional

import typer

from .common import runtime, wait_runs
from .options import (
    check_run_id,
    examples,
    interval_option,
    only_with,
    run_ids_argument,
    timeout_option,
    wait_option,
)

if TYPE_CHECKING:
    from ..model import Run

EXAMPLES = examples(
    "wfctl status RUN                                  # exit 0 completed, 10 failed, 11 cancelled, 12 running",
    "wfctl status RUN --wait --timeout 30m && deploy   # 124 when the time runs out",
    "wfctl status RUN1 RUN2 --wait --interval 5s -o json",
)


def status(
    ctx: typer.Context,
    run_ids: List[str] = run_ids_argument(),
    wait: bool = wait_option("Block until every run is terminal."),
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
    from ..waiting import Deadline, exit_code_for

    rt = runtime(ctx)
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    for run_id in run_ids:
        check_run_id(run_id)
    backend = rt.backend(STATUS)
    deadline = Deadline(timeout if wait else None)  # --timeout counts from the first read
    found: list["Run"] = []
    found_ids: list[str] = []
    missing: list[NotFoundError] = []
    for run_id in run_ids:
        try:
            found.append(deadline.read(backend, partial(backend.get_status, run_id), lambda: list(run_ids)))
            found_ids.append(run_id)
        except NotFoundError as not_found:
            if len(run_ids) == 1:
                raise
            missing.append(not_found)
    if wait and found:
        found = wait_runs(rt, backend, found_ids, timeout, interval, first=found, deadline=deadline)
    rt.remember([r.runId for r in found])
    several = len(run_ids) > 1  # -o json: an array, also when only one of the runs was found
    if found or (several and rt.out.format == "json"):
        rt.render.statuses(found, array=several)
    for exc in missing:
        error_line(exc.message, exc.hint)
    raise typer.Exit(int(ExitCode.NOT_FOUND if missing else exit_code_for(found)))


def register(app: typer.Typer) -> None:
    app.command("status", epilog=EXAMPLES)(status)
