"""wfctl cancel RUN... | --status/--workflow/--since — with preview and confirmation for filters.

A dry run answers with the outcomes the real cancel would give (``would_cancel`` where it would cancel), in the
same JSON shape and with the same exit code; README, Decisions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, List, Optional

import typer

from .common import Declined, confirm, runtime
from .options import (
    check_run_id,
    check_text,
    check_texts,
    dry_run_option,
    examples,
    limit_option,
    run_ids_argument,
    since_option,
    status_option,
    until_option,
    workflow_option,
)

if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..model import CancelOutcome, Run
    from ..runtime import Runtime

MAX_REASON = 500
WOULD_CANCEL = "would_cancel"

EXAMPLES = examples(
    "wfctl cancel RUN --reason 'stuck on a bad input'",
    "wfctl cancel --status running --workflow demoWorkflow --dry-run   # what would be cancelled",
    "wfctl cancel --status running --since 2h -y -o json               # in a script: -y is required",
)


def cancel(
    ctx: typer.Context,
    run_ids: List[str] = run_ids_argument("Run ids (or use a filter).", required=False),
    status: List[str] = status_option(
        "Filter: status (normalized or the engine's word); repeatable [default: pending, running, waiting]."
    ),
    workflow: Optional[str] = workflow_option("Filter: workflow name (or id)."),
    since: Optional[datetime] = since_option("Filter: created after."),
    until: Optional[datetime] = until_option("Filter: created before."),
    limit: int = limit_option(1000, "At most this many runs for a filter."),
    reason: Optional[str] = typer.Option(None, "--reason", metavar="TEXT", help="Why (max 500 characters)."),
    terminate: bool = typer.Option(
        False, "--terminate", help="Terminate instead of requesting cancellation (Temporal)."
    ),
    dry_run: bool = dry_run_option("Show the outcomes a cancel would give; change nothing."),
) -> None:
    """Cancel runs. Each run gets an outcome; exit 3 for one unknown run, 7 if any of several is not_found or
    error."""
    from ..backends.base import CANCEL, LIST
    from ..errors import UsageError
    from ..model import ListQuery

    rt = runtime(ctx)
    run_ids = list(run_ids or [])
    status = check_texts(status, "--status")
    check_text(workflow, "--workflow")
    filtered = bool(status or workflow or since or until)
    if run_ids and filtered:
        raise UsageError("give run ids or a filter (--status/--workflow/--since/--until), not both")
    if not run_ids and not filtered:
        raise UsageError("nothing to cancel", hint="give run ids, or a filter such as --status running")
    if reason is not None:
        if len(reason) > MAX_REASON:
            raise UsageError(f"--reason is {len(reason)} characters; the limit is {MAX_REASON}")
        check_text(reason, "--reason", limit=MAX_REASON)
    for run_id in run_ids:
        check_run_id(run_id)
    backend = rt.backend(CANCEL)
    if filtered:
        backend.require(LIST)
        statuses = list(status) or ["pending", "running", "waiting"]
        q = ListQuery(statuses=statuses, workflow=workflow, since=since, until=until, limit=min(limit, 100))
        matches: list["Run"] = []
        while len(matches) < limit:
            page = backend.list_runs(q)
            matches.extend(page.data)
            if not (page.hasMore and page.cursor):
                break
            q.cursor = page.cursor
        more = len(matches) > limit
        matches = matches[:limit]
        if not matches:
            rt.note("no runs match; nothing to cancel")
            return
        if dry_run:
            _finish(rt, [_predict(run) for run in matches], dry_run=True)
            return
        rt.render.preview(matches, f"{len(matches)} run(s) match" + (f" (limited to {limit})" if more else "") + ":")
        try:
            confirm(rt, f"Cancel {len(matches)} run(s)?", len(matches))
        except Declined:
            from ..errors import ExitCode

            rt.note("nothing cancelled")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        run_ids = [r.runId for r in matches]
    elif dry_run:
        _finish(rt, [_predict_id(backend, run_id) for run_id in run_ids], dry_run=True)
        return
    options = {"terminate": True} if terminate else {}
    _finish(rt, backend.cancel(run_ids, reason, **options), dry_run=False)


def _predict(run: "Run") -> "CancelOutcome":
    from ..model import TERMINAL, CancelOutcome

    if run.status in TERMINAL:
        return CancelOutcome(run.runId, "already_completed", f"run is {run.status}", run.status)
    return CancelOutcome(run.runId, WOULD_CANCEL, None, run.status)


def _predict_id(backend: "Backend", run_id: str) -> "CancelOutcome":
    from ..errors import NotFoundError
    from ..model import CancelOutcome

    try:
        return _predict(backend.get_status(run_id))
    except NotFoundError as exc:
        return CancelOutcome(run_id, "not_found", exc.message)


def _finish(rt: "Runtime", outcomes: list["CancelOutcome"], *, dry_run: bool) -> None:
    """Print the outcomes and exit: 0; 3 for one run not found; 5 for one error; 6 when every run was refused;
    7 when any of several is not_found, error or refused. A dry run exits as the real cancel would."""
    from ..errors import ExitCode, UnsupportedError

    if len(outcomes) == 1 and outcomes[0].outcome == "refused":
        raise UnsupportedError(outcomes[0].message or "refused", hint=outcomes[0].hint)
    if dry_run and rt.out.format == "id":
        rt.render.run_ids(o.runId for o in outcomes if o.outcome == WOULD_CANCEL)
    else:
        rt.render.outcomes(outcomes)
    if dry_run:
        _dry_run_note(rt, outcomes)
    refused = [o for o in outcomes if o.outcome == "refused"]
    for outcome in refused[:1]:
        if outcome.hint:
            rt.note(f"hint: {outcome.hint}")
    failed = [o for o in outcomes if o.outcome in ("not_found", "error", "refused")]
    if failed:
        if len(outcomes) == 1:
            raise typer.Exit(int(ExitCode.NOT_FOUND if failed[0].outcome == "not_found" else ExitCode.UNAVAILABLE))
        # every run refused by the version gate: 6; anything else partly failed: 7
        all_refused = len(refused) == len(outcomes)
        raise typer.Exit(int(ExitCode.UNSUPPORTED if all_refused else ExitCode.PARTIAL))


def _dry_run_note(rt: "Runtime", outcomes: list["CancelOutcome"]) -> None:
    would = [o for o in outcomes if o.outcome == WOULD_CANCEL]
    parts = [f"dry run: {len(would)} run(s) would be cancelled"]
    for outcome, label in (("already_completed", "already finished, left as they are"), ("not_found", "not found")):
        ids = [o.runId for o in outcomes if o.outcome == outcome]
        if ids:
            from ..output import clean

            shown = ", ".join(clean(i) for i in ids[:10]) + (f", and {len(ids) - 10} more" if len(ids) > 10 else "")
            parts.append(f"{len(ids)} {label}: {shown}")
    rt.note("; ".join(parts))


def register(app: typer.Typer) -> None:
    app.command("cancel", epilog=EXAMPLES)(cancel)
