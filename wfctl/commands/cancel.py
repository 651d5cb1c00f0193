"""wfctl cancel RUN... | --status/--workflow/--since — with preview and confirmation for filters."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from . import check_run_id, complete_run_id, parse_when, runtime

MAX_REASON = 500


def confirm(rt, question: str, count: int) -> None:
    """Ask on a terminal; refuse (exit 2) off a terminal or with JSON output unless -y."""
    from ..errors import Interrupted, UsageError
    from ..output import stream_is_tty

    if rt.g.yes:
        return
    if rt.out.structured:
        raise UsageError(f"refusing to act on {count} run(s) without -y/--yes when the output is {rt.out.format}",
                         hint="add -y to confirm, or --dry-run to preview")
    if not (stream_is_tty(sys.stdin) and stream_is_tty(sys.stderr)):
        raise UsageError(f"refusing to act on {count} run(s) without confirmation: not a terminal",
                         hint="add -y/--yes to confirm, or --dry-run to preview")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        raise Interrupted("aborted") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("aborted: nothing was changed")


def cancel(
    ctx: typer.Context,
    run_ids: List[str] = typer.Argument(None, help="Run ids (or use a filter).", autocompletion=complete_run_id,
                                        show_default=False),
    status: List[str] = typer.Option([], "--status", "-s", help="Filter: status; repeatable [default: non-terminal]."),
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Filter: workflow name (or id)."),
    since: Optional[str] = typer.Option(None, "--since", help="Filter: created after (30m, 2h, 7d, RFC 3339)."),
    until: Optional[str] = typer.Option(None, "--until", help="Filter: created before."),
    limit: int = typer.Option(1000, "--limit", help="At most this many runs for a filter."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (max 500 characters)."),
    terminate: bool = typer.Option(False, "--terminate", help="Terminate instead of requesting cancellation "
                                   "(Temporal)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be cancelled; change nothing."),
) -> None:
    """Cancel runs. Each run gets an outcome; exit 7 if any is not_found or error."""
    from ..backends.base import CANCEL, LIST
    from ..errors import ExitCode, UnsupportedError, UsageError
    from ..model import ListQuery, RunPage, TERMINAL

    rt = runtime(ctx)
    run_ids = list(run_ids or [])
    filtered = bool(status or workflow or since or until)
    if run_ids and filtered:
        raise UsageError("give run ids or a filter (--status/--workflow/--since/--until), not both")
    if not run_ids and not filtered:
        raise UsageError("nothing to cancel", hint="give run ids, or a filter such as --status running")
    if reason is not None and len(reason) > MAX_REASON:
        raise UsageError(f"--reason is {len(reason)} characters; the limit is {MAX_REASON}")
    for run_id in run_ids:
        check_run_id(run_id)
    backend = rt.backend(CANCEL)
    if filtered:
        backend.require(LIST)
        statuses = list(status) or ["pending", "running", "waiting"]
        q = ListQuery(statuses=statuses, workflow=workflow, since=parse_when(since, "--since"),
                      until=parse_when(until, "--until"), limit=min(limit, 100))
        matches = []
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
            rt.render.run_list(RunPage(matches, None, False))
            rt.note(f"dry run: {len(matches)} run(s) would be cancelled")
            return
        rt.render.preview(matches, f"{len(matches)} run(s) match" + (f" (limited to {limit})" if more else "") + ":")
        confirm(rt, f"Cancel {len(matches)} run(s)?", len(matches))
        run_ids = [r.runId for r in matches]
    elif dry_run:
        runs = [backend.get_status(r) for r in run_ids]
        for run in runs:
            verdict = "already finished" if run.status in TERMINAL else "would be cancelled"
            rt.note(f"{run.runId}: {run.status}, {verdict}")
        rt.render.statuses(runs)
        return
    options = {"terminate": True} if terminate else {}
    outcomes = backend.cancel(run_ids, reason, **options)
    if len(outcomes) == 1 and outcomes[0].outcome == "refused":
        raise UnsupportedError(outcomes[0].message or "refused", hint=outcomes[0].hint)
    rt.render.outcomes(outcomes)
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


def register(app: typer.Typer) -> None:
    app.command("cancel")(cancel)
