"""wfctl list — runs, filtered and paged; the next-page cursor goes to stderr."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import parse_when, runtime


def list_runs(
    ctx: typer.Context,
    status: List[str] = typer.Option([], "--status", "-s", help="Status (normalized or the engine's word); repeatable."),
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Workflow name (or id)."),
    search: Optional[str] = typer.Option(None, "--search", help="Substring of the workflow name."),
    since: Optional[str] = typer.Option(None, "--since", help="Created after: 30m, 2h, 7d or RFC 3339."),
    until: Optional[str] = typer.Option(None, "--until", help="Created before: 30m, 2h, 7d or RFC 3339."),
    limit: int = typer.Option(20, "--limit", "-n", help="Runs per page."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="Continue after this cursor."),
    all_pages: bool = typer.Option(False, "--all", help="Stream every page."),
    sort: str = typer.Option("desc", "--sort", help="desc (newest first) or asc."),
    query: Optional[str] = typer.Option(None, "--query", help="Raw engine query (Temporal visibility query)."),
) -> None:
    """List runs, newest first."""
    from ..backends.base import LIST
    from ..errors import UsageError
    from ..model import ListQuery, RunPage

    rt = runtime(ctx)
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    if sort not in ("asc", "desc"):
        raise UsageError(f"unknown --sort {sort!r}", hint="use asc or desc")
    q = ListQuery(statuses=list(status), workflow=workflow, search=search, since=parse_when(since, "--since"),
                  until=parse_when(until, "--until"), limit=limit, cursor=cursor, sort=sort, query=query)
    backend = rt.backend(LIST)
    render = rt.render
    collected: list = []
    first = True
    while True:
        page = backend.list_runs(q)
        rt.remember([r.runId for r in page.data])
        if all_pages and render.fmt == "json":
            collected.extend(page.data)
        else:
            render.run_list(page, first_page=first)
        first = False
        if not (all_pages and page.hasMore and page.cursor):
            break
        q.cursor = page.cursor
    if all_pages and render.fmt == "json":
        render.run_list(RunPage(collected, None, False))
    elif page.hasMore and page.cursor and not all_pages:
        rt.note(f"more runs: --cursor '{page.cursor}'")


def register(app: typer.Typer) -> None:
    app.command("list")(list_runs)
