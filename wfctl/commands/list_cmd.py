"""wfctl list — runs, filtered and paged; the next-page cursor goes to stderr."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

import typer

from .common import runtime
from .options import (
    check_text,
    check_texts,
    examples,
    limit_option,
    since_option,
    status_option,
    until_option,
    workflow_option,
)

EXAMPLES = examples(
    "wfctl list --status running --since 2h --limit 50",
    "wfctl list --status failed --workflow demoWorkflow -o json --fields runId,error",
    "wfctl list --all -o jsonl | jq -r .runId            # every page, one object per line",
)


def list_runs(
    ctx: typer.Context,
    status: List[str] = status_option("Status (normalized or the engine's word); repeatable."),
    workflow: Optional[str] = workflow_option("Workflow name (or id)."),
    search: Optional[str] = typer.Option(None, "--search", metavar="TEXT", help="Substring of the workflow name."),
    since: Optional[datetime] = since_option(),
    until: Optional[datetime] = until_option(),
    limit: int = limit_option(20, "Runs per page.", short=True),
    cursor: Optional[str] = typer.Option(
        None, "--cursor", metavar="CURSOR", help="Continue after this cursor (printed on stderr)."
    ),
    all_pages: bool = typer.Option(False, "--all", help="Stream every page."),
    sort: str = typer.Option("desc", "--sort", metavar="desc|asc", help="desc (newest first) or asc."),
    query: Optional[str] = typer.Option(
        None,
        "--query",
        metavar="QUERY",
        help="The engine's own query (Temporal visibility query); exit 6 on engines without a query language.",
    ),
) -> None:
    """List runs, newest first."""
    from ..backends.base import LIST
    from ..errors import UnsupportedError, UsageError
    from ..model import ListQuery, RunPage

    rt = runtime(ctx)
    status = check_texts(status, "--status")
    check_text(workflow, "--workflow")
    check_text(search, "--search")
    check_text(cursor, "--cursor", limit=8192)
    check_text(query, "--query", limit=16384, lines=True)
    if sort not in ("asc", "desc"):
        raise UsageError(f"unknown --sort {sort!r}", hint="use asc or desc")
    q = ListQuery(
        statuses=list(status),
        workflow=workflow,
        search=search,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        sort=sort,
        query=query,
    )
    backend = rt.backend(LIST)
    if query is not None and not backend.query_language():
        raise UnsupportedError(
            f"--query: the {backend.label} backend has no query language",
            hint="filter with --status, --workflow, --search, --since and --until",
        )
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
    app.command("list", epilog=EXAMPLES)(list_runs)
