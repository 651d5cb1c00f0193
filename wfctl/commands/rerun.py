"""wfctl rerun RUN... | --status/--workflow/--since — a new run of each run's workflow with its recorded input.

By filter it previews, confirms, refuses off a terminal without ``-y`` and takes ``--dry-run`` exactly as a
bulk cancel does (``commands/common.py``). One outcome per source run (README, "Commands" and "Exit codes").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, List, Optional

import typer

from .common import Declined, confirm, matching_runs, runtime, wait_runs
from .options import (
    check_run_id,
    check_text,
    check_texts,
    dry_run_option,
    examples,
    interval_option,
    limit_option,
    only_with,
    run_ids_argument,
    since_option,
    status_option,
    timeout_option,
    until_option,
    wait_option,
    workflow_option,
)

if TYPE_CHECKING:
    from ..model import RerunOutcome
    from ..runtime import Runtime

EXAMPLES = examples(
    "wfctl rerun RUN                                              # same workflow, same input, new run",
    "wfctl rerun --status failed --workflow demoWorkflow --since 2h --dry-run",
    "wfctl rerun --status failed --since 1d -y -o jsonl --wait    # in a script: -y is required",
)


def rerun(
    ctx: typer.Context,
    run_ids: List[str] = run_ids_argument("Run ids (or use a filter).", required=False),
    status: List[str] = status_option("Filter: status (normalized or the engine's word); repeatable [default: any]."),
    workflow: Optional[str] = workflow_option("Filter: workflow name (or id)."),
    since: Optional[datetime] = since_option("Filter: created after."),
    until: Optional[datetime] = until_option("Filter: created before."),
    limit: int = limit_option(1000, "At most this many runs for a filter."),
    dry_run: bool = dry_run_option("Check each run and show what would be started; start nothing."),
    wait: bool = wait_option("Wait until every new run is terminal; exit by their states."),
    timeout: Optional[float] = timeout_option(),
    interval: float = interval_option("1s"),
) -> None:
    """Re-run runs: start a new run of each run's workflow with its recorded input. One outcome per run;
    exit 3 for one unknown run, 6 when refused, 7 if any of several did not start."""
    from ..backends.base import LIST, RERUN
    from ..errors import ExitCode, UsageError

    rt = runtime(ctx)
    run_ids = list(run_ids or [])
    status = check_texts(status, "--status")
    check_text(workflow, "--workflow")
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    if wait and dry_run:
        raise UsageError("give --wait or --dry-run, not both")
    filtered = bool(status or workflow or since or until)
    if run_ids and filtered:
        raise UsageError("give run ids or a filter (--status/--workflow/--since/--until), not both")
    if not run_ids and not filtered:
        raise UsageError("nothing to re-run", hint="give run ids, or a filter such as --status failed --since 1d")
    for run_id in run_ids:
        check_run_id(run_id)
    backend = rt.backend(RERUN)
    if filtered:
        backend.require(LIST)
        matches, more = matching_runs(
            backend, statuses=list(status), workflow=workflow, since=since, until=until, limit=limit
        )
        if not matches:
            rt.note("no runs match; nothing to re-run")
            return
        run_ids = [r.runId for r in matches]
        if not dry_run:
            rt.render.preview(
                matches, f"{len(matches)} run(s) match" + (f" (limited to {limit})" if more else "") + ":"
            )
            try:
                confirm(rt, f"Re-run {len(matches)} run(s)?", len(matches))
            except Declined:
                rt.note("nothing started")
                raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    outcomes = backend.rerun(run_ids, dry_run=dry_run)
    started = [o.runId for o in outcomes if o.outcome == "started" and o.runId]
    rt.remember(started)
    code = _finish(rt, outcomes, dry_run=dry_run)
    if wait and started:
        from ..waiting import exit_code_for

        runs = wait_runs(rt, backend, started, timeout, interval)
        if code == ExitCode.OK:
            code = exit_code_for(runs)
        rt.note("; ".join(f"{r.runId} {r.status}" for r in runs))
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def _finish(rt: "Runtime", outcomes: list["RerunOutcome"], *, dry_run: bool) -> int:
    """Print the outcomes and answer the exit code: 0; 3 for one run not found; 6 for one refused (an error
    line) or when every run was refused; 5 for one error; 7 when any of several did not start."""
    from ..errors import ExitCode, UnsupportedError

    if len(outcomes) == 1 and outcomes[0].outcome == "refused":
        raise UnsupportedError(outcomes[0].message or "refused", hint=outcomes[0].hint)
    rt.render.rerun_outcomes(outcomes)
    if dry_run:
        would = sum(1 for o in outcomes if o.outcome == "would_start")
        rt.note(f"dry run: {would} of {len(outcomes)} run(s) would be re-run; nothing was started")
    refused = [o for o in outcomes if o.outcome == "refused"]
    for outcome in refused[:1]:
        if outcome.hint:
            rt.note(f"hint: {outcome.hint}")
    failed = [o for o in outcomes if o.outcome in ("not_found", "error", "refused")]
    if not failed:
        return ExitCode.OK
    if len(outcomes) == 1:
        return ExitCode.NOT_FOUND if failed[0].outcome == "not_found" else ExitCode.UNAVAILABLE
    return ExitCode.UNSUPPORTED if len(refused) == len(outcomes) else ExitCode.PARTIAL


def register(app: typer.Typer) -> None:
    app.command("rerun", epilog=EXAMPLES)(rerun)
