"""wfctl tail RUN — the run's events (or output stream), optionally following it live.

Ending, it exits like ``status``: by the run's state, 12 while it has not finished (README, Exit codes).
"""

from __future__ import annotations

import shlex
import time
from typing import Any, List, Optional

import typer

from .common import runtime
from .options import (
    check_run_id,
    check_text,
    check_texts,
    count_option,
    examples,
    interval_option,
    only_with,
    run_argument,
)

EXAMPLES = examples(
    "wfctl tail RUN --live                       # follow until the run ends; the exit code tells how",
    "wfctl tail RUN --last 20 --type 'step_*' -o jsonl",
    "wfctl tail RUN --stream --start-index -5    # the last 5 chunks of the run's output stream",
)


def tail(
    ctx: typer.Context,
    run_id: str = run_argument(),
    live: bool = typer.Option(False, "--live", "-f", "--follow", help="Follow until the run ends."),
    stream: Optional[str] = typer.Option(
        None,
        "--stream",
        metavar="[=NAMESPACE]",
        help="Read the run's output stream instead of its events (--stream=NS for a namespaced stream).",
    ),
    start_index: Optional[int] = count_option(
        None,
        ["--start-index"],
        "With --stream: the first chunk; negative counts from the end.",
        minimum=-(10**9),
        maximum=10**9,
    ),
    offset: Optional[str] = typer.Option(
        None, "--offset", metavar="OFFSET", help="Resume exactly after this printed offset."
    ),
    last: Optional[int] = count_option(
        None, ["--last"], "Only the last N events (with --stream: --start-index -N).", minimum=1, maximum=1_000_000
    ),
    types: List[str] = typer.Option(
        [],
        "--type",
        "-t",
        metavar="TYPE",
        help="Only events of this type (a glob such as 'step_*' where the engine allows); repeatable.",
    ),
    interval: float = interval_option("1s", "Polling interval where the engine has no push."),
    sse: bool = typer.Option(False, "--sse", help="Follow over SSE where the engine offers it."),
) -> None:
    """Print a run's events and exit; with --live follow until the run ends. The exit code tells the run's
    state, like 'status' (12: not finished)."""
    from ..backends.base import TAIL, TailRequest
    from ..errors import ExitCode, UnavailableError, UsageError
    from ..interrupts import deferred
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    check_run_id(run_id)
    check_text(stream, "--stream")
    check_text(offset, "--offset")
    types = check_texts(types, "--type")
    streaming = stream is not None
    if streaming and last is not None:
        raise UsageError("--last counts events; with --stream use --start-index", hint=f"--start-index -{last}")
    if streaming and types:
        raise UsageError("--type selects events; a stream has chunks, not typed events", hint="drop --type")
    only_with(
        ctx, streaming, ("start_index",), "--stream", hint="--start-index picks stream chunks; for events use --last N"
    )
    if start_index is not None and offset is not None:
        raise UsageError("give --start-index or --offset, not both")
    backend = rt.backend(TAIL)
    if offset is not None:
        problem = backend.check_offset(offset, stream=streaming)
        if problem:
            raise UsageError(
                f"invalid --offset {offset[:80]!r}: {problem}",
                hint="use an offset wfctl printed: the 'offset' of a -o jsonl line, or the one "
                "printed when a tail is interrupted",
            )
    if types and backend.event_types is not None:
        _check_types(types, backend.event_types, backend.label)
    printer = rt.render.tail_printer(run_id, stream=streaming)
    printer.offset = offset  # the resume point until something is printed: a resumed tail never reports null
    request = TailRequest(
        live=live,
        stream=stream,
        start_index=start_index,
        offset=offset,
        last=last,
        types=list(types),
        interval=interval,
        sse=sse,
        batches=printer.batches,
    )
    footer = live and rt.out.format == "table" and rt.out.tty

    def resume_command() -> str | None:
        if printer.offset is None:
            return None
        again = ["wfctl", "tail", run_id] + (["--live"] if live else [])
        if stream is not None:
            again.append(f"--stream={stream}" if stream else "--stream")
        return shlex.join(again + ["--offset", printer.offset])

    try:
        with deferred():  # Ctrl-C never lands between a printed line and its offset
            _follow(backend, run_id, request, printer, footer=footer, streaming=streaming)
    except KeyboardInterrupt:
        printer.status_footer(None)
        if resume_command() is not None:
            rt.note("interrupted; resume with: " + str(resume_command()))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except UnavailableError as exc:
        # The engine went away mid-tail: the error says where to resume once it is back.
        printer.status_footer(None)
        again = resume_command()
        if again is not None and "--offset" not in (exc.hint or ""):
            exc.hint = (exc.hint + "; " if exc.hint else "") + "resume with: " + again
        raise
    # Reconcile the final state with the engine before choosing the exit code: 0 only for a completed run. A
    # tail that followed a run into the runs it continued as (Temporal's continue-as-new) ends with the last.
    final_id = backend.final_run_id(run_id) if hasattr(backend, "final_run_id") else run_id
    final = backend.get_status(final_id) if backend.supports("status") else None
    printer.end(final.status if final else None)
    if final is not None:
        raise typer.Exit(int(exit_code_for([final])))


def _follow(backend: Any, run_id: str, request: Any, printer: Any, *, footer: bool, streaming: bool) -> None:
    """Print the tail's items as they come; on a terminal, a footer with the run's status."""
    from ..output import human_duration

    started = time.monotonic()
    state = {"status": "…"}
    checked = 0.0

    def text() -> str:  # made when drawn: the elapsed time keeps going while no event arrives
        return (
            f"{run_id} · {state['status']} · {human_duration(time.monotonic() - started)} · "
            f"{printer.count} {'chunks' if streaming else 'events'}"
        )

    if footer:
        printer.status_footer(text)
    for item in backend.tail(run_id, request):
        printer.item(item)
        if footer:
            now = time.monotonic()
            if now - checked >= 2.0:  # the run's status, at most every 2 s (terminals only)
                checked = now
                try:
                    state["status"] = backend.get_status(run_id).status
                except Exception:  # the footer is decoration: never let it end the tail
                    pass
            printer.status_footer(text)


def _check_types(patterns: List[str], known: frozenset, label: str) -> None:
    from fnmatch import fnmatchcase

    from ..errors import UsageError

    for pattern in patterns:
        if pattern.strip() and not any(fnmatchcase(t, pattern.strip()) for t in known):
            raise UsageError(
                f"--type {pattern!r} matches no event type of the {label} backend",
                hint="event types: " + ", ".join(sorted(known)),
            )


def register(app: typer.Typer) -> None:
    app.command("tail", epilog=EXAMPLES)(tail)
