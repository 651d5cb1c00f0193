"""What several commands do alike, written once: the invocation's :class:`~wfctl.runtime.Runtime`, waiting
for runs with a spinner on a terminal (``--wait``), and the confirmation a bulk operation asks for (README,
Decisions). Command modules import this module and :mod:`wfctl.commands.options`, never one another.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from datetime import datetime

    from ..backends.base import Backend
    from ..model import Run
    from ..runtime import Runtime
    from ..waiting import Deadline


def runtime(ctx: typer.Context) -> "Runtime":
    """The invocation's state, built by the root callback (:func:`wfctl.app.root`)."""
    obj = ctx.find_root().obj
    assert obj is not None
    return obj


def wait_runs(
    rt: "Runtime",
    backend: "Backend",
    run_ids: list[str],
    timeout: Optional[float],
    interval: float,
    first: Optional[list["Run"]] = None,
    deadline: Optional["Deadline"] = None,
) -> list["Run"]:
    """Wait until every run is terminal (``--timeout`` in seconds, None: no limit), with a spinner on a
    terminal. ``first`` and ``deadline``: the statuses the command read already, and the deadline it read them
    under (:class:`wfctl.waiting.Deadline`)."""
    from ..waiting import wait_for_runs

    spinner = None
    if not rt.g.quiet:
        from ..output import stream_is_tty

        if stream_is_tty(sys.stderr):
            spinner = rt.render.spinner()
    try:
        return wait_for_runs(
            backend,
            run_ids,
            timeout=timeout,
            interval=interval,
            on_update=spinner.update if spinner else None,
            first=first,
            deadline=deadline,
        )
    finally:
        if spinner:
            spinner.stop()


class Declined(Exception):
    """The user answered no at the prompt: nothing was changed."""


def confirm(rt: "Runtime", question: str, count: int) -> None:
    """Ask on a terminal; refuse (exit 2) off a terminal or with JSON output unless -y; raise :class:`Declined`
    on anything but yes (an empty line and end of input included)."""
    from ..errors import UsageError
    from ..output import stream_is_tty

    if rt.g.yes:
        return
    if rt.out.structured:
        raise UsageError(
            f"refusing to act on {count} run(s) without -y/--yes when the output is {rt.out.format}",
            hint="add -y to confirm, or --dry-run to preview",
        )
    if not (stream_is_tty(sys.stdin) and stream_is_tty(sys.stderr)):
        raise UsageError(
            f"refusing to act on {count} run(s) without confirmation: not a terminal",
            hint="add -y/--yes to confirm, or --dry-run to preview",
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise Declined()


def matching_runs(
    backend: "Backend",
    *,
    statuses: list[str],
    workflow: Optional[str],
    since: Optional["datetime"],
    until: Optional["datetime"],
    limit: int,
) -> tuple[list["Run"], bool]:
    """The runs a bulk operation's filter matches, newest first, at most ``limit`` (pages of 100); and whether
    more matched."""
    from ..model import ListQuery

    query = ListQuery(statuses=statuses, workflow=workflow, since=since, until=until, limit=min(limit, 100))
    matches: list["Run"] = []
    while len(matches) <= limit:
        page = backend.list_runs(query)
        matches.extend(page.data)
        if not (page.hasMore and page.cursor):
            break
        query.cursor = page.cursor
    return matches[:limit], len(matches) > limit
